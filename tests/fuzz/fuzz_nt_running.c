/* fuzz_nt_running: libFuzzer target for nt_parse_running (`nodetool statusbinary`,
 * `statusgossip`, `statushandoff`; agent/nodetool_parse.c). Input: the raw stdout (any bytes). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodetool_parse.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "fuzz_nt_running: " __VA_ARGS__);                                  \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool running = true;
	char err[128];
	int r;

	memset(err, 'x', sizeof err);
	r = nt_parse_running((const char *)data, size, &running, err, sizeof err);
	if (r < 0) {
		if (r != -EINVAL && r != -ENOMEM)
			FAIL("unexpected return %d", r);
		if (!memchr(err, '\0', sizeof err) || !err[0])
			FAIL("error %d without a terminated message", r);
		if (running)
			FAIL("running left true on error");
		return 0;
	}
	if (r != 0)
		FAIL("unexpected return %d", r);
	/* "running" must have been printed for true. */
	if (running && (size < 7 || !memmem(data, size, "running", 7)))
		FAIL("running without \"running\" in the input");
	return 0;
}
