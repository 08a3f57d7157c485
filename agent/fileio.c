/* fileio: crash-safe file replacement (temp + fsync + rename + fsync dir) with history, and bounded reads. */
/* mkostemp and asprintf are GNU extensions; the build may already ask for them. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* "YYYYMMDDTHHMMSS.mmmZ" */
#define FILEIO_STAMP_LEN 20

/* Block size of the copy of the old file into history. */
#define FILEIO_COPY_BLOCK 65536

/* Mode of a history directory the agent creates. */
#define FILEIO_HISTORY_DIR_MODE 0750

enum fileio_fault {
	FILEIO_FAULT_NONE,
	FILEIO_FAULT_WRITE,
	FILEIO_FAULT_SHORT_WRITE,
	FILEIO_FAULT_FSYNC,
	FILEIO_FAULT_RENAME,
	FILEIO_FAULT_FSYNC_DIR,
	FILEIO_FAULT_ENOSPC,
};

static int fileio_fail(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fileio_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static enum fileio_fault fault_get(void)
{
	static const struct {
		const char *name;
		enum fileio_fault fault;
	} names[] = {
		{"write", FILEIO_FAULT_WRITE},         {"short_write", FILEIO_FAULT_SHORT_WRITE},
		{"fsync", FILEIO_FAULT_FSYNC},         {"rename", FILEIO_FAULT_RENAME},
		{"fsync_dir", FILEIO_FAULT_FSYNC_DIR}, {"enospc", FILEIO_FAULT_ENOSPC},
	};
	const char *s = getenv("CASSANDRA_AGENT_FAULT");

	if (!s)
		return FILEIO_FAULT_NONE;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].fault;
	return FILEIO_FAULT_NONE;
}

static const char *injected(enum fileio_fault f, enum fileio_fault step)
{
	return f == step ? " (injected)" : "";
}

int fileio_read(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	size_t cap, n = 0;
	char *buf = NULL, *p;
	int fd, rc;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return fileio_fail(err, errlen, -errno, "open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = fileio_fail(err, errlen, -errno, "stat %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = fileio_fail(err, errlen, -EINVAL, "%s: not a regular file", path);
		goto fail;
	}
	if ((unsigned long long)st.st_size > max) {
		rc = fileio_fail(err, errlen, -EFBIG, "%s: %lld bytes, more than the limit of %zu", path,
				 (long long)st.st_size, max);
		goto fail;
	}
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap + 1);
	if (!buf) {
		rc = fileio_fail(err, errlen, -ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	for (;;) {
		ssize_t r;

		if (n == cap) {
			/* the file grew since fstat */
			if (cap > max) {
				rc = fileio_fail(err, errlen, -EFBIG, "%s: more than the limit of %zu bytes", path,
						 max);
				goto fail;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			p = realloc(buf, cap + 1);
			if (!p) {
				rc = fileio_fail(err, errlen, -ENOMEM, "%s: out of memory", path);
				goto fail;
			}
			buf = p;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = fileio_fail(err, errlen, -errno, "read %s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		rc = fileio_fail(err, errlen, -EFBIG, "%s: more than the limit of %zu bytes", path, max);
		goto fail;
	}
	buf[n] = '\0';
	close(fd);
	*out = buf;
	*len = n;
	return 0;
fail:
	free(buf);
	close(fd);
	return rc;
}

/* Writes all of data, through the injected faults of `f`. */
static int write_all(int fd, const char *data, size_t len, enum fileio_fault f, const char *path, char *err,
		     size_t errlen)
{
	size_t off = 0;

	if (f == FILEIO_FAULT_WRITE)
		return fileio_fail(err, errlen, -EIO, "write %s: %s (injected)", path, strerror(EIO));
	if (f == FILEIO_FAULT_ENOSPC)
		return fileio_fail(err, errlen, -ENOSPC, "write %s: %s (injected)", path, strerror(ENOSPC));
	while (off < len || (f == FILEIO_FAULT_SHORT_WRITE && off == 0)) {
		size_t chunk = len - off;
		ssize_t n;

		if (f == FILEIO_FAULT_SHORT_WRITE) {
			if (off > 0 || chunk < 2)
				return fileio_fail(err, errlen, -EIO,
						   "write %s: short write, %zu of %zu bytes (injected)", path, off,
						   len);
			chunk /= 2;
		}
		n = write(fd, data + off, chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fileio_fail(err, errlen, -errno, "write %s: %s", path, strerror(errno));
		}
		if (n == 0)
			return fileio_fail(err, errlen, -EIO, "write %s: short write, %zu of %zu bytes", path, off,
					   len);
		off += (size_t)n;
	}
	return 0;
}

static int fsync_dir(const char *dir, enum fileio_fault f, char *err, size_t errlen)
{
	int fd, rc = 0;

	if (f == FILEIO_FAULT_FSYNC_DIR)
		return fileio_fail(err, errlen, -EIO, "fsync directory %s: %s (injected)", dir, strerror(EIO));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fileio_fail(err, errlen, -errno, "open directory %s: %s", dir, strerror(errno));
	if (fsync(fd) < 0 && errno != EINVAL)
		rc = fileio_fail(err, errlen, -errno, "fsync directory %s: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

/* mkdir -p `dir` with `mode` for the directories it creates. */
static int mkdir_p(const char *dir, mode_t mode, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(tmp))
		return fileio_fail(err, errlen, -ENAMETOOLONG, "%s: bad directory name", dir);
	memcpy(tmp, dir, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return fileio_fail(err, errlen, -errno, "mkdir %s: %s", tmp, strerror(errno));
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return fileio_fail(err, errlen, -errno, "mkdir %s: %s", tmp, strerror(errno));
	return 0;
}

/* Splits `path` into its directory and base name (caller-sized buffers of PATH_MAX). */
static int split_path(const char *path, char *dir, char *name, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	size_t dn;

	if (strlen(path) >= PATH_MAX)
		return fileio_fail(err, errlen, -ENAMETOOLONG, "%s: path too long", path);
	// NOLINTBEGIN(clang-analyzer-security.insecureAPI.strcpy): buffers of PATH_MAX, strlen(path) less
	if (!slash) {
		strcpy(dir, ".");
		strcpy(name, path);
	} else {
		dn = (size_t)(slash - path);
		if (dn == 0)
			dn = 1;
		memcpy(dir, path, dn);
		dir[dn] = '\0';
		strcpy(name, slash + 1);
	}
	// NOLINTEND(clang-analyzer-security.insecureAPI.strcpy)
	if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return fileio_fail(err, errlen, -EINVAL, "%s: not a file name", path);
	return 0;
}

static bool stamp_ok(const char *s)
{
	/* YYYYMMDDTHHMMSS.mmmZ */
	for (int i = 0; i < FILEIO_STAMP_LEN; i++) {
		char c = s[i];

		if (i == 8 ? c != 'T' : i == 15 ? c != '.' : i == 19 ? c != 'Z' : !(c >= '0' && c <= '9'))
			return false;
	}
	return s[FILEIO_STAMP_LEN] == '\0';
}

static int strv_cmp_desc(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

void fileio_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

int fileio_history(const char *history_dir, const char *name, char ***out)
{
	size_t nlen = strlen(name), n = 0, cap = 16;
	struct dirent *de;
	char **v, **p;
	DIR *dir;

	*out = NULL;
	v = calloc(cap + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	dir = opendir(history_dir);
	if (!dir) {
		if (errno == ENOENT) {
			*out = v;
			return 0;
		}
		free(v);
		return -errno;
	}
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, name, nlen) != 0 || de->d_name[nlen] != '.' || !stamp_ok(de->d_name + nlen + 1))
			continue;
		if (n == cap) {
			p = realloc(v, (cap * 2 + 1) * sizeof(*v));
			if (!p)
				goto oom;
			v = p;
			cap *= 2;
		}
		if (asprintf(&v[n], "%s/%s", history_dir, de->d_name) < 0) {
			v[n] = NULL;
			goto oom;
		}
		v[++n] = NULL;
	}
	closedir(dir);
	v[n] = NULL;
	qsort(v, n, sizeof(*v), strv_cmp_desc);
	*out = v;
	return (int)n;
oom:
	closedir(dir);
	fileio_strv_free(v);
	return -ENOMEM;
}

/* Keeps the newest `keep` history copies of `name` (0: all). */
static void history_prune(const char *history_dir, const char *name, unsigned keep)
{
	char **v;
	int n;

	if (keep == 0)
		return;
	n = fileio_history(history_dir, name, &v);
	if (n < 0)
		return;
	for (int i = (int)keep; i < n; i++)
		unlink(v[i]); // NOLINT(clang-analyzer-core.NullDereference): n >= 0: v is set (errno > 0)
	if ((unsigned)n > keep)
		fsync_dir(history_dir, FILEIO_FAULT_NONE, NULL, 0);
	fileio_strv_free(v);
}

/* Saves the old file (open as `src`) as <history_dir>/<name>.<stamp>; *saved is its path. */
static int history_save(int src, const struct stat *st, const char *history_dir, const char *name, char *saved,
			size_t savedlen, char *err, size_t errlen)
{
	char tmp[PATH_MAX], stamp[32], buf[FILEIO_COPY_BLOCK];
	struct timespec ts;
	struct tm tm;
	int fd = -1, rc;

	rc = mkdir_p(history_dir, FILEIO_HISTORY_DIR_MODE, err, errlen);
	if (rc < 0)
		return rc;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* a name that does not exist yet: later copies always get later names */
	for (int i = 0;; i++) {
		time_t sec = ts.tv_sec;
		long ms = ts.tv_nsec / 1000000 + i;

		sec += ms / 1000;
		ms %= 1000;
		gmtime_r(&sec, &tm);
		// NOLINTNEXTLINE(cert-err33-c): any stamp fits the 32 bytes
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
		if ((size_t)snprintf(saved, savedlen, "%s/%s.%s.%03ldZ", history_dir, name, stamp, ms) >= savedlen)
			return fileio_fail(err, errlen, -ENAMETOOLONG, "%s: history path too long", history_dir);
		if (access(saved, F_OK) < 0 && errno == ENOENT)
			break;
		if (i > 100000)
			return fileio_fail(err, errlen, -EEXIST, "%s: no free history name", history_dir);
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", history_dir, name) >= sizeof(tmp))
		return fileio_fail(err, errlen, -ENAMETOOLONG, "%s: history path too long", history_dir);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return fileio_fail(err, errlen, -errno, "create %s: %s", tmp, strerror(errno));
	if (lseek(src, 0, SEEK_SET) < 0) {
		rc = fileio_fail(err, errlen, -errno, "seek: %s", strerror(errno));
		goto fail;
	}
	for (;;) {
		ssize_t r = read(src, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = fileio_fail(err, errlen, -errno, "read the old file: %s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		rc = write_all(fd, buf, (size_t)r, FILEIO_FAULT_NONE, tmp, err, errlen);
		if (rc < 0)
			goto fail;
	}
	if (fchmod(fd, (st->st_mode & 0640) | 0600) < 0 || fsync(fd) < 0) {
		rc = fileio_fail(err, errlen, -errno, "fsync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = fileio_fail(err, errlen, -errno, "close %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, saved) < 0) {
		rc = fileio_fail(err, errlen, -errno, "rename %s: %s", tmp, strerror(errno));
		goto fail;
	}
	rc = fsync_dir(history_dir, FILEIO_FAULT_NONE, err, errlen);
	if (rc < 0) {
		unlink(saved);
		return rc;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

int fileio_replace(const char *path, const void *data, size_t len, mode_t mode_if_new, const char *history_dir,
		   unsigned history_keep, char *err, size_t errlen)
{
	char target[PATH_MAX], dir[PATH_MAX], name[PATH_MAX], tmp[PATH_MAX], backup[PATH_MAX + 8];
	char saved[PATH_MAX] = "";
	enum fileio_fault f = fault_get();
	bool exists = false, have_backup = false, renamed = false;
	struct stat st, tst;
	int fd = -1, old_fd = -1, rc;

	tmp[0] = '\0';
	if (err && errlen)
		err[0] = '\0';
	/* a symlink stays one: the file it points to is replaced */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		if (!realpath(path, target))
			return fileio_fail(err, errlen, -errno, "resolve %s: %s", path, strerror(errno));
	} else if (strlen(path) < sizeof(target)) {
		strcpy(target, path); // NOLINT(clang-analyzer-security.insecureAPI.strcpy): length checked just above
	} else {
		return fileio_fail(err, errlen, -ENAMETOOLONG, "%s: path too long", path);
	}
	rc = split_path(target, dir, name, err, errlen);
	if (rc < 0)
		return rc;
	old_fd = open(target, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (old_fd >= 0) {
		if (fstat(old_fd, &st) < 0) {
			rc = fileio_fail(err, errlen, -errno, "stat %s: %s", target, strerror(errno));
			goto fail;
		}
		if (!S_ISREG(st.st_mode)) {
			rc = fileio_fail(err, errlen, -EINVAL, "%s: not a regular file", target);
			goto fail;
		}
		exists = true;
	} else if (errno != ENOENT) {
		return fileio_fail(err, errlen, -errno, "open %s: %s", target, strerror(errno));
	}
	if (exists && history_dir) {
		rc = history_save(old_fd, &st, history_dir, name, saved, sizeof(saved), err, errlen);
		if (rc < 0)
			goto fail;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= sizeof(tmp)) {
		rc = fileio_fail(err, errlen, -ENAMETOOLONG, "%s: path too long", target);
		goto fail;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = fileio_fail(err, errlen, -errno, "create %s: %s", tmp, strerror(errno));
		tmp[0] = '\0';
		goto fail;
	}
	rc = write_all(fd, data, len, f, tmp, err, errlen);
	if (rc < 0)
		goto fail;
	/* Same owner and group as the old file. Without CAP_CHOWN (the agent runs as its own
	 * user) only the group can follow, when the agent is a member of it; the file then
	 * stays the agent's, and group read is kept so Cassandra's group can still read it. */
	mode_t new_mode = exists ? st.st_mode & 07777 : mode_if_new & 07777;

	if (exists && fstat(fd, &tst) == 0 && (tst.st_uid != st.st_uid || tst.st_gid != st.st_gid) &&
	    fchown(fd, st.st_uid, st.st_gid) < 0) {
		if (errno != EPERM || fchown(fd, (uid_t)-1, st.st_gid) < 0) {
			rc = fileio_fail(err, errlen, -errno, "chown %s to %u:%u like %s: %s", tmp, (unsigned)st.st_uid,
					 (unsigned)st.st_gid, target, strerror(errno));
			goto fail;
		}
		if (st.st_mode & 0004)
			new_mode |= 0040; /* it was world-readable: the group reads it too */
	}
	if (fchmod(fd, new_mode) < 0) {
		rc = fileio_fail(err, errlen, -errno, "chmod %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (f == FILEIO_FAULT_FSYNC || fsync(fd) < 0) {
		rc = fileio_fail(err, errlen, f == FILEIO_FAULT_FSYNC ? -EIO : -errno, "fsync %s: %s%s", tmp,
				 strerror(f == FILEIO_FAULT_FSYNC ? EIO : errno), injected(f, FILEIO_FAULT_FSYNC));
		goto fail;
	}
	rc = close(fd);
	fd = -1;
	if (rc < 0) {
		rc = fileio_fail(err, errlen, -errno, "close %s: %s", tmp, strerror(errno));
		goto fail;
	}
	/* a second name of the old file, to put it back if the directory cannot be synced */
	if (exists) {
		snprintf(backup, sizeof(backup), "%s.old", tmp);
		have_backup = link(target, backup) == 0;
	}
	if (f == FILEIO_FAULT_RENAME || rename(tmp, target) < 0) {
		rc = fileio_fail(err, errlen, f == FILEIO_FAULT_RENAME ? -EIO : -errno, "rename %s to %s: %s%s", tmp,
				 target, strerror(f == FILEIO_FAULT_RENAME ? EIO : errno),
				 injected(f, FILEIO_FAULT_RENAME));
		goto fail;
	}
	renamed = true;
	rc = fsync_dir(dir, f, err, errlen);
	if (rc < 0)
		goto fail;
	if (have_backup)
		unlink(backup);
	if (old_fd >= 0)
		close(old_fd);
	if (saved[0])
		history_prune(history_dir, name, history_keep);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (renamed) {
		/* the new file is in place but not durable: put the old one (or nothing) back */
		size_t n = err ? strlen(err) : 0;

		if (have_backup ? rename(backup, target) == 0 : !exists && unlink(target) == 0) {
			have_backup = false;
			renamed = false;
			fsync_dir(dir, FILEIO_FAULT_NONE, NULL, 0);
			if (err && n < errlen)
				snprintf(err + n, errlen - n, "; %s",
					 exists ? "the old file was put back" : "the new file was removed");
		} else if (err && n < errlen) {
			snprintf(err + n, errlen - n, "; the new file may stay in place");
		}
	} else if (tmp[0]) {
		unlink(tmp);
	}
	if (have_backup)
		unlink(backup);
	if (saved[0] && !renamed) {
		/* the old file is still the live one: its history copy is not needed */
		unlink(saved);
		fsync_dir(history_dir, FILEIO_FAULT_NONE, NULL, 0);
	}
	if (old_fd >= 0)
		close(old_fd);
	return rc;
}
