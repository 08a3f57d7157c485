/* test_systemd: sysd against a private dbus-daemon with python3-dbusmock's systemd/logind templates. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "check_run.h"
#include "systemd.h"

#ifndef PYTHON
#define PYTHON "/usr/bin/python3" /* Debian's python3 with python3-dbusmock */
#endif
#define UNIT             "cassandra.service"
#define READY_TIMEOUT_MS 20000 /* dbus-daemon + mocks startup */
#define STOP_GRACE_MS    3000  /* SIGTERM -> SIGKILL */
#define GUARD_MS         5000  /* bound of each loop run */

/* ---- private bus environment (unchecked fixture: runs in the parent, so teardown always
 * runs even when a forked test fails or crashes) ---- */

enum { P_DAEMON, P_SYSTEMD, P_LOGIND, P_N };

static struct {
	char dir[PATH_MAX];
	char addr[PATH_MAX + 16];
	pid_t pid[P_N];
	bool skip;        /* tools missing: tests print SKIP and pass */
	char error[1024]; /* setup failure: tests fail with this */
} env;

static const char *const proc_name[P_N] = {"dbus-daemon", "dbusmock-systemd", "dbusmock-logind"};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static bool find_in_path(const char *name, char *out, size_t outlen)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	snprintf(out, outlen, "/usr/bin/%s", name);
	if (access(out, X_OK) == 0)
		return true;
	if (!path)
		return false;
	snprintf(buf, sizeof buf, "%s", path);
	for (char *save = NULL, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, outlen, "%s/%s", d, name);
		if (access(out, X_OK) == 0)
			return true;
	}
	return false;
}

/* fork+exec with output to `log` (or /dev/null); the child dies with us (PDEATHSIG). */
static pid_t spawn(char *const argv[], const char *log)
{
	pid_t parent = getpid(), pid;

	fflush(NULL);
	pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
	int in = open("/dev/null", O_RDONLY);
	int out = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	if (in < 0 || out < 0)
		_exit(127);
	dup2(in, 0);
	dup2(out, 1);
	dup2(out, 2);
	unsetenv("PYTHONHOME");
	unsetenv("PYTHONPATH");
	execv(argv[0], argv);
	_exit(127);
}

/* SIGTERM, bounded wait, then SIGKILL; only for pids we spawned. */
static void stop_child(pid_t *pid)
{
	uint64_t deadline;
	int st;

	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	deadline = now_ms() + STOP_GRACE_MS;
	while (now_ms() < deadline) {
		pid_t r = waitpid(*pid, &st, WNOHANG);

		if (r == *pid || (r < 0 && errno == ECHILD))
			goto done;
		sleep_ms(20);
	}
	kill(*pid, SIGKILL);
	waitpid(*pid, &st, 0);
done:
	*pid = 0;
}

/* Runs argv, waits up to ms; returns the exit status or -1. */
static int run_bounded_cmd(char *const argv[], unsigned ms)
{
	pid_t pid = spawn(argv, NULL), r;
	uint64_t deadline = now_ms() + ms;
	int st;

	if (pid < 0)
		return -1;
	while (now_ms() < deadline) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		sleep_ms(20);
	}
	stop_child(&pid);
	return -1;
}

__attribute__((format(printf, 1, 2))) static void env_fail(const char *fmt, ...)
{
	va_list ap;

	if (env.error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(env.error, sizeof env.error, fmt, ap);
	va_end(ap);
}

static bool child_alive(int i)
{
	int st;

	if (env.pid[i] <= 0)
		return false;
	if (waitpid(env.pid[i], &st, WNOHANG) == env.pid[i]) {
		env.pid[i] = 0;
		return false;
	}
	return true;
}

static bool name_has_owner(sd_bus *bus, const char *name)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int has = 0;

	if (sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
			       "NameHasOwner", &e, &reply, "s", name) >= 0)
		sd_bus_message_read(reply, "b", &has);
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	return has;
}

/* Blocking helper connection for fixtures and assertions (never used by the code under test). */
static sd_bus *test_bus_open(void)
{
	sd_bus *bus = NULL;

	if (sd_bus_open_system(&bus) < 0)
		return NULL;
	sd_bus_set_method_call_timeout(bus, 5 * 1000000ull);
	return bus;
}

static int mock_call(sd_bus *bus, const char *dest, const char *path, const char *member, sd_bus_message **reply,
		     const char *types, ...)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL;
	va_list ap;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, dest, path, "org.freedesktop.DBus.Mock", member);
	if (r < 0)
		return r;
	va_start(ap, types);
	r = sd_bus_message_appendv(m, types, ap);
	va_end(ap);
	if (r >= 0)
		r = sd_bus_call(bus, m, 0, &e, reply);
	if (r < 0)
		env_fail("Mock.%s on %s failed: %s", member, dest, e.message ? e.message : strerror(-r));
	sd_bus_message_unref(m);
	sd_bus_error_free(&e);
	return r;
}

/* Real systemd answers GetUnit for an unloaded unit with NoSuchUnit; the dbusmock template
 * raises a Python KeyError instead, so make the mock faithful. */
static const char getunit_code[] = "if args[0] not in self.units:\n"
				   "    raise dbus.exceptions.DBusException('Unit %s not loaded.' % args[0],"
				   " name='org.freedesktop.systemd1.NoSuchUnit')\n"
				   "ret = self.units[args[0]]\n";

static void env_start(bool with_mocks)
{
	char daemon[PATH_MAX], conf[PATH_MAX + 32], log[PATH_MAX + 32], arg[PATH_MAX + 64];
	const char *tmp = getenv("TMPDIR");
	sd_bus *bus = NULL;
	uint64_t deadline;
	FILE *f;

	memset(&env, 0, sizeof env);
	if (!find_in_path("dbus-daemon", daemon, sizeof daemon)) {
		env.skip = true;
		printf("SKIP: dbus-daemon not installed; test_systemd bus scenarios not run\n");
		return;
	}
	if (with_mocks) {
		char *const probe[] = {PYTHON, "-c", "import dbusmock", NULL};

		if (access(PYTHON, X_OK) != 0 || run_bounded_cmd(probe, 10000) != 0) {
			env.skip = true;
			printf("SKIP: python3-dbusmock not installed (" PYTHON " -c 'import dbusmock' failed); "
			       "test_systemd mock scenarios not run\n");
			return;
		}
	}

	snprintf(env.dir, sizeof env.dir, "%s/sysd-test-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (!mkdtemp(env.dir)) {
		env_fail("mkdtemp: %s", strerror(errno));
		env.dir[0] = '\0';
		return;
	}
	snprintf(env.addr, sizeof env.addr, "unix:path=%s/bus", env.dir);
	snprintf(conf, sizeof conf, "%s/bus.conf", env.dir);
	f = fopen(conf, "w");
	if (!f) {
		env_fail("cannot write %s: %s", conf, strerror(errno));
		return;
	}
	fprintf(f,
		"<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
		" \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
		"<busconfig>\n"
		"  <type>session</type>\n"
		"  <listen>unix:path=%s/bus</listen>\n"
		"  <auth>EXTERNAL</auth>\n"
		"  <policy context=\"default\">\n"
		"    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
		"    <allow eavesdrop=\"true\"/>\n"
		"    <allow own=\"*\"/>\n"
		"  </policy>\n"
		"</busconfig>\n",
		env.dir);
	fclose(f);
	setenv("DBUS_SYSTEM_BUS_ADDRESS", env.addr, 1);

	snprintf(arg, sizeof arg, "--config-file=%s", conf);
	snprintf(log, sizeof log, "%s/dbus-daemon.log", env.dir);
	{
		char *const argv[] = {daemon, arg, "--nofork", "--nopidfile", "--nosyslog", NULL};

		env.pid[P_DAEMON] = spawn(argv, log);
	}
	deadline = now_ms() + READY_TIMEOUT_MS;
	while (!(bus = test_bus_open())) {
		if (!child_alive(P_DAEMON) || now_ms() > deadline) {
			env_fail("dbus-daemon did not come up (log %s)", log);
			return;
		}
		sleep_ms(20);
	}
	if (!with_mocks)
		goto out;

	{
		char *const sd[] = {PYTHON, "-m", "dbusmock", "--template", "systemd", NULL};
		char *const ld[] = {PYTHON, "-m", "dbusmock", "--template", "logind", NULL};

		snprintf(log, sizeof log, "%s/systemd-mock.log", env.dir);
		env.pid[P_SYSTEMD] = spawn(sd, log);
		snprintf(log, sizeof log, "%s/logind-mock.log", env.dir);
		env.pid[P_LOGIND] = spawn(ld, log);
	}
	while (!name_has_owner(bus, "org.freedesktop.systemd1") || !name_has_owner(bus, "org.freedesktop.login1")) {
		for (int i = 0; i < P_N; i++)
			if (!child_alive(i)) {
				env_fail("%s exited during startup (logs in %s)", proc_name[i], env.dir);
				goto out;
			}
		if (now_ms() > deadline) {
			env_fail("mock names did not appear within %d ms (logs in %s)", READY_TIMEOUT_MS, env.dir);
			goto out;
		}
		sleep_ms(50);
	}
	if (mock_call(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1", "AddMockUnit", NULL, "s", UNIT) < 0)
		goto out;
	mock_call(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1", "AddMethod", NULL, "sssss",
		  "org.freedesktop.systemd1.Manager", "GetUnit", "s", "o", getunit_code);
out:
	sd_bus_flush_close_unref(bus);
}

static void env_stop(void)
{
	char path[PATH_MAX + 32];
	static const char *const files[] = {"bus", "bus.conf", "dbus-daemon.log", "systemd-mock.log",
					    "logind-mock.log"};

	for (int i = P_N - 1; i >= 0; i--)
		stop_child(&env.pid[i]);
	if (env.error[0] && env.dir[0]) {
		printf("bus setup failed, logs kept in %s\n", env.dir);
	} else if (env.dir[0]) {
		for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
			snprintf(path, sizeof path, "%s/%s", env.dir, files[i]);
			unlink(path);
		}
		rmdir(env.dir);
	}
	unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
}

static void env_start_mocks(void)
{
	env_start(true);
}

static void env_start_bus_only(void)
{
	env_start(false);
}

/* Returns true when the test must be skipped; fails the test on setup errors. */
static bool env_check(void)
{
	if (env.skip) {
		printf("SKIP: %s\n", tcase_name());
		return true;
	}
	ck_assert_msg(env.error[0] == '\0', "bus setup: %s", env.error);
	return false;
}

/* ---- loop fixture (checked: per test, in the forked child) ---- */

static uv_loop_t loop;
static bool guard_fired;

#define MAX_RES 8
static struct {
	int calls;
	int err[MAX_RES];
	char msg[MAX_RES][256];
	char state[MAX_RES][64];
	bool returned; /* the queueing function had returned when the cb fired */
	bool sync_violation;
} res;

static void loop_setup(void)
{
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	memset(&res, 0, sizeof res);
	guard_fired = false;
}

static void loop_teardown(void)
{
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}

static void record(int err, const char *errmsg, const char *state)
{
	int i = res.calls++;

	if (!res.returned)
		res.sync_violation = true;
	if (i >= MAX_RES)
		return;
	res.err[i] = err;
	snprintf(res.msg[i], sizeof res.msg[i], "%s", errmsg ? errmsg : "");
	snprintf(res.state[i], sizeof res.state[i], "%s", state ? state : "(null)");
}

static void state_cb(void *data, int err, const char *errmsg, const char *state)
{
	(void)data;
	ck_assert(err != 0 || (state != NULL && errmsg == NULL));
	ck_assert(err == 0 || (state == NULL && errmsg != NULL));
	record(err, errmsg, state);
}

static void done_cb(void *data, int err, const char *errmsg)
{
	(void)data;
	ck_assert(err != 0 || errmsg == NULL);
	ck_assert(err == 0 || errmsg != NULL);
	record(err, errmsg, NULL);
}

static void guard_cb(uv_timer_t *t)
{
	(void)t;
	guard_fired = true;
}

/* Runs the loop until `calls` callbacks have fired, bounded by ms. */
static void run_until(int calls, unsigned ms)
{
	uv_timer_t guard;

	guard_fired = false;
	ck_assert_int_eq(uv_timer_init(&loop, &guard), 0);
	ck_assert_int_eq(uv_timer_start(&guard, guard_cb, ms, 0), 0);
	while (res.calls < calls && !guard_fired)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	ck_assert_msg(res.calls >= calls, "only %d of %d callbacks within %u ms", res.calls, calls, ms);
}

/* Runs the loop for ms whatever happens (to prove nothing more fires). */
static void run_for(unsigned ms)
{
	uv_timer_t guard;

	guard_fired = false;
	ck_assert_int_eq(uv_timer_init(&loop, &guard), 0);
	ck_assert_int_eq(uv_timer_start(&guard, guard_cb, ms, 0), 0);
	while (!guard_fired)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
}

static void stop_cb(uv_timer_t *t)
{
	guard_fired = true;
	uv_stop(t->loop);
}

/* After sysd_close(): runs until every handle is closed, bounded by an unref'd guard. */
static void drain(void)
{
	uv_timer_t guard;

	guard_fired = false;
	ck_assert_int_eq(uv_timer_init(&loop, &guard), 0);
	ck_assert_int_eq(uv_timer_start(&guard, stop_cb, GUARD_MS, 0), 0);
	uv_unref((uv_handle_t *)&guard);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_msg(!guard_fired, "handles still open %d ms after sysd_close", GUARD_MS);
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
}

static struct sysd *open_sysd(void)
{
	struct sysd *s = NULL;

	ck_assert_int_eq(sysd_open(&loop, &s), 0);
	ck_assert_ptr_nonnull(s);
	ck_assert(sysd_is_connected(s));
	return s;
}

#define QUEUE(call)                                                                                                    \
	do {                                                                                                           \
		res.returned = false;                                                                                  \
		ck_assert_int_eq((call), 0);                                                                           \
		ck_assert(!res.sync_violation);                                                                        \
		res.returned = true;                                                                                   \
	} while (0)

/* A connection that owns `name` and never reads: a hung peer. */
static sd_bus *hung_peer(const char *name)
{
	sd_bus *peer = test_bus_open();

	ck_assert_ptr_nonnull(peer);
	ck_assert_int_ge(sd_bus_request_name(peer, name, 0), 0);
	return peer;
}

/* ---- scenarios with the dbusmock systemd/logind templates ---- */

START_TEST(test_unit_inactive_then_started_active_then_stopped_inactive)
{
	struct sysd *s;

	if (env_check())
		return;
	s = open_sysd();

	QUEUE(sysd_get_active_state(s, UNIT, state_cb, NULL));
	ck_assert_int_eq(res.calls, 0);
	run_until(1, GUARD_MS);
	ck_assert_msg(res.err[0] == 0, "%s", res.msg[0]);
	ck_assert_str_eq(res.state[0], "inactive");

	QUEUE(sysd_start_unit(s, UNIT, done_cb, NULL));
	run_until(2, GUARD_MS);
	ck_assert_msg(res.err[1] == 0, "%s", res.msg[1]);

	QUEUE(sysd_get_active_state(s, UNIT, state_cb, NULL));
	run_until(3, GUARD_MS);
	ck_assert_msg(res.err[2] == 0, "%s", res.msg[2]);
	ck_assert_str_eq(res.state[2], "active");

	QUEUE(sysd_stop_unit(s, UNIT, done_cb, NULL));
	run_until(4, GUARD_MS);
	ck_assert_msg(res.err[3] == 0, "%s", res.msg[3]);

	QUEUE(sysd_get_active_state(s, UNIT, state_cb, NULL));
	run_until(5, GUARD_MS);
	ck_assert_msg(res.err[4] == 0, "%s", res.msg[4]);
	ck_assert_str_eq(res.state[4], "inactive");

	ck_assert(sysd_is_connected(s));
	sysd_close(s);
	drain();
	ck_assert_int_eq(res.calls, 5);
}
END_TEST

START_TEST(test_unknown_unit_reports_inactive)
{
	struct sysd *s;

	if (env_check())
		return;
	s = open_sysd();
	QUEUE(sysd_get_active_state(s, "no-such-thing.service", state_cb, NULL));
	run_until(1, GUARD_MS);
	ck_assert_msg(res.err[0] == 0, "%s", res.msg[0]);
	ck_assert_str_eq(res.state[0], "inactive");
	sysd_close(s);
	drain();
}
END_TEST

START_TEST(test_start_of_unknown_unit_reports_error)
{
	struct sysd *s;

	if (env_check())
		return;
	s = open_sysd();
	QUEUE(sysd_start_unit(s, "no-such-thing.service", done_cb, NULL));
	run_until(1, GUARD_MS);
	ck_assert_int_lt(res.err[0], 0);
	ck_assert(res.msg[0][0] != '\0');
	ck_assert(sysd_is_connected(s));
	sysd_close(s);
	drain();
}
END_TEST

static int mock_method_calls(const char *dest, const char *path, const char *method)
{
	sd_bus *bus = test_bus_open();
	sd_bus_message *reply = NULL;
	int n = 0;

	ck_assert_ptr_nonnull(bus);
	ck_assert_int_ge(mock_call(bus, dest, path, "GetMethodCalls", &reply, "s", method), 0);
	ck_assert_int_gt(sd_bus_message_enter_container(reply, 'a', "(tav)"), 0);
	while (sd_bus_message_enter_container(reply, 'r', "tav") > 0) {
		ck_assert_int_ge(sd_bus_message_skip(reply, "tav"), 0);
		ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
		n++;
	}
	sd_bus_message_unref(reply);
	sd_bus_flush_close_unref(bus);
	return n;
}

START_TEST(test_reboot_call_succeeds)
{
	struct sysd *s;
	int before;

	if (env_check())
		return;
	before = mock_method_calls("org.freedesktop.login1", "/org/freedesktop/login1", "Reboot");
	s = open_sysd();
	QUEUE(sysd_reboot(s, done_cb, NULL));
	run_until(1, GUARD_MS);
	ck_assert_msg(res.err[0] == 0, "%s", res.msg[0]);
	sysd_close(s);
	drain();
	ck_assert_int_eq(mock_method_calls("org.freedesktop.login1", "/org/freedesktop/login1", "Reboot"), before + 1);
}
END_TEST

START_TEST(test_close_cancels_calls_queued_before_connect)
{
	struct sysd *s;

	if (env_check())
		return;
	s = open_sysd();
	QUEUE(sysd_get_active_state(s, UNIT, state_cb, NULL));
	QUEUE(sysd_start_unit(s, UNIT, done_cb, NULL));
	sysd_close(s);
	/* both fired before sysd_close returned, once each */
	ck_assert_int_eq(res.calls, 2);
	ck_assert_int_eq(res.err[0], -ECANCELED);
	ck_assert_int_eq(res.err[1], -ECANCELED);
	drain();
	ck_assert_int_eq(res.calls, 2);
}
END_TEST

static void close_from_cb(void *data, int err, const char *errmsg, const char *state)
{
	struct sysd **sp = data;

	record(err, errmsg, state);
	sysd_close(*sp);
	/* still valid memory until the loop runs the close callbacks, but refusing calls */
	ck_assert_int_eq(sysd_reboot(*sp, done_cb, NULL), -ECANCELED);
	ck_assert(!sysd_is_connected(*sp));
}

START_TEST(test_close_from_inside_callback_cancels_the_rest)
{
	struct sysd *s;

	if (env_check())
		return;
	s = open_sysd();
	/* same peer, answered in order: the first result closes while the second is pending */
	QUEUE(sysd_get_active_state(s, UNIT, close_from_cb, &s));
	QUEUE(sysd_get_active_state(s, UNIT, state_cb, NULL));
	run_until(2, GUARD_MS);
	ck_assert_msg(res.err[0] == 0, "%s", res.msg[0]);
	ck_assert_int_eq(res.err[1], -ECANCELED);
	drain();
	ck_assert_int_eq(res.calls, 2);
}
END_TEST

/* ---- scenarios with a bare private bus and a hung peer ---- */

START_TEST(test_hung_peer_call_times_out)
{
	sd_bus *peer;
	struct sysd *s;
	uint64_t t0;

	if (env_check())
		return;
	peer = hung_peer("org.freedesktop.systemd1");
	s = open_sysd();
	ck_assert_int_eq(sysd_set_call_timeout(s, 300), 0);
	t0 = now_ms();
	QUEUE(sysd_start_unit(s, UNIT, done_cb, NULL));
	run_until(1, GUARD_MS);
	ck_assert_int_eq(res.err[0], -ETIMEDOUT);
	ck_assert_uint_ge(now_ms() - t0, 290);
	ck_assert_uint_lt(now_ms() - t0, 3000);
	ck_assert(sysd_is_connected(s));
	sysd_close(s);
	drain();
	sd_bus_flush_close_unref(peer);
}
END_TEST

static struct sysd *close_me;

static void close_timer_cb(uv_timer_t *t)
{
	sysd_close(close_me);
	/* the pending callback fired inside sysd_close */
	ck_assert_int_eq(res.calls, 1);
	uv_close((uv_handle_t *)t, NULL);
}

START_TEST(test_pending_call_gets_ecanceled_on_close)
{
	uv_timer_t t;
	sd_bus *peer;

	if (env_check())
		return;
	peer = hung_peer("org.freedesktop.systemd1");
	close_me = open_sysd();
	QUEUE(sysd_get_active_state(close_me, UNIT, state_cb, NULL));
	/* let the call reach the (silent) peer, then close while it is in flight */
	ck_assert_int_eq(uv_timer_init(&loop, &t), 0);
	ck_assert_int_eq(uv_timer_start(&t, close_timer_cb, 300, 0), 0);
	run_until(1, GUARD_MS);
	ck_assert_int_eq(res.err[0], -ECANCELED);
	ck_assert_str_eq(res.state[0], "(null)");
	drain();
	ck_assert_int_eq(res.calls, 1);
	sd_bus_flush_close_unref(peer);
}
END_TEST

static void kill_daemon_cb(uv_timer_t *t)
{
	kill(env.pid[P_DAEMON], SIGKILL); /* our own child's pid, inherited from the fixture */
	uv_close((uv_handle_t *)t, NULL);
}

START_TEST(test_bus_drop_fails_pending_call_and_disconnects)
{
	struct sysd *s;
	uv_timer_t t;
	sd_bus *peer;

	if (env_check())
		return;
	ck_assert_int_gt(env.pid[P_DAEMON], 0);
	peer = hung_peer("org.freedesktop.systemd1");
	s = open_sysd();
	QUEUE(sysd_stop_unit(s, UNIT, done_cb, NULL));
	ck_assert_int_eq(uv_timer_init(&loop, &t), 0);
	ck_assert_int_eq(uv_timer_start(&t, kill_daemon_cb, 200, 0), 0);
	run_until(1, GUARD_MS);
	ck_assert_int_eq(res.err[0], -ECONNRESET);
	run_for(50);
	ck_assert(!sysd_is_connected(s));
	ck_assert_int_eq(sysd_get_active_state(s, UNIT, state_cb, NULL), -ENOTCONN);
	sysd_close(s);
	drain();
	ck_assert_int_eq(res.calls, 1);
	sd_bus_close_unref(peer);
}
END_TEST

/* ---- no bus at all ---- */

START_TEST(test_unreachable_bus_open_fails)
{
	struct sysd *s = (struct sysd *)&s;
	int r;

	setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/cassandra-agent-test/bus", 1);
	r = sysd_open(&loop, &s);
	ck_assert_int_lt(r, 0);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(sysd_open(NULL, &s), -EINVAL);
	sysd_close(NULL);
}
END_TEST

static Suite *systemd_suite(void)
{
	Suite *s = suite_create("systemd");
	TCase *tc;

	tc = tcase_create("dbusmock");
	tcase_add_unchecked_fixture(tc, env_start_mocks, env_stop);
	tcase_add_checked_fixture(tc, loop_setup, loop_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_unit_inactive_then_started_active_then_stopped_inactive);
	tcase_add_test(tc, test_unknown_unit_reports_inactive);
	tcase_add_test(tc, test_start_of_unknown_unit_reports_error);
	tcase_add_test(tc, test_reboot_call_succeeds);
	tcase_add_test(tc, test_close_cancels_calls_queued_before_connect);
	tcase_add_test(tc, test_close_from_inside_callback_cancels_the_rest);
	suite_add_tcase(s, tc);

	tc = tcase_create("hung_peer");
	tcase_add_unchecked_fixture(tc, env_start_bus_only, env_stop);
	tcase_add_checked_fixture(tc, loop_setup, loop_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_hung_peer_call_times_out);
	tcase_add_test(tc, test_pending_call_gets_ecanceled_on_close);
	suite_add_tcase(s, tc);

	tc = tcase_create("bus_drop");
	tcase_add_unchecked_fixture(tc, env_start_bus_only, env_stop);
	tcase_add_checked_fixture(tc, loop_setup, loop_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_bus_drop_fails_pending_call_and_disconnects);
	suite_add_tcase(s, tc);

	tc = tcase_create("no_bus");
	tcase_add_checked_fixture(tc, loop_setup, loop_teardown);
	tcase_add_test(tc, test_unreachable_bus_open_fails);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	return check_run_forked(systemd_suite(), CK_ENV);
}
