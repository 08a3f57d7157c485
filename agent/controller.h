/* controller: the mutual-TLS channel to the controller; session, reports, heartbeats, reconnects. */
#ifndef CA_CONTROLLER_H
#define CA_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "cassandra_agent/v1/agent.pb-c.h"
#include "command_store.h"
#include "config.h"
#include "health.h"

#define CONTROLLER_PING_MS           15000 /* Ping every 15 s (SPEC section 7) */
#define CONTROLLER_SILENCE_MS        45000 /* 45 s without a byte closes the connection */
#define CONTROLLER_BACKOFF_MIN_MS    1000  /* reconnect backoff: 1 s to 60 s, full jitter */
#define CONTROLLER_BACKOFF_MAX_MS    60000
#define CONTROLLER_HANDSHAKE_MS      15000 /* connect + TLS + Welcome must finish within this */
#define CONTROLLER_REPORT_MIN_GAP_MS 200   /* immediate reports on change are coalesced */

struct controller;

/* What the channel hands to the rest of the agent. */
struct controller_hooks {
	/* A Command arrived in a session (the dispatcher answers with controller_send_update). */
	void (*command)(void *data, const CassandraAgent__V1__Command *cmd);
	/* Lease answers (maintenance). May be NULL. */
	void (*lease_grant)(void *data, const CassandraAgent__V1__LeaseGrant *g);
	void (*lease_denied)(void *data, const CassandraAgent__V1__LeaseDenied *d);
	/* A session came up (after Welcome) or went down. May be NULL. */
	void (*session)(void *data, bool up);
	/* Fills the LeaseState for Hello (strings must stay valid until it returns). May be NULL. */
	void (*hello_lease)(void *data, CassandraAgent__V1__LeaseState *lease);
	void *data;
};

/*
 * Starts dialling cfg->controller.address (the caller checks controller.enabled).
 * `cfg`, `h` and `store` are borrowed and must outlive the controller (a reloaded config is
 * handed over with controller_reload()). `store` may be NULL (the journal is unavailable):
 * nothing is resumed or marked delivered. TLS material is read at every connection attempt,
 * so a fixed file is picked up by the next attempt. Returns 0 or -ENOMEM.
 */
int controller_start(uv_loop_t *loop, const struct agent_config *cfg, struct health *h, struct command_store *store,
		     const struct controller_hooks *hooks, struct controller **out);

/* The journal became available after start (it was NULL): used from the next session on. */
void controller_set_store(struct controller *c, struct command_store *store);

/*
 * Sends a CommandUpdate when a session is up. A final status is marked delivered in the
 * store once written to the socket; when no session is up it stays undelivered and is sent
 * after the next Welcome, in order. Returns 0 (sent or left for later) or -ENOMEM.
 */
int controller_send_update(struct controller *c, const CassandraAgent__V1__CommandUpdate *u);

/* Sends an Envelope (LeaseRequest, LeaseRelease) in the current session. Returns 0 once
 * handed to TLS, -ENOTCONN without a session (nothing is queued), -ENOMEM. */
int controller_send(struct controller *c, CassandraAgent__V1__Envelope *env);

/* Asks for a HealthReport now (coalesced; health is never queued while disconnected). */
void controller_report_soon(struct controller *c);

/* Takes a reloaded config (SIGHUP): a changed address, or a CA, certificate or key file
 * replaced since the session's TLS context was built (path, mtime or size differ), closes
 * the session and reconnects with the new material at once. */
void controller_reload(struct controller *c, const struct agent_config *cfg);

/* Closes the connection and the timers; memory is freed from the loop. */
void controller_stop(struct controller *c);

/* Splits "host:port" or "[v6]:port" (pure). Returns 0 or -EINVAL. */
int controller_split_address(const char *address, char *host, size_t host_len, char *port, size_t port_len);

#endif
