#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# One uplink's fault stays its own (issue 10): an absent device, a foreign route that stands in
# an uplink's way, hold-down that must not hold the last usable uplink, and `uplinkctl down`
# with the daemon running.  A LAN host's traffic goes on throughout.
# lab: host
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
ul_log_has() { ul_log | grep -q "$1"; }
lab_up inet
ul_router
# Two plain Ethernet lines to inet; a third (wan9) is plugged in later.
ul_static_line st1 1 sp1
ul_static_line st2 2 sp2
ul_conf <<EOF2
[global]
lan = br0

[uplink a]
type = static
device = st1
ipv4 = 198.18.1.2/24
gateway = 198.18.1.1
priority = 10

[uplink b]
type = static
device = st2
ipv4 = 198.18.2.2/24
gateway = 198.18.2.1
priority = 20

[uplink c]
type = static
device = wan9
ipv4 = 198.18.9.2/24
gateway = 198.18.9.1
priority = none
table = 203
EOF2
# Another program's route in c's table: uplinkd must not replace it.
in_ns rtr ip route add unreachable default table 203 proto static

# 1. wan9 does not exist: a and b come up at once, c waits and says why.
# systemd's notification socket, to read the STATUS line
lab_bg rtr notify socat -u UNIX-RECV:"$LAB_DIR/notify.sock" STDOUT
lab_wait 5 test -S "$LAB_DIR/notify.sock"
t0=$(date +%s%N)
NOTIFY_SOCKET="$LAB_DIR/notify.sock" ul_daemon
ul_wait_up a 5
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
echo "a was up ${ms} ms after uplinkd started"
ul_wait_up b 5
t_ok "a and b are up although c's device is missing"
t_eq "$(ul_default)" st1 "the default route leads out of a"
t_eq "$(ul_json '[u["state"] for u in s["uplinks"] if u["name"] == "c"][0]')" waiting "c is waiting"
t_eq "$(ul_json '[u["reason"] for u in s["uplinks"] if u["name"] == "c"][0]')" "no device wan9" \
	"status -j says why"
t_match "$(ul_ctl status)" "c .*waiting.*no device wan9" "status says why"
lab_wait 5 grep -q "c waiting (no device wan9)" "$LAB_DIR/log/notify.log"
t_match "$(grep STATUS= "$LAB_DIR/log/notify.log" | tail -1)" "STATUS=2/3 uplinks up.*; c waiting \(no device wan9\)" \
	"systemd's STATUS line says why"
lab_wait_ping 10 lan1 "$LAB_INET4_ECHO"
t_eq "$(lab_whoami lan1 | cut -d' ' -f1)" 198.18.1.2 "a LAN host goes out by a"
# No storm: the daemon idles while c waits.
pid=$(ul_pid)
r0=$(ul_json 's["reconciles"]')
c0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
l0=$(ul_log | wc -l)
sleep 3
r1=$(ul_json 's["reconciles"]')
c1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
l1=$(ul_log | wc -l)
echo "while c waits, over 3 s: $((r1 - r0)) reconciles, $((c1 - c0)) ticks of CPU, $((l1 - l0)) log lines"
[ $((r1 - r0)) -le 3 ] || t_fail "$((r1 - r0)) reconciles in 3 s while idle"
[ $((c1 - c0)) -le 30 ] || t_fail "$((c1 - c0)) CPU ticks in 3 s while idle"
[ $((l1 - l0)) -le 5 ] || t_fail "$((l1 - l0)) log lines in 3 s while idle"
t_ok "no reconcile storm while a device is missing"

# 2. wan9 is plugged in: c is found at once, but the foreign route stands in its way.
ul_static_line wan9 9 w9
lab_wait 10 ul_state_is c failed || { ul_ctl status >&2; t_fail "c did not fail on the foreign route"; }
reason=$(ul_json '[u["reason"] for u in s["uplinks"] if u["name"] == "c"][0]')
t_match "$reason" "table 203 already has" "c failed and says why: $reason"
t_match "$(ul_log)" "uplink c: failed .*retrying in 1s" "the log says when it retries"
t_eq "$(ul_default)" st1 "a still carries the default route"
t_eq "$(lab_whoami lan1 | cut -d' ' -f1)" 198.18.1.2 "LAN traffic still leaves by a"
t_eq "$(in_ns rtr ip route show table 203 | grep -c unreachable)" 1 "the foreign route is left alone"
# the operator removes it: c comes up on its own
in_ns rtr ip route del unreachable default table 203 proto static
ul_wait_up c 20
t_match "$(in_ns rtr ip route show table 203)" "default via 198.18.9.1 dev wan9" "c's table holds its route"
retries=$(ul_log | grep -c "uplink c: failed" || true)
echo "c's failure was logged $retries times until it came up"
[ "$retries" -le 6 ] || t_fail "c's failure logged $retries times"

# 3. Hold-down never holds the last usable uplink: a flaps (held 30 s), then b loses carrier.
in_ns inet ip link set dev sp1 down
took=$(ul_wait_default st2 5)
t_ok "a lost carrier: the default moved to b in ${took}s"
in_ns inet ip link set dev sp1 up
lab_wait 10 ul_log_has "uplink a: back, held down"
sleep 0.5
t_eq "$(ul_default)" st2 "a is back but held down: b keeps the default"
lab_bg lan1 ping2 ping -n -D -i 0.05 -W 1 "$LAB_INET4_ECHO"
sleep 1
in_ns inet ip link set dev sp2 down
took=$(ul_wait_default st1 5)
t_ok "b lost carrier during a's hold-down: the default went back to a in ${took}s"
t_match "$(ul_ctl status)" "hold-down waived" "status says the hold was waived"
sleep 1.5
gap=$(ul_ping_gap ping2)
echo "longest gap in the LAN host's ping (every 50 ms) across b's loss: ${gap}s"
awk -v g="$gap" 'BEGIN { exit !(g <= 0.25) }' || t_fail "LAN traffic stopped for ${gap}s"
t_ok "LAN traffic went on over a (gap ${gap}s)"
lab_kill ping2
in_ns inet ip link set dev sp2 up

# 4. uplinkctl down with the daemon running: everything goes, and the daemon stops.
out=$(ul_ctl down)
echo "$out" | tail -3
t_match "$out" "removed: [0-9]+ changes; uplinkd stopped" "uplinkctl down goes through the daemon"
lab_wait 5 sh -c "! kill -0 $pid" || t_fail "uplinkd still runs after uplinkctl down"
t_ok "uplinkd stopped"
t_eq "$(in_ns rtr ip rule show | grep -c 'proto 117' || true)" 0 "no rule of uplinkd is left"
t_eq "$(in_ns rtr ip route show table all | grep -c 'proto 117' || true)" 0 "no route of uplinkd is left"
if in_ns rtr nft list table inet uplinkd >/dev/null 2>&1; then t_fail "the nftables table is left"; fi
t_ok "the nftables table is gone"
sleep 2
t_eq "$(ul_default)" none "nothing rebuilt it a moment later"
