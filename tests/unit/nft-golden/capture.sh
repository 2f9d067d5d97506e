#!/bin/bash
# Regenerates the golden files of tests/unit/test_nft.c: for each table the test builds,
# NAME.nft is its nft input (`build/tests/test_nft --print NAME`) and NAME.debug what
# `nft --debug=netlink -f NAME.nft` builds for it.  nft runs in a network namespace of its
# own, never in the host's.  Needs root; run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/../../.."
dir=tests/unit/nft-golden

if [ "$(id -u)" != 0 ]; then
	echo "capture.sh: needs root (ip netns)" >&2
	exit 1
fi
make -s build/tests/test_nft

ns=ul-nft-golden-$$
ip netns add "$ns"
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT

for name in vocabulary pppoe-mape-policy mape-gateway transix-fixed-ipv4 pppoe-ipv4-ipv6-pd; do
	build/tests/test_nft --print "$name" > "$dir/$name.nft"
	ip netns exec "$ns" nft flush ruleset
	ip netns exec "$ns" nft --debug=netlink -f "$dir/$name.nft" > "$dir/$name.debug"
	echo "capture.sh: $dir/$name.debug"
done
nft --version > "$dir/nft-version"
