/* dispatch: the one entry for commands; idempotency by id, validation, execution in order. */
#ifndef CA_DISPATCH_H
#define CA_DISPATCH_H

#include <stddef.h>
#include <uv.h>

#include "cassandra_agent/v1/agent.pb-c.h"
#include "cassandra_config.h"
#include "certs_job.h"
#include "command_store.h"
#include "config.h"
#include "health.h"
#include "maintenance.h"
#include "nodetool.h"
#include "snapshots.h"

/* Long-running nodetool operations (repair, cleanup, rebuild, flush) get this timeout
 * instead of cassandra.nodetool_timeout. */
#define DISPATCH_LONG_TIMEOUT_MS (24ULL * 3600 * 1000)

struct dispatch;

struct dispatch_deps {
	uv_loop_t *loop;
	struct command_store *store;
	struct nodetool_runner *runner;
	struct health *health;
	struct snapshots *snapshots;               /* TakeSnapshot / ClearSnapshot */
	struct maintenance *maintenance;           /* Maintenance / PauseMaintenance */
	struct cassandra_config *cassandra_config; /* SetSeeds / ApplyConfig */
	struct certs_job *certs;                   /* RotateCertificates */
	const struct agent_config *cfg;
	/* Sends a CommandUpdate towards the controller (stays undelivered when offline). */
	int (*send_update)(void *data, const CassandraAgent__V1__CommandUpdate *u);
	void *send_data;
};

/* Creates the dispatcher (deps copied; the pointers are borrowed). Returns 0 or -ENOMEM. */
int dispatch_new(const struct dispatch_deps *deps, struct dispatch **out);

/* Takes a reloaded config. */
void dispatch_set_config(struct dispatch *d, const struct agent_config *cfg);

/*
 * Handles one Command: an id seen before gets its stored result again (never runs twice);
 * a new one is validated and gets ACCEPTED (once journaled, so a crash cannot run it twice)
 * or REJECTED at once, then RUNNING and a final status, in arrival order.
 */
void dispatch_command(struct dispatch *d, const CassandraAgent__V1__Command *cmd);

/* The final status of a local command (from the status socket). Strings valid during the call. */
typedef void (*dispatch_local_cb)(void *data, CassandraAgent__V1__CommandStatus status, const char *message);

/*
 * Runs a command that came from `cassandra-agentctl` (cmd->id is ignored: the command gets
 * a fresh "local-..." id, journaled like the controller's, never sent to the controller).
 * `cb` gets the final status (REJECTED at once for a refused command). Returns 0.
 */
int dispatch_local(struct dispatch *d, const CassandraAgent__V1__Command *cmd, dispatch_local_cb cb, void *data);

/* Final statuses given since start, indexed by CommandStatus value (0..5), for metrics. */
void dispatch_stats(const struct dispatch *d, uint64_t counts[6]);

/* Stops taking commands; queued ones stay ACCEPTED in the journal and are reported
 * "interrupted" at the next start. Frees once the running one came back. */
void dispatch_close(struct dispatch *d);

/*
 * Checks a RunNodetool against the allow-list of SPEC section 7 (pure but for the ring view
 * `h`, used to check rebuild's source datacenter; may be NULL to skip that check). Returns 0,
 * or -EPERM (subcommand not allowed) / -EINVAL (argument refused) with `err` saying why.
 * *long_running is set for repair, cleanup, rebuild and flush.
 */
int dispatch_check_nodetool(const CassandraAgent__V1__RunNodetool *r, struct health *h, bool *long_running, char *err,
			    size_t errlen);

#endif
