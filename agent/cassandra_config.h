/* cassandra_config: the daemon's cassandra.yaml and rackdc job (SPEC section 6.1): edits, seeds, drift. */
#ifndef CA_CASSANDRA_CONFIG_H
#define CA_CASSANDRA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "cassandra_agent/v1/agent.pb-c.h"
#include "config.h"
#include "health.h"
#include "maintenance.h"
#include "nodetool.h"

#define CASSANDRA_CONFIG_SHA_FILE     "cassandra_yaml.sha256" /* in state_directory: what the agent last wrote */
#define CASSANDRA_CONFIG_HISTORY      "history"               /* state_directory/history: previous versions */
#define CASSANDRA_CONFIG_HISTORY_KEEP 20
#define CASSANDRA_CONFIG_CHECK_MS     5000 /* drift check */

struct cassandra_config;

/* The outcome of a command: err 0 or a negative errno with `message`; `output` (may be
 * NULL) is the unified diff of a dry run or of what was written. Valid during the call. */
typedef void (*cassandra_config_done_cb)(void *data, int err, const char *message, const char *output);

/*
 * Starts the job: records the sha256 of cassandra.yaml as the baseline when none was
 * recorded, writes cassandra-rackdc.properties from agent.yaml (dc, rack, prefer_local; a
 * change of dc or rack is refused once the node is bootstrapped), and checks for drift every
 * CASSANDRA_CONFIG_CHECK_MS. `maintenance` (may be NULL) gets RESTART_CASSANDRA requests for
 * settings that need a restart. Returns 0 or -ENOMEM.
 */
int cassandra_config_start(uv_loop_t *loop, const struct agent_config *cfg, struct health *h,
			   struct nodetool_runner *runner, struct maintenance *maintenance,
			   struct cassandra_config **out);

/* A reloaded agent.yaml: rackdc is written again if dc, rack or prefer_local changed. */
void cassandra_config_apply_config(struct cassandra_config *cc, const struct agent_config *cfg);

/*
 * SetSeeds: validates and writes the seed list (the whole list; order kept, duplicates
 * dropped), then `nodetool reloadseeds` on 4.0+, restart-pending on 3.11. Returns 0 (cb
 * fires later) or a negative errno with `err` (refused, nothing written).
 */
int cassandra_config_set_seeds(struct cassandra_config *cc, char **seeds, size_t n, cassandra_config_done_cb cb,
			       void *data, char *err, size_t errlen);

/*
 * ApplyConfig: `set` keys (dotted paths, values as YAML flow text), `unset` keys, `force`
 * for protected keys; `dry_run` writes nothing and returns the diff. Settings written are
 * restart-pending (Cassandra reads cassandra.yaml at start). Returns 0 (cb fires later) or a
 * negative errno with `err`.
 */
int cassandra_config_apply(struct cassandra_config *cc, const CassandraAgent__V1__ApplyConfig *ac,
			   cassandra_config_done_cb cb, void *data, char *err, size_t errlen);

/* Marks `setting` restart-pending (e.g. new stores on 3.11, which has no reloadssl) and asks
 * maintenance for a RESTART_CASSANDRA under a lease. */
void cassandra_config_mark_restart(struct cassandra_config *cc, const char *setting);

/* Cassandra was restarted (a maintenance finished with success): nothing is pending anymore. */
void cassandra_config_restarted(struct cassandra_config *cc);

/* The `config` document: {"path","sha256","drift","restart_pending","pending_settings",
 * "seeds","rackdc"}. New string. */
char *cassandra_config_json(struct cassandra_config *cc);

void cassandra_config_stop(struct cassandra_config *cc);

/* Renders cassandra-rackdc.properties: `old` (may be NULL) with its dc=, rack= and
 * prefer_local= lines replaced (or appended), every other line kept. Pure; new string. */
char *cassandra_config_rackdc_render(const char *old, const char *dc, const char *rack, bool prefer_local);

/* Reads `dc` and `rack` of a rackdc text (pure); "" when absent. */
void cassandra_config_rackdc_read(const char *text, char *dc, size_t dclen, char *rack, size_t racklen);

#endif
