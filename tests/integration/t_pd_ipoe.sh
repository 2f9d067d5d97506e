#!/bin/bash
# DHCPv6-PD on the IPoE WAN feeds MAP-E: with prefix = dhcpv6-pd the NGN's DHCPv6 server (ISC
# dhcpd) delegates the /56, MAP-E derives its IPv4, PSID and CE address from it, br0 gets the
# pd-subnet'th /64, and LAN traffic goes through the BR inside the port sets.  When the NGN
# renumbers, the client's Rebind after a link flap learns that the old /56 is gone, asks anew
# and MAP-E follows the new prefix through the normal reconcile.  The delegated prefix is
# unreachable but for the LAN's /64 (RFC 7084 WPD-5), and that route follows the prefix.
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
prefix = dhcpv6-pd
pd-lan = br0
pd-subnet = 1

[uplink map]
type = mape
over = wan
rule = auto
EOF
pdj() { ul_json "[u['dhcpv6_pd']['$1'] for u in s['uplinks'] if u['name'] == 'wan'][0]"; }
pd_is() { [ "$(pdj "$1")" = "$2" ]; }
# the pd-subnet 1 /64 of a /56, with ::1
sub1() { python3 -c "import ipaddress, sys; n = list(ipaddress.ip_network(sys.argv[1]).subnets(new_prefix=64))[1]; print(f'{n[1]}/64')" "$1"; }
mapj() { ul_json "[u['mape']['$1'] for u in s['uplinks'] if u['name'] == 'map'][0]"; }
# subn PREFIX N HOST: address HOST (a number) in the Nth /64 of PREFIX
subn() { python3 -c "import ipaddress, sys; n = list(ipaddress.ip_network(sys.argv[1]).subnets(new_prefix=64))[int(sys.argv[2])]; print(n[int(sys.argv[3])])" "$@"; }
unreachables() { in_ns rtr ip -6 route show type unreachable | sed -E 's/ pref [a-z]+//'; }

# RFC 7084 WPD-5: the delegated prefix has an unreachable route; a LAN host's packet to a /64 of
# it that no LAN uses gets an ICMPv6 unreachable from the router, instead of going out by the
# default route and coming back from the NGN (which routes the /56 to us) until its hop limit
# runs out.
check_wpd5() {
	local gw out
	t_match "$(unreachables)" "^unreachable $LAB_PD_PREFIX dev lo proto 117 metric 2147483647" \
		"$LAB_PROFILE: the kernel has 'unreachable $LAB_PD_PREFIX proto 117' in the main table"
	t_eq "$(unreachables | wc -l)" 1 "$LAB_PROFILE: and no other unreachable route"
	gw=$(subn "$LAB_PD_PREFIX" 1 1)
	in_ns lan1 ip -6 addr replace "$(subn "$LAB_PD_PREFIX" 1 16)/64" dev eth0
	in_ns lan1 ip -6 route replace default via "$gw"
	lab_wait_ping 10 lan1 "$gw"
	out=$(in_t 10 lan1 ping -6 -n -c 1 -W 3 "$(subn "$LAB_PD_PREFIX" 5 1)" 2>&1 || true)
	t_match "$out" "From $gw icmp_seq=1 Destination unreachable" \
		"$LAB_PROFILE: a LAN host's ping to another /64 of the prefix is refused by the router"
}

check_mape() {
	local seen port i
	lab_wait 30 pd_is prefix "$LAB_PD_PREFIX" || t_fail "$LAB_PROFILE: no $LAB_PD_PREFIX: $(ul_ctl status | grep -A2 DHCPv6)"
	t_ok "$LAB_PROFILE: dhcpd delegated $LAB_PD_PREFIX"
	ul_wait_up map 60
	t_eq "$(mapj ipv4)" "$LAB_MAPE_IPV4" "$LAB_PROFILE: MAP-E IPv4 from the delegated prefix"
	t_eq "$(mapj psid)" "$LAB_MAPE_PSID" "$LAB_PROFILE: PSID from the delegated prefix"
	t_eq "$(mapj ce_ipv6)" "$LAB_MAPE_CE" "$LAB_PROFILE: CE address from the delegated prefix"
	t_match "$(in_ns rtr ip -6 -o addr show dev br0)" "$(sub1 "$LAB_PD_PREFIX")" \
		"$LAB_PROFILE: br0 got $(sub1 "$LAB_PD_PREFIX") (pd-subnet 1)"
	lab_wait_ping 30 lan1 "$LAB_INET4_ECHO"
	for i in 1 2 3; do
		seen=$(lab_whoami lan1)
		t_eq "${seen% *}" "$LAB_MAPE_IPV4" "$LAB_PROFILE: inet sees the shared IPv4"
		port=${seen#* }
		t_port_in "$port" "$LAB_MAPE_PORTS" || t_fail "$LAB_PROFILE: TCP port $port outside the sets"
	done
	t_ok "$LAB_PROFILE: LAN TCP leaves through the BR inside PSID $LAB_MAPE_PSID's port sets"
	t_eq "$(lab_br_counter badce)" 0 "$LAB_PROFILE: the BR saw only the CE's address"
}

ul_daemon
check_mape
check_wpd5
t_match "$(ul_log)" "uplink wan: delegated prefix $LAB_PD_PREFIX" "the log names the prefix"
old=$LAB_PD_PREFIX old_lan=$(sub1 "$LAB_PD_PREFIX")

# The NGN renumbers (dhcpd now delegates another /56).  The WAN's link flaps: the client confirms
# what it holds, the server says the old /56 is over, the client asks again.
lab_ngn_prefix v6plus2
[ "$LAB_PD_PREFIX" != "$old" ] || t_fail "the lab did not renumber"
in_ns rtr ip link set wan0 down
sleep 1
in_ns rtr ip link set wan0 up
check_mape
t_match "$(ul_log)" "uplink wan: delegated prefix $LAB_PD_PREFIX" "the log names the new prefix"
br0=$(in_ns rtr ip -6 -o addr show dev br0)
case "$br0" in *"$old_lan"*) t_fail "br0 still has the old $old_lan" ;; esac
t_ok "br0's old /64 is gone"
t_eq "$(lab_br_counter leak)" 0 "the BR saw no port outside the sets"
check_wpd5
case "$(unreachables)" in *"$old"*) t_fail "the old $old is still unreachable" ;; esac
t_ok "the old /56's unreachable route went with its lease"
