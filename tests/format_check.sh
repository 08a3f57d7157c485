#!/usr/bin/env bash
# clang-format --dry-run -Werror over agent/ (the generated schema table excepted).
# Prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
pass=0 fail=0
for f in agent/*.c agent/*.h tests/unit/*.c; do
	[ "$f" = agent/cassandra_schema_table.c ] && continue
	if clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL $f: run clang-format -i $f"
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
