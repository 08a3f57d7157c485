/* dispatch: command intake, idempotency through the command store, and a FIFO executor.
 *
 * Per command: seen id -> resend the stored status; new id -> validate -> REJECTED (stored)
 * or ACCEPTED (stored, sent once durable) -> queued -> RUNNING -> SUCCEEDED/FAILED (stored,
 * sent once durable). One command runs at a time, so final statuses come in arrival order.
 * Kinds owned by later work answer REJECTED "not implemented in this version".
 */
#include "dispatch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <utlist.h>

#include "log.h"

#define ST(x) CASSANDRA_AGENT__V1__COMMAND_STATUS__COMMAND_STATUS_##x

struct job {
	struct job *prev, *next;
	struct dispatch *d;
	char *id;
	char *kind;
	char **argv;          /* nodetool subcommand and arguments, NULL-terminated */
	bool long_running;
	bool accepted_durable;
};

struct dispatch {
	struct dispatch_deps deps;
	struct job *queue;    /* accepted, waiting or running, FIFO */
	struct job *running;
	size_t n_jobs;
	size_t n_finals;      /* final statuses waiting for their journal sync */
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

static void send_status(struct dispatch *d, const char *id, CassandraAgent__V1__CommandStatus st, const char *msg,
			const uint8_t *out, size_t out_len)
{
	CassandraAgent__V1__CommandUpdate u = CASSANDRA_AGENT__V1__COMMAND_UPDATE__INIT;

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
	int max_names;              /* keyspace/table name arguments allowed */
	const char *const *flags;   /* options allowed, NULL-terminated */
};

static const char *const flags_r[] = {"-r", "--resolve-ip", NULL};
static const char *const flags_h[] = {"-H", "--human-readable", NULL};
static const char *const flags_repair[] = {"-pr", "--partitioner-range", "-full", "--full", "-seq", "--sequential",
					   NULL};
static const char *const flags_none[] = {NULL};

/* SPEC section 7: the subcommands the controller may run, with what they take. */
static const struct nodetool_rule nodetool_rules[] = {
	{"status", false, 1, flags_r},        {"info", false, 0, flags_none},
	{"version", false, 0, flags_none},    {"describecluster", false, 0, flags_none},
	{"ring", false, 1, flags_r},          {"tpstats", false, 0, flags_none},
	{"compactionstats", false, 0, flags_h}, {"netstats", false, 0, flags_h},
	{"gossipinfo", false, 0, flags_none}, {"statusbinary", false, 0, flags_none},
	{"statusgossip", false, 0, flags_none}, {"flush", true, 64, flags_none},
	{"cleanup", true, 64, flags_none},    {"repair", true, 64, flags_repair},
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

int dispatch_check_nodetool(const CassandraAgent__V1__RunNodetool *r, struct health *h, bool *long_running,
			    char *err, size_t errlen)
{
	const struct nodetool_rule *rule = NULL;
	int names = 0;

	*long_running = false;
	for (size_t i = 0; r->subcommand && i < sizeof nodetool_rules / sizeof nodetool_rules[0]; i++)
		if (strcmp(r->subcommand, nodetool_rules[i].name) == 0)
			rule = &nodetool_rules[i];
	if (!rule) {
		snprintf(err, errlen, "nodetool subcommand \"%.64s\" is not allowed", r->subcommand ? r->subcommand : "");
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
			snprintf(err, errlen, "rebuild source datacenter \"%s\" is not in the ring", r->args[r->n_args - 1]);
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
		send_status(d, f->id, f->status, f->message, f->output, f->output_len);
	free(f->id);
	free(f->message);
	free(f->output);
	free(f);
	d->n_finals--;
	maybe_free(d);
}

/* Stores a final status and sends it once it is durable. */
static void finish(struct dispatch *d, const char *id, const char *kind, CassandraAgent__V1__CommandStatus st,
		   const char *msg, const uint8_t *out, size_t out_len)
{
	struct final_ctx *f = calloc(1, sizeof *f);

	if (f) {
		f->d = d;
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
		send_status(d, id, st, msg, out, out_len);
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
			 (unsigned long long)res->duration_ms, res->out_truncated ? " (output truncated to 1 MiB)" : "");
	else
		snprintf(msg, sizeof msg, "nodetool %s: %s", j->argv[0], res->errtext);
	if (res->err != -ECANCELED)
		finish(d, j->id, j->kind, res->err ? ST(FAILED) : ST(SUCCEEDED), msg, (const uint8_t *)res->out,
		       res->out_len);
	job_free(j);
	if (d->closing) {
		maybe_free(d);
		return;
	}
	run_next(d);
}

static void run_next(struct dispatch *d)
{
	struct job *j = d->queue;
	uint64_t timeout;
	int rc;

	if (d->running || d->closing || !j || !j->accepted_durable)
		return;
	DL_DELETE(d->queue, j);
	d->n_jobs--;
	d->running = j;
	command_store_put(d->deps.store, j->id, j->kind, ST(RUNNING), "running", NULL, 0, now_unix_ms(), NULL, NULL);
	send_status(d, j->id, ST(RUNNING), "running", NULL, 0);
	timeout = j->long_running ? DISPATCH_LONG_TIMEOUT_MS : d->deps.cfg->cassandra.nodetool_timeout_ms;
	rc = nodetool_run(d->deps.runner, (const char *const *)j->argv, timeout, nodetool_done_cb, j, NULL);
	if (rc < 0) {
		char msg[160];

		snprintf(msg, sizeof msg, "cannot run nodetool: %s", strerror(-rc));
		d->running = NULL;
		finish(d, j->id, j->kind, ST(FAILED), msg, NULL, 0);
		job_free(j);
		run_next(d);
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
		finish(d, j->id, j->kind, ST(FAILED), msg, NULL, 0);
		job_free(j);
		run_next(d);
		return;
	}
	j->accepted_durable = true;
	send_status(d, j->id, ST(ACCEPTED), "accepted", NULL, 0);
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

void dispatch_command(struct dispatch *d, const CassandraAgent__V1__Command *cmd)
{
	const struct stored_command *sc;
	const char *kind = kind_name(cmd);
	char err[256];
	struct job *j;
	bool long_running = false;
	int rc;

	if (d->closing)
		return;
	if (!cmd->id || !cmd->id[0] || strlen(cmd->id) > 128) {
		log_warnx("dispatch", "refusing a %s command with %s id", kind, cmd->id && cmd->id[0] ? "an over-long" : "an empty");
		send_status(d, cmd->id && strlen(cmd->id) <= 128 ? cmd->id : "", ST(REJECTED),
			    "command id must be 1 to 128 bytes", NULL, 0);
		return;
	}
	sc = command_store_get(d->deps.store, cmd->id);
	if (sc) {
		/* Seen before: the stored state, never a second run. */
		log_info("dispatch", "command %s repeated; returning its stored status", cmd->id);
		send_status(d, sc->id, sc->status, sc->message, sc->output, sc->output_len);
		return;
	}
	if (cmd->kind_case != CASSANDRA_AGENT__V1__COMMAND__KIND_RUN_NODETOOL) {
		snprintf(err, sizeof err, "%s: %s", kind,
			 cmd->kind_case == CASSANDRA_AGENT__V1__COMMAND__KIND__NOT_SET ? "unknown or missing command kind"
											: "not implemented in this version");
		finish(d, cmd->id, kind, ST(REJECTED), err, NULL, 0);
		return;
	}
	rc = dispatch_check_nodetool(cmd->run_nodetool, d->deps.health, &long_running, err, sizeof err);
	if (rc < 0) {
		log_warnx("dispatch", "command %s refused: %s", cmd->id, err);
		finish(d, cmd->id, kind, ST(REJECTED), err, NULL, 0);
		return;
	}
	j = calloc(1, sizeof *j);
	if (!j || !(j->id = strdup(cmd->id)) || !(j->kind = strdup(kind)) || !(j->argv = nodetool_argv(cmd->run_nodetool))) {
		if (j)
			job_free(j);
		send_status(d, cmd->id, ST(REJECTED), "out of memory", NULL, 0);
		return;
	}
	j->d = d;
	j->long_running = long_running;
	DL_APPEND(d->queue, j);
	d->n_jobs++;
	if (command_store_put(d->deps.store, j->id, kind, ST(ACCEPTED), "accepted", NULL, 0, now_unix_ms(),
			      accepted_synced_cb, j) < 0) {
		DL_DELETE(d->queue, j);
		d->n_jobs--;
		send_status(d, cmd->id, ST(REJECTED), "cannot journal the command", NULL, 0);
		job_free(j);
	}
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

size_t dispatch_pending(const struct dispatch *d)
{
	return d->n_jobs + (d->running ? 1 : 0);
}

void dispatch_close(struct dispatch *d)
{
	struct job *j, *tmp;

	if (!d)
		return;
	d->closing = true;
	/* Jobs whose ACCEPTED record is durable can go now; the others wait for their sync. */
	DL_FOREACH_SAFE(d->queue, j, tmp) {
		if (j->accepted_durable) {
			DL_DELETE(d->queue, j);
			d->n_jobs--;
			job_free(j);
		}
	}
	maybe_free(d);
}
