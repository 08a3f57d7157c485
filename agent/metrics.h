/* metrics: renders a HealthReport and the agent's counters as node_exporter textfile metrics; pure, no loop. */
#ifndef CA_METRICS_H
#define CA_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "cassandra_agent/v1/agent.pb-c.h"

/* The file metrics_write() replaces in the textfile collector's directory. */
#define METRICS_FILE_NAME "cassandra_agent.prom"

/* Mode of a new metrics file: node_exporter runs as another user and must read it. */
#define METRICS_FILE_MODE 0644

/* Slots of metrics_counters.commands_total: indexed by CommandStatus value (0 unused). */
#define METRICS_COMMAND_STATUSES 6

/*
 * Counters the agent keeps for its whole life (they only grow; a restart resets them,
 * which Prometheus' rate() handles). A zeroed struct is a valid "nothing happened yet".
 */
struct metrics_counters {
	/* CommandUpdates produced, by status: commands_total[CASSANDRA_AGENT__V1__COMMAND_STATUS__
	 * COMMAND_STATUS_SUCCEEDED] counts commands that succeeded, and so on. Slot 0
	 * (UNSPECIFIED) is ignored. Rendered as cassandra_agent_commands_total{status="succeeded"}. */
	uint64_t commands_total[METRICS_COMMAND_STATUSES];
	uint64_t nodetool_calls_total;         /* nodetool processes started */
	uint64_t nodetool_failures_total;      /* of those: non-zero exit, timeout, output cap, spawn error */
	double nodetool_last_duration_seconds; /* wall time of the last finished call; only rendered
						  when nodetool_calls_total > 0 */
	uint64_t controller_reconnects_total;  /* controller sessions re-established after a loss */
};

/*
 * Renders `r` and `c` in the Prometheus text exposition format 0.0.4 (what node_exporter's
 * textfile collector reads): for every metric family one "# HELP" line, one "# TYPE" line
 * and its samples "name{label=\"value\",...} number", then a newline at the end of the text.
 * Label values escape backslash, double quote and newline (\\ \" \n); invalid UTF-8 bytes
 * become U+FFFD. No sample carries a timestamp. A series that would appear twice (two
 * peers with the same address, datacenter and rack, ...) is written once, the first wins.
 *
 * Families (all gauges unless named *_total; "0/1" is a boolean):
 *   cassandra_agent_up                                     1
 *   cassandra_agent_info{agent_version,cassandra_version,cluster_name,datacenter,rack,address,host_id,hostname} 1
 *   cassandra_agent_report_timestamp_seconds               collected_at_unix_ms / 1000 (omitted when 0)
 *   cassandra_agent_peers{status="up|down|unknown"}        peers of the ring by status (UNSPECIFIED counts as unknown)
 *   cassandra_agent_peer_up{address,datacenter,rack}       0/1 per peer
 *   cassandra_agent_conditions{severity="info|warning|critical"}  conditions raised, by severity
 *   cassandra_agent_condition{code,subject,severity}       1 per raised condition
 *   cassandra_agent_certificate_days_left{path,subject}    days before the certificate expires
 *   cassandra_agent_certificate_expiry_timestamp_seconds{path,subject}  its notAfter (omitted when 0)
 *   cassandra_agent_snapshot_last_success_timestamp_seconds  (omitted when there was none)
 *   cassandra_agent_snapshot_last_success_age_seconds      collected_at minus last success, never
 *                                                           negative (omitted when either is unknown)
 *   cassandra_agent_snapshots                              agent snapshots present
 *   cassandra_agent_snapshots_bytes                        their total size
 *   cassandra_agent_lease_phase{phase}                     1 for the current phase ("NONE" without one)
 *   cassandra_agent_lease_epoch                            (only while a lease is held: lease_id set)
 *   cassandra_agent_controller_connected                   0/1 (omitted when no controller is configured)
 *   cassandra_agent_unit_active                            0/1: the Cassandra unit's ActiveState is
 *                                                           "active" (omitted while unknown)
 *   cassandra_agent_gossip_running, cassandra_agent_native_transport_running  0/1
 *   cassandra_agent_cql_probe_ok                           0/1
 *   cassandra_agent_cql_probe_latency_seconds              (only when the probe is ok)
 *   cassandra_agent_schema_versions                        schema versions in the ring
 *   cassandra_agent_config_drift, cassandra_agent_config_restart_pending  0/1
 *   cassandra_agent_disk_free_bytes{path}, cassandra_agent_disk_total_bytes{path}
 *   cassandra_agent_commands_total{status="accepted|running|succeeded|failed|rejected"}  counter
 *   cassandra_agent_nodetool_calls_total, cassandra_agent_nodetool_failures_total        counters
 *   cassandra_agent_nodetool_last_duration_seconds         (only after a first call)
 *   cassandra_agent_controller_reconnects_total            counter
 * Families of an absent submessage (r->snapshots == NULL, ...) are left out; a family
 * without any sample is left out entirely. Non-finite values are never written.
 * `c` may be NULL: the counters render as zero.
 *
 * On success returns 0 with *out a new NUL-terminated text (caller frees) and *len its
 * length without the NUL. Returns -EINVAL when `r`, `out` or `len` is NULL, -ENOMEM on
 * allocation failure; then *out is NULL.
 */
int metrics_render(const CassandraAgent__V1__HealthReport *r, const struct metrics_counters *c, char **out,
		   size_t *len);

/*
 * Writes the `len` bytes of `text` as `dir`/cassandra_agent.prom with fileio_replace():
 * node_exporter sees the old or the new complete file, never a partial one (the temporary
 * file is `.cassandra_agent.prom.XXXXXX`, which the collector ignores). A new file gets
 * mode 0644; an existing one keeps its owner and mode. No history copy is kept.
 * Returns 0, or a negative errno with `err` saying what failed (-EINVAL for a NULL or
 * empty `dir`, -ENAMETOOLONG when the path does not fit PATH_MAX).
 */
int metrics_write(const char *dir, const char *text, size_t len, char *err, size_t errlen);

#endif
