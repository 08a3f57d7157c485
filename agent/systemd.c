/* systemd: sd-bus on a libuv loop (see systemd.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "systemd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define SYSD_DEST           "org.freedesktop.systemd1"
#define SYSD_PATH           "/org/freedesktop/systemd1"
#define SYSD_MANAGER        "org.freedesktop.systemd1.Manager"
#define SYSD_UNIT_IFACE     "org.freedesktop.systemd1.Unit"
#define SYSD_NO_SUCH_UNIT   "org.freedesktop.systemd1.NoSuchUnit"
#define LOGIND_DEST         "org.freedesktop.login1"
#define LOGIND_PATH         "/org/freedesktop/login1"
#define LOGIND_MANAGER      "org.freedesktop.login1.Manager"
#define SYSD_UNIT_NAME_MAX  256 /* systemd's UNIT_NAME_MAX */
#define SYSD_PROCESS_BUDGET 64  /* sd_bus_process() steps per loop callback */

struct sysd_call {
	struct sysd *s;
	struct sysd_call *prev, *next;
	sd_bus_slot *slot;      /* our reference on the pending reply slot */
	sysd_state_cb state_cb; /* exactly one of state_cb / done_cb is set */
	sysd_done_cb done_cb;
	void *data;
	char what[]; /* "StartUnit cassandra.service", for log lines */
};

struct sysd {
	uv_loop_t *loop;
	sd_bus *bus;
	uv_poll_t poll;          /* on `fd`, events from sd_bus_get_events() */
	uv_timer_t timer;        /* from sd_bus_get_timeout() */
	int fd;                  /* our dup of the bus socket (sd-bus may close its own) */
	int bus_fd;              /* sd-bus's fd number when we dup'd it */
	int handles;             /* initialised handles not yet closed */
	bool closing;            /* sysd_close() started */
	bool failed;             /* connection lost: poll/timer stopped, calls failed */
	struct sysd_call *calls; /* pending calls */
};

static void sysd_process(struct sysd *s);
static void sysd_poll_cb(uv_poll_t *poll, int status, int events);
static void sysd_timer_cb(uv_timer_t *timer);

static uint64_t sysd_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- calls ---- */

static void sysd_call_link(struct sysd *s, struct sysd_call *c)
{
	c->prev = NULL;
	c->next = s->calls;
	if (s->calls)
		s->calls->prev = c;
	s->calls = c;
}

/* Unlinks and frees the call, drops its slot (so sd-bus never invokes it again), then fires
 * the user callback once. errmsg/state are borrowed for the duration of the callback. */
static void sysd_call_finish(struct sysd_call *c, int err, const char *errmsg, const char *state)
{
	struct sysd *s = c->s;
	sysd_state_cb state_cb = c->state_cb;
	sysd_done_cb done_cb = c->done_cb;
	void *data = c->data;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	/* safe inside the slot's own handler: sd-bus holds a reference while dispatching */
	c->slot = sd_bus_slot_unref(c->slot);
	if (err)
		log_debug("systemd", "%s failed: %s", c->what, errmsg ? errmsg : strerror(-err));
	else
		log_debug("systemd", "%s done%s%s", c->what, state ? ": " : "", state ? state : "");
	free(c);

	if (err)
		errmsg = errmsg ? errmsg : strerror(-err);
	else
		errmsg = NULL;
	if (state_cb)
		state_cb(data, err, errmsg, err ? NULL : state);
	else
		done_cb(data, err, errmsg);
}

/* Maps a method error reply to a negative errno and message. */
static int sysd_reply_error(sd_bus_message *m, const char **msg)
{
	const sd_bus_error *e = sd_bus_message_get_error(m);
	int r;

	*msg = e && e->message ? e->message : e ? e->name : "unknown D-Bus error";
	/* sd-bus fails pending calls with a synthetic NoReply when the connection drops */
	if (sd_bus_is_open(sd_bus_message_get_bus(m)) <= 0)
		return -ECONNRESET;
	r = e ? sd_bus_error_get_errno(e) : 0;
	return r > 0 ? -r : -EIO;
}

static int sysd_done_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct sysd_call *c = userdata;
	const char *msg;

	(void)ret_error;
	if (c->s->closing)
		return 1;
	if (sd_bus_message_is_method_error(m, NULL)) {
		int err = sysd_reply_error(m, &msg);

		sysd_call_finish(c, err, msg, NULL);
		return 1;
	}
	sysd_call_finish(c, 0, NULL, NULL);
	return 1;
}

static int sysd_state_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct sysd_call *c = userdata;
	const char *msg, *state = NULL;
	int r;

	(void)ret_error;
	if (c->s->closing)
		return 1;
	if (sd_bus_message_is_method_error(m, NULL)) {
		r = sysd_reply_error(m, &msg);
		sysd_call_finish(c, r, msg, NULL);
		return 1;
	}
	r = sd_bus_message_read(m, "v", "s", &state);
	if (r < 0) {
		sysd_call_finish(c, r, "malformed ActiveState reply", NULL);
		return 1;
	}
	sysd_call_finish(c, 0, NULL, state);
	return 1;
}

static int sysd_getunit_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct sysd_call *c = userdata;
	struct sysd *s = c->s;
	const char *msg, *path;
	int r;

	(void)ret_error;
	if (s->closing)
		return 1;
	if (sd_bus_message_is_method_error(m, SYSD_NO_SUCH_UNIT)) {
		/* systemd has not loaded the unit: it is not running */
		sysd_call_finish(c, 0, NULL, "inactive");
		return 1;
	}
	if (sd_bus_message_is_method_error(m, NULL)) {
		r = sysd_reply_error(m, &msg);
		sysd_call_finish(c, r, msg, NULL);
		return 1;
	}
	r = sd_bus_message_read(m, "o", &path);
	if (r < 0) {
		sysd_call_finish(c, r, "malformed GetUnit reply", NULL);
		return 1;
	}
	/* step 2 on the same op; the old slot is still referenced by sd-bus while we run */
	c->slot = sd_bus_slot_unref(c->slot);
	r = sd_bus_call_method_async(s->bus, &c->slot, SYSD_DEST, path, "org.freedesktop.DBus.Properties", "Get",
				     sysd_state_reply, c, "ss", SYSD_UNIT_IFACE, "ActiveState");
	if (r < 0)
		sysd_call_finish(c, r, "cannot queue Properties.Get(ActiveState)", NULL);
	/* sysd_process() re-arms poll/timer after the dispatch loop */
	return 1;
}

/* ---- loop integration ---- */

/* Points the poll handle and the timer at what sd-bus waits for. Never fires callbacks. */
static void sysd_rearm(struct sysd *s, bool more_work)
{
	uint64_t until, now, ms;
	int events, flags = 0, r;

	if (s->closing || s->failed)
		return;
	events = sd_bus_get_events(s->bus);
	if (events < 0) {
		/* closed under us (e.g. a queued call hit a dead socket): let the loop notice */
		uv_poll_stop(&s->poll);
		uv_timer_start(&s->timer, sysd_timer_cb, 0, 0);
		return;
	}
	if (events & POLLIN)
		flags |= UV_READABLE;
	if (events & POLLOUT)
		flags |= UV_WRITABLE;
	r = flags ? uv_poll_start(&s->poll, flags, sysd_poll_cb) : uv_poll_stop(&s->poll);
	if (r < 0)
		log_warnx("systemd", "cannot watch the bus fd: %s", uv_strerror(r));

	r = sd_bus_get_timeout(s->bus, &until);
	if (more_work) {
		ms = 1; /* yield to the loop, continue almost at once (0 would rerun in this timer pass) */
	} else if (r < 0) {
		ms = 0;
	} else if (until == UINT64_MAX) {
		uv_timer_stop(&s->timer);
		return;
	} else {
		/* absolute CLOCK_MONOTONIC usec -> relative ms, rounded up */
		now = sysd_now_usec();
		ms = until <= now ? 0 : (until - now + 999) / 1000;
	}
	uv_timer_start(&s->timer, sysd_timer_cb, ms, 0);
}

/* Connection is unusable: stop watching, close it, fail pending calls (loop context only). */
static void sysd_fail(struct sysd *s, int err)
{
	if (s->failed || s->closing)
		return;
	s->failed = true;
	log_warnx("systemd", "system bus connection lost: %s", strerror(err < 0 ? -err : err));
	uv_poll_stop(&s->poll);
	uv_timer_stop(&s->timer);
	sd_bus_close(s->bus);
	while (s->calls && !s->closing) {
		// NOLINTNEXTLINE(clang-analyzer-unix.Malloc): finish unlinks c from s->calls before freeing it
		sysd_call_finish(s->calls, -ECONNRESET, "system bus connection lost", NULL);
	}
}

static void sysd_process(struct sysd *s)
{
	unsigned i;
	int r = 0, fd;

	for (i = 0; i < SYSD_PROCESS_BUDGET; i++) {
		r = sd_bus_process(s->bus, NULL);
		if (r <= 0 || s->closing)
			break;
	}
	if (s->closing || s->failed)
		return;
	if (r < 0) {
		/* -ECONNRESET once sd-bus dispatched the disconnect; anything else is fatal too */
		sysd_fail(s, r);
		return;
	}
	fd = sd_bus_get_fd(s->bus);
	if (fd >= 0 && fd != s->bus_fd) {
		/* sd-bus reconnected on another socket (multi-address fallback): not supported */
		sysd_fail(s, -EBADF);
		return;
	}
	sysd_rearm(s, i == SYSD_PROCESS_BUDGET);
}

static void sysd_poll_cb(uv_poll_t *poll, int status, int events)
{
	struct sysd *s = poll->data;

	(void)events;
	if (s->closing || s->failed)
		return;
	if (status < 0) {
		sysd_fail(s, status);
		return;
	}
	sysd_process(s);
}

static void sysd_timer_cb(uv_timer_t *timer)
{
	struct sysd *s = timer->data;

	if (s->closing || s->failed)
		return;
	sysd_process(s);
}

static void sysd_close_cb(uv_handle_t *handle)
{
	struct sysd *s = handle->data;

	if (--s->handles > 0)
		return;
	/* no slots remain (all calls finished); close without flushing: flushing blocks */
	sd_bus_close_unref(s->bus);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

/* ---- public API ---- */

int sysd_open(uv_loop_t *loop, struct sysd **out)
{
	struct sysd *s;
	int r;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!loop)
		return -EINVAL;
	s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->fd = -1;

	r = sd_bus_open_system(&s->bus);
	if (r < 0)
		goto fail_free;
	r = sd_bus_get_fd(s->bus);
	if (r < 0)
		goto fail_bus;
	s->bus_fd = r;
	s->fd = fcntl(s->bus_fd, F_DUPFD_CLOEXEC, 3);
	if (s->fd < 0) {
		r = -errno;
		goto fail_bus;
	}
	r = uv_poll_init(loop, &s->poll, s->fd);
	if (r < 0)
		goto fail_fd;
	s->poll.data = s;
	s->handles++;
	r = uv_timer_init(loop, &s->timer);
	if (r < 0)
		goto fail_handles;
	s->timer.data = s;
	s->handles++;

	sysd_rearm(s, false);
	log_debug("systemd", "system bus connection started");
	*out = s;
	return 0;

fail_handles:
	s->closing = true;
	uv_close((uv_handle_t *)&s->poll, sysd_close_cb); /* frees bus, fd and s */
	return r;
fail_fd:
	close(s->fd);
fail_bus:
	sd_bus_unref(s->bus);
fail_free:
	log_debug("systemd", "cannot connect to the system bus: %s", strerror(-r));
	free(s);
	return r;
}

bool sysd_is_connected(const struct sysd *s)
{
	return s && !s->closing && !s->failed && sd_bus_is_open(s->bus) > 0;
}

int sysd_set_call_timeout(struct sysd *s, uint64_t timeout_ms)
{
	if (!s || timeout_ms > UINT64_MAX / 1000)
		return -EINVAL;
	return sd_bus_set_method_call_timeout(s->bus, timeout_ms * 1000);
}

/* Validates state and allocates a call named "<member> <arg>". */
static int sysd_call_new(struct sysd *s, const char *member, const char *arg, struct sysd_call **out)
{
	struct sysd_call *c;
	size_t n;

	if (!s)
		return -EINVAL;
	if (s->closing)
		return -ECANCELED;
	if (s->failed || sd_bus_is_open(s->bus) <= 0)
		return -ENOTCONN;
	n = strlen(member) + 1 + strlen(arg) + 1;
	c = calloc(1, sizeof *c + n);
	if (!c)
		return -ENOMEM;
	c->s = s;
	// NOLINTBEGIN(clang-analyzer-security.insecureAPI.strcpy): c->what was sized for these strings above
	strcpy(c->what, member);
	if (arg[0]) {
		strcat(c->what, " ");
		strcat(c->what, arg);
	}
	// NOLINTEND(clang-analyzer-security.insecureAPI.strcpy)
	*out = c;
	return 0;
}

/* Second half of every public call: links on success, re-arms the loop either way. */
static int sysd_call_queued(struct sysd *s, struct sysd_call *c, int r)
{
	if (r < 0) {
		log_debug("systemd", "cannot queue %s: %s", c->what, strerror(-r));
		free(c);
	} else {
		sysd_call_link(s, c);
	}
	sysd_rearm(s, false);
	return r < 0 ? r : 0;
}

static bool sysd_unit_ok(const char *unit)
{
	return unit && unit[0] && strlen(unit) < SYSD_UNIT_NAME_MAX;
}

int sysd_get_active_state(struct sysd *s, const char *unit, sysd_state_cb cb, void *data)
{
	struct sysd_call *c;
	int r;

	if (!cb || !sysd_unit_ok(unit))
		return -EINVAL;
	r = sysd_call_new(s, "ActiveState", unit, &c);
	if (r < 0)
		return r;
	c->state_cb = cb;
	c->data = data;
	r = sd_bus_call_method_async(s->bus, &c->slot, SYSD_DEST, SYSD_PATH, SYSD_MANAGER, "GetUnit",
				     sysd_getunit_reply, c, "s", unit);
	return sysd_call_queued(s, c, r);
}

static int sysd_unit_job(struct sysd *s, const char *member, const char *unit, sysd_done_cb cb, void *data)
{
	struct sysd_call *c;
	int r;

	if (!cb || !sysd_unit_ok(unit))
		return -EINVAL;
	r = sysd_call_new(s, member, unit, &c);
	if (r < 0)
		return r;
	c->done_cb = cb;
	c->data = data;
	r = sd_bus_call_method_async(s->bus, &c->slot, SYSD_DEST, SYSD_PATH, SYSD_MANAGER, member, sysd_done_reply, c,
				     "ss", unit, "replace");
	return sysd_call_queued(s, c, r);
}

int sysd_start_unit(struct sysd *s, const char *unit, sysd_done_cb cb, void *data)
{
	return sysd_unit_job(s, "StartUnit", unit, cb, data);
}

int sysd_stop_unit(struct sysd *s, const char *unit, sysd_done_cb cb, void *data)
{
	return sysd_unit_job(s, "StopUnit", unit, cb, data);
}

int sysd_reboot(struct sysd *s, sysd_done_cb cb, void *data)
{
	struct sysd_call *c;
	int r;

	if (!cb)
		return -EINVAL;
	r = sysd_call_new(s, "Reboot", "", &c);
	if (r < 0)
		return r;
	c->done_cb = cb;
	c->data = data;
	r = sd_bus_call_method_async(s->bus, &c->slot, LOGIND_DEST, LOGIND_PATH, LOGIND_MANAGER, "Reboot",
				     sysd_done_reply, c, "b", 0);
	return sysd_call_queued(s, c, r);
}

void sysd_close(struct sysd *s)
{
	if (!s || s->closing)
		return;
	s->closing = true;
	while (s->calls) {
		// NOLINTNEXTLINE(clang-analyzer-unix.Malloc): finish unlinks c from s->calls before freeing it
		sysd_call_finish(s->calls, -ECANCELED, "systemd client closed", NULL);
	}
	uv_close((uv_handle_t *)&s->poll, sysd_close_cb);
	uv_close((uv_handle_t *)&s->timer, sysd_close_cb);
}
