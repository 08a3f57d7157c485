/* fuzz_status_line: libFuzzer target for status_split_line, the status socket's command-line
 * splitter (agent/status_server.c). Input: one command line (copied and NUL-terminated; the
 * server cuts lines at '\n' and at STATUS_LINE_MAX, so longer inputs are skipped). The words
 * are checked against a reference splitter. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status_server.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "fuzz_status_line: " __VA_ARGS__);                                 \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

#define MAX_WORDS 16 /* what client_command() passes */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line, *orig;
	char **argv;
	size_t len, pos = 0;
	int argc, max, ref = 0;
	bool ctl = false;

	if (size < 1 || size > STATUS_LINE_MAX + 1)
		return 0;
	/* Byte 0 chooses `max` (0..MAX_WORDS), the rest is the line. */
	max = data[0] % (MAX_WORDS + 1);
	len = size - 1;
	line = malloc(len + 1);
	orig = malloc(len + 1);
	argv = malloc((size_t)max * sizeof(*argv)); /* exactly `max` slots: a write past them is caught */
	if (!line || !orig || (!argv && max)) {
		free(line);
		free(orig);
		free(argv);
		return 0;
	}
	memcpy(line, data + 1, len);
	line[len] = '\0';
	len = strlen(line);
	memcpy(orig, line, len + 1);
	for (size_t i = 0; i < len; i++)
		ctl |= (unsigned char)line[i] < 0x20 && line[i] != '\t';
	for (size_t i = 0; i < len;) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			break;
		ref++;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
	}

	if (max)
		memset(argv, 0, (size_t)max * sizeof(*argv));
	argc = status_split_line(line, argv, max);
	if (ctl || ref > max) {
		if (argc != -EINVAL)
			FAIL("expected -EINVAL (ctl %d, %d words, max %d), got %d", ctl, ref, max, argc);
		goto out;
	}
	if (argc != ref)
		FAIL("%d words, reference says %d", argc, ref);
	for (int i = 0; i < argc; i++) {
		size_t off, wl;

		if (argv[i] < line || argv[i] >= line + len)
			FAIL("word %d outside the line", i);
		off = (size_t)(argv[i] - line);
		wl = strlen(argv[i]);
		if (!wl || off < pos || off + wl > len)
			FAIL("word %d at %zu (+%zu) out of order", i, off, wl);
		if (strcspn(argv[i], " \t") != wl)
			FAIL("word %d holds a blank", i);
		if (memcmp(argv[i], orig + off, wl) != 0)
			FAIL("word %d differs from the input", i);
		if (off + wl < len && orig[off + wl] != ' ' && orig[off + wl] != '\t')
			FAIL("word %d cut inside a word", i);
		pos = off + wl;
	}
	if (argc < max && argv[argc])
		FAIL("argv[%d] written past the words", argc);
out:
	free(argv);
	free(line);
	free(orig);
	return 0;
}
