# shellcheck shell=bash
# Helpers for the tests that run uplinkd in the lab's router (sourced after tests/lab/lab.sh).
# uplinkd and uplinkctl run with rtr's private /run (so /run/uplinkd is the lab's), its
# resolv.conf pointing at the NGN's DNS, and logs in $LAB_DIR/log.

# The programs under test: UL_BIN (a folder, to compare with another build), else UPLINKD_BUILD's
# (relative to the top of the tree or absolute; default build/). tests/run-all.sh points it at
# build/san, the ASan/UBSan build.
UL_BIN=${UL_BIN:-${UPLINKD_BUILD:-build}}
case $UL_BIN in /*) ;; *) UL_BIN="$LAB_TOP/$UL_BIN" ;; esac
UL_CONF=""

# ul_conf: the configuration on stdin becomes the router's config file.
ul_conf() {
	UL_CONF="$LAB_DIR/cfg/uplinkd.conf"
	cat >"$UL_CONF"
}

# ul_secret NAME SECRET: a 0600 password file in the lab, printed.
ul_secret() {
	local f="$LAB_DIR/cfg/$1.password"
	(umask 077 && printf '%s\n' "$2" >"$f")
	echo "$f"
}

# ul_router: what the operator configures outside uplinkd: the LAN address, the resolver.
ul_router() {
	in_ns rtr ip addr add "$LAB_LAN_GW4/24" dev "$LAB_LAN_IF"
	lab_rtr_resolv
}

ul_ctl() { in_priv_t 60 rtr "$UL_BIN/uplinkctl" "$@"; }

# ul_apply [ARGS]: uplinkctl apply with the test's config; prints its output.
ul_apply() { ul_ctl apply -c "$UL_CONF" "$@"; }

# ul_changes OUTPUT: the N of "applied: N changes"
ul_changes() { sed -nE 's/^applied: ([0-9]+) changes?$/\1/p' <<<"$1"; }

# ul_daemon [ARGS]: starts uplinkd in rtr and waits for its control socket.
# A sanitized daemon is checked for leaks when it stops (tests/integration/run turns that off for
# the rest: uplinkctl is short-lived, and the check costs seconds a call in the VM).
ul_daemon() {
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1" \
		lab_bg_priv rtr uplinkd "$UL_BIN/uplinkd" -c "$UL_CONF" --log stderr "$@"
	lab_wait 20 ul_ctl status >/dev/null || { cat "$LAB_DIR/log/uplinkd.log" >&2; return 1; }
}

ul_log() { cat "$LAB_DIR/log/uplinkd.log"; }

# ul_wait_up UPLINK SECS: until `uplinkctl status -j` says the uplink is up.
ul_wait_up() {
	local name=$1 secs=${2:-30}
	lab_wait "$secs" ul_state_is "$name" up || { ul_ctl status >&2; return 1; }
}

ul_state_is() {
	ul_ctl status -j 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
u = [x for x in s["uplinks"] if x["name"] == sys.argv[1]]
sys.exit(0 if u and u[0]["state"] == sys.argv[2] else 1)' "$1" "$2"
}

# ul_json EXPR: evaluates a python expression over the status JSON (as s).
ul_json() {
	ul_ctl status -j | python3 -c "import json, sys; s = json.load(sys.stdin); print($1)"
}

# ul_wait_wan SECS: until the WAN has a global address from the RA; prints it.
ul_wait_wan() {
	local dev=${UL_WAN_DEV:-$LAB_WAN_IF}
	lab_wait_addr "${1:-30}" rtr "$dev" -6 "^${LAB_RA_PREFIX%%::*}:"
}

# ul_snapshot: the kernel state of rtr that uplinkd may change, normalised for comparing.
ul_snapshot() {
	{
		echo "## links"
		in_ns rtr ip -o link show | sed -E 's/^[0-9]+: //; s/ qlen [0-9]+//; s/link\/ether [0-9a-f:]+ brd [0-9a-f:]+//' |
			awk '{print $1, $2, $3, $4, $5}' | sort
		echo "## addresses"
		in_ns rtr ip -o addr show | awk '{print $2, $3, $4}' | sort
		echo "## routes"
		in_ns rtr ip -4 route show table all | grep -v '^local\|^broadcast' | sort
		in_ns rtr ip -6 route show table all | grep -v '^local\|^multicast\|^anycast' |
			sed -E 's/ expires [0-9]+sec//; s/ pref [a-z]+//' | sort
		echo "## rules"
		in_ns rtr ip -4 rule show
		in_ns rtr ip -6 rule show
		echo "## nftables"
		in_ns rtr nft list ruleset
		echo "## sysctls"
		in_ns rtr sysctl net.ipv4.ip_forward net.ipv6.conf.all.forwarding
		for d in $(in_ns rtr ls /proc/sys/net/ipv6/conf); do
			in_ns rtr sysctl "net.ipv6.conf.$d.accept_ra" 2>/dev/null | sed 's/\./\//4' || true
		done
		echo "## tokens"
		in_ns rtr ip token list 2>/dev/null | sort || true
	}
}

# many TCP connections held open at once from a LAN host: prints "OK N FAILED N"
ul_many_tcp() { # NS DEST PORT COUNT [TIMEOUT]
	in_t 120 "$1" python3 "$LAB_TOP/tests/integration/many_tcp.py" "$2" "$3" "$4" "${5:-15}"
}

# ul_mss_watch NS: counts TCP SYNs arriving in NS by their MSS option; ul_mss_seen NS SIZE.
ul_mss_watch() {
	in_ns "$1" nft -f - <<'NFT'
table inet mss_watch {
	chain pre {
		type filter hook prerouting priority -300;
		tcp flags syn / syn,ack tcp option maxseg size 1420 counter
		tcp flags syn / syn,ack tcp option maxseg size 1414 counter
		tcp flags syn / syn,ack tcp option maxseg size 1460 counter
	}
}
NFT
}

# How many SYNs with MSS SIZE NS saw (1414, 1420 or 1460).
ul_mss_seen() {
	in_ns "$1" nft list chain inet mss_watch pre |
		sed -nE "s/.*maxseg size $2 counter packets ([0-9]+).*/\\1/p"
}

# ul_default: the device of the main table's IPv4 default route ("none" if there is none).
ul_default() {
	local r
	r=$(in_ns rtr ip -4 route show default | awk '/dev/ { for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1); exit }')
	echo "${r:-none}"
}

# ul_wait_default DEV SECS: until the default route leads out of DEV; prints the seconds it took.
ul_wait_default() {
	local dev=$1 secs=${2:-10} t0 now
	t0=$(date +%s%N)
	while [ "$(ul_default)" != "$dev" ]; do
		now=$(date +%s%N)
		if [ $(((now - t0) / 1000000000)) -ge "$secs" ]; then
			echo "timeout: the default route is via $(ul_default), not $dev" >&2
			return 1
		fi
		sleep 0.02
	done
	now=$(date +%s%N)
	awk -v ns=$((now - t0)) 'BEGIN { printf "%.2f\n", ns / 1e9 }'
}

# ul_pid: uplinkd's pid (in the lab's background list).
ul_pid() {
	local pid
	pid=$(awk '$3 == "uplinkd" { print $1 }' "$LAB_DIR/bg" | tail -n1)
	# lab_bg_priv execs through ip netns exec and sh: the daemon is that pid or its child
	if [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = uplinkd ]; then echo "$pid"; return; fi
	pgrep -P "$pid" -x uplinkd | head -n1
}

# ul_sanitized: true when the running uplinkd is an ASan build (make SANITIZE=1).
ul_sanitized() { grep -q libasan "/proc/$(ul_pid)/maps"; }

ul_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$(ul_pid)/status"; }

# ul_pinger NS DEST: a background ping every 100 ms with timestamps; ul_ping_gap NAME: the longest
# time without a reply, in seconds.
ul_pinger() {
	lab_bg "$1" "$3" ping -n -D -i 0.1 -W 1 "$2"
}
ul_ping_gap() {
	awk '/bytes from/ { t = substr($1, 2, length($1) - 2) + 0; if (last && t - last > gap) gap = t - last; last = t }
	     END { printf "%.2f\n", gap }' "$LAB_DIR/log/$1.log"
}

# ---- helpers of t_apply_policy, t_apply_inbound, t_apply_down and t_apply_rollback ----

# ul_converge [MAX]: applies until an apply changes nothing (the first brings the WAN up: wait for
# its address; the next build what needs the prefix); each output goes to stderr.  Fails the test
# when MAX applies (default 4) do not get there.
ul_converge() {
	local out n i max=${1:-4}
	for i in $(seq 1 "$max"); do
		out=$(ul_apply) || t_fail "apply $i of the convergence failed: $out"
		echo "$out" >&2
		n=$(ul_changes "$out")
		[ "$n" = 0 ] && return 0
		[ "$i" = 1 ] && ul_wait_wan 30 >/dev/null
	done
	t_fail "apply did not converge in $max runs"
}

# ul_uplink_info: "UPLINK TABLE MARK" a line for every uplink, as `uplinkctl plan` states them
# (mark in hex).
ul_uplink_info() {
	ul_ctl plan -c "$UL_CONF" |
		sed -nE "s/^# uplink ([^:]+): .*, table ([0-9]+), mark (0x[0-9a-fA-F]+): .*/\\1 \\2 \\3/p"
}

# ul_whoami_tcp NS [ADDR] / ul_whoami_udp NS [ADDR]: "ADDR PORT" inet's what-is-my-address saw
# for a plain TCP connection / a UDP datagram to port $LAB_WHOAMI_PORT (empty on failure).
# shellcheck disable=SC2016 # the inner bash expands them
ul_whoami_tcp() {
	in_t 12 "$1" bash -c 'exec 3<>"/dev/tcp/$0/$1" && timeout 8 head -n1 <&3' \
		"${2:-$LAB_INET4_WHOAMI}" "$LAB_WHOAMI_PORT" 2>/dev/null || true
}
# shellcheck disable=SC2016
ul_whoami_udp() {
	in_t 8 "$1" bash -c 'exec 3<>"/dev/udp/$0/$1" && echo x >&3 && timeout 4 head -n1 <&3' \
		"${2:-$LAB_INET4_WHOAMI}" "$LAB_WHOAMI_PORT" 2>/dev/null || true
}

# ul_tcp_banner NS ADDR PORT [SECS]: connects from NS and prints the first line the server sends;
# "timeout" when nothing answered within SECS (default 4: a dropped SYN), else the error
# (e.g. "... Connection refused" for a RST).
# shellcheck disable=SC2016
ul_tcp_banner() {
	local out rc=0
	out=$(in_t "${4:-4}" "$1" bash -c 'exec 3<>"/dev/tcp/$0/$1" && head -n1 <&3' "$2" "$3" 2>&1) || rc=$?
	[ "$rc" = 124 ] && out=timeout
	echo "$out"
}

# ul_kstate: what ul_snapshot shows (links, addresses, routes, rules, nftables, sysctls, tokens,
# with its normalisations), read in one entry into rtr -- ul_snapshot enters the namespace once per
# command and per device, 15 s a snapshot in the lab VM -- and more strictly:
#  - accept_ra of every device read from /proc (sysctl's dotted names miss VLANs like wan0.1000);
#  - the per-device forwarding switches: net.ipv4.ip_forward and net.ipv6.conf.all.forwarding
#    rewrite every device's copy, so restoring the global one must restore them all.
# Normalised, each because the kernel changes it by itself, not uplinkd:
#  - links: the index, qlen and MAC address are dropped, only name, flags and MTU kept (as
#    ul_snapshot: indexes grow as links are made, MACs of re-created links are random);
#  - addresses: device, family and address only (no lifetimes, which count down);
#  - IPv6 routes: "expires Nsec" (counts down) and "pref" (from the RA) dropped; local,
#    broadcast, multicast and anycast routes left out (the kernel derives them from addresses);
#  - nftables counters: their packet and byte values dropped (traffic between two snapshots
#    changes them), the counter statements kept.
ul_kstate() {
	# shellcheck disable=SC2016 # expanded by the inner bash
	in_ns rtr bash -c '
		echo "## links"
		ip -o link show | sed -E "s/^[0-9]+: //; s/ qlen [0-9]+//; s/link\/ether [0-9a-f:]+ brd [0-9a-f:]+//" |
			awk "{ print \$1, \$2, \$3, \$4, \$5 }" | sort
		echo "## addresses"
		ip -o addr show | awk "{ print \$2, \$3, \$4 }" | sort
		echo "## routes"
		ip -4 route show table all | grep -v "^local\|^broadcast" | sort
		ip -6 route show table all | grep -v "^local\|^multicast\|^anycast" |
			sed -E "s/ expires [0-9]+sec//; s/ pref [a-z]+//" | sort
		echo "## rules"
		ip -4 rule show
		ip -6 rule show
		echo "## nftables"
		nft list ruleset | sed -E "s/counter packets [0-9]+ bytes [0-9]+/counter/"
		echo "## sysctls"
		for f in /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/*/forwarding \
			/proc/sys/net/ipv6/conf/*/forwarding /proc/sys/net/ipv6/conf/*/accept_ra; do
			read -r v <"$f" && echo "${f#/proc/sys/} = $v"
		done
		echo "## tokens"
		ip token list 2>/dev/null | sort || true
	'
}

# ul_diff BEFORE AFTER: the unified diff of two texts (no process substitution: the lab VM has no
# /dev/fd); always succeeds.
ul_diff() {
	printf '%s\n' "$1" >"$LAB_DIR/diff.a"
	printf '%s\n' "$2" >"$LAB_DIR/diff.b"
	diff -u "$LAB_DIR/diff.a" "$LAB_DIR/diff.b" || true
}

# ul_bras_sessions: how many PPP sessions the access concentrator is serving now.
ul_bras_sessions() {
	local n=0 pid
	for pid in $(ip netns pids "$LAB_NS_BRAS" 2>/dev/null); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = pppd ] && n=$((n + 1))
	done
	echo "$n"
}

# ul_bras_kill: the access concentrator dies (pppoe-server and every session's pppd).
ul_bras_kill() {
	ip netns pids "$LAB_NS_BRAS" | xargs -r kill -9
}

# ---- helpers of the rogue-peer tests (t_rogue_*.sh) ----

# ul_static_line [DEV [N [PEER]]]: a plain Ethernet line DEV (st0) from rtr to inet, where its
# other end PEER (DEV) holds 198.18.N.1/24 (N 99): the router's side is for 198.18.N.2/24.  The
# config section of st0 (static uplink st, PRIORITY) is printed by ul_static_conf PRIORITY.
ul_static_line() {
	local dev=${1:-st0} n=${2:-99}
	local peer=${3:-$dev}
	in_ns rtr ip link add "$dev" type veth peer name "$peer" netns "$LAB_NS_INET"
	in_ns inet ip addr add "198.18.$n.1/24" dev "$peer"
	in_ns inet ip link set dev "$peer" up
}
ul_static_conf() {
	printf '[uplink st]\ntype = static\ndevice = st0\nipv4 = 198.18.99.2/24\ngateway = 198.18.99.1\npriority = %s\n' "$1"
}

# ul_ping_throughout NAME: stops the ul_pinger NAME and fails the test if its ping ever went
# 2 s without an answer.
ul_ping_throughout() {
	local gap
	lab_kill "$1"
	gap=$(ul_ping_gap "$1")
	echo "longest gap in the LAN host's ping over the whole test: ${gap}s"
	awk -v g="$gap" 'BEGIN { exit !(g < 2) }' || t_fail "the LAN host's ping stopped for ${gap}s"
	t_ok "the LAN host's ping went on throughout"
}

# ul_no_secret SECRET WHEN: fails the test if SECRET shows in uplinkd's log, its status (text and
# JSON) or a process argument in rtr.
ul_no_secret() {
	ul_ctl status -j >"$LAB_DIR/status.txt"
	ul_ctl status >>"$LAB_DIR/status.txt"
	in_ns rtr ps -eo args >"$LAB_DIR/ps.txt"
	if grep -F -- "$1" "$LAB_DIR/log/uplinkd.log" "$LAB_DIR/status.txt" "$LAB_DIR/ps.txt"; then
		t_fail "the password shows $2"
	fi
	t_ok "the password is in no log line, status output or process argument $2"
}
