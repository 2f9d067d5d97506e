#!/bin/bash
# Lab self-test: the NGN's IPoE side.  RA gives the WAN a /64 and a default route, ISC dhcpd
# delegates a /56 that the NGN then routes to the router (a LAN host reaches inet over IPv6 with
# an address from it), and a prefix change at run time moves both.
# lab: host
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR/../lab disable=SC2119
# shellcheck source=tests/lab/lab.sh
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/lab/handrouter.sh
. "$LAB_HOME/handrouter.sh"
lab_up inet
hr_lan
hr_wan
t_match "$HR_WAN_ADDR" "^${LAB_RA_PREFIX%%::*}:" "SLAAC address in the RA's /64 ($LAB_RA_PREFIX)"
in_ns rtr ip -6 route show default | grep -q "via $LAB_NGN_LL dev $HR_WAN" || t_fail "no default route via $LAB_NGN_LL"
t_ok "default route via the NGN's $LAB_NGN_LL"

pd=$(hr_dhcp6pd "$HR_WAN")
t_eq "$pd" "$LAB_PD_PREFIX" "DHCPv6-PD delegated the line's /56"
lab__pd_routed() { in_ns ngn ip -6 route show "$1" | grep -q "via fe80::"; }
lab_wait 10 lab__pd_routed "$pd"
t_ok "the NGN routes the /56 to the router ($(in_ns ngn ip -6 route show "$pd"))"

lan64=${pd%00::/56}01::
in_ns rtr ip -6 addr add "${lan64}1/64" dev br0
in_ns lan1 ip -6 addr add "${lan64}10/64" dev eth0
in_ns lan1 ip -6 route add default via "${lan64}1"
lab_wait_ping 10 lan1 "$LAB_INET6_ECHO"
t_eq "$(lab_whoami lan1 "$LAB_INET6_WHOAMI" --local-port 40020)" "${lan64}10 40020" \
	"a LAN host reaches inet over IPv6 with an address from the /56"

old=$HR_WAN_ADDR
lab_ngn_prefix v6plus2
new=$(lab_wait_addr 30 rtr "$HR_WAN" -6 "^${LAB_RA_PREFIX%%::*}:")
t_ok "after the prefix change the WAN has $new"
in_ns rtr ip -6 addr show dev "$HR_WAN" | grep -A1 "$old" | grep -q deprecated || t_fail "$old is not deprecated"
t_ok "the old address $old is deprecated"
lab_kill "dhcpcd-$HR_WAN"
rm -f "$LAB_DIR/priv/rtr/var/lib/dhcpcd/"*
pd=$(hr_dhcp6pd "$HR_WAN")
t_eq "$pd" "$LAB_PD_PREFIX" "DHCPv6-PD now delegates the new /56"
lab_wait 10 lab__pd_routed "$pd"
t_ok "the NGN routes the new /56"
