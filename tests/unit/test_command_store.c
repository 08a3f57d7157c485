/* Tests of the command journal: durability callbacks, reload, interruption, torn tails, expiry. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "command_store.h"
#include "log.h"

#define ST(x) CASSANDRA_AGENT__V1__COMMAND_STATUS__COMMAND_STATUS_##x
#define NOW   1700000000000LL

static uv_loop_t loop;
static char dir[64];
static int synced;
static int sync_err;

static void setup(void)
{
	log_init(false, LOG_ERR);
	snprintf(dir, sizeof dir, "/tmp/store-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	synced = 0;
	sync_err = 0;
}

static void teardown(void)
{
	char path[128];

	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	snprintf(path, sizeof path, "%s/%s", dir, COMMAND_STORE_FILE);
	unlink(path);
	rmdir(dir);
}

static void synced_cb(void *data, int err)
{
	(void)data;
	synced++;
	if (err)
		sync_err = err;
}

static struct command_store *open_store(int64_t now)
{
	struct command_store *s;
	char err[256];

	ck_assert_int_eq(command_store_open(&loop, dir, now, &s, err, sizeof err), 0);
	return s;
}

static void close_store(struct command_store *s)
{
	command_store_close(s);
	uv_run(&loop, UV_RUN_DEFAULT);
}

START_TEST(put_fires_the_callback_once_durable_and_get_returns_it)
{
	struct command_store *s = open_store(NOW);
	const struct stored_command *sc;

	ck_assert_int_eq(command_store_put(s, "c1", "run_nodetool", ST(SUCCEEDED), "ok", (const uint8_t *)"out", 3, NOW,
					   synced_cb, NULL),
			 0);
	sc = command_store_get(s, "c1");
	ck_assert_ptr_nonnull(sc);
	ck_assert(!sc->durable);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(synced, 1);
	ck_assert_int_eq(sync_err, 0);
	sc = command_store_get(s, "c1");
	ck_assert(sc->durable);
	ck_assert_int_eq(sc->status, ST(SUCCEEDED));
	ck_assert_uint_eq(sc->output_len, 3);
	ck_assert_int_eq(memcmp(sc->output, "out", 3), 0);
	ck_assert_ptr_null(command_store_get(s, "c2"));
	close_store(s);
}
END_TEST

START_TEST(results_survive_a_reopen_with_their_delivery_state)
{
	struct command_store *s = open_store(NOW);
	const char *ids[4];

	command_store_put(s, "a", "run_nodetool", ST(SUCCEEDED), "ok", NULL, 0, NOW, NULL, NULL);
	command_store_put(s, "b", "run_nodetool", ST(REJECTED), "no", NULL, 0, NOW, NULL, NULL);
	command_store_mark_delivered(s, "a");
	close_store(s);
	s = open_store(NOW + 1000);
	ck_assert_uint_eq(command_store_count(s), 2);
	ck_assert(command_store_get(s, "a")->delivered);
	ck_assert_int_eq(command_store_get(s, "b")->status, ST(REJECTED));
	ck_assert_uint_eq(command_store_undelivered(s, ids, 4), 1);
	ck_assert_str_eq(ids[0], "b");
	close_store(s);
}
END_TEST

START_TEST(a_command_left_running_is_reported_interrupted_never_rerun)
{
	struct command_store *s = open_store(NOW);
	const struct stored_command *sc;
	const char *ids[4];

	command_store_put(s, "r", "run_nodetool", ST(RUNNING), "running", NULL, 0, NOW, NULL, NULL);
	command_store_put(s, "q", "run_nodetool", ST(ACCEPTED), "accepted", NULL, 0, NOW, NULL, NULL);
	close_store(s);
	s = open_store(NOW + 1000);
	sc = command_store_get(s, "r");
	ck_assert_int_eq(sc->status, ST(FAILED));
	ck_assert_ptr_nonnull(strstr(sc->message, "interrupted"));
	ck_assert_str_eq(sc->kind, "run_nodetool");
	ck_assert_int_eq(command_store_get(s, "q")->status, ST(FAILED));
	ck_assert_uint_eq(command_store_undelivered(s, ids, 4), 2);
	close_store(s);
}
END_TEST

START_TEST(a_torn_tail_is_dropped_and_the_rest_kept)
{
	struct command_store *s = open_store(NOW);
	char path[128];
	int fd;

	command_store_put(s, "good", "run_nodetool", ST(SUCCEEDED), "ok", NULL, 0, NOW, NULL, NULL);
	close_store(s);
	snprintf(path, sizeof path, "%s/%s", dir, COMMAND_STORE_FILE);
	fd = open(path, O_WRONLY | O_APPEND);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "\x00\x00\x01\x00garbage", 11), 11); /* claims 256 bytes, has 7 */
	close(fd);
	s = open_store(NOW + 1);
	ck_assert_uint_eq(command_store_count(s), 1);
	ck_assert_ptr_nonnull(command_store_get(s, "good"));
	close_store(s);
}
END_TEST

START_TEST(records_older_than_a_day_are_dropped)
{
	struct command_store *s = open_store(NOW);

	command_store_put(s, "old", "run_nodetool", ST(SUCCEEDED), "ok", NULL, 0, NOW, NULL, NULL);
	command_store_put(s, "new", "run_nodetool", ST(SUCCEEDED), "ok", NULL, 0, NOW + 3600000, NULL, NULL);
	close_store(s);
	s = open_store(NOW + COMMAND_STORE_KEEP_MS + 1);
	ck_assert_ptr_null(command_store_get(s, "old"));
	ck_assert_ptr_nonnull(command_store_get(s, "new"));
	command_store_expire(s, NOW + 3600000 + COMMAND_STORE_KEEP_MS);
	ck_assert_ptr_null(command_store_get(s, "new"));
	close_store(s);
}
END_TEST

START_TEST(many_puts_are_grouped_into_few_syncs_and_keep_order)
{
	struct command_store *s = open_store(NOW);
	const char *ids[600];
	char id[16];

	for (int i = 0; i < 500; i++) {
		snprintf(id, sizeof id, "c%03d", i);
		ck_assert_int_eq(
			command_store_put(s, id, "run_nodetool", ST(REJECTED), "no", NULL, 0, NOW, synced_cb, NULL), 0);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(synced, 500);
	ck_assert(command_store_idle(s));
	ck_assert_uint_eq(command_store_undelivered(s, ids, 600), 500);
	ck_assert_str_eq(ids[0], "c000");
	ck_assert_str_eq(ids[499], "c499");
	close_store(s);
}
END_TEST

START_TEST(empty_id_is_refused)
{
	struct command_store *s = open_store(NOW);

	ck_assert_int_eq(command_store_put(s, "", "x", ST(REJECTED), "", NULL, 0, NOW, NULL, NULL), -EINVAL);
	close_store(s);
}
END_TEST

START_TEST(unwritable_state_directory_is_an_error_at_open)
{
	struct command_store *s = NULL;
	char err[256] = "";

	if (geteuid() == 0) {
		/* root ignores permissions: use a path under a regular file instead */
		ck_assert_int_lt(command_store_open(&loop, "/dev/null/x", NOW, &s, err, sizeof err), 0);
	} else {
		chmod(dir, 0500);
		ck_assert_int_lt(command_store_open(&loop, dir, NOW, &s, err, sizeof err), 0);
		chmod(dir, 0700);
	}
	ck_assert_str_ne(err, "");
}
END_TEST

int main(void)
{
	Suite *su = suite_create("command_store");
	TCase *tc = tcase_create("journal");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, put_fires_the_callback_once_durable_and_get_returns_it);
	tcase_add_test(tc, results_survive_a_reopen_with_their_delivery_state);
	tcase_add_test(tc, a_command_left_running_is_reported_interrupted_never_rerun);
	tcase_add_test(tc, a_torn_tail_is_dropped_and_the_rest_kept);
	tcase_add_test(tc, records_older_than_a_day_are_dropped);
	tcase_add_test(tc, many_puts_are_grouped_into_few_syncs_and_keep_order);
	tcase_add_test(tc, empty_id_is_refused);
	tcase_add_test(tc, unwritable_state_directory_is_an_error_at_open);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
