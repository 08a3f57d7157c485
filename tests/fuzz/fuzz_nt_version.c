/* fuzz_nt_version: libFuzzer target for nt_parse_version (`nodetool version`, agent/nodetool_parse.c).
 * Input: the raw stdout of nodetool version [-v] (any bytes). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodetool_parse.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "fuzz_nt_version: " __VA_ARGS__);                                  \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nt_version v;
	char err[128];
	int r;

	memset(&v, 0xa5, sizeof v);
	memset(err, 'x', sizeof err);
	r = nt_parse_version((const char *)data, size, &v, err, sizeof err);
	if (r < 0) {
		if (r != -EINVAL && r != -ENOMEM)
			FAIL("unexpected return %d", r);
		if (!TERMINATED(err) || !err[0])
			FAIL("error %d without a terminated message", r);
		if (v.release_version[0] || v.major || v.minor || v.patch)
			FAIL("result not zeroed on error");
		return 0;
	}
	if (r != 0)
		FAIL("unexpected return %d", r);
	if (!TERMINATED(v.release_version) || !v.release_version[0])
		FAIL("bad release_version");
	if (v.major < 0 || v.minor < 0 || v.patch < -1)
		FAIL("negative version %d.%d.%d", v.major, v.minor, v.patch);
	return 0;
}
