#!/bin/bash
# The apply benchmark (tests/bench/README.md): cold apply and no-op re-apply of uplinkd for the
# lab config and for a scaled config (64 static uplinks on VLANs, 1000 policies, a 100 000-prefix
# destination set), each next to its baseline: the same state built by the sh script of ip/nft
# commands that `uplinkctl plan` prints (the way hand-built routers do it), and `nft -f` of the
# same 100 000-prefix table.  Prints every figure with its baseline and the ratio, PASS/FAIL
# against the three targets, and exits 1 when a target fails (2 when the benchmark itself failed).
#
#   bash tests/bench/bench_apply.sh [--host-only] [--no-vm]
#
# Everything kernel-side happens in network namespaces this script creates (named
# ulb<pid>-*) and deletes on exit, never in the machine's own.  The lab config needs ip6tnl and
# the scaled one VLANs: on a kernel without them (these machines) the host runs what it can
# (the 100 000-prefix nftables comparison) and the rest runs in the lab VM
# (tests/lab/vm/vm-run -- bash tests/bench/bench_apply.sh --in-vm).  --host-only: no VM;
# --no-vm: fail instead of starting the VM when the kernel lacks something.
# Settings: UPLINKD_BENCH_PREFIXES (100000), UPLINKD_BENCH_UPLINKS (64), UPLINKD_BENCH_POLICIES
# (1000), UPLINKD_BENCH_NOOP (no-op runs, 3), UPLINKD_BENCH_ONLY ("lab scaled": either or both),
# UPLINKD_VM_MEM (the VM's memory, here 1536).
set -u -o pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd -P)
top=$(cd "$here/../.." && pwd -P)
cd "$top" || exit 2

mode=auto
case "${1:-}" in
--in-vm) mode=vm ;;
--host-only) mode=host ;;
--no-vm) mode=novm ;;
"") ;;
*) echo "usage: bench_apply.sh [--host-only | --no-vm]" >&2; exit 2 ;;
esac

if [ "$(id -u)" != 0 ]; then
	echo "bench_apply: needs root (network namespaces)" >&2
	exit 2
fi

N_PREFIXES=${UPLINKD_BENCH_PREFIXES:-100000}
N_UPLINKS=${UPLINKD_BENCH_UPLINKS:-64}
N_POLICIES=${UPLINKD_BENCH_POLICIES:-1000}
N_NOOP=${UPLINKD_BENCH_NOOP:-3}
ONLY=${UPLINKD_BENCH_ONLY:-lab scaled}
SEED=42
# uplinks + policy chains share the 255 marks of the fwmark mask; 198.18.i.0/24 per uplink
if ! [ "$N_UPLINKS" -ge 2 ] 2>/dev/null || [ "$N_UPLINKS" -gt 120 ]; then
	echo "bench_apply: UPLINKD_BENCH_UPLINKS: 2..120" >&2
	exit 2
fi
if ! [ "$N_POLICIES" -ge 1 ] 2>/dev/null || [ "$N_POLICIES" -gt 50000 ]; then
	echo "bench_apply: UPLINKD_BENCH_POLICIES: 1..50000" >&2
	exit 2
fi

bin=$top/build
ctl=$bin/uplinkctl
ab=$bin/bench/apply_bench
na=$bin/bench/nft_apply

# ---- namespaces: ours only, always removed ----

prefix="ulb$$-"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/uplinkd-bench.XXXXXX")
namespaces=()
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	local ns pids
	for ns in "${namespaces[@]}"; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		# shellcheck disable=SC2086
		[ -z "$pids" ] || kill -9 $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	namespaces=()
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

fatal() {
	echo "bench_apply: $*" >&2
	exit 2
}

mkns() {
	ip netns add "$prefix$1" || fatal "cannot create namespace $prefix$1"
	namespaces+=("$prefix$1")
	in_ns "$1" sh -c 'ip link set lo up && sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0' ||
		fatal "cannot set up namespace $prefix$1"
}

delns() {
	local ns=$prefix$1 keep=() n
	ip netns del "$ns" 2>/dev/null
	for n in "${namespaces[@]}"; do [ "$n" = "$ns" ] || keep+=("$n"); done
	namespaces=("${keep[@]}")
}

# in_ns NAME CMD...: CMD in one of our namespaces, and nowhere else.
in_ns() {
	local ns=$prefix$1
	shift
	case " ${namespaces[*]} " in
	*" $ns "*) ;;
	*) fatal "refusing to run '$*' outside our namespaces ($ns)" ;;
	esac
	ip netns exec "$ns" "$@"
}

# timed NAME OUT CMD...: runs CMD in namespace NAME with its output to OUT; prints the wall time
# in ms, measured inside the namespace (ip netns exec's own start-up is not counted).
timed() {
	local name=$1 out=$2
	shift 2
	# shellcheck disable=SC2016 # expanded by the inner bash
	in_ns "$name" bash -c 'a=$EPOCHREALTIME; "$@" >"$0" 2>&1; rc=$?; b=$EPOCHREALTIME
		awk -v a="$a" -v b="$b" "BEGIN { printf \"%.1f\n\", (b - a) * 1000 }"; exit $rc' "$out" "$@"
}

# per_run NAME N CMD...: the mean wall time of N runs of CMD in namespace NAME, in ms
per_run() {
	local name=$1 n=$2
	shift 2
	# shellcheck disable=SC2016 # expanded by the inner bash
	in_ns "$name" bash -c 'n=$0; a=$EPOCHREALTIME; for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1; done
		b=$EPOCHREALTIME; awk -v a="$a" -v b="$b" -v n="$n" "BEGIN { printf \"%.1f\", (b - a) * 1000 / n }"' "$n" "$@"
}

# ---- kernel features ----

# The features this benchmark needs that the running kernel lacks (tests/lab/probe, less PPP).
lacking() {
	"$top/tests/lab/probe" | grep -Ev '^(pppoe|ppp)$' | tr '\n' ' '
}

in_vm=0
[ -e /run/uplinkd-lab-vm ] && grep -qw uplinkd_lab_vm=1 /proc/cmdline && in_vm=1
missing=$(lacking)
where="host"
if [ $in_vm = 1 ]; then
	where="VM (TCG)"
	grep -qw kvm-clock /sys/devices/system/clocksource/clocksource0/available_clocksource 2>/dev/null &&
		where="VM (KVM)"
fi
kernel=$(uname -r)

if [ $in_vm = 0 ]; then
	make -s all bench >/dev/null || fatal "build failed"
fi
for f in "$ctl" "$ab" "$na"; do
	[ -x "$f" ] || fatal "$f is missing (make bench)"
done
command -v nft >/dev/null || fatal "nft is not installed (sh tests/deps.sh test)"

# ---- results ----

results=()   # "label|uplinkd|baseline|ratio|target|verdict"
failed=0
report() {
	results+=("$1|$2|$3|$4|$5|$6")
	[ "$6" = FAIL ] && failed=1
	return 0
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
field() { # FILE LINE-PREFIX REGEX-GROUP: sed -n capture from the line starting with PREFIX
	sed -nE "s/^$2: $3.*/\\1/p" "$1" | head -n 1
}

# snapshot NAME: the namespace's kernel state, normalised (no ifindexes, MACs, counters, timers)
snapshot() {
	# shellcheck disable=SC2016 # expanded by the inner bash
	in_ns "$1" bash -c '
		echo "## links"; ip -d -j link show; echo
		echo "## addresses"; ip -j addr show; echo
		echo "## routes"; ip -4 -j route show table all; echo; ip -6 -j route show table all; echo
		echo "## rules"; ip -4 -j rule show; echo; ip -6 -j rule show; echo
		echo "## tokens"; ip token list
		echo "## sysctls"
		grep -H "" /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/*/forwarding \
			/proc/sys/net/ipv6/conf/*/accept_ra /proc/sys/net/ipv6/conf/*/disable_ipv6 \
			/proc/sys/net/ipv6/conf/*/addr_gen_mode
		echo "## nftables"
		nft list ruleset' |
	python3 -c '
import json, sys
DROP = {"ifindex", "link_index", "address", "broadcast", "perm_address", "stats", "stats64",
        "txqlen", "num_tx_queues", "num_rx_queues", "gso_max_size", "gso_max_segs",
        "gro_max_size", "gso_ipv4_max_size", "gro_ipv4_max_size", "tso_max_size",
        "tso_max_segs", "min_mtu", "max_mtu", "inet6_addr_gen_mode", "link_netnsid",
        "valid_life_time", "preferred_life_time", "expires", "parentbus", "parentdev",
        "promiscuity", "allmulti", "qdisc", "linkinfo_slave", "xdp", "vfinfo_list",
        "proto_down", "operstate", "group", "phys_port_name", "phys_switch_id", "ifalias",
        "altnames", "lladdr", "tso_max_seg", "event"}
def clean(x):
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items() if k not in DROP}
    if isinstance(x, list):
        return [clean(v) for v in x]
    return x
def key(x):
    return json.dumps(x, sort_keys=True)
# ip6tnl devices have no MAC: the kernel gives them random link-local addresses (and ip6tnl0 a
# random permaddr); neither uplinkd nor the script chooses them
tunnels = set()
def random_ll(o, section):
    if section == "links" and o.get("link_type") == "tunnel6":
        tunnels.add(o.get("ifname"))
    o.pop("permaddr", None)
    if section == "addresses" and o.get("ifname") in tunnels:
        o["addr_info"] = [a for a in o.get("addr_info", []) if not a.get("local", "").startswith("fe80:")]
    if section == "routes" and o.get("dev") in tunnels and o.get("table") == "local" and o.get("dst", "").startswith("fe80:"):
        return None
    return o
for block in sys.stdin.read().split("\n## "):
    head, _, body = block.partition("\n")
    print("## " + head.lstrip("# "))
    if head.lstrip("# ") in ("links", "addresses", "routes", "rules"):
        for part in body.split("\n\n"):
            part = part.strip()
            if not part:
                continue
            objs = [random_ll(clean(o), head.lstrip("# ")) for o in json.loads(part)]
            objs = [o for o in objs if o is not None]
            # bridge and veth internals (ids, timers) are not what uplinkd or the script set
            for o in objs:
                if isinstance(o.get("linkinfo"), dict) and o["linkinfo"].get("info_kind") in ("bridge", "veth"):
                    o["linkinfo"] = {"info_kind": o["linkinfo"]["info_kind"]}
            for line in sorted(key(o) for o in objs):
                print(line)
    else:
        for line in sorted(body.splitlines()) if head.lstrip("# ") != "nftables" else body.splitlines():
            print(line)
'
}

# same_state A B WHAT: compares two namespaces' snapshots; prints the verdict and any difference
same_state() {
	local t0=$SECONDS
	snapshot "$1" >"$tmp/state-$1.txt" || fatal "cannot snapshot $1"
	snapshot "$2" >"$tmp/state-$2.txt" || fatal "cannot snapshot $2"
	if cmp -s "$tmp/state-$1.txt" "$tmp/state-$2.txt"; then
		echo "$3: same kernel state ($(grep -c . "$tmp/state-$1.txt") normalised lines: links, addresses, routes, rules, tokens, sysctls, nftables; compared in $((SECONDS - t0)) s)"
		return 0
	fi
	echo "$3: DIFFERENT kernel state (< $1, > $2):"
	diff "$tmp/state-$1.txt" "$tmp/state-$2.txt" | cut -c1-300 | head -n 40 | sed 's/^/    /'
	return 1
}

# the nftables part of a plan script (between "nft -f - <<'EOF'" and "EOF")
nft_part() {
	sed -n "/^nft -f - <<'EOF'\$/,/^EOF\$/p" "$1" | sed '1d;$d'
}

# ---- the lab config ----

# lab_wan NAME: what the lab (and an RA) would have given the router: wan0 up with its SLAAC-like
# address PREFIX::feed (the token uplinkd sets) and the RA's default route via fe80::1; br0 with
# the LAN address.
lab_wan() {
	in_ns "$1" ip -batch - <<'EOF' || fatal "cannot set up the WAN in $1"
link add wan0 address 02:00:00:00:00:01 type veth peer name isp0 address 02:00:00:00:00:02
link add br0 address 02:00:00:00:00:03 type bridge
link set isp0 up
link set wan0 up
link set br0 up
addr add 192.0.2.1/24 dev br0
addr add 240b:10:3f6c:d400::feed/64 dev wan0 nodad
route add ::/0 via fe80::1 dev wan0 proto ra metric 1024
EOF
}

lab_conf() {
	cat <<'EOF'
# The lab's main setup (tests/lab/README.md): native IPv6 by RA on wan0 with the ::feed token,
# MAP-E v6plus, DS-Lite to the lab AFTR (by address: no DNS in a bare namespace) and transix
# fixed IPv4 (no update request: no server), with three policies.
[global]
lan = br0

[uplink wan]
type = ipoe
device = wan0
token = ::feed
priority = 30

[uplink v6plus]
type = mape
over = wan
rule = auto
priority = 10
accept = tcp/22

[uplink transix]
type = dslite
over = wan
aftr = 2404:8e00::feed:100
priority = 20

[uplink fixed]
type = ipip6
over = wan
remote = 2404:8e00::feed:140
ipv4 = 203.0.113.200
update-url = none
priority = 15
accept = tcp/22

[policy fixed-hosts]
from = 192.0.2.20 192.0.2.32/28
uplink = fixed
fallback = transix

[policy via-dslite]
to = 198.51.100.0/24 203.0.113.0/25
uplink = transix
fallback = v6plus

[policy ssh-out]
proto = tcp
dport = 22
uplink = v6plus
fallback = none
EOF
}
LAB_FACTS=(--fact wan.prefix=240b:10:3f6c:d400::/64 --fact wan.address=240b:10:3f6c:d400::feed
	--fact wan.gateway6=fe80::1)

prepare_lab() {
	local d=$tmp/lab
	mkdir -p "$d"
	lab_conf >"$d/uplinkd.conf"
	"$ctl" plan -c "$d/uplinkd.conf" "${LAB_FACTS[@]}" >"$d/plan.sh" || fatal "uplinkctl plan failed"
	nft_part "$d/plan.sh" >"$d/table.nft"
}

bench_lab() {
	local d=$tmp/lab ms ms_ctl ms_ctl2 cold s t0=$SECONDS
	echo
	echo "== lab config ($where, $kernel)"
	echo "baseline script: $(grep -Ec '^(ip|sysctl) ' "$d/plan.sh") ip/sysctl commands and nft -f of a" \
		"$(wc -l <"$d/table.nft")-line table"

	mkns lu
	mkns ls
	mkns lc
	for s in lu ls lc; do lab_wan "$s"; done

	# uplinkd, in-process (apply_run alone)
	# (exit 3: a no-op apply changed something; reported as a FAIL below)
	in_ns lu "$ab" -c "$d/uplinkd.conf" --run-dir "$d/run-lu" --label lab --noop "$N_NOOP" \
		--profile >"$d/ab.out" 2>&1
	s=$?
	[ $s = 0 ] || [ $s = 3 ] || { cat "$d/ab.out"; fatal "apply_bench failed (lab)"; }
	cat "$d/ab.out"
	# the script baseline
	ms=$(timed ls "$d/script.out" sh "$d/plan.sh") || { cat "$d/script.out"; fatal "the baseline script failed (lab)"; }
	echo "lab-script: $ms ms (sh of the plan script: $(grep -Ec '^(ip|sysctl) ' "$d/plan.sh") commands + nft -f)"
	# uplinkd as a user runs it: a whole `uplinkctl apply` process, cold then again
	ms_ctl=$(timed lc "$d/ctl.out" "$ctl" apply -c "$d/uplinkd.conf" --run-dir "$d/run-lc") ||
		{ cat "$d/ctl.out"; fatal "uplinkctl apply failed (lab)"; }
	ms_ctl2=$(timed lc "$d/ctl2.out" "$ctl" apply -c "$d/uplinkd.conf" --run-dir "$d/run-lc") ||
		{ cat "$d/ctl2.out"; fatal "uplinkctl apply (again) failed (lab)"; }
	echo "lab-uplinkctl: $ms_ctl ms cold ($(tail -n 1 "$d/ctl.out")), $ms_ctl2 ms again ($(tail -n 1 "$d/ctl2.out"))"
	# what a process start costs here: the script pays it per command, uplinkctl once
	echo "process start (mean of 5): uplinkctl check $(per_run lc 5 "$ctl" check -c "$d/uplinkd.conf") ms," \
		"ip -V $(per_run lc 5 ip -V) ms, /bin/true $(per_run lc 5 /bin/true) ms"
	# the comparison is fair only if both build the same state
	if same_state lu ls "lab: apply_bench vs script" && same_state lu lc "lab: apply_bench vs uplinkctl apply"; then
		report "lab kernel state: uplinkd = script" "same" "same" "-" "identical" PASS
	else
		report "lab kernel state: uplinkd = script" "differs (above)" "-" "-" "identical" FAIL
	fi

	cold=$(field "$d/ab.out" lab-cold '([0-9.]+) ms')
	report "lab cold apply (apply_run)" "$cold ms, $(sed -nE 's/^lab-cold: [0-9.]+ ms, //p' "$d/ab.out")" \
		"$ms ms (script)" "$(ratio "$cold" "$ms")" "<= 0.10" \
		"$(le "$(ratio "$cold" "$ms")" 0.10 && echo PASS || echo FAIL)"
	# informational: under TCG a process start costs 100s of ms, uplinkctl's (38 libraries) most
	report "lab cold apply (uplinkctl apply process)" "$ms_ctl ms" "$ms ms (script)" \
		"$(ratio "$ms_ctl" "$ms")" "(info)" "$(le "$(ratio "$ms_ctl" "$ms")" 0.10 && echo "under 0.10" || echo "over 0.10")"
	noop_report lab "$d/ab.out"
	[ "$(ul_changes "$d/ctl2.out")" = 0 ] ||
		report "lab uplinkctl apply again" "$(tail -n 1 "$d/ctl2.out")" "-" "-" "0 changes" FAIL
	delns lu
	delns ls
	delns lc
	echo "(lab section: $((SECONDS - t0)) s)"
}

ul_changes() { sed -nE 's/^applied: ([0-9]+) changes?$/\1/p' "$1"; }

# noop_report LABEL FILE: the first no-op run is the contract; all runs must send no mutating message
noop_report() {
	local first worst n
	first=$(sed -nE "s/^$1-noop: //p" "$2" | head -n 1)
	worst=$(sed -nE "s/^$1-noop: .*rtnl [0-9]+ msgs \(([0-9]+) mutating\), nft [0-9]+ msgs \(([0-9]+) mutating\), ([0-9]+) changes/\\1 \\2 \\3/p" "$2" |
		awk '{ s = $1 + $2 + $3; if (s > m) m = s } END { print m + 0 }')
	n=$(grep -c "^$1-noop: " "$2")
	[ "$n" -gt 0 ] || fatal "no $1-noop figure"
	report "$1 no-op re-apply" "$first" "-" "-" "0 mutating" "$([ "$worst" = 0 ] && echo PASS || echo FAIL)"
}

# ---- the scaled config ----

# 64 static uplinks on VLANs 100..163 of wan0, uplink i: 198.18.i.2/24 via 198.18.i.1;
# 1000 policies from single LAN hosts 10.20.x.y, uplink i % 64, fallback the next; one policy to
# the 100 000 prefixes of dst.txt (11.0.0.0 - 18.161.255.255: no overlap with the uplinks).
scaled_conf() {
	local i
	echo "# The scaled benchmark config: $N_UPLINKS static uplinks on VLANs, $N_POLICIES policies, $N_PREFIXES destinations."
	printf '[global]\nlan = br0\n'
	for ((i = 0; i < N_UPLINKS; i++)); do
		printf '\n[uplink s%02d]\ntype = static\ndevice = wan0\nvlan = %d\nipv4 = 198.18.%d.2/24\ngateway = 198.18.%d.1\npriority = %d\n' \
			"$i" $((100 + i)) "$i" "$i" $((10 + i))
	done
	for ((i = 0; i < N_POLICIES; i++)); do
		printf '\n[policy p%04d]\nfrom = 10.20.%d.%d\nuplink = s%02d\nfallback = s%02d\n' \
			"$i" $((i / 200)) $((i % 200 + 1)) $((i % N_UPLINKS)) $(((i + 1) % N_UPLINKS))
	done
	printf '\n[policy big]\nto = @dst.txt\nuplink = s00\nfallback = s01\n'
}

scaled_wan() {
	in_ns "$1" ip -batch - <<'EOF' || fatal "cannot set up the WAN in $1"
link add wan0 address 02:00:00:00:00:01 type veth peer name isp0 address 02:00:00:00:00:02
link add br0 address 02:00:00:00:00:03 type bridge
link set isp0 up
link set wan0 up
link set br0 up
addr add 10.20.255.1/16 dev br0
EOF
}

# prepare_scaled DIR N: the scaled config with N destination prefixes, its plan and its table
prepare_scaled() {
	local d=$1
	mkdir -p "$d"
	"$ab" --gen-prefixes "$2" --seed "$SEED" >"$d/dst.txt" || fatal "cannot generate the prefixes"
	scaled_conf >"$d/uplinkd.conf"
	"$ctl" plan -c "$d/uplinkd.conf" >"$d/plan.sh" || fatal "uplinkctl plan failed (scaled)"
	nft_part "$d/plan.sh" >"$d/table.nft"
}

bench_scaled() {
	local d=$tmp/scaled ms cold r s t0=$SECONDS
	echo
	echo "== scaled config: $N_UPLINKS static uplinks on VLANs, $N_POLICIES policies, $N_PREFIXES-prefix set ($where, $kernel)"
	echo "baseline script: $(grep -Ec '^(ip|sysctl) ' "$d/plan.sh") ip/sysctl commands and nft -f of a" \
		"$(wc -l <"$d/table.nft")-line table"

	mkns su
	mkns ss
	scaled_wan su
	scaled_wan ss
	s=$SECONDS
	in_ns su "$ab" -c "$d/uplinkd.conf" --run-dir "$d/run-su" --label scaled --noop "$N_NOOP" \
		--profile >"$d/ab.out" 2>&1
	r=$?
	[ $r = 0 ] || [ $r = 3 ] || { cat "$d/ab.out"; fatal "apply_bench failed (scaled)"; }
	cat "$d/ab.out"
	echo "(apply_bench: $((SECONDS - s)) s)"
	ms=$(timed ss "$d/script.out" sh "$d/plan.sh") ||
		{ tail -n 20 "$d/script.out"; fatal "the baseline script failed (scaled)"; }
	echo "scaled-script: $ms ms (sh of the plan script: $(grep -Ec '^(ip|sysctl) ' "$d/plan.sh") commands + nft -f)"
	if same_state su ss "scaled: apply_bench vs script"; then
		report "scaled kernel state: uplinkd = script" "same" "same" "-" "identical" PASS
	else
		report "scaled kernel state: uplinkd = script" "differs (above)" "-" "-" "identical" FAIL
	fi
	delns ss

	cold=$(field "$d/ab.out" scaled-cold '([0-9.]+) ms')
	r=$(ratio "$cold" "$ms")
	report "scaled cold apply (apply_run)" "$cold ms, $(sed -nE 's/^scaled-cold: [0-9.]+ ms, //p' "$d/ab.out")" \
		"$ms ms (script)" "$r" "(none)" "-"
	noop_report scaled "$d/ab.out"

	delns su
	echo "(scaled section: $((SECONDS - t0)) s)"
	# the 100 000-prefix table: nft -f of the planned text against uplinkd's replace of it
	# (the applied table was compared with the script's, which loads the same text, above)
	bench_nft "$d" nolist
}

# bench_nft DIR [nolist]: nft -f of DIR/table.nft against build/bench/nft_apply (a whole
# process: the config with its prefix file, the plan, nft_table_replace) in fresh namespaces;
# both tables must list the same (not checked with nolist: listing 100 000 prefixes is slow in
# the VM, and the caller compared them already).
bench_nft() {
	local d=$1 ms_f ms_u rep r t0=$SECONDS
	echo
	echo "== $N_PREFIXES-prefix table: nft -f against uplinkd ($where, $kernel)"
	mkns nf
	mkns nu
	ms_f=$(timed nf "$d/nft-f.out" nft -f "$d/table.nft") || { cat "$d/nft-f.out"; fatal "nft -f failed"; }
	ms_u=$(timed nu "$d/nft-u.out" "$na" -c "$d/uplinkd.conf" --no-verify) ||
		{ cat "$d/nft-u.out"; fatal "nft_apply failed"; }
	rep=$(sed -nE 's/^nft-replace: ([0-9.]+) ms, ([0-9]+) messages$/\1 ms, \2 messages/p' "$d/nft-u.out")
	echo "nft-f: $ms_f ms (nft -f of the $(wc -l <"$d/table.nft")-line table, $N_PREFIXES prefixes)"
	echo "nft-uplinkd: $ms_u ms (nft_apply process: config + prefix file, plan, replace); nft_table_replace alone $rep"
	if [ "${2:-}" != nolist ]; then
		in_ns nf nft list table inet uplinkd >"$tmp/nft-nf.txt"
		in_ns nu nft list table inet uplinkd >"$tmp/nft-nu.txt"
		if cmp -s "$tmp/nft-nf.txt" "$tmp/nft-nu.txt"; then
			echo "nft: uplinkd's table lists exactly as nft -f's ($(wc -l <"$tmp/nft-nf.txt") lines)"
		else
			echo "nft: uplinkd's table lists DIFFERENTLY from nft -f's:"
			diff "$tmp/nft-nf.txt" "$tmp/nft-nu.txt" | head -n 20 | sed 's/^/    /'
			report "$N_PREFIXES-prefix table: uplinkd = nft -f" "differs (above)" "-" "-" "identical" FAIL
		fi
	fi
	r=$(ratio "$ms_u" "$ms_f")
	report "$N_PREFIXES-prefix table, uplinkd (process)" "$ms_u ms" "$ms_f ms (nft -f)" "$r" "<= 1.5" \
		"$(le "$r" 1.5 && echo PASS || echo FAIL)"
	r=$(ratio "${rep%% ms*}" "$ms_f")
	report "$N_PREFIXES-prefix table, nft_table_replace alone" "$rep" "$ms_f ms (nft -f)" "$r" "(info)" "-"
	delns nf
	delns nu
	echo "(nft section: $((SECONDS - t0)) s)"
}

# warm_up FULL: the first use of a kernel feature loads its module (in the VM: modprobe over 9p,
# and nf_tables replays the whole batch after each module it loads: 7 s for the lab table's first
# load), and the first run of a program reads it through the page cache; both would land on
# whichever contender runs first.  So everything is used once in a scratch namespace before the
# clock runs: the lab's and the scaled config's tables (the latter with a few prefixes), an
# ip6tnl and a VLAN (FULL=1 only), every program.
warm_up() {
	local t0=$SECONDS
	prepare_scaled "$tmp/warm" 16
	mkns warm
	in_ns warm nft -f "$tmp/warm/table.nft" || fatal "warm-up: nft -f of the scaled table failed"
	in_ns warm "$na" -c "$tmp/warm/uplinkd.conf" >/dev/null || fatal "warm-up: nft_apply failed"
	if [ "$1" = 1 ]; then
		in_ns warm nft -f "$tmp/lab/table.nft" || fatal "warm-up: nft -f of the lab table failed"
		lab_wan warm
		in_ns warm ip link add t0 type ip6tnl mode ipip6 local 2001:db8::1 remote 2001:db8::2 ||
			fatal "warm-up: no ip6tnl"
		in_ns warm ip link add link wan0 name wan0.7 type vlan id 7 || fatal "warm-up: no VLAN"
		in_ns warm "$ab" -c "$tmp/lab/uplinkd.conf" --run-dir "$tmp/warm/run" --noop 1 >/dev/null ||
			fatal "warm-up: apply_bench failed"
	fi
	in_ns warm sh -c 'sysctl -V; ip -V; nft -v' >/dev/null 2>&1
	"$ctl" check -c "$tmp/warm/uplinkd.conf" >/dev/null || fatal "warm-up: the scaled config is invalid"
	delns warm
	echo "(warm-up: $((SECONDS - t0)) s)"
}

print_results() {
	local r
	echo
	echo "== results: $1"
	printf '%-44s | %-72s | %-22s | %-6s | %-10s | %s\n' figure uplinkd baseline ratio target verdict
	for r in "${results[@]}"; do
		IFS='|' read -r a b c d e f <<<"$r"
		printf '%-44s | %-72s | %-22s | %-6s | %-10s | %s\n' "$a" "$b" "$c" "$d" "$e" "$f"
	done
}

full_run() {
	local t0=$SECONDS
	prepare_lab
	prepare_scaled "$tmp/scaled" "$N_PREFIXES"
	echo "(configs and plans: $((SECONDS - t0)) s)"
	warm_up 1
	case " $ONLY " in *" lab "*) bench_lab ;; esac
	case " $ONLY " in *" scaled "*) bench_scaled ;; esac
	print_results "$where, $kernel"
}

# ---- run ----

t_start=$(date +%s)
case "$mode" in
vm)
	[ $in_vm = 1 ] || fatal "--in-vm outside the lab VM"
	[ -z "$missing" ] || fatal "even the VM kernel lacks: $missing"
	echo "bench_apply: in the lab VM, $(nproc) CPUs, $(awk '/MemTotal/ { print int($2 / 1024) " MB" }' /proc/meminfo)"
	full_run
	;;
*)
	if [ -z "$missing" ]; then
		echo "bench_apply: the kernel has everything: all on the $where"
		full_run
	else
		echo "bench_apply: this kernel lacks: ${missing}-> the host runs the nftables comparison only"
		prepare_scaled "$tmp/scaled" "$N_PREFIXES"
		warm_up 0
		bench_nft "$tmp/scaled"
		print_results "$where, $kernel"
		host_failed=$failed
		if [ "$mode" = host ]; then
			echo "bench_apply: --host-only: the lab and scaled configs were not run"
		elif [ "$mode" = novm ]; then
			fatal "the kernel lacks: $missing(and --no-vm)"
		else
			echo
			echo "bench_apply: the rest in the lab VM (tests/lab/vm/vm-run)"
			UPLINKD_VM_MEM=${UPLINKD_VM_MEM:-1536} UPLINKD_VM_BOOTMSG=1 \
				"$top/tests/lab/vm/vm-run" -- bash "$here/bench_apply.sh" --in-vm
			rc=$?
			[ $rc -le 1 ] || fatal "the VM run failed (exit $rc)"
			failed=$((host_failed || rc))
		fi
	fi
	;;
esac
echo "bench_apply: $(($(date +%s) - t_start)) s"
if [ "$failed" != 0 ]; then
	echo "bench_apply: a target FAILED"
	exit 1
fi
echo "bench_apply: all targets met"
exit 0
