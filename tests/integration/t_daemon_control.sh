#!/bin/bash
# Living with uplinkd: -n and --oneshot, the control socket (root only), status (text and JSON
# with the fields operators need), administrative down/up, reload through `uplinkctl apply` and
# SIGHUP (a broken file changes nothing), the ifupdown hook, the systemd unit, and secrets that
# never show.
set -eu -o pipefail
# shellcheck source=tests/lab/lab.sh disable=SC2119
. "$(dirname "$0")/../lab/lab.sh"
# shellcheck source=tests/integration/uplinkd.sh
. "$LAB_TOP/tests/integration/uplinkd.sh"
lab_up br aftr fixed
ul_router
pw=$(ul_secret transix "$LAB_FIXED_PASS")
config() { # PRIO_OF_DS
	ul_conf <<EOF
[global]
lan = br0
hold-down = 0

[uplink wan]
type = ipoe
device = wan0
token = ::feed

[uplink map]
type = mape
over = wan
priority = 10
check = icmp $LAB_INET4_ECHO

[uplink ds]
type = dslite
over = wan
aftr = $LAB_AFTR_NAME
priority = $1

[uplink fixed]
type = ipip6
over = wan
remote = $LAB_FIXED_REMOTE
ipv4 = $LAB_FIXED_IPV4
user = $LAB_FIXED_USER
password-file = $pw
priority = 30
EOF
}
config 20

t_eq "$(in_priv rtr "$UL_BIN/uplinkd" -n -c "$UL_CONF")" "configuration OK" "uplinkd -n checks the file"
sed 's/^priority = 30/priority = high/' "$UL_CONF" >"$LAB_DIR/cfg/bad.conf"
out=$(in_priv rtr "$UL_BIN/uplinkd" -n -c "$LAB_DIR/cfg/bad.conf" 2>&1) && t_fail "uplinkd -n accepted a bad file"
t_match "$out" "bad.conf:[0-9]+: \[uplink fixed\] priority: must be 0..65535 or none" "and names FILE:LINE in a bad one"

ul_daemon
ul_wait_up map 60
ul_wait_up ds 30
ul_wait_up fixed 30

# status, text and JSON
st=$(ul_ctl status)
echo "$st"
for u in wan map ds fixed; do t_match "$st" "^$u \(" "status has a paragraph for $u"; done
t_match "$st" "ports in use: [0-9]+ TCP, [0-9]+ UDP, [0-9]+ ICMP of 240" "status counts MAP-E's ports in use against 240"
ul_ctl status -j >"$LAB_DIR/status.json"
python3 - "$LAB_DIR/status.json" "$LAB_MAPE_IPV4" "$LAB_MAPE_PSID" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
need = ["name", "type", "state", "since", "device", "addresses", "table", "health", "counters", "usable"]
for u in s["uplinks"]:
    missing = [k for k in need if k not in u]
    assert not missing, (u["name"], missing)
    for k in ("loss_pct", "rtt_ms", "state"):
        assert k in u["health"], (u["name"], k)
    for k in ("rx_bytes", "tx_bytes"):
        assert k in u["counters"], (u["name"], k)
m = [u for u in s["uplinks"] if u["name"] == "map"][0]["mape"]
assert m["ipv4"] == sys.argv[2] and m["psid"] == int(sys.argv[3]), m
assert m["port_count"] == 240 and len(m["ports"]) == 15, m
assert set(m["ports_in_use"]) >= {"tcp", "udp", "icmp"}, m
assert s["default4"] == "map", s["default4"]
print("status -j: valid JSON,", len(s["uplinks"]), "uplinks")
PY
t_ok "status -j is valid JSON with state, since, device, addresses, table, health, counters, MAP-E ports"

# The control socket serves its clients by events: clients that connect and say nothing, or
# say too much, delay nobody and are dropped; every descriptor uplinkd holds is close-on-exec.
status_ms() {
	local t0
	t0=$(date +%s%N)
	ul_ctl status >/dev/null
	echo $((($(date +%s%N) - t0) / 1000000))
}
base=$(status_ms)
in_priv rtr python3 - "$LAB_DIR/silent.ready" >"$LAB_DIR/silent.log" 2>&1 <<'PY' &
import socket, sys, time
silent = []
for i in range(4):
    s = socket.socket(socket.AF_UNIX)
    s.connect("/run/uplinkd/control")
    silent.append(s)
open(sys.argv[1], "w").close()
big = socket.socket(socket.AF_UNIX)
big.settimeout(10)
big.connect("/run/uplinkd/control")
try:
    big.sendall(b"x" * 65536)
except OSError:
    pass
answer = b""
try:
    while True:
        b = big.recv(4096)
        if not b:
            break
        answer += b
except OSError as e:
    answer += str(e).encode()
print("big:", answer.decode(errors="replace").replace("\n", " | "))
t0 = time.monotonic()
for s in silent:
    s.settimeout(20)
    try:
        gone = s.recv(100) == b""
    except OSError:
        gone = False
    print("silent:", "dropped" if gone else "kept", "after %.1fs" % (time.monotonic() - t0))
PY
silent=$!
lab_wait_file 10 "$LAB_DIR/silent.ready"
ms=$(status_ms)
# (each silent client held a blocking uplinkd for 2 s)
[ "$ms" -lt $((base + 1500)) ] || t_fail "with 4 silent clients connected, status took ${ms} ms (${base} ms without)"
t_ok "4 clients that connect and say nothing do not delay status (${ms} ms, ${base} ms without)"
wait "$silent" || true
cat "$LAB_DIR/silent.log"
t_match "$(cat "$LAB_DIR/silent.log")" "^big: error: request too long \| FAIL \|" "a request without end is refused"
t_eq "$(grep -c '^silent: dropped' "$LAB_DIR/silent.log")" 4 "the silent clients are dropped"
t_match "$(ul_log)" "control: dropped a client that sent no request in 5s" "and uplinkd says so"
pid=$(ul_pid)
leaks=""
for fd in /proc/"$pid"/fd/*; do
	n=${fd##*/}
	what=$(readlink "$fd" || true)
	case "$what" in socket:* | anon_inode:*) ;; *) continue ;; esac
	flags=$(awk '/^flags:/ { print $2 }' "/proc/$pid/fdinfo/$n")
	[ $((8#$flags & 8#2000000)) != 0 ] || leaks="$leaks $n=$what"
done
[ -z "$leaks" ] || t_fail "descriptors of uplinkd without close-on-exec (a child inherits them):$leaks"
t_ok "every socket, epoll, timerfd and signalfd of uplinkd is close-on-exec"

# administrative down and up
out=$(ul_ctl down map)
echo "$out"
t_match "$out" "uplink map: down" "uplinkctl down map answers"
t_eq "$(ul_default)" ds "the default route moved to DS-Lite"
t_eq "$(ul_json '[u["state"] for u in s["uplinks"] if u["name"] == "map"][0]')" admin-down "status says admin-down"
ul_ctl up map >/dev/null
ul_wait_default map 10 >/dev/null
t_ok "uplinkctl up map: MAP-E carries the default route again"
out=$(ul_ctl down nosuch 2>&1) && t_fail "down of an unknown uplink succeeded"
t_match "$out" 'no uplink named "nosuch"' "an unknown uplink is named in the error"

# reload: uplinkctl apply goes through the daemon and prints its result
config 5
out=$(ul_apply)
echo "$out"
t_match "$out" "ip route replace default dev ds" "apply reported the daemon's changes"
t_match "$out" "^applied: [0-9]+ changes?$" "and their count"
t_eq "$(ul_default)" ds "DS-Lite (now priority 5) has the default route"
config 20
sed -i 's/^\[uplink ds\]/[uplink ds]\nbogus = 1/' "$UL_CONF"
out=$(ul_apply 2>&1) && t_fail "apply accepted a broken file"
t_match "$out" "uplinkd.conf:[0-9]+: \[uplink ds\] bogus: unknown key" "a broken file: FILE:LINE, before the daemon is asked"
t_eq "$(ul_default)" ds "and the running configuration is unchanged"
# an empty file (a write cut short) is an error, not a router without uplinks
: >"$UL_CONF"
out=$(ul_apply 2>&1) && t_fail "apply accepted an empty file"
t_match "$out" "uplinkd.conf: no \[uplink\] section" "an empty file: no [uplink] section"
in_ns rtr kill -HUP "$(ul_pid)"
lab_wait 10 grep -q "uplinkd.conf: no \[uplink\] section" "$LAB_DIR/log/uplinkd.log" ||
	t_fail "uplinkd did not reject the empty file on SIGHUP"
t_eq "$(ul_default)" ds "SIGHUP with the empty file keeps the running configuration"
ul_state_is map up || t_fail "MAP-E went down on SIGHUP with an empty file"
ul_state_is fixed up || t_fail "the fixed IPv4 went down on SIGHUP with an empty file"
t_ok "and its uplinks stay up"
config 20
in_ns rtr kill -HUP "$(ul_pid)"
ul_wait_default map 10 >/dev/null
t_match "$(ul_log)" "SIGHUP: reloading" "SIGHUP reloads the file"

# the control socket is root's
out=$(in_priv rtr setpriv --reuid=65534 --regid=65534 --clear-groups "$UL_BIN/uplinkctl" status 2>&1) &&
	t_fail "a non-root user got the status"
t_ok "a non-root user cannot talk to uplinkd ($out)"

# the ifupdown hook: a used interface makes uplinkd reconcile, others are ignored
mkdir -p "$LAB_DIR/etc/uplinkd"
cp "$UL_CONF" "$LAB_DIR/etc/uplinkd/uplinkd.conf"
# installed by `make install` (the hook and the unit as a package would ship them), pointing at
# the build's programs and the lab's configuration
make -s -C "$LAB_TOP" install DESTDIR="$LAB_DIR/inst" SBINDIR="$UL_BIN" SYSCONFDIR="$LAB_DIR/etc" \
	IFUPDOWNDIR=/etc/network SYSTEMDUNITDIR=/lib/systemd/system >/dev/null
cp "$LAB_DIR/inst/etc/network/if-post-down.d/uplinkd" "$LAB_DIR/hook"
out=$(in_priv rtr env IFACE=lan9 MODE=start PHASE=post-up "$LAB_DIR/hook")
t_eq "$out" "lan9: not used by the configuration" "the hook leaves an interface uplinkd does not use alone"
out=$(in_priv rtr env IFACE=wan0 MODE=start PHASE=post-up "$LAB_DIR/hook")
t_match "$out" "^wan0: reconciled, 0 changes$" "the hook makes uplinkd look at wan0 (nothing to do)"
t_match "$(ul_log)" "wan0 changed \(ifupdown\)" "and uplinkd logs it"
out=$(in_priv rtr env IFACE=lo "$LAB_DIR/hook")
t_eq "$out" "" "the hook ignores lo"

# secrets
if grep -F -- "$LAB_FIXED_PASS" "$LAB_DIR/log/uplinkd.log" "$LAB_DIR/status.json"; then
	t_fail "the password is in the log or the status"
fi
in_ns rtr ps -eo args >"$LAB_DIR/ps.txt"
if grep -F -- "$LAB_FIXED_PASS" "$LAB_DIR/ps.txt"; then t_fail "the password is in a process argument"; fi
t_ok "the password is in no log line, status output or process argument"

# the systemd unit
cp "$LAB_DIR/inst/lib/systemd/system/uplinkd.service" "$LAB_DIR/uplinkd.service"
out=$(systemd-analyze verify "$LAB_DIR/uplinkd.service" 2>&1) || t_fail "systemd-analyze verify: $out"
t_ok "systemd-analyze verify passes on the unit"
sec=$(systemd-analyze security --offline=yes "$LAB_DIR/uplinkd.service" 2>&1) || t_fail "systemd-analyze security: $sec"
t_match "$sec" "ProtectKernelTunables=.*cannot alter kernel tunables" "the unit protects the kernel tunables"
exposure=$(sed -nE 's/.*Overall exposure level for uplinkd.service: ([0-9.]+).*/\1/p' <<<"$sec")
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.8) }' || t_fail "systemd-analyze security: exposure $exposure, want <= 2.8"
t_ok "systemd-analyze security: exposure $exposure"

# stop, then --oneshot: the same result without a daemon
in_ns rtr kill "$(ul_pid)"
lab_wait 10 sh -c "! pgrep -x uplinkd >/dev/null"
t_match "$(ul_log)" "stopped; the kernel keeps its routes" "uplinkd stops on SIGTERM and says what it leaves"
t_eq "$(ul_default)" map "the routes stay after it stops"
in_ns rtr ip route del default
in_ns rtr sysctl -qw net.ipv4.ip_forward=0
# as the unit runs it (ProtectKernelTunables=yes, ReadWritePaths=/proc/sys/net): /proc/sys and
# /sys read-only but for /proc/sys/net
# shellcheck disable=SC2016 # expanded by the inner sh
in_priv rtr unshare -m sh -c 'mount --make-rprivate / && mount --bind /proc/sys/net /proc/sys/net &&
	mount --rbind /proc/sys /proc/sys &&
	mount -o remount,bind,ro /proc/sys && mount -o remount,bind,ro /sys &&
	! sh -c "echo core >/proc/sys/kernel/core_pattern" 2>/dev/null &&
	exec "$0" --oneshot -c "$1" --log stderr' "$UL_BIN/uplinkd" "$UL_CONF" 2>"$LAB_DIR/oneshot.log" ||
	t_fail "uplinkd --oneshot with read-only kernel tunables: $(cat "$LAB_DIR/oneshot.log")"
t_eq "$(ul_default)" map "uplinkd --oneshot put the default route back"
t_eq "$(in_ns rtr sysctl -n net.ipv4.ip_forward)" 1 "and forwarding, with /proc/sys read-only but for /proc/sys/net"
out=$(ul_ctl down)
t_match "$out" "^removed: [0-9]+ changes$" "uplinkctl down removes the rest"
t_eq "$(ul_default)" none "no default route is left"
