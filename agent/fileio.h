/* fileio: crash-safe file replacement (temp + fsync + rename + fsync dir) with history, and bounded reads. */
#ifndef CA_FILEIO_H
#define CA_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Replaces `path` with `len` bytes of `data` so that a crash at any point leaves either the
 * old complete file or the new complete file: writes `<dir>/.<name>.XXXXXX`, fsync()s it,
 * gives it the owner, group and mode of the old file (or `mode_if_new` when there is none),
 * rename()s it over `path`, then fsync()s the directory. When `history_dir` is not NULL and
 * the old file exists, the old bytes are first saved (crash-safely too) as
 * `<history_dir>/<name>.<UTC YYYYMMDDTHHMMSS.mmmZ>` and only the newest `history_keep`
 * copies of that name are kept.
 * Returns 0, or a negative errno with `err` saying which step failed ("fsync ...: ...");
 * on failure `path` is untouched and no temporary file is left.
 * Details: a symlink at `path` stays a symlink (the file it points to is replaced); before the
 * rename the old file gets a second hard link `.<name>.XXXXXX.old`, so that a failed fsync of the
 * directory can put the old file back (a new file is removed instead); the history copy made for
 * a write that then fails is removed again; `history_keep` 0 keeps every copy; a copy name
 * already taken (two writes in one millisecond) moves on to the next millisecond.
 */
int fileio_replace(const char *path, const void *data, size_t len, mode_t mode_if_new, const char *history_dir,
		   unsigned history_keep, char *err, size_t errlen);

/*
 * Reads the whole of `path` into a new NUL-terminated buffer (*out, caller frees; *len
 * excludes the NUL). Files larger than `max` bytes are refused with -EFBIG.
 * Returns 0 or a negative errno with `err` filled.
 */
int fileio_read(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen);

/* Lists the history copies of `name` in `history_dir`, newest first (NULL-terminated array
 * of full paths; free with fileio_strv_free). Returns the count or a negative errno. */
int fileio_history(const char *history_dir, const char *name, char ***out);
void fileio_strv_free(char **v);

/*
 * Fault injection for tests: when the environment variable CASSANDRA_AGENT_FAULT names a
 * step ("write", "short_write", "fsync", "rename", "fsync_dir", "enospc"), fileio_replace
 * fails at that step as if the system call had failed (-EIO, or -ENOSPC for "enospc";
 * a short write is reported as -EIO), exercising the same clean-up path. Read once per call.
 */

#endif
