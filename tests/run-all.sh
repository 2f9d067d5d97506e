#!/bin/bash
# The whole test suite, as README.md and CI run it: installs what it needs, builds with
# -Werror, runs the unit tests, a short fuzzing pass over each target's corpus and the
# integration tests (in a VM when this kernel lacks VLAN/ip6tnl/PPP) with the programs built with
# ASan and UBSan (make SANITIZE=1, build/san).
# Last line: "N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 1

passed=0
failed=0
result() { # name status
	if [ "$2" = 0 ]; then passed=$((passed + 1)); echo "PASS $1"; else failed=$((failed + 1)); echo "FAIL $1"; fi
}
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
	exit $?
}

if ! sh tests/deps.sh test; then
	result deps 1
	finish
fi
jobs=$(nproc 2>/dev/null || echo 2)
if ! make -s -j"$jobs" WERROR=1 all >/dev/null; then
	make -j1 WERROR=1 all 2>&1 | tail -20
	result build 1
	finish
fi
result build 0
# The integration tests run the ASan/UBSan build (build/san): any report fails its test.
if ! make -s -j"$jobs" WERROR=1 SANITIZE=1 all >/dev/null; then
	make -j1 WERROR=1 SANITIZE=1 all 2>&1 | tail -20
	result build-sanitize 1
	finish
fi
result build-sanitize 0

# Unit tests: each check case counts.
make -s -j"$jobs" WERROR=1 $(ls tests/unit/test_*.c | sed 's|tests/unit/\(.*\)\.c|build/tests/\1|') || result unit-build 1
for t in build/tests/test_*; do
	out=$(CK_DEFAULT_TIMEOUT=120 "$t" 2>&1)
	status=$?
	summary=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' | tail -1)
	if [ -z "$summary" ]; then
		printf '%s\n' "$out" | tail -20
		result "$(basename "$t")" 1
		continue
	fi
	printf '%s\n' "$out" | grep -E ':[EF]:' || true
	checks=$(printf '%s' "$summary" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
	bad=$(printf '%s' "$summary" | sed -E 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1+\2/')
	bad=$((bad))
	[ "$status" = 0 ] || [ "$bad" -gt 0 ] || bad=1
	passed=$((passed + checks - bad))
	failed=$((failed + bad))
	echo "unit $(basename "$t"): $summary"
done

# Fuzzing: replay the corpus and mutate for a short while; a full run is `make fuzz`.
if make -s FUZZ_SECONDS="${FUZZ_SECONDS:-20}" fuzz >build/fuzz.log 2>&1; then
	result fuzz 0
else
	tail -20 build/fuzz.log
	result fuzz 1
fi

# Integration tests against real kernels and peers.
if [ -x tests/integration/run ]; then
	# all of them with the sanitized build; the flood again with the normal one, whose memory
	# it measures (ASan's quarantine holds freed memory)
	for run in "build/san" "build daemon_flood"; do
		# shellcheck disable=SC2086 # the folder, then the filter
		set -- $run
		out=$(UPLINKD_BUILD=$1 tests/integration/run "${@:2}" 2>&1 | tee /dev/stderr | tail -1)
		n_pass=$(printf '%s' "$out" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1/p')
		n_fail=$(printf '%s' "$out" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\2/p')
		if [ -z "$n_pass" ]; then
			result "integration ($run)" 1
		else
			passed=$((passed + n_pass))
			failed=$((failed + n_fail))
		fi
	done
fi
finish
