#!/bin/bash
# The nftables backend (lib/nft.c) against the running kernel, through build/bench/nft_apply:
# the plan of conf/examples/pppoe-mape-policy.conf loaded in one transaction reads back exactly
# as `nft -f` of the planned text does; nft_table_matches() sees hand edits; refused plans
# change nothing and say why; delete; and a 100 000-prefix set, timed against `nft -f`.
#
# Everything kernel-side runs in network namespaces this script creates (never the host's)
# and removes on exit.  Needs root; exits 77 (skip) otherwise.  Run from anywhere:
#   bash tests/integration/t_nft_backend.sh
set -u -o pipefail
top=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$top" || exit 1

if [ "$(id -u)" != 0 ]; then
	echo "t_nft_backend: needs root (network namespaces), skipped"
	exit 77
fi
if ! command -v nft >/dev/null; then
	echo "t_nft_backend: nft is not installed, skipped"
	exit 77
fi

prefix=${LAB_PREFIX:-ul-nft-$$-}
tmp=$(mktemp -d /tmp/ul-nft-XXXXXX)
namespaces=()
cleanup() {
	for ns in "${namespaces[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

checks=0 failures=0
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
	echo "t_nft_backend: $*" >&2
	exit 1
}

# mkns NAME: creates namespace $prefix$NAME, recorded for cleanup.
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

ms_since() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

make -s build/bench/nft_apply >/dev/null || fatal "cannot build build/bench/nft_apply"
bin=$top/build/bench/nft_apply

# The example with its password file and destination list next to it.
sed "s#/etc/uplinkd/#$tmp/#g" conf/examples/pppoe-mape-policy.conf >"$tmp/uplinkd.conf"
printf 'secret\n' >"$tmp/ocn.password"
chmod 600 "$tmp/ocn.password"
cp conf/examples/via-pppoe.txt "$tmp/"
plan=(-c "$tmp/uplinkd.conf" --facts tests/unit/golden/pppoe-mape-policy.conf.facts)

listing() {
	in_ns "$1" nft list table inet uplinkd
}

# ---- apply, and compare with nft -f of the same text ----

mkns a
mkns b
if out=$(in_ns a "$bin" "${plan[@]}" --print-to "$tmp/planned.nft" 2>&1); then
	ok "replace: $(echo "$out" | head -n 1)"
else
	not_ok "replace failed: $out"
fi
if echo "$out" | grep -q '^nft-matches: .* 0 mutating, result 1$'; then
	ok "matches after replace: 1, no mutating message"
else
	not_ok "matches after replace: $out"
fi

in_ns b nft -f "$tmp/planned.nft" || not_ok "nft -f of the planned text failed"
listing a >"$tmp/ours.txt"
listing b >"$tmp/theirs.txt"
if [ -s "$tmp/ours.txt" ] && cmp -s "$tmp/ours.txt" "$tmp/theirs.txt"; then
	ok "nft list shows our table exactly as nft -f's ($(wc -l <"$tmp/ours.txt") lines)"
else
	not_ok "nft list differs from nft -f's:"
	diff "$tmp/ours.txt" "$tmp/theirs.txt" | head -n 40
fi

if out=$(in_ns a "$bin" "${plan[@]}" 2>&1); then
	ok "replace over the existing table"
else
	not_ok "second replace: $out"
fi
if listing a | cmp -s - "$tmp/theirs.txt"; then
	ok "second replace reads back the same"
else
	not_ok "second replace reads back differently"
fi
if [ "$(in_ns a nft list tables)" = "table inet uplinkd" ]; then
	ok "only our table exists"
else
	not_ok "tables after replace: $(in_ns a nft list tables | tr '\n' ' ')"
fi

if out=$(in_ns a "$bin" "${plan[@]}" --check 2>&1) && [[ $out == *" 0 mutating, result 1" ]]; then
	ok "check only: $out"
else
	not_ok "check only: $out"
fi

# ---- hand edits are seen ----

handle_of() { # CHAIN PATTERN
	in_ns a nft -a list chain inet uplinkd "$1" | grep -- "$2" | sed -n 's/.*# handle \([0-9]*\)$/\1/p' | head -n 1
}

tamper() { # DESCRIPTION NFT-ARGS...
	local what=$1 out rc
	shift
	in_ns a "$bin" "${plan[@]}" >/dev/null 2>&1 || not_ok "$what: could not restore the table"
	if ! in_ns a nft "$@"; then
		not_ok "$what: nft $* failed"
		return
	fi
	out=$(in_ns a "$bin" "${plan[@]}" --check 2>&1)
	rc=$?
	if [ $rc = 3 ] && echo "$out" | grep -q ' 0 mutating, result 0$'; then
		ok "tamper: $what -> matches says 0"
	else
		not_ok "tamper: $what -> exit $rc: $out"
	fi
}

tamper "a rule added" add rule inet uplinkd wan_input counter
tamper "a rule deleted" delete rule inet uplinkd wan_input handle "$(handle_of wan_input 'ocn: accept')"
tamper "a rule changed, comment kept" replace rule inet uplinkd wan_input \
	handle "$(handle_of wan_input 'v6plus: accept')" iifname '"v6plus"' tcp dport 23 accept \
	comment '"v6plus: accept"'
tamper "snat address changed" replace rule inet uplinkd mape_v6plus_3 \
	handle "$(handle_of mape_v6plus_3 icmp)" meta l4proto icmp snat ip to 192.0.2.9:19776-19791
tamper "an element added" add element inet uplinkd pol_pppoe_destinations_dst4 '{ 9.9.9.9 }'
tamper "an element deleted" delete element inet uplinkd pol_pppoe_hosts_src4 '{ 192.168.1.20 }'
tamper "an interface set flushed" flush set inet uplinkd wan_ifs
tamper "a chain added" add chain inet uplinkd extra
tamper "a base chain's policy" add chain inet uplinkd forward '{ type filter hook forward priority 0; policy drop; }'
in_ns a "$bin" "${plan[@]}" >/dev/null 2>&1 || not_ok "could not restore the table"

# ---- refusals change nothing and say what and why ----

refused() { # BREAK EXPECTED-MESSAGE
	local before out rc
	before=$(listing a)
	out=$(in_ns a "$bin" "${plan[@]}" --break "$1" 2>&1)
	rc=$?
	if [ $rc = 1 ] && [[ $out == *"$2"* ]]; then
		ok "refused ($1): $out"
	else
		not_ok "refused ($1): exit $rc, want '$2': $out"
	fi
	if [ "$(listing a)" = "$before" ]; then
		ok "refused ($1): the table is unchanged"
	else
		not_ok "refused ($1): the table changed"
	fi
	if in_ns a "$bin" "${plan[@]}" --check >/dev/null 2>&1; then
		ok "refused ($1): the table still matches the plan"
	else
		not_ok "refused ($1): the table no longer matches the plan"
	fi
}

refused route-postrouting "nftables: chain postrouting: Operation not supported"
refused jump-nowhere 'nftables: rule 2 of chain input (comment "to a chain that is not there"): No such file or directory (at expression 1 (immediate))'

mkns c
out=$(in_ns c "$bin" "${plan[@]}" --break jump-nowhere 2>&1)
rc=$?
if [ $rc = 1 ] && [ -z "$(in_ns c nft list ruleset)" ]; then
	ok "a refused first replace leaves no table behind"
else
	not_ok "refused first replace: exit $rc: $out"
fi

# ---- delete ----

out=$(in_ns a "$bin" "${plan[@]}" --delete 2>&1)
if [[ $out == "nft-delete: existed,"* ]] && [ -z "$(in_ns a nft list ruleset)" ]; then
	ok "delete: $out"
else
	not_ok "delete: $out"
fi
out=$(in_ns a "$bin" "${plan[@]}" --delete 2>&1)
if [[ $out == "nft-delete: absent,"* ]]; then
	ok "delete again: $out"
else
	not_ok "delete again: $out"
fi
out=$(in_ns a "$bin" "${plan[@]}" --check 2>&1)
rc=$?
if [ $rc = 3 ]; then
	ok "check without a table: result 0"
else
	not_ok "check without a table: exit $rc: $out"
fi

# ---- 100 000 prefixes: ours against nft -f ----

n=${NFT_BIG_SET:-100000}
mkns d
mkns e
big=(--big-set "$n" --seed 42)
in_ns d "$bin" "${plan[@]}" "${big[@]}" --plan-only --print-to "$tmp/big.nft" ||
	fatal "cannot plan the big set"

t0=$(date +%s%N)
in_ns e nft -f "$tmp/big.nft" || not_ok "nft -f of the big table failed"
nft_ms=$(ms_since "$t0")

t0=$(date +%s%N)
out=$(in_ns d "$bin" "${plan[@]}" "${big[@]}" --no-verify 2>&1) || not_ok "big replace: $out"
ours_wall=$(ms_since "$t0")
ours_replace=$(echo "$out" | sed -n 's/^nft-replace: \([0-9.]*\) ms, \([0-9]*\) messages$/\1/p')
ours_msgs=$(echo "$out" | sed -n 's/^nft-replace: \([0-9.]*\) ms, \([0-9]*\) messages$/\2/p')

out2=$(in_ns d "$bin" "${plan[@]}" "${big[@]}" 2>&1) || not_ok "big replace over the table: $out2"
again=$(echo "$out2" | sed -n 's/^nft-replace: //p')
matches=$(echo "$out2" | sed -n 's/^nft-matches: //p')
if [[ $matches == *" 0 mutating, result 1" ]]; then
	ok "big: matches says 1 ($matches)"
else
	not_ok "big: matches: $out2"
fi

listing d >"$tmp/big-ours.txt"
listing e >"$tmp/big-theirs.txt"
if cmp -s "$tmp/big-ours.txt" "$tmp/big-theirs.txt"; then
	ok "big: nft list shows our table exactly as nft -f's"
else
	not_ok "big: nft list differs from nft -f's"
	diff "$tmp/big-ours.txt" "$tmp/big-theirs.txt" | head -20
fi
elements=$(in_ns d nft --debug=netlink list set inet uplinkd big_dst4 2>/dev/null | grep -c 'element ')

ratio=$(awk -v a="$ours_wall" -v b="$nft_ms" 'BEGIN { printf "%.2f", a / b }')
ratio_replace=$(awk -v a="$ours_replace" -v b="$nft_ms" 'BEGIN { printf "%.2f", a / b }')
echo "big set: $n prefixes, $elements elements in the kernel"
echo "nft-f: $nft_ms ms (wall, nft -f of the printed table)"
echo "nft-replace: $ours_replace ms, $ours_msgs messages (in-process, first load)"
echo "nft-replace-again: $again (over the loaded table)"
echo "nft-apply-wall: $ours_wall ms (whole nft_apply: config, plan, $n prefixes, replace)"
echo "ratio: $ratio (wall / nft -f), $ratio_replace (replace / nft -f)"
if awk -v r="$ratio" 'BEGIN { exit !(r <= 1.5) }'; then
	ok "big: ours within 1.5x of nft -f ($ratio)"
else
	not_ok "big: ours is $ratio x nft -f (target 1.5)"
fi

echo "t_nft_backend: $checks checks, $failures failed"
[ $failures = 0 ]
