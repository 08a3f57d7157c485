/* probes: timers that feed the health model without blocking the loop (see probes.h). */
#include "probes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cql_probe.h"
#include "host.h"
#include "log.h"
#include "nodetool_parse.h"
#include "systemd.h"

/* A CQL probe never waits longer than this, whatever probe_interval is. */
#define PROBES_CQL_TIMEOUT_MAX_MS 10000
/* `nodetool version` again every this many nodetool rounds (it changes only on upgrade). */
#define PROBES_VERSION_EVERY 10

/* The nodetool round, one call after another. */
enum nt_step { NT_STATUS, NT_INFO, NT_DESCRIBECLUSTER, NT_VERSION, NT_DONE };
static const char *const nt_step_name[] = {"status", "info", "describecluster", "version"};

struct probes {
	uv_loop_t *loop;
	const struct agent_config *cfg;
	struct health *health;
	struct nodetool_runner *runner;
	uv_timer_t probe_timer, nodetool_timer;
	int handles_open;
	int pending; /* callbacks still to come back */
	bool closing;
	struct sysd *sysd;
	bool unit_pending, cql_pending, nt_running;
	enum nt_step nt_step;
	unsigned nt_rounds;
	bool version_known;
	int64_t generation; /* Cassandra's gossip generation: a restart changes it */
	struct host_cpu cpu;
};

static void probes_maybe_free(struct probes *p)
{
	if (p->closing && p->handles_open == 0 && p->pending == 0)
		free(p);
}

/* ---- systemd ----------------------------------------------------------------------- */

static void unit_state_cb(void *data, int err, const char *errmsg, const char *active_state)
{
	struct probes *p = data;

	p->pending--;
	p->unit_pending = false;
	if (p->closing) {
		probes_maybe_free(p);
		return;
	}
	if (err == -ECANCELED)
		return;
	health_update_unit(p->health, err, errmsg, active_state);
	if (err && p->sysd && !sysd_is_connected(p->sysd)) {
		sysd_close(p->sysd);
		p->sysd = NULL;
	}
}

static void probe_unit(struct probes *p)
{
	int rc;

	if (p->unit_pending)
		return;
	if (p->sysd && !sysd_is_connected(p->sysd)) {
		sysd_close(p->sysd);
		p->sysd = NULL;
	}
	if (!p->sysd) {
		rc = sysd_open(p->loop, &p->sysd);
		if (rc < 0) {
			char msg[160];

			p->sysd = NULL;
			snprintf(msg, sizeof msg, "system bus unreachable: %s", strerror(-rc));
			health_update_unit(p->health, rc, msg, NULL);
			return;
		}
	}
	rc = sysd_get_active_state(p->sysd, p->cfg->cassandra.unit, unit_state_cb, p);
	if (rc < 0) {
		health_update_unit(p->health, rc, strerror(-rc), NULL);
		return;
	}
	p->unit_pending = true;
	p->pending++;
}

/* ---- CQL --------------------------------------------------------------------------- */

static void cql_cb(void *data, int err, const char *errmsg, double latency_ms)
{
	struct probes *p = data;

	p->pending--;
	p->cql_pending = false;
	if (p->closing) {
		probes_maybe_free(p);
		return;
	}
	health_update_cql(p->health, err, errmsg, latency_ms);
}

static void probe_cql(struct probes *p)
{
	uint64_t timeout = p->cfg->health.probe_interval_ms;
	int rc;

	if (p->cql_pending)
		return;
	if (timeout > PROBES_CQL_TIMEOUT_MAX_MS)
		timeout = PROBES_CQL_TIMEOUT_MAX_MS;
	rc = cql_probe_start(p->loop, p->cfg->cassandra.native_address, p->cfg->cassandra.native_port, timeout, cql_cb,
			     p);
	if (rc < 0) {
		health_update_cql(p->health, rc, strerror(-rc), 0);
		return;
	}
	p->cql_pending = true;
	p->pending++;
}

/* ---- host -------------------------------------------------------------------------- */

static void probe_host(struct probes *p)
{
	struct host_sample s;

	if (host_sample_read(&p->cpu, &s) == 0)
		health_update_host(p->health, &s);
	for (size_t i = 0; i < p->cfg->cassandra.data_directories.n; i++) {
		const char *dir = p->cfg->cassandra.data_directories.v[i];
		uint64_t total = 0, avail = 0;
		int rc = host_disk_usage(dir, &total, &avail);

		health_update_disk(p->health, dir, rc, total, avail);
	}
}

static void probe_timer_cb(uv_timer_t *t)
{
	struct probes *p = t->data;

	if (p->closing)
		return;
	probe_unit(p);
	probe_cql(p);
	probe_host(p);
}

/* ---- nodetool round ---------------------------------------------------------------- */

static void nt_next(struct probes *p);

static int nt_apply(struct probes *p, enum nt_step step, const char *out, size_t len, char *err, size_t errlen)
{
	int rc;

	switch (step) {
	case NT_STATUS: {
		struct nt_status st;

		rc = nt_parse_status(out, len, &st, err, errlen);
		if (rc == 0)
			health_update_status(p->health, &st);
		return rc;
	}
	case NT_INFO: {
		struct nt_info info;

		rc = nt_parse_info(out, len, &info, err, errlen);
		if (rc == 0) {
			/* Cassandra restarted (an upgrade?): ask its version again this round. */
			if (info.generation != p->generation)
				p->version_known = false;
			p->generation = info.generation;
			health_update_info(p->health, &info);
		}
		return rc;
	}
	case NT_DESCRIBECLUSTER: {
		struct nt_describecluster dc;

		rc = nt_parse_describecluster(out, len, &dc, err, errlen);
		if (rc == 0) {
			health_update_describecluster(p->health, &dc);
			nt_describecluster_free(&dc);
		}
		return rc;
	}
	case NT_VERSION: {
		struct nt_version v;

		rc = nt_parse_version(out, len, &v, err, errlen);
		if (rc == 0) {
			health_update_version(p->health, &v);
			p->version_known = true;
		}
		return rc;
	}
	default: return -EINVAL;
	}
}

static void nt_cb(void *data, const struct nodetool_result *res)
{
	struct probes *p = data;
	enum nt_step step = p->nt_step;
	char err[256] = "";
	int rc;

	p->pending--;
	if (p->closing) {
		probes_maybe_free(p);
		return;
	}
	if (res->err == -ECANCELED) {
		p->nt_running = false;
		return;
	}
	if (res->err) {
		health_update_nodetool(p->health, nt_step_name[step], res->err, res->errtext);
	} else {
		rc = nt_apply(p, step, res->out, res->out_len, err, sizeof err);
		if (rc < 0) {
			char msg[320];

			snprintf(msg, sizeof msg, "unparseable output: %s", err);
			health_update_nodetool(p->health, nt_step_name[step], rc, msg);
		} else {
			health_update_nodetool(p->health, nt_step_name[step], 0, NULL);
		}
	}
	p->nt_step++;
	nt_next(p);
}

static void nt_next(struct probes *p)
{
	const char *args[2] = {NULL, NULL};
	int rc;

	if (p->nt_step == NT_VERSION && p->version_known && p->nt_rounds % PROBES_VERSION_EVERY != 0)
		p->nt_step = NT_DONE;
	if (p->nt_step >= NT_DONE) {
		p->nt_running = false;
		p->nt_rounds++;
		return;
	}
	args[0] = nt_step_name[p->nt_step];
	rc = nodetool_run(p->runner, args, p->cfg->cassandra.nodetool_timeout_ms, nt_cb, p, NULL);
	if (rc < 0) {
		health_update_nodetool(p->health, args[0], rc, strerror(-rc));
		p->nt_running = false;
		return;
	}
	p->pending++;
}

static void nodetool_timer_cb(uv_timer_t *t)
{
	struct probes *p = t->data;

	if (p->closing || p->nt_running)
		return; /* a round still waits on a slow nodetool: skip this tick */
	p->nt_running = true;
	p->nt_step = NT_STATUS;
	nt_next(p);
}

/* ---- lifecycle --------------------------------------------------------------------- */

static void start_timers(struct probes *p)
{
	uv_timer_start(&p->probe_timer, probe_timer_cb, 0, p->cfg->health.probe_interval_ms);
	uv_timer_start(&p->nodetool_timer, nodetool_timer_cb, 0, p->cfg->health.nodetool_interval_ms);
}

int probes_start(uv_loop_t *loop, const struct agent_config *cfg, struct health *h, struct nodetool_runner *runner,
		 struct probes **out)
{
	struct probes *p = calloc(1, sizeof *p);

	if (!p)
		return -ENOMEM;
	p->loop = loop;
	p->cfg = cfg;
	p->health = h;
	p->runner = runner;
	uv_timer_init(loop, &p->probe_timer);
	uv_timer_init(loop, &p->nodetool_timer);
	p->probe_timer.data = p->nodetool_timer.data = p;
	p->handles_open = 2;
	start_timers(p);
	*out = p;
	return 0;
}

void probes_apply_config(struct probes *p, const struct agent_config *cfg)
{
	p->cfg = cfg;
	uv_timer_stop(&p->probe_timer);
	uv_timer_stop(&p->nodetool_timer);
	uv_timer_start(&p->probe_timer, probe_timer_cb, cfg->health.probe_interval_ms, cfg->health.probe_interval_ms);
	uv_timer_start(&p->nodetool_timer, nodetool_timer_cb, cfg->health.nodetool_interval_ms,
		       cfg->health.nodetool_interval_ms);
}

static void timer_close_cb(uv_handle_t *h)
{
	struct probes *p = h->data;

	p->handles_open--;
	probes_maybe_free(p);
}

void probes_stop(struct probes *p)
{
	if (!p || p->closing)
		return;
	p->closing = true;
	uv_close((uv_handle_t *)&p->probe_timer, timer_close_cb);
	uv_close((uv_handle_t *)&p->nodetool_timer, timer_close_cb);
	if (p->sysd) {
		sysd_close(p->sysd); /* pending unit callback fires with -ECANCELED */
		p->sysd = NULL;
	}
}
