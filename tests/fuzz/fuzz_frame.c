/* fuzz_frame: libFuzzer target for the controller channel's frame decoder (agent/frame.c).
 *
 * Input: byte 0 chooses how the rest is cut into reads (1..256 bytes each, as a socket would
 * deliver them); the rest is the byte stream. Every Envelope taken is re-encoded with
 * frame_encode(), decoded again and re-encoded (the second encoding must equal the first), and
 * rendered to JSON with pb_json_from_message(). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "frame.h"
#include "pb_json.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "fuzz_frame: " __VA_ARGS__);                                       \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

/* Encodes `env`, decodes that frame and encodes the result again: both encodings must match. */
static void roundtrip(const CassandraAgent__V1__Envelope *env)
{
	uint8_t *enc1 = NULL, *enc2 = NULL;
	size_t len1 = 0, len2 = 0;
	struct frame_decoder d = {0};
	CassandraAgent__V1__Envelope *again = NULL;
	char err[256];
	int r;

	r = frame_encode(env, &enc1, &len1);
	if (r == -EMSGSIZE)
		return;
	if (r < 0)
		FAIL("frame_encode: %d", r);
	if (len1 < FRAME_HEADER)
		FAIL("frame_encode: length %zu", len1);
	if (frame_decoder_feed(&d, enc1, len1) < 0)
		FAIL("feed of an encoded frame failed");
	r = frame_decoder_next(&d, &again, err, sizeof err);
	if (r != 1)
		FAIL("an encoded frame does not decode: %d %s", r, r < 0 ? err : "");
	if (frame_decoder_pending(&d) != 0)
		FAIL("bytes left after decoding one encoded frame");
	r = frame_encode(again, &enc2, &len2);
	if (r < 0)
		FAIL("re-encode failed: %d", r);
	if (len1 != len2 || memcmp(enc1, enc2, len1) != 0)
		FAIL("encode(decode(encode(x))) != encode(x)");
	cassandra_agent__v1__envelope__free_unpacked(again, NULL);
	frame_decoder_free(&d);
	free(enc1);
	free(enc2);
}

static void to_json(const CassandraAgent__V1__Envelope *env)
{
	json_t *j = pb_json_from_message(&env->base);
	char *s;

	if (!j)
		FAIL("pb_json_from_message returned NULL for a decoded Envelope");
	s = json_dumps(j, JSON_COMPACT);
	if (!s)
		FAIL("json_dumps failed");
	free(s);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_decoder d = {0};
	size_t chunk, off = 1, fed = 0, taken = 0;
	char err[256];

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] + 1;
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		int r;

		if (frame_decoder_feed(&d, data + off, n) < 0)
			FAIL("feed failed");
		off += n;
		fed += n;
		for (;;) {
			CassandraAgent__V1__Envelope *env = NULL;

			err[0] = '\0';
			r = frame_decoder_next(&d, &env, err, sizeof err);
			if (r <= 0)
				break;
			if (!env)
				FAIL("next returned 1 without an Envelope");
			taken++;
			roundtrip(env);
			to_json(env);
			cassandra_agent__v1__envelope__free_unpacked(env, NULL);
		}
		if (r < 0) {
			if (r != -EMSGSIZE && r != -EBADMSG)
				FAIL("unexpected error %d", r);
			if (!err[0] || !memchr(err, '\0', sizeof err))
				FAIL("error %d without a message", r);
			break;
		}
		if (frame_decoder_pending(&d) > fed)
			FAIL("pending %zu > fed %zu", frame_decoder_pending(&d), fed);
	}
	(void)taken;
	frame_decoder_free(&d);
	return 0;
}
