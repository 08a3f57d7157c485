/* status_server: the local Unix socket that answers cassandra-agentctl, one JSON document per command line. */
#ifndef CA_STATUS_SERVER_H
#define CA_STATUS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

#include "health.h"

#define STATUS_LINE_MAX        4096              /* bytes of one command line, newline excluded */
#define STATUS_CLIENTS_MAX     1024              /* connections served at once; more are closed */
#define STATUS_IDLE_MS         (5 * 60 * 1000)   /* a client silent this long is closed */
#define STATUS_WRITE_QUEUE_MAX (8 * 1024 * 1024) /* unread reply bytes before a client is dropped */

struct status_server;

/* Who is on the other end (SO_PEERCRED, supplementary groups from /proc/PID/status). */
struct status_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool privileged; /* root, the agent's own user, or a member of status.group */
};

/* A reply that comes later (a command that takes time, like `snapshot take`). */
struct status_deferred;
/* The call being handled; a hook may defer its reply with status_call_defer(). */
struct status_call;

/* Returned by a hook that deferred its reply. */
extern char STATUS_REPLY_DEFERRED[];

/*
 * Handles a command the server does not answer itself (everything but status, ring,
 * version, events). `argv` holds the words of the line (argc of them). Returns a new
 * JSON text (malloc'd, the server frees it), NULL for "unknown command", or
 * STATUS_REPLY_DEFERRED after status_call_defer(call): then the client's further lines
 * wait until status_deferred_reply() answered this one, so replies keep their order.
 */
typedef char *(*status_command_fn)(void *data, const struct status_peer *peer, int argc, char **argv,
				   struct status_call *call);

/* Defers the reply of `call` (from inside the hook only). NULL on ENOMEM. */
struct status_deferred *status_call_defer(struct status_call *call);

/* Sends the deferred reply `text` (copied) if the client is still there, and frees `d`. */
void status_deferred_reply(struct status_deferred *d, const char *text);

/*
 * Listens on `path` (a stale socket there is replaced; any other file is an error),
 * mode 0660, group `group` when not empty (a missing group is logged and ignored).
 * Answers from `h`. Returns 0 or a negative errno with a message in `err`.
 */
int status_server_start(uv_loop_t *loop, const char *path, const char *group, struct health *h,
			struct status_server **out, char *err, size_t errlen);

/* Sets the hook for commands other than the built-in read-only ones. */
void status_server_set_command_fn(struct status_server *s, status_command_fn fn, void *data);

/* Closes the listener and every client, unlinks the socket; memory is released from the
 * loop's close callbacks. */
void status_server_stop(struct status_server *s);

/* Parses one command line (pure; exported for fuzzing): splits `line` in place on
 * spaces and tabs into at most `max` words. Returns the word count, or -EINVAL for a
 * line with a control character or too many words. */
int status_split_line(char *line, char **argv, int max);

#endif
