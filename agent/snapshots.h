/* snapshots: the scheduled and on-demand local snapshot job with retention (SPEC section 6.4). */
#ifndef CA_SNAPSHOTS_H
#define CA_SNAPSHOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "health.h"
#include "nodetool.h"

#define SNAPSHOTS_STATE_FILE "snapshots.state"     /* in state_directory: last slot, newest good tag */
#define SNAPSHOTS_LIST_MAX   (16u * 1024u * 1024u) /* listsnapshots output cap, bytes */

struct snapshots;

/* The outcome of an on-demand request: err 0 with `tag` taken or cleared, or a negative
 * errno with `message` saying why. Strings valid during the call. */
typedef void (*snapshots_done_cb)(void *data, int err, const char *message, const char *tag);

/*
 * Starts the job: reads state_directory/snapshots.state (a missing file is a first start;
 * a corrupt one is reported and treated as a first start), then wakes at each UTC slot of
 * snapshots.interval. `cfg`, `h` and `runner` are borrowed. `started_unix_ms` is the
 * process start (at most one catch-up slot before it is taken). Returns 0 or -ENOMEM.
 */
int snapshots_start(uv_loop_t *loop, const struct agent_config *cfg, struct health *h, struct nodetool_runner *runner,
		    int64_t started_unix_ms, struct snapshots **out);

/* Takes a reloaded config (interval, retention, prefix, threshold): re-plans the next slot. */
void snapshots_apply_config(struct snapshots *s, const struct agent_config *cfg);

/*
 * On demand: takes a snapshot tagged `tag` (NULL or "" = an agent tag for now), then prunes.
 * Queued behind a run under way. Returns 0 (cb fires later, once) or -EINVAL for a tag that
 * SPEC section 6.4 refuses (then `err` says why and cb does not fire).
 */
int snapshots_take(struct snapshots *s, const char *tag, snapshots_done_cb cb, void *data, char *err, size_t errlen);

/* On demand: clears `tag`; only agent-made tags unless `force`, never the newest good one.
 * Returns 0 (cb fires later) or -EINVAL / -EPERM with `err` filled. */
int snapshots_clear(struct snapshots *s, const char *tag, bool force, snapshots_done_cb cb, void *data, char *err,
		    size_t errlen);

/* The check snapshots_clear() makes, alone (for refusing a command at intake). */
int snapshots_check_clear(struct snapshots *s, const char *tag, bool force, char *err, size_t errlen);

/* The `snapshots` document of the status socket: {"snapshots": [{tag, created_unix_ms,
 * true_size_bytes, size_on_disk_bytes, tables, owner}...], "listed_at_unix_ms": N}
 * from the last listing. New malloc'd string, NULL on ENOMEM. */
char *snapshots_json(struct snapshots *s);

/* Stops timers; a nodetool call under way is left to the runner (cancelled with it).
 * Pending on-demand callbacks fire with -ECANCELED. Freed from the loop. */
void snapshots_stop(struct snapshots *s);

#endif
