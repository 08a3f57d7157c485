/* Tests of the dispatcher: the nodetool allow-list, and idempotent execution on a real loop. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dispatch.h"
#include "log.h"
#include "check_run.h"

#define ST(x) CASSANDRA_AGENT__V1__COMMAND_STATUS__COMMAND_STATUS_##x

/* ---- allow-list (pure) -------------------------------------------------------------- */

static int check(const char *sub, const char *const *args, size_t n, char *err)
{
	CassandraAgent__V1__RunNodetool r = CASSANDRA_AGENT__V1__RUN_NODETOOL__INIT;
	bool long_running;

	r.subcommand = (char *)sub;
	r.args = (char **)args;
	r.n_args = n;
	return dispatch_check_nodetool(&r, NULL, &long_running, err, 256);
}

START_TEST(allowed_subcommands_with_valid_names_pass)
{
	char err[256];
	const char *ks[] = {"app", "orders"};
	const char *pr[] = {"-pr", "app"};

	ck_assert_int_eq(check("status", NULL, 0, err), 0);
	ck_assert_int_eq(check("status", ks, 1, err), 0);
	ck_assert_int_eq(check("flush", ks, 2, err), 0);
	ck_assert_int_eq(check("repair", pr, 2, err), 0);
	ck_assert_int_eq(check("describecluster", NULL, 0, err), 0);
}
END_TEST

START_TEST(disallowed_subcommands_are_refused)
{
	char err[256];

	ck_assert_int_eq(check("decommission", NULL, 0, err), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "not allowed"));
	ck_assert_int_eq(check("drain", NULL, 0, err), -EPERM);
	ck_assert_int_eq(check("", NULL, 0, err), -EPERM);
	ck_assert_int_eq(check("status; rm -rf /", NULL, 0, err), -EPERM);
}
END_TEST

START_TEST(shell_metacharacters_and_bad_names_are_refused)
{
	char err[256];
	const char *a1[] = {"; rm -rf /"}, *a2[] = {"$(id)"}, *a3[] = {"app-x"}, *a4[] = {"../etc"};
	const char *two[] = {"a", "b"};

	ck_assert_int_eq(check("status", a1, 1, err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "refused"));
	ck_assert_int_eq(check("flush", a2, 1, err), -EINVAL);
	ck_assert_int_eq(check("flush", a3, 1, err), -EINVAL);
	ck_assert_int_eq(check("cleanup", a4, 1, err), -EINVAL);
	ck_assert_int_eq(check("status", two, 2, err), -EINVAL); /* status takes one keyspace */
	ck_assert_int_eq(check("info", two, 1, err), -EINVAL);
}
END_TEST

START_TEST(rebuild_needs_a_source_datacenter)
{
	char err[256];
	const char *dc[] = {"dc2"};

	ck_assert_int_eq(check("rebuild", NULL, 0, err), -EINVAL);
	ck_assert_int_eq(check("rebuild", dc, 1, err), 0); /* no ring view given: name checked only */
}
END_TEST

/* ---- execution on a loop ------------------------------------------------------------- */

static uv_loop_t loop;
static char dir[64], calls[128], script[128];
static struct command_store *store;
static struct nodetool_runner *runner;
static struct dispatch *disp;
static struct agent_config cfg;
static struct {
	char id[64];
	CassandraAgent__V1__CommandStatus status;
	char message[256];
	char output[256];
} updates[64];
static int n_updates;

static int send_cb(void *data, const CassandraAgent__V1__CommandUpdate *u)
{
	(void)data;
	ck_assert_int_lt(n_updates, 64);
	snprintf(updates[n_updates].id, 64, "%s", u->id);
	updates[n_updates].status = u->status;
	snprintf(updates[n_updates].message, 256, "%s", u->message);
	snprintf(updates[n_updates].output, 256, "%.*s", (int)u->output.len, (const char *)u->output.data);
	n_updates++;
	return 0;
}

static void setup(void)
{
	char err[256];
	FILE *f;
	struct dispatch_deps deps = {0};

	log_init(false, LOG_ERR);
	snprintf(dir, sizeof dir, "/tmp/dispatch-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(calls, sizeof calls, "%s/calls", dir);
	snprintf(script, sizeof script, "%s/nodetool", dir);
	/* A nodetool that logs each call and prints its arguments. */
	f = fopen(script, "w");
	fprintf(f, "#!/bin/sh\necho \"$@\" >> %s\necho \"out: $*\"\n", calls);
	fclose(f);
	chmod(script, 0755);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	ck_assert_int_eq(config_defaults(&cfg), 0);
	ck_assert_int_eq(command_store_open(&loop, dir, 1700000000000LL, &store, err, sizeof err), 0);
	const char *prefix[] = {script, NULL};

	ck_assert_int_eq(nodetool_runner_new(&loop, prefix, &runner), 0);
	deps.loop = &loop;
	deps.store = store;
	deps.runner = runner;
	deps.cfg = &cfg;
	deps.send_update = send_cb;
	ck_assert_int_eq(dispatch_new(&deps, &disp), 0);
	n_updates = 0;
}

static void teardown(void)
{
	char cmd[128];

	dispatch_close(disp);
	nodetool_runner_close(runner);
	command_store_close(store);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	config_free(&cfg);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static int count_calls(void)
{
	FILE *f = fopen(calls, "r");
	int n = 0, c;

	if (!f)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void run_nodetool(const char *id, const char *sub, const char *arg)
{
	CassandraAgent__V1__Command cmd = CASSANDRA_AGENT__V1__COMMAND__INIT;
	CassandraAgent__V1__RunNodetool r = CASSANDRA_AGENT__V1__RUN_NODETOOL__INIT;
	char *args[1] = {(char *)arg};

	r.subcommand = (char *)sub;
	r.args = args;
	r.n_args = arg ? 1 : 0;
	cmd.id = (char *)id;
	cmd.kind_case = CASSANDRA_AGENT__V1__COMMAND__KIND_RUN_NODETOOL;
	cmd.run_nodetool = &r;
	dispatch_command(disp, &cmd);
}

START_TEST(accepted_running_succeeded_with_output)
{
	run_nodetool("c1", "status", "app");
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(n_updates, 3);
	ck_assert_int_eq(updates[0].status, ST(ACCEPTED));
	ck_assert_int_eq(updates[1].status, ST(RUNNING));
	ck_assert_int_eq(updates[2].status, ST(SUCCEEDED));
	ck_assert_str_eq(updates[2].output, "out: status app\n");
	ck_assert_int_eq(count_calls(), 1);
}
END_TEST

START_TEST(repeated_id_returns_the_stored_result_and_never_runs_twice)
{
	run_nodetool("c1", "status", NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	run_nodetool("c1", "status", NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(count_calls(), 1);
	ck_assert_int_eq(n_updates, 4);
	ck_assert_int_eq(updates[3].status, ST(SUCCEEDED));
	ck_assert_str_eq(updates[3].output, updates[2].output);
}
END_TEST

START_TEST(refused_commands_are_rejected_stored_and_nothing_runs)
{
	CassandraAgent__V1__Command cmd = CASSANDRA_AGENT__V1__COMMAND__INIT;

	run_nodetool("bad1", "decommission", NULL);
	run_nodetool("bad2", "status", "; rm -rf /");
	cmd.id = (char *)"later";
	cmd.kind_case = CASSANDRA_AGENT__V1__COMMAND__KIND__NOT_SET; /* a kind this agent does not know */
	dispatch_command(disp, &cmd);
	cmd.id = (char *)"";
	dispatch_command(disp, &cmd);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(count_calls(), 0);
	ck_assert_int_eq(n_updates, 4);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(updates[i].status, ST(REJECTED));
	ck_assert_ptr_nonnull(strstr(updates[0].message, "not allowed") ? updates[0].message
									: strstr(updates[1].message, "not allowed"));
	ck_assert_ptr_nonnull(command_store_get(store, "bad1"));
	ck_assert_ptr_nonnull(command_store_get(store, "later"));
	bool not_impl = false;

	for (int i = 0; i < 4; i++)
		not_impl |= strstr(updates[i].message, "unknown or missing command kind") != NULL;
	ck_assert(not_impl);
}
END_TEST

START_TEST(commands_run_one_at_a_time_in_arrival_order)
{
	char id[8];
	int last_final = -1;

	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof id, "o%d", i);
		run_nodetool(id, "info", NULL);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(count_calls(), 10);
	for (int i = 0; i < n_updates; i++) {
		if (updates[i].status != ST(SUCCEEDED))
			continue;
		ck_assert_int_eq(atoi(updates[i].id + 1), last_final + 1);
		last_final++;
	}
	ck_assert_int_eq(last_final, 9);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dispatch");
	TCase *pure = tcase_create("allow-list"), *tc = tcase_create("execution");

	tcase_add_test(pure, allowed_subcommands_with_valid_names_pass);
	tcase_add_test(pure, disallowed_subcommands_are_refused);
	tcase_add_test(pure, shell_metacharacters_and_bad_names_are_refused);
	tcase_add_test(pure, rebuild_needs_a_source_datacenter);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, accepted_running_succeeded_with_output);
	tcase_add_test(tc, repeated_id_returns_the_stored_result_and_never_runs_twice);
	tcase_add_test(tc, refused_commands_are_rejected_stored_and_nothing_runs);
	tcase_add_test(tc, commands_run_one_at_a_time_in_arrival_order);
	suite_add_tcase(s, pure);
	suite_add_tcase(s, tc);
	return check_run(s);
}
