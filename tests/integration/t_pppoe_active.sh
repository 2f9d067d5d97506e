#!/bin/bash
# The master of a redundant pair holds the PPPoE session (seed 000): with active-if, uplinkd dials
# only while keepalived/CARP's address is on the LAN, and hangs up when it goes.  The access
# concentrator never sees more than one session.
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
lab_up bras
ul_router
pw=$(ul_secret ppp4 "$LAB_PPP4_PASS")
vip=192.0.2.254
ul_conf <<EOF
[global]
lan = br0
active-if = address $vip on br0

[uplink isp]
type = pppoe
device = wan0
user = $LAB_PPP4_USER
password-file = $pw
ipv6 = no
lcp-echo-interval = 1
EOF
sessions() { ul_bras_sessions; }
# the concentrator's session count, sampled every 200 ms for the whole test
# shellcheck disable=SC2016
lab_bg bras sessions bash -c 'while :; do n=0; for p in $(ip netns pids "$1"); do
	[ "$(cat /proc/$p/comm 2>/dev/null)" = pppd ] && n=$((n + 1)); done; echo "$n"; sleep 0.2; done' - "$LAB_NS_BRAS"

ul_daemon
sleep 3
t_eq "$(sessions)" 0 "the backup (no $vip on br0) does not dial"
t_match "$(ul_ctl status)" "inactive: the active-if condition does not hold" "status says why"
in_ns rtr ip addr add "$vip/24" dev br0
ul_wait_up isp 30
t_eq "$(sessions)" 1 "becoming master ($vip added) brings the session up"
lab_wait_ping 20 lan1 "$LAB_INET4_ECHO"
t_eq "$(lab_whoami lan1 | cut -d' ' -f1)" "$LAB_PPP4_POOL" "and LAN traffic goes through it"
in_ns rtr ip addr del "$vip/24" dev br0
lab_wait 15 sh -c "[ \"\$(ip netns pids $LAB_NS_RTR | xargs -r -n1 sh -c 'cat /proc/\$0/comm' 2>/dev/null | grep -c '^pppd$')\" = 0 ]"
t_ok "losing $vip hangs up: pppd is gone"
lab_wait 15 sh -c "[ \"\$(ip netns pids $LAB_NS_BRAS | xargs -r -n1 sh -c 'cat /proc/\$0/comm' 2>/dev/null | grep -c '^pppd$')\" = 0 ]"
t_eq "$(sessions)" 0 "and the concentrator freed the session"
t_match "$(ul_log)" "uplink isp: hanging up \(inactive" "the log says why"
in_ns rtr ip addr add "$vip/24" dev br0
ul_wait_up isp 30
t_eq "$(sessions)" 1 "master again: one session"
t_eq "$(sort -n "$LAB_DIR/log/sessions.log" | tail -n1)" 1 \
	"the concentrator never saw more than one session ($(wc -l <"$LAB_DIR/log/sessions.log") samples)"
