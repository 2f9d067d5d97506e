#!/usr/bin/python3
"""Routes delegated prefixes, as the NGN's edge does: watches the DHCPv6 Replies the NGN's server
sends on the access segment (--ifname) and routes each delegated prefix (IA_PD/IAPREFIX) via the
link-local address the Reply went to; a prefix with valid lifetime 0 is unrouted.  Works with
any DHCPv6 server because it only reads what goes out on the wire.  Changes are logged on
stderr as "TIME add|del PREFIX via ADDR".
"""
import argparse
import ctypes
import ipaddress
import socket
import struct
import subprocess
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IPV6 = 0x86DD
SO_ATTACH_FILTER = 26
PACKET_OUTGOING = 4
DHCP6_REPLY = 7
OPT_IA_PD = 25
OPT_IAPREFIX = 26


def options(buf):
    i = 0
    while i + 4 <= len(buf):
        code, length = struct.unpack_from("!HH", buf, i)
        yield code, buf[i + 4:i + 4 + length]
        i += 4 + length


def delegated(msg):
    """(prefix, valid lifetime) for every IAPREFIX in a Reply."""
    for code, body in options(msg[4:]):
        if code != OPT_IA_PD or len(body) < 12:
            continue
        for sub, data in options(body[12:]):
            if sub == OPT_IAPREFIX and len(data) >= 25:
                _, valid, plen = struct.unpack_from("!IIB", data, 0)
                pfx = ipaddress.IPv6Network((data[9:25], plen), strict=False)
                yield pfx, valid


def attach_filter(sock):
    """Only UDP 547 -> 546 over IPv6 reaches us (a classic BPF program): an ETH_P_ALL socket,
    the only kind that also sees what we send, would otherwise copy every packet of the line."""
    prog = [
        (0x28, 0, 0, 0xFFFFF000),  # ldh skb->protocol
        (0x15, 0, 7, ETH_P_IPV6),  # jeq IPv6
        (0x30, 0, 0, 6),           # ldb next header
        (0x15, 0, 5, 17),          # jeq UDP
        (0x28, 0, 0, 40),          # ldh source port
        (0x15, 0, 3, 547),
        (0x28, 0, 0, 42),          # ldh destination port
        (0x15, 0, 1, 546),
        (0x06, 0, 0, 0x40000),     # ret accept
        (0x06, 0, 0, 0),           # ret drop
    ]
    insns = b"".join(struct.pack("HBBI", *i) for i in prog)
    buf = ctypes.create_string_buffer(insns)
    fprog = struct.pack("HL", len(prog), ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    return buf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ifname", required=True)
    ap.add_argument("--ready")
    a = ap.parse_args()
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    keep = attach_filter(s)
    s.bind((a.ifname, ETH_P_ALL))
    if a.ready:
        open(a.ready, "w").close()
    routes = {}
    while keep:
        pkt, addr = s.recvfrom(65536)
        if addr[1] != ETH_P_IPV6 or addr[2] != PACKET_OUTGOING or len(pkt) < 49 or pkt[6] != 17:
            continue
        sport, dport = struct.unpack_from("!HH", pkt, 40)
        if sport != 547 or dport != 546 or pkt[48] != DHCP6_REPLY:
            continue
        dst = socket.inet_ntop(socket.AF_INET6, pkt[24:40])
        for pfx, valid in delegated(pkt[48:]):
            key = str(pfx)
            if valid == 0:
                if key in routes:
                    subprocess.run(["ip", "-6", "route", "del", key, "dev", a.ifname],
                                   check=False)
                    del routes[key]
                    print(f"pdroute: {time.time():.3f} del {key}", file=sys.stderr, flush=True)
                continue
            if routes.get(key) == dst:
                continue
            r = subprocess.run(["ip", "-6", "route", "replace", key, "via", dst, "dev",
                                a.ifname, "proto", "static"], capture_output=True, text=True,
                               check=False)
            if r.returncode == 0:
                routes[key] = dst
                print(f"pdroute: {time.time():.3f} add {key} via {dst}", file=sys.stderr,
                      flush=True)
            else:
                print(f"pdroute: route {key} via {dst}: {r.stderr.strip()}", file=sys.stderr,
                      flush=True)


if __name__ == "__main__":
    main()
