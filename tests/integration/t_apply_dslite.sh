#!/bin/bash
# uplinkctl apply: DS-Lite (transix).  The AFTR's name resolves through the NGN's DNS, the ipip6
# tunnel runs from the WAN's address, LAN hosts reach inet with the AFTR's address, MSS is
# clamped to the tunnel, and applying again changes nothing.
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
lab_up aftr
ul_router
ul_conf <<EOF
[global]
lan = br0

[uplink wan]
type = ipoe
device = wan0

[uplink transix]
type = dslite
over = wan
aftr = $LAB_AFTR_NAME
EOF

out=$(ul_apply)
echo "$out"
t_match "$out" "ip link set dev wan0 up" "the first apply brings the WAN up"
t_match "$out" "sysctl net.ipv6.conf.wan0.accept_ra=2" "and accepts RAs on it while forwarding"
wan=$(ul_wait_wan 30)
t_ok "the WAN formed $wan from the RA"
# Now the WAN has an address, the AFTR name resolves and the tunnel can be built.
out=$(ul_apply)
echo "$out"
t_match "$out" "ip link add transix type ip6tnl mode ipip6 local $wan remote $LAB_AFTR(_2)?" \
	"the tunnel runs from the WAN's address to the AFTR $LAB_AFTR_NAME resolved to"
link=$(in_ns rtr ip -d link show transix)
t_match "$link" "ip6tnl ipip6 remote 2404:8e00::feed:10[01] local $wan .*encaplimit none" \
	"the kernel has the ip6tnl with encaplimit none"
t_match "$link" "mtu 1460" "MTU 1460"
t_match "$(in_ns rtr ip -4 addr show dev transix)" "inet 192.0.0.2/29" "B4 address 192.0.0.2"
t_match "$(in_ns rtr ip route show default)" "default dev transix proto 117" \
	"the main table's default route leads into the tunnel"

ul_mss_watch inet
lab_wait_ping 20 lan1 "$LAB_INET4_ECHO"
seen=$(lab_whoami lan1)
t_eq "${seen% *}" "$LAB_AFTR_PUBLIC4" "inet sees the LAN host with the AFTR's address ($seen)"
t_eq "$(ul_mss_seen inet 1420)" 1 "the SYN reached inet with MSS 1420 (1460 - 40)"
t_eq "$(ul_mss_seen inet 1460)" 0 "and not with the LAN's 1460"

for i in 1 2 3; do
	out=$(ul_apply)
	echo "$out"
	t_eq "$(ul_changes "$out")" 0 "applying again changes nothing ($i: gw.transix.jp answers with two AFTRs in turn)"
done
