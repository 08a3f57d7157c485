/* host: /proc and statvfs host probe (see host.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "log.h"

#define HOST_STAT_READ_MAX  8192  /* the "cpu " line is the first line of /proc/stat */
#define HOST_SMALL_READ_MAX 16384 /* /proc/loadavg, /proc/meminfo */

static bool host_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static const char *host_skip_blank(const char *p, const char *end)
{
	while (p < end && host_is_blank(*p))
		p++;
	return p;
}

/* Parses an unsigned decimal at *pp (after optional blanks); advances *pp past it. */
static int host_parse_u64(const char **pp, const char *end, uint64_t *out)
{
	const char *p = host_skip_blank(*pp, end);
	uint64_t v = 0;

	if (p >= end || *p < '0' || *p > '9')
		return -EINVAL;
	while (p < end && *p >= '0' && *p <= '9') {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
		p++;
	}
	*pp = p;
	*out = v;
	return 0;
}

/* Finds the next line in [*pp, end); returns false at the end of the buffer. */
static bool host_next_line(const char **pp, const char *end, const char **line, const char **eol)
{
	const char *p = *pp, *nl;

	if (p >= end)
		return false;
	nl = memchr(p, '\n', (size_t)(end - p));
	*line = p;
	*eol = nl ? nl : end;
	*pp = nl ? nl + 1 : end;
	return true;
}

int host_parse_proc_stat(const char *buf, size_t len, struct host_cpu *out)
{
	const char *p = buf, *end, *line, *eol;

	if (!buf || !out)
		return -EINVAL;
	end = buf + len;
	while (host_next_line(&p, end, &line, &eol)) {
		uint64_t f[8] = {0};
		const char *q;
		size_t n = 0;

		if (eol - line < 4 || memcmp(line, "cpu", 3) != 0 || !host_is_blank(line[3]))
			continue;
		q = line + 3;
		for (;;) {
			uint64_t v;

			q = host_skip_blank(q, eol);
			if (q >= eol)
				break;
			if (host_parse_u64(&q, eol, &v) < 0)
				return -EINVAL;
			if (q < eol && !host_is_blank(*q))
				return -EINVAL;
			/* fields 9 and 10 (guest, guest_nice) are already counted in user and nice */
			if (n < 8)
				f[n] = v;
			n++;
		}
		if (n < 4)
			return -EINVAL;

		uint64_t total = 0;
		for (size_t i = 0; i < 8; i++) {
			if (total > UINT64_MAX - f[i])
				return -EINVAL;
			total += f[i];
		}
		uint64_t idle = f[3] + f[4];
		out->total = total;
		out->busy = total - idle;
		return 0;
	}
	return -EINVAL;
}

int host_parse_loadavg(const char *buf, size_t len, double *load1)
{
	const char *p, *end;
	uint64_t ipart;
	double v, scale = 0.1;

	if (!buf || !load1)
		return -EINVAL;
	p = buf;
	end = buf + len;
	if (host_parse_u64(&p, end, &ipart) < 0)
		return -EINVAL;
	v = (double)ipart;
	if (p < end && *p == '.') {
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return -EINVAL;
		while (p < end && *p >= '0' && *p <= '9') {
			v += scale * (*p - '0');
			scale /= 10;
			p++;
		}
	}
	if (p < end && !host_is_blank(*p) && *p != '\n')
		return -EINVAL;
	*load1 = v;
	return 0;
}

/* If `line` is "key: <n> [kB]", stores the value in bytes; returns 1 on match, 0 when the
 * key differs, -EINVAL when the key matches but the value is malformed. */
static int host_meminfo_field(const char *line, const char *eol, const char *key, uint64_t *bytes)
{
	size_t klen = strlen(key);
	const char *p;
	uint64_t v;

	if ((size_t)(eol - line) <= klen || memcmp(line, key, klen) != 0 || line[klen] != ':')
		return 0;
	p = line + klen + 1;
	if (host_parse_u64(&p, eol, &v) < 0)
		return -EINVAL;
	p = host_skip_blank(p, eol);
	if (eol - p >= 2 && memcmp(p, "kB", 2) == 0) {
		if (v > UINT64_MAX / 1024)
			return -EINVAL;
		v *= 1024;
		p = host_skip_blank(p + 2, eol);
	}
	if (p != eol)
		return -EINVAL;
	*bytes = v;
	return 1;
}

int host_parse_meminfo(const char *buf, size_t len, uint64_t *total_bytes, uint64_t *available_bytes)
{
	static const char *const keys[] = {"MemTotal", "MemAvailable", "MemFree", "Buffers", "Cached"};
	uint64_t val[5] = {0};
	bool seen[5] = {false};
	const char *p, *end, *line, *eol;

	if (!buf || !total_bytes || !available_bytes)
		return -EINVAL;
	p = buf;
	end = buf + len;
	while (host_next_line(&p, end, &line, &eol)) {
		for (size_t i = 0; i < 5; i++) {
			int r = host_meminfo_field(line, eol, keys[i], &val[i]);

			if (r < 0)
				return r;
			if (r > 0) {
				seen[i] = true;
				break;
			}
		}
	}
	if (!seen[0])
		return -EINVAL;
	if (seen[1]) {
		*available_bytes = val[1];
	} else if (seen[2]) {
		*available_bytes = val[2] + val[3] + val[4];
	} else {
		return -EINVAL;
	}
	*total_bytes = val[0];
	return 0;
}

double host_cpu_percent(const struct host_cpu *prev, const struct host_cpu *cur)
{
	double pct;

	if (!prev || !cur || prev->total == 0 || cur->total <= prev->total || cur->busy < prev->busy)
		return 0.0;
	pct = 100.0 * (double)(cur->busy - prev->busy) / (double)(cur->total - prev->total);
	if (pct < 0.0)
		return 0.0;
	return pct > 100.0 ? 100.0 : pct;
}

/* Reads up to cap-1 bytes of `path` into buf; when the file did not fit, the content is cut
 * after the last complete line. Returns 0 or -errno. */
static int host_read_file(const char *path, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (n < cap - 1) {
		ssize_t k = read(fd, buf + n, cap - 1 - n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (n == cap - 1) {
		while (n > 0 && buf[n - 1] != '\n')
			n--;
	}
	*len = n;
out:
	close(fd);
	return r;
}

int host_sample_read(struct host_cpu *prev, struct host_sample *out)
{
	char buf[HOST_STAT_READ_MAX > HOST_SMALL_READ_MAX ? HOST_STAT_READ_MAX : HOST_SMALL_READ_MAX];
	struct host_cpu cur;
	struct host_sample s;
	size_t len;
	int r;

	if (!prev || !out)
		return -EINVAL;

	r = host_read_file("/proc/stat", buf, HOST_STAT_READ_MAX, &len);
	if (r < 0)
		goto fail_read;
	// NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage): len is set when r >= 0 (errno > 0)
	r = host_parse_proc_stat(buf, len, &cur);
	if (r < 0)
		goto fail_parse_stat;

	r = host_read_file("/proc/loadavg", buf, HOST_SMALL_READ_MAX, &len);
	if (r < 0)
		goto fail_read;
	r = host_parse_loadavg(buf, len, &s.load1);
	if (r < 0)
		goto fail_parse_load;

	r = host_read_file("/proc/meminfo", buf, HOST_SMALL_READ_MAX, &len);
	if (r < 0)
		goto fail_read;
	r = host_parse_meminfo(buf, len, &s.memory_total_bytes, &s.memory_available_bytes);
	if (r < 0)
		goto fail_parse_mem;

	s.cpu_percent = host_cpu_percent(prev, &cur);
	*prev = cur;
	*out = s;
	return 0;

fail_parse_stat:
	log_warnx("host", "cannot parse /proc/stat");
	return r;
fail_parse_load:
	log_warnx("host", "cannot parse /proc/loadavg");
	return r;
fail_parse_mem:
	log_warnx("host", "cannot parse /proc/meminfo");
	return r;
fail_read:
	log_warnx("host", "cannot read procfs: %s", strerror(-r));
	return r;
}

int host_disk_usage(const char *path, uint64_t *total_bytes, uint64_t *free_bytes)
{
	struct statvfs st;

	if (!path || !total_bytes || !free_bytes)
		return -EINVAL;
	if (statvfs(path, &st) < 0)
		return -errno;
	*total_bytes = (uint64_t)st.f_blocks * (uint64_t)st.f_frsize;
	*free_bytes = (uint64_t)st.f_bavail * (uint64_t)st.f_frsize;
	return 0;
}
