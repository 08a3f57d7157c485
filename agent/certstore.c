/* certstore: PEM parsing, validation, and in-memory building and reading of the trust and key stores Cassandra's JVM
 * reads (PKCS#12, JKS, PEM). */
#include "certstore.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509v3.h>

#define JKS_MAGIC            0xFEEDFEEDu
#define JKS_VERSION_1        1u
#define JKS_VERSION_2        2u
#define JKS_TAG_PRIVATE_KEY  1u
#define JKS_TAG_TRUSTED_CERT 2u
#define JKS_DIGEST_LEN       20 /* SHA-1 */
/* The "salt" of JavaKeyStore.getPreKeyedHash: the UTF-8 bytes of this title. */
static const char jks_whitener[] = "Mighty Aphrodite";

#define EXPIRY_WARN_DAYS_DEFAULT 30
#define CHAIN_MAX                16

/* ---- small helpers ---------------------------------------------------------------------- */

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* The reason of OpenSSL's most recent error into `buf` (or `fallback`); clears the queue. */
static const char *ossl_reason(char *buf, size_t len, const char *fallback)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	snprintf(buf, len, "%s", r ? r : fallback);
	ERR_clear_error();
	return buf;
}

static time_t now_or(time_t t)
{
	return t ? t : time(NULL);
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%lld", (long long)t);
}

static int asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return -EBADMSG;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static int64_t days_between(int64_t from, int64_t to)
{
	int64_t d = to - from;

	return d >= 0 ? d / 86400 : -((-d + 86399) / 86400);
}

/* RFC 2253 string of a name (UTF-8 kept as is); malloc'd, NULL on OOM. */
static char *name_string(const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL, *s = NULL;
	long n;

	if (!bio)
		return NULL;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		n = BIO_get_mem_data(bio, &data);
		s = malloc((size_t)(n > 0 ? n : 0) + 1);
		if (s) {
			if (n > 0)
				memcpy(s, data, (size_t)n);
			s[n > 0 ? n : 0] = '\0';
		}
	}
	BIO_free(bio);
	return s;
}

/* "CN=...,O=..." of a certificate's subject into `buf` for messages. */
static const char *subject_label(X509 *c, char *buf, size_t len)
{
	char *s = name_string(X509_get_subject_name(c));

	snprintf(buf, len, "%s", s && *s ? s : "empty subject");
	free(s);
	return buf;
}

static int sha256_of(X509 *c, unsigned char md[32])
{
	unsigned int n = 0;

	return X509_digest(c, EVP_sha256(), md, &n) == 1 && n == 32 ? 0 : -ENOMEM;
}

static int warn(struct certstore_warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int warn(struct certstore_warnings *w, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL, **v;
	int n;

	if (!w)
		return 0;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	v = realloc(w->v, (w->n + 1) * sizeof *v);
	if (!v) {
		free(s);
		return -ENOMEM;
	}
	w->v = v;
	w->v[w->n++] = s;
	return 0;
}

void certstore_warnings_free(struct certstore_warnings *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	w->v = NULL;
	w->n = 0;
}

/* ---- types ------------------------------------------------------------------------------ */

int certstore_type_from_name(const char *name, enum certstore_type *out)
{
	if (!name || !out)
		return -EINVAL;
	if (!strcasecmp(name, "pkcs12") || !strcasecmp(name, "p12"))
		*out = CERTSTORE_PKCS12;
	else if (!strcasecmp(name, "pem"))
		*out = CERTSTORE_PEM;
	else if (!strcasecmp(name, "jks"))
		*out = CERTSTORE_JKS;
	else
		return -EINVAL;
	return 0;
}

const char *certstore_type_name(enum certstore_type type)
{
	switch (type) {
	case CERTSTORE_PKCS12: return "pkcs12";
	case CERTSTORE_PEM: return "pem";
	case CERTSTORE_JKS: return "jks";
	}
	return "?";
}

static bool looks_like_pem(const unsigned char *p, size_t len)
{
	return memmem(p, len, "-----BEGIN ", 11) != NULL;
}

int certstore_type_detect(const void *buf, size_t len, enum certstore_type *out)
{
	const unsigned char *p = buf;

	if (!buf || !out)
		return -EINVAL;
	if (len >= 4 && ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]) == JKS_MAGIC)
		*out = CERTSTORE_JKS;
	else if (looks_like_pem(p, len))
		*out = CERTSTORE_PEM;
	else if (len >= 2 && p[0] == 0x30)
		*out = CERTSTORE_PKCS12;
	else
		return -EBADMSG;
	return 0;
}

/* ---- PEM reading -------------------------------------------------------------------------- */

/* Says what a buffer without any PEM block is, for "expected PEM" errors. Returns -ENODATA
 * for empty/blank input, else -EBADMSG. */
static int describe_non_pem(const unsigned char *p, size_t len, char *out, size_t outlen)
{
	size_t i, binary = 0, shown = 0;
	char start[40];

	if (!out)
		outlen = 0;

	for (i = 0; i < len && isspace(p[i]); i++)
		;
	if (i == len) {
		snprintf(out, outlen, "empty input (no certificate)");
		return -ENODATA;
	}
	if (len >= 4 && ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]) == JKS_MAGIC) {
		snprintf(out, outlen, "found a JKS keystore, expected PEM text");
		return -EBADMSG;
	}
	if (p[0] == 0x30 && len >= 2) {
		const unsigned char *q = p;
		X509 *x = d2i_X509(NULL, &q, (long)len);
		PKCS12 *p12;

		if (x) {
			X509_free(x);
			snprintf(out, outlen,
				 "found a DER-encoded (binary) X.509 certificate, expected PEM; convert it with "
				 "'openssl x509 -inform DER -outform PEM'");
			return -EBADMSG;
		}
		q = p;
		p12 = d2i_PKCS12(NULL, &q, (long)len);
		if (p12) {
			PKCS12_free(p12);
			snprintf(out, outlen, "found a PKCS#12 (DER) store, expected PEM text");
			return -EBADMSG;
		}
		ERR_clear_error();
		snprintf(out, outlen, "found DER-encoded (binary) ASN.1 data, expected PEM text");
		return -EBADMSG;
	}
	for (i = 0; i < len && i < 512; i++)
		if (p[i] == 0 || (p[i] < 0x20 && !isspace(p[i])))
			binary++;
	if (binary) {
		snprintf(out, outlen, "found binary data, expected PEM text");
		return -EBADMSG;
	}
	for (i = 0; i < len && shown + 1 < sizeof start; i++) {
		if (p[i] == '\n' || p[i] == '\r') {
			if (shown && start[shown - 1] != ' ')
				start[shown++] = ' ';
			continue;
		}
		start[shown++] = isprint(p[i]) ? (char)p[i] : '?';
	}
	while (shown && start[shown - 1] == ' ')
		shown--;
	start[shown] = '\0';
	snprintf(out, outlen, "found text with no PEM '-----BEGIN' line (starts \"%s%s\"), expected PEM", start,
		 len > shown ? "..." : "");
	return -EBADMSG;
}

struct pem_block {
	char *name;
	char *header;
	unsigned char *data;
	long len;
};

static void pem_block_free(struct pem_block *b)
{
	if (b->data && strstr(b->name ? b->name : "", "PRIVATE KEY"))
		OPENSSL_cleanse(b->data, (size_t)b->len);
	OPENSSL_free(b->name);
	OPENSSL_free(b->header);
	OPENSSL_free(b->data);
	memset(b, 0, sizeof *b);
}

/* Reads the next PEM block. Returns 1 with `b` filled, 0 at the end, or -EBADMSG. */
static int pem_next(BIO *bio, unsigned nblock, struct pem_block *b, char *err, size_t errlen)
{
	unsigned long e;
	char r[160];

	memset(b, 0, sizeof *b);
	ERR_clear_error();
	if (PEM_read_bio(bio, &b->name, &b->header, &b->data, &b->len) == 1)
		return 1;
	e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
		ERR_clear_error();
		return 0;
	}
	return fail(err, errlen, -EBADMSG, "PEM block %u is malformed: %s", nblock + 1,
		    ossl_reason(r, sizeof r, "unreadable"));
}

static bool is_cert_label(const char *n)
{
	return !strcmp(n, "CERTIFICATE") || !strcmp(n, "X509 CERTIFICATE") || !strcmp(n, "TRUSTED CERTIFICATE");
}

/* Appends a label to a short ", "-separated list of distinct labels seen. */
static void note_label(char *labels, size_t len, const char *name)
{
	size_t used = strlen(labels);

	if (strstr(labels, name) || used + strlen(name) + 3 >= len)
		return;
	snprintf(labels + used, len - used, "%s%s", used ? ", " : "", name);
}

/* Scans PEM text: every certificate into *certs (new stack), counts private key blocks.
 * Returns 0 with at least one block read, or an error (see certstore_parse_certs). */
static int pem_scan(const void *buf, size_t len, STACK_OF(X509) * *certs, unsigned *nkeys, char *labels,
		    size_t labelslen, char *err, size_t errlen)
{
	BIO *bio = NULL;
	struct pem_block b = {0};
	unsigned nblock = 0;
	char r[160];
	int rc;

	*certs = NULL;
	*nkeys = 0;
	labels[0] = '\0';
	if (!buf && len)
		return fail(err, errlen, -EINVAL, "no input buffer");
	if (len > CERTSTORE_INPUT_MAX)
		return fail(err, errlen, -EFBIG, "input is %zu bytes, more than the %d-byte (1 MiB) limit", len,
			    CERTSTORE_INPUT_MAX);
	if (len == 0)
		return fail(err, errlen, -ENODATA, "empty input (no certificate)");
	if (!looks_like_pem(buf, len)) {
		rc = describe_non_pem(buf, len, err, errlen);
		return rc;
	}
	bio = BIO_new_mem_buf(buf, (int)len);
	*certs = sk_X509_new_null();
	if (!bio || !*certs) {
		rc = fail(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	while ((rc = pem_next(bio, nblock, &b, err, errlen)) == 1) {
		if (is_cert_label(b.name)) {
			const unsigned char *q = b.data;
			X509 *x = !strcmp(b.name, "TRUSTED CERTIFICATE") ? d2i_X509_AUX(NULL, &q, b.len)
									 : d2i_X509(NULL, &q, b.len);

			if (!x) {
				rc = fail(err, errlen, -EBADMSG,
					  "PEM block %u (%s) is not a valid X.509 certificate: %s", nblock + 1, b.name,
					  ossl_reason(r, sizeof r, "bad ASN.1"));
				goto fail;
			}
			if (!sk_X509_push(*certs, x)) {
				X509_free(x);
				rc = fail(err, errlen, -ENOMEM, "out of memory");
				goto fail;
			}
		} else {
			if (strstr(b.name, "PRIVATE KEY"))
				(*nkeys)++;
			note_label(labels, labelslen, b.name);
		}
		pem_block_free(&b);
		nblock++;
	}
	if (rc < 0)
		goto fail;
	if (nblock == 0) {
		rc = fail(err, errlen, -EBADMSG, "found a '-----BEGIN' line but no complete PEM block");
		goto fail;
	}
	BIO_free(bio);
	return 0;
fail:
	pem_block_free(&b);
	BIO_free(bio);
	certstore_certs_free(*certs);
	*certs = NULL;
	return rc;
}

int certstore_parse_certs(const void *buf, size_t len, STACK_OF(X509) * *out, char *err, size_t errlen)
{
	STACK_OF(X509) *certs = NULL;
	unsigned nkeys;
	char labels[160];
	int rc;

	if (!out)
		return fail(err, errlen, -EINVAL, "no output");
	*out = NULL;
	rc = pem_scan(buf, len, &certs, &nkeys, labels, sizeof labels, err, errlen);
	if (rc < 0)
		return rc;
	if (sk_X509_num(certs) == 0) {
		certstore_certs_free(certs);
		return fail(err, errlen, -ENODATA, "no CERTIFICATE PEM block found (found: %s)", labels);
	}
	*out = certs;
	return 0;
}

void certstore_certs_free(STACK_OF(X509) * certs)
{
	sk_X509_pop_free(certs, X509_free);
}

static int pem_pass_cb(char *buf, int size, int rwflag, void *u)
{
	size_t n = strlen(u);

	(void)rwflag;
	if (n > (size_t)size)
		return -1;
	memcpy(buf, u, n); // NOLINT(bugprone-not-null-terminated-result): OpenSSL takes the length returned, no NUL
	return (int)n;
}

/* Decodes one key block into *out. */
static int decode_key_block(struct pem_block *b, const char *password, EVP_PKEY **out, char *err, size_t errlen)
{
	const unsigned char *q = b->data;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	char r[160];

	if (!strcmp(b->name, "PRIVATE KEY")) {
		p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &q, b->len);
	} else if (!strcmp(b->name, "ENCRYPTED PRIVATE KEY")) {
		X509_SIG *sig;

		if (!password || !*password)
			return fail(err, errlen, -EACCES,
				    "the private key is encrypted (ENCRYPTED PRIVATE KEY): its "
				    "password is needed");
		sig = d2i_X509_SIG(NULL, &q, b->len);
		if (!sig)
			return fail(err, errlen, -EBADMSG, "the ENCRYPTED PRIVATE KEY block is malformed: %s",
				    ossl_reason(r, sizeof r, "bad ASN.1"));
		p8 = PKCS8_decrypt(sig, password, (int)strlen(password));
		X509_SIG_free(sig);
		if (!p8)
			return fail(err, errlen, -EACCES, "cannot decrypt the private key: wrong password (%s)",
				    ossl_reason(r, sizeof r, "decryption failed"));
	} else {
		int type = !strcmp(b->name, "RSA PRIVATE KEY")   ? EVP_PKEY_RSA
			   : !strcmp(b->name, "EC PRIVATE KEY")  ? EVP_PKEY_EC
			   : !strcmp(b->name, "DSA PRIVATE KEY") ? EVP_PKEY_DSA
								 : EVP_PKEY_NONE;

		if (type == EVP_PKEY_NONE)
			return fail(err, errlen, -EBADMSG, "unsupported private key block '%s'", b->name);
		if (b->header && strstr(b->header, "ENCRYPTED")) {
			EVP_CIPHER_INFO ci;

			if (!password || !*password)
				return fail(err, errlen, -EACCES,
					    "the private key is encrypted (%s with Proc-Type "
					    "ENCRYPTED): its password is needed",
					    b->name);
			if (!PEM_get_EVP_CIPHER_INFO(b->header, &ci))
				return fail(err, errlen, -EBADMSG, "bad DEK-Info header on the %s block: %s", b->name,
					    ossl_reason(r, sizeof r, "unknown cipher"));
			if (!PEM_do_header(&ci, b->data, &b->len, pem_pass_cb, (void *)password))
				return fail(err, errlen, -EACCES, "cannot decrypt the private key: wrong password (%s)",
					    ossl_reason(r, sizeof r, "decryption failed"));
			q = b->data;
		}
		*out = d2i_PrivateKey(type, NULL, &q, b->len);
		if (!*out)
			return fail(err, errlen, -EBADMSG, "the %s block is not a valid key: %s", b->name,
				    ossl_reason(r, sizeof r, "bad ASN.1"));
		return 0;
	}
	if (!p8)
		return fail(err, errlen, -EBADMSG, "the %s block is not a valid PKCS#8 key: %s", b->name,
			    ossl_reason(r, sizeof r, "bad ASN.1"));
	*out = EVP_PKCS82PKEY(p8);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (!*out)
		return fail(err, errlen, -EBADMSG, "the %s block holds an unsupported key: %s", b->name,
			    ossl_reason(r, sizeof r, "unknown algorithm"));
	return 0;
}

int certstore_parse_key(const void *buf, size_t len, const char *password, EVP_PKEY **out, char *err, size_t errlen)
{
	BIO *bio = NULL;
	struct pem_block b = {0};
	EVP_PKEY *key = NULL;
	unsigned nblock = 0, nkeys = 0;
	char labels[160] = "";
	int rc;

	if (!out)
		return fail(err, errlen, -EINVAL, "no output");
	*out = NULL;
	if (!buf && len)
		return fail(err, errlen, -EINVAL, "no input buffer");
	if (len > CERTSTORE_INPUT_MAX)
		return fail(err, errlen, -EFBIG, "input is %zu bytes, more than the %d-byte (1 MiB) limit", len,
			    CERTSTORE_INPUT_MAX);
	if (len == 0)
		return fail(err, errlen, -ENODATA, "empty input (no private key)");
	if (!looks_like_pem(buf, len)) {
		rc = describe_non_pem(buf, len, err, errlen);
		if (rc == -ENODATA)
			return fail(err, errlen, -ENODATA, "empty input (no private key)");
		return rc;
	}
	bio = BIO_new_mem_buf(buf, (int)len);
	if (!bio)
		return fail(err, errlen, -ENOMEM, "out of memory");
	while ((rc = pem_next(bio, nblock, &b, err, errlen)) == 1) {
		nblock++;
		if (strstr(b.name, "PRIVATE KEY")) {
			if (++nkeys > 1) {
				rc = fail(err, errlen, -EINVAL, "more than one private key found, expected one");
				goto fail;
			}
			rc = decode_key_block(&b, password, &key, err, errlen);
			if (rc < 0)
				goto fail;
		} else {
			note_label(labels, sizeof labels, b.name);
		}
		pem_block_free(&b);
	}
	if (rc < 0)
		goto fail;
	if (!key) {
		rc = fail(err, errlen, -ENODATA, "no private key PEM block found (found: %s)",
			  nblock ? labels : "no complete PEM block");
		goto fail;
	}
	BIO_free(bio);
	*out = key;
	return 0;
fail:
	pem_block_free(&b);
	BIO_free(bio);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return rc;
}

/* ---- validation ----------------------------------------------------------------------------- */

/* RSA >= 2048, EC on P-256/P-384/P-521, Ed25519/Ed448. `what` names the key in messages. */
static int key_strength(EVP_PKEY *k, const char *what, char *err, size_t errlen)
{
	int id, bits;
	char group[64];

	if (!k)
		return fail(err, errlen, -EKEYREJECTED, "%s: no public key", what);
	id = EVP_PKEY_get_base_id(k);
	bits = EVP_PKEY_get_bits(k);
	switch (id) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		if (bits < 2048)
			return fail(err, errlen, -EKEYREJECTED,
				    "%s: RSA %d-bit key is too weak (at least 2048 bits required)", what, bits);
		return 0;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, NULL) != 1) {
			ERR_clear_error();
			return fail(err, errlen, -EKEYREJECTED,
				    "%s: EC key with explicit or unknown curve parameters "
				    "(P-256, P-384 or P-521 required)",
				    what);
		}
		if (strcmp(group, "prime256v1") && strcmp(group, "secp384r1") && strcmp(group, "secp521r1"))
			return fail(err, errlen, -EKEYREJECTED,
				    "%s: EC key on curve %s is not accepted (P-256, P-384 or P-521 required)", what,
				    group);
		return 0;
	case EVP_PKEY_ED25519:
	case EVP_PKEY_ED448: return 0;
	default:
		return fail(err, errlen, -EKEYREJECTED,
			    "%s: %s keys are not accepted (RSA >= 2048 bits or EC P-256/P-384/P-521 required)", what,
			    EVP_PKEY_get0_type_name(k) ? EVP_PKEY_get0_type_name(k) : "unknown");
	}
}

static int cert_times(X509 *c, int64_t *nb, int64_t *na)
{
	if (asn1_time_unix(X509_get0_notBefore(c), nb) < 0 || asn1_time_unix(X509_get0_notAfter(c), na) < 0)
		return -EBADMSG;
	return 0;
}

static int check_validity(X509 *c, const char *what, time_t now, char *err, size_t errlen)
{
	int64_t nb, na;
	char t[40];

	if (cert_times(c, &nb, &na) < 0)
		return fail(err, errlen, -EBADMSG, "%s: unreadable validity dates", what);
	if ((int64_t)now < nb) {
		fmt_time(nb, t, sizeof t);
		return fail(err, errlen, -EKEYEXPIRED, "%s is not valid yet: valid from %s", what, t);
	}
	if ((int64_t)now > na) {
		fmt_time(na, t, sizeof t);
		return fail(err, errlen, -EKEYEXPIRED, "%s expired on %s (%lld days ago)", what, t,
			    (long long)-days_between((int64_t)now, na));
	}
	return 0;
}

static int warn_expiry(X509 *c, const char *what, time_t now, int days, struct certstore_warnings *w)
{
	int64_t nb, na, left;
	char t[40];

	if (cert_times(c, &nb, &na) < 0)
		return 0;
	left = days_between((int64_t)now, na);
	if (left >= days)
		return 0;
	fmt_time(na, t, sizeof t);
	return warn(w, "%s expires in %lld days (%s)", what, (long long)left, t);
}

int certstore_validate_cas(STACK_OF(X509) * cas, const struct certstore_policy *policy,
			   struct certstore_warnings *warnings, char *err, size_t errlen)
{
	time_t now = now_or(policy ? policy->now : 0);
	int days = policy && policy->expiry_warn_days > 0 ? policy->expiry_warn_days : EXPIRY_WARN_DAYS_DEFAULT;
	int n = cas ? sk_X509_num(cas) : 0;
	unsigned char(*md)[32] = NULL;
	char what[400], subj[340];
	int rc = 0;

	if (n <= 0)
		return fail(err, errlen, -ENODATA, "no CA certificate given: the trust set would be empty");
	md = calloc((size_t)n, sizeof *md);
	if (!md)
		return fail(err, errlen, -ENOMEM, "out of memory");
	for (int i = 0; i < n; i++) {
		X509 *c = sk_X509_value(cas, i);

		snprintf(what, sizeof what, "CA certificate %d (%s)", i + 1, subject_label(c, subj, sizeof subj));
		rc = check_validity(c, what, now, err, errlen);
		if (rc < 0)
			goto fail;
		rc = key_strength(X509_get0_pubkey(c), what, err, errlen);
		if (rc < 0)
			goto fail;
		if (sha256_of(c, md[i]) < 0) {
			rc = fail(err, errlen, -ENOMEM, "%s: cannot compute its SHA-256", what);
			goto fail;
		}
		for (int j = 0; j < i; j++)
			if (!memcmp(md[i], md[j], 32)) {
				if (warn(warnings, "%s is a duplicate of certificate %d and is written once", what,
					 j + 1) < 0)
					goto fail_oom;
				break;
			}
		if (X509_check_ca(c) == 0 &&
		    warn(warnings,
			 "%s is not a CA certificate (no basicConstraints CA:TRUE): it will only trust itself",
			 what) < 0)
			goto fail_oom;
		if (warn_expiry(c, what, now, days, warnings) < 0)
			goto fail_oom;
	}
	free(md);
	return 0;
fail_oom:
	rc = fail(err, errlen, -ENOMEM, "out of memory");
fail:
	free(md);
	return rc;
}

/* "DNS:a, IP:1.2.3.4" of the certificate's subjectAltName, or "no subjectAltName". */
static void san_list(X509 *c, char *buf, size_t len)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(c, NID_subject_alt_name, NULL, NULL);
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && used + 1 < len; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char ip[INET6_ADDRSTRLEN] = "";
		int n = 0;

		if (g->type == GEN_DNS) {
			n = snprintf(buf + used, len - used, "%sDNS:%.*s", used ? ", " : "",
				     ASN1_STRING_length(g->d.dNSName),
				     (const char *)ASN1_STRING_get0_data(g->d.dNSName));
		} else if (g->type == GEN_IPADD) {
			int l = ASN1_STRING_length(g->d.iPAddress);

			if (l == 4 || l == 16)
				inet_ntop(l == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(g->d.iPAddress), ip,
					  sizeof ip);
			n = snprintf(buf + used, len - used, "%sIP:%s", used ? ", " : "", ip[0] ? ip : "?");
		}
		if (n > 0)
			used = used + (size_t)n < len ? used + (size_t)n : len - 1;
	}
	GENERAL_NAMES_free(gens);
	if (!buf[0])
		snprintf(buf, len, "no subjectAltName");
}

static bool san_matches(X509 *c, const char *name)
{
	unsigned char a[16];
	int ok;

	if (!name || !*name)
		return false;
	if (inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1)
		ok = X509_check_ip_asc(c, name, 0);
	else
		ok = X509_check_host(c, name, 0, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL);
	ERR_clear_error();
	return ok == 1;
}

static int verify_chain(X509 *leaf, STACK_OF(X509) * chain, STACK_OF(X509) * trust, time_t now, char *err,
			size_t errlen)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	char subj[340];
	int rc = 0;

	if (!store || !ctx || !untrusted) {
		rc = fail(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < sk_X509_num(trust); i++)
		if (!X509_STORE_add_cert(store, sk_X509_value(trust, i))) {
			rc = fail(err, errlen, -ENOMEM, "cannot add a trusted certificate to the store");
			goto out;
		}
	for (int i = 1; i < sk_X509_num(chain); i++)
		if (!sk_X509_push(untrusted, sk_X509_value(chain, i))) {
			rc = fail(err, errlen, -ENOMEM, "out of memory");
			goto out;
		}
	if (!X509_STORE_CTX_init(ctx, store, leaf, untrusted)) {
		rc = fail(err, errlen, -ENOMEM, "cannot set up chain verification");
		goto out;
	}
	X509_STORE_CTX_set_time(ctx, 0, now);
	/* Java trusts every truststore certificate as an anchor, an intermediate too. */
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN);
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);
		X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
		char *issuer = cur ? name_string(X509_get_issuer_name(cur)) : NULL;

		if (e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY || e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
		    e == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT || e == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN)
			rc = fail(
				err, errlen, -EKEYREJECTED,
				"the certificate chain does not verify to a CA in the trust set: %s (issuer %s is not "
				"trusted)",
				X509_verify_cert_error_string(e), issuer ? issuer : "?");
		else
			rc = fail(err, errlen, -EKEYREJECTED,
				  "the certificate chain does not verify to a CA in the trust set: %s (at %s)",
				  X509_verify_cert_error_string(e), cur ? subject_label(cur, subj, sizeof subj) : "?");
		free(issuer);
	}
out:
	ERR_clear_error();
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

int certstore_validate_identity(EVP_PKEY *key, STACK_OF(X509) * chain, STACK_OF(X509) * trust,
				const struct certstore_policy *policy, struct certstore_warnings *warnings, char *err,
				size_t errlen)
{
	time_t now = now_or(policy ? policy->now : 0);
	int days = policy && policy->expiry_warn_days > 0 ? policy->expiry_warn_days : EXPIRY_WARN_DAYS_DEFAULT;
	char what[400], subj[340], sans[512];
	X509 *leaf;
	int rc;

	if (!key)
		return fail(err, errlen, -EINVAL, "no private key given");
	if (!chain || sk_X509_num(chain) == 0)
		return fail(err, errlen, -ENODATA, "no node certificate given");
	leaf = sk_X509_value(chain, 0);
	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *c = sk_X509_value(chain, i);

		if (i == 0)
			snprintf(what, sizeof what, "node certificate (%s)", subject_label(c, subj, sizeof subj));
		else
			snprintf(what, sizeof what, "chain certificate %d (%s)", i + 1,
				 subject_label(c, subj, sizeof subj));
		rc = check_validity(c, what, now, err, errlen);
		if (rc < 0)
			return rc;
		if (i > 0 && (rc = key_strength(X509_get0_pubkey(c), what, err, errlen)) < 0)
			return rc;
		if (warn_expiry(c, what, now, days, warnings) < 0)
			return fail(err, errlen, -ENOMEM, "out of memory");
	}
	rc = key_strength(key, "private key", err, errlen);
	if (rc < 0)
		return rc;
	if (EVP_PKEY_eq(X509_get0_pubkey(leaf), key) != 1) {
		ERR_clear_error();
		return fail(err, errlen, -EKEYREJECTED, "the private key does not match the node certificate (%s)",
			    subject_label(leaf, subj, sizeof subj));
	}
	if (trust && sk_X509_num(trust) == 0)
		return fail(err, errlen, -ENODATA, "no trust set to verify the certificate chain against");
	if (trust) {
		rc = verify_chain(leaf, chain, trust, now, err, errlen);
		if (rc < 0)
			return rc;
	} else if (warn(warnings, "the certificate chain was not verified: no trust set given") < 0) {
		return fail(err, errlen, -ENOMEM, "out of memory");
	}
	if (policy &&
	    ((policy->node_address && *policy->node_address) || (policy->node_hostname && *policy->node_hostname))) {
		if (!san_matches(leaf, policy->node_address) && !san_matches(leaf, policy->node_hostname)) {
			const char *a = policy->node_address && *policy->node_address ? policy->node_address : NULL;
			const char *h = policy->node_hostname && *policy->node_hostname ? policy->node_hostname : NULL;
			char want[300];

			if (a && h)
				snprintf(want, sizeof want, "neither %s nor %s", a, h);
			else
				snprintf(want, sizeof want, "no %s", a ? a : h);
			san_list(leaf, sans, sizeof sans);
			if (policy->require_san)
				return fail(err, errlen, -EKEYREJECTED,
					    "the node certificate's subjectAltName (%s) holds %s", sans, want);
			if (warn(warnings, "the node certificate's subjectAltName (%s) holds %s", sans, want) < 0)
				return fail(err, errlen, -ENOMEM, "out of memory");
		}
	}
	{
		uint32_t xku = X509_get_extended_key_usage(leaf);
		const char *missing = (xku & XKU_SSL_SERVER)   ? "clientAuth"
				      : (xku & XKU_SSL_CLIENT) ? "serverAuth"
							       : "serverAuth and clientAuth";

		if (xku != UINT32_MAX && !(xku & XKU_ANYEKU) &&
		    (xku & (XKU_SSL_SERVER | XKU_SSL_CLIENT)) != (XKU_SSL_SERVER | XKU_SSL_CLIENT) &&
		    warn(warnings,
			 "the node certificate's extendedKeyUsage lacks %s (internode mutual TLS needs "
			 "serverAuth and clientAuth)",
			 missing) < 0)
			return fail(err, errlen, -ENOMEM, "out of memory");
	}
	return 0;
}

/* ---- aliases ---------------------------------------------------------------------------------- */

int certstore_cert_alias(X509 *cert, char *buf, size_t buflen)
{
	const X509_NAME *name;
	unsigned char md[32], *utf8 = NULL;
	char base[41];
	size_t n = 0;
	int idx, len = -1, w;

	if (!cert || !buf || !buflen)
		return -EINVAL;
	name = X509_get_subject_name(cert);
	idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (idx < 0)
		idx = X509_NAME_get_index_by_NID(name, NID_organizationName, -1);
	if (idx >= 0)
		len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
	for (int i = 0; i < len && n < sizeof base - 1; i++) {
		unsigned char ch = (unsigned char)tolower(utf8[i] < 0x80 ? utf8[i] : '-');

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.')
			base[n++] = (char)ch;
		else if (n && base[n - 1] != '-')
			base[n++] = '-';
	}
	OPENSSL_free(utf8);
	while (n && (base[n - 1] == '-' || base[n - 1] == '.'))
		n--;
	base[n] = '\0';
	if (sha256_of(cert, md) < 0)
		return -ENOMEM;
	w = snprintf(buf, buflen, "%s-%02x%02x%02x%02x", n ? base : "cert", md[0], md[1], md[2], md[3]);
	return w < 0 || (size_t)w >= buflen ? -ENOSPC : 0;
}

/* Aliases of the certificates to write: unique, with duplicates (same SHA-256) marked to skip.
 * aliases[i] is CERTSTORE_ALIAS_MAX bytes. Returns the number to write or a negative errno. */
static int plan_certs(STACK_OF(X509) * certs, char (*aliases)[CERTSTORE_ALIAS_MAX], bool *skip)
{
	int n = sk_X509_num(certs), count = 0;
	unsigned char(*md)[32] = calloc((size_t)n, sizeof *md);

	if (!md)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		X509 *c = sk_X509_value(certs, i);

		skip[i] = false;
		/* certstore_cert_alias() fails only on ENOMEM here: the buffer is large enough */
		if (sha256_of(c, md[i]) < 0 || certstore_cert_alias(c, aliases[i], CERTSTORE_ALIAS_MAX) < 0) {
			free(md);
			return -ENOMEM;
		}
		for (int j = 0; j < i; j++)
			if (!skip[j] && !memcmp(md[i], md[j], 32))
				skip[i] = true;
		if (skip[i])
			continue;
		/* Distinct certificates whose alias collides (same name, same 32-bit prefix). */
		for (int k = 2, again = 1; again; k++) {
			again = 0;
			for (int j = 0; j < i; j++)
				if (!skip[j] && !strcmp(aliases[i], aliases[j])) {
					char tmp[CERTSTORE_ALIAS_MAX];

					snprintf(tmp, sizeof tmp, "%.50s-%d", aliases[j], k);
					memcpy(aliases[i], tmp, sizeof tmp);
					again = 1;
					break;
				}
		}
		count++;
	}
	free(md);
	return count;
}

/* ---- output helpers --------------------------------------------------------------------------- */

struct obuf {
	unsigned char *p;
	size_t len, cap;
	bool oom;
};

static void obuf_put(struct obuf *b, const void *d, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		unsigned char *p;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void obuf_u16(struct obuf *b, uint16_t v)
{
	unsigned char x[2] = {(unsigned char)(v >> 8), (unsigned char)v};

	obuf_put(b, x, 2);
}

static void obuf_u32(struct obuf *b, uint32_t v)
{
	unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
			      (unsigned char)v};

	obuf_put(b, x, 4);
}

static void obuf_u64(struct obuf *b, uint64_t v)
{
	obuf_u32(b, (uint32_t)(v >> 32));
	obuf_u32(b, (uint32_t)v);
}

/* Copies a memory BIO's contents into a malloc'd buffer. */
static int bio_take(BIO *bio, unsigned char **out, size_t *out_len)
{
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);

	if (n <= 0)
		return -ENOMEM;
	*out = malloc((size_t)n);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, data, (size_t)n);
	*out_len = (size_t)n;
	return 0;
}

static int p12_take(PKCS12 *p12, unsigned char **out, size_t *out_len)
{
	int n = i2d_PKCS12(p12, NULL);
	unsigned char *p;

	if (n <= 0)
		return -ENOMEM;
	*out = malloc((size_t)n);
	if (!*out)
		return -ENOMEM;
	p = *out;
	if (i2d_PKCS12(p12, &p) != n) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	*out_len = (size_t)n;
	return 0;
}

/* The password as Java chars, big-endian (JavaKeyStore.getPreKeyedHash). */
static int utf16be_password(const char *pw, struct obuf *b)
{
	const unsigned char *s = (const unsigned char *)pw;

	while (*s) {
		uint32_t cp;
		int extra;

		if (*s < 0x80) {
			cp = *s;
			extra = 0;
		} else if ((*s & 0xE0) == 0xC0) {
			cp = *s & 0x1F;
			extra = 1;
		} else if ((*s & 0xF0) == 0xE0) {
			cp = *s & 0x0F;
			extra = 2;
		} else if ((*s & 0xF8) == 0xF0) {
			cp = *s & 0x07;
			extra = 3;
		} else {
			return -EINVAL;
		}
		s++;
		for (int i = 0; i < extra; i++, s++) {
			if ((*s & 0xC0) != 0x80)
				return -EINVAL;
			cp = cp << 6 | (*s & 0x3F);
		}
		if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return -EINVAL;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			obuf_u16(b, (uint16_t)(0xD800 | (cp >> 10)));
			obuf_u16(b, (uint16_t)(0xDC00 | (cp & 0x3FF)));
		} else {
			obuf_u16(b, (uint16_t)cp);
		}
	}
	return 0;
}

/* SHA-1(password UTF-16BE || "Mighty Aphrodite" || data[0..len)) into md. */
static int jks_digest(const char *password, const unsigned char *data, size_t len, unsigned char md[JKS_DIGEST_LEN])
{
	struct obuf pw = {0};
	EVP_MD_CTX *ctx = NULL;
	unsigned int n = 0;
	int rc = -ENOMEM;

	if (utf16be_password(password, &pw) < 0) {
		rc = -EINVAL;
		goto out;
	}
	if (pw.oom || !(ctx = EVP_MD_CTX_new()))
		goto out;
	if (EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 && EVP_DigestUpdate(ctx, pw.p, pw.len) == 1 &&
	    EVP_DigestUpdate(ctx, jks_whitener, strlen(jks_whitener)) == 1 && EVP_DigestUpdate(ctx, data, len) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &n) == 1 && n == JKS_DIGEST_LEN)
		rc = 0;
out:
	if (pw.p)
		OPENSSL_cleanse(pw.p, pw.len);
	free(pw.p);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* ---- truststore --------------------------------------------------------------------------------- */

static int build_trust_pkcs12(STACK_OF(X509) * cas, char (*aliases)[CERTSTORE_ALIAS_MAX], const bool *skip,
			      const char *password, unsigned char **out, size_t *out_len, char *err, size_t errlen)
{
	STACK_OF(PKCS12_SAFEBAG) *bags = sk_PKCS12_SAFEBAG_new_null();
	STACK_OF(PKCS7) *safes = NULL;
	ASN1_OBJECT *any_eku = OBJ_txt2obj(CERTSTORE_ANY_EXTENDED_KEY_USAGE_OID, 1);
	PKCS12 *p12 = NULL;
	char r[160];
	int rc = 0;

	if (!bags || !any_eku) {
		rc = fail(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < sk_X509_num(cas); i++) {
		PKCS12_SAFEBAG *bag;

		if (skip[i])
			continue;
		/* A bare certBag (not PKCS12_add_cert: it would copy an X509_AUX alias or key id). */
		bag = PKCS12_SAFEBAG_create_cert(sk_X509_value(cas, i));
		if (!bag || !sk_PKCS12_SAFEBAG_push(bags, bag)) {
			PKCS12_SAFEBAG_free(bag);
			rc = fail(err, errlen, -ENOMEM, "cannot make a certificate bag: %s",
				  ossl_reason(r, sizeof r, "out of memory"));
			goto out;
		}
		if (!PKCS12_add_friendlyname_utf8(bag, aliases[i], -1) ||
		    !PKCS12_add1_attr_by_txt(bag, CERTSTORE_ORACLE_TRUSTED_KEY_USAGE_OID, V_ASN1_OBJECT,
					     (const unsigned char *)any_eku, -1)) {
			rc = fail(err, errlen, -ENOMEM, "cannot set the certificate bag attributes: %s",
				  ossl_reason(r, sizeof r, "out of memory"));
			goto out;
		}
	}
	/* -1: an unencrypted safe (PKCS#7 data); certificates are public, and PBE here would only
	 * cost time (keytool's certProtectionAlgorithm=NONE does the same). */
	if (!PKCS12_add_safe(&safes, bags, -1, 0, NULL) || !(p12 = PKCS12_add_safes(safes, 0)) ||
	    !PKCS12_set_mac(p12, password, -1, NULL, 0, CERTSTORE_PKCS12_ITER, EVP_sha256())) {
		rc = fail(err, errlen, -ENOMEM, "cannot assemble the PKCS#12 truststore: %s",
			  ossl_reason(r, sizeof r, "out of memory"));
		goto out;
	}
	if (p12_take(p12, out, out_len) < 0)
		rc = fail(err, errlen, -ENOMEM, "cannot encode the PKCS#12 truststore");
out:
	ERR_clear_error();
	PKCS12_free(p12);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	ASN1_OBJECT_free(any_eku);
	return rc;
}

static int build_trust_jks(STACK_OF(X509) * cas, char (*aliases)[CERTSTORE_ALIAS_MAX], const bool *skip, int count,
			   const char *password, time_t created, unsigned char **out, size_t *out_len, char *err,
			   size_t errlen)
{
	struct obuf b = {0};
	unsigned char md[JKS_DIGEST_LEN];
	uint64_t ms = (uint64_t)now_or(created) * 1000u;
	int rc;

	obuf_u32(&b, JKS_MAGIC);
	obuf_u32(&b, JKS_VERSION_2);
	obuf_u32(&b, (uint32_t)count);
	for (int i = 0; i < sk_X509_num(cas); i++) {
		unsigned char *der = NULL;
		int n;

		if (skip[i])
			continue;
		n = i2d_X509(sk_X509_value(cas, i), &der);
		if (n <= 0) {
			free(b.p);
			return fail(err, errlen, -ENOMEM, "cannot encode certificate %d", i + 1);
		}
		obuf_u32(&b, JKS_TAG_TRUSTED_CERT);
		obuf_u16(&b, (uint16_t)strlen(aliases[i]));
		obuf_put(&b, aliases[i], strlen(aliases[i]));
		obuf_u64(&b, ms);
		obuf_u16(&b, 5);
		obuf_put(&b, "X.509", 5);
		obuf_u32(&b, (uint32_t)n);
		obuf_put(&b, der, (size_t)n);
		OPENSSL_free(der);
	}
	if (b.oom) {
		free(b.p);
		return fail(err, errlen, -ENOMEM, "out of memory");
	}
	rc = jks_digest(password, b.p, b.len, md);
	if (rc < 0) {
		free(b.p);
		return fail(err, errlen, rc, "%s",
			    rc == -EINVAL ? "the password is not valid UTF-8" : "cannot compute the JKS digest");
	}
	obuf_put(&b, md, sizeof md);
	if (b.oom) {
		free(b.p);
		return fail(err, errlen, -ENOMEM, "out of memory");
	}
	*out = b.p;
	*out_len = b.len;
	return 0;
}

static int write_pem_certs(BIO *bio, STACK_OF(X509) * certs, int first, const bool *skip)
{
	for (int i = first; i < sk_X509_num(certs); i++)
		if ((!skip || !skip[i]) && !PEM_write_bio_X509(bio, sk_X509_value(certs, i)))
			return -ENOMEM;
	return 0;
}

int certstore_build_truststore(enum certstore_type type, STACK_OF(X509) * cas, const char *password, time_t created,
			       unsigned char **out, size_t *out_len, char *err, size_t errlen)
{
	char(*aliases)[CERTSTORE_ALIAS_MAX] = NULL;
	bool *skip = NULL;
	BIO *bio = NULL;
	int n, count, rc;

	if (!out || !out_len)
		return fail(err, errlen, -EINVAL, "no output");
	*out = NULL;
	*out_len = 0;
	n = cas ? sk_X509_num(cas) : 0;
	if (n <= 0)
		return fail(err, errlen, -ENODATA, "no CA certificate given: the trust set would be empty");
	if (type != CERTSTORE_PEM && (!password || !*password))
		return fail(err, errlen, -EINVAL, "a %s truststore needs a password", certstore_type_name(type));
	if (type != CERTSTORE_PKCS12 && type != CERTSTORE_PEM && type != CERTSTORE_JKS)
		return fail(err, errlen, -EINVAL, "unknown store type %d", (int)type);
	aliases = calloc((size_t)n, sizeof *aliases);
	skip = calloc((size_t)n, sizeof *skip);
	if (!aliases || !skip) {
		rc = fail(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	count = plan_certs(cas, aliases, skip);
	if (count < 0) {
		rc = fail(err, errlen, count, "cannot name the certificates");
		goto out;
	}
	switch (type) {
	case CERTSTORE_PKCS12: rc = build_trust_pkcs12(cas, aliases, skip, password, out, out_len, err, errlen); break;
	case CERTSTORE_JKS:
		rc = build_trust_jks(cas, aliases, skip, count, password, created, out, out_len, err, errlen);
		break;
	default:
		bio = BIO_new(BIO_s_mem());
		if (!bio || write_pem_certs(bio, cas, 0, skip) < 0 || bio_take(bio, out, out_len) < 0)
			rc = fail(err, errlen, -ENOMEM, "cannot write the PEM truststore");
		else
			rc = 0;
		break;
	}
out:
	ERR_clear_error();
	BIO_free(bio);
	free(aliases);
	free(skip);
	return rc;
}

/* ---- keystore ------------------------------------------------------------------------------------ */

/*
 * "ENCRYPTED PRIVATE KEY" under PKCS#12 PBE pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292 B/C).
 * Not PBES2: Cassandra's PEMReader (4.1, 5.0) decrypts with
 * SecretKeyFactory.getInstance(EncryptedPrivateKeyInfo.getAlgName()), and on Java 17 that
 * name is "PBES2", which has no SecretKeyFactory; for this scheme it is
 * "PBEWithSHA1AndDESede", which SunJCE has (Cassandra's own PEMReaderTest key uses it).
 */
static int write_encrypted_pkcs8(BIO *bio, EVP_PKEY *key, const char *password)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(key);
	X509_SIG *sig = NULL;
	int ok = 0;

	if (p8)
		sig = PKCS8_encrypt(NID_pbe_WithSHA1And3_Key_TripleDES_CBC, NULL, password, (int)strlen(password), NULL,
				    0, CERTSTORE_PEM_KEY_ITER, p8);
	if (sig)
		ok = PEM_write_bio_PKCS8(bio, sig);
	X509_SIG_free(sig);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return ok;
}

int certstore_build_keystore(enum certstore_type type, EVP_PKEY *key, STACK_OF(X509) * chain, const char *password,
			     const char *alias, unsigned char **out, size_t *out_len, char *err, size_t errlen)
{
	char name[CERTSTORE_ALIAS_MAX + 64];
	STACK_OF(X509) *cas = NULL;
	PKCS12 *p12 = NULL;
	BIO *bio = NULL;
	char r[160];
	int rc = 0;

	if (!out || !out_len)
		return fail(err, errlen, -EINVAL, "no output");
	*out = NULL;
	*out_len = 0;
	if (!key)
		return fail(err, errlen, -EINVAL, "no private key given");
	if (!chain || sk_X509_num(chain) == 0)
		return fail(err, errlen, -ENODATA, "no node certificate given");
	if (type == CERTSTORE_JKS)
		return fail(err, errlen, -ENOTSUP, "JKS keystores are not written (use pkcs12 or pem)");
	if (type != CERTSTORE_PKCS12 && type != CERTSTORE_PEM)
		return fail(err, errlen, -EINVAL, "unknown store type %d", (int)type);
	if (type == CERTSTORE_PKCS12 && (!password || !*password))
		return fail(err, errlen, -EINVAL, "a pkcs12 keystore needs a password");
	if (alias && *alias) {
		size_t i;

		for (i = 0; i < sizeof name - 1 && alias[i]; i++)
			name[i] = (char)tolower((unsigned char)alias[i]);
		name[i] = '\0';
		if (alias[i])
			return fail(err, errlen, -EINVAL, "alias longer than %zu bytes", sizeof name - 1);
	} else if (certstore_cert_alias(sk_X509_value(chain, 0), name, sizeof name) < 0) {
		return fail(err, errlen, -ENOMEM, "cannot name the key entry");
	}
	if (type == CERTSTORE_PEM) {
		/* secmem: cleared when freed, as the key may be in the clear. */
		bio = BIO_new(BIO_s_secmem());
		if (!bio) {
			rc = fail(err, errlen, -ENOMEM, "out of memory");
			goto out;
		}
		if (password && *password)
			rc = write_encrypted_pkcs8(bio, key, password);
		else
			rc = PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
		if (rc != 1 || write_pem_certs(bio, chain, 0, NULL) < 0 || bio_take(bio, out, out_len) < 0) {
			rc = fail(err, errlen, -ENOMEM, "cannot write the PEM key material: %s",
				  ossl_reason(r, sizeof r, "out of memory"));
			goto out;
		}
		rc = 0;
		goto out;
	}
	cas = sk_X509_new_null();
	if (!cas) {
		rc = fail(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 1; i < sk_X509_num(chain); i++)
		if (!sk_X509_push(cas, sk_X509_value(chain, i))) {
			rc = fail(err, errlen, -ENOMEM, "out of memory");
			goto out;
		}
	/* Key and certificates under PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC); mac_iter -1: no MAC
	 * yet, set just below with SHA-256 explicitly. */
	p12 = PKCS12_create(password, name, key, sk_X509_value(chain, 0), cas, NID_aes_256_cbc, NID_aes_256_cbc,
			    CERTSTORE_PKCS12_ITER, -1, 0);
	if (!p12 || !PKCS12_set_mac(p12, password, -1, NULL, 0, CERTSTORE_PKCS12_ITER, EVP_sha256())) {
		rc = fail(err, errlen, -ENOMEM, "cannot assemble the PKCS#12 keystore: %s",
			  ossl_reason(r, sizeof r, "out of memory"));
		goto out;
	}
	if (p12_take(p12, out, out_len) < 0)
		rc = fail(err, errlen, -ENOMEM, "cannot encode the PKCS#12 keystore");
out:
	ERR_clear_error();
	BIO_free(bio);
	PKCS12_free(p12);
	sk_X509_free(cas);
	return rc;
}

void certstore_secret_free(unsigned char *buf, size_t len)
{
	if (!buf)
		return;
	OPENSSL_cleanse(buf, len);
	free(buf);
}

/* ---- describe ------------------------------------------------------------------------------------- */

void certstore_entry_clear(struct certstore_entry *e)
{
	if (!e)
		return;
	free(e->alias);
	free(e->subject);
	free(e->issuer);
	memset(e, 0, sizeof *e);
}

void certstore_list_free(struct certstore_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->n; i++)
		certstore_entry_clear(&list->v[i]);
	free(list->v);
	memset(list, 0, sizeof *list);
}

static void serial_hex(X509 *c, char *buf, size_t len)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(c), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	const char *p = hex ? hex : "?";
	bool neg = *p == '-';
	size_t o = 0;

	if (neg)
		p++;
	while (p[0] == '0' && p[1])
		p++;
	if (neg && o + 1 < len)
		buf[o++] = '-';
	for (; *p && o + 1 < len; p++)
		buf[o++] = (char)tolower((unsigned char)*p);
	buf[o] = '\0';
	OPENSSL_free(hex);
	BN_free(bn);
}

int certstore_entry_from_cert(X509 *cert, time_t now, struct certstore_entry *e)
{
	unsigned char md[32];

	if (!cert || !e)
		return -EINVAL;
	memset(e, 0, sizeof *e);
	now = now_or(now);
	e->subject = name_string(X509_get_subject_name(cert));
	e->issuer = name_string(X509_get_issuer_name(cert));
	if (!e->subject || !e->issuer || sha256_of(cert, md) < 0) {
		certstore_entry_clear(e);
		return -ENOMEM;
	}
	serial_hex(cert, e->serial, sizeof e->serial);
	for (int i = 0; i < 32; i++)
		snprintf(e->sha256 + 2 * i, 3, "%02x", md[i]);
	if (cert_times(cert, &e->not_before, &e->not_after) < 0) {
		certstore_entry_clear(e);
		return -EINVAL;
	}
	e->days_left = days_between((int64_t)now, e->not_after);
	e->chain_length = 1;
	return 0;
}

/* Appends one row; `alias` NULL = certstore_cert_alias. */
static int list_add(struct certstore_list *l, X509 *c, const char *alias, const char *entry_type, unsigned idx,
		    unsigned chain_len, time_t now)
{
	struct certstore_entry *v, e;
	char gen[CERTSTORE_ALIAS_MAX];
	int rc;

	rc = certstore_entry_from_cert(c, now, &e);
	if (rc < 0)
		return rc;
	if (!alias) {
		if (certstore_cert_alias(c, gen, sizeof gen) < 0)
			snprintf(gen, sizeof gen, "cert");
		alias = gen;
	}
	e.alias = strdup(alias);
	v = e.alias ? realloc(l->v, (l->n + 1) * sizeof *v) : NULL;
	if (!v) {
		certstore_entry_clear(&e);
		return -ENOMEM;
	}
	e.entry_type = entry_type;
	e.chain_index = idx;
	e.chain_length = chain_len;
	l->v = v;
	l->v[l->n++] = e;
	return 0;
}

static int describe_pem(const void *buf, size_t len, time_t now, struct certstore_list *out, char *err, size_t errlen)
{
	STACK_OF(X509) *certs = NULL;
	unsigned nkeys = 0;
	char labels[160];
	int rc, n;

	rc = pem_scan(buf, len, &certs, &nkeys, labels, sizeof labels, err, errlen);
	if (rc < 0)
		return rc;
	n = sk_X509_num(certs);
	if (n == 0) {
		certstore_certs_free(certs);
		return fail(err, errlen, -ENODATA, "no CERTIFICATE PEM block found (found: %s)", labels);
	}
	out->has_private_key = nkeys > 0;
	for (int i = 0; i < n && rc == 0; i++) {
		X509 *c = sk_X509_value(certs, i);

		if (nkeys) {
			char alias[CERTSTORE_ALIAS_MAX];

			if (certstore_cert_alias(sk_X509_value(certs, 0), alias, sizeof alias) < 0)
				snprintf(alias, sizeof alias, "key");
			rc = list_add(out, c, alias, i ? "chainCertificate" : "PrivateKeyEntry", (unsigned)i,
				      (unsigned)n, now);
		} else {
			rc = list_add(out, c, NULL, "trustedCertEntry", 0, 1, now);
		}
	}
	certstore_certs_free(certs);
	if (rc == -EINVAL) /* malformed input, not bad arguments (certstore.h) */
		return fail(err, errlen, -EBADMSG, "a certificate has an unreadable validity date");
	if (rc < 0)
		return fail(err, errlen, rc, "out of memory");
	return 0;
}

/* JKS reader over a bounded buffer. */
struct jreader {
	const unsigned char *p;
	size_t len, off;
	bool bad;
};

static uint32_t jr_u32(struct jreader *r)
{
	uint32_t v;

	if (r->bad || r->len - r->off < 4) {
		r->bad = true;
		return 0;
	}
	v = (uint32_t)r->p[r->off] << 24 | (uint32_t)r->p[r->off + 1] << 16 | (uint32_t)r->p[r->off + 2] << 8 |
	    r->p[r->off + 3];
	r->off += 4;
	return v;
}

static const unsigned char *jr_bytes(struct jreader *r, size_t n)
{
	const unsigned char *p;

	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

/* DataInput.readUTF into a malloc'd string (modified UTF-8 bytes kept as they are). */
static char *jr_utf(struct jreader *r)
{
	const unsigned char *p = jr_bytes(r, 2);
	size_t n;
	char *s;

	if (!p)
		return NULL;
	n = (size_t)p[0] << 8 | p[1];
	p = jr_bytes(r, n);
	if (!p)
		return NULL;
	s = malloc(n + 1);
	if (!s) {
		r->bad = true;
		return NULL;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* One certificate: [v2: type UTF] length DER. */
static X509 *jr_cert(struct jreader *r, uint32_t version, char *err, size_t errlen)
{
	const unsigned char *der;
	uint32_t n;
	X509 *x;

	if (version == JKS_VERSION_2) {
		char *type = jr_utf(r);

		if (type && strcmp(type, "X.509")) {
			fail(err, errlen, -ENOTSUP, "JKS certificate of type '%s' is not supported", type);
			free(type);
			r->bad = true;
			return NULL;
		}
		free(type);
	}
	n = jr_u32(r);
	der = jr_bytes(r, n);
	if (!der)
		return NULL;
	x = d2i_X509(NULL, &der, (long)n);
	if (!x) {
		ERR_clear_error();
		fail(err, errlen, -EBADMSG, "JKS entry holds an invalid X.509 certificate");
		r->bad = true;
	}
	return x;
}

static int describe_jks(const void *buf, size_t len, const char *password, time_t now, struct certstore_list *out,
			char *err, size_t errlen)
{
	struct jreader r = {.p = buf, .len = len};
	uint32_t magic, version, count;
	char *alias = NULL;
	int rc = 0;

	err[0] = '\0';
	magic = jr_u32(&r);
	version = jr_u32(&r);
	count = jr_u32(&r);
	if (r.bad || magic != JKS_MAGIC)
		return fail(err, errlen, -EBADMSG, "not a JKS keystore (no 0xFEEDFEED magic)");
	if (version != JKS_VERSION_1 && version != JKS_VERSION_2)
		return fail(err, errlen, -EBADMSG, "unsupported JKS version %u", version);
	if (count > len / 16)
		return fail(err, errlen, -EBADMSG, "corrupt JKS keystore: %u entries in %zu bytes", count, len);
	for (uint32_t i = 0; i < count && !r.bad; i++) {
		uint32_t tag = jr_u32(&r);

		alias = jr_utf(&r);
		jr_bytes(&r, 8); /* creation date, ms */
		if (r.bad)
			break;
		if (tag == JKS_TAG_TRUSTED_CERT) {
			X509 *x = jr_cert(&r, version, err, errlen);

			if (x)
				rc = list_add(out, x, alias, "trustedCertEntry", 0, 1, now);
			X509_free(x);
		} else if (tag == JKS_TAG_PRIVATE_KEY) {
			uint32_t klen = jr_u32(&r), nchain;

			jr_bytes(&r, klen);
			nchain = jr_u32(&r);
			if (nchain > CHAIN_MAX * 4)
				r.bad = true;
			out->has_private_key = true;
			for (uint32_t j = 0; j < nchain && !r.bad && rc == 0; j++) {
				X509 *x = jr_cert(&r, version, err, errlen);

				if (x)
					rc = list_add(out, x, alias, j ? "chainCertificate" : "PrivateKeyEntry", j,
						      nchain, now);
				X509_free(x);
			}
		} else {
			free(alias);
			return fail(err, errlen, -ENOTSUP, "JKS entry %u has tag %u (only 1 and 2 are JKS entries)",
				    i + 1, tag);
		}
		free(alias);
		alias = NULL;
		if (rc < 0)
			return fail(err, errlen, rc, "out of memory");
	}
	free(alias);
	if (r.bad) {
		if (err[0])
			return -EBADMSG;
		return fail(err, errlen, -EBADMSG, "truncated or corrupt JKS keystore");
	}
	if (len - r.off != JKS_DIGEST_LEN)
		return fail(err, errlen, -EBADMSG,
			    "corrupt JKS keystore: %zu bytes after the entries, expected the "
			    "20-byte digest",
			    len - r.off);
	if (password) {
		unsigned char md[JKS_DIGEST_LEN];

		rc = jks_digest(password, buf, r.off, md);
		if (rc < 0)
			return fail(err, errlen, rc,
				    rc == -EINVAL ? "the password is not valid UTF-8"
						  : "cannot compute the JKS digest");
		if (CRYPTO_memcmp(md, (const unsigned char *)buf + r.off, JKS_DIGEST_LEN))
			return fail(err, errlen, -EACCES,
				    "JKS integrity check failed: wrong password, or the file "
				    "was altered");
		out->integrity_checked = true;
	}
	return 0;
}

struct p12_item {
	X509 *cert; /* NULL for a key */
	char *name; /* friendlyName, OPENSSL_malloc'd */
	unsigned char keyid[64];
	int keyid_len; /* -1: none */
	bool trusted;
	bool used;
};

struct p12_items {
	struct p12_item *v;
	size_t n;
	int depth;
};

static void p12_items_free(struct p12_items *it)
{
	for (size_t i = 0; i < it->n; i++) {
		X509_free(it->v[i].cert);
		OPENSSL_free(it->v[i].name);
	}
	free(it->v);
}

static bool has_trust_attr(const STACK_OF(X509_ATTRIBUTE) * attrs, const ASN1_OBJECT *trust)
{
	for (int i = 0; i < sk_X509_ATTRIBUTE_num(attrs); i++)
		if (!OBJ_cmp(X509_ATTRIBUTE_get0_object(sk_X509_ATTRIBUTE_value(attrs, i)), trust))
			return true;
	return false;
}

static int p12_collect(const STACK_OF(PKCS12_SAFEBAG) * bags, struct p12_items *it, const ASN1_OBJECT *trust,
		       struct certstore_list *out)
{
	for (int i = 0; i < sk_PKCS12_SAFEBAG_num(bags); i++) {
		PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, i);
		int nid = PKCS12_SAFEBAG_get_nid(bag);
		struct p12_item item = {.keyid_len = -1};
		const ASN1_TYPE *kid;
		struct p12_item *v;

		if (nid == NID_safeContentsBag) {
			int rc;

			if (++it->depth > 4)
				return -EBADMSG;
			rc = p12_collect(PKCS12_SAFEBAG_get0_safes(bag), it, trust, out);
			it->depth--;
			if (rc < 0)
				return rc;
			continue;
		}
		if (nid == NID_certBag) {
			if (PKCS12_SAFEBAG_get_bag_nid(bag) != NID_x509Certificate)
				continue;
			item.cert = PKCS12_SAFEBAG_get1_cert(bag);
			if (!item.cert)
				return -EBADMSG;
			item.trusted = has_trust_attr(PKCS12_SAFEBAG_get0_attrs(bag), trust);
		} else if (nid == NID_keyBag || nid == NID_pkcs8ShroudedKeyBag) {
			out->has_private_key = true;
		} else {
			continue;
		}
		item.name = PKCS12_get_friendlyname(bag);
		kid = PKCS12_SAFEBAG_get0_attr(bag, NID_localKeyID);
		if (kid && kid->type == V_ASN1_OCTET_STRING &&
		    ASN1_STRING_length(kid->value.octet_string) <= (int)sizeof item.keyid) {
			item.keyid_len = ASN1_STRING_length(kid->value.octet_string);
			memcpy(item.keyid, ASN1_STRING_get0_data(kid->value.octet_string), (size_t)item.keyid_len);
		}
		v = realloc(it->v, (it->n + 1) * sizeof *v);
		if (!v) {
			X509_free(item.cert);
			OPENSSL_free(item.name);
			return -ENOMEM;
		}
		it->v = v;
		it->v[it->n++] = item;
	}
	return 0;
}

/* Rows for the items as the JDK's PKCS12KeyStore.engineLoad sees them. */
static int p12_rows(struct p12_items *it, time_t now, struct certstore_list *out)
{
	int rc = 0;

	for (size_t k = 0; k < it->n && rc == 0; k++) {
		struct p12_item *key = &it->v[k], *chain[CHAIN_MAX];
		unsigned n = 0;

		if (key->cert || key->keyid_len < 0)
			continue;
		for (size_t c = 0; c < it->n; c++)
			if (it->v[c].cert && it->v[c].keyid_len == key->keyid_len &&
			    !memcmp(it->v[c].keyid, key->keyid, (size_t)key->keyid_len)) {
				chain[n++] = &it->v[c];
				break;
			}
		/* Follow issuers by name, as the JDK does, until a self-issued certificate. */
		while (n && n < CHAIN_MAX) {
			X509 *last = chain[n - 1]->cert;
			struct p12_item *next = NULL;

			if (!X509_NAME_cmp(X509_get_subject_name(last), X509_get_issuer_name(last)))
				break;
			for (size_t c = 0; c < it->n && !next; c++) {
				bool seen = false;

				if (!it->v[c].cert ||
				    X509_NAME_cmp(X509_get_subject_name(it->v[c].cert), X509_get_issuer_name(last)))
					continue;
				for (unsigned j = 0; j < n; j++)
					seen = seen || chain[j] == &it->v[c];
				if (!seen)
					next = &it->v[c];
			}
			if (!next)
				break;
			chain[n++] = next;
		}
		for (unsigned j = 0; j < n && rc == 0; j++) {
			chain[j]->used = true;
			rc = list_add(out, chain[j]->cert, key->name ? key->name : chain[0]->name,
				      j ? "chainCertificate" : "PrivateKeyEntry", j, n, now);
		}
	}
	for (size_t c = 0; c < it->n && rc == 0; c++)
		if (it->v[c].cert && it->v[c].trusted)
			rc = list_add(out, it->v[c].cert, it->v[c].name, "trustedCertEntry", 0, 1, now);
	for (size_t c = 0; c < it->n && rc == 0; c++)
		if (it->v[c].cert && !it->v[c].trusted && !it->v[c].used)
			rc = list_add(out, it->v[c].cert, it->v[c].name, "certificate", 0, 1, now);
	return rc;
}

static int describe_pkcs12(const void *buf, size_t len, const char *password, time_t now, struct certstore_list *out,
			   char *err, size_t errlen)
{
	const unsigned char *q = buf;
	PKCS12 *p12 = d2i_PKCS12(NULL, &q, (long)len);
	STACK_OF(PKCS7) *asafes = NULL;
	ASN1_OBJECT *trust = OBJ_txt2obj(CERTSTORE_ORACLE_TRUSTED_KEY_USAGE_OID, 1);
	struct p12_items it = {0};
	char r[160];
	int rc = 0;

	if (!trust) {
		rc = fail(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	if (!p12) {
		rc = fail(err, errlen, -EBADMSG, "not a PKCS#12 store: %s", ossl_reason(r, sizeof r, "bad ASN.1"));
		goto out;
	}
	if (password && PKCS12_mac_present(p12)) {
		if (!PKCS12_verify_mac(p12, password, -1)) {
			rc = fail(err, errlen, -EACCES,
				  "PKCS#12 integrity check failed: wrong password, or the file "
				  "was altered");
			goto out;
		}
		out->integrity_checked = true;
	}
	asafes = PKCS12_unpack_authsafes(p12);
	if (!asafes) {
		rc = fail(err, errlen, -EBADMSG, "corrupt PKCS#12 store: %s", ossl_reason(r, sizeof r, "bad content"));
		goto out;
	}
	for (int i = 0; i < sk_PKCS7_num(asafes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(asafes, i);
		STACK_OF(PKCS12_SAFEBAG) *bags = NULL;

		if (PKCS7_type_is_data(p7)) {
			bags = PKCS12_unpack_p7data(p7);
		} else if (PKCS7_type_is_encrypted(p7)) {
			if (!password) {
				rc = fail(err, errlen, -EACCES,
					  "the PKCS#12 store has encrypted content: its password is "
					  "needed");
				goto out;
			}
			bags = PKCS12_unpack_p7encdata(p7, password, -1);
			if (!bags) {
				rc = fail(err, errlen, -EACCES,
					  "cannot decrypt the PKCS#12 content: wrong password (%s)",
					  ossl_reason(r, sizeof r, "decryption failed"));
				goto out;
			}
		} else {
			rc = fail(err, errlen, -ENOTSUP,
				  "PKCS#12 content of an unsupported type (public-key "
				  "encrypted?)");
			goto out;
		}
		if (!bags) {
			rc = fail(err, errlen, -EBADMSG, "corrupt PKCS#12 safe: %s",
				  ossl_reason(r, sizeof r, "bad content"));
			goto out;
		}
		rc = p12_collect(bags, &it, trust, out);
		sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
		if (rc < 0) {
			rc = fail(err, errlen, rc, rc == -ENOMEM ? "out of memory" : "corrupt PKCS#12 safe contents");
			goto out;
		}
	}
	rc = p12_rows(&it, now, out);
	if (rc < 0)
		rc = fail(err, errlen, rc, "cannot describe a certificate of the store");
out:
	ERR_clear_error();
	p12_items_free(&it);
	sk_PKCS7_pop_free(asafes, PKCS7_free);
	PKCS12_free(p12);
	ASN1_OBJECT_free(trust);
	return rc;
}

int certstore_describe(const void *buf, size_t len, enum certstore_type type, const char *password, time_t now,
		       struct certstore_list *out, char *err, size_t errlen)
{
	char dummy[1];
	int rc;

	if (!out)
		return fail(err, errlen, -EINVAL, "no output");
	memset(out, 0, sizeof *out);
	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof dummy;
	}
	if (!buf && len)
		return fail(err, errlen, -EINVAL, "no input buffer");
	if (len > CERTSTORE_INPUT_MAX)
		return fail(err, errlen, -EFBIG, "input is %zu bytes, more than the %d-byte (1 MiB) limit", len,
			    CERTSTORE_INPUT_MAX);
	if (len == 0)
		return fail(err, errlen, -ENODATA, "empty file");
	now = now_or(now);
	out->type = type;
	switch (type) {
	case CERTSTORE_PKCS12: rc = describe_pkcs12(buf, len, password, now, out, err, errlen); break;
	case CERTSTORE_JKS: rc = describe_jks(buf, len, password, now, out, err, errlen); break;
	case CERTSTORE_PEM: rc = describe_pem(buf, len, now, out, err, errlen); break;
	default: rc = fail(err, errlen, -EINVAL, "unknown store type %d", (int)type);
	}
	if (rc < 0)
		certstore_list_free(out);
	else
		out->type = type;
	return rc;
}
