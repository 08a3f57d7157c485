/* certstore: PEM parsing, validation, and in-memory building and reading of the trust and key stores Cassandra's JVM
 * reads (PKCS#12, JKS, PEM). */
#ifndef CA_CERTSTORE_H
#define CA_CERTSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/*
 * Pure module: no event loop, no files, no logging of secrets. OpenSSL 3.0 libcrypto only.
 *
 * Errors: every int function returns 0 or a negative errno and, on failure, writes one
 * human-readable line into the caller's `err` buffer (`errlen` bytes, may be 0). The codes:
 *   -EINVAL       bad arguments (NULL, unknown type, password missing where one is needed)
 *   -EFBIG        input larger than CERTSTORE_INPUT_MAX
 *   -EBADMSG      input is not what was expected: garbage, DER where PEM was expected,
 *                 malformed PEM/base64/ASN.1, a truncated or corrupt store
 *   -ENODATA      nothing usable in the input (no certificate, no key, empty CA list)
 *   -EKEYEXPIRED  a certificate is expired or not yet valid
 *   -EKEYREJECTED key does not match the certificate, key too weak, chain does not verify
 *                 to the trust set, SAN mismatch when required
 *   -EACCES       wrong password (PKCS#12 MAC, JKS integrity hash, encrypted key or safe)
 *   -ENOTSUP      a store type or feature this module does not write or read
 *   -ENOMEM       out of memory, or an OpenSSL failure that is not the input's fault
 * Passwords are never copied into error messages or warnings.
 */

/* Largest accepted input (PEM bundle, key file or store), bytes: 1 MiB. */
#define CERTSTORE_INPUT_MAX (1024 * 1024)

/* The Java trust marker of a PKCS#12 certificate bag: Oracle's trustedKeyUsage bag attribute
 * (OID 2.16.840.1.113894.746875.1.1, see JDK sun.security.pkcs12.PKCS12KeyStore
 * TrustedKeyUsage_OID) whose value is the anyExtendedKeyUsage OID 2.5.29.37.0. */
#define CERTSTORE_ORACLE_TRUSTED_KEY_USAGE_OID "2.16.840.1.113894.746875.1.1"
#define CERTSTORE_ANY_EXTENDED_KEY_USAGE_OID   "2.5.29.37.0"

/* PBKDF / MAC iteration count used for the PKCS#12 outputs (OpenSSL 3.0's default). */
#define CERTSTORE_PKCS12_ITER 2048
/* Iteration count of the encrypted PKCS#8 key of a PEM keystore (keytool's PKCS#12 default). */
#define CERTSTORE_PEM_KEY_ITER 10000

enum certstore_type {
	CERTSTORE_PKCS12 = 0, /* PKCS#12 (RFC 7292), Java's default keystore type since 9 */
	CERTSTORE_PEM,        /* concatenated PEM (RFC 7468), 4.1+ PEMBasedSslContextFactory */
	CERTSTORE_JKS,        /* Sun JKS, sun.security.provider.JavaKeyStore */
};

/* "pkcs12" | "pem" | "jks" (case-insensitive; "p12" accepted) -> *out. Returns 0 or -EINVAL. */
int certstore_type_from_name(const char *name, enum certstore_type *out);

/* Lowercase name of a type ("pkcs12", "pem", "jks"); "?" for an unknown value. */
const char *certstore_type_name(enum certstore_type type);

/* Guesses the type of a store from its first bytes: JKS magic 0xFEEDFEED, "-----BEGIN" (after
 * optional text) for PEM, a DER SEQUENCE for PKCS#12. Returns 0 or -EBADMSG. */
int certstore_type_detect(const void *buf, size_t len, enum certstore_type *out);

/* Warnings collected by the validators (e.g. SAN mismatch, expiring soon, not a CA): an
 * array of `n` malloc'd strings. Zero-initialise; free with certstore_warnings_free(). */
struct certstore_warnings {
	char **v;
	size_t n;
};
void certstore_warnings_free(struct certstore_warnings *w);

/*
 * Parses every certificate of a PEM bundle (`len` bytes at `buf`, need not be
 * NUL-terminated). Blocks labelled CERTIFICATE, X509 CERTIFICATE or TRUSTED CERTIFICATE
 * are read, in order; text between blocks is ignored, and so are private key blocks when at
 * least one certificate is present. Refused: more than CERTSTORE_INPUT_MAX bytes (-EFBIG);
 * empty input, or only other PEM blocks (-ENODATA, naming the labels found); DER or other
 * binary data, text with no PEM block, bad base64 or a block that is not an X.509
 * certificate (-EBADMSG, naming what was found, e.g. "DER-encoded ASN.1 (a certificate?)").
 * On success *out is a new stack (at least one certificate) owned by the caller: free it
 * with certstore_certs_free().
 */
int certstore_parse_certs(const void *buf, size_t len, STACK_OF(X509) * *out, char *err, size_t errlen);

/* Frees a stack of certificates and the certificates (NULL is fine). */
void certstore_certs_free(STACK_OF(X509) * certs);

/*
 * Parses exactly one private key from PEM: PKCS#8 "PRIVATE KEY", PKCS#8 "ENCRYPTED PRIVATE
 * KEY" (needs `password`), or traditional "RSA PRIVATE KEY" / "EC PRIVATE KEY" (optionally
 * with Proc-Type ENCRYPTED headers). Certificate and "EC PARAMETERS" blocks are skipped.
 * `password` may be NULL for unencrypted keys. Errors as for certstore_parse_certs, plus
 * -EACCES for an encrypted key with a missing or wrong password and -EINVAL for two keys.
 * Decoded key bytes are cleansed before they are freed. *out is owned by the caller
 * (EVP_PKEY_free).
 */
int certstore_parse_key(const void *buf, size_t len, const char *password, EVP_PKEY **out, char *err, size_t errlen);

/* What the validators check against. Zero-initialise, then set what applies. */
struct certstore_policy {
	time_t now;                /* reference time, unix seconds; 0 = time(NULL) */
	const char *node_address;  /* IP literal (or name) the node certificate's SAN should hold; NULL = none */
	const char *node_hostname; /* host name the SAN may hold instead; NULL = none */
	bool require_san;          /* SAN mismatch refuses (-EKEYREJECTED) instead of warning */
	int expiry_warn_days;      /* warn when a certificate expires within this many days; 0 = 30 */
};

/*
 * Validates a new trust set (CA certificates for a truststore). Refused: NULL or empty list
 * (-ENODATA); a certificate expired or not yet valid (-EKEYEXPIRED); an RSA key under 2048
 * bits, an EC key on a curve other than P-256/P-384/P-521, or another key type except
 * Ed25519/Ed448 (-EKEYREJECTED). Warnings (appended to `warnings`, which may be NULL):
 * a certificate that is not a CA (basicConstraints CA:TRUE missing), a duplicate, one that
 * expires within policy->expiry_warn_days. `policy` may be NULL (now, 30 days).
 * The error message names the certificate ("CA certificate 2 (CN=...,O=...)").
 */
int certstore_validate_cas(STACK_OF(X509) * cas, const struct certstore_policy *policy,
			   struct certstore_warnings *warnings, char *err, size_t errlen);

/*
 * Validates a node identity: `key` and `chain` (leaf first, then intermediates; a root may
 * follow) against the trust set `trust` (CA certificates; every one is a trust anchor, as
 * for a Java truststore, so an intermediate in `trust` anchors too). Refused: no key or empty
 * chain (-EINVAL / -ENODATA); a chain certificate expired or not yet valid (-EKEYEXPIRED);
 * key not matching the leaf, weak key (see certstore_validate_cas), a chain that does not
 * verify to `trust` at policy->now (-EKEYREJECTED, with OpenSSL's reason), an empty `trust`
 * (-ENODATA); SAN mismatch when policy->require_san (-EKEYREJECTED). A NULL `trust` skips
 * the chain verification (the caller has no trust set; a warning says so).
 * Warnings: SAN holding neither policy->node_address nor ->node_hostname (only checked when
 * one is set; SAN entries only, never the subject CN), an extendedKeyUsage without
 * serverAuth or clientAuth (both needed for internode mutual TLS), expiring soon.
 */
int certstore_validate_identity(EVP_PKEY *key, STACK_OF(X509) * chain, STACK_OF(X509) * trust,
				const struct certstore_policy *policy, struct certstore_warnings *warnings, char *err,
				size_t errlen);

/*
 * Alias of a certificate in the stores this module writes: the subject CN (else O, else
 * "cert") lowercased with every run of characters outside [a-z0-9.] turned into one '-',
 * at most 40 characters, then '-' and the first 8 hex digits of the SHA-256 of the DER,
 * e.g. "test-root-ca-3f2a91bc". Stable across rebuilds, unique per certificate, and already
 * lowercase as Java's JKS makes every alias. `buf` should hold CERTSTORE_ALIAS_MAX bytes.
 * Returns 0, -EINVAL, or -ENOSPC when `buflen` is too small.
 */
#define CERTSTORE_ALIAS_MAX 64
int certstore_cert_alias(X509 *cert, char *buf, size_t buflen);

/*
 * Builds a truststore in memory from `cas` (at least one; validate them first with
 * certstore_validate_cas: this function checks only that the list is not empty).
 * Certificates with the same SHA-256 are written once. Aliases: certstore_cert_alias().
 *  - CERTSTORE_PKCS12: one unencrypted safe (PKCS#7 data, as keytool's
 *    keystore.pkcs12.certProtectionAlgorithm=NONE makes) of certBags, each with friendlyName
 *    (the alias) and Oracle's trustedKeyUsage attribute = anyExtendedKeyUsage, which is what
 *    makes Java 8u+/11/17 list the certificate as a trustedCertEntry (without it the JDK
 *    ignores a certificate that belongs to no key); no localKeyID. Integrity: HMAC-SHA256
 *    MAC, PKCS#12 KDF, CERTSTORE_PKCS12_ITER iterations, `password` required.
 *  - CERTSTORE_JKS: version 2 JKS (sun.security.provider.JavaKeyStore engineStore): magic
 *    0xFEEDFEED, version 2, count, then per certificate tag 2 (trustedCertEntry), alias
 *    (DataOutput.writeUTF), creation time in ms (`created` seconds * 1000; 0 = now), "X.509",
 *    DER length and bytes; then SHA-1 over (password as UTF-16BE, the UTF-8 bytes of
 *    "Mighty Aphrodite", every preceding byte). `password` (UTF-8) required.
 *  - CERTSTORE_PEM: the certificates as concatenated "CERTIFICATE" blocks; `password` unused
 *    (may be NULL).
 * On success *out is a malloc'd buffer of *out_len bytes owned by the caller (free()).
 */
int certstore_build_truststore(enum certstore_type type, STACK_OF(X509) * cas, const char *password, time_t created,
			       unsigned char **out, size_t *out_len, char *err, size_t errlen);

/*
 * Builds a keystore in memory from `key` and `chain` (leaf first; validate them first with
 * certstore_validate_identity). `alias` names the entry (NULL = certstore_cert_alias of the
 * leaf); it is lowercased.
 *  - CERTSTORE_PKCS12: one PrivateKeyEntry: the key in a pkcs8ShroudedKeyBag (PBES2,
 *    PBKDF2-HMAC-SHA256, AES-256-CBC), the chain in an encrypted safe (same scheme), key and
 *    leaf tied by localKeyID and friendlyName; HMAC-SHA256 MAC; `password` required.
 *    Java builds the entry's chain from the certificates by issuer, so "Certificate chain
 *    length" is the number of chain certificates given.
 *  - CERTSTORE_PEM: key material for PEMBasedSslContextFactory: the private key as PKCS#8,
 *    then the chain's "CERTIFICATE" blocks. With a non-empty `password` the key is an
 *    "ENCRYPTED PRIVATE KEY" under pbeWithSHAAnd3-KeyTripleDES-CBC, CERTSTORE_PEM_KEY_ITER
 *    iterations: Cassandra's PEMReader looks the cipher up by
 *    EncryptedPrivateKeyInfo.getAlgName(), which Java 17 answers "PBES2" for PBES2 keys and
 *    cannot instantiate, but "PBEWithSHA1AndDESede" for this scheme. Set keystore_password
 *    in cassandra.yaml exactly when a password is given here (PEMReader decrypts when a
 *    password is configured). Without a password: "PRIVATE KEY" (unencrypted).
 *  - CERTSTORE_JKS: -ENOTSUP (JKS private key protection is a proprietary weak scheme).
 * On success *out (malloc'd, *out_len bytes) holds key material: release it with
 * certstore_secret_free().
 */
int certstore_build_keystore(enum certstore_type type, EVP_PKEY *key, STACK_OF(X509) * chain, const char *password,
			     const char *alias, unsigned char **out, size_t *out_len, char *err, size_t errlen);

/* Cleanses and frees a buffer from certstore_build_keystore (NULL is fine). */
void certstore_secret_free(unsigned char *buf, size_t len);

/* One certificate of a store or PEM file, as reported by certstore_describe. */
struct certstore_entry {
	char *alias;            /* entry alias (PKCS#12 friendlyName, JKS alias, or certstore_cert_alias) */
	const char *entry_type; /* static: "trustedCertEntry", "PrivateKeyEntry" (the leaf of a key
				 * entry), "chainCertificate" (a later certificate of that entry's
				 * chain), or "certificate" (PKCS#12 certificate Java lists as no entry) */
	unsigned chain_index;   /* 0 for the leaf or a trusted certificate, 1.. along a key's chain */
	unsigned chain_length;  /* certificates in the entry's chain (1 for trusted certificates) */
	char *subject;          /* RFC 2253, e.g. "CN=node1,O=Test" */
	char *issuer;           /* RFC 2253 */
	char serial[84];        /* lowercase hex without leading zeros, as keytool prints it */
	char sha256[65];        /* lowercase hex SHA-256 of the DER */
	int64_t not_before;     /* unix seconds */
	int64_t not_after;      /* unix seconds */
	int64_t days_left;      /* floor((not_after - now) / 86400); negative once expired */
};

/* The entries of a store, in file order (a key entry's chain follows its leaf). */
struct certstore_list {
	struct certstore_entry *v;
	size_t n;
	enum certstore_type type;
	bool integrity_checked; /* PKCS#12 MAC or JKS hash verified with the password */
	bool has_private_key;   /* the store holds at least one private key */
};
void certstore_list_free(struct certstore_list *list);

/*
 * Reads a store (`len` bytes at `buf`) and describes every certificate in it, as Java sees
 * the entries. `now` (0 = time(NULL)) is the reference for days_left.
 *  - PKCS#12: with `password` the MAC is verified (-EACCES when it does not match) and
 *    encrypted safes are decrypted; without one (NULL) only unencrypted safes are read and
 *    integrity_checked is false (-EACCES when certificates are in encrypted safes). Keys are
 *    matched to certificates by localKeyID; each key's chain is built by issuer, as the JDK
 *    does; certificate bags with Oracle's trustedKeyUsage are trustedCertEntry.
 *  - JKS (version 1 or 2): trusted and private key entries (the key itself is not decrypted);
 *    the integrity hash is verified when `password` is given (-EACCES on mismatch).
 *  - PEM: CERTIFICATE blocks; with a private key block present the first certificate is
 *    the PrivateKeyEntry leaf and the others its chain, else each is a trustedCertEntry.
 *    `password` is unused. This is also the expiry report of a PEM certificate file.
 * Size limit CERTSTORE_INPUT_MAX (-EFBIG); malformed stores -EBADMSG.
 * On success *out is filled (caller frees with certstore_list_free); on error it is zeroed.
 */
int certstore_describe(const void *buf, size_t len, enum certstore_type type, const char *password, time_t now,
		       struct certstore_list *out, char *err, size_t errlen);

/* Describes one certificate into `e` (caller frees with certstore_entry_clear); alias and
 * entry_type are left NULL. Returns 0, -EINVAL or -ENOMEM. */
int certstore_entry_from_cert(X509 *cert, time_t now, struct certstore_entry *e);
void certstore_entry_clear(struct certstore_entry *e);

#endif
