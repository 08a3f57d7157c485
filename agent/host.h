/* host: cheap host probe (CPU, load, memory from /proc; disk usage via statvfs), synchronous and loop-safe. */
#ifndef CA_HOST_H
#define CA_HOST_H

#include <stddef.h>
#include <stdint.h>

/* Aggregate CPU counters in jiffies from the "cpu " line of /proc/stat. The caller keeps
 * one between host_sample_read() calls; zero-initialise it before the first call. */
struct host_cpu {
	uint64_t busy;  /* total - (idle + iowait) */
	uint64_t total; /* user+nice+system+idle+iowait+irq+softirq+steal (guest is already in user/nice) */
};

/* One host sample. */
struct host_sample {
	double cpu_percent;          /* 0..100, busy share of all CPUs over the interval since the previous sample */
	double load1;                /* 1-minute load average */
	uint64_t memory_total_bytes; /* MemTotal */
	uint64_t memory_available_bytes; /* MemAvailable (or MemFree+Buffers+Cached on kernels without it) */
};

/*
 * Reads /proc/stat, /proc/loadavg and /proc/meminfo (a few small synchronous reads of
 * procfs, fine on the event loop) and fills `out`.
 * `prev` holds the CPU counters of the previous call: cpu_percent is computed over the
 * interval since then (0 on the first call, i.e. when prev->total == 0), and `prev` is
 * updated to the new counters. Both pointers are borrowed.
 * Returns 0, -EINVAL on NULL arguments or unparsable procfs content, or -errno from open/read.
 * On error neither `prev` nor `out` is modified.
 */
int host_sample_read(struct host_cpu *prev, struct host_sample *out);

/*
 * Disk usage of the filesystem holding `path` (statvfs).
 * total_bytes = f_blocks * f_frsize; free_bytes = f_bavail * f_frsize (space usable by a
 * non-root user, i.e. without the reserved blocks).
 * Returns 0, -EINVAL on NULL arguments, or -errno from statvfs (-ENOENT for a missing path).
 */
int host_disk_usage(const char *path, uint64_t *total_bytes, uint64_t *free_bytes);

/*
 * Pure parsers over procfs text; `buf` holds `len` bytes and need not be NUL-terminated.
 * Each returns 0 or -EINVAL when the expected fields are missing or malformed; outputs are
 * written only on success.
 */

/* /proc/stat: parses the aggregate "cpu " line into `out`. At least the first four fields
 * (user nice system idle) are required; missing later fields count as 0. */
int host_parse_proc_stat(const char *buf, size_t len, struct host_cpu *out);

/* /proc/loadavg: the first field (1-minute load average) into `load1`. */
int host_parse_loadavg(const char *buf, size_t len, double *load1);

/* /proc/meminfo: MemTotal and MemAvailable (kB in the file) as bytes. Without MemAvailable
 * (kernels < 3.14) available = MemFree + Buffers + Cached. MemTotal is required. */
int host_parse_meminfo(const char *buf, size_t len, uint64_t *total_bytes, uint64_t *available_bytes);

/* Busy share in percent (0..100) between two CPU counter snapshots; 0 when `prev` is
 * unset (total == 0), when no time elapsed, or when the counters went backwards. */
double host_cpu_percent(const struct host_cpu *prev, const struct host_cpu *cur);

#endif
