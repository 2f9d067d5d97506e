#!/bin/bash
# A flood of 10 000 link events (someone's interface flapping and being renamed in a loop) leaves
# uplinkd consistent and its memory flat; the events are batched into few reconciles, and a
# change to uplinkd's own objects made during the flood is still repaired.
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
lab_up aftr
ul_router
ul_conf <<EOF
[global]
lan = br0

[uplink wan]
type = ipoe
device = wan0

[uplink ds]
type = dslite
over = wan
aftr = $LAB_AFTR
EOF
ul_daemon
ul_wait_up ds 60
sleep 1
rss0=$(ul_rss_kb)
ev0=$(ul_json 's["events"]')
rec0=$(ul_json 's["reconciles"]')

# Somebody else's interfaces in the router: 5 000 up/down pairs = 10 000 RTM_NEWLINK events.
in_ns rtr ip link add flap0 type veth peer name flap1
for i in $(seq 1 5000); do
	echo "link set dev flap0 up"
	echo "link set dev flap0 down"
done >"$LAB_DIR/flood.batch"
t0=$(date +%s%N)
in_ns rtr ip -batch "$LAB_DIR/flood.batch"
in_ns rtr ip route del default table 101 # and one of uplinkd's objects goes, mid-flood
echo "flood: 10 000 events sent in $((($(date +%s%N) - t0) / 1000000)) ms"
lab_wait 30 sh -c "ip netns exec $LAB_NS_RTR ip route show table 101 | grep -q 'default dev ds'"
t_ok "the route deleted during the flood is back"
sleep 2
ev=$(($(ul_json 's["events"]') - ev0))
rec=$(($(ul_json 's["reconciles"]') - rec0))
ovf=$(ul_json 's["event_overflows"]')
echo "events seen: $ev, reconciles: $rec, overflows (each answered by a full re-read): $ovf"
[ "$ev" -ge 10000 ] || [ "$ovf" -gt 0 ] || t_fail "uplinkd saw only $ev events and no overflow"
[ "$rec" -lt $((ev / 4)) ] || t_fail "$rec reconciles for $ev events: not batched"
t_ok "10 000 events handled in $rec reconciles"
t_eq "$(in_priv rtr "$UL_BIN/uplinkctl" apply -c "$UL_CONF" --dry-run | tail -n1)" "would apply: 0 changes" \
	"the kernel matches the plan after the flood"
t_ok "the daemon answers: $(ul_ctl status | head -n1)"
rss1=$(ul_rss_kb)
echo "RSS before the flood ${rss0} kB, after ${rss1} kB"
if ul_sanitized; then
	# ASan keeps freed memory in quarantine on purpose; its leak check runs when uplinkd stops.
	echo "RSS not compared: uplinkd is the ASan build (tests/run-all.sh runs this test with the normal one too)"
	in_ns rtr ip -batch "$LAB_DIR/flood.batch"
else
	[ "$rss1" -le $((rss0 + 512)) ] || t_fail "RSS grew from ${rss0} kB to ${rss1} kB"
	t_ok "memory flat across the flood (${rss0} -> ${rss1} kB)"
	# a second flood must not grow it either
	in_ns rtr ip -batch "$LAB_DIR/flood.batch"
	sleep 2
	rss2=$(ul_rss_kb)
	[ "$rss2" -le $((rss1 + 128)) ] || t_fail "RSS grew again: ${rss1} -> ${rss2} kB"
	t_ok "and flat across a second one (${rss2} kB)"
fi
lab_wait_ping 20 lan1 "$LAB_INET4_ECHO"
t_eq "$(lab_whoami lan1 | cut -d' ' -f1)" "$LAB_AFTR_PUBLIC4" "traffic still flows through DS-Lite"
