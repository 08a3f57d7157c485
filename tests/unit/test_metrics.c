/* test_metrics: Check unit tests of the node_exporter textfile rendering and writing (agent/metrics.c). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "check_run.h"
#include "metrics.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

#define ERR_MAX      512
#define MAX_FAMILIES 256
#define MAX_SERIES   4096

/* ---- a validator of the text format 0.0.4, independent of the renderer ---- */

/* A sample line: name, optional labels, a space, a value (no timestamp: node_exporter's
 * textfile collector refuses them). [{] [}] [+] keep the braces and plus literal in POSIX ERE. */
static const char SAMPLE_RE[] = "^[a-zA-Z_:][a-zA-Z0-9_:]*"
				"([{]([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\",?)*[}])?"
				" (-?[0-9.eE+-]+|NaN|[+]Inf|-Inf)$";
static const char NAME_RE[] = "^[a-zA-Z_:][a-zA-Z0-9_:]*$";

struct family_seen {
	char name[128];
	char type[16];
	bool help, type_seen, closed, has_samples;
};

static struct family_seen *family_find(struct family_seen *f, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i].name, name) == 0)
			return &f[i];
	return NULL;
}

/* The family a sample name belongs to: itself, or without _bucket/_sum/_count for a
 * histogram or summary declared under the shorter name. */
static struct family_seen *family_of_sample(struct family_seen *f, size_t n, const char *name)
{
	static const char *const suffixes[] = {"_bucket", "_sum", "_count", NULL};
	struct family_seen *fam = family_find(f, n, name);
	char base[128];

	if (fam)
		return fam;
	for (int i = 0; suffixes[i]; i++) {
		size_t ln = strlen(name), ls = strlen(suffixes[i]);

		if (ln > ls && ln - ls < sizeof base && strcmp(name + ln - ls, suffixes[i]) == 0) {
			memcpy(base, name, ln - ls);
			base[ln - ls] = '\0';
			fam = family_find(f, n, base);
			if (fam && (strcmp(fam->type, "histogram") == 0 || strcmp(fam->type, "summary") == 0))
				return fam;
		}
	}
	return NULL;
}

/* Escapes inside label values must be \\ \" or \n only. */
static bool label_escapes_ok(const char *series)
{
	bool in_value = false;

	for (const char *p = series; *p; p++) {
		if (!in_value) {
			if (*p == '"')
				in_value = true;
			continue;
		}
		if (*p == '\\') {
			if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
				return false;
			p++;
		} else if (*p == '"') {
			in_value = false;
		}
	}
	return true;
}

/*
 * Checks `text` by the rules of the format: ends with a newline; every line is a "# HELP
 * name text", "# TYPE name counter|gauge|histogram|summary|untyped", another comment or a
 * sample matching SAMPLE_RE whose value strtod() reads whole; label values escape only
 * \\ \" \n; every family has at most one HELP and exactly one TYPE line, both before its
 * samples; a family's samples are contiguous; no series appears twice.
 * Returns true, or false with `why` naming the line.
 */
static bool text_is_valid(const char *text, char *why, size_t whylen)
{
	static struct family_seen fams[MAX_FAMILIES];
	static char *series[MAX_SERIES];
	size_t n_fams = 0, n_series = 0, lineno = 0;
	struct family_seen *current = NULL;
	regex_t sample_re, name_re;
	char *copy, *line, *save = NULL;
	bool ok = true;

	if (!*text || text[strlen(text) - 1] != '\n') {
		snprintf(why, whylen, "the text does not end with a newline");
		return false;
	}
	ck_assert_int_eq(regcomp(&sample_re, SAMPLE_RE, REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_int_eq(regcomp(&name_re, NAME_RE, REG_EXTENDED | REG_NOSUB), 0);
	copy = strdup(text);
	ck_assert_ptr_nonnull(copy);
	memset(fams, 0, sizeof fams);
	for (line = strtok_r(copy, "\n", &save); line && ok; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (line[0] == '#') {
			char kw[8], name[128], rest[256] = "";
			struct family_seen *f;
			int k = sscanf(line, "# %7s %127s %255[^\n]", kw, name, rest);

			if (k < 2 || (strcmp(kw, "HELP") != 0 && strcmp(kw, "TYPE") != 0))
				continue; /* a plain comment */
			if (regexec(&name_re, name, 0, NULL, 0) != 0) {
				snprintf(why, whylen, "line %zu: bad metric name: %s", lineno, line);
				ok = false;
				break;
			}
			f = family_find(fams, n_fams, name);
			if (!f) {
				ck_assert_uint_lt(n_fams, MAX_FAMILIES);
				f = &fams[n_fams++];
				snprintf(f->name, sizeof f->name, "%s", name);
			}
			if (f->has_samples || f->closed) {
				snprintf(why, whylen, "line %zu: %s after the samples of its family: %s", lineno, kw,
					 line);
				ok = false;
			} else if (strcmp(kw, "HELP") == 0) {
				if (f->help) {
					snprintf(why, whylen, "line %zu: second HELP: %s", lineno, line);
					ok = false;
				}
				f->help = true;
			} else {
				if (f->type_seen) {
					snprintf(why, whylen, "line %zu: second TYPE: %s", lineno, line);
					ok = false;
				} else if (strcmp(rest, "counter") != 0 && strcmp(rest, "gauge") != 0 &&
					   strcmp(rest, "histogram") != 0 && strcmp(rest, "summary") != 0 &&
					   strcmp(rest, "untyped") != 0) {
					snprintf(why, whylen, "line %zu: unknown type: %s", lineno, line);
					ok = false;
				}
				f->type_seen = true;
				snprintf(f->type, sizeof f->type, "%.15s", rest);
			}
			if (current && current != f)
				current->closed = true;
			current = f;
			continue;
		}
		if (regexec(&sample_re, line, 0, NULL, 0) != 0) {
			snprintf(why, whylen, "line %zu: not a sample: %s", lineno, line);
			ok = false;
			break;
		}
		{
			char name[128];
			size_t nl = strcspn(line, "{ ");
			size_t sl = strrchr(line, ' ') - line;
			struct family_seen *f;

			ck_assert_uint_lt(nl, sizeof name);
			memcpy(name, line, nl);
			name[nl] = '\0';
			f = family_of_sample(fams, n_fams, name);
			if (!f || !f->type_seen) {
				snprintf(why, whylen, "line %zu: sample without a preceding TYPE line: %s", lineno,
					 line);
				ok = false;
				break;
			}
			if (f->closed) {
				snprintf(why, whylen, "line %zu: family %s continues after another one: %s", lineno,
					 f->name, line);
				ok = false;
				break;
			}
			if (current && current != f)
				current->closed = true;
			current = f;
			f->has_samples = true;
			{
				const char *v = line + sl + 1;
				char *end;

				if (strcmp(v, "NaN") != 0 && strcmp(v, "+Inf") != 0 && strcmp(v, "-Inf") != 0 &&
				    (strtod(v, &end), *end != '\0')) {
					snprintf(why, whylen, "line %zu: not a float value: %s", lineno, line);
					ok = false;
					break;
				}
			}
			if (!label_escapes_ok(line)) {
				snprintf(why, whylen, "line %zu: bad escape in a label value: %s", lineno, line);
				ok = false;
				break;
			}
			for (size_t i = 0; i < n_series; i++) {
				if (strlen(series[i]) == sl && strncmp(series[i], line, sl) == 0) {
					snprintf(why, whylen, "line %zu: duplicate series: %s", lineno, line);
					ok = false;
					break;
				}
			}
			ck_assert_uint_lt(n_series, MAX_SERIES);
			series[n_series] = strndup(line, sl);
			ck_assert_ptr_nonnull(series[n_series]);
			n_series++;
		}
	}
	for (size_t i = 0; i < n_series; i++)
		free(series[i]);
	free(copy);
	regfree(&sample_re);
	regfree(&name_re);
	return ok;
}

/* The value text of the sample line that starts with `series` + " ", or NULL. */
static const char *value_of(const char *text, const char *series)
{
	static char value[64];
	size_t n = strlen(series);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ') {
			size_t vl = strcspn(p + n + 1, "\n");

			ck_assert_uint_lt(vl, sizeof value);
			memcpy(value, p + n + 1, vl);
			value[vl] = '\0';
			return value;
		}
	}
	return NULL;
}

/* How many lines start with `prefix`. */
static int lines_starting(const char *text, const char *prefix)
{
	int count = 0;
	size_t n = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, n) == 0)
			count++;
	return count;
}

#define assert_value(text, series, want)                                                                               \
	do {                                                                                                           \
		const char *v_ = value_of((text), (series));                                                           \
		ck_assert_msg(v_ != NULL, "no sample %s in:\n%s", (series), (text));                                   \
		ck_assert_msg(strcmp(v_, (want)) == 0, "%s is %s, want %s", (series), v_, (want));                     \
	} while (0)

#define assert_valid(text)                                                                                             \
	do {                                                                                                           \
		char why_[1024];                                                                                       \
		ck_assert_msg(text_is_valid((text), why_, sizeof why_), "%s\n--- text:\n%s", why_, (text));            \
	} while (0)

/* ---- a realistic report ---- */

#define COLLECTED_MS 1718000000000LL

struct fixture {
	CassandraAgent__V1__HealthReport r;
	CassandraAgent__V1__NodeIdentity node;
	CassandraAgent__V1__CassandraState cs;
	CassandraAgent__V1__Peer peers[5];
	CassandraAgent__V1__Peer *ring[5];
	CassandraAgent__V1__HostState host;
	CassandraAgent__V1__DiskState disks[2];
	CassandraAgent__V1__DiskState *disk_ptrs[2];
	CassandraAgent__V1__ConfigState config;
	CassandraAgent__V1__CertificateState certs[2];
	CassandraAgent__V1__CertificateState *cert_ptrs[2];
	CassandraAgent__V1__SnapshotState snaps;
	CassandraAgent__V1__LeaseState lease;
	CassandraAgent__V1__Condition conds[4];
	CassandraAgent__V1__Condition *cond_ptrs[4];
	CassandraAgent__V1__ControllerState ctl;
	struct metrics_counters counters;
};

static struct fixture fx;

static void peer(size_t i, const char *addr, const char *dc, const char *rack, CassandraAgent__V1__PeerStatus st)
{
	fx.peers[i] = (CassandraAgent__V1__Peer)CASSANDRA_AGENT__V1__PEER__INIT;
	fx.peers[i].address = (char *)addr;
	fx.peers[i].datacenter = (char *)dc;
	fx.peers[i].rack = (char *)rack;
	fx.peers[i].status = st;
	fx.peers[i].state = CASSANDRA_AGENT__V1__PEER_STATE__PEER_STATE_NORMAL;
	fx.ring[i] = &fx.peers[i];
}

static void cond(size_t i, const char *code, CassandraAgent__V1__Severity sev, const char *subject)
{
	fx.conds[i] = (CassandraAgent__V1__Condition)CASSANDRA_AGENT__V1__CONDITION__INIT;
	fx.conds[i].code = (char *)code;
	fx.conds[i].severity = sev;
	fx.conds[i].subject = (char *)subject;
	fx.conds[i].message = (char *)"message";
	fx.cond_ptrs[i] = &fx.conds[i];
}

static void setup(void)
{
	memset(&fx, 0, sizeof fx);
	fx.r = (CassandraAgent__V1__HealthReport)CASSANDRA_AGENT__V1__HEALTH_REPORT__INIT;
	fx.r.agent_version = (char *)"0.1.0";
	fx.r.collected_at_unix_ms = COLLECTED_MS;

	fx.node = (CassandraAgent__V1__NodeIdentity)CASSANDRA_AGENT__V1__NODE_IDENTITY__INIT;
	fx.node.address = (char *)"10.0.1.1";
	fx.node.datacenter = (char *)"dc1";
	fx.node.rack = (char *)"rack1";
	fx.node.cluster_name = (char *)"Test Cluster";
	fx.node.host_id = (char *)"2b5a7c36-0000-4000-8000-000000000001";
	fx.node.hostname = (char *)"cass-1";
	fx.node.cassandra_version = (char *)"4.1.5";
	fx.r.node = &fx.node;

	fx.cs = (CassandraAgent__V1__CassandraState)CASSANDRA_AGENT__V1__CASSANDRA_STATE__INIT;
	fx.cs.version = (char *)"4.1.5";
	fx.cs.unit_active_state = (char *)"active";
	fx.cs.gossip_running = 1;
	fx.cs.native_transport_running = 1;
	fx.cs.cql_probe_ok = 1;
	fx.cs.cql_probe_latency_ms = 1.5;
	fx.cs.schema_versions = 1;
	fx.r.cassandra = &fx.cs;

	peer(0, "10.0.1.1", "dc1", "rack1", CASSANDRA_AGENT__V1__PEER_STATUS__PEER_STATUS_UP);
	peer(1, "10.0.1.2", "dc1", "rack2", CASSANDRA_AGENT__V1__PEER_STATUS__PEER_STATUS_UP);
	peer(2, "10.0.1.3", "dc1", "rack3", CASSANDRA_AGENT__V1__PEER_STATUS__PEER_STATUS_DOWN);
	peer(3, "2001:db8::4", "dc2", "rack1", CASSANDRA_AGENT__V1__PEER_STATUS__PEER_STATUS_UNKNOWN);
	fx.r.n_ring = 4;
	fx.r.ring = fx.ring;

	fx.host = (CassandraAgent__V1__HostState)CASSANDRA_AGENT__V1__HOST_STATE__INIT;
	for (size_t i = 0; i < 2; i++) {
		fx.disks[i] = (CassandraAgent__V1__DiskState)CASSANDRA_AGENT__V1__DISK_STATE__INIT;
		fx.disk_ptrs[i] = &fx.disks[i];
	}
	fx.disks[0].path = (char *)"/var/lib/cassandra/data";
	fx.disks[0].total_bytes = 1000000000000ULL;
	fx.disks[0].free_bytes = 400000000000ULL;
	fx.disks[1].path = (char *)"/var/lib/cassandra/data2";
	fx.disks[1].total_bytes = 2000;
	fx.disks[1].free_bytes = 100;
	fx.host.n_disks = 2;
	fx.host.disks = fx.disk_ptrs;
	fx.r.host = &fx.host;

	fx.config = (CassandraAgent__V1__ConfigState)CASSANDRA_AGENT__V1__CONFIG_STATE__INIT;
	fx.config.drift = 1;
	fx.r.config = &fx.config;

	for (size_t i = 0; i < 2; i++) {
		fx.certs[i] = (CassandraAgent__V1__CertificateState)CASSANDRA_AGENT__V1__CERTIFICATE_STATE__INIT;
		fx.cert_ptrs[i] = &fx.certs[i];
	}
	fx.certs[0].path = (char *)"/etc/cassandra/tls/node.pem";
	fx.certs[0].subject = (char *)"CN=cass-1,O=Example";
	fx.certs[0].not_after_unix = 1720592000;
	fx.certs[0].days_left = 30;
	fx.certs[1].path = (char *)"/etc/cassandra/tls/ca.pem";
	fx.certs[1].subject = (char *)"CN=Example CA";
	fx.certs[1].not_after_unix = 1717000000;
	fx.certs[1].days_left = -12;
	fx.r.n_certificates = 2;
	fx.r.certificates = fx.cert_ptrs;

	fx.snaps = (CassandraAgent__V1__SnapshotState)CASSANDRA_AGENT__V1__SNAPSHOT_STATE__INIT;
	fx.snaps.last_tag = (char *)"agent-20240610T040000Z";
	fx.snaps.last_result = (char *)"ok";
	fx.snaps.last_success_unix_ms = COLLECTED_MS - 3723500; /* 1 h 2 min 3.5 s earlier */
	fx.snaps.count = 12;
	fx.snaps.total_bytes = 123456789012ULL;
	fx.r.snapshots = &fx.snaps;

	fx.lease = (CassandraAgent__V1__LeaseState)CASSANDRA_AGENT__V1__LEASE_STATE__INIT;
	fx.lease.phase = (char *)"IDLE";
	fx.r.lease = &fx.lease;

	cond(0, "PEER_DOWN", CASSANDRA_AGENT__V1__SEVERITY__SEVERITY_WARNING, "10.0.1.3");
	cond(1, "DISK_LOW", CASSANDRA_AGENT__V1__SEVERITY__SEVERITY_WARNING, "/var/lib/cassandra/data2");
	cond(2, "CERT_EXPIRING", CASSANDRA_AGENT__V1__SEVERITY__SEVERITY_CRITICAL, "/etc/cassandra/tls/ca.pem");
	cond(3, "CONFIG_DRIFT", CASSANDRA_AGENT__V1__SEVERITY__SEVERITY_INFO, "/etc/cassandra/cassandra.yaml");
	fx.r.n_conditions = 4;
	fx.r.conditions = fx.cond_ptrs;

	fx.ctl = (CassandraAgent__V1__ControllerState)CASSANDRA_AGENT__V1__CONTROLLER_STATE__INIT;
	fx.ctl.address = (char *)"controller.example.net:7443";
	fx.ctl.connected = 1;
	fx.r.controller = &fx.ctl;

	fx.counters.commands_total[CASSANDRA_AGENT__V1__COMMAND_STATUS__COMMAND_STATUS_ACCEPTED] = 7;
	fx.counters.commands_total[CASSANDRA_AGENT__V1__COMMAND_STATUS__COMMAND_STATUS_SUCCEEDED] = 5;
	fx.counters.commands_total[CASSANDRA_AGENT__V1__COMMAND_STATUS__COMMAND_STATUS_FAILED] = 1;
	fx.counters.commands_total[CASSANDRA_AGENT__V1__COMMAND_STATUS__COMMAND_STATUS_REJECTED] = 2;
	fx.counters.nodetool_calls_total = 42;
	fx.counters.nodetool_failures_total = 3;
	fx.counters.nodetool_last_duration_seconds = 2.25;
	fx.counters.controller_reconnects_total = 4;
}

static char *render(const struct metrics_counters *c)
{
	char *text = NULL;
	size_t len = 0;

	ck_assert_int_eq(metrics_render(&fx.r, c, &text, &len), 0);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(len, strlen(text));
	return text;
}

START_TEST(the_format_checker_rejects_broken_text)
{
	static const char *const bad[] = {
		"x 1",                                             /* no newline at the end */
		"x 1\n",                                           /* no TYPE */
		"# TYPE x gauge\nx{a=\"1\"} 1\nx{a=\"1\"} 2\n",    /* duplicate series */
		"# TYPE x gauge\n# TYPE x gauge\nx 1\n",           /* second TYPE */
		"# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\nx 2\n", /* family split */
		"# TYPE x gauge\nx{a=\"q\"q\"} 1\n",               /* unescaped quote */
		"# TYPE x gauge\nx{a=\"\\t\"} 1\n",                /* unknown escape */
		"# TYPE x gauge\nx 1 1718000000000\n",             /* timestamp */
		"# TYPE x gauge\nx one\n",                         /* not a number */
		"# TYPE x gauge\nx 1e\n",                          /* not a float either */
		"# TYPE x gauge\nx{0a=\"1\"} 1\n",                 /* bad label name */
		"# TYPE x gauge\nx 1\n# HELP x late\n",            /* HELP after samples */
		"# TYPE x gauges\nx 1\n",                          /* unknown type */
	};
	char why[1024];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!text_is_valid(bad[i], why, sizeof why), "accepted: %s", bad[i]);
	ck_assert_msg(text_is_valid("# HELP x h\n# TYPE x gauge\nx{a=\"\\\"\\n\\\\\"} NaN\nx +Inf\n", why, sizeof why),
		      "%s", why);
}
END_TEST

/* ---- rendering ---- */

START_TEST(full_report_follows_the_text_format)
{
	char *text = render(&fx.counters);

	assert_valid(text);
	assert_value(text, "cassandra_agent_up", "1");
	ck_assert_int_eq(lines_starting(text, "# TYPE cassandra_agent_up gauge\n"), 1);
	ck_assert_int_eq(lines_starting(text, "# TYPE cassandra_agent_commands_total counter\n"), 1);
	/* every family has its HELP line too */
	ck_assert_int_eq(lines_starting(text, "# HELP "), lines_starting(text, "# TYPE "));
	free(text);
}
END_TEST

START_TEST(every_metric_name_is_snake_case_with_the_agent_prefix)
{
	char *text = render(&fx.counters);
	regex_t re;

	ck_assert_int_eq(regcomp(&re, "^cassandra_agent_[a-z0-9_]*[a-z0-9]$", REG_EXTENDED | REG_NOSUB), 0);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		char name[128];
		const char *start = strncmp(p, "# TYPE ", 7) == 0 ? p + 7 : strncmp(p, "# HELP ", 7) == 0 ? p + 7 : p;
		size_t n = strcspn(start, "{ \n");

		ck_assert_uint_lt(n, sizeof name);
		memcpy(name, start, n);
		name[n] = '\0';
		ck_assert_msg(regexec(&re, name, 0, NULL, 0) == 0, "bad name %s", name);
	}
	regfree(&re);
	free(text);
}
END_TEST

START_TEST(peers_are_counted_by_status_and_listed_by_address)
{
	char *text = render(&fx.counters);

	assert_value(text, "cassandra_agent_peers{status=\"up\"}", "2");
	assert_value(text, "cassandra_agent_peers{status=\"down\"}", "1");
	assert_value(text, "cassandra_agent_peers{status=\"unknown\"}", "1");
	assert_value(text, "cassandra_agent_peer_up{address=\"10.0.1.1\",datacenter=\"dc1\",rack=\"rack1\"}", "1");
	assert_value(text, "cassandra_agent_peer_up{address=\"10.0.1.3\",datacenter=\"dc1\",rack=\"rack3\"}", "0");
	assert_value(text, "cassandra_agent_peer_up{address=\"2001:db8::4\",datacenter=\"dc2\",rack=\"rack1\"}", "0");
	ck_assert_int_eq(lines_starting(text, "cassandra_agent_peer_up{"), 4);
	free(text);
}
END_TEST

START_TEST(a_repeated_peer_renders_one_series)
{
	char *text;

	peer(4, "10.0.1.2", "dc1", "rack2", CASSANDRA_AGENT__V1__PEER_STATUS__PEER_STATUS_DOWN);
	fx.r.n_ring = 5;
	text = render(&fx.counters);
	assert_valid(text);
	ck_assert_int_eq(lines_starting(text, "cassandra_agent_peer_up{address=\"10.0.1.2\","), 1);
	/* the first one wins */
	assert_value(text, "cassandra_agent_peer_up{address=\"10.0.1.2\",datacenter=\"dc1\",rack=\"rack2\"}", "1");
	free(text);
}
END_TEST

START_TEST(conditions_are_counted_by_severity_and_listed)
{
	char *text = render(&fx.counters);

	assert_value(text, "cassandra_agent_conditions{severity=\"info\"}", "1");
	assert_value(text, "cassandra_agent_conditions{severity=\"warning\"}", "2");
	assert_value(text, "cassandra_agent_conditions{severity=\"critical\"}", "1");
	assert_value(text, "cassandra_agent_condition{code=\"PEER_DOWN\",subject=\"10.0.1.3\",severity=\"warning\"}",
		     "1");
	assert_value(text,
		     "cassandra_agent_condition{code=\"CERT_EXPIRING\",subject=\"/etc/cassandra/tls/ca.pem\","
		     "severity=\"critical\"}",
		     "1");
	ck_assert_int_eq(lines_starting(text, "cassandra_agent_condition{"), 4);
	free(text);
}
END_TEST

START_TEST(no_conditions_render_zero_counts_and_no_condition_family)
{
	char *text;

	fx.r.n_conditions = 0;
	text = render(&fx.counters);
	assert_valid(text);
	assert_value(text, "cassandra_agent_conditions{severity=\"critical\"}", "0");
	ck_assert_ptr_null(strstr(text, "cassandra_agent_condition{"));
	ck_assert_ptr_null(strstr(text, "# TYPE cassandra_agent_condition "));
	free(text);
}
END_TEST

START_TEST(certificates_report_days_left_and_expiry_by_path_and_subject)
{
	char *text = render(&fx.counters);

	assert_value(text,
		     "cassandra_agent_certificate_days_left{path=\"/etc/cassandra/tls/node.pem\","
		     "subject=\"CN=cass-1,O=Example\"}",
		     "30");
	assert_value(
		text,
		"cassandra_agent_certificate_days_left{path=\"/etc/cassandra/tls/ca.pem\",subject=\"CN=Example CA\"}",
		"-12");
	assert_value(text,
		     "cassandra_agent_certificate_expiry_timestamp_seconds{path=\"/etc/cassandra/tls/node.pem\","
		     "subject=\"CN=cass-1,O=Example\"}",
		     "1720592000");
	free(text);
}
END_TEST

START_TEST(label_values_escape_quote_backslash_and_newline)
{
	char *text;

	fx.certs[0].subject = (char *)"CN=a \"quoted\"\nname\\x";
	text = render(&fx.counters);
	assert_valid(text);
	assert_value(text,
		     "cassandra_agent_certificate_days_left{path=\"/etc/cassandra/tls/node.pem\","
		     "subject=\"CN=a \\\"quoted\\\"\\nname\\\\x\"}",
		     "30");
	free(text);
}
END_TEST

START_TEST(invalid_utf8_in_a_label_becomes_the_replacement_character)
{
	char *text;

	fx.certs[0].subject = (char *)"CN=caf\xc3\xa9 \xff\xc3";
	text = render(&fx.counters);
	assert_valid(text);
	ck_assert_ptr_nonnull(strstr(text, "subject=\"CN=caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd\"}"));
	free(text);
}
END_TEST

START_TEST(snapshot_age_is_measured_from_the_report_collection)
{
	char *text = render(&fx.counters);

	assert_value(text, "cassandra_agent_snapshot_last_success_age_seconds", "3723.5");
	assert_value(text, "cassandra_agent_snapshot_last_success_timestamp_seconds", "1717996276.5");
	assert_value(text, "cassandra_agent_report_timestamp_seconds", "1718000000");
	assert_value(text, "cassandra_agent_snapshots", "12");
	assert_value(text, "cassandra_agent_snapshots_bytes", "123456789012");
	free(text);
}
END_TEST

START_TEST(snapshot_age_is_omitted_when_no_snapshot_ever_succeeded)
{
	char *text;

	fx.snaps.last_success_unix_ms = 0;
	text = render(&fx.counters);
	assert_valid(text);
	ck_assert_ptr_null(strstr(text, "cassandra_agent_snapshot_last_success"));
	ck_assert_ptr_null(strstr(text, "NaN"));
	assert_value(text, "cassandra_agent_snapshots", "12");
	free(text);
}
END_TEST

START_TEST(snapshot_age_is_never_negative_under_clock_skew)
{
	char *text;

	fx.snaps.last_success_unix_ms = COLLECTED_MS + 5000;
	text = render(&fx.counters);
	assert_value(text, "cassandra_agent_snapshot_last_success_age_seconds", "0");
	free(text);
}
END_TEST

START_TEST(lease_phase_and_controller_connection_are_reported)
{
	char *text = render(&fx.counters);

	assert_value(text, "cassandra_agent_lease_phase{phase=\"IDLE\"}", "1");
	ck_assert_ptr_null(strstr(text, "cassandra_agent_lease_epoch"));
	assert_value(text, "cassandra_agent_controller_connected", "1");
	free(text);

	fx.lease.lease_id = (char *)"lease-7";
	fx.lease.phase = (char *)"DRAINING";
	fx.lease.epoch = 9;
	fx.ctl.connected = 0;
	text = render(&fx.counters);
	assert_value(text, "cassandra_agent_lease_phase{phase=\"DRAINING\"}", "1");
	ck_assert_int_eq(lines_starting(text, "cassandra_agent_lease_phase{"), 1);
	assert_value(text, "cassandra_agent_lease_epoch", "9");
	assert_value(text, "cassandra_agent_controller_connected", "0");
	free(text);
}
END_TEST

START_TEST(standalone_agent_has_no_controller_metric_and_phase_none)
{
	char *text;

	fx.ctl.address = (char *)"";
	fx.r.lease = NULL;
	text = render(&fx.counters);
	assert_valid(text);
	ck_assert_ptr_null(strstr(text, "cassandra_agent_controller_connected"));
	assert_value(text, "cassandra_agent_lease_phase{phase=\"NONE\"}", "1");
	free(text);
}
END_TEST

START_TEST(cassandra_state_is_reported_with_latency_in_seconds)
{
	char *text = render(&fx.counters);

	assert_value(text, "cassandra_agent_unit_active", "1");
	assert_value(text, "cassandra_agent_cql_probe_ok", "1");
	assert_value(text, "cassandra_agent_cql_probe_latency_seconds", "0.0015");
	assert_value(text, "cassandra_agent_schema_versions", "1");
	assert_value(text, "cassandra_agent_gossip_running", "1");
	assert_value(text, "cassandra_agent_native_transport_running", "1");
	assert_value(text, "cassandra_agent_config_drift", "1");
	assert_value(text, "cassandra_agent_config_restart_pending", "0");
	free(text);
}
END_TEST

START_TEST(a_failed_probe_and_inactive_unit_render_zero_without_latency)
{
	char *text;

	fx.cs.unit_active_state = (char *)"failed";
	fx.cs.cql_probe_ok = 0;
	fx.cs.cql_probe_latency_ms = NAN;
	text = render(&fx.counters);
	assert_valid(text);
	assert_value(text, "cassandra_agent_unit_active", "0");
	assert_value(text, "cassandra_agent_cql_probe_ok", "0");
	ck_assert_ptr_null(strstr(text, "cassandra_agent_cql_probe_latency_seconds"));
	free(text);
}
END_TEST

START_TEST(disks_report_free_and_total_bytes_by_path)
{
	char *text = render(&fx.counters);

	assert_value(text, "cassandra_agent_disk_free_bytes{path=\"/var/lib/cassandra/data\"}", "400000000000");
	assert_value(text, "cassandra_agent_disk_total_bytes{path=\"/var/lib/cassandra/data\"}", "1000000000000");
	assert_value(text, "cassandra_agent_disk_free_bytes{path=\"/var/lib/cassandra/data2\"}", "100");
	free(text);
}
END_TEST

START_TEST(counters_render_by_status_with_the_total_suffix)
{
	char *text = render(&fx.counters);

	assert_value(text, "cassandra_agent_commands_total{status=\"accepted\"}", "7");
	assert_value(text, "cassandra_agent_commands_total{status=\"running\"}", "0");
	assert_value(text, "cassandra_agent_commands_total{status=\"succeeded\"}", "5");
	assert_value(text, "cassandra_agent_commands_total{status=\"failed\"}", "1");
	assert_value(text, "cassandra_agent_commands_total{status=\"rejected\"}", "2");
	assert_value(text, "cassandra_agent_nodetool_calls_total", "42");
	assert_value(text, "cassandra_agent_nodetool_failures_total", "3");
	assert_value(text, "cassandra_agent_nodetool_last_duration_seconds", "2.25");
	assert_value(text, "cassandra_agent_controller_reconnects_total", "4");
	ck_assert_int_eq(lines_starting(text, "# TYPE cassandra_agent_nodetool_calls_total counter\n"), 1);
	ck_assert_int_eq(lines_starting(text, "# TYPE cassandra_agent_controller_reconnects_total counter\n"), 1);
	free(text);
}
END_TEST

START_TEST(null_counters_render_as_zero_without_a_last_duration)
{
	char *text = render(NULL);

	assert_valid(text);
	assert_value(text, "cassandra_agent_commands_total{status=\"succeeded\"}", "0");
	assert_value(text, "cassandra_agent_nodetool_calls_total", "0");
	ck_assert_ptr_null(strstr(text, "cassandra_agent_nodetool_last_duration_seconds"));
	free(text);
}
END_TEST

START_TEST(an_empty_report_renders_valid_text)
{
	CassandraAgent__V1__HealthReport empty = CASSANDRA_AGENT__V1__HEALTH_REPORT__INIT;
	char *text = NULL;
	size_t len = 0;

	ck_assert_int_eq(metrics_render(&empty, NULL, &text, &len), 0);
	assert_valid(text);
	assert_value(text, "cassandra_agent_up", "1");
	assert_value(text, "cassandra_agent_peers{status=\"up\"}", "0");
	ck_assert_ptr_null(strstr(text, "cassandra_agent_snapshot"));
	ck_assert_ptr_null(strstr(text, "cassandra_agent_report_timestamp_seconds"));
	free(text);
}
END_TEST

START_TEST(render_refuses_null_arguments)
{
	char *text = (char *)"x";
	size_t len = 7;

	ck_assert_int_eq(metrics_render(NULL, NULL, &text, &len), -EINVAL);
	ck_assert_ptr_null(text);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(metrics_render(&fx.r, NULL, NULL, &len), -EINVAL);
	ck_assert_int_eq(metrics_render(&fx.r, NULL, &text, NULL), -EINVAL);
}
END_TEST

START_TEST(a_large_ring_renders_every_peer_once)
{
	enum { N = 1000 };
	CassandraAgent__V1__Peer *peers = calloc(N, sizeof *peers), **ring = calloc(N, sizeof *ring);
	char(*addr)[32] = calloc(N, sizeof *addr);
	char *text;

	ck_assert(peers && ring && addr);
	for (size_t i = 0; i < N; i++) {
		peers[i] = (CassandraAgent__V1__Peer)CASSANDRA_AGENT__V1__PEER__INIT;
		snprintf(addr[i], sizeof addr[i], "10.1.%zu.%zu", i / 250, i % 250);
		peers[i].address = addr[i];
		peers[i].datacenter = (char *)"dc1";
		peers[i].rack = (char *)(i % 3 ? "rack1" : "rack2");
		peers[i].status = CASSANDRA_AGENT__V1__PEER_STATUS__PEER_STATUS_UP;
		ring[i] = &peers[i];
	}
	fx.r.n_ring = N;
	fx.r.ring = ring;
	text = render(&fx.counters);
	assert_valid(text);
	ck_assert_int_eq(lines_starting(text, "cassandra_agent_peer_up{"), N);
	assert_value(text, "cassandra_agent_peers{status=\"up\"}", "1000");
	free(text);
	free(peers);
	free(ring);
	free(addr);
}
END_TEST

/* ---- writing ---- */

static char dir[256];

static void dir_setup(void)
{
	setup();
	snprintf(dir, sizeof dir, "/tmp/test_metrics.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	unsetenv("CASSANDRA_AGENT_FAULT");
}

static void dir_teardown(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[512];

	if (d) {
		while ((de = readdir(d))) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* Names in `dir` other than . and .. */
static int entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

START_TEST(write_creates_the_prom_file_with_mode_0644_and_reads_back)
{
	char *text = render(&fx.counters), *back = NULL, err[ERR_MAX], path[512];
	size_t len = strlen(text), back_len = 0;
	struct stat st;
	mode_t old = umask(077);

	ck_assert_msg(metrics_write(dir, text, len, err, sizeof err) == 0, "%s", err);
	umask(old);
	snprintf(path, sizeof path, "%s/cassandra_agent.prom", dir);
	ck_assert_msg(fileio_read(path, 1 << 20, &back, &back_len, err, sizeof err) == 0, "%s", err);
	ck_assert_uint_eq(back_len, len);
	ck_assert_str_eq(back, text);
	assert_valid(back);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644); /* readable by node_exporter despite the umask */
	ck_assert_int_eq(entries(), 1);             /* no temporary file left */
	free(back);
	free(text);
}
END_TEST

START_TEST(write_replaces_the_previous_file)
{
	char err[ERR_MAX], path[512], *back = NULL;
	size_t back_len;
	char *text;

	ck_assert_int_eq(metrics_write(dir, "old 1\n", 6, err, sizeof err), 0);
	fx.snaps.count = 99;
	text = render(&fx.counters);
	ck_assert_msg(metrics_write(dir, text, strlen(text), err, sizeof err) == 0, "%s", err);
	snprintf(path, sizeof path, "%s/cassandra_agent.prom", dir);
	ck_assert_int_eq(fileio_read(path, 1 << 20, &back, &back_len, err, sizeof err), 0);
	assert_value(back, "cassandra_agent_snapshots", "99");
	ck_assert_int_eq(entries(), 1);
	free(back);
	free(text);
}
END_TEST

START_TEST(write_failure_leaves_the_old_file)
{
	char err[ERR_MAX], path[512], *back = NULL;
	size_t back_len;

	ck_assert_int_eq(metrics_write(dir, "old 1\n", 6, err, sizeof err), 0);
	setenv("CASSANDRA_AGENT_FAULT", "fsync", 1);
	ck_assert_int_eq(metrics_write(dir, "new 2\n", 6, err, sizeof err), -EIO);
	ck_assert_ptr_nonnull(strstr(err, "fsync"));
	snprintf(path, sizeof path, "%s/cassandra_agent.prom", dir);
	ck_assert_int_eq(fileio_read(path, 1 << 20, &back, &back_len, err, sizeof err), 0);
	ck_assert_str_eq(back, "old 1\n");
	ck_assert_int_eq(entries(), 1);
	free(back);
}
END_TEST

START_TEST(write_reports_a_missing_directory)
{
	char err[ERR_MAX], missing[512];

	snprintf(missing, sizeof missing, "%s/nope", dir);
	ck_assert_int_eq(metrics_write(missing, "x 1\n", 4, err, sizeof err), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "nope"));
	ck_assert_int_eq(metrics_write("", "x 1\n", 4, err, sizeof err), -EINVAL);
	ck_assert_int_eq(metrics_write(NULL, "x 1\n", 4, err, sizeof err), -EINVAL);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("render");
	TCase *tw = tcase_create("write");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, the_format_checker_rejects_broken_text);
	tcase_add_test(tc, full_report_follows_the_text_format);
	tcase_add_test(tc, every_metric_name_is_snake_case_with_the_agent_prefix);
	tcase_add_test(tc, peers_are_counted_by_status_and_listed_by_address);
	tcase_add_test(tc, a_repeated_peer_renders_one_series);
	tcase_add_test(tc, conditions_are_counted_by_severity_and_listed);
	tcase_add_test(tc, no_conditions_render_zero_counts_and_no_condition_family);
	tcase_add_test(tc, certificates_report_days_left_and_expiry_by_path_and_subject);
	tcase_add_test(tc, label_values_escape_quote_backslash_and_newline);
	tcase_add_test(tc, invalid_utf8_in_a_label_becomes_the_replacement_character);
	tcase_add_test(tc, snapshot_age_is_measured_from_the_report_collection);
	tcase_add_test(tc, snapshot_age_is_omitted_when_no_snapshot_ever_succeeded);
	tcase_add_test(tc, snapshot_age_is_never_negative_under_clock_skew);
	tcase_add_test(tc, lease_phase_and_controller_connection_are_reported);
	tcase_add_test(tc, standalone_agent_has_no_controller_metric_and_phase_none);
	tcase_add_test(tc, cassandra_state_is_reported_with_latency_in_seconds);
	tcase_add_test(tc, a_failed_probe_and_inactive_unit_render_zero_without_latency);
	tcase_add_test(tc, disks_report_free_and_total_bytes_by_path);
	tcase_add_test(tc, counters_render_by_status_with_the_total_suffix);
	tcase_add_test(tc, null_counters_render_as_zero_without_a_last_duration);
	tcase_add_test(tc, an_empty_report_renders_valid_text);
	tcase_add_test(tc, render_refuses_null_arguments);
	tcase_add_test(tc, a_large_ring_renders_every_peer_once);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tw, dir_setup, dir_teardown);
	tcase_add_test(tw, write_creates_the_prom_file_with_mode_0644_and_reads_back);
	tcase_add_test(tw, write_replaces_the_previous_file);
	tcase_add_test(tw, write_failure_leaves_the_old_file);
	tcase_add_test(tw, write_reports_a_missing_directory);
	suite_add_tcase(s, tw);
	return s;
}

int main(void)
{
	return check_run_forked(suite(), CK_NORMAL);
}
