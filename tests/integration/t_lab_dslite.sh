#!/bin/bash
# Lab self-test: DS-Lite.  A hand-configured B4 in rtr reaches inet through the AFTR, which NATs
# to its own public address.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR/../lab disable=SC2119
LAB_LAN_HOSTS=2
# shellcheck source=tests/lab/lab.sh
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/lab/handrouter.sh
. "$LAB_HOME/handrouter.sh"
lab_up aftr
hr_lan
hr_wan
t_match "$HR_WAN_ADDR" "^${LAB_RA_PREFIX%%::*}:" "rtr got a SLAAC address from the NGN's RA"
hr_dslite
t_ok "B4 tunnel to $(hr_resolve "$LAB_AFTR_NAME" | head -n1) (resolved via the NGN's DNS)"

# The first packet from a new B4 teaches the AFTR where to send replies; allow a retry.
lab_wait_ping 10 rtr "$LAB_AFTR_ADDR4"
t_ok "the AFTR's 192.0.0.1 answers through the tunnel"
t_eq "$(lab_aftr_b4)" "$HR_WAN_ADDR" "the AFTR learned the B4 address"
lab_wait_ping 10 lan1 "$LAB_INET4_ECHO"
t_ok "a LAN host pings inet over DS-Lite"
seen=$(lab_whoami lan1 "$LAB_INET4_WHOAMI")
t_match "$seen" "^$LAB_AFTR_PUBLIC4 [0-9]+\$" "inet sees the AFTR's public address"
lab_wait_ping 10 lan2 "$LAB_INET4_ECHO"
t_ok "so does a second LAN host"
t_eq "$(echo ds-udp | in_t 10 lan1 socat -t 3 - "UDP:$LAB_INET4_ECHO:$LAB_ECHO_PORT")" ds-udp "UDP echo over DS-Lite"
n=$(in_ns aftr nft list counter ip aftr nat44 | awk '/packets/ { print $2 }')
[ "$n" -gt 0 ] || t_fail "the AFTR's NAT44 counter is $n"
t_ok "the AFTR NATed $n packets"
