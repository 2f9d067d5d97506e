# shellcheck shell=bash disable=SC2119,SC2120,SC2153
# A router configured by hand in the lab's rtr namespace, with ip/nft/pppd/dhclient: the lab's
# self-tests use it to prove the lab before uplinkd exists (uplinkd itself uses none of these
# tools).  Source after lab.sh, call after lab_up.  Every function configures rtr only.

# hr_lan: the LAN side: 192.0.2.1/24 on br0, forwarding on.
hr_lan() {
	in_ns rtr ip addr add "$LAB_LAN_GW4/24" dev br0
	in_ns rtr sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null
}

# hr_wan [TOKEN]: the WAN (VLAN $LAB_WAN_VLAN when set) up with SLAAC from the NGN's RA
# (accept_ra=2: the router forwards); TOKEN (e.g. ::feed) is set before the link comes up.
# Sets HR_WAN (the interface) and HR_WAN_ADDR (the SLAAC address, matching TOKEN when given).
hr_wan() {
	local token=${1:-} pat=.
	HR_WAN=$LAB_WAN_IF
	if [ -n "$LAB_WAN_VLAN" ]; then
		in_ns rtr ip link set dev "$LAB_WAN_IF" up
		HR_WAN=$LAB_WAN_IF.$LAB_WAN_VLAN
		in_ns rtr ip link add link "$LAB_WAN_IF" name "$HR_WAN" type vlan id "$LAB_WAN_VLAN"
	fi
	in_ns rtr sysctl -qw "net.ipv6.conf.${HR_WAN//./\/}.accept_ra=2" >/dev/null
	if [ -n "$token" ]; then
		in_ns rtr ip token set "$token" dev "$HR_WAN"
		pat="${token#::}\$"
	fi
	in_ns rtr ip link set dev "$HR_WAN" up
	HR_WAN_ADDR=$(lab_wait_addr 20 rtr "$HR_WAN" -6 "$pat") || return 1
}

# hr_resolve NAME [TYPE]: asks the NGN's DNS server (as a router would, from RDNSS).
hr_resolve() {
	in_t 10 rtr dig +short +time=2 +tries=2 "@$LAB_DNS6" "${2:-AAAA}" "$1"
}

# hr_dslite: B4: ipip6 tunnel ds0 to the AFTR (resolved through the NGN's DNS), 192.0.0.2 on it,
# IPv4 default route into it (table main).
hr_dslite() {
	local aftr
	aftr=$(hr_resolve "$LAB_AFTR_NAME" | head -n1) || true
	[ -n "$aftr" ] || { lab_err "hr_dslite: $LAB_AFTR_NAME does not resolve"; return 1; }
	in_ns rtr ip -batch - <<EOF
link add ds0 type ip6tnl mode ipip6 local $HR_WAN_ADDR remote $aftr encaplimit none dev $HR_WAN
addr add $LAB_B4_ADDR/29 dev ds0
link set dev ds0 mtu 1460 up
route add default dev ds0
EOF
}

# hr_mape [FIRST_RANGE_ONLY]: MAP-E CE for the current profile: CE address on the WAN, ipip6
# tunnel to the BR, the shared IPv4 on the tunnel, LAN traffic SNATed into the port sets (by
# default spread over all of them with numgen; with an argument into the first set only).
hr_mape() {
	local sets="" r i=0 n
	[ -n "$LAB_MAPE_CE" ] || { lab_err "hr_mape: profile $LAB_PROFILE has no MAP-E rule"; return 1; }
	n=$LAB_MAPE_NSETS
	[ -n "${1:-}" ] && n=1
	for r in ${LAB_MAPE_PORTS//,/ }; do
		[ $i -lt "$n" ] || break
		sets="$sets${sets:+, }$i : $LAB_MAPE_IPV4 . $r"
		i=$((i + 1))
	done
	in_ns rtr ip -batch - <<EOF
addr add $LAB_MAPE_CE/64 dev $HR_WAN
link add mape0 type ip6tnl mode ipip6 local $LAB_MAPE_CE remote $LAB_MAPE_BR encaplimit none dev $HR_WAN
addr add $LAB_MAPE_IPV4/32 dev mape0
link set dev mape0 mtu 1460 up
route add default dev mape0
EOF
	in_ns rtr nft -f - <<EOF
table ip handmape {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "mape0" meta l4proto { tcp, udp, icmp } snat ip to numgen inc mod $n map { $sets }
	}
}
EOF
}

# hr_fixed: transix fixed IPv4: tunnel from the ::feed address to the endpoint, the fixed IPv4 on
# it, LAN traffic masqueraded to it.  Call hr_wan ::feed first; hr_fixed_update registers.
hr_fixed() {
	in_ns rtr ip -batch - <<EOF
link add fx0 type ip6tnl mode ipip6 local $HR_WAN_ADDR remote $LAB_FIXED_REMOTE encaplimit none dev $HR_WAN
addr add $LAB_FIXED_IPV4/32 dev fx0
link set dev fx0 mtu 1460 up
route add default dev fx0
EOF
	in_ns rtr nft -f - <<EOF
table ip handfixed {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "fx0" ip saddr $LAB_LAN_NET4 snat to $LAB_FIXED_IPV4
	}
}
EOF
}

# hr_fixed_update [USER [PASSWORD]]: the update request, as curl in rtr; the URL (with the
# password) goes through a curl config file, never the command line.  Prints the answer body.
hr_fixed_update() {
	local user=${1:-$LAB_FIXED_USER} pass=${2:-$LAB_FIXED_PASS} addr f
	addr=$(hr_resolve "$LAB_FIXED_NAME" | head -n1) || true
	[ -n "$addr" ] || { lab_err "hr_fixed_update: $LAB_FIXED_NAME does not resolve"; return 1; }
	f="$LAB_DIR/run/hr-curl.conf"
	(umask 077 && printf 'url = "http://%s/request?username=%s&password=%s"\n' \
		"$LAB_FIXED_NAME" "$user" "$pass" >"$f")
	in_t 15 rtr curl -s --max-time 10 --resolve "$LAB_FIXED_NAME:80:[$addr]" -K "$f"
}

# hr_pppoe UNIT USER [PPPD OPTIONS...]: a kernel-mode PPPoE session (rp-pppoe.so) on the WAN NIC
# as ppp$UNIT, secrets from the lab's /etc/ppp for rtr.  Waits until the link is up.
hr_pppoe() {
	local unit=$1 user=$2
	shift 2
	in_ns rtr ip link set dev "$LAB_WAN_IF" up
	lab_bg_priv rtr "pppd-$unit" pppd plugin rp-pppoe.so "nic-$LAB_WAN_IF" user "$user" \
		unit "$unit" nodetach noauth nodefaultroute noipdefault hide-password \
		mtu "$LAB_PPP_MTU" mru "$LAB_PPP_MTU" noccp novj lcp-echo-interval 10 \
		lcp-echo-failure 3 maxfail 1 debug "$@"
	lab_wait_link 30 rtr "ppp$unit"
}

# hr_dhcp6pd IFNAME: DHCPv6-PD (dhcpcd, IPv6 only, IA_PD) on IFNAME; prints the delegated
# prefix.  dhcpcd's state folders are private to the lab and its only hook is ours.
hr_dhcp6pd() {
	local ifname=$1 d="$LAB_DIR/run/dhcpcd-$1" p="" env
	mkdir -p "$d"
	lab_private rtr /var/lib/dhcpcd >/dev/null
	cat >"$d/hook" <<EOF
#!/bin/sh
env | grep -E '^(reason|interface|new_dhcp6_ia_pd)' | sed "s/^/\$reason: /" >>"$d/env"
exit 0
EOF
	chmod 0755 "$d/hook"
	: >"$d/env"
	cat >"$d/dhcpcd.conf" <<EOF
ipv6only
noipv6rs
nohook resolv.conf
duid
interface $ifname
	ia_pd 1
EOF
	lab_bg_priv rtr "dhcpcd-$ifname" dhcpcd -B -d -f "$d/dhcpcd.conf" -c "$d/hook" "$ifname"
	env="$d/env"
	lab_wait 30 grep -q 'new_dhcp6_ia_pd1_prefix1_length=' "$env" || return 1
	p=$(sed -n 's/.*new_dhcp6_ia_pd1_prefix1=//p' "$env" | tail -n1)
	echo "$p/$(sed -n 's/.*new_dhcp6_ia_pd1_prefix1_length=//p' "$env" | tail -n1)"
}
