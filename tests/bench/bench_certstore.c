/* bench_certstore: time to build a PKCS#12 truststore from 200 CA certificates (median of 20 runs, ms; target <= 50 ms).
 * Usage: bench_certstore [CERTS [RUNS]]. Exits 1 when the PKCS#12 median exceeds the target. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certstore.h"

#define TARGET_MS 50.0

/* A self-signed EC P-256 CA certificate "CN=Bench CA <n>", valid for ten years. */
static X509 *make_ca(int n)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	char cn[64];
	int ok;

	snprintf(cn, sizeof cn, "Bench CA %d", n);
	ok = key && x && name && bc && X509_set_version(x, X509_VERSION_3) &&
	     ASN1_INTEGER_set(X509_get_serialNumber(x), 1000 + n) &&
	     X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Bench", -1, -1, 0) &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) &&
	     X509_set_subject_name(x, name) && X509_set_issuer_name(x, name) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -3600) && X509_gmtime_adj(X509_getm_notAfter(x), 3650L * 86400) &&
	     X509_set_pubkey(x, key);
	if (ok) {
		bc->ca = 1;
		ok = X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, 0) == 1 && X509_sign(x, key, EVP_sha256()) > 0;
	}
	BASIC_CONSTRAINTS_free(bc);
	X509_NAME_free(name);
	EVP_PKEY_free(key);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median build time in ms of `runs` builds of `type`; < 0 on failure. */
static double bench(enum certstore_type type, STACK_OF(X509) *cas, int runs, size_t *bytes)
{
	double *t = calloc((size_t)runs, sizeof *t), median;
	char err[256];

	if (!t)
		return -1;
	for (int i = 0; i < runs; i++) {
		unsigned char *out = NULL;
		size_t len = 0;
		double t0 = now_ms();
		int rc = certstore_build_truststore(type, cas, "changeit", 0, &out, &len, err, sizeof err);

		t[i] = now_ms() - t0;
		free(out);
		if (rc < 0) {
			fprintf(stderr, "bench_certstore: %s build failed: %s\n", certstore_type_name(type), err);
			free(t);
			return -1;
		}
		*bytes = len;
	}
	qsort(t, (size_t)runs, sizeof *t, cmp_double);
	median = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
	free(t);
	return median;
}

int main(int argc, char **argv)
{
	int ncerts = argc > 1 ? atoi(argv[1]) : 200, runs = argc > 2 ? atoi(argv[2]) : 20;
	STACK_OF(X509) *cas = sk_X509_new_null();
	struct certstore_warnings w = { 0 };
	static const enum certstore_type types[] = { CERTSTORE_PKCS12, CERTSTORE_JKS, CERTSTORE_PEM };
	double p12 = -1, t0, validate_ms;
	char err[256];

	if (ncerts <= 0 || runs <= 0 || !cas) {
		fprintf(stderr, "usage: bench_certstore [CERTS [RUNS]]\n");
		return 2;
	}
	for (int i = 0; i < ncerts; i++) {
		X509 *x = make_ca(i);

		if (!x || !sk_X509_push(cas, x)) {
			fprintf(stderr, "bench_certstore: cannot make CA certificate %d\n", i);
			return 1;
		}
	}
	t0 = now_ms();
	if (certstore_validate_cas(cas, NULL, &w, err, sizeof err) < 0) {
		fprintf(stderr, "bench_certstore: validation failed: %s\n", err);
		return 1;
	}
	validate_ms = now_ms() - t0;
	certstore_warnings_free(&w);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		size_t bytes = 0;
		double m = bench(types[i], cas, runs, &bytes);

		if (m < 0)
			return 1;
		if (types[i] == CERTSTORE_PKCS12)
			p12 = m;
		printf("%-6s truststore, %d CA certificates: median %.2f ms over %d runs (%zu bytes)\n",
		       certstore_type_name(types[i]), ncerts, m, runs, bytes);
	}
	printf("validate_cas, %d CA certificates: %.2f ms (once)\n", ncerts, validate_ms);
	printf("pkcs12 target <= %.0f ms: %s\n", TARGET_MS, p12 <= TARGET_MS ? "met" : "MISSED");
	certstore_certs_free(cas);
	return p12 <= TARGET_MS ? 0 : 1;
}
