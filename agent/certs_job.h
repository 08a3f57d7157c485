/* certs_job: the certificate job on the loop (SPEC section 6.2): RotateCertificates phases, store writes, reloadssl,
 * verification, expiry. */
#ifndef CA_CERTS_JOB_H
#define CA_CERTS_JOB_H

#include <stddef.h>
#include <uv.h>

#include "cassandra_agent/v1/agent.pb-c.h"
#include "cassandra_config.h"
#include "config.h"
#include "health.h"
#include "nodetool.h"

#define CERTS_JOB_DIR               "certs"        /* in state_directory: what the agent installed */
#define CERTS_JOB_TRUST_FILE        "trust.pem"    /* state_directory/certs/trust.pem: the trust set (PEM bundle) */
#define CERTS_JOB_IDENTITY_FILE     "identity.pem" /* state_directory/certs/identity.pem: the node chain (no key) */
#define CERTS_JOB_HISTORY           "history"      /* state_directory/history: previous store files */
#define CERTS_JOB_HISTORY_KEEP      20
#define CERTS_JOB_EXPIRY_MS         (60ULL * 60 * 1000) /* expiry refresh into health */
#define CERTS_JOB_VERIFY_TIMEOUT_MS 5000                /* TLS handshake to the native port */
#define CERTS_JOB_KEYSTORE_MODE     0640                /* mode of a new keystore (an existing one keeps its own) */
#define CERTS_JOB_TRUSTSTORE_MODE   0644                /* mode of a new truststore */

struct certs_job;

/* The outcome of a rotation: err 0 or a negative errno; `message` (valid during the call)
 * says what was written, reloaded and verified, or why not. Never holds a password. */
typedef void (*certs_job_done_cb)(void *data, int err, const char *message);

/*
 * Starts the job: loads the trust set and identity the agent recorded in
 * state_directory/certs (when present), then publishes into health, at once and every
 * CERTS_JOB_EXPIRY_MS, every certificate in use with its expiry: the stores named by
 * cassandra.yaml (server_encryption_options, and client_encryption_options when enabled and
 * naming other files; a store that cannot be read is reported from the agent's record) and
 * the agent's own controller certificate (cfg->controller.cert when the controller is
 * enabled). `cc` (may be NULL) gets restart-pending marks on Cassandra 3.11.
 * The pointers are borrowed and must outlive the job. Returns 0 or -ENOMEM.
 */
int certs_job_start(uv_loop_t *loop, const struct agent_config *cfg, struct health *h, struct nodetool_runner *runner,
		    struct cassandra_config *cc, struct certs_job **out);

/* Takes a reloaded agent.yaml (borrowed, replaces the old one at once); the expiry report is
 * refreshed when no rotation is under way. A rotation under way keeps what it copied. */
void certs_job_apply_config(struct certs_job *j, const struct agent_config *cfg);

/*
 * Runs one phase of a rotation (SPEC section 6.2):
 *  - ADD_TRUST: the recorded trust set plus the CAs of r->ca_pem (the CAs alone the first time);
 *  - SWITCH_IDENTITY: a keystore of r->key_pem and r->cert_chain_pem, whose chain must verify
 *    against the recorded trust set (refused when none is recorded); a SAN holding neither the
 *    node's address nor its hostname is a warning;
 *  - REMOVE_TRUST: exactly the CAs of r->ca_pem, refused when the recorded identity's chain
 *    would not verify against them (or when no identity is recorded).
 * Stores: paths and passwords from cassandra.yaml, type from cfg->tls.truststore_type (a "pem"
 * setup gets a PEM keystore, the others PKCS#12), written crash-safely with the previous file
 * in state_directory/history, then the record in state_directory/certs. Then Cassandra 4.0+
 * runs `nodetool reloadssl`, 3.11 is marked restart-pending; then, for SWITCH_IDENTITY with
 * client_encryption_options.enabled, a TLS handshake to the native port must present the new
 * leaf certificate (also when nothing changed, so a retried phase is verified too).
 * A phase whose result equals the record writes nothing and runs no reloadssl ("no change").
 *
 * Returns 0 when the phase was started: `cb` fires exactly once, later, from the loop (with
 * -ECANCELED when the job is stopped first). Returns a negative errno with `err` saying why
 * when it is refused at once; then nothing was written and `cb` does not fire:
 *   -EBUSY another rotation is under way; -ECANCELED the job is stopping; -EINVAL unknown
 *   phase, missing input, or cassandra.yaml does not name the stores as absolute paths (or a
 *   password a store type needs); -EFBIG an input over 1 MiB; -EAGAIN Cassandra's version is
 *   not known yet; -ENOENT no trust set or identity recorded for a phase that needs one; a
 *   read error of cassandra.yaml; and the codes of certstore.h for bad certificates and keys
 *   (-EBADMSG, -ENODATA, -EKEYEXPIRED, -EKEYREJECTED, -EACCES).
 */
int certs_job_rotate(struct certs_job *j, const CassandraAgent__V1__RotateCertificates *r, certs_job_done_cb cb,
		     void *data, char *err, size_t errlen);

/* The `certs` status socket document (new string, caller frees; NULL on allocation failure):
 * {"certificates":[{"path","subject","issuer","serial","not_after_unix","days_left"}...],
 *  "rotation":{"state","trust_recorded","identity_recorded","last_phase","last_result",
 *  "last_message","last_unix_ms"}}. days_left is computed at the call. */
char *certs_job_json(struct certs_job *j);

/* Stops the job: a rotation under way gets its callback with -ECANCELED at once (a store write
 * already queued still completes: every file stays either old or new); memory is freed once the
 * last write, nodetool call and verification have come back. NULL is fine. */
void certs_job_stop(struct certs_job *j);

#endif
