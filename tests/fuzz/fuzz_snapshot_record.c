/* fuzz_snapshot_record: libFuzzer target for the snapshot job's persisted record and tag checks
 * (agent/snapshot_plan.c): snapshot_record_parse (then format and parse again: the same record),
 * and snapshot_tag_validate / snapshot_tag_parse / snapshot_plan_check_clear on the input as a
 * tag. Input: the record file (any bytes). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot_plan.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "fuzz_snapshot_record: " __VA_ARGS__);                             \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

static void record(const uint8_t *data, size_t size)
{
	struct snapshot_record rec, back;
	char err[128], text[SNAPSHOT_RECORD_MAX];
	int r, n;

	memset(&rec, 0xa5, sizeof rec);
	memset(err, 'x', sizeof err);
	r = snapshot_record_parse((const char *)data, size, &rec, err, sizeof err);
	if (r < 0) {
		if (r != -EINVAL)
			FAIL("record: return %d", r);
		if (!memchr(err, '\0', sizeof err) || !err[0])
			FAIL("record: error without a terminated message");
		if (rec.last_slot_ms != SNAPSHOT_SLOT_NONE || rec.last_ok_tag[0] || rec.last_ok_unix_ms)
			FAIL("record: not reset on error");
		return;
	}
	if (!memchr(rec.last_ok_tag, '\0', sizeof rec.last_ok_tag))
		FAIL("record: unterminated tag");
	if (rec.last_slot_ms != SNAPSHOT_SLOT_NONE && (rec.last_slot_ms < 0 || rec.last_slot_ms > SNAPSHOT_TIME_MAX_MS))
		FAIL("record: last_slot_ms %lld", (long long)rec.last_slot_ms);
	if (rec.last_ok_tag[0] && snapshot_tag_validate(rec.last_ok_tag, NULL, 0) != 0)
		FAIL("record: accepted an invalid tag \"%s\"", rec.last_ok_tag);
	n = snapshot_record_format(&rec, text, sizeof text);
	if (n < 0 || (size_t)n >= sizeof text || strlen(text) != (size_t)n)
		FAIL("record: format of a parsed record failed: %d", n);
	r = snapshot_record_parse(text, (size_t)n, &back, err, sizeof err);
	if (r != 0)
		FAIL("record: formatted record does not parse: %s", err);
	if (back.last_slot_ms != rec.last_slot_ms || strcmp(back.last_ok_tag, rec.last_ok_tag) != 0 ||
	    back.last_ok_unix_ms != rec.last_ok_unix_ms)
		FAIL("record: parse(format(r)) != r");
}

static bool tag_chars_ok(const char *t)
{
	size_t n = strlen(t);

	if (n < 1 || n > SNAPSHOT_TAG_MAX || t[0] == '.')
		return false;
	return strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static void tag(const uint8_t *data, size_t size)
{
	char *t = malloc(size + 1), err[128], buf[SNAPSHOT_TAG_SIZE];
	int64_t created = -1;
	int r;

	if (!t)
		return;
	memcpy(t, data, size);
	t[size] = '\0';
	r = snapshot_tag_validate(t, err, sizeof err);
	if ((r == 0) != tag_chars_ok(t))
		FAIL("tag_validate(\"%s\") = %d", t, r);
	r = snapshot_tag_parse(t, "agent", &created);
	if (r == 0) {
		if (created < 0 || created > SNAPSHOT_TIME_MAX_MS)
			FAIL("tag_parse(\"%s\"): %lld", t, (long long)created);
		if (snapshot_tag_format("agent", created, buf, sizeof buf) != 0 || strcmp(buf, t) != 0)
			FAIL("tag_parse(\"%s\") then format gives \"%s\"", t, buf);
		if (snapshot_tag_validate(t, NULL, 0) != 0)
			FAIL("agent tag \"%s\" is not valid", t);
	}
	r = snapshot_plan_check_clear(t, "agent", NULL, false, err, sizeof err);
	if (r == 0 && !snapshot_tag_is_agent(t, "agent"))
		FAIL("check_clear allows \"%s\" without force", t);
	r = snapshot_plan_take_tag(t, "agent", INT64_C(1728691200000), buf, sizeof buf, err, sizeof err);
	if (r == 0 && t[0] && (strcmp(buf, t) != 0 || snapshot_tag_is_agent(t, "agent")))
		FAIL("take_tag(\"%s\") gave \"%s\"", t, buf);
	free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	record(data, size);
	if (size <= 2 * SNAPSHOT_TAG_MAX)
		tag(data, size);
	return 0;
}
