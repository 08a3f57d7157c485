/* fuzz_cql_supported: libFuzzer target for cql_frame_parse_supported, the CQL probe's check of
 * the SUPPORTED response (agent/cql_probe.c). Input: the bytes received so far. Also checks that
 * the answer is stable as bytes arrive: a decided prefix (0 or -EPROTO) keeps its answer when
 * more bytes follow. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cql_probe.h"
#include "log.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "fuzz_cql_supported: " __VA_ARGS__);                               \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(false, LOG_CRIT);
	return 0;
}

static int parse(const uint8_t *buf, size_t len)
{
	char err[128];
	int r;

	memset(err, 'x', sizeof err);
	r = cql_frame_parse_supported(buf, len, err, sizeof err);
	if (r != 0 && r != -EAGAIN && r != -EPROTO)
		FAIL("unexpected return %d", r);
	if (r == -EPROTO && (!memchr(err, '\0', sizeof err) || !err[0]))
		FAIL("-EPROTO without a terminated reason");
	/* A tiny error buffer must be respected too. */
	if (r == -EPROTO) {
		char small[5] = {'z', 'z', 'z', 'z', 'z'};

		if (cql_frame_parse_supported(buf, len, small, 4) != -EPROTO || small[4] != 'z' ||
		    !memchr(small, '\0', 4))
			FAIL("reason not truncated to errlen");
	}
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int full, prefix;
	uint8_t *copy;

	/* An exact-size copy so that any read past `size` is caught. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	full = parse(copy, size);
	if (size > 0) {
		prefix = parse(copy, size - 1);
		if (prefix != -EAGAIN && prefix != full)
			FAIL("prefix of %zu bytes gives %d, all %zu bytes give %d", size - 1, prefix, size, full);
	}
	if (size == 0 && full != -EAGAIN)
		FAIL("empty input gives %d", full);
	free(copy);
	return 0;
}
