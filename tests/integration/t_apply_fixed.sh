#!/bin/bash
# uplinkctl apply: transix fixed IPv4 on VLAN 1000 (as seed 002 runs it).  uplinkd builds
# wan0.1000, sets the ::feed token before the WAN sees its first RA, builds the ipip6 tunnel from
# PREFIX::feed, and sends the update request; the endpoint passes traffic only after it, inet sees
# the fixed address, and the password appears in no process argument or output.  The VLAN's
# parent wan0 faces the ISP too: what arrives on it untagged meets uplinkd's firewall.
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
LAB_WAN_VLAN=1000 lab_up fixed
ul_router
pw=$(ul_secret transix "$LAB_FIXED_PASS")
ul_conf <<EOF
[global]
lan = br0

[uplink ngn]
type = ipoe
device = wan0
vlan = 1000
token = ::feed

[uplink fixed]
type = ipip6
over = ngn
remote = $LAB_FIXED_REMOTE
ipv4 = $LAB_FIXED_IPV4
user = $LAB_FIXED_USER
password-file = $pw
EOF
UL_WAN_DEV=wan0.1000

out=$(ul_apply)
echo "$out"
t_match "$out" "ip link add link wan0 name wan0.1000 type vlan id 1000" "the VLAN is built"
tok=$(grep -n "ip token set ::feed dev wan0.1000" <<<"$out" | cut -d: -f1)
up=$(grep -n "ip link set dev wan0.1000 up" <<<"$out" | cut -d: -f1)
[ -n "$tok" ] && [ -n "$up" ] && [ "$tok" -lt "$up" ] || t_fail "the token must be set before the VLAN comes up"
t_ok "the ::feed token is set before the VLAN comes up"
wan=$(ul_wait_wan 30)
t_match "$wan" "::feed$" "SLAAC formed the WAN address with interface id ::feed ($wan)"
t_eq "$(in_ns rtr ip token get dev wan0.1000 | awk '{print $2}')" "::feed" "the kernel has the token"

out=$(ul_apply)
echo "$out"
t_match "$out" "ip link add fixed type ip6tnl mode ipip6 local $wan remote $LAB_FIXED_REMOTE" \
	"the tunnel runs from PREFIX::feed to the endpoint"
t_match "$out" "update request for fixed registered $wan: OK" "the update request was answered OK"
req=$(tail -n1 "$LAB_FIXED_LOG")
echo "update server saw: $req"
t_match "$req" "\"username\": \"$LAB_FIXED_USER\"" "the update server saw the right user"
t_match "$req" "\"result\": \"OK\"" "and accepted the request"
t_match "$req" "\"src\": \"$wan\"" "sent from the ::feed address"
grep -qF "$LAB_FIXED_PASS" <<<"$out" && t_fail "the password appeared in apply's output"
t_ok "the password is in no output"

lab_wait_ping 20 lan1 "$LAB_INET4_ECHO"
seen=$(lab_whoami lan1)
t_eq "${seen% *}" "$LAB_FIXED_IPV4" "inet sees the LAN host with the fixed IPv4 ($seen)"
[ "$(lab_fixed_counter passed)" -gt 0 ] || t_fail "the endpoint counted no passed packet"
t_ok "the endpoint passes the tunnel's traffic after the update"

# The router's own traffic from the fixed address also leaves by the tunnel.
seen=$(in_priv_t 15 rtr curl -sS --max-time 10 --interface "$LAB_FIXED_IPV4" "http://$LAB_INET4_WHOAMI/")
t_eq "${seen% *}" "$LAB_FIXED_IPV4" "the router's own request from the fixed address uses the tunnel"

out=$(ul_apply)
t_eq "$(ul_changes "$out")" 0 "applying again changes nothing (and sends no second update)"
t_eq "$(grep -c '"result"' "$LAB_FIXED_LOG")" 1 "one update request in all"
in_ns rtr ps -eo args >"$LAB_DIR/ps.txt" # to a file first: a grep in the list would match itself
if grep -F -- "$LAB_FIXED_PASS" "$LAB_DIR/ps.txt"; then t_fail "the password is in a process argument"; fi
t_ok "no process argument holds the password"

# ---- the VLAN's parent is filtered like the VLAN ----
# From the NGN's side of the wire, untagged (on wan0, not wan0.1000), to the router's link-local
# address on wan0, port 22 where nothing listens: a RST if it got through, nothing if dropped.
parent_ll=$(in_ns rtr ip -6 -o addr show dev wan0 scope link | awk '{ sub("/.*", "", $4); print $4; exit }')
[ -n "$parent_ll" ] || t_fail "wan0 has no link-local address"
wan_in_drops() {
	in_ns rtr nft list chain inet uplinkd wan_input | sed -nE 's/^\s*counter packets ([0-9]+) bytes [0-9]+ drop.*/\1/p'
}
d0=$(wan_in_drops)
out=$(in_t 20 ngn socat -t 5 - "TCP6:[$parent_ll%rtr]:22,connect-timeout=3" </dev/null 2>&1) || true
case "$out" in *"timed out"*) out=timeout ;; esac
t_eq "$out" timeout "ngn -> [$parent_ll%rtr]:22 untagged on the VLAN's parent: dropped, no RST"
d1=$(wan_in_drops)
[ "$d1" -gt "$d0" ] || t_fail "uplinkd's wan_input drop counter did not move ($d0 -> $d1)"
t_ok "uplinkd's wan_input counted the drop on wan0 ($d0 -> $d1)"
