#!/bin/bash
# Lab self-test: transix fixed IPv4 over VLAN 1000.  The tunnel from the ::feed address passes
# nothing until the HTTP update request with the right credentials; then the LAN reaches inet
# with the fixed IPv4.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR/../lab disable=SC2119
LAB_WAN_VLAN=1000
# shellcheck source=tests/lab/lab.sh
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/lab/handrouter.sh
. "$LAB_HOME/handrouter.sh"
lab_up fixed
hr_lan
hr_wan ::feed
t_eq "$HR_WAN_ADDR" "${LAB_RA_PREFIX%%::*}::feed" "SLAAC with token ::feed over VLAN $LAB_WAN_VLAN"
in_ns ngn ip -d link show dev rtr.1000 | grep -q 'vlan protocol 802.1Q id 1000' ||
	t_fail "the NGN side has no VLAN 1000"
hr_fixed

in_t 10 lan1 ping -n -c2 -W1 "$LAB_INET4_ECHO" >/dev/null 2>&1 && t_fail "traffic passed before the update"
[ "$(lab_fixed_counter blocked)" -gt 0 ] || t_fail "the endpoint counted nothing as blocked"
t_ok "before the update the endpoint drops the tunnel's packets ($(lab_fixed_counter blocked) blocked)"

t_eq "$(hr_fixed_update "$LAB_FIXED_USER" wrong-password || true)" NG "a wrong password is refused"
in_t 10 lan1 ping -n -c1 -W1 "$LAB_INET4_ECHO" >/dev/null 2>&1 && t_fail "traffic passed after a refused update"
t_ok "still blocked after the refused update"

t_eq "$(hr_fixed_update)" OK "the update with the right credentials answers OK"
lab_wait_ping 10 lan1 "$LAB_INET4_ECHO"
t_ok "after the update a LAN host pings inet through the tunnel"
t_match "$(lab_whoami lan1 "$LAB_INET4_WHOAMI")" "^$LAB_FIXED_IPV4 [0-9]+\$" "inet sees the fixed IPv4"

t_eq "$(wc -l <"$LAB_FIXED_LOG")" 2 "the update server logged both requests"
t_match "$(tail -n1 "$LAB_FIXED_LOG")" "\"src\": \"$HR_WAN_ADDR\".*\"username\": \"$LAB_FIXED_USER\".*\"registered\": \"$HR_WAN_ADDR\", \"result\": \"OK\"" \
	"the log shows source, user and the registered ::feed address"
grep -q -- "$LAB_FIXED_PASS" "$LAB_FIXED_LOG" && t_fail "the log contains the password"
t_ok "the log never contains the password"
