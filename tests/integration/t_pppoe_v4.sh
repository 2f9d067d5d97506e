#!/bin/bash
# IPv4 PPPoE run by uplinkd: pppd (kernel-mode PPPoE) comes up on the WAN NIC next to the IPoE
# uplink, LAN traffic of a chosen host is masqueraded through it with MSS clamped to 1414; when
# the access concentrator dies, LCP echo notices, the host's policy fails over to DS-Lite, and
# the session comes back (redialled with backoff) when the concentrator does.  The password is
# in no process argument, log line or status output.
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
lab_up bras aftr
ul_router
pw=$(ul_secret ppp4 "$LAB_PPP4_PASS")
ul_conf <<EOF
[global]
lan = br0
hold-down = 2s

[uplink wan]
type = ipoe
device = wan0
priority = none

[uplink ds]
type = dslite
over = wan
aftr = $LAB_AFTR
priority = 20

[uplink isp]
type = pppoe
device = wan0
user = $LAB_PPP4_USER
password-file = $pw
ifname = ppp0
ipv6 = no
priority = 10
lcp-echo-interval = 1
lcp-echo-failure = 3

[policy lan1]
from = $LAB_LAN1_ADDR4
uplink = isp
fallback = ds
EOF

ul_daemon
ul_wait_up isp 60
t_eq "$(ul_json '[u["pppoe"]["session"] for u in s["uplinks"] if u["name"] == "isp"][0]')" up "status: session up"
t_eq "$(ul_json '[u["pppoe"]["peer"] for u in s["uplinks"] if u["name"] == "isp"][0]')" "$LAB_PPP4_LOCAL" \
	"status: the peer is the access concentrator"
t_match "$(in_ns rtr ip link show ppp0)" "mtu 1454" "ppp0 has MTU 1454"
t_match "$(in_ns rtr ip -4 addr show dev ppp0)" "inet $LAB_PPP4_POOL peer $LAB_PPP4_LOCAL" \
	"IPCP gave $LAB_PPP4_POOL"
t_eq "$(ul_bras_sessions)" 1 "the concentrator serves one session"
t_match "$(in_ns rtr ps -o args= -C pppd)" "plugin (rp-)?pppoe.so nic-wan0 user $LAB_PPP4_USER plugin passwordfd.so" \
	"pppd runs with the kernel-mode plugin and takes its password from a pipe"

ul_wait_up ds 30
ul_mss_watch inet
lab_wait_ping 20 lan1 "$LAB_INET4_ECHO"
seen=$(lab_whoami lan1)
t_eq "${seen% *}" "$LAB_PPP4_POOL" "lan1 (policy) is masqueraded through PPPoE"
t_eq "$(ul_mss_seen inet 1414)" 1 "its SYN reached inet with MSS 1414 (1454 - 40)"

# The concentrator dies: LCP echo (1 s, 3 misses) ends the session, the policy falls back.
ul_bras_kill
lab_wait 15 ul_state_is isp waiting
t_ok "uplinkd noticed the dead session"
reason() { ul_json '[u["pppoe"]["last_disconnect"] for u in s["uplinks"] if u["name"] == "isp"][0]'; }
for _ in $(seq 50); do [ -n "$(reason)" ] && break; sleep 0.2; done
t_match "$(reason)" "LCP echo|hung up|session ended" "status says why the session ended ($(reason))"
lab_wait_ping 20 lan1 "$LAB_INET4_ECHO"
seen=$(lab_whoami lan1)
t_eq "${seen% *}" "$LAB_AFTR_PUBLIC4" "lan1's policy fell back to DS-Lite"

# The concentrator returns: pppd is redialled and, after hold-down, lan1 goes by PPPoE again.
lab__bras_start
ul_wait_up isp 60
lab_wait 30 sh -c "ip netns exec $LAB_NS_LAN1 curl -s --max-time 5 http://$LAB_INET4_WHOAMI/ | grep -q '^$LAB_PPP4_POOL '"
t_ok "the session came back and lan1 goes by PPPoE again"
t_eq "$(ul_bras_sessions)" 1 "still one session at the concentrator"
t_match "$(ul_log)" "uplink isp: session ended after [0-9]+s: .*redialling in" "the log says it redials"

# Secrets
ul_ctl status -j >"$LAB_DIR/status.json"
ul_ctl status >>"$LAB_DIR/status.json"
in_ns rtr ps -eo args >"$LAB_DIR/ps.txt"
if grep -F -- "$LAB_PPP4_PASS" "$LAB_DIR/ps.txt" "$LAB_DIR/log/uplinkd.log" "$LAB_DIR/status.json"; then
	t_fail "the PPPoE password shows"
fi
t_ok "the password is in no process argument, log line or status output"

# pppd holds no descriptor of uplinkd (netlink sockets, epoll, the control socket)
ppid=$(pgrep -x pppd | head -n1)
fds=$(for f in /proc/"$ppid"/fd/*; do readlink "$f"; done | sort | uniq -c | tr '\n' ' ')
echo "pppd's descriptors: $fds"
t_eq "$(for f in /proc/"$ppid"/fd/*; do readlink "$f"; done | grep -c 'anon_inode:\[eventpoll\]\|anon_inode:\[signalfd\]\|anon_inode:\[timerfd\]' || true)" 0 \
	"pppd inherited no epoll, signalfd or timerfd of uplinkd"

# A pppd that cannot start (its password file is gone) is retried with backoff (1 s doubling),
# not at every reconcile, and status says why.
mv "$pw" "$pw.away"
ul_ctl down isp >/dev/null
ul_ctl up isp >/dev/null
# 20 reconciles asked for over the control socket by one process (uplinkctl is slow in the VM)
t0=$(date +%s%N)
in_priv rtr python3 -c '
import socket, time
for _ in range(20):
    s = socket.socket(socket.AF_UNIX)
    s.connect("/run/uplinkd/control")
    s.sendall(b"ifchange wan0\n")
    while s.recv(4096):
        pass
    time.sleep(0.1)
'
secs=$((($(date +%s%N) - t0) / 1000000000 + 1))
tries=$(ul_log | grep -c "uplink isp: cannot read $pw" || true)
# starts due at 0, 1, 3, 7, 15 s
allowed=$(awk -v s="$secs" 'BEGIN { n = 0; for (t = 0; t <= s; t = t * 2 + 1) n++; print n }')
[ "$tries" -ge 1 ] && [ "$tries" -le "$allowed" ] ||
	t_fail "20 reconciles in ${secs}s tried to start pppd $tries times (backoff allows $allowed)"
t_ok "20 reconciles in ${secs}s tried to start pppd $tries times (backoff)"
t_match "$(reason)" "cannot read .*; again in [0-9]+s" "status says why pppd does not run and when it tries again"
mv "$pw.away" "$pw"
ul_wait_up isp 60
t_ok "with the file back, the session comes up by itself"
