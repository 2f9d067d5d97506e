#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A health check cannot be fooled by forged echo replies: the target dies, and a namespace on
# the path answers every probe in its stead, once from its own address with the probe's id and
# sequence, once from the target's address with the id an old uplinkd used (pid + uplink index).
# uplinkd takes only replies from the target with the id and sequence it sent, so the uplink still
# fails over, and comes back when the target answers again.
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
lab_up inet
ul_router
# two plain Ethernet uplinks to inet
ul_static_line st0 90
ul_static_line st1 91
ul_conf <<EOF2
[global]
hold-down = 0

[uplink st]
type = static
device = st0
ipv4 = 198.18.90.2/24
gateway = 198.18.90.1
priority = 10
check = icmp $LAB_INET4_ECHO
check-interval = 300ms
check-fail = 3
check-recover = 2

[uplink backup]
type = static
device = st1
ipv4 = 198.18.91.2/24
gateway = 198.18.91.1
priority = 20
EOF2

ul_daemon
ul_wait_up st 30
ul_wait_default st0 10 >/dev/null
t_ok "the checked uplink carries the default route"

cat >"$LAB_DIR/forge.py" <<'PY'
import socket, struct, sys

target, own, pid, ready = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
old_id = pid & 0xffff  # uplink 0: an old uplinkd's id was pid + index


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
sent = 0
open(ready, "w").close()
while True:
    pkt, (src, _) = rx.recvfrom(2048)
    ihl = (pkt[0] & 15) * 4
    if pkt[ihl] != 8 or socket.inet_ntoa(pkt[16:20]) != target:
        continue
    ident, seq = struct.unpack("!HH", pkt[ihl + 4:ihl + 8])
    data = pkt[ihl + 8:]
    for frm, i in ((own, ident), (target, old_id)):
        icmp = struct.pack("!BBHHH", 0, 0, 0, i, seq) + data
        icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0, 64, 1, 0,
                         socket.inet_aton(frm), socket.inet_aton(src))
        tx.sendto(ip + icmp, (src, 0))
        sent += 1
    print("forged", sent, "replies", flush=True)
PY
lab_bg inet spoof python3 "$LAB_DIR/forge.py" "$LAB_INET4_ECHO" 198.18.90.1 "$(ul_pid)" "$LAB_DIR/forge.ready"
lab_wait_file 20 "$LAB_DIR/forge.ready"
lab_wait 10 sh -c "grep -q forged '$LAB_DIR/log/spoof.log'"
in_ns inet sysctl -qw net.ipv4.icmp_echo_ignore_all=1
took=$(ul_wait_default st1 15) || { tail -n3 "$LAB_DIR/log/spoof.log" >&2; t_fail "no failover with forged replies"; }
forged=$(tail -n1 "$LAB_DIR/log/spoof.log" | awk '{ print $2 }')
[ "${forged:-0}" -gt 0 ] || t_fail "the forger sent nothing"
t_ok "the target died: failed over in ${took}s although every probe got forged replies ($forged so far)"
t_eq "$(ul_json '[u["health"]["state"] for u in s["uplinks"] if u["name"] == "st"][0]')" failed \
	"status says the health check failed"
in_ns inet sysctl -qw net.ipv4.icmp_echo_ignore_all=0
took=$(ul_wait_default st0 15)
t_ok "the target answers again: the uplink is back in ${took}s"
