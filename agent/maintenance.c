/* maintenance: the lease state machine (see maintenance.h).
 *
 * Happy path: IDLE -(trigger: reboot-required sentinel or a Maintenance command; no
 * blockers)-> REQUESTED -(LeaseGrant; blockers checked again)-> GRANTED -> DRAINING
 * (nodetool drain) -> STOPPED (StopUnit) -> PATCHING (patch or upgrade command) ->
 * REBOOTING (logind Reboot; the agent comes back after the boot) or STARTING (StartUnit)
 * -> RECOVERING (unit active, gossip and binary running, this node UN, CQL answers, the
 * version as asked, the sentinel gone, then `settle`) -> RELEASED (LeaseRelease{success})
 * -> IDLE.
 * Failure modes: blockers before the grant: BLOCKED (named), retried; blockers after the
 * grant: the lease is held and nothing is drained until they clear; LeaseDenied: retried
 * after retry_after_ms; drain, stop, patch or start failing, the sentinel still there after
 * the reboot, or recovery past healthy_timeout: STUCK, lease kept, MAINTENANCE_STUCK
 * raised; only the controller or `lease release --force` ends it.
 * Every phase is journaled (fsync'd) before its side effect; on start-up the journal is
 * resumed: idempotent steps (drain, stop, patch, start) are redone, a reboot is recognised
 * by a changed boot id and is never asked for twice.
 */
#include "maintenance.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "blockers.h"
#include "cql_probe.h"
#include "fileio.h"
#include "log.h"
#include "nodetool_parse.h"
#include "persist.h"
#include "systemd.h"

#define DRAIN_TIMEOUT_MS  (15ULL * 60 * 1000)
#define UNIT_TIMEOUT_MS   (5ULL * 60 * 1000)
#define PATCH_TIMEOUT_MS  (60ULL * 60 * 1000)
#define REQUEST_RESEND_MS 5000

#define KIND(x) CASSANDRA_AGENT__V1__MAINTENANCE_KIND__MAINTENANCE_KIND_##x

enum phase {
	PH_IDLE,
	PH_BLOCKED,
	PH_REQUESTED,
	PH_GRANTED,
	PH_DRAINING,
	PH_STOPPED,
	PH_PATCHING,
	PH_REBOOTING,
	PH_STARTING,
	PH_RECOVERING,
	PH_RELEASED,
	PH_STUCK,
	PH_COUNT
};
static const char *const phase_name[PH_COUNT] = {
	"IDLE",     "BLOCKED",   "REQUESTED", "GRANTED",    "DRAINING", "STOPPED",
	"PATCHING", "REBOOTING", "STARTING",  "RECOVERING", "RELEASED", "STUCK",
};

/* The transitions the machine may take; set_phase() refuses any other (a programmer error). */
static const unsigned allowed[PH_COUNT] = {
	[PH_IDLE] = 1u << PH_BLOCKED | 1u << PH_REQUESTED,
	[PH_BLOCKED] = 1u << PH_IDLE | 1u << PH_REQUESTED | 1u << PH_BLOCKED,
	[PH_REQUESTED] = 1u << PH_GRANTED | 1u << PH_BLOCKED | 1u << PH_IDLE,
	[PH_GRANTED] = 1u << PH_DRAINING | 1u << PH_RELEASED | 1u << PH_IDLE,
	[PH_DRAINING] = 1u << PH_STOPPED | 1u << PH_STUCK | 1u << PH_IDLE,
	[PH_STOPPED] = 1u << PH_PATCHING | 1u << PH_STUCK | 1u << PH_IDLE,
	[PH_PATCHING] = 1u << PH_REBOOTING | 1u << PH_STARTING | 1u << PH_STUCK | 1u << PH_IDLE,
	[PH_REBOOTING] = 1u << PH_RECOVERING | 1u << PH_STUCK | 1u << PH_IDLE,
	[PH_STARTING] = 1u << PH_RECOVERING | 1u << PH_STUCK | 1u << PH_IDLE,
	[PH_RECOVERING] = 1u << PH_RELEASED | 1u << PH_STUCK | 1u << PH_IDLE,
	[PH_RELEASED] = 1u << PH_IDLE,
	[PH_STUCK] = 1u << PH_IDLE,
};

struct maintenance {
	uv_loop_t *loop;
	const struct agent_config *cfg;
	struct health *health;
	struct nodetool_runner *runner;
	struct maintenance_outbox outbox;
	void (*release_cb)(void *data);
	void *release_data;
	struct sysd *sysd;
	struct nodetool_runner *patch_runner; /* the patch command under way, or NULL */
	uv_timer_t tick;
	int handles_open;
	int pending; /* calls outstanding */
	bool closing;
	bool busy; /* a step's call is in flight */
	bool session;
	bool paused;
	bool pause_writing, pause_dirty; /* maintenance.paused: a write in flight, another due */

	/* the journal */
	enum phase phase;
	char lease_id[96];
	uint64_t epoch;
	CassandraAgent__V1__MaintenanceKind kind;
	char version[32];
	bool allow_minor, allow_major;
	char reason[256];
	char boot_id[64];
	bool reboot_called; /* journaled before logind's Reboot is called: never a second call */
	int64_t phase_since;
	int64_t recovering_since;
	char detail[320];
	bool release_pending, release_success;
	char version_before[32];
	bool patch_failed; /* the patch failed: recover Cassandra, then STUCK */
	bool reboot_due;   /* reboot_called was journaled by this process: Reboot may be called once */

	/* a queued controller request */
	bool queued;
	CassandraAgent__V1__MaintenanceKind q_kind;
	char q_version[32];
	bool q_minor, q_major;
	char q_reason[256];

	/* checks */
	struct blockers blockers;
	int64_t next_check_ms;
	int64_t denied_until_ms;
	int64_t last_request_ms;
	int64_t recover_ok_since;
	int64_t unit_wait_since;
	struct nt_status ring;
	struct nt_describecluster cluster;
	char *netstats;
	bool have_ring, have_cluster;
	int check_stage;
	bool check_window;
	bool checked; /* m->blockers holds a fresh result for step() */
	/* recovery */
	struct nt_info info;
	bool info_ok, unit_ok, cql_ok, self_un, version_ok;
	char recover_why[200];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void maybe_free(struct maintenance *m)
{
	if (m->closing && m->handles_open == 0 && m->pending == 0) {
		nt_status_free(&m->ring);
		nt_describecluster_free(&m->cluster);
		free(m->netstats);
		free(m);
	}
}

static void publish(struct maintenance *m)
{
	struct health_lease l = {0};

	snprintf(l.lease_id, sizeof l.lease_id, "%s", m->lease_id);
	snprintf(l.phase, sizeof l.phase, "%s", phase_name[m->phase]);
	l.epoch = m->epoch;
	l.kind = m->kind;
	l.stuck = m->phase == PH_STUCK;
	snprintf(l.detail, sizeof l.detail, "%s", m->detail);
	for (size_t i = 0; i < m->blockers.n && i < 8; i++)
		snprintf(l.blockers[l.n_blockers++], sizeof l.blockers[0], "%s", m->blockers.text[i]);
	health_update_lease(m->health, &l);
}

static void read_boot_id(struct maintenance *m, char *out, size_t len)
{
	char *text = NULL, err[128];
	size_t n;

	out[0] = '\0';
	if (fileio_read(m->cfg->maintenance.boot_id_file, 256, &text, &n, err, sizeof err) == 0) {
		snprintf(out, len, "%.*s", (int)strcspn(text, "\r\n"), text);
		free(text);
	}
}

static bool sentinel_present(struct maintenance *m)
{
	struct stat st;

	return stat(m->cfg->maintenance.reboot_required, &st) == 0;
}

/* ---- journal --------------------------------------------------------------------------- */

static void step(struct maintenance *m);

static void journal_cb(void *data, int err, const char *errmsg)
{
	struct maintenance *m = data;

	m->pending--;
	if (m->closing) {
		maybe_free(m);
		return;
	}
	if (err) {
		/* Without the journal a crash could repeat a step: stop here, lease kept. */
		log_err("maintenance", "cannot journal phase %s: %s", phase_name[m->phase], errmsg);
		snprintf(m->detail, sizeof m->detail, "cannot write the maintenance journal: %s", errmsg);
		m->phase = PH_STUCK;
		m->busy = false;
		publish(m);
		return;
	}
	m->busy = false;
	step(m); /* the phase is durable: its side effect may happen */
}

static int journal_write(struct maintenance *m)
{
	CassandraAgent__V1__MaintenanceRecord r = CASSANDRA_AGENT__V1__MAINTENANCE_RECORD__INIT;
	char path[4096];
	uint8_t *buf;
	size_t len;
	int rc;

	r.lease_id = m->lease_id;
	r.phase = (char *)phase_name[m->phase];
	r.epoch = m->epoch;
	r.kind = m->kind;
	r.version = m->version;
	r.allow_minor_upgrade = m->allow_minor;
	r.allow_major_upgrade = m->allow_major;
	r.reason = m->reason;
	r.boot_id = m->boot_id;
	r.reboot_called = m->reboot_called;
	r.phase_since_unix_ms = m->phase_since;
	r.recovering_since_unix_ms = m->recovering_since;
	r.detail = m->detail;
	r.release_pending = m->release_pending;
	r.release_success = m->release_success;
	r.version_before = m->version_before;
	len = cassandra_agent__v1__maintenance_record__get_packed_size(&r);
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	cassandra_agent__v1__maintenance_record__pack(&r, buf);
	snprintf(path, sizeof path, "%s/%s", m->cfg->state_directory, MAINTENANCE_JOURNAL);
	rc = persist_write(m->loop, path, buf, len, 0600, journal_cb, m);
	free(buf);
	if (rc == 0) {
		m->pending++;
		m->busy = true;
	}
	return rc;
}

static void pause_write(struct maintenance *m);

static void pause_written_cb(void *data, int err, const char *errmsg)
{
	struct maintenance *m = data;

	m->pending--;
	m->pause_writing = false;
	if (m->closing) {
		maybe_free(m);
		return;
	}
	if (err)
		log_err("maintenance", "cannot record the pause in %s: %s (it holds until the agent stops)",
			MAINTENANCE_PAUSE_FILE, errmsg);
	if (m->pause_dirty)
		pause_write(m);
}

/* Records m->paused; one write at a time, so the file ends with the newest state. */
static void pause_write(struct maintenance *m)
{
	const char *text = m->paused ? "paused\n" : "resumed\n";
	char path[4096];

	if (m->pause_writing) {
		m->pause_dirty = true;
		return;
	}
	m->pause_dirty = false;
	snprintf(path, sizeof path, "%s/%s", m->cfg->state_directory, MAINTENANCE_PAUSE_FILE);
	if (persist_write(m->loop, path, text, strlen(text), 0600, pause_written_cb, m) < 0) {
		log_err("maintenance", "cannot record the pause in %s: out of memory", MAINTENANCE_PAUSE_FILE);
		return;
	}
	m->pending++;
	m->pause_writing = true;
}

static void load_pause(struct maintenance *m)
{
	char path[4096], err[256], *buf = NULL;
	size_t len;

	snprintf(path, sizeof path, "%s/%s", m->cfg->state_directory, MAINTENANCE_PAUSE_FILE);
	if (fileio_read(path, 64, &buf, &len, err, sizeof err) < 0)
		return;
	m->paused = len >= 6 && strncmp(buf, "paused", 6) == 0;
	if (m->paused)
		log_notice("maintenance", "maintenance is paused (recorded in %s before this start)", path);
	free(buf);
}

/* Enters `p`: journals it, then step() performs its side effect. */
static void set_phase(struct maintenance *m, enum phase p, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_phase(struct maintenance *m, enum phase p, const char *fmt, ...)
{
	va_list ap;

	if (p != m->phase && !(allowed[m->phase] & (1u << p))) {
		log_err("maintenance", "refusing transition %s -> %s", phase_name[m->phase], phase_name[p]);
		return;
	}
	if (p != m->phase)
		log_notice("maintenance", "%s -> %s%s%s", phase_name[m->phase], phase_name[p],
			   m->lease_id[0] ? " lease " : "", m->lease_id);
	m->phase = p;
	m->phase_since = now_ms();
	va_start(ap, fmt);
	vsnprintf(m->detail, sizeof m->detail, fmt, ap);
	va_end(ap);
	publish(m);
	if (journal_write(m) < 0) {
		snprintf(m->detail, sizeof m->detail, "cannot write the maintenance journal");
		m->phase = PH_STUCK;
		publish(m);
	}
}

static void stuck(struct maintenance *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void stuck(struct maintenance *m, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_err("maintenance", "STUCK: %s (lease %s kept)", msg, m->lease_id);
	set_phase(m, PH_STUCK, "%s", msg);
}

static void load_journal(struct maintenance *m)
{
	char path[4096], err[256], *buf = NULL;
	size_t len;
	CassandraAgent__V1__MaintenanceRecord *r;

	snprintf(path, sizeof path, "%s/%s", m->cfg->state_directory, MAINTENANCE_JOURNAL);
	if (fileio_read(path, 65536, &buf, &len, err, sizeof err) < 0)
		return;
	r = cassandra_agent__v1__maintenance_record__unpack(NULL, len, (const uint8_t *)buf);
	free(buf);
	if (!r) {
		log_err("maintenance", "%s is corrupt; starting IDLE", path);
		return;
	}
	for (int i = 0; i < PH_COUNT; i++)
		if (r->phase && strcmp(r->phase, phase_name[i]) == 0)
			m->phase = (enum phase)i;
	snprintf(m->lease_id, sizeof m->lease_id, "%s", r->lease_id);
	m->epoch = r->epoch;
	m->kind = r->kind;
	snprintf(m->version, sizeof m->version, "%s", r->version);
	m->allow_minor = r->allow_minor_upgrade;
	m->allow_major = r->allow_major_upgrade;
	snprintf(m->reason, sizeof m->reason, "%s", r->reason);
	snprintf(m->boot_id, sizeof m->boot_id, "%s", r->boot_id);
	m->reboot_called = r->reboot_called;
	m->phase_since = r->phase_since_unix_ms;
	m->recovering_since = r->recovering_since_unix_ms;
	snprintf(m->detail, sizeof m->detail, "%s", r->detail);
	m->release_pending = r->release_pending;
	m->release_success = r->release_success;
	snprintf(m->version_before, sizeof m->version_before, "%s", r->version_before);
	cassandra_agent__v1__maintenance_record__free_unpacked(r, NULL);
	if (m->phase != PH_IDLE)
		log_notice("maintenance", "resuming lease %s at %s", m->lease_id, phase_name[m->phase]);
}

/* ---- controller messages ---------------------------------------------------------------- */

static void send_request(struct maintenance *m)
{
	CassandraAgent__V1__Envelope env = CASSANDRA_AGENT__V1__ENVELOPE__INIT;
	CassandraAgent__V1__LeaseRequest req = CASSANDRA_AGENT__V1__LEASE_REQUEST__INIT;

	req.lease_id = m->lease_id;
	req.kind = m->kind;
	req.datacenter = m->cfg->node.datacenter;
	req.rack = m->cfg->node.rack;
	req.reason = m->reason;
	env.body_case = CASSANDRA_AGENT__V1__ENVELOPE__BODY_LEASE_REQUEST;
	env.lease_request = &req;
	m->last_request_ms = now_ms();
	if (m->outbox.send(m->outbox.data, &env) < 0)
		log_debug("maintenance", "no controller session; LeaseRequest %s waits", m->lease_id);
}

/* Sends the pending release; on success the lease is over. */
static void send_release(struct maintenance *m)
{
	CassandraAgent__V1__Envelope env = CASSANDRA_AGENT__V1__ENVELOPE__INIT;
	CassandraAgent__V1__LeaseRelease rel = CASSANDRA_AGENT__V1__LEASE_RELEASE__INIT;

	rel.lease_id = m->lease_id;
	rel.epoch = m->epoch;
	rel.success = m->release_success;
	rel.detail = m->detail;
	env.body_case = CASSANDRA_AGENT__V1__ENVELOPE__BODY_LEASE_RELEASE;
	env.lease_release = &rel;
	if (m->outbox.send(m->outbox.data, &env) < 0)
		return; /* no session: retried at the next tick or session */
	log_notice("maintenance", "lease %s released (%s)", m->lease_id, m->release_success ? "success" : "failure");
	if (m->release_success && m->release_cb)
		m->release_cb(m->release_data);
	m->release_pending = false;
	m->lease_id[0] = '\0';
	m->epoch = 0;
	m->blockers.n = 0;
	m->reboot_called = m->reboot_due = false;
	m->boot_id[0] = '\0';
	set_phase(m, PH_IDLE, "%s", "");
}

/* ---- the blocker check (status, describecluster, netstats) ------------------------------ */

static void check_next(struct maintenance *m);

static void check_done(struct maintenance *m)
{
	struct blockers_input in = {
		.now_unix_ms = now_ms(),
		.window = m->cfg->maintenance.window,
		.paused = m->paused && m->check_window,
		.datacenter = m->cfg->node.datacenter,
		.rack = m->cfg->node.rack,
		.ring = m->have_ring ? &m->ring : NULL,
		.cluster = m->have_cluster ? &m->cluster : NULL,
		.netstats = m->netstats,
		.check_window = m->check_window,
	};

	m->busy = false;
	blockers_evaluate(&in, &m->blockers);
	m->checked = true;
	step(m);
}

static void check_cb(void *data, const struct nodetool_result *res)
{
	struct maintenance *m = data;
	char err[256];

	m->pending--;
	if (m->closing) {
		maybe_free(m);
		return;
	}
	if (res->err == 0) {
		switch (m->check_stage) {
		case 0:
			nt_describecluster_free(&m->cluster);
			m->have_cluster =
				nt_parse_describecluster(res->out, res->out_len, &m->cluster, err, sizeof err) == 0;
			break;
		case 1:
			free(m->netstats);
			m->netstats = strdup(res->out);
			break;
		case 2:
			nt_status_free(&m->ring);
			m->have_ring = nt_parse_status(res->out, res->out_len, &m->ring, err, sizeof err) == 0;
			break;
		}
	}
	m->check_stage++;
	check_next(m);
}

static void check_next(struct maintenance *m)
{
	/* The ring view last: it is the one that changes fastest, and right after it comes
	 * the decision to drain. */
	static const char *const subs[] = {"describecluster", "netstats", "status"};
	const char *args[2] = {NULL, NULL};

	if (m->check_stage >= 3) {
		check_done(m);
		return;
	}
	args[0] = subs[m->check_stage];
	if (nodetool_run(m->runner, args, m->cfg->cassandra.nodetool_timeout_ms, check_cb, m, NULL) < 0) {
		m->check_stage++;
		check_next(m);
		return;
	}
	m->pending++;
}

/* Runs the three views afresh, then step() reads m->blockers. */
static void check_blockers(struct maintenance *m, bool window)
{
	m->busy = true;
	m->check_window = window;
	m->check_stage = 0;
	m->have_ring = m->have_cluster = false;
	free(m->netstats);
	m->netstats = NULL;
	m->next_check_ms = now_ms() + (int64_t)m->cfg->health.nodetool_interval_ms;
	check_next(m);
}

/* ---- side effects ------------------------------------------------------------------------ */

static bool ensure_sysd(struct maintenance *m)
{
	if (m->sysd && !sysd_is_connected(m->sysd)) {
		sysd_close(m->sysd);
		m->sysd = NULL;
	}
	if (!m->sysd && sysd_open(m->loop, &m->sysd) < 0) {
		m->sysd = NULL;
		return false;
	}
	return true;
}

static void drain_cb(void *data, const struct nodetool_result *res)
{
	struct maintenance *m = data;

	m->pending--;
	m->busy = false;
	if (m->closing) {
		maybe_free(m);
		return;
	}
	if (res->err) {
		stuck(m, "nodetool drain failed: %s", res->errtext);
		return;
	}
	set_phase(m, PH_STOPPED, "%s", "");
}

static void unit_done_cb(void *data, int err, const char *errmsg)
{
	struct maintenance *m = data;

	m->pending--;
	m->busy = false;
	if (m->closing) {
		maybe_free(m);
		return;
	}
	if (err) {
		if (m->phase == PH_STOPPED)
			stuck(m, "cannot stop %s: %s", m->cfg->cassandra.unit, errmsg);
		else
			stuck(m, "cannot start %s: %s", m->cfg->cassandra.unit, errmsg);
		return;
	}
	m->unit_wait_since = now_ms();
	if (m->phase == PH_STARTING) {
		m->recovering_since = now_ms();
		m->recover_ok_since = 0;
		set_phase(m, PH_RECOVERING, "%s", "");
	}
	/* PH_STOPPED: the tick waits for the unit to be inactive. */
}

static void unit_state_cb(void *data, int err, const char *errmsg, const char *state)
{
	struct maintenance *m = data;

	m->pending--;
	if (m->closing) {
		maybe_free(m);
		return;
	}
	if (m->phase == PH_STOPPED) {
		m->busy = false;
		if (!err && (strcmp(state, "inactive") == 0 || strcmp(state, "failed") == 0)) {
			set_phase(m, PH_PATCHING, "%s", "");
			return;
		}
		if (now_ms() - m->unit_wait_since > (int64_t)UNIT_TIMEOUT_MS)
			stuck(m, "%s did not stop: %s", m->cfg->cassandra.unit, err ? errmsg : state);
		return;
	}
	if (m->phase == PH_RECOVERING)
		m->unit_ok = !err && strcmp(state, "active") == 0;
}

static void patch_cb(void *data, const struct nodetool_result *res);

/* The command of PATCHING as an argv ({version} replaced), or NULL when there is none. */
static char **patch_argv(struct maintenance *m)
{
	const struct config_strv *cmd = m->kind == KIND(UPGRADE_CASSANDRA)
						? &m->cfg->maintenance.cassandra_upgrade_command
					: m->kind == KIND(PATCH_OS) ? &m->cfg->maintenance.patch_command
								    : NULL;
	char **v;

	if (!cmd || cmd->n == 0)
		return NULL;
	v = calloc(cmd->n + 1, sizeof *v);
	for (size_t i = 0; v && i < cmd->n; i++) {
		const char *a = cmd->v[i], *at = strstr(a, "{version}");

		if (at && asprintf(&v[i], "%.*s%s%s", (int)(at - a), a, m->version, at + 9) < 0)
			v[i] = NULL;
		else if (!at)
			v[i] = strdup(a);
	}
	return v;
}

static void run_patch(struct maintenance *m)
{
	char **argv = patch_argv(m);
	struct nodetool_runner *r = NULL;
	const char *none[] = {NULL};

	if (!argv) {
		m->pending++; /* patch_cb counts it back */
		patch_cb(m, &(struct nodetool_result){.err = 0, .errtext = ""});
		return;
	}
	/* A one-shot runner: the command is the prefix, no subcommand. */
	if (nodetool_runner_new(m->loop, (const char *const *)argv, &r) == 0 &&
	    nodetool_run(r, none, PATCH_TIMEOUT_MS, patch_cb, m, NULL) == 0) {
		m->pending++;
		m->busy = true;
		log_notice("maintenance", "running %s", argv[0]);
		nodetool_runner_release(r); /* freed once the command is done */
		m->patch_runner = r;
	} else {
		if (r)
			nodetool_runner_close(r);
		m->patch_failed = true;
		snprintf(m->detail, sizeof m->detail, "cannot run %s", argv[0]);
		set_phase(m, PH_STARTING, "patch command could not start");
	}
	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

static void patch_cb(void *data, const struct nodetool_result *res)
{
	struct maintenance *m = data;
	bool reboot;

	m->pending--;
	m->busy = false;
	m->patch_runner = NULL;
	if (m->closing) {
		maybe_free(m);
		return;
	}
	if (res->err) {
		/* Bring Cassandra back, then stop at STUCK: a failed patch needs a human. */
		m->patch_failed = true;
		log_err("maintenance", "patch command failed: %s", res->errtext);
		set_phase(m, PH_STARTING, "patch command failed: %s", res->errtext);
		return;
	}
	reboot = m->kind == KIND(REBOOT) || (m->kind == KIND(PATCH_OS) && sentinel_present(m));
	if (reboot) {
		read_boot_id(m, m->boot_id, sizeof m->boot_id);
		m->reboot_called = false;
		set_phase(m, PH_REBOOTING, "%s", "");
	} else {
		set_phase(m, PH_STARTING, "%s", "");
	}
}

static void reboot_cb(void *data, int err, const char *errmsg)
{
	struct maintenance *m = data;

	m->pending--;
	m->busy = false;
	if (m->closing) {
		maybe_free(m);
		return;
	}
	if (err) {
		stuck(m, "logind Reboot failed: %s", errmsg);
		return;
	}
	/* reboot_called was journaled before the call; the machine goes down. */
	log_notice("maintenance", "reboot requested for lease %s", m->lease_id);
}

/* ---- recovery --------------------------------------------------------------------------- */

static void recover_next(struct maintenance *m, int stage);

static void recover_nt_cb(void *data, const struct nodetool_result *res)
{
	struct maintenance *m = data;
	char err[128];

	m->pending--;
	if (m->closing) {
		maybe_free(m);
		return;
	}
	if (m->check_stage == 1) { /* info */
		struct nt_info info;

		m->info_ok = res->err == 0 && nt_parse_info(res->out, res->out_len, &info, err, sizeof err) == 0 &&
			     info.gossip_active && info.native_transport_active;
		if (m->info_ok)
			m->info = info;
	} else if (m->check_stage == 2) { /* status: this node UN */
		struct nt_status st;

		m->self_un = false;
		if (res->err == 0 && nt_parse_status(res->out, res->out_len, &st, err, sizeof err) == 0) {
			for (size_t i = 0; i < st.n_peers; i++)
				if (m->info_ok && strcmp(st.peers[i].host_id, m->info.host_id) == 0)
					m->self_un = st.peers[i].status == 'U' && st.peers[i].state == 'N';
			nt_status_free(&st);
		}
	} else if (m->check_stage == 3) { /* version */
		struct nt_version v;

		bool parsed = res->err == 0 && nt_parse_version(res->out, res->out_len, &v, err, sizeof err) == 0;

		if (parsed)
			health_update_version(m->health, &v); /* what the node runs now */
		m->version_ok = parsed && strcmp(v.release_version, m->version) == 0;
		if (!m->version_ok && res->err == 0)
			snprintf(m->recover_why, sizeof m->recover_why, "version is not %s yet", m->version);
	}
	recover_next(m, m->check_stage + 1);
}

static void recover_cql_cb(void *data, int err, const char *errmsg, double latency_ms)
{
	struct maintenance *m = data;

	(void)errmsg;
	(void)latency_ms;
	m->pending--;
	if (m->closing) {
		maybe_free(m);
		return;
	}
	m->cql_ok = err == 0;
	recover_next(m, 5);
}

static void recover_evaluate(struct maintenance *m)
{
	int64_t now = now_ms();
	const char *why = !m->unit_ok   ? "unit not active"
			  : !m->info_ok ? "gossip or native transport not running"
			  : !m->self_un ? "this node is not UN"
			  : !m->cql_ok  ? "CQL probe fails"
			  : (m->kind == KIND(UPGRADE_CASSANDRA) && !m->version_ok) ? m->recover_why
										   : NULL;

	m->busy = false;
	if (why) {
		m->recover_ok_since = 0;
		snprintf(m->detail, sizeof m->detail, "waiting: %s", why);
		if (now - m->recovering_since > (int64_t)m->cfg->maintenance.healthy_timeout_ms) {
			stuck(m, "not healthy within healthy_timeout: %s", why);
			return;
		}
		publish(m);
		return;
	}
	if (!m->recover_ok_since)
		m->recover_ok_since = now;
	if (now - m->recover_ok_since < (int64_t)m->cfg->maintenance.settle_ms) {
		snprintf(m->detail, sizeof m->detail, "healthy, settling");
		publish(m);
		return;
	}
	if (m->patch_failed) {
		stuck(m, "Cassandra is back but the patch command failed");
		return;
	}
	m->release_pending = true;
	m->release_success = true;
	set_phase(m, PH_RELEASED, "recovered: unit active, gossip and binary running, UN, CQL answers");
}

static void recover_next(struct maintenance *m, int stage)
{
	const char *args[2] = {NULL, NULL};

	m->check_stage = stage;
	switch (stage) {
	case 0:
		if (ensure_sysd(m) && sysd_get_active_state(m->sysd, m->cfg->cassandra.unit, unit_state_cb, m) == 0)
			m->pending++;
		else
			m->unit_ok = false;
		recover_next(m, 1);
		return;
	case 1:
	case 2:
	case 3:
		if (stage == 3 && m->kind != KIND(UPGRADE_CASSANDRA)) {
			recover_next(m, 4);
			return;
		}
		args[0] = stage == 1 ? "info" : stage == 2 ? "status" : "version";
		if (nodetool_run(m->runner, args, m->cfg->cassandra.nodetool_timeout_ms, recover_nt_cb, m, NULL) == 0)
			m->pending++;
		else
			recover_next(m, stage + 1);
		return;
	case 4:
		if (cql_probe_start(m->loop, m->cfg->cassandra.native_address, m->cfg->cassandra.native_port, 5000,
				    recover_cql_cb, m) == 0)
			m->pending++;
		else {
			m->pending++; /* recover_cql_cb counts it back */
			recover_cql_cb(m, -EIO, "", 0);
		}
		return;
	default: recover_evaluate(m);
	}
}

/* ---- the step of each phase --------------------------------------------------------------- */

/* What triggers maintenance now: a queued command or the sentinel. */
static bool take_trigger(struct maintenance *m)
{
	if (m->queued) {
		m->kind = m->q_kind;
		snprintf(m->version, sizeof m->version, "%s", m->q_version);
		m->allow_minor = m->q_minor;
		m->allow_major = m->q_major;
		snprintf(m->reason, sizeof m->reason, "%s", m->q_reason);
		return true;
	}
	if (sentinel_present(m)) {
		/* Patch while drained when a patch command is set, then reboot (the sentinel is there). */
		m->kind = m->cfg->maintenance.patch_command.n ? KIND(PATCH_OS) : KIND(REBOOT);
		m->version[0] = '\0';
		snprintf(m->reason, sizeof m->reason, "%s present", m->cfg->maintenance.reboot_required);
		return true;
	}
	return false;
}

static void step(struct maintenance *m)
{
	int64_t now = now_ms();

	if (m->closing || m->busy)
		return;
	switch (m->phase) {
	case PH_IDLE:
	case PH_BLOCKED:
		if (!take_trigger(m)) {
			if (m->phase == PH_BLOCKED) {
				m->blockers.n = 0;
				set_phase(m, PH_IDLE, "%s", "");
			}
			return;
		}
		if (now < m->denied_until_ms)
			return;
		if (!m->checked) {
			if (now >= m->next_check_ms)
				check_blockers(m, true);
			return;
		}
		m->checked = false;
		if (m->blockers.n) {
			if (m->phase != PH_BLOCKED)
				set_phase(m, PH_BLOCKED, "%s", m->blockers.text[0]);
			else
				publish(m);
			return;
		}
		{
			/* Unique across nodes even when hostnames repeat: host, address, time. */
			CassandraAgent__V1__NodeIdentity node = CASSANDRA_AGENT__V1__NODE_IDENTITY__INIT;
			char host[64] = "";

			gethostname(host, sizeof host - 1);
			health_node_identity(m->health, &node);
			snprintf(m->lease_id, sizeof m->lease_id, "%s-%s-%lld", host[0] ? host : "node", node.address,
				 (long long)now);
		}
		m->queued = false;
		m->last_request_ms = 0;
		set_phase(m, PH_REQUESTED, "%s", m->reason);
		return;
	case PH_REQUESTED:
		if (now - m->last_request_ms >= REQUEST_RESEND_MS)
			send_request(m);
		return;
	case PH_GRANTED:
		/* The guard: whatever the controller granted, never drain while a blocker holds. */
		if (!m->checked) {
			if (now >= m->next_check_ms)
				check_blockers(m, false);
			return;
		}
		m->checked = false;
		if (m->blockers.n) {
			snprintf(m->detail, sizeof m->detail, "lease held, not draining: %s", m->blockers.text[0]);
			publish(m);
			return;
		}
		if (m->kind == KIND(UPGRADE_CASSANDRA)) {
			char err[200];

			if (blockers_version_policy(m->version_before, m->version, m->allow_minor, m->allow_major, err,
						    sizeof err) < 0) {
				m->release_pending = true;
				m->release_success = false;
				set_phase(m, PH_RELEASED, "upgrade refused: %s", err);
				return;
			}
		}
		set_phase(m, PH_DRAINING, "%s", "");
		return;
	case PH_DRAINING: {
		const char *args[] = {"drain", NULL};

		if (nodetool_run(m->runner, args, DRAIN_TIMEOUT_MS, drain_cb, m, NULL) == 0) {
			m->pending++;
			m->busy = true;
		}
		return;
	}
	case PH_STOPPED:
		if (!ensure_sysd(m))
			return; /* retried at the next tick */
		if (m->unit_wait_since == 0) {
			if (sysd_stop_unit(m->sysd, m->cfg->cassandra.unit, unit_done_cb, m) == 0) {
				m->pending++;
				m->busy = true;
			}
			return;
		}
		if (sysd_get_active_state(m->sysd, m->cfg->cassandra.unit, unit_state_cb, m) == 0) {
			m->pending++;
			m->busy = true;
		}
		return;
	case PH_PATCHING:
		m->unit_wait_since = 0;
		run_patch(m);
		return;
	case PH_REBOOTING: {
		char boot[64];

		read_boot_id(m, boot, sizeof boot);
		if (m->boot_id[0] && strcmp(boot, m->boot_id) != 0) {
			/* We are on the other side of the reboot. */
			if (sentinel_present(m)) {
				stuck(m, "%s is still present after the reboot; not rebooting again",
				      m->cfg->maintenance.reboot_required);
				return;
			}
			m->recovering_since = now;
			m->recover_ok_since = 0;
			set_phase(m, PH_RECOVERING, "rebooted");
			return;
		}
		if (!m->reboot_called) {
			/* Write ahead: once the journal says the reboot was asked for, an agent killed
			 * around the call never asks again (at worst it waits, then STUCK). */
			m->reboot_called = true;
			m->reboot_due = true;
			if (journal_write(m) < 0) {
				m->reboot_called = m->reboot_due = false;
				stuck(m, "%s", "cannot write the maintenance journal before the reboot");
			}
			return; /* journal_cb steps again */
		}
		if (m->reboot_due) {
			if (!ensure_sysd(m))
				return;
			if (sysd_reboot(m->sysd, reboot_cb, m) == 0) {
				m->reboot_due = false;
				m->pending++;
				m->busy = true;
			}
			return;
		}
		if (now - m->phase_since > (int64_t)m->cfg->maintenance.healthy_timeout_ms)
			stuck(m, "the reboot asked for did not happen");
		return; /* waiting for the machine to go down; never a second reboot */
	}
	case PH_STARTING:
		if (!ensure_sysd(m))
			return;
		if (sysd_start_unit(m->sysd, m->cfg->cassandra.unit, unit_done_cb, m) == 0) {
			m->pending++;
			m->busy = true;
		}
		return;
	case PH_RECOVERING:
		m->busy = true;
		m->unit_ok = m->info_ok = m->self_un = m->cql_ok = m->version_ok = false;
		recover_next(m, 0);
		return;
	case PH_RELEASED:
		if (m->release_pending)
			send_release(m);
		return;
	case PH_STUCK:
	case PH_COUNT: return;
	}
}

static void tick_cb(uv_timer_t *t)
{
	step(t->data);
}

/* ---- public ------------------------------------------------------------------------------- */

int maintenance_start(uv_loop_t *loop, const struct agent_config *cfg, struct health *h, struct nodetool_runner *runner,
		      const struct maintenance_outbox *outbox, struct maintenance **out)
{
	struct maintenance *m = calloc(1, sizeof *m);

	if (!m)
		return -ENOMEM;
	m->loop = loop;
	m->cfg = cfg;
	m->health = h;
	m->runner = runner;
	m->outbox = *outbox;
	load_journal(m);
	load_pause(m);
	/* Steps that were under way are redone from their start (all idempotent). */
	if (m->phase == PH_STOPPED)
		m->unit_wait_since = 0;
	uv_timer_init(loop, &m->tick);
	m->tick.data = m;
	m->handles_open = 1;
	uv_timer_start(&m->tick, tick_cb, MAINTENANCE_TICK_MS, MAINTENANCE_TICK_MS);
	publish(m);
	*out = m;
	return 0;
}

void maintenance_apply_config(struct maintenance *m, const struct agent_config *cfg)
{
	m->cfg = cfg;
}

int maintenance_request(struct maintenance *m, CassandraAgent__V1__MaintenanceKind kind, const char *version,
			bool allow_minor, bool allow_major, const char *reason, char *err, size_t errlen)
{
	if (kind < KIND(REBOOT) || kind > KIND(UPGRADE_CASSANDRA)) {
		snprintf(err, errlen, "unknown maintenance kind %d", (int)kind);
		return -EINVAL;
	}
	if (m->phase != PH_IDLE && m->phase != PH_BLOCKED) {
		snprintf(err, errlen, "maintenance %s is under way (lease %s)", phase_name[m->phase], m->lease_id);
		return -EBUSY;
	}
	if (kind == KIND(UPGRADE_CASSANDRA)) {
		struct nt_version cur = {0};
		CassandraAgent__V1__NodeIdentity node = CASSANDRA_AGENT__V1__NODE_IDENTITY__INIT;

		health_node_identity(m->health, &node);
		snprintf(cur.release_version, sizeof cur.release_version, "%s", node.cassandra_version);
		if (blockers_version_policy(cur.release_version, version, allow_minor, allow_major, err, errlen) < 0)
			return -EPERM;
		snprintf(m->version_before, sizeof m->version_before, "%s", cur.release_version);
	}
	m->queued = true;
	m->q_kind = kind;
	snprintf(m->q_version, sizeof m->q_version, "%s", version ? version : "");
	m->q_minor = allow_minor;
	m->q_major = allow_major;
	snprintf(m->q_reason, sizeof m->q_reason, "%s",
		 reason && reason[0] ? reason : "controller Maintenance command");
	step(m);
	return 0;
}

void maintenance_pause(struct maintenance *m, bool paused)
{
	if (m->paused == paused)
		return;
	health_event(m->health, "maintenance", paused ? "paused" : "resumed", "maintenance %s",
		     paused ? "paused" : "resumed");
	m->paused = paused;
	pause_write(m);
}

int maintenance_force_release(struct maintenance *m, char *err, size_t errlen)
{
	if (m->phase == PH_IDLE || m->phase == PH_BLOCKED || !m->lease_id[0]) {
		snprintf(err, errlen, "no lease is held");
		return -ENOENT;
	}
	log_warnx("maintenance", "lease %s released by force in phase %s", m->lease_id, phase_name[m->phase]);
	m->release_pending = true;
	m->release_success = false;
	m->phase = PH_RELEASED;
	set_phase(m, PH_RELEASED, "released by force (lease release --force)");
	return 0;
}

void maintenance_lease_grant(struct maintenance *m, const CassandraAgent__V1__LeaseGrant *g)
{
	if (!g->lease_id || strcmp(g->lease_id, m->lease_id) != 0 || m->phase != PH_REQUESTED) {
		log_info("maintenance", "ignoring a grant for lease %s (ours: %s, %s)", g->lease_id ? g->lease_id : "",
			 m->lease_id, phase_name[m->phase]);
		return;
	}
	m->epoch = g->epoch;
	m->checked = false;
	m->next_check_ms = 0;
	set_phase(m, PH_GRANTED, "granted with epoch %llu", (unsigned long long)g->epoch);
}

void maintenance_lease_denied(struct maintenance *m, const CassandraAgent__V1__LeaseDenied *d)
{
	if (!d->lease_id || strcmp(d->lease_id, m->lease_id) != 0 || m->phase != PH_REQUESTED)
		return;
	m->denied_until_ms = now_ms() + (d->retry_after_ms ? d->retry_after_ms : 5000);
	m->blockers.n = 0;
	snprintf(m->blockers.text[m->blockers.n++], BLOCKER_TEXT_MAX, "lease denied: %s", d->reason ? d->reason : "");
	m->checked = false;
	m->lease_id[0] = '\0';
	set_phase(m, PH_BLOCKED, "lease denied: %s", d->reason ? d->reason : "");
}

void maintenance_session(struct maintenance *m, bool up)
{
	m->session = up;
	if (up && m->phase == PH_REQUESTED)
		send_request(m);
	if (up && m->phase == PH_RELEASED && m->release_pending)
		send_release(m);
}

void maintenance_hello_lease(struct maintenance *m, CassandraAgent__V1__LeaseState *lease)
{
	lease->lease_id = m->lease_id;
	lease->phase = (char *)phase_name[m->phase];
	lease->epoch = m->epoch;
	lease->kind = m->kind;
}

char *maintenance_json(struct maintenance *m)
{
	json_t *b = json_array(), *j;
	char *text;

	for (size_t i = 0; b && i < m->blockers.n; i++)
		json_array_append_new(b, json_string(m->blockers.text[i]));
	j = json_pack("{s:s,s:s,s:I,s:s,s:o,s:s,s:b}", "lease_id", m->lease_id, "phase", phase_name[m->phase], "epoch",
		      (json_int_t)m->epoch, "kind",
		      cassandra_agent__v1__maintenance_kind__descriptor.values[m->kind].name, "blockers", b, "detail",
		      m->detail, "paused", m->paused);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return text;
}

void maintenance_set_release_cb(struct maintenance *m, void (*cb)(void *data), void *data)
{
	m->release_cb = cb;
	m->release_data = data;
}

static void tick_close_cb(uv_handle_t *h)
{
	struct maintenance *m = h->data;

	m->handles_open--;
	maybe_free(m);
}

void maintenance_stop(struct maintenance *m)
{
	if (!m || m->closing)
		return;
	m->closing = true;
	/* A stop ends the patch command (its group is killed); the journal still says
	 * PATCHING, so the next start runs it again. */
	if (m->patch_runner) {
		nodetool_runner_close(m->patch_runner);
		m->patch_runner = NULL;
	}
	if (m->sysd) {
		sysd_close(m->sysd);
		m->sysd = NULL;
	}
	uv_close((uv_handle_t *)&m->tick, tick_close_cb);
}
