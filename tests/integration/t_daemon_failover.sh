#!/bin/bash
# uplinkd fails over and comes back on its own: a pulled WAN cable (carrier loss on the NGN line
# takes MAP-E and DS-Lite down: a plain Ethernet uplink takes over), and a dead BR (only the
# health check can tell: DS-Lite takes over).  Recovery waits for hold-down.  A LAN host's ping
# runs throughout and its longest gap is measured.  Connections of the failed uplink are flushed,
# and uplinkd's own objects deleted by hand come back at once.
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
lab_up br aftr
ul_router
# A third uplink on its own wire: a plain Ethernet line to inet.
ul_static_line
ul_conf <<EOF
[global]
lan = br0
hold-down = 3s

[uplink wan]
type = ipoe
device = wan0
priority = none

[uplink map]
type = mape
over = wan
priority = 10
check = icmp $LAB_INET4_ECHO
check-interval = 500ms
check-fail = 3
check-recover = 3

[uplink ds]
type = dslite
over = wan
aftr = $LAB_AFTR_NAME
priority = 20
check = icmp $LAB_INET4_ECHO
check-interval = 500ms

[uplink st]
type = static
device = st0
ipv4 = 198.18.99.2/24
gateway = 198.18.99.1
priority = 30
EOF

ul_daemon
ul_wait_up map 60
ul_wait_up ds 30
t_ok "uplinkd brought up MAP-E and DS-Lite by itself (WAN up, RA, AFTR name, tunnels)"
t_eq "$(ul_default)" map "the default route leads into MAP-E (priority 10)"
lab_wait_ping 20 lan1 "$LAB_INET4_ECHO"
seen=$(lab_whoami lan1)
t_eq "${seen% *}" "$LAB_MAPE_IPV4" "a LAN host goes out with the MAP-E address"
ul_pinger lan1 "$LAB_INET4_ECHO" ping1
sleep 1

# 1. The NGN line loses carrier: MAP-E and DS-Lite are gone, the Ethernet uplink takes over.
in_ns ngn ip link set dev rtr down
took=$(ul_wait_default st0 5)
t_ok "carrier loss: the default route moved to the Ethernet uplink in ${took}s"
seen=$(lab_whoami lan1)
t_eq "${seen% *}" 198.18.99.2 "LAN traffic now leaves by the Ethernet uplink"
# (the router's own probes through MAP-E keep going: they are not the LAN's connections)
t_eq "$(in_ns rtr conntrack -L -s "$LAB_LAN1_ADDR4" 2>/dev/null | grep -c "dst=$LAB_MAPE_IPV4 " || true)" 0 \
	"the LAN's connections through MAP-E were flushed"
t_match "$(ul_log)" "uplink map: flushed [0-9]+ connections" "uplinkd says how many it flushed"
in_ns ngn ip link set dev rtr up
sleep 1.5
t_eq "$(ul_default)" st0 "the line is back, but MAP-E is held down (hold-down 3s)"
took=$(ul_wait_default map 15)
t_ok "after hold-down the default route returned to MAP-E (${took}s after the check)"
gap=$(ul_ping_gap ping1)
echo "longest gap in the LAN host's ping across the cut and the return: ${gap}s"
awk -v g="$gap" 'BEGIN { exit !(g < 3) }' || t_fail "the ping gap ${gap}s is too long"
t_ok "the LAN flow resumed within ${gap}s at most"

# 2. The BR dies (the line is fine): only the health check through MAP-E notices.
lab_kill ping1
in_ns br nft add table inet dead
in_ns br nft add chain inet dead pre '{ type filter hook prerouting priority -300; }'
in_ns br nft add rule inet dead pre meta l4proto ipencap drop
took=$(ul_wait_default ds 10)
awk -v t="$took" 'BEGIN { exit !(t >= 1.0) }' || t_fail "failed over in ${took}s: before 3 probes could miss"
t_ok "dead BR: after 3 missed probes (500 ms apart) the default moved to DS-Lite in ${took}s"
t_eq "$(ul_json '[u["health"]["state"] for u in s["uplinks"] if u["name"] == "map"][0]')" failed \
	"status says MAP-E's health check failed"
lab_wait_ping 20 lan1 "$LAB_INET4_ECHO"
seen=$(lab_whoami lan1)
t_eq "${seen% *}" "$LAB_AFTR_PUBLIC4" "LAN traffic now leaves by DS-Lite"
in_ns br nft delete table inet dead
took=$(ul_wait_default map 20)
t_ok "the BR is back: after 3 answered probes and hold-down, MAP-E again (${took}s)"

# 3. What uplinkd owns comes back when someone deletes it.
table=$(ul_json '[u["table"] for u in s["uplinks"] if u["name"] == "map"][0]')
in_ns rtr ip route del default table "$table"
lab_wait 5 sh -c "ip netns exec $LAB_NS_RTR ip route show table $table | grep -q 'default dev map'"
t_ok "a deleted route of table $table is back"
in_ns rtr nft delete table inet uplinkd
lab_wait 5 in_ns rtr nft list table inet uplinkd >/dev/null
t_ok "the deleted nftables table is back"
in_ns rtr ip link del ds
lab_wait 5 in_ns rtr ip link show ds >/dev/null
t_ok "the deleted DS-Lite tunnel is back"
in_ns rtr ip rule del priority 10512 # lookup main suppress_prefixlength 0
lab_wait 5 sh -c "ip netns exec $LAB_NS_RTR ip rule | grep -q '^10512:'"
t_ok "the deleted rule is back"
lab_wait_ping 20 lan1 "$LAB_INET4_ECHO"
t_eq "$(lab_whoami lan1 | cut -d' ' -f1)" "$LAB_MAPE_IPV4" "and traffic flows by MAP-E again"
t_match "$(ul_log)" "uplink map: " "the log has one line per event with the uplink's name"
