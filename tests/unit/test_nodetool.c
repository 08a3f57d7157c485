/* Tests of the nodetool runner: real child processes on a real libuv loop. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nodetool.h"
#include "check_run.h"

struct outcome {
	int calls;
	int err;
	int exit_status;
	size_t out_len;
	bool truncated;
	char out[256];
	char errtext[256];
	uint64_t duration_ms;
};

static uv_loop_t loop;
static uv_timer_t guard;

static void guard_cb(uv_timer_t *t)
{
	(void)t;
	ck_abort_msg("loop did not finish in time");
}

static void setup(void)
{
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	uv_timer_init(&loop, &guard);
	uv_timer_start(&guard, guard_cb, 20000, 0);
	uv_unref((uv_handle_t *)&guard);
}

static void teardown(void)
{
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}

static void done_cb(void *data, const struct nodetool_result *res)
{
	struct outcome *o = data;

	o->calls++;
	o->err = res->err;
	o->exit_status = res->exit_status;
	o->out_len = res->out_len;
	o->truncated = res->out_truncated;
	o->duration_ms = res->duration_ms;
	snprintf(o->out, sizeof o->out, "%s", res->out);
	snprintf(o->errtext, sizeof o->errtext, "%s", res->errtext);
}

/* Runs `prefix args` to completion and returns what the callback saw. */
static struct outcome run(const char *const *prefix, const char *const *args, uint64_t timeout_ms)
{
	struct nodetool_runner *r;
	struct outcome o = {0};

	ck_assert_int_eq(nodetool_runner_new(&loop, prefix, &r), 0);
	ck_assert_int_eq(nodetool_run(r, args, timeout_ms, done_cb, &o, NULL), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(o.calls, 1);
	ck_assert_uint_eq(nodetool_runner_active(r), 0);
	nodetool_runner_close(r);
	return o;
}

START_TEST(prefix_and_subcommand_are_argv_not_shell)
{
	const char *prefix[] = {"/bin/echo", "-n", NULL};
	const char *args[] = {"status", "; rm -rf /", "$(id)", NULL};
	struct outcome o = run(prefix, args, 5000);

	ck_assert_int_eq(o.err, 0);
	ck_assert_str_eq(o.out, "status ; rm -rf / $(id)");
}
END_TEST

START_TEST(nonzero_exit_reports_stderr_first_line)
{
	const char *prefix[] = {"/bin/sh", "-c", "echo 'nodetool: Failed to connect' >&2; echo more >&2; exit 1", "sh",
				NULL};
	const char *args[] = {"status", NULL};
	struct outcome o = run(prefix, args, 5000);

	ck_assert_int_eq(o.err, -ECHILD);
	ck_assert_int_eq(o.exit_status, 1);
	ck_assert_str_eq(o.errtext, "exit status 1: nodetool: Failed to connect");
}
END_TEST

/* True when `pid` no longer runs (absent, or a zombie nobody reaped yet). */
static bool process_gone(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	char *p;

	if (kill(pid, 0) != 0)
		return true;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	p = fgets(buf, sizeof buf, f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return p && p[1] == ' ' && p[2] == 'Z';
}

START_TEST(hang_is_killed_with_its_process_group_at_the_timeout)
{
	/* The child starts a grandchild that would keep the pipe open; both must die. */
	char pidfile[] = "/tmp/nt-test-XXXXXX";
	int fd = mkstemp(pidfile);
	char script[256];
	const char *args[] = {"status", NULL};
	pid_t grandchild = 0;
	FILE *f;

	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(script, sizeof script, "sleep 60 & echo $! > %s; wait", pidfile);
	const char *prefix[] = {"/bin/sh", "-c", script, "sh", NULL};
	struct outcome o = run(prefix, args, 300);

	ck_assert_int_eq(o.err, -ETIMEDOUT);
	ck_assert_uint_lt(o.duration_ms, 5000);
	f = fopen(pidfile, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%d", &grandchild), 1);
	fclose(f);
	unlink(pidfile);
	usleep(100000);
	ck_assert(process_gone(grandchild));
}
END_TEST

START_TEST(output_is_capped_at_one_mebibyte)
{
	const char *prefix[] = {"/bin/sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' x", "sh", NULL};
	const char *args[] = {"status", NULL};
	struct outcome o = run(prefix, args, 10000);

	ck_assert_int_eq(o.err, 0);
	ck_assert_uint_eq(o.out_len, NODETOOL_OUTPUT_MAX);
	ck_assert(o.truncated);
}
END_TEST

START_TEST(missing_binary_is_reported_from_the_loop)
{
	const char *prefix[] = {"/nonexistent/nodetool", NULL};
	const char *args[] = {"status", NULL};
	struct outcome o = run(prefix, args, 1000);

	ck_assert_int_eq(o.err, -ENOENT);
	ck_assert_ptr_nonnull(strstr(o.errtext, "/nonexistent/nodetool"));
}
END_TEST

START_TEST(close_cancels_calls_under_way)
{
	const char *prefix[] = {"/bin/sleep", NULL};
	const char *args[] = {"60", NULL};
	struct nodetool_runner *r;
	struct outcome o = {0};

	ck_assert_int_eq(nodetool_runner_new(&loop, prefix, &r), 0);
	ck_assert_int_eq(nodetool_run(r, args, 60000, done_cb, &o, NULL), 0);
	uv_run(&loop, UV_RUN_NOWAIT);
	nodetool_runner_close(r);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(o.calls, 1);
	ck_assert_int_eq(o.err, -ECANCELED);
}
END_TEST

START_TEST(empty_prefix_is_refused)
{
	const char *prefix[] = {NULL};
	struct nodetool_runner *r = NULL;

	ck_assert_int_eq(nodetool_runner_new(&loop, prefix, &r), -EINVAL);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("nodetool");
	TCase *tc = tcase_create("runner");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, prefix_and_subcommand_are_argv_not_shell);
	tcase_add_test(tc, nonzero_exit_reports_stderr_first_line);
	tcase_add_test(tc, hang_is_killed_with_its_process_group_at_the_timeout);
	tcase_add_test(tc, output_is_capped_at_one_mebibyte);
	tcase_add_test(tc, missing_binary_is_reported_from_the_loop);
	tcase_add_test(tc, close_cancels_calls_under_way);
	tcase_add_test(tc, empty_prefix_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(suite());
}
