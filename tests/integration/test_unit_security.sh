#!/bin/bash
# test_unit_security: checks that units/cassandra-agent.service is valid and sandboxed to an exposure of 2.0 or less.
#
# Usage: bash tests/integration/test_unit_security.sh   (PROJECT_ROOT and BUILD_ROOT from meson's
#        test environment, else the source tree around this script; BUILD_ROOT is optional)
#
# Checks:
# - `systemd-analyze verify --man=no` on a copy of the unit whose ExecStart= points at a binary
#   that exists ($BUILD_ROOT/cassandra-agent, else /bin/true): no error, and no "Unknown key" or
#   other "..., ignoring" line (verify exits 0 on those, so its output is read);
# - `systemd-analyze security --offline=yes` on the unit: "Overall exposure level" <= 2.0
#   (the figure is printed); --offline needs systemd >= 250 and no running systemd; an older
#   systemd-analyze gets a SKIP line for this check only;
# - User= is set and is not root; MemoryDenyWriteExecute= is not enabled (nodetool is a JVM
#   child of the agent and its JIT needs writable+executable memory); ProcSubset= is not "pid"
#   (the agent reads /proc/stat, /proc/loadavg, /proc/meminfo, /proc/sys/kernel/random/boot_id);
# - the tmpfiles.d entries for the runtime and state directories agree with the unit's
#   RuntimeDirectory*/StateDirectory* and User=/Group= (systemd re-applies the unit's at start).
# Prints one line per check and "N passed, N failed"; exits 1 when a check failed, 2 on a usage
# error.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
PROJECT_ROOT=${PROJECT_ROOT:-$(cd "$HERE/../.." && pwd)}
BUILD_ROOT=${BUILD_ROOT:-}
UNIT="$PROJECT_ROOT/units/cassandra-agent.service"
TMPFILES="$PROJECT_ROOT/conf/cassandra-agent.tmpfiles"
MAX_EXPOSURE=2.0

if [ ! -f "$UNIT" ]; then
	echo "usage: PROJECT_ROOT=DIR $0: DIR/units/cassandra-agent.service not found" >&2
	exit 2
fi

passed=0
failed=0
skipped=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
skip() { skipped=$((skipped + 1)); echo "SKIP $*"; }
finish() {
	if [ "$skipped" -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"; else echo "$passed passed, $failed failed"; fi
	[ "$failed" -eq 0 ]
	exit $?
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_unit_security.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT

# No colours, no pager, plain ASCII output whatever the caller's terminal and locale (in the C
# locale systemd-analyze marks settings with "+" and "-" instead of check marks).
export SYSTEMD_COLORS=0 SYSTEMD_PAGER='' SYSTEMD_LESS='' LC_ALL=C

# unit_value KEY: the effective value of KEY= in [Service] (the last assignment; an empty
# assignment resets), or nothing.
unit_value() {
	awk -v key="$1" '
		/^[ \t]*[#;]/ { next }
		/^[ \t]*\[/ { section = $0; gsub(/[ \t]/, "", section); next }
		section == "[Service]" {
			line = $0
			sub(/^[ \t]+/, "", line)
			if (index(line, key "=") == 1) {
				v = substr(line, length(key) + 2)
				sub(/[ \t]+$/, "", v)
				value = v
			}
		}
		END { print value }
	' "$UNIT"
}

is_true() {
	case "$(echo "$1" | tr '[:upper:]' '[:lower:]')" in
	1 | yes | y | true | t | on) return 0 ;;
	*) return 1 ;;
	esac
}

if ! command -v systemd-analyze >/dev/null 2>&1; then
	skip "systemd-analyze verify: systemd-analyze not installed (Debian: package systemd)"
	skip "systemd-analyze security --offline=yes: systemd-analyze not installed"
	SA=
else
	SA=$(command -v systemd-analyze)
	echo "     $("$SA" --version | head -n 1)"
fi

# ---- systemd-analyze verify on a copy whose ExecStart= exists ----
if [ -n "$SA" ]; then
	exe=/bin/true
	if [ -n "$BUILD_ROOT" ] && [ -x "$BUILD_ROOT/cassandra-agent" ]; then
		exe=$(cd "$BUILD_ROOT" && pwd)/cassandra-agent
	fi
	mkdir -p "$TMP/verify"
	# Same file name: the unit name matters to verify (and to the security report).
	sed -E "s|^ExecStart=[^ ]+|ExecStart=$exe|" "$UNIT" >"$TMP/verify/cassandra-agent.service"
	"$SA" verify --man=no "$TMP/verify/cassandra-agent.service" >"$TMP/verify.out" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "systemd-analyze verify (ExecStart=$exe) exited $rc:"
		sed 's/^/     /' "$TMP/verify.out"
	elif grep -qiE 'unknown (key|section|lvalue)|, ignoring|failed to parse|invalid|is deprecated|not supported' \
		"$TMP/verify.out"; then
		fail "systemd-analyze verify (ExecStart=$exe) warns:"
		sed 's/^/     /' "$TMP/verify.out"
	else
		pass "systemd-analyze verify --man=no (ExecStart=$exe): no errors, no unknown or ignored settings"
		[ -s "$TMP/verify.out" ] && sed 's/^/     note: /' "$TMP/verify.out"
	fi
fi

# ---- the root oneshot units the agent may start for PATCH_OS and UPGRADE_CASSANDRA ----
# verify reads a template only through an instance: the copy is named as the agent starts it.
# The user and the sandbox are not checked: they run the package manager as root on purpose.
if [ -n "$SA" ]; then
	for pair in cassandra-agent-patch.service:cassandra-agent-patch.service \
		cassandra-agent-upgrade@.service:cassandra-agent-upgrade@4.1.5.service; do
		src=${pair%%:*} name=${pair#*:}
		if [ ! -f "$PROJECT_ROOT/units/$src" ]; then
			fail "units/$src is missing"
			continue
		fi
		cp "$PROJECT_ROOT/units/$src" "$TMP/verify/$name"
		"$SA" verify --man=no "$TMP/verify/$name" >"$TMP/verify-$name.out" 2>&1
		rc=$?
		if [ "$rc" -ne 0 ] || grep -qiE 'unknown (key|section|lvalue)|, ignoring|failed to parse|invalid|is deprecated|not supported' \
			"$TMP/verify-$name.out"; then
			fail "systemd-analyze verify $name exited $rc:"
			sed 's/^/     /' "$TMP/verify-$name.out"
		else
			pass "systemd-analyze verify --man=no $name: no errors, no unknown or ignored settings"
		fi
		# The agent bounds the command by 1 h (PATCH_TIMEOUT_MS): systemd must end the run first.
		t=$(sed -n 's/^TimeoutStartSec=\([0-9]*\)min$/\1/p' "$PROJECT_ROOT/units/$src")
		if [ -n "$t" ] && [ "$t" -lt 60 ]; then
			pass "$src: TimeoutStartSec=${t}min, under the agent's 1 h bound on the command"
		else
			fail "$src: TimeoutStartSec= must be set in minutes below 60 (the agent's bound), got '${t}'"
		fi
	done
fi

# ---- systemd-analyze security --offline=yes ----
if [ -n "$SA" ]; then
	"$SA" security --offline=yes --no-pager "$UNIT" >"$TMP/security.out" 2>&1
	rc=$?
	exposure=$(sed -nE 's/.*Overall exposure level for [^:]*: ([0-9]+(\.[0-9]+)?).*/\1/p' "$TMP/security.out" |
		tail -n 1)
	if [ -z "$exposure" ] && grep -qiE "(unrecognized|unknown) option.*offline|offline.*(unrecognized|unknown|not supported)" \
		"$TMP/security.out"; then
		skip "systemd-analyze security --offline=yes: this systemd-analyze has no --offline (needs systemd >= 250): $(head -n 1 "$TMP/security.out")"
	elif [ -z "$exposure" ]; then
		fail "systemd-analyze security --offline=yes exited $rc without an overall exposure level:"
		sed 's/^/     /' "$TMP/security.out"
	else
		echo "     exposure $exposure (systemd-analyze security --offline=yes $UNIT)"
		if awk -v e="$exposure" -v max="$MAX_EXPOSURE" 'BEGIN { exit !(e + 0 <= max + 0) }'; then
			pass "overall exposure level $exposure <= $MAX_EXPOSURE"
		else
			fail "overall exposure level $exposure > $MAX_EXPOSURE; what still counts:"
			grep -E '^(✗|-) ' "$TMP/security.out" | sed 's/^/     /'
		fi
		# The analyzer's own reading of MemoryDenyWriteExecute= must agree with ours below.
		if grep -E 'MemoryDenyWriteExecute=' "$TMP/security.out" | grep -qiE 'cannot create writable executable'; then
			fail "systemd-analyze says MemoryDenyWriteExecute= is on: nodetool's JVM (JIT) would not start"
		else
			pass "systemd-analyze: writable+executable mappings allowed (nodetool's JVM JIT)"
		fi
	fi
fi

# ---- settings the agent and its JVM child depend on ----
user=$(unit_value User)
if [ -z "$user" ]; then
	fail "User= is not set (the service would run as root)"
elif [ "$user" = root ] || [ "$user" = 0 ]; then
	fail "User=$user: the service must not run as root"
else
	pass "User=$user (not root)"
fi

mdwe=$(unit_value MemoryDenyWriteExecute)
if [ -n "$mdwe" ] && is_true "$mdwe"; then
	fail "MemoryDenyWriteExecute=$mdwe: nodetool's JVM needs writable+executable memory for its JIT"
else
	pass "MemoryDenyWriteExecute= not enabled${mdwe:+ (=$mdwe)}"
fi

procsubset=$(unit_value ProcSubset)
if [ "$procsubset" = pid ]; then
	fail "ProcSubset=pid hides /proc/stat, /proc/loadavg, /proc/meminfo and boot_id, which the agent reads"
else
	pass "ProcSubset= is not pid${procsubset:+ (=$procsubset)}"
fi

# ---- tmpfiles.d agrees with the unit ----
# tmpfiles_entry PATH: "MODE USER GROUP" of the d/D line for PATH, or nothing.
tmpfiles_entry() {
	awk -v p="$1" '$1 ~ /^[dD]$/ && $2 == p { print $3, $4, $5 }' "$TMPFILES"
}
if [ ! -f "$TMPFILES" ]; then
	fail "conf/cassandra-agent.tmpfiles is missing"
else
	owner=${user:-root}
	group=$(unit_value Group)
	group=${group:-$owner}
	for kind in Runtime State; do
		case $kind in
		Runtime) base=/run ;;
		State) base=/var/lib ;;
		esac
		name=$(unit_value "${kind}Directory")
		mode=$(unit_value "${kind}DirectoryMode")
		mode=${mode:-0755}
		if [ -z "$name" ]; then
			fail "${kind}Directory= is not set"
			continue
		fi
		want="$mode $owner $group"
		got=$(tmpfiles_entry "$base/$name")
		if [ "$got" = "$want" ]; then
			pass "tmpfiles.d $base/$name is $got like ${kind}Directory=/${kind}DirectoryMode= and User=/Group="
		else
			fail "tmpfiles.d $base/$name is '${got:-no entry}', the unit makes it '$want' at every start"
		fi
	done
fi

finish
