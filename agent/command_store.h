/* command_store: the crash-safe journal of controller commands that makes them idempotent by id. */
#ifndef CA_COMMAND_STORE_H
#define CA_COMMAND_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cassandra_agent/v1/agent.pb-c.h"

#define COMMAND_STORE_KEEP_MS    (24LL * 3600 * 1000) /* results are kept this long (SPEC section 7) */
#define COMMAND_STORE_FILE       "commands.journal"
#define COMMAND_STORE_RECORD_MAX (2u * 1024u * 1024u) /* one record, bytes (output is capped below it) */

/* What the store knows of one command id. Owned by the store; valid until the next call
 * that changes the store. */
struct stored_command {
	const char *id;
	const char *kind;
	int64_t at_unix_ms; /* when the newest status was recorded */
	CassandraAgent__V1__CommandStatus status;
	const char *message;
	const uint8_t *output;
	size_t output_len;
	bool delivered; /* the final status was written to a controller connection */
	bool durable;   /* the newest status is on disk (fsync'd) */
};

struct command_store;

/* Called once the record passed to command_store_put() is on disk (err 0) or could not be
 * written (negative errno). */
typedef void (*command_store_synced_cb)(void *data, int err);

/*
 * Opens `state_dir`/commands.journal (created when missing), loads every record younger
 * than COMMAND_STORE_KEEP_MS (the newest record of an id wins; a torn record at the end,
 * from a crash mid-write, is dropped), rewrites the file compacted, and turns every command
 * left RUNNING or ACCEPTED by a previous run into FAILED "interrupted: ..." (never runs it
 * again). Returns 0 or a negative errno with `err` filled. Blocking I/O: call it at start-up
 * only, before the loop runs.
 */
int command_store_open(uv_loop_t *loop, const char *state_dir, int64_t now_unix_ms, struct command_store **out,
		       char *err, size_t errlen);

/* The stored state of `id`, or NULL when unknown. */
const struct stored_command *command_store_get(struct command_store *s, const char *id);

/*
 * Records the newest status of command `id` (copied). The record is appended to the journal
 * by a worker thread, many records per fsync (group commit); `cb` (may be NULL) fires from
 * the loop once it is durable. A final status (SUCCEEDED, FAILED, REJECTED) is added to the
 * undelivered list. Returns 0 or -ENOMEM / -EINVAL (empty id).
 */
int command_store_put(struct command_store *s, const char *id, const char *kind,
		      CassandraAgent__V1__CommandStatus status, const char *message, const uint8_t *output,
		      size_t output_len, int64_t now_unix_ms, command_store_synced_cb cb, void *data);

/* Marks the final status of `id` as written to the controller (journaled lazily). */
void command_store_mark_delivered(struct command_store *s, const char *id);

/*
 * The ids whose final status has not been delivered yet, oldest first (for Hello's
 * resumable_command_ids and the resend after reconnecting). Writes up to `max` pointers
 * (owned by the store, valid until the next change) and returns the total count.
 */
size_t command_store_undelivered(struct command_store *s, const char **ids, size_t max);

/* Number of ids held, and journal writes still in flight (for tests and status). */
size_t command_store_count(const struct command_store *s);
bool command_store_idle(const struct command_store *s);

/* Called from the loop after every journal write: err 0, or the negative errno of a write
 * that failed (ENOSPC, EIO, EROFS...). */
typedef void (*command_store_observer_cb)(void *data, int err);

/* Sets the observer of journal writes (one; NULL clears it). */
void command_store_observe(struct command_store *s, command_store_observer_cb cb, void *data);

/*
 * After a failed write, the journal is cut back to its last whole record and every result
 * not yet on disk stays in memory: it is written again with the next record put, or by
 * this call (from a timer). Nothing happens when no write has failed or one is in flight.
 */
void command_store_retry(struct command_store *s);

/* 0, or the negative errno of the last journal write when it failed. */
int command_store_error(const struct command_store *s);

/* Drops records older than COMMAND_STORE_KEEP_MS from memory (the file is compacted at the
 * next open). */
void command_store_expire(struct command_store *s, int64_t now_unix_ms);

/* Waits for writes in flight to finish (from the loop), then frees everything. */
void command_store_close(struct command_store *s);

#endif
