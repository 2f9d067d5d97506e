#!/usr/bin/python3
"""Opens COUNT TCP connections to HOST:PORT at once, keeps them all open, sends a line on each
and waits for its echo.  Prints "OK n FAILED m PORTS p1,p2,..." (the local ports are what the
client used; the NAT changes them).  Usage: many_tcp.py HOST PORT COUNT [TIMEOUT]"""
import selectors
import socket
import sys
import time

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 15.0
sel = selectors.DefaultSelector()
state = {}
for i in range(count):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.connect_ex((host, port))
    state[s] = "connecting"
    sel.register(s, selectors.EVENT_WRITE)

deadline = time.time() + timeout
ok = 0
while time.time() < deadline and any(v not in ("done", "failed") for v in state.values()):
    for key, ev in sel.select(timeout=0.5):
        s = key.fileobj
        if state[s] == "connecting":
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                state[s] = "failed"
                sel.unregister(s)
                continue
            s.send(b"hello\n")
            state[s] = "echo"
            sel.modify(s, selectors.EVENT_READ)
        elif state[s] == "echo":
            try:
                data = s.recv(64)
            except OSError:
                data = b""
            state[s] = "done" if data.startswith(b"hello") else "failed"
            sel.unregister(s)
ok = sum(1 for v in state.values() if v == "done")
print(f"OK {ok} FAILED {count - ok}")
for s in state:
    s.close()
