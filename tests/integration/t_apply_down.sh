#!/bin/bash
# uplinkctl down restores the kernel as it was before the first apply, and touches nothing it
# does not own.  Before anything, rtr gets objects of its own: a veth pair with an address, a
# route in main, routes in table 200 and in table 101 (one of the tables uplinkd will use), ip
# rules before and inside uplinkd's priority range, an nftables table, and ip_forward already 1.
# Then MAP-E, DS-Lite and the fixed IPv4 over VLAN 1000 with a policy are applied (twice: the
# second changes nothing), traffic flows, the foreign objects are still there, and `down` brings
# back exactly the first snapshot (tests/integration/uplinkd.sh: ul_kstate).  A second `down`
# has nothing to remove.
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
LAB_WAN_VLAN=1000 lab_up aftr br fixed
ul_router
UL_WAN_DEV=wan0.1000

# ---- what the router had before uplinkd ----
in_ns rtr ip link add fo0 type veth peer name fo1
in_ns rtr ip link set dev fo0 up
in_ns rtr ip link set dev fo1 up
in_ns rtr ip addr add 198.18.200.1/24 dev fo0
in_ns rtr ip route add 198.18.201.0/24 via 198.18.200.2 dev fo0
in_ns rtr ip route add 198.18.202.0/24 via 198.18.200.2 dev fo0 table 200
in_ns rtr ip route add 198.18.203.0/24 via 198.18.200.2 dev fo0 table 101
in_ns rtr ip -6 route add 2001:db8:202::/48 dev fo0 table 200
in_ns rtr ip rule add priority 9000 from 192.0.2.0/24 lookup 200
in_ns rtr ip -6 rule add priority 9000 from 2001:db8:1::/64 lookup 200
in_ns rtr ip rule add priority 10700 from 192.0.2.99 lookup 200
# The router forwarded IPv4 before uplinkd: apply finds ip_forward=1 and down must leave it so.
in_ns rtr sysctl -qw net.ipv4.ip_forward=1
in_ns rtr nft -f - <<'NFT'
table inet foreign {
	set blocked {
		type ipv4_addr
		elements = { 198.18.202.9 }
	}
	chain fwd_filter {
		type filter hook forward priority 10; policy accept;
		ip daddr @blocked drop
	}
}
NFT
ll_ready() { in_ns rtr ip -6 -o addr show dev fo0 | grep -q fe80: && in_ns rtr ip -6 -o addr show dev fo1 | grep -q fe80:; }
lab_wait 5 ll_ready # the pair's link-local addresses: formed once, before the snapshot
before=$(ul_kstate)
echo "$before" >"$LAB_DIR/log/kstate-before.txt"
# foreign KSTATE: the lines of a snapshot that show the foreign objects.
foreign() {
	grep -E '198\.18\.20[0-3]\.|2001:db8:202::|^(9000|10700):|^fo[01]' <<<"$1"
	sed -n '/^table inet foreign {/,/^}/p' <<<"$1"
}
f0=$(foreign "$before")
echo "$f0"
[ "$(grep -c . <<<"$f0")" -ge 20 ] || t_fail "the snapshot lacks the foreign objects"

pw=$(ul_secret transix "$LAB_FIXED_PASS")
ul_conf <<EOF
[global]
lan = br0

[uplink ngn]
type = ipoe
device = wan0
vlan = 1000
token = ::feed

[uplink map]
type = mape
over = ngn
priority = 10

[uplink transix]
type = dslite
over = ngn
aftr = $LAB_AFTR_NAME
priority = 20

[uplink fixed]
type = ipip6
over = ngn
remote = $LAB_FIXED_REMOTE
ipv4 = $LAB_FIXED_IPV4
user = $LAB_FIXED_USER
password-file = $pw
priority = 30

[policy www]
to = $LAB_INET4_WWW/32
uplink = fixed
fallback = transix
EOF

ul_converge
out=$(ul_apply)
echo "$out"
t_eq "$(ul_changes "$out")" 0 "applying a second time changes nothing"
applied=$(ul_kstate)
echo "$applied" >"$LAB_DIR/log/kstate-applied.txt"
for l in wan0.1000 map transix fixed; do
	t_match "$applied" "^$l@[^ ]+ <[A-Z,]*UP,LOWER_UP>" "uplinkd's link $l is up"
done
t_match "$applied" "^default dev map table 101 proto 117" "uplinkd's default route is in table 101, next to the foreign one"
t_match "$applied" "^table inet uplinkd \\{" "uplinkd's nftables table is there"
t_match "$applied" "fwmark 0x[0-9a-f]+/0xff0000 lookup [0-9]+ proto 117" "uplinkd's fwmark rules are there"
f1=$(foreign "$applied")
if [ "$f1" != "$f0" ]; then
	ul_diff "$f0" "$f1"
	t_fail "apply changed objects it does not own"
fi
t_ok "apply left the foreign routes (main, tables 200 and 101), rules 9000 and 10700, fo0/fo1 and table inet foreign alone"

lab_wait_ping 20 lan1 "$LAB_INET4_ECHO"
seen=$(lab_whoami lan1)
t_eq "${seen% *}" "$LAB_MAPE_IPV4" "a LAN host goes out by MAP-E ($seen)"
seen=$(in_t 15 lan1 curl -sS --max-time 10 "http://$LAB_INET4_WWW/json")
t_match "$seen" "\"addr\": \"$LAB_FIXED_IPV4\"" "and to www by the fixed IPv4 (policy)"

# ---- down ----
out=$(ul_ctl down)
echo "$out"
t_match "$out" "^removed: [1-9][0-9]* changes?$" "down removed uplinkd's objects"
t_match "$out" "nft delete table inet uplinkd" "including the nftables table"
if grep -E "wan0\.1000 \(restored\)|wan0/1000\.[a-z_]+=.* \(restored\)" <<<"$out"; then
	t_fail "down lists restores of the VLAN it deletes"
fi
t_ok "no restore is listed for the deleted VLAN (it takes its settings with it)"
after=$(ul_kstate)
echo "$after" >"$LAB_DIR/log/kstate-after.txt"
if [ "$after" != "$before" ]; then
	ul_diff "$before" "$after"
	t_fail "the kernel after down differs from before the first apply (- before, + after)"
fi
t_ok "after down the kernel is exactly as before the first apply ($(echo "$after" | wc -l) lines compared)"
t_eq "$(foreign "$after")" "$f0" "the foreign objects are unchanged"
if in_t 8 lan1 ping -n -c1 -W2 "$LAB_INET4_ECHO" >/dev/null 2>&1; then
	t_fail "a LAN host still reaches inet after down"
fi
t_ok "the LAN no longer reaches inet"
out=$(ul_ctl down)
echo "$out"
t_eq "$out" "removed: 0 changes" "a second down has nothing to remove"
t_eq "$(ul_kstate)" "$before" "and changes nothing"
