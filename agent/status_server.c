/* status_server: Unix socket serving the health model as JSON lines (see status_server.h). */
#include "status_server.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

struct status_client {
	struct status_server *srv;
	struct status_client *next, *prev;
	uv_pipe_t pipe;
	uv_timer_t idle;
	int handles_open;
	bool closing;
	bool close_after_write;
	struct status_peer peer;
	struct status_deferred *deferred; /* a reply still to come: later lines wait */
	char buf[STATUS_LINE_MAX + 2];
	size_t len;
};

struct status_server {
	uv_loop_t *loop;
	uv_pipe_t listener;
	char *path;
	struct health *health;
	struct status_client *clients;
	size_t n_clients;
	gid_t group_gid;
	bool has_group;
	bool closing;
	int handles_open;
	status_command_fn command_fn;
	void *command_data;
};

struct status_deferred {
	struct status_client *client; /* NULL once the client is gone */
};

struct status_call {
	struct status_client *client;
};

char STATUS_REPLY_DEFERRED[] = "deferred";

struct status_write {
	uv_write_t req;
	struct status_client *client;
	char data[];
};

static void server_maybe_free(struct status_server *s)
{
	if (s->closing && s->handles_open == 0 && s->n_clients == 0) {
		free(s->path);
		free(s);
	}
}

static void client_close_cb(uv_handle_t *h)
{
	struct status_client *c = h->data;
	struct status_server *s = c->srv;

	if (--c->handles_open > 0)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_clients--;
	free(c);
	server_maybe_free(s);
}

static void client_close(struct status_client *c)
{
	if (c->closing)
		return;
	c->closing = true;
	if (c->deferred)
		c->deferred->client = NULL;
	uv_close((uv_handle_t *)&c->pipe, client_close_cb);
	uv_close((uv_handle_t *)&c->idle, client_close_cb);
}

static void write_cb(uv_write_t *req, int status)
{
	struct status_write *w = (struct status_write *)req;
	struct status_client *c = w->client;

	free(w);
	if (c->closing)
		return;
	if (status < 0 || (c->close_after_write && uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) == 0))
		client_close(c);
}

/* Queues `len` bytes and a newline to the client (copied). */
static void client_reply(struct status_client *c, const char *text, size_t len)
{
	struct status_write *w;
	uv_buf_t buf;

	if (c->closing)
		return;
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) > STATUS_WRITE_QUEUE_MAX) {
		log_warnx("status", "client pid %d does not read its replies; closing it", (int)c->peer.pid);
		client_close(c);
		return;
	}
	w = malloc(sizeof *w + len + 1);
	if (!w) {
		client_close(c);
		return;
	}
	memcpy(w->data, text, len);
	w->data[len] = '\n';
	w->client = c;
	buf = uv_buf_init(w->data, (unsigned)(len + 1));
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, write_cb) < 0) {
		free(w);
		client_close(c);
	}
}

static void client_error(struct status_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void client_error(struct status_client *c, const char *fmt, ...)
{
	char msg[512], out[1100];
	va_list ap;
	size_t o = 0;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* JSON-escape the message by hand: it is ours, but may quote a client word. */
	o += (size_t)snprintf(out, sizeof out, "{\"error\":\"");
	for (const unsigned char *p = (const unsigned char *)msg; *p && o < sizeof out - 16; p++) {
		if (*p == '"' || *p == '\\')
			o += (size_t)snprintf(out + o, sizeof out - o, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			o += (size_t)snprintf(out + o, sizeof out - o, "\\u%04x", *p);
		else
			out[o++] = (char)*p;
	}
	o += (size_t)snprintf(out + o, sizeof out - o, "\"}");
	client_reply(c, out, o);
}

int status_split_line(char *line, char **argv, int max)
{
	int argc = 0;
	char *p = line;

	for (char *q = line; *q; q++)
		if ((unsigned char)*q < 0x20 && *q != '\t')
			return -EINVAL;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (argc == max)
			return -EINVAL;
		argv[argc++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = '\0';
	}
	return argc;
}

static void client_command(struct status_client *c, char *line)
{
	struct status_server *s = c->srv;
	char *argv[16];
	int argc = status_split_line(line, argv, 16);
	enum health_doc doc = HEALTH_DOC_COUNT;

	if (argc < 0) {
		client_error(c, "malformed command line");
		return;
	}
	if (argc == 0) {
		client_error(c, "empty command");
		return;
	}
	if (argc == 1 && strcmp(argv[0], "status") == 0)
		doc = HEALTH_DOC_STATUS;
	else if (argc == 1 && strcmp(argv[0], "ring") == 0)
		doc = HEALTH_DOC_RING;
	else if (argc == 1 && strcmp(argv[0], "version") == 0)
		doc = HEALTH_DOC_VERSION;
	else if (argc == 1 && strcmp(argv[0], "events") == 0)
		doc = HEALTH_DOC_EVENTS;
	if (doc != HEALTH_DOC_COUNT) {
		size_t len;
		const char *text = health_json(s->health, doc, &len);

		if (text)
			client_reply(c, text, len);
		else
			client_error(c, "out of memory");
		return;
	}
	if (s->command_fn) {
		struct status_call call = {.client = c};
		char *reply = s->command_fn(s->command_data, &c->peer, argc, argv, &call);

		if (reply == STATUS_REPLY_DEFERRED)
			return;
		if (reply) {
			client_reply(c, reply, strlen(reply));
			free(reply);
			return;
		}
	}
	client_error(c, "unknown command \"%.64s\"", argv[0]);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct status_client *c = h->data;

	(void)suggested;
	*buf = uv_buf_init(c->buf + c->len, (unsigned)(sizeof c->buf - 1 - c->len));
}

/* Handles every complete line in the buffer, stopping at a deferred reply. */
static void client_process(struct status_client *c)
{
	char *nl;

	while (!c->closing && !c->deferred && (nl = memchr(c->buf, '\n', c->len)) != NULL) {
		size_t line_len = (size_t)(nl - c->buf);
		size_t text_len = line_len;

		*nl = '\0';
		if (text_len > 0 && c->buf[text_len - 1] == '\r')
			c->buf[--text_len] = '\0';
		if (line_len > STATUS_LINE_MAX) {
			client_error(c, "line too long (max %d bytes)", STATUS_LINE_MAX);
			c->close_after_write = true;
			uv_read_stop((uv_stream_t *)&c->pipe);
			return;
		}
		if (memchr(c->buf, '\0', text_len))
			client_error(c, "malformed command line");
		else
			client_command(c, c->buf);
		memmove(c->buf, nl + 1, c->len - line_len - 1);
		c->len -= line_len + 1;
		c->buf[c->len] = '\0';
	}
	if (!c->closing && !c->deferred && c->len > STATUS_LINE_MAX) {
		client_error(c, "line too long (max %d bytes)", STATUS_LINE_MAX);
		c->close_after_write = true;
		uv_read_stop((uv_stream_t *)&c->pipe);
	}
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct status_client *c = stream->data;

	(void)buf;
	if (c->closing)
		return;
	if (nread < 0) {
		client_close(c);
		return;
	}
	c->len += (size_t)nread;
	c->buf[c->len] = '\0';
	uv_timer_again(&c->idle);
	client_process(c);
}

struct status_deferred *status_call_defer(struct status_call *call)
{
	struct status_deferred *d = calloc(1, sizeof *d);

	if (!d)
		return NULL;
	d->client = call->client;
	call->client->deferred = d;
	uv_read_stop((uv_stream_t *)&call->client->pipe);
	return d;
}

void status_deferred_reply(struct status_deferred *d, const char *text)
{
	struct status_client *c = d->client;

	free(d);
	if (!c || c->closing)
		return;
	c->deferred = NULL;
	client_reply(c, text, strlen(text));
	client_process(c);
	if (!c->closing && !c->deferred && !c->close_after_write)
		uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb);
}

static void idle_cb(uv_timer_t *t)
{
	struct status_client *c = t->data;

	log_info("status", "closing client pid %d after %d s idle", (int)c->peer.pid, STATUS_IDLE_MS / 1000);
	client_close(c);
}

/* True when `gid` is the peer's group or one of its supplementary groups: SO_PEERGROUPS
 * (Linux 4.13+; works under ProtectProc=invisible), else /proc/PID/status. */
static bool peer_in_group(int fd, pid_t pid, gid_t pgid, gid_t gid)
{
	gid_t groups[256];
	socklen_t len = sizeof groups;
	char path[64], line[4096];
	FILE *f;
	bool found = false;

	if (pgid == gid)
		return true;
#ifdef SO_PEERGROUPS
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
		for (size_t i = 0; i < len / sizeof groups[0]; i++)
			if (groups[i] == gid)
				return true;
		return false;
	}
#endif
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		char *save = NULL;

		for (char *tok = strtok_r(line + 7, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
			if ((gid_t)strtoul(tok, NULL, 10) == gid)
				found = true;
		break;
	}
	fclose(f); // NOLINT(cert-err33-c): read only: nothing to lose
	return found;
}

static void connection_cb(uv_stream_t *listener, int status)
{
	struct status_server *s = listener->data;
	struct status_client *c;
	struct ucred cred;
	socklen_t clen = sizeof cred;
	uv_os_fd_t fd;

	if (status < 0 || s->closing)
		return;
	c = calloc(1, sizeof *c);
	if (!c)
		return;
	c->srv = s;
	uv_pipe_init(s->loop, &c->pipe, 0);
	uv_timer_init(s->loop, &c->idle);
	c->pipe.data = c->idle.data = c;
	c->handles_open = 2;
	c->next = s->clients;
	if (s->clients)
		s->clients->prev = c;
	s->clients = c;
	s->n_clients++;
	if (uv_accept(listener, (uv_stream_t *)&c->pipe) < 0) {
		client_close(c);
		return;
	}
	if (s->n_clients > STATUS_CLIENTS_MAX) {
		log_warnx("status", "more than %d clients; refusing one", STATUS_CLIENTS_MAX);
		client_close(c);
		return;
	}
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
		c->peer.pid = cred.pid;
		c->peer.uid = cred.uid;
		c->peer.gid = cred.gid;
		c->peer.privileged = cred.uid == 0 || cred.uid == geteuid() ||
				     (s->has_group && peer_in_group(fd, cred.pid, cred.gid, s->group_gid));
	} else {
		c->peer.pid = -1;
		c->peer.uid = (uid_t)-1;
		c->peer.gid = (gid_t)-1;
	}
	uv_timer_start(&c->idle, idle_cb, STATUS_IDLE_MS, STATUS_IDLE_MS);
	uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb);
}

static void listener_close_cb(uv_handle_t *h)
{
	struct status_server *s = h->data;

	s->handles_open--;
	server_maybe_free(s);
}

int status_server_start(uv_loop_t *loop, const char *path, const char *group, struct health *h,
			struct status_server **out, char *err, size_t errlen)
{
	struct status_server *s = calloc(1, sizeof *s);
	struct stat st;
	int rc;

	if (!s || !(s->path = strdup(path))) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->loop = loop;
	s->health = h;
	if (group && group[0]) {
		struct group *gr = getgrnam(group);

		if (gr) {
			s->group_gid = gr->gr_gid;
			s->has_group = true;
		} else {
			log_warnx("status", "group \"%s\" does not exist; the socket keeps the agent's group", group);
		}
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s: exists and is not a socket", path);
			free(s->path);
			free(s);
			return -EEXIST;
		}
		unlink(path);
	}
	uv_pipe_init(loop, &s->listener, 0);
	s->listener.data = s;
	s->handles_open = 1;
	mode_t old = umask(0117);

	rc = uv_pipe_bind(&s->listener, path);
	umask(old);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&s->listener, STATUS_CLIENTS_MAX, connection_cb);
	if (rc == 0 && chmod(path, 0660) < 0)
		rc = -errno;
	if (rc == 0 && s->has_group && chown(path, (uid_t)-1, s->group_gid) < 0)
		log_warnx("status", "cannot give %s to group %s: %s", path, group, strerror(errno));
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, uv_strerror(rc));
		s->closing = true;
		uv_close((uv_handle_t *)&s->listener, listener_close_cb);
		return rc;
	}
	*out = s;
	return 0;
}

void status_server_set_command_fn(struct status_server *s, status_command_fn fn, void *data)
{
	s->command_fn = fn;
	s->command_data = data;
}

void status_server_stop(struct status_server *s)
{
	if (!s || s->closing)
		return;
	s->closing = true;
	unlink(s->path);
	for (struct status_client *c = s->clients; c; c = c->next)
		client_close(c);
	uv_close((uv_handle_t *)&s->listener, listener_close_cb);
}
