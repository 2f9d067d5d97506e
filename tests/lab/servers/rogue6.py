#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A rogue DHCPv6 server for prefix delegation: answers Solicit (Advertise), Request, Renew and
Rebind (Reply) and Release on one interface (--ifname), with what a hostile or broken on-link
host would delegate.  The mode is read from --mode-file before every answer, so a test switches
it at run time:

  good           PREFIX/56, preferred 1800, valid 3600, T1 600, T2 960
  len72          PREFIX/72              len128   PREFIX::1/128        len0   ::/0
  valid0         lifetimes 0            pref_gt_valid  preferred 500 > valid 400
  t1_gt_t2       T1 300 > T2 200 (both non-zero)
  renew_new      a new /56 at every Reply (PREFIX, then the next /56, ...), T1 2 s, T2 3 s
  truncated      the IA_PD's length runs past the end of the message
  silent         no answer

PREFIX is --prefix (a /56).  Each answer is logged on stderr as "TIME TYPE MODE PREFIX".
"""
import argparse
import ipaddress
import socket
import struct
import sys
import time

from pdroute import options

SOLICIT, ADVERTISE, REQUEST, RENEW, REBIND, REPLY, RELEASE = 1, 2, 3, 5, 6, 7, 8
OPT_CLIENTID, OPT_SERVERID, OPT_STATUS, OPT_RAPID_COMMIT, OPT_IA_PD, OPT_IAPREFIX = 1, 2, 13, 14, 25, 26
SERVER_DUID = bytes([0, 3, 0, 1, 0x02, 0, 0, 0, 0x0e, 0x66])  # DUID-LL 02:00:00:00:0e:66


def opt(code, body):
    return struct.pack("!HH", code, len(body)) + body


def iaprefix(pref, valid, net):
    return opt(OPT_IAPREFIX, struct.pack("!IIB", pref, valid, net.prefixlen) + net.network_address.packed)


class Rogue:
    def __init__(self, prefix, mode_file):
        self.base = ipaddress.IPv6Network(prefix)
        self.mode_file = mode_file
        self.renewals = 0

    def mode(self):
        try:
            with open(self.mode_file, encoding="ascii") as f:
                return f.read().strip() or "good"
        except OSError:
            return "good"

    def ia_pd(self, iaid, mode):
        """(IA_PD option bytes, prefix text) for the mode."""
        t1, t2, pref, valid, net = 600, 960, 1800, 3600, self.base
        if mode == "len72":
            net = ipaddress.IPv6Network((self.base.network_address, 72))
        elif mode == "len128":
            net = ipaddress.IPv6Network((self.base.network_address + 1, 128))
        elif mode == "len0":
            net = ipaddress.IPv6Network("::/0")
        elif mode == "valid0":
            pref = valid = 0
        elif mode == "pref_gt_valid":
            pref, valid = 500, 400
        elif mode == "t1_gt_t2":
            t1, t2 = 300, 200
        elif mode == "renew_new":
            t1, t2, pref, valid = 2, 3, 30, 60
            step = self.renewals * (1 << (128 - 56))
            net = ipaddress.IPv6Network((int(self.base.network_address) + step, 56))
        body = struct.pack("!III", iaid, t1, t2) + iaprefix(pref, valid, net)
        if mode == "truncated":
            return struct.pack("!HH", OPT_IA_PD, len(body) + 40) + body, str(net)
        return opt(OPT_IA_PD, body), str(net)

    def answer(self, msg):
        """The answer to a client message, or None."""
        if len(msg) < 4 or msg[0] not in (SOLICIT, REQUEST, RENEW, REBIND, RELEASE):
            return None, ""
        mode = self.mode()
        if mode == "silent":
            return None, ""
        client_id, iaid, rapid = None, None, False
        for code, body in options(msg[4:]):
            if code == OPT_CLIENTID:
                client_id = body
            elif code == OPT_IA_PD and len(body) >= 12 and iaid is None:
                iaid = struct.unpack_from("!I", body)[0]
            elif code == OPT_RAPID_COMMIT:
                rapid = True
        if client_id is None:
            return None, ""
        head = opt(OPT_CLIENTID, client_id) + opt(OPT_SERVERID, SERVER_DUID)
        if msg[0] == RELEASE:
            return bytes([REPLY]) + msg[1:4] + head + opt(OPT_STATUS, b"\0\0released"), "release"
        if iaid is None:
            return None, ""
        if mode == "renew_new" and msg[0] in (RENEW, REBIND):
            self.renewals += 1
        ia, text = self.ia_pd(iaid, mode)
        typ = ADVERTISE if msg[0] == SOLICIT and not rapid else REPLY
        extra = opt(OPT_RAPID_COMMIT, b"") if msg[0] == SOLICIT and rapid else b""
        return bytes([typ]) + msg[1:4] + head + extra + ia, f"{mode} {text}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ifname", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--mode-file", required=True)
    ap.add_argument("--ready")
    a = ap.parse_args()
    rogue = Rogue(a.prefix, a.mode_file)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.ifname.encode())
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ifindex = socket.if_nametoindex(a.ifname)
    s.bind(("::", 547))
    mreq = socket.inet_pton(socket.AF_INET6, "ff02::1:2") + struct.pack("@I", ifindex)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    if a.ready:
        open(a.ready, "w", encoding="ascii").close()
    while True:
        msg, peer = s.recvfrom(65536)
        out, what = rogue.answer(msg)
        if out is None:
            continue
        s.sendto(out, (peer[0], 546, 0, ifindex))
        print(f"rogue6: {time.time():.3f} {out[0]} {what}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
