/* snapshot_plan: slot schedule, tag format and checks, guards, retention decision and persisted record for SPEC 6.4. */
#include "snapshot_plan.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAPSHOT_MS_PER_DAY INT64_C(86400000)

/* Writes a formatted one-line message into err (if any room) and returns rc. */
static int snapshot_fail(int rc, char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int snapshot_fail(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static bool snapshot_time_ok(int64_t t)
{
	return t >= 0 && t <= SNAPSHOT_TIME_MAX_MS;
}

/* ---- slot arithmetic ---- */

int snapshot_slot_floor(int64_t now_ms, uint64_t interval_ms, int64_t *slot_ms)
{
	if (!slot_ms || interval_ms < SNAPSHOT_INTERVAL_MIN_MS)
		return -EINVAL;
	if (!snapshot_time_ok(now_ms))
		return -ERANGE;
	*slot_ms = (int64_t)((uint64_t)now_ms - (uint64_t)now_ms % interval_ms);
	return 0;
}

/* floor(t) + interval for a t in the domain, or SNAPSHOT_NEVER beyond the domain. */
static int64_t snapshot_slot_after(int64_t t, uint64_t interval_ms)
{
	int64_t slot = (int64_t)((uint64_t)t - (uint64_t)t % interval_ms);

	if (interval_ms > (uint64_t)(SNAPSHOT_TIME_MAX_MS - slot))
		return SNAPSHOT_NEVER;
	return slot + (int64_t)interval_ms;
}

int snapshot_slot_next(int64_t now_ms, uint64_t interval_ms, int64_t *next_ms)
{
	int64_t next;

	if (!next_ms || interval_ms < SNAPSHOT_INTERVAL_MIN_MS)
		return -EINVAL;
	if (!snapshot_time_ok(now_ms))
		return -ERANGE;
	next = snapshot_slot_after(now_ms, interval_ms);
	if (next == SNAPSHOT_NEVER)
		return -ERANGE;
	*next_ms = next;
	return 0;
}

int snapshot_plan_decide(const struct snapshot_schedule *s, int64_t now_ms, struct snapshot_decision *out, char *err,
			 size_t errlen)
{
	int64_t cur, last, start_slot;
	uint64_t iv;

	if (!s || !out)
		return snapshot_fail(-EINVAL, err, errlen, "no schedule or no result");
	memset(out, 0, sizeof(*out));
	iv = s->interval_ms;
	last = s->last_slot_ms;
	if (iv < SNAPSHOT_INTERVAL_MIN_MS)
		return snapshot_fail(-EINVAL, err, errlen, "snapshot interval %" PRIu64 " ms is below %u ms", iv,
				     SNAPSHOT_INTERVAL_MIN_MS);
	if (last != SNAPSHOT_SLOT_NONE && !snapshot_time_ok(last))
		return snapshot_fail(-EINVAL, err, errlen, "last slot %" PRId64 " ms is outside 1970..9999", last);
	if (!snapshot_time_ok(s->started_ms))
		return snapshot_fail(-EINVAL, err, errlen, "start time %" PRId64 " ms is outside 1970..9999",
				     s->started_ms);
	if (!snapshot_time_ok(now_ms))
		return snapshot_fail(-ERANGE, err, errlen, "clock %" PRId64 " ms is outside 1970..9999", now_ms);

	cur = (int64_t)((uint64_t)now_ms - (uint64_t)now_ms % iv);
	start_slot = (int64_t)((uint64_t)s->started_ms - (uint64_t)s->started_ms % iv);
	out->slot_ms = cur;
	out->action = SNAPSHOT_ACTION_WAIT;
	if (last != SNAPSHOT_SLOT_NONE && cur <= last) {
		/* Already taken, or the clock went back: resume after the last taken slot. */
		out->why = now_ms < last ? SNAPSHOT_WHY_CLOCK_BEHIND : SNAPSHOT_WHY_TAKEN;
		out->wake_at_ms = snapshot_slot_after(last, iv);
		return 0;
	}
	if (last != SNAPSHOT_SLOT_NONE) {
		int64_t last_slot = (int64_t)((uint64_t)last - (uint64_t)last % iv);

		/* cur > last >= last_slot and both are multiples of iv: at least one interval apart. */
		out->missed_slots = (uint64_t)(cur - last_slot) / iv - 1;
	}
	out->wake_at_ms = snapshot_slot_after(cur, iv);
	if (cur >= s->started_ms) {
		out->action = SNAPSHOT_ACTION_TAKE;
		out->why = SNAPSHOT_WHY_DUE;
	} else if (cur == start_slot) {
		out->action = s->catch_up ? SNAPSHOT_ACTION_TAKE : SNAPSHOT_ACTION_WAIT;
		out->why = s->catch_up ? SNAPSHOT_WHY_CATCH_UP : SNAPSHOT_WHY_NO_CATCH_UP;
	} else {
		out->why = SNAPSHOT_WHY_CLOCK_BEHIND;
	}
	return 0;
}

const char *snapshot_action_name(enum snapshot_action a)
{
	switch (a) {
	case SNAPSHOT_ACTION_WAIT: return "wait";
	case SNAPSHOT_ACTION_TAKE: return "take";
	}
	return "?";
}

const char *snapshot_why_name(enum snapshot_why w)
{
	switch (w) {
	case SNAPSHOT_WHY_DUE: return "due";
	case SNAPSHOT_WHY_CATCH_UP: return "catch_up";
	case SNAPSHOT_WHY_TAKEN: return "taken";
	case SNAPSHOT_WHY_NO_CATCH_UP: return "no_catch_up";
	case SNAPSHOT_WHY_CLOCK_BEHIND: return "clock_behind";
	}
	return "?";
}

/* ---- calendar (proleptic Gregorian, H. Hinnant's algorithms) ---- */

static int64_t snapshot_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* For days >= 0 (1970 onwards). */
static void snapshot_civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = z / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static bool snapshot_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* ---- tags ---- */

static bool snapshot_tag_char(unsigned char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
	       (c == '.' && !first);
}

/* Checks s (NUL-terminated, at most max characters) against the tag alphabet; what names it in messages. */
static int snapshot_name_check(const char *s, size_t max, const char *what, char *err, size_t errlen)
{
	size_t i;

	if (!s)
		return snapshot_fail(-EINVAL, err, errlen, "no %s", what);
	if (!s[0])
		return snapshot_fail(-EINVAL, err, errlen, "%s is empty", what);
	for (i = 0; i <= max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == max)
			return snapshot_fail(-EINVAL, err, errlen, "%s is longer than %zu characters", what, max);
		if (snapshot_tag_char(c, i == 0))
			continue;
		if (c == '.')
			return snapshot_fail(-EINVAL, err, errlen, "%s must not start with '.'", what);
		if (c > 0x20 && c < 0x7f)
			return snapshot_fail(-EINVAL, err, errlen,
					     "%s has '%c' at position %zu (allowed: A-Z a-z 0-9 . _ -)", what, c,
					     i + 1);
		return snapshot_fail(-EINVAL, err, errlen,
				     "%s has byte 0x%02x at position %zu (allowed: A-Z a-z 0-9 . _ -)", what, c, i + 1);
	}
	return 0;
}

int snapshot_tag_validate(const char *tag, char *err, size_t errlen)
{
	return snapshot_name_check(tag, SNAPSHOT_TAG_MAX, "snapshot tag", err, errlen);
}

int snapshot_prefix_validate(const char *prefix, char *err, size_t errlen)
{
	return snapshot_name_check(prefix, SNAPSHOT_PREFIX_MAX, "snapshot tag prefix", err, errlen);
}

int snapshot_tag_format(const char *prefix, int64_t at_ms, char *buf, size_t size)
{
	int64_t days, secs;
	int y, mo, d, n;

	if (!buf || snapshot_prefix_validate(prefix, NULL, 0))
		return -EINVAL;
	if (size)
		buf[0] = '\0';
	if (!snapshot_time_ok(at_ms))
		return -ERANGE;
	days = at_ms / SNAPSHOT_MS_PER_DAY;
	secs = at_ms % SNAPSHOT_MS_PER_DAY / 1000;
	snapshot_civil_from_days(days, &y, &mo, &d);
	n = snprintf(buf, size, "%s-%04d%02d%02dT%02d%02d%02dZ", prefix, y, mo, d, (int)(secs / 3600),
		     (int)(secs / 60 % 60), (int)(secs % 60));
	if (n < 0 || (size_t)n >= size) {
		if (size)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return 0;
}

/* Reads n decimal digits at p; -1 if one is not a digit. */
static int snapshot_digits(const char *p, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* Parses tag[0..tlen) as `<prefix>-YYYYMMDDTHHMMSSZ`; prefix[0..plen) is assumed valid. */
static int snapshot_tag_parse_n(const char *tag, size_t tlen, const char *prefix, size_t plen, int64_t *created_ms)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *s;
	int y, mo, d, h, mi, sec;

	if (tlen != plen + SNAPSHOT_STAMP_LEN || memcmp(tag, prefix, plen) != 0 || tag[plen] != '-')
		return -EINVAL;
	s = tag + plen + 1;
	if (s[8] != 'T' || s[15] != 'Z')
		return -EINVAL;
	y = snapshot_digits(s, 4);
	mo = snapshot_digits(s + 4, 2);
	d = snapshot_digits(s + 6, 2);
	h = snapshot_digits(s + 9, 2);
	mi = snapshot_digits(s + 11, 2);
	sec = snapshot_digits(s + 13, 2);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
		return -EINVAL;
	if (d > mdays[mo - 1] + (mo == 2 && snapshot_leap(y)))
		return -EINVAL;
	if (created_ms)
		*created_ms = (snapshot_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) * 1000;
	return 0;
}

int snapshot_tag_parse(const char *tag, const char *prefix, int64_t *created_ms)
{
	size_t tlen;

	if (!tag || snapshot_prefix_validate(prefix, NULL, 0))
		return -EINVAL;
	tlen = strnlen(tag, SNAPSHOT_TAG_MAX + 1);
	if (tlen > SNAPSHOT_TAG_MAX)
		return -EINVAL;
	return snapshot_tag_parse_n(tag, tlen, prefix, strlen(prefix), created_ms);
}

bool snapshot_tag_is_agent(const char *tag, const char *prefix)
{
	return snapshot_tag_parse(tag, prefix, NULL) == 0;
}

int snapshot_plan_take_tag(const char *requested, const char *prefix, int64_t now_ms, char *out, size_t outsize,
			   char *err, size_t errlen)
{
	int rc;

	if (!out)
		return snapshot_fail(-EINVAL, err, errlen, "no output buffer");
	if (outsize)
		out[0] = '\0';
	rc = snapshot_prefix_validate(prefix, err, errlen);
	if (rc)
		return rc;
	if (!requested || !requested[0]) {
		rc = snapshot_tag_format(prefix, now_ms, out, outsize);
		if (rc == -ERANGE)
			return snapshot_fail(rc, err, errlen, "clock %" PRId64 " ms is outside 1970..9999", now_ms);
		if (rc)
			return snapshot_fail(rc, err, errlen, "tag buffer of %zu bytes is too small", outsize);
		return 0;
	}
	rc = snapshot_tag_validate(requested, err, errlen);
	if (rc)
		return rc;
	if (snapshot_tag_is_agent(requested, prefix))
		return snapshot_fail(
			-EINVAL, err, errlen,
			"snapshot tag \"%s\" has the form %s-YYYYMMDDTHHMMSSZ reserved for the agent's own "
			"snapshots (leave the tag out to get one)",
			requested, prefix);
	if (strlen(requested) >= outsize)
		return snapshot_fail(-ENOSPC, err, errlen, "tag buffer of %zu bytes is too small", outsize);
	memcpy(out, requested, strlen(requested) + 1);
	return 0;
}

int snapshot_plan_check_clear(const char *tag, const char *prefix, const char *newest_ok_tag, bool force, char *err,
			      size_t errlen)
{
	int rc = snapshot_tag_validate(tag, err, errlen);

	if (rc || force)
		return rc;
	rc = snapshot_prefix_validate(prefix, err, errlen);
	if (rc)
		return rc;
	if (!snapshot_tag_is_agent(tag, prefix))
		return snapshot_fail(
			-EPERM, err, errlen,
			"snapshot \"%s\" was not made by the agent (not %s-YYYYMMDDTHHMMSSZ); use force to "
			"clear it",
			tag, prefix);
	if (newest_ok_tag && strcmp(tag, newest_ok_tag) == 0)
		return snapshot_fail(-EPERM, err, errlen,
				     "snapshot \"%s\" is the newest successful snapshot; use force to clear it", tag);
	return 0;
}

/* ---- guards ---- */

enum snapshot_skip snapshot_plan_guard(const struct snapshot_guard_input *in, char *reason, size_t reasonlen)
{
	if (reason && reasonlen)
		reason[0] = '\0';
	if (!in || (!in->disks && in->n_disks)) {
		snapshot_fail(0, reason, reasonlen, "no guard input");
		return SNAPSHOT_SKIP_DISK_UNKNOWN;
	}
	if (in->snapshot_running) {
		snapshot_fail(0, reason, reasonlen, "a snapshot job is already running");
		return SNAPSHOT_SKIP_BUSY;
	}
	if (in->maintenance_holds) {
		snapshot_fail(0, reason, reasonlen, "maintenance holds the node");
		return SNAPSHOT_SKIP_MAINTENANCE;
	}
	if (!in->cassandra_running) {
		snapshot_fail(0, reason, reasonlen, "Cassandra is not running");
		return SNAPSHOT_SKIP_CASSANDRA_DOWN;
	}
	for (size_t i = 0; i < in->n_disks; i++) {
		const struct snapshot_disk *dk = &in->disks[i];
		const char *path = dk->path ? dk->path : "?";

		if (dk->err || dk->total_bytes == 0 || dk->free_bytes > dk->total_bytes) {
			if (dk->err)
				snapshot_fail(0, reason, reasonlen, "free disk on %s is unknown: %s", path,
					      strerror(-dk->err));
			else
				snapshot_fail(0, reason, reasonlen,
					      "free disk on %s is unknown (%" PRIu64 " of %" PRIu64 " bytes free)",
					      path, dk->free_bytes, dk->total_bytes);
			return SNAPSHOT_SKIP_DISK_UNKNOWN;
		}
	}
	for (size_t i = 0; i < in->n_disks; i++) {
		const struct snapshot_disk *dk = &in->disks[i];

		if ((double)dk->free_bytes * 100.0 < in->min_free_disk_percent * (double)dk->total_bytes) {
			snapshot_fail(0, reason, reasonlen, "free disk on %s is %.1f%%, below min_free_disk %g%%",
				      dk->path ? dk->path : "?",
				      (double)dk->free_bytes * 100.0 / (double)dk->total_bytes,
				      in->min_free_disk_percent);
			return SNAPSHOT_SKIP_DISK_LOW;
		}
	}
	return SNAPSHOT_SKIP_NONE;
}

const char *snapshot_skip_name(enum snapshot_skip s)
{
	switch (s) {
	case SNAPSHOT_SKIP_NONE: return "ok";
	case SNAPSHOT_SKIP_BUSY: return "busy";
	case SNAPSHOT_SKIP_MAINTENANCE: return "maintenance";
	case SNAPSHOT_SKIP_CASSANDRA_DOWN: return "cassandra_down";
	case SNAPSHOT_SKIP_DISK_UNKNOWN: return "disk_unknown";
	case SNAPSHOT_SKIP_DISK_LOW: return "disk_low";
	}
	return "?";
}

/* ---- retention ---- */

const char *snapshot_owner_name(enum snapshot_owner o)
{
	switch (o) {
	case SNAPSHOT_OWNER_AGENT: return "agent";
	case SNAPSHOT_OWNER_OTHER: return "other";
	}
	return "?";
}

/* A row seen through its tag, for grouping. */
struct snapshot_rkey {
	const char *tag;
	size_t len; /* strnlen within NT_TAG_MAX; NT_TAG_MAX means not terminated */
	size_t row;
};

static int snapshot_rkey_cmp(const void *a, const void *b)
{
	const struct snapshot_rkey *x = a, *y = b;
	int c = memcmp(x->tag, y->tag, x->len < y->len ? x->len : y->len);

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

static bool snapshot_info_has_time(const struct snapshot_tag_info *t)
{
	return t->owner == SNAPSHOT_OWNER_AGENT || t->created_unix_ms > 0;
}

/* Newest first; unknown creation times last; then by tag. */
static int snapshot_info_cmp(const void *a, const void *b)
{
	const struct snapshot_tag_info *x = *(const struct snapshot_tag_info *const *)a;
	const struct snapshot_tag_info *y = *(const struct snapshot_tag_info *const *)b;
	bool tx = snapshot_info_has_time(x), ty = snapshot_info_has_time(y);

	if (tx != ty)
		return tx ? -1 : 1;
	if (tx && x->created_unix_ms != y->created_unix_ms)
		return x->created_unix_ms > y->created_unix_ms ? -1 : 1;
	return strcmp(x->tag, y->tag);
}

static uint64_t snapshot_sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void snapshot_retention_free(struct snapshot_retention *r)
{
	if (!r)
		return;
	free(r->tags);
	free(r->clear);
	memset(r, 0, sizeof(*r));
	r->newest = SIZE_MAX;
}

/* Fills one tag's aggregate from its sorted rows keys[0..n). */
static void snapshot_group(const struct nt_snapshot *rows, const struct snapshot_rkey *keys, size_t n,
			   const char *prefix, size_t plen, uint64_t retention_ms, int64_t now_ms,
			   struct snapshot_tag_info *t)
{
	size_t len = keys[0].len < NT_TAG_MAX ? keys[0].len : NT_TAG_MAX - 1;
	int64_t created;

	memset(t, 0, sizeof(*t));
	memcpy(t->tag, keys[0].tag, len);
	t->tag[len] = '\0';
	t->owner = SNAPSHOT_OWNER_OTHER;
	for (size_t i = 0; i < n; i++) {
		const struct nt_snapshot *r = &rows[keys[i].row];

		t->true_size_bytes = snapshot_sat_add(t->true_size_bytes, r->true_size_bytes);
		t->size_on_disk_bytes = snapshot_sat_add(t->size_on_disk_bytes, r->size_on_disk_bytes);
		t->tables += t->tables < UINT32_MAX;
		t->ephemeral |= r->ephemeral;
		if (r->created_unix_ms > 0 && (t->created_unix_ms == 0 || r->created_unix_ms < t->created_unix_ms))
			t->created_unix_ms = r->created_unix_ms;
	}
	if (keys[0].len <= SNAPSHOT_TAG_MAX &&
	    snapshot_tag_parse_n(keys[0].tag, keys[0].len, prefix, plen, &created) == 0) {
		t->owner = SNAPSHOT_OWNER_AGENT;
		t->created_unix_ms = created;
		t->expired = now_ms >= created && (uint64_t)(now_ms - created) > retention_ms;
	}
}

int snapshot_plan_retention(const struct nt_snapshot *rows, size_t n_rows, const char *prefix, uint64_t retention_ms,
			    int64_t now_ms, const char *newest_ok_tag, struct snapshot_retention *out, char *err,
			    size_t errlen)
{
	struct snapshot_rkey *keys = NULL;
	struct snapshot_tag_info *groups = NULL, **order = NULL;
	size_t n_groups = 0, plen, i, j;
	int rc;

	if (!out)
		return snapshot_fail(-EINVAL, err, errlen, "no result");
	memset(out, 0, sizeof(*out));
	out->newest = SIZE_MAX;
	if (!rows && n_rows)
		return snapshot_fail(-EINVAL, err, errlen, "no rows");
	rc = snapshot_prefix_validate(prefix, err, errlen);
	if (rc)
		return rc;
	if (!snapshot_time_ok(now_ms))
		return snapshot_fail(-EINVAL, err, errlen, "clock %" PRId64 " ms is outside 1970..9999", now_ms);
	if (!n_rows)
		return 0;
	plen = strlen(prefix);

	keys = calloc(n_rows, sizeof(*keys));
	if (!keys)
		goto nomem;
	for (i = 0; i < n_rows; i++) {
		keys[i].tag = rows[i].tag;
		keys[i].len = strnlen(rows[i].tag, NT_TAG_MAX);
		keys[i].row = i;
	}
	qsort(keys, n_rows, sizeof(*keys), snapshot_rkey_cmp);
	for (i = 0; i < n_rows; i = j) {
		for (j = i + 1;
		     j < n_rows && keys[j].len == keys[i].len && !memcmp(keys[j].tag, keys[i].tag, keys[i].len); j++)
			;
		n_groups++;
	}

	groups = calloc(n_groups, sizeof(*groups));
	order = calloc(n_groups, sizeof(*order));
	out->tags = calloc(n_groups, sizeof(*out->tags));
	out->clear = calloc(n_groups, sizeof(*out->clear));
	if (!groups || !order || !out->tags || !out->clear)
		goto nomem;
	n_groups = 0;
	for (i = 0; i < n_rows; i = j) {
		for (j = i + 1;
		     j < n_rows && keys[j].len == keys[i].len && !memcmp(keys[j].tag, keys[i].tag, keys[i].len); j++)
			;
		snapshot_group(rows, keys + i, j - i, prefix, plen, retention_ms, now_ms, &groups[n_groups]);
		order[n_groups] = &groups[n_groups];
		n_groups++;
	}
	qsort(order, n_groups, sizeof(*order), snapshot_info_cmp);
	for (i = 0; i < n_groups; i++)
		out->tags[i] = *order[i];
	out->n_tags = n_groups;

	/* The protected one: the verified newest if listed and agent-made, else the newest not in the future. */
	for (i = 0; newest_ok_tag && newest_ok_tag[0] && i < n_groups; i++)
		if (out->tags[i].owner == SNAPSHOT_OWNER_AGENT && strcmp(out->tags[i].tag, newest_ok_tag) == 0) {
			out->newest = i;
			break;
		}
	for (i = 0; out->newest == SIZE_MAX && i < n_groups; i++)
		if (out->tags[i].owner == SNAPSHOT_OWNER_AGENT && out->tags[i].created_unix_ms <= now_ms)
			out->newest = i;
	for (i = 0; out->newest == SIZE_MAX && i < n_groups; i++)
		if (out->tags[i].owner == SNAPSHOT_OWNER_AGENT)
			out->newest = i;
	if (out->newest != SIZE_MAX)
		out->tags[out->newest].kept_as_newest = true;

	for (i = n_groups; i-- > 0;) {
		struct snapshot_tag_info *t = &out->tags[i];

		out->total_true_bytes = snapshot_sat_add(out->total_true_bytes, t->true_size_bytes);
		if (t->owner != SNAPSHOT_OWNER_AGENT)
			continue;
		out->n_agent++;
		out->agent_true_bytes = snapshot_sat_add(out->agent_true_bytes, t->true_size_bytes);
		if (t->expired && !t->kept_as_newest) {
			t->clear = true;
			out->clear[out->n_clear++] = i;
		}
	}
	if (!out->n_clear) {
		free(out->clear);
		out->clear = NULL;
	}
	free(keys);
	free(groups);
	free(order);
	return 0;
nomem:
	free(keys);
	free(groups);
	free(order);
	snapshot_retention_free(out);
	return snapshot_fail(-ENOMEM, err, errlen, "out of memory for %zu snapshot rows", n_rows);
}

/* ---- persisted record ---- */

int snapshot_record_format(const struct snapshot_record *r, char *buf, size_t size)
{
	char slot[24];
	int n;

	if (!r || !buf)
		return -EINVAL;
	if (size)
		buf[0] = '\0';
	if (r->last_slot_ms != SNAPSHOT_SLOT_NONE && !snapshot_time_ok(r->last_slot_ms))
		return -EINVAL;
	if (!snapshot_time_ok(r->last_ok_unix_ms))
		return -EINVAL;
	if (memchr(r->last_ok_tag, '\0', sizeof(r->last_ok_tag)) == NULL ||
	    (r->last_ok_tag[0] && snapshot_tag_validate(r->last_ok_tag, NULL, 0)))
		return -EINVAL;
	if (r->last_slot_ms == SNAPSHOT_SLOT_NONE)
		snprintf(slot, sizeof(slot), "none");
	else
		snprintf(slot, sizeof(slot), "%" PRId64, r->last_slot_ms);
	n = snprintf(buf, size, "last_slot_unix_ms=%s\n%s%s%s", slot, r->last_ok_tag[0] ? "last_ok_tag=" : "",
		     r->last_ok_tag, r->last_ok_tag[0] ? "\n" : "");
	if (n >= 0 && (size_t)n < size && r->last_ok_unix_ms)
		n += snprintf(buf + n, size - (size_t)n, "last_ok_unix_ms=%" PRId64 "\n", r->last_ok_unix_ms);
	if (n < 0 || (size_t)n >= size) {
		if (size)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return n;
}

/* Parses a record time: decimal, no sign or leading zero, within the domain. */
static int snapshot_record_time(const char *p, size_t n, int64_t *v)
{
	int64_t x = 0;

	if (n == 0 || n > 15 || (n > 1 && p[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		x = x * 10 + (p[i] - '0');
	}
	if (!snapshot_time_ok(x))
		return -EINVAL;
	*v = x;
	return 0;
}

static bool snapshot_key_is(const char *p, size_t n, const char *key)
{
	return n == strlen(key) && memcmp(p, key, n) == 0;
}

int snapshot_record_parse(const char *buf, size_t len, struct snapshot_record *out, char *err, size_t errlen)
{
	struct snapshot_record r = {SNAPSHOT_SLOT_NONE, "", 0};
	bool seen_slot = false, seen_tag = false, seen_ok = false;
	size_t pos = 0, line = 0;
	int rc = 0;

	if (!out)
		return snapshot_fail(-EINVAL, err, errlen, "no result");
	*out = r;
	if (!buf && len)
		return snapshot_fail(-EINVAL, err, errlen, "no input buffer");
	if (len > SNAPSHOT_RECORD_MAX)
		return snapshot_fail(-EINVAL, err, errlen, "record is %zu bytes, more than %d", len,
				     SNAPSHOT_RECORD_MAX);
	while (pos < len) {
		const char *p = buf + pos, *nl = memchr(p, '\n', len - pos), *eq;
		size_t n = nl ? (size_t)(nl - p) : len - pos, klen, vlen;
		const char *v;

		line++;
		pos += n + (nl != NULL);
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] == 0x7f) {
				rc = snapshot_fail(-EINVAL, err, errlen, "line %zu: control byte 0x%02x", line,
						   (unsigned char)p[i]);
				goto fail;
			}
		eq = n ? memchr(p, '=', n) : NULL;
		if (!eq) {
			rc = snapshot_fail(-EINVAL, err, errlen, "line %zu: expected key=value", line);
			goto fail;
		}
		klen = (size_t)(eq - p);
		v = eq + 1;
		vlen = n - klen - 1;
		if (snapshot_key_is(p, klen, "last_slot_unix_ms")) {
			if (seen_slot) {
				rc = snapshot_fail(-EINVAL, err, errlen, "line %zu: last_slot_unix_ms given twice",
						   line);
				goto fail;
			}
			seen_slot = true;
			if (!snapshot_key_is(v, vlen, "none") && snapshot_record_time(v, vlen, &r.last_slot_ms)) {
				rc = snapshot_fail(-EINVAL, err, errlen,
						   "line %zu: last_slot_unix_ms must be \"none\" or 0..%" PRId64, line,
						   SNAPSHOT_TIME_MAX_MS);
				goto fail;
			}
		} else if (snapshot_key_is(p, klen, "last_ok_tag")) {
			if (seen_tag) {
				rc = snapshot_fail(-EINVAL, err, errlen, "line %zu: last_ok_tag given twice", line);
				goto fail;
			}
			seen_tag = true;
			if (vlen > SNAPSHOT_TAG_MAX) {
				rc = snapshot_fail(-EINVAL, err, errlen,
						   "line %zu: last_ok_tag is longer than %d characters", line,
						   SNAPSHOT_TAG_MAX);
				goto fail;
			}
			memcpy(r.last_ok_tag, v, vlen);
			r.last_ok_tag[vlen] = '\0';
			if (snapshot_tag_validate(r.last_ok_tag, NULL, 0)) {
				rc = snapshot_fail(-EINVAL, err, errlen, "line %zu: last_ok_tag is not a valid tag",
						   line);
				goto fail;
			}
		} else if (snapshot_key_is(p, klen, "last_ok_unix_ms")) {
			if (seen_ok) {
				rc = snapshot_fail(-EINVAL, err, errlen, "line %zu: last_ok_unix_ms given twice", line);
				goto fail;
			}
			seen_ok = true;
			if (snapshot_record_time(v, vlen, &r.last_ok_unix_ms)) {
				rc = snapshot_fail(-EINVAL, err, errlen,
						   "line %zu: last_ok_unix_ms must be 0..%" PRId64, line,
						   SNAPSHOT_TIME_MAX_MS);
				goto fail;
			}
		} else {
			rc = snapshot_fail(-EINVAL, err, errlen, "line %zu: unknown key \"%.*s\"", line,
					   (int)(klen > 40 ? 40 : klen), p);
			goto fail;
		}
	}
	if (!seen_slot)
		return snapshot_fail(-EINVAL, err, errlen, "line %zu: last_slot_unix_ms is missing", line + 1);
	*out = r;
	return 0;
fail:
	return rc;
}
