/* snapshot_plan: pure snapshot logic (slot schedule, tags, guards, retention, persisted record); no clock, no I/O. */
#ifndef CA_SNAPSHOT_PLAN_H
#define CA_SNAPSHOT_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nodetool_parse.h"

/*
 * Conventions (SPEC 6.4):
 * - Times are int64 unix milliseconds (UTC) inside the supported domain
 *   [0, SNAPSHOT_TIME_MAX_MS] = 1970-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z
 *   (every instant of it has a 4-digit-year tag). Nothing here reads a clock: the
 *   caller passes `now_ms`. Intervals and retentions are uint64 ms (as in struct
 *   agent_config); any value is accepted up to UINT64_MAX (no arithmetic overflows).
 * - Functions return 0 or a negative errno. Where an `err` buffer is taken it is
 *   caller-owned, may be NULL when `errlen` is 0, and receives a one-line message
 *   (truncated to `errlen`) on error only.
 *
 * What counts as agent-made: a tag is agent-made if and only if it is exactly
 * `<prefix>-YYYYMMDDTHHMMSSZ` for the configured prefix with a real UTC date and time
 * in the domain (snapshot_tag_parse() succeeds): the format is the ownership mark, and
 * it works on 3.11/4.0 too, whose listsnapshots has no creation time. A tag that merely
 * starts with the prefix ("agent-pre-upgrade", "agent-20241011T120000Z-x",
 * "agent-20241301T000000Z") is NOT agent-made, and neither is any tag an operator chose
 * through TakeSnapshot{tag} / `snapshot take --tag T`: those are never pruned and
 * ClearSnapshot needs force for them. TakeSnapshot without a tag gets an agent-format
 * tag for `now` (snapshot_plan_take_tag()) and is pruned like the scheduled ones; a
 * requested tag in the agent's own format is refused, so operators cannot create
 * snapshots the agent would later delete. Changing snapshots.tag_prefix leaves the
 * old prefix's snapshots as "other" (kept).
 */

#define SNAPSHOT_TIME_MAX_MS     INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */
#define SNAPSHOT_SLOT_NONE       INT64_C(-1)              /* no slot taken yet / nothing persisted */
#define SNAPSHOT_NEVER           INT64_MAX                /* a wake-up time beyond the domain */
#define SNAPSHOT_INTERVAL_MIN_MS 1000u                    /* tags have second resolution */
#define SNAPSHOT_TAG_MAX         64                       /* characters in a valid tag (SPEC 6.4) */
#define SNAPSHOT_TAG_SIZE        (SNAPSHOT_TAG_MAX + 1)
#define SNAPSHOT_PREFIX_MAX      47  /* == CONFIG_TAG_PREFIX_MAX */
#define SNAPSHOT_STAMP_LEN       17  /* "-YYYYMMDDTHHMMSSZ" */
#define SNAPSHOT_RECORD_MAX      256 /* bytes of a persisted record, see below */

/* ---- slot arithmetic ---- */

/*
 * The start of the slot holding `now_ms`: the largest multiple of `interval_ms` since
 * the unix epoch that is <= now_ms. Slots are aligned to the epoch (UTC), so intervals
 * dividing a day give 00:00, 04:00, ... (4 h), 00:00, 06:00, ... (6 h), midnight (24 h);
 * intervals that do not divide a day (7 h, 5 d) still align to the epoch, not to
 * midnight, and intervals longer than the domain put every time in slot 0.
 * Returns 0, -EINVAL when interval_ms < SNAPSHOT_INTERVAL_MIN_MS or slot_ms is NULL,
 * -ERANGE when now_ms is outside the domain.
 */
int snapshot_slot_floor(int64_t now_ms, uint64_t interval_ms, int64_t *slot_ms);

/* The start of the slot after the one holding `now_ms` (always > now_ms). Same errors
 * as snapshot_slot_floor(), plus -ERANGE when that start is beyond the domain. */
int snapshot_slot_next(int64_t now_ms, uint64_t interval_ms, int64_t *next_ms);

/* What the scheduled job knows between ticks. */
struct snapshot_schedule {
	uint64_t interval_ms; /* snapshots.interval (>= SNAPSHOT_INTERVAL_MIN_MS) */
	int64_t last_slot_ms; /* last slot taken (persisted), or SNAPSHOT_SLOT_NONE */
	int64_t started_ms;   /* when this agent process began scheduling (its start-up) */
	bool catch_up;        /* take the slot in progress at start-up if it was missed (SPEC: yes) */
};

enum snapshot_action {
	SNAPSHOT_ACTION_WAIT, /* nothing to take: ask again at wake_at_ms */
	SNAPSHOT_ACTION_TAKE, /* take slot_ms now (tag from snapshot_tag_format(prefix, slot_ms)) */
};

enum snapshot_why {
	SNAPSHOT_WHY_DUE,          /* TAKE: the current slot began while the agent was running */
	SNAPSHOT_WHY_CATCH_UP,     /* TAKE: the current slot began before start-up and was not taken */
	SNAPSHOT_WHY_TAKEN,        /* WAIT: the current slot (or a later one) is already taken */
	SNAPSHOT_WHY_NO_CATCH_UP,  /* WAIT: the current slot began before start-up; catch-up is off */
	SNAPSHOT_WHY_CLOCK_BEHIND, /* WAIT: the clock is before the last taken slot or before start-up;
				    * nothing is repeated, the schedule resumes at wake_at_ms */
};

struct snapshot_decision {
	enum snapshot_action action;
	enum snapshot_why why;
	int64_t slot_ms;       /* the slot holding now (the one to take when TAKE) */
	int64_t wake_at_ms;    /* next slot start to decide again (> now); SNAPSHOT_NEVER
				* when it is beyond the domain */
	uint64_t missed_slots; /* slots strictly between the last taken one and slot_ms that
				* were never taken (0 with no last slot); for the log */
};

/*
 * Decides, at start-up or at any tick, whether to take a snapshot. With
 * cur = snapshot_slot_floor(now_ms) and last = s->last_slot_ms:
 * - cur <= last: WAIT until the first slot start after last (why TAKEN, or CLOCK_BEHIND
 *   when now_ms < last): a clock jump backward never repeats a slot.
 * - cur > last (or no last) and cur >= started_ms: TAKE cur (DUE). After a jump forward
 *   over k slots this is one snapshot; the k-1 skipped ones are counted in missed_slots.
 * - cur > last and cur < started_ms (the slot began while the agent was down): TAKE cur
 *   (CATCH_UP) only when catch_up is set and cur is the slot holding started_ms, else WAIT
 *   until cur + interval (NO_CATCH_UP, or CLOCK_BEHIND when cur is older than that slot).
 *   So at most one catch-up per process, whatever number of slots were missed.
 * A TAKE is repeated on every call until last_slot_ms >= slot_ms: when a guard skips it
 * (snapshot_plan_guard()), the job may retry within the slot (at min(now + its retry
 * delay, wake_at_ms)). Recommended: persist slot_ms as last_slot_ms once the `nodetool
 * snapshot -t TAG` command has been issued (a retry with the same tag would fail on a
 * partial snapshot), and not on a guard skip.
 * Returns 0 and fills *out; -EINVAL (message in err) when an argument is NULL, the
 * interval is below SNAPSHOT_INTERVAL_MIN_MS, or last_slot_ms (not NONE) or started_ms
 * is outside the domain; -ERANGE when now_ms is outside the domain.
 */
int snapshot_plan_decide(const struct snapshot_schedule *s, int64_t now_ms, struct snapshot_decision *out, char *err,
			 size_t errlen);

/* Short lowercase names for logs and JSON ("wait"/"take"; "due", "catch_up", "taken",
 * "no_catch_up", "clock_behind"); "?" for an unknown value. Static strings. */
const char *snapshot_action_name(enum snapshot_action a);
const char *snapshot_why_name(enum snapshot_why w);

/* ---- tags ---- */

/* Checks a tag against SPEC 6.4 `[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}` (so never "", ".",
 * "..", nor anything with '/', spaces, control or non-ASCII bytes). Reads at most
 * SNAPSHOT_TAG_MAX + 1 bytes of `tag` (NUL-terminated). Returns 0 or -EINVAL with the
 * reason (first offending position, 1-based) in err. */
int snapshot_tag_validate(const char *tag, char *err, size_t errlen);

/* Checks a tag prefix: 1..SNAPSHOT_PREFIX_MAX characters, same alphabet and first
 * character rule as tags (what config.c accepts). 0 or -EINVAL with err. */
int snapshot_prefix_validate(const char *prefix, char *err, size_t errlen);

/*
 * Writes `<prefix>-YYYYMMDDTHHMMSSZ` for `at_ms` (truncated to the second) and a NUL
 * into buf (`size` >= strlen(prefix) + SNAPSHOT_STAMP_LEN + 1; SNAPSHOT_TAG_SIZE always
 * fits). Returns 0, -EINVAL for a bad prefix or NULL buf, -ERANGE for at_ms outside the
 * domain, -ENOSPC when buf is too small (buf then holds "" if size > 0).
 */
int snapshot_tag_format(const char *prefix, int64_t at_ms, char *buf, size_t size);

/*
 * Parses an agent-made tag: exactly `<prefix>-YYYYMMDDTHHMMSSZ` with a valid date (leap
 * years), hours 00-23, minutes and seconds 00-59, year 1970-9999. Sets *created_ms
 * (may be NULL) to that instant. Returns 0, or -EINVAL when the tag is not in that
 * form (then it is not agent-made) or an argument is NULL. Reads at most
 * SNAPSHOT_TAG_MAX + 1 bytes of `tag`.
 */
int snapshot_tag_parse(const char *tag, const char *prefix, int64_t *created_ms);

/* True when `tag` is agent-made for `prefix` (snapshot_tag_parse() == 0). */
bool snapshot_tag_is_agent(const char *tag, const char *prefix);

/*
 * The tag for an on-demand TakeSnapshot{tag?} / `snapshot take [--tag T]`: with
 * `requested` NULL or "" the agent's own tag for `now_ms`; otherwise `requested` after
 * snapshot_tag_validate(), refused when it is in the agent's own format (reserved for
 * agent-made snapshots, see above). Writes it into out (`outsize` >= SNAPSHOT_TAG_SIZE
 * always fits). Returns 0, -EINVAL (refused, message in err), -ERANGE (now_ms outside
 * the domain), -ENOSPC (out too small).
 */
int snapshot_plan_take_tag(const char *requested, const char *prefix, int64_t now_ms, char *out, size_t outsize,
			   char *err, size_t errlen);

/*
 * May ClearSnapshot{tag, force} run `clearsnapshot -t tag`? The tag must be valid
 * (-EINVAL even with force). Without force it must be agent-made and must not be
 * `newest_ok_tag` (the newest successful snapshot; NULL or "" = unknown): otherwise
 * -EPERM with the reason. Returns 0 when allowed.
 */
int snapshot_plan_check_clear(const char *tag, const char *prefix, const char *newest_ok_tag, bool force, char *err,
			      size_t errlen);

/* ---- guards ---- */

/* Free space of one data directory as the job measured it (statvfs). */
struct snapshot_disk {
	const char *path; /* for the reason text; NULL prints "?" */
	int err;          /* 0, or the negative errno of the measurement */
	uint64_t total_bytes;
	uint64_t free_bytes; /* available to Cassandra (f_bavail) */
};

struct snapshot_guard_input {
	bool snapshot_running;  /* a snapshot or clearsnapshot of the agent is in flight */
	bool maintenance_holds; /* maintenance has the node (drained, stopped, rebooting, ...) */
	bool cassandra_running; /* unit active and nodetool answering */
	const struct snapshot_disk *disks;
	size_t n_disks;
	double min_free_disk_percent; /* snapshots.min_free_disk, 0..100 */
};

enum snapshot_skip {
	SNAPSHOT_SKIP_NONE = 0, /* go ahead */
	SNAPSHOT_SKIP_BUSY,
	SNAPSHOT_SKIP_MAINTENANCE,
	SNAPSHOT_SKIP_CASSANDRA_DOWN,
	SNAPSHOT_SKIP_DISK_UNKNOWN, /* a directory could not be measured (or has size 0) */
	SNAPSHOT_SKIP_DISK_LOW,
};

/*
 * Whether a snapshot may start now; checked in the order of the enum (busy first), the
 * first failing guard wins. Free space is too low when free * 100 < min_percent * total
 * for any directory. Writes a one-line reason ("" for NONE) into reason (caller-owned,
 * may be NULL when reasonlen is 0), e.g. "free disk on /var/lib/cassandra/data is 12.5%,
 * below min_free_disk 15%". NULL `in`, or disks NULL with n_disks > 0, gives
 * SNAPSHOT_SKIP_DISK_UNKNOWN.
 */
enum snapshot_skip snapshot_plan_guard(const struct snapshot_guard_input *in, char *reason, size_t reasonlen);

/* "ok", "busy", "maintenance", "cassandra_down", "disk_unknown", "disk_low"; "?" otherwise. */
const char *snapshot_skip_name(enum snapshot_skip s);

/* ---- retention ---- */

enum snapshot_owner {
	SNAPSHOT_OWNER_AGENT, /* agent-made: may be pruned */
	SNAPSHOT_OWNER_OTHER, /* anything else: never touched */
};

/* One listed snapshot tag, aggregated over its rows (one row per keyspace.table). */
struct snapshot_tag_info {
	char tag[NT_TAG_MAX];
	int64_t created_unix_ms;  /* agent: the tag's time; other: the earliest non-zero creation
				   * time of its rows (4.1+), 0 when unknown (3.11/4.0) */
	uint64_t true_size_bytes; /* sums over the rows, saturating at UINT64_MAX */
	uint64_t size_on_disk_bytes;
	uint32_t tables; /* rows listed for the tag */
	enum snapshot_owner owner;
	bool ephemeral;      /* a 5.0 row said ephemeral (never agent-made by format anyway) */
	bool expired;        /* agent-made and now - created > retention */
	bool kept_as_newest; /* the protected newest successful snapshot */
	bool clear;          /* chosen for `clearsnapshot -t tag` */
};

struct snapshot_retention {
	struct snapshot_tag_info *tags; /* malloc'd, owned; newest first (created desc, unknown
					 * times last, then tag ascending) */
	size_t n_tags;
	size_t *clear; /* malloc'd, owned (NULL when none): indices into tags of
			* the tags to clear, oldest first */
	size_t n_clear;
	size_t newest;             /* index of the protected tag, SIZE_MAX when none */
	size_t n_agent;            /* agent-made tags listed (cleared ones included) */
	uint64_t agent_true_bytes; /* their true sizes (saturating) */
	uint64_t total_true_bytes; /* true sizes of all tags (saturating) */
};

/*
 * The retention decision over parsed listsnapshots rows (any order, several per tag).
 * Rows are grouped by tag (sort, O(n log n)); ownership per snapshot_tag_is_agent().
 * A tag is cleared when it is agent-made, now_ms - created > retention_ms, and it is not
 * the protected one: `newest_ok_tag` (the newest snapshot the job verified) when it names
 * a listed agent-made tag; otherwise the newest listed agent-made tag not dated after
 * now_ms (or, if all are in the future, the newest one). Tags dated in the future are
 * never expired. Other owners are never cleared, whatever their age.
 * Row tags must be NUL-terminated within NT_TAG_MAX (a row that is not is "other").
 * Returns 0 and fills *out (free with snapshot_retention_free()); -EINVAL (err) for a
 * NULL argument (rows may be NULL when n_rows is 0), a bad prefix, now_ms outside the
 * domain; -ENOMEM. On error *out is zeroed (freeing it is harmless).
 */
int snapshot_plan_retention(const struct nt_snapshot *rows, size_t n_rows, const char *prefix, uint64_t retention_ms,
			    int64_t now_ms, const char *newest_ok_tag, struct snapshot_retention *out, char *err,
			    size_t errlen);
void snapshot_retention_free(struct snapshot_retention *r);

/* "agent" or "other". */
const char *snapshot_owner_name(enum snapshot_owner o);

/* ---- persisted record (state_directory/snapshots.state, written with fileio_replace()) ---- */

struct snapshot_record {
	int64_t last_slot_ms;                /* SNAPSHOT_SLOT_NONE or in the domain */
	char last_ok_tag[SNAPSHOT_TAG_SIZE]; /* newest verified snapshot, "" when none */
	int64_t last_ok_unix_ms;             /* when it was verified, 0 when none */
};

/*
 * Text form, one key per line, each ending in '\n', in this order:
 *   last_slot_unix_ms=1728633600000      (or "none"; required)
 *   last_ok_tag=agent-20241011T080000Z   (only when last_ok_tag is not "")
 *   last_ok_unix_ms=1728633612345        (only when not 0)
 * Writes the text and a NUL into buf; returns its length (< SNAPSHOT_RECORD_MAX), or
 * -EINVAL for a field out of range / an invalid tag, -ENOSPC when size is too small.
 */
int snapshot_record_format(const struct snapshot_record *r, char *buf, size_t size);

/*
 * Parses `len` bytes (need not be NUL-terminated). Accepts exactly the lines above in
 * any order, each key at most once, last_slot_unix_ms required; numbers are decimal
 * without sign or leading zeros, within the domain; the tag must be valid; the final
 * '\n' may be missing. Anything else (unknown key, CR, blank line, NUL byte, more than
 * SNAPSHOT_RECORD_MAX bytes) is -EINVAL with "line N: ..." in err; *out is then
 * {SNAPSHOT_SLOT_NONE, "", 0}. Returns 0 on success.
 */
int snapshot_record_parse(const char *buf, size_t len, struct snapshot_record *out, char *err, size_t errlen);

#endif
