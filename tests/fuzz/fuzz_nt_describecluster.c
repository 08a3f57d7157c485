/* fuzz_nt_describecluster: libFuzzer target for nt_parse_describecluster (`nodetool
 * describecluster`, agent/nodetool_parse.c). Input: the raw stdout (any bytes). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodetool_parse.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "fuzz_nt_describecluster: " __VA_ARGS__);                          \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nt_describecluster dc;
	char err[128];
	int r;

	memset(&dc, 0xa5, sizeof dc);
	memset(err, 'x', sizeof err);
	r = nt_parse_describecluster((const char *)data, size, &dc, err, sizeof err);
	if (r < 0) {
		if (r != -EINVAL && r != -ENOMEM)
			FAIL("unexpected return %d", r);
		if (!TERMINATED(err) || !err[0])
			FAIL("error %d without a terminated message", r);
		if (dc.keyspaces || dc.n_keyspaces || dc.name[0] || dc.schema_versions || dc.has_stats)
			FAIL("result not zeroed on error");
		return 0;
	}
	if (r != 0)
		FAIL("unexpected return %d", r);
	if (!TERMINATED(dc.name) || !TERMINATED(dc.snitch) || !TERMINATED(dc.partitioner))
		FAIL("unterminated string");
	if (dc.n_keyspaces && !dc.keyspaces)
		FAIL("n_keyspaces %zu without keyspaces", dc.n_keyspaces);
	for (size_t i = 0; i < dc.n_keyspaces; i++) {
		const struct nt_keyspace *ks = &dc.keyspaces[i];

		if (!TERMINATED(ks->name) || !TERMINATED(ks->replication_class))
			FAIL("keyspace %zu: unterminated string", i);
		if (ks->n_factors > sizeof(ks->factors) / sizeof(ks->factors[0]))
			FAIL("keyspace %zu: %zu factors", i, ks->n_factors);
		for (size_t f = 0; f < ks->n_factors; f++)
			if (!TERMINATED(ks->factors[f].key))
				FAIL("keyspace %zu factor %zu: unterminated key", i, f);
	}
	nt_describecluster_free(&dc);
	if (dc.keyspaces || dc.n_keyspaces)
		FAIL("nt_describecluster_free left the struct set");
	return 0;
}
