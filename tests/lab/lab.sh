# shellcheck shell=bash
# The uplinkd lab: a simulated FLET'S NGN with its ISPs, built from network namespaces.
# Sourced by tests (bash).  See tests/lab/README.md for the topology, the addresses and the API.
#
#   . tests/lab/lab.sh
#   lab_up ngn aftr inet        # or: lab_up all
#   in_ns rtr ip -br addr       # run in a lab namespace (short name)
#   lab_wait 10 in_ns lan1 ping -c1 -W1 198.51.100.10
#
# Every command that configures anything runs inside a namespace this file created (named
# $LAB_PREFIX<name>); nothing touches the machine's own network namespace.  lab_down (also run
# from the EXIT trap lab_up installs) kills every process in the lab's namespaces and deletes them.

# shellcheck disable=SC2119,SC2120 # optional arguments
if [ -z "${BASH_VERSION:-}" ]; then
	echo "lab.sh: needs bash" >&2
	# shellcheck disable=SC2317
	return 1 2>/dev/null || exit 1
fi

LAB_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
LAB_TOP=$(cd "$LAB_HOME/../.." && pwd -P)
export LAB_HOME LAB_TOP
LAB_PY=${LAB_PY:-$(command -v /usr/bin/python3 || command -v python3)}
: "${LAB_PREFIX:=ul$$-}"
: "${LAB_WAN_VLAN:=}"           # e.g. 1000: the NGN expects the router's WAN traffic tagged
: "${LAB_NGN_PROFILE:=v6plus}"  # which prefix the NGN hands out (see lab_profile)
: "${LAB_LAN_HOSTS:=1}"
: "${LAB_RA_MANAGED:=0}"        # RA M flag
: "${LAB_DHCP6_AFTR_NAME:=}"    # when set, DHCPv6 answers carry option 64 (AFTR-Name)
export LAB_PREFIX LAB_WAN_VLAN LAB_NGN_PROFILE

# ---- fixed addresses (documentation ranges and the real ISP addresses, inside the lab only) ----
LAB_LAN_NET4=192.0.2.0/24
LAB_LAN_GW4=192.0.2.1           # the router's LAN address (the router configures it on br0)
LAB_WAN_IF=wan0
LAB_LAN_IF=br0
LAB_NGN_LL=fe80::1              # the NGN's router on the access segment (RA source)
LAB_DNS6=2404:1a8:7f01:a::3
LAB_DNS6_2=2404:1a8:7f01:b::3
LAB_AFTR_NAME=gw.transix.jp
LAB_AFTR=2404:8e00::feed:100
LAB_AFTR_2=2404:8e00::feed:101
LAB_AFTR_PUBLIC4=203.0.113.1
LAB_B4_ADDR=192.0.0.2
LAB_AFTR_ADDR4=192.0.0.1
LAB_FIXED_NAME=update.transix.jp
LAB_FIXED_UPDATE=2404:8e00::feed:10
LAB_FIXED_REMOTE=2404:8e00::feed:140
LAB_FIXED_IPV4=203.0.113.200
LAB_FIXED_USER=labuser
LAB_FIXED_PASS=lab-Fixed-Secret-7
LAB_BR_V6PLUS=2404:9200:225:100::64
LAB_BR_OCN=2001:380:a120::9
LAB_PPP4_USER=v4user@isp.example
LAB_PPP4_PASS=lab-Ppp4-Secret-1
LAB_PPP4_LOCAL=203.0.113.65
LAB_PPP4_POOL=203.0.113.66
LAB_PPP6_USER=v6user@isp6.example
LAB_PPP6_PASS=lab-Ppp6-Secret-2
LAB_PPP6_PD=2001:db8:8000:100::/56
LAB_PPP_MTU=1454
LAB_INET4_ECHO=198.51.100.10
LAB_INET4_WWW=198.51.100.80
LAB_INET4_WHOAMI=198.51.100.100
LAB_INET6_ECHO=2001:db8:100::10
LAB_INET6_WWW=2001:db8:100::80
LAB_INET6_WHOAMI=2001:db8:100::100
LAB_ECHO_PORT=7
LAB_WHOAMI_PORT=4000            # plain TCP and UDP "ADDR PORT\n"; HTTP whoami on port 80
LAB_MAPE_V6PLUS_RULE="240b:10::/31 106.72.0.0/15 25 4"
LAB_MAPE_OCN_RULE="2400:4052:d000::/38 180.49.0.0/20 18 6"
export LAB_LAN_NET4 LAB_LAN_GW4 LAB_WAN_IF LAB_LAN_IF LAB_NGN_LL LAB_DNS6 LAB_DNS6_2 \
	LAB_AFTR_NAME LAB_AFTR LAB_AFTR_2 LAB_AFTR_PUBLIC4 LAB_B4_ADDR LAB_AFTR_ADDR4 \
	LAB_FIXED_NAME LAB_FIXED_UPDATE LAB_FIXED_REMOTE LAB_FIXED_IPV4 LAB_FIXED_USER \
	LAB_FIXED_PASS LAB_BR_V6PLUS LAB_BR_OCN LAB_PPP4_USER LAB_PPP4_PASS LAB_PPP4_LOCAL \
	LAB_PPP4_POOL LAB_PPP6_USER LAB_PPP6_PASS LAB_PPP6_PD LAB_PPP_MTU LAB_INET4_ECHO \
	LAB_INET4_WWW LAB_INET4_WHOAMI LAB_INET6_ECHO LAB_INET6_WWW LAB_INET6_WHOAMI \
	LAB_ECHO_PORT LAB_WHOAMI_PORT

# The NGN profiles: the prefix the access line gets (RA /64 = first /64 of the PD /56) and the
# MAP-E rule it falls under (none for transix).
#   lab_profile NAME -> sets LAB_PROFILE, LAB_RA_PREFIX, LAB_PD_PREFIX, LAB_MAPE_* (or empties them)
lab_profile() {
	local pd rule="" br=""
	pd=$(lab__pd_of "$1") || { lab_err "unknown NGN profile '$1' (v6plus, v6plus2, ocn, transix)"; return 1; }
	case "$1" in
	v6plus | v6plus2) rule=$LAB_MAPE_V6PLUS_RULE br=$LAB_BR_V6PLUS ;;
	ocn) rule=$LAB_MAPE_OCN_RULE br=$LAB_BR_OCN ;;
	esac
	LAB_PROFILE=$1
	LAB_PD_PREFIX=$pd
	LAB_RA_PREFIX=${pd%/56}/64
	LAB_MAPE_RULE=$rule LAB_MAPE_BR=$br
	LAB_MAPE_IPV4="" LAB_MAPE_PSID="" LAB_MAPE_CE="" LAB_MAPE_PORTS="" LAB_MAPE_NSETS=""
	if [ -n "$rule" ]; then
		local MAP_IPV4="" MAP_PSID MAP_CE MAP_PORTS MAP_NSETS
		# One python run computes every profile's values (python starts slowly under TCG).
		[ -n "${lab__mapcache:-}" ] || lab__mapcache=$(printf '%s\n' \
			"v6plus $LAB_MAPE_V6PLUS_RULE $(lab__pd_of v6plus)" \
			"v6plus2 $LAB_MAPE_V6PLUS_RULE $(lab__pd_of v6plus2)" \
			"ocn $LAB_MAPE_OCN_RULE $(lab__pd_of ocn)" |
			"$LAB_PY" "$LAB_HOME/servers/mapcalc.py" --batch) || return 1
		eval "$(echo "$lab__mapcache" | sed -n "s/^$1 //p")"
		[ -n "$MAP_IPV4" ] || { lab_err "no MAP-E values for $1"; return 1; }
		LAB_MAPE_IPV4=$MAP_IPV4 LAB_MAPE_PSID=$MAP_PSID LAB_MAPE_CE=$MAP_CE
		LAB_MAPE_PORTS=$MAP_PORTS LAB_MAPE_NSETS=$MAP_NSETS
	fi
	export LAB_PROFILE LAB_PD_PREFIX LAB_RA_PREFIX LAB_MAPE_RULE LAB_MAPE_BR LAB_MAPE_IPV4 \
		LAB_MAPE_PSID LAB_MAPE_CE LAB_MAPE_PORTS LAB_MAPE_NSETS
}

lab__pd_of() {
	case "$1" in
	v6plus) echo 240b:10:3f6c:d400::/56 ;;
	v6plus2) echo 240b:11:5e3a:9c00::/56 ;;
	ocn) echo 2400:4052:d123:4500::/56 ;;
	transix) echo 2409:10:2a40:3400::/56 ;;
	*) return 1 ;;
	esac
}

# ---- small helpers ----
lab_err() { echo "lab: $*" >&2; }
lab_log() { [ -n "${LAB_QUIET:-}" ] || echo "lab: $*" >&2; }

# Is this the lab VM (tests/lab/vm/vm-run sets the marker and the kernel argument)?
lab_in_vm() {
	[ -e /run/uplinkd-lab-vm ] && grep -qw uplinkd_lab_vm=1 /proc/cmdline
}

lab_ns() { echo "${LAB_PREFIX}$1"; }

# Refuses anything but a namespace this lab created.
lab_check_ns() {
	case " ${LAB_NSS:-} " in
	*" $1 "*) return 0 ;;
	esac
	lab_err "refusing to act on '$1': not a namespace of this lab (${LAB_NSS:-none up})"
	return 1
}

# in_ns NS CMD...: runs CMD inside the lab namespace NS (short name: rtr, ngn, lan1, ...).
in_ns() {
	local ns=$1
	shift
	lab_check_ns "$ns" || return 1
	ip netns exec "$LAB_PREFIX$ns" "$@"
}

# in_t SECS NS CMD...: the same, killed after SECS seconds (exit 124).
in_t() {
	local t=$1 ns=$2
	shift 2
	lab_check_ns "$ns" || return 1
	timeout -k 2 "$t" ip netns exec "$LAB_PREFIX$ns" "$@"
}

# lab_private NS PATH [file]: programs started in NS with in_priv/lab_bg_priv get a private PATH
# (a folder, or with "file" a file, of the lab bound over it in their own mount namespace), so
# they never read or write the machine's.  Prints the lab's copy.
lab_private() {
	local ns=$1 path=$2 kind=${3:-dir} src
	src="$LAB_DIR/priv/$ns$path"
	if [ "$kind" = file ]; then
		mkdir -p "${src%/*}"
		[ -e "$src" ] || : >"$src"
	else
		mkdir -p "$src"
	fi
	grep -qxF "$kind $src $path" "$LAB_DIR/priv/$ns.binds" 2>/dev/null ||
		echo "$kind $src $path" >>"$LAB_DIR/priv/$ns.binds"
	echo "$src"
}

# in_priv NS CMD...: in_ns with NS's private paths bound (ip netns exec gives every call a mount
# namespace of its own: the binds stay there).  A file's mount point is where a symlink leads,
# created inside a private folder bound before it when missing (e.g. a resolv.conf into /run).
in_priv() {
	local ns=$1 binds
	shift
	lab_check_ns "$ns" || return 1
	binds="$LAB_DIR/priv/$ns.binds"
	[ -e "$binds" ] || binds=/dev/null
	# shellcheck disable=SC2016 # expanded by the inner sh
	${LAB__EXEC:+exec} ${LAB__TMO:+timeout -k 2 "$LAB__TMO"} ip netns exec "$LAB_PREFIX$ns" /bin/sh -c '
		while read -r kind src dst; do
			if [ "$kind" = file ]; then
				dst=$(readlink -f "$dst") || exit 1
				[ -e "$dst" ] || { mkdir -p "${dst%/*}" && : >"$dst"; } || exit 1
			else
				[ -d "$dst" ] || mkdir -p "$dst" || exit 1
			fi
			mount -n --bind "$src" "$dst" || exit 1
		done <"$1"
		shift
		exec "$@"' lab-priv "$binds" "$@"
}

# in_priv_t SECS NS CMD...: in_priv, killed after SECS seconds (exit 124).
in_priv_t() {
	local t=$1
	shift
	LAB__TMO=$t in_priv "$@"
}

# lab_rtr_resolv [SERVER...]: what in_priv/lab_bg_priv start in rtr resolve names with SERVERs
# (default: the NGN's, $LAB_DNS6 $LAB_DNS6_2).  Until called their resolv.conf is empty.
lab_rtr_resolv() {
	local f a
	f=$(lab_private rtr /etc/resolv.conf file)
	[ $# -gt 0 ] || set -- "$LAB_DNS6" "$LAB_DNS6_2"
	: >"$f"
	for a in "$@"; do echo "nameserver $a" >>"$f"; done
}

# lab_bg NS NAME CMD...: starts CMD in the background in NS, output to $LAB_DIR/log/NAME.log.
lab_bg() {
	local ns=$1 name=$2
	shift 2
	lab_check_ns "$ns" || return 1
	ip netns exec "$LAB_PREFIX$ns" "$@" </dev/null >>"$LAB_DIR/log/$name.log" 2>&1 &
	echo "$! $ns $name" >>"$LAB_DIR/bg"
}

# lab_bg_priv NS NAME CMD...: lab_bg with in_priv's private folders.
lab_bg_priv() {
	local ns=$1 name=$2
	shift 2
	lab_check_ns "$ns" || return 1
	LAB__EXEC=1 in_priv "$ns" "$@" </dev/null >>"$LAB_DIR/log/$name.log" 2>&1 &
	echo "$! $ns $name" >>"$LAB_DIR/bg"
}

# lab_kill NAME: stops what lab_bg/lab_bg_priv started as NAME (SIGTERM, then SIGKILL after 5s).
lab_kill() {
	local pid ns name end
	while read -r pid ns name; do
		[ "$name" = "$1" ] || continue
		kill "$pid" 2>/dev/null || continue
		end=$((SECONDS + 5))
		while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	done <"$LAB_DIR/bg"
}

# lab_wait SECS CMD...: retries CMD (quietly) until it succeeds; fails after SECS seconds.
lab_wait() {
	local secs=$1 end
	shift
	end=$((SECONDS + secs))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		if [ $SECONDS -ge $end ]; then
			lab_err "timeout after ${secs}s waiting for: $*"
			return 1
		fi
		sleep 0.2
	done
}

# lab_wait_file SECS FILE: waits until FILE exists (no process spawned per try).
lab_wait_file() {
	local end=$((SECONDS + $1))
	while [ ! -e "$2" ]; do
		if [ $SECONDS -ge $end ]; then
			lab_err "timeout after $1s waiting for $2"
			return 1
		fi
		sleep 0.1
	done
}

# lab_wait_addr SECS NS IF [-4|-6] [PATTERN]: until IF has a global address (matching PATTERN,
# an extended regex on the address, e.g. '::feed$'); prints the address.
lab_wait_addr() {
	local secs=$1 ns=$2 ifname=$3 fam=${4:--6} pat=${5:-.} end a
	end=$((SECONDS + secs))
	while :; do
		a=$(in_ns "$ns" ip "$fam" -o addr show dev "$ifname" scope global 2>/dev/null |
			awk '$0 !~ / tentative/ { sub(/\/.*/, "", $4); print $4 }' | grep -E "$pat" | head -n1) || true
		if [ -n "$a" ]; then
			echo "$a"
			return 0
		fi
		if [ $SECONDS -ge $end ]; then
			lab_err "timeout after ${secs}s waiting for a $fam address on $ns/$ifname matching '$pat'"
			in_ns "$ns" ip addr show dev "$ifname" >&2 || true
			return 1
		fi
		sleep 0.2
	done
}

# lab_wait_link SECS NS IF: until IF exists and is up (or unknown/lower-up, as ppp/tunnels are).
lab_wait_link() {
	lab_wait "$1" lab__link_up "$2" "$3"
}
lab__link_up() {
	in_ns "$1" ip -o link show dev "$2" 2>/dev/null | grep -q ',UP'
}

# lab_wait_ping SECS NS DEST [PING ARGS...]: until one echo gets an answer.
lab_wait_ping() {
	local secs=$1 ns=$2 dst=$3
	shift 3
	lab_wait "$secs" in_ns "$ns" ping -n -c1 -W1 "$@" "$dst"
}

# lab_whoami NS [ADDR] [CURL ARGS...]: asks the inet what-is-my-address endpoint over HTTP;
# prints "ADDR PORT" as seen by inet.
lab_whoami() {
	local ns=$1 dst=${2:-$LAB_INET4_WHOAMI} url
	shift 2 || shift $#
	case "$dst" in
	*:*) url="http://[$dst]/" ;;
	*) url="http://$dst/" ;;
	esac
	in_t 15 "$ns" curl -sS -g --max-time 10 "$@" "$url"
}

# ---- for test scripts ----
# t_ok MSG / t_fail MSG: a step passed (printed) / failed (printed, the test exits 1).
t_ok() { echo "ok - $*"; }
t_fail() {
	echo "not ok - $*"
	exit 1
}
# t_eq GOT WANT MSG / t_match GOT ERE MSG: compare and report.
t_eq() {
	[ "$1" = "$2" ] || t_fail "$3: got '$1', want '$2'"
	t_ok "$3"
}
t_match() {
	printf '%s\n' "$1" | grep -Eq -- "$2" || t_fail "$3: got '$1', want /$2/"
	t_ok "$3"
}
# t_port_in PORT RANGES: is PORT inside one of RANGES ("lo-hi,lo-hi,...")?
t_port_in() {
	local r
	for r in ${2//,/ }; do
		[ "$1" -ge "${r%-*}" ] && [ "$1" -le "${r#*-}" ] && return 0
	done
	return 1
}

# ---- building blocks ----
lab__nsadd() {
	local n=$1
	if [ -e "/run/netns/$LAB_PREFIX$n" ]; then
		lab_log "removing $LAB_PREFIX$n, left over from an earlier lab with this prefix"
		lab__purge "$LAB_PREFIX$n"
	fi
	ip netns add "$LAB_PREFIX$n" || return 1
	LAB_NSS="${LAB_NSS:+$LAB_NSS }$n"
	export LAB_NSS
	# LAB_NS_RTR, LAB_NS_NGN, LAB_NS_LAN1, ...: the full names, for ip netns exec.
	export "LAB_NS_${n^^}=$LAB_PREFIX$n"
	echo "$n" >>"$LAB_DIR/nss"
}

# lab__purge NETNS...: kills every process in the named namespaces, then deletes them.
lab__purge() {
	local ns pids="" i end
	for ns in "$@"; do
		pids="$pids $(ip netns pids "$ns" 2>/dev/null || true)"
	done
	# shellcheck disable=SC2086
	[ -z "${pids// /}" ] || kill $pids 2>/dev/null || true
	end=$((SECONDS + 3))
	for i in $pids; do
		while kill -0 "$i" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.1; done
		kill -9 "$i" 2>/dev/null || true
	done
	for ns in "$@"; do
		ip netns del "$ns" 2>/dev/null || true
	done
}

# lab__veth A IFA B IFB: a veth pair created inside namespace A (never in the machine's own).
lab__veth() {
	in_ns "$1" ip link add name "$2" type veth peer name "$4" netns "$LAB_PREFIX$3"
}

lab__sysctl() {
	local ns=$1
	shift
	in_ns "$ns" sysctl -qw "$@" >/dev/null
}

lab__batch() {
	local ns=$1 f="$LAB_DIR/cfg/$1.ip"
	[ -s "$f" ] || return 0
	in_ns "$ns" ip -batch "$f" && return 0
	lab_err "ip -batch failed in $ns:"
	cat -n "$f" >&2
	return 1
}

lab__has() {
	case " $LAB_PIECES " in *" $1 "*) return 0 ;; esac
	return 1
}

lab__write() { # lab__write FILE: stdin to FILE, mode 0600
	(umask 077 && cat >"$1")
}

lab_up() {
	local p want="" t0=$SECONDS
	[ "$(id -u)" = 0 ] || { lab_err "needs root"; return 1; }
	case "$LAB_PREFIX" in
	"" | *[!a-z0-9-]*) lab_err "LAB_PREFIX must be non-empty [a-z0-9-]: '$LAB_PREFIX'"; return 1 ;;
	esac
	[ -z "${LAB_DIR:-}" ] || { lab_err "a lab is up already ($LAB_DIR)"; return 1; }
	[ $# -gt 0 ] || set -- all
	for p in "$@"; do
		case "$p" in
		all) want="$want ngn inet aftr br fixed bras" ;;
		ngn) want="$want ngn" ;;
		inet) want="$want ngn inet" ;;
		aftr | br | fixed | bras) want="$want ngn inet $p" ;;
		rtr | lan) ;;
		*) lab_err "unknown lab piece '$p' (ngn inet aftr br fixed bras all)"; return 1 ;;
		esac
	done
	LAB_PIECES=" rtr lan"
	for p in ngn inet aftr br fixed bras; do
		case " $want " in *" $p "*) LAB_PIECES="$LAB_PIECES $p" ;; esac
	done
	LAB_PIECES="$LAB_PIECES "
	export LAB_PIECES
	lab_profile "$LAB_NGN_PROFILE" || return 1

	LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/uplinkd-lab.XXXXXX")
	export LAB_DIR
	mkdir -p "$LAB_DIR/log" "$LAB_DIR/run" "$LAB_DIR/cfg" "$LAB_DIR/priv"
	: >"$LAB_DIR/bg"
	LAB_NSS=""
	trap 'lab_down' EXIT
	trap 'exit 130' INT TERM HUP
	# A failing command in a test says where it was (set -E: also inside functions).
	set -E
	trap 'lab__on_err $? "$LINENO" "$BASH_COMMAND"' ERR
	lab_log "up:$LAB_PIECES(prefix $LAB_PREFIX, profile $LAB_PROFILE, dir $LAB_DIR)"

	lab__build || { lab_err "lab_up failed; logs in $LAB_DIR/log"; lab__dump_logs; return 1; }
	lab_log "up in $((SECONDS - t0))s"
}

lab__build() {
	local n i nss="rtr"
	for i in $(seq 1 "$LAB_LAN_HOSTS"); do nss="$nss lan$i"; done
	for n in ngn inet aftr br fixed bras; do
		lab__has $n && nss="$nss $n"
	done
	for n in $nss; do
		lab__nsadd "$n" || return 1
	done
	# Environment of every namespace: no DAD delays; the lab's peers forward.  The router under
	# test (rtr) keeps the kernel defaults apart from DAD.
	for n in $nss; do
		case $n in
		rtr | lan*) lab__sysctl "$n" net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 ;;
		*) lab__sysctl "$n" net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
			net.ipv6.conf.all.forwarding=1 net.ipv4.ip_forward=1 \
			net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.accept_ra=0 ;;
		esac || return 1
	done

	lab__rtr_lan || return 1
	lab__has ngn && { lab__ngn || return 1; }
	lab__has inet && { lab__inet || return 1; }
	lab__has aftr && { lab__aftr || return 1; }
	lab__has br && { lab__br || return 1; }
	lab__has fixed && { lab__fixed || return 1; }
	lab__has bras && { lab__bras || return 1; }
	for n in $nss; do
		lab__batch "$n" || return 1
	done
	lab__has ngn && { lab__ngn_start || return 1; }
	lab__has inet && { lab__inet_start || return 1; }
	lab__has aftr && { lab__aftr_start || return 1; }
	lab__has br && { lab__br_start || return 1; }
	lab__has fixed && { lab__fixed_start || return 1; }
	lab__has bras && { lab__bras_start || return 1; }
	lab__wait_ready
}

lab__on_err() {
	case "$3" in return* | lab_wait*) return 0 ;; esac
	lab_err "line $2: command failed (exit $1): $3"
}

lab__dump_logs() {
	local f
	for f in "$LAB_DIR"/log/*.log; do
		[ -s "$f" ] || continue
		echo "---- ${f##*/} (last lines)" >&2
		tail -n 15 "$f" >&2
	done
}

# ---- rtr and the LAN hosts ----
lab__rtr_lan() {
	local i c="$LAB_DIR/cfg/rtr.ip"
	# What in_priv/lab_bg_priv start in rtr (pppd, dhcpcd, later uplinkd) keeps its pid files,
	# sockets and secrets in the lab: a private /run and /etc/ppp.
	lab_private rtr /run >/dev/null
	lab_private rtr /etc/ppp >/dev/null
	lab_private rtr /etc/resolv.conf file >/dev/null
	{
		echo "link set dev lo up"
		echo "link add br0 type bridge forward_delay 0 mcast_snooping 0"
		echo "link set dev br0 up"
	} >>"$c"
	for i in $(seq 1 "$LAB_LAN_HOSTS"); do
		lab__veth rtr "lan$i" "lan$i" eth0 || return 1
		echo "link set dev lan$i master br0" >>"$c"
		echo "link set dev lan$i up" >>"$c"
		{
			echo "link set dev lo up"
			echo "link set dev eth0 address 02:00:00:00:01:$(printf %02x "$i")"
			echo "link set dev eth0 up"
			echo "addr add 192.0.2.$((9 + i))/24 dev eth0"
			echo "route add default via $LAB_LAN_GW4"
		} >>"$LAB_DIR/cfg/lan$i.ip"
	done
	LAB_LAN1_ADDR4=192.0.2.10
	export LAB_LAN1_ADDR4
}

# ---- ngn: the access segment (bridge acc0), RA, DHCPv6-PD, DNS and routing to the ISPs ----
lab__ngn() {
	local c="$LAB_DIR/cfg/ngn.ip" port=rtr
	lab__veth ngn rtr rtr wan0 || return 1
	{
		echo "link set dev lo up"
		echo "link add acc0 address 02:00:00:00:0e:01 type bridge forward_delay 0 mcast_snooping 0"
		echo "link set dev acc0 addrgenmode none"
		echo "link set dev rtr up"
	} >>"$c"
	if [ -n "$LAB_WAN_VLAN" ]; then
		echo "link add link rtr name rtr.$LAB_WAN_VLAN type vlan id $LAB_WAN_VLAN" >>"$c"
		echo "link set dev rtr.$LAB_WAN_VLAN up" >>"$c"
		port=rtr.$LAB_WAN_VLAN
	fi
	{
		echo "link set dev $port master acc0"
		echo "link set dev acc0 up"
		echo "addr add $LAB_NGN_LL/64 dev acc0"
		echo "addr add 2001:db8:ffff:ff00::1/64 dev acc0"
		echo "route add $LAB_RA_PREFIX dev acc0"
		echo "addr add $LAB_DNS6/128 dev lo"
		echo "addr add $LAB_DNS6_2/128 dev lo"
	} >>"$c"
	echo "link set dev wan0 address 02:00:00:00:00:01" >>"$LAB_DIR/cfg/rtr.ip"
}

lab__ngn_start() {
	local d="$LAB_DIR/ngn"
	mkdir -p "$d"
	lab__ngn_radvd_conf "" >"$d/radvd.conf"
	lab__ngn_dhcpd_conf >"$d/dhcpd6.conf"
	: >"$d/dhcpd6.leases"
	lab_bg ngn radvd radvd -n -d 1 -C "$d/radvd.conf" -p "$LAB_DIR/run/radvd.pid" -m stderr
	lab_bg ngn dhcpd6 dhcpd -6 -f -cf "$d/dhcpd6.conf" -lf "$d/dhcpd6.leases" \
		-pf "$LAB_DIR/run/dhcpd6.pid" acc0
	lab_bg ngn pdroute "$LAB_PY" "$LAB_HOME/servers/pdroute.py" --ifname acc0 \
		--ready "$LAB_DIR/run/pdroute.ready"
	lab__ngn_dnsmasq
}

# A DNS server that knows the ISPs' names (no upstream: the lab has no internet).  The AFTR name
# is answered as LAB_DNS_ROGUE says (see lab_ngn_dns).
lab__ngn_dnsmasq() {
	local txt="v=v6mig-1 url=https://api.lab.example/v6mig t=b" aftr=() i
	case "${LAB_DNS_ROGUE:-}" in
	"") aftr=(--host-record="$LAB_AFTR_NAME,$LAB_AFTR" --host-record="$LAB_AFTR_NAME,$LAB_AFTR_2") ;;
	nxdomain) aftr=(--address="/$LAB_AFTR_NAME/") ;;
	nodata) aftr=(--local="/$LAB_AFTR_NAME/" --host-record="$LAB_AFTR_NAME,192.0.2.254") ;; # AAAA: NOERROR, none
	zero) aftr=(--host-record="$LAB_AFTR_NAME,::") ;;
	loopback) aftr=(--host-record="$LAB_AFTR_NAME,::1") ;;
	many) # 100 AAAA records (too many for a UDP answer): the AFTR, then 99 addresses above it
		for i in $(seq 0 99); do
			aftr+=(--host-record="$LAB_AFTR_NAME,${LAB_AFTR%:*}:$(printf %x $((0x${LAB_AFTR##*:} + i)))")
		done ;;
	*) lab_err "unknown DNS rogue '$LAB_DNS_ROGUE'"; return 1 ;;
	esac
	lab_bg ngn dnsmasq dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
		--listen-address="$LAB_DNS6,$LAB_DNS6_2" --port=53 --user=root --group=root \
		--pid-file="$LAB_DIR/run/dnsmasq.pid" --log-queries --log-facility=- \
		"${aftr[@]}" \
		--host-record="$LAB_FIXED_NAME,$LAB_FIXED_UPDATE" \
		--txt-record="4over6.info,$txt" \
		--host-record="whoami.lab.example,$LAB_INET4_WHOAMI,$LAB_INET6_WHOAMI" \
		--host-record="echo.lab.example,$LAB_INET4_ECHO,$LAB_INET6_ECHO" \
		--host-record="www.lab.example,$LAB_INET4_WWW,$LAB_INET6_WWW"
}

# lab_ngn_dns MODE: restarts the NGN's DNS server answering the AFTR name ($LAB_AFTR_NAME) with:
# normal (both AFTRs), nxdomain, nodata (an A record only: no AAAA), zero (::), loopback (::1),
# many (100 AAAA records, the lowest $LAB_AFTR).
lab_ngn_dns() {
	local pid
	LAB_DNS_ROGUE=${1#normal}
	pid=$(cat "$LAB_DIR/run/dnsmasq.pid" 2>/dev/null || true)
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		lab_wait 5 lab__gone "$pid" || true
	fi
	rm -f "$LAB_DIR/run/dnsmasq.pid"
	lab__ngn_dnsmasq || return 1
	lab_wait_file 10 "$LAB_DIR/run/dnsmasq.pid"
	lab_log "NGN DNS: $LAB_AFTR_NAME answered as ${1}"
}

# lab_ngn_ra MODE: the NGN's router advertisements become: normal; prefix60 (the line's prefix as
# a /60: no SLAAC); lifetime0 (router lifetime 0, the prefix with lifetimes 0); many (50 /64
# prefixes, the line's first); rdnss-nowhere (RDNSS names an address nobody answers on);
# rdnss-swapped (the two resolvers the other way round).  radvd rereads its config at once.
lab_ngn_ra() {
	LAB_RA_ROGUE=${1#normal}
	lab__ngn_radvd_conf "" >"$LAB_DIR/ngn/radvd.conf" || return 1
	kill -HUP "$(cat "$LAB_DIR/run/radvd.pid")"
	lab_log "NGN RA: $1"
}

# radvd.conf for the current prefix; $1 = a previous /64 to announce as deprecated.
lab__ngn_radvd_conf() {
	local m=off len=64 rl=1800 vl=14400 pl=7200 dns="$LAB_DNS6 $LAB_DNS6_2" i
	[ "$LAB_RA_MANAGED" = 1 ] && m=on
	case "${LAB_RA_ROGUE:-}" in
	"" | many) ;;
	prefix60) len=60 ;;
	lifetime0) rl=0 vl=0 pl=0 ;;
	rdnss-nowhere) dns=2001:db8:dead::53 ;;
	rdnss-swapped) dns="$LAB_DNS6_2 $LAB_DNS6" ;;
	*) lab_err "unknown RA rogue '$LAB_RA_ROGUE'"; return 1 ;;
	esac
	cat <<EOF
interface acc0 {
	AdvSendAdvert on;
	MinRtrAdvInterval 3;
	MaxRtrAdvInterval 10;
	AdvManagedFlag $m;
	AdvOtherConfigFlag on;
	AdvDefaultLifetime $rl;
	prefix ${LAB_RA_PREFIX%/64}/$len {
		AdvOnLink on;
		AdvAutonomous on;
		AdvValidLifetime $vl;
		AdvPreferredLifetime $pl;
	};
EOF
	if [ "${LAB_RA_ROGUE:-}" = many ]; then
		for i in $(seq 1 49); do
			printf '\tprefix 2001:db8:%x::/64 {\n\t\tAdvOnLink on;\n\t\tAdvAutonomous on;\n\t};\n' $((0xe000 + i))
		done
	fi
	if [ -n "$1" ]; then
		cat <<EOF
	prefix $1 {
		AdvOnLink on;
		AdvAutonomous on;
		AdvValidLifetime 7200;
		AdvPreferredLifetime 0;
	};
EOF
	fi
	cat <<EOF
	RDNSS $dns {
		AdvRDNSSLifetime 1800;
	};
};
EOF
}

lab__ngn_dhcpd_conf() {
	cat <<EOF
default-lease-time 3600;
preferred-lifetime 1800;
max-lease-time 7200;
option dhcp6.name-servers $LAB_DNS6, $LAB_DNS6_2;
EOF
	if [ -n "$LAB_DHCP6_AFTR_NAME" ]; then
		echo 'option dhcp6.aftr-name code 64 = domain-list;'
		echo "option dhcp6.aftr-name \"$LAB_DHCP6_AFTR_NAME\";"
	fi
	cat <<EOF
subnet6 2001:db8:ffff:ff00::/64 {
	prefix6 ${LAB_PD_PREFIX%/56} ${LAB_PD_PREFIX%/56} /56;
}
EOF
}

# lab_ngn_prefix PROFILE: the access line gets another prefix at run time (as after a
# re-provisioning): RA announces the new /64 and the old one with preferred lifetime 0, DHCPv6
# delegates the new /56 from now on.  The LAB_RA_PREFIX/LAB_PD_PREFIX/LAB_MAPE_* follow.
lab_ngn_prefix() {
	local old=$LAB_RA_PREFIX d="$LAB_DIR/ngn" pid
	lab_profile "$1" || return 1
	[ "$old" != "$LAB_RA_PREFIX" ] || return 0
	in_ns ngn ip -6 route replace "$LAB_RA_PREFIX" dev acc0
	lab__ngn_radvd_conf "$old" >"$d/radvd.conf"
	kill -HUP "$(cat "$LAB_DIR/run/radvd.pid")"
	lab__ngn_dhcpd_conf >"$d/dhcpd6.conf"
	pid=$(cat "$LAB_DIR/run/dhcpd6.pid" 2>/dev/null || true)
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		lab_wait 5 lab__gone "$pid" || true
	fi
	rm -f "$LAB_DIR/run/dhcpd6.pid"
	lab_bg ngn dhcpd6 dhcpd -6 -f -cf "$d/dhcpd6.conf" -lf "$d/dhcpd6.leases" \
		-pf "$LAB_DIR/run/dhcpd6.pid" acc0
	lab_wait_file 10 "$LAB_DIR/run/dhcpd6.pid"
	lab_log "NGN prefix now $LAB_PD_PREFIX (was ${old%/64}/56, announced as deprecated)"
}
lab__gone() { ! kill -0 "$1" 2>/dev/null; }

# lab_rogue6 MODE: a rogue DHCPv6 server (servers/rogue6.py) answers on the access segment in
# place of the NGN's (dhcpd and pdroute are stopped: nobody routes what it hands out), from
# $LAB_ROGUE6_PREFIX (2001:db8:5500::/56) and in MODE (good, len72, len128, len0, valid0,
# pref_gt_valid, t1_gt_t2, renew_new, truncated, silent; see the script).  Called again, it
# switches the mode of the running one.
LAB_ROGUE6_PREFIX=2001:db8:5500::/56
lab_rogue6() {
	local f="$LAB_DIR/run/rogue6.mode"
	printf '%s\n' "$1" >"$f.tmp" && mv "$f.tmp" "$f"
	[ ! -e "$LAB_DIR/run/rogue6.ready" ] || return 0
	lab_kill dhcpd6
	lab_kill pdroute
	lab_bg ngn rogue6 "$LAB_PY" "$LAB_HOME/servers/rogue6.py" --ifname acc0 \
		--prefix "$LAB_ROGUE6_PREFIX" --mode-file "$f" --ready "$LAB_DIR/run/rogue6.ready"
	lab_wait_file 10 "$LAB_DIR/run/rogue6.ready"
}

# ---- inet: "the internet": echo, HTTP, what-is-my-address; routes back to every ISP ----
lab__inet() {
	local c="$LAB_DIR/cfg/inet.ip" a
	lab__veth ngn inet inet ngn || return 1
	{
		echo "link set dev lo up"
		for a in $LAB_INET4_ECHO $LAB_INET4_WWW $LAB_INET4_WHOAMI; do echo "addr add $a/32 dev lo"; done
		for a in $LAB_INET6_ECHO $LAB_INET6_WWW $LAB_INET6_WHOAMI; do echo "addr add $a/128 dev lo"; done
		echo "link set dev ngn up"
		echo "addr add 2001:db8:ffff:5::2/64 dev ngn"
		echo "route add default via 2001:db8:ffff:5::1"
	} >>"$c"
	{
		echo "link set dev inet up"
		echo "addr add 2001:db8:ffff:5::1/64 dev inet"
		echo "route add 2001:db8:100::/48 via 2001:db8:ffff:5::2"
	} >>"$LAB_DIR/cfg/ngn.ip"
}

lab__inet_start() {
	lab_bg inet inetsrv "$LAB_PY" "$LAB_HOME/servers/inetsrv.py" \
		--echo "$LAB_INET4_ECHO" --echo "$LAB_INET6_ECHO" \
		--whoami "$LAB_INET4_WHOAMI" --whoami "$LAB_INET6_WHOAMI" \
		--www "$LAB_INET4_WWW" --www "$LAB_INET6_WWW" \
		--echo-port "$LAB_ECHO_PORT" --whoami-port "$LAB_WHOAMI_PORT" \
		--log "$LAB_DIR/log/inet-requests.log" --ready "$LAB_DIR/run/inetsrv.ready"
	LAB_INET_LOG="$LAB_DIR/log/inet-requests.log"
	export LAB_INET_LOG
}

# lab__uplink N NS: the transit links of one ISP namespace: IPv6 towards ngn
# (2001:db8:ffff:N::/64) and IPv4 towards inet (198.18.N.0/30).
lab__uplink() {
	local n=$1 ns=$2
	lab__veth ngn "$ns" "$ns" ngn || return 1
	lab__veth inet "$ns" "$ns" inet || return 1
	{
		echo "link set dev lo up"
		echo "link set dev ngn up"
		echo "addr add 2001:db8:ffff:$n::2/64 dev ngn"
		echo "route add default via 2001:db8:ffff:$n::1"
		echo "link set dev inet up"
		echo "addr add 198.18.$n.2/30 dev inet"
		echo "route add default via 198.18.$n.1"
	} >>"$LAB_DIR/cfg/$ns.ip"
	{
		echo "link set dev $ns up"
		echo "addr add 2001:db8:ffff:$n::1/64 dev $ns"
	} >>"$LAB_DIR/cfg/ngn.ip"
	{
		echo "link set dev $ns up"
		echo "addr add 198.18.$n.1/30 dev $ns"
	} >>"$LAB_DIR/cfg/inet.ip"
}

# ---- aftr: DS-Lite AFTR (transix): ipip6 from any B4, NAT44 to its public address ----
# The B4 sends its LAN's packets as they are; the AFTR NATs everything that comes out of a tunnel
# and sends the replies back into the tunnel of the B4 (conntrack mark 1 -> routing table 100,
# whose default route aftrlearn.py points into ds-ret).
lab__aftr() {
	local c="$LAB_DIR/cfg/aftr.ip"
	lab__uplink 1 aftr || return 1
	{
		echo "addr add $LAB_AFTR/128 dev lo"
		echo "addr add $LAB_AFTR_2/128 dev lo"
		echo "addr add $LAB_AFTR_PUBLIC4/32 dev lo"
		echo "link add ds-a type ip6tnl mode ipip6 local $LAB_AFTR remote any encaplimit none"
		echo "link add ds-b type ip6tnl mode ipip6 local $LAB_AFTR_2 remote any encaplimit none"
		echo "link set dev ds-a up"
		echo "link set dev ds-b up"
		echo "route add unreachable 192.0.0.0/29 metric 100"
		echo "route add unreachable default table 100 metric 100"
		echo "rule add fwmark 1 lookup 100 pref 100"
	} >>"$c"
	echo "route add $LAB_AFTR/127 via 2001:db8:ffff:1::2" >>"$LAB_DIR/cfg/ngn.ip"
	echo "route add $LAB_AFTR_PUBLIC4/32 via 198.18.1.2" >>"$LAB_DIR/cfg/inet.ip"
	cat >"$LAB_DIR/cfg/aftr.nft" <<EOF
table ip aftr {
	counter nat44 { }
	chain prerouting {
		type filter hook prerouting priority mangle; policy accept;
		iifname "ds-*" ct mark set 1
		ct direction reply ct mark 1 meta mark set 1
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		iifname "ds-*" oifname "inet" counter name nat44 snat to $LAB_AFTR_PUBLIC4
	}
}
EOF
}

lab__aftr_start() {
	in_ns aftr nft -f "$LAB_DIR/cfg/aftr.nft" || return 1
	lab_bg aftr aftrlearn "$LAB_PY" "$LAB_HOME/servers/aftrlearn.py" --tunnel ds-ret \
		--addr4 "$LAB_AFTR_ADDR4/29" --table 100 --state "$LAB_DIR/run/aftr-b4" \
		--ready "$LAB_DIR/run/aftrlearn.ready"
}

# lab_aftr_b4: the B4 address the AFTR learned last (empty when none yet).
lab_aftr_b4() {
	cat "$LAB_DIR/run/aftr-b4" 2>/dev/null || true
}

# ---- br: MAP-E BR for the v6plus and the OCN rule, with a port-set police ----
lab__br() {
	local c="$LAB_DIR/cfg/br.ip" p
	lab__uplink 2 br || return 1
	{
		echo "addr add $LAB_BR_V6PLUS/128 dev lo"
		echo "addr add $LAB_BR_OCN/128 dev lo"
		# Catch-alls: packets from an address that is no CE of the rule land here.
		echo "link add ceany-v6p type ip6tnl mode ipip6 local $LAB_BR_V6PLUS remote any encaplimit none"
		echo "link add ceany-ocn type ip6tnl mode ipip6 local $LAB_BR_OCN remote any encaplimit none"
		echo "link set dev ceany-v6p up"
		echo "link set dev ceany-ocn up"
	} >>"$c"
	{
		echo "route add $LAB_BR_V6PLUS/128 via 2001:db8:ffff:2::2"
		echo "route add $LAB_BR_OCN/128 via 2001:db8:ffff:2::2"
	} >>"$LAB_DIR/cfg/ngn.ip"
	{
		echo "route add 106.72.0.0/15 via 198.18.2.2"
		echo "route add 180.49.0.0/20 via 198.18.2.2"
	} >>"$LAB_DIR/cfg/inet.ip"
	# One tunnel per CE the NGN can hand out: the BR maps the CE's shared IPv4 back to it.
	# RFC 7597 8.1: a packet from a CE's tunnel passes only with that CE's IPv4 and a port
	# (ICMP id) of its PSID; a packet to a CE's IPv4 goes to the CE that owns the port, and one
	# to a port no lab CE owns (another subscriber's) is counted as `unowned` and dropped.
	local elems="" ces="" rules="" sets="" cur=$LAB_PROFILE lo hi r e
	: >"$LAB_DIR/run/br-ces"
	for p in v6plus v6plus2 ocn; do
		lab_profile "$p" || return 1
		{
			echo "link add ce-$p type ip6tnl mode ipip6 local $LAB_MAPE_BR remote $LAB_MAPE_CE encaplimit none"
			echo "link set dev ce-$p up"
			echo "route add $LAB_MAPE_IPV4/32 dev ce-$p"
		} >>"$c"
		echo "$p $LAB_MAPE_CE $LAB_MAPE_IPV4 $LAB_MAPE_PSID $LAB_MAPE_PORTS" >>"$LAB_DIR/run/br-ces"
		ces="$ces${ces:+, }$LAB_MAPE_IPV4"
		e=""
		for r in ${LAB_MAPE_PORTS//,/ }; do
			lo=${r%-*} hi=${r#*-}
			e="$e${e:+, }$LAB_MAPE_IPV4 . $lo-$hi"
		done
		elems="$elems${elems:+, }$e"
		sets="$sets	set ports_$p {
		typeof ip saddr . th sport
		flags interval
		elements = { $e }
	}
	set icmpids_$p {
		typeof ip saddr . icmp id
		flags interval
		elements = { $e }
	}
"
		rules="$rules		iifname \"ce-$p\" meta l4proto { tcp, udp } ip saddr . th sport @ports_$p counter name ok accept
		iifname \"ce-$p\" icmp type echo-request ip saddr . icmp id @icmpids_$p counter name ok accept
		iifname \"ce-$p\" icmp type != echo-request ip saddr $LAB_MAPE_IPV4 counter name icmperr accept
"
	done
	lab_profile "$cur" || return 1
	cat >"$LAB_DIR/cfg/br.nft" <<EOF
table inet mape {
	set ports {
		type ipv4_addr . inet_service
		flags interval
		elements = { $elems }
	}
$sets	set ces {
		type ipv4_addr
		elements = { $ces }
	}
	set leaked {
		type ipv4_addr . inet_service
		size 65535
		flags dynamic
	}
	set leaked_icmp {
		typeof ip saddr . icmp id
		size 65535
		flags dynamic
	}
	counter ok { }
	counter leak { }
	counter icmperr { }
	counter badce { }
	counter unowned { }
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname "ceany-*" counter name badce drop
		meta l4proto { tcp, udp } ip daddr @ces ip daddr . th dport != @ports counter name unowned drop
		iifname != "ce-*" accept
$rules		meta l4proto { tcp, udp } add @leaked { ip saddr . th sport }
		icmp type echo-request add @leaked_icmp { ip saddr . icmp id }
		counter name leak drop
	}
}
EOF
}

lab__br_start() {
	in_ns br nft -f "$LAB_DIR/cfg/br.nft"
}

# lab_br_counter NAME: packets counted by the BR's counter NAME (ok, leak, icmperr, badce,
# unowned: to a CE IPv4 at a port no lab CE owns).
lab_br_counter() {
	in_ns br nft list counter inet mape "$1" | awk '/packets/ { print $2; exit }'
}

# lab_br_leaked [leaked|leaked_icmp]: the "IPv4 . port" (or ICMP id) pairs the BR dropped for
# being outside the CE's port sets, one a line.
lab_br_leaked() {
	in_ns br nft list set inet mape "${1:-leaked}" | tr -d '\n\t' | sed -n 's/.*elements = { \(.*\) }.*/\1/p' |
		tr ',' '\n' | sed 's/^ *//; s/ *$//' | sed '/^$/d'
}

# ---- fixed: transix fixed IPv4: ipip6 endpoint + HTTP update server ----
lab__fixed() {
	local c="$LAB_DIR/cfg/fixed.ip"
	lab__uplink 3 fixed || return 1
	{
		echo "addr add $LAB_FIXED_REMOTE/128 dev lo"
		echo "addr add $LAB_FIXED_UPDATE/128 dev lo"
		echo "link add fx0 type ip6tnl mode ipip6 local $LAB_FIXED_REMOTE remote any encaplimit none"
		echo "link set dev fx0 up"
		echo "route add $LAB_FIXED_IPV4/32 dev fx0"
	} >>"$c"
	{
		echo "route add $LAB_FIXED_REMOTE/128 via 2001:db8:ffff:3::2"
		echo "route add $LAB_FIXED_UPDATE/128 via 2001:db8:ffff:3::2"
	} >>"$LAB_DIR/cfg/ngn.ip"
	echo "route add $LAB_FIXED_IPV4/32 via 198.18.3.2" >>"$LAB_DIR/cfg/inet.ip"
	cat >"$LAB_DIR/cfg/fixed.nft" <<EOF
table inet fixed {
	set allowed { type ipv6_addr; }
	counter blocked { }
	counter passed { }
	chain input {
		type filter hook input priority filter; policy accept;
		meta l4proto 4 ip6 saddr != @allowed counter name blocked drop
		meta l4proto 4 counter name passed accept
	}
}
EOF
	printf '%s\n%s\n' "$LAB_FIXED_USER" "$LAB_FIXED_PASS" | lab__write "$LAB_DIR/cfg/fixed.cred"
}

lab__fixed_start() {
	in_ns fixed nft -f "$LAB_DIR/cfg/fixed.nft" || return 1
	LAB_FIXED_LOG="$LAB_DIR/log/fixed-requests.log"
	export LAB_FIXED_LOG
	lab_bg fixed fixupd "$LAB_PY" "$LAB_HOME/servers/fixupd.py" --listen "$LAB_FIXED_UPDATE" \
		--cred "$LAB_DIR/cfg/fixed.cred" --tunnel fx0 --local "$LAB_FIXED_REMOTE" \
		--log "$LAB_FIXED_LOG" --ready "$LAB_DIR/run/fixupd.ready" \
		--mode-file "$LAB_DIR/run/fixupd.mode"
}

# lab_fixed_mode MODE: the update server from its next request on: normal, hang (never
# answers), 500 (an error), echo (answers 200 with the request's path and query string).
lab_fixed_mode() {
	echo "${1#normal}" >"$LAB_DIR/run/fixupd.mode"
}

# lab_fixed_counter NAME: packets of the fixed endpoint's counter (blocked, passed).
lab_fixed_counter() {
	in_ns fixed nft list counter inet fixed "$1" | awk '/packets/ { print $2; exit }'
}

# ---- bras: PPPoE access concentrator (pppoe-server, user mode) for an IPv4 and an IPv6 user ----
lab__bras() {
	local d
	lab_private bras /run >/dev/null
	d=$(lab_private bras /etc/ppp)
	lab_private bras /var/lib/kea >/dev/null
	lab__veth ngn bras bras ngn || return 1
	lab__veth inet bras bras inet || return 1
	{
		echo "link set dev lo up"
		echo "link set dev ngn up"
		echo "link set dev inet up"
		echo "addr add 198.18.4.2/30 dev inet"
		echo "route add default via 198.18.4.1"
		echo "addr add 2001:db8:ffff:4::2/64 dev inet"
		echo "route add default via 2001:db8:ffff:4::1"
	} >>"$LAB_DIR/cfg/bras.ip"
	{
		echo "link set dev bras up"
		echo "link set dev bras master acc0"
	} >>"$LAB_DIR/cfg/ngn.ip"
	{
		echo "link set dev bras up"
		echo "addr add 198.18.4.1/30 dev bras"
		echo "addr add 2001:db8:ffff:4::1/64 dev bras"
		echo "route add 203.0.113.64/26 via 198.18.4.2"
		echo "route add 2001:db8:8000::/40 via 2001:db8:ffff:4::2"
	} >>"$LAB_DIR/cfg/inet.ip"

	mkdir -p "$d"
	: >"$d/options"
	# Per-user options after "--" are applied by pppd once the peer has authenticated: the IPv4
	# user gets IPCP only, the IPv6 user IPv6CP only (as two NGN PPPoE contracts do).
	{
		echo "\"$LAB_PPP4_USER\" * \"$LAB_PPP4_PASS\" * -- noipv6"
		echo "\"$LAB_PPP6_USER\" * \"$LAB_PPP6_PASS\" * -- noip"
	} | lab__write "$d/chap-secrets"
	cp "$d/chap-secrets" "$d/pap-secrets"
	cat >"$d/pppoe-server-options" <<EOF
auth
name lab-bras
lcp-echo-interval 10
lcp-echo-failure 6
mtu $LAB_PPP_MTU
mru $LAB_PPP_MTU
+ipv6
noccp
novj
nodefaultroute
noproxyarp
debug
logfile $LAB_DIR/log/bras-pppd.log
EOF
	sed -e "s|@LAB_DIR@|$LAB_DIR|g" -e "s|@PPP6_USER@|$LAB_PPP6_USER|g" \
		-e "s|@PD@|$LAB_PPP6_PD|g" -e "s|@PD_ADDR@|${LAB_PPP6_PD%/*}|g" \
		-e "s|@PD_LEN@|${LAB_PPP6_PD#*/}|g" "$LAB_HOME/conf/bras-ipv6-up" >"$d/ipv6-up"
	sed -e "s|@LAB_DIR@|$LAB_DIR|g" "$LAB_HOME/conf/bras-ipv6-down" >"$d/ipv6-down"
	chmod 0755 "$d/ipv6-up" "$d/ipv6-down"
	mkdir -p "$LAB_DIR/bras"
}

lab__bras_start() {
	lab_bg_priv bras pppoe-server pppoe-server -F -I ngn -C lab-bras -L "$LAB_PPP4_LOCAL" \
		-R "$LAB_PPP4_POOL" -N 8 -O /etc/ppp/pppoe-server-options \
		-X "$LAB_DIR/run/pppoe-server.pid"
	# The client side: the lab's pppd in rtr reads its secrets from here (never from the command
	# line).  uplinkd tests use their own.
	local d
	d=$(lab_private rtr /etc/ppp)
	: >"$d/options"
	{
		echo "\"$LAB_PPP4_USER\" * \"$LAB_PPP4_PASS\""
		echo "\"$LAB_PPP6_USER\" * \"$LAB_PPP6_PASS\""
	} | lab__write "$d/chap-secrets"
	cp "$d/chap-secrets" "$d/pap-secrets"
}

# lab_bras_refuse on|off: the access concentrator refuses (on) or accepts (off) the IPv4 user's
# password (pppd reads the secrets at each session's authentication).
lab_bras_refuse() {
	local d pw=$LAB_PPP4_PASS
	d=$(lab_private bras /etc/ppp)
	[ "$1" = on ] && pw="not-$LAB_PPP4_PASS"
	{
		echo "\"$LAB_PPP4_USER\" * \"$pw\" * -- noipv6"
		echo "\"$LAB_PPP6_USER\" * \"$LAB_PPP6_PASS\" * -- noip"
	} | lab__write "$d/chap-secrets"
	cp "$d/chap-secrets" "$d/pap-secrets"
}

# lab_bras_padt: the access concentrator ends every session with a PADT (pppoe -k, without
# telling its own pppd, as a BRAS that drops the session on its own would).
lab_bras_padt() {
	local e n=0
	for e in $(in_ns bras ps -eo args | sed -nE 's/.* -e ([0-9]+:[0-9a-fA-F:]+).*/\1/p' | sort -u); do
		in_t 5 bras pppoe -I ngn -k -e "$e" && n=$((n + 1))
	done
	[ "$n" -gt 0 ] || { lab_err "lab_bras_padt: no session to end"; return 1; }
}

# lab_bras_mute on|off: the access concentrator stops (on) or resumes (off) answering inside
# PPPoE sessions (LCP echo included): session frames from the access segment are dropped.
lab_bras_mute() {
	if [ "$1" = on ]; then
		in_ns bras nft -f - <<EOF
table netdev labmute {
	chain in {
		type filter hook ingress device ngn priority 0;
		ether type 0x8864 counter drop
	}
}
EOF
	else
		in_ns bras nft delete table netdev labmute
	fi
}

# ---- readiness and teardown ----
lab__wait_ready() {
	local f
	lab__has ngn && {
		lab_wait_file 20 "$LAB_DIR/run/radvd.pid" || return 1
		lab_wait_file 20 "$LAB_DIR/run/dhcpd6.pid" || return 1
		lab_wait_file 20 "$LAB_DIR/run/dnsmasq.pid" || return 1
		lab_wait_file 20 "$LAB_DIR/run/pdroute.ready" || return 1
	}
	for f in inet:inetsrv.ready aftr:aftrlearn.ready fixed:fixupd.ready bras:pppoe-server.pid; do
		lab__has "${f%%:*}" || continue
		lab_wait_file 20 "$LAB_DIR/run/${f#*:}" || return 1
	done
}

lab_down() {
	local ns all=""
	trap - EXIT
	[ -n "${LAB_DIR:-}" ] || return 0
	for ns in ${LAB_NSS:-}; do
		all="$all $LAB_PREFIX$ns"
	done
	# shellcheck disable=SC2086
	[ -z "$all" ] || lab__purge $all
	wait 2>/dev/null || true
	if [ -n "${LAB_LOG_DIR:-}" ]; then
		mkdir -p "$LAB_LOG_DIR"
		cp -r "$LAB_DIR/log/." "$LAB_LOG_DIR/" 2>/dev/null || true
	fi
	[ -n "${LAB_KEEP:-}" ] || rm -rf "$LAB_DIR"
	LAB_NSS="" LAB_DIR=""
}
