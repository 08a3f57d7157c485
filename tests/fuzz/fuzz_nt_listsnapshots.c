/* fuzz_nt_listsnapshots: libFuzzer target for nt_parse_listsnapshots (`nodetool listsnapshots`,
 * agent/nodetool_parse.c), then snapshot_plan_retention (agent/snapshot_plan.c) over the parsed
 * rows, as the snapshot job does. Input: the raw stdout (any bytes). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodetool_parse.h"
#include "snapshot_plan.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "fuzz_nt_listsnapshots: " __VA_ARGS__);                            \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

#define NOW_MS INT64_C(1728691200000) /* 2024-10-12T00:00:00Z */
#define RETENTION_MS (48ULL * 3600 * 1000)

/* A tag's creation time is known: agent-made (from the tag) or a 4.1+ creation time. */
static bool has_time(const struct snapshot_tag_info *t)
{
	return t->owner == SNAPSHOT_OWNER_AGENT || t->created_unix_ms > 0;
}

static void check_retention(const struct nt_snapshots *s, const char *newest_ok)
{
	struct snapshot_retention ret;
	char err[128];
	size_t n_clear = 0, n_agent = 0, tables = 0;
	int r;

	r = snapshot_plan_retention(s->rows, s->n_rows, "agent", RETENTION_MS, NOW_MS, newest_ok, &ret, err,
				    sizeof err);
	if (r < 0) {
		if (r != -ENOMEM)
			FAIL("snapshot_plan_retention: %d %s", r, err);
		snapshot_retention_free(&ret);
		return;
	}
	if (ret.n_tags > s->n_rows || (ret.n_tags && !ret.tags))
		FAIL("retention: %zu tags from %zu rows", ret.n_tags, s->n_rows);
	if (ret.n_clear > ret.n_tags || (ret.n_clear && !ret.clear))
		FAIL("retention: %zu to clear of %zu tags", ret.n_clear, ret.n_tags);
	for (size_t i = 0; i < ret.n_tags; i++) {
		const struct snapshot_tag_info *t = &ret.tags[i];

		if (!TERMINATED(t->tag))
			FAIL("retention: tag %zu unterminated", i);
		for (size_t j = i > 256 ? i - 256 : 0; j < i; j++)
			if (strcmp(ret.tags[j].tag, t->tag) == 0)
				FAIL("retention: tag \"%s\" listed twice", t->tag);
		if (i && !has_time(&ret.tags[i - 1]) && has_time(t))
			FAIL("retention: tag %zu with a time after one without", i);
		if (i && has_time(t) && ret.tags[i - 1].created_unix_ms < t->created_unix_ms)
			FAIL("retention: tags %zu and %zu not newest first", i - 1, i);
		if (t->clear && (t->owner != SNAPSHOT_OWNER_AGENT || t->kept_as_newest))
			FAIL("retention: tag \"%s\" cleared but not an expired agent tag", t->tag);
		if (t->owner == SNAPSHOT_OWNER_AGENT && !snapshot_tag_is_agent(t->tag, "agent"))
			FAIL("retention: tag \"%s\" is agent-owned without the agent format", t->tag);
		if (t->kept_as_newest && i != ret.newest)
			FAIL("retention: tag %zu kept as newest but newest is %zu", i, ret.newest);
		n_clear += t->clear;
		n_agent += t->owner == SNAPSHOT_OWNER_AGENT;
		tables += t->tables;
	}
	if (n_clear != ret.n_clear)
		FAIL("retention: %zu flagged clear, %zu listed", n_clear, ret.n_clear);
	if (n_agent != ret.n_agent)
		FAIL("retention: %zu agent tags, n_agent %zu", n_agent, ret.n_agent);
	if (tables != s->n_rows)
		FAIL("retention: %zu tables over tags, %zu rows", tables, s->n_rows);
	for (size_t i = 0; i < ret.n_clear; i++)
		if (ret.clear[i] >= ret.n_tags || !ret.tags[ret.clear[i]].clear)
			FAIL("retention: clear[%zu] = %zu", i, ret.clear[i]);
	if (ret.newest != SIZE_MAX && (ret.newest >= ret.n_tags || !ret.tags[ret.newest].kept_as_newest ||
				       ret.tags[ret.newest].owner != SNAPSHOT_OWNER_AGENT))
		FAIL("retention: newest %zu", ret.newest);
	snapshot_retention_free(&ret);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nt_snapshots s;
	char err[128];
	int r;

	memset(&s, 0xa5, sizeof s);
	memset(err, 'x', sizeof err);
	r = nt_parse_listsnapshots((const char *)data, size, &s, err, sizeof err);
	if (r < 0) {
		if (r != -EINVAL && r != -ENOMEM)
			FAIL("unexpected return %d", r);
		if (!TERMINATED(err) || !err[0])
			FAIL("error %d without a terminated message", r);
		if (s.rows || s.n_rows || s.total_true_bytes)
			FAIL("result not zeroed on error");
		return 0;
	}
	if (r != 0)
		FAIL("unexpected return %d", r);
	if (s.n_rows && !s.rows)
		FAIL("n_rows %zu without rows", s.n_rows);
	for (size_t i = 0; i < s.n_rows; i++) {
		const struct nt_snapshot *row = &s.rows[i];

		if (!TERMINATED(row->tag) || !TERMINATED(row->keyspace) || !TERMINATED(row->table))
			FAIL("row %zu: unterminated string", i);
	}
	check_retention(&s, NULL);
	/* The job passes the newest verified tag; take one from the rows when there are any. */
	if (s.n_rows)
		check_retention(&s, s.rows[s.n_rows - 1].tag);
	nt_snapshots_free(&s);
	if (s.rows || s.n_rows)
		FAIL("nt_snapshots_free left the struct set");
	return 0;
}
