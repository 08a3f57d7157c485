/* health: the HealthReport model, its conditions, events and cached JSON documents (see health.h). */
#include "health.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "pb_json.h"

#define COND_CODE_MAX    32
#define COND_SUBJECT_MAX 160
#define COND_MESSAGE_MAX 320

typedef CassandraAgent__V1__Severity severity_t;
#define SEV_INFO     CASSANDRA_AGENT__V1__SEVERITY__SEVERITY_INFO
#define SEV_WARNING  CASSANDRA_AGENT__V1__SEVERITY__SEVERITY_WARNING
#define SEV_CRITICAL CASSANDRA_AGENT__V1__SEVERITY__SEVERITY_CRITICAL

struct condition {
	char code[COND_CODE_MAX];
	char subject[COND_SUBJECT_MAX];
	char message[COND_MESSAGE_MAX];
	severity_t severity;
	int64_t since_unix_ms;
	bool seen; /* asserted by the current evaluation */
};

struct event {
	int64_t at_unix_ms;
	char kind[32];
	char subject[COND_SUBJECT_MAX];
	char message[COND_MESSAGE_MAX];
};

struct disk {
	char *path;
	int err;
	uint64_t total_bytes, free_bytes;
	bool known;
};

struct nodetool_failure {
	char subcommand[32];
	char message[COND_MESSAGE_MAX];
};

struct health {
	/* identity and configuration */
	char *datacenter, *rack, *unit, *native_address;
	char hostname[256];
	struct disk *disks;
	size_t n_disks;

	/* probe results */
	bool unit_known;
	int unit_err;
	char unit_errmsg[COND_MESSAGE_MAX];
	char unit_state[32];
	bool cql_known;
	int cql_err;
	char cql_errmsg[COND_MESSAGE_MAX];
	double cql_latency_ms;
	struct host_sample host;
	struct nt_status ring;
	bool ring_known;
	struct nt_info info;
	bool info_known;
	struct nt_version version;
	char cluster_name[128];
	uint32_t schema_versions;
	struct nodetool_failure nodetool_failures[8];
	size_t n_nodetool_failures;

	struct health_controller controller;
	struct health_snapshots snapshots;
	struct health_lease lease;
	struct health_config config;
	bool config_known;
	struct health_cert certs[HEALTH_CERTS_MAX];
	size_t n_certs;
	char state_dir[256];
	char state_dir_error[COND_MESSAGE_MAX];
	struct {
		char path[256];
		char error[COND_MESSAGE_MAX]; /* "" once written again */
	} state_writes[HEALTH_STATE_FILES_MAX];
	size_t n_state_writes;

	/* derived */
	struct condition *conds;
	size_t n_conds, cap_conds;
	struct event events[HEALTH_EVENTS_MAX];
	size_t events_head, n_events;

	uint64_t generation;
	struct {
		char *text;
		size_t len;
		uint64_t generation;
		bool valid;
	} cache[HEALTH_DOC_COUNT];
	char status_line[256];

	health_change_cb change_cb;
	void *change_data;
};

static int64_t now_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

static void disks_free(struct health *h)
{
	for (size_t i = 0; i < h->n_disks; i++)
		free(h->disks[i].path);
	free(h->disks);
	h->disks = NULL;
	h->n_disks = 0;
}

int health_apply_config(struct health *h, const struct agent_config *cfg)
{
	char *dc = strdup(cfg->node.datacenter), *rack = strdup(cfg->node.rack);
	char *unit = strdup(cfg->cassandra.unit), *addr = strdup(cfg->cassandra.native_address);
	struct disk *disks = calloc(cfg->cassandra.data_directories.n + 1, sizeof *disks);
	size_t n = 0;

	if (!dc || !rack || !unit || !addr || !disks)
		goto fail;
	for (; n < cfg->cassandra.data_directories.n; n++) {
		disks[n].path = strdup(cfg->cassandra.data_directories.v[n]);
		if (!disks[n].path)
			goto fail;
		/* Keep what we already measured for a directory that stays. */
		for (size_t j = 0; j < h->n_disks; j++) {
			if (strcmp(h->disks[j].path, disks[n].path) == 0) {
				char *p = disks[n].path;

				disks[n] = h->disks[j];
				disks[n].path = p;
			}
		}
	}
	free(h->datacenter);
	free(h->rack);
	free(h->unit);
	free(h->native_address);
	disks_free(h);
	h->datacenter = dc;
	h->rack = rack;
	h->unit = unit;
	h->native_address = addr;
	h->disks = disks;
	h->n_disks = n;
	h->generation++;
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		free(disks[i].path);
	free(disks);
	free(dc);
	free(rack);
	free(unit);
	free(addr);
	return -ENOMEM;
}

int health_new(const struct agent_config *cfg, struct health **out)
{
	struct health *h = calloc(1, sizeof *h);

	if (!h)
		return -ENOMEM;
	if (health_apply_config(h, cfg) < 0) {
		free(h);
		return -ENOMEM;
	}
	if (gethostname(h->hostname, sizeof h->hostname - 1) < 0)
		copy_str(h->hostname, sizeof h->hostname, "");
	h->info.percent_repaired = NAN;
	*out = h;
	return 0;
}

void health_free(struct health *h)
{
	if (!h)
		return;
	for (int i = 0; i < HEALTH_DOC_COUNT; i++)
		free(h->cache[i].text);
	nt_status_free(&h->ring);
	disks_free(h);
	free(h->conds);
	free(h->datacenter);
	free(h->rack);
	free(h->unit);
	free(h->native_address);
	free(h);
}

void health_set_change_cb(struct health *h, health_change_cb cb, void *data)
{
	h->change_cb = cb;
	h->change_data = data;
}

void health_event(struct health *h, const char *kind, const char *subject, const char *fmt, ...)
{
	struct event *e;
	va_list ap;
	size_t idx = (h->events_head + h->n_events) % HEALTH_EVENTS_MAX;

	if (h->n_events == HEALTH_EVENTS_MAX) {
		idx = h->events_head;
		h->events_head = (h->events_head + 1) % HEALTH_EVENTS_MAX;
	} else {
		h->n_events++;
	}
	e = &h->events[idx];
	e->at_unix_ms = now_unix_ms();
	copy_str(e->kind, sizeof e->kind, kind);
	copy_str(e->subject, sizeof e->subject, subject);
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	log_notice("health", "%s %s: %s", e->kind, e->subject, e->message);
	h->generation++;
}

/* Marks a condition as true now; raises it (with an event) when it was not. */
static bool cond_assert(struct health *h, const char *code, severity_t sev, const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static bool cond_assert(struct health *h, const char *code, severity_t sev, const char *subject, const char *fmt, ...)
{
	struct condition *c = NULL;
	va_list ap;
	bool raised = false;

	for (size_t i = 0; i < h->n_conds; i++) {
		if (strcmp(h->conds[i].code, code) == 0 && strcmp(h->conds[i].subject, subject) == 0) {
			c = &h->conds[i];
			break;
		}
	}
	if (!c) {
		if (h->n_conds == h->cap_conds) {
			size_t cap = h->cap_conds ? h->cap_conds * 2 : 16;
			struct condition *p = realloc(h->conds, cap * sizeof *p);

			if (!p)
				return false; /* out of memory: the condition shows next time */
			h->conds = p;
			h->cap_conds = cap;
		}
		c = &h->conds[h->n_conds++];
		memset(c, 0, sizeof *c);
		copy_str(c->code, sizeof c->code, code);
		copy_str(c->subject, sizeof c->subject, subject);
		c->since_unix_ms = now_unix_ms();
		raised = true;
	}
	c->severity = sev;
	c->seen = true;
	va_start(ap, fmt);
	vsnprintf(c->message, sizeof c->message, fmt, ap);
	va_end(ap);
	if (raised)
		health_event(h, "condition_raised", c->subject, "%s: %s", c->code, c->message);
	return raised;
}

static const struct nt_peer *self_peer(const struct health *h)
{
	for (size_t i = 0; i < h->ring.n_peers; i++) {
		const struct nt_peer *p = &h->ring.peers[i];

		if (h->info_known && h->info.host_id[0] && strcmp(p->host_id, h->info.host_id) == 0)
			return p;
	}
	for (size_t i = 0; i < h->ring.n_peers; i++) {
		const struct nt_peer *p = &h->ring.peers[i];
		size_t n = strlen(h->native_address);

		if (strncmp(p->address, h->native_address, n) == 0 && (p->address[n] == '\0' || p->address[n] == ':'))
			return p;
	}
	return NULL;
}

/* Recomputes every condition from the probe results; returns true when any was raised
 * or cleared. */
static bool health_evaluate(struct health *h)
{
	bool changed = false;
	const struct nt_peer *self = self_peer(h);

	for (size_t i = 0; i < h->n_conds; i++)
		h->conds[i].seen = false;

	if (h->unit_known && h->unit_err)
		changed |= cond_assert(h, "SYSTEMD_UNREACHABLE", SEV_WARNING, h->unit,
				       "cannot read the unit state over D-Bus: %s", h->unit_errmsg);
	else if (h->unit_known && strcmp(h->unit_state, "active") != 0)
		changed |= cond_assert(h, "UNIT_INACTIVE", SEV_CRITICAL, h->unit, "unit is %s", h->unit_state);
	if (h->cql_known && h->cql_err)
		changed |= cond_assert(h, "CQL_PROBE_FAILED", SEV_CRITICAL, h->native_address,
				       "CQL OPTIONS probe failed: %s", h->cql_errmsg);
	for (size_t i = 0; i < h->ring.n_peers; i++) {
		const struct nt_peer *p = &h->ring.peers[i];

		if (p != self && p->status == 'D')
			changed |= cond_assert(h, "PEER_DOWN", SEV_WARNING, p->address, "peer in %s/%s is down",
					       p->datacenter, p->rack);
	}
	for (size_t i = 0; i < h->n_disks; i++) {
		const struct disk *d = &h->disks[i];

		if (!d->known)
			continue;
		if (d->err)
			changed |= cond_assert(h, "DISK_LOW", SEV_WARNING, d->path, "cannot read free space: %s",
					       strerror(-d->err));
		else if (d->total_bytes &&
			 (double)d->free_bytes * 100.0 / (double)d->total_bytes < HEALTH_DISK_LOW_PERCENT)
			changed |= cond_assert(h, "DISK_LOW", SEV_WARNING, d->path, "%.1f%% free (below %.0f%%)",
					       (double)d->free_bytes * 100.0 / (double)d->total_bytes,
					       HEALTH_DISK_LOW_PERCENT);
	}
	for (size_t i = 0; i < h->n_nodetool_failures; i++)
		changed |= cond_assert(h, "NODETOOL_FAILED", SEV_WARNING, h->nodetool_failures[i].subcommand, "%s",
				       h->nodetool_failures[i].message);

	if (strcmp(h->snapshots.last_result, "failed") == 0)
		changed |= cond_assert(h, "SNAPSHOT_FAILED", SEV_WARNING, h->snapshots.last_tag, "%s",
				       h->snapshots.last_reason);
	if (h->snapshots.clear_failed[0])
		changed |= cond_assert(h, "SNAPSHOT_FAILED", SEV_WARNING, "clearsnapshot", "%s",
				       h->snapshots.clear_failed);

	for (size_t i = 0; i < h->n_certs; i++) {
		const struct health_cert *c = &h->certs[i];
		char subject[COND_SUBJECT_MAX];

		if (c->days_left > HEALTH_CERT_WARN_DAYS)
			continue;
		snprintf(subject, sizeof subject, "%s#%s", c->path, c->serial);
		changed |= cond_assert(h, "CERT_EXPIRING",
				       c->days_left <= HEALTH_CERT_CRITICAL_DAYS ? SEV_CRITICAL : SEV_WARNING, subject,
				       "%s %s (%s)", c->subject, c->days_left < 0 ? "has expired" : "expires soon",
				       c->days_left < 0 ? "expired" : "days left");
	}
	if (h->state_dir_error[0])
		changed |=
			cond_assert(h, "STATE_DIRECTORY_FAILED", SEV_CRITICAL, h->state_dir, "%s", h->state_dir_error);
	for (size_t i = 0; i < h->n_state_writes; i++)
		if (h->state_writes[i].error[0])
			changed |= cond_assert(h, "STATE_DIRECTORY_FAILED", SEV_CRITICAL, h->state_writes[i].path,
					       "cannot write: %s", h->state_writes[i].error);
	if (h->config.drift)
		changed |=
			cond_assert(h, "CONFIG_DRIFT", SEV_WARNING, "cassandra.yaml",
				    "cassandra.yaml was changed outside the agent (sha256 %.12s...)", h->config.sha256);
	if (h->config.note[0])
		changed |= cond_assert(h, "RACKDC_REFUSED", SEV_WARNING, "cassandra-rackdc.properties", "%s",
				       h->config.note);
	if (h->lease.stuck)
		changed |= cond_assert(h, "MAINTENANCE_STUCK", SEV_CRITICAL, h->lease.lease_id, "%s", h->lease.detail);

	/* Clear what no longer holds. */
	for (size_t i = 0; i < h->n_conds;) {
		struct condition *c = &h->conds[i];

		if (c->seen) {
			i++;
			continue;
		}
		health_event(h, "condition_cleared", c->subject, "%s cleared", c->code);
		memmove(c, c + 1, (h->n_conds - i - 1) * sizeof *c);
		h->n_conds--;
		changed = true;
	}
	return changed;
}

/* Called at the end of every update. */
static void health_updated(struct health *h, bool state_changed)
{
	h->generation++;
	if (health_evaluate(h))
		state_changed = true;
	if (state_changed && h->change_cb)
		h->change_cb(h->change_data);
}

void health_update_unit(struct health *h, int err, const char *errmsg, const char *active_state)
{
	bool changed = !h->unit_known || h->unit_err != err ||
		       (!err && strcmp(h->unit_state, active_state ? active_state : "") != 0);

	if (changed && !err && h->unit_known)
		health_event(h, "unit", h->unit, "%s -> %s", h->unit_state[0] ? h->unit_state : "unknown",
			     active_state);
	h->unit_known = true;
	h->unit_err = err;
	copy_str(h->unit_errmsg, sizeof h->unit_errmsg, err ? errmsg : "");
	if (!err)
		copy_str(h->unit_state, sizeof h->unit_state, active_state);
	health_updated(h, changed);
}

void health_update_cql(struct health *h, int err, const char *errmsg, double latency_ms)
{
	bool changed = !h->cql_known || (h->cql_err != 0) != (err != 0);

	h->cql_known = true;
	h->cql_err = err;
	copy_str(h->cql_errmsg, sizeof h->cql_errmsg, err ? errmsg : "");
	h->cql_latency_ms = err ? 0 : latency_ms;
	health_updated(h, changed);
}

void health_update_host(struct health *h, const struct host_sample *s)
{
	h->host = *s;
	health_updated(h, false);
}

void health_update_disk(struct health *h, const char *path, int err, uint64_t total_bytes, uint64_t free_bytes)
{
	for (size_t i = 0; i < h->n_disks; i++) {
		struct disk *d = &h->disks[i];

		if (strcmp(d->path, path) != 0)
			continue;
		d->known = true;
		d->err = err;
		d->total_bytes = err ? 0 : total_bytes;
		d->free_bytes = err ? 0 : free_bytes;
	}
	health_updated(h, false);
}

static const struct nt_peer *find_peer(const struct nt_status *st, const char *address)
{
	for (size_t i = 0; i < st->n_peers; i++)
		if (strcmp(st->peers[i].address, address) == 0)
			return &st->peers[i];
	return NULL;
}

void health_update_status(struct health *h, struct nt_status *st)
{
	bool changed = !h->ring_known || st->n_peers != h->ring.n_peers;

	for (size_t i = 0; i < st->n_peers; i++) {
		const struct nt_peer *p = &st->peers[i];
		const struct nt_peer *old = h->ring_known ? find_peer(&h->ring, p->address) : NULL;

		if (old && (old->status != p->status || old->state != p->state)) {
			health_event(h,
				     p->status == 'U' && old->status != 'U'   ? "peer_up"
				     : p->status != 'U' && old->status == 'U' ? "peer_down"
									      : "peer_state",
				     p->address, "%c%c -> %c%c", old->status, old->state, p->status, p->state);
			changed = true;
		} else if (!old && h->ring_known) {
			health_event(h, "peer_joined", p->address, "new peer %c%c in %s/%s", p->status, p->state,
				     p->datacenter, p->rack);
			changed = true;
		}
	}
	nt_status_free(&h->ring);
	h->ring = *st;
	memset(st, 0, sizeof *st);
	h->ring_known = true;
	health_updated(h, changed);
}

void health_update_info(struct health *h, const struct nt_info *info)
{
	bool changed = !h->info_known || h->info.gossip_active != info->gossip_active ||
		       h->info.native_transport_active != info->native_transport_active;

	h->info = *info;
	h->info_known = true;
	health_updated(h, changed);
}

void health_update_version(struct health *h, const struct nt_version *v)
{
	bool changed = strcmp(h->version.release_version, v->release_version) != 0;

	if (changed && h->version.release_version[0])
		health_event(h, "cassandra_version", h->unit, "%s -> %s", h->version.release_version,
			     v->release_version);
	h->version = *v;
	health_updated(h, changed);
}

void health_update_describecluster(struct health *h, const struct nt_describecluster *dc)
{
	/* The first cluster name, or a new one, is node identity the controller must see at once. */
	bool changed = h->schema_versions != dc->schema_versions || strcmp(h->cluster_name, dc->name) != 0;

	copy_str(h->cluster_name, sizeof h->cluster_name, dc->name);
	h->schema_versions = dc->schema_versions;
	health_updated(h, changed);
}

void health_update_nodetool(struct health *h, const char *subcommand, int err, const char *errmsg)
{
	size_t i;
	bool changed = false;

	for (i = 0; i < h->n_nodetool_failures; i++)
		if (strcmp(h->nodetool_failures[i].subcommand, subcommand) == 0)
			break;
	if (err) {
		if (i == h->n_nodetool_failures) {
			if (i == sizeof h->nodetool_failures / sizeof h->nodetool_failures[0])
				i--; /* more distinct failing subcommands than slots: reuse the last */
			else
				h->n_nodetool_failures++;
		}
		copy_str(h->nodetool_failures[i].subcommand, sizeof h->nodetool_failures[i].subcommand, subcommand);
		snprintf(h->nodetool_failures[i].message, sizeof h->nodetool_failures[i].message, "nodetool %s: %s",
			 subcommand, errmsg);
	} else if (i < h->n_nodetool_failures) {
		memmove(&h->nodetool_failures[i], &h->nodetool_failures[i + 1],
			(h->n_nodetool_failures - i - 1) * sizeof h->nodetool_failures[0]);
		h->n_nodetool_failures--;
		changed = true;
	}
	health_updated(h, changed);
}

void health_update_controller(struct health *h, const struct health_controller *c)
{
	bool changed = h->controller.connected != c->connected;

	if (changed)
		health_event(h, c->connected ? "controller_connected" : "controller_disconnected", c->address, "%s",
			     c->connected ? "session established" : c->last_error);
	h->controller = *c;
	/* Only a connect or disconnect is a state change worth an immediate report. */
	h->generation++;
	(void)changed;
}

void health_update_state_write(struct health *h, const char *path, int err, const char *message)
{
	size_t i;

	if (!err) {
		/* The directory takes writes again: what failed before is no longer its state (the
		 * jobs keep their own conditions, e.g. SNAPSHOT_FAILED, until they succeed). */
		if (!h->n_state_writes)
			return;
		h->n_state_writes = 0;
		health_updated(h, true);
		return;
	}
	for (i = 0; i < h->n_state_writes; i++)
		if (strcmp(h->state_writes[i].path, path) == 0)
			break;
	if (i == h->n_state_writes) {
		if (i == HEALTH_STATE_FILES_MAX)
			return;
		h->n_state_writes++;
		copy_str(h->state_writes[i].path, sizeof h->state_writes[i].path, path);
		h->state_writes[i].error[0] = '\0';
	}
	if (!message || !message[0])
		message = strerror(-err);
	if (strcmp(h->state_writes[i].error, message) == 0)
		return;
	copy_str(h->state_writes[i].error, sizeof h->state_writes[i].error, message);
	health_updated(h, true);
}

void health_update_state_directory(struct health *h, const char *path, const char *error)
{
	if (strcmp(h->state_dir, path) == 0 && strcmp(h->state_dir_error, error) == 0)
		return;
	copy_str(h->state_dir, sizeof h->state_dir, path);
	copy_str(h->state_dir_error, sizeof h->state_dir_error, error);
	health_updated(h, true);
}

void health_update_certificates(struct health *h, const struct health_cert *certs, size_t n)
{
	if (n > HEALTH_CERTS_MAX)
		n = HEALTH_CERTS_MAX;
	memcpy(h->certs, certs, n * sizeof *certs);
	h->n_certs = n;
	health_updated(h, false);
}

void health_update_config(struct health *h, const struct health_config *c)
{
	bool changed =
		!h->config_known || h->config.drift != c->drift || h->config.restart_pending != c->restart_pending;

	h->config = *c;
	h->config_known = true;
	health_updated(h, changed);
}

void health_update_lease(struct health *h, const struct health_lease *l)
{
	const char *old = h->lease.phase[0] ? h->lease.phase : "IDLE";
	bool changed = strcmp(old, l->phase) != 0 || h->lease.n_blockers != l->n_blockers;

	if (strcmp(old, l->phase) != 0)
		health_event(h, "lease", l->lease_id[0] ? l->lease_id : "-", "%s -> %s%s%s", old, l->phase,
			     l->detail[0] ? ": " : "", l->detail);
	h->lease = *l;
	health_updated(h, changed);
}

bool health_maintenance_holds(const struct health *h)
{
	return h->lease.phase[0] && strcmp(h->lease.phase, "IDLE") != 0 && strcmp(h->lease.phase, "BLOCKED") != 0;
}

void health_update_snapshots(struct health *h, const struct health_snapshots *s)
{
	h->snapshots = *s;
	health_updated(h, false);
}

bool health_cassandra_known(const struct health *h)
{
	bool info_failed = false;

	for (size_t i = 0; i < h->n_nodetool_failures; i++)
		info_failed |= strcmp(h->nodetool_failures[i].subcommand, "info") == 0;
	return h->unit_known && (h->info_known || info_failed);
}

bool health_cassandra_running(const struct health *h)
{
	return h->unit_known && !h->unit_err && strcmp(h->unit_state, "active") == 0 && h->info_known &&
	       (h->info.gossip_active || h->info.native_transport_active);
}

size_t health_condition_count(const struct health *h)
{
	return h->n_conds;
}

bool health_ring_has_datacenter(const struct health *h, const char *dc)
{
	for (size_t i = 0; i < h->ring.n_peers; i++)
		if (strcmp(h->ring.peers[i].datacenter, dc) == 0)
			return true;
	return false;
}

/* ---- building the protobuf report -------------------------------------------------- */

/* A bump allocator for one report: every block is freed together. */
struct arena {
	struct arena_block *head;
	bool failed;
};
struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	max_align_t data[];
};

static void *arena_alloc(struct arena *a, size_t size)
{
	struct arena_block *b = a->head;

	size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (!b || b->cap - b->used < size) {
		size_t cap = size > 65536 ? size : 65536;

		b = malloc(sizeof *b + cap);
		if (!b) {
			a->failed = true;
			return NULL;
		}
		b->next = a->head;
		b->used = 0;
		b->cap = cap;
		a->head = b;
	}
	void *p = (char *)b->data + b->used;

	b->used += size;
	memset(p, 0, size);
	return p;
}

static void arena_free(struct arena *a)
{
	while (a->head) {
		struct arena_block *n = a->head->next;

		free(a->head);
		a->head = n;
	}
}

static void *arena_dup(struct arena *a, const void *init, size_t size)
{
	void *p = arena_alloc(a, size);

	if (p)
		memcpy(p, init, size);
	return p;
}

/* A new message of `type` in the arena, set to its protobuf-c INIT value. */
// NOLINTNEXTLINE(bugprone-macro-parentheses): init is the braced list of a compound literal
#define ARENA_NEW(a, type, init) ((type *)arena_dup((a), &(type)init, sizeof(type)))

static CassandraAgent__V1__PeerStatus peer_status(char c)
{
	return c == 'U'   ? CASSANDRA_AGENT__V1__PEER_STATUS__PEER_STATUS_UP
	       : c == 'D' ? CASSANDRA_AGENT__V1__PEER_STATUS__PEER_STATUS_DOWN
			  : CASSANDRA_AGENT__V1__PEER_STATUS__PEER_STATUS_UNKNOWN;
}

static CassandraAgent__V1__PeerState peer_state(char c)
{
	switch (c) {
	case 'N': return CASSANDRA_AGENT__V1__PEER_STATE__PEER_STATE_NORMAL;
	case 'L': return CASSANDRA_AGENT__V1__PEER_STATE__PEER_STATE_LEAVING;
	case 'J': return CASSANDRA_AGENT__V1__PEER_STATE__PEER_STATE_JOINING;
	case 'M': return CASSANDRA_AGENT__V1__PEER_STATE__PEER_STATE_MOVING;
	default: return CASSANDRA_AGENT__V1__PEER_STATE__PEER_STATE_UNSPECIFIED;
	}
}

static CassandraAgent__V1__Peer **build_ring(struct health *h, struct arena *a)
{
	CassandraAgent__V1__Peer **ring = arena_alloc(a, (h->ring.n_peers + 1) * sizeof *ring);

	if (!ring)
		return NULL;
	for (size_t i = 0; i < h->ring.n_peers; i++) {
		struct nt_peer *p = &h->ring.peers[i];
		CassandraAgent__V1__Peer *m = ARENA_NEW(a, CassandraAgent__V1__Peer, CASSANDRA_AGENT__V1__PEER__INIT);

		if (!m)
			return NULL;
		m->address = p->address;
		m->datacenter = p->datacenter;
		m->rack = p->rack;
		m->status = peer_status(p->status);
		m->state = peer_state(p->state);
		m->load_bytes = p->load_bytes;
		m->owns_percent = p->owns_percent;
		m->host_id = p->host_id;
		m->tokens = p->tokens;
		ring[i] = m;
	}
	return ring;
}

void health_node_identity(struct health *h, CassandraAgent__V1__NodeIdentity *node)
{
	const struct nt_peer *self = self_peer(h);

	node->host_id = h->info.host_id;
	node->address = self ? (char *)self->address : h->native_address;
	node->datacenter = h->datacenter;
	node->rack = h->rack;
	node->cluster_name = h->cluster_name;
	node->cassandra_version = h->version.release_version;
	node->hostname = h->hostname;
}

static CassandraAgent__V1__HealthReport *build_report(struct health *h, struct arena *a)
{
	CassandraAgent__V1__HealthReport *r =
		ARENA_NEW(a, CassandraAgent__V1__HealthReport, CASSANDRA_AGENT__V1__HEALTH_REPORT__INIT);
	CassandraAgent__V1__NodeIdentity *node =
		ARENA_NEW(a, CassandraAgent__V1__NodeIdentity, CASSANDRA_AGENT__V1__NODE_IDENTITY__INIT);
	CassandraAgent__V1__CassandraState *cs =
		ARENA_NEW(a, CassandraAgent__V1__CassandraState, CASSANDRA_AGENT__V1__CASSANDRA_STATE__INIT);
	CassandraAgent__V1__HostState *hs =
		ARENA_NEW(a, CassandraAgent__V1__HostState, CASSANDRA_AGENT__V1__HOST_STATE__INIT);
	CassandraAgent__V1__ControllerState *ctl =
		ARENA_NEW(a, CassandraAgent__V1__ControllerState, CASSANDRA_AGENT__V1__CONTROLLER_STATE__INIT);

	if (!r || !node || !cs || !hs || !ctl)
		return NULL;
	ctl->connected = h->controller.connected;
	ctl->connected_since_unix_ms = h->controller.connected_since_unix_ms;
	ctl->last_report_unix_ms = h->controller.last_report_unix_ms;
	ctl->reconnects = h->controller.reconnects;
	ctl->last_error = h->controller.last_error;
	ctl->address = h->controller.address;
	r->controller = ctl;
	r->certificates = arena_alloc(a, (h->n_certs + 1) * sizeof *r->certificates);
	if (!r->certificates)
		return NULL;
	for (size_t i = 0; i < h->n_certs; i++) {
		CassandraAgent__V1__CertificateState *c = ARENA_NEW(a, CassandraAgent__V1__CertificateState,
								    CASSANDRA_AGENT__V1__CERTIFICATE_STATE__INIT);

		if (!c)
			return NULL;
		c->path = h->certs[i].path;
		c->subject = h->certs[i].subject;
		c->issuer = h->certs[i].issuer;
		c->serial = h->certs[i].serial;
		c->not_after_unix = h->certs[i].not_after_unix;
		c->days_left = h->certs[i].days_left;
		r->certificates[r->n_certificates++] = c;
	}
	r->config = ARENA_NEW(a, CassandraAgent__V1__ConfigState, CASSANDRA_AGENT__V1__CONFIG_STATE__INIT);
	if (!r->config)
		return NULL;
	r->config->sha256 = h->config.sha256;
	r->config->drift = h->config.drift;
	r->config->restart_pending = h->config.restart_pending;
	r->config->pending_settings = arena_alloc(a, (h->config.n_pending_settings + 1) * sizeof(char *));
	r->config->seeds = arena_alloc(a, (h->config.n_seeds + 1) * sizeof(char *));
	if (!r->config->pending_settings || !r->config->seeds)
		return NULL;
	for (size_t i = 0; i < h->config.n_pending_settings; i++)
		r->config->pending_settings[r->config->n_pending_settings++] = h->config.pending_settings[i];
	for (size_t i = 0; i < h->config.n_seeds; i++)
		r->config->seeds[r->config->n_seeds++] = h->config.seeds[i];
	r->lease = ARENA_NEW(a, CassandraAgent__V1__LeaseState, CASSANDRA_AGENT__V1__LEASE_STATE__INIT);
	if (!r->lease)
		return NULL;
	r->lease->lease_id = h->lease.lease_id;
	r->lease->phase = h->lease.phase[0] ? h->lease.phase : (char *)"IDLE";
	r->lease->epoch = h->lease.epoch;
	r->lease->kind = h->lease.kind;
	r->lease->n_blockers = h->lease.n_blockers;
	r->lease->blockers = arena_alloc(a, (h->lease.n_blockers + 1) * sizeof(char *));
	if (!r->lease->blockers)
		return NULL;
	for (size_t i = 0; i < h->lease.n_blockers; i++)
		r->lease->blockers[i] = h->lease.blockers[i];
	r->snapshots = ARENA_NEW(a, CassandraAgent__V1__SnapshotState, CASSANDRA_AGENT__V1__SNAPSHOT_STATE__INIT);
	if (!r->snapshots)
		return NULL;
	r->snapshots->last_tag = h->snapshots.last_tag;
	r->snapshots->last_attempt_unix_ms = h->snapshots.last_attempt_unix_ms;
	r->snapshots->last_result = h->snapshots.last_result;
	r->snapshots->last_reason = h->snapshots.last_reason;
	r->snapshots->last_success_unix_ms = h->snapshots.last_success_unix_ms;
	r->snapshots->count = h->snapshots.count;
	r->snapshots->total_bytes = h->snapshots.total_bytes;
	r->snapshots->next_slot_unix_ms = h->snapshots.next_slot_unix_ms;
	health_node_identity(h, node);
	r->node = node;
	r->collected_at_unix_ms = now_unix_ms();
	r->agent_version = (char *)AGENT_VERSION;

	cs->version = h->version.release_version;
	cs->unit_active_state = h->unit_err ? (char *)"unknown" : h->unit_state;
	cs->gossip_running = h->info.gossip_active;
	cs->native_transport_running = h->info.native_transport_active;
	cs->cql_probe_ok = h->cql_known && !h->cql_err;
	cs->cql_probe_latency_ms = h->cql_latency_ms;
	cs->schema_versions = h->schema_versions;
	r->cassandra = cs;

	r->n_ring = h->ring.n_peers;
	r->ring = build_ring(h, a);
	if (!r->ring)
		return NULL;

	hs->cpu_percent = h->host.cpu_percent;
	hs->load1 = h->host.load1;
	hs->memory_total_bytes = h->host.memory_total_bytes;
	hs->memory_available_bytes = h->host.memory_available_bytes;
	hs->disks = arena_alloc(a, (h->n_disks + 1) * sizeof *hs->disks);
	if (!hs->disks)
		return NULL;
	for (size_t i = 0; i < h->n_disks; i++) {
		CassandraAgent__V1__DiskState *d =
			ARENA_NEW(a, CassandraAgent__V1__DiskState, CASSANDRA_AGENT__V1__DISK_STATE__INIT);

		if (!d)
			return NULL;
		d->path = h->disks[i].path;
		d->total_bytes = h->disks[i].total_bytes;
		d->free_bytes = h->disks[i].free_bytes;
		hs->disks[hs->n_disks++] = d;
	}
	r->host = hs;

	r->conditions = arena_alloc(a, (h->n_conds + 1) * sizeof *r->conditions);
	if (!r->conditions)
		return NULL;
	for (size_t i = 0; i < h->n_conds; i++) {
		CassandraAgent__V1__Condition *c =
			ARENA_NEW(a, CassandraAgent__V1__Condition, CASSANDRA_AGENT__V1__CONDITION__INIT);

		if (!c)
			return NULL;
		c->code = h->conds[i].code;
		c->severity = h->conds[i].severity;
		c->subject = h->conds[i].subject;
		c->message = h->conds[i].message;
		c->since_unix_ms = h->conds[i].since_unix_ms;
		r->conditions[r->n_conditions++] = c;
	}
	return r;
}

int health_with_report(struct health *h, void (*fn)(void *data, const CassandraAgent__V1__HealthReport *r), void *data)
{
	struct arena a = {0};
	CassandraAgent__V1__HealthReport *r = build_report(h, &a);

	if (!r || a.failed) {
		arena_free(&a);
		return -ENOMEM;
	}
	fn(data, r);
	arena_free(&a);
	return 0;
}

/* ---- JSON documents ---------------------------------------------------------------- */

static json_t *doc_status(struct health *h)
{
	struct arena a = {0};
	CassandraAgent__V1__HealthReport *r = build_report(h, &a);
	json_t *j = r && !a.failed ? pb_json_from_message(&r->base) : NULL;

	arena_free(&a);
	return j;
}

static json_t *doc_ring(struct health *h)
{
	struct arena a = {0};
	CassandraAgent__V1__Peer **ring = build_ring(h, &a);
	json_t *arr = json_array(), *j = NULL;

	if (!ring || !arr || a.failed)
		goto out;
	for (size_t i = 0; i < h->ring.n_peers; i++)
		if (json_array_append_new(arr, pb_json_from_message(&ring[i]->base)) < 0)
			goto out;
	j = json_pack("{s:O}", "ring", arr);
out:
	json_decref(arr);
	arena_free(&a);
	return j;
}

static json_t *doc_events(struct health *h)
{
	json_t *arr = json_array();

	if (!arr)
		return NULL;
	for (size_t i = 0; i < h->n_events; i++) {
		const struct event *e = &h->events[(h->events_head + i) % HEALTH_EVENTS_MAX];

		if (json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:s}", "at_unix_ms", (json_int_t)e->at_unix_ms,
							 "kind", e->kind, "subject", e->subject, "message",
							 e->message)) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return json_pack("{s:o}", "events", arr);
}

const char *health_json(struct health *h, enum health_doc doc, size_t *len)
{
	json_t *j = NULL;

	if (h->cache[doc].valid && h->cache[doc].generation == h->generation) {
		*len = h->cache[doc].len;
		return h->cache[doc].text;
	}
	switch (doc) {
	case HEALTH_DOC_STATUS: j = doc_status(h); break;
	case HEALTH_DOC_RING: j = doc_ring(h); break;
	case HEALTH_DOC_VERSION:
		j = json_pack("{s:s,s:s}", "agent_version", AGENT_VERSION, "cassandra_version",
			      h->version.release_version);
		break;
	case HEALTH_DOC_EVENTS: j = doc_events(h); break;
	default: return NULL;
	}
	if (!j)
		return NULL;
	char *text = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);

	json_decref(j);
	if (!text)
		return NULL;
	free(h->cache[doc].text);
	h->cache[doc].text = text;
	h->cache[doc].len = strlen(text);
	h->cache[doc].generation = h->generation;
	h->cache[doc].valid = true;
	*len = h->cache[doc].len;
	return text;
}

const char *health_status_line(struct health *h)
{
	size_t up = 0;
	const struct nt_peer *self = self_peer(h);

	for (size_t i = 0; i < h->ring.n_peers; i++)
		up += h->ring.peers[i].status == 'U';
	snprintf(h->status_line, sizeof h->status_line, "%s%c%c, unit %s, ring %zu/%zu up, %zu condition%s",
		 self ? "" : "self ", self ? self->status : '?', self ? self->state : '?',
		 h->unit_known ? (h->unit_err ? "unknown" : h->unit_state) : "unknown", up, h->ring.n_peers, h->n_conds,
		 h->n_conds == 1 ? "" : "s");
	return h->status_line;
}
