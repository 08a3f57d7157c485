/* dispatch: command intake, idempotency through the command store, and a FIFO executor.
 *
 * Per command: seen id -> resend the stored status; new id -> validate -> REJECTED (stored)
 * or ACCEPTED (stored, sent once durable) -> queued -> RUNNING -> SUCCEEDED/FAILED (stored,
 * sent once durable). One command runs at a time, so final statuses come in arrival order.
 * A kind this agent version does not know (a newer controller) answers REJECTED.
 */
#include "dispatch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <utlist.h>

#include "log.h"
#include "snapshot_plan.h"

#define ST(x) CASSANDRA_AGENT__V1__COMMAND_STATUS__COMMAND_STATUS_##x

enum job_type {
	JOB_NODETOOL,
	JOB_TAKE_SNAPSHOT,
	JOB_CLEAR_SNAPSHOT,
	JOB_MAINTENANCE,
	JOB_PAUSE,
	JOB_SET_SEEDS,
	JOB_APPLY_CONFIG,
	JOB_ROTATE,
};

/* Where a command came from: the controller (statuses go to send_update) or the status
 * socket (the final status goes to local_cb; nothing goes to the controller). */
struct origin {
	dispatch_local_cb local_cb;
	void *local_data;
};

struct job {
	struct job *prev, *next;
	struct dispatch *d;
	enum job_type type;
	struct origin origin;
	char *id;
	char *kind;
	char **argv;                       /* JOB_NODETOOL: subcommand and arguments, NULL-terminated */
	char tag[80];                      /* JOB_*_SNAPSHOT: the tag ("" = an agent tag for now) */
	bool force;                        /* JOB_CLEAR_SNAPSHOT */
	CassandraAgent__V1__Command *copy; /* JOB_MAINTENANCE, JOB_SET_SEEDS, JOB_APPLY_CONFIG, JOB_ROTATE (a copy) */
	bool paused;                       /* JOB_PAUSE */
	bool long_running;
	bool accepted_durable;
};

struct dispatch {
	struct dispatch_deps deps;
	struct job *queue; /* accepted, waiting or running, FIFO */
	struct job *running;
	size_t n_jobs;
	size_t n_finals;    /* final statuses waiting for their journal sync */
	uint64_t counts[6]; /* statuses sent, by CommandStatus value */
	bool closing;
};

static int64_t now_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void job_free(struct job *j)
{
	if (j->copy)
		cassandra_agent__v1__command__free_unpacked(j->copy, NULL);
	for (size_t i = 0; j->argv && j->argv[i]; i++)
		free(j->argv[i]);
	free(j->argv);
	free(j->id);
	free(j->kind);
	free(j);
}

static void maybe_free(struct dispatch *d)
{
	if (d->closing && !d->running && d->n_jobs == 0 && d->n_finals == 0)
		free(d);
}

static bool status_is_final(CassandraAgent__V1__CommandStatus st)
{
	return st == ST(SUCCEEDED) || st == ST(FAILED) || st == ST(REJECTED);
}

/* Sends a status to where the command came from. */
static void send_status(struct dispatch *d, const struct origin *o, const char *id,
			CassandraAgent__V1__CommandStatus st, const char *msg, const uint8_t *out, size_t out_len)
{
	CassandraAgent__V1__CommandUpdate u = CASSANDRA_AGENT__V1__COMMAND_UPDATE__INIT;

	if ((unsigned)st < 6)
		d->counts[st]++;
	if (o && o->local_cb) {
		if (status_is_final(st)) {
			command_store_mark_delivered(d->deps.store, id);
			o->local_cb(o->local_data, st, msg ? msg : "");
		}
		return;
	}
	u.id = (char *)id;
	u.status = st;
	u.message = (char *)(msg ? msg : "");
	u.output.data = (uint8_t *)out;
	u.output.len = out_len;
	d->deps.send_update(d->deps.send_data, &u);
}

static const char *kind_name(const CassandraAgent__V1__Command *cmd)
{
	const ProtobufCFieldDescriptor *f =
		cmd->kind_case ? protobuf_c_message_descriptor_get_field(&cassandra_agent__v1__command__descriptor,
									 (unsigned)cmd->kind_case)
			       : NULL;

	return f ? f->name : "unknown";
}

/* ---- RunNodetool allow-list --------------------------------------------------------- */

struct nodetool_rule {
	const char *name;
	bool long_running;
	int max_names;            /* keyspace/table name arguments allowed */
	const char *const *flags; /* options allowed, NULL-terminated */
};

static const char *const flags_r[] = {"-r", "--resolve-ip", NULL};
static const char *const flags_h[] = {"-H", "--human-readable", NULL};
static const char *const flags_repair[] = {"-pr",  "--partitioner-range", "-full", "--full",
					   "-seq", "--sequential",        NULL};
static const char *const flags_none[] = {NULL};

/* SPEC section 7: the subcommands the controller may run, with what they take. */
static const struct nodetool_rule nodetool_rules[] = {
	{"status", false, 1, flags_r},
	{"info", false, 0, flags_none},
	{"version", false, 0, flags_none},
	{"describecluster", false, 0, flags_none},
	{"ring", false, 1, flags_r},
	{"tpstats", false, 0, flags_none},
	{"compactionstats", false, 0, flags_h},
	{"netstats", false, 0, flags_h},
	{"gossipinfo", false, 0, flags_none},
	{"statusbinary", false, 0, flags_none},
	{"statusgossip", false, 0, flags_none},
	{"flush", true, 64, flags_none},
	{"cleanup", true, 64, flags_none},
	{"repair", true, 64, flags_repair},
	{"rebuild", true, 1, flags_none},
};

static bool is_name(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') ||
		      s[n] == '_'))
			return false;
	return n > 0 && n <= max;
}

int dispatch_check_nodetool(const CassandraAgent__V1__RunNodetool *r, struct health *h, bool *long_running, char *err,
			    size_t errlen)
{
	const struct nodetool_rule *rule = NULL;
	int names = 0;

	*long_running = false;
	for (size_t i = 0; r->subcommand && i < sizeof nodetool_rules / sizeof nodetool_rules[0]; i++)
		if (strcmp(r->subcommand, nodetool_rules[i].name) == 0)
			rule = &nodetool_rules[i];
	if (!rule) {
		snprintf(err, errlen, "nodetool subcommand \"%.64s\" is not allowed",
			 r->subcommand ? r->subcommand : "");
		return -EPERM;
	}
	if (r->n_args > 64) {
		snprintf(err, errlen, "too many arguments");
		return -EINVAL;
	}
	for (size_t i = 0; i < r->n_args; i++) {
		const char *a = r->args[i];
		bool flag = false;

		for (size_t f = 0; rule->flags[f]; f++)
			flag |= strcmp(a, rule->flags[f]) == 0;
		if (flag)
			continue;
		if (!is_name(a, 48)) {
			snprintf(err, errlen, "argument \"%.64s\" refused: names are [A-Za-z0-9_]+", a);
			return -EINVAL;
		}
		if (++names > rule->max_names) {
			snprintf(err, errlen, "too many arguments for %s", rule->name);
			return -EINVAL;
		}
	}
	if (strcmp(rule->name, "rebuild") == 0) {
		/* A wrong source DC silently copies no data: it must exist in our ring view. */
		if (names != 1) {
			snprintf(err, errlen, "rebuild needs the source datacenter");
			return -EINVAL;
		}
		if (h && !health_ring_has_datacenter(h, r->args[r->n_args - 1])) {
			snprintf(err, errlen, "rebuild source datacenter \"%s\" is not in the ring",
				 r->args[r->n_args - 1]);
			return -EINVAL;
		}
	}
	*long_running = rule->long_running;
	return 0;
}

/* ---- execution ----------------------------------------------------------------------- */

static void run_next(struct dispatch *d);

struct final_ctx {
	struct dispatch *d;
	struct origin origin;
	char *id;
	CassandraAgent__V1__CommandStatus status;
	char *message;
	uint8_t *output;
	size_t output_len;
};

static void final_synced_cb(void *data, int err)
{
	struct final_ctx *f = data;
	struct dispatch *d = f->d;

	(void)err; /* not durable: still sent; a repeat after a crash reports "interrupted" */
	if (!d->closing)
		send_status(d, &f->origin, f->id, f->status, f->message, f->output, f->output_len);
	free(f->id);
	free(f->message);
	free(f->output);
	free(f);
	d->n_finals--;
	maybe_free(d);
}

/* Stores a final status and sends it once it is durable. */
static void finish(struct dispatch *d, const struct origin *o, const char *id, const char *kind,
		   CassandraAgent__V1__CommandStatus st, const char *msg, const uint8_t *out, size_t out_len)
{
	struct final_ctx *f = calloc(1, sizeof *f);

	if (f) {
		f->d = d;
		f->origin = *o;
		f->id = strdup(id);
		f->status = st;
		f->message = strdup(msg);
		f->output = out_len ? malloc(out_len) : NULL;
		if (out_len && f->output)
			memcpy(f->output, out, out_len);
		f->output_len = f->output ? out_len : 0;
	}
	if (f && f->id && f->message &&
	    command_store_put(d->deps.store, id, kind, st, msg, out, out_len, now_unix_ms(), final_synced_cb, f) == 0) {
		d->n_finals++;
	} else {
		log_err("dispatch", "cannot record the result of command %s", id);
		if (f) {
			free(f->id);
			free(f->message);
			free(f->output);
			free(f);
		}
		send_status(d, o, id, st, msg, out, out_len);
	}
}

static void nodetool_done_cb(void *data, const struct nodetool_result *res)
{
	struct job *j = data;
	struct dispatch *d = j->d;
	char msg[384];

	d->running = NULL;
	if (res->err == 0)
		snprintf(msg, sizeof msg, "nodetool %s: exit 0 in %llu ms%s", j->argv[0],
			 (unsigned long long)res->duration_ms,
			 res->out_truncated ? " (output truncated to 1 MiB)" : "");
	else
		snprintf(msg, sizeof msg, "nodetool %s: %s", j->argv[0], res->errtext);
	if (res->err != -ECANCELED)
		finish(d, &j->origin, j->id, j->kind, res->err ? ST(FAILED) : ST(SUCCEEDED), msg,
		       (const uint8_t *)res->out, res->out_len);
	job_free(j);
	if (d->closing) {
		maybe_free(d);
		return;
	}
	run_next(d);
}

static void snapshot_done_cb(void *data, int err, const char *message, const char *tag)
{
	struct job *j = data;
	struct dispatch *d = j->d;
	char msg[384];

	d->running = NULL;
	if (err != -ECANCELED) {
		if (err == 0)
			snprintf(msg, sizeof msg, "snapshot %s %s", tag,
				 j->type == JOB_TAKE_SNAPSHOT ? "taken" : "cleared");
		else
			snprintf(msg, sizeof msg, "snapshot %s: %s", tag, message);
		finish(d, &j->origin, j->id, j->kind, err ? ST(FAILED) : ST(SUCCEEDED), msg, (const uint8_t *)tag,
		       strlen(tag));
	}
	job_free(j);
	if (d->closing) {
		maybe_free(d);
		return;
	}
	run_next(d);
}

static void certs_done_cb(void *data, int err, const char *message)
{
	struct job *j = data;
	struct dispatch *d = j->d;

	d->running = NULL;
	/* Cut off by a stop: the journal keeps it RUNNING, reported "interrupted" at the next start. */
	if (err != -ECANCELED)
		finish(d, &j->origin, j->id, j->kind, err ? ST(FAILED) : ST(SUCCEEDED), message, NULL, 0);
	job_free(j);
	if (d->closing || err == -ECANCELED) {
		maybe_free(d);
		return;
	}
	run_next(d);
}

static void config_done_cb(void *data, int err, const char *message, const char *output)
{
	struct job *j = data;
	struct dispatch *d = j->d;

	d->running = NULL;
	finish(d, &j->origin, j->id, j->kind, err ? ST(FAILED) : ST(SUCCEEDED), message, (const uint8_t *)output,
	       output ? strlen(output) : 0);
	job_free(j);
	if (d->closing) {
		maybe_free(d);
		return;
	}
	run_next(d);
}

/* Maintenance commands finish at once: the maintenance itself runs under its lease. */
static int maintenance_job(struct dispatch *d, struct job *j, char *err, size_t errlen)
{
	char msg[320];
	int rc;

	if (!d->deps.maintenance) {
		snprintf(err, errlen, "maintenance is not available");
		return -ENOTSUP;
	}
	if (j->type == JOB_PAUSE) {
		maintenance_pause(d->deps.maintenance, j->paused);
		snprintf(msg, sizeof msg, "maintenance %s", j->paused ? "paused" : "resumed");
	} else {
		const CassandraAgent__V1__Maintenance *mt = j->copy->maintenance;

		rc = maintenance_request(d->deps.maintenance, mt->kind, mt->version, mt->allow_minor_upgrade,
					 mt->allow_major_upgrade, mt->reason, err, errlen);
		if (rc < 0)
			return rc;
		snprintf(msg, sizeof msg, "maintenance %s queued",
			 cassandra_agent__v1__maintenance_kind__descriptor.values[mt->kind].name);
	}
	d->running = NULL;
	finish(d, &j->origin, j->id, j->kind, ST(SUCCEEDED), msg, NULL, 0);
	job_free(j);
	run_next(d);
	return 0;
}

/* Starts job `j`; returns 0, or a negative errno with `err` filled (nothing started). */
static int job_start(struct dispatch *d, struct job *j, char *err, size_t errlen)
{
	uint64_t timeout;
	int rc;

	switch (j->type) {
	case JOB_NODETOOL:
		timeout = j->long_running ? DISPATCH_LONG_TIMEOUT_MS : d->deps.cfg->cassandra.nodetool_timeout_ms;
		rc = nodetool_run(d->deps.runner, (const char *const *)j->argv, timeout, nodetool_done_cb, j, NULL);
		if (rc < 0)
			snprintf(err, errlen, "cannot run nodetool: %s", strerror(-rc));
		return rc;
	case JOB_TAKE_SNAPSHOT:
		if (!d->deps.snapshots) {
			snprintf(err, errlen, "snapshots are not available");
			return -ENOTSUP;
		}
		return snapshots_take(d->deps.snapshots, j->tag, snapshot_done_cb, j, err, errlen);
	case JOB_CLEAR_SNAPSHOT:
		if (!d->deps.snapshots) {
			snprintf(err, errlen, "snapshots are not available");
			return -ENOTSUP;
		}
		return snapshots_clear(d->deps.snapshots, j->tag, j->force, snapshot_done_cb, j, err, errlen);
	case JOB_MAINTENANCE:
	case JOB_PAUSE: return maintenance_job(d, j, err, errlen);
	case JOB_SET_SEEDS:
	case JOB_APPLY_CONFIG:
		if (!d->deps.cassandra_config) {
			snprintf(err, errlen, "cassandra.yaml management is not available");
			return -ENOTSUP;
		}
		if (j->type == JOB_SET_SEEDS)
			return cassandra_config_set_seeds(d->deps.cassandra_config, j->copy->set_seeds->seeds,
							  j->copy->set_seeds->n_seeds, config_done_cb, j, err, errlen);
		return cassandra_config_apply(d->deps.cassandra_config, j->copy->apply_config, config_done_cb, j, err,
					      errlen);
	case JOB_ROTATE:
		if (!d->deps.certs) {
			snprintf(err, errlen, "certificate rotation is not available");
			return -ENOTSUP;
		}
		return certs_job_rotate(d->deps.certs, j->copy->rotate_certificates, certs_done_cb, j, err, errlen);
	}
	return -EINVAL;
}

static void run_next(struct dispatch *d)
{
	struct job *j;
	char err[320];

	while (!d->running && !d->closing && (j = d->queue) && j->accepted_durable) {
		DL_DELETE(d->queue, j);
		d->n_jobs--;
		d->running = j;
		command_store_put(d->deps.store, j->id, j->kind, ST(RUNNING), "running", NULL, 0, now_unix_ms(), NULL,
				  NULL);
		send_status(d, &j->origin, j->id, ST(RUNNING), "running", NULL, 0);
		if (job_start(d, j, err, sizeof err) == 0)
			return;
		d->running = NULL;
		finish(d, &j->origin, j->id, j->kind, ST(FAILED), err, NULL, 0);
		job_free(j);
	}
}

static void accepted_synced_cb(void *data, int err)
{
	struct job *j = data;
	struct dispatch *d = j->d;

	if (d->closing) {
		DL_DELETE(d->queue, j);
		d->n_jobs--;
		job_free(j);
		maybe_free(d);
		return;
	}
	if (err) {
		/* Not journaled: running it could run it twice after a crash. */
		char msg[160];

		snprintf(msg, sizeof msg, "cannot journal the command: %s", strerror(-err));
		DL_DELETE(d->queue, j);
		d->n_jobs--;
		finish(d, &j->origin, j->id, j->kind, ST(FAILED), msg, NULL, 0);
		job_free(j);
		run_next(d);
		return;
	}
	j->accepted_durable = true;
	send_status(d, &j->origin, j->id, ST(ACCEPTED), "accepted", NULL, 0);
	run_next(d);
}

/* Builds the argv of a RunNodetool job. */
static char **nodetool_argv(const CassandraAgent__V1__RunNodetool *r)
{
	char **v = calloc(r->n_args + 2, sizeof *v);

	if (!v)
		return NULL;
	v[0] = strdup(r->subcommand);
	for (size_t i = 0; i < r->n_args; i++)
		v[i + 1] = strdup(r->args[i]);
	for (size_t i = 0; i <= r->n_args; i++) {
		if (!v[i]) {
			for (size_t k = 0; k <= r->n_args; k++)
				free(v[k]);
			free(v);
			return NULL;
		}
	}
	return v;
}

/* Validates a snapshot tag at intake (SPEC section 6.4); "" is allowed for TakeSnapshot. */
static int check_tag(const char *tag, bool may_be_empty, char *err, size_t errlen)
{
	if (may_be_empty && (!tag || !tag[0]))
		return 0;
	return snapshot_tag_validate(tag ? tag : "", err, errlen);
}

/* A deep copy of `cmd` (the command is freed when the intake returns; its job runs later).
 * NULL on ENOMEM. Free with cassandra_agent__v1__command__free_unpacked. */
static CassandraAgent__V1__Command *command_copy(const CassandraAgent__V1__Command *cmd)
{
	size_t n = cassandra_agent__v1__command__get_packed_size(cmd);
	uint8_t *buf = malloc(n ? n : 1);
	CassandraAgent__V1__Command *copy;

	if (!buf)
		return NULL;
	cassandra_agent__v1__command__pack(cmd, buf);
	copy = cassandra_agent__v1__command__unpack(NULL, n, buf);
	free(buf);
	return copy;
}

/* Builds the job of a validated command, or fills `err` and returns NULL (rejected). */
static struct job *job_for(struct dispatch *d, const CassandraAgent__V1__Command *cmd, const char *kind, char *err,
			   size_t errlen)
{
	struct job *j = calloc(1, sizeof *j);
	bool long_running = false;

	if (!j || !(j->kind = strdup(kind))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	switch (cmd->kind_case) {
	case CASSANDRA_AGENT__V1__COMMAND__KIND_RUN_NODETOOL:
		if (dispatch_check_nodetool(cmd->run_nodetool, d->deps.health, &long_running, err, errlen) < 0)
			goto fail;
		j->type = JOB_NODETOOL;
		j->long_running = long_running;
		if (!(j->argv = nodetool_argv(cmd->run_nodetool))) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		return j;
	case CASSANDRA_AGENT__V1__COMMAND__KIND_TAKE_SNAPSHOT:
		if (check_tag(cmd->take_snapshot->tag, true, err, errlen) < 0)
			goto fail;
		j->type = JOB_TAKE_SNAPSHOT;
		snprintf(j->tag, sizeof j->tag, "%s", cmd->take_snapshot->tag ? cmd->take_snapshot->tag : "");
		return j;
	case CASSANDRA_AGENT__V1__COMMAND__KIND_CLEAR_SNAPSHOT:
		if (check_tag(cmd->clear_snapshot->tag, false, err, errlen) < 0)
			goto fail;
		if (d->deps.snapshots && snapshots_check_clear(d->deps.snapshots, cmd->clear_snapshot->tag,
							       cmd->clear_snapshot->force, err, errlen) < 0)
			goto fail;
		j->type = JOB_CLEAR_SNAPSHOT;
		j->force = cmd->clear_snapshot->force;
		snprintf(j->tag, sizeof j->tag, "%s", cmd->clear_snapshot->tag);
		return j;
	case CASSANDRA_AGENT__V1__COMMAND__KIND_MAINTENANCE:
		if (cmd->maintenance->kind < CASSANDRA_AGENT__V1__MAINTENANCE_KIND__MAINTENANCE_KIND_REBOOT ||
		    cmd->maintenance->kind >
			    CASSANDRA_AGENT__V1__MAINTENANCE_KIND__MAINTENANCE_KIND_UPGRADE_CASSANDRA) {
			snprintf(err, errlen, "maintenance: unknown kind %d", (int)cmd->maintenance->kind);
			goto fail;
		}
		if (cmd->maintenance->kind ==
			    CASSANDRA_AGENT__V1__MAINTENANCE_KIND__MAINTENANCE_KIND_UPGRADE_CASSANDRA &&
		    (!cmd->maintenance->version || !cmd->maintenance->version[0])) {
			snprintf(err, errlen, "maintenance: UPGRADE_CASSANDRA needs a version");
			goto fail;
		}
		if (!(j->copy = command_copy(cmd))) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		j->type = JOB_MAINTENANCE;
		return j;
	case CASSANDRA_AGENT__V1__COMMAND__KIND_SET_SEEDS:
	case CASSANDRA_AGENT__V1__COMMAND__KIND_APPLY_CONFIG:
	case CASSANDRA_AGENT__V1__COMMAND__KIND_ROTATE_CERTIFICATES:
		if (!(j->copy = command_copy(cmd))) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		j->type = cmd->kind_case == CASSANDRA_AGENT__V1__COMMAND__KIND_SET_SEEDS      ? JOB_SET_SEEDS
			  : cmd->kind_case == CASSANDRA_AGENT__V1__COMMAND__KIND_APPLY_CONFIG ? JOB_APPLY_CONFIG
											      : JOB_ROTATE;
		return j;
	case CASSANDRA_AGENT__V1__COMMAND__KIND_PAUSE_MAINTENANCE:
		j->type = JOB_PAUSE;
		j->paused = cmd->pause_maintenance->paused;
		return j;
	case CASSANDRA_AGENT__V1__COMMAND__KIND__NOT_SET:
		snprintf(err, errlen, "%s: unknown or missing command kind", kind);
		goto fail;
	default: snprintf(err, errlen, "%s: not supported by this agent version", kind); goto fail;
	}
fail:
	if (j)
		job_free(j);
	return NULL;
}

/* Intake shared by the controller's and the socket's commands. */
static void intake(struct dispatch *d, const CassandraAgent__V1__Command *cmd, const char *id, const struct origin *o)
{
	const char *kind = kind_name(cmd);
	char err[256];
	struct job *j;

	j = job_for(d, cmd, kind, err, sizeof err);
	if (!j) {
		log_warnx("dispatch", "command %s refused: %s", id, err);
		finish(d, o, id, kind, ST(REJECTED), err, NULL, 0);
		return;
	}
	if (!(j->id = strdup(id))) {
		job_free(j);
		send_status(d, o, id, ST(REJECTED), "out of memory", NULL, 0);
		return;
	}
	j->d = d;
	j->origin = *o;
	DL_APPEND(d->queue, j);
	d->n_jobs++;
	if (command_store_put(d->deps.store, j->id, kind, ST(ACCEPTED), "accepted", NULL, 0, now_unix_ms(),
			      accepted_synced_cb, j) < 0) {
		DL_DELETE(d->queue, j);
		d->n_jobs--;
		send_status(d, o, id, ST(REJECTED), "cannot journal the command", NULL, 0);
		job_free(j);
	}
}

void dispatch_command(struct dispatch *d, const CassandraAgent__V1__Command *cmd)
{
	static const struct origin controller_origin = {0};
	const struct stored_command *sc;

	if (d->closing)
		return;
	if (!cmd->id || !cmd->id[0] || strlen(cmd->id) > 128) {
		log_warnx("dispatch", "refusing a %s command with %s id", kind_name(cmd),
			  cmd->id && cmd->id[0] ? "an over-long" : "an empty");
		send_status(d, NULL, cmd->id && strlen(cmd->id) <= 128 ? cmd->id : "", ST(REJECTED),
			    "command id must be 1 to 128 bytes", NULL, 0);
		return;
	}
	sc = command_store_get(d->deps.store, cmd->id);
	if (sc) {
		/* Seen before: the stored state, never a second run. */
		log_info("dispatch", "command %s repeated; returning its stored status", cmd->id);
		send_status(d, NULL, sc->id, sc->status, sc->message, sc->output, sc->output_len);
		return;
	}
	intake(d, cmd, cmd->id, &controller_origin);
}

int dispatch_local(struct dispatch *d, const CassandraAgent__V1__Command *cmd, dispatch_local_cb cb, void *data)
{
	static unsigned counter;
	struct origin o = {.local_cb = cb, .local_data = data};
	char id[64];

	snprintf(id, sizeof id, "local-%lld-%u", (long long)now_unix_ms(), ++counter);
	intake(d, cmd, id, &o);
	return 0;
}

int dispatch_new(const struct dispatch_deps *deps, struct dispatch **out)
{
	struct dispatch *d = calloc(1, sizeof *d);

	if (!d)
		return -ENOMEM;
	d->deps = *deps;
	*out = d;
	return 0;
}

void dispatch_set_config(struct dispatch *d, const struct agent_config *cfg)
{
	d->deps.cfg = cfg;
}

void dispatch_stats(const struct dispatch *d, uint64_t counts[6])
{
	memcpy(counts, d->counts, sizeof d->counts);
}

void dispatch_close(struct dispatch *d)
{
	struct job *j, *tmp;

	if (!d)
		return;
	d->closing = true;
	/* Jobs whose ACCEPTED record is durable can go now; the others wait for their sync. */
	DL_FOREACH_SAFE(d->queue, j, tmp)
	{
		if (j->accepted_durable) {
			DL_DELETE(d->queue, j);
			d->n_jobs--;
			job_free(j);
		}
	}
	maybe_free(d);
}
