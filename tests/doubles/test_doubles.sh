#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Self-test of the test doubles in tests/doubles: fake_nodetool, cql_responder.py, mockbus.py
# (+ busctl_unit.sh).  Usage: tests/doubles/test_doubles.sh   (no arguments)
#
# Sample outputs are read from $SHARED_DATA/cassandra/nodetool (default: ../shared/data
# relative to the project root); when they are missing the byte-exact diffs are SKIPped.
# Every wait is bounded; every process started here is killed by PID on exit.
# Prints "N passed, N failed" and exits non-zero if anything failed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SHARED=${SHARED_DATA:-$ROOT/../shared/data}
SAMPLES=$SHARED/cassandra/nodetool
PY=/usr/bin/python3
NT=$HERE/fake_nodetool
WORK=$(mktemp -d "${TMPDIR:-/tmp}/doubles-test.XXXXXX")
PIDS=()
pass=0
fail=0
skip=0

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		# bounded wait: give each 3 s, then SIGKILL
		for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { pass=$((pass + 1)); echo "PASS $1"; }
bad() {
	fail=$((fail + 1))
	echo "FAIL $1"
	if [ -n "${2:-}" ]; then printf '%s\n' "$2" | head -30 | sed 's/^/    /'; fi
}
skipped() { skip=$((skip + 1)); echo "SKIP $1"; }
checkx() { # NAME 'SHELL CONDITION' (evaluated; for compound conditions)
	local name=$1
	shift
	if eval "$*"; then ok "$name"; else bad "$name"; fi
}
check() { # NAME CONDITION-COMMAND...
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
# same NAME EXPECTED_FILE CMD... : stdout of CMD must equal EXPECTED_FILE byte for byte
same() {
	local name=$1 exp=$2
	shift 2
	local got=$WORK/got.$$ rc=0
	"$@" >"$got" 2>"$WORK/err.$$" || rc=$?
	if [ $rc -ne 0 ]; then
		bad "$name (rc=$rc)" "$(cat "$WORK/err.$$")"
	elif cmp -s "$got" "$exp"; then
		ok "$name"
	else
		bad "$name" "$(diff <(cat -A "$exp") <(cat -A "$got") || true)"
	fi
}
mkstate() { # SRC DST VERSION
	"$PY" - "$1" "$2" "$3" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
s['version'] = sys.argv[3]
json.dump(s, open(sys.argv[2], 'w'), indent=1)
EOF
}
nt() { "$NT" --state "$STATE" --node "$NODE" --log "$WORK/calls.log" "$@"; }
# run CMD..., set RC, OUT, ERR (never trips set -e)
run() {
	RC=0
	"$@" >"$WORK/out" 2>"$WORK/err" || RC=$?
	OUT=$(cat -v "$WORK/out")
	ERR=$(cat "$WORK/err")
}
now_ms() { date +%s%3N; }

HAVE_SAMPLES=1
if [ ! -d "$SAMPLES" ]; then
	HAVE_SAMPLES=0
	echo "SKIP byte-exact sample diffs: $SAMPLES not found (set SHARED_DATA)"
fi
sample() { # NAME -> path, or empty when missing
	[ $HAVE_SAMPLES -eq 1 ] && [ -f "$SAMPLES/$1" ] && echo "$SAMPLES/$1" || true
}
same_sample() { # NAME SAMPLEFILE CMD...
	local name=$1 want=$2 f
	f=$(sample "$want")
	shift 2
	if [ -z "$f" ]; then skipped "$name (sample $want missing)"; else same "$name" "$f" "$@"; fi
}

echo "== fake_nodetool: formats per version"
for v in 3.11.18 4.0.15 4.1.8 5.0.2; do
	STATE=$WORK/c-$v.json
	mkstate "$HERE/cluster-6.json" "$STATE" "$v"
	NODE=10.0.1.11
	case $v in
	3.11.*) st_no=nodetool-status-3.11-no-keyspace.txt st_ks=nodetool-status-3.11-keyspace.txt
		info=nodetool-info-3.11.txt ls=nodetool-listsnapshots-3.11-4.0.txt ;;
	4.0.*) st_no=nodetool-status-4x-no-keyspace.txt st_ks=nodetool-status-4x-keyspace.txt
		info=nodetool-info-4.0-4.1.txt ls=nodetool-listsnapshots-3.11-4.0.txt ;;
	4.1.*) st_no=nodetool-status-4x-no-keyspace.txt st_ks=nodetool-status-4x-keyspace.txt
		info=nodetool-info-4.0-4.1.txt ls=nodetool-listsnapshots-4.1-5.0.txt ;;
	5.0.*) st_no=nodetool-status-4x-no-keyspace.txt st_ks=nodetool-status-4x-keyspace.txt
		info=nodetool-info-5.0.txt ls=nodetool-listsnapshots-4.1-5.0.txt ;;
	esac
	same_sample "$v status" "$st_no" nt status
	same_sample "$v status app" "$st_ks" nt -h 127.0.0.1 -p 7199 status app
	same_sample "$v info" "$info" nt info
	same_sample "$v listsnapshots" "$ls" nt listsnapshots
	if [ "${v%%.*}" = 3 ]; then
		same_sample "$v describecluster" nodetool-describecluster-3.11.txt nt describecluster
	elif f=$(sample nodetool-describecluster-4x.txt) && [ -n "$f" ]; then
		sed "s/^\t4\.1\.8: /\t$v: /" "$f" >"$WORK/dc-$v.txt"
		same "$v describecluster" "$WORK/dc-$v.txt" nt describecluster
	else
		skipped "$v describecluster"
	fi
	if f=$(sample nodetool-version.txt) && [ -n "$f" ]; then
		sed "s/4\.1\.8/$v/" "$f" >"$WORK/ver-$v.txt"
		same "$v version" "$WORK/ver-$v.txt" nt version
	else
		skipped "$v version"
	fi
	NODE=10.0.1.12 same_sample "$v listsnapshots (none)" nodetool-listsnapshots-empty.txt nt listsnapshots
	same_sample "$v statusbinary" nodetool-statusbinary.txt nt statusbinary
	same_sample "$v statusgossip" nodetool-statusgossip.txt nt statusgossip

	# snapshot / clearsnapshot round trip on a node without snapshots
	NODE=10.0.1.13
	run nt snapshot -t selftest app
	check "$v snapshot -t selftest app" [ $RC -eq 0 ]
	check "$v snapshot output" grep -qx 'Requested creating snapshot(s) for \[app\] with snapshot name \[selftest\] and options {skipFlush=false}' "$WORK/out"
	run nt listsnapshots
	check "$v listsnapshots shows the new snapshot" [ "$(grep -c '^selftest  *app  *\(orders\|customers\) ' "$WORK/out")" = 2 ]
	run nt snapshot -t selftest app
	checkx "$v duplicate snapshot tag fails (rc 2)" '[ $RC -eq 2 ] && [[ $ERR == "error: Snapshot selftest already exists."* ]]'
	run nt clearsnapshot -t selftest
	check "$v clearsnapshot -t selftest" [ $RC -eq 0 ]
	run nt listsnapshots
	check "$v snapshot gone" grep -qx 'There are no snapshots' "$WORK/out"
	run nt reloadseeds
	if [ "${v%%.*}" = 3 ]; then
		check "$v reloadseeds is unknown (rc 1)" [ $RC -eq 1 ]
		check "$v reloadseeds message" grep -qx 'nodetool: Found unexpected parameters: \[reloadseeds\]' "$WORK/out"
	else
		check "$v reloadseeds ok" [ $RC -eq 0 ]
		nt snapshot -t a1 >/dev/null && nt snapshot -t a2 app >/dev/null
		run nt clearsnapshot --all
		checkx "$v clearsnapshot --all" '[ $RC -eq 0 ] && [ "$OUT" = "Requested clearing snapshot(s) for [all keyspaces] with [all snapshots]" ]'
		run nt listsnapshots
		check "$v nothing left after --all" grep -qx 'There are no snapshots' "$WORK/out"
		run nt clearsnapshot
		check "$v clearsnapshot without -t/--all fails (rc 2)" [ $RC -eq 2 ]
	fi
	run nt drain
	checkx "$v drain prints nothing" '[ $RC -eq 0 ] && [ -z "$OUT" ]'
	same_sample "$v statusbinary after drain" nodetool-statusbinary-disabled.txt nt statusbinary
	same_sample "$v statusgossip after drain" nodetool-statusgossip-disabled.txt nt statusgossip
	run nt netstats
	check "$v netstats after drain" [ "$(head -2 "$WORK/out")" = $'Mode: DRAINED\nNot sending any streams.' ]
done

STATE=$WORK/c-5.0.2.json NODE=10.0.1.11
same_sample "5.0.2 listsnapshots -e" nodetool-listsnapshots-5.0-ephemeral-flag.txt nt listsnapshots -e
same_sample "5.0.2 version -v" nodetool-version-5.0-verbose.txt nt version -v
STATE=$WORK/c-4.1.8.json
run nt version -v
check "4.1 version -v is unknown (rc 1)" [ $RC -eq 1 ]

echo "== fake_nodetool: cluster scenarios (4.1.8)"
STATE=$WORK/scen.json NODE=10.0.1.11
cp "$HERE/cluster-6.json" "$STATE"
"$NT" --state "$STATE" --node 10.0.1.12 fake-set status=D
same_sample "one node down: describecluster" nodetool-describecluster-4x-one-down.txt nt describecluster
run "$NT" --state "$STATE" --node 10.0.1.12 status
check "down node: rc 1" [ $RC -eq 1 ]
check "down node: JMX error on stderr" [ "$ERR" = "nodetool: Failed to connect to '127.0.0.1:7199' - ConnectException: 'Connection refused (Connection refused)'." ]
"$PY" - "$STATE" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
s['nodes'].append({"address": "10.0.2.24", "datacenter": "dc2", "rack": "rack1", "status": "U", "state": "J",
                   "load_bytes": 108268, "host_id": "9c8b7a6d-5e4f-4321-9a8b-7c6d5e4f3a24"})
json.dump(s, open(sys.argv[1], 'w'))
EOF
same_sample "down + joining: status app" nodetool-status-4x-down-joining.txt nt status app
run nt bogus arg
check "unknown subcommand: rc 1" [ $RC -eq 1 ]
check "unknown subcommand: airline message" [ "$OUT" = $'nodetool: Found unexpected parameters: [bogus, arg]\nSee \'nodetool help\' or \'nodetool help <command>\'.' ]
run nt status nosuchks
checkx "status unknown keyspace: rc 1" '[ $RC -eq 1 ] && [[ $OUT == *"Error: The keyspace nosuchks, does not exist"* ]]'
for c in tpstats compactionstats ring gossipinfo cleanup repair rebuild flush reloadssl netstats; do
	run nt $c
	check "$c exits 0" [ $RC -eq 0 ]
done

echo "== fake_nodetool: concurrency and call log"
cp "$HERE/cluster-6.json" "$STATE"
: >"$WORK/calls.log"
NODE=10.0.2.21
jobs_pids=()
for i in $(seq 20); do
	nt snapshot -t par$i app >/dev/null &
	jobs_pids+=($!)
done
for p in "${jobs_pids[@]}"; do wait "$p"; done
run nt listsnapshots
check "20 parallel snapshots all recorded (40 rows)" [ "$(grep -c '^par' "$WORK/out")" = 40 ]
check "call log has 20 snapshot lines" [ "$(grep -c '^[0-9]\{13\} 10.0.2.21 snapshot -t par[0-9]* app$' "$WORK/calls.log")" = 20 ]
check "state file is still valid JSON" "$PY" -c "import json,sys; json.load(open(sys.argv[1]))" "$STATE"
t0=$(now_ms)
for i in $(seq 10); do nt version >/dev/null; done
avg=$((($(now_ms) - t0) / 10))
echo "     (fake_nodetool version: ${avg} ms per call)"
check "startup is fast (avg ${avg} ms < 150 ms)" [ $avg -lt 150 ]

echo "== fake_nodetool: faults"
NODE=10.0.1.11
"$NT" --state "$STATE" --node 10.0.1.11 fake-fault status hang
t0=$(now_ms)
run timeout 2 "$NT" --state "$STATE" --node 10.0.1.11 status
checkx "hang is killed by timeout 2 (rc 124)" '[ $RC -eq 124 ] && [ $(($(now_ms) - t0)) -lt 4000 ]'
run "$NT" --state "$STATE" --node 10.0.1.12 status
check "fault targets only its node" [ $RC -eq 0 ]
"$NT" --state "$STATE" --node 10.0.1.11 fake-clear-faults
"$NT" --state "$STATE" --node '*' fake-fault info fail node='*'
run nt info
checkx "fail: rc 2 + error on stderr" '[ $RC -eq 2 ] && [[ $ERR == error:* ]] && [ -z "$OUT" ]'
"$NT" --state "$STATE" --node 10.0.1.11 fake-clear-faults
"$NT" --state "$STATE" --node 10.0.1.11 fake-fault info fail exit_code=3 times=1
run nt info
rc1=$RC
run nt info
checkx "fail exit_code=3 times=1: first 3, then 0" '[ $rc1 -eq 3 ] && [ $RC -eq 0 ]'
"$NT" --state "$STATE" --node 10.0.1.11 fake-fault '*' garbage bytes=70000
run nt version
check "garbage: rc 0" [ $RC -eq 0 ]
check "garbage: >= 70000 bytes with NULs and a >10000-byte line" "$PY" -c '
import sys
d = open(sys.argv[1], "rb").read()
sys.exit(0 if len(d) >= 70000 and b"\0" in d and max(len(l) for l in d.split(b"\n")) > 10000 else 1)' "$WORK/out"
"$NT" --state "$STATE" --node 10.0.1.11 fake-clear-faults
"$NT" --state "$STATE" --node 10.0.1.11 fake-fault version slow seconds=1
t0=$(now_ms)
run nt version
el=$(($(now_ms) - t0))
checkx "slow: normal output after >= 1 s (${el} ms)" '[ $RC -eq 0 ] && [ "$OUT" = "ReleaseVersion: 4.1.8" ] && [ $el -ge 1000 ]'
"$NT" --state "$STATE" --node 10.0.1.11 fake-clear-faults
"$NT" --state "$STATE" --node 10.0.1.11 fake-fault status partial
run timeout 2 "$NT" --state "$STATE" --node 10.0.1.11 status
checkx "partial: some output, then hang (rc 124)" '[ $RC -eq 124 ] && [[ $OUT == "Datacenter: dc1"* ]]'
"$NT" --state "$STATE" --node 10.0.1.11 fake-clear-faults
run nt status
check "no faults left" [ $RC -eq 0 ]

echo "== cql_responder.py"
cat >"$WORK/cqlclient.py" <<'EOF'
import socket, struct, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
try:
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
except (ConnectionResetError, BrokenPipeError):
    if mode != "eof":  # a server that resets may do so before connect() returns
        raise
    print("ok")
    sys.exit(0)
def rd(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("EOF after %d bytes" % len(b))
        b += c
    return b
def frame():
    v, f, stream, op, ln = struct.unpack(">BBhBI", rd(9))
    return v, stream, op, rd(ln)
def opts(version, stream):
    return struct.pack(">BBhBI", version, 0, stream, 0x05, 0)
def mm(body):
    n, p, m = struct.unpack(">H", body[:2])[0], 2, {}
    def s_():
        nonlocal p
        l = struct.unpack(">H", body[p:p + 2])[0]; p += 2 + l
        return body[p - l:p].decode()
    for _ in range(n):
        k = s_(); c = struct.unpack(">H", body[p:p + 2])[0]; p += 2
        m[k] = [s_() for _ in range(c)]
    return m
WANT = {"CQL_VERSION": ["3.4.5"], "COMPRESSION": ["snappy", "lz4"], "PROTOCOL_VERSIONS": ["3/v3", "4/v4", "5/v5-beta"]}
if mode == "normal":
    # OPTIONS + QUERY pipelined in one segment, then an OPTIONS split in two writes
    s.sendall(opts(4, 7) + struct.pack(">BBhBI", 4, 0, 8, 0x07, 3) + b"abc")
    v, st, op, body = frame()
    assert (v, st, op) == (0x84, 7, 0x06), (v, st, op)
    assert mm(body) == WANT, mm(body)
    v, st, op, body = frame()
    assert (v, st, op) == (0x84, 8, 0x00), (v, st, op)
    assert struct.unpack(">i", body[:4])[0] == 0x000A
    raw = opts(4, 300)
    s.sendall(raw[:4]); time.sleep(0.05); s.sendall(raw[4:])
    v, st, op, body = frame()
    assert (v, st, op) == (0x84, 300, 0x06)
    s.sendall(opts(3, 9))
    v, st, op, body = frame()
    assert (v, st, op) == (0x83, 9, 0x06)
elif mode == "eof":
    try:
        s.sendall(opts(4, 1))
        assert s.recv(10) == b""
    except (ConnectionResetError, BrokenPipeError):
        pass
elif mode == "silent":
    s.sendall(opts(4, 1)); s.settimeout(0.5)
    try:
        s.recv(10); sys.exit("unexpected answer")
    except socket.timeout:
        pass
elif mode == "garbage":
    s.sendall(opts(4, 1))
    assert rd(1) == b"\xff"
elif mode == "delay":
    t = time.monotonic(); s.sendall(opts(4, 5)); frame()
    assert time.monotonic() - t >= 0.3, time.monotonic() - t
print("ok")
EOF
start_cql() { # MODE [extra args] -> sets CQL_PID, CQL_PORT
	local out=$WORK/cql.$1.out
	"$PY" "$HERE/cql_responder.py" --port 0 --mode "$@" >"$out" 2>"$WORK/cql.$1.err" &
	CQL_PID=$!
	PIDS+=("$CQL_PID")
	CQL_PORT=
	for _ in $(seq 50); do
		CQL_PORT=$(head -1 "$out" 2>/dev/null || true)
		[ -n "$CQL_PORT" ] && break
		sleep 0.1
	done
}
stop_cql() { # -> STOP_RC (not in a subshell: wait needs the parent shell)
	local i
	STOP_RC=0
	kill -TERM "$CQL_PID" 2>/dev/null || true
	for i in $(seq 30); do kill -0 "$CQL_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$CQL_PID" 2>/dev/null || true
	wait "$CQL_PID" 2>/dev/null || STOP_RC=$?
}
for m in normal:normal close:eof reset:eof silent:silent garbage:garbage; do
	mode=${m%%:*} client=${m##*:}
	start_cql "$mode" --log "$WORK/cql.log"
	if [ -z "$CQL_PORT" ]; then
		bad "cql_responder --mode $mode: no port printed" "$(cat "$WORK/cql.$mode.err")"
		continue
	fi
	run timeout 10 "$PY" "$WORK/cqlclient.py" "$client" "$CQL_PORT"
	checkx "cql_responder --mode $mode (port $CQL_PORT)" '[ $RC -eq 0 ] && [ "$OUT" = ok ]'
	[ $RC -eq 0 ] || echo "$ERR" | tail -3 | sed 's/^/    /'
	stop_cql
	check "cql_responder --mode $mode exits 0 on SIGTERM" [ "$STOP_RC" = 0 ]
done
check "cql_responder --log records OPTIONS frames" grep -q ' frame 127.0.0.1:[0-9]* opcode=5 stream=7 version=4$' "$WORK/cql.log"
start_cql normal --delay-ms 300
run timeout 10 "$PY" "$WORK/cqlclient.py" delay "$CQL_PORT"
check "cql_responder --delay-ms 300" [ $RC -eq 0 ]
stop_cql

echo "== mockbus.py"
MB=$WORK/bus
mkdir -p "$MB"
"$PY" "$HERE/mockbus.py" --dir "$MB" --active >"$WORK/mockbus.out" 2>"$WORK/mockbus.err" &
MB_PID=$!
PIDS+=("$MB_PID")
ADDR=
for _ in $(seq 200); do
	if grep -q '^READY ' "$WORK/mockbus.out" 2>/dev/null; then
		ADDR=$(sed -n 's/^READY //p' "$WORK/mockbus.out")
		break
	fi
	kill -0 "$MB_PID" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$ADDR" ]; then
	bad "mockbus READY within 20 s" "$(cat "$WORK/mockbus.err")"
else
	ok "mockbus READY ($ADDR)"
	check "bus.address matches" [ "$(cat "$MB/bus.address")" = "$ADDR" ]
	BU=$HERE/busctl_unit.sh
	UP=/org/freedesktop/systemd1/unit/cassandra_2eservice
	getstate() {
		timeout 10 busctl --address="$ADDR" get-property org.freedesktop.systemd1 "$UP" \
			org.freedesktop.systemd1.Unit ActiveState
	}
	run timeout 10 busctl --address="$ADDR" call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
		org.freedesktop.systemd1.Manager GetUnit s cassandra.service
	check "GetUnit -> $UP" [ "$OUT" = "o \"$UP\"" ]
	run getstate
	check "ActiveState active (--active)" [ "$OUT" = 's "active"' ]
	run timeout 10 dbus-send --bus="$ADDR" --print-reply --dest=org.freedesktop.systemd1 /org/freedesktop/systemd1 \
		org.freedesktop.systemd1.Manager.StopUnit string:cassandra.service string:replace
	checkx "StopUnit (dbus-send) returns a job" '[ $RC -eq 0 ] && [[ $OUT == *"object path \"/org/freedesktop/systemd1/job/"* ]]'
	run getstate
	check "ActiveState inactive after StopUnit" [ "$OUT" = 's "inactive"' ]
	run "$BU" "$ADDR" start cassandra.service
	check "busctl_unit.sh start" [ $RC -eq 0 ]
	run "$BU" "$ADDR" state cassandra.service
	check "busctl_unit.sh state -> active" [ "$OUT" = active ]
	run "$BU" "$ADDR" substate cassandra.service
	check "busctl_unit.sh substate -> running" [ "$OUT" = running ]
	run "$BU" "$ADDR" mainpid cassandra.service
	check "MainPID set while running" [ "${OUT:-0}" -gt 0 ]
	"$BU" "$ADDR" job-result restart cassandra.service failed >/dev/null
	"$BU" "$ADDR" restart cassandra.service >/dev/null
	run "$BU" "$ADDR" state cassandra.service
	check "injected restart failure -> failed" [ "$OUT" = failed ]
	run timeout 10 busctl --address="$ADDR" call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
		org.freedesktop.systemd1.Manager GetUnit s nosuch.service
	checkx "GetUnit unknown -> NoSuchUnit error" '[ $RC -ne 0 ] && [[ $ERR == *"Unit nosuch.service not loaded."* ]]'
	run "$BU" "$ADDR" reboot-calls
	check "no Reboot yet" [ "$OUT" = 0 ]
	run timeout 10 busctl --address="$ADDR" call org.freedesktop.login1 /org/freedesktop/login1 \
		org.freedesktop.login1.Manager Reboot b true
	check "logind Reboot callable" [ $RC -eq 0 ]
	run "$BU" "$ADDR" reboot-calls
	check "Reboot recorded (GetMethodCalls)" [ "$OUT" = 1 ]
	check "Reboot recorded in logind.log" grep -q '^[0-9.]* Reboot True$' "$MB/logind.log"
	CHILDREN=$(ps -o pid= --ppid "$MB_PID" | tr -d ' ' | tr '\n' ' ')
	kill -TERM "$MB_PID"
	for _ in $(seq 50); do kill -0 "$MB_PID" 2>/dev/null || break; sleep 0.1; done
	rc=0
	wait "$MB_PID" 2>/dev/null || rc=$?
	check "mockbus exits 0 on SIGTERM" [ $rc -eq 0 ]
	alive=
	for p in $CHILDREN; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
	check "mockbus children ($CHILDREN) are gone" [ -z "$alive" ]
	check "bus.address removed" [ ! -e "$MB/bus.address" ]
fi

echo
if [ $skip -gt 0 ]; then echo "$skip checks skipped (samples missing)"; fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
