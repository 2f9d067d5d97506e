#!/bin/bash
# uplinkctl apply: inbound connections to the router are answered over the uplink they came in
# by, and the WAN firewall.  The main default route leads into MAP-E; a plain Ethernet line
# (static, st0), the transix fixed IPv4 and the IPoE WAN (IPv6) open tcp/22 (`accept`).  A
# listener on the router answers on 22 and 23 with a banner.  From inet (with source addresses
# only MAP-E's or the RA's default route would lead back to):
#  - to the static address, to the router's LAN address routed over the static line (no source
#    rule covers it: only the connection's mark brings the reply back), to the fixed IPv4 through
#    the tunnel and to the WAN's IPv6 address: the banner arrives, conntrack carries the uplink's
#    mark (as `uplinkctl plan` states it), and nftables counters in rtr count the replies on
#    that uplink only;
#  - to port 23, and to MAP-E's address (MAP-E accepts nothing): dropped silently (no RST,
#    nothing leaves), counted by uplinkd's firewall, while the LAN reaches port 23 on both of the
#    router's addresses.
# And ICMPv6 from the NGN in transit to a LAN host (RFC 4890 4.3.1): echo requests arrive, node
# information queries (which conntrack tracks as new, like echo) are dropped by wan_forward.
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
lab_up br fixed
ul_router
ST4=198.18.99.2
SRC=$LAB_INET4_ECHO  # inet's client addresses: reached back only by a default route
SRC6=$LAB_INET6_ECHO
in_ns rtr ip link add st0 type veth peer name st0 netns "$LAB_NS_INET"
in_ns inet ip addr add 198.18.99.1/24 dev st0
in_ns inet ip link set dev st0 up
in_ns inet ip route add "$LAB_LAN_GW4/32" via "$ST4"
pw=$(ul_secret transix "$LAB_FIXED_PASS")
ul_conf <<EOF
[global]
lan = br0

[uplink wan]
type = ipoe
device = wan0
token = ::feed
accept = tcp/22

[uplink map]
type = mape
over = wan
priority = 10

[uplink fixed]
type = ipip6
over = wan
remote = $LAB_FIXED_REMOTE
ipv4 = $LAB_FIXED_IPV4
user = $LAB_FIXED_USER
password-file = $pw
priority = 30
accept = tcp/22

[uplink st]
type = static
device = st0
ipv4 = $ST4/24
gateway = 198.18.99.1
priority = none
accept = tcp/22
EOF

# The router's services: a banner on 22 (as sshd) and on 23.
# (IPv6 sockets, IPv4 too: net.ipv6.bindv6only is 0)
lab_bg rtr sshd socat TCP6-LISTEN:22,fork,reuseaddr EXEC:"echo SSH-2.0-lab"
lab_bg rtr telnetd socat TCP6-LISTEN:23,fork,reuseaddr EXEC:"echo telnet-lab"
listening() { in_ns rtr ss -Hltn "sport = :$1" | grep -q LISTEN; }
lab_wait 10 listening 22
lab_wait 10 listening 23
# Where the router's answers from ports 22 and 23 leave (after routing, NAT and uplinkd's marks).
in_ns rtr nft -f - <<'NFT'
table inet probe {
	counter st22 { }
	counter fixed22 { }
	counter wan22 { }
	counter other22 { }
	counter wan23 { }
	chain post {
		type filter hook postrouting priority 300; policy accept;
		tcp sport 22 oifname "st0" counter name st22
		tcp sport 22 oifname "fixed" counter name fixed22
		tcp sport 22 oifname "wan0" counter name wan22
		tcp sport 22 oifname != { "st0", "fixed", "wan0" } counter name other22
		tcp sport 23 oifname != "br0" counter name wan23
	}
}
NFT
probe() { in_ns rtr nft list counter inet probe "$1" | awk '/packets/ { print $2; exit }'; }
# from_inet DEST PORT: the banner inet gets connecting from $SRC (or $SRC6); "timeout" when the
# SYN got no answer within 3 s (dropped), else socat's error (e.g. "Connection refused": a RST).
from_inet() {
	local out dst=$1 src=$SRC
	case "$1" in *:*) dst="[$1]" src="[$SRC6]" ;; esac
	out=$(in_t 20 inet socat -t 10 - "TCP:$dst:$2,bind=$src,connect-timeout=3" </dev/null 2>&1) || true
	case "$out" in *"timed out"*) out=timeout ;; esac
	echo "$out"
}
# ct_mark DEST PORT: the conntrack mark (hex) of the router's entry for inet -> DEST:PORT.
ct_mark() {
	local m fam=ipv4 src=$SRC
	case "$1" in *:*) fam=ipv6 src=$SRC6 ;; esac
	m=$(in_ns rtr conntrack -L -f "$fam" -p tcp -s "$src" -d "$1" --dport "$2" 2>/dev/null |
		sed -nE 's/.* mark=([0-9]+).*/\1/p' | tail -n1)
	[ -n "$m" ] && printf '%#x\n' "$m"
}
fw_drops() { # packets uplinkd's wan_input chain dropped
	in_ns rtr nft list chain inet uplinkd wan_input | sed -nE 's/^\s*counter packets ([0-9]+) bytes [0-9]+ drop.*/\1/p'
}

ul_converge
t_eq "$(ul_default)" map "the main table's default route leads into MAP-E"
info=$(ul_uplink_info)
read -r _ _ st_mark <<<"$(grep '^st ' <<<"$info")"
read -r _ _ fx_mark <<<"$(grep '^fixed ' <<<"$info")"
read -r _ _ wan_mark <<<"$(grep '^wan ' <<<"$info")"
echo "$info"
wan6=$(lab_wait_addr 5 rtr wan0 -6 '::feed$') # the SLAAC address (token ::feed), not MAP-E's CE address
lab_wait_ping 20 lan1 "$LAB_INET4_ECHO"
seen=$(lab_whoami lan1)
t_eq "${seen% *}" "$LAB_MAPE_IPV4" "the LAN goes out by MAP-E ($seen)"
t_match "$(in_ns rtr ip route get "$SRC")" "dev map" "the router's own route to $SRC is MAP-E"

# ---- the static line ----
t_eq "$(from_inet "$ST4" 22)" SSH-2.0-lab "inet -> static address $ST4:22: the banner arrives"
t_eq "$(ct_mark "$ST4" 22)" "$(printf '%#x' $((st_mark)))" "conntrack marks the connection with st's mark"
s1=$(probe st22)
[ "$s1" -ge 2 ] || t_fail "the answers left by st0: counted $s1"
t_eq "$(probe other22)" 0 "the router's answers left by st0 ($s1 packets) and by no other interface"

t_eq "$(from_inet "$LAB_LAN_GW4" 22)" SSH-2.0-lab \
	"inet -> the router's LAN address $LAB_LAN_GW4:22 over the static line: the banner arrives"
t_eq "$(ct_mark "$LAB_LAN_GW4" 22)" "$(printf '%#x' $((st_mark)))" "conntrack marks it with st's mark"
s2=$(probe st22)
[ "$s2" -ge $((s1 + 2)) ] || t_fail "the answers did not leave by st0 (counter $s1 -> $s2)"
t_eq "$(probe other22)" 0 "the answers from $LAB_LAN_GW4 (no source rule) left by st0 ($((s2 - s1)) packets), not by MAP-E"

# ---- the fixed IPv4, through the tunnel ----
t_eq "$(from_inet "$LAB_FIXED_IPV4" 22)" SSH-2.0-lab "inet -> fixed IPv4 $LAB_FIXED_IPV4:22 through the tunnel: the banner arrives"
t_eq "$(ct_mark "$LAB_FIXED_IPV4" 22)" "$(printf '%#x' $((fx_mark)))" "conntrack marks it with fixed's mark"
f=$(probe fixed22)
[ "$f" -ge 2 ] || t_fail "the answers left by the fixed tunnel: counted $f"
t_eq "$(probe other22)" 0 "the answers left by the fixed tunnel ($f packets) and by no other interface"

# ---- the IPv6 WAN (ipoe) ----
t_eq "$(from_inet "$wan6" 22)" SSH-2.0-lab "inet -> the WAN's [$wan6]:22 over IPv6: the banner arrives"
t_eq "$(ct_mark "$wan6" 22)" "$(printf '%#x' $((wan_mark)))" "conntrack marks it with wan's mark"
w=$(probe wan22)
[ "$w" -ge 2 ] || t_fail "the answers left by wan0: counted $w"
t_eq "$(probe other22)" 0 "the answers left by wan0 ($w packets) and by no other interface"

# ---- the firewall: only what accept opens, on the uplink that opens it ----
d0=$(fw_drops)
t_eq "$(from_inet "$ST4" 23)" timeout "inet -> $ST4:23 (not in accept): dropped, no RST"
t_eq "$(from_inet "$LAB_FIXED_IPV4" 23)" timeout "inet -> $LAB_FIXED_IPV4:23: dropped, no RST"
t_eq "$(from_inet "$LAB_LAN_GW4" 23)" timeout "inet -> $LAB_LAN_GW4:23 over the static line: dropped"
t_eq "$(from_inet "$LAB_MAPE_IPV4" 22)" timeout "inet -> MAP-E's $LAB_MAPE_IPV4:22 (MAP-E accepts nothing): dropped"
t_eq "$(from_inet "$wan6" 23)" timeout "inet -> [$wan6]:23 over IPv6: dropped"
t_eq "$(probe wan23)" 0 "nothing left the router from port 23 towards the WAN"
d1=$(fw_drops)
[ "$d1" -ge $((d0 + 5)) ] || t_fail "uplinkd's wan_input drop counter went $d0 -> $d1, want at least 5 more"
t_ok "uplinkd's firewall counted the drops ($d0 -> $d1)"
t_eq "$(ul_tcp_banner lan1 "$LAB_LAN_GW4" 23)" telnet-lab "lan1 -> $LAB_LAN_GW4:23: the LAN is not filtered"
t_eq "$(ul_tcp_banner lan1 "$ST4" 23)" telnet-lab "lan1 -> the static address $ST4:23 from the LAN side: not filtered"
t_eq "$(ul_changes "$(ul_apply)")" 0 "applying again changes nothing"

# ---- ICMPv6 in transit to a LAN host: what RFC 4890 4.3.1 lets through, nothing else ----
LAN6=2001:db8:1a
in_ns rtr ip -6 addr add "$LAN6::1/64" dev br0 nodad
in_ns lan1 ip -6 addr add "$LAN6::2/64" dev eth0 nodad
in_ns lan1 ip -6 route replace default via "$LAN6::1"
wanll=$(in_ns rtr ip -6 -o addr show dev wan0 scope link | awk '{ sub("/.*", "", $4); print $4; exit }')
in_ns ngn ip -6 route add "$LAN6::/64" via "$wanll" dev acc0
in_ns lan1 nft -f - <<'NFT'
table inet probe6 {
	counter echo { }
	counter ni { }
	chain in {
		type filter hook input priority 0; policy accept;
		icmpv6 type echo-request counter name echo
		icmpv6 type 139 counter name ni
	}
}
NFT
lan_seen() { in_ns lan1 nft list counter inet probe6 "$1" | awk '/packets/ { print $2; exit }'; }
fwd_drops() {
	in_ns rtr nft list chain inet uplinkd wan_forward | sed -nE 's/^\s*counter packets ([0-9]+) bytes [0-9]+ drop.*/\1/p'
}
# send6 TYPE DEST: three ICMPv6 messages of TYPE from the NGN (the kernel fills in the checksum)
send6() {
	in_ns ngn "$LAB_PY" -c '
import socket, sys
t, dst = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
body = bytes([t, 0, 0, 0]) + (bytes([0, 2, 0, 0]) + bytes(8) + socket.inet_pton(socket.AF_INET6, dst)
                              if t == 139 else bytes([0x12, 0x34, 0, 1]) + bytes(8))
for _ in range(3):
    s.sendto(body, (dst, 0))
' "$1" "$2"
}
f0=$(fwd_drops)
send6 128 "$LAN6::2"
send6 139 "$LAN6::2"
lab_wait 5 eval '[ "$(lan_seen echo)" -ge 3 ]' || t_fail "echo requests from the NGN did not reach lan1 ($(lan_seen echo))"
t_ok "ICMPv6 echo requests from the WAN reach the LAN host (RFC 4890 4.3.1)"
sleep 1
t_eq "$(lan_seen ni)" 0 "node information queries (type 139) from the WAN do not reach the LAN host"
f1=$(fwd_drops)
[ "$f1" -ge $((f0 + 3)) ] || t_fail "uplinkd's wan_forward drop counter went $f0 -> $f1, want at least 3 more"
t_ok "uplinkd's wan_forward counted them ($f0 -> $f1)"
