#!/usr/bin/env bash
# Runs the integration tests with every cassandra-agent AND every cassandra-agentctl under
# valgrind memcheck (--leak-check=full) and fails on any error or definite/indirect leak it
# reports. Slow (valgrind runs our binaries 20-50x slower): run by hand, nightly style.
#
#   bash tests/valgrind.sh                      every test file that starts our binaries
#   bash tests/valgrind.sh test_agent test_sim  a subset (names of tests/integration/*.py, tests/sim/*.py)
#   bash tests/valgrind.sh test_agent:SocketClients,CheckConfig.test_good_config_and_example_pass
#                                               unittest names after ':' (comma separated)
#
# How: the two binaries of $BUILD_ROOT (default build/; not rebuilt here) are copied to a private
# directory (a rebuild during the run changes nothing), and BUILD_ROOT points the tests at wrapper
# scripts of the same names that exec valgrind on those copies. So every start is checked: the
# harness's and sim.py's agents, `--check-config`, agentctl on the socket and its offline commands
# (config set/rollback, truststore/keystore build), however a test calls them.
# The harness multiplies its waits by CA_TIME_SCALE (default 4 here, 1 without this script) and
# drains the agent's NOTIFY_SOCKET in the background (CA_NOTIFY_DRAIN=1), see harness.py.
# Environment: BUILD_ROOT, VALGRIND_TEST_TIMEOUT (s per test file, default 3600), CA_TIME_SCALE,
# VALGRIND_OPTS (extra valgrind options, read by valgrind itself, e.g. --track-origins=yes),
# KEEP_LOGS=1 (keep the logs even when everything passed).
# Prints a table (result, wall time, processes per test file), the valgrind verdict with every error
# record, and "N passed, N failed, N skipped"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
root=$PWD
build=$(cd "${BUILD_ROOT:-$root/build}" && pwd) || exit 2
for b in cassandra-agent cassandra-agentctl; do
	[ -x "$build/$b" ] || { echo "missing $build/$b: build first (ninja -C build)" >&2; exit 2; }
done
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }

# Deselected by default (printed on every run): tests that fail under valgrind by timing alone,
# with no valgrind report, as "test_file Class.test"; named explicitly they still run. None today
# (the three found were fixed in the tests: a 1 s bound scaled by CA_TIME_SCALE, a SIGHUP sent before
# the session was up, a snapshot slot passing between two reads).
deselect=()

logs=$(mktemp -d -t ca-valgrind.XXXXXX)
mkdir -p "$logs/real" "$logs/bin"
# shellcheck disable=SC2054 # the commas are inside valgrind option values
vgopts=(--leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
	--error-exitcode=99 --num-callers=30)
[ -f "$root/tests/valgrind.supp" ] && vgopts+=(--suppressions="$root/tests/valgrind.supp")
for b in cassandra-agent cassandra-agentctl; do
	cp "$build/$b" "$logs/real/$b"
	# One log per process, $logs/<test file>/<binary>.<pid>.log; <test file>/procs lists our processes.
	{
		echo '#!/bin/sh'
		echo "d=$(printf %q "$logs")/\${CA_VALGRIND_TEST:-other}"
		# shellcheck disable=SC2016 # expanded by the wrapper, not here
		echo 'mkdir -p "$d"'
		echo "echo \"\$\$ $b \$*\" >>\"\$d/procs\""
		echo "exec valgrind ${vgopts[*]} --log-file=\"\$d/$b.%p.log\" $(printf %q "$logs/real/$b") \"\$@\""
	} >"$logs/bin/$b"
	chmod +x "$logs/bin/$b"
done

export PROJECT_ROOT=$root BUILD_ROOT=$logs/bin PYTHONDONTWRITEBYTECODE=1
export SHARED_DATA=${SHARED_DATA:-$root/../shared/data} CA_TIME_SCALE=${CA_TIME_SCALE:-4} CA_NOTIFY_DRAIN=1
unset AGENT_WRAPPER CONFIG_CMD CERTS_CMD
limit=${VALGRIND_TEST_TIMEOUT:-3600}

tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
	# Every test file that starts cassandra-agent or cassandra-agentctl.
	for f in tests/integration/test_*.py tests/sim/test_*.py; do
		grep -qE "from harness import|AGENTCTL|cassandra-agentctl|from sim import" "$f" && tests+=("$(basename "$f" .py)")
	done
fi

pass=0 fail=0 skip=0 t_all=$SECONDS
echo "valgrind $(valgrind --version | sed 's/valgrind-//'), binaries of $build, CA_TIME_SCALE=$CA_TIME_SCALE, logs in $logs"
printf '%-22s %-6s %7s %7s %9s\n' "test file" result "wall s" agents agentctls | tee "$logs/table"
for spec in "${tests[@]}"; do
	t=${spec%%:*} names=()
	[ "$t" != "$spec" ] && IFS=, read -ra names <<<"${spec#*:}"
	dir=tests/integration
	[ -f "$dir/$t.py" ] || dir=tests/sim
	if [ ! -f "$dir/$t.py" ]; then
		echo "FAIL $t: no tests/integration/$t.py or tests/sim/$t.py" | tee -a "$logs/table"
		fail=$((fail + 1))
		continue
	fi
	drop=()
	for d in "${deselect[@]}"; do [ "${d%% *}" = "$t" ] && drop+=("${d#* }"); done
	if [ ${#names[@]} -eq 0 ] && [ ${#drop[@]} -gt 0 ]; then
		# Every test of the file but the deselected ones (the module is imported only to list them).
		mapfile -t names < <(cd "$dir" && /usr/bin/python3 - "$t" "${drop[@]}" <<'PY'
import sys, unittest
mod = __import__(sys.argv[1])
def ids(suite):
    for t in suite:
        yield from ids(t) if isinstance(t, unittest.TestSuite) else [t.id().split(".", 1)[1]]
for i in ids(unittest.defaultTestLoader.loadTestsFromModule(mod)):
    if i not in sys.argv[2:]:
        print(i)
PY
		)
		if [ ${#names[@]} -eq 0 ]; then
			echo "FAIL $t: cannot list its tests to deselect ${drop[*]}" | tee -a "$logs/table"
			fail=$((fail + 1))
			continue
		fi
		for d in "${drop[@]}"; do echo "     $t: deselected $d" >>"$logs/deselected"; done
	fi
	mkdir -p "$logs/$t"
	t0=$SECONDS
	CA_VALGRIND_TEST=$t timeout -s INT -k 60 "$limit" /usr/bin/python3 "$dir/$t.py" "${names[@]}" >"$logs/$t.out" 2>&1
	rc=$?
	case $rc in
	0) res=ok; pass=$((pass + 1)) ;;
	77) res=skip; skip=$((skip + 1)) ;;
	124) res=TIME; fail=$((fail + 1)) ;;
	*) res=FAIL; fail=$((fail + 1)) ;;
	esac
	na=$(grep -c " cassandra-agent " "$logs/$t/procs" 2>/dev/null) || na=0
	nc=$(grep -c " cassandra-agentctl " "$logs/$t/procs" 2>/dev/null) || nc=0
	printf '%-22s %-6s %7d %7d %9d\n' "$t" "$res" $((SECONDS - t0)) "$na" "$nc" | tee -a "$logs/table"
	[ "$res" = ok ] || [ "$res" = skip ] || grep -E -A12 "^(FAIL|ERROR):" "$logs/$t.out" | cut -c1-300 | sed 's/^/    | /'
done
echo "total wall time: $((SECONDS - t_all)) s" | tee -a "$logs/table"
[ -f "$logs/deselected" ] && cat "$logs/deselected"

# The valgrind verdict over every log: ERROR SUMMARY (which counts the definite/indirect leaks too)
# and every error record, also from processes ended by SIGKILL (no summary then).
if /usr/bin/python3 - "$logs" <<'PY' | tee "$logs/valgrind-summary"; then
import collections, glob, os, re, sys
logs = sys.argv[1]
ours = {}                                     # pid -> binary, for every process we started
for f in glob.glob(os.path.join(logs, "*", "procs")):
    for line in open(f):
        pid, binary = line.split()[:2]
        ours[pid] = binary
rows = collections.defaultdict(collections.Counter)   # test file -> counts
records = collections.OrderedDict()           # (message kind, frames) -> [count, example log, lines]
bad = 0
for path in sorted(glob.glob(os.path.join(logs, "*", "*.log"))):
    test, pid = os.path.basename(os.path.dirname(path)), path.rsplit(".", 2)[-2]
    row = rows[test]
    text = open(path, errors="replace").read()
    summary = re.search(r"ERROR SUMMARY: ([\d,]+) errors", text)
    if pid not in ours:
        row["fork children"] += 1             # the agent's fork before exec of nodetool etc.
    elif summary:
        row[ours[pid] + " checked"] += 1
    else:
        row[ours[pid] + " killed"] += 1       # SIGKILL (by the test) or still running: no leak check
    if summary:
        row["errors"] += int(summary.group(1).replace(",", ""))
        bad += int(summary.group(1).replace(",", "")) > 0
    for kind in ("definitely", "indirectly", "possibly"):
        m = re.search(r"%s lost: ([\d,]+) bytes in ([\d,]+) blocks" % kind, text)
        if m:
            row[kind + " B"] += int(m.group(1).replace(",", ""))
    # Error records: a paragraph whose second line is the top of a stack ("at 0x...").
    para = []
    for line in [re.sub(r"^==\d+== ?", "", l) for l in text.splitlines()] + [""]:
        if line.strip():
            para.append(line)
            continue
        if len(para) > 1 and re.match(r"\s+at 0x", para[1]):
            key = (re.sub(r"[\d,]+", "N", para[0]), tuple(re.sub(r"0x[0-9A-F]+: ", "", x.strip()) for x in para[1:]))
            records.setdefault(key, [0, path, para])[0] += 1
            bad += 1
        para = []
cols = ["cassandra-agent checked", "cassandra-agent killed", "cassandra-agentctl checked",
        "cassandra-agentctl killed", "fork children", "errors", "definitely B", "indirectly B", "possibly B"]
heads = ["agent_ok", "agent_kl", "ctl_ok", "ctl_kl", "forks", "errors", "def_B", "ind_B", "poss_B"]
print("valgrind per test file (_ok: leak-checked at exit; _kl: SIGKILLed by the test, no leak check; forks:")
print("the agent's children before their exec; errors: ERROR SUMMARY total; _B: bytes lost at exit)")
print("%-22s %s" % ("test file", " ".join("%8s" % h for h in heads)))
total = collections.Counter()
for test in sorted(rows):
    total.update(rows[test])
    print("%-22s %s" % (test, " ".join("%8d" % rows[test][c] for c in cols)))
print("%-22s %s" % ("total", " ".join("%8d" % total[c] for c in cols)))
indirect = 0
for (kind, frames), (n, path, para) in records.items():
    if "are indirectly lost" in para[0]:
        indirect += n                         # reached from a definitely lost block printed below
        continue
    print("== %dx %s  (e.g. %s)" % (n, para[0], os.path.relpath(path, logs)))
    for line in para[1:]:
        print("   " + line)
if indirect:
    print("== and %d indirectly lost record(s), reached from the definitely lost blocks above" % indirect)
if bad:
    print("FAIL valgrind: %d error record(s), %d distinct" % (sum(r[0] for r in records.values()), len(records)))
    sys.exit(1)
print("ok   valgrind: %d processes of ours (%d agents, %d agentctls), no error and no definite/indirect leak" % (
    len(ours), sum(b == "cassandra-agent" for b in ours.values()), sum(b == "cassandra-agentctl" for b in ours.values())))
PY
	pass=$((pass + 1))
else
	fail=$((fail + 1))
fi
echo "$pass passed, $fail failed, $skip skipped"
if [ "$fail" -eq 0 ] && [ "${KEEP_LOGS:-0}" != 1 ]; then
	rm -rf "$logs"
else
	echo "logs: $logs"
fi
[ "$fail" -eq 0 ]
