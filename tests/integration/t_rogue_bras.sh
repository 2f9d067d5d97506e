#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A rogue PPPoE access concentrator (issue 11): it refuses the session (wrong password), ends it
# with a PADT, and stops answering inside the session (LCP echo).  uplinkd keeps running (same
# pid), the PPPoE uplink says why it is down, a plain Ethernet uplink carries a LAN host's ping
# throughout, the other LAN host's policy falls back to it and returns to PPPoE each time the
# session is back, and the password shows in no log, status or process argument.
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
LAB_LAN_HOSTS=2
lab_up bras
ul_router
ul_static_line
pw=$(ul_secret ppp4 "$LAB_PPP4_PASS")
lab_bras_refuse on
ul_conf <<EOF2
[global]
lan = br0
hold-down = 1s

[uplink isp]
type = pppoe
device = wan0
user = $LAB_PPP4_USER
password-file = $pw
ifname = ppp0
ipv6 = no
priority = 20
lcp-echo-interval = 1
lcp-echo-failure = 3

$(ul_static_conf 10)

[policy lan2]
from = 192.0.2.11
uplink = isp
fallback = st
EOF2
ul_daemon
ul_wait_up st 20
pid=$(ul_pid)
lab_wait_ping 10 lan1 "$LAB_INET4_ECHO"
ul_pinger lan1 "$LAB_INET4_ECHO" ping1
isp() { ul_json "[u[\"pppoe\"][\"$1\"] for u in s[\"uplinks\"] if u[\"name\"] == \"isp\"][0]"; }
isp_ended() { ul_state_is isp waiting && isp last_disconnect | grep -Eq "$1"; }
# down_because ERE SECS: until the session is down and its last end matches ERE
down_because() {
	lab_wait "$2" isp_ended "$1" || { ul_ctl status >&2; t_fail "isp is not waiting with a last disconnect matching /$1/"; }
	t_ok "isp waiting, status says: $(isp last_disconnect)"
}
via() { lab_whoami "$1" | cut -d' ' -f1; }
alive() {
	t_eq "$(ul_pid)" "$pid" "uplinkd still runs (pid $pid) $1"
	t_eq "$(via lan1)" 198.18.99.2 "lan1 goes out by the Ethernet uplink $1"
	t_eq "$(via lan2)" 198.18.99.2 "lan2's policy fell back to the Ethernet uplink $1"
}
back() {
	local a
	ul_wait_up isp 60
	# (the pool hands out the next address after a refused or dropped session)
	a=$(ul_json '[u["ipv4"] for u in s["uplinks"] if u["name"] == "isp"][0]')
	lab_wait 20 sh -c "ip netns exec $LAB_NS_LAN2 curl -s --max-time 5 http://$LAB_INET4_WHOAMI/ | grep -q '^$a '"
	t_ok "the session is back (starts: $(isp starts), $a) and lan2 goes by PPPoE again"
}

# 1. The concentrator refuses the session.
down_because "auth" 40
alive "(session refused)"
t_match "$(ul_ctl status)" "isp .*waiting" "status names isp as waiting"
lab_bras_refuse off
back

# 2. A PADT in the middle of the session.
lab_bras_padt
down_because "PADT|hung up|terminated|ended|modem" 20
alive "(PADT)"
back

# 3. The concentrator stops answering inside the session: LCP echo gives up (1 s, 3 misses).
lab_bras_mute on
# (pppd logs the unanswered echoes but exits as for a hangup: uplinkd says which it was)
down_because "stopped answering LCP echo requests" 30
t_match "$(ul_log)" "No response to 3 echo-requests" "the log says LCP echo went unanswered"
alive "(LCP echo unanswered)"
lab_bras_mute off
back

ul_ping_throughout ping1
t_eq "$(ul_pid)" "$pid" "uplinkd still runs"
n=0
for p in $(ip netns pids "$LAB_NS_RTR"); do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = pppd ] && n=$((n + 1)); done
t_eq "$n" 1 "one pppd in the router (no leftover from the ended sessions)"

ul_no_secret "$LAB_PPP4_PASS" "(at the end)"
