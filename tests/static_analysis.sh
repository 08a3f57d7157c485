#!/usr/bin/env bash
# Static analysis of agent/: cppcheck (warnings and portability). uthash/utlist macros
# confuse cppcheck's uninitialised-variable check, so uninitvar is suppressed for the two
# files built on them. Prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_ROOT:-build}
pass=0 fail=0
out=$(cppcheck --quiet --enable=warning,portability --inline-suppr --std=c11 -D_GNU_SOURCE \
	-DPROTOBUF_C_VERSION_NUMBER=1004001 -Iagent -I"$build/proto" --suppress=missingIncludeSystem \
	--suppress=uninitvar:agent/command_store.c --suppress=uninitvar:agent/dispatch.c \
	--error-exitcode=1 agent/*.c 2>&1)
if [ $? -eq 0 ]; then pass=$((pass + 1)); echo "ok cppcheck"; else fail=$((fail + 1)); echo "FAIL cppcheck"; echo "$out"; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
