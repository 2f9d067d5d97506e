#!/bin/bash
# lib/conntrack.c (through build/bench/ct_probe) against real connections: a LAN namespace, a
# NAT router with two uplinks (wan1: snat into a 240-port range, like MAP-E; wan2: snat to its
# address), and the far side.  TCP, UDP and ICMP flows over IPv4 and IPv6, ct marks per uplink,
# a ct zone and an original-direction zone.  ct_usage must count what `conntrack -L` shows;
# ct_flush must delete exactly the matching entries and leave every other one; flushes racing
# each other must together delete each entry once, and none may fail.
#
# Everything runs in namespaces this script creates (never the host's) and removes on exit.
# Needs root; exits 77 (skip) otherwise.  Run from anywhere:
#   bash tests/integration/t_conntrack.sh
set -u -o pipefail
top=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$top" || exit 1

if [ "$(id -u)" != 0 ]; then
	echo "t_conntrack: needs root (network namespaces), skipped"
	exit 77
fi
for tool in conntrack nft python3 ping; do
	if ! command -v $tool >/dev/null; then
		echo "t_conntrack: $tool is not installed, skipped"
		exit 77
	fi
done
py=$(command -v python3)

prefix=${LAB_PREFIX:-ulct$$-}
tmp=$(mktemp -d /tmp/ul-ct-XXXXXX)
namespaces=()
# The helpers run as children of `ip netns exec` in subshells: killing the subshell would leave
# them running (and keeping the namespace alive), so whatever runs in our namespaces is ended.
cleanup() {
	local ns
	for ns in "${namespaces[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
	done
	wait 2>/dev/null
	for ns in "${namespaces[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

checks=0 failures=0
t_start=$(date +%s%N)
ok() {
	checks=$((checks + 1))
	echo "ok - $*"
}
not_ok() {
	checks=$((checks + 1))
	failures=$((failures + 1))
	echo "FAIL - $*"
}
fatal() {
	echo "t_conntrack: $*" >&2
	exit 1
}
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

mkns() {
	ip netns add "$prefix$1" || fatal "cannot create namespace $prefix$1"
	namespaces+=("$prefix$1")
}

# in_ns NAME CMD...: runs CMD in one of our namespaces, and nowhere else.
in_ns() {
	local ns=$prefix$1
	shift
	case " ${namespaces[*]} " in
	*" $ns "*) ;;
	*) fatal "refusing to run '$*' outside our namespaces ($ns)" ;;
	esac
	ip netns exec "$ns" "$@"
}

make -s build/bench/ct_probe >/dev/null || fatal "cannot build build/bench/ct_probe"
probe=$top/build/bench/ct_probe

# ---- helpers: traffic, and reading `conntrack -L` ----

cat >"$tmp/flows.py" <<'EOF'
import socket, struct, sys, time, select

def addr(host, port):
    return (host, int(port))

def family(host):
    return socket.AF_INET6 if ':' in host else socket.AF_INET

def echo_request(ident):
    """An ICMP echo request with our own id (ping picks its own)."""
    body = struct.pack('!BBHHH', 8, 0, 0, ident, 1) + b'ulct'
    csum = sum(struct.unpack('!%dH' % (len(body) // 2), body))
    csum = (csum & 0xffff) + (csum >> 16)
    return body[:2] + struct.pack('!H', ~csum & 0xffff) + body[4:]

def serve(tcp_ports, udp_ports, ready):
    """Dual-stack listeners: TCP connections are accepted and held, UDP datagrams echoed."""
    socks, held = [], []
    for kind, ports in ((socket.SOCK_STREAM, tcp_ports), (socket.SOCK_DGRAM, udp_ports)):
        for p in ports:
            s = socket.socket(socket.AF_INET6, kind)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(('::', p))
            if kind == socket.SOCK_STREAM:
                s.listen(1024)
            socks.append(s)
    open(ready, 'w').close()
    while True:
        r, _, _ = select.select(socks, [], [])
        for s in r:
            if s.type == socket.SOCK_STREAM:
                held.append(s.accept()[0])
            else:
                data, peer = s.recvfrom(2048)
                s.sendto(data, peer)

def client(specs, ready):
    """specs: tcp,HOST,PORT,N[,SPORT] (all from SPORT), udp,HOST,PORT,N,SPORT (N flows from
    SPORT on) or icmp,HOST,ID[,SRC]; holds the TCP connections."""
    held = []
    for spec in specs:
        f = spec.split(',')
        if f[0] == 'icmp':
            s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            if len(f) > 3:
                s.bind((f[3], 0))
            s.sendto(echo_request(int(f[2])), (f[1], 0))
            held.append(s)
            continue
        kind, host, port, n = f[0], f[1], int(f[2]), int(f[3])
        for i in range(n):
            if kind == 'tcp':
                s = socket.socket(family(host), socket.SOCK_STREAM)
                if len(f) > 4:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind(('', int(f[4])))
                s.settimeout(5)
                s.connect((host, port))
                held.append(s)
            else:
                s = socket.socket(family(host), socket.SOCK_DGRAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(('', int(f[4]) + i))
                s.settimeout(5)
                s.sendto(b'x', (host, port))
                s.recv(64)
                s.close()
    open(ready, 'w').close()
    while True:
        time.sleep(60)

def entries(path):
    """conntrack -L lines -> (key, proto, reply dst, reply port or id, mark)."""
    out = []
    for line in open(path):
        tok = line.split()
        if len(tok) < 4 or '=' not in line:
            continue
        proto, n_src, key = tok[0], 0, [tok[0]]
        rdst = rport = None
        mark = 0
        for t in tok[3:]:
            if '=' not in t:
                continue
            k, v = t.split('=', 1)
            if k == 'src':
                n_src += 1
            if n_src == 1 and k in ('src', 'dst', 'sport', 'dport', 'type', 'code', 'id'):
                key.append(t)
            elif k.startswith('zone'):
                key.append(t)
            elif n_src == 2 and k == 'dst':
                rdst = v
            elif n_src == 2 and k in ('dport', 'id'):
                rport = v
            elif k == 'mark':
                mark = int(v)
        key.append('mark=%d' % mark)
        out.append((' '.join(key), proto, rdst, rport, mark))
    return out

def main():
    cmd = sys.argv[1]
    if cmd == 'serve':
        serve([int(p) for p in sys.argv[2].split(',') if p],
              [int(p) for p in sys.argv[3].split(',') if p], sys.argv[4])
    elif cmd == 'client':
        client(sys.argv[3:], sys.argv[2])
    elif cmd == 'keys':
        for e in entries(sys.argv[2]):
            print(e[0])
    elif cmd == 'match':
        # keys of the entries ct_flush must delete: FILE NAT4|- MARK MASK
        nat4, mark, mask = sys.argv[3], int(sys.argv[4], 0), int(sys.argv[5], 0)
        for key, proto, rdst, rport, m in entries(sys.argv[2]):
            v4 = ':' not in key.split()[1]
            if (v4 and rdst == nat4) or (mask and (m & mask) == mark):
                print(key)
    elif cmd == 'usage':
        n, seen = 0, {'tcp': set(), 'udp': set(), 'icmp': set()}
        for key, proto, rdst, rport, m in entries(sys.argv[2]):
            if rdst != sys.argv[3]:
                continue
            n += 1
            if proto in seen:
                seen[proto].add(rport)
        print('entries %d tcp %d udp %d icmp %d' % (n, len(seen['tcp']), len(seen['udp']),
                                                   len(seen['icmp'])))

main()
EOF

# snapshot FILE: every entry of the router, both families
snapshot() {
	{ in_ns r conntrack -L -f ipv4; in_ns r conntrack -L -f ipv6; } 2>/dev/null >"$1"
}
keys() {
	"$py" "$tmp/flows.py" keys "$1" | sort
}
# helper NAME NS ARGS...: starts flows.py in NS, its output in $tmp/NAME.log
helper() {
	local name=$1 ns=$2
	shift 2
	in_ns "$ns" "$py" "$tmp/flows.py" "$@" >"$tmp/$name.log" 2>&1 &
}
# wait_for NAME: the helper's ready file, 10 s at most
wait_for() {
	local i
	for i in $(seq 100); do
		[ -e "$tmp/$1.ready" ] && return 0
		sleep 0.1
	done
	cat "$tmp/$1.log" >&2
	fatal "timed out waiting for helper $1"
}
ms_since() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

# ---- the lab: a (LAN) -- r (NAT router) =wan1,wan2= b (the far side) ----

mkns a
mkns r
mkns b
ip link add lan netns "${prefix}r" type veth peer name eth0 netns "${prefix}a" || fatal "veth"
ip link add wan1 netns "${prefix}r" type veth peer name up1 netns "${prefix}b" || fatal "veth"
ip link add wan2 netns "${prefix}r" type veth peer name up2 netns "${prefix}b" || fatal "veth"
set -e
# the LAN's IPv6 prefix begins with the 32 bits of 10.78.1.1: IPv6 entries must never match --nat4
in_ns a ip addr add 10.77.0.2/24 dev eth0
in_ns a ip addr add 10.77.0.3/24 dev eth0
in_ns a ip addr add a4e:101::2/64 dev eth0 nodad
in_ns r ip addr add 10.77.0.1/24 dev lan
in_ns r ip addr add a4e:101::1/64 dev lan nodad
in_ns r ip addr add 10.78.1.1/24 dev wan1
in_ns r ip addr add fd78:1::1/64 dev wan1 nodad
in_ns r ip addr add 10.78.2.1/24 dev wan2
in_ns r ip addr add fd78:2::1/64 dev wan2 nodad
in_ns b ip addr add 10.78.1.2/24 dev up1
in_ns b ip addr add fd78:1::2/64 dev up1 nodad
in_ns b ip addr add 10.78.2.2/24 dev up2
in_ns b ip addr add fd78:2::2/64 dev up2 nodad
for ns in a r b; do
	for dev in $(in_ns $ns ls /sys/class/net); do
		in_ns $ns ip link set "$dev" up
	done
done
in_ns a ip route add default via 10.77.0.1
in_ns a ip -6 route add default via a4e:101::1
in_ns b ip -6 route add a4e:101::/64 via fd78:1::1
in_ns r sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

# zones are set before conntrack (raw priority), marks and NAT after it
in_ns r nft -f - <<'EOF'
table inet t {
	chain raw {
		type filter hook prerouting priority raw; policy accept;
		iifname "lan" tcp dport 7001 ct zone set 5
		iifname { "wan1", "wan2" } tcp sport 7001 ct zone set 5
		iifname "lan" tcp dport 7002 ct original zone set 6
	}
	chain inbound {
		type filter hook prerouting priority mangle; policy accept;
		ct state new iifname "wan1" ct mark set 0x100
		ct state new iifname "wan2" ct mark set 0x1100
	}
	chain forward {
		type filter hook forward priority mangle; policy accept;
		ct state new oifname "wan1" meta nfproto ipv4 ct mark set 0x7
		ct state new oifname "wan2" meta nfproto ipv4 ct mark set 0x201
		ct state new oifname "wan1" meta nfproto ipv6 ct mark set 0x142
		ct state new oifname "wan2" meta nfproto ipv6 ct mark set 0x242
	}
}
table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan1" meta l4proto { tcp, udp, icmp } snat to 10.78.1.1:40000-40239
		oifname "wan1" masquerade
		oifname "wan2" snat to 10.78.2.1
	}
}
EOF
# the flows must outlive the test; the ping flows would time out after 30 s
in_ns r sysctl -qw net.netfilter.nf_conntrack_udp_timeout=600 \
	net.netfilter.nf_conntrack_udp_timeout_stream=600 \
	net.netfilter.nf_conntrack_icmp_timeout=600 net.netfilter.nf_conntrack_icmpv6_timeout=600
set +e
echo "# lab up in $(ms_since "$t_start") ms"

# ---- traffic ----
# Sockets bound to one port outside wan1's range, and echo requests with one id from two
# addresses, make NAT pick the ports and ids: the reply-side ones ct_usage counts then differ
# from the LAN's.

t0=$(date +%s%N)
helper b-serve b serve 7000,7001,7002 5300,5301 "$tmp/b-serve.ready"
helper r-serve r serve 2222 "" "$tmp/r-serve.ready"
wait_for b-serve
wait_for r-serve
helper a-client a client "$tmp/a-client.ready" \
	tcp,10.78.1.2,7000,12 tcp,10.78.2.2,7000,8 \
	tcp,10.78.1.2,7001,3 tcp,10.78.2.2,7001,2 tcp,10.78.1.2,7002,2 \
	tcp,10.78.1.2,7000,1,50000 tcp,10.78.1.2,7001,1,50000 tcp,10.78.1.2,7002,1,50000 \
	icmp,10.78.1.2,7 icmp,10.78.1.2,7,10.77.0.3 \
	tcp,fd78:1::2,7000,5 tcp,fd78:2::2,7000,4 \
	udp,10.78.1.2,5300,150,20000 udp,10.78.1.2,5301,150,20200 udp,10.78.2.2,5300,20,20400 \
	udp,fd78:1::2,5300,5,20500 udp,fd78:2::2,5300,5,20600
helper b-client b client "$tmp/b-client.ready" tcp,10.78.1.1,2222,3 tcp,10.78.2.1,2222,2
pings=()
for dst in 10.78.1.2 10.78.1.2 10.78.1.2 10.78.2.2 10.78.2.2 fd78:1::2 fd78:1::2 fd78:2::2; do
	in_ns a ping -q -c 2 -i 0.2 "$dst" >/dev/null &
	pings+=($!)
done
in_ns r ping -q -c 2 -i 0.2 -I 10.78.1.1 10.78.1.2 >/dev/null &
pings+=($!)
wait_for a-client
wait_for b-client
for p in "${pings[@]}"; do
	wait "$p" || not_ok "a ping (pid $p) failed"
done
echo "# traffic up in $(ms_since "$t0") ms"

snapshot "$tmp/s0"
echo "# router: $(grep -c . "$tmp/s0") conntrack entries ($(grep -c 'src=[0-9a-f]*:' "$tmp/s0") IPv6)"

# ---- ct_usage against conntrack -L ----

for a in 10.78.1.1 10.78.2.1 10.78.3.1; do
	want=$("$py" "$tmp/flows.py" usage "$tmp/s0" "$a")
	got=$(in_ns r "$probe" usage "$a" 2>&1)
	if [ "$got" = "$want" ]; then
		ok "usage $a: $got"
	else
		not_ok "usage $a: ct_probe says '$got', conntrack -L '$want'"
	fi
done
# the port range squeezes 300 UDP flows into at most 240 ports
u=$(in_ns r "$probe" usage 10.78.1.1)
check "usage 10.78.1.1 counts ports, not entries ($u)" \
	test "$(echo "$u" | awk '{ print ($6 <= 240 && $2 > 300) }')" = 1

# ---- flush uplink wan1: snat to 10.78.1.1, or ct mark 0x100/0xff00 ----

"$py" "$tmp/flows.py" match "$tmp/s0" 10.78.1.1 0x100 0xff00 | sort >"$tmp/d1"
keys "$tmp/s0" >"$tmp/k0"
comm -23 "$tmp/k0" "$tmp/d1" >"$tmp/keep1"
# the test is only worth something if every kind of entry is in the doomed set
for kind in '^tcp .*zone=5' '^tcp .*zone-orig=6' '^udp ' '^icmp ' '^icmpv6 ' 'src=a4e:101::2 .*mark=322' \
	'dport=2222 .*mark=256' 'src=10.78.1.1 .*mark=0'; do
	grep -q -- "$kind" "$tmp/d1" || not_ok "no entry like '$kind' among those to delete"
done
grep -q 'zone=5' "$tmp/keep1" || not_ok "no zone-5 entry among those to keep"

t0=$(date +%s%N)
out=$(in_ns r "$probe" flush --nat4 10.78.1.1 --mark 0x100 --mask 0xff00 --oif wan1 2>&1)
rc=$?
echo "# flush wan1: $out (ct_probe ran $(ms_since "$t0") ms)"
check "flush wan1 exits 0" test $rc = 0
check "flush wan1 reports $(wc -l <"$tmp/d1") deleted" \
	test "$(echo "$out" | awk '{ print $2 }')" = "$(wc -l <"$tmp/d1")"
snapshot "$tmp/s1"
keys "$tmp/s1" >"$tmp/k1"
left=$(comm -12 "$tmp/d1" "$tmp/k1")
check "every matching entry is gone" test -z "$left"
[ -z "$left" ] || echo "$left" | head -n 5
lost=$(comm -23 "$tmp/keep1" "$tmp/k1")
check "all $(wc -l <"$tmp/keep1") other entries survived" test -z "$lost"
[ -z "$lost" ] || echo "$lost" | head -n 5
check "no entry appeared" test "$(comm -13 "$tmp/k0" "$tmp/k1")" = ""
check "usage 10.78.1.1 is now 0" test "$(in_ns r "$probe" usage 10.78.1.1)" = "entries 0 tcp 0 udp 0 icmp 0"

# ---- refusals change nothing ----

out=$(in_ns r "$probe" flush --mark 0 --mask 0xff00 2>&1)
rc=$?
check "mark 0 is refused: $out" test $rc = 1
out=$(in_ns r "$probe" flush --mark 0x201 --mask 0xff00 --oif wan2 2>&1)
rc=$?
check "a mark outside its mask is refused: $out" test $rc = 1
snapshot "$tmp/s2"
check "refusals deleted nothing" test "$(keys "$tmp/s2")" = "$(cat "$tmp/k1")"

# ---- flushes of wan2 racing: each entry deleted once, none fails ----

t0=$(date +%s%N)
helper a-burst a client "$tmp/a-burst.ready" udp,10.78.2.2,5301,2000,30000
wait_for a-burst
echo "# 2000 more UDP flows over wan2 in $(ms_since "$t0") ms"
snapshot "$tmp/s3"
"$py" "$tmp/flows.py" match "$tmp/s3" 10.78.2.1 0x200 0xff00 | sort >"$tmp/d3"
keys "$tmp/s3" >"$tmp/k3"
comm -23 "$tmp/k3" "$tmp/d3" >"$tmp/keep3"
grep -q 'mark=4352' "$tmp/keep3" || not_ok "no 0x1100-marked entry among those to keep"
# Whether one's deletes meet entries another has deleted since its dump (ENOENT) is up to timing;
# whatever the interleaving, none may fail and the counts must add up.
racers=()
for i in 1 2 3; do
	in_ns r "$probe" flush --nat4 10.78.2.1 --mark 0x200 --mask 0xff00 --oif wan2 >"$tmp/f$i" 2>&1 &
	racers+=($!)
done
rcs="" total=0 split=""
for i in 1 2 3; do
	wait "${racers[$((i - 1))]}"
	rcs+=$?
	n=$(awk '$1 == "deleted" { print $2 }' "$tmp/f$i")
	total=$((total + ${n:-0}))
	split+="${split:+ + }${n:-?}"
done
echo "# racing flushes: $(cat "$tmp/f1" "$tmp/f2" "$tmp/f3" | paste -sd ",")"
check "three racing flushes exit 0" test "$rcs" = 000
check "together they deleted each of the $(wc -l <"$tmp/d3") entries once ($split)" \
	test "$total" = "$(wc -l <"$tmp/d3")"
snapshot "$tmp/s4"
keys "$tmp/s4" >"$tmp/k4"
check "every wan2 entry is gone" test -z "$(comm -12 "$tmp/d3" "$tmp/k4")"
check "the $(wc -l <"$tmp/keep3") others survived (inbound with mark 0x1100 among them)" \
	test "$(cat "$tmp/k4")" = "$(cat "$tmp/keep3")"

echo "# $checks checks, $failures failed, $(ms_since "$t_start") ms"
[ $failures = 0 ]
