/* certs_cmd: cassandra-agentctl's offline `truststore build|show` and `keystore build|show` commands. */
#include "certs_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/x509v3.h>

#include "certstore.h"
#include "fileio.h"

enum { CERTS_OK = 0, CERTS_FAILED = 1, CERTS_USAGE = 2 };

#define PROG              "cassandra-agentctl"
#define PASSWORD_FILE_MAX 4096
#define TRUSTSTORE_MODE   0644
#define KEYSTORE_MODE     0600
#define MAX_CA_FILES      64

struct certs_cmd {
	bool json;
	const char *command; /* "truststore build", ... */
	struct certstore_warnings warnings;
};

static void certs_cmd_usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [--json] truststore build --out FILE [--type pkcs12|pem|jks] --password-file F\n"
		"                CERT.pem ...\n"
		"       " PROG " [--json] truststore show FILE [--type pkcs12|pem|jks] [--password-file F]\n"
		"       " PROG " [--json] keystore build --out FILE --key KEY.pem --cert CHAIN.pem --password-file F\n"
		"                [--type pkcs12|pem] [--ca CA.pem ...] [--address IP] [--hostname NAME] "
		"[--require-san]\n"
		"                [--alias NAME] [--key-password-file F]\n");
}

static void certs_cmd_json_error(struct certs_cmd *c, const char *msg)
{
	json_t *o;

	if (!c->json)
		return;
	o = json_pack("{s:b, s:s, s:s}", "ok", 0, "command", c->command, "error", msg);
	if (o) {
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
	}
}

/* Prints "cassandra-agentctl: <command>: <message>" (and the JSON error); returns 1. */
__attribute__((format(printf, 2, 3))) static int certs_cmd_refuse(struct certs_cmd *c, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, PROG ": %s: %s\n", c->command, msg);
	certs_cmd_json_error(c, msg);
	return CERTS_FAILED;
}

__attribute__((format(printf, 2, 3))) static int certs_cmd_usage_error(struct certs_cmd *c, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, PROG ": %s: %s\n", c->command, msg);
	certs_cmd_usage(stderr);
	certs_cmd_json_error(c, msg);
	return CERTS_USAGE;
}

/* Reads an input file (certificates, key, store), refusing more than CERTSTORE_INPUT_MAX. */
static int certs_cmd_read_input(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	char e[300];
	int rc = fileio_read(path, CERTSTORE_INPUT_MAX, buf, len, e, sizeof e);

	if (rc == -EFBIG)
		snprintf(err, errlen, "%s: larger than the 1 MiB (%d bytes) input limit", path, CERTSTORE_INPUT_MAX);
	else if (rc < 0)
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-rc));
	return rc;
}

static void certs_cmd_secret_free(char *s, size_t len)
{
	if (s) {
		OPENSSL_cleanse(s, len);
		free(s);
	}
}

/* The first line of a password file, "\n" and "\r" stripped; *out is malloc'd (free with
 * certs_cmd_password_free). Missing, unreadable or empty files are errors. */
static int certs_cmd_read_password(const char *path, char **out, char *err, size_t errlen)
{
	char e[300], *buf = NULL, *pw;
	size_t len = 0, n;
	int rc;

	*out = NULL;
	rc = fileio_read(path, PASSWORD_FILE_MAX, &buf, &len, e, sizeof e);
	if (rc == -EFBIG) {
		snprintf(err, errlen, "password file %s is larger than %d bytes", path, PASSWORD_FILE_MAX);
		return rc;
	}
	if (rc < 0) {
		snprintf(err, errlen, "cannot read password file %s: %s", path, strerror(-rc));
		return rc;
	}
	n = strcspn(buf, "\n");
	if (n && buf[n - 1] == '\r')
		n--;
	if (n == 0) {
		certs_cmd_secret_free(buf, len);
		snprintf(err, errlen, "password file %s is empty (the password is its first line)", path);
		return -ENODATA;
	}
	pw = malloc(n + 1);
	if (pw) {
		memcpy(pw, buf, n);
		pw[n] = '\0';
	}
	certs_cmd_secret_free(buf, len);
	if (!pw) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*out = pw;
	return 0;
}

static void certs_cmd_password_free(char *pw)
{
	if (pw)
		certs_cmd_secret_free(pw, strlen(pw));
}

/* Reads and parses one PEM certificate file, appending its certificates to *all. */
static int certs_cmd_load_certs(struct certs_cmd *c, const char *path, STACK_OF(X509) * *all)
{
	char err[700], *buf = NULL;
	STACK_OF(X509) *certs = NULL;
	size_t len = 0;
	int rc;

	if (certs_cmd_read_input(path, &buf, &len, err, sizeof err) < 0)
		return certs_cmd_refuse(c, "%s", err);
	rc = certstore_parse_certs(buf, len, &certs, err, sizeof err);
	free(buf);
	if (rc < 0)
		return certs_cmd_refuse(c, "%s: %s", path, err);
	if (!*all && !(*all = sk_X509_new_null())) {
		certstore_certs_free(certs);
		return certs_cmd_refuse(c, "out of memory");
	}
	while (sk_X509_num(certs) > 0) {
		X509 *x = sk_X509_shift(certs);

		if (!sk_X509_push(*all, x)) {
			X509_free(x);
			certstore_certs_free(certs);
			return certs_cmd_refuse(c, "out of memory");
		}
	}
	certstore_certs_free(certs);
	return CERTS_OK;
}

static json_t *certs_cmd_entry_json(const struct certstore_entry *e)
{
	char na[32], nb[32];
	struct tm tm;
	time_t t;

	t = (time_t)e->not_after;
	// NOLINTNEXTLINE(cert-err33-c): any date fits the 32 bytes, even with a 10-digit year
	strftime(na, sizeof na, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	t = (time_t)e->not_before;
	// NOLINTNEXTLINE(cert-err33-c): any date fits the 32 bytes, even with a 10-digit year
	strftime(nb, sizeof nb, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	return json_pack("{s:s, s:s, s:i, s:i, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:I}", "alias", e->alias,
			 "entry_type", e->entry_type, "chain_index", (int)e->chain_index, "chain_length",
			 (int)e->chain_length, "subject", e->subject, "issuer", e->issuer, "serial", e->serial,
			 "sha256", e->sha256, "not_before", (json_int_t)e->not_before, "not_before_utc", nb,
			 "not_after", (json_int_t)e->not_after, "not_after_utc", na, "days_left",
			 (json_int_t)e->days_left);
}

static void certs_cmd_print_table(const struct certstore_list *l)
{
	static const char *const head[] = {
		"ALIAS", "ENTRY", "CHAIN", "DAYS_LEFT", "NOT_AFTER", "SERIAL", "SUBJECT", "ISSUER",
	};
	enum { NCOL = sizeof head / sizeof head[0] };
	size_t w[NCOL];
	char num[3][32];

	for (size_t k = 0; k < NCOL; k++)
		w[k] = strlen(head[k]);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			for (size_t k = 0; k < NCOL; k++)
				printf("%-*s%s", k + 1 < NCOL ? (int)w[k] : 0, head[k], k + 1 < NCOL ? "  " : "\n");
		}
		for (size_t i = 0; i < l->n; i++) {
			const struct certstore_entry *e = &l->v[i];
			struct tm tm;
			time_t t = (time_t)e->not_after;
			const char *col[NCOL];

			snprintf(num[0], sizeof num[0], "%u/%u", e->chain_index + 1, e->chain_length);
			snprintf(num[1], sizeof num[1], "%lld", (long long)e->days_left);
			// NOLINTNEXTLINE(cert-err33-c): any date fits the 32 bytes, even with a 10-digit year
			strftime(num[2], sizeof num[2], "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
			col[0] = e->alias;
			col[1] = e->entry_type;
			col[2] = num[0];
			col[3] = num[1];
			col[4] = num[2];
			col[5] = e->serial;
			col[6] = e->subject;
			col[7] = e->issuer;
			for (size_t k = 0; k < NCOL; k++) {
				if (pass == 0 && strlen(col[k]) > w[k])
					w[k] = strlen(col[k]);
				else if (pass == 1)
					printf("%-*s%s", k + 1 < NCOL ? (int)w[k] : 0, col[k],
					       k + 1 < NCOL ? "  " : "\n");
			}
		}
	}
}

/* Prints warnings to stderr and the result (JSON or table) to stdout. */
static int certs_cmd_report(struct certs_cmd *c, const char *file, enum certstore_type type, size_t bytes,
			    const struct certstore_list *l, const char *headline)
{
	for (size_t i = 0; i < c->warnings.n; i++)
		fprintf(stderr, PROG ": warning: %s\n", c->warnings.v[i]);
	if (c->json) {
		json_t *o = json_pack("{s:b, s:s, s:s, s:s, s:I, s:b, s:b, s:[], s:[]}", "ok", 1, "command", c->command,
				      "type", certstore_type_name(type), "file", file, "bytes", (json_int_t)bytes,
				      "integrity_checked", l->integrity_checked, "has_private_key", l->has_private_key,
				      "entries", "warnings");

		if (!o)
			return certs_cmd_refuse(c, "out of memory");
		for (size_t i = 0; i < l->n; i++)
			json_array_append_new(json_object_get(o, "entries"), certs_cmd_entry_json(&l->v[i]));
		for (size_t i = 0; i < c->warnings.n; i++)
			json_array_append_new(json_object_get(o, "warnings"), json_string(c->warnings.v[i]));
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
		return CERTS_OK;
	}
	printf("%s\n\n", headline);
	certs_cmd_print_table(l);
	return CERTS_OK;
}

/* Option ids; each is also a bit in the `allowed` mask of a command. */
enum {
	OPT_OUT = 1,
	OPT_TYPE,
	OPT_PASSWORD_FILE,
	OPT_JSON,
	OPT_KEY,
	OPT_CERT,
	OPT_CA,
	OPT_ADDRESS,
	OPT_HOSTNAME,
	OPT_REQUIRE_SAN,
	OPT_ALIAS,
	OPT_KEY_PASSWORD_FILE,
};
#define OPT_BIT(o) (1u << (o))

static const struct option certs_cmd_options[] = {
	{"out", required_argument, NULL, OPT_OUT},
	{"type", required_argument, NULL, OPT_TYPE},
	{"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
	{"json", no_argument, NULL, OPT_JSON},
	{"key", required_argument, NULL, OPT_KEY},
	{"cert", required_argument, NULL, OPT_CERT},
	{"ca", required_argument, NULL, OPT_CA},
	{"address", required_argument, NULL, OPT_ADDRESS},
	{"hostname", required_argument, NULL, OPT_HOSTNAME},
	{"require-san", no_argument, NULL, OPT_REQUIRE_SAN},
	{"alias", required_argument, NULL, OPT_ALIAS},
	{"key-password-file", required_argument, NULL, OPT_KEY_PASSWORD_FILE},
	{NULL, 0, NULL, 0},
};

struct certs_cmd_args {
	const char *out, *type, *password_file, *key, *cert, *address, *hostname, *alias, *key_password_file;
	const char *ca[MAX_CA_FILES];
	int nca;
	bool require_san;
	char **pos; /* positional arguments (GNU getopt moves them after the options) */
	int npos;
};

/* Parses the options after the verb (argv[0] is the verb; options and positionals in any
 * order). Returns -1 when parsed, else the exit code of a usage error. */
static int certs_cmd_parse(struct certs_cmd *c, int argc, char **argv, unsigned allowed, struct certs_cmd_args *a)
{
	int opt;

	memset(a, 0, sizeof *a);
	optind = 0; /* GNU: full re-initialisation, the caller may have used getopt already */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", certs_cmd_options, NULL)) != -1) {
		if (opt == ':')
			return certs_cmd_usage_error(c, "option %s needs a value", argv[optind - 1]);
		if (opt == '?' || (opt != OPT_JSON && !(allowed & OPT_BIT(opt))))
			return certs_cmd_usage_error(c, "unknown option %s", argv[optind - 1]);
		switch (opt) {
		case OPT_OUT: a->out = optarg; break;
		case OPT_TYPE: a->type = optarg; break;
		case OPT_PASSWORD_FILE: a->password_file = optarg; break;
		case OPT_JSON: c->json = true; break;
		case OPT_KEY: a->key = optarg; break;
		case OPT_CERT: a->cert = optarg; break;
		case OPT_CA:
			if (a->nca == MAX_CA_FILES)
				return certs_cmd_usage_error(c, "more than %d --ca files", MAX_CA_FILES);
			a->ca[a->nca++] = optarg;
			break;
		case OPT_ADDRESS: a->address = optarg; break;
		case OPT_HOSTNAME: a->hostname = optarg; break;
		case OPT_REQUIRE_SAN: a->require_san = true; break;
		case OPT_ALIAS: a->alias = optarg; break;
		case OPT_KEY_PASSWORD_FILE: a->key_password_file = optarg; break;
		default: break;
		}
	}
	a->pos = argv + optind;
	a->npos = argc - optind;
	return -1;
}

static int certs_cmd_type(struct certs_cmd *c, const char *name, enum certstore_type *t, bool allow_jks)
{
	if (!name)
		return -1;
	if (certstore_type_from_name(name, t) < 0 || (!allow_jks && *t == CERTSTORE_JKS))
		return certs_cmd_usage_error(c, "unknown --type %s (%s)", name,
					     allow_jks ? "pkcs12, pem or jks" : "pkcs12 or pem");
	return -1;
}

static int certs_cmd_truststore_build(struct certs_cmd *c, const struct certs_cmd_args *a, char **pos, int npos)
{
	enum certstore_type type = CERTSTORE_PKCS12;
	STACK_OF(X509) *cas = NULL;
	struct certstore_policy policy = {0};
	struct certstore_list list = {0};
	unsigned char *out = NULL;
	size_t out_len = 0;
	char err[1024], *password = NULL, headline[600];
	int rc;

	if ((rc = certs_cmd_type(c, a->type, &type, true)) >= 0)
		return rc;
	if (!a->out)
		return certs_cmd_usage_error(c, "--out FILE is required");
	if (npos == 0)
		return certs_cmd_usage_error(c, "no CA certificate file given (CERT.pem ...)");
	if (!a->password_file && type != CERTSTORE_PEM)
		return certs_cmd_usage_error(c, "--password-file F is required for a %s truststore",
					     certstore_type_name(type));
	if (a->password_file && certs_cmd_read_password(a->password_file, &password, err, sizeof err) < 0)
		return certs_cmd_refuse(c, "%s", err);
	for (int i = 0; i < npos; i++)
		if ((rc = certs_cmd_load_certs(c, pos[i], &cas)) != CERTS_OK)
			goto out;
	rc = certstore_validate_cas(cas, &policy, &c->warnings, err, sizeof err);
	if (rc < 0) {
		rc = certs_cmd_refuse(c, "refused: %s", err);
		goto out;
	}
	rc = certstore_build_truststore(type, cas, password, 0, &out, &out_len, err, sizeof err);
	if (rc < 0) {
		rc = certs_cmd_refuse(c, "cannot build the truststore: %s", err);
		goto out;
	}
	/* Read back what was built (MAC / digest checked) before replacing the file. */
	rc = certstore_describe(out, out_len, type, password, 0, &list, err, sizeof err);
	if (rc < 0) {
		rc = certs_cmd_refuse(c, "the built truststore does not read back: %s", err);
		goto out;
	}
	rc = fileio_replace(a->out, out, out_len, TRUSTSTORE_MODE, NULL, 0, err, sizeof err);
	if (rc < 0) {
		rc = certs_cmd_refuse(c, "cannot write %s: %s", a->out, err);
		goto out;
	}
	snprintf(headline, sizeof headline, "wrote %s truststore %s: %zu certificate%s", certstore_type_name(type),
		 a->out, list.n, list.n == 1 ? "" : "s");
	rc = certs_cmd_report(c, a->out, type, out_len, &list, headline);
out:
	certstore_list_free(&list);
	free(out);
	certstore_certs_free(cas);
	certs_cmd_password_free(password);
	return rc;
}

static int certs_cmd_keystore_build(struct certs_cmd *c, const struct certs_cmd_args *a, int npos)
{
	enum certstore_type type = CERTSTORE_PKCS12;
	STACK_OF(X509) *chain = NULL, *trust = NULL;
	struct certstore_policy policy = {0};
	struct certstore_list list = {0};
	EVP_PKEY *key = NULL;
	unsigned char *out = NULL;
	size_t out_len = 0, key_len = 0;
	char err[1024], *password = NULL, *key_password = NULL, *key_buf = NULL, headline[600];
	int rc;

	if ((rc = certs_cmd_type(c, a->type, &type, false)) >= 0)
		return rc;
	if (!a->out || !a->key || !a->cert)
		return certs_cmd_usage_error(c, "--out FILE, --key KEY.pem and --cert CHAIN.pem are required");
	if (npos)
		return certs_cmd_usage_error(c, "unexpected argument (keystore build takes options only)");
	if (!a->password_file && type == CERTSTORE_PKCS12)
		return certs_cmd_usage_error(c, "--password-file F is required for a pkcs12 keystore");
	if (a->password_file && certs_cmd_read_password(a->password_file, &password, err, sizeof err) < 0)
		return certs_cmd_refuse(c, "%s", err);
	if (a->key_password_file && certs_cmd_read_password(a->key_password_file, &key_password, err, sizeof err) < 0) {
		rc = certs_cmd_refuse(c, "%s", err);
		goto out;
	}
	if (certs_cmd_read_input(a->key, &key_buf, &key_len, err, sizeof err) < 0) {
		rc = certs_cmd_refuse(c, "%s", err);
		goto out;
	}
	rc = certstore_parse_key(key_buf, key_len, key_password, &key, err, sizeof err);
	if (rc < 0) {
		rc = certs_cmd_refuse(c, "%s: %s", a->key, err);
		goto out;
	}
	if ((rc = certs_cmd_load_certs(c, a->cert, &chain)) != CERTS_OK)
		goto out;
	for (int i = 0; i < a->nca; i++)
		if ((rc = certs_cmd_load_certs(c, a->ca[i], &trust)) != CERTS_OK)
			goto out;
	if (!trust && sk_X509_num(chain) > 1) {
		/* No --ca: the chain's own root, when it ends with one, anchors the verification. */
		X509 *last = sk_X509_value(chain, sk_X509_num(chain) - 1);

		if (X509_check_issued(last, last) == X509_V_OK) {
			trust = sk_X509_new_null();
			if (!trust || !X509_up_ref(last) || !sk_X509_push(trust, last)) {
				rc = certs_cmd_refuse(c, "out of memory");
				goto out;
			}
		}
	}
	policy.node_address = a->address;
	policy.node_hostname = a->hostname;
	policy.require_san = a->require_san;
	rc = certstore_validate_identity(key, chain, trust, &policy, &c->warnings, err, sizeof err);
	if (rc < 0) {
		rc = certs_cmd_refuse(c, "refused: %s", err);
		goto out;
	}
	rc = certstore_build_keystore(type, key, chain, password, a->alias, &out, &out_len, err, sizeof err);
	if (rc < 0) {
		rc = certs_cmd_refuse(c, "cannot build the keystore: %s", err);
		goto out;
	}
	rc = certstore_describe(out, out_len, type, password, 0, &list, err, sizeof err);
	if (rc < 0) {
		rc = certs_cmd_refuse(c, "the built keystore does not read back: %s", err);
		goto out;
	}
	rc = fileio_replace(a->out, out, out_len, KEYSTORE_MODE, NULL, 0, err, sizeof err);
	if (rc < 0) {
		rc = certs_cmd_refuse(c, "cannot write %s: %s", a->out, err);
		goto out;
	}
	snprintf(headline, sizeof headline, "wrote %s keystore %s: 1 private key, chain of %d certificate%s",
		 certstore_type_name(type), a->out, sk_X509_num(chain), sk_X509_num(chain) == 1 ? "" : "s");
	rc = certs_cmd_report(c, a->out, type, out_len, &list, headline);
out:
	certstore_list_free(&list);
	certstore_secret_free(out, out_len);
	if (key_buf)
		certs_cmd_secret_free(key_buf, key_len);
	EVP_PKEY_free(key);
	certstore_certs_free(chain);
	certstore_certs_free(trust);
	certs_cmd_password_free(password);
	certs_cmd_password_free(key_password);
	return rc;
}

static int certs_cmd_show(struct certs_cmd *c, const struct certs_cmd_args *a, char **pos, int npos)
{
	enum certstore_type type = CERTSTORE_PKCS12;
	struct certstore_list list = {0};
	char err[1024], *password = NULL, *buf = NULL, headline[700];
	size_t len = 0;
	int rc;

	if ((rc = certs_cmd_type(c, a->type, &type, true)) >= 0)
		return rc;
	if (npos != 1)
		return certs_cmd_usage_error(c, npos ? "give one FILE" : "FILE is required");
	if (a->password_file && certs_cmd_read_password(a->password_file, &password, err, sizeof err) < 0)
		return certs_cmd_refuse(c, "%s", err);
	if (certs_cmd_read_input(pos[0], &buf, &len, err, sizeof err) < 0) {
		rc = certs_cmd_refuse(c, "%s", err);
		goto out;
	}
	/* Undetectable content is read as PEM: its error says what was found instead. */
	if (!a->type && certstore_type_detect(buf, len, &type) < 0)
		type = CERTSTORE_PEM;
	rc = certstore_describe(buf, len, type, password, 0, &list, err, sizeof err);
	if (rc < 0) {
		rc = certs_cmd_refuse(c, "%s: %s", pos[0], err);
		goto out;
	}
	snprintf(headline, sizeof headline, "%s: %s store, %zu certificate%s%s", pos[0], certstore_type_name(type),
		 list.n, list.n == 1 ? "" : "s",
		 type == CERTSTORE_PEM    ? ""
		 : list.integrity_checked ? ", integrity verified with the password"
					  : ", integrity NOT verified (no --password-file)");
	rc = certs_cmd_report(c, pos[0], type, len, &list, headline);
out:
	certstore_list_free(&list);
	if (buf)
		certs_cmd_secret_free(buf, len);
	certs_cmd_password_free(password);
	return rc;
}

int certs_cmd_run(int argc, char **argv, bool json)
{
	struct certs_cmd c = {.json = json, .command = "certs"};
	struct certs_cmd_args a;
	char command[64];
	unsigned allowed;
	int rc;
	bool trust;

	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--json"))
			c.json = true;
	if (argc < 2 || (strcmp(argv[0], "truststore") && strcmp(argv[0], "keystore"))) {
		fprintf(stderr, PROG ": expected truststore build|show or keystore build|show\n");
		certs_cmd_usage(stderr);
		certs_cmd_json_error(&c, "expected truststore build|show or keystore build|show");
		return CERTS_USAGE;
	}
	trust = !strcmp(argv[0], "truststore");
	snprintf(command, sizeof command, "%s %s", argv[0], argv[1]);
	c.command = command;
	if (!strcmp(argv[1], "build"))
		allowed = OPT_BIT(OPT_OUT) | OPT_BIT(OPT_TYPE) | OPT_BIT(OPT_PASSWORD_FILE);
	else if (!strcmp(argv[1], "show"))
		allowed = OPT_BIT(OPT_TYPE) | OPT_BIT(OPT_PASSWORD_FILE);
	else
		return certs_cmd_usage_error(&c, "unknown subcommand %s (build or show)", argv[1]);
	if (!trust && !strcmp(argv[1], "build"))
		allowed |= OPT_BIT(OPT_KEY) | OPT_BIT(OPT_CERT) | OPT_BIT(OPT_CA) | OPT_BIT(OPT_ADDRESS) |
			   OPT_BIT(OPT_HOSTNAME) | OPT_BIT(OPT_REQUIRE_SAN) | OPT_BIT(OPT_ALIAS) |
			   OPT_BIT(OPT_KEY_PASSWORD_FILE);
	rc = certs_cmd_parse(&c, argc - 1, argv + 1, allowed, &a);
	if (rc >= 0)
		return rc;
	if (!strcmp(argv[1], "show"))
		rc = certs_cmd_show(&c, &a, a.pos, a.npos);
	else if (trust)
		rc = certs_cmd_truststore_build(&c, &a, a.pos, a.npos);
	else
		rc = certs_cmd_keystore_build(&c, &a, a.npos);
	certstore_warnings_free(&c.warnings);
	return rc;
}

int certs_cmd_main(int argc, char **argv)
{
	return certs_cmd_run(argc, argv, false);
}
