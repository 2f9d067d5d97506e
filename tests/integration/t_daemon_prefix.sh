#!/bin/bash
# The NGN renumbers the line while uplinkd runs: MAP-E is recomputed (IPv4, PSID, port sets, CE
# address, tunnel, NAT), the fixed-IPv4 tunnel moves to the new PREFIX::feed and the update
# request is sent again (and every update-interval); traffic flows with the new values, no
# restart.
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
lab_up br fixed
ul_router
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

lab_ngn_prefix v6plus2
t_eq "$LAB_MAPE_IPV4 $LAB_MAPE_PSID" "106.73.94.58 156" "the new line maps to another IPv4 and PSID"
lab_wait 30 sh -c "ip netns exec $LAB_NS_RTR ip -4 addr show dev map | grep -q 'inet $LAB_MAPE_IPV4/32'"
t_ok "uplinkd moved MAP-E to $LAB_MAPE_IPV4 by itself"
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
