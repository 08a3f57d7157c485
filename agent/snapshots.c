/* snapshots: the snapshot job on the loop (see snapshots.h).
 *
 * Happy path of a run: IDLE -> (slot due, guards pass) persist the slot -> TAKING
 * (`nodetool snapshot -t TAG`) -> LISTING (`listsnapshots`: the tag must be listed; the
 * newest good tag is persisted) -> CLEARING (`clearsnapshot -t` for each agent tag past the
 * retention, never the newest good one, never a tag the agent did not make) -> IDLE, timer
 * at the next slot. On-demand takes and clears queue behind a run; one run at a time.
 * Failure modes: a guard fails (disk below min_free_disk, Cassandra down): the slot is
 * skipped with the reason and retried shortly; snapshot fails or hangs: recorded as failed
 * (SNAPSHOT_FAILED), pruning still runs, the next slot runs; listsnapshots fails: nothing is
 * cleared; clearsnapshot fails: the rest waits for the next run. The slot is persisted
 * before the snapshot is asked for, so a crash never repeats a slot.
 */
#include "snapshots.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "fileio.h"
#include "host.h"
#include "log.h"
#include "nodetool_parse.h"
#include "persist.h"
#include "snapshot_plan.h"

#define SNAPSHOT_TIMEOUT_MS (60ULL * 60 * 1000) /* the longest a snapshot may take (it flushes first) */

enum snap_step {
	SNAP_IDLE,
	SNAP_PERSISTING, /* writing the slot before taking it */
	SNAP_TAKING,     /* nodetool snapshot -t */
	SNAP_VERIFYING,  /* listsnapshots after a take: the tag must be listed, then retention */
	SNAP_LISTING,    /* listsnapshots for the retention decision (the take failed) */
	SNAP_CLEARING,   /* clearsnapshot -t, one tag after the other */
	SNAP_REFRESHING, /* listsnapshots after clearing, for the counts in health */
};

struct request {
	struct request *next;
	bool clear;
	bool force;
	char tag[SNAPSHOT_TAG_SIZE];
	snapshots_done_cb cb;
	void *data;
};

struct snapshots {
	uv_loop_t *loop;
	const struct agent_config *cfg;
	struct health *health;
	struct nodetool_runner *runner;
	uv_timer_t timer;
	bool closing;
	int handles_open;
	int pending; /* nodetool calls and persist works outstanding */
	int64_t started_ms;
	struct snapshot_record rec;
	struct health_snapshots hs;
	struct request *queue;
	/* the run under way */
	enum snap_step step;
	struct request *req; /* on-demand request being served, or NULL for a scheduled run */
	bool run_take;       /* this run takes a snapshot */
	char run_tag[SNAPSHOT_TAG_SIZE];
	bool take_ok;
	char take_error[320];
	struct snapshot_retention ret; /* from the last listing */
	bool have_listing;
	int64_t listed_at_ms;
	size_t clear_next;
	int64_t skipped_slot; /* a slot skipped by a guard, retried at skip_retry_at */
	int64_t skip_retry_at;
};

static int64_t now_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void plan(struct snapshots *s);
static void timer_cb(uv_timer_t *t);

static void maybe_free(struct snapshots *s)
{
	if (s->closing && s->handles_open == 0 && s->pending == 0) {
		snapshot_retention_free(&s->ret);
		free(s);
	}
}

static void publish(struct snapshots *s)
{
	int64_t next = 0;

	if (snapshot_slot_next(now_unix_ms(), s->cfg->snapshots.interval_ms, &next) == 0)
		s->hs.next_slot_unix_ms = next;
	if (s->have_listing) {
		s->hs.count = (uint32_t)s->ret.n_agent;
		s->hs.total_bytes = s->ret.agent_true_bytes;
	}
	health_update_snapshots(s->health, &s->hs);
}

static void record_attempt(struct snapshots *s, const char *tag, const char *result, const char *reason)
{
	/* A guard skip is logged once per slot and reason, not at every retry. */
	if (strcmp(result, "ok") == 0)
		log_info("snapshots", "snapshot %s taken", tag);
	else if (strcmp(result, "skipped") != 0 || strcmp(reason, s->hs.last_reason) != 0 ||
		 strcmp(tag, s->hs.last_tag) != 0)
		log_warnx("snapshots", "%s %s: %s", tag, result, reason);
	snprintf(s->hs.last_tag, sizeof s->hs.last_tag, "%s", tag);
	s->hs.last_attempt_unix_ms = now_unix_ms();
	snprintf(s->hs.last_result, sizeof s->hs.last_result, "%s", result);
	snprintf(s->hs.last_reason, sizeof s->hs.last_reason, "%s", reason);
	if (strcmp(result, "ok") == 0)
		s->hs.last_success_unix_ms = s->hs.last_attempt_unix_ms;
	publish(s);
}

/* Ends the run: answers the on-demand request and plans the next one. */
static void run_end(struct snapshots *s, int err, const char *message)
{
	struct request *r = s->req;

	s->step = SNAP_IDLE;
	s->req = NULL;
	if (r) {
		if (r->cb)
			r->cb(r->data, err, message, r->tag);
		free(r);
	}
	publish(s);
	plan(s);
}

/* ---- persisting the record (persist.c, a worker thread) ----------------------------- */

static void run_take(struct snapshots *s);

static void persisted_cb(void *data, int err, const char *errmsg)
{
	struct snapshots *s = data;

	s->pending--;
	if (s->closing) {
		maybe_free(s);
		return;
	}
	if (err)
		log_err("snapshots", "cannot persist %s: %s", SNAPSHOTS_STATE_FILE, errmsg);
	if (s->step == SNAP_PERSISTING) {
		if (err) {
			/* Without the slot on disk a crash could repeat it: do not take it. */
			record_attempt(s, s->run_tag, "failed", "cannot persist the snapshot slot");
			run_end(s, -EIO, "cannot persist the snapshot slot");
			return;
		}
		run_take(s);
	}
}

/* Writes the record off the loop; the run goes on in persisted_cb. */
static int persist(struct snapshots *s)
{
	char path[4096], text[SNAPSHOT_RECORD_MAX];
	int n = snapshot_record_format(&s->rec, text, sizeof text);

	if (n < 0)
		return n;
	snprintf(path, sizeof path, "%s/%s", s->cfg->state_directory, SNAPSHOTS_STATE_FILE);
	if (persist_write(s->loop, path, text, (size_t)n, 0600, persisted_cb, s) < 0)
		return -EIO;
	s->pending++;
	return 0;
}

/* ---- clearing and listing ---------------------------------------------------------- */

static void run_list(struct snapshots *s, enum snap_step step);

/* The outcome of the run for an on-demand request. */
static void run_done(struct snapshots *s)
{
	if (s->run_take && !s->take_ok)
		run_end(s, -EIO, s->take_error);
	else
		run_end(s, 0, "");
}

static void clear_next(struct snapshots *s);

static void clear_cb(void *data, const struct nodetool_result *res)
{
	struct snapshots *s = data;
	bool on_demand = s->req && s->req->clear;
	const char *tag = on_demand ? s->req->tag : s->ret.tags[s->ret.clear[s->clear_next]].tag;

	s->pending--;
	if (s->closing) {
		maybe_free(s);
		return;
	}
	if (res->err) {
		/* Nothing else is removed; the rest is retried at the next run. */
		snprintf(s->hs.clear_failed, sizeof s->hs.clear_failed, "clearsnapshot -t %s: %s", tag, res->errtext);
		log_warnx("snapshots", "%s; the rest waits for the next run", s->hs.clear_failed);
		if (on_demand)
			run_end(s, -EIO, s->hs.clear_failed);
		else
			run_done(s);
		return;
	}
	log_info("snapshots", "cleared snapshot %s", tag);
	if (on_demand) {
		run_list(s, SNAP_REFRESHING);
		return;
	}
	s->clear_next++;
	clear_next(s);
}

static void clear_tag(struct snapshots *s, const char *tag)
{
	const char *args[] = {"clearsnapshot", "-t", tag, NULL};
	int rc;

	s->step = SNAP_CLEARING;
	rc = nodetool_run(s->runner, args, s->cfg->cassandra.nodetool_timeout_ms, clear_cb, s, NULL);
	if (rc < 0) {
		run_end(s, rc, "cannot run nodetool");
		return;
	}
	s->pending++;
}

static void clear_next(struct snapshots *s)
{
	if (s->clear_next < s->ret.n_clear) {
		clear_tag(s, s->ret.tags[s->ret.clear[s->clear_next]].tag);
		return;
	}
	s->hs.clear_failed[0] = '\0';
	if (s->ret.n_clear > 0)
		run_list(s, SNAP_REFRESHING);
	else
		run_done(s);
}

static bool rows_have_tag(const struct nt_snapshots *rows, const char *tag)
{
	for (size_t i = 0; i < rows->n_rows; i++)
		if (strcmp(rows->rows[i].tag, tag) == 0)
			return true;
	return false;
}

static void list_cb(void *data, const struct nodetool_result *res)
{
	struct snapshots *s = data;
	struct nt_snapshots rows = {0};
	enum snap_step step = s->step;
	char err[256] = "";
	int rc = -EIO;

	s->pending--;
	if (s->closing) {
		maybe_free(s);
		return;
	}
	if (res->err || res->out_truncated)
		snprintf(err, sizeof err, "listsnapshots: %s", res->err ? res->errtext : "output over the cap");
	else
		rc = nt_parse_listsnapshots(res->out, res->out_len, &rows, err, sizeof err);
	if (rc < 0) {
		/* Without a listing nothing is verified and nothing is cleared. */
		if (step == SNAP_VERIFYING) {
			s->take_ok = false;
			snprintf(s->take_error, sizeof s->take_error, "cannot verify %s: %s", s->run_tag, err);
			record_attempt(s, s->run_tag, "failed", s->take_error);
		}
		log_warnx("snapshots", "%s", err);
		run_done(s);
		return;
	}
	if (step == SNAP_VERIFYING) {
		if (!rows_have_tag(&rows, s->run_tag)) {
			s->take_ok = false;
			snprintf(s->take_error, sizeof s->take_error, "snapshot %s is not in listsnapshots",
				 s->run_tag);
			record_attempt(s, s->run_tag, "failed", s->take_error);
		} else {
			if (snapshot_tag_is_agent(s->run_tag, s->cfg->snapshots.tag_prefix)) {
				snprintf(s->rec.last_ok_tag, sizeof s->rec.last_ok_tag, "%s", s->run_tag);
				s->rec.last_ok_unix_ms = now_unix_ms();
				persist(s);
			}
			record_attempt(s, s->run_tag, "ok", "");
		}
	}
	snapshot_retention_free(&s->ret);
	rc = snapshot_plan_retention(rows.rows, rows.n_rows, s->cfg->snapshots.tag_prefix,
				     s->cfg->snapshots.retention_ms, now_unix_ms(),
				     s->rec.last_ok_tag[0] ? s->rec.last_ok_tag : NULL, &s->ret, err, sizeof err);
	nt_snapshots_free(&rows);
	s->have_listing = rc == 0;
	s->listed_at_ms = now_unix_ms();
	if (rc < 0) {
		log_err("snapshots", "retention: %s", err);
		run_done(s);
		return;
	}
	publish(s);
	if (step == SNAP_REFRESHING) {
		run_done(s);
		return;
	}
	s->clear_next = 0;
	clear_next(s);
}

static void run_list(struct snapshots *s, enum snap_step step)
{
	const char *args[] = {"listsnapshots", NULL};
	int rc;

	s->step = step;
	rc = nodetool_run_capped(s->runner, args, s->cfg->cassandra.nodetool_timeout_ms, SNAPSHOTS_LIST_MAX, list_cb, s,
				 NULL);
	if (rc < 0) {
		run_end(s, rc, "cannot run nodetool");
		return;
	}
	s->pending++;
}

/* ---- taking -------------------------------------------------------------------------- */

static void take_cb(void *data, const struct nodetool_result *res)
{
	struct snapshots *s = data;

	s->pending--;
	if (s->closing) {
		maybe_free(s);
		return;
	}
	if (res->err) {
		s->take_ok = false;
		snprintf(s->take_error, sizeof s->take_error, "nodetool snapshot: %s", res->errtext);
		record_attempt(s, s->run_tag, "failed", s->take_error);
		run_list(s, SNAP_LISTING); /* pruning runs whether or not the snapshot worked */
		return;
	}
	s->take_ok = true;
	run_list(s, SNAP_VERIFYING);
}

static void run_take(struct snapshots *s)
{
	const char *args[] = {"snapshot", "-t", s->run_tag, NULL};
	int rc;

	uint64_t timeout = s->cfg->snapshots.interval_ms;

	/* A snapshot may take as long as its interval (at most an hour), never less than any
	 * other nodetool call: a hung one must not hold the next slot. */
	if (timeout > SNAPSHOT_TIMEOUT_MS)
		timeout = SNAPSHOT_TIMEOUT_MS;
	if (timeout < s->cfg->cassandra.nodetool_timeout_ms)
		timeout = s->cfg->cassandra.nodetool_timeout_ms;
	s->step = SNAP_TAKING;
	rc = nodetool_run(s->runner, args, timeout, take_cb, s, NULL);
	if (rc < 0) {
		snprintf(s->take_error, sizeof s->take_error, "cannot run nodetool: %s", strerror(-rc));
		record_attempt(s, s->run_tag, "failed", s->take_error);
		run_end(s, rc, s->take_error);
		return;
	}
	s->pending++;
}

/* Checks the guards of SPEC section 6.4; fills `reason` and returns false to skip. */
static bool guards_pass(struct snapshots *s, char *reason, size_t len)
{
	struct snapshot_disk disks[16];
	struct snapshot_guard_input in = {0};
	size_t n = s->cfg->cassandra.data_directories.n;

	if (n > 16)
		n = 16;
	for (size_t i = 0; i < n; i++) {
		disks[i].path = s->cfg->cassandra.data_directories.v[i];
		disks[i].err = host_disk_usage(disks[i].path, &disks[i].total_bytes, &disks[i].free_bytes);
	}
	in.snapshot_running = false;
	in.maintenance_holds = health_maintenance_holds(s->health);
	in.cassandra_running = health_cassandra_running(s->health);
	in.disks = disks;
	in.n_disks = n;
	in.min_free_disk_percent = s->cfg->snapshots.min_free_disk_percent;
	return snapshot_plan_guard(&in, reason, len) == SNAPSHOT_SKIP_NONE;
}

/* Starts a take of s->run_tag: guards, then (scheduled: persist the slot first) snapshot. */
static void start_take(struct snapshots *s, int64_t slot)
{
	char reason[320];

	s->run_take = true;
	s->take_ok = false;
	s->take_error[0] = '\0';
	if (!health_cassandra_known(s->health)) {
		/* Just started: wait for the first probes rather than skip on ignorance. */
		s->run_take = false;
		s->step = SNAP_IDLE;
		if (s->req) {
			struct request *r = s->req;

			s->req = NULL;
			r->next = s->queue;
			s->queue = r;
		}
		uv_timer_start(&s->timer, timer_cb, 500, 0);
		return;
	}
	if (!guards_pass(s, reason, sizeof reason)) {
		record_attempt(s, s->run_tag, "skipped", reason);
		s->run_take = false;
		if (slot >= 0) {
			/* Retried within the slot: a quarter interval, 1 s to 60 s. */
			uint64_t retry = s->cfg->snapshots.interval_ms / 4;

			retry = retry < 1000 ? 1000 : retry > 60000 ? 60000 : retry;
			s->skipped_slot = slot;
			s->skip_retry_at = now_unix_ms() + (int64_t)retry;
		}
		run_end(s, -EAGAIN, reason);
		return;
	}
	if (slot >= 0) {
		s->rec.last_slot_ms = slot;
		s->step = SNAP_PERSISTING;
		if (persist(s) < 0) {
			record_attempt(s, s->run_tag, "failed", "cannot persist the snapshot slot");
			run_end(s, -EIO, "cannot persist the snapshot slot");
		}
		return;
	}
	run_take(s);
}

static void timer_cb(uv_timer_t *t)
{
	plan(t->data);
}

/* Decides what to do now: a queued request, a due slot, or sleeping until the next one. */
static void plan(struct snapshots *s)
{
	struct snapshot_schedule sched = {0};
	struct snapshot_decision d;
	int64_t now = now_unix_ms();
	char err[256];

	if (s->closing || s->step != SNAP_IDLE)
		return;
	uv_timer_stop(&s->timer);
	s->run_take = false;
	s->clear_next = 0;
	if (s->queue) {
		s->req = s->queue;
		s->queue = s->req->next;
		if (s->req->clear) {
			clear_tag(s, s->req->tag);
		} else {
			snprintf(s->run_tag, sizeof s->run_tag, "%s", s->req->tag);
			start_take(s, -1);
		}
		return;
	}
	sched.interval_ms = s->cfg->snapshots.interval_ms;
	sched.last_slot_ms = s->rec.last_slot_ms;
	sched.started_ms = s->started_ms;
	sched.catch_up = true;
	if (snapshot_plan_decide(&sched, now, &d, err, sizeof err) < 0) {
		log_err("snapshots", "cannot plan: %s", err);
		uv_timer_start(&s->timer, timer_cb, 60000, 0);
		return;
	}
	if (d.action == SNAPSHOT_ACTION_WAIT) {
		if (d.why == SNAPSHOT_WHY_CLOCK_BEHIND)
			log_warnx("snapshots", "the clock is behind the last snapshot slot; waiting for it");
		uv_timer_start(&s->timer, timer_cb, d.wake_at_ms > now ? (uint64_t)(d.wake_at_ms - now) : 0, 0);
		publish(s);
		return;
	}
	if (snapshot_tag_format(s->cfg->snapshots.tag_prefix, d.slot_ms, s->run_tag, sizeof s->run_tag) < 0) {
		log_err("snapshots", "cannot format a tag for prefix %s", s->cfg->snapshots.tag_prefix);
		uv_timer_start(&s->timer, timer_cb, 60000, 0);
		return;
	}
	if (d.slot_ms == s->skipped_slot && now < s->skip_retry_at) {
		uv_timer_start(&s->timer, timer_cb, (uint64_t)(s->skip_retry_at - now), 0);
		return;
	}
	start_take(s, d.slot_ms);
}

/* ---- public -------------------------------------------------------------------------- */

int snapshots_start(uv_loop_t *loop, const struct agent_config *cfg, struct health *h, struct nodetool_runner *runner,
		    int64_t started_unix_ms, struct snapshots **out)
{
	struct snapshots *s = calloc(1, sizeof *s);
	char path[4096], err[256], *text = NULL;
	size_t len;

	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->cfg = cfg;
	s->health = h;
	s->runner = runner;
	s->started_ms = started_unix_ms;
	s->rec.last_slot_ms = SNAPSHOT_SLOT_NONE;
	s->skipped_slot = SNAPSHOT_SLOT_NONE;
	snprintf(path, sizeof path, "%s/%s", cfg->state_directory, SNAPSHOTS_STATE_FILE);
	if (fileio_read(path, SNAPSHOT_RECORD_MAX, &text, &len, err, sizeof err) == 0) {
		if (snapshot_record_parse(text, len, &s->rec, err, sizeof err) < 0) {
			log_err("snapshots", "%s: %s; starting without a last slot", path, err);
			memset(&s->rec, 0, sizeof s->rec);
			s->rec.last_slot_ms = SNAPSHOT_SLOT_NONE;
		}
		free(text);
	}
	if (s->rec.last_ok_tag[0])
		s->hs.last_success_unix_ms = s->rec.last_ok_unix_ms;
	uv_timer_init(loop, &s->timer);
	s->timer.data = s;
	s->handles_open = 1;
	uv_timer_start(&s->timer, timer_cb, 0, 0);
	*out = s;
	return 0;
}

void snapshots_apply_config(struct snapshots *s, const struct agent_config *cfg)
{
	s->cfg = cfg;
	plan(s);
}

static int enqueue(struct snapshots *s, struct request *r)
{
	struct request **p = &s->queue;

	while (*p)
		p = &(*p)->next;
	*p = r;
	plan(s);
	return 0;
}

int snapshots_take(struct snapshots *s, const char *tag, snapshots_done_cb cb, void *data, char *err, size_t errlen)
{
	struct request *r;
	int rc;

	if (s->closing)
		return -ECANCELED;
	r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	rc = snapshot_plan_take_tag(tag, s->cfg->snapshots.tag_prefix, now_unix_ms(), r->tag, sizeof r->tag, err,
				    errlen);
	if (rc < 0) {
		free(r);
		return rc;
	}
	r->cb = cb;
	r->data = data;
	return enqueue(s, r);
}

int snapshots_check_clear(struct snapshots *s, const char *tag, bool force, char *err, size_t errlen)
{
	return snapshot_plan_check_clear(tag, s->cfg->snapshots.tag_prefix,
					 s->rec.last_ok_tag[0] ? s->rec.last_ok_tag : NULL, force, err, errlen);
}

int snapshots_clear(struct snapshots *s, const char *tag, bool force, snapshots_done_cb cb, void *data, char *err,
		    size_t errlen)
{
	struct request *r;
	int rc;

	if (s->closing)
		return -ECANCELED;
	rc = snapshots_check_clear(s, tag, force, err, errlen);
	if (rc < 0)
		return rc;
	r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	r->clear = true;
	r->force = force;
	snprintf(r->tag, sizeof r->tag, "%s", tag);
	r->cb = cb;
	r->data = data;
	return enqueue(s, r);
}

char *snapshots_json(struct snapshots *s)
{
	json_t *arr = json_array(), *doc;
	char *text;

	if (!arr)
		return NULL;
	for (size_t i = 0; s->have_listing && i < s->ret.n_tags; i++) {
		const struct snapshot_tag_info *t = &s->ret.tags[i];

		json_array_append_new(arr, json_pack("{s:s,s:I,s:I,s:I,s:I,s:s,s:b}", "tag", t->tag, "created_unix_ms",
						     (json_int_t)t->created_unix_ms, "true_size_bytes",
						     (json_int_t)t->true_size_bytes, "size_on_disk_bytes",
						     (json_int_t)t->size_on_disk_bytes, "tables", (json_int_t)t->tables,
						     "owner", snapshot_owner_name(t->owner), "kept_as_newest",
						     t->kept_as_newest));
	}
	doc = json_pack("{s:o,s:I,s:s,s:I}", "snapshots", arr, "listed_at_unix_ms", (json_int_t)s->listed_at_ms,
			"newest_good_tag", s->rec.last_ok_tag, "next_slot_unix_ms",
			(json_int_t)s->hs.next_slot_unix_ms);
	if (!doc)
		return NULL;
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return text;
}

static void timer_close_cb(uv_handle_t *h)
{
	struct snapshots *s = h->data;

	s->handles_open--;
	maybe_free(s);
}

void snapshots_stop(struct snapshots *s)
{
	struct request *r;

	if (!s || s->closing)
		return;
	s->closing = true;
	if (s->req) {
		if (s->req->cb)
			s->req->cb(s->req->data, -ECANCELED, "the agent is stopping", s->req->tag);
		free(s->req);
		s->req = NULL;
	}
	while ((r = s->queue)) {
		s->queue = r->next;
		if (r->cb)
			r->cb(r->data, -ECANCELED, "the agent is stopping", r->tag);
		free(r);
	}
	uv_close((uv_handle_t *)&s->timer, timer_close_cb);
}
