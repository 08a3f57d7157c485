/* Tests of the frame codec: round trips, split delivery, and hostile bytes. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "check_run.h"

static uint8_t *encode_ping(uint64_t nonce, uint64_t seq, size_t *len)
{
	CassandraAgent__V1__Envelope env = CASSANDRA_AGENT__V1__ENVELOPE__INIT;
	CassandraAgent__V1__Ping ping = CASSANDRA_AGENT__V1__PING__INIT;
	uint8_t *buf;

	ping.nonce = nonce;
	env.seq = seq;
	env.body_case = CASSANDRA_AGENT__V1__ENVELOPE__BODY_PING;
	env.ping = &ping;
	ck_assert_int_eq(frame_encode(&env, &buf, len), 0);
	return buf;
}

START_TEST(round_trip_keeps_seq_and_body)
{
	struct frame_decoder d = {0};
	CassandraAgent__V1__Envelope *env = NULL;
	char err[128];
	size_t len;
	uint8_t *buf = encode_ping(42, 7, &len);

	ck_assert_uint_eq(buf[0] << 24 | buf[1] << 16 | buf[2] << 8 | buf[3], len - 4);
	ck_assert_int_eq(frame_decoder_feed(&d, buf, len), 0);
	ck_assert_int_eq(frame_decoder_next(&d, &env, err, sizeof err), 1);
	ck_assert_uint_eq(env->seq, 7);
	ck_assert_int_eq(env->body_case, CASSANDRA_AGENT__V1__ENVELOPE__BODY_PING);
	ck_assert_uint_eq(env->ping->nonce, 42);
	cassandra_agent__v1__envelope__free_unpacked(env, NULL);
	ck_assert_int_eq(frame_decoder_next(&d, &env, err, sizeof err), 0);
	ck_assert_uint_eq(frame_decoder_pending(&d), 0);
	free(buf);
	frame_decoder_free(&d);
}
END_TEST

START_TEST(frames_split_byte_by_byte_and_glued_together)
{
	struct frame_decoder d = {0};
	CassandraAgent__V1__Envelope *env = NULL;
	char err[128];
	size_t l1, l2;
	uint8_t *a = encode_ping(1, 1, &l1), *b = encode_ping(2, 2, &l2);
	uint8_t both[256];
	int got = 0;

	memcpy(both, a, l1);
	memcpy(both + l1, b, l2);
	for (size_t i = 0; i < l1 + l2; i++) {
		ck_assert_int_eq(frame_decoder_feed(&d, both + i, 1), 0);
		while (frame_decoder_next(&d, &env, err, sizeof err) == 1) {
			got++;
			ck_assert_uint_eq(env->ping->nonce, (uint64_t)got);
			cassandra_agent__v1__envelope__free_unpacked(env, NULL);
		}
	}
	ck_assert_int_eq(got, 2);
	free(a);
	free(b);
	frame_decoder_free(&d);
}
END_TEST

START_TEST(length_of_four_gibibytes_is_refused_before_buffering)
{
	struct frame_decoder d = {0};
	CassandraAgent__V1__Envelope *env = NULL;
	char err[128] = "";
	uint8_t hdr[4] = {0xff, 0xff, 0xff, 0xff};

	ck_assert_int_eq(frame_decoder_feed(&d, hdr, 4), 0);
	ck_assert_int_eq(frame_decoder_next(&d, &env, err, sizeof err), -EMSGSIZE);
	ck_assert_ptr_nonnull(strstr(err, "over the"));
	frame_decoder_free(&d);
}
END_TEST

START_TEST(exactly_four_mebibytes_is_the_limit)
{
	struct frame_decoder d = {0};
	CassandraAgent__V1__Envelope *env = NULL;
	char err[128];
	uint8_t over[4] = {0x00, 0x40, 0x00, 0x01}; /* 4 MiB + 1 */
	uint8_t at[4] = {0x00, 0x40, 0x00, 0x00};   /* 4 MiB: waits for the body */

	ck_assert_int_eq(frame_decoder_feed(&d, at, 4), 0);
	ck_assert_int_eq(frame_decoder_next(&d, &env, err, sizeof err), 0);
	frame_decoder_free(&d);
	ck_assert_int_eq(frame_decoder_feed(&d, over, 4), 0);
	ck_assert_int_eq(frame_decoder_next(&d, &env, err, sizeof err), -EMSGSIZE);
	frame_decoder_free(&d);
}
END_TEST

START_TEST(random_bytes_are_not_an_envelope)
{
	struct frame_decoder d = {0};
	CassandraAgent__V1__Envelope *env = NULL;
	char err[128] = "";
	uint8_t junk[12] = {0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	ck_assert_int_eq(frame_decoder_feed(&d, junk, sizeof junk), 0);
	ck_assert_int_eq(frame_decoder_next(&d, &env, err, sizeof err), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "not a valid Envelope"));
	frame_decoder_free(&d);
}
END_TEST

START_TEST(truncated_frame_waits_for_more)
{
	struct frame_decoder d = {0};
	CassandraAgent__V1__Envelope *env = NULL;
	char err[128];
	size_t len;
	uint8_t *buf = encode_ping(5, 5, &len);

	ck_assert_int_eq(frame_decoder_feed(&d, buf, len - 1), 0);
	ck_assert_int_eq(frame_decoder_next(&d, &env, err, sizeof err), 0);
	ck_assert_uint_eq(frame_decoder_pending(&d), len - 1);
	free(buf);
	frame_decoder_free(&d);
}
END_TEST

START_TEST(unknown_fields_and_an_unknown_oneof_member_decode)
{
	/* field 99 (varint 1) on Envelope: a newer peer's body we do not know */
	uint8_t frame[] = {0, 0, 0, 5, 0x08, 0x03, 0x98, 0x06, 0x01};
	struct frame_decoder d = {0};
	CassandraAgent__V1__Envelope *env = NULL;
	char err[128];

	ck_assert_int_eq(frame_decoder_feed(&d, frame, sizeof frame), 0);
	ck_assert_int_eq(frame_decoder_next(&d, &env, err, sizeof err), 1);
	ck_assert_uint_eq(env->seq, 3);
	ck_assert_int_eq(env->body_case, CASSANDRA_AGENT__V1__ENVELOPE__BODY__NOT_SET);
	cassandra_agent__v1__envelope__free_unpacked(env, NULL);
	frame_decoder_free(&d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, round_trip_keeps_seq_and_body);
	tcase_add_test(tc, frames_split_byte_by_byte_and_glued_together);
	tcase_add_test(tc, length_of_four_gibibytes_is_refused_before_buffering);
	tcase_add_test(tc, exactly_four_mebibytes_is_the_limit);
	tcase_add_test(tc, random_bytes_are_not_an_envelope);
	tcase_add_test(tc, truncated_frame_waits_for_more);
	tcase_add_test(tc, unknown_fields_and_an_unknown_oneof_member_decode);
	suite_add_tcase(s, tc);
	return check_run(s);
}
