#!/bin/bash
# uplinkctl apply: policy routing picks the uplink.  Five uplinks at once over one IPoE WAN (token
# ::feed): MAP-E (the main default route, priority 10), DS-Lite (20), transix fixed IPv4 (30), and
# a plain Ethernet line to inet (static, st0).  Policies, tried in file order:
#   host1    from lan1 (192.0.2.10)          -> static, fallback none (fail closed)
#   www      to $LAB_INET4_WWW/32            -> DS-Lite
#   tcp4000  tcp dport 4000                  -> fixed IPv4
#   udp-st   from lan2, udp dport 4000       -> static, fallback MAP-E
# Every flow is judged by the address inet saw (what-is-my-address over HTTP, TCP and UDP, and the
# www host's /json).  lan1 matches host1 and also www/tcp4000: the first policy wins.  Then the
# static line loses carrier: lan1's traffic is refused (fail closed) while lan2's UDP falls back
# to MAP-E; the carrier returns and both go back.  Fail closed is airtight: a main-table host
# route into MAP-E for the echo host (as a VPN's 0.0.0.0/1 would be) takes none of lan1's
# traffic, up or down, while lan1 still reaches a second LAN subnet on br0.  The fwmark rules
# are checked in the kernel and an apply without anything new changes nothing.
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
LAB_LAN_HOSTS=3 lab_up aftr br fixed
ul_router
# The static uplink: its own wire from rtr to inet (inet routes 198.18.99.0/24 back over it,
# the network being connected there).
ST4=198.18.99.2
in_ns rtr ip link add st0 type veth peer name st0 netns "$LAB_NS_INET"
in_ns inet ip addr add 198.18.99.1/24 dev st0
in_ns inet ip link set dev st0 up
pw=$(ul_secret transix "$LAB_FIXED_PASS")
ul_conf <<EOF
[global]
lan = br0

[uplink wan]
type = ipoe
device = wan0
token = ::feed

[uplink map]
type = mape
over = wan
rule = auto
priority = 10

[uplink transix]
type = dslite
over = wan
aftr = $LAB_AFTR_NAME
priority = 20

[uplink fixed]
type = ipip6
over = wan
remote = $LAB_FIXED_REMOTE
ipv4 = $LAB_FIXED_IPV4
user = $LAB_FIXED_USER
password-file = $pw
priority = 30

[uplink st]
type = static
device = st0
ipv4 = $ST4/24
gateway = 198.18.99.1
priority = none

[policy host1]
from = $LAB_LAN1_ADDR4
uplink = st
fallback = none

[policy www]
to = $LAB_INET4_WWW/32
uplink = transix

[policy tcp4000]
proto = tcp
dport = $LAB_WHOAMI_PORT
uplink = fixed

[policy udp-st]
from = 192.0.2.11
proto = udp
dport = $LAB_WHOAMI_PORT
uplink = st
fallback = map
EOF

# www_seen NS: "ADDR PORT" the www host (not a what-is-my-address one) saw, from its /json.
www_seen() {
	in_t 15 "$1" curl -sS --max-time 10 "http://$LAB_INET4_WWW/json" |
		sed -nE 's/.*"addr": "([^"]+)", "port": ([0-9]+).*/\1 \2/p'
}
# rule_of MARK: the IPv4 rule for fwmark MARK (hex) with uplinkd's mask, in $rules (the kernel's
# rules, read after each apply).
rule_of() { grep -E "fwmark $(printf '%#x' $(($1)))/0xff0000( |$)" <<<"$rules" || true; }
# policy_mark NAME: the mark uplinkd's nftables table gives LAN traffic matching policy NAME, in
# $pre (its prerouting chain).
policy_mark() {
	sed -nE "s/.*meta mark set meta mark & 0x[0-9a-f]+ \\| (0x[0-9a-f]+) return comment \"policy $1\".*/\\1/p" <<<"$pre"
}
st0_shows() { in_ns rtr ip -o link show dev st0 | grep -q "$1"; } # FLAG: rtr's st0 shows FLAG
is_mape() { # SEEN MSG: the MAP-E address and a port inside the port sets
	t_eq "${1% *}" "$LAB_MAPE_IPV4" "$2: MAP-E's address"
	t_port_in "${1#* }" "$LAB_MAPE_PORTS" || t_fail "$2: port ${1#* } outside MAP-E's sets"
	t_ok "$2: port ${1#* } inside MAP-E's port sets"
}

ul_converge
t_eq "$(ul_default)" map "the main table's default route leads into MAP-E (priority 10)"
for u in map transix fixed; do
	lab_wait_link 5 rtr "$u" || t_fail "tunnel $u is not up"
done
t_match "$(in_ns rtr ip -4 addr show dev st0)" "inet $ST4/24" "the static address is on st0"

# ---- the kernel's rules: every uplink and every policy chain has its fwmark rule ----
info=$(ul_uplink_info)
echo "$info"
read -r _ map_table map_mark <<<"$(grep '^map ' <<<"$info")"
read -r _ ds_table ds_mark <<<"$(grep '^transix ' <<<"$info")"
read -r _ fx_table fx_mark <<<"$(grep '^fixed ' <<<"$info")"
read -r _ st_table st_mark <<<"$(grep '^st ' <<<"$info")"
rules=$(in_ns rtr ip -4 rule show)
echo "$rules"
pre=$(in_ns rtr nft list chain inet uplinkd prerouting)
for u in "map $map_table $map_mark" "transix $ds_table $ds_mark" "fixed $fx_table $fx_mark" "st $st_table $st_mark"; do
	read -r -a f <<<"$u"; set -- "${f[@]}"
	t_match "$(rule_of "$3")" "lookup $2( |$)" "ip rule: fwmark $3 (uplink $1) looks up table $2"
done
declare -A pmark
for p in host1 www tcp4000 udp-st; do
	pmark[$p]=$(policy_mark "$p")
	[ -n "${pmark[$p]}" ] || t_fail "no nftables rule marks policy $p"
done
t_eq "$(printf '%s\n' "${pmark[@]}" | sort -u | wc -l)" 4 "four policy chains, four marks (${pmark[*]})"
t_match "$(rule_of "${pmark[host1]}")" "lookup $st_table( |$)" "ip rule: policy host1's mark ${pmark[host1]} looks up st's table"
t_match "$(rule_of "${pmark[www]}")" "lookup $ds_table( |$)" "ip rule: policy www's mark looks up transix's table"
t_match "$(rule_of "${pmark[tcp4000]}")" "lookup $fx_table( |$)" "ip rule: policy tcp4000's mark looks up fixed's table"
t_match "$(rule_of "${pmark[udp-st]}")" "lookup $st_table( |$)" "ip rule: policy udp-st's mark looks up st's table"
hp=$(rule_of "${pmark[host1]}" | head -n1 | cut -d: -f1)
wp=$(rule_of "${pmark[www]}" | cut -d: -f1)
[ "$hp" -lt "$wp" ] || t_fail "host1's rule ($hp) must come before www's ($wp)"
t_ok "the policy rules keep the file's order (host1 $hp before www $wp)"

# ---- every flow leaves by its uplink ----
lab_wait_ping 20 lan3 "$LAB_INET4_WWW" # DS-Lite: the AFTR learns the B4 from the first packets
lab_wait_ping 20 lan3 "$LAB_INET4_ECHO"
lab_wait_ping 20 lan1 "$LAB_INET4_ECHO"
t_ok "pings get through DS-Lite (lan3 to www), MAP-E (lan3) and the static line (lan1)"

seen=$(lab_whoami lan1)
t_eq "${seen% *}" "$ST4" "host1: lan1's HTTP leaves by the static line ($seen)"
seen=$(ul_whoami_tcp lan1)
t_eq "${seen% *}" "$ST4" "first match: lan1's TCP $LAB_WHOAMI_PORT takes host1 (static), not tcp4000 ($seen)"
seen=$(www_seen lan1)
t_eq "${seen% *}" "$ST4" "first match: lan1 to www takes host1 (static), not www ($seen)"
seen=$(ul_whoami_udp lan1)
t_eq "${seen% *}" "$ST4" "host1: lan1's UDP leaves by the static line too ($seen)"

seen=$(www_seen lan3)
t_eq "${seen% *}" "$LAB_AFTR_PUBLIC4" "www: lan3 to $LAB_INET4_WWW leaves by DS-Lite ($seen)"
seen=$(ul_whoami_tcp lan3)
t_eq "${seen% *}" "$LAB_FIXED_IPV4" "tcp4000: lan3's TCP $LAB_WHOAMI_PORT leaves by the fixed IPv4 ($seen)"
is_mape "$(ul_whoami_udp lan3)" "tcp4000 is TCP only: lan3's UDP $LAB_WHOAMI_PORT follows the default"
is_mape "$(lab_whoami lan3)" "no policy: lan3's HTTP follows the default"

seen=$(ul_whoami_udp lan2)
t_eq "${seen% *}" "$ST4" "udp-st: lan2's UDP $LAB_WHOAMI_PORT leaves by the static line ($seen)"
seen=$(ul_whoami_tcp lan2)
t_eq "${seen% *}" "$LAB_FIXED_IPV4" "udp-st is UDP only: lan2's TCP $LAB_WHOAMI_PORT takes tcp4000 ($seen)"
t_eq "$(lab_br_counter leak)" 0 "the BR saw no port outside the sets"

out=$(ul_apply)
echo "$out"
t_eq "$(ul_changes "$out")" 0 "a second apply changes nothing"

# ---- fail closed is airtight: a more specific main-table route does not take host1's traffic ----
closed=$(rule_of "${pmark[host1]}")
echo "$closed"
t_eq "$(wc -l <<<"$closed")" 2 "host1's mark has two rules: st's table, then prohibit"
t_match "$(tail -n1 <<<"$closed")" "prohibit" "the second one prohibits"
sp=$(grep -E "lookup main suppress_prefixlength 0" <<<"$rules" | head -n1 | cut -d: -f1)
[ "$(tail -n1 <<<"$closed" | cut -d: -f1)" -lt "$sp" ] || t_fail "host1's rules must come before the main table's ($sp)"
t_ok "both come before the main table's rule ($sp)"
in_ns rtr ip route add "$LAB_INET4_ECHO/32" dev map # more specific than any default route
in_ns rtr nft -f - <<NFT
table inet probe {
	counter lan1_st { }
	counter lan1_other { }
	chain count_fwd {
		type filter hook forward priority 300; policy accept;
		ip saddr $LAB_LAN1_ADDR4 oifname "st0" counter name lan1_st
		ip saddr $LAB_LAN1_ADDR4 oifname != { "st0", "br0" } counter name lan1_other
	}
}
NFT
probe() { in_ns rtr nft list counter inet probe "$1" | awk '/packets/ { print $2; exit }'; }
lab_wait_ping 10 lan1 "$LAB_INET4_ECHO"
[ "$(probe lan1_st)" -gt 0 ] || t_fail "lan1's ping did not leave by st0"
t_eq "$(probe lan1_other)" 0 "host1: lan1's ping to $LAB_INET4_ECHO leaves by the static line, not by the host route into MAP-E"
# A LAN destination the router routes (a second subnet on br0) is not the policy's business.
in_ns rtr ip addr add 198.18.50.1/24 dev br0
in_ns lan2 ip addr add 198.18.50.2/24 dev eth0
lab_wait_ping 10 lan1 198.18.50.2
t_ok "host1: lan1 reaches 198.18.50.2 on the LAN's second subnet through the router"
t_eq "$(probe lan1_other)" 0 "nothing of lan1 left by another uplink"

# ---- the static line loses carrier: fail closed for host1, fallback to MAP-E for udp-st ----
in_ns inet ip link set dev st0 down
lab_wait 5 st0_shows NO-CARRIER
t_ok "rtr's st0 has lost its carrier"
out=$(ul_apply)
echo "$out"
t_match "$out" "uplink st: down \\(link down\\)" "apply sees the static uplink down"
rules=$(in_ns rtr ip -4 rule show)
echo "$rules"
t_match "$(rule_of "${pmark[host1]}")" "prohibit" "ip rule: host1's mark now prohibits"
[[ "$(rule_of "${pmark[host1]}")" != *lookup* ]] || t_fail "host1's rule still looks a table up"
t_match "$(rule_of "${pmark[udp-st]}")" "lookup $map_table( |$)" "ip rule: udp-st's mark now looks up MAP-E's table"
t_match "$(in_ns rtr ip -4 route show table "$st_table")" "^unreachable default" "st's table holds an unreachable default"

n0=$(wc -l <"$LAB_INET_LOG")
if pg=$(in_t 10 lan1 ping -n -c1 -W3 "$LAB_INET4_ECHO" 2>&1); then
	t_fail "host1 fails closed: lan1's ping got an answer: $pg"
fi
echo "$pg"
t_match "$pg" "Packet filtered|Destination.*Prohibited" "host1 fails closed: the router refuses lan1's ping (ICMP filtered)"
if c=$(in_t 10 lan1 curl -sS --max-time 5 "http://$LAB_INET4_WHOAMI/" 2>&1); then
	t_fail "host1 fails closed: lan1's HTTP got through: $c"
fi
t_ok "host1 fails closed: lan1's HTTP fails ($c)"
# shellcheck disable=SC2016 # expanded by the inner bash
seen=$(in_t 5 lan1 bash -c 'exec 3<>"/dev/udp/$0/$1" && echo x >&3 && timeout 2 head -n1 <&3' \
	"$LAB_INET4_WHOAMI" "$LAB_WHOAMI_PORT" 2>/dev/null || true)
t_eq "$seen" "" "host1 fails closed: lan1's UDP gets no answer"
t_eq "$(wc -l <"$LAB_INET_LOG")" "$n0" "inet received nothing from lan1 (no leak by another uplink)"
t_eq "$(probe lan1_other)" 0 "no packet of lan1 left the router by another interface (the host route into MAP-E took none)"
lab_wait_ping 10 lan1 198.18.50.2
t_ok "host1 fails closed, yet lan1 still reaches the LAN's second subnet"
is_mape "$(ul_whoami_udp lan2)" "udp-st falls back: lan2's UDP $LAB_WHOAMI_PORT"
seen=$(ul_whoami_tcp lan2)
t_eq "${seen% *}" "$LAB_FIXED_IPV4" "lan2's TCP $LAB_WHOAMI_PORT still takes the fixed IPv4 ($seen)"
seen=$(www_seen lan3)
t_eq "${seen% *}" "$LAB_AFTR_PUBLIC4" "lan3 to www still takes DS-Lite ($seen)"
t_eq "$(ul_changes "$(ul_apply)")" 0 "applying again with the line still dead changes nothing"

# ---- the carrier returns: both policies go back to the static line ----
in_ns inet ip link set dev st0 up
lab_wait 5 st0_shows LOWER_UP
out=$(ul_apply)
echo "$out"
rules=$(in_ns rtr ip -4 rule show)
t_match "$(rule_of "${pmark[host1]}")" "lookup $st_table( |$)" "ip rule: host1's mark looks up st's table again"
t_match "$(rule_of "${pmark[udp-st]}")" "lookup $st_table( |$)" "ip rule: udp-st's mark looks up st's table again"
lab_wait_ping 10 lan1 "$LAB_INET4_ECHO"
seen=$(lab_whoami lan1)
t_eq "${seen% *}" "$ST4" "host1: lan1 is back on the static line ($seen)"
seen=$(ul_whoami_udp lan2)
t_eq "${seen% *}" "$ST4" "udp-st: lan2's UDP is back on the static line ($seen)"
out=$(ul_apply)
echo "$out"
t_eq "$(ul_changes "$out")" 0 "and the next apply changes nothing"
