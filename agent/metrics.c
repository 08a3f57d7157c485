/* metrics: HealthReport and counters to the Prometheus text format 0.0.4, and its atomic textfile write. */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

/* A growing text buffer; after an allocation failure every append is a no-op and `oom` stays set. */
struct metrics_buf {
	char *p;
	size_t len, cap;
	bool oom;
};

/* A formatted sample value; "" for a value that must not be written (NaN, infinities). */
struct metrics_value {
	char s[40];
};

/* One sample of the family being built: the series ("name{labels}") and its value. */
struct metrics_sample {
	char *series;
	struct metrics_value value;
	size_t order;
	bool duplicate;
};

/* The renderer: the output text and the samples of the current family. */
struct metrics_render_ctx {
	struct metrics_buf out;
	const char *name, *type, *help;
	struct metrics_sample *samples;
	size_t n, cap;
};

static void metrics_buf_put(struct metrics_buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void metrics_buf_puts(struct metrics_buf *b, const char *s)
{
	metrics_buf_put(b, s, strlen(s));
}

/* The length of the valid UTF-8 sequence at `s` (at most `n` bytes), or 0 when it is invalid
 * (bad lead or continuation byte, overlong form, surrogate, above U+10FFFF, truncated). */
static size_t metrics_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* Appends a label value escaped per the text format: \\ \" \n; invalid UTF-8 becomes U+FFFD. */
static void metrics_buf_put_label_value(struct metrics_buf *b, const char *value)
{
	const unsigned char *s = (const unsigned char *)(value ? value : "");
	size_t n = strlen((const char *)s), i = 0;

	while (i < n) {
		size_t run = i, k;

		/* copy the longest run that needs no escaping at once */
		while (run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '\\' && s[run] != '"')
			run++;
		metrics_buf_put(b, (const char *)s + i, run - i);
		i = run;
		if (i >= n)
			break;
		if (s[i] == '\\') {
			metrics_buf_puts(b, "\\\\");
			i++;
		} else if (s[i] == '"') {
			metrics_buf_puts(b, "\\\"");
			i++;
		} else if (s[i] == '\n') {
			metrics_buf_puts(b, "\\n");
			i++;
		} else if ((k = metrics_utf8_len(s + i, n - i)) > 0) {
			/* other control characters and valid multi-byte sequences pass as they are */
			metrics_buf_put(b, (const char *)s + i, k);
			i += k;
		} else {
			metrics_buf_puts(b, "\xef\xbf\xbd");
			i++;
		}
	}
}

static struct metrics_value metrics_u64(uint64_t v)
{
	struct metrics_value m;

	snprintf(m.s, sizeof m.s, "%" PRIu64, v);
	return m;
}

static struct metrics_value metrics_i64(int64_t v)
{
	struct metrics_value m;

	snprintf(m.s, sizeof m.s, "%" PRId64, v);
	return m;
}

static struct metrics_value metrics_bool(bool v)
{
	return metrics_u64(v ? 1 : 0);
}

/* The shortest of %.15g..%.17g that reads back as `v`; "" when `v` is not finite. */
static struct metrics_value metrics_f64(double v)
{
	struct metrics_value m;

	m.s[0] = '\0';
	if (!isfinite(v))
		return m;
	if (v == 0)
		v = 0; /* no "-0" */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(m.s, sizeof m.s, "%.*g", prec, v);
		if (strtod(m.s, NULL) == v)
			break;
	}
	return m;
}

/* Milliseconds as seconds, exact to the millisecond, without trailing zeros (3723.5). */
static struct metrics_value metrics_ms_as_seconds(int64_t ms)
{
	struct metrics_value m;
	uint64_t a = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
	size_t n;

	if (a % 1000 == 0) {
		snprintf(m.s, sizeof m.s, "%s%" PRIu64, ms < 0 ? "-" : "", a / 1000);
		return m;
	}
	snprintf(m.s, sizeof m.s, "%s%" PRIu64 ".%03" PRIu64, ms < 0 ? "-" : "", a / 1000, a % 1000);
	n = strlen(m.s);
	while (m.s[n - 1] == '0')
		m.s[--n] = '\0';
	return m;
}

static const char *metrics_str(const char *s)
{
	return s ? s : "";
}

static void metrics_family_begin(struct metrics_render_ctx *x, const char *name, const char *type, const char *help)
{
	x->name = name;
	x->type = type;
	x->help = help;
	x->n = 0;
}

/*
 * Adds a sample to the current family: `value`, then label name/value pairs ending with
 * NULL. A value that must not be written ("") is dropped.
 */
static void metrics_sample(struct metrics_render_ctx *x, struct metrics_value value, ...) __attribute__((sentinel));
static void metrics_sample(struct metrics_render_ctx *x, struct metrics_value value, ...)
{
	struct metrics_buf series = {0};
	const char *key;
	va_list ap;
	bool first = true;

	if (!value.s[0] || x->out.oom)
		return;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		struct metrics_sample *p = realloc(x->samples, cap * sizeof *p);

		if (!p) {
			x->out.oom = true;
			return;
		}
		x->samples = p;
		x->cap = cap;
	}
	metrics_buf_puts(&series, x->name);
	va_start(ap, value);
	while ((key = va_arg(ap, const char *)) != NULL) {
		const char *val = va_arg(ap, const char *);

		metrics_buf_puts(&series, first ? "{" : ",");
		metrics_buf_puts(&series, key);
		metrics_buf_puts(&series, "=\"");
		metrics_buf_put_label_value(&series, val);
		metrics_buf_puts(&series, "\"");
		first = false;
	}
	va_end(ap);
	if (!first)
		metrics_buf_puts(&series, "}");
	if (series.oom) {
		free(series.p);
		x->out.oom = true;
		return;
	}
	x->samples[x->n] = (struct metrics_sample){.series = series.p, .value = value, .order = x->n};
	x->n++;
}

static int metrics_cmp_sample(const void *a, const void *b)
{
	const struct metrics_sample *sa = *(const struct metrics_sample *const *)a;
	const struct metrics_sample *sb = *(const struct metrics_sample *const *)b;
	int r = strcmp(sa->series, sb->series);

	if (r)
		return r;
	return sa->order < sb->order ? -1 : sa->order > sb->order;
}

/* Writes the current family (HELP, TYPE, its samples in the order added, each series once)
 * and frees its samples. A family without samples writes nothing. */
static void metrics_family_end(struct metrics_render_ctx *x)
{
	struct metrics_sample **sorted = NULL;

	if (x->n == 0)
		return;
	if (x->n > 1) {
		sorted = malloc(x->n * sizeof *sorted);
		if (!sorted) {
			x->out.oom = true;
			goto done;
		}
		for (size_t i = 0; i < x->n; i++)
			sorted[i] = &x->samples[i];
		qsort(sorted, x->n, sizeof *sorted, metrics_cmp_sample);
		for (size_t i = 1; i < x->n; i++)
			sorted[i]->duplicate = strcmp(sorted[i]->series, sorted[i - 1]->series) == 0;
	}
	metrics_buf_puts(&x->out, "# HELP ");
	metrics_buf_puts(&x->out, x->name);
	metrics_buf_puts(&x->out, " ");
	metrics_buf_puts(&x->out, x->help);
	metrics_buf_puts(&x->out, "\n# TYPE ");
	metrics_buf_puts(&x->out, x->name);
	metrics_buf_puts(&x->out, " ");
	metrics_buf_puts(&x->out, x->type);
	metrics_buf_puts(&x->out, "\n");
	for (size_t i = 0; i < x->n; i++) {
		if (x->samples[i].duplicate)
			continue;
		metrics_buf_puts(&x->out, x->samples[i].series);
		metrics_buf_puts(&x->out, " ");
		metrics_buf_puts(&x->out, x->samples[i].value.s);
		metrics_buf_puts(&x->out, "\n");
	}
done:
	free(sorted);
	for (size_t i = 0; i < x->n; i++)
		free(x->samples[i].series);
	x->n = 0;
}

/* A family of exactly one unlabelled sample. */
static void metrics_single(struct metrics_render_ctx *x, const char *name, const char *type, const char *help,
			   struct metrics_value v)
{
	metrics_family_begin(x, name, type, help);
	metrics_sample(x, v, (const char *)NULL);
	metrics_family_end(x);
}

static const char *metrics_severity_name(CassandraAgent__V1__Severity s)
{
	switch (s) {
	case CASSANDRA_AGENT__V1__SEVERITY__SEVERITY_WARNING: return "warning";
	case CASSANDRA_AGENT__V1__SEVERITY__SEVERITY_CRITICAL: return "critical";
	default: return "info";
	}
}

static void metrics_render_node(struct metrics_render_ctx *x, const CassandraAgent__V1__HealthReport *r)
{
	static const CassandraAgent__V1__NodeIdentity none = CASSANDRA_AGENT__V1__NODE_IDENTITY__INIT;
	const CassandraAgent__V1__NodeIdentity *n = r->node ? r->node : &none;
	const CassandraAgent__V1__CassandraState *cs = r->cassandra;
	const char *cassandra_version = cs && cs->version && *cs->version ? cs->version : n->cassandra_version;

	metrics_single(x, "cassandra_agent_up", "gauge", "1 while the agent writes this file.", metrics_u64(1));
	metrics_family_begin(x, "cassandra_agent_info", "gauge",
			     "Identity of the node and versions of the agent and Cassandra; always 1.");
	metrics_sample(x, metrics_u64(1), "agent_version", metrics_str(r->agent_version), "cassandra_version",
		       metrics_str(cassandra_version), "cluster_name", metrics_str(n->cluster_name), "datacenter",
		       metrics_str(n->datacenter), "rack", metrics_str(n->rack), "address", metrics_str(n->address),
		       "host_id", metrics_str(n->host_id), "hostname", metrics_str(n->hostname), (const char *)NULL);
	metrics_family_end(x);
	if (r->collected_at_unix_ms > 0)
		metrics_single(x, "cassandra_agent_report_timestamp_seconds", "gauge",
			       "When the agent collected the health report these metrics come from (Unix time).",
			       metrics_ms_as_seconds(r->collected_at_unix_ms));
}

static void metrics_render_ring(struct metrics_render_ctx *x, const CassandraAgent__V1__HealthReport *r)
{
	uint64_t up = 0, down = 0, unknown = 0;

	for (size_t i = 0; i < r->n_ring; i++) {
		if (!r->ring[i])
			continue;
		if (r->ring[i]->status == CASSANDRA_AGENT__V1__PEER_STATUS__PEER_STATUS_UP)
			up++;
		else if (r->ring[i]->status == CASSANDRA_AGENT__V1__PEER_STATUS__PEER_STATUS_DOWN)
			down++;
		else
			unknown++;
	}
	metrics_family_begin(x, "cassandra_agent_peers", "gauge",
			     "Nodes of the ring as this node sees them, by gossip status.");
	metrics_sample(x, metrics_u64(up), "status", "up", (const char *)NULL);
	metrics_sample(x, metrics_u64(down), "status", "down", (const char *)NULL);
	metrics_sample(x, metrics_u64(unknown), "status", "unknown", (const char *)NULL);
	metrics_family_end(x);

	metrics_family_begin(x, "cassandra_agent_peer_up", "gauge",
			     "1 when the node of the ring is up according to gossip, else 0.");
	for (size_t i = 0; i < r->n_ring; i++) {
		const CassandraAgent__V1__Peer *p = r->ring[i];

		if (p)
			metrics_sample(x, metrics_bool(p->status == CASSANDRA_AGENT__V1__PEER_STATUS__PEER_STATUS_UP),
				       "address", metrics_str(p->address), "datacenter", metrics_str(p->datacenter),
				       "rack", metrics_str(p->rack), (const char *)NULL);
	}
	metrics_family_end(x);
}

static void metrics_render_conditions(struct metrics_render_ctx *x, const CassandraAgent__V1__HealthReport *r)
{
	uint64_t by_sev[3] = {0};

	for (size_t i = 0; i < r->n_conditions; i++) {
		const CassandraAgent__V1__Condition *c = r->conditions[i];

		if (!c)
			continue;
		if (c->severity == CASSANDRA_AGENT__V1__SEVERITY__SEVERITY_CRITICAL)
			by_sev[2]++;
		else if (c->severity == CASSANDRA_AGENT__V1__SEVERITY__SEVERITY_WARNING)
			by_sev[1]++;
		else
			by_sev[0]++;
	}
	metrics_family_begin(x, "cassandra_agent_conditions", "gauge", "Conditions currently raised, by severity.");
	metrics_sample(x, metrics_u64(by_sev[0]), "severity", "info", (const char *)NULL);
	metrics_sample(x, metrics_u64(by_sev[1]), "severity", "warning", (const char *)NULL);
	metrics_sample(x, metrics_u64(by_sev[2]), "severity", "critical", (const char *)NULL);
	metrics_family_end(x);

	metrics_family_begin(x, "cassandra_agent_condition", "gauge",
			     "1 for every condition currently raised (see cassandra-agent(8), CONDITIONS).");
	for (size_t i = 0; i < r->n_conditions; i++) {
		const CassandraAgent__V1__Condition *c = r->conditions[i];

		if (c)
			metrics_sample(x, metrics_u64(1), "code", metrics_str(c->code), "subject",
				       metrics_str(c->subject), "severity", metrics_severity_name(c->severity),
				       (const char *)NULL);
	}
	metrics_family_end(x);
}

static void metrics_render_certificates(struct metrics_render_ctx *x, const CassandraAgent__V1__HealthReport *r)
{
	metrics_family_begin(x, "cassandra_agent_certificate_days_left", "gauge",
			     "Whole days before the certificate expires (negative once expired).");
	for (size_t i = 0; i < r->n_certificates; i++) {
		const CassandraAgent__V1__CertificateState *c = r->certificates[i];

		if (c)
			metrics_sample(x, metrics_i64(c->days_left), "path", metrics_str(c->path), "subject",
				       metrics_str(c->subject), (const char *)NULL);
	}
	metrics_family_end(x);

	metrics_family_begin(x, "cassandra_agent_certificate_expiry_timestamp_seconds", "gauge",
			     "When the certificate expires: its notAfter (Unix time).");
	for (size_t i = 0; i < r->n_certificates; i++) {
		const CassandraAgent__V1__CertificateState *c = r->certificates[i];

		if (c && c->not_after_unix != 0)
			metrics_sample(x, metrics_i64(c->not_after_unix), "path", metrics_str(c->path), "subject",
				       metrics_str(c->subject), (const char *)NULL);
	}
	metrics_family_end(x);
}

static void metrics_render_snapshots(struct metrics_render_ctx *x, const CassandraAgent__V1__HealthReport *r)
{
	const CassandraAgent__V1__SnapshotState *s = r->snapshots;

	if (!s)
		return;
	if (s->last_success_unix_ms > 0) {
		metrics_single(x, "cassandra_agent_snapshot_last_success_timestamp_seconds", "gauge",
			       "When the newest successful snapshot was taken (Unix time).",
			       metrics_ms_as_seconds(s->last_success_unix_ms));
		if (r->collected_at_unix_ms > 0)
			metrics_single(x, "cassandra_agent_snapshot_last_success_age_seconds", "gauge",
				       "Age of the newest successful snapshot when the report was collected.",
				       metrics_ms_as_seconds(r->collected_at_unix_ms > s->last_success_unix_ms
								     ? r->collected_at_unix_ms - s->last_success_unix_ms
								     : 0));
	}
	metrics_single(x, "cassandra_agent_snapshots", "gauge", "Snapshots taken by the agent that are present.",
		       metrics_u64(s->count));
	metrics_single(x, "cassandra_agent_snapshots_bytes", "gauge",
		       "Disk space used by the snapshots taken by the agent.", metrics_u64(s->total_bytes));
}

static void metrics_render_lease(struct metrics_render_ctx *x, const CassandraAgent__V1__HealthReport *r)
{
	const CassandraAgent__V1__LeaseState *l = r->lease;
	const char *phase = l && l->phase && *l->phase ? l->phase : "NONE";

	metrics_family_begin(x, "cassandra_agent_lease_phase", "gauge",
			     "1 for the current phase of the maintenance lease (NONE without lease state).");
	metrics_sample(x, metrics_u64(1), "phase", phase, (const char *)NULL);
	metrics_family_end(x);
	if (l && l->lease_id && *l->lease_id)
		metrics_single(x, "cassandra_agent_lease_epoch", "gauge", "Fencing epoch of the lease held.",
			       metrics_u64(l->epoch));
	if (r->controller && r->controller->address && *r->controller->address)
		metrics_single(x, "cassandra_agent_controller_connected", "gauge",
			       "1 while a session with the controller is established, else 0.",
			       metrics_bool(r->controller->connected));
}

static void metrics_render_cassandra(struct metrics_render_ctx *x, const CassandraAgent__V1__HealthReport *r)
{
	const CassandraAgent__V1__CassandraState *cs = r->cassandra;

	if (!cs)
		return;
	if (cs->unit_active_state && *cs->unit_active_state)
		metrics_single(x, "cassandra_agent_unit_active", "gauge",
			       "1 when the Cassandra systemd unit is active, else 0.",
			       metrics_bool(strcmp(cs->unit_active_state, "active") == 0));
	metrics_single(x, "cassandra_agent_gossip_running", "gauge", "1 when gossip runs (nodetool info), else 0.",
		       metrics_bool(cs->gossip_running));
	metrics_single(x, "cassandra_agent_native_transport_running", "gauge",
		       "1 when the native transport runs (nodetool info), else 0.",
		       metrics_bool(cs->native_transport_running));
	metrics_single(x, "cassandra_agent_cql_probe_ok", "gauge",
		       "1 when the last CQL OPTIONS probe of the native port succeeded, else 0.",
		       metrics_bool(cs->cql_probe_ok));
	if (cs->cql_probe_ok)
		metrics_single(x, "cassandra_agent_cql_probe_latency_seconds", "gauge",
			       "Round trip of the last successful CQL probe.",
			       metrics_f64(cs->cql_probe_latency_ms / 1000.0));
	metrics_single(x, "cassandra_agent_schema_versions", "gauge",
		       "Schema versions in the ring (nodetool describecluster); more than 1 is a disagreement.",
		       metrics_u64(cs->schema_versions));
}

static void metrics_render_config(struct metrics_render_ctx *x, const CassandraAgent__V1__HealthReport *r)
{
	if (!r->config)
		return;
	metrics_single(x, "cassandra_agent_config_drift", "gauge",
		       "1 when cassandra.yaml differs from what the agent last wrote, else 0.",
		       metrics_bool(r->config->drift));
	metrics_single(x, "cassandra_agent_config_restart_pending", "gauge",
		       "1 when written settings wait for a restart, else 0.", metrics_bool(r->config->restart_pending));
}

static void metrics_render_host(struct metrics_render_ctx *x, const CassandraAgent__V1__HealthReport *r)
{
	const CassandraAgent__V1__HostState *h = r->host;

	if (!h)
		return;
	metrics_family_begin(x, "cassandra_agent_disk_free_bytes", "gauge",
			     "Free space of the filesystem of a watched directory.");
	for (size_t i = 0; i < h->n_disks; i++)
		if (h->disks[i])
			metrics_sample(x, metrics_u64(h->disks[i]->free_bytes), "path", metrics_str(h->disks[i]->path),
				       (const char *)NULL);
	metrics_family_end(x);
	metrics_family_begin(x, "cassandra_agent_disk_total_bytes", "gauge",
			     "Size of the filesystem of a watched directory.");
	for (size_t i = 0; i < h->n_disks; i++)
		if (h->disks[i])
			metrics_sample(x, metrics_u64(h->disks[i]->total_bytes), "path", metrics_str(h->disks[i]->path),
				       (const char *)NULL);
	metrics_family_end(x);
}

static void metrics_render_counters(struct metrics_render_ctx *x, const struct metrics_counters *c)
{
	static const struct metrics_counters zero;
	static const char *const status_names[METRICS_COMMAND_STATUSES] = {
		NULL, "accepted", "running", "succeeded", "failed", "rejected",
	};

	if (!c)
		c = &zero;
	metrics_family_begin(x, "cassandra_agent_commands_total", "counter",
			     "Command updates produced (controller and cassandra-agentctl), by status.");
	for (size_t i = 1; i < METRICS_COMMAND_STATUSES; i++)
		metrics_sample(x, metrics_u64(c->commands_total[i]), "status", status_names[i], (const char *)NULL);
	metrics_family_end(x);
	metrics_single(x, "cassandra_agent_nodetool_calls_total", "counter", "nodetool processes started.",
		       metrics_u64(c->nodetool_calls_total));
	metrics_single(x, "cassandra_agent_nodetool_failures_total", "counter",
		       "nodetool calls that failed (exit status, timeout, output cap, spawn error).",
		       metrics_u64(c->nodetool_failures_total));
	if (c->nodetool_calls_total > 0)
		metrics_single(x, "cassandra_agent_nodetool_last_duration_seconds", "gauge",
			       "Wall time of the last finished nodetool call.",
			       metrics_f64(c->nodetool_last_duration_seconds));
	metrics_single(x, "cassandra_agent_controller_reconnects_total", "counter",
		       "Controller sessions re-established after a loss.", metrics_u64(c->controller_reconnects_total));
}

int metrics_render(const CassandraAgent__V1__HealthReport *r, const struct metrics_counters *c, char **out, size_t *len)
{
	struct metrics_render_ctx x = {0};

	if (out)
		*out = NULL;
	if (len)
		*len = 0;
	if (!r || !out || !len)
		return -EINVAL;
	metrics_render_node(&x, r);
	metrics_render_ring(&x, r);
	metrics_render_conditions(&x, r);
	metrics_render_certificates(&x, r);
	metrics_render_snapshots(&x, r);
	metrics_render_lease(&x, r);
	metrics_render_cassandra(&x, r);
	metrics_render_config(&x, r);
	metrics_render_host(&x, r);
	metrics_render_counters(&x, c);
	free(x.samples);
	if (x.out.oom || !x.out.p) {
		free(x.out.p);
		return -ENOMEM;
	}
	*out = x.out.p;
	*len = x.out.len;
	return 0;
}

int metrics_write(const char *dir, const char *text, size_t len, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int n;

	if (err && errlen)
		err[0] = '\0';
	if (!dir || !*dir || (!text && len)) {
		if (err && errlen)
			snprintf(err, errlen, "metrics: no textfile directory given");
		return -EINVAL;
	}
	n = snprintf(path, sizeof path, "%s/%s", dir, METRICS_FILE_NAME);
	if (n < 0 || (size_t)n >= sizeof path) {
		if (err && errlen)
			snprintf(err, errlen, "%s/%s: path too long", dir, METRICS_FILE_NAME);
		return -ENAMETOOLONG;
	}
	return fileio_replace(path, text ? text : "", len, METRICS_FILE_MODE, NULL, 0, err, errlen);
}
