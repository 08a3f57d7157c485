/* maintenance: rack-by-rack maintenance under a controller lease (SPEC section 6.3), journaled. */
#ifndef CA_MAINTENANCE_H
#define CA_MAINTENANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "cassandra_agent/v1/agent.pb-c.h"
#include "config.h"
#include "health.h"
#include "nodetool.h"

#define MAINTENANCE_JOURNAL    "maintenance.journal" /* in state_directory */
#define MAINTENANCE_PAUSE_FILE "maintenance.paused"  /* in state_directory: "paused" or "resumed" */
#define MAINTENANCE_TICK_MS    1000                  /* how often triggers and recovery are checked */

struct maintenance;

/* How maintenance talks to the controller (a small outbox: no dependency on the channel). */
struct maintenance_outbox {
	/* Sends an Envelope in the current session: 0, or -ENOTCONN without one. */
	int (*send)(void *data, CassandraAgent__V1__Envelope *env);
	void *data;
};

/*
 * Starts the job: reads state_directory/maintenance.journal and resumes where it stopped
 * (a reboot is recognised by a changed boot id; a reboot is never asked for twice for the
 * same lease). `cfg`, `h` and `runner` are borrowed. Returns 0 or -ENOMEM.
 */
int maintenance_start(uv_loop_t *loop, const struct agent_config *cfg, struct health *h, struct nodetool_runner *runner,
		      const struct maintenance_outbox *outbox, struct maintenance **out);

void maintenance_apply_config(struct maintenance *m, const struct agent_config *cfg);

/*
 * A controller Maintenance command: queued when the node is idle. Upgrades are checked
 * against the version policy first. Returns 0, -EBUSY (another maintenance is under way),
 * or -EPERM / -EINVAL with `err` saying why.
 */
int maintenance_request(struct maintenance *m, CassandraAgent__V1__MaintenanceKind kind, const char *version,
			bool allow_minor, bool allow_major, const char *reason, char *err, size_t errlen);

/* PauseMaintenance / `maintenance pause|resume`: paused blocks new maintenance (not one under way).
 * Recorded in state_directory/maintenance.paused (off the loop), so a pause outlives a restart
 * or a reboot of the agent; a failed write is logged (and raises STATE_DIRECTORY_FAILED). */
void maintenance_pause(struct maintenance *m, bool paused);

/* `lease release --force`: ends a STUCK (or any held) lease without the recovery check:
 * releases it with success=false and goes IDLE. Returns 0 or -ENOENT (no lease). */
int maintenance_force_release(struct maintenance *m, char *err, size_t errlen);

/* Controller events. */
void maintenance_lease_grant(struct maintenance *m, const CassandraAgent__V1__LeaseGrant *g);
void maintenance_lease_denied(struct maintenance *m, const CassandraAgent__V1__LeaseDenied *d);
void maintenance_session(struct maintenance *m, bool up);

/* Fills Hello's LeaseState (strings owned by `m`). */
void maintenance_hello_lease(struct maintenance *m, CassandraAgent__V1__LeaseState *lease);

/* The `lease` document of the status socket (LeaseState JSON plus detail). New string. */
char *maintenance_json(struct maintenance *m);

/* Called when a lease ends with success (Cassandra was restarted or the node rebooted). */
void maintenance_set_release_cb(struct maintenance *m, void (*cb)(void *data), void *data);

void maintenance_stop(struct maintenance *m);

#endif
