#!/bin/bash
# uplinkd's reaction times and footprint, on veth uplinks (so it runs on any kernel, no VM):
#  - carrier loss -> new default route, p50/p99 over FLAPS cable pulls (tests/bench/flap_latency.c)
#  - a dead upstream behind a live link -> new default route, with the health check at its
#    defaults (check-interval 1s, check-fail 3)
#  - idle wakeups per second with no health check, and the daemon's RSS
# Targets: p99 < 10 ms, 0 wakeups/s idle, RSS < 4 MiB.  Every namespace is its own; all are
# removed on exit.  Usage: tests/bench/bench_failover.sh [FLAPS]
set -eu -o pipefail
top=$(cd "$(dirname "$0")/../.." && pwd -P)
flaps=${1:-100}
p=ulbf$$-
tmp=$(mktemp -d /tmp/uplinkd-bench.XXXXXX)
dpid=""
fail=0

ns() { ip netns exec "$p$1" "${@:2}"; }
cleanup() {
	[ -z "$dpid" ] || kill "$dpid" 2>/dev/null || true
	for n in r a b; do
		ip netns pids "$p$n" 2>/dev/null | xargs -r kill 2>/dev/null || true
		ip netns del "$p$n" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
[ "$(id -u)" = 0 ] || { echo "bench_failover: needs root (network namespaces)" >&2; exit 1; }
make -s -C "$top" build/uplinkd build/uplinkctl build/bench/flap_latency >/dev/null

for n in r a b; do
	ip netns add "$p$n"
	ns "$n" ip link set lo up
done
ip -n "${p}r" link add wan1 type veth peer name up1 netns "${p}a"
ip -n "${p}r" link add wan2 type veth peer name up2 netns "${p}b"
ns a ip addr add 198.51.100.1/24 dev up1
ns a ip link set up1 up
ns b ip addr add 203.0.113.1/24 dev up2
ns b ip link set up2 up

start() { # CONFIG
	ip netns exec "${p}r" "$top/build/uplinkd" -c "$1" --run-dir "$tmp/run" --log stderr 2>>"$tmp/uplinkd.log" &
	dpid=$!
	for _ in $(seq 100); do
		ns r "$top/build/uplinkctl" status --run-dir "$tmp/run" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "uplinkd did not start" >&2
	cat "$tmp/uplinkd.log" >&2
	exit 1
}
stop() { kill "$dpid"; wait "$dpid" 2>/dev/null || true; dpid=""; ns r "$top/build/uplinkctl" down --run-dir "$tmp/run" >/dev/null; }
default_dev() { ns r ip -4 route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1) }'; }

conf() { # CHECK_LINE
	cat <<EOF
[global]
hold-down = 0
firewall = no

[uplink isp1]
type = static
device = wan1
ipv4 = 198.51.100.2/24
gateway = 198.51.100.1
priority = 10
$1

[uplink isp2]
type = static
device = wan2
ipv4 = 203.0.113.2/24
gateway = 203.0.113.1
priority = 20
EOF
}

echo "== carrier loss -> new default route ($flaps flaps)"
conf "" >"$tmp/plain.conf"
start "$tmp/plain.conf"
sleep 0.5
out=$("$top/build/bench/flap_latency" "${p}r" "${p}a" up1 wan1 wan2 "$flaps")
echo "$out"
p99=$(echo "$out" | sed -nE 's/^carrier-loss event.*p99 ([0-9.]+) ms.*/\1/p')
p50=$(echo "$out" | sed -nE 's/^carrier-loss event.*p50 ([0-9.]+) ms.*/\1/p')
if awk -v v="$p99" 'BEGIN { exit !(v < 10) }'; then echo "PASS p99 $p99 ms < 10 ms"; else echo "FAIL p99 $p99 ms >= 10 ms"; fail=1; fi

echo "== idle: wakeups and memory (no health check)"
pid=$dpid
read -r v0 n0 < <(awk '/^voluntary_ctxt_switches/ { v = $2 } /^nonvoluntary_ctxt_switches/ { n = $2 } END { print v, n }' "/proc/$pid/status")
sleep 10
read -r v1 n1 < <(awk '/^voluntary_ctxt_switches/ { v = $2 } /^nonvoluntary_ctxt_switches/ { n = $2 } END { print v, n }' "/proc/$pid/status")
wake=$(awk -v a=$((v1 - v0 + n1 - n0)) 'BEGIN { printf "%.1f", a / 10 }')
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
echo "wakeups per second over 10 s idle: $wake (context switches $((v1 - v0 + n1 - n0)))"
echo "RSS after $flaps flaps: $rss kB"
if [ "$((v1 - v0 + n1 - n0))" = 0 ]; then echo "PASS 0 wakeups/s idle"; else echo "FAIL $wake wakeups/s idle"; fail=1; fi
if [ "$rss" -lt 4096 ]; then echo "PASS RSS $rss kB < 4 MiB"; else echo "FAIL RSS $rss kB >= 4 MiB"; fail=1; fi
stop

echo "== dead upstream (link up, no answers) -> new default route, health check at its defaults"
conf "check = icmp 198.51.100.1" >"$tmp/check.conf"
start "$tmp/check.conf"
sleep 3
times=()
for i in 1 2 3 4 5; do
	[ "$(default_dev)" = wan1 ] || { sleep 8; }
	ns a nft add table inet dead
	ns a nft add chain inet dead in '{ type filter hook input priority 0; }'
	ns a nft add rule inet dead in icmp type echo-request drop
	t0=$(date +%s%N)
	while [ "$(default_dev)" != wan2 ]; do sleep 0.01; done
	t=$((($(date +%s%N) - t0) / 1000000))
	times+=("$t")
	echo "run $i: the default moved to isp2 ${t} ms after the upstream stopped answering"
	ns a nft delete table inet dead
	while [ "$(default_dev)" != wan1 ]; do sleep 0.05; done
done
sum=0
for t in "${times[@]}"; do sum=$((sum + t)); done
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$dpid/status")
echo "health-check failover at defaults (1 s interval, 3 misses): mean $((sum / ${#times[@]})) ms over ${#times[@]} runs; RSS with a check running: $rss kB"
stop
echo "== p50 $p50 ms, p99 $p99 ms; idle $wake wakeups/s; see above for RSS"
exit $fail
