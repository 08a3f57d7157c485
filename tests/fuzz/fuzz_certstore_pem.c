/* fuzz_certstore_pem: libFuzzer target for the PEM inputs of agent/certstore.c:
 * certstore_parse_certs, certstore_parse_key (fixed password), certstore_describe(PEM), and on
 * what parses: aliases, entries, the CA and identity validators, and a JKS and a PEM truststore
 * built from the certificates and read back (same certificates, deduplicated).
 * Input: a PEM file (any bytes). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "certstore.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "fuzz_certstore_pem: " __VA_ARGS__);                               \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

#define PASSWORD "changeit"
#define NOW ((time_t)1900000000) /* 2030-03-17: fixed, so that runs are reproducible */

static void check_err(int r, const char *err, size_t errlen, const char *what)
{
	if (r < 0 && (!memchr(err, '\0', errlen) || !err[0]))
		FAIL("%s: error %d without a terminated message", what, r);
}

static void check_list(const struct certstore_list *l, const char *what)
{
	if (l->n && !l->v)
		FAIL("%s: %zu entries without v", what, l->n);
	for (size_t i = 0; i < l->n; i++) {
		const struct certstore_entry *e = &l->v[i];

		if (!e->alias || !e->entry_type || !e->subject || !e->issuer)
			FAIL("%s: entry %zu with a NULL string", what, i);
		if (!memchr(e->serial, '\0', sizeof e->serial) || strlen(e->sha256) != 64)
			FAIL("%s: entry %zu: bad serial or sha256", what, i);
		if (e->chain_length < 1 || e->chain_index >= e->chain_length)
			FAIL("%s: entry %zu: chain %u/%u", what, i, e->chain_index, e->chain_length);
	}
}

/* Builds a truststore of `type` from `certs` and reads it back. */
static void truststore_roundtrip(STACK_OF(X509) *certs, enum certstore_type type)
{
	unsigned char *out = NULL;
	size_t out_len = 0, unique = 0;
	struct certstore_list l;
	char err[256];
	int r, n = sk_X509_num(certs);
	unsigned char (*md)[32] = calloc((size_t)n, sizeof *md);

	if (!md)
		return;
	for (int i = 0; i < n; i++) {
		unsigned char d[32];
		unsigned int dl = 0;
		int dup = 0;

		if (!X509_digest(sk_X509_value(certs, i), EVP_sha256(), d, &dl) || dl != 32)
			FAIL("X509_digest failed");
		for (size_t j = 0; j < unique; j++)
			dup |= memcmp(md[j], d, 32) == 0;
		if (!dup)
			memcpy(md[unique++], d, 32);
	}
	r = certstore_build_truststore(type, certs, PASSWORD, NOW, &out, &out_len, err, sizeof err);
	check_err(r, err, sizeof err, "build_truststore");
	if (r < 0) {
		/* A certificate OpenSSL read but cannot re-encode, or a name it cannot print. */
		if (r != -ENOMEM && r != -EINVAL && r != -EBADMSG)
			FAIL("build_truststore(%s): %d %s", certstore_type_name(type), r, err);
		goto out;
	}
	r = certstore_describe(out, out_len, type, PASSWORD, NOW, &l, err, sizeof err);
	if (r != 0)
		FAIL("a built %s truststore does not read back: %d %s", certstore_type_name(type), r, err);
	check_list(&l, "roundtrip");
	if (l.n != unique)
		FAIL("%s truststore of %zu distinct certificates lists %zu", certstore_type_name(type), unique, l.n);
	for (size_t i = 0; i < l.n; i++)
		if (strcmp(l.v[i].entry_type, "trustedCertEntry") != 0)
			FAIL("truststore entry %zu is a %s", i, l.v[i].entry_type);
	if (type == CERTSTORE_JKS && !l.integrity_checked)
		FAIL("JKS integrity not checked with the password");
	certstore_list_free(&l);
out:
	free(out);
	free(md);
}

static void certs(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *cs = NULL;
	struct certstore_warnings w = {0};
	struct certstore_policy pol = {.now = NOW, .node_address = "10.0.1.11", .node_hostname = "node1.example.net"};
	char err[256], alias[CERTSTORE_ALIAS_MAX];
	bool describable = true;
	int r;

	r = certstore_parse_certs(data, size, &cs, err, sizeof err);
	check_err(r, err, sizeof err, "parse_certs");
	if (r < 0) {
		if (r != -ENODATA && r != -EBADMSG && r != -EFBIG && r != -ENOMEM)
			FAIL("parse_certs: unexpected %d", r);
		if (cs)
			FAIL("parse_certs: output set on error");
		return;
	}
	if (!cs || sk_X509_num(cs) < 1)
		FAIL("parse_certs: success without a certificate");
	for (int i = 0; i < sk_X509_num(cs); i++) {
		struct certstore_entry e;

		r = certstore_cert_alias(sk_X509_value(cs, i), alias, sizeof alias);
		if (r == 0 && (!alias[0] || strlen(alias) >= sizeof alias))
			FAIL("alias \"%s\"", alias);
		memset(&e, 0, sizeof e);
		if (certstore_entry_from_cert(sk_X509_value(cs, i), NOW, &e) == 0 && (!e.subject || !e.issuer))
			FAIL("entry_from_cert without subject/issuer");
		certstore_entry_clear(&e);
	}
	r = certstore_validate_cas(cs, &pol, &w, err, sizeof err);
	check_err(r, err, sizeof err, "validate_cas");
	certstore_warnings_free(&w);

	for (int i = 0; i < sk_X509_num(cs); i++) {
		struct certstore_entry e;

		memset(&e, 0, sizeof e);
		describable &= certstore_entry_from_cert(sk_X509_value(cs, i), NOW, &e) == 0;
		certstore_entry_clear(&e);
	}
	/* A certificate certstore_describe cannot describe (say, an unreadable validity date) is
	 * refused by certstore_validate_cas before any store is built; describe() checks how. */
	if (describable && sk_X509_num(cs) <= 8) {
		truststore_roundtrip(cs, CERTSTORE_JKS);
		truststore_roundtrip(cs, CERTSTORE_PEM);
	}

	/* The same bytes as a node identity: key + chain, verified against the chain itself. */
	{
		EVP_PKEY *key = NULL;

		if (certstore_parse_key(data, size, PASSWORD, &key, err, sizeof err) == 0) {
			memset(&w, 0, sizeof w);
			r = certstore_validate_identity(key, cs, cs, &pol, &w, err, sizeof err);
			check_err(r, err, sizeof err, "validate_identity");
			certstore_warnings_free(&w);
			memset(&w, 0, sizeof w);
			r = certstore_validate_identity(key, cs, NULL, &pol, &w, err, sizeof err);
			check_err(r, err, sizeof err, "validate_identity");
			certstore_warnings_free(&w);
			EVP_PKEY_free(key);
		}
	}
	certstore_certs_free(cs);
}

static void key(const uint8_t *data, size_t size)
{
	EVP_PKEY *k = NULL;
	char err[256];
	int r;

	r = certstore_parse_key(data, size, PASSWORD, &k, err, sizeof err);
	check_err(r, err, sizeof err, "parse_key");
	if (r < 0) {
		if (r != -ENODATA && r != -EBADMSG && r != -EFBIG && r != -ENOMEM && r != -EACCES && r != -EINVAL &&
		    r != -ENOTSUP)
			FAIL("parse_key: unexpected %d", r);
		if (k)
			FAIL("parse_key: output set on error");
		return;
	}
	if (!k)
		FAIL("parse_key: success without a key");
	EVP_PKEY_free(k);
	/* Without the password only unencrypted keys parse. */
	r = certstore_parse_key(data, size, NULL, &k, err, sizeof err);
	check_err(r, err, sizeof err, "parse_key");
	EVP_PKEY_free(k);
}

static void describe(const uint8_t *data, size_t size)
{
	struct certstore_list l;
	char err[256];
	int r;

	memset(&l, 0xa5, sizeof l);
	r = certstore_describe(data, size, CERTSTORE_PEM, NULL, NOW, &l, err, sizeof err);
	check_err(r, err, sizeof err, "describe");
	/* The arguments are valid, so -EINVAL ("bad arguments") is not an answer for bad input:
	 * malformed input is -EBADMSG (certstore.h), e.g. a certificate with an unreadable
	 * validity date (regressions/certstore_pem/). */
	if (r == -EINVAL)
		FAIL("describe(PEM): -EINVAL for input: \"%s\"", err);
	if (r < 0) {
		if (l.v || l.n)
			FAIL("describe: list not zeroed on error");
		return;
	}
	check_list(&l, "describe");
	certstore_list_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum certstore_type t;

	(void)certstore_type_detect(data, size, &t);
	describe(data, size);
	certs(data, size);
	key(data, size);
	ERR_clear_error();
	return 0;
}
