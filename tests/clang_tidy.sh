#!/usr/bin/env bash
# clang-tidy over every .c file of agent/ (the daemon and cassandra-agentctl), with the checks of
# the repository's .clang-tidy and the compile commands of a configured and built meson build
# directory: argument 1, or $BUILD_ROOT, default build (relative to the repository root; its
# generated protobuf-c header must exist). $CLANG_TIDY names the binary (default clang-tidy);
# $CLANG_TIDY_JOBS files run at a time (default 2). Prints every finding and a closing line
# "clang-tidy: N files, N findings, X s". Exit 0 when clean, 1 on any finding, 77 (meson's skip)
# when clang-tidy is not installed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-${BUILD_ROOT:-build}}
tidy=${CLANG_TIDY:-clang-tidy}
jobs=${CLANG_TIDY_JOBS:-2}

if ! command -v "$tidy" >/dev/null 2>&1; then
	echo "SKIP: clang-tidy not installed ($tidy not found; Debian package clang-tidy)"
	exit 77
fi
if [ ! -f "$build/compile_commands.json" ]; then
	echo "clang-tidy: no $build/compile_commands.json: run meson setup $build first"
	exit 1
fi
if [ ! -f "$build/proto/cassandra_agent/v1/agent.pb-c.h" ]; then
	echo "clang-tidy: $build/proto/cassandra_agent/v1/agent.pb-c.h is missing: run ninja -C $build first"
	exit 1
fi

files=(agent/*.c)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=$(date +%s.%N)

# The compile commands are gcc's: clang ignores the warning options it does not know
# (-Wno-format-truncation) instead of reporting them. Each file's output goes to its own log so
# that the two parallel runs do not interleave their lines. The largest files (the slowest) go
# first so that no long one starts last while the other core idles.
ls -S "${files[@]}" | xargs -P "$jobs" -I{} sh -c '
	log="$1/$(basename "$4").log"
	"$2" -p "$3" --quiet --extra-arg=-Wno-unknown-warning-option "$4" >"$log" 2>&1
	echo $? >"$log.rc"
' sh "$out" "$tidy" "$build" {}

# A finding is a "file:line:col: warning|error: ... [check]" line, followed by its notes and
# code excerpts; one in a header is reported by every file that includes it, and printed once.
# The "N warnings generated." lines are clang's counters, not findings. A run that failed
# without a finding (a crash, a missing file) counts as one.
findings=0
seen="$out/seen"
: >"$seen"
for f in "${files[@]}"; do
	log="$out/$(basename "$f").log"
	rc=$(cat "$log.rc" 2>/dev/null || echo 1)
	n=$(grep -vE '^[0-9]+ (warning|error)s?( and [0-9]+ errors?)? generated\.$' "$log" |
		sed -e "s|^$root/||" -e 's|^[^ :]*/\.\./agent/|agent/|' -e 's|^\.\./agent/|agent/|' |
		awk -v seen="$seen" '
			BEGIN { while ((getline l < seen) > 0) old[l] = 1 }
			/^[^ ].*:[0-9]+:[0-9]+: (warning|error): / {
				show = !($0 in old)
				if (show) { old[$0] = 1; print $0 >>seen; n++ }
			}
			show { print }
			END { print n + 0 >"/dev/stderr" }' 2>&1 >&3)
	if [ "$n" -eq 0 ] && [ "$rc" -ne 0 ]; then
		cat "$log"
		echo "$f: clang-tidy exited with $rc"
		n=1
	fi
	findings=$((findings + n))
done 3>&1

secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", e - s }')
echo "clang-tidy: ${#files[@]} files, $findings findings, $secs s"
[ "$findings" -eq 0 ]
