/* config_cmd: the offline `cassandra-agentctl config show|set|unset|diff|rollback` command on a cassandra.yaml. */
#ifndef CA_CONFIG_CMD_H
#define CA_CONFIG_CMD_H

#include <stddef.h>

/* Where history copies go without --history (state_directory/history of the default agent.yaml). */
#define CONFIG_CMD_HISTORY_DIR "/var/lib/cassandra-agent/history"

/* History copies kept per file without --keep. */
#define CONFIG_CMD_HISTORY_KEEP 20

/*
 * Runs `config SUBCOMMAND ...` with argv[0] == "config" and argv[1] the subcommand (callers
 * send a bare `config` to the daemon instead):
 *
 *   config show     --yaml FILE [KEY ...]
 *   config set      --yaml FILE (--version X.Y | --no-validate) [KEY=VALUE ...] [--seeds a,b,c]
 *                   [--external-seeds d,e] [--dry-run] [--force] [--history DIR] [--keep N]
 *   config unset    --yaml FILE (--version X.Y | --no-validate) KEY ... [same options]
 *   config diff     like set, never writes: prints the unified diff
 *   config rollback --yaml FILE [--history DIR] [--dry-run] [--force]
 *   every one also takes --json (one JSON result object on stdout).
 *
 * KEY is a dotted path (`client_encryption_options.enabled`, `seed_provider[0].parameters[0].seeds`);
 * VALUE is YAML flow text (`true`, `5000ms`, `'a b'`, `[a, b]`, `{k: v}`; empty means null).
 * Edits and validation are those of cassandra_schema_apply (the daemon uses the same). Without
 * --version the file's Cassandra version cannot be known, so set/unset/diff refuse (usage)
 * unless --no-validate is given; `show` and `rollback` need no version.
 * set/unset write through fileio_replace (atomic, owner and mode kept) after saving the old file
 * in the history directory (--history, default CONFIG_CMD_HISTORY_DIR; the newest --keep copies,
 * default 20, are kept); --dry-run prints the diff instead. rollback restores the newest history
 * copy (which must parse unless --force) and saves the file it replaces as a new copy, so a second
 * rollback undoes the first.
 * Returns the exit code: 0 done (also "unchanged"), 1 refused or failed (stderr says why; the
 * file is untouched), 2 usage.
 */
int config_cmd_main(int argc, char **argv);

/*
 * Writes to *out (caller frees, NUL-terminated) a unified diff with 3 lines of context from
 * `a` to `b`, headed `--- label_a` / `+++ label_b`; empty when they are equal. Lines are
 * compared with their line ends. Returns 0 or -ENOMEM.
 */
int config_cmd_diff(const char *a, size_t alen, const char *b, size_t blen, const char *label_a, const char *label_b,
		    char **out, size_t *out_len);

#endif
