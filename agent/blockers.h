/* blockers: the pure checks that keep a node from starting maintenance (SPEC section 6.3 step 1). */
#ifndef CA_BLOCKERS_H
#define CA_BLOCKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "nodetool_parse.h"

#define BLOCKERS_MAX     32
#define BLOCKER_TEXT_MAX 160

/* What the checks look at; pointers may be NULL when that input is missing (then the check
 * is itself a blocker: "no ring view", ...). */
struct blockers_input {
	int64_t now_unix_ms;
	const char *window; /* maintenance.window ("" = always) */
	bool paused;
	const char *datacenter, *rack;            /* this node's */
	const struct nt_status *ring;             /* nodetool status */
	const struct nt_describecluster *cluster; /* nodetool describecluster */
	const char *netstats;                     /* nodetool netstats text (NUL-terminated) */
	bool check_window;                        /* false once the lease is held (the window gates starts only) */
};

/* The blockers found, each one line naming what blocks ("peer 10.0.2.22 (dc1/rack2) is DN"). */
struct blockers {
	size_t n;
	char text[BLOCKERS_MAX][BLOCKER_TEXT_MAX];
};

/*
 * Evaluates every blocker of SPEC section 6.3: outside the window (UTC), maintenance
 * paused, any node outside this rack not UN, any node joining/leaving/moving, more than one
 * schema version or unreachable nodes in describecluster, a keyspace with NetworkTopology
 * RF < 3 in this datacenter (system_traces excepted: tracing data), SimpleStrategy with
 * RF < 3 or in a multi-rack cluster, streaming in progress or a mode other than NORMAL in
 * netstats (Cassandra NetStats.java: "Not sending any streams."). Fills `out` (at most
 * BLOCKERS_MAX lines) and returns the count (0 = free to go). Pure.
 */
size_t blockers_evaluate(const struct blockers_input *in, struct blockers *out);

/* True when `now_unix_ms` falls inside the window text (see config_parse_window()); an
 * unparseable window is never open. */
bool blockers_window_open(const char *window, int64_t now_unix_ms);

/*
 * Cassandra version policy (SPEC section 6.3): an upgrade from `current` to `target`
 * ("X.Y.Z") is allowed when X.Y match and Z does not go down; a different minor needs
 * `allow_minor`, a different major `allow_major`; downgrades are refused. Returns 0, or
 * -EPERM / -EINVAL (unparseable) with `err` saying why.
 */
int blockers_version_policy(const char *current, const char *target, bool allow_minor, bool allow_major, char *err,
			    size_t errlen);

#endif
