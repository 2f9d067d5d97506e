#!/bin/bash
# Lab self-test: PPPoE.  Two sessions from rtr's WAN NIC to the BRAS (kernel-mode rp-pppoe.so on
# the client, pppoe-server on the BRAS): the IPv4 user gets IPCP only, the IPv6 user IPv6CP only
# and then a /56 by DHCPv6-PD over the ppp link, which the LAN uses to reach inet.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR/../lab disable=SC2119
# shellcheck source=tests/lab/lab.sh
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/lab/handrouter.sh
. "$LAB_HOME/handrouter.sh"
lab_up bras
hr_lan

# The client asks for IPv6CP too; the BRAS must not give it to the IPv4 user.
hr_pppoe 4 "$LAB_PPP4_USER" +ipv6
a4=$(lab_wait_addr 20 rtr ppp4 -4)
t_eq "$a4" "$LAB_PPP4_POOL" "IPv4 PPPoE session up with $a4"
t_eq "$(in_ns rtr cat /sys/class/net/ppp4/mtu)" "$LAB_PPP_MTU" "MTU $LAB_PPP_MTU"
in_ns rtr ip route add default dev ppp4
lab_wait_ping 10 rtr "$LAB_INET4_ECHO"
t_match "$(lab_whoami rtr "$LAB_INET4_WHOAMI")" "^$LAB_PPP4_POOL [0-9]+\$" "inet sees the PPPoE address"
sleep 1
[ -z "$(in_ns rtr ip -6 -o addr show dev ppp4)" ] || t_fail "the IPv4 user got IPv6CP"
t_ok "the IPv4 user's session has no IPv6CP"

# The IPv6 user: the client also offers IPCP, the BRAS must refuse it.
hr_pppoe 6 "$LAB_PPP6_USER" +ipv6
ll6() { in_ns rtr ip -6 -o addr show dev ppp6 | grep -q ' fe80::'; }
lab_wait 20 ll6
t_ok "IPv6 PPPoE session up (IPv6CP, link-local address)"
[ -z "$(in_ns rtr ip -4 -o addr show dev ppp6)" ] || t_fail "the IPv6 user got IPCP"
t_ok "the IPv6 user's session has no IPCP"
t_eq "$(in_ns rtr ip -o link show | grep -c ': ppp[46]:')" 2 "both sessions up side by side"

pd=$(hr_dhcp6pd ppp6)
t_eq "$pd" "$LAB_PPP6_PD" "DHCPv6-PD over the ppp link delegated a /56"
in_ns bras ip -6 route show "$LAB_PPP6_PD" | grep -q 'dev ppp' || t_fail "the BRAS does not route $pd"
t_ok "the BRAS routes the /56 into the session"

# The LAN gets a /64 of it; a LAN host reaches inet over IPv6.
lan64=${pd%::/56}::
in_ns rtr ip -6 addr add "${lan64}1/64" dev br0
in_ns rtr ip -6 route add default dev ppp6
in_ns lan1 ip -6 addr add "${lan64}10/64" dev eth0
in_ns lan1 ip -6 route add default via "${lan64}1"
lab_wait_ping 10 lan1 "$LAB_INET6_ECHO"
t_ok "a LAN host pings inet over the IPv6 PPPoE session"
t_eq "$(lab_whoami lan1 "$LAB_INET6_WHOAMI" --local-port 40010)" "${lan64}10 40010" \
	"inet sees the LAN host's address from the delegated prefix"
