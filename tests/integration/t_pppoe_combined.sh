#!/bin/bash
# Issue 6's whole setup from one config, started by uplinkd alone: the IPoE WAN with MAP-E
# (v6plus, the main IPv4 default), an IPv4 PPPoE session and a separate IPv6 PPPoE session with
# DHCPv6-PD on the same NIC.  ssh (tcp/22) and a chosen host (lan2) go out by the IPv4 PPPoE,
# everything else by MAP-E; the LAN's IPv6 comes from the delegated /56 and leaves by the IPv6
# session.  Nothing but uplinkd (and the operator's LAN RA daemon) runs on the router.
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
LAB_LAN_HOSTS=2 lab_up br bras
ul_router
pw4=$(ul_secret ppp4 "$LAB_PPP4_PASS")
pw6=$(ul_secret ppp6 "$LAB_PPP6_PASS")
pd=$LAB_PPP6_PD
lan2=192.0.2.11
ul_conf <<EOF
[global]
lan = br0

[uplink wan]
type = ipoe
device = wan0
priority = 30

[uplink v6plus]
type = mape
over = wan
rule = auto
priority = 10

[uplink isp4]
type = pppoe
device = wan0
user = $LAB_PPP4_USER
password-file = $pw4
ifname = ppp0
ipv4 = yes
ipv6 = no
priority = 20

[uplink isp6]
type = pppoe
device = wan0
user = $LAB_PPP6_USER
password-file = $pw6
ifname = ppp1
ipv4 = no
ipv6 = yes
dhcpv6-pd = yes
pd-lan = br0
priority = 20

[policy ssh]
proto = tcp
dport = 22
uplink = isp4
fallback = v6plus

[policy hosts]
from = $lan2
uplink = isp4
fallback = v6plus
EOF
# inet's sshd stand-in: port 22 answers with the address it sees
# shellcheck disable=SC2016
lab_bg inet sshd socat TCP4-LISTEN:22,bind="$LAB_INET4_WHOAMI",fork,reuseaddr SYSTEM:'echo $SOCAT_PEERADDR'
ssh_seen() { in_t 10 "$1" socat -t 3 - "TCP:$LAB_INET4_WHOAMI:22" </dev/null; }

ul_daemon
for u in wan v6plus isp4 isp6; do ul_wait_up "$u" 90; done
t_ok "all four uplinks are up (MAP-E, IPoE, IPv4 PPPoE, IPv6 PPPoE)"
t_eq "$(ul_bras_sessions)" 2 "the concentrator serves two sessions (IPv4 user, IPv6 user)"
t_eq "$(ul_json 's["default4"]')" v6plus "MAP-E has the main IPv4 default route"
# the concentrator hands out its pool in the order the sessions come (the IPv6 one takes one too)
ppp4=$(ul_json "[u['ipv4'] for u in s['uplinks'] if u['name'] == 'isp4'][0]")
t_match "$ppp4" "^203\.0\.113\.6[6-9]$" "the IPv4 session's address ($ppp4) is from the concentrator's pool"
pdj() { ul_json "[u['dhcpv6_pd']['$1'] for u in s['uplinks'] if u['name'] == 'isp6'][0]"; }
pd_is() { [ "$(pdj "$1")" = "$2" ]; }
lab_wait 30 pd_is prefix "$pd" || t_fail "no delegated prefix: $(ul_ctl status | grep -A2 DHCPv6)"
t_ok "the IPv6 session got $pd delegated"

lab_wait_ping 30 lan1 "$LAB_INET4_ECHO"
seen=$(lab_whoami lan1)
t_eq "${seen% *}" "$LAB_MAPE_IPV4" "lan1's web traffic leaves by MAP-E"
t_port_in "${seen#* }" "$LAB_MAPE_PORTS" || t_fail "port ${seen#* } outside the MAP-E sets"
lab_wait 20 ssh_seen lan1
t_eq "$(ssh_seen lan1)" "$ppp4" "lan1's ssh (tcp/22) leaves by the IPv4 PPPoE"
seen=$(lab_whoami lan2)
t_eq "${seen% *}" "$ppp4" "lan2 (a chosen host) leaves by the IPv4 PPPoE"

lab_bg_priv rtr ra dnsmasq --keep-in-foreground --port=0 --user=root --interface=br0 --bind-interfaces \
	--enable-ra --dhcp-range=::,constructor:br0,ra-only,64 --ra-param=br0,3,1800 \
	--pid-file="$LAB_DIR/run/lan-dnsmasq.pid" --dhcp-leasefile="$LAB_DIR/run/lan-dnsmasq.leases"
lan1_v6() { in_ns lan1 ip -6 -o addr show dev eth0 scope global | awk '{ print $4 }' | grep "^${pd%::/56}:" | head -n1; }
lan1_has_v6() { [ -n "$(lan1_v6)" ]; }
lab_wait 30 lan1_has_v6 || t_fail "lan1 got no address in $pd"
addr=$(lan1_v6)
addr=${addr%/64}
lab_wait_ping 30 lan1 "$LAB_INET6_ECHO"
seen=$(lab_whoami lan1 "$LAB_INET6_WHOAMI")
t_eq "${seen% *}" "$addr" "lan1's IPv6 ($addr, from the delegated /56) reaches inet"
t_match "$(in_ns rtr ip -6 route get "$LAB_INET6_WHOAMI" from "$addr" iif br0)" "dev ppp1" \
	"and leaves by the IPv6 session"

# The IPv4 session is taken down: ssh and lan2 fall back to MAP-E; up again, they go back.
ul_ctl down isp4 >/dev/null
lab_wait 20 ul_state_is isp4 admin-down
seen=$(lab_whoami lan2)
t_eq "${seen% *}" "$LAB_MAPE_IPV4" "with the IPv4 session down, lan2 falls back to MAP-E"
t_eq "$(ssh_seen lan1)" "$LAB_MAPE_IPV4" "and so does ssh"
sessions_are() { [ "$(ul_bras_sessions)" = "$1" ]; }
lab_wait 15 sessions_are 1
t_ok "the IPv4 session was hung up at the concentrator, the IPv6 one stays"
ul_ctl up isp4 >/dev/null
ul_wait_up isp4 60
ppp4=$(ul_json "[u['ipv4'] for u in s['uplinks'] if u['name'] == 'isp4'][0]")
lan2_by_ppp() { [ "$(lab_whoami lan2 | cut -d' ' -f1)" = "$ppp4" ]; }
lab_wait 30 lan2_by_ppp
t_ok "back up: lan2 leaves by the IPv4 PPPoE again"

ul_ctl status >"$LAB_DIR/status.txt"
t_match "$(cat "$LAB_DIR/status.txt")" "PPPoE on wan0 as ppp1: session up" "status shows the IPv6 session"
t_match "$(cat "$LAB_DIR/status.txt")" "DHCPv6-PD on ppp1: bound, prefix $pd" "status shows the delegated prefix"
in_ns rtr ps -eo args >"$LAB_DIR/ps.txt"
if grep -F -e "$LAB_PPP4_PASS" -e "$LAB_PPP6_PASS" "$LAB_DIR/ps.txt" "$LAB_DIR/log/uplinkd.log" "$LAB_DIR/status.txt"; then
	t_fail "a PPPoE password shows"
fi
t_ok "neither password is in a process argument, log line or status output"
