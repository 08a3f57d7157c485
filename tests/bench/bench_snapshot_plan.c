/* bench_snapshot_plan: times nt_parse_listsnapshots + snapshot_plan_retention over a 10 000-row 4.1 listing; prints the median of 50 runs.
 * Usage: bench_snapshot_plan [ROWS [RUNS [TABLES_PER_TAG]]] (defaults 10000, 50, 200). Exit 1 when the median is over 20 ms. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nodetool_parse.h"
#include "snapshot_plan.h"

#define TARGET_MS 20.0
#define HOUR_MS INT64_C(3600000)

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Appends to a growing buffer; exits on allocation failure. */
struct out {
	char *p;
	size_t n, cap;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->p + o->n, o->cap - o->n, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < o->cap - o->n)
			break;
		o->cap = o->cap * 2 + (size_t)n + 1;
		o->p = realloc(o->p, o->cap);
		if (!o->p) {
			perror("realloc");
			exit(1);
		}
	}
	o->n += (size_t)n;
}

/* Writes an ISO instant like Instant.toString() with milliseconds. */
static void instant(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char base[32];

	gmtime_r(&t, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%03dZ", base, (int)(ms % 1000));
}

/*
 * A listsnapshots output of Cassandra 4.1 (ListSnapshots.java + TableBuilder: columns padded
 * to the widest cell, one space apart): agent tags every 4 h going back (most past the 48 h
 * retention), every tenth tag an operator's, `per_tag` tables per tag over 8 keyspaces.
 */
static struct out listing(size_t rows, size_t per_tag, int64_t now)
{
	struct out o = { NULL, 0, 0 };
	size_t tags = (rows + per_tag - 1) / per_tag, done = 0;

	put(&o, "Snapshot Details: \n");
	put(&o, "%-28s %-16s %-22s %-10s %-12s %-24s %-24s\n", "Snapshot name", "Keyspace name", "Column family name",
	    "True size", "Size on disk", "Creation time", "Expiration time");
	for (size_t t = 0; t < tags; t++) {
		int64_t created = now - (int64_t)t * 4 * HOUR_MS + 1234;
		char tag[SNAPSHOT_TAG_SIZE], when[40];

		if (t % 10 == 9)
			snprintf(tag, sizeof tag, "pre-upgrade-%zu", t);
		else if (snapshot_tag_format("agent", created - 1234, tag, sizeof tag)) {
			fprintf(stderr, "tag format failed\n");
			exit(1);
		}
		instant(created, when, sizeof when);
		for (size_t k = 0; k < per_tag && done < rows; k++, done++) {
			char ks[32], table[40], ts[24], sd[24];

			snprintf(ks, sizeof ks, "keyspace_%zu", k % 8);
			snprintf(table, sizeof table, "table_%03zu_events", k);
			snprintf(ts, sizeof ts, "%zu.%02zu MiB", (k * 37 + t) % 900 + 1, (k * 13) % 100);
			snprintf(sd, sizeof sd, "%zu.%02zu MiB", (k * 37 + t) % 900 + 2, (k * 17) % 100);
			put(&o, "%-28s %-16s %-22s %-10s %-12s %-24s %-24s\n", tag, ks, table, ts, sd, when, "");
		}
	}
	put(&o, "\nTotal TrueDiskSpaceUsed: 123.45 GiB\n\n");
	return o;
}

int main(int argc, char **argv)
{
	size_t rows = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	int runs = argc > 2 ? atoi(argv[2]) : 50;
	size_t per_tag = argc > 3 ? strtoul(argv[3], NULL, 10) : 200;
	int64_t now = INT64_C(1728648000000); /* 2024-10-11T12:00:00Z */
	struct out text;
	double *t, *td, median, median_d;
	size_t n_clear = 0, n_tags = 0;

	if (runs < 1 || rows < 1 || per_tag < 1 || per_tag > 1000) {
		fprintf(stderr, "usage: bench_snapshot_plan [ROWS>0 [RUNS>0 [TABLES_PER_TAG 1..1000]]]\n");
		return 2;
	}
	text = listing(rows, per_tag, now);
	t = calloc((size_t)runs, sizeof(*t));
	td = calloc((size_t)runs, sizeof(*td));
	if (!t || !td) {
		perror("calloc");
		return 1;
	}
	for (int i = 0; i < runs; i++) {
		struct nt_snapshots snaps;
		struct snapshot_retention r;
		char err[256] = "";
		double t0 = now_ms(), t1;

		if (nt_parse_listsnapshots(text.p, text.n, &snaps, err, sizeof err)) {
			fprintf(stderr, "parse failed: %s\n", err);
			return 1;
		}
		t1 = now_ms();
		if (snapshot_plan_retention(snaps.rows, snaps.n_rows, "agent", 48 * HOUR_MS, now, NULL, &r, err,
					    sizeof err)) {
			fprintf(stderr, "retention failed: %s\n", err);
			return 1;
		}
		t[i] = now_ms() - t0;
		td[i] = t0 + t[i] - t1;
		if (snaps.n_rows != rows) {
			fprintf(stderr, "parsed %zu rows, expected %zu\n", snaps.n_rows, rows);
			return 1;
		}
		n_clear = r.n_clear;
		n_tags = r.n_tags;
		snapshot_retention_free(&r);
		nt_snapshots_free(&snaps);
	}
	qsort(t, (size_t)runs, sizeof(*t), cmp_double);
	qsort(td, (size_t)runs, sizeof(*td), cmp_double);
	median = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
	median_d = runs % 2 ? td[runs / 2] : (td[runs / 2 - 1] + td[runs / 2]) / 2;
	printf("snapshot retention: %zu rows (%zu bytes of listsnapshots, %zu tags, %zu to clear): "
	       "parse + decide median %.3f ms over %d runs (min %.3f, max %.3f; decide alone %.3f; target <= %.0f ms)\n",
	       rows, text.n, n_tags, n_clear, median, runs, t[0], t[runs - 1], median_d, TARGET_MS);
	free(t);
	free(td);
	free(text.p);
	return median <= TARGET_MS ? 0 : 1;
}
