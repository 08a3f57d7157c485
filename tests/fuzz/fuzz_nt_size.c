/* fuzz_nt_size: libFuzzer target for nt_parse_size (nodetool sizes such as "1.52 GiB",
 * agent/nodetool_parse.c). Input: the size text (any bytes, not NUL-terminated). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodetool_parse.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "fuzz_nt_size: " __VA_ARGS__);                                     \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t bytes = UINT64_C(0x5a5a5a5a5a5a5a5a);
	int r;

	r = nt_parse_size((const char *)data, size, &bytes);
	if (r < 0) {
		if (r != -EINVAL)
			FAIL("unexpected return %d", r);
		if (bytes != UINT64_C(0x5a5a5a5a5a5a5a5a))
			FAIL("*bytes changed on error");
		return 0;
	}
	if (r != 0)
		FAIL("unexpected return %d", r);
	/* A unit is required, so an accepted size holds at least one letter. */
	for (size_t i = 0; i < size; i++)
		if ((data[i] | 0x20) >= 'a' && (data[i] | 0x20) <= 'z')
			return 0;
	FAIL("accepted a size without a unit");
}
