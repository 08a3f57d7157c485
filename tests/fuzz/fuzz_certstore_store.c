/* fuzz_certstore_store: libFuzzer target for reading trust and key stores with
 * certstore_describe (agent/certstore.c): PKCS#12 and JKS (and PEM), as `cassandra-agentctl
 * certs` reads the files Cassandra uses. Input: byte 0 chooses the type (0: as
 * certstore_type_detect guesses, 1: PKCS#12, 2: JKS, 3: PEM) and, in its bit 2, reading without
 * the password; the rest is the store. The password is fixed. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "certstore.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "fuzz_certstore_store: " __VA_ARGS__);                             \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

#define PASSWORD "changeit"
#define NOW ((time_t)1900000000) /* 2030-03-17 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct certstore_list l;
	enum certstore_type type;
	const char *password;
	char err[256];
	int r;

	if (size < 1)
		return 0;
	password = data[0] & 4 ? NULL : PASSWORD;
	switch (data[0] & 3) {
	case 0:
		if (certstore_type_detect(data + 1, size - 1, &type) != 0)
			return 0;
		break;
	case 1:
		type = CERTSTORE_PKCS12;
		break;
	case 2:
		type = CERTSTORE_JKS;
		break;
	default:
		type = CERTSTORE_PEM;
		break;
	}
	memset(&l, 0xa5, sizeof l);
	memset(err, 'x', sizeof err);
	r = certstore_describe(data + 1, size - 1, type, password, NOW, &l, err, sizeof err);
	if (r < 0) {
		if (!memchr(err, '\0', sizeof err) || !err[0])
			FAIL("error %d without a terminated message", r);
		if (l.v || l.n)
			FAIL("list not zeroed on error");
		ERR_clear_error();
		return 0;
	}
	if (r != 0)
		FAIL("unexpected return %d", r);
	if (l.type != type)
		FAIL("type %d, asked %d", l.type, type);
	if (l.n && !l.v)
		FAIL("%zu entries without v", l.n);
	if (!password && l.integrity_checked)
		FAIL("integrity checked without a password");
	for (size_t i = 0; i < l.n; i++) {
		const struct certstore_entry *e = &l.v[i];

		if (!e->alias || !e->entry_type || !e->subject || !e->issuer)
			FAIL("entry %zu with a NULL string", i);
		if (!memchr(e->serial, '\0', sizeof e->serial) || strlen(e->sha256) != 64)
			FAIL("entry %zu: bad serial or sha256", i);
		if (e->chain_length < 1 || e->chain_index >= e->chain_length)
			FAIL("entry %zu: chain %u/%u", i, e->chain_index, e->chain_length);
	}
	certstore_list_free(&l);
	if (l.v || l.n)
		FAIL("certstore_list_free left the list set");
	ERR_clear_error();
	return 0;
}
