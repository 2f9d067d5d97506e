#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A rogue DHCPv6 server on the NGN side (tests/lab/servers/rogue6.py) answers the IPoE uplink's
# Solicit first.  A /72, a /128, ::/0, lifetimes 0, preferred > valid, T1 > T2 and a truncated
# IA_PD are refused: uplinkd keeps running (same pid), the PD uplink waits and says why in
# `uplinkctl status` (and status -j "reason"), and a static uplink on its own wire carries a LAN
# host's ping throughout.  A good /56 gets its unreachable route (RFC 7084 WPD-5); a new prefix at
# every Renew moves the LAN address and that route along.  A saved lease with such a prefix (as
# an older uplinkd wrote it, which then crashed at every start) is refused at start, with a reason.
# lab: host
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
lab_up inet
ul_router
ul_static_line
ul_conf <<EOF
[global]
lan = br0
hold-down = 2s

[uplink wan]
type = ipoe
device = wan0
prefix = dhcpv6-pd
pd-lan = br0
pd-subnet = 1
priority = 50

[uplink st]
type = static
device = st0
ipv4 = 198.18.99.2/24
gateway = 198.18.99.1
priority = 10
EOF
P=${LAB_ROGUE6_PREFIX%::/56}   # 2001:db8:5500

# The PD uplink as status -j shows it: "STATE|REASON|PREFIX" (one call: each is slow in the VM).
wan() { ul_json "[u['state'] + '|' + u['reason'] + '|' + u['dhcpv6_pd']['prefix'] for u in s['uplinks'] if u['name'] == 'wan'][0]"; }
reason_has() { W=$(wan) && case "$W" in *"$1"*"|"*) return 0 ;; esac; return 1; }
pd_is() { W=$(wan) && [ "${W##*|}" = "$1" ]; }
pd_prefix() { W=$(wan) && echo "${W##*|}"; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
unreachables() { in_ns rtr ip -6 route show type unreachable proto 117 | sed -E 's/ pref [a-z]+//'; }

# The very first answer is hostile, as when another on-link host is quicker than the ISP.
lab_rogue6 len72
ul_daemon
pid=$(ul_pid)
ul_wait_up st 30
lab_wait_ping 20 lan1 "$LAB_INET4_ECHO"
ul_pinger lan1 "$LAB_INET4_ECHO" ping1

# mode, and what status must say
cases=(
	"len72|no delegated prefix: server sent no usable prefix: $P::/72 is longer than /64"
	"len128|server sent no usable prefix: $P::1/128 is longer than /64"
	"len0|server sent no usable prefix: ::/0 is shorter than /32"
	"valid0|server sent no usable prefix: $P::/56 has valid lifetime 0"
	"pref_gt_valid|$P::/56 has preferred lifetime 500 > valid 400"
	"t1_gt_t2|server sent an IA_PD with T1 300 > T2 200 (discarded, RFC 8415 21.21)"
	"truncated|ignored a malformed Reply: an option runs past its end"
)
first=1
for c in "${cases[@]}"; do
	mode=${c%%|*} why=${c#*|}
	if [ -z "$first" ]; then
		# a fresh client solicits at once (a refused one backs off, up to an hour)
		lab_rogue6 "$mode"
		ul_ctl down wan >/dev/null
		ul_ctl up wan >/dev/null
	fi
	first=
	lab_wait 30 reason_has "$why" || t_fail "$mode: status -j says '$(wan)'"
	alive "$pid" || t_fail "$mode: uplinkd (pid $pid) died: $(ul_log | tail -n 5)"
	t_eq "$(ul_pid)" "$pid" "$mode: uplinkd runs on (same pid)"
	t_eq "${W%%|*}" waiting "$mode: the PD uplink waits"
	# (the text form once for a refused prefix, once for a refused message: each call is slow in the VM)
	case $mode in len72 | truncated)
		t_match "$(ul_ctl status)" "wan \(ipoe\): waiting since [0-9]+s -- .*${why//[()]/.}" \
			"$mode: uplinkctl status says why" ;;
	esac
	logged=${why#no delegated prefix: }
	t_match "$(ul_log)" "uplink wan: DHCPv6 on wan0: (.*: )?${logged//[()]/.}" "$mode: the log says why"
	k=$(in_ns rtr sh -c 'ip -6 -o addr show dev br0 scope global; ip -6 route show type unreachable')
	case "$k" in *"$P"* | *unreachable*) t_fail "$mode: an address or route from the refused prefix: $k" ;; esac
	t_ok "$mode: nothing of it on br0 or in the routes"
done
t_eq "$(lab_whoami lan1 | cut -d' ' -f1)" 198.18.99.2 "the LAN host's traffic leaves by the static uplink"

# A good /56: taken, with its unreachable route; the LAN's /64 is more specific.
lab_rogue6 good
ul_ctl down wan >/dev/null
ul_ctl up wan >/dev/null
lab_wait 30 pd_is "$P::/56" || t_fail "good: no $P::/56: $(ul_ctl status | grep -A2 DHCPv6)"
ul_wait_up wan 20
t_match "$(unreachables)" "^unreachable $P::/56 dev lo (proto 117 )?metric 2147483647$" "good: the delegated /56 is unreachable (WPD-5)"
t_match "$(in_ns rtr ip -6 -o addr show dev br0)" "$P:1::1/64" "good: br0 got the pd-subnet 1 /64"

# A new prefix at every Renew (T1 2 s): followed, the old address and route go.
lab_rogue6 renew_new
ul_ctl down wan >/dev/null
ul_ctl up wan >/dev/null
pd_moved() { W=$(wan) && case "${W##*|}" in "$P"::/56 | "") return 1 ;; esac; }
lab_wait 30 pd_moved || t_fail "renew_new: still at $(pd_prefix)"
lab_rogue6 silent   # holds it: Renew and Rebind go unanswered until the valid lifetime (60 s)
sleep 0.5
cur=$(pd_prefix)
t_eq "$(ul_pid)" "$pid" "renew_new: uplinkd runs on (same pid) through $(grep -c 'uplink wan: delegated prefix ' "$LAB_DIR/log/uplinkd.log") prefix changes"
lab_wait 10 sh -c "[ \"\$(ip netns exec $LAB_NS_RTR ip -6 route show type unreachable proto 117 | wc -l)\" = 1 ]" ||
	t_fail "renew_new: unreachable routes: $(unreachables)"
t_match "$(unreachables)" "^unreachable ${cur%/56}/56 " "renew_new: one unreachable route, for the current $cur"
lab_wait 10 sh -c "[ \"\$(ip netns exec $LAB_NS_RTR ip -6 -o addr show dev br0 scope global | grep -c '$P')\" = 1 ]" ||
	t_fail "renew_new: br0 has $(in_ns rtr ip -6 -o addr show dev br0 scope global)"
t_ok "renew_new: br0 has one address, from $cur"

# Restarts over a saved lease an older uplinkd wrote from such a server: refused, no crash loop.
lease=$LAB_DIR/priv/rtr/run/uplinkd/pd-wan
lab_rogue6 len128
for bad in "$P::/72" "::/0"; do
	lab_kill uplinkd
	now=$(date +%s)
	echo "$bad $((now + 3000)) $((now + 1500)) 600 960 000300010200000e66" >"$lease"
	ul_daemon
	pid=$(ul_pid)
	lab_wait 30 reason_has "no delegated prefix: server sent no usable prefix: $P::1/128" ||
		t_fail "restart over $bad: status -j says '$(wan)'"
	sleep 1
	alive "$pid" || t_fail "restart over $bad: uplinkd died: $(ul_log | tail -n 5)"
	t_match "$(ul_log)" "uplink wan: saved lease refused: ${bad//./\\.} is (longer|shorter) than /(64|32).*removed" \
		"restart over a saved $bad: refused with the reason"
	[ ! -e "$lease" ] || t_fail "the refused lease is still there: $(cat "$lease")"
	t_eq "$(ul_pid)" "$pid" "restart over a saved $bad: uplinkd runs on"
done

gap=$(ul_ping_gap ping1)
echo "longest gap in the LAN host's ping through the static uplink: ${gap}s"
awk -v g="$gap" 'BEGIN { exit !(g < 3) }' || t_fail "the ping gap ${gap}s is too long"
t_ok "the static uplink carried the LAN host's ping throughout (longest gap ${gap}s)"
