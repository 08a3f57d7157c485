#!/usr/bin/env bash
# Runs integration tests with every cassandra-agent under valgrind memcheck
# (--leak-check=full) and fails on any error or leak it reports. Slow: run by hand
# (nightly style), e.g.  bash tests/valgrind.sh test_agent test_snapshots
# Prints each test file's result and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export PROJECT_ROOT=$PWD BUILD_ROOT=${BUILD_ROOT:-$PWD/build}
logs=$(mktemp -d)
export AGENT_WRAPPER="valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file=$logs/vg.%p.log"
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(test_agent test_snapshots test_cassandra_config test_maintenance)
pass=0 fail=0
for t in "${tests[@]}"; do
	if /usr/bin/python3 "tests/integration/$t.py" >"$logs/$t.out" 2>&1; then
		echo "ok   $t"
		pass=$((pass + 1))
	else
		echo "FAIL $t (tests failed under valgrind; see $logs/$t.out)"
		fail=$((fail + 1))
	fi
done
bad=$(grep -l -E "ERROR SUMMARY: [1-9]|definitely lost: [1-9]|indirectly lost: [1-9]|Invalid (read|write)|uninitialised" "$logs"/vg.*.log 2>/dev/null)
if [ -n "$bad" ]; then
	echo "FAIL valgrind reports:"
	for f in $bad; do echo "== $f"; head -40 "$f"; done
	fail=$((fail + 1))
else
	echo "ok   valgrind: $(ls "$logs"/vg.*.log 2>/dev/null | wc -l) agent processes, no error or leak reported"
	pass=$((pass + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
