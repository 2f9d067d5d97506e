#!/bin/bash
# The demo: uplinkd runs a whole multi-uplink router in the lab (tests/lab/), started from one
# config file: MAP-E (v6plus), DS-Lite (transix), transix fixed IPv4, an IPv4 PPPoE session and
# an IPv6 PPPoE session with DHCPv6-PD, with policies.  It shows `uplinkctl status`, what the
# "internet" sees of each LAN flow, a dead BR failed over by the health check and its return,
# and an administrative down.  Everything happens in network namespaces it creates (inside a
# small VM when this kernel lacks VLAN, ip6tnl or PPP) and is removed at the end.
#   usage: bash tests/demo.sh        (as root; installs the Debian packages it needs)
set -eu -o pipefail
top=$(cd "$(dirname "$0")/.." && pwd -P)

if [ "${1:-}" != --here ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "demo: run as root: it builds network namespaces (and a VM when the kernel needs one)" >&2
		exit 1
	fi
	sh "$top/tests/deps.sh" all
	make -C "$top" -s
	missing=$("$top/tests/lab/probe" | tr '\n' ' ') || true
	if [ -n "$missing" ] && ! grep -qw uplinkd_lab_vm=1 /proc/cmdline; then
		echo "demo: this kernel lacks ${missing}- running the demo in a VM with Debian's stock kernel"
		exec "$top/tests/lab/vm/vm-run" -- "$0" --here
	fi
	exec "$0" --here
fi

export LAB_PREFIX=uldemo$$-
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$top/tests/lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$top/tests/integration/uplinkd.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
row() { printf '  %-44s %s\n' "$1" "$2"; }
t0=$SECONDS

say "Building the lab: NGN (RA, DHCPv6-PD, DNS), AFTR, MAP-E BR, fixed-IPv4 endpoint, PPPoE BRAS, internet"
LAB_LAN_HOSTS=2 lab_up aftr br fixed bras
ul_router
pw4=$(ul_secret ppp4 "$LAB_PPP4_PASS")
pw6=$(ul_secret ppp6 "$LAB_PPP6_PASS")
pwf=$(ul_secret transix "$LAB_FIXED_PASS")
ul_conf <<EOF
# One file for the whole router (passwords live in 0600 files).
[global]
lan = br0
hold-down = 5s

# the NGN line: native IPv6 by RA, ::feed for the fixed IPv4
[uplink wan]
type = ipoe
device = wan0
token = ::feed
priority = none

# MAP-E: the main IPv4 default route
[uplink v6plus]
type = mape
over = wan
rule = auto
priority = 10
check = icmp $LAB_INET4_ECHO
check-interval = 500ms

# DS-Lite: takes over when MAP-E fails
[uplink transix]
type = dslite
over = wan
aftr = $LAB_AFTR_NAME
priority = 20

# transix fixed IPv4 (ipip6 + the update request)
[uplink fixed]
type = ipip6
over = wan
remote = $LAB_FIXED_REMOTE
ipv4 = $LAB_FIXED_IPV4
user = $LAB_FIXED_USER
password-file = $pwf
priority = none

# IPv4 PPPoE on the same NIC
[uplink isp4]
type = pppoe
device = wan0
user = $LAB_PPP4_USER
password-file = $pw4
ifname = ppp0
ipv6 = no
priority = 30

# IPv6 PPPoE: the LAN's IPv6 comes from its delegated /56
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
priority = 5

# ssh leaves by PPPoE (a real, unshared address)
[policy ssh]
proto = tcp
dport = 22
uplink = isp4
fallback = v6plus

# lan2 is a server: the fixed IPv4
[policy servers]
from = 192.0.2.11
uplink = fixed
fallback = transix

# one destination by DS-Lite
[policy www]
to = $LAB_INET4_WWW/32
uplink = transix
EOF
say "The config ($UL_CONF)"
sed 's/^/  /' "$UL_CONF"

say "uplinkd starts with nothing but that file"
# shellcheck disable=SC2119
ul_daemon
# inet's sshd stand-in: port 22 answers with the address it sees; the LAN's RA daemon (dnsmasq)
# hands out whatever /64 br0 has.
# shellcheck disable=SC2016
lab_bg inet sshd socat TCP4-LISTEN:22,bind="$LAB_INET4_WHOAMI",fork,reuseaddr SYSTEM:'echo $SOCAT_PEERADDR'
lab_bg_priv rtr ra dnsmasq --keep-in-foreground --port=0 --user=root --interface=br0 --bind-interfaces \
	--enable-ra --dhcp-range=::,constructor:br0,ra-only,64 --ra-param=br0,3,1800 \
	--pid-file="$LAB_DIR/run/lan-dnsmasq.pid" --dhcp-leasefile="$LAB_DIR/run/lan-dnsmasq.leases"
t1=$SECONDS
for u in wan v6plus transix fixed isp4 isp6; do ul_wait_up "$u" 120; done
echo "  all six uplinks up $((SECONDS - t1)) s after uplinkd started"

say "uplinkctl status"
ul_ctl status | sed 's/^/  /'

say "What the internet sees (the what-is-my-address endpoint on inet)"
lab_wait_ping 30 lan1 "$LAB_INET4_ECHO" || true
lab_wait_ping 30 lan2 "$LAB_INET4_ECHO" || true
lab_wait_ping 30 lan1 "$LAB_INET4_WWW" || true
row "lan1 web (no policy: MAP-E, port-set NAT)" "$(lab_whoami lan1 || echo failed)"
row "lan1 ssh, tcp/22 (policy ssh: IPv4 PPPoE)" "$(in_t 10 lan1 socat -t 3 - "TCP:$LAB_INET4_WHOAMI:22" </dev/null || echo failed)"
row "lan1 to www (policy www: DS-Lite)" "$(in_t 15 lan1 curl -sS --max-time 10 "http://$LAB_INET4_WWW/json" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["addr"])' 2>/dev/null || echo failed)"
row "lan2 web (policy servers: fixed IPv4)" "$(lab_whoami lan2 || echo failed)"
v6=""
for _ in $(seq 60); do
	v6=$(in_ns lan1 ip -6 -o addr show dev eth0 scope global | awk '{ print $4 }' | grep "^${LAB_PPP6_PD%::/56}:" | head -n1 || true)
	[ -n "$v6" ] && break
	sleep 0.5
done
lab_wait_ping 30 lan1 "$LAB_INET6_ECHO" || true
row "lan1 IPv6 (${v6:-no address}, from the PD /56)" "$(lab_whoami lan1 "$LAB_INET6_WHOAMI" || echo failed)"
echo "  (MAP-E: ${LAB_MAPE_IPV4}, ports ${LAB_MAPE_PORTS%%,*},...; DS-Lite AFTR: $LAB_AFTR_PUBLIC4;"
echo "   fixed: $LAB_FIXED_IPV4; PPPoE pool: 203.0.113.66-...)"

say "The BR dies (the line stays up): only the health check through MAP-E can tell"
in_ns br nft add table inet dead
in_ns br nft add chain inet dead pre '{ type filter hook prerouting priority -300; }'
in_ns br nft add rule inet dead pre meta l4proto ipencap drop
took=$(ul_wait_default transix 20 || echo "(not within 20 s)")
row "main IPv4 default route moved to DS-Lite after" "${took} s"
lab_wait_ping 20 lan1 "$LAB_INET4_ECHO" || true
row "lan1 web now leaves by" "$(lab_whoami lan1 || echo failed)"
in_nsq() { in_ns "$@" 2>/dev/null; }
in_nsq br nft delete table inet dead
took=$(ul_wait_default v6plus 30 || echo "(not within 30 s)")
row "BR back: MAP-E again after probes + hold-down" "${took} s"

say "uplinkctl down isp4: the ssh policy falls back to MAP-E, the session is hung up"
ul_ctl down isp4 | sed 's/^/  /'
for _ in $(seq 20); do [ "$(ul_bras_sessions)" = 1 ] && break; sleep 0.5; done
row "lan1 ssh, tcp/22 now seen as" "$(in_t 10 lan1 socat -t 3 - "TCP:$LAB_INET4_WHOAMI:22" </dev/null || echo failed)"
row "PPPoE sessions left at the BRAS (isp6's)" "$(ul_bras_sessions)"
ul_ctl up isp4 >/dev/null

say "The daemon's log (last lines)"
tail -n 12 "$LAB_DIR/log/uplinkd.log" | sed 's/^/  /'

say "Done in $((SECONDS - t0)) s; the lab is removed on exit"
