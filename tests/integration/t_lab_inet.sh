#!/bin/bash
# Lab self-test: the "internet" (what-is-my-address, echo, HTTP), the NGN's DNS, and the lab's
# own safety: it acts only on its namespaces and removes them all.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR/../lab disable=SC2119
# shellcheck source=tests/lab/lab.sh
. "$(dirname "$0")/../lab/lab.sh"
lab_up bras

t_eq "$(ip netns list | awk '{print $1}' | grep -c "^$LAB_PREFIX")" 5 "five namespaces (rtr lan1 ngn inet bras)"
if in_ns nosuch true 2>/dev/null; then t_fail "in_ns ran in a namespace the lab did not create"; fi
t_ok "in_ns refuses a namespace the lab did not create"

# bras is a plain host next to inet: 198.18.4.2 and 2001:db8:ffff:4::2.
t_eq "$(lab_whoami bras "$LAB_INET4_WHOAMI" --local-port 40001)" "198.18.4.2 40001" \
	"whoami (HTTP, IPv4) reports the source address and port it saw"
t_eq "$(lab_whoami bras "$LAB_INET6_WHOAMI" --local-port 40002)" "2001:db8:ffff:4::2 40002" \
	"whoami (HTTP, IPv6) reports the source address and port it saw"
json=$(in_t 10 bras curl -sS --max-time 5 --local-port 40003 "http://$LAB_INET4_WHOAMI/json")
t_match "$json" '"addr": "198\.18\.4\.2", "port": 40003' "whoami /json"
t_eq "$(echo | in_t 10 bras socat -t 3 - "TCP:$LAB_INET4_WHOAMI:$LAB_WHOAMI_PORT,sourceport=40004")" \
	"198.18.4.2 40004" "whoami (plain TCP) reports address and port"
t_eq "$(echo x | in_t 10 bras socat -t 3 - "UDP:$LAB_INET4_WHOAMI:$LAB_WHOAMI_PORT,sourceport=40005")" \
	"198.18.4.2 40005" "whoami (UDP) reports address and port"
t_eq "$(echo x | in_t 10 bras socat -t 3 - "UDP6:[$LAB_INET6_WHOAMI]:$LAB_WHOAMI_PORT,sourceport=40006")" \
	"2001:db8:ffff:4::2 40006" "whoami (UDP over IPv6) reports address and port"
grep -q " udp $LAB_INET4_WHOAMI $LAB_WHOAMI_PORT 198.18.4.2 40005 whoami" "$LAB_INET_LOG" ||
	t_fail "inet's request log lacks the UDP request"
t_ok "inet logs every request with the peer's address and port"

t_eq "$(echo hello-tcp | in_t 10 bras socat -t 3 - "TCP:$LAB_INET4_ECHO:$LAB_ECHO_PORT")" hello-tcp "TCP echo"
t_eq "$(echo hello-udp | in_t 10 bras socat -t 3 - "UDP:$LAB_INET4_ECHO:$LAB_ECHO_PORT")" hello-udp "UDP echo"
t_eq "$(echo hello-v6 | in_t 10 bras socat -t 3 - "TCP6:[$LAB_INET6_ECHO]:$LAB_ECHO_PORT")" hello-v6 "TCP echo over IPv6"
t_eq "$(in_t 10 bras curl -sS --max-time 5 "http://$LAB_INET4_WWW/bytes/300000" | wc -c)" 300000 "HTTP download"
t_match "$(in_t 10 bras curl -sS --max-time 5 "http://[$LAB_INET6_WWW]/")" "hello from inet" "HTTP page over IPv6"

# The NGN's DNS answers the ISPs' names (from rtr: link-local route via RA is not needed for the
# test, the WAN gets SLAAC first).
in_ns rtr ip link set dev "$LAB_WAN_IF" up
lab_wait_addr 20 rtr "$LAB_WAN_IF" -6 "^${LAB_RA_PREFIX%%::*}:" >/dev/null
dns() { in_t 10 rtr dig +short +time=2 +tries=2 "@$LAB_DNS6" "$@" | sort | tr '\n' ' '; }
t_eq "$(dns AAAA gw.transix.jp)" "$LAB_AFTR $LAB_AFTR_2 " "DNS: AAAA gw.transix.jp"
t_eq "$(dns AAAA update.transix.jp)" "$LAB_FIXED_UPDATE " "DNS: AAAA update.transix.jp"
t_match "$(dns TXT 4over6.info)" '^"v=v6mig-1 url=https://[^ ]+ t=b" $' "DNS: TXT 4over6.info (HB46PP)"
t_eq "$(dns A whoami.lab.example)" "$LAB_INET4_WHOAMI " "DNS: A whoami.lab.example"

# Programs the lab starts in rtr get private /run, /etc/ppp and resolv.conf.
lab_rtr_resolv
t_eq "$(in_priv_t 10 rtr getent ahostsv6 gw.transix.jp | awk '$2 == "STREAM" { print $1 }' | sort | tr '\n' ' ')" \
	"$LAB_AFTR $LAB_AFTR_2 " "the resolver of rtr's programs asks the NGN's DNS"
in_priv rtr sh -c ': >/run/uplinkd-lab-probe && : >/etc/ppp/uplinkd-lab-probe'
if [ ! -e "$LAB_DIR/priv/rtr/run/uplinkd-lab-probe" ] || [ -e /run/uplinkd-lab-probe ] ||
	[ ! -e "$LAB_DIR/priv/rtr/etc/ppp/uplinkd-lab-probe" ] || [ -e /etc/ppp/uplinkd-lab-probe ]; then
	t_fail "a file written to /run or /etc/ppp in rtr did not stay in the lab"
fi
t_ok "what rtr's programs write to /run and /etc/ppp stays in the lab"

# Teardown removes every namespace, and again is harmless.
prefix=$LAB_PREFIX
lab_down
lab_down
t_eq "$(ip netns list | awk '{print $1}' | grep -c "^$prefix" || true)" 0 "lab_down removed every namespace"
