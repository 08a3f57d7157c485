/* test_certstore: PEM parsing, validation and store building/reading, on certificates made at test time by
 * tests/certs/make_node_certs.sh. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "check_run.h"
#include "certstore.h"

static char certdir[PATH_MAX];

/* ---- helpers ---------------------------------------------------------------------------------- */

/* Whole file `name` of the certificate directory; caller frees. Fails the test if missing. */
static char *load(const char *name, size_t *len)
{
	char path[PATH_MAX + 64];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof path, "%s/%s", certdir, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static STACK_OF(X509) * certs_of(const char *name)
{
	STACK_OF(X509) *certs = NULL;
	char err[512];
	size_t len;
	char *buf = load(name, &len);
	int rc = certstore_parse_certs(buf, len, &certs, err, sizeof err);

	ck_assert_msg(rc == 0, "%s: %s", name, err);
	free(buf);
	return certs;
}

/* Certificates of several files, in order (NULL-terminated names). */
static STACK_OF(X509) * certs_of_files(const char *first, ...)
{
	STACK_OF(X509) *all = sk_X509_new_null();
	va_list ap;

	va_start(ap, first);
	for (const char *n = first; n; n = va_arg(ap, const char *)) {
		STACK_OF(X509) *c = certs_of(n);

		while (sk_X509_num(c) > 0)
			sk_X509_push(all, sk_X509_shift(c));
		certstore_certs_free(c);
	}
	va_end(ap);
	return all;
}

static EVP_PKEY *key_of(const char *name)
{
	EVP_PKEY *key = NULL;
	char err[512];
	size_t len;
	char *buf = load(name, &len);
	int rc = certstore_parse_key(buf, len, NULL, &key, err, sizeof err);

	ck_assert_msg(rc == 0, "%s: %s", name, err);
	free(buf);
	return key;
}

/* Identity validation of KEY + CHAIN against the CAs of TRUST (NULL: no trust set). */
static int identity(const char *key_name, const char *chain_name, const char *trust_name,
		    const struct certstore_policy *policy, struct certstore_warnings *w, char *err, size_t errlen)
{
	EVP_PKEY *key = key_of(key_name);
	STACK_OF(X509) *chain = certs_of(chain_name);
	STACK_OF(X509) *trust = trust_name ? certs_of(trust_name) : NULL;
	int rc = certstore_validate_identity(key, chain, trust, policy, w, err, errlen);

	EVP_PKEY_free(key);
	certstore_certs_free(chain);
	certstore_certs_free(trust);
	return rc;
}

static bool warnings_contain(const struct certstore_warnings *w, const char *needle)
{
	for (size_t i = 0; i < w->n; i++)
		if (strstr(w->v[i], needle))
			return true;
	return false;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- PEM parsing ------------------------------------------------------------------------------- */

START_TEST(test_parse_bundle_reads_every_certificate_in_order)
{
	STACK_OF(X509) *certs = certs_of("node-chain.pem");
	char alias[CERTSTORE_ALIAS_MAX];

	ck_assert_int_eq(sk_X509_num(certs), 2);
	ck_assert_int_eq(certstore_cert_alias(sk_X509_value(certs, 1), alias, sizeof alias), 0);
	ck_assert_msg(!strncmp(alias, "test-intermediate-ca-", 21), "alias %s", alias);
	certstore_certs_free(certs);
}
END_TEST

START_TEST(test_parse_skips_text_between_blocks_and_key_blocks)
{
	size_t l1, l2;
	char *key = load("node.key", &l1), *cert = load("node.pem", &l2), err[256];
	char *buf = NULL;
	STACK_OF(X509) *certs = NULL;

	ck_assert_int_ge(asprintf(&buf, "subject=CN = node1\n%s\nsome comment\n%s", key, cert), 0);
	ck_assert_int_eq(certstore_parse_certs(buf, strlen(buf), &certs, err, sizeof err), 0);
	ck_assert_int_eq(sk_X509_num(certs), 1);
	certstore_certs_free(certs);
	free(buf);
	free(key);
	free(cert);
}
END_TEST

START_TEST(test_parse_refuses_garbage_saying_no_pem_found)
{
	STACK_OF(X509) *certs = (STACK_OF(X509) *)1;
	char err[256];
	size_t len;
	char *buf = load("garbage.pem", &len);

	ck_assert_int_eq(certstore_parse_certs(buf, len, &certs, err, sizeof err), -EBADMSG);
	ck_assert_ptr_null(certs);
	ck_assert_msg(strstr(err, "no PEM") && strstr(err, "this is not a certificate"), "%s", err);
	free(buf);
}
END_TEST

START_TEST(test_parse_refuses_der_naming_der)
{
	STACK_OF(X509) *certs = NULL;
	char err[256];
	size_t len;
	char *buf = load("root-ca.der", &len);

	ck_assert_int_eq(certstore_parse_certs(buf, len, &certs, err, sizeof err), -EBADMSG);
	ck_assert_msg(strstr(err, "DER-encoded") && strstr(err, "X.509 certificate") && strstr(err, "expected PEM"),
		      "%s", err);
	free(buf);
}
END_TEST

START_TEST(test_parse_refuses_binary_blob)
{
	static const unsigned char blob[] = {0x00, 0xff, 0x10, 0x02, 'a', 'b', 0x7f, 0x01};
	STACK_OF(X509) *certs = NULL;
	char err[256];

	ck_assert_int_eq(certstore_parse_certs(blob, sizeof blob, &certs, err, sizeof err), -EBADMSG);
	ck_assert_msg(strstr(err, "binary data"), "%s", err);
}
END_TEST

START_TEST(test_parse_refuses_5_mib_blob_before_parsing)
{
	STACK_OF(X509) *certs = NULL;
	char err[256];
	size_t len;
	char *buf = load("big.pem", &len);

	ck_assert_uint_gt(len, 5u * 1024 * 1024);
	ck_assert_int_eq(certstore_parse_certs(buf, len, &certs, err, sizeof err), -EFBIG);
	ck_assert_msg(strstr(err, "1 MiB"), "%s", err);
	free(buf);
}
END_TEST

START_TEST(test_parse_refuses_empty_input)
{
	STACK_OF(X509) *certs = NULL;
	char err[256];

	ck_assert_int_eq(certstore_parse_certs("", 0, &certs, err, sizeof err), -ENODATA);
	ck_assert_int_eq(certstore_parse_certs(" \n\n", 3, &certs, err, sizeof err), -ENODATA);
	ck_assert_msg(strstr(err, "empty"), "%s", err);
}
END_TEST

START_TEST(test_parse_refuses_key_file_naming_its_label)
{
	STACK_OF(X509) *certs = NULL;
	char err[256];
	size_t len;
	char *buf = load("node.key", &len);

	ck_assert_int_eq(certstore_parse_certs(buf, len, &certs, err, sizeof err), -ENODATA);
	ck_assert_msg(strstr(err, "no CERTIFICATE") && strstr(err, "PRIVATE KEY"), "%s", err);
	free(buf);
}
END_TEST

START_TEST(test_parse_refuses_corrupt_base64)
{
	STACK_OF(X509) *certs = NULL;
	char err[256];
	size_t len;
	char *buf = load("root-ca.pem", &len);
	char *body = strchr(buf, '\n') + 1;

	memcpy(body + 10, "!!!!", 4);
	ck_assert_int_eq(certstore_parse_certs(buf, len, &certs, err, sizeof err), -EBADMSG);
	ck_assert_msg(strstr(err, "PEM block 1"), "%s", err);
	free(buf);
}
END_TEST

START_TEST(test_parse_refuses_certificate_block_holding_other_asn1)
{
	static const char pem[] = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
	STACK_OF(X509) *certs = NULL;
	char err[256];

	ck_assert_int_eq(certstore_parse_certs(pem, strlen(pem), &certs, err, sizeof err), -EBADMSG);
	ck_assert_msg(strstr(err, "not a valid X.509 certificate"), "%s", err);
}
END_TEST

START_TEST(test_parse_key_pkcs8_ec)
{
	EVP_PKEY *key = key_of("node.key");

	ck_assert_int_eq(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
	EVP_PKEY_free(key);
}
END_TEST

START_TEST(test_parse_key_traditional_rsa)
{
	EVP_PKEY *key = key_of("node-rsa.key");

	ck_assert_int_eq(EVP_PKEY_get_base_id(key), EVP_PKEY_RSA);
	ck_assert_int_eq(EVP_PKEY_get_bits(key), 2048);
	EVP_PKEY_free(key);
}
END_TEST

START_TEST(test_parse_key_encrypted_needs_the_right_password)
{
	EVP_PKEY *key = key_of("node.key"), *back = NULL;
	STACK_OF(X509) *chain = certs_of("node-chain.pem");
	unsigned char *out = NULL;
	size_t out_len = 0;
	char err[256];

	ck_assert_int_eq(
		certstore_build_keystore(CERTSTORE_PEM, key, chain, "s3cret", NULL, &out, &out_len, err, sizeof err),
		0);
	ck_assert_ptr_nonnull(memmem(out, out_len, "ENCRYPTED PRIVATE KEY", 21));
	ck_assert_int_eq(certstore_parse_key(out, out_len, NULL, &back, err, sizeof err), -EACCES);
	ck_assert_msg(strstr(err, "encrypted"), "%s", err);
	ck_assert_int_eq(certstore_parse_key(out, out_len, "wrong", &back, err, sizeof err), -EACCES);
	ck_assert_msg(strstr(err, "wrong password"), "%s", err);
	ck_assert_int_eq(certstore_parse_key(out, out_len, "s3cret", &back, err, sizeof err), 0);
	ck_assert_int_eq(EVP_PKEY_eq(back, key), 1);
	EVP_PKEY_free(back);
	certstore_secret_free(out, out_len);
	certstore_certs_free(chain);
	EVP_PKEY_free(key);
}
END_TEST

START_TEST(test_parse_key_refuses_two_keys)
{
	size_t l1, l2;
	char *a = load("node.key", &l1), *b = load("wrong.key", &l2), *both = NULL, err[256];
	EVP_PKEY *key = NULL;

	ck_assert_int_ge(asprintf(&both, "%s%s", a, b), 0);
	ck_assert_int_eq(certstore_parse_key(both, strlen(both), NULL, &key, err, sizeof err), -EINVAL);
	ck_assert_ptr_null(key);
	ck_assert_msg(strstr(err, "more than one private key"), "%s", err);
	free(both);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_parse_key_refuses_certificate_file)
{
	EVP_PKEY *key = NULL;
	char err[256];
	size_t len;
	char *buf = load("node.pem", &len);

	ck_assert_int_eq(certstore_parse_key(buf, len, NULL, &key, err, sizeof err), -ENODATA);
	ck_assert_msg(strstr(err, "no private key") && strstr(err, "CERTIFICATE"), "%s", err);
	free(buf);
}
END_TEST

/* ---- CA validation ----------------------------------------------------------------------------- */

START_TEST(test_validate_cas_accepts_roots_and_intermediate)
{
	STACK_OF(X509) *cas = certs_of_files("root-ca.pem", "root2-ca.pem", "int-ca.pem", NULL);
	struct certstore_warnings w = {0};
	char err[256];

	ck_assert_int_eq(certstore_validate_cas(cas, NULL, &w, err, sizeof err), 0);
	ck_assert_uint_eq(w.n, 0);
	certstore_certs_free(cas);
}
END_TEST

START_TEST(test_validate_cas_refuses_empty_list)
{
	STACK_OF(X509) *cas = sk_X509_new_null();
	char err[256];

	ck_assert_int_eq(certstore_validate_cas(cas, NULL, NULL, err, sizeof err), -ENODATA);
	ck_assert_msg(strstr(err, "no CA certificate"), "%s", err);
	ck_assert_int_eq(certstore_validate_cas(NULL, NULL, NULL, err, sizeof err), -ENODATA);
	certstore_certs_free(cas);
}
END_TEST

START_TEST(test_validate_cas_refuses_expired)
{
	STACK_OF(X509) *cas = certs_of_files("root-ca.pem", "expired-ca.pem", NULL);
	char err[256];

	ck_assert_int_eq(certstore_validate_cas(cas, NULL, NULL, err, sizeof err), -EKEYEXPIRED);
	ck_assert_msg(strstr(err, "CA certificate 2 (CN=Expired CA)") && strstr(err, "expired on 2021-01-01"), "%s",
		      err);
	certstore_certs_free(cas);
}
END_TEST

START_TEST(test_validate_cas_refuses_not_yet_valid)
{
	STACK_OF(X509) *cas = certs_of("future-ca.pem");
	char err[256];

	ck_assert_int_eq(certstore_validate_cas(cas, NULL, NULL, err, sizeof err), -EKEYEXPIRED);
	ck_assert_msg(strstr(err, "not valid yet") && strstr(err, "2090-01-01"), "%s", err);
	certstore_certs_free(cas);
}
END_TEST

START_TEST(test_validate_cas_refuses_rsa_1024)
{
	STACK_OF(X509) *cas = certs_of("weak-ca.pem");
	char err[256];

	ck_assert_int_eq(certstore_validate_cas(cas, NULL, NULL, err, sizeof err), -EKEYREJECTED);
	ck_assert_msg(strstr(err, "RSA 1024-bit") && strstr(err, "2048"), "%s", err);
	certstore_certs_free(cas);
}
END_TEST

START_TEST(test_validate_cas_accepts_expired_ca_at_an_earlier_time)
{
	STACK_OF(X509) *cas = certs_of("expired-ca.pem");
	struct certstore_policy p = {.now = 1594000000}; /* 2020-07-06 */
	char err[256];

	ck_assert_int_eq(certstore_validate_cas(cas, &p, NULL, err, sizeof err), 0);
	certstore_certs_free(cas);
}
END_TEST

START_TEST(test_validate_cas_warns_on_non_ca_and_duplicate)
{
	STACK_OF(X509) *cas = certs_of_files("root-ca.pem", "node.pem", "root-ca.pem", NULL);
	struct certstore_warnings w = {0};
	char err[256];

	ck_assert_int_eq(certstore_validate_cas(cas, NULL, &w, err, sizeof err), 0);
	ck_assert_uint_eq(w.n, 2);
	ck_assert(warnings_contain(&w, "CA certificate 2 (CN=node1.example.com,O=Test) is not a CA"));
	ck_assert(warnings_contain(&w, "duplicate of certificate 1"));
	certstore_warnings_free(&w);
	ck_assert_uint_eq(w.n, 0);
	certstore_certs_free(cas);
}
END_TEST

START_TEST(test_validate_cas_warns_when_expiring_within_30_days)
{
	STACK_OF(X509) *cas = certs_of("int-ca.pem");
	struct certstore_entry e;
	struct certstore_policy p = {0};
	struct certstore_warnings w = {0};
	char err[256];

	ck_assert_int_eq(certstore_entry_from_cert(sk_X509_value(cas, 0), 0, &e), 0);
	p.now = (time_t)(e.not_after - 10 * 86400 - 5);
	ck_assert_int_eq(certstore_validate_cas(cas, &p, &w, err, sizeof err), 0);
	ck_assert_uint_eq(w.n, 1);
	ck_assert(warnings_contain(&w, "expires in 10 days"));
	certstore_warnings_free(&w);
	certstore_entry_clear(&e);
	certstore_certs_free(cas);
}
END_TEST

/* ---- identity validation ------------------------------------------------------------------------ */

START_TEST(test_identity_valid_chain_with_matching_san_has_no_warnings)
{
	struct certstore_policy p = {.node_address = "10.0.1.11", .require_san = true};
	struct certstore_warnings w = {0};
	char err[512];

	ck_assert_int_eq(identity("node.key", "node-chain.pem", "root-ca.pem", &p, &w, err, sizeof err), 0);
	ck_assert_uint_eq(w.n, 0);
	ck_assert_int_eq(identity("node-rsa.key", "node-rsa-chain.pem", "root-ca.pem", &p, &w, err, sizeof err), 0);
	ck_assert_uint_eq(w.n, 0);
}
END_TEST

START_TEST(test_identity_refuses_key_not_matching)
{
	char err[512];

	ck_assert_int_eq(identity("wrong.key", "node-chain.pem", "root-ca.pem", NULL, NULL, err, sizeof err),
			 -EKEYREJECTED);
	ck_assert_msg(strstr(err, "does not match the node certificate (CN=node1.example.com"), "%s", err);
}
END_TEST

START_TEST(test_identity_refuses_chain_to_unknown_ca)
{
	char err[512];

	ck_assert_int_eq(identity("node-other.key", "node-other-chain.pem", "root-ca.pem", NULL, NULL, err, sizeof err),
			 -EKEYREJECTED);
	ck_assert_msg(strstr(err, "does not verify to a CA in the trust set") && strstr(err, "CN=Other Root CA"), "%s",
		      err);
}
END_TEST

START_TEST(test_identity_refuses_chain_missing_its_intermediate)
{
	char err[512];

	ck_assert_int_eq(identity("node.key", "node.pem", "root-ca.pem", NULL, NULL, err, sizeof err), -EKEYREJECTED);
	ck_assert_msg(strstr(err, "CN=Test Intermediate CA") && strstr(err, "not trusted"), "%s", err);
}
END_TEST

START_TEST(test_identity_intermediate_in_trust_set_anchors_the_chain)
{
	char err[512];

	ck_assert_int_eq(identity("node.key", "node.pem", "int-ca.pem", NULL, NULL, err, sizeof err), 0);
}
END_TEST

START_TEST(test_identity_refuses_expired_node_certificate)
{
	char err[512];

	ck_assert_int_eq(identity("node.key", "expired-node-chain.pem", "root-ca.pem", NULL, NULL, err, sizeof err),
			 -EKEYEXPIRED);
	ck_assert_msg(strstr(err, "node certificate") && strstr(err, "expired on 2021-01-01"), "%s", err);
}
END_TEST

START_TEST(test_identity_refuses_not_yet_valid_node_certificate)
{
	char err[512];

	ck_assert_int_eq(identity("node.key", "future-node-chain.pem", "root-ca.pem", NULL, NULL, err, sizeof err),
			 -EKEYEXPIRED);
	ck_assert_msg(strstr(err, "not valid yet: valid from 2090-01-01"), "%s", err);
}
END_TEST

START_TEST(test_identity_refuses_rsa_1024_key)
{
	char err[512];

	ck_assert_int_eq(identity("weak-node.key", "weak-node-chain.pem", "root-ca.pem", NULL, NULL, err, sizeof err),
			 -EKEYREJECTED);
	ck_assert_msg(strstr(err, "RSA 1024-bit key is too weak"), "%s", err);
}
END_TEST

START_TEST(test_identity_san_mismatch_warns_by_default)
{
	struct certstore_policy p = {.node_address = "10.9.9.9", .node_hostname = "node9.example.com"};
	struct certstore_warnings w = {0};
	char err[512];

	ck_assert_int_eq(identity("node.key", "node-chain.pem", "root-ca.pem", &p, &w, err, sizeof err), 0);
	ck_assert_uint_eq(w.n, 1);
	ck_assert_msg(warnings_contain(&w, "DNS:node1.example.com, IP:10.0.1.11") &&
			      warnings_contain(&w, "neither 10.9.9.9 nor node9.example.com"),
		      "%s", w.v[0]);
	certstore_warnings_free(&w);
}
END_TEST

START_TEST(test_identity_san_mismatch_refused_when_required)
{
	struct certstore_policy p = {.node_address = "10.9.9.9", .require_san = true};
	char err[512];

	ck_assert_int_eq(identity("node.key", "node-chain.pem", "root-ca.pem", &p, NULL, err, sizeof err),
			 -EKEYREJECTED);
	ck_assert_msg(strstr(err, "holds no 10.9.9.9"), "%s", err);
}
END_TEST

START_TEST(test_identity_san_matches_hostname_not_subject_cn_alone)
{
	struct certstore_policy p = {.node_hostname = "node1.example.com", .require_san = true};
	char err[512];

	ck_assert_int_eq(identity("node.key", "node-chain.pem", "root-ca.pem", &p, NULL, err, sizeof err), 0);
	p.node_hostname = "NODE1.Example.COM";
	ck_assert_int_eq(identity("node.key", "node-chain.pem", "root-ca.pem", &p, NULL, err, sizeof err), 0);
	/* The other CA's node has the same SAN; a name only in the CN would not match. */
	p.node_hostname = "Test Root CA";
	ck_assert_int_eq(identity("node.key", "node-chain.pem", "root-ca.pem", &p, NULL, err, sizeof err),
			 -EKEYREJECTED);
}
END_TEST

START_TEST(test_identity_without_trust_set_warns_chain_unverified)
{
	struct certstore_warnings w = {0};
	char err[512];

	ck_assert_int_eq(identity("node.key", "node-chain.pem", NULL, NULL, &w, err, sizeof err), 0);
	ck_assert(warnings_contain(&w, "not verified"));
	certstore_warnings_free(&w);
}
END_TEST

/* ---- aliases ---------------------------------------------------------------------------------------- */

START_TEST(test_alias_is_lowercase_cn_and_fingerprint_prefix)
{
	STACK_OF(X509) *c = certs_of_files("root-ca.pem", "node.pem", NULL);
	struct certstore_entry e;
	char alias[CERTSTORE_ALIAS_MAX], want[64];

	ck_assert_int_eq(certstore_entry_from_cert(sk_X509_value(c, 0), 0, &e), 0);
	snprintf(want, sizeof want, "test-root-ca-%.8s", e.sha256);
	ck_assert_int_eq(certstore_cert_alias(sk_X509_value(c, 0), alias, sizeof alias), 0);
	ck_assert_str_eq(alias, want);
	certstore_entry_clear(&e);
	ck_assert_int_eq(certstore_cert_alias(sk_X509_value(c, 1), alias, sizeof alias), 0);
	ck_assert_msg(!strncmp(alias, "node1.example.com-", 18) && strlen(alias) == 26, "%s", alias);
	ck_assert_int_eq(certstore_cert_alias(sk_X509_value(c, 1), alias, 10), -ENOSPC);
	certstore_certs_free(c);
}
END_TEST

/* ---- PKCS#12 truststore ----------------------------------------------------------------------------- */

START_TEST(test_pkcs12_truststore_bags_carry_java_trust_attribute)
{
	STACK_OF(X509) *cas = certs_of_files("root-ca.pem", "root2-ca.pem", NULL);
	ASN1_OBJECT *oracle = OBJ_txt2obj("2.16.840.1.113894.746875.1.1", 1);
	ASN1_OBJECT *any = OBJ_txt2obj("2.5.29.37.0", 1);
	STACK_OF(PKCS7) * safes;
	STACK_OF(PKCS12_SAFEBAG) * bags;
	unsigned char *out = NULL;
	const unsigned char *q;
	size_t out_len = 0;
	PKCS12 *p12;
	char err[256];

	ck_assert_int_eq(
		certstore_build_truststore(CERTSTORE_PKCS12, cas, "changeit", 0, &out, &out_len, err, sizeof err), 0);
	q = out;
	p12 = d2i_PKCS12(NULL, &q, (long)out_len);
	ck_assert_ptr_nonnull(p12);
	ck_assert_int_eq(PKCS12_verify_mac(p12, "changeit", -1), 1);
	ck_assert_int_eq(PKCS12_verify_mac(p12, "wrong", -1), 0);
	safes = PKCS12_unpack_authsafes(p12);
	ck_assert_int_eq(sk_PKCS7_num(safes), 1);
	ck_assert(PKCS7_type_is_data(sk_PKCS7_value(safes, 0))); /* no PBE on public certificates */
	bags = PKCS12_unpack_p7data(sk_PKCS7_value(safes, 0));
	ck_assert_int_eq(sk_PKCS12_SAFEBAG_num(bags), 2);
	for (int i = 0; i < 2; i++) {
		PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, i);
		const STACK_OF(X509_ATTRIBUTE) *attrs = PKCS12_SAFEBAG_get0_attrs(bag);
		char *name = PKCS12_get_friendlyname(bag), alias[CERTSTORE_ALIAS_MAX];
		bool found = false;

		ck_assert_int_eq(PKCS12_SAFEBAG_get_nid(bag), NID_certBag);
		ck_assert_ptr_null(PKCS12_SAFEBAG_get0_attr(bag, NID_localKeyID));
		ck_assert_int_eq(certstore_cert_alias(sk_X509_value(cas, i), alias, sizeof alias), 0);
		ck_assert_str_eq(name, alias);
		OPENSSL_free(name);
		for (int j = 0; j < sk_X509_ATTRIBUTE_num(attrs); j++) {
			X509_ATTRIBUTE *a = sk_X509_ATTRIBUTE_value(attrs, j);
			ASN1_TYPE *v;

			if (OBJ_cmp(X509_ATTRIBUTE_get0_object(a), oracle))
				continue;
			ck_assert_int_eq(X509_ATTRIBUTE_count(a), 1);
			v = X509_ATTRIBUTE_get0_type(a, 0);
			ck_assert_int_eq(v->type, V_ASN1_OBJECT);
			ck_assert_int_eq(OBJ_cmp(v->value.object, any), 0);
			found = true;
		}
		ck_assert_msg(found, "bag %d lacks Oracle's trustedKeyUsage attribute", i);
	}
	sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	PKCS12_free(p12);
	ASN1_OBJECT_free(oracle);
	ASN1_OBJECT_free(any);
	free(out);
	certstore_certs_free(cas);
}
END_TEST

START_TEST(test_pkcs12_truststore_reads_back_as_trusted_entries)
{
	STACK_OF(X509) *cas = certs_of_files("root-ca.pem", "root2-ca.pem", "int-ca.pem", NULL);
	struct certstore_list l;
	unsigned char *out = NULL;
	size_t out_len = 0;
	char err[256];

	ck_assert_int_eq(
		certstore_build_truststore(CERTSTORE_PKCS12, cas, "changeit", 0, &out, &out_len, err, sizeof err), 0);
	ck_assert_int_eq(certstore_describe(out, out_len, CERTSTORE_PKCS12, "changeit", 0, &l, err, sizeof err), 0);
	ck_assert_uint_eq(l.n, 3);
	ck_assert(l.integrity_checked);
	ck_assert(!l.has_private_key);
	for (size_t i = 0; i < l.n; i++)
		ck_assert_str_eq(l.v[i].entry_type, "trustedCertEntry");
	ck_assert_str_eq(l.v[2].subject, "CN=Test Intermediate CA,O=Test");
	ck_assert_str_eq(l.v[2].issuer, "CN=Test Root CA,O=Test");
	certstore_list_free(&l);
	/* Without the password: certificates readable, integrity unchecked. */
	ck_assert_int_eq(certstore_describe(out, out_len, CERTSTORE_PKCS12, NULL, 0, &l, err, sizeof err), 0);
	ck_assert_uint_eq(l.n, 3);
	ck_assert(!l.integrity_checked);
	certstore_list_free(&l);
	free(out);
	certstore_certs_free(cas);
}
END_TEST

START_TEST(test_pkcs12_truststore_wrong_password_refused)
{
	STACK_OF(X509) *cas = certs_of("root-ca.pem");
	struct certstore_list l;
	unsigned char *out = NULL;
	size_t out_len = 0;
	char err[256];

	ck_assert_int_eq(
		certstore_build_truststore(CERTSTORE_PKCS12, cas, "changeit", 0, &out, &out_len, err, sizeof err), 0);
	ck_assert_int_eq(certstore_describe(out, out_len, CERTSTORE_PKCS12, "nope", 0, &l, err, sizeof err), -EACCES);
	ck_assert_msg(strstr(err, "integrity check failed"), "%s", err);
	ck_assert_uint_eq(l.n, 0);
	free(out);
	certstore_certs_free(cas);
}
END_TEST

START_TEST(test_pkcs12_truststore_writes_duplicates_once)
{
	STACK_OF(X509) *cas = certs_of_files("root-ca.pem", "root-ca.pem", "root2-ca.pem", NULL);
	struct certstore_list l;
	unsigned char *out = NULL;
	size_t out_len = 0;
	char err[256];

	ck_assert_int_eq(
		certstore_build_truststore(CERTSTORE_PKCS12, cas, "changeit", 0, &out, &out_len, err, sizeof err), 0);
	ck_assert_int_eq(certstore_describe(out, out_len, CERTSTORE_PKCS12, "changeit", 0, &l, err, sizeof err), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_ne(l.v[0].alias, l.v[1].alias);
	certstore_list_free(&l);
	free(out);
	certstore_certs_free(cas);
}
END_TEST

START_TEST(test_truststore_refuses_empty_list_and_missing_password)
{
	STACK_OF(X509) *none = sk_X509_new_null(), *cas = certs_of("root-ca.pem");
	unsigned char *out = NULL;
	size_t out_len = 0;
	char err[256];

	ck_assert_int_eq(certstore_build_truststore(CERTSTORE_PKCS12, none, "pw", 0, &out, &out_len, err, sizeof err),
			 -ENODATA);
	ck_assert_int_eq(certstore_build_truststore(CERTSTORE_JKS, cas, NULL, 0, &out, &out_len, err, sizeof err),
			 -EINVAL);
	ck_assert_int_eq(certstore_build_truststore(CERTSTORE_PKCS12, cas, "", 0, &out, &out_len, err, sizeof err),
			 -EINVAL);
	ck_assert_msg(strstr(err, "needs a password"), "%s", err);
	ck_assert_ptr_null(out);
	certstore_certs_free(none);
	certstore_certs_free(cas);
}
END_TEST

/* ---- JKS truststore --------------------------------------------------------------------------------- */

START_TEST(test_jks_truststore_layout_and_integrity_hash)
{
	STACK_OF(X509) *cas = certs_of_files("root-ca.pem", "root2-ca.pem", NULL);
	static const unsigned char pw_utf16be[] = {0, 'c', 0, 'h', 0, 'a', 0, 'n', 0, 'g', 0, 'e', 0, 'i', 0, 't'};
	unsigned char *out = NULL, md[20];
	unsigned char *der = NULL;
	size_t out_len = 0, off;
	char err[256], alias[CERTSTORE_ALIAS_MAX];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int mdlen = 0;
	int derlen;

	ck_assert_int_eq(
		certstore_build_truststore(CERTSTORE_JKS, cas, "changeit", 1700000000, &out, &out_len, err, sizeof err),
		0);
	ck_assert_uint_eq(be32(out), 0xFEEDFEEDu);
	ck_assert_uint_eq(be32(out + 4), 2);
	ck_assert_uint_eq(be32(out + 8), 2);
	/* First entry: tag 2, alias, creation ms, "X.509", DER. */
	ck_assert_uint_eq(be32(out + 12), 2);
	ck_assert_int_eq(certstore_cert_alias(sk_X509_value(cas, 0), alias, sizeof alias), 0);
	off = 16;
	ck_assert_uint_eq((size_t)out[off] << 8 | out[off + 1], strlen(alias));
	ck_assert_int_eq(memcmp(out + off + 2, alias, strlen(alias)), 0);
	off += 2 + strlen(alias);
	ck_assert_uint_eq(((uint64_t)be32(out + off) << 32 | be32(out + off + 4)), 1700000000000ull);
	off += 8;
	ck_assert_int_eq(memcmp(out + off, "\0\5X.509", 7), 0);
	off += 7;
	derlen = i2d_X509(sk_X509_value(cas, 0), &der);
	ck_assert_uint_eq(be32(out + off), (uint32_t)derlen);
	ck_assert_int_eq(memcmp(out + off + 4, der, (size_t)derlen), 0);
	OPENSSL_free(der);
	/* Trailer: SHA-1(UTF-16BE password || "Mighty Aphrodite" || everything before). */
	ck_assert(EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1);
	EVP_DigestUpdate(ctx, pw_utf16be, sizeof pw_utf16be);
	EVP_DigestUpdate(ctx, "Mighty Aphrodite", 16);
	EVP_DigestUpdate(ctx, out, out_len - 20);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	ck_assert_uint_eq(mdlen, 20);
	ck_assert_int_eq(memcmp(out + out_len - 20, md, 20), 0);
	EVP_MD_CTX_free(ctx);
	free(out);
	certstore_certs_free(cas);
}
END_TEST

START_TEST(test_jks_truststore_reads_back_and_checks_password)
{
	STACK_OF(X509) *cas = certs_of_files("root-ca.pem", "root2-ca.pem", NULL);
	struct certstore_list l;
	unsigned char *out = NULL;
	size_t out_len = 0;
	char err[256];

	ck_assert_int_eq(certstore_build_truststore(CERTSTORE_JKS, cas, "changeit", 0, &out, &out_len, err, sizeof err),
			 0);
	ck_assert_int_eq(certstore_describe(out, out_len, CERTSTORE_JKS, "changeit", 0, &l, err, sizeof err), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert(l.integrity_checked);
	ck_assert_str_eq(l.v[1].entry_type, "trustedCertEntry");
	ck_assert_str_eq(l.v[1].subject, "CN=Second Root CA,O=Test");
	certstore_list_free(&l);
	ck_assert_int_eq(certstore_describe(out, out_len, CERTSTORE_JKS, "changeiT", 0, &l, err, sizeof err), -EACCES);
	ck_assert_msg(strstr(err, "wrong password"), "%s", err);
	ck_assert_int_eq(certstore_describe(out, out_len, CERTSTORE_JKS, NULL, 0, &l, err, sizeof err), 0);
	ck_assert(!l.integrity_checked);
	certstore_list_free(&l);
	free(out);
	certstore_certs_free(cas);
}
END_TEST

START_TEST(test_jks_altered_byte_fails_integrity_check)
{
	STACK_OF(X509) *cas = certs_of("root-ca.pem");
	struct certstore_list l;
	unsigned char *out = NULL;
	size_t out_len = 0;
	char err[256];

	ck_assert_int_eq(certstore_build_truststore(CERTSTORE_JKS, cas, "changeit", 0, &out, &out_len, err, sizeof err),
			 0);
	out[out_len - 100] ^= 0x01; /* inside the certificate's DER signature */
	ck_assert_int_eq(certstore_describe(out, out_len, CERTSTORE_JKS, "changeit", 0, &l, err, sizeof err), -EACCES);
	free(out);
	certstore_certs_free(cas);
}
END_TEST

START_TEST(test_jks_truncated_store_refused)
{
	STACK_OF(X509) *cas = certs_of("root-ca.pem");
	struct certstore_list l;
	unsigned char *out = NULL;
	size_t out_len = 0;
	char err[256];

	ck_assert_int_eq(certstore_build_truststore(CERTSTORE_JKS, cas, "changeit", 0, &out, &out_len, err, sizeof err),
			 0);
	for (size_t cut = 1; cut < out_len; cut += 97) {
		ck_assert_int_eq(certstore_describe(out, cut, CERTSTORE_JKS, "changeit", 0, &l, err, sizeof err),
				 -EBADMSG);
		ck_assert_uint_eq(l.n, 0);
	}
	free(out);
	certstore_certs_free(cas);
}
END_TEST

START_TEST(test_jks_non_ascii_password_round_trips)
{
	STACK_OF(X509) *cas = certs_of("root-ca.pem");
	struct certstore_list l;
	unsigned char *out = NULL;
	size_t out_len = 0;
	char err[256];

	ck_assert_int_eq(certstore_build_truststore(CERTSTORE_JKS, cas, "p\xc3\xa4ss\xf0\x9f\x94\x91", 0, &out,
						    &out_len, err, sizeof err),
			 0);
	ck_assert_int_eq(
		certstore_describe(out, out_len, CERTSTORE_JKS, "p\xc3\xa4ss\xf0\x9f\x94\x91", 0, &l, err, sizeof err),
		0);
	certstore_list_free(&l);
	free(out);
	ck_assert_int_eq(certstore_build_truststore(CERTSTORE_JKS, cas, "bad\xff", 0, &out, &out_len, err, sizeof err),
			 -EINVAL);
	ck_assert_msg(strstr(err, "UTF-8"), "%s", err);
	certstore_certs_free(cas);
}
END_TEST

/* ---- PEM truststore ---------------------------------------------------------------------------------- */

START_TEST(test_pem_truststore_is_the_concatenated_certificates)
{
	STACK_OF(X509) *cas = certs_of_files("root-ca.pem", "root2-ca.pem", NULL), *back = NULL;
	unsigned char *out = NULL;
	size_t out_len = 0, l1, l2;
	char err[256], *a = load("root-ca.pem", &l1), *b = load("root2-ca.pem", &l2);

	ck_assert_int_eq(certstore_build_truststore(CERTSTORE_PEM, cas, NULL, 0, &out, &out_len, err, sizeof err), 0);
	ck_assert_uint_eq(out_len, l1 + l2);
	ck_assert_int_eq(memcmp(out, a, l1), 0);
	ck_assert_int_eq(memcmp(out + l1, b, l2), 0);
	ck_assert_int_eq(certstore_parse_certs(out, out_len, &back, err, sizeof err), 0);
	ck_assert_int_eq(sk_X509_num(back), 2);
	certstore_certs_free(back);
	free(a);
	free(b);
	free(out);
	certstore_certs_free(cas);
}
END_TEST

/* ---- keystores ---------------------------------------------------------------------------------------- */

START_TEST(test_pkcs12_keystore_holds_one_key_entry_with_full_chain)
{
	EVP_PKEY *key = key_of("node.key"), *pkey = NULL;
	STACK_OF(X509) *chain = certs_of("node-chain.pem"), *ca = NULL;
	struct certstore_list l;
	unsigned char *out = NULL;
	const unsigned char *q;
	X509 *cert = NULL;
	size_t out_len = 0;
	PKCS12 *p12;
	char err[256];

	ck_assert_int_eq(certstore_build_keystore(CERTSTORE_PKCS12, key, chain, "changeit", "Node1", &out, &out_len,
						  err, sizeof err),
			 0);
	ck_assert_int_eq(certstore_describe(out, out_len, CERTSTORE_PKCS12, "changeit", 0, &l, err, sizeof err), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert(l.has_private_key);
	ck_assert_str_eq(l.v[0].entry_type, "PrivateKeyEntry");
	ck_assert_str_eq(l.v[0].alias, "node1");
	ck_assert_uint_eq(l.v[0].chain_length, 2);
	ck_assert_str_eq(l.v[1].entry_type, "chainCertificate");
	ck_assert_str_eq(l.v[1].subject, "CN=Test Intermediate CA,O=Test");
	certstore_list_free(&l);
	q = out;
	p12 = d2i_PKCS12(NULL, &q, (long)out_len);
	ck_assert_int_eq(PKCS12_parse(p12, "changeit", &pkey, &cert, &ca), 1);
	ck_assert_int_eq(EVP_PKEY_eq(pkey, key), 1);
	ck_assert_int_eq(X509_cmp(cert, sk_X509_value(chain, 0)), 0);
	ck_assert_int_eq(sk_X509_num(ca), 1);
	/* The key and certificates are encrypted: nothing readable without the password. */
	ck_assert_int_eq(certstore_describe(out, out_len, CERTSTORE_PKCS12, NULL, 0, &l, err, sizeof err), -EACCES);
	PKCS12_free(p12);
	EVP_PKEY_free(pkey);
	X509_free(cert);
	certstore_certs_free(ca);
	certstore_secret_free(out, out_len);
	certstore_certs_free(chain);
	EVP_PKEY_free(key);
}
END_TEST

START_TEST(test_pem_keystore_unencrypted_without_password)
{
	EVP_PKEY *key = key_of("node-rsa.key"), *back = NULL;
	STACK_OF(X509) *chain = certs_of("node-rsa-chain.pem"), *certs = NULL;
	struct certstore_list l;
	unsigned char *out = NULL;
	size_t out_len = 0;
	char err[256];

	ck_assert_int_eq(
		certstore_build_keystore(CERTSTORE_PEM, key, chain, NULL, NULL, &out, &out_len, err, sizeof err), 0);
	ck_assert_int_eq(memcmp(out, "-----BEGIN PRIVATE KEY-----", 27), 0);
	ck_assert_int_eq(certstore_parse_key(out, out_len, NULL, &back, err, sizeof err), 0);
	ck_assert_int_eq(EVP_PKEY_eq(back, key), 1);
	ck_assert_int_eq(certstore_parse_certs(out, out_len, &certs, err, sizeof err), 0);
	ck_assert_int_eq(sk_X509_num(certs), 2);
	ck_assert_int_eq(certstore_describe(out, out_len, CERTSTORE_PEM, NULL, 0, &l, err, sizeof err), 0);
	ck_assert_str_eq(l.v[0].entry_type, "PrivateKeyEntry");
	ck_assert_uint_eq(l.v[0].chain_length, 2);
	certstore_list_free(&l);
	certstore_certs_free(certs);
	EVP_PKEY_free(back);
	certstore_secret_free(out, out_len);
	certstore_certs_free(chain);
	EVP_PKEY_free(key);
}
END_TEST

START_TEST(test_pem_keystore_key_uses_java_readable_pbe)
{
	EVP_PKEY *key = key_of("node.key");
	STACK_OF(X509) *chain = certs_of("node-chain.pem");
	unsigned char *out = NULL, *der = NULL;
	const unsigned char *q;
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *oid = NULL;
	size_t out_len = 0;
	char *name = NULL, *header = NULL, err[256];
	long derlen = 0;
	X509_SIG *sig;
	BIO *bio;

	ck_assert_int_eq(
		certstore_build_keystore(CERTSTORE_PEM, key, chain, "pw", NULL, &out, &out_len, err, sizeof err), 0);
	bio = BIO_new_mem_buf(out, (int)out_len);
	ck_assert_int_eq(PEM_read_bio(bio, &name, &header, &der, &derlen), 1);
	ck_assert_str_eq(name, "ENCRYPTED PRIVATE KEY");
	q = der;
	sig = d2i_X509_SIG(NULL, &q, derlen);
	X509_SIG_get0(sig, &alg, NULL);
	X509_ALGOR_get0(&oid, NULL, NULL, alg);
	/* "PBEWithSHA1AndDESede" in Java: what Cassandra's PEMReader can instantiate on Java 17. */
	ck_assert_int_eq(OBJ_obj2nid(oid), NID_pbe_WithSHA1And3_Key_TripleDES_CBC);
	X509_SIG_free(sig);
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	BIO_free(bio);
	certstore_secret_free(out, out_len);
	certstore_certs_free(chain);
	EVP_PKEY_free(key);
}
END_TEST

START_TEST(test_jks_keystore_is_not_written)
{
	EVP_PKEY *key = key_of("node.key");
	STACK_OF(X509) *chain = certs_of("node-chain.pem");
	unsigned char *out = NULL;
	size_t out_len = 0;
	char err[256];

	ck_assert_int_eq(
		certstore_build_keystore(CERTSTORE_JKS, key, chain, "pw", NULL, &out, &out_len, err, sizeof err),
		-ENOTSUP);
	ck_assert_int_eq(
		certstore_build_keystore(CERTSTORE_PKCS12, key, chain, NULL, NULL, &out, &out_len, err, sizeof err),
		-EINVAL);
	ck_assert_ptr_null(out);
	certstore_certs_free(chain);
	EVP_PKEY_free(key);
}
END_TEST

/* ---- describe / expiry ---------------------------------------------------------------------------------- */

START_TEST(test_describe_pem_reports_expiry_of_every_certificate)
{
	size_t len;
	char *buf = load("expired-node-chain.pem", &len), err[256];
	struct certstore_list l;
	time_t now = 1800000000; /* 2027-01-15T08:00:00Z */

	ck_assert_int_eq(certstore_describe(buf, len, CERTSTORE_PEM, NULL, now, &l, err, sizeof err), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.v[0].entry_type, "trustedCertEntry");
	ck_assert_str_eq(l.v[0].subject, "CN=node1.example.com");
	ck_assert_str_eq(l.v[0].issuer, "CN=Test Intermediate CA,O=Test");
	ck_assert_int_eq(l.v[0].not_before, 1577836800);
	ck_assert_int_eq(l.v[0].not_after, 1609459200);
	ck_assert_int_eq(l.v[0].days_left, -((1800000000 - 1609459200 + 86399) / 86400));
	/* make_node_certs.sh's `openssl ca` numbers from 0x1000: expired-ca, future-ca, expired-node. */
	ck_assert_str_eq(l.v[0].serial, "1002");
	ck_assert_int_gt(l.v[1].days_left, 0);
	certstore_list_free(&l);
	free(buf);
}
END_TEST

START_TEST(test_describe_refuses_garbage_stores)
{
	size_t len;
	char *buf = load("garbage.pem", &len), err[256];
	struct certstore_list l;

	ck_assert_int_eq(certstore_describe(buf, len, CERTSTORE_PKCS12, "pw", 0, &l, err, sizeof err), -EBADMSG);
	ck_assert_msg(strstr(err, "not a PKCS#12"), "%s", err);
	ck_assert_int_eq(certstore_describe(buf, len, CERTSTORE_JKS, "pw", 0, &l, err, sizeof err), -EBADMSG);
	ck_assert_msg(strstr(err, "not a JKS"), "%s", err);
	ck_assert_int_eq(certstore_describe(buf, len, CERTSTORE_PEM, NULL, 0, &l, err, sizeof err), -EBADMSG);
	ck_assert_int_eq(certstore_describe(buf, 0, CERTSTORE_PEM, NULL, 0, &l, err, sizeof err), -ENODATA);
	ck_assert_int_eq(certstore_describe(buf, CERTSTORE_INPUT_MAX + 1, CERTSTORE_PEM, NULL, 0, &l, err, sizeof err),
			 -EFBIG);
	free(buf);
}
END_TEST

START_TEST(test_type_names_and_detection)
{
	STACK_OF(X509) *cas = certs_of("root-ca.pem");
	enum certstore_type t;
	unsigned char *out = NULL;
	size_t out_len = 0, len;
	char err[256], *pem = load("root-ca.pem", &len);

	ck_assert_int_eq(certstore_type_from_name("PKCS12", &t), 0);
	ck_assert_int_eq(t, CERTSTORE_PKCS12);
	ck_assert_int_eq(certstore_type_from_name("jks", &t), 0);
	ck_assert_str_eq(certstore_type_name(t), "jks");
	ck_assert_int_eq(certstore_type_from_name("der", &t), -EINVAL);
	ck_assert_int_eq(certstore_type_detect(pem, len, &t), 0);
	ck_assert_int_eq(t, CERTSTORE_PEM);
	ck_assert_int_eq(certstore_build_truststore(CERTSTORE_JKS, cas, "pw", 0, &out, &out_len, err, sizeof err), 0);
	ck_assert_int_eq(certstore_type_detect(out, out_len, &t), 0);
	ck_assert_int_eq(t, CERTSTORE_JKS);
	free(out);
	ck_assert_int_eq(certstore_build_truststore(CERTSTORE_PKCS12, cas, "pw", 0, &out, &out_len, err, sizeof err),
			 0);
	ck_assert_int_eq(certstore_type_detect(out, out_len, &t), 0);
	ck_assert_int_eq(t, CERTSTORE_PKCS12);
	free(out);
	ck_assert_int_eq(certstore_type_detect("hello", 5, &t), -EBADMSG);
	free(pem);
	certstore_certs_free(cas);
}
END_TEST

/* ---- runner ------------------------------------------------------------------------------------------- */

static Suite *certstore_suite(void)
{
	Suite *s = suite_create("certstore");
	TCase *parse = tcase_create("parse"), *validate = tcase_create("validate"), *build = tcase_create("build"),
	      *describe = tcase_create("describe");

	tcase_add_test(parse, test_parse_bundle_reads_every_certificate_in_order);
	tcase_add_test(parse, test_parse_skips_text_between_blocks_and_key_blocks);
	tcase_add_test(parse, test_parse_refuses_garbage_saying_no_pem_found);
	tcase_add_test(parse, test_parse_refuses_der_naming_der);
	tcase_add_test(parse, test_parse_refuses_binary_blob);
	tcase_add_test(parse, test_parse_refuses_5_mib_blob_before_parsing);
	tcase_add_test(parse, test_parse_refuses_empty_input);
	tcase_add_test(parse, test_parse_refuses_key_file_naming_its_label);
	tcase_add_test(parse, test_parse_refuses_corrupt_base64);
	tcase_add_test(parse, test_parse_refuses_certificate_block_holding_other_asn1);
	tcase_add_test(parse, test_parse_key_pkcs8_ec);
	tcase_add_test(parse, test_parse_key_traditional_rsa);
	tcase_add_test(parse, test_parse_key_encrypted_needs_the_right_password);
	tcase_add_test(parse, test_parse_key_refuses_two_keys);
	tcase_add_test(parse, test_parse_key_refuses_certificate_file);
	suite_add_tcase(s, parse);

	tcase_add_test(validate, test_validate_cas_accepts_roots_and_intermediate);
	tcase_add_test(validate, test_validate_cas_refuses_empty_list);
	tcase_add_test(validate, test_validate_cas_refuses_expired);
	tcase_add_test(validate, test_validate_cas_refuses_not_yet_valid);
	tcase_add_test(validate, test_validate_cas_refuses_rsa_1024);
	tcase_add_test(validate, test_validate_cas_accepts_expired_ca_at_an_earlier_time);
	tcase_add_test(validate, test_validate_cas_warns_on_non_ca_and_duplicate);
	tcase_add_test(validate, test_validate_cas_warns_when_expiring_within_30_days);
	tcase_add_test(validate, test_identity_valid_chain_with_matching_san_has_no_warnings);
	tcase_add_test(validate, test_identity_refuses_key_not_matching);
	tcase_add_test(validate, test_identity_refuses_chain_to_unknown_ca);
	tcase_add_test(validate, test_identity_refuses_chain_missing_its_intermediate);
	tcase_add_test(validate, test_identity_intermediate_in_trust_set_anchors_the_chain);
	tcase_add_test(validate, test_identity_refuses_expired_node_certificate);
	tcase_add_test(validate, test_identity_refuses_not_yet_valid_node_certificate);
	tcase_add_test(validate, test_identity_refuses_rsa_1024_key);
	tcase_add_test(validate, test_identity_san_mismatch_warns_by_default);
	tcase_add_test(validate, test_identity_san_mismatch_refused_when_required);
	tcase_add_test(validate, test_identity_san_matches_hostname_not_subject_cn_alone);
	tcase_add_test(validate, test_identity_without_trust_set_warns_chain_unverified);
	suite_add_tcase(s, validate);

	tcase_add_test(build, test_alias_is_lowercase_cn_and_fingerprint_prefix);
	tcase_add_test(build, test_pkcs12_truststore_bags_carry_java_trust_attribute);
	tcase_add_test(build, test_pkcs12_truststore_reads_back_as_trusted_entries);
	tcase_add_test(build, test_pkcs12_truststore_wrong_password_refused);
	tcase_add_test(build, test_pkcs12_truststore_writes_duplicates_once);
	tcase_add_test(build, test_truststore_refuses_empty_list_and_missing_password);
	tcase_add_test(build, test_jks_truststore_layout_and_integrity_hash);
	tcase_add_test(build, test_jks_truststore_reads_back_and_checks_password);
	tcase_add_test(build, test_jks_altered_byte_fails_integrity_check);
	tcase_add_test(build, test_jks_truncated_store_refused);
	tcase_add_test(build, test_jks_non_ascii_password_round_trips);
	tcase_add_test(build, test_pem_truststore_is_the_concatenated_certificates);
	tcase_add_test(build, test_pkcs12_keystore_holds_one_key_entry_with_full_chain);
	tcase_add_test(build, test_pem_keystore_unencrypted_without_password);
	tcase_add_test(build, test_pem_keystore_key_uses_java_readable_pbe);
	tcase_add_test(build, test_jks_keystore_is_not_written);
	suite_add_tcase(s, build);

	tcase_add_test(describe, test_describe_pem_reports_expiry_of_every_certificate);
	tcase_add_test(describe, test_describe_refuses_garbage_stores);
	tcase_add_test(describe, test_type_names_and_detection);
	suite_add_tcase(s, describe);
	return s;
}

/* Runs tests/certs/make_node_certs.sh into a fresh temporary directory. */
static int make_certs(void)
{
	const char *root = getenv("PROJECT_ROOT");
	char script[PATH_MAX], cmd[2 * PATH_MAX + 64];
	char *dir;

	if (root && *root) {
		snprintf(script, sizeof script, "%s/tests/certs/make_node_certs.sh", root);
	} else {
		/* __FILE__ is .../tests/unit/test_certstore.c */
		snprintf(script, sizeof script, "%s", __FILE__);
		dir = strstr(script, "unit/test_certstore.c");
		if (!dir)
			return -1;
		snprintf(dir, sizeof script - (size_t)(dir - script), "certs/make_node_certs.sh");
	}
	snprintf(certdir, sizeof certdir, "%s/test_certstore.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(certdir))
		return -1;
	snprintf(cmd, sizeof cmd, "sh '%s' '%s'", script, certdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	char cmd[PATH_MAX + 32];
	int rc;

	if (make_certs() < 0) {
		fprintf(stderr, "test_certstore: cannot make the test certificates in %s\n", certdir);
		return 1;
	}
	rc = check_run_forked(certstore_suite(), CK_NORMAL);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", certdir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_certstore: cannot remove %s\n", certdir);
	return rc;
}
