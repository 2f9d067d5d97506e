#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Rogue NGN peers (issue 11): router advertisements with a /60 prefix, with lifetimes 0, with an
# RDNSS nobody answers on, with 50 prefixes (last); a DNS server answering the AFTR name with
# NXDOMAIN, no AAAA, ::, ::1 or 100 AAAA records.  uplinkd keeps running (same pid), the DS-Lite uplink says
# why it waits, a plain Ethernet uplink carries a LAN host's ping throughout, and when the AFTR
# finally resolves (100 records) DS-Lite carries the other LAN host's traffic.
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
LAB_LAN_HOSTS=2
lab_up aftr
ul_router
ul_static_line
# The rogues are there before uplinkd ever sees the NGN.
lab_ngn_dns nxdomain
lab_ngn_ra prefix60
ul_conf <<EOF2
[global]
lan = br0
hold-down = 1s

[uplink wan]
type = ipoe
device = wan0
priority = none

[uplink ds]
type = dslite
over = wan
aftr = $LAB_AFTR_NAME
priority = 20
check = icmp $LAB_INET4_ECHO
check-interval = 500ms

$(ul_static_conf 10)

[policy lan2]
from = 192.0.2.11
uplink = ds
fallback = st
EOF2
ul_daemon
ul_wait_up st 20
pid=$(ul_pid)
lab_wait_ping 10 lan1 "$LAB_INET4_ECHO"
ul_pinger lan1 "$LAB_INET4_ECHO" ping1
ds() { ul_json "[u[\"$1\"] for u in s[\"uplinks\"] if u[\"name\"] == \"ds\"][0]"; }
wan_addrs() { ul_json '[a for u in s["uplinks"] if u["name"] == "wan" for a in u["addresses"] if not a.startswith("fe80")]'; }
# ds_says STATE ERE SECS: until ds is in STATE with a reason matching ERE
ds_is() {
	ul_ctl status -j 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
print([u["state"] + " " + u["reason"] for u in s["uplinks"] if u["name"] == "ds"][0])' | grep -Eq "^$1 .*($2)"
}
ds_says() {
	lab_wait "$3" ds_is "$1" "$2" || { ul_ctl status >&2; t_fail "ds is not '$1' with a reason matching /$2/"; }
	t_ok "ds: $(ds state) -- $(ds reason)"
}
alive() {
	t_eq "$(ul_pid)" "$pid" "uplinkd still runs (pid $pid) $1"
	t_eq "$(lab_whoami lan1 | cut -d' ' -f1)" 198.18.99.2 "lan1 goes out by the Ethernet uplink $1"
	t_eq "$(lab_whoami lan2 | cut -d' ' -f1)" 198.18.99.2 "lan2 falls back to the Ethernet uplink $1"
}

# 1. RA with the line's prefix as a /60: no SLAAC address, DS-Lite waits for one.
sleep 4
ul_ctl status
t_eq "$(wan_addrs)" "[]" "RA /60: the WAN has no global address"
ds_says waiting "no WAN address|not resolved" 15
alive "(RA /60)"

# 2. RA with router lifetime 0 and prefix lifetimes 0: still nothing to use.
lab_ngn_ra lifetime0
sleep 4
t_eq "$(wan_addrs)" "[]" "RA lifetime 0: no global address"
t_eq "$(in_ns rtr ip -6 route show default dev wan0)" "" "RA lifetime 0: no default route"
ds_says waiting "no WAN address|not resolved" 15
alive "(RA lifetime 0)"

# 3. The RA is right again; the AFTR name is NXDOMAIN.
lab_ngn_ra normal
wan=$(ul_wait_wan 20)
t_ok "the WAN address is $wan"
ds_says waiting "not resolved.*(not found|NXDOMAIN|no such)" 20
alive "(NXDOMAIN)"

# 4. RDNSS pointing nowhere: the question times out.
lab_ngn_ra rdnss-nowhere
ds_says waiting "not resolved.*(imeout|contact)" 60
alive "(RDNSS nowhere)"

# 5. The resolvers are back, but the AFTR name has no AAAA, then ::, then ::1.
lab_ngn_dns nodata
lab_ngn_ra normal
ds_says waiting "not resolved.*(no data|no IPv6 address)" 20
for m in zero loopback; do
	lab_ngn_dns $m
	lab_ngn_ra rdnss-swapped   # another resolver list: uplinkd asks again at once
	ds_says waiting "not resolved.*global unicast" 20
	lab_ngn_ra normal
	sleep 1
done
alive "(AAAA none, ::, ::1)"

# 6. 100 AAAA records: too many for UDP; the lowest is the AFTR: DS-Lite comes up.
lab_ngn_dns many
lab_ngn_ra rdnss-swapped
ul_wait_up ds 40
t_eq "$(ds aftr)" "$LAB_AFTR" "100 AAAA records: DS-Lite uses $LAB_AFTR"
lab_wait 20 sh -c "ip netns exec $LAB_NS_LAN2 curl -s --max-time 5 http://$LAB_INET4_WHOAMI/ | grep -q '^$LAB_AFTR_PUBLIC4 '"
t_ok "lan2 goes out by DS-Lite"
t_eq "$(ul_pid)" "$pid" "uplinkd still runs"
t_eq "$(lab_whoami lan1 | cut -d' ' -f1)" 198.18.99.2 "lan1 still goes out by the Ethernet uplink"

# 7. RA with 50 prefixes (the line's first): the kernel takes what it will (16 at most).
lab_ngn_ra many
lab_wait 20 sh -c "[ \$(ip netns exec $LAB_NS_RTR ip -6 -o addr show dev wan0 scope global | wc -l) -gt 8 ]"
t_ok "RA with 50 prefixes: $(in_ns rtr ip -6 -o addr show dev wan0 scope global | wc -l) addresses on wan0"
sleep 5
t_eq "$(ul_pid)" "$pid" "uplinkd still runs"
echo "ds is $(ds state) ($(ds reason)), health $(ul_json '[u["health"]["state"] for u in s["uplinks"] if u["name"] == "ds"][0]')"
t_eq "$(lab_whoami lan1 | cut -d' ' -f1)" 198.18.99.2 "lan1 still goes out by the Ethernet uplink"
t_match "$(lab_whoami lan2 | cut -d' ' -f1)" "^($LAB_AFTR_PUBLIC4|198\.18\.99\.2)$" \
	"lan2 gets out (by DS-Lite, or by the fallback when DS-Lite's check fails)"

ul_ping_throughout ping1
ul_ctl status -j >"$LAB_DIR/status.json"
t_eq "$(grep -c . "$LAB_DIR/status.json")" 1 "status -j is one line of JSON"
