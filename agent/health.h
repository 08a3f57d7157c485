/* health: the node's HealthReport model; probes write it, the status socket and channel read it. */
#ifndef CA_HEALTH_H
#define CA_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cassandra_agent/v1/agent.pb-c.h"
#include "config.h"
#include "host.h"
#include "nodetool_parse.h"

#define HEALTH_EVENTS_MAX       200  /* events kept for `cassandra-agentctl events` */
#define HEALTH_DISK_LOW_PERCENT 15.0 /* DISK_LOW below this share of free space */

struct health;

/* Documents the status socket serves, each cached until the model changes. */
enum health_doc {
	HEALTH_DOC_STATUS,  /* the HealthReport */
	HEALTH_DOC_RING,    /* {"ring": [Peer...]} */
	HEALTH_DOC_VERSION, /* {"agent_version", "cassandra_version"} */
	HEALTH_DOC_EVENTS,  /* {"events": [{"at_unix_ms","kind","subject","message"}]} */
	HEALTH_DOC_COUNT,
};

/* Called after an update that changed the state (a condition raised or cleared, a peer
 * up or down, the unit state): the channel reports at once, systemd gets a new STATUS=. */
typedef void (*health_change_cb)(void *data);

/* Creates the model for `cfg` (copied what it needs). Returns 0 or -ENOMEM. */
int health_new(const struct agent_config *cfg, struct health **out);
void health_free(struct health *h);
void health_set_change_cb(struct health *h, health_change_cb cb, void *data);
/* Takes the node identity and data directories of a reloaded config. -ENOMEM. */
int health_apply_config(struct health *h, const struct agent_config *cfg);

/* Probe results. `err` is 0 or a negative errno with `errmsg` saying why. */
void health_update_unit(struct health *h, int err, const char *errmsg, const char *active_state);
void health_update_cql(struct health *h, int err, const char *errmsg, double latency_ms);
void health_update_host(struct health *h, const struct host_sample *s);
void health_update_disk(struct health *h, const char *path, int err, uint64_t total_bytes, uint64_t free_bytes);
/* Takes ownership of st->peers (st is zeroed). */
void health_update_status(struct health *h, struct nt_status *st);
void health_update_info(struct health *h, const struct nt_info *info);
void health_update_version(struct health *h, const struct nt_version *v);
void health_update_describecluster(struct health *h, const struct nt_describecluster *dc);
/* Records the outcome of one nodetool call; a failure raises NODETOOL_FAILED for
 * that subcommand until it succeeds again. */
void health_update_nodetool(struct health *h, const char *subcommand, int err, const char *errmsg);

/* The controller connection as the channel sees it (SPEC section 7, ControllerState). */
struct health_controller {
	bool enabled;
	bool connected;
	int64_t connected_since_unix_ms;
	int64_t last_report_unix_ms;
	uint32_t reconnects;
	char last_error[256];
	char address[256];
};

/* Records the controller connection state; a connect or disconnect counts as a change. */
void health_update_controller(struct health *h, const struct health_controller *c);

/* The snapshot job's state (SPEC section 7, SnapshotState). */
struct health_snapshots {
	char last_tag[80];
	int64_t last_attempt_unix_ms;
	char last_result[16]; /* "ok", "failed", "skipped", or "" before the first attempt */
	char last_reason[320];
	int64_t last_success_unix_ms;
	uint32_t count;       /* agent-made snapshots listed */
	uint64_t total_bytes; /* their true size */
	int64_t next_slot_unix_ms;
	char clear_failed[320]; /* the last clearsnapshot failure, "" when the last pruning went well */
};

/* Records the snapshot job's state; a failed attempt raises SNAPSHOT_FAILED until one succeeds. */
void health_update_snapshots(struct health *h, const struct health_snapshots *s);

/* True once the unit state and `nodetool info` have each answered (or failed) at least once,
 * so health_cassandra_running() means something. */
bool health_cassandra_known(const struct health *h);

/* True when Cassandra runs as far as the last probes tell: the unit is active and gossip
 * or the native transport is up. */
bool health_cassandra_running(const struct health *h);

#define HEALTH_CONFIG_LIST_MAX 32

/* cassandra.yaml as the config job sees it (SPEC section 7, ConfigState). */
struct health_config {
	char sha256[65];
	bool drift; /* raises CONFIG_DRIFT */
	bool restart_pending;
	size_t n_pending_settings;
	char pending_settings[HEALTH_CONFIG_LIST_MAX][128];
	size_t n_seeds;
	char seeds[HEALTH_CONFIG_LIST_MAX][128];
	char note[256]; /* a refused rackdc change, or "" */
};

void health_update_config(struct health *h, const struct health_config *c);

#define HEALTH_CERTS_MAX          64
#define HEALTH_STATE_FILES_MAX    16 /* state directory files followed by health_update_state_write */
#define HEALTH_CERT_WARN_DAYS     30 /* CERT_EXPIRING warning */
#define HEALTH_CERT_CRITICAL_DAYS 7  /* CERT_EXPIRING critical */

/* One certificate in use (SPEC section 7, CertificateState). */
struct health_cert {
	char path[256];
	char subject[256];
	char issuer[256];
	char serial[80];
	int64_t not_after_unix; /* seconds */
	int32_t days_left;      /* negative once expired */
};

/* Replaces the list of certificates in use (`n` of them, at most HEALTH_CERTS_MAX kept);
 * each with days_left <= 30 raises CERT_EXPIRING (critical at <= 7), subject = path. */
void health_update_certificates(struct health *h, const struct health_cert *certs, size_t n);

/* The maintenance state (SPEC section 7, LeaseState); `stuck` raises MAINTENANCE_STUCK. */
struct health_lease {
	char lease_id[96];
	char phase[16];
	uint64_t epoch;
	CassandraAgent__V1__MaintenanceKind kind;
	size_t n_blockers;
	char blockers[8][160];
	bool stuck;
	char detail[320];
};

/* Records the maintenance state; a phase change counts as a state change (reported at once). */
void health_update_lease(struct health *h, const struct health_lease *l);

/* True while maintenance holds the node (a lease asked for, held or being released). */
bool health_maintenance_holds(const struct health *h);

/* Fills `node` with this node's identity (strings owned by the model, valid until the next
 * update). */
void health_node_identity(struct health *h, CassandraAgent__V1__NodeIdentity *node);

/* Records a problem with the state directory ("" clears it): raises STATE_DIRECTORY_FAILED
 * (critical: commands cannot be journaled, so none runs). */
void health_update_state_directory(struct health *h, const char *path, const char *error);

/*
 * Records the outcome of a write of `path` in the state directory (from the loop): a
 * negative `err` raises STATE_DIRECTORY_FAILED for that file with `message` (strerror when
 * NULL or empty); 0 (a write that succeeded, of any file) clears them all: the directory
 * takes writes again. Up to HEALTH_STATE_FILES_MAX failing files are listed.
 */
void health_update_state_write(struct health *h, const char *path, int err, const char *message);

/* Appends an event (kept: the last HEALTH_EVENTS_MAX) and logs it. */
void health_event(struct health *h, const char *kind, const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The JSON text of `doc` (no trailing newline), owned by the model and valid until the
 * next update; *len gets its length. NULL on allocation failure. */
const char *health_json(struct health *h, enum health_doc doc, size_t *len);

/* One line for sd_notify STATUS= ("UN, ring 6/6 up, 0 conditions"); owned by the model. */
const char *health_status_line(struct health *h);

/* Builds the current HealthReport (its memory lives until `fn` returns) and calls `fn`.
 * Returns 0 or -ENOMEM (then `fn` is not called). */
int health_with_report(struct health *h, void (*fn)(void *data, const CassandraAgent__V1__HealthReport *r), void *data);

/* The number of conditions raised now (for tests and STATUS=). */
size_t health_condition_count(const struct health *h);

/* The datacenters present in the current ring view (for rebuild's source-DC check):
 * true when `dc` is one of them. */
bool health_ring_has_datacenter(const struct health *h, const char *dc);

#endif
