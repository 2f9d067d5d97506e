#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Rogue transix and MAP-E peers (issue 11): the fixed-IPv4 update server hangs, answers 500,
# echoes the query string (with the password in it); the MAP-E BR stops answering.  uplinkd keeps
# running (same pid), status says why, a plain Ethernet uplink carries a LAN host's ping
# throughout, the LAN hosts whose policies use the rogue uplinks fall back to it, and the
# password shows in no log line or status output.
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
LAB_LAN_HOSTS=3
lab_up fixed br
ul_router
ul_static_line
pw=$(ul_secret fixed "$LAB_FIXED_PASS")
lab_fixed_mode hang
ul_conf <<EOF2
[global]
lan = br0
hold-down = 1s

[uplink wan]
type = ipoe
device = wan0
token = ::feed
priority = none

[uplink fx]
type = ipip6
over = wan
remote = $LAB_FIXED_REMOTE
ipv4 = $LAB_FIXED_IPV4
user = $LAB_FIXED_USER
password-file = $pw
update-url = http://$LAB_FIXED_NAME/request
priority = 30

[uplink map]
type = mape
over = wan
priority = 20
check = icmp $LAB_INET4_ECHO
check-interval = 500ms
check-fail = 3
check-recover = 3

$(ul_static_conf 10)

[policy lan2]
from = 192.0.2.11
uplink = fx
fallback = st

[policy lan3]
from = 192.0.2.12
uplink = map
fallback = st
EOF2
ul_daemon
ul_wait_up st 20
pid=$(ul_pid)
lab_wait_ping 10 lan1 "$LAB_INET4_ECHO"
ul_pinger lan1 "$LAB_INET4_ECHO" ping1
up() { ul_json "[u[\"update\"][\"$1\"] for u in s[\"uplinks\"] if u[\"name\"] == \"fx\"][0]"; }
update_err_is() { up last_error | grep -Eq "$1"; }
update_says() {
	lab_wait "$2" update_err_is "$1" || { ul_ctl status >&2; t_fail "fx's update error does not match /$1/"; }
	t_ok "fx update: registered $(up registered), status says: $(up last_error)"
}
via() { lab_whoami "$1" | cut -d' ' -f1; }
alive() {
	t_eq "$(ul_pid)" "$pid" "uplinkd still runs (pid $pid) $1"
	t_eq "$(via lan1)" 198.18.99.2 "lan1 goes out by the Ethernet uplink $1"
}

# 1. The update server accepts the connection and never answers: the request times out.
update_says "[Tt]imeout|timed out" 40
t_eq "$(up registered)" False "not registered"
alive "(update server hangs)"

# 2. It answers 500.
lab_fixed_mode 500
update_says "HTTP 500" 40
alive "(update server answers 500)"

# 3. It answers 200 with the query string it got (the password in it).
lab_fixed_mode echo
update_says "HTTP 200" 40
ul_no_secret "$LAB_FIXED_PASS" "(update server echoes the query)"
alive "(update server echoes the query)"

# 4. It does its job: the fixed IPv4 address carries lan2.
lab_fixed_mode normal
registered() { [ "$(up registered)" = True ]; }
lab_wait 60 registered
t_ok "the update server answered OK: registered"
lab_wait 20 sh -c "ip netns exec $LAB_NS_LAN2 curl -s --max-time 5 http://$LAB_INET4_WHOAMI/ | grep -q '^$LAB_FIXED_IPV4 '"
t_ok "lan2 goes out with the fixed IPv4 address"

# 5. The BR stops answering: MAP-E's health check fails, lan3 falls back to the Ethernet uplink.
ul_wait_up map 60
lab_wait 20 sh -c "ip netns exec $LAB_NS_LAN3 curl -s --max-time 5 http://$LAB_INET4_WHOAMI/ | grep -q '^$LAB_MAPE_IPV4 '"
t_ok "lan3 goes out by MAP-E"
in_ns br nft add table inet dead
in_ns br nft add chain inet dead pre '{ type filter hook prerouting priority -300; }'
in_ns br nft add rule inet dead pre meta l4proto ipencap drop
map() { ul_json "[u$1 for u in s[\"uplinks\"] if u[\"name\"] == \"map\"][0]"; }
map_failed() { [ "$(map '["health"]["state"]')" = failed ]; }
lab_wait 20 map_failed || { ul_ctl status >&2; t_fail "MAP-E's health check did not fail"; }
t_ok "dead BR: map is $(map '["state"]') -- $(map '["reason"]') (health $(map '["health"]["state"]'))"
t_match "$(map '["reason"]')" "health" "status says the health check fails"
lab_wait 20 sh -c "ip netns exec $LAB_NS_LAN3 curl -s --max-time 5 http://$LAB_INET4_WHOAMI/ | grep -q '^198.18.99.2 '"
t_ok "lan3 fell back to the Ethernet uplink"
alive "(BR dead)"
t_eq "$(via lan2)" "$LAB_FIXED_IPV4" "lan2 still goes out with the fixed IPv4 address"
in_ns br nft delete table inet dead
ul_wait_up map 30
lab_wait 20 sh -c "ip netns exec $LAB_NS_LAN3 curl -s --max-time 5 http://$LAB_INET4_WHOAMI/ | grep -q '^$LAB_MAPE_IPV4 '"
t_ok "the BR answers again: lan3 is back on MAP-E"

ul_ping_throughout ping1
t_eq "$(ul_pid)" "$pid" "uplinkd still runs"
t_eq "$(in_ns rtr pgrep -c -f 'uplinkctl transix-update' || true)" 0 "no update request left running"
ul_no_secret "$LAB_FIXED_PASS" "(at the end)"
