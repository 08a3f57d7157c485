/* fuzz_nt_status: libFuzzer target for nt_parse_status (`nodetool status`, agent/nodetool_parse.c).
 * Input: the raw stdout of nodetool status (any bytes). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodetool_parse.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "fuzz_nt_status: " __VA_ARGS__);                                   \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nt_status st;
	char err[128];
	int r;

	memset(&st, 0xa5, sizeof st); /* the parser must initialise the result itself */
	memset(err, 'x', sizeof err);
	r = nt_parse_status((const char *)data, size, &st, err, sizeof err);
	if (r < 0) {
		if (r != -EINVAL && r != -ENOMEM)
			FAIL("unexpected return %d", r);
		if (!TERMINATED(err) || !err[0])
			FAIL("error %d without a terminated message", r);
		if (st.peers || st.n_peers || st.ownership_meaningless)
			FAIL("result not zeroed on error");
		return 0;
	}
	if (r != 0)
		FAIL("unexpected return %d", r);
	if (st.n_peers && !st.peers)
		FAIL("n_peers %zu without peers", st.n_peers);
	for (size_t i = 0; i < st.n_peers; i++) {
		const struct nt_peer *p = &st.peers[i];

		if (!TERMINATED(p->address) || !TERMINATED(p->datacenter) || !TERMINATED(p->rack) ||
		    !TERMINATED(p->host_id))
			FAIL("peer %zu: unterminated string", i);
		if (!p->address[0])
			FAIL("peer %zu: empty address", i);
		if (!strchr("UD?", p->status) || !p->status)
			FAIL("peer %zu: status %#x", i, (unsigned char)p->status);
		if (!strchr("NLJM", p->state) || !p->state)
			FAIL("peer %zu: state %#x", i, (unsigned char)p->state);
		if (!p->load_known && p->load_bytes)
			FAIL("peer %zu: load %llu while unknown", i, (unsigned long long)p->load_bytes);
	}
	nt_status_free(&st);
	if (st.peers || st.n_peers)
		FAIL("nt_status_free left the struct set");
	return 0;
}
