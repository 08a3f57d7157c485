/* bench_yaml_edit: median and p99 time to apply and validate one edit of the 5.0 cassandra.yaml (parse, splice, re-parse, schema checks). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cassandra_schema.h"
#include "yaml_edit.h"

#define BENCH_RUNS 1000
#define BENCH_WARMUP 50

/* Target of the issue: one edit applied and validated in at most 1.5 ms. */
#define BENCH_TARGET_MS 1.5

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

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* One run of `edit` on the file: returns its milliseconds, or a negative value on failure. */
static double run(const char *text, size_t len, const struct cassandra_edit *edit)
{
	struct cassandra_schema_result res;
	char err[YAML_EDIT_ERR_MAX];
	double t0 = now_ms();
	int rc = cassandra_schema_apply(CASSANDRA_5_0, 0, text, len, edit, 1, &res, err, sizeof(err));
	double t = now_ms() - t0;

	if (rc < 0 || !res.changed) {
		fprintf(stderr, "bench_yaml_edit: edit failed: %s\n", err);
		return -1;
	}
	cassandra_schema_result_free(&res);
	return t;
}

static double parse_once(const char *text, size_t len)
{
	struct yaml_edit_doc *doc;
	char err[YAML_EDIT_ERR_MAX];
	double t0 = now_ms();

	if (yaml_edit_parse(text, len, &doc, err, sizeof(err)) < 0)
		return -1;
	yaml_edit_free(doc);
	return now_ms() - t0;
}

int main(void)
{
	const char *env = getenv("SHARED_DATA"), *root = getenv("PROJECT_ROOT");
	static const char *const seeds[] = { "10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000" };
	const struct cassandra_edit edits[] = {
		{ .op = CASSANDRA_EDIT_SET, .key = "client_encryption_options.enabled", .value = "true" },
		{ .op = CASSANDRA_EDIT_SEEDS, .seeds = seeds, .n_seeds = 3 },
		{ .op = CASSANDRA_EDIT_SET, .key = "phi_convict_threshold", .value = "12" },
	};
	static const char *const names[] = { "nested key (client_encryption_options.enabled)", "seeds",
					     "new top-level key (appended)" };
	static double times[BENCH_RUNS];
	char path[4096];
	size_t len;
	char *text;
	int failed = 0;

	if (env && *env)
		snprintf(path, sizeof(path), "%s/cassandra/cassandra-5.0.yaml", env);
	else
		snprintf(path, sizeof(path), "%s/../shared/data/cassandra/cassandra-5.0.yaml", root && *root ? root : ".");
	text = slurp(path, &len);
	if (!text) {
		printf("SKIP: ../shared/data not found (%s)\n", path);
		return 0;
	}
	for (int i = 0; i < BENCH_RUNS; i++)
		times[i] = parse_once(text, len);
	qsort(times, BENCH_RUNS, sizeof(times[0]), cmp_double);
	printf("cassandra-5.0.yaml, %zu bytes, %d runs each\n", len, BENCH_RUNS);
	printf("  one parse (yaml_edit_parse)                                        median %.3f ms  p99 %.3f ms\n", times[BENCH_RUNS / 2],
	       times[BENCH_RUNS * 99 / 100]);
	for (size_t e = 0; e < sizeof(edits) / sizeof(edits[0]); e++) {
		for (int i = 0; i < BENCH_WARMUP; i++)
			run(text, len, &edits[e]);
		for (int i = 0; i < BENCH_RUNS; i++) {
			times[i] = run(text, len, &edits[e]);
			if (times[i] < 0) {
				free(text);
				return 1;
			}
		}
		qsort(times, BENCH_RUNS, sizeof(times[0]), cmp_double);
		printf("  apply + validate: %-48s median %.3f ms  p99 %.3f ms%s\n", names[e], times[BENCH_RUNS / 2],
		       times[BENCH_RUNS * 99 / 100], times[BENCH_RUNS / 2] <= BENCH_TARGET_MS ? "" : "  (over the 1.5 ms target)");
		failed |= times[BENCH_RUNS / 2] > BENCH_TARGET_MS;
	}
	free(text);
	printf("target: median <= %.1f ms: %s\n", BENCH_TARGET_MS, failed ? "MISSED" : "met");
	return 0;
}
