#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A LAN client, not a server: one UDP flow from a fixed source port, a datagram every INTERVAL s
to HOST:PORT for SECS s.  Prints "sent TIME" and "answered TIME" lines (time.time())."""
import socket
import sys
import time

host, port, sport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
secs, interval = float(sys.argv[4]), float(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", sport))
end = time.time() + secs
while time.time() < end:
    try:
        s.sendto(b"x", (host, port))
        print(f"sent {time.time():.3f}", flush=True)
    except OSError as e:  # e.g. unreachable while the route moves
        print(f"error {time.time():.3f} {e}", flush=True)
    t = time.time() + interval
    while time.time() < t:
        s.settimeout(max(t - time.time(), 0.001))
        try:
            s.recv(64)
            print(f"answered {time.time():.3f}", flush=True)
        except (socket.timeout, OSError):
            break
    time.sleep(max(t - time.time(), 0))
