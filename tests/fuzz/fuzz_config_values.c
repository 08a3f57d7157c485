/* fuzz_config_values: libFuzzer target for the agent.yaml value parsers of agent/config.c:
 * config_parse_duration_ms, config_parse_size_bytes, config_parse_percent and
 * config_parse_window. Input: the value text (copied and NUL-terminated; an input holding a
 * NUL is cut there). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "fuzz_config_values: " __VA_ARGS__);                               \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

#define SENTINEL UINT64_C(0x5a5a5a5a5a5a5a5a)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	uint64_t v;
	double pct;
	struct config_window w;
	const char *why;
	int r;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	v = SENTINEL;
	r = config_parse_duration_ms(s, &v);
	if (r != 0 && r != -EINVAL)
		FAIL("duration: return %d", r);
	if (r && v != SENTINEL)
		FAIL("duration: output changed on error");
	if (!r && (!s[0] || s[0] < '0' || s[0] > '9'))
		FAIL("duration: accepted \"%s\" not starting with a digit", s);

	v = SENTINEL;
	r = config_parse_size_bytes(s, &v);
	if (r != 0 && r != -EINVAL)
		FAIL("size: return %d", r);
	if (r && v != SENTINEL)
		FAIL("size: output changed on error");
	if (!r && (!s[0] || s[0] < '0' || s[0] > '9'))
		FAIL("size: accepted \"%s\" not starting with a digit", s);

	pct = -12345.0;
	r = config_parse_percent(s, &pct);
	if (r != 0 && r != -EINVAL)
		FAIL("percent: return %d", r);
	if (r && pct != -12345.0)
		FAIL("percent: output changed on error");
	if (!r && (!(pct >= 0.0) || pct > 100.0 || !strchr(s, '%')))
		FAIL("percent: accepted \"%s\" as %g", s, pct);

	memset(&w, 0xa5, sizeof w);
	why = NULL;
	r = config_parse_window(s, &w, &why);
	if (r != 0 && r != -EINVAL)
		FAIL("window: return %d", r);
	if (r && !why)
		FAIL("window: error without a reason");
	if (!r && !w.always) {
		if (!w.days || w.days > 0x7f)
			FAIL("window \"%s\": days %#x", s, w.days);
		if (w.start_min > 1439 || w.end_min < 1 || w.end_min > 1440 || w.start_min == w.end_min)
			FAIL("window \"%s\": %u-%u", s, w.start_min, w.end_min);
	}
	if (!r && w.always && s[0])
		FAIL("window \"%s\": always for a non-empty string", s);
	free(s);
	return 0;
}
