#!/bin/bash
# The NGN renumbers the line while uplinkd runs: MAP-E is recomputed (IPv4, PSID, port sets, CE
# address, tunnel, NAT), the fixed-IPv4 tunnel moves to the new PREFIX::feed and the update
# request is sent again (and every update-interval); traffic flows with the new values, no restart.  A LAN UDP flow that
# runs across the renumbering (one datagram every 0.2 s from a fixed port) leaves with the new
# IPv4 after it and is answered again: its stale NAT is flushed and nothing leaves with the old
# address (the BR checks each packet against its CE, RFC 7597 8.1).  The shared IPv4 is no
# local address: a LAN host's connection to another PSID's port of it goes to the BR, while
# the health probe through MAP-E and an inbound connection to one of our ports still work.
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
lab_up br fixed
ul_router
ours=${LAB_MAPE_PORTS%%-*}   # the first port of our PSID's first set
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
priority = 10
check = icmp $LAB_INET4_ECHO
check-interval = 300ms
accept = tcp/$ours

[uplink fixed]
type = ipip6
over = wan
remote = $LAB_FIXED_REMOTE
ipv4 = $LAB_FIXED_IPV4
user = $LAB_FIXED_USER
password-file = $pw
priority = 20
update-interval = 1m

[policy whoami-tcp]
proto = tcp
dport = $LAB_WHOAMI_PORT
uplink = fixed
EOF

tcp_whoami() { echo x | in_t 10 lan1 socat -t 3 - "TCP:$LAB_INET4_WHOAMI:$LAB_WHOAMI_PORT"; }

ul_daemon
ul_wait_up map 60
ul_wait_up fixed 30
lab_wait 20 sh -c "grep -q '\"OK\"' '$LAB_FIXED_LOG'"
t_ok "MAP-E and the fixed-IPv4 tunnel are up, the update request registered"
old_ipv4=$LAB_MAPE_IPV4
lab_wait_ping 20 lan1 "$LAB_INET4_ECHO"
t_eq "$(lab_whoami lan1 | cut -d' ' -f1)" "$old_ipv4" "HTTP goes by MAP-E ($old_ipv4)"
lab_wait 20 tcp_whoami >/dev/null
t_eq "$(tcp_whoami | cut -d' ' -f1)" "$LAB_FIXED_IPV4" "TCP port $LAB_WHOAMI_PORT goes by the fixed IPv4 (policy)"

sleep 1
t_eq "$(ul_state_is map up && echo up)" up "the health probe through MAP-E gets answers"

# Item 9: our shared IPv4 at another PSID's port (5000 is no port of PSID 212) goes to the BR.
t_match "$(in_ns rtr ip -4 addr show dev map)" "inet 192.0.0.4/32" "the tunnel has 192.0.0.4, not the shared IPv4"
unowned=$(lab_br_counter unowned)
ul_tcp_banner lan1 "$old_ipv4" 5000 3 >/dev/null
t_eq "$(( $(lab_br_counter unowned) > unowned ))" 1 "a LAN host's SYN to $old_ipv4:5000 reached the BR"
lab_bg rtr ours-banner socat "TCP-LISTEN:$ours,reuseaddr,fork" SYSTEM:"echo ours"
lab_wait 10 sh -c "ip netns exec $LAB_NS_RTR ss -ltn | grep -q ':$ours '"
t_eq "$(ul_tcp_banner inet "$old_ipv4" "$ours" 6)" "ours" "inet connects to $old_ipv4:$ours (accept = tcp/$ours)"

# Item 8: a UDP flow across the renumbering.
lab_bg lan1 udpflow "$LAB_PY" "$LAB_HOME/servers/udpflow.py" "$LAB_INET4_ECHO" "$LAB_ECHO_PORT" 40001 30 0.2
lab_wait 10 grep -q answered "$LAB_DIR/log/udpflow.log"
t_ok "the UDP flow is answered through MAP-E"
sleep 2
leak0=$(lab_br_counter leak)
t_renumber=$(date +%s.%N)
lab_ngn_prefix v6plus2
t_eq "$LAB_MAPE_IPV4 $LAB_MAPE_PSID" "106.73.94.58 156" "the new line maps to another IPv4 and PSID"
lab_wait 30 sh -c "ip netns exec $LAB_NS_RTR nft list chain inet uplinkd mape_map_0 | grep -q 'snat ip to $LAB_MAPE_IPV4:'"
t_ok "uplinkd moved MAP-E to $LAB_MAPE_IPV4 by itself"
t_moved=$(date +%s.%N)
lab_wait 40 sh -c "! pgrep -f 'servers/[u]dpflow' >/dev/null"
# shellcheck disable=SC2016
flow=$(awk -v r="$t_renumber" -v m="$t_moved" '
	$1 == "sent" { if ($2 < r) sb++; else if ($2 > m + 3) sa++ }
	$1 == "answered" { if ($2 < r) ab++; else if ($2 > m + 3) aa++ }
	END { printf "%d %d %d %d", sb, ab, sa, aa }' "$LAB_DIR/log/udpflow.log")
echo "UDP flow: before the renumbering sent/answered $(cut -d' ' -f1-2 <<<"$flow"), from 3 s after it $(cut -d' ' -f3-4 <<<"$flow")"
read -r _ _ sa aa <<<"$flow"
t_eq "$(( aa * 10 >= sa * 9 && sa > 20 ))" 1 "the flow is answered again after the renumbering ($aa of $sa)"
old_after=$(awk -v m="$t_moved" -v a="$old_ipv4" '$1 > m + 1 && $2 == "udp" && $5 == a && $6 == 40001' "$LAB_DIR/log/inet-requests.log" | wc -l)
new_after=$(awk -v a="$LAB_MAPE_IPV4" '$2 == "udp" && $5 == a' "$LAB_DIR/log/inet-requests.log" | wc -l)
echo "inet: $old_after requests from $old_ipv4 after the move, $new_after from $LAB_MAPE_IPV4"
t_eq "$old_after" 0 "inet saw nothing from the old IPv4 after the move"
t_eq "$(lab_br_counter leak)" "$leak0" "the BR saw no packet with another CE's address or port"
t_match "$(ul_log)" "map: NAT moved from $old_ipv4 to $LAB_MAPE_IPV4 .*flushed [1-9]" "the stale NAT was flushed"
t_match "$(in_ns rtr ip -d link show map)" "remote $LAB_MAPE_BR local $LAB_MAPE_CE " "the tunnel runs from the new CE address"
t_match "$(in_ns rtr nft list chain inet uplinkd mape_map_0)" "snat ip to $LAB_MAPE_IPV4:" "NAT uses the new IPv4"
t_eq "$(ul_json '[u["mape"]["psid"] for u in s["uplinks"] if u["name"] == "map"][0]')" "$LAB_MAPE_PSID" \
	"status shows the new PSID"
lab_wait_ping 20 lan1 "$LAB_INET4_ECHO"
seen=$(lab_whoami lan1)
t_eq "${seen% *}" "$LAB_MAPE_IPV4" "LAN traffic flows with the new IPv4"
t_port_in "${seen#* }" "$LAB_MAPE_PORTS" || t_fail "port ${seen#* } outside the new port sets"
t_ok "and a port from the new PSID's sets"
t_eq "$(lab_br_counter leak)" 0 "the BR saw no port outside the sets, before or after"

new_local="${LAB_RA_PREFIX%%/*}feed"
lab_wait 30 sh -c "ip netns exec $LAB_NS_RTR ip -d link show fixed | grep -q 'local $new_local '"
t_ok "the fixed-IPv4 tunnel moved to $new_local"
lab_wait 30 sh -c "tail -n1 '$LAB_FIXED_LOG' | grep -q '\"src\": \"$new_local\".*\"OK\"'"
t_ok "and the update request registered the new address"
lab_wait 20 tcp_whoami >/dev/null
t_eq "$(tcp_whoami | cut -d' ' -f1)" "$LAB_FIXED_IPV4" "traffic flows through the fixed IPv4 again"
t_eq "$(in_ns rtr ip -6 addr show dev wan0 | grep -c '/128')" 1 "the old CE address is gone from the WAN"
t_eq "$(in_priv rtr "$UL_BIN/uplinkctl" apply -c "$UL_CONF" --dry-run | tail -n1)" "would apply: 0 changes" \
	"the kernel matches the plan"

# update-interval = 1m: the request goes out again without any change (transix's fixed-IP
# service expects it)
lab_wait 90 sh -c "[ \$(grep -c '\"src\": \"$new_local\".*\"OK\"' '$LAB_FIXED_LOG') -ge 2 ]" ||
	t_fail "no second request from $new_local within 90 s (update-interval = 1m)"
gap=$(grep "\"src\": \"$new_local\".*\"OK\"" "$LAB_FIXED_LOG" | tail -n2 | python3 -c '
import json, sys
t = [json.loads(l)["time"] for l in sys.stdin]
print(round(t[1] - t[0]))')
[ "$gap" -ge 59 ] && [ "$gap" -le 75 ] || t_fail "the request was repeated after ${gap}s, want 60"
t_ok "update-interval: the request was sent again after ${gap}s"
