/* certs_job: certificate rotation and expiry on the loop (see certs_job.h).
 *
 * Happy path of one phase: IDLE -> (inputs parsed and validated, cassandra.yaml read, the new
 * stores built in memory, all in certs_job_rotate) WRITING: each store file is replaced
 * crash-safely in a worker thread, one after the other, the previous file kept in
 * state_directory/history, then the record in state_directory/certs -> RELOADING (`nodetool
 * reloadssl`, Cassandra 4.0+) -> VERIFYING (SWITCH_IDENTITY with client encryption on: a TLS
 * handshake to the native port in a worker thread; the SHA-256 of the leaf presented must be
 * the new one) -> IDLE: callback, event, expiry republished into health.
 * Cassandra 3.11 has no reloadssl: WRITING -> IDLE with the settings marked restart-pending,
 * which asks maintenance for a restart under a lease (verification waits for that restart).
 * A phase whose result equals the record writes nothing and runs no reloadssl: IDLE ->
 * DEFERRED (the callback on the next loop turn, "no change"), or for SWITCH_IDENTITY with
 * client encryption IDLE -> VERIFYING, so that a retried phase is verified too.
 *
 * Failure modes:
 * - refused input (garbage, DER, expired, not yet valid, key mismatch, unknown CA, weak key,
 *   over 1 MiB, empty CA list, cassandra.yaml not naming the stores, Cassandra's version not
 *   known yet): certs_job_rotate returns the error at once and nothing is written;
 * - a store write fails: the files written before it are new, the others old (each file is
 *   always whole), the record is not updated, the command fails; repeating the phase writes
 *   them again (the record differs);
 * - reloadssl fails or times out: the command fails; files and record stay written;
 * - the handshake fails, times out (CERTS_JOB_VERIFY_TIMEOUT_MS) or presents another
 *   certificate: the command fails saying what was presented; the stores stay written;
 * - stop: the callback gets -ECANCELED at once; a write already queued finishes (a whole
 *   file), nothing further starts; memory goes when the last write, nodetool call and
 *   handshake have come back (`pending`) and both timers are closed (`handles_open`).
 * No journal of its own: the dispatcher journals the command, and every phase is idempotent,
 * so a phase cut short by a crash is repaired by running it again.
 * Small local files (cassandra.yaml, the records, the stores for the expiry report) are read
 * on the loop with a bound, as the config job does; writes and the handshake never are.
 * Passwords are read from cassandra.yaml for each use, never logged, never put in a message,
 * and cleansed after use.
 */
#include "certs_job.h"

#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "cassandra_schema.h"
#include "certstore.h"
#include "fileio.h"
#include "log.h"
#include "persist.h"
#include "yaml_edit.h"

#define PHASE(x)         CASSANDRA_AGENT__V1__ROTATION_PHASE__ROTATION_PHASE_##x
#define CERTS_WRITES_MAX 3 /* a server store, a client store, the record */
#define CERTS_MSG_MAX    2048
#define CERTS_DONE_MAX   1024
#define CERTS_WARN_MAX   768

enum certs_state {
	CERTS_IDLE,
	CERTS_WRITING,   /* store files, then the record: one persist write at a time */
	CERTS_RELOADING, /* nodetool reloadssl */
	CERTS_VERIFYING, /* TLS handshake to the native port in a worker */
	CERTS_DEFERRED,  /* the result is known at once ("no change"): callback on the next turn */
	CERTS_STOPPED,
	CERTS_STATE_COUNT,
};

static const char *const certs_state_names[CERTS_STATE_COUNT] = {
	[CERTS_IDLE] = "idle",           [CERTS_WRITING] = "writing",   [CERTS_RELOADING] = "reloading",
	[CERTS_VERIFYING] = "verifying", [CERTS_DEFERRED] = "deferred", [CERTS_STOPPED] = "stopped",
};

#define TO(s) (1u << (s))
/* The transition table: certs_transitions[from] holds bit (1 << to) for each allowed move. */
static const unsigned certs_transitions[CERTS_STATE_COUNT] = {
	[CERTS_IDLE] = TO(CERTS_WRITING) | TO(CERTS_VERIFYING) | TO(CERTS_DEFERRED) | TO(CERTS_STOPPED),
	[CERTS_WRITING] = TO(CERTS_RELOADING) | TO(CERTS_VERIFYING) | TO(CERTS_IDLE) | TO(CERTS_STOPPED),
	[CERTS_RELOADING] = TO(CERTS_VERIFYING) | TO(CERTS_IDLE) | TO(CERTS_STOPPED),
	[CERTS_VERIFYING] = TO(CERTS_IDLE) | TO(CERTS_STOPPED),
	[CERTS_DEFERRED] = TO(CERTS_IDLE) | TO(CERTS_STOPPED),
	[CERTS_STOPPED] = 0,
};
#undef TO

/* What cassandra.yaml says about the stores (strings malloc'd; passwords cleansed on free). */
struct certs_yaml {
	char *keystore, *keystore_password, *truststore, *truststore_password;
	bool client_enabled;
	char *client_keystore, *client_keystore_password, *client_truststore, *client_truststore_password;
};

/* One store file to write. */
struct certs_target {
	const char *what; /* "server truststore", ... */
	const char *path;
	const char *password;
	const char *password_key; /* the cassandra.yaml key of the password, for messages */
};

struct certs_write {
	const char *what;
	char *path;
	unsigned char *bytes;
	size_t len;
	mode_t mode;
	bool secret;  /* key material: cleansed before it is freed */
	bool history; /* keep the previous file in state_directory/history */
	bool record;  /* the record in state_directory/certs: install op->result when written */
	char note[96];
};

/* The phase under way. */
struct certs_op {
	CassandraAgent__V1__RotationPhase phase;
	certs_job_done_cb cb;
	void *data;
	struct certs_write writes[CERTS_WRITES_MAX];
	size_t n_writes, next_write;
	STACK_OF(X509) * result; /* the new trust set or identity chain: the record once written */
	bool result_is_trust;
	bool client_written; /* a client_encryption_options store was written */
	enum cassandra_version version;
	bool verify;          /* SWITCH_IDENTITY with client_encryption_options.enabled */
	char leaf_sha256[65]; /* hex SHA-256 of the new leaf */
	char leaf_subject[256];
	char native_address[256];
	uint16_t native_port;
	char done[CERTS_DONE_MAX]; /* what happened so far, for the message */
	char warnings[CERTS_WARN_MAX];
};

/* A TLS handshake to the native port (worker thread). Owns copies of all it needs. */
struct certs_verify {
	uv_work_t work;
	struct certs_job *j;
	char address[256];
	char port[8];
	int timeout_ms;
	int err;
	char errmsg[320];
	char sha256[65];
	char subject[256];
	char serial[84];
};

struct certs_job {
	uv_loop_t *loop;
	const struct agent_config *cfg;
	struct health *health;
	struct nodetool_runner *runner;
	struct cassandra_config *cc;
	uv_timer_t expiry_timer;
	uv_timer_t later_timer;
	int handles_open;
	int pending; /* persist writes, nodetool calls, handshakes outstanding */
	bool closing;
	enum certs_state state;
	struct certs_op *op;
	struct certs_verify *verify; /* the handshake under way, or NULL */
	STACK_OF(X509) * trust;      /* the recorded trust set, or NULL */
	STACK_OF(X509) * identity;   /* the recorded identity chain, or NULL */
	struct health_cert *certs;   /* the last expiry report (HEALTH_CERTS_MAX) */
	size_t n_certs;
	char last_phase[24];
	char last_result[16];
	char last_message[CERTS_MSG_MAX];
	int64_t last_unix_ms;
};

/* ---- small helpers ----------------------------------------------------------------------- */

static int64_t certs_now_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t certs_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* floor((not_after - now) / 86400), as certstore computes days_left. */
static int32_t certs_days_left(int64_t not_after, time_t now)
{
	int64_t d = not_after - (int64_t)now;

	return (int32_t)(d >= 0 ? d / 86400 : -((-d + 86399) / 86400));
}

static const char *certs_phase_name(CassandraAgent__V1__RotationPhase p)
{
	switch (p) {
	case PHASE(ADD_TRUST): return "ADD_TRUST";
	case PHASE(SWITCH_IDENTITY): return "SWITCH_IDENTITY";
	case PHASE(REMOVE_TRUST): return "REMOVE_TRUST";
	default: return "UNSPECIFIED";
	}
}

/* Appends to a bounded string: `sep` first when it is not empty. */
__attribute__((format(printf, 4, 5))) static void certs_append(char *buf, size_t cap, const char *sep, const char *fmt,
							       ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n && sep && n < cap)
		n += (size_t)snprintf(buf + n, cap - n, "%s", sep);
	if (n >= cap)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, cap - n, fmt, ap);
	va_end(ap);
}

static void certs_secret_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static char *certs_state_path(const struct agent_config *cfg, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", cfg->state_directory, name) < 0)
		return NULL;
	return p;
}

static int certs_sha256(X509 *c, unsigned char md[32])
{
	unsigned int n = 0;

	return X509_digest(c, EVP_sha256(), md, &n) == 1 && n == 32 ? 0 : -ENOMEM;
}

static void certs_sha256_hex(X509 *c, char out[65])
{
	unsigned char md[32];

	out[0] = '\0';
	if (certs_sha256(c, md) < 0)
		return;
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static bool certs_stack_has(STACK_OF(X509) * s, const unsigned char md[32])
{
	unsigned char m[32];

	for (int i = 0; s && i < sk_X509_num(s); i++)
		if (certs_sha256(sk_X509_value(s, i), m) == 0 && memcmp(m, md, 32) == 0)
			return true;
	return false;
}

/* True when `a` and `b` hold the same certificates (by SHA-256), whatever the order. */
static bool certs_same_set(STACK_OF(X509) * a, STACK_OF(X509) * b)
{
	unsigned char md[32];

	if (!a || !b)
		return false;
	for (int i = 0; i < sk_X509_num(a); i++)
		if (certs_sha256(sk_X509_value(a, i), md) < 0 || !certs_stack_has(b, md))
			return false;
	for (int i = 0; i < sk_X509_num(b); i++)
		if (certs_sha256(sk_X509_value(b, i), md) < 0 || !certs_stack_has(a, md))
			return false;
	return true;
}

/* True when `a` and `b` are the same chain, certificate by certificate. */
static bool certs_same_chain(STACK_OF(X509) * a, STACK_OF(X509) * b)
{
	unsigned char ma[32], mb[32];

	if (!a || !b || sk_X509_num(a) != sk_X509_num(b))
		return false;
	for (int i = 0; i < sk_X509_num(a); i++)
		if (certs_sha256(sk_X509_value(a, i), ma) < 0 || certs_sha256(sk_X509_value(b, i), mb) < 0 ||
		    memcmp(ma, mb, 32) != 0)
			return false;
	return true;
}

/* Appends to `dst` every certificate of `src` it does not hold yet (by SHA-256). */
static int certs_union_into(STACK_OF(X509) * dst, STACK_OF(X509) * src)
{
	unsigned char md[32];

	for (int i = 0; src && i < sk_X509_num(src); i++) {
		X509 *c = sk_X509_value(src, i);

		if (certs_sha256(c, md) < 0)
			return -ENOMEM;
		if (certs_stack_has(dst, md))
			continue;
		if (!sk_X509_push(dst, c))
			return -ENOMEM;
		X509_up_ref(c);
	}
	return 0;
}

/* "CN=...,O=..." of a certificate (RFC 2253) into `buf`. */
static const char *certs_subject(X509 *c, char *buf, size_t len)
{
	struct certstore_entry e = {0};

	if (certstore_entry_from_cert(c, 0, &e) == 0)
		snprintf(buf, len, "%s", e.subject);
	else
		snprintf(buf, len, "?");
	certstore_entry_clear(&e);
	return buf;
}

/* The certificates as a PEM bundle (malloc'd). */
static int certs_pem_bundle(STACK_OF(X509) * certs, unsigned char **out, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	BUF_MEM *m = NULL;
	int rc = -ENOMEM;

	*out = NULL;
	if (!b)
		return -ENOMEM;
	for (int i = 0; i < sk_X509_num(certs); i++)
		if (!PEM_write_bio_X509(b, sk_X509_value(certs, i)))
			goto out;
	BIO_get_mem_ptr(b, &m);
	if (!m || !(*out = malloc(m->length ? m->length : 1)))
		goto out;
	memcpy(*out, m->data, m->length);
	*len = m->length;
	rc = 0;
out:
	BIO_free(b);
	ERR_clear_error();
	return rc;
}

/* Verifies `chain` (leaf first) against every certificate of `trust` as an anchor, as Java
 * does, ignoring validity dates (only the trust question is asked). */
static int certs_chain_verifies(STACK_OF(X509) * chain, STACK_OF(X509) * trust, char *err, size_t errlen)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	int rc = -ENOMEM;

	snprintf(err, errlen, "out of memory");
	if (!store || !ctx || !untrusted || sk_X509_num(chain) < 1)
		goto out;
	for (int i = 0; i < sk_X509_num(trust); i++)
		if (!X509_STORE_add_cert(store, sk_X509_value(trust, i)))
			goto out;
	for (int i = 1; i < sk_X509_num(chain); i++)
		if (!sk_X509_push(untrusted, sk_X509_value(chain, i)))
			goto out;
	if (!X509_STORE_CTX_init(ctx, store, sk_X509_value(chain, 0), untrusted))
		goto out;
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME);
	if (X509_verify_cert(ctx) == 1) {
		rc = 0;
		err[0] = '\0';
	} else {
		rc = -EKEYREJECTED;
		snprintf(err, errlen, "%s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	}
out:
	ERR_clear_error();
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

/* ---- cassandra.yaml ---------------------------------------------------------------------- */

static void certs_yaml_free(struct certs_yaml *y)
{
	free(y->keystore);
	free(y->truststore);
	free(y->client_keystore);
	free(y->client_truststore);
	certs_secret_free(y->keystore_password);
	certs_secret_free(y->truststore_password);
	certs_secret_free(y->client_keystore_password);
	certs_secret_free(y->client_truststore_password);
	memset(y, 0, sizeof *y);
}

/* The string at `path`, or NULL when absent or null. -EINVAL for a value holding a NUL. */
static int certs_yaml_string(const struct yaml_edit_doc *doc, const char *path, char **out, char *err, size_t errlen)
{
	const struct yaml_edit_node *n = NULL;
	char e[YAML_EDIT_ERR_MAX];

	*out = NULL;
	if (yaml_edit_lookup(doc, path, &n, e, sizeof e) < 0 || n->kind != YAML_EDIT_SCALAR ||
	    n->type == YAML_EDIT_NULL || !n->value || n->value_len == 0)
		return 0;
	if (strlen(n->value) != n->value_len) {
		snprintf(err, errlen, "cassandra.yaml: %s holds a NUL character", path);
		return -EINVAL;
	}
	*out = strndup(n->value, n->value_len);
	if (!*out) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static bool certs_yaml_true(const struct yaml_edit_doc *doc, const char *path)
{
	const struct yaml_edit_node *n = NULL;
	char e[YAML_EDIT_ERR_MAX];

	if (yaml_edit_lookup(doc, path, &n, e, sizeof e) < 0 || n->kind != YAML_EDIT_SCALAR || !n->value)
		return false;
	return n->type == YAML_EDIT_BOOL && (strcasecmp(n->value, "true") == 0 || strcasecmp(n->value, "yes") == 0 ||
					     strcasecmp(n->value, "on") == 0 || strcasecmp(n->value, "y") == 0);
}

/* Reads the store settings of cassandra.yaml (the file's text is cleansed: it holds passwords). */
static int certs_yaml_read(const struct agent_config *cfg, struct certs_yaml *y, char *err, size_t errlen)
{
	static const struct {
		const char *path;
		size_t off;
	} keys[] = {
		{"server_encryption_options.keystore", offsetof(struct certs_yaml, keystore)},
		{"server_encryption_options.keystore_password", offsetof(struct certs_yaml, keystore_password)},
		{"server_encryption_options.truststore", offsetof(struct certs_yaml, truststore)},
		{"server_encryption_options.truststore_password", offsetof(struct certs_yaml, truststore_password)},
		{"client_encryption_options.keystore", offsetof(struct certs_yaml, client_keystore)},
		{"client_encryption_options.keystore_password", offsetof(struct certs_yaml, client_keystore_password)},
		{"client_encryption_options.truststore", offsetof(struct certs_yaml, client_truststore)},
		{"client_encryption_options.truststore_password",
		 offsetof(struct certs_yaml, client_truststore_password)},
	};
	struct yaml_edit_doc *doc = NULL;
	char *text = NULL, e[YAML_EDIT_ERR_MAX];
	size_t len = 0;
	int rc;

	memset(y, 0, sizeof *y);
	rc = fileio_read(cfg->cassandra.yaml, YAML_EDIT_MAX_SIZE, &text, &len, e, sizeof e);
	if (rc < 0) {
		snprintf(err, errlen, "cannot read %s: %s", cfg->cassandra.yaml, e);
		return rc;
	}
	rc = yaml_edit_parse(text, len, &doc, e, sizeof e);
	OPENSSL_cleanse(text, len);
	free(text);
	if (rc < 0) {
		snprintf(err, errlen, "%s:%s", cfg->cassandra.yaml, e);
		return rc;
	}
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		rc = certs_yaml_string(doc, keys[i].path, (char **)((char *)y + keys[i].off), err, errlen);
		if (rc < 0)
			break;
	}
	y->client_enabled = certs_yaml_true(doc, "client_encryption_options.enabled");
	yaml_edit_free(doc);
	if (rc < 0)
		certs_yaml_free(y);
	return rc;
}

static int certs_check_path(const char *key, const char *path, char *err, size_t errlen)
{
	if (path[0] != '/') {
		snprintf(err, errlen,
			 "cassandra.yaml: %s \"%s\" is relative (Cassandra resolves it against its working directory): "
			 "set an absolute path",
			 key, path);
		return -EINVAL;
	}
	return 0;
}

/*
 * The store files of one kind to write: server_encryption_options' and, when client
 * encryption is on and names another file, client_encryption_options'. A store of this kind
 * may not be the file of the other kind (writing one would destroy the other).
 */
static int certs_targets(const struct certs_yaml *y, bool keystores, bool need_password, struct certs_target *t,
			 size_t *n, char *err, size_t errlen)
{
	const char *kind = keystores ? "keystore" : "truststore";
	const char *server = keystores ? y->keystore : y->truststore;
	const char *server_pw = keystores ? y->keystore_password : y->truststore_password;
	const char *client = keystores ? y->client_keystore : y->client_truststore;
	const char *client_pw = keystores ? y->client_keystore_password : y->client_truststore_password;
	const char *others[] = {keystores ? y->truststore : y->keystore,
				y->client_enabled ? (keystores ? y->client_truststore : y->client_keystore) : NULL};
	char key[96];
	int rc;

	*n = 0;
	if (!server) {
		snprintf(err, errlen, "cassandra.yaml sets no server_encryption_options.%s: nothing to write", kind);
		return -EINVAL;
	}
	snprintf(key, sizeof key, "server_encryption_options.%s", kind);
	if ((rc = certs_check_path(key, server, err, errlen)) < 0)
		return rc;
	if (need_password && (!server_pw || !*server_pw)) {
		snprintf(err, errlen, "cassandra.yaml sets no server_encryption_options.%s_password: the %s needs one",
			 kind, kind);
		return -EINVAL;
	}
	t[(*n)++] = (struct certs_target){keystores ? "server keystore" : "server truststore", server, server_pw,
					  keystores ? "server_encryption_options.keystore_password"
						    : "server_encryption_options.truststore_password"};
	if (y->client_enabled && client && strcmp(client, server) != 0) {
		snprintf(key, sizeof key, "client_encryption_options.%s", kind);
		if ((rc = certs_check_path(key, client, err, errlen)) < 0)
			return rc;
		if (need_password && (!client_pw || !*client_pw)) {
			snprintf(err, errlen,
				 "cassandra.yaml sets no client_encryption_options.%s_password for its own %s", kind,
				 kind);
			return -EINVAL;
		}
		t[(*n)++] =
			(struct certs_target){keystores ? "client keystore" : "client truststore", client, client_pw,
					      keystores ? "client_encryption_options.keystore_password"
							: "client_encryption_options.truststore_password"};
	}
	for (size_t i = 0; i < *n; i++)
		for (size_t k = 0; k < sizeof others / sizeof others[0]; k++)
			if (others[k] && strcmp(others[k], t[i].path) == 0) {
				snprintf(
					err, errlen,
					"cassandra.yaml names %s as both a keystore and a truststore: the agent writes "
					"them as separate files",
					t[i].path);
				return -EINVAL;
			}
	return 0;
}

/* ---- the record and the expiry report ---------------------------------------------------- */

/* Loads a recorded PEM bundle; NULL when absent or unreadable (logged). */
static STACK_OF(X509) * certs_load_record(struct certs_job *j, const char *name)
{
	char rel[64], *path, *buf = NULL, e[320];
	STACK_OF(X509) *certs = NULL;
	size_t len = 0;
	int rc;

	snprintf(rel, sizeof rel, "%s/%s", CERTS_JOB_DIR, name);
	path = certs_state_path(j->cfg, rel);
	if (!path)
		return NULL;
	rc = fileio_read(path, CERTSTORE_INPUT_MAX, &buf, &len, e, sizeof e);
	if (rc == 0 && certstore_parse_certs(buf, len, &certs, e, sizeof e) < 0) {
		log_warnx("certs", "ignoring the unreadable record %s: %s", path, e);
		health_event(j->health, "certs_record_unreadable", path, "%s", e);
		certs = NULL;
	} else if (rc < 0 && rc != -ENOENT) {
		log_warnx("certs", "cannot read the record %s: %s", path, e);
	}
	free(buf);
	free(path);
	return certs;
}

static void certs_add_entry(struct health_cert *certs, size_t *n, const char *path, const struct certstore_entry *e,
			    time_t now)
{
	struct health_cert *c;

	if (*n >= HEALTH_CERTS_MAX)
		return;
	c = &certs[(*n)++];
	memset(c, 0, sizeof *c);
	snprintf(c->path, sizeof c->path, "%s", path);
	snprintf(c->subject, sizeof c->subject, "%s", e->subject ? e->subject : "");
	snprintf(c->issuer, sizeof c->issuer, "%s", e->issuer ? e->issuer : "");
	snprintf(c->serial, sizeof c->serial, "%.79s", e->serial);
	c->not_after_unix = e->not_after;
	c->days_left = certs_days_left(e->not_after, now);
}

static void certs_add_stack(struct health_cert *certs, size_t *n, const char *path, STACK_OF(X509) * s, time_t now)
{
	for (int i = 0; s && i < sk_X509_num(s); i++) {
		struct certstore_entry e = {0};

		if (certstore_entry_from_cert(sk_X509_value(s, i), now, &e) == 0)
			certs_add_entry(certs, n, path, &e, now);
		certstore_entry_clear(&e);
	}
}

/* Describes a store file; when it cannot be read, reports `fallback` (the record) for it. */
static void certs_add_store(struct health_cert *certs, size_t *n, const char *path, const char *password,
			    enum certstore_type configured, STACK_OF(X509) * fallback, time_t now)
{
	struct certstore_list list = {0};
	enum certstore_type type = configured;
	char *buf = NULL, e[320] = "";
	size_t len = 0;
	int rc;

	if (path[0] != '/')
		return; /* relative to Cassandra's working directory: not a file the agent can name */
	rc = fileio_read(path, CERTSTORE_INPUT_MAX, &buf, &len, e, sizeof e);
	if (rc == 0) {
		if (certstore_type_detect(buf, len, &type) < 0)
			type = configured;
		rc = certstore_describe(buf, len, type, password, now, &list, e, sizeof e);
		OPENSSL_cleanse(buf, len);
	}
	free(buf);
	if (rc == 0) {
		for (size_t i = 0; i < list.n; i++)
			certs_add_entry(certs, n, path, &list.v[i], now);
		certstore_list_free(&list);
		return;
	}
	log_debug("certs", "expiry of %s from the agent's record: %s", path, e);
	certs_add_stack(certs, n, path, fallback, now);
}

static enum certstore_type certs_truststore_type(const struct agent_config *cfg)
{
	enum certstore_type t = CERTSTORE_PKCS12;

	if (cfg->tls.truststore_type)
		certstore_type_from_name(cfg->tls.truststore_type, &t);
	return t;
}

/* A PEM setup (4.1+ PEMBasedSslContextFactory) gets a PEM keystore; the others PKCS#12. */
static enum certstore_type certs_keystore_type(const struct agent_config *cfg)
{
	return certs_truststore_type(cfg) == CERTSTORE_PEM ? CERTSTORE_PEM : CERTSTORE_PKCS12;
}

/* Publishes every certificate in use, with its expiry, into health (CERT_EXPIRING). */
static void certs_publish(struct certs_job *j)
{
	struct health_cert *certs = calloc(HEALTH_CERTS_MAX, sizeof *certs);
	struct certs_yaml y;
	time_t now = time(NULL);
	char e[512];
	size_t n = 0;

	if (!certs)
		return;
	if (certs_yaml_read(j->cfg, &y, e, sizeof e) == 0) {
		enum certstore_type tt = certs_truststore_type(j->cfg), kt = certs_keystore_type(j->cfg);

		if (y.truststore)
			certs_add_store(certs, &n, y.truststore, y.truststore_password, tt, j->trust, now);
		if (y.client_enabled && y.client_truststore &&
		    (!y.truststore || strcmp(y.client_truststore, y.truststore)))
			certs_add_store(certs, &n, y.client_truststore, y.client_truststore_password, tt, j->trust,
					now);
		if (y.keystore)
			certs_add_store(certs, &n, y.keystore, y.keystore_password, kt, j->identity, now);
		if (y.client_enabled && y.client_keystore && (!y.keystore || strcmp(y.client_keystore, y.keystore)))
			certs_add_store(certs, &n, y.client_keystore, y.client_keystore_password, kt, j->identity, now);
		certs_yaml_free(&y);
	} else {
		/* Without cassandra.yaml, the record tells what was installed. */
		char *tp = certs_state_path(j->cfg, CERTS_JOB_DIR "/" CERTS_JOB_TRUST_FILE);
		char *ip = certs_state_path(j->cfg, CERTS_JOB_DIR "/" CERTS_JOB_IDENTITY_FILE);

		log_debug("certs", "expiry from the agent's record: %s", e);
		if (tp)
			certs_add_stack(certs, &n, tp, j->trust, now);
		if (ip)
			certs_add_stack(certs, &n, ip, j->identity, now);
		free(tp);
		free(ip);
	}
	if (j->cfg->controller.enabled && j->cfg->controller.cert) {
		STACK_OF(X509) *s = NULL;
		char *buf = NULL;
		size_t len = 0;

		if (fileio_read(j->cfg->controller.cert, CERTSTORE_INPUT_MAX, &buf, &len, e, sizeof e) == 0 &&
		    certstore_parse_certs(buf, len, &s, e, sizeof e) == 0)
			certs_add_stack(certs, &n, j->cfg->controller.cert, s, now);
		else
			log_debug("certs", "controller certificate %s: %s", j->cfg->controller.cert, e);
		certstore_certs_free(s);
		free(buf);
	}
	health_update_certificates(j->health, certs, n);
	free(j->certs);
	j->certs = certs;
	j->n_certs = n;
}

/* ---- state machine ----------------------------------------------------------------------- */

static void certs_set_state(struct certs_job *j, enum certs_state to)
{
	enum certs_state from = j->state;

	if (from == to)
		return;
	if (!(certs_transitions[from] & (1u << to))) {
		/* A programmer error: the table above is the invariant. */
		log_err("certs", "invalid rotation transition %s -> %s", certs_state_names[from],
			certs_state_names[to]);
		assert(!"invalid certs_job transition");
	}
	log_debug("certs", "rotation %s -> %s", certs_state_names[from], certs_state_names[to]);
	j->state = to;
}

static void certs_write_clear(struct certs_write *w)
{
	if (w->bytes && w->secret)
		OPENSSL_cleanse(w->bytes, w->len);
	free(w->bytes);
	free(w->path);
	w->bytes = NULL;
	w->path = NULL;
}

static void certs_op_free(struct certs_op *op)
{
	if (!op)
		return;
	for (size_t i = 0; i < op->n_writes; i++)
		certs_write_clear(&op->writes[i]);
	certstore_certs_free(op->result);
	free(op);
}

static void certs_maybe_free(struct certs_job *j)
{
	if (j->closing && j->handles_open == 0 && j->pending == 0) {
		certstore_certs_free(j->trust);
		certstore_certs_free(j->identity);
		free(j->certs);
		free(j);
	}
}

/* Ends the phase under way: event, log, expiry report, then the callback (once). */
__attribute__((format(printf, 3, 4))) static void certs_finish(struct certs_job *j, int err, const char *fmt, ...)
{
	struct certs_op *op = j->op;
	certs_job_done_cb cb = op->cb;
	void *data = op->data;
	char text[CERTS_MSG_MAX - 64], msg[CERTS_MSG_MAX];
	const char *phase = certs_phase_name(op->phase);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof msg, "%s: %.1280s%s%.700s", phase, text, op->warnings[0] ? "; warnings: " : "",
		 op->warnings);
	if (err)
		log_warnx("certs", "rotation failed: %s", msg);
	health_event(j->health, err ? "certs_rotation_failed" : "certs_rotated", phase, "%s", msg);
	snprintf(j->last_phase, sizeof j->last_phase, "%s", phase);
	snprintf(j->last_result, sizeof j->last_result, "%s", err ? "failed" : "ok");
	snprintf(j->last_message, sizeof j->last_message, "%s", msg);
	j->last_unix_ms = certs_now_unix_ms();
	j->op = NULL;
	certs_set_state(j, CERTS_IDLE);
	certs_op_free(op);
	certs_publish(j);
	if (cb)
		cb(data, err, msg);
}

/* ---- verification: a TLS handshake to the native port (worker thread) ------------------- */

static int certs_wait_fd(int fd, short events, int64_t deadline_ms)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int64_t left = deadline_ms - certs_mono_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int certs_connect(struct certs_verify *v, int64_t deadline_ms, int *fd_out)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res = NULL;
	int rc, last = -ECONNREFUSED;

	rc = getaddrinfo(v->address, v->port, &hints, &res);
	if (rc != 0) {
		snprintf(v->errmsg, sizeof v->errmsg, "cannot resolve %s: %s", v->address, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		int soerr = 0;
		socklen_t sl = sizeof soerr;

		if (fd < 0) {
			last = -errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			last = -errno;
			close(fd);
			continue;
		}
		rc = certs_wait_fd(fd, POLLOUT, deadline_ms);
		if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0) {
			freeaddrinfo(res);
			*fd_out = fd;
			return 0;
		}
		last = rc < 0 ? rc : -(soerr ? soerr : EIO);
		close(fd);
		if (last == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	snprintf(v->errmsg, sizeof v->errmsg, "cannot connect: %s", strerror(-last));
	return last;
}

static void certs_verify_work_cb(uv_work_t *w)
{
	struct certs_verify *v = w->data;
	int64_t deadline = certs_mono_ms() + v->timeout_ms;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	X509 *peer = NULL;
	struct certstore_entry e = {0};
	unsigned char addr[16];
	int fd = -1, rc;

	v->err = certs_connect(v, deadline, &fd);
	if (v->err < 0)
		goto out;
	ctx = SSL_CTX_new(TLS_client_method());
	ssl = ctx ? SSL_new(ctx) : NULL;
	if (!ssl || !SSL_set_fd(ssl, fd)) {
		v->err = -ENOMEM;
		snprintf(v->errmsg, sizeof v->errmsg, "cannot set up TLS");
		goto out;
	}
	/* Only the presented certificate matters here, not whether we trust it. */
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	if (inet_pton(AF_INET, v->address, addr) != 1 && inet_pton(AF_INET6, v->address, addr) != 1)
		SSL_set_tlsext_host_name(ssl, v->address);
	for (;;) {
		int r = SSL_connect(ssl), e2;

		if (r == 1)
			break;
		e2 = SSL_get_error(ssl, r);
		if (e2 == SSL_ERROR_WANT_READ || e2 == SSL_ERROR_WANT_WRITE) {
			rc = certs_wait_fd(fd, e2 == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
			if (rc < 0) {
				v->err = rc;
				snprintf(v->errmsg, sizeof v->errmsg, "TLS handshake: %s",
					 rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
				goto out;
			}
			continue;
		}
		{
			unsigned long oe = ERR_get_error();
			char buf[200];

			if (oe)
				ERR_error_string_n(oe, buf, sizeof buf);
			else
				snprintf(buf, sizeof buf, "the peer closed the connection (is the native port TLS?)");
			v->err = -EPROTO;
			snprintf(v->errmsg, sizeof v->errmsg, "TLS handshake failed: %s", buf);
			goto out;
		}
	}
	peer = SSL_get1_peer_certificate(ssl);
	if (!peer) {
		v->err = -EPROTO;
		snprintf(v->errmsg, sizeof v->errmsg, "the TLS peer presented no certificate");
		goto out;
	}
	if (certstore_entry_from_cert(peer, 0, &e) < 0) {
		v->err = -ENOMEM;
		snprintf(v->errmsg, sizeof v->errmsg, "cannot read the presented certificate");
		goto out;
	}
	snprintf(v->sha256, sizeof v->sha256, "%s", e.sha256);
	snprintf(v->subject, sizeof v->subject, "%s", e.subject);
	snprintf(v->serial, sizeof v->serial, "%s", e.serial);
	v->err = 0;
out:
	certstore_entry_clear(&e);
	X509_free(peer);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	ERR_clear_error();
	/* This libuv worker thread outlives OpenSSL's exit-time cleanup (libuv joins its pool after
	 * atexit handlers ran): free its thread-local state now, or it is lost at exit (valgrind). */
	OPENSSL_thread_stop();
}

static void certs_verify_done_cb(uv_work_t *w, int status)
{
	struct certs_verify *v = w->data;
	struct certs_job *j = v->j;
	struct certs_op *op;

	j->pending--;
	j->verify = NULL;
	if (j->closing) {
		free(v);
		certs_maybe_free(j);
		return;
	}
	op = j->op;
	assert(op && j->state == CERTS_VERIFYING);
	if (status < 0)
		certs_finish(j, -ECANCELED, "%s; the verification was cancelled", op->done);
	else if (v->err < 0)
		certs_finish(j, v->err, "%s; cannot verify the native port %s:%s: %s (the stores stay written)",
			     op->done, v->address, v->port, v->errmsg);
	else if (strcmp(v->sha256, op->leaf_sha256) != 0)
		certs_finish(j, -EPROTO,
			     "%s; verification failed: the native port %s:%s presents %s (serial %s, sha256 %.16s...), "
			     "not the new certificate %s (sha256 %.16s...); the stores stay written",
			     op->done, v->address, v->port, v->subject, v->serial, v->sha256, op->leaf_subject,
			     op->leaf_sha256);
	else
		certs_finish(j, 0, "%s; verified: the native port %s:%s presents the new certificate %s", op->done,
			     v->address, v->port, v->subject);
	free(v);
}

/* Starts the handshake. Returns 0, or a negative errno when nothing was queued. */
static int certs_start_verify(struct certs_job *j)
{
	struct certs_op *op = j->op;
	struct certs_verify *v = calloc(1, sizeof *v);
	int rc;

	if (!v)
		return -ENOMEM;
	v->j = j;
	v->work.data = v;
	v->timeout_ms = CERTS_JOB_VERIFY_TIMEOUT_MS;
	snprintf(v->address, sizeof v->address, "%s", op->native_address);
	snprintf(v->port, sizeof v->port, "%u", (unsigned)op->native_port);
	rc = uv_queue_work(j->loop, &v->work, certs_verify_work_cb, certs_verify_done_cb);
	if (rc < 0) {
		free(v);
		return rc;
	}
	j->pending++;
	j->verify = v;
	certs_set_state(j, CERTS_VERIFYING);
	return 0;
}

/* ---- writes and reloadssl ---------------------------------------------------------------- */

static void certs_reloadssl_cb(void *data, const struct nodetool_result *res)
{
	struct certs_job *j = data;
	struct certs_op *op;

	j->pending--;
	if (j->closing) {
		certs_maybe_free(j);
		return;
	}
	op = j->op;
	assert(op && j->state == CERTS_RELOADING);
	if (res->err) {
		certs_finish(
			j, res->err == -ECHILD ? -EIO : res->err,
			"%s; nodetool reloadssl failed: %s (the files are written; Cassandra may still use the old "
			"ones)",
			op->done, res->errtext);
		return;
	}
	certs_append(op->done, sizeof op->done, "; ", "nodetool reloadssl ok");
	if (op->verify) {
		int rc = certs_start_verify(j);

		if (rc < 0)
			certs_finish(j, rc, "%s; cannot verify the native port: %s", op->done, strerror(-rc));
		return;
	}
	certs_finish(j, 0, "%s", op->done);
}

/* Every file is written: apply (reloadssl on 4.0+, restart-pending on 3.11), then verify. */
static void certs_after_writes(struct certs_job *j)
{
	struct certs_op *op = j->op;
	const char *args[] = {"reloadssl", NULL};
	int rc;

	if (op->version == CASSANDRA_3_11) {
		if (j->cc) {
			cassandra_config_mark_restart(j->cc, "server_encryption_options");
			if (op->client_written)
				cassandra_config_mark_restart(j->cc, "client_encryption_options");
		}
		certs_finish(j, 0, "%s; Cassandra 3.11 has no reloadssl: restart pending%s", op->done,
			     op->verify ? " (the native port is verified after the restart)" : "");
		return;
	}
	rc = nodetool_run(j->runner, args, j->cfg->cassandra.nodetool_timeout_ms, certs_reloadssl_cb, j, NULL);
	if (rc < 0) {
		certs_finish(j, rc, "%s; cannot run nodetool reloadssl: %s (the files are written)", op->done,
			     strerror(-rc));
		return;
	}
	j->pending++;
	certs_set_state(j, CERTS_RELOADING);
}

static void certs_written_cb(void *data, int err, const char *errmsg);

/* Queues the next write. Returns 0 or a negative errno (nothing queued). */
static int certs_write_next(struct certs_job *j)
{
	struct certs_op *op = j->op;
	struct certs_write *w = &op->writes[op->next_write];
	char *hist = NULL;
	int rc;

	if (w->history) {
		hist = certs_state_path(j->cfg, CERTS_JOB_HISTORY);
		if (!hist)
			return -ENOMEM;
		rc = persist_write_history(j->loop, w->path, w->bytes, w->len, w->mode, hist, CERTS_JOB_HISTORY_KEEP,
					   certs_written_cb, j);
	} else {
		rc = persist_write(j->loop, w->path, w->bytes, w->len, w->mode, certs_written_cb, j);
	}
	free(hist);
	if (rc < 0)
		return rc;
	op->next_write++;
	j->pending++;
	log_info("certs", "%s: writing the %s %s", certs_phase_name(op->phase), w->what, w->path);
	/* persist holds its own copy now. */
	if (w->secret)
		OPENSSL_cleanse(w->bytes, w->len);
	return 0;
}

static void certs_written_cb(void *data, int err, const char *errmsg)
{
	struct certs_job *j = data;
	struct certs_op *op;
	struct certs_write *w;
	int rc;

	j->pending--;
	if (j->closing) {
		certs_maybe_free(j);
		return;
	}
	op = j->op;
	assert(op && j->state == CERTS_WRITING && op->next_write > 0);
	w = &op->writes[op->next_write - 1];
	if (err) {
		certs_finish(j, err, "%s%scannot write the %s %s: %s (that file is unchanged%s)", op->done,
			     op->done[0] ? "; " : "", w->what, w->path, errmsg,
			     op->next_write < op->n_writes ? "; the phase must run again" : "");
		return;
	}
	if (w->record) {
		/* What is recorded is what is installed: the stores were written first. */
		STACK_OF(X509) **slot = op->result_is_trust ? &j->trust : &j->identity;

		certstore_certs_free(*slot);
		*slot = op->result;
		op->result = NULL;
	} else {
		certs_append(op->done, sizeof op->done, "; ", "wrote the %s %s%s", w->what, w->path, w->note);
		if (strncmp(w->what, "client", 6) == 0)
			op->client_written = true;
	}
	if (op->next_write < op->n_writes) {
		rc = certs_write_next(j);
		if (rc < 0)
			certs_finish(j, rc, "%s; cannot queue the next write: %s", op->done, strerror(-rc));
		return;
	}
	certs_after_writes(j);
}

static int certs_add_write(struct certs_op *op, const char *what, const char *path, unsigned char *bytes, size_t len,
			   mode_t mode, bool secret, bool history, bool record)
{
	struct certs_write *w;

	assert(op->n_writes < CERTS_WRITES_MAX);
	w = &op->writes[op->n_writes];
	w->path = strdup(path);
	if (!w->path) {
		if (secret)
			OPENSSL_cleanse(bytes, len);
		free(bytes);
		return -ENOMEM;
	}
	w->what = what;
	w->bytes = bytes;
	w->len = len;
	w->mode = mode;
	w->secret = secret;
	w->history = history;
	w->record = record;
	op->n_writes++;
	return 0;
}

/* Adds the record write (state_directory/certs/NAME) of op->result. */
static int certs_add_record(struct certs_job *j, struct certs_op *op, const char *name, char *err, size_t errlen)
{
	char rel[64], *path;
	unsigned char *pem = NULL;
	size_t len = 0;
	int rc;

	snprintf(rel, sizeof rel, "%s/%s", CERTS_JOB_DIR, name);
	path = certs_state_path(j->cfg, rel);
	if (!path || certs_pem_bundle(op->result, &pem, &len) < 0) {
		free(path);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = certs_add_write(op, op->result_is_trust ? "trust record" : "identity record", path, pem, len, 0644, false,
			     false, true);
	free(path);
	if (rc < 0)
		snprintf(err, errlen, "out of memory");
	return rc;
}

/* ---- planning a phase (all checks happen here, before anything is written) --------------- */

static void certs_take_warnings(struct certs_op *op, struct certstore_warnings *w)
{
	for (size_t i = 0; i < w->n; i++)
		certs_append(op->warnings, sizeof op->warnings, "; ", "%s", w->v[i]);
	certstore_warnings_free(w);
}

static int certs_check_sizes(const CassandraAgent__V1__RotateCertificates *r, char *err, size_t errlen)
{
	size_t total = 0, n;

	for (size_t i = 0; i < r->n_ca_pem; i++) {
		n = r->ca_pem[i] ? strlen(r->ca_pem[i]) : 0;
		total += n;
		if (n > CERTSTORE_INPUT_MAX || total > CERTSTORE_INPUT_MAX) {
			snprintf(err, errlen, "ca_pem: %zu bytes; certificate input is limited to 1 MiB", total);
			return -EFBIG;
		}
	}
	n = r->cert_chain_pem ? strlen(r->cert_chain_pem) : 0;
	if (n > CERTSTORE_INPUT_MAX) {
		snprintf(err, errlen, "cert_chain_pem: %zu bytes; certificate input is limited to 1 MiB", n);
		return -EFBIG;
	}
	n = r->key_pem ? strlen(r->key_pem) : 0;
	if (n > CERTSTORE_INPUT_MAX) {
		snprintf(err, errlen, "key_pem: %zu bytes; key input is limited to 1 MiB", n);
		return -EFBIG;
	}
	return 0;
}

/* Every certificate of every ca_pem entry, in order. */
static int certs_parse_cas(const CassandraAgent__V1__RotateCertificates *r, STACK_OF(X509) * *out, char *err,
			   size_t errlen)
{
	STACK_OF(X509) * all;
	char e[512];
	int rc;

	*out = NULL;
	if (r->n_ca_pem == 0) {
		snprintf(err, errlen, "no CA certificate given (ca_pem is empty)");
		return -ENODATA;
	}
	if (!(all = sk_X509_new_null())) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < r->n_ca_pem; i++) {
		STACK_OF(X509) *part = NULL;
		const char *s = r->ca_pem[i] ? r->ca_pem[i] : "";

		rc = certstore_parse_certs(s, strlen(s), &part, e, sizeof e);
		if (rc < 0) {
			snprintf(err, errlen, "ca_pem[%zu]: %s", i, e);
			certstore_certs_free(all);
			return rc;
		}
		while (sk_X509_num(part) > 0) {
			X509 *c = sk_X509_shift(part);

			if (!sk_X509_push(all, c)) {
				X509_free(c);
				certstore_certs_free(part);
				certstore_certs_free(all);
				snprintf(err, errlen, "out of memory");
				return -ENOMEM;
			}
		}
		certstore_certs_free(part);
	}
	*out = all;
	return 0;
}

/* What the node runs and where the stores go: checked once the input itself is known good, so
 * that bad input always gets the input's error. Fills op->version and `y`. */
static int certs_environment(struct certs_job *j, struct certs_op *op, struct certs_yaml *y, char *err, size_t errlen)
{
	CassandraAgent__V1__NodeIdentity node = CASSANDRA_AGENT__V1__NODE_IDENTITY__INIT;

	health_node_identity(j->health, &node);
	if (cassandra_version_parse(node.cassandra_version, &op->version) < 0) {
		snprintf(err, errlen,
			 "Cassandra's version is not known yet (nodetool version): cannot tell how to apply "
			 "the stores");
		return -EAGAIN;
	}
	return certs_yaml_read(j->cfg, y, err, errlen);
}

/* ADD_TRUST and REMOVE_TRUST: the new trust set and the truststores to write. */
static int certs_plan_trust(struct certs_job *j, struct certs_op *op, const CassandraAgent__V1__RotateCertificates *r,
			    struct certs_yaml *y, char *err, size_t errlen)
{
	enum certstore_type type = certs_truststore_type(j->cfg);
	struct certstore_warnings w = {0};
	struct certstore_policy pol = {0};
	struct certs_target t[2];
	STACK_OF(X509) *given = NULL;
	char e[512], subj[256];
	size_t nt = 0;
	int rc;

	rc = certs_parse_cas(r, &given, err, errlen);
	if (rc < 0)
		return rc;
	rc = certstore_validate_cas(given, &pol, &w, e, sizeof e);
	if (rc < 0) {
		snprintf(err, errlen, "ca_pem: %s", e);
		goto out;
	}
	certs_take_warnings(op, &w);
	op->result_is_trust = true;
	if (!(op->result = sk_X509_new_null())) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (op->phase == PHASE(ADD_TRUST))
		rc = certs_union_into(op->result, j->trust);
	if (rc == 0)
		rc = certs_union_into(op->result, given);
	if (rc < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (op->phase == PHASE(REMOVE_TRUST)) {
		if (!j->identity) {
			rc = -ENOENT;
			snprintf(err, errlen,
				 "no node identity is recorded (SWITCH_IDENTITY first): cannot check that this node's "
				 "certificate still verifies against the new trust set");
			goto out;
		}
		rc = certs_chain_verifies(j->identity, op->result, e, sizeof e);
		if (rc < 0) {
			snprintf(err, errlen,
				 "refused: this node's certificate %s would not verify against the new trust set (%s); "
				 "SWITCH_IDENTITY to a certificate of the remaining CAs first",
				 certs_subject(sk_X509_value(j->identity, 0), subj, sizeof subj), e);
			goto out;
		}
	}
	rc = certs_environment(j, op, y, err, errlen);
	if (rc < 0)
		goto out;
	rc = certs_targets(y, false, type != CERTSTORE_PEM, t, &nt, err, errlen);
	if (rc < 0)
		goto out;
	if (certs_same_set(op->result, j->trust)) {
		snprintf(op->done, sizeof op->done, "no change: the trust set already is these %d CA certificate%s",
			 sk_X509_num(op->result), sk_X509_num(op->result) == 1 ? "" : "s");
		goto out;
	}
	for (size_t i = 0; i < nt; i++) {
		unsigned char *bytes = NULL;
		size_t len = 0;

		rc = certstore_build_truststore(type, op->result, t[i].password, 0, &bytes, &len, e, sizeof e);
		if (rc < 0) {
			snprintf(err, errlen, "cannot build the %s: %s", t[i].what, e);
			goto out;
		}
		rc = certs_add_write(op, t[i].what, t[i].path, bytes, len, CERTS_JOB_TRUSTSTORE_MODE, false, true,
				     false);
		if (rc < 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		snprintf(op->writes[op->n_writes - 1].note, sizeof op->writes[0].note, " (%s, %d CA certificate%s)",
			 certstore_type_name(type), sk_X509_num(op->result), sk_X509_num(op->result) == 1 ? "" : "s");
	}
	rc = certs_add_record(j, op, CERTS_JOB_TRUST_FILE, err, errlen);
out:
	certstore_certs_free(given);
	certstore_warnings_free(&w);
	return rc;
}

/* SWITCH_IDENTITY: the new keystores and what the verification expects. */
static int certs_plan_identity(struct certs_job *j, struct certs_op *op,
			       const CassandraAgent__V1__RotateCertificates *r, struct certs_yaml *y, char *err,
			       size_t errlen)
{
	CassandraAgent__V1__NodeIdentity node = CASSANDRA_AGENT__V1__NODE_IDENTITY__INIT;
	enum certstore_type type = certs_keystore_type(j->cfg);
	struct certstore_warnings w = {0};
	struct certstore_policy pol = {0};
	struct certs_target t[2];
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	char e[512];
	size_t nt = 0;
	int rc;

	if (!r->cert_chain_pem || !r->cert_chain_pem[0]) {
		snprintf(err, errlen, "no node certificate chain given (cert_chain_pem is empty)");
		return -EINVAL;
	}
	if (!r->key_pem || !r->key_pem[0]) {
		snprintf(err, errlen, "no private key given (key_pem is empty)");
		return -EINVAL;
	}
	rc = certstore_parse_certs(r->cert_chain_pem, strlen(r->cert_chain_pem), &chain, e, sizeof e);
	if (rc < 0) {
		snprintf(err, errlen, "cert_chain_pem: %s", e);
		goto out;
	}
	rc = certstore_parse_key(r->key_pem, strlen(r->key_pem), NULL, &key, e, sizeof e);
	if (rc < 0) {
		snprintf(err, errlen, "key_pem: %s", e);
		goto out;
	}
	if (!j->trust) {
		rc = -ENOENT;
		snprintf(err, errlen, "no trust set is recorded (ADD_TRUST first): cannot verify the new chain");
		goto out;
	}
	health_node_identity(j->health, &node);
	pol.node_address = node.address;
	pol.node_hostname = node.hostname;
	rc = certstore_validate_identity(key, chain, j->trust, &pol, &w, e, sizeof e);
	if (rc < 0) {
		snprintf(err, errlen, "%s", e);
		goto out;
	}
	certs_take_warnings(op, &w);
	rc = certs_environment(j, op, y, err, errlen);
	if (rc < 0)
		goto out;
	rc = certs_targets(y, true, type == CERTSTORE_PKCS12, t, &nt, err, errlen);
	if (rc < 0)
		goto out;
	certs_sha256_hex(sk_X509_value(chain, 0), op->leaf_sha256);
	certs_subject(sk_X509_value(chain, 0), op->leaf_subject, sizeof op->leaf_subject);
	op->verify = y->client_enabled && op->version != CASSANDRA_3_11;
	snprintf(op->native_address, sizeof op->native_address, "%s", j->cfg->cassandra.native_address);
	op->native_port = j->cfg->cassandra.native_port;
	op->result_is_trust = false;
	op->result = chain;
	chain = NULL;
	if (certs_same_chain(op->result, j->identity)) {
		snprintf(op->done, sizeof op->done, "no change: %s is already the node's identity", op->leaf_subject);
		goto out;
	}
	for (size_t i = 0; i < nt; i++) {
		unsigned char *bytes = NULL;
		size_t len = 0;

		rc = certstore_build_keystore(type, key, op->result, t[i].password, NULL, &bytes, &len, e, sizeof e);
		if (rc < 0) {
			snprintf(err, errlen, "cannot build the %s: %s", t[i].what, e);
			goto out;
		}
		rc = certs_add_write(op, t[i].what, t[i].path, bytes, len, CERTS_JOB_KEYSTORE_MODE, true, true, false);
		if (rc < 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		snprintf(op->writes[op->n_writes - 1].note, sizeof op->writes[0].note, " (%s, %.60s, chain of %d)",
			 certstore_type_name(type), op->leaf_subject, sk_X509_num(op->result));
	}
	rc = certs_add_record(j, op, CERTS_JOB_IDENTITY_FILE, err, errlen);
out:
	EVP_PKEY_free(key);
	certstore_certs_free(chain);
	certstore_warnings_free(&w);
	return rc;
}

static void certs_later_cb(uv_timer_t *t)
{
	struct certs_job *j = t->data;
	struct certs_op *op = j->op;

	if (j->closing || !op || j->state != CERTS_DEFERRED)
		return;
	certs_finish(j, 0, "%s", op->done);
}

int certs_job_rotate(struct certs_job *j, const CassandraAgent__V1__RotateCertificates *r, certs_job_done_cb cb,
		     void *data, char *err, size_t errlen)
{
	struct certs_yaml y = {0};
	struct certs_op *op = NULL;
	char *dir = NULL;
	int rc;

	if (j->closing) {
		snprintf(err, errlen, "the agent is stopping");
		return -ECANCELED;
	}
	if (j->op) {
		snprintf(err, errlen, "another certificate rotation is under way (%s)", certs_phase_name(j->op->phase));
		return -EBUSY;
	}
	if (!r ||
	    (r->phase != PHASE(ADD_TRUST) && r->phase != PHASE(SWITCH_IDENTITY) && r->phase != PHASE(REMOVE_TRUST))) {
		snprintf(err, errlen, "unknown rotation phase %d (ADD_TRUST, SWITCH_IDENTITY or REMOVE_TRUST)",
			 r ? (int)r->phase : 0);
		return -EINVAL;
	}
	rc = certs_check_sizes(r, err, errlen);
	if (rc < 0)
		return rc;
	op = calloc(1, sizeof *op);
	if (!op) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	op->phase = r->phase;
	op->cb = cb;
	op->data = data;
	if (r->phase == PHASE(SWITCH_IDENTITY))
		rc = certs_plan_identity(j, op, r, &y, err, errlen);
	else
		rc = certs_plan_trust(j, op, r, &y, err, errlen);
	certs_yaml_free(&y);
	if (rc < 0)
		goto fail;
	j->op = op;
	if (op->n_writes == 0) {
		/* No change: nothing is written; a switched identity is still verified. */
		if (op->verify) {
			rc = certs_start_verify(j);
			if (rc == 0)
				return 0;
			j->op = NULL;
			snprintf(err, errlen, "cannot verify the native port: %s", strerror(-rc));
			goto fail;
		}
		certs_set_state(j, CERTS_DEFERRED);
		uv_timer_start(&j->later_timer, certs_later_cb, 0, 0);
		return 0;
	}
	if ((dir = certs_state_path(j->cfg, CERTS_JOB_DIR)))
		mkdir(dir, 0750);
	free(dir);
	if ((dir = certs_state_path(j->cfg, CERTS_JOB_HISTORY)))
		mkdir(dir, 0750);
	free(dir);
	certs_set_state(j, CERTS_WRITING);
	rc = certs_write_next(j);
	if (rc < 0) {
		certs_set_state(j, CERTS_IDLE);
		j->op = NULL;
		snprintf(err, errlen, "cannot queue the write: %s", strerror(-rc));
		goto fail;
	}
	return 0;
fail:
	certs_op_free(op);
	return rc;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static void certs_expiry_cb(uv_timer_t *t)
{
	struct certs_job *j = t->data;

	/* A rotation under way republishes when it ends. */
	if (j->closing || j->op)
		return;
	certs_publish(j);
}

int certs_job_start(uv_loop_t *loop, const struct agent_config *cfg, struct health *h, struct nodetool_runner *runner,
		    struct cassandra_config *cc, struct certs_job **out)
{
	struct certs_job *j = calloc(1, sizeof *j);

	if (!j)
		return -ENOMEM;
	j->loop = loop;
	j->cfg = cfg;
	j->health = h;
	j->runner = runner;
	j->cc = cc;
	j->state = CERTS_IDLE;
	j->trust = certs_load_record(j, CERTS_JOB_TRUST_FILE);
	j->identity = certs_load_record(j, CERTS_JOB_IDENTITY_FILE);
	uv_timer_init(loop, &j->expiry_timer);
	uv_timer_init(loop, &j->later_timer);
	j->expiry_timer.data = j->later_timer.data = j;
	j->handles_open = 2;
	certs_publish(j);
	uv_timer_start(&j->expiry_timer, certs_expiry_cb, CERTS_JOB_EXPIRY_MS, CERTS_JOB_EXPIRY_MS);
	log_info("certs", "started: trust set %s, identity %s", j->trust ? "recorded" : "not recorded",
		 j->identity ? "recorded" : "not recorded");
	*out = j;
	return 0;
}

void certs_job_apply_config(struct certs_job *j, const struct agent_config *cfg)
{
	if (!j)
		return;
	j->cfg = cfg;
	if (!j->closing && !j->op)
		certs_publish(j);
}

char *certs_job_json(struct certs_job *j)
{
	json_t *arr = json_array(), *rot, *doc;
	time_t now = time(NULL);
	char *text;

	if (!arr)
		return NULL;
	for (size_t i = 0; i < j->n_certs; i++) {
		const struct health_cert *c = &j->certs[i];

		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:I,s:i}", "path", c->path, "subject",
						     c->subject, "issuer", c->issuer, "serial", c->serial,
						     "not_after_unix", (json_int_t)c->not_after_unix, "days_left",
						     (int)certs_days_left(c->not_after_unix, now)));
	}
	rot = json_pack("{s:s,s:i,s:b,s:s,s:s,s:s,s:I}", "state", certs_state_names[j->state], "trust_recorded",
			j->trust ? sk_X509_num(j->trust) : 0, "identity_recorded", j->identity != NULL, "last_phase",
			j->last_phase, "last_result", j->last_result, "last_message", j->last_message, "last_unix_ms",
			(json_int_t)j->last_unix_ms);
	if (!rot) {
		json_decref(arr);
		return NULL;
	}
	doc = json_pack("{s:o,s:o}", "certificates", arr, "rotation", rot);
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return text;
}

static void certs_close_cb(uv_handle_t *h)
{
	struct certs_job *j = h->data;

	j->handles_open--;
	certs_maybe_free(j);
}

void certs_job_stop(struct certs_job *j)
{
	struct certs_op *op;

	if (!j || j->closing)
		return;
	j->closing = true;
	op = j->op;
	j->op = NULL;
	certs_set_state(j, CERTS_STOPPED);
	if (j->verify)
		uv_cancel((uv_req_t *)&j->verify->work); /* not started yet: its done callback gets UV_ECANCELED */
	if (op) {
		certs_job_done_cb cb = op->cb;
		void *data = op->data;

		log_info("certs", "%s interrupted: the agent is stopping", certs_phase_name(op->phase));
		certs_op_free(op);
		if (cb)
			cb(data, -ECANCELED, "the agent is stopping");
	}
	uv_close((uv_handle_t *)&j->expiry_timer, certs_close_cb);
	uv_close((uv_handle_t *)&j->later_timer, certs_close_cb);
}
