/* persist: crash-safe file replacement off the loop (fileio_replace in a libuv worker thread). */
#ifndef CA_PERSIST_H
#define CA_PERSIST_H

#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

/* Called from the loop once the file is replaced (err 0) or not (negative errno, `errmsg`
 * says which step failed). */
typedef void (*persist_cb)(void *data, int err, const char *errmsg);

/* Sees every write of this module once it is done (from the loop, before its own callback):
 * `path` as given, err 0 or a negative errno, `errmsg` which step failed. */
typedef void (*persist_observer_cb)(void *data, const char *path, int err, const char *errmsg);

/* Sets the one process-wide observer (NULL clears it); the daemon uses it to report the
 * state directory's health. */
void persist_observe(persist_observer_cb cb, void *data);

/*
 * Replaces `path` with a copy of `len` bytes of `bytes` (temp + fsync + rename + fsync dir,
 * see fileio_replace(), no history) in a worker thread, then calls `cb` (may be NULL).
 * Returns 0, or a negative errno when nothing was queued (cb does not fire).
 */
int persist_write(uv_loop_t *loop, const char *path, const void *bytes, size_t len, mode_t mode, persist_cb cb,
		  void *data);

/* The same, saving the old file first as a history copy in `history_dir` (newest `keep`). */
int persist_write_history(uv_loop_t *loop, const char *path, const void *bytes, size_t len, mode_t mode,
			  const char *history_dir, unsigned keep, persist_cb cb, void *data);

#endif
