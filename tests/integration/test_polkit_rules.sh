#!/bin/bash
# test_polkit_rules: runs conf/cassandra-agent.polkit.rules in duktape, the JavaScript engine of
# Debian's polkitd (bookworm: polkitd 122 linked with libduktape 2.7), with polkit's rule API
# (tests/polkit/prelude.js), and checks what it allows and what it leaves to the defaults
# (tests/polkit/cases.js). A syntax that duktape does not take fails here as it would in polkitd.
#
# Usage: bash tests/integration/test_polkit_rules.sh   (PROJECT_ROOT from meson's test environment,
#        else the source tree around this script)
# Exits 0 when every case passed, 1 when one failed, 77 (meson's skip) without duk (Debian: duktape).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
PROJECT_ROOT=${PROJECT_ROOT:-$(cd "$HERE/../.." && pwd)}
DUK=$(command -v duk || true)
if [ -z "$DUK" ]; then
	echo "SKIP: test_polkit_rules: duk not found (Debian: duktape)"
	exit 77
fi
exec "$DUK" "$PROJECT_ROOT/tests/polkit/prelude.js" "$PROJECT_ROOT/conf/cassandra-agent.polkit.rules" \
	"$PROJECT_ROOT/tests/polkit/cases.js"
