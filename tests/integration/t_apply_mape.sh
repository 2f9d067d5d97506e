#!/bin/bash
# uplinkctl apply: MAP-E with the built-in rule table, on the v6plus-like rule and then, after the
# NGN renumbers, on the OCN-like rule.  Every source port the BR sees lies in the CE's port sets
# (TCP, UDP, ICMP ids); 240 concurrent connections to one inet host:port all get through on
# v6plus (NAT into the first 16-port set alone: compared); MSS is clamped; applying twice
# changes nothing.
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
lab_up br
ul_router
ul_conf <<EOF
[global]
lan = br0

[uplink wan]
type = ipoe
device = wan0

[uplink map]
type = mape
over = wan
rule = auto
EOF

converge() { # apply until nothing changes (the first run brings the WAN up); echo the last
	local out n i
	for i in 1 2 3 4; do
		out=$(ul_apply)
		n=$(ul_changes "$out")
		echo "$out" >&2
		[ "$n" = 0 ] && return 0
		[ "$i" = 1 ] && ul_wait_wan 30 >/dev/null
	done
	t_fail "apply did not converge: $out"
}

check_flows() {
	local seen port i
	lab_wait_ping 20 lan1 "$LAB_INET4_ECHO"
	t_ok "$LAB_PROFILE: ping through the BR (ICMP id mapped into the port sets)"
	for i in 1 2 3 4 5 6; do
		seen=$(lab_whoami lan1)
		t_eq "${seen% *}" "$LAB_MAPE_IPV4" "$LAB_PROFILE: inet sees the shared IPv4"
		port=${seen#* }
		t_port_in "$port" "$LAB_MAPE_PORTS" || t_fail "$LAB_PROFILE: TCP port $port outside the sets"
	done
	t_ok "$LAB_PROFILE: TCP source ports inside PSID $LAB_MAPE_PSID's sets"
	for i in 1 2 3; do
		seen=$(echo x | in_t 10 lan1 socat -t 3 - "UDP:$LAB_INET4_WHOAMI:$LAB_WHOAMI_PORT")
		t_port_in "${seen#* }" "$LAB_MAPE_PORTS" || t_fail "$LAB_PROFILE: UDP port ${seen#* } outside the sets"
	done
	t_ok "$LAB_PROFILE: UDP source ports inside the sets"
	t_eq "$(lab_br_counter leak)" 0 "$LAB_PROFILE: the BR saw no port outside the sets"
	t_eq "$(lab_br_counter badce)" 0 "$LAB_PROFILE: the BR saw only the CE's address"
}

converge
ce=$(in_ns rtr ip -6 addr show dev wan0 | awk '/inet6 .*\/128/ { sub(/\/.*/, "", $2); print $2 }')
t_eq "$ce" "$LAB_MAPE_CE" "the CE address (draft-03 interface id) is on the WAN"
t_match "$(in_ns rtr ip -d link show map)" "ip6tnl ipip6 remote $LAB_MAPE_BR local $LAB_MAPE_CE .*encaplimit none" \
	"the tunnel runs from the CE address to the BR"
t_match "$(in_ns rtr ip -4 addr show dev map)" "inet 192.0.0.4/32" "the tunnel has 192.0.0.4 (the shared IPv4 is no local address)"
ul_mss_watch inet
check_flows
[ "$(ul_mss_seen inet 1460)" = 0 ] || t_fail "a SYN reached inet with MSS 1460"
[ "$(ul_mss_seen inet 1420)" -gt 0 ] || t_fail "no SYN with MSS 1420 reached inet"
t_ok "MSS clamped to 1420 on the tunnel"

# 240 connections at once from one host to one host:port: exactly the v6plus capacity.
res=$(ul_many_tcp lan1 "$LAB_INET4_ECHO" "$LAB_ECHO_PORT" 240 20)
echo "spread over all port sets: $res"
t_eq "$res" "OK 240 FAILED 0" "240 concurrent connections all succeed with the port sets spread"
t_eq "$(lab_br_counter leak)" 0 "none of them leaked a port"
sleep 2
# For comparison: what NAT into the first set alone (as OpenWrt's firewall4 does) gets.
in_ns rtr conntrack -F >/dev/null 2>&1 || true
first=${LAB_MAPE_PORTS%%,*}
in_ns rtr nft -f - <<EOF
flush chain inet uplinkd postrouting
add rule inet uplinkd postrouting oifname "map" meta l4proto { tcp, udp } snat ip to $LAB_MAPE_IPV4:$first
EOF
res1=$(ul_many_tcp lan1 "$LAB_INET4_ECHO" "$LAB_ECHO_PORT" 240 20)
echo "single range $first: $res1"
t_match "$res1" "^OK 16 FAILED 224$" "a single 16-port range holds only 16 of them"
out=$(ul_apply)
t_match "$out" "nft replace table inet uplinkd" "apply puts the tampered table back"
in_ns rtr conntrack -F >/dev/null 2>&1 || true
sleep 1
t_eq "$(ul_changes "$(ul_apply)")" 0 "and then changes nothing"

# The NGN renumbers the line into an OCN Virtual Connect prefix: apply follows.
lab_ngn_prefix ocn
ul_wait_wan 30 >/dev/null
converge
t_match "$(in_ns rtr ip -d link show map)" "remote $LAB_MAPE_BR local $LAB_MAPE_CE " \
	"the tunnel moved to the OCN CE address and BR"
t_match "$(in_ns rtr nft list chain inet uplinkd postrouting)" "numgen inc mod $LAB_MAPE_NSETS " \
	"NAT spreads over all $LAB_MAPE_NSETS OCN port sets"
check_flows
