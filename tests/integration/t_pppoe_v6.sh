#!/bin/bash
# IPv6 PPPoE with DHCPv6-PD, as the NGN's tunnel-method ISPs do it (seed 003): a second session
# with its own user on which only IPv6CP comes up and nothing is routed until uplinkd's DHCPv6
# client has the prefix.  The /56 is delegated (Kea at the BRAS), br0 gets its first /64 and the
# router's ::1 in it, an RA daemon on the LAN (dnsmasq, as an operator runs one) hands the /64 to
# the hosts, and a LAN host reaches inet over IPv6 through the session.  A redial keeps the
# prefix (confirmed by Rebind); `uplinkctl down` gives it back (Release); a restarted uplinkd
# confirms the saved lease.
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
lab_up bras
ul_router
pw=$(ul_secret ppp6 "$LAB_PPP6_PASS")
pd=$LAB_PPP6_PD                     # 2001:db8:8000:100::/56
lan64=${pd%::/56}::/64
ul_conf <<EOF
[global]
lan = br0

[uplink v6]
type = pppoe
device = wan0
user = $LAB_PPP6_USER
password-file = $pw
ifname = ppp6
ipv4 = no
ipv6 = yes
dhcpv6-pd = yes
pd-lan = br0
lcp-echo-interval = 1
lcp-echo-failure = 3
EOF
pdj() { ul_json "[u['dhcpv6_pd']['$1'] for u in s['uplinks'] if u['name'] == 'v6'][0]"; }
pd_is() { [ "$(pdj "$1")" = "$2" ]; }

ul_daemon
ul_wait_up v6 60
lab_wait 30 pd_is prefix "$pd" ||
	t_fail "no prefix delegated: $(ul_ctl status | grep -A3 DHCPv6 || true)"
t_ok "DHCPv6-PD over ppp6 delegated $pd"
t_eq "$(pdj state)" bound "status: the client is bound"
t_match "$(ul_ctl status)" "DHCPv6-PD on ppp6: bound, prefix $pd, renew in [0-9]+s" "status text shows the lease"
t_eq "$(in_ns rtr ip -4 -o addr show dev ppp6)" "" "the IPv6 user got no IPCP"
t_match "$(in_ns rtr ip -6 -o addr show dev br0)" "${pd%::/56}::1/64" "br0 got ${pd%::/56}::1/64"
t_match "$(in_ns rtr ip -6 route show table all default)" "default dev ppp6 .*table" "the uplink's table routes by ppp6"
t_match "$(in_ns rtr ip -6 rule)" "from $pd lookup" "traffic from the delegated prefix uses the uplink's table"
t_match "$(in_ns bras cat "$LAB_DIR/log/bras-kea-ppp0.log" 2>/dev/null || in_ns bras sh -c "cat $LAB_DIR/log/bras-kea-*.log")" \
	"DHCP6_PD_LEASE_ALLOC|DHCP6_LEASE_ALLOC" "Kea at the BRAS logged the delegation"

# The operator's RA daemon hands br0's /64 to the hosts (constructor: whatever br0 has).
lab_bg_priv rtr ra dnsmasq --keep-in-foreground --port=0 --user=root --interface=br0 --bind-interfaces \
	--enable-ra --dhcp-range=::,constructor:br0,ra-only,64 --ra-param=br0,3,1800 \
	--pid-file="$LAB_DIR/run/lan-dnsmasq.pid" --dhcp-leasefile="$LAB_DIR/run/lan-dnsmasq.leases"
lan1_v6() { in_ns lan1 ip -6 -o addr show dev eth0 scope global | awk '{ print $4 }' | grep "^${pd%::/56}:" | head -n1; }
lan1_has_v6() { [ -n "$(lan1_v6)" ]; }
lab_wait 30 lan1_has_v6 ||
	t_fail "lan1 got no address from the RA"
addr=$(lan1_v6)
t_match "$addr" "^${pd%::/56}:[0-9a-f:]+/64$" "lan1 took an address in $lan64 ($addr)"
lab_wait_ping 30 lan1 "$LAB_INET6_ECHO"
t_ok "lan1 reaches inet over IPv6"
seen=$(lab_whoami lan1 "$LAB_INET6_WHOAMI")
t_eq "${seen% *}" "${addr%/64}" "inet sees lan1's own address (no NAT for IPv6)"

# A redial: the ppp interface goes and comes back; the client confirms the prefix it holds.
ul_bras_kill
lab_wait 20 ul_state_is v6 waiting
t_ok "the session died"
t_eq "$(pdj prefix)" "$pd" "the lease outlives the session"
lab__bras_start
ul_wait_up v6 60
asks() { [ "$(grep -c 'asking for a prefix on ppp6' "$LAB_DIR/log/uplinkd.log")" -ge "$1" ]; }
lab_wait 30 asks 2
lab_wait 30 pd_is state bound
t_eq "$(pdj prefix)" "$pd" "after the redial the same prefix is bound"
t_eq "$(grep -c 'delegated prefix ' "$LAB_DIR/log/uplinkd.log")" 1 "and it was never lost (one 'delegated prefix' line in the log)"
lab_wait_ping 30 lan1 "$LAB_INET6_ECHO"
t_ok "lan1 reaches inet over IPv6 again"

# A restarted uplinkd confirms the saved lease: br0's address never goes away.
t_match "$(cat "$LAB_DIR/priv/rtr/run/uplinkd/pd-v6" 2>/dev/null || in_ns rtr sh -c 'cat /run/uplinkd/pd-v6')" \
	"^$pd [0-9]+ [0-9]+ " "the lease is saved in the run directory"
lab_kill uplinkd
ul_daemon
lab_wait 30 pd_is state bound
t_match "$(ul_log)" "confirming the saved delegated prefix $pd" "the new uplinkd confirmed the saved lease"
t_match "$(in_ns rtr ip -6 -o addr show dev br0)" "${pd%::/56}::1/64" "br0 kept its address"

# Administratively down: the prefix is given back, br0's address goes.
ul_ctl down v6 >/dev/null
br0_has_pd() { in_ns rtr ip -6 -o addr show dev br0 | grep -q "${pd%::/56}::1/64"; }
br0_lost_pd() { ! br0_has_pd; }
lab_wait 15 br0_lost_pd
t_ok "uplinkctl down: br0's address is gone"
t_match "$(ul_log)" "releasing the delegated prefix $pd \(administratively down\)" "the prefix was released"
lab_wait 15 sh -c "grep -q 'DHCP6_RELEASE' $LAB_DIR/log/bras-kea-*.log"
t_ok "Kea saw the Release"

ul_ctl status -j >"$LAB_DIR/status.json"
in_ns rtr ps -eo args >"$LAB_DIR/ps.txt"
if grep -F -- "$LAB_PPP6_PASS" "$LAB_DIR/ps.txt" "$LAB_DIR/log/uplinkd.log" "$LAB_DIR/status.json"; then
	t_fail "the PPPoE password shows"
fi
t_ok "the password is in no process argument, log line or status output"
