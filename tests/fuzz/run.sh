#!/usr/bin/env bash
# run.sh: builds the libFuzzer targets of tests/fuzz/ with clang and runs them.
#
#   tests/fuzz/run.sh [--seconds N] [--replay] [--merge] [--jobs J] [--build-dir DIR]
#                     [--skip-if-missing] [--list] [TARGET...]
#
#   --seconds N   fuzz each target for N seconds (default 60); new inputs go to a temporary
#                 directory, never into the committed corpus
#   --replay      run every input of tests/fuzz/corpus/TARGET/ (and tests/fuzz/regressions/TARGET/
#                 when present) once (-runs=0) instead of fuzzing: what CI does
#   --merge       after fuzzing, merge the new inputs that add coverage into tests/fuzz/corpus/TARGET/
#   --jobs J      targets run J at a time (default 1)
#   --build-dir D build directory (default build-fuzz/ at the top of the tree)
#   --skip-if-missing  exit 77 (meson's "skipped") instead of 1 when clang or libFuzzer is missing
#   --list        print the target names and exit
#   TARGET        names as in tests/fuzz/fuzz_TARGET.c (default: all)
#
# Every target: clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined.
# Prints "TARGET: N execs, X exec/s, corpus C, result ok|CRASH" per target (CRASH also covers
# a sanitizer report, a failed check, a leak, a timeout or running out of memory; the
# reproducer is under BUILD/artifacts/TARGET/ and the log at BUILD/logs/TARGET.log), then
# "N passed, N failed"; exits 1 when a target failed.
#
# Reproduce a finding: BUILD/fuzz_TARGET path/to/input
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SECONDS_PER_TARGET=60
MODE=fuzz
MERGE=0
JOBS=1
BUILD=
MISSING_RC=1
LIST=0
TARGETS=()

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--seconds) [ $# -ge 2 ] || usage; SECONDS_PER_TARGET=$2; shift 2 ;;
	--seconds=*) SECONDS_PER_TARGET=${1#*=}; shift ;;
	--replay) MODE=replay; shift ;;
	--merge) MERGE=1; shift ;;
	--jobs|-j) [ $# -ge 2 ] || usage; JOBS=$2; shift 2 ;;
	--jobs=*) JOBS=${1#*=}; shift ;;
	--build-dir) [ $# -ge 2 ] || usage; BUILD=$2; shift 2 ;;
	--build-dir=*) BUILD=${1#*=}; shift ;;
	--skip-if-missing) MISSING_RC=77; shift ;;
	--list) LIST=1; shift ;;
	-h|--help) usage ;;
	-*) echo "run.sh: unknown option $1" >&2; usage ;;
	*) TARGETS+=("$1"); shift ;;
	esac
done
case $SECONDS_PER_TARGET in ''|*[!0-9]*) echo "run.sh: --seconds takes a whole number" >&2; exit 2 ;; esac
case $JOBS in ''|0|*[!0-9]*) echo "run.sh: --jobs takes a positive number" >&2; exit 2 ;; esac

ALL=()
for f in "$HERE"/fuzz_*.c; do
	n=${f##*/fuzz_}
	ALL+=("${n%.c}")
done
if [ $LIST = 1 ]; then
	printf '%s\n' "${ALL[@]}"
	exit 0
fi
if [ ${#TARGETS[@]} -eq 0 ]; then
	TARGETS=("${ALL[@]}")
fi
for t in "${TARGETS[@]}"; do
	if [ ! -f "$HERE/fuzz_$t.c" ]; then
		echo "run.sh: no target \"$t\" (tests/fuzz/fuzz_$t.c); targets: ${ALL[*]}" >&2
		exit 2
	fi
done

BUILD=${BUILD:-$ROOT/build-fuzz}
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd)

# ---- toolchain -------------------------------------------------------------------------------

CC=${FUZZ_CC:-clang}
if ! command -v "$CC" >/dev/null 2>&1; then
	echo "run.sh: $CC not found: install clang (Debian: apt-get install clang)" >&2
	exit "$MISSING_RC"
fi
probe=$BUILD/.probe
mkdir -p "$probe"
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
	>"$probe/p.c"
if ! "$CC" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2>"$probe/err"; then
	rt=$("$CC" -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null || true)
	echo "run.sh: $CC cannot link -fsanitize=fuzzer: the libFuzzer runtime ($rt) is missing." >&2
	echo "run.sh: on Debian 12 it is in the package libclang-rt-14-dev (for clang-14):" >&2
	echo "run.sh:     sudo apt-get install libclang-rt-14-dev" >&2
	sed 's/^/  /' "$probe/err" >&2
	exit "$MISSING_RC"
fi
for tool in protoc-c pkg-config; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "run.sh: $tool not found (Debian: protobuf-c-compiler, pkg-config; or bash tests/deps.sh)" >&2
		exit "$MISSING_RC"
	fi
done
PKGS="libprotobuf-c yaml-0.1 libcrypto jansson libuv libsystemd"
if ! pkg-config --exists $PKGS; then
	echo "run.sh: missing development packages for: $PKGS (bash tests/deps.sh installs them)" >&2
	exit "$MISSING_RC"
fi

# ---- build -----------------------------------------------------------------------------------

SAN=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
CFLAGS=(-std=c17 -g -O1 -D_GNU_SOURCE -DAGENT_VERSION='"fuzz"' -Wall -Wextra -Wno-unused-parameter
	-I"$ROOT/agent" -I"$BUILD/gen" $(pkg-config --cflags $PKGS))
LIBS=($(pkg-config --libs $PKGS) -lm)

# The agent modules the targets use (pure parsers and what they link against). Only these
# are compiled, so a half-edited module elsewhere in agent/ does not break the fuzz build.
MODULES="frame pb_json nodetool_parse snapshot_plan config certstore status_server health host log
	cql_probe yaml_edit cassandra_schema cassandra_schema_table"

mkdir -p "$BUILD/gen" "$BUILD/obj" "$BUILD/logs" "$BUILD/artifacts"
PROTO=$ROOT/proto/cassandra_agent/v1/agent.proto
PB_C=$BUILD/gen/cassandra_agent/v1/agent.pb-c.c
if [ ! -f "$PB_C" ] || [ "$PROTO" -nt "$PB_C" ]; then
	protoc-c --c_out="$BUILD/gen" -I"$ROOT/proto" "$PROTO"
fi

# newer FILE... : true when any header or this script is newer than FILE, or FILE is missing.
stale() {
	local out=$1
	shift
	[ -f "$out" ] || return 0
	for f in "$@" "$ROOT"/agent/*.h "$BUILD/gen/cassandra_agent/v1/agent.pb-c.h" "${BASH_SOURCE[0]}"; do
		[ "$f" -nt "$out" ] && return 0
	done
	return 1
}

compile() { # SRC OBJ
	rm -f "$2"
	"$CC" "${CFLAGS[@]}" "${SAN[@]/fuzzer,/fuzzer-no-link,}" -c "$1" -o "$2.tmp" && mv "$2.tmp" "$2"
}

OBJS=()
pids=()
echo "run.sh: building in $BUILD" >&2
for m in $MODULES; do
	src=$ROOT/agent/$m.c
	[ -f "$src" ] || continue
	obj=$BUILD/obj/$m.o
	OBJS+=("$obj")
	if stale "$obj" "$src"; then
		compile "$src" "$obj" &
		pids+=($!)
	fi
done
obj=$BUILD/obj/agent.pb-c.o
OBJS+=("$obj")
if stale "$obj" "$PB_C"; then
	compile "$PB_C" "$obj" &
	pids+=($!)
fi
for p in "${pids[@]}"; do
	# A module that does not compile (being edited?) only fails the targets that need it.
	wait "$p" || echo "run.sh: warning: compiling an agent module failed (see above)" >&2
done
GOOD=()
for o in "${OBJS[@]}"; do
	[ -f "$o" ] && GOOD+=("$o")
done
rm -f "$BUILD/libagentfuzz.a"
ar rcs "$BUILD/libagentfuzz.a" "${GOOD[@]}"

link_target() { # TARGET
	local src=$HERE/fuzz_$1.c bin=$BUILD/fuzz_$1
	if stale "$bin" "$src" "$BUILD/libagentfuzz.a"; then
		rm -f "$bin"
		"$CC" "${CFLAGS[@]}" "${SAN[@]}" "$src" "$BUILD/libagentfuzz.a" "${LIBS[@]}" -o "$bin.tmp" \
			2>"$BUILD/logs/$1.build.log" && mv "$bin.tmp" "$bin"
		if [ ! -f "$bin" ]; then
			cat "$BUILD/logs/$1.build.log" >&2
			return 1
		fi
	fi
}
n=0
for t in "${TARGETS[@]}"; do
	link_target "$t" &
	n=$((n + 1))
	if [ $n -ge "$(nproc)" ]; then
		wait -n || true
		n=$((n - 1))
	fi
done
wait || true

# ---- dictionaries ----------------------------------------------------------------------------

# Tokens of each input format, so that mutations reach the interesting branches sooner.
dict() {
	case $1 in
	nt_status) printf '%s\n' '"Datacenter: "' '"==========="' '"Status=Up/Down"' \
		'"|/ State=Normal/Leaving/Joining/Moving"' '"--  Address"' '"Load"' '"Tokens"' '"Owns (effective)"' \
		'"Host ID"' '"Rack"' '"Token"' '"UN  "' '"DN  "' '"UJ  "' '"UL  "' '"UM  "' '"?N  "' '" GiB"' '" MiB"' \
		'" KiB"' '" bytes"' '" KB"' '" GB"' '" TB"' '"100.0%"' '"?"' '"::1"' '"[::1]:7000"' '":7000"' \
		'"8d5ed9f4-0c2a-4b6e-9b1e-3f0a4c2d7e11"' '"null"' \
		'"Note: Non-system keyspaces don\x27t have the same replication settings, effective ownership information is meaningless"' \
		'"\x0d\x0a"' ;;
	nt_info) printf '%s\n' '"ID                     : "' '"Gossip active          : "' \
		'"Native Transport active: "' '"Thrift active          : "' '"Load                   : "' \
		'"Generation No          : "' '"Uptime (seconds)       : "' '"Heap Memory (MB)       : "' \
		'"Off Heap Memory (MB)   : "' '"Data Center            : "' '"Rack                   : "' \
		'"Exceptions             : "' '"Percent Repaired       : "' '"Bootstrap state        : "' \
		'"true"' '"false"' '"N/A"' '"NaN%"' '" / "' '" GiB"' '"100.0%"' '"COMPLETED"' ;;
	nt_version) printf '%s\n' '"ReleaseVersion: "' '"GitSHA: "' '"4.1.8"' '"5.0.2"' '"4.0-beta4"' '"-SNAPSHOT"' ;;
	nt_running) printf '%s\n' '"running"' '"not running"' '"Hinted handoff is "' '"Data center dc1 is disabled"' ;;
	nt_describecluster) printf '%s\n' '"Cluster Information:"' '"\x09Name: "' '"\x09Snitch: "' \
		'"\x09DynamicEndPointSnitch: enabled"' '"\x09Partitioner: "' '"\x09Schema versions:"' '"UNREACHABLE: "' \
		'"Stats for all nodes:"' '"\x09Live: "' '"\x09Joining: "' '"\x09Moving: "' '"\x09Leaving: "' \
		'"\x09Unreachable: "' '"Data Centers: "' '" #Nodes: "' '" #Down: "' '"Database versions:"' '"Keyspaces:"' \
		'" -> Replication class: "' '"NetworkTopologyStrategy"' '"SimpleStrategy"' '"LocalStrategy"' \
		'"{dc1=3, dc2=3}"' '"replication_factor=3"' '"3/1"' '"[10.0.1.11, 10.0.1.12]"' '"[[::1]:7000]"' ;;
	nt_listsnapshots) printf '%s\n' '"Snapshot Details: "' '"There are no snapshots"' \
		'"Snapshot name"' '"Keyspace name"' '"Column family name"' '"True size"' '"Size on disk"' \
		'"Creation time"' '"Expiration time"' '"Ephemeral"' '"Total TrueDiskSpaceUsed: "' \
		'"agent-20241011T080000Z"' '"2024-10-10T08:15:30.118Z"' '"true"' '"false"' '" MiB"' '" bytes"' ;;
	nt_size) printf '%s\n' '"bytes"' '"KiB"' '"MiB"' '"GiB"' '"TiB"' '"PiB"' '"EiB"' '"KB"' '"GB"' '"B"' \
		'"18446744073709551615"' '"1e308"' '","' ;;
	config|config_values) printf '%s\n' '"node:"' '"cassandra:"' '"controller:"' '"health:"' '"status:"' \
		'"snapshots:"' '"maintenance:"' '"tls:"' '"state_directory:"' '"datacenter:"' '"rack:"' \
		'"prefer_local:"' '"yaml:"' '"rackdc:"' '"unit:"' '"nodetool:"' '"nodetool_timeout:"' \
		'"native_address:"' '"native_port:"' '"data_directories:"' '"address:"' '"ca:"' '"cert:"' '"key:"' \
		'"report_interval:"' '"probe_interval:"' '"nodetool_interval:"' '"socket:"' '"group:"' \
		'"interval:"' '"retention:"' '"tag_prefix:"' '"min_free_disk:"' '"reboot_required:"' '"window:"' \
		'"patch_command:"' '"cassandra_upgrade_command:"' '"healthy_timeout:"' '"settle:"' '"boot_id_file:"' \
		'"truststore_type:"' '"{version}"' '"!!str "' '"!!null"' '"&a "' '"*a"' '"---"' '"..."' '"~"' \
		'"null"' '"yes"' '"Off"' '"ms"' '"5m"' '"4h"' '"2d"' '"MiB"' '" GiB"' '"15%"' '"12.5%"' \
		'"Sat,Sun 01:00-05:00 UTC"' '"Mon-Fri"' '"24:00"' '"[::1]:9000"' '"pkcs12"' '"jks"' '"/var/lib"' ;;
	certstore_pem|certstore_store) printf '%s\n' '"-----BEGIN CERTIFICATE-----"' \
		'"-----END CERTIFICATE-----"' '"-----BEGIN PRIVATE KEY-----"' '"-----END PRIVATE KEY-----"' \
		'"-----BEGIN ENCRYPTED PRIVATE KEY-----"' '"-----BEGIN EC PRIVATE KEY-----"' \
		'"-----BEGIN RSA PRIVATE KEY-----"' '"-----BEGIN TRUSTED CERTIFICATE-----"' \
		'"-----BEGIN EC PARAMETERS-----"' '"Proc-Type: 4,ENCRYPTED"' '"DEK-Info: AES-128-CBC,"' \
		'"\xfe\xed\xfe\xed"' '"\x00\x00\x00\x02"' '"X.509"' '"\x30\x82"' ;;
	status_line) printf '%s\n' '"status"' '"ring"' '"version"' '"events"' '"snapshot"' '"take"' '"--tag"' \
		'"config"' '"set"' '"certs"' '"\x09"' ;;
	snapshot_record) printf '%s\n' '"last_slot_unix_ms="' '"last_ok_tag="' '"last_ok_unix_ms="' '"none"' \
		'"agent-20241011T080000Z"' '"253402300799999"' '"\x0a"' ;;
	yaml_edit|cassandra_schema) printf '%s\n' '"seed_provider"' '"parameters"' '"seeds"' \
		'"class_name: org.apache.cassandra.locator.SimpleSeedProvider"' '"cluster_name"' '"num_tokens"' \
		'"client_encryption_options"' '"server_encryption_options"' '"enabled"' '"- "' '": "' '"\x0d\x0a"' \
		'"  "' '"# "' '"[]"' '"{}"' '"|"' '">-"' '"&a "' '"*a"' '"!!str "' '"\x27"' '"\x22"' '"---"' '"..."' \
		'"true"' '"5000ms"' '"64MiB"' '"24MiB/s"' '"[a, b]"' '"{k: v}"' '"10.0.1.11:7000"' ;;
	*) return 1 ;;
	esac
}

# Per-target libFuzzer options.
opts() {
	case $1 in
	yaml_edit|cassandra_schema|config) echo "-max_len=16384" ;;
	certstore_pem|certstore_store) echo "-max_len=16384" ;;
	status_line) echo "-max_len=4097" ;;
	frame) echo "-max_len=65536" ;;
	*) echo "-max_len=8192" ;;
	esac
}

# ---- run -------------------------------------------------------------------------------------

stat_of() { # LOG KEY
	sed -n "s/^stat::$2: *//p" "$1" | tail -n 1
}

run_one() {
	local t=$1 bin=$BUILD/fuzz_$1 log=$BUILD/logs/$1.log corpus=$HERE/corpus/$1 regress=$HERE/regressions/$1
	local art=$BUILD/artifacts/$1/ rc=0 execs rate n result dictf tmp failed_inputs=()
	local args=(-print_final_stats=1 -timeout=25 -rss_limit_mb=2560 -artifact_prefix="$art" $(opts "$t"))

	mkdir -p "$art" "$corpus"
	if [ ! -x "$bin" ]; then
		echo "$t: 0 execs, 0 exec/s, corpus 0, result CRASH"
		echo "    build failed: $BUILD/logs/$t.build.log"
		return 1
	fi
	dictf=$BUILD/$t.dict
	if dict "$t" >"$dictf"; then
		args+=(-dict="$dictf")
	fi
	if [ $MODE = replay ]; then
		# No -max_len here: libFuzzer would cut longer corpus files to it.
		"$bin" -print_final_stats=1 -timeout=25 -rss_limit_mb=2560 -artifact_prefix="$art" \
			-runs=0 "$corpus" >"$log" 2>&1 || rc=$?
		n=$(find "$corpus" -type f | wc -l)
		execs=$(stat_of "$log" number_of_executed_units)
		rate=$(stat_of "$log" average_exec_per_sec)
		# Each regression input on its own, so that every one still failing is named.
		if [ -d "$regress" ]; then
			local f
			for f in "$regress"/*; do
				[ -f "$f" ] || continue
				n=$((n + 1))
				execs=$((${execs:-0} + 1))
				if ! "$bin" -timeout=25 -rss_limit_mb=2560 "$f" >>"$log" 2>&1; then
					rc=1
					failed_inputs+=("${f#"$ROOT"/}")
				fi
			done
		fi
	else
		tmp=$(mktemp -d "$BUILD/corpus-$t.XXXXXX")
		"$bin" "${args[@]}" -max_total_time="$SECONDS_PER_TARGET" "$tmp" "$corpus" >"$log" 2>&1 || rc=$?
		execs=$(stat_of "$log" number_of_executed_units)
		rate=$(stat_of "$log" average_exec_per_sec)
		n=$(( $(find "$tmp" -type f | wc -l) + $(find "$corpus" -type f | wc -l) ))
		if [ $rc = 0 ] && [ $MERGE = 1 ]; then
			"$bin" -merge=1 $(opts "$t") "$corpus" "$tmp" >>"$log" 2>&1 || rc=$?
			n=$(find "$corpus" -type f | wc -l)
		fi
		rm -rf "$tmp"
	fi
	if [ $rc = 0 ]; then
		result=ok
	else
		result=CRASH
	fi
	echo "$t: ${execs:-0} execs, ${rate:-0} exec/s, corpus $n, result $result"
	if [ $rc != 0 ]; then
		{
			if [ ${#failed_inputs[@]} -gt 0 ]; then
				printf 'fails on %s\n' "${failed_inputs[@]}"
			fi
			grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz_[a-z_]+:|.*runtime error:|artifact_prefix|Test unit written)' \
				"$log" | head -n 12 || true
			echo "  log: $log"
		} | sed 's/^/  /'
		return 1
	fi
	return 0
}

results=$BUILD/results.$$
: >"$results"
running=0
for t in "${TARGETS[@]}"; do
	( if run_one "$t"; then echo ok >>"$results"; else echo fail >>"$results"; fi ) &
	running=$((running + 1))
	if [ $running -ge "$JOBS" ]; then
		wait -n || true
		running=$((running - 1))
	fi
done
wait || true
passed=$(grep -c '^ok' "$results" || true)
failed=$(grep -c '^fail' "$results" || true)
rm -f "$results"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
