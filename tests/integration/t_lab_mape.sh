#!/bin/bash
# Lab self-test: MAP-E.  A hand-built CE in rtr reaches inet through the BR with the shared IPv4
# and ports inside its port sets; the BR drops and records a deliberately wrong source port and a
# packet from an address that is no CE; then the NGN switches the line to an OCN Virtual Connect
# prefix and the same works under the OCN rule.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR/../lab disable=SC2119
# shellcheck source=tests/lab/lab.sh
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/lab/handrouter.sh
. "$LAB_HOME/handrouter.sh"
lab_up br
hr_lan
hr_wan
hr_mape

check_ce() { # the LAN host's flows leave with the CE's IPv4 and ports from its port sets
	local i seen addr port
	lab_wait_ping 10 lan1 "$LAB_INET4_ECHO"
	t_ok "$LAB_PROFILE: a LAN host pings inet through the BR (ICMP id inside the port sets)"
	for i in 1 2 3 4; do
		seen=$(lab_whoami lan1 "$LAB_INET4_WHOAMI")
		addr=${seen% *} port=${seen#* }
		[ "$addr" = "$LAB_MAPE_IPV4" ] || t_fail "$LAB_PROFILE: inet saw $seen, want $LAB_MAPE_IPV4"
		t_port_in "$port" "$LAB_MAPE_PORTS" || t_fail "$LAB_PROFILE: port $port outside the port sets"
	done
	t_ok "$LAB_PROFILE: inet sees $LAB_MAPE_IPV4 with ports inside PSID $LAB_MAPE_PSID's sets"
	seen=$(echo x | in_t 10 lan1 socat -t 3 - "UDP:$LAB_INET4_WHOAMI:$LAB_WHOAMI_PORT")
	t_port_in "${seen#* }" "$LAB_MAPE_PORTS" || t_fail "$LAB_PROFILE: UDP port ${seen#* } outside the sets"
	t_ok "$LAB_PROFILE: UDP too ($seen)"
}

t_eq "$LAB_MAPE_IPV4 $LAB_MAPE_PSID $LAB_MAPE_CE" \
	"106.72.63.108 212 240b:10:3f6c:d400:6a:483f:6c00:d400" "v6plus values of the lab's BR"
check_ce
t_eq "$(lab_br_counter leak)" 0 "no leak counted so far"
[ "$(lab_br_counter ok)" -gt 0 ] || t_fail "the BR's ok counter is 0"
t_ok "the BR counted $(lab_br_counter ok) packets as inside the port sets"

# A wrong source port: rtr sends from port 1000 without NAT (the rule before snat accepts it).
in_ns rtr nft insert rule ip handmape postrouting udp sport 1000 accept
echo leak | in_t 10 rtr socat -t 1 - "UDP:$LAB_INET4_WHOAMI:$LAB_WHOAMI_PORT,sourceport=1000,bind=$LAB_MAPE_IPV4" || true
t_eq "$(lab_br_counter leak)" 1 "the BR counted the packet from port 1000 as a leak"
t_eq "$(lab_br_leaked)" "$LAB_MAPE_IPV4 . 1000" "the BR recorded which address and port leaked"
grep -q " 1000 whoami" "$LAB_INET_LOG" && t_fail "the leaked packet reached inet"
t_ok "the leaked packet never reached inet"

# A packet from an address that is not the CE address of any rule.
in_ns rtr ip -batch - <<EOF
link add badce type ip6tnl mode ipip6 local $HR_WAN_ADDR remote $LAB_MAPE_BR encaplimit none dev $HR_WAN
link set dev badce up
route add $LAB_INET4_ECHO/32 dev badce src $LAB_MAPE_IPV4
EOF
in_t 10 rtr ping -n -c1 -W1 "$LAB_INET4_ECHO" >/dev/null 2>&1 && t_fail "a ping from a non-CE address went through"
t_eq "$(lab_br_counter badce)" 1 "the BR dropped and counted the packet from a non-CE IPv6 address"
in_ns rtr ip link del badce

# The line moves to an OCN Virtual Connect prefix; the CE follows by hand.
in_ns rtr nft delete table ip handmape
in_ns rtr ip link del mape0
in_ns rtr ip -6 addr del "$LAB_MAPE_CE/64" dev "$HR_WAN"
lab_ngn_prefix ocn
t_eq "$LAB_MAPE_IPV4 $LAB_MAPE_PSID $LAB_MAPE_NSETS" "180.49.4.141 5 63" "OCN values of the lab's BR"
new=$(lab_wait_addr 30 rtr "$HR_WAN" -6 "^${LAB_RA_PREFIX%%::*}:")
t_ok "rtr got an address in the new prefix ($new)"
t_match "$(in_ns rtr ip -6 addr show dev "$HR_WAN" | grep -A1 '240b:10:3f6c:d400:' | head -n2)" \
	"deprecated" "the old prefix is announced as deprecated"
HR_WAN_ADDR=$new
hr_mape
check_ce
t_eq "$(lab_br_counter leak)" 1 "still just the one leak"
