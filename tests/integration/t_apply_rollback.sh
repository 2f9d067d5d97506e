#!/bin/bash
# One uplink's refusal stays its own: when the kernel refuses a change of an uplink in the middle
# of an apply, the changes already made are undone, that uplink is left out (failed, naming the
# object and the kernel's reason) and the rest is applied; apply exits 1.  Two configurations `uplinkctl check` accepts but the kernel refuses:
#  1. on the pristine router, a static uplink on lo with vlan = 5 (loopback cannot carry VLANs):
#     the nftables table is loaded first (a cold apply: the firewall before anything else, the
#     forwarding sysctls after it) and deleted again when the VLAN is refused;
#  2. on a router running MAP-E, DS-Lite and a static line with the best priority whose gateway6
#     is an address the router itself holds (on lo; check cannot know): st0 comes up, its accept_ra is set, the DS-Lite tunnel and the
#     addresses are made, the IPv4 routes added and the main default route moved off MAP-E
#     before the kernel refuses the IPv6 route.
# Each time apply fails, names the uplink, the object and the kernel's reason, undoes what it made,
# applies the rest, and traffic through MAP-E still flows.  Fixed, the second
# configuration converges and its flows leave by DS-Lite and the static line.
# Last, a static /32 address with its gateway outside applies (the route gets `onlink`) and
# carries traffic.
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
LAB_LAN_HOSTS=2 lab_up br aftr
ul_router
ST4=198.18.99.2
in_ns rtr ip link add st0 type veth peer name st0 netns "$LAB_NS_INET"
in_ns inet ip addr add 198.18.99.1/24 dev st0
in_ns inet ip link set dev st0 up

# refused DESCRIPTION OBJECT-ERE UPLINK: the kernel refuses one of UPLINK's objects mid-apply:
# what was made is undone, UPLINK is left out (failed, with the object and the kernel's reason),
# everything else is applied, and apply exits 1.
refused() {
	local what=$1 object=$2 uplink=$3 out rc=0 dry first at
	dry=$(ul_apply --dry-run)
	echo "$dry"
	at=$(grep -nE "$object" <<<"$dry" | head -n1 | cut -d: -f1)
	[ -n "$at" ] || t_fail "$what: the dry run does not plan the change the kernel will refuse"
	first=$(sed -n "1,$((at - 1))p" <<<"$dry" | grep -vc '^would apply' || true)
	[ "$first" -ge 1 ] || t_fail "$what: no change is planned before the refused one"
	t_ok "$what: $first changes are planned before the refused one"
	out=$(ul_apply 2>&1) || rc=$?
	echo "$out"
	REFUSED_MADE=$(grep -v '^uplinkctl apply: ' <<<"$out" || true)
	t_eq "$rc" 1 "$what: apply fails"
	t_match "$out" "^uplinkctl apply: uplink $uplink: failed \\(.*$object.*: .+\\)" \
		"$what: apply names the uplink, the refused object and the kernel's reason"
	t_match "$out" "^undone: the [0-9]+ changes? before it$" "$what: the changes before the refusal were undone"
	t_match "$out" "^uplinkctl apply: 1 uplink left out; everything else was applied$" \
		"$what: the rest was applied"
}

# ---- 1. the pristine router: a VLAN on the loopback ----
ul_conf <<EOF
[global]
lan = br0

[uplink wan]
type = ipoe
device = wan0

[uplink lo5]
type = static
device = lo
vlan = 5
ipv4 = 198.18.98.2/24
gateway = 198.18.98.1
priority = none
EOF
t_eq "$(ul_ctl check -c "$UL_CONF")" "configuration OK" "check accepts a static uplink on lo.5"
dry=$(ul_apply --dry-run)
line_of() { grep -nE "$1" <<<"$dry" | head -n1 | cut -d: -f1; }
nft_at=$(line_of "nft replace table inet uplinkd") link_at=$(line_of "link add link lo")
fwd_at=$(line_of "sysctl net.ipv4.ip_forward=1")
[ -n "$nft_at" ] && [ -n "$link_at" ] && [ -n "$fwd_at" ] || t_fail "the dry run lacks the table, the VLAN or ip_forward"
[ "$nft_at" -lt "$link_at" ] && [ "$link_at" -lt "$fwd_at" ] ||
	t_fail "cold apply order: table at $nft_at, VLAN at $link_at, ip_forward at $fwd_at"
t_ok "a cold apply loads the table first and switches forwarding on last"
refused "VLAN on lo" "lo\\.5" lo5
if in_ns rtr ip link show dev lo.5 >/dev/null 2>&1; then t_fail "lo.5 exists"; fi
t_ok "nothing of lo5 is left"
t_match "$(in_ns rtr nft list tables)" "table inet uplinkd" "the rest is applied: the nftables table"
t_match "$(in_ns rtr ip -o link show dev wan0)" "state UP" "and wan0 is up"
t_match "$(ul_apply 2>&1 || true)" "uplink lo5: failed" "the next apply reports lo5 again"

# ---- 2. mid-apply on a running router: a gateway6 the kernel refuses ----
ul_conf <<EOF
[global]
lan = br0

[uplink wan]
type = ipoe
device = wan0

[uplink map]
type = mape
over = wan
priority = 10
EOF
ul_converge
lab_wait_ping 20 lan1 "$LAB_INET4_ECHO"
seen=$(lab_whoami lan1)
t_eq "${seen% *}" "$LAB_MAPE_IPV4" "MAP-E runs: the LAN goes out by it ($seen)"
base=$UL_CONF
# An address the router holds for something else (a service address on lo): as a gateway6 the
# kernel refuses it, and only the kernel can tell.
in_ns rtr ip -6 addr add 2001:db8:99::9/128 dev lo

mkconf() { # GATEWAY6 NAME: MAP-E, DS-Lite and the static line (the best priority), with policies
	UL_CONF="$LAB_DIR/cfg/uplinkd-$2.conf"
	cat >"$UL_CONF" <<EOF
[global]
lan = br0

[uplink wan]
type = ipoe
device = wan0

[uplink map]
type = mape
over = wan
priority = 10

[uplink transix]
type = dslite
over = wan
aftr = $LAB_AFTR
priority = 20

[uplink st]
type = static
device = st0
ipv4 = $ST4/24
gateway = 198.18.99.1
ipv6 = 2001:db8:99::2/64
gateway6 = $1
priority = 5

[policy host1]
from = $LAB_LAN1_ADDR4
uplink = st

[policy www]
to = $LAB_INET4_WWW/32
uplink = transix
EOF
}
# gateway6 is one of the router's own addresses: the kernel refuses the IPv6 route ("Gateway can
# not be a local address"), which comes after the IPv4 ones.
mkconf 2001:db8:99::9 bad
t_eq "$(ul_ctl check -c "$UL_CONF")" "configuration OK" "check accepts a gateway6 inside the line's /64"
st_table=$(ul_uplink_info | awk '$1 == "st" { print $2 }')
refused "a local address as gateway6" "default via 2001:db8:99::9 dev st0 table $st_table" st
for made in "ip link set dev st0 up" "sysctl net.ipv6.conf.st0.accept_ra=0" "ip link add transix type ip6tnl" \
	"ip address add 192.0.0.2/29 dev transix" "ip -6 address add 2001:db8:99::2/64 dev st0" \
	"ip route add default via 198.18.99.1 dev st0 table $st_table" \
	"ip route replace default via 198.18.99.1 dev st0 proto 117"; do
	grep -qF -- "$made" <<<"$REFUSED_MADE" || t_fail "the apply should have made '$made' before the refusal"
done
t_ok "made and undone: st0 up, its accept_ra, the DS-Lite tunnel, addresses, routes, the main default moved off MAP-E"
t_match "$(in_ns rtr ip -o link show dev transix)" "transix" "the rest is applied: the DS-Lite tunnel"
t_eq "$(in_ns rtr ip -6 route show table "$st_table" | grep -c 2001:db8:99::9 || true)" 0 "nothing of st is left in its table"
t_match "$(in_ns rtr ip route show default)" "^default dev map proto 117" "the main default route leads into MAP-E again"
seen=$(lab_whoami lan1)
t_eq "${seen% *}" "$LAB_MAPE_IPV4" "traffic still leaves by MAP-E ($seen)"
UL_CONF=$base
ul_converge
t_eq "$(ul_changes "$(ul_apply)")" 0 "the previous configuration applies again and converges"

# ---- fixed: gateway6 is inet's address on the line ----
in_ns inet ip addr add 2001:db8:99::1/64 dev st0
mkconf 2001:db8:99::1 good
ul_converge
t_match "$(in_ns rtr ip -6 route show table "$st_table")" "default via 2001:db8:99::1 dev st0" "the static uplink's IPv6 route is in"
t_match "$(in_ns rtr ip route show default)" "^default via 198.18.99.1 dev st0 proto 117" "the main default route leads to the static line (priority 5)"
lab_wait_ping 20 lan1 "$LAB_INET4_ECHO"
seen=$(lab_whoami lan1)
t_eq "${seen% *}" "$ST4" "policy host1: lan1 leaves by the static line ($seen)"
lab_wait_ping 20 lan2 "$LAB_INET4_WWW" # DS-Lite: the AFTR learns the B4 from the first packets
seen=$(in_t 15 lan2 curl -sS --max-time 10 "http://$LAB_INET4_WWW/json")
t_match "$seen" "\"addr\": \"$LAB_AFTR_PUBLIC4\"" "policy www: lan2 to www leaves by DS-Lite"
seen=$(lab_whoami lan2)
t_eq "${seen% *}" "$ST4" "and lan2's other traffic by the default, the static line ($seen)"
lab_wait_ping 10 rtr 2001:db8:99::1
t_ok "the router reaches inet over the static line's IPv6"
t_eq "$(ul_changes "$(ul_apply)")" 0 "applying again changes nothing"

# ---- a static /32 address whose gateway lies outside it: the route needs `onlink` ----
out=$(ul_ctl down)
echo "$out"
UL_CONF="$LAB_DIR/cfg/uplinkd-32.conf"
cat >"$UL_CONF" <<EOF
[global]
lan = br0

[uplink st]
type = static
device = st0
ipv4 = $ST4/32
gateway = 198.18.99.1
EOF
t_eq "$(ul_ctl check -c "$UL_CONF")" "configuration OK" "check accepts $ST4/32 with gateway 198.18.99.1"
rc=0
out=$(ul_apply 2>&1) || rc=$?
echo "$out"
[ "$rc" = 0 ] || t_fail "a static /32 uplink with an off-link gateway cannot be applied: $(grep -m1 '^uplinkctl apply: ' <<<"$out")"
t_match "$(in_ns rtr ip route show default)" "default via 198.18.99.1 dev st0 proto 117 onlink" "the default route is onlink"
ul_converge
lab_wait_ping 20 lan1 "$LAB_INET4_ECHO"
seen=$(lab_whoami lan1)
t_eq "${seen% *}" "$ST4" "the /32 static uplink carries the LAN's traffic ($seen)"
