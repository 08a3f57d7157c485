#!/bin/bash
# test_install_layout: installs a build into a temporary DESTDIR and checks that every packaged file lands where Debian expects it.
#
# Usage: BUILD_ROOT=build bash tests/integration/test_install_layout.sh   (or: ... test_install_layout.sh BUILD_ROOT)
#
# Runs `meson install -C $BUILD_ROOT --destdir $TMP --no-rebuild`, reads where meson installs
# each file from `meson introspect --installed $BUILD_ROOT` (so the prefix chosen at setup,
# /usr/local by default or /usr, is respected), and checks for every expected file that meson
# installs a file of that basename into a directory ending with the expected suffix, and that
# the file is really there under DESTDIR. Prints one line per check and "N passed, N failed";
# exits 1 when a check failed, 2 on a usage error.
set -u

BUILD_ROOT=${1:-${BUILD_ROOT:-}}
if [ -z "$BUILD_ROOT" ] || [ ! -d "$BUILD_ROOT/meson-info" ]; then
	echo "usage: BUILD_ROOT=DIR $0 (or $0 DIR): DIR must be a configured meson build directory" >&2
	exit 2
fi
BUILD_ROOT=$(cd "$BUILD_ROOT" && pwd)
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_install_layout.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
DESTDIR_ROOT="$TMP/destdir"

# ---- install ----
if meson install -C "$BUILD_ROOT" --destdir "$DESTDIR_ROOT" --no-rebuild >"$TMP/install.log" 2>&1; then
	pass "meson install --destdir (no rebuild)"
else
	fail "meson install --destdir (no rebuild); its output:"
	sed 's/^/     /' "$TMP/install.log"
	echo "$passed passed, $failed failed"
	exit 1
fi

# ---- where meson says each file goes ----
if ! meson introspect --installed "$BUILD_ROOT" >"$TMP/installed.json" 2>"$TMP/introspect.err"; then
	fail "meson introspect --installed: $(cat "$TMP/introspect.err")"
	echo "$passed passed, $failed failed"
	exit 1
fi
# One destination per line (the JSON maps source or built file -> absolute install path).
"$PYTHON" -c '
import json, sys
for dest in sorted(json.load(open(sys.argv[1])).values()):
    print(dest)
' "$TMP/installed.json" >"$TMP/destinations" || { fail "cannot read meson introspect output"; exit 1; }
prefix=$(meson introspect --buildoptions "$BUILD_ROOT" | "$PYTHON" -c '
import json, sys
print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))
')
echo "     prefix $prefix, $(wc -l <"$TMP/destinations") files installed into $DESTDIR_ROOT"

# expect BASENAME DIR_SUFFIX [executable]: meson installs BASENAME (or BASENAME.gz) into a
# directory whose path ends with /DIR_SUFFIX, and DESTDIR holds it there as a regular file.
expect() {
	local base=$1 suffix=$2 want_exec=${3:-} dest="" d
	while IFS= read -r d; do
		case "$d" in
		*/"$suffix/$base" | */"$suffix/$base.gz") dest=$d; break ;;
		esac
	done <"$TMP/destinations"
	if [ -z "$dest" ]; then
		local elsewhere
		elsewhere=$(grep -E "/${base//./\\.}(\.gz)?\$" "$TMP/destinations" | tr '\n' ' ')
		fail "$base: meson installs no $base into .../$suffix/${elsewhere:+ (but to: $elsewhere)}"
		return
	fi
	if [ ! -f "$DESTDIR_ROOT$dest" ]; then
		fail "$base: listed for $dest but missing from DESTDIR"
		return
	fi
	if [ "$want_exec" = executable ] && [ ! -x "$DESTDIR_ROOT$dest" ]; then
		fail "$base: $dest is not executable"
		return
	fi
	pass "$base -> $dest"
}

expect cassandra-agent sbin executable
expect cassandra-agentctl bin executable
expect cassandra-agent.service lib/systemd/system
expect cassandra-agent-patch.service lib/systemd/system
expect cassandra-agent-upgrade@.service lib/systemd/system
expect cassandra-agent.rules share/polkit-1/rules.d
expect cassandra-agent.conf lib/tmpfiles.d
expect cassandra-agent.conf lib/sysusers.d
expect agent.yaml etc/cassandra-agent
expect cassandra-agent.8 share/man/man8
expect cassandra-agentctl.8 share/man/man8
expect agent.yaml.5 share/man/man5

# ---- a few properties of what was installed ----
check_mode() { # FILE_SUFFIX MODE: the installed file ending in FILE_SUFFIX has MODE
	local dest mode
	dest=$(grep -E "/$1\$" "$TMP/destinations" | head -n 1)
	[ -n "$dest" ] && [ -e "$DESTDIR_ROOT$dest" ] || return 0 # reported above
	mode=$(stat -c %a "$DESTDIR_ROOT$dest")
	if [ "$mode" = "$2" ]; then pass "$dest has mode $2"; else fail "$dest has mode $mode, want $2"; fi
}
check_mode 'share/polkit-1/rules\.d/cassandra-agent\.rules' 644
check_mode 'lib/tmpfiles\.d/cassandra-agent\.conf' 644
check_mode 'lib/sysusers\.d/cassandra-agent\.conf' 644

# The unit starts the binary where it is installed. Only meaningful for a packaging
# build (--prefix=/usr): the unit names /usr/sbin/cassandra-agent.
unit=$(grep -E '/lib/systemd/system/cassandra-agent\.service$' "$TMP/destinations" | head -n 1)
agent=$(grep -E '/sbin/cassandra-agent$' "$TMP/destinations" | head -n 1)
if [ -n "$unit" ] && [ -n "$agent" ] && [ -f "$DESTDIR_ROOT$unit" ]; then
	exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$DESTDIR_ROOT$unit" | head -n 1)
	if [ "$exec_start" = "$agent" ]; then
		pass "the unit's ExecStart is the installed $agent"
	elif [ "$prefix" = /usr ]; then
		fail "the unit's ExecStart is $exec_start, but the agent is installed as $agent"
	else
		echo "     note: prefix $prefix: the unit's ExecStart ($exec_start) is not the installed $agent (expected for a non-/usr prefix)"
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
