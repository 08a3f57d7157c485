/* test_fileio: Check unit tests of crash-safe file replacement, history and bounded reads (agent/fileio.c). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "check_run.h"
#include "fileio.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERR_MAX 512

static char dir[256];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_fileio.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	unsetenv("CASSANDRA_AGENT_FAULT");
}

static void rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char sub[1024];

	if (lstat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode) && (d = opendir(path))) {
		while ((de = readdir(d))) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			rm_rf(sub);
		}
		closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static void teardown(void)
{
	rm_rf(dir);
}

static void put_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	chmod(path, mode);
}

static void assert_file(const char *path, const char *want)
{
	char *buf, err[ERR_MAX];
	size_t len;

	ck_assert_msg(fileio_read(path, 1 << 20, &buf, &len, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_str_eq(buf, want);
	free(buf);
}

/* Entries of `path` whose name starts with '.' (temporary files), not counting . and .. */
static int hidden_entries(const char *path)
{
	struct dirent *de;
	DIR *d = opendir(path);
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] == '.' && strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int history_count(const char *hist, const char *name)
{
	char **v;
	int n = fileio_history(hist, name, &v);

	fileio_strv_free(v);
	return n;
}

START_TEST(read_returns_the_whole_file)
{
	char path[512], *buf, err[ERR_MAX];
	size_t len;

	snprintf(path, sizeof(path), "%s/f", dir);
	put_file(path, "abc\ndef", 0644);
	ck_assert_int_eq(fileio_read(path, 7, &buf, &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 7);
	ck_assert_str_eq(buf, "abc\ndef");
	free(buf);
}
END_TEST

START_TEST(read_refuses_a_20_mib_file_without_reading_it)
{
	char path[512], *buf = (char *)1, err[ERR_MAX];
	size_t len;
	int fd;

	snprintf(path, sizeof(path), "%s/big", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 20 << 20), 0);
	close(fd);
	ck_assert_int_eq(fileio_read(path, 16 << 20, &buf, &len, err, sizeof(err)), -EFBIG);
	ck_assert_ptr_null(buf);
	ck_assert_ptr_nonnull(strstr(err, "20971520 bytes, more than the limit"));
	put_file(path, "12345", 0644);
	ck_assert_int_eq(fileio_read(path, 4, &buf, &len, err, sizeof(err)), -EFBIG);
}
END_TEST

START_TEST(read_refuses_missing_files_and_directories)
{
	char path[512], *buf, err[ERR_MAX];
	size_t len;

	snprintf(path, sizeof(path), "%s/none", dir);
	ck_assert_int_eq(fileio_read(path, 10, &buf, &len, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "open "));
	ck_assert_int_eq(fileio_read(dir, 10, &buf, &len, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
}
END_TEST

START_TEST(replace_creates_a_new_file_with_the_given_mode)
{
	char path[512], err[ERR_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/new.yaml", dir);
	ck_assert_int_eq(fileio_replace(path, "x: 1\n", 5, 0640, NULL, 0, err, sizeof(err)), 0);
	assert_file(path, "x: 1\n");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	ck_assert_int_eq(hidden_entries(dir), 0);
}
END_TEST

START_TEST(replace_keeps_the_mode_and_owner_of_the_old_file)
{
	char path[512], err[ERR_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/c.yaml", dir);
	put_file(path, "old\n", 0604);
	if (geteuid() == 0)
		ck_assert_int_eq(chown(path, 1234, 2345), 0);
	ck_assert_int_eq(fileio_replace(path, "new\n", 4, 0600, NULL, 0, err, sizeof(err)), 0);
	assert_file(path, "new\n");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0604);
	if (geteuid() == 0) {
		ck_assert_uint_eq(st.st_uid, 1234);
		ck_assert_uint_eq(st.st_gid, 2345);
	}
}
END_TEST

START_TEST(replace_saves_history_and_keeps_the_newest_copies)
{
	char path[512], hist[512], err[ERR_MAX], text[32], **v;
	int n;

	snprintf(path, sizeof(path), "%s/c.yaml", dir);
	snprintf(hist, sizeof(hist), "%s/state/history", dir);
	put_file(path, "v0\n", 0644);
	for (int i = 1; i <= 5; i++) {
		snprintf(text, sizeof(text), "v%d\n", i);
		ck_assert_msg(fileio_replace(path, text, strlen(text), 0644, hist, 3, err, sizeof(err)) == 0, "%s",
			      err);
	}
	assert_file(path, "v5\n");
	n = fileio_history(hist, "c.yaml", &v);
	ck_assert_int_eq(n, 3);
	assert_file(v[0], "v4\n");
	assert_file(v[1], "v3\n");
	assert_file(v[2], "v2\n");
	ck_assert_ptr_null(v[3]);
	ck_assert_ptr_nonnull(strstr(v[0], "/state/history/c.yaml."));
	ck_assert(strcmp(v[0], v[1]) > 0);
	fileio_strv_free(v);
	ck_assert_int_eq(hidden_entries(hist), 0);
}
END_TEST

START_TEST(replace_of_a_new_file_saves_no_history)
{
	char path[512], hist[512], err[ERR_MAX];

	snprintf(path, sizeof(path), "%s/c.yaml", dir);
	snprintf(hist, sizeof(hist), "%s/h", dir);
	ck_assert_int_eq(fileio_replace(path, "a\n", 2, 0644, hist, 20, err, sizeof(err)), 0);
	ck_assert_int_eq(history_count(hist, "c.yaml"), 0);
}
END_TEST

START_TEST(replace_through_a_symlink_keeps_the_link)
{
	char path[512], link_path[512], err[ERR_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/real.yaml", dir);
	snprintf(link_path, sizeof(link_path), "%s/link.yaml", dir);
	put_file(path, "old\n", 0644);
	ck_assert_int_eq(symlink("real.yaml", link_path), 0);
	ck_assert_int_eq(fileio_replace(link_path, "new\n", 4, 0644, NULL, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(lstat(link_path, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	assert_file(path, "new\n");
}
END_TEST

START_TEST(history_lists_only_copies_of_the_name_newest_first)
{
	char hist[512], p[700], **v;
	const char *names[] = {"c.yaml.20240101T000000.000Z",
			       "c.yaml.20250101T000000.000Z",
			       "c.yaml.20240601T120000.500Z",
			       "c.yaml.2024",
			       "c.yaml.20240101T000000.000Zx",
			       "d.yaml.20240101T000000.000Z",
			       ".c.yaml.Ab12Cd",
			       "c.yaml",
			       NULL};

	snprintf(hist, sizeof(hist), "%s/h", dir);
	ck_assert_int_eq(mkdir(hist, 0755), 0);
	for (const char **n = names; *n; n++) {
		snprintf(p, sizeof(p), "%s/%s", hist, *n);
		put_file(p, "x", 0644);
	}
	ck_assert_int_eq(fileio_history(hist, "c.yaml", &v), 3);
	ck_assert_ptr_nonnull(strstr(v[0], "20250101"));
	ck_assert_ptr_nonnull(strstr(v[1], "20240601"));
	ck_assert_ptr_nonnull(strstr(v[2], "20240101"));
	fileio_strv_free(v);
	snprintf(p, sizeof(p), "%s/missing", dir);
	ck_assert_int_eq(fileio_history(p, "c.yaml", &v), 0);
	ck_assert_ptr_null(v[0]);
	fileio_strv_free(v);
}
END_TEST

/* Fault injection: each step fails like the system call would; the old file stays, nothing is left over. */

static void fault_leaves_old_file(const char *fault, int want_rc, const char *want_msg)
{
	char path[512], hist[512], err[ERR_MAX] = "";
	const char *big = "new content that is long enough to be written in two halves\n";
	int rc;

	snprintf(path, sizeof(path), "%s/c.yaml", dir);
	snprintf(hist, sizeof(hist), "%s/h", dir);
	put_file(path, "old: 1\n", 0640);
	setenv("CASSANDRA_AGENT_FAULT", fault, 1);
	rc = fileio_replace(path, big, strlen(big), 0644, hist, 20, err, sizeof(err));
	unsetenv("CASSANDRA_AGENT_FAULT");
	ck_assert_msg(rc == want_rc, "%s: rc %d (%s)", fault, rc, err);
	ck_assert_msg(strstr(err, want_msg), "%s: '%s' not in '%s'", fault, want_msg, err);
	ck_assert_msg(strstr(err, "(injected)"), "%s: %s", fault, err);
	assert_file(path, "old: 1\n");
	ck_assert_int_eq(hidden_entries(dir), 0);
	ck_assert_int_eq(history_count(hist, "c.yaml"), 0);
	ck_assert_int_eq(hidden_entries(hist), 0);
	/* and the next write without a fault works */
	ck_assert_int_eq(fileio_replace(path, big, strlen(big), 0644, hist, 20, err, sizeof(err)), 0);
	assert_file(path, big);
	ck_assert_int_eq(history_count(hist, "c.yaml"), 1);
}

START_TEST(fault_write_leaves_the_old_file)
{
	fault_leaves_old_file("write", -EIO, "write ");
}
END_TEST

START_TEST(fault_short_write_leaves_the_old_file)
{
	fault_leaves_old_file("short_write", -EIO, "short write");
}
END_TEST

START_TEST(fault_enospc_leaves_the_old_file)
{
	fault_leaves_old_file("enospc", -ENOSPC, "No space left on device");
}
END_TEST

START_TEST(fault_fsync_leaves_the_old_file)
{
	fault_leaves_old_file("fsync", -EIO, "fsync ");
}
END_TEST

START_TEST(fault_rename_leaves_the_old_file)
{
	fault_leaves_old_file("rename", -EIO, "rename ");
}
END_TEST

START_TEST(fault_fsync_dir_puts_the_old_file_back)
{
	fault_leaves_old_file("fsync_dir", -EIO, "the old file was put back");
}
END_TEST

START_TEST(fault_on_a_new_file_leaves_no_file)
{
	static const char *const faults[] = {"write", "short_write", "enospc", "fsync", "rename", "fsync_dir", NULL};
	char path[512], err[ERR_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/new.yaml", dir);
	for (const char *const *f = faults; *f; f++) {
		setenv("CASSANDRA_AGENT_FAULT", *f, 1);
		ck_assert_int_lt(fileio_replace(path, "abc\n", 4, 0644, NULL, 0, err, sizeof(err)), 0);
		unsetenv("CASSANDRA_AGENT_FAULT");
		ck_assert_msg(stat(path, &st) < 0 && errno == ENOENT, "%s left %s", *f, path);
		ck_assert_int_eq(hidden_entries(dir), 0);
	}
}
END_TEST

START_TEST(unknown_fault_names_are_ignored)
{
	char path[512], err[ERR_MAX];

	snprintf(path, sizeof(path), "%s/c.yaml", dir);
	setenv("CASSANDRA_AGENT_FAULT", "nonsense", 1);
	ck_assert_int_eq(fileio_replace(path, "a\n", 2, 0644, NULL, 0, err, sizeof(err)), 0);
	unsetenv("CASSANDRA_AGENT_FAULT");
	assert_file(path, "a\n");
}
END_TEST

START_TEST(replace_reports_an_unwritable_directory)
{
	char path[512], err[ERR_MAX];

	snprintf(path, sizeof(path), "%s/nodir/c.yaml", dir);
	ck_assert_int_eq(fileio_replace(path, "a\n", 2, 0644, NULL, 0, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "create "));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("fileio");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, read_returns_the_whole_file);
	tcase_add_test(tc, read_refuses_a_20_mib_file_without_reading_it);
	tcase_add_test(tc, read_refuses_missing_files_and_directories);
	tcase_add_test(tc, replace_creates_a_new_file_with_the_given_mode);
	tcase_add_test(tc, replace_keeps_the_mode_and_owner_of_the_old_file);
	tcase_add_test(tc, replace_saves_history_and_keeps_the_newest_copies);
	tcase_add_test(tc, replace_of_a_new_file_saves_no_history);
	tcase_add_test(tc, replace_through_a_symlink_keeps_the_link);
	tcase_add_test(tc, history_lists_only_copies_of_the_name_newest_first);
	tcase_add_test(tc, fault_write_leaves_the_old_file);
	tcase_add_test(tc, fault_short_write_leaves_the_old_file);
	tcase_add_test(tc, fault_enospc_leaves_the_old_file);
	tcase_add_test(tc, fault_fsync_leaves_the_old_file);
	tcase_add_test(tc, fault_rename_leaves_the_old_file);
	tcase_add_test(tc, fault_fsync_dir_puts_the_old_file_back);
	tcase_add_test(tc, fault_on_a_new_file_leaves_no_file);
	tcase_add_test(tc, unknown_fault_names_are_ignored);
	tcase_add_test(tc, replace_reports_an_unwritable_directory);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_forked(suite(), CK_NORMAL);
}
