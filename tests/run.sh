#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/deps.sh
builddir=${BUILDDIR:-build}
if [ ! -d "$builddir" ]; then
  if [ -n "${SANITIZE:-}" ]; then
    meson setup "$builddir" --werror -Db_sanitize="$SANITIZE" -Db_lundef=false
  else
    meson setup "$builddir" --werror
  fi
fi
meson compile -C "$builddir"
rc=0
meson test -C "$builddir" --print-errorlogs --no-suite bench "$@" || rc=$?
# One closing line any CI reads: counts of meson tests from the test log.
/usr/bin/python3 - "$builddir/meson-logs/testlog.json" <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    counts["OK" if r in ("OK", "EXPECTEDFAIL") else "SKIP" if r == "SKIP" else "FAIL"] += 1
print("%d passed, %d failed, %d skipped" % (counts["OK"], counts["FAIL"], counts["SKIP"]))
PY
exit $rc
