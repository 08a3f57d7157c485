/* control: the status socket's commands beyond the health documents (snapshots, snapshot take, ...). */
#ifndef CA_CONTROL_H
#define CA_CONTROL_H

#include "cassandra_config.h"
#include "certs_job.h"
#include "dispatch.h"
#include "maintenance.h"
#include "snapshots.h"
#include "status_server.h"

/* What the commands reach. Pointers are borrowed; dispatch may be NULL when the state
 * directory could not hold the command journal (then commands that run say so). */
struct control {
	struct dispatch *dispatch;
	struct snapshots *snapshots;
	struct maintenance *maintenance;
	struct cassandra_config *cassandra_config;
	struct certs_job *certs;
};

/*
 * The status_command_fn of the agent (`data` is a struct control): `snapshots`;
 * privileged `snapshot take [--tag T]` (through the dispatcher, reply deferred until the
 * snapshot is taken); `lease` (the LeaseState); `config` (cassandra.yaml state); `certs`
 * (certificates in use); privileged `maintenance pause|resume` and `lease release --force`. Privileged commands
 * from an unprivileged peer get "permission denied". Returns NULL for unknown commands.
 */
char *control_command(void *data, const struct status_peer *peer, int argc, char **argv, struct status_call *call);

#endif
