/* cassandra_config: cassandra.yaml edits, seeds, rackdc and drift on the loop (see cassandra_config.h).
 *
 * A command: read cassandra.yaml (bounded), apply and validate the edits for the running
 * Cassandra version (cassandra_schema_apply, pure), then write it crash-safely with the
 * previous version in state_directory/history (worker thread), record its sha256, and
 * either reload seeds (4.0+) or mark the settings restart-pending, which asks maintenance
 * for a RESTART_CASSANDRA under a lease. One write at a time; a refused edit writes nothing.
 */
#include "cassandra_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "cassandra_schema.h"
#include "config_cmd.h"
#include "fileio.h"
#include "log.h"
#include "persist.h"
#include "yaml_edit.h"

#define YAML_MAX    (16u * 1024u * 1024u)
#define PENDING_MAX 32

struct cassandra_config {
	uv_loop_t *loop;
	const struct agent_config *cfg;
	struct health *health;
	struct nodetool_runner *runner;
	struct maintenance *maintenance;
	uv_timer_t timer;
	int handles_open;
	int pending; /* writes and nodetool calls outstanding */
	bool closing;
	bool busy;            /* a write is under way */
	char written_sha[65]; /* what the agent last wrote (or the baseline) */
	char current_sha[65];
	bool drift;
	bool restart_pending;
	char *pending_settings[PENDING_MAX];
	size_t n_pending;
	char rackdc_note[256];
	/* the command under way */
	cassandra_config_done_cb cb;
	void *cb_data;
	char *diff;
	char *new_sha;
	bool seeds_changed;
	char **keys; /* settings written (NULL-terminated) */
};

static void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void maybe_free(struct cassandra_config *cc)
{
	if (cc->closing && cc->handles_open == 0 && cc->pending == 0) {
		for (size_t i = 0; i < cc->n_pending; i++)
			free(cc->pending_settings[i]);
		free(cc->diff);
		free(cc->new_sha);
		free(cc);
	}
}

static char *state_path(const struct cassandra_config *cc, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", cc->cfg->state_directory, name) < 0)
		return NULL;
	return p;
}

/* Publishes ConfigState into health, with the seeds read from the file. */
static void publish(struct cassandra_config *cc, const char *yaml, size_t len)
{
	struct health_config hc = {0};
	struct yaml_edit_doc *doc = NULL;
	char err[128], **seeds = NULL;

	snprintf(hc.sha256, sizeof hc.sha256, "%s", cc->current_sha);
	hc.drift = cc->drift;
	hc.restart_pending = cc->restart_pending;
	for (size_t i = 0; i < cc->n_pending && i < HEALTH_CONFIG_LIST_MAX; i++)
		snprintf(hc.pending_settings[hc.n_pending_settings++], sizeof hc.pending_settings[0], "%s",
			 cc->pending_settings[i]);
	if (yaml && yaml_edit_parse(yaml, len, &doc, err, sizeof err) == 0) {
		int n = yaml_edit_get_seeds(doc, &seeds);

		for (int i = 0; i < n && i < HEALTH_CONFIG_LIST_MAX; i++)
			snprintf(hc.seeds[hc.n_seeds++], sizeof hc.seeds[0], "%s", seeds[i]);
		if (n > 0)
			yaml_edit_strv_free(seeds);
		yaml_edit_free(doc);
	}
	snprintf(hc.note, sizeof hc.note, "%s", cc->rackdc_note);
	health_update_config(cc->health, &hc);
}

/* Reads cassandra.yaml, updates current_sha and drift. Returns the text (caller frees) or NULL. */
static char *read_yaml(struct cassandra_config *cc, size_t *len, char *err, size_t errlen)
{
	char *text = NULL;

	if (fileio_read(cc->cfg->cassandra.yaml, YAML_MAX, &text, len, err, errlen) < 0)
		return NULL;
	sha256_hex(text, *len, cc->current_sha);
	if (!cc->written_sha[0]) {
		/* First sight: the baseline against which hand edits show. */
		char *p = state_path(cc, CASSANDRA_CONFIG_SHA_FILE);

		snprintf(cc->written_sha, sizeof cc->written_sha, "%s", cc->current_sha);
		if (p)
			persist_write(cc->loop, p, cc->written_sha, 64, 0600, NULL, NULL);
		free(p);
	}
	if ((strcmp(cc->current_sha, cc->written_sha) != 0) != cc->drift) {
		cc->drift = !cc->drift;
		health_event(
			cc->health, cc->drift ? "config_drift" : "config_drift_cleared", cc->cfg->cassandra.yaml, "%s",
			cc->drift ? "cassandra.yaml was changed outside the agent" : "cassandra.yaml matches again");
	}
	return text;
}

static void check(struct cassandra_config *cc)
{
	char err[256], *text;
	size_t len = 0;

	if (cc->busy)
		return;
	text = read_yaml(cc, &len, err, sizeof err);
	publish(cc, text, len);
	free(text);
}

static void timer_cb(uv_timer_t *t)
{
	check(t->data);
}

static void add_pending(struct cassandra_config *cc, const char *key)
{
	for (size_t i = 0; i < cc->n_pending; i++)
		if (strcmp(cc->pending_settings[i], key) == 0)
			return;
	if (cc->n_pending < PENDING_MAX) {
		char *k = strdup(key);

		if (k)
			cc->pending_settings[cc->n_pending++] = k;
	}
}

/* Marks settings restart-pending and asks maintenance for a restart under a lease. */
static void need_restart(struct cassandra_config *cc, char **keys)
{
	char err[256];

	for (size_t i = 0; keys && keys[i]; i++)
		add_pending(cc, keys[i]);
	cc->restart_pending = cc->n_pending > 0;
	if (cc->restart_pending && cc->maintenance &&
	    maintenance_request(cc->maintenance,
				CASSANDRA_AGENT__V1__MAINTENANCE_KIND__MAINTENANCE_KIND_RESTART_CASSANDRA, "", false,
				false, "settings changed in cassandra.yaml need a restart", err, sizeof err) < 0)
		log_info("cassandra_config", "restart pending, not requested now: %s", err);
}

static void finish(struct cassandra_config *cc, int err, const char *msg)
{
	cassandra_config_done_cb cb = cc->cb;
	void *data = cc->cb_data;

	cc->cb = NULL;
	cc->busy = false;
	if (cb)
		cb(data, err, msg, cc->diff);
	free(cc->diff);
	cc->diff = NULL;
	for (size_t i = 0; cc->keys && cc->keys[i]; i++)
		free(cc->keys[i]);
	free(cc->keys);
	cc->keys = NULL;
	check(cc);
}

static void reloadseeds_cb(void *data, const struct nodetool_result *res)
{
	struct cassandra_config *cc = data;
	char msg[320];

	cc->pending--;
	if (cc->closing) {
		maybe_free(cc);
		return;
	}
	if (res->err) {
		/* The file has the seeds; Cassandra will read them at its next start. */
		char *keys[] = {(char *)"seed_provider", NULL};

		need_restart(cc, keys);
		snprintf(msg, sizeof msg, "written; nodetool reloadseeds failed (%s): restart pending", res->errtext);
		finish(cc, 0, msg);
		return;
	}
	finish(cc, 0, "written; seeds reloaded with nodetool reloadseeds");
}

static void written_cb(void *data, int err, const char *errmsg)
{
	struct cassandra_config *cc = data;
	enum cassandra_version v = CASSANDRA_4_1;
	CassandraAgent__V1__NodeIdentity node = CASSANDRA_AGENT__V1__NODE_IDENTITY__INIT;
	char msg[320];

	cc->pending--;
	if (cc->closing) {
		maybe_free(cc);
		return;
	}
	if (err) {
		snprintf(msg, sizeof msg, "cannot write %s: %s (the old file is intact)", cc->cfg->cassandra.yaml,
			 errmsg);
		free(cc->new_sha);
		cc->new_sha = NULL;
		finish(cc, err, msg);
		return;
	}
	/* Record what we wrote: from now on a different file is a hand edit. */
	snprintf(cc->written_sha, sizeof cc->written_sha, "%s", cc->new_sha);
	free(cc->new_sha);
	cc->new_sha = NULL;
	{
		char *p = state_path(cc, CASSANDRA_CONFIG_SHA_FILE);

		if (p)
			persist_write(cc->loop, p, cc->written_sha, 64, 0600, NULL, NULL);
		free(p);
	}
	health_node_identity(cc->health, &node);
	cassandra_version_parse(node.cassandra_version, &v);
	if (cc->seeds_changed && v != CASSANDRA_3_11) {
		const char *args[] = {"reloadseeds", NULL};

		if (cc->keys && cc->keys[0])
			need_restart(cc, cc->keys);
		if (nodetool_run(cc->runner, args, cc->cfg->cassandra.nodetool_timeout_ms, reloadseeds_cb, cc, NULL) ==
		    0) {
			cc->pending++;
			return;
		}
	}
	if (cc->seeds_changed) {
		char *keys[] = {(char *)"seed_provider", NULL};

		need_restart(cc, keys);
	}
	need_restart(cc, cc->keys);
	finish(cc, 0, cc->restart_pending ? "written; restart pending" : "written");
}

/* Applies `edits`; writes unless `dry_run`. `keys` (taken) name the settings for restart-pending. */
static int run_edits(struct cassandra_config *cc, const struct cassandra_edit *edits, size_t n, bool force,
		     bool dry_run, bool seeds, char **keys, cassandra_config_done_cb cb, void *data, char *err,
		     size_t errlen)
{
	CassandraAgent__V1__NodeIdentity node = CASSANDRA_AGENT__V1__NODE_IDENTITY__INIT;
	struct cassandra_schema_result res = {0};
	enum cassandra_version v;
	char *text = NULL, *hist = NULL;
	size_t len = 0, dlen = 0;
	char sha[65];
	int rc;

	if (cc->busy) {
		snprintf(err, errlen, "another cassandra.yaml edit is under way");
		rc = -EBUSY;
		goto fail;
	}
	health_node_identity(cc->health, &node);
	if (cassandra_version_parse(node.cassandra_version, &v) < 0) {
		snprintf(err, errlen, "Cassandra's version is not known yet (nodetool version): cannot validate");
		rc = -EAGAIN;
		goto fail;
	}
	text = read_yaml(cc, &len, err, errlen);
	if (!text) {
		rc = -EIO;
		goto fail;
	}
	rc = cassandra_schema_apply(v, force ? CASSANDRA_SCHEMA_FORCE : 0, text, len, edits, n, &res, err, errlen);
	if (rc < 0)
		goto fail;
	config_cmd_diff(text, len, res.data, res.len, cc->cfg->cassandra.yaml, cc->cfg->cassandra.yaml, &cc->diff,
			&dlen);
	cc->cb = cb;
	cc->cb_data = data;
	cc->keys = keys;
	keys = NULL;
	if (dry_run || !res.changed) {
		cassandra_schema_result_free(&res);
		free(text);
		cc->busy = true;
		finish(cc, 0, dry_run ? "dry run: nothing written" : "no change");
		return 0;
	}
	sha256_hex(res.data, res.len, sha);
	cc->new_sha = strdup(sha);
	cc->seeds_changed = seeds;
	hist = state_path(cc, CASSANDRA_CONFIG_HISTORY);
	if (!cc->new_sha || !hist) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail_cb;
	}
	mkdir(hist, 0750);
	rc = persist_write_history(cc->loop, cc->cfg->cassandra.yaml, res.data, res.len, 0640, hist,
				   CASSANDRA_CONFIG_HISTORY_KEEP, written_cb, cc);
	if (rc < 0) {
		snprintf(err, errlen, "cannot queue the write");
		goto fail_cb;
	}
	cc->pending++;
	cc->busy = true;
	free(hist);
	free(text);
	cassandra_schema_result_free(&res);
	return 0;
fail_cb:
	cc->cb = NULL;
	free(cc->new_sha);
	cc->new_sha = NULL;
	free(cc->diff);
	cc->diff = NULL;
	keys = cc->keys;
	cc->keys = NULL;
fail:
	for (size_t i = 0; keys && keys[i]; i++)
		free(keys[i]);
	free(keys);
	free(hist);
	free(text);
	cassandra_schema_result_free(&res);
	return rc;
}

int cassandra_config_set_seeds(struct cassandra_config *cc, char **seeds, size_t n, cassandra_config_done_cb cb,
			       void *data, char *err, size_t errlen)
{
	struct cassandra_edit e = {.op = CASSANDRA_EDIT_SEEDS, .seeds = (const char *const *)seeds, .n_seeds = n};

	if (n == 0) {
		snprintf(err, errlen, "the seed list may not be empty");
		return -EINVAL;
	}
	return run_edits(cc, &e, 1, false, false, true, NULL, cb, data, err, errlen);
}

int cassandra_config_apply(struct cassandra_config *cc, const CassandraAgent__V1__ApplyConfig *ac,
			   cassandra_config_done_cb cb, void *data, char *err, size_t errlen)
{
	size_t n = ac->n_set + ac->n_unset, k = 0;
	struct cassandra_edit *edits = calloc(n + 1, sizeof *edits);
	char **keys = calloc(n + 1, sizeof *keys);
	int rc;

	if (!edits || !keys) {
		free(edits);
		free(keys);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ac->n_set; i++) {
		edits[k] = (struct cassandra_edit){
			.op = CASSANDRA_EDIT_SET, .key = ac->set[i]->key, .value = ac->set[i]->value};
		keys[k++] = strdup(ac->set[i]->key);
	}
	for (size_t i = 0; i < ac->n_unset; i++) {
		edits[k] = (struct cassandra_edit){.op = CASSANDRA_EDIT_UNSET, .key = ac->unset[i]};
		keys[k++] = strdup(ac->unset[i]);
	}
	if (n == 0) {
		snprintf(err, errlen, "nothing to set or unset");
		rc = -EINVAL;
		for (size_t i = 0; i < k; i++)
			free(keys[i]);
		free(keys);
	} else {
		rc = run_edits(cc, edits, n, ac->force, ac->dry_run, false, keys, cb, data, err, errlen);
	}
	free(edits);
	return rc;
}

/* ---- rackdc -------------------------------------------------------------------------------- */

void cassandra_config_rackdc_read(const char *text, char *dc, size_t dclen, char *rack, size_t racklen)
{
	dc[0] = rack[0] = '\0';
	for (const char *l = text; l && *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);

		while (n && (l[n - 1] == '\r' || l[n - 1] == ' '))
			n--;
		if (n > 3 && strncmp(l, "dc=", 3) == 0)
			snprintf(dc, dclen, "%.*s", (int)(n - 3), l + 3);
		else if (n > 5 && strncmp(l, "rack=", 5) == 0)
			snprintf(rack, racklen, "%.*s", (int)(n - 5), l + 5);
		l = e ? e + 1 : NULL;
	}
}

char *cassandra_config_rackdc_render(const char *old, const char *dc, const char *rack, bool prefer_local)
{
	bool seen_dc = false, seen_rack = false, seen_pl = false;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len); /* grows as needed: any number of dc=/rack= lines */
	int rc;

	if (!f)
		return NULL;
	for (const char *l = old; l && *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);

		if (n >= 3 && strncmp(l, "dc=", 3) == 0) {
			fprintf(f, "dc=%s\n", dc);
			seen_dc = true;
		} else if (n >= 5 && strncmp(l, "rack=", 5) == 0) {
			fprintf(f, "rack=%s\n", rack);
			seen_rack = true;
		} else if (n >= 13 && strncmp(l, "prefer_local=", 13) == 0) {
			fprintf(f, "prefer_local=%s\n", prefer_local ? "true" : "false");
			seen_pl = true;
		} else {
			fprintf(f, "%.*s\n", (int)n, l);
		}
		l = e ? e + 1 : NULL;
	}
	if (!seen_dc)
		fprintf(f, "dc=%s\n", dc);
	if (!seen_rack)
		fprintf(f, "rack=%s\n", rack);
	if (!seen_pl && prefer_local)
		fputs("prefer_local=true\n", f);
	rc = ferror(f);
	if (fclose(f) != 0 || rc) {
		free(out);
		return NULL;
	}
	return out;
}

/* Bootstrapped: Cassandra's system keyspace exists in the first data directory. */
static bool bootstrapped(const struct agent_config *cfg)
{
	char path[4096];
	struct stat st;

	if (cfg->cassandra.data_directories.n == 0)
		return false;
	snprintf(path, sizeof path, "%s/system", cfg->cassandra.data_directories.v[0]);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void write_rackdc(struct cassandra_config *cc)
{
	char *old = NULL, *text, err[256], dc[128], rack[128];
	size_t len = 0;

	cc->rackdc_note[0] = '\0';
	fileio_read(cc->cfg->cassandra.rackdc, 1024 * 1024, &old, &len, err, sizeof err);
	cassandra_config_rackdc_read(old, dc, sizeof dc, rack, sizeof rack);
	if (old && (dc[0] || rack[0]) &&
	    (strcmp(dc, cc->cfg->node.datacenter) != 0 || strcmp(rack, cc->cfg->node.rack) != 0) &&
	    bootstrapped(cc->cfg)) {
		snprintf(cc->rackdc_note, sizeof cc->rackdc_note,
			 "refused to change dc/rack of a bootstrapped node from %s/%s to %s/%s", dc, rack,
			 cc->cfg->node.datacenter, cc->cfg->node.rack);
		log_err("cassandra_config", "%s", cc->rackdc_note);
		health_event(cc->health, "rackdc_refused", cc->cfg->cassandra.rackdc, "%s", cc->rackdc_note);
		free(old);
		return;
	}
	text = cassandra_config_rackdc_render(old, cc->cfg->node.datacenter, cc->cfg->node.rack,
					      cc->cfg->node.prefer_local);
	if (text && (!old || strcmp(text, old) != 0)) {
		char *hist = state_path(cc, CASSANDRA_CONFIG_HISTORY);

		if (hist)
			mkdir(hist, 0750);
		if (persist_write_history(cc->loop, cc->cfg->cassandra.rackdc, text, strlen(text), 0644, hist,
					  CASSANDRA_CONFIG_HISTORY_KEEP, NULL, NULL) == 0)
			log_info("cassandra_config", "writing %s: dc=%s rack=%s", cc->cfg->cassandra.rackdc,
				 cc->cfg->node.datacenter, cc->cfg->node.rack);
		free(hist);
	}
	free(text);
	free(old);
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

int cassandra_config_start(uv_loop_t *loop, const struct agent_config *cfg, struct health *h,
			   struct nodetool_runner *runner, struct maintenance *maintenance,
			   struct cassandra_config **out)
{
	struct cassandra_config *cc = calloc(1, sizeof *cc);
	char *p, *text = NULL, err[128];
	size_t len;

	if (!cc)
		return -ENOMEM;
	cc->loop = loop;
	cc->cfg = cfg;
	cc->health = h;
	cc->runner = runner;
	cc->maintenance = maintenance;
	p = state_path(cc, CASSANDRA_CONFIG_SHA_FILE);
	if (p && fileio_read(p, 128, &text, &len, err, sizeof err) == 0 && len >= 64)
		snprintf(cc->written_sha, sizeof cc->written_sha, "%.64s", text);
	free(text);
	free(p);
	write_rackdc(cc);
	uv_timer_init(loop, &cc->timer);
	cc->timer.data = cc;
	cc->handles_open = 1;
	uv_timer_start(&cc->timer, timer_cb, 0, CASSANDRA_CONFIG_CHECK_MS);
	*out = cc;
	return 0;
}

void cassandra_config_apply_config(struct cassandra_config *cc, const struct agent_config *cfg)
{
	cc->cfg = cfg;
	write_rackdc(cc);
}

void cassandra_config_mark_restart(struct cassandra_config *cc, const char *setting)
{
	char *keys[] = {(char *)setting, NULL};

	need_restart(cc, keys);
	check(cc);
}

void cassandra_config_restarted(struct cassandra_config *cc)
{
	if (!cc)
		return;
	for (size_t i = 0; i < cc->n_pending; i++)
		free(cc->pending_settings[i]);
	cc->n_pending = 0;
	cc->restart_pending = false;
	check(cc);
}

char *cassandra_config_json(struct cassandra_config *cc)
{
	json_t *pending = json_array(), *j;
	char *text;

	for (size_t i = 0; pending && i < cc->n_pending; i++)
		json_array_append_new(pending, json_string(cc->pending_settings[i]));
	j = json_pack("{s:s,s:s,s:s,s:b,s:b,s:o,s:s,s:s}", "path", cc->cfg->cassandra.yaml, "sha256", cc->current_sha,
		      "written_sha256", cc->written_sha, "drift", cc->drift, "restart_pending", cc->restart_pending,
		      "pending_settings", pending, "rackdc", cc->cfg->cassandra.rackdc, "rackdc_note", cc->rackdc_note);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return text;
}

static void close_cb(uv_handle_t *h)
{
	struct cassandra_config *cc = h->data;

	cc->handles_open--;
	maybe_free(cc);
}

void cassandra_config_stop(struct cassandra_config *cc)
{
	if (!cc || cc->closing)
		return;
	cc->closing = true;
	uv_close((uv_handle_t *)&cc->timer, close_cb);
}
