/* control: status socket commands that act or read job state (see control.h). */
#include "control.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* A JSON error object: {"error": "..."} (new string). */
static char *error_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *error_json(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *j;
	char *text;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	j = json_pack("{s:s}", "error", msg);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return text;
}

/* True for the commands SPEC section 8 reserves to privileged peers. */
static bool is_privileged(int argc, char **argv)
{
	if (argc < 2)
		return false;
	return (strcmp(argv[0], "snapshot") == 0 && strcmp(argv[1], "take") == 0) ||
	       (strcmp(argv[0], "maintenance") == 0 &&
		(strcmp(argv[1], "pause") == 0 || strcmp(argv[1], "resume") == 0)) ||
	       (strcmp(argv[0], "lease") == 0 && strcmp(argv[1], "release") == 0);
}

static void take_done_cb(void *data, CassandraAgent__V1__CommandStatus status, const char *message)
{
	struct status_deferred *d = data;
	json_t *j;
	char *text;

	if (status == CASSANDRA_AGENT__V1__COMMAND_STATUS__COMMAND_STATUS_SUCCEEDED)
		j = json_pack("{s:s,s:s}", "result", "SUCCEEDED", "message", message);
	else
		j = json_pack("{s:s}", "error", message);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	status_deferred_reply(d, text ? text : "{\"error\":\"out of memory\"}");
	free(text);
}

/* snapshot take [--tag T] */
static char *snapshot_take(struct control *c, int argc, char **argv, struct status_call *call)
{
	CassandraAgent__V1__Command cmd = CASSANDRA_AGENT__V1__COMMAND__INIT;
	CassandraAgent__V1__TakeSnapshot take = CASSANDRA_AGENT__V1__TAKE_SNAPSHOT__INIT;
	struct status_deferred *d;

	if (!(argc == 2 || (argc == 4 && strcmp(argv[2], "--tag") == 0)))
		return error_json("usage: snapshot take [--tag TAG]");
	if (!c->dispatch)
		return error_json("snapshot take: the command journal is unavailable (state directory)");
	take.tag = argc == 4 ? argv[3] : (char *)"";
	cmd.kind_case = CASSANDRA_AGENT__V1__COMMAND__KIND_TAKE_SNAPSHOT;
	cmd.take_snapshot = &take;
	d = status_call_defer(call);
	if (!d)
		return error_json("out of memory");
	dispatch_local(c->dispatch, &cmd, take_done_cb, d);
	return STATUS_REPLY_DEFERRED;
}

char *control_command(void *data, const struct status_peer *peer, int argc, char **argv, struct status_call *call)
{
	struct control *c = data;

	if (is_privileged(argc, argv) && !peer->privileged)
		return error_json("%s %s: permission denied (needs root, the agent's user or the status group)",
				  argv[0], argv[1]);
	if (argc == 1 && strcmp(argv[0], "snapshots") == 0) {
		char *text = c->snapshots ? snapshots_json(c->snapshots) : NULL;

		return text ? text : error_json("snapshots: not available");
	}
	if (argc >= 2 && strcmp(argv[0], "snapshot") == 0 && strcmp(argv[1], "take") == 0)
		return snapshot_take(c, argc, argv, call);
	if (argc == 1 && strcmp(argv[0], "certs") == 0) {
		char *text = c->certs ? certs_job_json(c->certs) : NULL;

		return text ? text : error_json("certs: not available");
	}
	if (argc == 1 && strcmp(argv[0], "config") == 0) {
		char *text = c->cassandra_config ? cassandra_config_json(c->cassandra_config) : NULL;

		return text ? text : error_json("config: not available");
	}
	if (argc == 1 && strcmp(argv[0], "lease") == 0) {
		char *text = c->maintenance ? maintenance_json(c->maintenance) : NULL;

		return text ? text : error_json("lease: not available");
	}
	if (argc == 2 && strcmp(argv[0], "maintenance") == 0 && c->maintenance) {
		bool pause = strcmp(argv[1], "pause") == 0;

		maintenance_pause(c->maintenance, pause);
		return strdup(pause ? "{\"result\":\"paused\"}" : "{\"result\":\"resumed\"}");
	}
	if (argc == 3 && strcmp(argv[0], "lease") == 0 && strcmp(argv[1], "release") == 0 &&
	    strcmp(argv[2], "--force") == 0 && c->maintenance) {
		char err[256];

		if (maintenance_force_release(c->maintenance, err, sizeof err) < 0)
			return error_json("lease release: %s", err);
		return strdup("{\"result\":\"released\"}");
	}
	if (is_privileged(argc, argv))
		return error_json("usage: maintenance pause|resume, lease release --force");
	return NULL;
}
