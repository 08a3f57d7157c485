/* nodetool: runs one nodetool subcommand as a child process on the libuv loop (never a shell). */
#ifndef CA_NODETOOL_H
#define CA_NODETOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define NODETOOL_OUTPUT_MAX (1024 * 1024) /* bytes of stdout kept; the rest is dropped */
#define NODETOOL_STDERR_MAX (16 * 1024)   /* bytes of stderr kept for the error message */

/* What one call produced. Valid only during the callback; copy what you keep. */
struct nodetool_result {
	int err;         /* 0: exited 0; -ETIMEDOUT: killed at the timeout; -ECANCELED:
			    cancelled; -ECHILD: exited non-zero or by a signal; other
			    negative errno: could not be spawned */
	int exit_status; /* exit code when the child exited */
	int term_signal; /* signal that ended it, or 0 */
	const char *out; /* stdout, NUL-terminated, at most the call's cap (NODETOOL_OUTPUT_MAX) */
	size_t out_len;
	bool out_truncated;   /* stdout was longer than the cap */
	const char *errtext;  /* one line saying what went wrong ("" on success): stderr's
				 first line or the spawn/timeout reason */
	uint64_t duration_ms; /* wall time from spawn to exit */
};

typedef void (*nodetool_cb)(void *data, const struct nodetool_result *res);

struct nodetool_runner;
struct nodetool_op;

/*
 * Creates a runner for `argv_prefix` (NULL-terminated, e.g. {"/usr/bin/nodetool", NULL};
 * copied). Every call appends its subcommand and arguments to that prefix. Returns 0
 * and sets *out, or -ENOMEM / -EINVAL (empty prefix).
 */
int nodetool_runner_new(uv_loop_t *loop, const char *const *argv_prefix, struct nodetool_runner **out);

/* Replaces the argv prefix (config reload). Calls already running keep their argv. */
int nodetool_runner_set_prefix(struct nodetool_runner *r, const char *const *argv_prefix);

/*
 * Spawns `prefix... args...` (args NULL-terminated) in its own process group
 * (setsid), stdin from /dev/null. After `timeout_ms` the whole group is killed with
 * SIGKILL and the call ends with -ETIMEDOUT. `cb` fires exactly once, from the loop,
 * after every handle of the call is closed. Returns 0, or a negative errno when
 * nothing was started (then `cb` does not fire). *op_out (may be NULL) gets a handle
 * valid until the callback fires.
 */
int nodetool_run(struct nodetool_runner *r, const char *const *args, uint64_t timeout_ms, nodetool_cb cb, void *data,
		 struct nodetool_op **op_out);

/* The same with another stdout cap (`out_max` bytes, e.g. for a 10 000-row listsnapshots). */
int nodetool_run_capped(struct nodetool_runner *r, const char *const *args, uint64_t timeout_ms, size_t out_max,
			nodetool_cb cb, void *data, struct nodetool_op **op_out);

/* Counters since the runner was made (for metrics): calls finished, calls that failed, and
 * the wall time of the last one in ms. */
void nodetool_runner_stats(const struct nodetool_runner *r, uint64_t *calls, uint64_t *failures, uint64_t *last_ms);

/* Number of calls under way. */
size_t nodetool_runner_active(const struct nodetool_runner *r);

/* Frees the runner once its calls under way have finished on their own (nothing is killed;
 * their callbacks fire as usual). No new call may be made. */
void nodetool_runner_release(struct nodetool_runner *r);

/* Kills every call under way (their callbacks fire with -ECANCELED) and frees the runner
 * once the last one has closed its handles. */
void nodetool_runner_close(struct nodetool_runner *r);

#endif
