#!/usr/bin/python3
"""The return half of the lab's DS-Lite AFTR.

Linux's ip6tnl decapsulates from any remote (the AFTR's ds-a/ds-b tunnels), but cannot send to
"any": after NAT44 the replies to 192.0.0.2 need a tunnel whose remote is the B4.  This watches
every IPv4-in-IPv6 packet that reaches the AFTR (a raw socket gets a copy; the kernel still
handles the packet) and, when the B4 address is new, points the tunnel --tunnel at it (created on
first use, with --addr4 on it so 192.0.0.0/29 routes into it, and the default route of routing
table --table, where the replies to NATed LAN addresses go, into it).  One B4 at a time: the lab has one
router.  The current B4 is written to --state and every change logged on stderr.
"""
import argparse
import os
import socket
import subprocess
import sys
import time

IPPROTO_IPIP = 4


def run(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode:
        print(f"aftrlearn: {' '.join(cmd)}: {r.stderr.strip()}", file=sys.stderr)
    return r.returncode == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tunnel", required=True)
    ap.add_argument("--addr4", required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--ready")
    a = ap.parse_args()

    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_IPIP)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    if a.ready:
        open(a.ready, "w").close()
    cur = None
    while True:
        _, anc, _, src = s.recvmsg(2048, socket.CMSG_SPACE(20))
        b4 = src[0]
        local = None
        for level, typ, data in anc:
            if level == socket.IPPROTO_IPV6 and typ == socket.IPV6_PKTINFO:
                local = socket.inet_ntop(socket.AF_INET6, data[:16])
        if local is None or (b4, local) == cur:
            continue
        params = ["mode", "ipip6", "local", local, "remote", b4, "encaplimit", "none"]
        if os.path.exists(f"/sys/class/net/{a.tunnel}"):
            ok = run("ip", "-6", "tunnel", "change", a.tunnel, *params)
        else:
            ok = run("ip", "link", "add", a.tunnel, "type", "ip6tnl", *params) and \
                run("ip", "addr", "add", a.addr4, "dev", a.tunnel)
        ok = ok and run("ip", "link", "set", a.tunnel, "up") and \
            run("ip", "route", "replace", "default", "dev", a.tunnel, "table", a.table)
        if ok:
            cur = (b4, local)
            with open(a.state, "w", encoding="utf-8") as f:
                f.write(b4 + "\n")
            print(f"aftrlearn: {time.time():.3f} B4 {b4} -> AFTR {local}", file=sys.stderr,
                  flush=True)


if __name__ == "__main__":
    main()
