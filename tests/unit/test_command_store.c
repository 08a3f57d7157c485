/* Tests of the command journal: durability callbacks, reload, interruption, torn tails, expiry. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "command_store.h"
#include "log.h"
#include "check_run.h"

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

static int observed_n, observed_err;

static void observer_cb(void *data, int err)
{
	(void)data;
	observed_n++;
	observed_err = err;
}

static off_t journal_size(void)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof path, "%s/%s", dir, COMMAND_STORE_FILE);
	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

/* The descriptor the store holds on its journal (found in /proc/self/fd). */
static int journal_fd(void)
{
	char path[128], link[256], target[256];
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int fd = -1;

	ck_assert_ptr_nonnull(d);
	snprintf(path, sizeof path, "%s/%s", dir, COMMAND_STORE_FILE);
	while ((de = readdir(d))) {
		ssize_t n;

		snprintf(link, sizeof link, "/proc/self/fd/%s", de->d_name);
		n = readlink(link, target, sizeof target - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, path) == 0)
			fd = atoi(de->d_name);
	}
	closedir(d);
	ck_assert_int_ge(fd, 0);
	return fd;
}

START_TEST(a_full_disk_keeps_the_journal_whole_and_the_results_are_written_later)
{
	struct command_store *s = open_store(NOW);
	int fd, saved, full;
	off_t before;

	command_store_observe(s, observer_cb, NULL);
	command_store_put(s, "a", "run_nodetool", ST(SUCCEEDED), "ok", NULL, 0, NOW, synced_cb, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(sync_err, 0);
	ck_assert_int_eq(observed_err, 0);
	before = journal_size();
	/* The journal's descriptor now writes to /dev/full: every write fails with ENOSPC. */
	fd = journal_fd();
	saved = dup(fd);
	full = open("/dev/full", O_WRONLY);
	ck_assert_int_ge(full, 0);
	ck_assert_int_eq(dup2(full, fd), fd);
	command_store_put(s, "b", "run_nodetool", ST(SUCCEEDED), "ok", (const uint8_t *)"out", 3, NOW, synced_cb, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(sync_err, -ENOSPC);
	ck_assert_int_eq(observed_err, -ENOSPC);
	ck_assert_int_eq(command_store_error(s), -ENOSPC);
	ck_assert(!command_store_get(s, "b")->durable);
	/* A retry while still full fails again and changes nothing on disk. */
	command_store_retry(s);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(command_store_error(s), -ENOSPC);
	command_store_put(s, "c", "run_nodetool", ST(RUNNING), "running", NULL, 0, NOW, NULL, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(journal_size(), before);
	/* Space again: the retry writes what was kept in memory. */
	ck_assert_int_eq(dup2(saved, fd), fd);
	close(saved);
	close(full);
	observed_n = 0;
	command_store_retry(s);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(observed_n, 1);
	ck_assert_int_eq(observed_err, 0);
	ck_assert_int_eq(command_store_error(s), 0);
	ck_assert(command_store_get(s, "b")->durable);
	ck_assert(command_store_get(s, "c")->durable);
	close_store(s);
	s = open_store(NOW + 1);
	ck_assert_uint_eq(command_store_count(s), 3);
	ck_assert_int_eq(command_store_get(s, "b")->status, ST(SUCCEEDED));
	ck_assert_uint_eq(command_store_get(s, "b")->output_len, 3);
	ck_assert_int_eq(command_store_get(s, "c")->status, ST(FAILED)); /* interrupted */
	close_store(s);
}
END_TEST

START_TEST(a_torn_write_is_cut_back_so_later_records_are_not_lost)
{
	struct command_store *s = open_store(NOW);
	static uint8_t big[4096];
	struct rlimit old, lim;
	off_t before;

	command_store_put(s, "a", "run_nodetool", ST(SUCCEEDED), "ok", NULL, 0, NOW, synced_cb, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	before = journal_size();
	/* RLIMIT_FSIZE lets 100 bytes of the next record through, then EFBIG: a torn record. */
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)before + 100;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	memset(big, 'x', sizeof big);
	command_store_put(s, "b", "run_nodetool", ST(SUCCEEDED), "ok", big, sizeof big, NOW, synced_cb, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(sync_err, -EFBIG);
	ck_assert_int_eq(journal_size(), before); /* cut back to the last whole record */
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	sync_err = 0;
	command_store_put(s, "c", "run_nodetool", ST(SUCCEEDED), "ok", NULL, 0, NOW, synced_cb, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(sync_err, 0);
	close_store(s);
	s = open_store(NOW + 1);
	ck_assert_uint_eq(command_store_count(s), 3);
	ck_assert_uint_eq(command_store_get(s, "b")->output_len, sizeof big);
	ck_assert_ptr_nonnull(command_store_get(s, "c"));
	close_store(s);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("command_store");
	TCase *tc = tcase_create("journal");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, put_fires_the_callback_once_durable_and_get_returns_it);
	tcase_add_test(tc, results_survive_a_reopen_with_their_delivery_state);
	tcase_add_test(tc, a_command_left_running_is_reported_interrupted_never_rerun);
	tcase_add_test(tc, a_torn_tail_is_dropped_and_the_rest_kept);
	tcase_add_test(tc, records_older_than_a_day_are_dropped);
	tcase_add_test(tc, many_puts_are_grouped_into_few_syncs_and_keep_order);
	tcase_add_test(tc, empty_id_is_refused);
	tcase_add_test(tc, unwritable_state_directory_is_an_error_at_open);
	tcase_add_test(tc, a_full_disk_keeps_the_journal_whole_and_the_results_are_written_later);
	tcase_add_test(tc, a_torn_write_is_cut_back_so_later_records_are_not_lost);
	suite_add_tcase(su, tc);
	return check_run(su);
}
