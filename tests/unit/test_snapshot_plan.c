/* test_snapshot_plan: Check unit tests for snapshot slot arithmetic, tags, guards, retention and the persisted record.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_run.h"
#include "nodetool_parse.h"
#include "snapshot_plan.h"

#define MS_S  INT64_C(1000)
#define MS_M  (60 * MS_S)
#define MS_H  (60 * MS_M)
#define MS_D  (24 * MS_H)
#define IV_4H ((uint64_t)(4 * MS_H))

/* Unix ms of a UTC calendar time. */
static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s};

	return (int64_t)timegm(&tm) * 1000;
}

/* A day to play in: 2024-10-11 00:00:00Z. */
#define DAY0 utc(2024, 10, 11, 0, 0, 0)

static struct snapshot_decision decide(const struct snapshot_schedule *s, int64_t now)
{
	struct snapshot_decision d;
	char err[128] = "";

	ck_assert_msg(snapshot_plan_decide(s, now, &d, err, sizeof err) == 0, "decide: %s", err);
	ck_assert_int_gt(d.wake_at_ms, now);
	return d;
}

/* A running schedule: every tick from `from` to `to` (inclusive) `step` ms apart; each TAKE
 * is taken at once (last_slot_ms follows). Returns how many were taken; slots in taken[]. */
static int simulate(struct snapshot_schedule *s, int64_t from, int64_t to, int64_t step, int64_t *taken, int max)
{
	int n = 0;

	for (int64_t now = from; now <= to; now += step) {
		struct snapshot_decision d = decide(s, now);

		if (d.action != SNAPSHOT_ACTION_TAKE)
			continue;
		ck_assert_int_gt(d.slot_ms, s->last_slot_ms);
		ck_assert_int_lt(n, max);
		taken[n++] = d.slot_ms;
		s->last_slot_ms = d.slot_ms;
	}
	return n;
}

/* ---------------- slot arithmetic ---------------- */

START_TEST(slot_floor_aligns_1h_4h_6h_24h_to_utc_multiples)
{
	int64_t now = utc(2024, 10, 11, 13, 37, 42) + 123, slot, next;
	const struct {
		int64_t iv, floor, next;
	} cases[] = {
		{MS_H, utc(2024, 10, 11, 13, 0, 0), utc(2024, 10, 11, 14, 0, 0)},
		{4 * MS_H, utc(2024, 10, 11, 12, 0, 0), utc(2024, 10, 11, 16, 0, 0)},
		{6 * MS_H, utc(2024, 10, 11, 12, 0, 0), utc(2024, 10, 11, 18, 0, 0)},
		{24 * MS_H, utc(2024, 10, 11, 0, 0, 0), utc(2024, 10, 12, 0, 0, 0)},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ck_assert_int_eq(snapshot_slot_floor(now, (uint64_t)cases[i].iv, &slot), 0);
		ck_assert_int_eq(slot, cases[i].floor);
		ck_assert_int_eq(snapshot_slot_next(now, (uint64_t)cases[i].iv, &next), 0);
		ck_assert_int_eq(next, cases[i].next);
	}
	/* Every 4 h slot of a day starts at 00, 04, 08, 12, 16, 20 UTC. */
	for (int h = 0; h < 24; h++) {
		ck_assert_int_eq(snapshot_slot_floor(DAY0 + h * MS_H + 59 * MS_M, IV_4H, &slot), 0);
		ck_assert_int_eq(slot, DAY0 + (h / 4) * 4 * MS_H);
	}
}
END_TEST

START_TEST(slot_floor_of_an_interval_not_dividing_a_day_aligns_to_the_epoch)
{
	int64_t slot, now = DAY0 + 5 * MS_H;

	ck_assert_int_eq(snapshot_slot_floor(now, (uint64_t)(7 * MS_H), &slot), 0);
	ck_assert_int_eq(slot % (7 * MS_H), 0);
	ck_assert_int_le(slot, now);
	ck_assert_int_gt(slot + 7 * MS_H, now);
	ck_assert_int_ne(slot % MS_D, 0); /* not midnight: epoch-aligned */
	/* An interval of years is fine: 10 years of ms, epoch-aligned too. */
	ck_assert_int_eq(snapshot_slot_floor(now, (uint64_t)(3650 * MS_D), &slot), 0);
	ck_assert_int_eq(slot, 3650 * MS_D * (now / (3650 * MS_D)));
}
END_TEST

START_TEST(slot_boundary_belongs_to_the_slot_it_starts)
{
	int64_t slot, next, b = DAY0 + 8 * MS_H;

	ck_assert_int_eq(snapshot_slot_floor(b, IV_4H, &slot), 0);
	ck_assert_int_eq(slot, b);
	ck_assert_int_eq(snapshot_slot_floor(b - 1, IV_4H, &slot), 0);
	ck_assert_int_eq(slot, b - 4 * MS_H);
	ck_assert_int_eq(snapshot_slot_next(b, IV_4H, &next), 0);
	ck_assert_int_eq(next, b + 4 * MS_H);
	ck_assert_int_eq(snapshot_slot_next(b - 1, IV_4H, &next), 0);
	ck_assert_int_eq(next, b);
}
END_TEST

START_TEST(slot_arithmetic_refuses_bad_intervals_and_times)
{
	int64_t v;

	ck_assert_int_eq(snapshot_slot_floor(DAY0, 0, &v), -EINVAL);
	ck_assert_int_eq(snapshot_slot_floor(DAY0, 999, &v), -EINVAL);
	ck_assert_int_eq(snapshot_slot_floor(DAY0, IV_4H, NULL), -EINVAL);
	ck_assert_int_eq(snapshot_slot_floor(-1, IV_4H, &v), -ERANGE);
	ck_assert_int_eq(snapshot_slot_floor(SNAPSHOT_TIME_MAX_MS + 1, IV_4H, &v), -ERANGE);
	ck_assert_int_eq(snapshot_slot_floor(INT64_MIN, IV_4H, &v), -ERANGE);
	ck_assert_int_eq(snapshot_slot_floor(INT64_MAX, UINT64_MAX, &v), -ERANGE);
	ck_assert_int_eq(snapshot_slot_floor(SNAPSHOT_TIME_MAX_MS, UINT64_MAX, &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(snapshot_slot_next(SNAPSHOT_TIME_MAX_MS, UINT64_MAX, &v), -ERANGE);
	ck_assert_int_eq(snapshot_slot_next(SNAPSHOT_TIME_MAX_MS, IV_4H, &v), -ERANGE);
	ck_assert_int_eq(snapshot_slot_next(SNAPSHOT_TIME_MAX_MS - 4 * MS_H, 1000, &v), 0);
	ck_assert_int_eq(v, SNAPSHOT_TIME_MAX_MS - 4 * MS_H + 1);
	ck_assert_int_eq(snapshot_slot_next(0, 1000, &v), 0);
	ck_assert_int_eq(v, 1000);
}
END_TEST

/* ---------------- decisions ---------------- */

START_TEST(first_start_without_a_record_takes_one_catch_up)
{
	struct snapshot_schedule s = {IV_4H, SNAPSHOT_SLOT_NONE, DAY0 + 9 * MS_H, true};
	struct snapshot_decision d = decide(&s, s.started_ms);

	ck_assert_int_eq(d.action, SNAPSHOT_ACTION_TAKE);
	ck_assert_int_eq(d.why, SNAPSHOT_WHY_CATCH_UP);
	ck_assert_int_eq(d.slot_ms, DAY0 + 8 * MS_H);
	ck_assert_int_eq(d.wake_at_ms, DAY0 + 12 * MS_H);
	ck_assert_uint_eq(d.missed_slots, 0);
}
END_TEST

START_TEST(restart_just_before_boundary_waits_for_the_boundary)
{
	/* 04:00 was taken; the agent restarts at 07:59:59. */
	struct snapshot_schedule s = {IV_4H, DAY0 + 4 * MS_H, DAY0 + 8 * MS_H - MS_S, true};
	int64_t taken[8];
	struct snapshot_decision d = decide(&s, s.started_ms);

	ck_assert_int_eq(d.action, SNAPSHOT_ACTION_WAIT);
	ck_assert_int_eq(d.why, SNAPSHOT_WHY_TAKEN);
	ck_assert_int_eq(d.wake_at_ms, DAY0 + 8 * MS_H);
	/* Ticking on through the boundary takes 08:00 exactly once. */
	ck_assert_int_eq(simulate(&s, s.started_ms, DAY0 + 11 * MS_H, MS_S, taken, 8), 1);
	ck_assert_int_eq(taken[0], DAY0 + 8 * MS_H);
	d = decide(&s, DAY0 + 8 * MS_H);
	ck_assert_int_eq(d.action, SNAPSHOT_ACTION_WAIT);
}
END_TEST

START_TEST(restart_just_before_boundary_with_a_missed_slot_catches_up_then_takes_the_boundary)
{
	/* 00:00 taken, 04:00 missed while down, restart at 07:59:59: one catch-up (04:00), then 08:00. */
	struct snapshot_schedule s = {IV_4H, DAY0, DAY0 + 8 * MS_H - MS_S, true};
	int64_t taken[8];

	ck_assert_int_eq(simulate(&s, s.started_ms, DAY0 + 11 * MS_H, MS_S, taken, 8), 2);
	ck_assert_int_eq(taken[0], DAY0 + 4 * MS_H);
	ck_assert_int_eq(taken[1], DAY0 + 8 * MS_H);
}
END_TEST

START_TEST(restart_just_after_boundary_takes_the_missed_slot_once)
{
	/* 04:00 taken, the agent was down across 08:00 and restarts at 08:00:01. */
	struct snapshot_schedule s = {IV_4H, DAY0 + 4 * MS_H, DAY0 + 8 * MS_H + MS_S, true};
	struct snapshot_decision d = decide(&s, s.started_ms);
	int64_t taken[8];

	ck_assert_int_eq(d.action, SNAPSHOT_ACTION_TAKE);
	ck_assert_int_eq(d.why, SNAPSHOT_WHY_CATCH_UP);
	ck_assert_int_eq(d.slot_ms, DAY0 + 8 * MS_H);
	ck_assert_uint_eq(d.missed_slots, 0);
	/* Through the rest of the slot: that one snapshot, no other. */
	ck_assert_int_eq(simulate(&s, s.started_ms, DAY0 + 12 * MS_H - 1, MS_M, taken, 8), 1);
	ck_assert_int_eq(taken[0], DAY0 + 8 * MS_H);
}
END_TEST

START_TEST(restart_without_catch_up_waits_for_the_next_slot)
{
	struct snapshot_schedule s = {IV_4H, DAY0 + 4 * MS_H, DAY0 + 8 * MS_H + MS_S, false};
	struct snapshot_decision d = decide(&s, s.started_ms);
	int64_t taken[8];

	ck_assert_int_eq(d.action, SNAPSHOT_ACTION_WAIT);
	ck_assert_int_eq(d.why, SNAPSHOT_WHY_NO_CATCH_UP);
	ck_assert_int_eq(d.wake_at_ms, DAY0 + 12 * MS_H);
	ck_assert_int_eq(simulate(&s, s.started_ms, DAY0 + 12 * MS_H + MS_M, MS_M, taken, 8), 1);
	ck_assert_int_eq(taken[0], DAY0 + 12 * MS_H);
}
END_TEST

START_TEST(start_up_after_three_missed_slots_takes_one_catch_up_only)
{
	/* 00:00 taken, down until 12:30: 04:00, 08:00 and 12:00 missed. */
	struct snapshot_schedule s = {IV_4H, DAY0, DAY0 + 12 * MS_H + 30 * MS_M, true};
	struct snapshot_decision d = decide(&s, s.started_ms);
	int64_t taken[8];

	ck_assert_int_eq(d.action, SNAPSHOT_ACTION_TAKE);
	ck_assert_int_eq(d.why, SNAPSHOT_WHY_CATCH_UP);
	ck_assert_int_eq(d.slot_ms, DAY0 + 12 * MS_H);
	ck_assert_uint_eq(d.missed_slots, 2);
	ck_assert_int_eq(simulate(&s, s.started_ms, DAY0 + 16 * MS_H - 1, MS_M, taken, 8), 1);
}
END_TEST

START_TEST(clock_jump_forward_three_slots_takes_one_snapshot)
{
	/* Running since before midnight, 00:00 taken; at 00:30 the clock jumps to 12:30. */
	struct snapshot_schedule s = {IV_4H, DAY0, DAY0 - MS_H, true};
	int64_t taken[8];
	struct snapshot_decision d = decide(&s, DAY0 + 12 * MS_H + 30 * MS_M);

	ck_assert_int_eq(simulate(&s, DAY0 + 30 * MS_M, DAY0 + 30 * MS_M, MS_M, taken, 8), 0);
	ck_assert_int_eq(d.action, SNAPSHOT_ACTION_TAKE);
	ck_assert_int_eq(d.why, SNAPSHOT_WHY_DUE);
	ck_assert_int_eq(d.slot_ms, DAY0 + 12 * MS_H);
	ck_assert_uint_eq(d.missed_slots, 2);
	ck_assert_int_eq(simulate(&s, DAY0 + 12 * MS_H + 30 * MS_M, DAY0 + 16 * MS_H - 1, MS_M, taken, 8), 1);
	ck_assert_int_eq(taken[0], DAY0 + 12 * MS_H);
}
END_TEST

START_TEST(clock_jump_backward_never_repeats_a_slot)
{
	/* 08:00 taken at 08:00; at 08:30 the clock goes back to 03:00. */
	struct snapshot_schedule s = {IV_4H, DAY0 + 8 * MS_H, DAY0 - MS_H, true};
	struct snapshot_decision d = decide(&s, DAY0 + 3 * MS_H);
	int64_t taken[8];

	ck_assert_int_eq(d.action, SNAPSHOT_ACTION_WAIT);
	ck_assert_int_eq(d.why, SNAPSHOT_WHY_CLOCK_BEHIND);
	ck_assert_int_eq(d.wake_at_ms, DAY0 + 12 * MS_H);
	/* From 03:00 through 12:30: 04:00 and 08:00 are not taken (again); 12:00 is. */
	ck_assert_int_eq(simulate(&s, DAY0 + 3 * MS_H, DAY0 + 12 * MS_H + 30 * MS_M, MS_M, taken, 8), 1);
	ck_assert_int_eq(taken[0], DAY0 + 12 * MS_H);
}
END_TEST

START_TEST(clock_jump_backward_within_the_taken_slot_waits)
{
	struct snapshot_schedule s = {IV_4H, DAY0 + 8 * MS_H, DAY0 - MS_H, true};
	struct snapshot_decision d = decide(&s, DAY0 + 8 * MS_H + 10 * MS_M);

	ck_assert_int_eq(d.action, SNAPSHOT_ACTION_WAIT);
	ck_assert_int_eq(d.why, SNAPSHOT_WHY_TAKEN);
	ck_assert_int_eq(d.wake_at_ms, DAY0 + 12 * MS_H);
}
END_TEST

START_TEST(clock_behind_the_start_up_does_not_count_as_a_catch_up)
{
	/* Started at 12:30 (catch-up slot 12:00); the clock then goes back to 05:00 with 00:00 the last taken. */
	struct snapshot_schedule s = {IV_4H, DAY0, DAY0 + 12 * MS_H + 30 * MS_M, true};
	struct snapshot_decision d = decide(&s, DAY0 + 5 * MS_H);

	ck_assert_int_eq(d.action, SNAPSHOT_ACTION_WAIT);
	ck_assert_int_eq(d.why, SNAPSHOT_WHY_CLOCK_BEHIND);
	ck_assert_int_eq(d.wake_at_ms, DAY0 + 8 * MS_H);
}
END_TEST

START_TEST(late_tick_still_takes_the_current_slot)
{
	struct snapshot_schedule s = {IV_4H, DAY0, DAY0 - MS_H, true};
	struct snapshot_decision d = decide(&s, DAY0 + 7 * MS_H + 59 * MS_M);

	ck_assert_int_eq(d.action, SNAPSHOT_ACTION_TAKE);
	ck_assert_int_eq(d.why, SNAPSHOT_WHY_DUE);
	ck_assert_int_eq(d.slot_ms, DAY0 + 4 * MS_H);
	ck_assert_int_eq(d.wake_at_ms, DAY0 + 8 * MS_H);
}
END_TEST

START_TEST(guard_skipped_slot_stays_due_within_its_slot)
{
	struct snapshot_schedule s = {IV_4H, DAY0, DAY0 - MS_H, true};

	/* Skipped at 04:00 (not persisted): still TAKE at 04:05 and 07:59, WAIT from 08:00 for the 08:00 slot. */
	ck_assert_int_eq(decide(&s, DAY0 + 4 * MS_H).action, SNAPSHOT_ACTION_TAKE);
	ck_assert_int_eq(decide(&s, DAY0 + 4 * MS_H + 5 * MS_M).slot_ms, DAY0 + 4 * MS_H);
	ck_assert_int_eq(decide(&s, DAY0 + 8 * MS_H - 1).action, SNAPSHOT_ACTION_TAKE);
	ck_assert_int_eq(decide(&s, DAY0 + 8 * MS_H).slot_ms, DAY0 + 8 * MS_H);
	ck_assert_uint_eq(decide(&s, DAY0 + 8 * MS_H).missed_slots, 1);
}
END_TEST

START_TEST(changed_interval_neither_repeats_nor_stalls)
{
	/* 04:00 taken with 4 h; restart at 05:00 with 6 h: the 00:00 slot of the 6 h grid is older, wait for 06:00. */
	struct snapshot_schedule s = {(uint64_t)(6 * MS_H), DAY0 + 4 * MS_H, DAY0 + 5 * MS_H, true};
	struct snapshot_decision d = decide(&s, s.started_ms);

	ck_assert_int_eq(d.action, SNAPSHOT_ACTION_WAIT);
	ck_assert_int_eq(d.why, SNAPSHOT_WHY_TAKEN);
	ck_assert_int_eq(d.wake_at_ms, DAY0 + 6 * MS_H);
	d = decide(&s, DAY0 + 6 * MS_H);
	ck_assert_int_eq(d.action, SNAPSHOT_ACTION_TAKE);
	ck_assert_uint_eq(d.missed_slots, 0);
}
END_TEST

START_TEST(three_days_of_ticks_take_every_slot_exactly_once)
{
	struct snapshot_schedule s = {IV_4H, DAY0 - 4 * MS_H, DAY0 - MS_H, true};
	int64_t taken[32];
	int n = simulate(&s, DAY0 - MS_H, DAY0 + 3 * MS_D - 1, 7 * MS_S, taken, 32);

	ck_assert_int_eq(n, 18);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(taken[i], DAY0 + i * 4 * MS_H);
}
END_TEST

START_TEST(schedule_at_the_end_of_year_9999_waits_forever)
{
	struct snapshot_schedule s = {(uint64_t)MS_D, SNAPSHOT_SLOT_NONE, SNAPSHOT_TIME_MAX_MS - MS_H, false};
	struct snapshot_decision d = decide(&s, SNAPSHOT_TIME_MAX_MS);

	ck_assert_int_eq(d.action, SNAPSHOT_ACTION_WAIT);
	ck_assert_int_eq(d.wake_at_ms, SNAPSHOT_NEVER);
	s.last_slot_ms = SNAPSHOT_TIME_MAX_MS;
	d = decide(&s, SNAPSHOT_TIME_MAX_MS);
	ck_assert_int_eq(d.why, SNAPSHOT_WHY_TAKEN);
	ck_assert_int_eq(d.wake_at_ms, SNAPSHOT_NEVER);
	s.interval_ms = UINT64_MAX;
	s.last_slot_ms = SNAPSHOT_SLOT_NONE;
	s.started_ms = 0;
	d = decide(&s, SNAPSHOT_TIME_MAX_MS);
	ck_assert_int_eq(d.action, SNAPSHOT_ACTION_TAKE);
	ck_assert_int_eq(d.slot_ms, 0);
	ck_assert_int_eq(d.wake_at_ms, SNAPSHOT_NEVER);
}
END_TEST

START_TEST(decide_refuses_bad_arguments)
{
	struct snapshot_schedule s = {IV_4H, SNAPSHOT_SLOT_NONE, DAY0, true};
	struct snapshot_decision d;
	char err[128] = "";

	ck_assert_int_eq(snapshot_plan_decide(NULL, DAY0, &d, err, sizeof err), -EINVAL);
	ck_assert_int_eq(snapshot_plan_decide(&s, DAY0, NULL, NULL, 0), -EINVAL);
	ck_assert_int_eq(snapshot_plan_decide(&s, -5, &d, err, sizeof err), -ERANGE);
	ck_assert_ptr_nonnull(strstr(err, "outside"));
	ck_assert_int_eq(snapshot_plan_decide(&s, SNAPSHOT_TIME_MAX_MS + 1, &d, err, sizeof err), -ERANGE);
	s.interval_ms = 500;
	ck_assert_int_eq(snapshot_plan_decide(&s, DAY0, &d, err, sizeof err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "interval"));
	s.interval_ms = IV_4H;
	s.last_slot_ms = -2;
	ck_assert_int_eq(snapshot_plan_decide(&s, DAY0, &d, err, sizeof err), -EINVAL);
	s.last_slot_ms = INT64_MAX;
	ck_assert_int_eq(snapshot_plan_decide(&s, DAY0, &d, err, sizeof err), -EINVAL);
	s.last_slot_ms = SNAPSHOT_SLOT_NONE;
	s.started_ms = -1;
	ck_assert_int_eq(snapshot_plan_decide(&s, DAY0, &d, err, sizeof err), -EINVAL);
	ck_assert_str_eq(snapshot_why_name(SNAPSHOT_WHY_CATCH_UP), "catch_up");
	ck_assert_str_eq(snapshot_action_name(SNAPSHOT_ACTION_TAKE), "take");
}
END_TEST

/* ---------------- tags ---------------- */

START_TEST(tag_format_round_trips_slot_times)
{
	const struct {
		int64_t at;
		const char *tag;
	} cases[] = {
		{0, "agent-19700101T000000Z"},
		{utc(2024, 10, 11, 12, 0, 0), "agent-20241011T120000Z"},
		{utc(2024, 2, 29, 23, 59, 59), "agent-20240229T235959Z"},
		{utc(2000, 2, 29, 4, 0, 0), "agent-20000229T040000Z"},
		{utc(2100, 3, 1, 0, 0, 0), "agent-21000301T000000Z"},
		{SNAPSHOT_TIME_MAX_MS - 999, "agent-99991231T235959Z"},
	};
	char buf[SNAPSHOT_TAG_SIZE];
	int64_t ms;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ck_assert_int_eq(snapshot_tag_format("agent", cases[i].at, buf, sizeof buf), 0);
		ck_assert_str_eq(buf, cases[i].tag);
		ck_assert_int_eq(snapshot_tag_parse(buf, "agent", &ms), 0);
		ck_assert_int_eq(ms, cases[i].at);
	}
	/* Milliseconds are truncated to the second. */
	ck_assert_int_eq(snapshot_tag_format("agent", SNAPSHOT_TIME_MAX_MS, buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "agent-99991231T235959Z");
	/* Every day of 1970..2400 at noon round-trips (calendar arithmetic). */
	for (int64_t t = 12 * MS_H; t < utc(2400, 12, 31, 0, 0, 0); t += MS_D + 37 * MS_S) {
		ck_assert_int_eq(snapshot_tag_format("p", t, buf, sizeof buf), 0);
		ck_assert_int_eq(snapshot_tag_parse(buf, "p", &ms), 0);
		ck_assert_int_eq(ms, t);
	}
}
END_TEST

START_TEST(tag_format_refuses_bad_prefix_time_and_small_buffer)
{
	char buf[SNAPSHOT_TAG_SIZE] = "x";
	char longp[SNAPSHOT_PREFIX_MAX + 2];

	ck_assert_int_eq(snapshot_tag_format("agent", -1, buf, sizeof buf), -ERANGE);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(snapshot_tag_format("agent", SNAPSHOT_TIME_MAX_MS + 1, buf, sizeof buf), -ERANGE);
	ck_assert_int_eq(snapshot_tag_format("agent", 0, buf, 22), -ENOSPC);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(snapshot_tag_format("agent", 0, buf, 23), 0);
	ck_assert_int_eq(snapshot_tag_format("agent", 0, buf, 0), -ENOSPC);
	ck_assert_int_eq(snapshot_tag_format("a/b", 0, buf, sizeof buf), -EINVAL);
	ck_assert_int_eq(snapshot_tag_format(".x", 0, buf, sizeof buf), -EINVAL);
	ck_assert_int_eq(snapshot_tag_format(NULL, 0, buf, sizeof buf), -EINVAL);
	ck_assert_int_eq(snapshot_tag_format("agent", 0, NULL, 10), -EINVAL);
	memset(longp, 'p', sizeof longp - 1);
	longp[sizeof longp - 1] = '\0';
	ck_assert_int_eq(snapshot_tag_format(longp, 0, buf, sizeof buf), -EINVAL);
	longp[SNAPSHOT_PREFIX_MAX] = '\0';
	ck_assert_int_eq(snapshot_tag_format(longp, SNAPSHOT_TIME_MAX_MS, buf, sizeof buf), 0);
	ck_assert_uint_eq(strlen(buf), SNAPSHOT_TAG_MAX);
	ck_assert_int_eq(snapshot_tag_validate(buf, NULL, 0), 0);
}
END_TEST

/* Asserts tag is refused with -EINVAL and the message contains `needle`. */
static void refused(const char *tag, const char *needle)
{
	char err[160] = "";

	ck_assert_int_eq(snapshot_tag_validate(tag, err, sizeof err), -EINVAL);
	ck_assert_msg(strstr(err, needle), "tag \"%s\": message \"%s\" lacks \"%s\"", tag ? tag : "(null)", err,
		      needle);
}

START_TEST(tag_with_slash_is_refused)
{
	refused("a/b", "'/' at position 2");
	refused("/etc", "'/' at position 1");
	refused("../../etc", "start with '.'");
	refused("agent-x/..", "'/'");
}
END_TEST

START_TEST(tag_dot_dot_and_dot_are_refused)
{
	refused("..", "start with '.'");
	refused(".", "start with '.'");
	refused(".hidden", "start with '.'");
	ck_assert_int_eq(snapshot_tag_validate("a..b", NULL, 0), 0);
	ck_assert_int_eq(snapshot_tag_validate("v1.2", NULL, 0), 0);
}
END_TEST

START_TEST(tag_with_spaces_is_refused)
{
	refused("my tag", "byte 0x20 at position 3");
	refused(" lead", "position 1");
	refused("trail ", "position 6");
	refused("tab\there", "0x09");
}
END_TEST

START_TEST(tag_of_65_characters_is_refused_64_accepted)
{
	char tag[80];

	memset(tag, 'a', 65);
	tag[65] = '\0';
	refused(tag, "longer than 64");
	tag[64] = '\0';
	ck_assert_int_eq(snapshot_tag_validate(tag, NULL, 0), 0);
	ck_assert_int_eq(snapshot_tag_validate("a", NULL, 0), 0);
	ck_assert_int_eq(snapshot_tag_validate("-_", NULL, 0), 0);
}
END_TEST

START_TEST(tag_empty_null_control_and_non_ascii_are_refused)
{
	refused("", "empty");
	refused(NULL, "no snapshot tag");
	refused("caf\xc3\xa9", "0xc3");
	refused("a\nb", "0x0a");
	refused("a;rm", "';'");
	refused("$(x)", "'$'");
	refused("a\x7f", "0x7f");
}
END_TEST

START_TEST(tag_parse_accepts_only_the_exact_agent_format)
{
	static const char *const not_agent[] = {
		"agent-20241011T120000Z-copy",
		"agent-20241011T120000",
		"agent-2024",
		"agent",
		"agent-",
		"agent-20241301T000000Z",
		"agent-20241000T000000Z",
		"agent-20241032T000000Z",
		"agent-20230229T000000Z",
		"agent-21000229T000000Z",
		"agent-20241011T240000Z",
		"agent-20241011T126000Z",
		"agent-20241011T120060Z",
		"agent-20241011t120000Z",
		"agent-20241011T120000z",
		"Agent-20241011T120000Z",
		"agentx-20241011T120000Z",
		"agent--20241011T120000Z",
		"agent_20241011T120000Z",
		"xagent-20241011T120000Z",
		"agent-19691231T235959Z",
		"agent-2024101 T120000Z",
		"agent-+2024101T120000Z",
		"agent-20241011T12000-Z",
		"pre-upgrade-20241010",
		"1728634112905",
	};
	int64_t ms = 42;

	for (size_t i = 0; i < sizeof not_agent / sizeof not_agent[0]; i++) {
		ck_assert_msg(snapshot_tag_parse(not_agent[i], "agent", &ms) == -EINVAL, "%s parsed", not_agent[i]);
		ck_assert(!snapshot_tag_is_agent(not_agent[i], "agent"));
	}
	ck_assert_int_eq(ms, 42);
	ck_assert(snapshot_tag_is_agent("agent-20240229T000000Z", "agent"));
	ck_assert(snapshot_tag_is_agent("nightly.v2-20241011T120000Z", "nightly.v2"));
	ck_assert(!snapshot_tag_is_agent("agent-20241011T120000Z", "nightly"));
	ck_assert(!snapshot_tag_is_agent("agent-20241011T120000Z", "../x"));
	ck_assert(!snapshot_tag_is_agent(NULL, "agent"));
	ck_assert(!snapshot_tag_is_agent("agent-20241011T120000Z", NULL));
	/* A prefix containing the separator still parses exactly. */
	ck_assert(snapshot_tag_is_agent("a-b-20241011T120000Z", "a-b"));
	ck_assert(!snapshot_tag_is_agent("a-b-20241011T120000Z", "a"));
}
END_TEST

START_TEST(prefix_validation_matches_the_config_rules)
{
	char p[SNAPSHOT_PREFIX_MAX + 2];
	char err[128];

	ck_assert_int_eq(snapshot_prefix_validate("agent", err, sizeof err), 0);
	ck_assert_int_eq(snapshot_prefix_validate("a.b_c-9", err, sizeof err), 0);
	ck_assert_int_eq(snapshot_prefix_validate("", err, sizeof err), -EINVAL);
	ck_assert_int_eq(snapshot_prefix_validate(".a", err, sizeof err), -EINVAL);
	ck_assert_int_eq(snapshot_prefix_validate("a b", err, sizeof err), -EINVAL);
	memset(p, 'x', sizeof p - 1);
	p[sizeof p - 1] = '\0';
	ck_assert_int_eq(snapshot_prefix_validate(p, err, sizeof err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "longer than 47"));
	p[SNAPSHOT_PREFIX_MAX] = '\0';
	ck_assert_int_eq(snapshot_prefix_validate(p, err, sizeof err), 0);
}
END_TEST

START_TEST(on_demand_tag_defaults_to_the_agent_format_and_refuses_the_reserved_form)
{
	char out[SNAPSHOT_TAG_SIZE], err[200];
	int64_t now = utc(2024, 10, 11, 13, 37, 42) + 500;

	ck_assert_int_eq(snapshot_plan_take_tag(NULL, "agent", now, out, sizeof out, err, sizeof err), 0);
	ck_assert_str_eq(out, "agent-20241011T133742Z");
	ck_assert(snapshot_tag_is_agent(out, "agent"));
	ck_assert_int_eq(snapshot_plan_take_tag("", "agent", now, out, sizeof out, err, sizeof err), 0);
	ck_assert_str_eq(out, "agent-20241011T133742Z");
	ck_assert_int_eq(snapshot_plan_take_tag("pre-upgrade-4.1.8", "agent", now, out, sizeof out, err, sizeof err),
			 0);
	ck_assert_str_eq(out, "pre-upgrade-4.1.8");
	ck_assert(!snapshot_tag_is_agent(out, "agent"));
	ck_assert_int_eq(
		snapshot_plan_take_tag("agent-20241011T000000Z", "agent", now, out, sizeof out, err, sizeof err),
		-EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "reserved"));
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(snapshot_plan_take_tag("../x", "agent", now, out, sizeof out, err, sizeof err), -EINVAL);
	ck_assert_int_eq(snapshot_plan_take_tag("a b", "agent", now, out, sizeof out, err, sizeof err), -EINVAL);
	ck_assert_int_eq(snapshot_plan_take_tag(NULL, "agent", -1, out, sizeof out, err, sizeof err), -ERANGE);
	ck_assert_int_eq(snapshot_plan_take_tag("abc", "agent", now, out, 3, err, sizeof err), -ENOSPC);
	ck_assert_int_eq(snapshot_plan_take_tag(NULL, "agent", now, out, 5, err, sizeof err), -ENOSPC);
	ck_assert_int_eq(snapshot_plan_take_tag("abc", "bad/prefix", now, out, sizeof out, err, sizeof err), -EINVAL);
	ck_assert_int_eq(snapshot_plan_take_tag("abc", "agent", now, NULL, 0, err, sizeof err), -EINVAL);
}
END_TEST

START_TEST(clear_snapshot_needs_force_for_tags_the_agent_did_not_make)
{
	char err[200];

	ck_assert_int_eq(snapshot_plan_check_clear("agent-20241011T080000Z", "agent", NULL, false, err, sizeof err), 0);
	ck_assert_int_eq(snapshot_plan_check_clear("pre-upgrade-20241010", "agent", NULL, false, err, sizeof err),
			 -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "not made by the agent"));
	ck_assert_int_eq(snapshot_plan_check_clear("agent-20241011T080000Z-x", "agent", NULL, false, err, sizeof err),
			 -EPERM);
	ck_assert_int_eq(snapshot_plan_check_clear("pre-upgrade-20241010", "agent", NULL, true, err, sizeof err), 0);
	/* Invalid tags are refused even with force. */
	ck_assert_int_eq(snapshot_plan_check_clear("..", "agent", NULL, true, err, sizeof err), -EINVAL);
	ck_assert_int_eq(snapshot_plan_check_clear("a/b", "agent", NULL, true, err, sizeof err), -EINVAL);
	ck_assert_int_eq(snapshot_plan_check_clear("", "agent", NULL, true, err, sizeof err), -EINVAL);
	ck_assert_int_eq(snapshot_plan_check_clear(NULL, "agent", NULL, true, err, sizeof err), -EINVAL);
}
END_TEST

START_TEST(clear_snapshot_refuses_the_newest_successful_without_force)
{
	char err[200];
	const char *newest = "agent-20241011T080000Z";

	ck_assert_int_eq(snapshot_plan_check_clear(newest, "agent", newest, false, err, sizeof err), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "newest"));
	ck_assert_int_eq(snapshot_plan_check_clear(newest, "agent", newest, true, err, sizeof err), 0);
	ck_assert_int_eq(snapshot_plan_check_clear("agent-20241011T040000Z", "agent", newest, false, err, sizeof err),
			 0);
	ck_assert_int_eq(snapshot_plan_check_clear("agent-20241011T040000Z", "agent", "", false, err, sizeof err), 0);
}
END_TEST

/* ---------------- guards ---------------- */

static struct snapshot_disk disks_ok[] = {
	{"/var/lib/cassandra/data", 0, 1000, 500},
	{"/data2", 0, 1000, 200},
};

static struct snapshot_guard_input guard_ok(void)
{
	struct snapshot_guard_input in = {false, false, true, disks_ok, 2, 15.0};

	return in;
}

START_TEST(guard_passes_with_cassandra_up_and_enough_space)
{
	struct snapshot_guard_input in = guard_ok();
	char reason[160] = "x";

	ck_assert_int_eq(snapshot_plan_guard(&in, reason, sizeof reason), SNAPSHOT_SKIP_NONE);
	ck_assert_str_eq(reason, "");
	in.disks = NULL;
	in.n_disks = 0;
	ck_assert_int_eq(snapshot_plan_guard(&in, reason, sizeof reason), SNAPSHOT_SKIP_NONE);
	ck_assert_str_eq(snapshot_skip_name(SNAPSHOT_SKIP_NONE), "ok");
}
END_TEST

START_TEST(guard_skips_when_cassandra_is_not_running)
{
	struct snapshot_guard_input in = guard_ok();
	char reason[160];

	in.cassandra_running = false;
	ck_assert_int_eq(snapshot_plan_guard(&in, reason, sizeof reason), SNAPSHOT_SKIP_CASSANDRA_DOWN);
	ck_assert_str_eq(reason, "Cassandra is not running");
	ck_assert_str_eq(snapshot_skip_name(SNAPSHOT_SKIP_CASSANDRA_DOWN), "cassandra_down");
}
END_TEST

START_TEST(guard_skips_when_maintenance_holds_the_node)
{
	struct snapshot_guard_input in = guard_ok();
	char reason[160];

	in.maintenance_holds = true;
	in.cassandra_running = false;
	ck_assert_int_eq(snapshot_plan_guard(&in, reason, sizeof reason), SNAPSHOT_SKIP_MAINTENANCE);
	ck_assert_str_eq(reason, "maintenance holds the node");
}
END_TEST

START_TEST(guard_skips_while_another_snapshot_runs)
{
	struct snapshot_guard_input in = guard_ok();
	char reason[160];

	in.snapshot_running = true;
	in.maintenance_holds = true;
	ck_assert_int_eq(snapshot_plan_guard(&in, reason, sizeof reason), SNAPSHOT_SKIP_BUSY);
	ck_assert_ptr_nonnull(strstr(reason, "already running"));
}
END_TEST

START_TEST(guard_skips_when_a_data_directory_is_below_min_free_disk)
{
	struct snapshot_disk d[] = {{"/var/lib/cassandra/data", 0, 1000, 500}, {"/data2", 0, 1000, 125}};
	struct snapshot_guard_input in = guard_ok();
	char reason[160];

	in.disks = d;
	ck_assert_int_eq(snapshot_plan_guard(&in, reason, sizeof reason), SNAPSHOT_SKIP_DISK_LOW);
	ck_assert_str_eq(reason, "free disk on /data2 is 12.5%, below min_free_disk 15%");
	d[1].free_bytes = 150; /* exactly 15%: enough */
	ck_assert_int_eq(snapshot_plan_guard(&in, reason, sizeof reason), SNAPSHOT_SKIP_NONE);
	d[1].free_bytes = 149;
	ck_assert_int_eq(snapshot_plan_guard(&in, NULL, 0), SNAPSHOT_SKIP_DISK_LOW);
}
END_TEST

START_TEST(guard_skips_when_free_space_is_unknown)
{
	struct snapshot_disk d[] = {{"/var/lib/cassandra/data", -ENOENT, 0, 0}};
	struct snapshot_guard_input in = guard_ok();
	char reason[160];

	in.disks = d;
	in.n_disks = 1;
	ck_assert_int_eq(snapshot_plan_guard(&in, reason, sizeof reason), SNAPSHOT_SKIP_DISK_UNKNOWN);
	ck_assert_ptr_nonnull(strstr(reason, "/var/lib/cassandra/data is unknown"));
	d[0].err = 0;
	ck_assert_int_eq(snapshot_plan_guard(&in, reason, sizeof reason), SNAPSHOT_SKIP_DISK_UNKNOWN);
	in.disks = NULL;
	ck_assert_int_eq(snapshot_plan_guard(&in, reason, sizeof reason), SNAPSHOT_SKIP_DISK_UNKNOWN);
	ck_assert_int_eq(snapshot_plan_guard(NULL, reason, sizeof reason), SNAPSHOT_SKIP_DISK_UNKNOWN);
}
END_TEST

/* ---------------- retention ---------------- */

#define NOW     utc(2024, 10, 11, 13, 0, 0)
#define RET_48H ((uint64_t)(48 * MS_H))

static struct nt_snapshot row(const char *tag, const char *table, uint64_t bytes, int64_t created)
{
	struct nt_snapshot r;

	memset(&r, 0, sizeof r);
	snprintf(r.tag, sizeof r.tag, "%s", tag);
	snprintf(r.keyspace, sizeof r.keyspace, "app");
	snprintf(r.table, sizeof r.table, "%s", table);
	r.true_size_bytes = bytes;
	r.size_on_disk_bytes = bytes + 1;
	r.created_unix_ms = created;
	return r;
}

/* The agent tag for a time. */
static const char *atag(int64_t at)
{
	static char bufs[8][SNAPSHOT_TAG_SIZE];
	static int i;
	char *b = bufs[i++ % 8];

	ck_assert_int_eq(snapshot_tag_format("agent", at, b, SNAPSHOT_TAG_SIZE), 0);
	return b;
}

static struct snapshot_retention retain(const struct nt_snapshot *rows, size_t n, const char *newest_ok)
{
	struct snapshot_retention r;
	char err[128] = "";

	ck_assert_msg(snapshot_plan_retention(rows, n, "agent", RET_48H, NOW, newest_ok, &r, err, sizeof err) == 0,
		      "retention: %s", err);
	return r;
}

static const struct snapshot_tag_info *find(const struct snapshot_retention *r, const char *tag)
{
	for (size_t i = 0; i < r->n_tags; i++)
		if (strcmp(r->tags[i].tag, tag) == 0)
			return &r->tags[i];
	ck_abort_msg("tag %s not in the result", tag);
	return NULL;
}

/* True when `tag` is in the clear list. */
static bool cleared(const struct snapshot_retention *r, const char *tag)
{
	for (size_t i = 0; i < r->n_clear; i++)
		if (strcmp(r->tags[r->clear[i]].tag, tag) == 0)
			return true;
	return false;
}

START_TEST(hand_made_snapshot_survives)
{
	int64_t old = NOW - 30 * MS_D;
	struct nt_snapshot rows[] = {
		row("pre-upgrade-20241010", "orders", 100, old),
		row("pre-upgrade-20241010", "customers", 50, old),
		row("1728634112905", "orders", 0, old),
		row(atag(NOW - 60 * MS_H), "orders", 10, NOW - 60 * MS_H),
		row(atag(NOW - MS_H), "orders", 10, NOW - MS_H),
	};
	struct snapshot_retention r = retain(rows, 5, NULL);

	ck_assert_uint_eq(r.n_tags, 4);
	ck_assert_uint_eq(r.n_clear, 1);
	ck_assert(cleared(&r, atag(NOW - 60 * MS_H)));
	ck_assert(!cleared(&r, "pre-upgrade-20241010"));
	ck_assert(!cleared(&r, "1728634112905"));
	ck_assert_int_eq(find(&r, "pre-upgrade-20241010")->owner, SNAPSHOT_OWNER_OTHER);
	ck_assert(!find(&r, "pre-upgrade-20241010")->expired);
	ck_assert_str_eq(snapshot_owner_name(find(&r, "1728634112905")->owner), "other");
	snapshot_retention_free(&r);
}
END_TEST

START_TEST(newest_agent_snapshot_survives_when_all_are_old)
{
	struct nt_snapshot rows[] = {
		row(atag(NOW - 100 * MS_H), "t", 1, 0),
		row(atag(NOW - 52 * MS_H), "t", 1, 0),
		row(atag(NOW - 72 * MS_H), "t", 1, 0),
		row(atag(NOW - 52 * MS_H), "u", 1, 0),
	};
	struct snapshot_retention r = retain(rows, 4, NULL);

	ck_assert_uint_eq(r.n_tags, 3);
	ck_assert_uint_eq(r.n_clear, 2);
	ck_assert_uint_eq(r.newest, 0);
	ck_assert_str_eq(r.tags[r.newest].tag, atag(NOW - 52 * MS_H));
	ck_assert(r.tags[0].kept_as_newest && r.tags[0].expired && !r.tags[0].clear);
	/* Oldest first. */
	ck_assert_str_eq(r.tags[r.clear[0]].tag, atag(NOW - 100 * MS_H));
	ck_assert_str_eq(r.tags[r.clear[1]].tag, atag(NOW - 72 * MS_H));
	snapshot_retention_free(&r);
}
END_TEST

START_TEST(only_agent_tags_in_the_exact_format_are_cleared)
{
	int64_t old = NOW - 10 * MS_D;
	struct nt_snapshot rows[] = {
		row("agent-20241001T000000Z", "t", 1, old), row("agent-20241001T000000Z-copy", "t", 1, old),
		row("agent-20241301T000000Z", "t", 1, old), row("agent-2024", "t", 1, old),
		row("Agent-20241001T000000Z", "t", 1, old), row("agentx-20241001T000000Z", "t", 1, old),
		row("agent-20241001T000000z", "t", 1, old), row("nightly-20241001T000000Z", "t", 1, old),
		row(atag(NOW - MS_H), "t", 1, NOW - MS_H),
	};
	struct snapshot_retention r = retain(rows, 9, NULL);

	ck_assert_uint_eq(r.n_tags, 9);
	ck_assert_uint_eq(r.n_agent, 2);
	ck_assert_uint_eq(r.n_clear, 1);
	ck_assert_str_eq(r.tags[r.clear[0]].tag, "agent-20241001T000000Z");
	for (size_t i = 0; i < r.n_tags; i++)
		if (r.tags[i].owner == SNAPSHOT_OWNER_OTHER)
			ck_assert(!r.tags[i].clear && !r.tags[i].expired);
	snapshot_retention_free(&r);
}
END_TEST

START_TEST(listing_from_3_11_without_creation_times_uses_tag_times)
{
	char text[4096];
	struct nt_snapshots snaps;
	struct snapshot_retention r;
	char err[160] = "";
	int n;

	n = snprintf(text, sizeof text,
		     "Snapshot Details: \n"
		     "Snapshot name          Keyspace name Column family name True size  Size on disk\n"
		     "pre-upgrade-20241010   app           orders             812.44 MiB 812.47 MiB  \n"
		     "%-22s app           orders             1.5 MiB    1.5 MiB     \n"
		     "%-22s app           customers          0.5 MiB    0.5 MiB     \n"
		     "%-22s app           orders             2 MiB      2 MiB       \n"
		     "%-22s app           orders             3 MiB      3 MiB       \n"
		     "\n"
		     "Total TrueDiskSpaceUsed: 819.44 MiB\n\n",
		     atag(NOW - 56 * MS_H), atag(NOW - 56 * MS_H), atag(NOW - 52 * MS_H), atag(NOW - 4 * MS_H));
	ck_assert_int_lt(n, (int)sizeof text);
	ck_assert_int_eq(nt_parse_listsnapshots(text, (size_t)n, &snaps, err, sizeof err), 0);
	ck_assert_uint_eq(snaps.n_rows, 5);
	ck_assert_int_eq(snaps.rows[1].created_unix_ms, 0);
	r = retain(snaps.rows, snaps.n_rows, NULL);
	ck_assert_uint_eq(r.n_tags, 4);
	ck_assert_uint_eq(r.n_clear, 2);
	ck_assert(cleared(&r, atag(NOW - 56 * MS_H)));
	ck_assert(cleared(&r, atag(NOW - 52 * MS_H)));
	ck_assert_int_eq(find(&r, atag(NOW - 56 * MS_H))->created_unix_ms, NOW - 56 * MS_H);
	ck_assert_uint_eq(find(&r, atag(NOW - 56 * MS_H))->true_size_bytes, 2 * 1024 * 1024);
	ck_assert_uint_eq(find(&r, atag(NOW - 56 * MS_H))->tables, 2);
	/* The hand-made one has no known time: listed last, never cleared. */
	ck_assert_str_eq(r.tags[r.n_tags - 1].tag, "pre-upgrade-20241010");
	ck_assert_int_eq(r.tags[r.n_tags - 1].created_unix_ms, 0);
	ck_assert_str_eq(r.tags[0].tag, atag(NOW - 4 * MS_H));
	snapshot_retention_free(&r);
	nt_snapshots_free(&snaps);
}
END_TEST

START_TEST(verified_newest_tag_is_kept_instead_of_a_newer_failed_one)
{
	/* The agent failed for three days: 60 h ago is its last verified one, a newer (50 h) attempt failed. */
	struct nt_snapshot rows[] = {
		row(atag(NOW - 60 * MS_H), "t", 1, 0),
		row(atag(NOW - 50 * MS_H), "t", 1, 0),
		row(atag(NOW - 70 * MS_H), "t", 1, 0),
	};
	struct snapshot_retention r = retain(rows, 3, atag(NOW - 60 * MS_H));

	ck_assert_str_eq(r.tags[r.newest].tag, atag(NOW - 60 * MS_H));
	ck_assert_uint_eq(r.n_clear, 2);
	ck_assert(cleared(&r, atag(NOW - 50 * MS_H)));
	ck_assert(cleared(&r, atag(NOW - 70 * MS_H)));
	snapshot_retention_free(&r);
}
END_TEST

START_TEST(unknown_or_hand_made_verified_tag_falls_back_to_the_newest_agent_tag)
{
	struct nt_snapshot rows[] = {
		row(atag(NOW - 60 * MS_H), "t", 1, 0),
		row(atag(NOW - 50 * MS_H), "t", 1, 0),
		row("manual", "t", 1, NOW - 100 * MS_H),
	};
	struct snapshot_retention r = retain(rows, 3, "gone-tag");

	ck_assert_str_eq(r.tags[r.newest].tag, atag(NOW - 50 * MS_H));
	ck_assert_uint_eq(r.n_clear, 1);
	snapshot_retention_free(&r);
	r = retain(rows, 3, "manual");
	ck_assert_str_eq(r.tags[r.newest].tag, atag(NOW - 50 * MS_H));
	ck_assert_uint_eq(r.n_clear, 1);
	ck_assert(cleared(&r, atag(NOW - 60 * MS_H)));
	snapshot_retention_free(&r);
}
END_TEST

START_TEST(future_dated_agent_tag_is_kept_and_not_chosen_as_newest)
{
	struct nt_snapshot rows[] = {
		row("agent-20991231T000000Z", "t", 1, 0),
		row(atag(NOW - 60 * MS_H), "t", 1, 0),
		row(atag(NOW - 70 * MS_H), "t", 1, 0),
	};
	struct snapshot_retention r = retain(rows, 3, NULL);

	ck_assert_str_eq(r.tags[0].tag, "agent-20991231T000000Z");
	ck_assert(!r.tags[0].expired && !r.tags[0].clear);
	ck_assert_str_eq(r.tags[r.newest].tag, atag(NOW - 60 * MS_H));
	ck_assert_uint_eq(r.n_clear, 1);
	ck_assert_str_eq(r.tags[r.clear[0]].tag, atag(NOW - 70 * MS_H));
	snapshot_retention_free(&r);
	/* Only future ones: the newest of them is protected anyway. */
	r = retain(rows, 1, NULL);
	ck_assert_uint_eq(r.newest, 0);
	ck_assert_uint_eq(r.n_clear, 0);
	snapshot_retention_free(&r);
}
END_TEST

START_TEST(snapshot_exactly_retention_old_is_kept)
{
	struct nt_snapshot rows[] = {
		row(atag(NOW), "t", 1, 0),
		row(atag(NOW - 48 * MS_H), "t", 1, 0),
		row(atag(NOW - 48 * MS_H - MS_S), "t", 1, 0),
	};
	struct snapshot_retention r = retain(rows, 3, NULL);

	ck_assert_uint_eq(r.n_clear, 1);
	ck_assert_str_eq(r.tags[r.clear[0]].tag, atag(NOW - 48 * MS_H - MS_S));
	snapshot_retention_free(&r);
}
END_TEST

START_TEST(per_tag_aggregates_sum_sizes_and_count_tables)
{
	struct nt_snapshot rows[] = {
		row("manual", "a", 100, NOW - 5 * MS_H), row(atag(NOW - MS_H), "a", 10, NOW - MS_H + 300),
		row("manual", "b", 200, NOW - 6 * MS_H), row(atag(NOW - MS_H), "b", 20, NOW - MS_H + 200),
		row("manual", "c", UINT64_MAX, 0),
	};
	struct snapshot_retention r = retain(rows, 5, NULL);
	const struct snapshot_tag_info *m = find(&r, "manual"), *a = find(&r, atag(NOW - MS_H));

	rows[0].ephemeral = true;
	ck_assert_uint_eq(m->tables, 3);
	ck_assert_uint_eq(m->true_size_bytes, UINT64_MAX); /* saturates */
	ck_assert_int_eq(m->created_unix_ms, NOW - 6 * MS_H);
	ck_assert_uint_eq(a->tables, 2);
	ck_assert_uint_eq(a->true_size_bytes, 30);
	ck_assert_uint_eq(a->size_on_disk_bytes, 32);
	ck_assert_int_eq(a->created_unix_ms, NOW - MS_H); /* from the tag, not the rows */
	ck_assert_uint_eq(r.n_agent, 1);
	ck_assert_uint_eq(r.agent_true_bytes, 30);
	ck_assert_uint_eq(r.total_true_bytes, UINT64_MAX);
	snapshot_retention_free(&r);
	r = retain(rows, 5, NULL);
	ck_assert(find(&r, "manual")->ephemeral);
	snapshot_retention_free(&r);
}
END_TEST

START_TEST(shared_4_1_sample_is_all_hand_made)
{
	static const char text[] = "Snapshot Details: \n"
				   "Snapshot name        Keyspace name Column family name True size  Size on disk "
				   "Creation time            "
				   "Expiration time         \n"
				   "pre-upgrade-20241010 app           orders             812.44 MiB 812.47 MiB   "
				   "2024-10-10T08:15:30.118Z\n"
				   "pre-upgrade-20241010 app           customers          96.2 MiB   96.21 MiB    "
				   "2024-10-10T08:15:30.118Z\n"
				   "1728634112905        app           orders             0 bytes    812.47 MiB   "
				   "2024-10-11T08:08:32.905Z "
				   "2024-10-18T08:08:32.905Z\n"
				   "pre-upgrade-20241010 system_auth   roles              5.62 KiB   5.67 KiB     "
				   "2024-10-10T08:15:30.118Z\n"
				   "\nTotal TrueDiskSpaceUsed: 908.65 MiB\n";
	struct nt_snapshots snaps;
	struct snapshot_retention r;

	ck_assert_int_eq(nt_parse_listsnapshots(text, sizeof text - 1, &snaps, NULL, 0), 0);
	r = retain(snaps.rows, snaps.n_rows, NULL);
	ck_assert_uint_eq(r.n_tags, 2);
	ck_assert_uint_eq(r.n_agent, 0);
	ck_assert_uint_eq(r.n_clear, 0);
	ck_assert_uint_eq(r.newest, SIZE_MAX);
	ck_assert_str_eq(r.tags[0].tag, "1728634112905");
	ck_assert_int_eq(r.tags[1].created_unix_ms, utc(2024, 10, 10, 8, 15, 30) + 118);
	ck_assert_uint_eq(r.tags[1].tables, 3);
	snapshot_retention_free(&r);
	nt_snapshots_free(&snaps);
}
END_TEST

START_TEST(ten_thousand_rows_are_grouped_and_decided)
{
	enum { TAGS = 50, TABLES = 200, N = TAGS * TABLES };
	struct nt_snapshot *rows = calloc(N, sizeof(*rows));
	struct snapshot_retention r;
	unsigned seed = 12345;

	ck_assert_ptr_nonnull(rows);
	for (int t = 0; t < TAGS; t++)
		for (int k = 0; k < TABLES; k++) {
			char table[32], tag[SNAPSHOT_TAG_SIZE];

			snprintf(table, sizeof table, "t%03d", k);
			if (t < 45)
				snprintf(tag, sizeof tag, "%s", atag(NOW - t * 4 * MS_H));
			else
				snprintf(tag, sizeof tag, "operator-%d", t);
			rows[t * TABLES + k] = row(tag, table, 1000, NOW - t * 4 * MS_H + 7);
		}
	/* Shuffle (Fisher-Yates with a fixed LCG) so rows of a tag are scattered. */
	for (size_t i = N - 1; i > 0; i--) {
		size_t j;
		struct nt_snapshot tmp;

		seed = seed * 1103515245u + 12345u;
		j = (seed >> 8) % (i + 1);
		tmp = rows[i];
		rows[i] = rows[j];
		rows[j] = tmp;
	}
	r = retain(rows, N, NULL);
	ck_assert_uint_eq(r.n_tags, TAGS);
	ck_assert_uint_eq(r.n_agent, 45);
	/* Agent tags 0..12 are within 48 h (12 * 4 h = 48 h exactly is kept); 13..44 are cleared. */
	ck_assert_uint_eq(r.n_clear, 32);
	ck_assert_str_eq(r.tags[r.clear[0]].tag, atag(NOW - 44 * 4 * MS_H));
	ck_assert_str_eq(r.tags[r.clear[31]].tag, atag(NOW - 13 * 4 * MS_H));
	ck_assert_str_eq(r.tags[r.newest].tag, atag(NOW));
	for (size_t i = 0; i < r.n_tags; i++) {
		ck_assert_uint_eq(r.tags[i].tables, TABLES);
		ck_assert_uint_eq(r.tags[i].true_size_bytes, 1000 * TABLES);
		if (i)
			ck_assert_int_le(r.tags[i].created_unix_ms, r.tags[i - 1].created_unix_ms);
	}
	ck_assert_uint_eq(r.total_true_bytes, (uint64_t)1000 * N);
	snapshot_retention_free(&r);
	free(rows);
}
END_TEST

START_TEST(empty_listing_decides_nothing)
{
	static const char text[] = "Snapshot Details: \nThere are no snapshots\n";
	struct nt_snapshots snaps;
	struct snapshot_retention r;

	ck_assert_int_eq(nt_parse_listsnapshots(text, sizeof text - 1, &snaps, NULL, 0), 0);
	r = retain(snaps.rows, snaps.n_rows, "agent-20241011T080000Z");
	ck_assert_uint_eq(r.n_tags, 0);
	ck_assert_uint_eq(r.n_clear, 0);
	ck_assert_uint_eq(r.newest, SIZE_MAX);
	ck_assert_ptr_null(r.tags);
	snapshot_retention_free(&r);
	nt_snapshots_free(&snaps);
}
END_TEST

START_TEST(overlong_unterminated_row_tag_is_other)
{
	struct nt_snapshot rows[2];
	struct snapshot_retention r;

	rows[0] = row("x", "t", 1, 0);
	rows[1] = row(atag(NOW - 100 * MS_H), "t", 1, 0);
	memset(rows[0].tag, 'a', sizeof rows[0].tag); /* no NUL */
	memcpy(rows[0].tag, atag(NOW - 100 * MS_H), 22);
	r = retain(rows, 2, NULL);
	ck_assert_uint_eq(r.n_tags, 2);
	ck_assert_uint_eq(r.n_agent, 1);
	ck_assert_uint_eq(r.n_clear, 0);
	ck_assert_uint_eq(strlen(r.tags[1].tag), NT_TAG_MAX - 1);
	ck_assert_int_eq(r.tags[1].owner, SNAPSHOT_OWNER_OTHER);
	snapshot_retention_free(&r);
}
END_TEST

START_TEST(retention_refuses_bad_arguments)
{
	struct nt_snapshot one = row("x", "t", 1, 0);
	struct snapshot_retention r;
	char err[128];

	ck_assert_int_eq(snapshot_plan_retention(NULL, 1, "agent", RET_48H, NOW, NULL, &r, err, sizeof err), -EINVAL);
	ck_assert_uint_eq(r.n_tags, 0);
	snapshot_retention_free(&r);
	ck_assert_int_eq(snapshot_plan_retention(&one, 1, "a/b", RET_48H, NOW, NULL, &r, err, sizeof err), -EINVAL);
	ck_assert_int_eq(snapshot_plan_retention(&one, 1, NULL, RET_48H, NOW, NULL, &r, err, sizeof err), -EINVAL);
	ck_assert_int_eq(snapshot_plan_retention(&one, 1, "agent", RET_48H, -1, NULL, &r, err, sizeof err), -EINVAL);
	ck_assert_int_eq(snapshot_plan_retention(&one, 1, "agent", RET_48H, NOW, NULL, NULL, err, sizeof err), -EINVAL);
	ck_assert_int_eq(snapshot_plan_retention(NULL, 0, "agent", RET_48H, NOW, NULL, &r, err, sizeof err), 0);
	ck_assert_uint_eq(r.newest, SIZE_MAX);
	snapshot_retention_free(&r);
	snapshot_retention_free(NULL);
}
END_TEST

/* ---------------- persisted record ---------------- */

START_TEST(record_round_trips)
{
	struct snapshot_record in = {utc(2024, 10, 11, 8, 0, 0), "agent-20241011T080000Z", utc(2024, 10, 11, 8, 0, 12)};
	struct snapshot_record out;
	char buf[SNAPSHOT_RECORD_MAX], err[128] = "";
	int n = snapshot_record_format(&in, buf, sizeof buf);

	ck_assert_int_gt(n, 0);
	ck_assert_str_eq(buf, "last_slot_unix_ms=1728633600000\n"
			      "last_ok_tag=agent-20241011T080000Z\n"
			      "last_ok_unix_ms=1728633612000\n");
	ck_assert_int_eq(snapshot_record_parse(buf, (size_t)n, &out, err, sizeof err), 0);
	ck_assert_int_eq(out.last_slot_ms, in.last_slot_ms);
	ck_assert_str_eq(out.last_ok_tag, in.last_ok_tag);
	ck_assert_int_eq(out.last_ok_unix_ms, in.last_ok_unix_ms);
	/* Minimal forms; keys in any order; the final newline is optional. */
	ck_assert_int_eq(snapshot_record_parse("last_slot_unix_ms=0", 19, &out, err, sizeof err), 0);
	ck_assert_int_eq(out.last_slot_ms, 0);
	ck_assert_int_eq(snapshot_record_parse("last_ok_unix_ms=5\nlast_slot_unix_ms=253402300799999\n", 51, &out, err,
					       sizeof err),
			 0);
	ck_assert_int_eq(out.last_slot_ms, SNAPSHOT_TIME_MAX_MS);
	ck_assert_int_eq(out.last_ok_unix_ms, 5);
	/* Extremes format and parse back. */
	in.last_slot_ms = SNAPSHOT_TIME_MAX_MS;
	memset(in.last_ok_tag, 'z', SNAPSHOT_TAG_MAX);
	in.last_ok_tag[SNAPSHOT_TAG_MAX] = '\0';
	in.last_ok_unix_ms = SNAPSHOT_TIME_MAX_MS;
	n = snapshot_record_format(&in, buf, sizeof buf);
	ck_assert_int_gt(n, 0);
	ck_assert_int_lt(n, SNAPSHOT_RECORD_MAX);
	ck_assert_int_eq(snapshot_record_parse(buf, (size_t)n, &out, err, sizeof err), 0);
	ck_assert_str_eq(out.last_ok_tag, in.last_ok_tag);
}
END_TEST

START_TEST(record_without_a_slot_says_none)
{
	struct snapshot_record in = {SNAPSHOT_SLOT_NONE, "", 0}, out;
	char buf[64];

	ck_assert_int_eq(snapshot_record_format(&in, buf, sizeof buf), 23);
	ck_assert_str_eq(buf, "last_slot_unix_ms=none\n");
	ck_assert_int_eq(snapshot_record_parse(buf, 23, &out, NULL, 0), 0);
	ck_assert_int_eq(out.last_slot_ms, SNAPSHOT_SLOT_NONE);
	ck_assert_str_eq(out.last_ok_tag, "");
	ck_assert_int_eq(snapshot_record_format(&in, buf, 23), -ENOSPC);
	ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(record_refuses_malformed_text)
{
	static const struct {
		const char *text;
		const char *needle;
	} bad[] = {
		{"", "missing"},
		{"\n", "line 1: expected key=value"},
		{"last_slot_unix_ms=", "line 1: last_slot_unix_ms must be"},
		{"last_slot_unix_ms=-1\n", "must be"},
		{"last_slot_unix_ms=+1\n", "must be"},
		{"last_slot_unix_ms=007\n", "must be"},
		{"last_slot_unix_ms=12a\n", "must be"},
		{"last_slot_unix_ms=253402300800000\n", "must be"},
		{"last_slot_unix_ms=9999999999999999999999\n", "must be"},
		{"last_slot_unix_ms=1 \n", "must be"},
		{"last_slot_unix_ms=1\r\n", "control byte 0x0d"},
		{"last_slot_unix_ms=1\n\n", "line 2: expected key=value"},
		{"last_slot_unix_ms=1\nlast_slot_unix_ms=2\n", "line 2: last_slot_unix_ms given twice"},
		{"last_slot_unix_ms=1\nlast_ok_tag=..\n", "line 2: last_ok_tag is not a valid tag"},
		{"last_slot_unix_ms=1\nlast_ok_tag=\n", "not a valid tag"},
		{"last_slot_unix_ms=1\nlast_ok_tag=a\nlast_ok_tag=b\n", "line 3: last_ok_tag given twice"},
		{"last_slot_unix_ms=1\nlast_ok_unix_ms=x\n", "line 2: last_ok_unix_ms must be"},
		{"last_slot_unix_ms=1\nlast_ok_unix_ms=1\nlast_ok_unix_ms=1\n", "given twice"},
		{"last_slot_unix_ms=1\nbogus=1\n", "line 2: unknown key \"bogus\""},
		{"LAST_SLOT_UNIX_MS=1\n", "unknown key"},
		{"last_ok_tag=a\n", "line 2: last_slot_unix_ms is missing"},
		{"last_slot_unix_ms 1\n", "expected key=value"},
	};
	struct snapshot_record out;
	char err[160];
	char big[SNAPSHOT_RECORD_MAX + 10];
	char tag65[] =
		"last_slot_unix_ms=1\nlast_ok_tag=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
	static const char nul[] = "last_slot_unix_ms=1\0\n";

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		ck_assert_msg(snapshot_record_parse(bad[i].text, strlen(bad[i].text), &out, err, sizeof err) == -EINVAL,
			      "accepted: %s", bad[i].text);
		ck_assert_msg(strstr(err, bad[i].needle), "\"%s\": message \"%s\" lacks \"%s\"", bad[i].text, err,
			      bad[i].needle);
		ck_assert_int_eq(out.last_slot_ms, SNAPSHOT_SLOT_NONE);
	}
	ck_assert_int_eq(snapshot_record_parse(tag65, strlen(tag65), &out, err, sizeof err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "longer than 64"));
	ck_assert_int_eq(snapshot_record_parse(nul, sizeof nul - 1, &out, err, sizeof err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "0x00"));
	memset(big, 'a', sizeof big);
	ck_assert_int_eq(snapshot_record_parse(big, sizeof big, &out, err, sizeof err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "more than"));
	ck_assert_int_eq(snapshot_record_parse(NULL, 5, &out, err, sizeof err), -EINVAL);
	ck_assert_int_eq(snapshot_record_parse("x", 1, NULL, err, sizeof err), -EINVAL);
}
END_TEST

START_TEST(record_format_refuses_out_of_range_fields)
{
	struct snapshot_record r = {-2, "", 0};
	char buf[SNAPSHOT_RECORD_MAX];

	ck_assert_int_eq(snapshot_record_format(&r, buf, sizeof buf), -EINVAL);
	r.last_slot_ms = SNAPSHOT_TIME_MAX_MS + 1;
	ck_assert_int_eq(snapshot_record_format(&r, buf, sizeof buf), -EINVAL);
	r.last_slot_ms = 0;
	r.last_ok_unix_ms = -1;
	ck_assert_int_eq(snapshot_record_format(&r, buf, sizeof buf), -EINVAL);
	r.last_ok_unix_ms = 0;
	snprintf(r.last_ok_tag, sizeof r.last_ok_tag, "a/b");
	ck_assert_int_eq(snapshot_record_format(&r, buf, sizeof buf), -EINVAL);
	memset(r.last_ok_tag, 'a', sizeof r.last_ok_tag); /* unterminated */
	ck_assert_int_eq(snapshot_record_format(&r, buf, sizeof buf), -EINVAL);
	ck_assert_int_eq(snapshot_record_format(NULL, buf, sizeof buf), -EINVAL);
	ck_assert_int_eq(snapshot_record_format(&r, NULL, 0), -EINVAL);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("snapshot_plan");
	TCase *slots = tcase_create("slots");
	TCase *decisions = tcase_create("decisions");
	TCase *tags = tcase_create("tags");
	TCase *guards = tcase_create("guards");
	TCase *retention = tcase_create("retention");
	TCase *record = tcase_create("record");

	tcase_add_test(slots, slot_floor_aligns_1h_4h_6h_24h_to_utc_multiples);
	tcase_add_test(slots, slot_floor_of_an_interval_not_dividing_a_day_aligns_to_the_epoch);
	tcase_add_test(slots, slot_boundary_belongs_to_the_slot_it_starts);
	tcase_add_test(slots, slot_arithmetic_refuses_bad_intervals_and_times);

	tcase_add_test(decisions, first_start_without_a_record_takes_one_catch_up);
	tcase_add_test(decisions, restart_just_before_boundary_waits_for_the_boundary);
	tcase_add_test(decisions, restart_just_before_boundary_with_a_missed_slot_catches_up_then_takes_the_boundary);
	tcase_add_test(decisions, restart_just_after_boundary_takes_the_missed_slot_once);
	tcase_add_test(decisions, restart_without_catch_up_waits_for_the_next_slot);
	tcase_add_test(decisions, start_up_after_three_missed_slots_takes_one_catch_up_only);
	tcase_add_test(decisions, clock_jump_forward_three_slots_takes_one_snapshot);
	tcase_add_test(decisions, clock_jump_backward_never_repeats_a_slot);
	tcase_add_test(decisions, clock_jump_backward_within_the_taken_slot_waits);
	tcase_add_test(decisions, clock_behind_the_start_up_does_not_count_as_a_catch_up);
	tcase_add_test(decisions, late_tick_still_takes_the_current_slot);
	tcase_add_test(decisions, guard_skipped_slot_stays_due_within_its_slot);
	tcase_add_test(decisions, changed_interval_neither_repeats_nor_stalls);
	tcase_add_test(decisions, three_days_of_ticks_take_every_slot_exactly_once);
	tcase_add_test(decisions, schedule_at_the_end_of_year_9999_waits_forever);
	tcase_add_test(decisions, decide_refuses_bad_arguments);

	tcase_add_test(tags, tag_format_round_trips_slot_times);
	tcase_add_test(tags, tag_format_refuses_bad_prefix_time_and_small_buffer);
	tcase_add_test(tags, tag_with_slash_is_refused);
	tcase_add_test(tags, tag_dot_dot_and_dot_are_refused);
	tcase_add_test(tags, tag_with_spaces_is_refused);
	tcase_add_test(tags, tag_of_65_characters_is_refused_64_accepted);
	tcase_add_test(tags, tag_empty_null_control_and_non_ascii_are_refused);
	tcase_add_test(tags, tag_parse_accepts_only_the_exact_agent_format);
	tcase_add_test(tags, prefix_validation_matches_the_config_rules);
	tcase_add_test(tags, on_demand_tag_defaults_to_the_agent_format_and_refuses_the_reserved_form);
	tcase_add_test(tags, clear_snapshot_needs_force_for_tags_the_agent_did_not_make);
	tcase_add_test(tags, clear_snapshot_refuses_the_newest_successful_without_force);

	tcase_add_test(guards, guard_passes_with_cassandra_up_and_enough_space);
	tcase_add_test(guards, guard_skips_when_cassandra_is_not_running);
	tcase_add_test(guards, guard_skips_when_maintenance_holds_the_node);
	tcase_add_test(guards, guard_skips_while_another_snapshot_runs);
	tcase_add_test(guards, guard_skips_when_a_data_directory_is_below_min_free_disk);
	tcase_add_test(guards, guard_skips_when_free_space_is_unknown);

	tcase_add_test(retention, hand_made_snapshot_survives);
	tcase_add_test(retention, newest_agent_snapshot_survives_when_all_are_old);
	tcase_add_test(retention, only_agent_tags_in_the_exact_format_are_cleared);
	tcase_add_test(retention, listing_from_3_11_without_creation_times_uses_tag_times);
	tcase_add_test(retention, verified_newest_tag_is_kept_instead_of_a_newer_failed_one);
	tcase_add_test(retention, unknown_or_hand_made_verified_tag_falls_back_to_the_newest_agent_tag);
	tcase_add_test(retention, future_dated_agent_tag_is_kept_and_not_chosen_as_newest);
	tcase_add_test(retention, snapshot_exactly_retention_old_is_kept);
	tcase_add_test(retention, per_tag_aggregates_sum_sizes_and_count_tables);
	tcase_add_test(retention, shared_4_1_sample_is_all_hand_made);
	tcase_add_test(retention, ten_thousand_rows_are_grouped_and_decided);
	tcase_add_test(retention, empty_listing_decides_nothing);
	tcase_add_test(retention, overlong_unterminated_row_tag_is_other);
	tcase_add_test(retention, retention_refuses_bad_arguments);

	tcase_add_test(record, record_round_trips);
	tcase_add_test(record, record_without_a_slot_says_none);
	tcase_add_test(record, record_refuses_malformed_text);
	tcase_add_test(record, record_format_refuses_out_of_range_fields);

	suite_add_tcase(s, slots);
	suite_add_tcase(s, decisions);
	suite_add_tcase(s, tags);
	suite_add_tcase(s, guards);
	suite_add_tcase(s, retention);
	suite_add_tcase(s, record);
	return s;
}

int main(void)
{
	return check_run_forked(suite(), CK_NORMAL);
}
