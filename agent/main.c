/* main: cassandra-agent's entry point; builds the modules in order, tears them down in reverse. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include <uv.h>

#include "command_store.h"
#include "cassandra_config.h"
#include "certs_job.h"
#include "config.h"
#include "control.h"
#include "controller.h"
#include "dispatch.h"
#include "health.h"
#include "log.h"
#include "maintenance.h"
#include "metrics.h"
#include "persist.h"
#include "nodetool.h"
#include "probes.h"
#include "snapshots.h"
#include "status_server.h"

#define DEFAULT_CONFIG "/etc/cassandra-agent/agent.yaml"

struct agent {
	uv_loop_t loop;
	const char *config_path;
	struct agent_config *cfg;
	struct health *health;
	struct nodetool_runner *runner;
	struct probes *probes;
	struct status_server *status;
	struct command_store *store;
	struct dispatch *dispatch;
	struct controller *controller;
	struct snapshots *snapshots;
	struct maintenance *maintenance;
	struct cassandra_config *cassandra_config;
	struct certs_job *certs;
	struct control control;
	int64_t started_unix_ms;
	uv_signal_t sigterm, sigint, sighup;
	uv_timer_t watchdog;
	uv_timer_t metrics_timer;
	uv_timer_t expire_timer;
	uv_timer_t journal_retry;  /* runs while the last journal write failed */
	uv_timer_t journal_reopen; /* runs while the journal could not be opened */
	uv_timer_t trim_timer;     /* gives freed heap pages back every 30 s */
	bool journal_opening;      /* an open is under way in a worker thread */
	char journal_path[4096];
	bool watchdog_on;
	bool stopping;
	char last_status[256];
};

static void notify_status(struct agent *a)
{
	const char *line = health_status_line(a->health);

	if (strcmp(line, a->last_status) == 0)
		return;
	snprintf(a->last_status, sizeof a->last_status, "%s", line);
	sd_notifyf(0, "STATUS=%s", line);
}

static void health_changed_cb(void *data)
{
	struct agent *a = data;

	notify_status(a);
	controller_report_soon(a->controller);
}

static int send_update_cb(void *data, const CassandraAgent__V1__CommandUpdate *u)
{
	struct agent *a = data;

	return a->controller ? controller_send_update(a->controller, u) : 0;
}

static void command_cb(void *data, const CassandraAgent__V1__Command *cmd)
{
	struct agent *a = data;
	CassandraAgent__V1__CommandUpdate u = CASSANDRA_AGENT__V1__COMMAND_UPDATE__INIT;

	if (a->dispatch) {
		dispatch_command(a->dispatch, cmd);
		return;
	}
	/* No journal: a command could not be kept idempotent, so none runs. A repeat once the
	 * state directory is usable again runs it (it never ran). */
	u.id = cmd->id ? cmd->id : (char *)"";
	u.status = CASSANDRA_AGENT__V1__COMMAND_STATUS__COMMAND_STATUS_REJECTED;
	u.message = (char *)"the command journal is unavailable (state directory): nothing was run";
	controller_send_update(a->controller, &u);
}

static void lease_grant_cb(void *data, const CassandraAgent__V1__LeaseGrant *g)
{
	struct agent *a = data;

	maintenance_lease_grant(a->maintenance, g);
}

static void lease_denied_cb(void *data, const CassandraAgent__V1__LeaseDenied *d)
{
	struct agent *a = data;

	maintenance_lease_denied(a->maintenance, d);
}

static void session_cb(void *data, bool up)
{
	struct agent *a = data;

	maintenance_session(a->maintenance, up);
}

static void hello_lease_cb(void *data, CassandraAgent__V1__LeaseState *lease)
{
	struct agent *a = data;

	maintenance_hello_lease(a->maintenance, lease);
}

static void released_cb(void *data)
{
	struct agent *a = data;

	cassandra_config_restarted(a->cassandra_config);
}

static int outbox_send_cb(void *data, CassandraAgent__V1__Envelope *env)
{
	struct agent *a = data;

	return a->controller ? controller_send(a->controller, env) : -ENOTCONN;
}

/* A write into the state directory finished (persist.c): raise or clear STATE_DIRECTORY_FAILED
 * for that file. Writes elsewhere (cassandra.yaml, the metrics textfile) are not the state
 * directory's. */
static void state_write_cb(void *data, const char *path, int err, const char *errmsg)
{
	struct agent *a = data;
	size_t n = strlen(a->cfg->state_directory);

	if (strncmp(path, a->cfg->state_directory, n) == 0 && path[n] == '/')
		health_update_state_write(a->health, path, err, errmsg);
}

static void journal_retry_cb(uv_timer_t *t)
{
	struct agent *a = t->data;

	command_store_retry(a->store);
}

/* A journal write finished: report it, and retry every 5 s while it fails (disk full). */
static void journal_written_cb(void *data, int err)
{
	struct agent *a = data;

	health_update_state_write(a->health, a->journal_path, err, NULL);
	if (err && !uv_is_active((uv_handle_t *)&a->journal_retry) && !a->stopping)
		uv_timer_start(&a->journal_retry, journal_retry_cb, 5000, 5000);
	else if (!err)
		uv_timer_stop(&a->journal_retry);
}

/* Takes an opened journal: commands run from now on (the dispatcher is made here). */
static int agent_take_journal(struct agent *a, struct command_store *store)
{
	struct dispatch_deps deps = {
		.loop = &a->loop,
		.store = store,
		.runner = a->runner,
		.health = a->health,
		.snapshots = a->snapshots,
		.maintenance = a->maintenance,
		.cassandra_config = a->cassandra_config,
		.certs = a->certs,
		.cfg = a->cfg,
		.send_update = send_update_cb,
		.send_data = a,
	};

	a->store = store;
	snprintf(a->journal_path, sizeof a->journal_path, "%s/%s", a->cfg->state_directory, COMMAND_STORE_FILE);
	command_store_observe(store, journal_written_cb, a);
	if (dispatch_new(&deps, &a->dispatch) < 0)
		return -ENOMEM;
	a->control.dispatch = a->dispatch;
	if (a->controller)
		controller_set_store(a->controller, store);
	return 0;
}

/* Opening the journal again, off the loop (it reads, compacts and fsyncs the file). */
struct journal_open {
	uv_work_t req;
	struct agent *a;
	char dir[4096];
	int64_t now_ms;
	struct command_store *store;
	int rc;
	char err[512];
};

static void journal_open_work_cb(uv_work_t *req)
{
	struct journal_open *w = req->data;

	/* Only remembers the loop: no libuv call is made from this thread. */
	w->rc = command_store_open(&w->a->loop, w->dir, w->now_ms, &w->store, w->err, sizeof w->err);
}

static void journal_open_done_cb(uv_work_t *req, int status)
{
	struct journal_open *w = req->data;
	struct agent *a = w->a;

	a->journal_opening = false;
	if (status == 0 && w->rc == 0) {
		if (a->stopping) {
			command_store_close(w->store);
		} else if (agent_take_journal(a, w->store) == 0) {
			log_notice("main", "command journal %s/%s opened: commands run again", w->dir,
				   COMMAND_STORE_FILE);
			uv_timer_stop(&a->journal_reopen);
			health_update_state_directory(a->health, w->dir, "");
			/* opening rewrote the journal: the directory takes writes again */
			health_update_state_write(a->health, a->journal_path, 0, NULL);
		}
	} else if (status == 0 && !a->stopping) {
		health_update_state_directory(a->health, w->dir, w->err);
	}
	free(w);
}

/* Every 10 s while the journal is unavailable: try to open it again. */
static void journal_reopen_cb(uv_timer_t *t)
{
	struct agent *a = t->data;
	struct journal_open *w;
	struct timespec ts;

	if (a->store || a->journal_opening || a->stopping || !(w = calloc(1, sizeof *w)))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	w->a = a;
	w->req.data = w;
	w->now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	snprintf(w->dir, sizeof w->dir, "%s", a->cfg->state_directory);
	if (uv_queue_work(&a->loop, &w->req, journal_open_work_cb, journal_open_done_cb) < 0) {
		free(w);
		return;
	}
	a->journal_opening = true;
}

/* The jobs, the command journal, the dispatcher, and the controller channel when one is
 * configured. Without a usable journal no command runs (results could not be kept
 * idempotent): the controller session still carries health (STATE_DIRECTORY_FAILED), every
 * command is REJECTED, the agent still serves its socket, and it opens the journal again
 * every 10 s (once the directory is fixed, commands run without a restart). */
static int agent_start_jobs(struct agent *a)
{
	char err[512];
	struct command_store *store = NULL;
	struct controller_hooks hooks = {
		.command = command_cb,
		.lease_grant = lease_grant_cb,
		.lease_denied = lease_denied_cb,
		.session = session_cb,
		.hello_lease = hello_lease_cb,
		.data = a,
	};
	struct maintenance_outbox outbox = {.send = outbox_send_cb, .data = a};
	int rc;

	if (snapshots_start(&a->loop, a->cfg, a->health, a->runner, a->started_unix_ms, &a->snapshots) < 0)
		return -ENOMEM;
	a->control.snapshots = a->snapshots;
	if (maintenance_start(&a->loop, a->cfg, a->health, a->runner, &outbox, &a->maintenance) < 0)
		return -ENOMEM;
	a->control.maintenance = a->maintenance;
	if (cassandra_config_start(&a->loop, a->cfg, a->health, a->runner, a->maintenance, &a->cassandra_config) < 0)
		return -ENOMEM;
	maintenance_set_release_cb(a->maintenance, released_cb, a);
	a->control.cassandra_config = a->cassandra_config;
	if (certs_job_start(&a->loop, a->cfg, a->health, a->runner, a->cassandra_config, &a->certs) < 0)
		return -ENOMEM;
	a->control.certs = a->certs;
	rc = command_store_open(&a->loop, a->cfg->state_directory, a->started_unix_ms, &store, err, sizeof err);
	if (rc < 0) {
		log_err("main", "command journal unavailable, no command will run until it opens: %s", err);
		health_update_state_directory(a->health, a->cfg->state_directory, err);
		uv_timer_start(&a->journal_reopen, journal_reopen_cb, 10000, 10000);
	} else if (agent_take_journal(a, store) < 0) {
		return -ENOMEM;
	}
	if (a->cfg->controller.enabled &&
	    controller_start(&a->loop, a->cfg, a->health, a->store, &hooks, &a->controller) < 0)
		return -ENOMEM;
	return 0;
}

static void metrics_fn(void *data, const CassandraAgent__V1__HealthReport *r)
{
	struct agent *a = data;
	struct metrics_counters mc = {0};
	uint64_t last_ms = 0;
	char *text = NULL, err[256];
	size_t len = 0;

	if (a->dispatch)
		dispatch_stats(a->dispatch, mc.commands_total);
	nodetool_runner_stats(a->runner, &mc.nodetool_calls_total, &mc.nodetool_failures_total, &last_ms);
	mc.nodetool_last_duration_seconds = (double)last_ms / 1000.0;
	mc.controller_reconnects_total = r->controller ? r->controller->reconnects : 0;
	/* Written by a worker thread, crash-safely (temp + rename): node_exporter never reads half. */
	if (metrics_render(r, &mc, &text, &len) == 0) {
		snprintf(err, sizeof err, "%s/%s", a->cfg->metrics.textfile_directory, METRICS_FILE_NAME);
		if (persist_write(&a->loop, err, text, len, 0644, NULL, NULL) < 0)
			log_warnx("main", "metrics: cannot queue %s", err);
	}
	free(text);
}

/* Writes the textfile every report interval when metrics.textfile_directory is set. */
static void metrics_cb(uv_timer_t *t)
{
	struct agent *a = t->data;

	if (a->cfg->metrics.textfile_directory[0])
		health_with_report(a->health, metrics_fn, a);
}

/* Command results are kept 24 h: drop older ones from memory every hour (the journal file is
 * compacted at the next start). */
static void expire_cb(uv_timer_t *t)
{
	struct agent *a = t->data;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (a->store)
		command_store_expire(a->store, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Every nodetool cycle allocates and frees a few MiB on a large ring (parse, JSON, report);
 * glibc keeps the freed pages, so the resident heap stays at the high-water mark. Giving
 * them back halves the agent's private memory on a 1000-node ring (tests/bench/footprint.py)
 * for well under a millisecond every 30 s. */
static void trim_cb(uv_timer_t *t)
{
	(void)t;
	malloc_trim(0);
}

static void watchdog_cb(uv_timer_t *t)
{
	struct agent *a = t->data;

	sd_notify(0, "WATCHDOG=1");
	notify_status(a);
}

static void agent_reload(struct agent *a)
{
	struct agent_config *cfg = calloc(1, sizeof *cfg);
	char err[CONFIG_ERR_MAX];
	int rc;

	sd_notify(0, "RELOADING=1");
	if (!cfg) {
		log_err("main", "reload: out of memory; keeping the current config");
		goto done;
	}
	rc = config_load(a->config_path, cfg, err, sizeof err);
	if (rc < 0) {
		log_err("main", "reload refused, keeping the current config: %s", err);
		health_event(a->health, "config_reload_failed", a->config_path, "%s", err);
		free(cfg);
		goto done;
	}
	if (nodetool_runner_set_prefix(a->runner, (const char *const *)cfg->cassandra.nodetool.v) < 0 ||
	    health_apply_config(a->health, cfg) < 0) {
		log_err("main", "reload: out of memory; keeping the current config");
		config_free(cfg);
		free(cfg);
		goto done;
	}
	if (strcmp(cfg->status.socket, a->cfg->status.socket) != 0)
		log_notice("main", "status.socket changed to %s: takes effect at the next start", cfg->status.socket);
	probes_apply_config(a->probes, cfg);
	if (cfg->controller.enabled != a->cfg->controller.enabled)
		log_notice("main", "controller %s: takes effect at the next start",
			   cfg->controller.enabled ? "added" : "removed");
	if (a->controller && cfg->controller.enabled)
		controller_reload(a->controller, cfg);
	if (a->dispatch)
		dispatch_set_config(a->dispatch, cfg);
	if (a->snapshots)
		snapshots_apply_config(a->snapshots, cfg);
	if (a->maintenance)
		maintenance_apply_config(a->maintenance, cfg);
	if (a->cassandra_config)
		cassandra_config_apply_config(a->cassandra_config, cfg);
	if (a->certs)
		certs_job_apply_config(a->certs, cfg);
	config_free(a->cfg);
	free(a->cfg);
	a->cfg = cfg;
	health_event(a->health, "config_reloaded", a->config_path, "configuration reloaded");
	log_info("main", "configuration reloaded from %s", a->config_path);
done:
	sd_notify(0, "READY=1");
	notify_status(a);
}

static void agent_stop(struct agent *a)
{
	if (a->stopping)
		return;
	a->stopping = true;
	sd_notify(0, "STOPPING=1");
	log_info("main", "stopping");
	status_server_stop(a->status);
	probes_stop(a->probes);
	snapshots_stop(a->snapshots);
	maintenance_stop(a->maintenance);
	cassandra_config_stop(a->cassandra_config);
	certs_job_stop(a->certs);
	dispatch_close(a->dispatch);
	controller_stop(a->controller);
	nodetool_runner_close(a->runner);
	command_store_close(a->store);
	uv_close((uv_handle_t *)&a->sigterm, NULL);
	uv_close((uv_handle_t *)&a->sigint, NULL);
	uv_close((uv_handle_t *)&a->sighup, NULL);
	uv_close((uv_handle_t *)&a->watchdog, NULL);
	uv_close((uv_handle_t *)&a->metrics_timer, NULL);
	uv_close((uv_handle_t *)&a->expire_timer, NULL);
	uv_close((uv_handle_t *)&a->journal_retry, NULL);
	uv_close((uv_handle_t *)&a->journal_reopen, NULL);
	uv_close((uv_handle_t *)&a->trim_timer, NULL);
	persist_observe(NULL, NULL);
}

static void signal_cb(uv_signal_t *s, int signum)
{
	struct agent *a = s->data;

	if (signum == SIGHUP)
		agent_reload(a);
	else
		agent_stop(a);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: cassandra-agent [--config PATH] [--check-config] [--version]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 'C'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct agent a = {0};
	bool check_only = false;
	char err[CONFIG_ERR_MAX];
	uint64_t wd_usec = 0;
	int c, rc;

	a.config_path = DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a.config_path = optarg; break;
		case 'C': check_only = true; break;
		case 'V': printf("cassandra-agent %s\n", AGENT_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	// NOLINTNEXTLINE(cert-err33-c): cannot fail for a valid signal
	signal(SIGPIPE, SIG_IGN); /* libuv writes with write(2); a gone peer must not kill us */
	log_init(getenv("JOURNAL_STREAM") != NULL, getenv("CASSANDRA_AGENT_DEBUG") ? LOG_DEBUG : LOG_INFO);

	a.cfg = calloc(1, sizeof *a.cfg);
	if (!a.cfg)
		return 1;
	rc = config_load(a.config_path, a.cfg, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		free(a.cfg);
		return 1;
	}
	if (check_only) {
		printf("%s: ok\n", a.config_path);
		config_free(a.cfg);
		free(a.cfg);
		return 0;
	}

	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		a.started_unix_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	}
	uv_loop_init(&a.loop);
	if (health_new(a.cfg, &a.health) < 0 ||
	    nodetool_runner_new(&a.loop, (const char *const *)a.cfg->cassandra.nodetool.v, &a.runner) < 0) {
		log_err("main", "out of memory");
		return 1;
	}
	health_set_change_cb(a.health, health_changed_cb, &a);
	rc = status_server_start(&a.loop, a.cfg->status.socket, a.cfg->status.group, a.health, &a.status, err,
				 sizeof err);
	if (rc < 0) {
		log_err("main", "status socket: %s", err);
		nodetool_runner_close(a.runner);
		uv_run(&a.loop, UV_RUN_DEFAULT);
		uv_loop_close(&a.loop);
		health_free(a.health);
		config_free(a.cfg);
		free(a.cfg);
		return 1;
	}
	status_server_set_command_fn(a.status, control_command, &a.control);
	if (probes_start(&a.loop, a.cfg, a.health, a.runner, &a.probes) < 0) {
		log_err("main", "out of memory");
		return 1;
	}

	uv_signal_init(&a.loop, &a.sigterm);
	uv_signal_init(&a.loop, &a.sigint);
	uv_signal_init(&a.loop, &a.sighup);
	a.sigterm.data = a.sigint.data = a.sighup.data = &a;
	uv_signal_start(&a.sigterm, signal_cb, SIGTERM);
	uv_signal_start(&a.sigint, signal_cb, SIGINT);
	uv_signal_start(&a.sighup, signal_cb, SIGHUP);
	uv_timer_init(&a.loop, &a.watchdog);
	a.watchdog.data = &a;
	uv_timer_init(&a.loop, &a.metrics_timer);
	a.metrics_timer.data = &a;
	uv_timer_start(&a.metrics_timer, metrics_cb, 1000, a.cfg->controller.report_interval_ms);
	uv_timer_init(&a.loop, &a.expire_timer);
	a.expire_timer.data = &a;
	uv_timer_start(&a.expire_timer, expire_cb, 3600 * 1000, 3600 * 1000);
	uv_timer_init(&a.loop, &a.journal_retry);
	a.journal_retry.data = &a;
	uv_timer_init(&a.loop, &a.journal_reopen);
	a.journal_reopen.data = &a;
	uv_timer_init(&a.loop, &a.trim_timer);
	uv_timer_start(&a.trim_timer, trim_cb, 30000, 30000);
	persist_observe(state_write_cb, &a);
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
		uint64_t half_ms = wd_usec / 2000;

		uv_timer_start(&a.watchdog, watchdog_cb, half_ms ? half_ms : 1, half_ms ? half_ms : 1);
	}

	if (agent_start_jobs(&a) < 0) {
		agent_stop(&a);
		uv_run(&a.loop, UV_RUN_DEFAULT);
		uv_loop_close(&a.loop);
		health_free(a.health);
		config_free(a.cfg);
		free(a.cfg);
		return 1;
	}

	log_info("main", "cassandra-agent %s started; status socket %s", AGENT_VERSION, a.cfg->status.socket);
	sd_notifyf(0, "READY=1\nSTATUS=%s", health_status_line(a.health));

	uv_run(&a.loop, UV_RUN_DEFAULT);

	rc = uv_loop_close(&a.loop);
	if (rc != 0)
		log_err("main", "event loop closed with handles still open: %s", uv_strerror(rc));
	health_free(a.health);
	config_free(a.cfg);
	free(a.cfg);
	log_info("main", "stopped");
	return rc == 0 ? 0 : 1;
}
