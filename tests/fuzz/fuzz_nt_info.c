/* fuzz_nt_info: libFuzzer target for nt_parse_info (`nodetool info`, agent/nodetool_parse.c).
 * Input: the raw stdout of nodetool info (any bytes). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodetool_parse.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "fuzz_nt_info: " __VA_ARGS__);                                     \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nt_info info;
	char err[128];
	int r;

	memset(&info, 0xa5, sizeof info);
	memset(err, 'x', sizeof err);
	r = nt_parse_info((const char *)data, size, &info, err, sizeof err);
	if (r < 0) {
		if (r != -EINVAL && r != -ENOMEM)
			FAIL("unexpected return %d", r);
		if (!TERMINATED(err) || !err[0])
			FAIL("error %d without a terminated message", r);
		if (info.host_id[0] || info.datacenter[0] || info.rack[0] || info.bootstrap_state[0] ||
		    info.load_bytes || info.generation || info.exceptions)
			FAIL("result not zeroed on error");
		return 0;
	}
	if (r != 0)
		FAIL("unexpected return %d", r);
	if (!TERMINATED(info.host_id) || !TERMINATED(info.datacenter) || !TERMINATED(info.rack) ||
	    !TERMINATED(info.bootstrap_state))
		FAIL("unterminated string");
	/* "ID : N/A", "?" or "null" is an ID line that leaves host_id "". */
	if (info.host_id[0] && strlen(info.host_id) != 36)
		FAIL("host_id \"%s\" is not a UUID", info.host_id);
	return 0;
}
