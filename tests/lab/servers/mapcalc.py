#!/usr/bin/python3
"""MAP-E arithmetic for the lab's BR (RFC 7597 with the draft-03 interface id the Japanese VNEs
use).  The lab's own, independent of lib/: it tells the BR which CE address, IPv4 and port sets
an end-user prefix maps to, so a bug in uplinkd's calculation shows up as a BR that drops.

usage: mapcalc.py RULE_V6 RULE_V4 EA_LEN PSID_OFFSET END_USER_PREFIX [--rfc]
       mapcalc.py --batch    (stdin lines: NAME RULE_V6 RULE_V4 EA_LEN PSID_OFFSET PREFIX)
prints shell assignments: MAP_IPV4 MAP_PSID MAP_CE MAP_PORTS (lo-hi,lo-hi,...) MAP_NSETS;
with --batch one line per input line, prefixed with NAME.
"""
import ipaddress
import sys


def mapcalc(rule_v6, rule_v4, ea_len, offset, prefix, rfc=False):
    r6 = ipaddress.IPv6Network(rule_v6)
    r4 = ipaddress.IPv4Network(rule_v4)
    eu = ipaddress.IPv6Network(prefix, strict=False)
    if eu.prefixlen < r6.prefixlen or not eu.subnet_of(r6):
        raise ValueError(f"{prefix} is not inside {rule_v6}")
    n = r6.prefixlen
    p = 32 - r4.prefixlen
    q = ea_len - p
    if q < 0:
        raise ValueError("EA bits shorter than the IPv4 suffix: not supported by the lab")
    bits = int(eu.network_address)
    ea = (bits >> (128 - n - ea_len)) & ((1 << ea_len) - 1)
    v4 = int(r4.network_address) | (ea >> q)
    psid = ea & ((1 << q) - 1)
    m = 16 - offset - q
    ports = []
    first = 1 if offset > 0 else 0
    for a in range(first, 1 << offset):
        lo = (a << (16 - offset)) | (psid << m)
        ports.append((lo, lo + (1 << m) - 1))
    # CE: the end-user prefix up to /64, then the interface id.
    plen = min(eu.prefixlen, 64)
    upper = (bits >> (128 - plen)) << (128 - plen) if plen else 0
    upper &= ((1 << 64) - 1) << 64
    if rfc:
        iid = (v4 << 16) | psid
    else:
        iid = (v4 << 24) | (psid << 8)
    ce = ipaddress.IPv6Address(upper | iid)
    return ipaddress.IPv4Address(v4), psid, ce, ports


def assignments(args, rfc):
    v4, psid, ce, ports = mapcalc(args[0], args[1], int(args[2]), int(args[3]), args[4], rfc)
    return [f"MAP_IPV4={v4}", f"MAP_PSID={psid}", f"MAP_CE={ce}",
            "MAP_PORTS=" + ",".join(f"{lo}-{hi}" for lo, hi in ports), f"MAP_NSETS={len(ports)}"]


def main(argv):
    rfc = "--rfc" in argv
    args = [a for a in argv if a != "--rfc"]
    if args == ["--batch"]:
        for line in sys.stdin:
            w = line.split()
            if w:
                print(w[0], " ".join(assignments(w[1:], rfc)))
        return 0
    if len(args) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    print("\n".join(assignments(args, rfc)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
