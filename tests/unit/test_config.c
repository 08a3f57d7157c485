/* test_config: Check unit tests of agent.yaml loading, validation and the unit parsers (agent/config.c). */
/* mkdtemp is POSIX.1-2008; the build may already ask for more. */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_run.h"

#define MIN_MS  60000ULL
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS  (24 * HOUR_MS)

/* Helpers. */

static int load(const char *text, struct agent_config *cfg, char *err)
{
	return config_load_buffer("t.yaml", text, strlen(text), cfg, err, CONFIG_ERR_MAX);
}

static bool is_zeroed(const struct agent_config *cfg)
{
	static const struct agent_config zero;

	return memcmp(cfg, &zero, sizeof(zero)) == 0;
}

/* Loads `text`, which must be refused with `rc` and a message starting with `prefix`; cfg must be zeroed. */
static void assert_refused_rc(const char *text, int rc, const char *prefix)
{
	struct agent_config cfg;
	char err[CONFIG_ERR_MAX] = "";
	int r;

	memset(&cfg, 0xa5, sizeof(cfg));
	r = load(text, &cfg, err);
	ck_assert_msg(r == rc, "expected %d, got %d (%s)", rc, r, err);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "expected prefix\n  %s\ngot\n  %s", prefix, err);
	ck_assert_msg(is_zeroed(&cfg), "config not zeroed after an error");
}

static void assert_refused(const char *text, const char *prefix)
{
	assert_refused_rc(text, -EINVAL, prefix);
}

/* Loads `text`, which must succeed. */
static void load_ok(const char *text, struct agent_config *cfg)
{
	char err[CONFIG_ERR_MAX] = "";
	int r = load(text, cfg, err);

	ck_assert_msg(r == 0, "load failed with %d: %s", r, err);
	ck_assert_str_eq(err, "");
}

static void assert_strv_eq(const struct config_strv *a, const struct config_strv *b)
{
	ck_assert_uint_eq(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		ck_assert_str_eq(a->v[i], b->v[i]);
	if (a->n)
		ck_assert_ptr_null(a->v[a->n]);
	else
		ck_assert_ptr_null(a->v);
}

static void assert_strv_is(const struct config_strv *a, const char *const *want)
{
	size_t n = 0;

	while (want[n])
		n++;
	ck_assert_uint_eq(a->n, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(a->v[i], want[i]);
	if (n)
		ck_assert_ptr_null(a->v[n]);
}

/* Compares every field but `path`. */
static void assert_config_eq(const struct agent_config *a, const struct agent_config *b)
{
	ck_assert_pstr_eq(a->node.datacenter, b->node.datacenter);
	ck_assert_pstr_eq(a->node.rack, b->node.rack);
	ck_assert_int_eq(a->node.prefer_local, b->node.prefer_local);
	ck_assert_pstr_eq(a->cassandra.yaml, b->cassandra.yaml);
	ck_assert_pstr_eq(a->cassandra.rackdc, b->cassandra.rackdc);
	ck_assert_pstr_eq(a->cassandra.unit, b->cassandra.unit);
	assert_strv_eq(&a->cassandra.nodetool, &b->cassandra.nodetool);
	ck_assert_uint_eq(a->cassandra.nodetool_timeout_ms, b->cassandra.nodetool_timeout_ms);
	ck_assert_pstr_eq(a->cassandra.native_address, b->cassandra.native_address);
	ck_assert_uint_eq(a->cassandra.native_port, b->cassandra.native_port);
	assert_strv_eq(&a->cassandra.data_directories, &b->cassandra.data_directories);
	ck_assert_int_eq(a->controller.enabled, b->controller.enabled);
	ck_assert_pstr_eq(a->controller.address, b->controller.address);
	ck_assert_pstr_eq(a->controller.ca, b->controller.ca);
	ck_assert_pstr_eq(a->controller.cert, b->controller.cert);
	ck_assert_pstr_eq(a->controller.key, b->controller.key);
	ck_assert_uint_eq(a->controller.report_interval_ms, b->controller.report_interval_ms);
	ck_assert_uint_eq(a->health.probe_interval_ms, b->health.probe_interval_ms);
	ck_assert_uint_eq(a->health.nodetool_interval_ms, b->health.nodetool_interval_ms);
	ck_assert_pstr_eq(a->status.socket, b->status.socket);
	ck_assert_pstr_eq(a->status.group, b->status.group);
	ck_assert_pstr_eq(a->state_directory, b->state_directory);
	ck_assert_uint_eq(a->snapshots.interval_ms, b->snapshots.interval_ms);
	ck_assert_uint_eq(a->snapshots.retention_ms, b->snapshots.retention_ms);
	ck_assert_pstr_eq(a->snapshots.tag_prefix, b->snapshots.tag_prefix);
	ck_assert_double_eq(a->snapshots.min_free_disk_percent, b->snapshots.min_free_disk_percent);
	ck_assert_pstr_eq(a->maintenance.reboot_required, b->maintenance.reboot_required);
	ck_assert_pstr_eq(a->maintenance.window, b->maintenance.window);
	assert_strv_eq(&a->maintenance.patch_command, &b->maintenance.patch_command);
	assert_strv_eq(&a->maintenance.cassandra_upgrade_command, &b->maintenance.cassandra_upgrade_command);
	ck_assert_uint_eq(a->maintenance.healthy_timeout_ms, b->maintenance.healthy_timeout_ms);
	ck_assert_uint_eq(a->maintenance.settle_ms, b->maintenance.settle_ms);
	ck_assert_pstr_eq(a->maintenance.boot_id_file, b->maintenance.boot_id_file);
	ck_assert_pstr_eq(a->tls.truststore_type, b->tls.truststore_type);
}

static void assert_defaults(const struct agent_config *cfg)
{
	struct agent_config def;

	ck_assert_int_eq(config_defaults(&def), 0);
	assert_config_eq(cfg, &def);
	config_free(&def);
}

/* Reads a file into a NUL-terminated malloc'd buffer. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void example_path(char *out, size_t outlen)
{
	const char *root = getenv("PROJECT_ROOT");

	snprintf(out, outlen, "%s/conf/agent.yaml", root && *root ? root : ".");
}

/* Writes `len` bytes to a fresh file in a fresh directory; returns its path in `path`. */
static void write_temp(char *path, size_t pathlen, const char *data, size_t len)
{
	char dir[] = "/tmp/test_config.XXXXXX";
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, pathlen, "%s/agent.yaml", dir);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static void remove_temp(const char *path)
{
	char dir[256];
	char *slash;

	unlink(path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		rmdir(dir);
	}
}

/* A file that sets every key to a value other than its default (block style). */
static const char full_block[] = "node:\n"
				 "  datacenter: eu-west\n"
				 "  rack: r2\n"
				 "  prefer_local: yes\n"
				 "cassandra:\n"
				 "  yaml: /opt/cassandra/conf/cassandra.yaml\n"
				 "  rackdc: /opt/cassandra/conf/cassandra-rackdc.properties\n"
				 "  unit: cassandra@main.service\n"
				 "  nodetool:\n"
				 "    - /usr/bin/sudo\n"
				 "    - -u\n"
				 "    - cassandra\n"
				 "    - /opt/cassandra/bin/nodetool\n"
				 "  nodetool_timeout: 1500ms\n"
				 "  native_address: 10.0.0.5\n"
				 "  native_port: 19042\n"
				 "  data_directories:\n"
				 "    - /data1/cassandra\n"
				 "    - /data2/cassandra\n"
				 "controller:\n"
				 "  address: \"[2001:db8::1]:7443\"\n"
				 "  ca: /etc/ca.pem\n"
				 "  cert: /etc/agent.pem\n"
				 "  key: /etc/agent.key\n"
				 "  report_interval: 10s\n"
				 "health:\n"
				 "  probe_interval: 2s\n"
				 "  nodetool_interval: 1m\n"
				 "status:\n"
				 "  socket: /tmp/agent.sock\n"
				 "  group: \"\"\n"
				 "state_directory: /srv/agent-state\n"
				 "snapshots:\n"
				 "  interval: 1h\n"
				 "  retention: 7d\n"
				 "  tag_prefix: nightly\n"
				 "  min_free_disk: 12.5%\n"
				 "maintenance:\n"
				 "  reboot_required: /var/run/reboot-required\n"
				 "  window: \"Sat,Sun 01:00-05:00 UTC\"\n"
				 "  patch_command: [apt-get, -y, upgrade]\n"
				 "  cassandra_upgrade_command: [apt-get, -y, install, \"cassandra={version}\"]\n"
				 "  healthy_timeout: 2h\n"
				 "  settle: 0s\n"
				 "  boot_id_file: /tmp/boot_id\n"
				 "tls:\n"
				 "  truststore_type: jks\n";

/* The same settings, every mapping and list in flow style. */
static const char full_flow[] =
	"node: { datacenter: eu-west, rack: r2, prefer_local: yes }\n"
	"cassandra: { yaml: /opt/cassandra/conf/cassandra.yaml,\n"
	"  rackdc: /opt/cassandra/conf/cassandra-rackdc.properties, unit: cassandra@main.service,\n"
	"  nodetool: [/usr/bin/sudo, -u, cassandra, /opt/cassandra/bin/nodetool], nodetool_timeout: 1500ms,\n"
	"  native_address: 10.0.0.5, native_port: 19042, data_directories: [/data1/cassandra, /data2/cassandra] }\n"
	"controller: { address: \"[2001:db8::1]:7443\", ca: /etc/ca.pem, cert: /etc/agent.pem,\n"
	"  key: /etc/agent.key, report_interval: 10s }\n"
	"health: { probe_interval: 2s, nodetool_interval: 1m }\n"
	"status: { socket: /tmp/agent.sock, group: '' }\n"
	"state_directory: /srv/agent-state\n"
	"snapshots: { interval: 1h, retention: 7d, tag_prefix: nightly, min_free_disk: 12.5% }\n"
	"maintenance: { reboot_required: /var/run/reboot-required, window: 'Sat,Sun 01:00-05:00 UTC',\n"
	"  patch_command: [apt-get, -y, upgrade],\n"
	"  cassandra_upgrade_command: [apt-get, -y, install, 'cassandra={version}'],\n"
	"  healthy_timeout: 2h, settle: 0s, boot_id_file: /tmp/boot_id }\n"
	"tls: { truststore_type: jks }\n";

/* Defaults and successful loads. */

START_TEST(defaults_match_documented_values)
{
	static const char *const nodetool[] = {"/usr/bin/nodetool", NULL};
	static const char *const data[] = {"/var/lib/cassandra/data", NULL};
	static const char *const none[] = {NULL};
	struct agent_config cfg;

	ck_assert_int_eq(config_defaults(&cfg), 0);
	ck_assert_ptr_null(cfg.path);
	ck_assert_str_eq(cfg.node.datacenter, "dc1");
	ck_assert_str_eq(cfg.node.rack, "rack1");
	ck_assert(!cfg.node.prefer_local);
	ck_assert_str_eq(cfg.cassandra.yaml, "/etc/cassandra/cassandra.yaml");
	ck_assert_str_eq(cfg.cassandra.rackdc, "/etc/cassandra/cassandra-rackdc.properties");
	ck_assert_str_eq(cfg.cassandra.unit, "cassandra.service");
	assert_strv_is(&cfg.cassandra.nodetool, nodetool);
	ck_assert_uint_eq(cfg.cassandra.nodetool_timeout_ms, 60000);
	ck_assert_str_eq(cfg.cassandra.native_address, "127.0.0.1");
	ck_assert_uint_eq(cfg.cassandra.native_port, 9042);
	assert_strv_is(&cfg.cassandra.data_directories, data);
	ck_assert(!cfg.controller.enabled);
	ck_assert_ptr_null(cfg.controller.address);
	ck_assert_ptr_null(cfg.controller.ca);
	ck_assert_ptr_null(cfg.controller.cert);
	ck_assert_ptr_null(cfg.controller.key);
	ck_assert_uint_eq(cfg.controller.report_interval_ms, 30000);
	ck_assert_uint_eq(cfg.health.probe_interval_ms, 5000);
	ck_assert_uint_eq(cfg.health.nodetool_interval_ms, 30000);
	ck_assert_str_eq(cfg.status.socket, "/run/cassandra-agent/agent.sock");
	ck_assert_str_eq(cfg.status.group, "cassandra-ops");
	ck_assert_str_eq(cfg.state_directory, "/var/lib/cassandra-agent");
	ck_assert_uint_eq(cfg.snapshots.interval_ms, 4 * HOUR_MS);
	ck_assert_uint_eq(cfg.snapshots.retention_ms, 48 * HOUR_MS);
	ck_assert_str_eq(cfg.snapshots.tag_prefix, "agent");
	ck_assert_double_eq(cfg.snapshots.min_free_disk_percent, 15.0);
	ck_assert_str_eq(cfg.maintenance.reboot_required, "/run/reboot-required");
	ck_assert_str_eq(cfg.maintenance.window, "");
	assert_strv_is(&cfg.maintenance.patch_command, none);
	ck_assert_ptr_null(cfg.maintenance.patch_command.v);
	assert_strv_is(&cfg.maintenance.cassandra_upgrade_command, none);
	ck_assert_ptr_null(cfg.maintenance.cassandra_upgrade_command.v);
	ck_assert_uint_eq(cfg.maintenance.healthy_timeout_ms, 20 * MIN_MS);
	ck_assert_uint_eq(cfg.maintenance.settle_ms, 30000);
	ck_assert_str_eq(cfg.maintenance.boot_id_file, "/proc/sys/kernel/random/boot_id");
	ck_assert_str_eq(cfg.tls.truststore_type, "pkcs12");
	config_free(&cfg);
	ck_assert(is_zeroed(&cfg));
}
END_TEST

START_TEST(free_is_safe_on_a_zeroed_config)
{
	struct agent_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	config_free(&cfg);
	config_free(NULL);
	ck_assert(is_zeroed(&cfg));
}
END_TEST

START_TEST(empty_buffer_gives_defaults)
{
	struct agent_config cfg;

	load_ok("", &cfg);
	assert_defaults(&cfg);
	ck_assert_str_eq(cfg.path, "t.yaml");
	config_free(&cfg);
}
END_TEST

START_TEST(null_buffer_of_length_zero_gives_defaults)
{
	struct agent_config cfg;
	char err[CONFIG_ERR_MAX];

	ck_assert_int_eq(config_load_buffer("t.yaml", NULL, 0, &cfg, err, sizeof(err)), 0);
	assert_defaults(&cfg);
	config_free(&cfg);
}
END_TEST

START_TEST(comment_only_file_gives_defaults)
{
	struct agent_config cfg;

	load_ok("# nothing here\n\n   # indented comment\n", &cfg);
	assert_defaults(&cfg);
	config_free(&cfg);
}
END_TEST

START_TEST(null_document_gives_defaults)
{
	struct agent_config cfg;

	load_ok("---\n", &cfg);
	assert_defaults(&cfg);
	config_free(&cfg);
	load_ok("--- ~\n...\n", &cfg);
	assert_defaults(&cfg);
	config_free(&cfg);
}
END_TEST

START_TEST(example_file_loads_and_documents_the_defaults)
{
	struct agent_config cfg;
	char path[4096], err[CONFIG_ERR_MAX] = "";
	int r;

	example_path(path, sizeof(path));
	r = config_load(path, &cfg, err, sizeof(err));
	ck_assert_msg(r == 0, "%s failed with %d: %s", path, r, err);
	ck_assert_str_eq(cfg.path, path);
	/* The example shows every default, so loading it changes nothing. */
	assert_defaults(&cfg);
	ck_assert(!cfg.controller.enabled);
	ck_assert_str_eq(cfg.node.datacenter, "dc1");
	ck_assert_uint_eq(cfg.snapshots.interval_ms, 4 * HOUR_MS);
	ck_assert_double_eq(cfg.snapshots.min_free_disk_percent, 15.0);
	config_free(&cfg);
}
END_TEST

/*
 * The example's controller block is commented out ("# controller:" then "#   ..."
 * lines); uncommented it must load and enable the controller.
 */
START_TEST(example_controller_block_loads_when_uncommented)
{
	struct agent_config cfg;
	char path[4096];
	char *text, *out, *line;
	size_t o = 0;
	bool in_block = false, found = false;

	example_path(path, sizeof(path));
	text = slurp(path);
	out = malloc(strlen(text) + 1);
	ck_assert_ptr_nonnull(out);
	for (line = text; *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);

		if (!strncmp(line, "# controller:", 13)) {
			in_block = found = true;
		} else if (in_block && strncmp(line, "#   ", 4)) {
			in_block = false;
		}
		if (in_block) {
			line += 2;
			len -= 2;
		}
		memcpy(out + o, line, len);
		o += len;
		line += len;
	}
	out[o] = '\0';
	ck_assert_msg(found, "no \"# controller:\" block in %s", path);
	load_ok(out, &cfg);
	ck_assert(cfg.controller.enabled);
	ck_assert_str_eq(cfg.controller.address, "controller.example.net:7443");
	ck_assert_str_eq(cfg.controller.ca, "/etc/cassandra-agent/tls/controller-ca.pem");
	ck_assert_str_eq(cfg.controller.cert, "/etc/cassandra-agent/tls/agent.pem");
	ck_assert_str_eq(cfg.controller.key, "/etc/cassandra-agent/tls/agent.key");
	ck_assert_uint_eq(cfg.controller.report_interval_ms, 30000);
	config_free(&cfg);
	free(out);
	free(text);
}
END_TEST

START_TEST(full_file_sets_every_key)
{
	static const char *const nodetool[] = {"/usr/bin/sudo", "-u", "cassandra", "/opt/cassandra/bin/nodetool", NULL};
	static const char *const data[] = {"/data1/cassandra", "/data2/cassandra", NULL};
	static const char *const patch[] = {"apt-get", "-y", "upgrade", NULL};
	static const char *const upgrade[] = {"apt-get", "-y", "install", "cassandra={version}", NULL};
	struct agent_config cfg;

	load_ok(full_block, &cfg);
	ck_assert_str_eq(cfg.node.datacenter, "eu-west");
	ck_assert_str_eq(cfg.node.rack, "r2");
	ck_assert(cfg.node.prefer_local);
	ck_assert_str_eq(cfg.cassandra.yaml, "/opt/cassandra/conf/cassandra.yaml");
	ck_assert_str_eq(cfg.cassandra.rackdc, "/opt/cassandra/conf/cassandra-rackdc.properties");
	ck_assert_str_eq(cfg.cassandra.unit, "cassandra@main.service");
	assert_strv_is(&cfg.cassandra.nodetool, nodetool);
	ck_assert_uint_eq(cfg.cassandra.nodetool_timeout_ms, 1500);
	ck_assert_str_eq(cfg.cassandra.native_address, "10.0.0.5");
	ck_assert_uint_eq(cfg.cassandra.native_port, 19042);
	assert_strv_is(&cfg.cassandra.data_directories, data);
	ck_assert(cfg.controller.enabled);
	ck_assert_str_eq(cfg.controller.address, "[2001:db8::1]:7443");
	ck_assert_str_eq(cfg.controller.ca, "/etc/ca.pem");
	ck_assert_str_eq(cfg.controller.cert, "/etc/agent.pem");
	ck_assert_str_eq(cfg.controller.key, "/etc/agent.key");
	ck_assert_uint_eq(cfg.controller.report_interval_ms, 10000);
	ck_assert_uint_eq(cfg.health.probe_interval_ms, 2000);
	ck_assert_uint_eq(cfg.health.nodetool_interval_ms, MIN_MS);
	ck_assert_str_eq(cfg.status.socket, "/tmp/agent.sock");
	ck_assert_str_eq(cfg.status.group, "");
	ck_assert_str_eq(cfg.state_directory, "/srv/agent-state");
	ck_assert_uint_eq(cfg.snapshots.interval_ms, HOUR_MS);
	ck_assert_uint_eq(cfg.snapshots.retention_ms, 7 * DAY_MS);
	ck_assert_str_eq(cfg.snapshots.tag_prefix, "nightly");
	ck_assert_double_eq(cfg.snapshots.min_free_disk_percent, 12.5);
	ck_assert_str_eq(cfg.maintenance.reboot_required, "/var/run/reboot-required");
	ck_assert_str_eq(cfg.maintenance.window, "Sat,Sun 01:00-05:00 UTC");
	assert_strv_is(&cfg.maintenance.patch_command, patch);
	assert_strv_is(&cfg.maintenance.cassandra_upgrade_command, upgrade);
	ck_assert_uint_eq(cfg.maintenance.healthy_timeout_ms, 2 * HOUR_MS);
	ck_assert_uint_eq(cfg.maintenance.settle_ms, 0);
	ck_assert_str_eq(cfg.maintenance.boot_id_file, "/tmp/boot_id");
	ck_assert_str_eq(cfg.tls.truststore_type, "jks");
	config_free(&cfg);
}
END_TEST

START_TEST(flow_and_block_styles_give_the_same_config)
{
	struct agent_config block, flow;

	load_ok(full_block, &block);
	load_ok(full_flow, &flow);
	assert_config_eq(&block, &flow);
	config_free(&block);
	config_free(&flow);
}
END_TEST

START_TEST(spec_section_4_example_loads)
{
	static const char spec[] =
		"node:              { datacenter: dc1, rack: rack1 }            # written to "
		"cassandra-rackdc.properties\n"
		"cassandra:\n"
		"  yaml: /etc/cassandra/cassandra.yaml\n"
		"  rackdc: /etc/cassandra/cassandra-rackdc.properties\n"
		"  unit: cassandra.service\n"
		"  nodetool: [/usr/bin/nodetool]       # argv prefix; the agent appends the subcommand\n"
		"  nodetool_timeout: 60s\n"
		"  native_address: 127.0.0.1\n"
		"  native_port: 9042\n"
		"  data_directories: [/var/lib/cassandra/data]\n"
		"controller:        # optional\n"
		"  address: controller.example.net:7443\n"
		"  ca: /etc/cassandra-agent/tls/controller-ca.pem\n"
		"  cert: /etc/cassandra-agent/tls/agent.pem\n"
		"  key: /etc/cassandra-agent/tls/agent.key\n"
		"  report_interval: 30s\n"
		"health:            { probe_interval: 5s, nodetool_interval: 30s }\n"
		"status:            { socket: /run/cassandra-agent/agent.sock, group: cassandra-ops }\n"
		"state_directory: /var/lib/cassandra-agent\n"
		"snapshots:         { interval: 4h, retention: 48h, tag_prefix: agent, min_free_disk: 15% }\n"
		"maintenance:\n"
		"  reboot_required: /run/reboot-required     # sentinel file\n"
		"  window: \"Sat,Sun 01:00-05:00 UTC\"         # when new maintenance may start; empty = always\n"
		"  patch_command: []                         # argv run while drained\n"
		"  cassandra_upgrade_command: []             # argv, \"{version}\" replaced\n"
		"  healthy_timeout: 20m\n"
		"  settle: 30s\n"
		"  boot_id_file: /proc/sys/kernel/random/boot_id\n"
		"tls:\n"
		"  truststore_type: pkcs12                   # pkcs12 | pem | jks\n";
	struct agent_config cfg;

	load_ok(spec, &cfg);
	ck_assert(cfg.controller.enabled);
	ck_assert_str_eq(cfg.controller.address, "controller.example.net:7443");
	ck_assert_str_eq(cfg.maintenance.window, "Sat,Sun 01:00-05:00 UTC");
	config_free(&cfg);
}
END_TEST

START_TEST(partial_file_keeps_other_defaults)
{
	struct agent_config cfg;

	load_ok("snapshots:\n  interval: 2h\n", &cfg);
	ck_assert_uint_eq(cfg.snapshots.interval_ms, 2 * HOUR_MS);
	ck_assert_uint_eq(cfg.snapshots.retention_ms, 48 * HOUR_MS);
	ck_assert_str_eq(cfg.snapshots.tag_prefix, "agent");
	ck_assert_str_eq(cfg.node.datacenter, "dc1");
	config_free(&cfg);
}
END_TEST

START_TEST(null_values_keep_defaults)
{
	struct agent_config cfg;

	load_ok("node:\n  datacenter:\n  rack: ~\n  prefer_local: null\n"
		"cassandra: { nodetool: ~, native_port: }\nhealth: ~\ntls:\n",
		&cfg);
	assert_defaults(&cfg);
	config_free(&cfg);
}
END_TEST

START_TEST(quoted_tilde_is_a_string_not_null)
{
	struct agent_config cfg;

	load_ok("node: { datacenter: \"~\", rack: 'null' }\n", &cfg);
	ck_assert_str_eq(cfg.node.datacenter, "~");
	ck_assert_str_eq(cfg.node.rack, "null");
	config_free(&cfg);
}
END_TEST

START_TEST(str_tag_forces_a_string)
{
	struct agent_config cfg;

	load_ok("node: { datacenter: !!str 1, rack: !!str ~ }\n", &cfg);
	ck_assert_str_eq(cfg.node.datacenter, "1");
	ck_assert_str_eq(cfg.node.rack, "~");
	config_free(&cfg);
}
END_TEST

START_TEST(controller_null_keeps_it_disabled)
{
	struct agent_config cfg;

	load_ok("controller: ~\n", &cfg);
	ck_assert(!cfg.controller.enabled);
	ck_assert_ptr_null(cfg.controller.address);
	config_free(&cfg);
	load_ok("controller:\n", &cfg);
	ck_assert(!cfg.controller.enabled);
	config_free(&cfg);
}
END_TEST

START_TEST(controller_mapping_enables_it)
{
	struct agent_config cfg;

	load_ok("controller: { address: ctl:7443, ca: /ca.pem, cert: /a.pem, key: /a.key }\n", &cfg);
	ck_assert(cfg.controller.enabled);
	ck_assert_str_eq(cfg.controller.address, "ctl:7443");
	ck_assert_uint_eq(cfg.controller.report_interval_ms, 30000);
	config_free(&cfg);
}
END_TEST

START_TEST(booleans_accept_yaml_1_1_words)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "\"true\""};
	static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "'no'"};
	struct agent_config cfg;
	char text[128];

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(text, sizeof(text), "node: { prefer_local: %s }\n", yes[i]);
		load_ok(text, &cfg);
		ck_assert_msg(cfg.node.prefer_local, "%s", yes[i]);
		config_free(&cfg);
		snprintf(text, sizeof(text), "node: { prefer_local: %s }\n", no[i]);
		load_ok(text, &cfg);
		ck_assert_msg(!cfg.node.prefer_local, "%s", no[i]);
		config_free(&cfg);
	}
}
END_TEST

START_TEST(utf8_bom_and_crlf_are_accepted)
{
	struct agent_config cfg;

	load_ok("\xef\xbb\xbfnode:\r\n  rack: r\xc3\xa9\r\n", &cfg);
	ck_assert_str_eq(cfg.node.rack, "r\xc3\xa9");
	config_free(&cfg);
}
END_TEST

START_TEST(window_accepts_the_documented_forms)
{
	static const char *const ok[] = {
		"",
		"Sat,Sun 01:00-05:00 UTC",
		"Mon-Fri 22:00-02:00 UTC",
		"01:00-05:00 UTC",
		"sat, sun 00:00-24:00 utc",
		"Fri-Mon 23:00-00:00 UTC",
	};
	struct agent_config cfg;
	char text[128];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "maintenance: { window: \"%s\" }\n", ok[i]);
		load_ok(text, &cfg);
		ck_assert_str_eq(cfg.maintenance.window, ok[i]);
		config_free(&cfg);
	}
}
END_TEST

START_TEST(settle_may_be_zero)
{
	struct agent_config cfg;

	load_ok("maintenance: { settle: 0s }\n", &cfg);
	ck_assert_uint_eq(cfg.maintenance.settle_ms, 0);
	config_free(&cfg);
}
END_TEST

START_TEST(bracketed_ipv6_and_hostname_addresses_are_accepted)
{
	struct agent_config cfg;

	load_ok("controller: { address: '[::1]:1', ca: /c, cert: /c, key: /k }\n", &cfg);
	ck_assert_str_eq(cfg.controller.address, "[::1]:1");
	config_free(&cfg);
	load_ok("controller: { address: ctl.example.net:65535, ca: /c, cert: /c, key: /k }\n", &cfg);
	ck_assert_str_eq(cfg.controller.address, "ctl.example.net:65535");
	config_free(&cfg);
}
END_TEST

START_TEST(load_reads_the_file_and_records_its_path)
{
	static const char text[] = "node: { rack: r9 }\n";
	struct agent_config cfg;
	char path[256], err[CONFIG_ERR_MAX] = "x";

	write_temp(path, sizeof(path), text, strlen(text));
	ck_assert_int_eq(config_load(path, &cfg, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(cfg.path, path);
	ck_assert_str_eq(cfg.node.rack, "r9");
	config_free(&cfg);
	remove_temp(path);
}
END_TEST

START_TEST(file_of_exactly_one_mebibyte_is_accepted)
{
	struct agent_config cfg;
	char path[256], err[CONFIG_ERR_MAX];
	char *text = malloc(CONFIG_FILE_MAX);

	ck_assert_ptr_nonnull(text);
	memset(text, '\n', CONFIG_FILE_MAX);
	memcpy(text, "# padded\n", 9);
	write_temp(path, sizeof(path), text, CONFIG_FILE_MAX);
	ck_assert_int_eq(config_load(path, &cfg, err, sizeof(err)), 0);
	assert_defaults(&cfg);
	config_free(&cfg);
	remove_temp(path);
	free(text);
}
END_TEST

/* Refused input: exact "NAME:LINE:COL: message" prefixes. */

START_TEST(syntax_error_reports_libyaml_problem_mark)
{
	assert_refused("node:\n  rack: r1\n bad: x\n", "t.yaml:3:2: syntax error: did not find expected key");
}
END_TEST

START_TEST(unclosed_flow_mapping_is_a_syntax_error)
{
	assert_refused("node: { rack: r1\n", "t.yaml:2:1: syntax error: did not find expected ',' or '}' while parsing "
					     "a flow mapping (line 1 column 7)");
}
END_TEST

START_TEST(tab_indentation_is_a_syntax_error)
{
	assert_refused("node:\n\track: r1\n", "t.yaml:2:1: syntax error: found character that cannot start any token");
}
END_TEST

START_TEST(unknown_top_level_key_reports_line_and_col)
{
	assert_refused("node: {}\nnodes: {}\n", "t.yaml:2:1: unknown key \"nodes\"");
}
END_TEST

START_TEST(unknown_nested_key_reports_line_and_col)
{
	assert_refused("snapshots:\n  interval: 4h\n  intervall: 4h\n",
		       "t.yaml:3:3: unknown key \"snapshots.intervall\"");
}
END_TEST

START_TEST(unknown_key_in_flow_mapping_reports_its_column)
{
	assert_refused("health: { probe_interval: 5s, probe: 1s }\n", "t.yaml:1:31: unknown key \"health.probe\"");
}
END_TEST

START_TEST(unknown_key_with_control_characters_is_quoted_safely)
{
	assert_refused("\"a\\nb\": 1\n", "t.yaml:1:1: unknown key \"a?b\"");
}
END_TEST

START_TEST(duplicate_key_reports_the_second_occurrence)
{
	assert_refused("node:\n  rack: r1\n  rack: r2\n",
		       "t.yaml:3:3: duplicate key \"node.rack\" (first at line 2 column 3)");
}
END_TEST

START_TEST(duplicate_top_level_mapping_is_refused)
{
	assert_refused("tls: {}\nnode: {}\ntls: {}\n", "t.yaml:3:1: duplicate key \"tls\"");
}
END_TEST

START_TEST(mapping_where_a_string_is_expected_is_refused)
{
	assert_refused("node:\n  rack: { a: b }\n", "t.yaml:2:9: node.rack: expected a string, got a mapping");
}
END_TEST

START_TEST(list_where_a_string_is_expected_is_refused)
{
	assert_refused("cassandra:\n  yaml: [/etc/cassandra/cassandra.yaml]\n",
		       "t.yaml:2:9: cassandra.yaml: expected a string, got a list");
}
END_TEST

START_TEST(scalar_where_a_mapping_is_expected_is_refused)
{
	assert_refused("node: dc1\n", "t.yaml:1:7: node: expected a mapping, got a scalar");
}
END_TEST

START_TEST(string_where_a_list_is_expected_is_refused)
{
	assert_refused("cassandra:\n  nodetool: /usr/bin/nodetool\n",
		       "t.yaml:2:13: cassandra.nodetool: expected a list of strings, got a scalar");
}
END_TEST

START_TEST(list_item_that_is_not_a_string_is_refused)
{
	assert_refused("maintenance:\n  patch_command: [apt-get, [x]]\n",
		       "t.yaml:2:28: maintenance.patch_command[1]: expected a string, got a list");
}
END_TEST

START_TEST(null_list_item_is_refused)
{
	assert_refused("maintenance:\n  patch_command:\n    - apt-get\n    -\n",
		       "t.yaml:4:6: maintenance.patch_command[1]: expected a string, got null");
}
END_TEST

START_TEST(mapping_as_key_is_refused)
{
	assert_refused("? [a, b]\n: c\n", "t.yaml:1:3: keys must be strings, got a list");
}
END_TEST

START_TEST(top_level_list_is_refused)
{
	assert_refused("- node\n", "t.yaml:1:1: the top level must be a mapping, got a list");
}
END_TEST

START_TEST(top_level_scalar_is_refused)
{
	assert_refused("hello\n", "t.yaml:1:1: the top level must be a mapping, got a scalar");
}
END_TEST

START_TEST(non_bool_prefer_local_is_refused)
{
	assert_refused("node:\n  prefer_local: 1\n",
		       "t.yaml:2:17: node.prefer_local: expected true or false, got \"1\"");
}
END_TEST

START_TEST(bare_number_duration_is_refused)
{
	assert_refused("health:\n  probe_interval: 5\n",
		       "t.yaml:2:19: health.probe_interval: invalid duration \"5\" (expected digits and a unit");
}
END_TEST

START_TEST(negative_duration_is_refused)
{
	assert_refused("health:\n  probe_interval: -5s\n",
		       "t.yaml:2:19: health.probe_interval: invalid duration \"-5s\"");
}
END_TEST

START_TEST(unknown_duration_unit_is_refused)
{
	assert_refused("snapshots: { interval: 5x }\n", "t.yaml:1:24: snapshots.interval: invalid duration \"5x\"");
}
END_TEST

START_TEST(fractional_duration_is_refused)
{
	assert_refused("snapshots: { retention: 1.5h }\n",
		       "t.yaml:1:25: snapshots.retention: invalid duration \"1.5h\"");
}
END_TEST

START_TEST(overflowing_duration_is_refused)
{
	assert_refused("maintenance: { healthy_timeout: 99999999999999999999d }\n",
		       "t.yaml:1:33: maintenance.healthy_timeout: invalid duration \"99999999999999999999d\"");
}
END_TEST

START_TEST(duration_over_3650_days_is_refused)
{
	assert_refused("snapshots: { retention: 3651d }\n", "t.yaml:1:25: snapshots.retention: must be at most 3650d");
}
END_TEST

START_TEST(zero_interval_is_refused)
{
	assert_refused("health: { nodetool_interval: 0s }\n",
		       "t.yaml:1:30: health.nodetool_interval: must be greater than 0 (got \"0s\")");
}
END_TEST

START_TEST(zero_report_interval_is_refused)
{
	assert_refused("controller:\n  address: c:1\n  ca: /c\n  cert: /c\n  key: /k\n  report_interval: 0ms\n",
		       "t.yaml:6:20: controller.report_interval: must be greater than 0");
}
END_TEST

START_TEST(percentage_over_100_is_refused)
{
	assert_refused("snapshots:\n  min_free_disk: 101%\n",
		       "t.yaml:2:18: snapshots.min_free_disk: invalid percentage \"101%\" (expected 0% to 100%");
}
END_TEST

START_TEST(non_numeric_percentage_is_refused)
{
	assert_refused("snapshots:\n  min_free_disk: abc\n",
		       "t.yaml:2:18: snapshots.min_free_disk: invalid percentage \"abc\"");
}
END_TEST

START_TEST(percentage_without_percent_sign_is_refused)
{
	assert_refused("snapshots:\n  min_free_disk: 15\n",
		       "t.yaml:2:18: snapshots.min_free_disk: invalid percentage \"15\"");
}
END_TEST

START_TEST(native_port_zero_is_refused)
{
	assert_refused("cassandra:\n  native_port: 0\n",
		       "t.yaml:2:16: cassandra.native_port: expected a port number 1..65535, got \"0\"");
}
END_TEST

START_TEST(native_port_above_65535_is_refused)
{
	assert_refused("cassandra:\n  native_port: 65536\n",
		       "t.yaml:2:16: cassandra.native_port: expected a port number 1..65535, got \"65536\"");
}
END_TEST

START_TEST(native_port_with_leading_zero_is_refused)
{
	assert_refused("cassandra:\n  native_port: 09042\n",
		       "t.yaml:2:16: cassandra.native_port: expected a port number");
}
END_TEST

START_TEST(native_port_that_is_not_a_number_is_refused)
{
	assert_refused("cassandra: { native_port: cql }\n",
		       "t.yaml:1:27: cassandra.native_port: expected a port number");
}
END_TEST

START_TEST(empty_nodetool_argv_is_refused)
{
	assert_refused("cassandra:\n  nodetool: []\n", "t.yaml:2:13: cassandra.nodetool: must not be empty");
}
END_TEST

START_TEST(relative_nodetool_program_is_refused)
{
	assert_refused("cassandra:\n  nodetool: [nodetool, -h, localhost]\n",
		       "t.yaml:2:14: cassandra.nodetool[0]: must be an absolute path (got \"nodetool\")");
}
END_TEST

START_TEST(relative_cassandra_yaml_is_refused)
{
	assert_refused("cassandra:\n  yaml: etc/cassandra.yaml\n",
		       "t.yaml:2:9: cassandra.yaml: must be an absolute path (got \"etc/cassandra.yaml\")");
}
END_TEST

START_TEST(relative_rackdc_is_refused)
{
	assert_refused("cassandra: { rackdc: rackdc.properties }\n",
		       "t.yaml:1:22: cassandra.rackdc: must be an absolute path");
}
END_TEST

START_TEST(relative_socket_is_refused)
{
	assert_refused("status:\n  socket: agent.sock\n", "t.yaml:2:11: status.socket: must be an absolute path");
}
END_TEST

START_TEST(socket_path_longer_than_sun_path_is_refused)
{
	char text[256];

	snprintf(text, sizeof(text), "status: { socket: /%0108d }\n", 0);
	assert_refused(text, "t.yaml:1:19: status.socket: must be at most 107 bytes long");
}
END_TEST

START_TEST(relative_state_directory_is_refused)
{
	assert_refused("state_directory: var/lib/agent\n", "t.yaml:1:18: state_directory: must be an absolute path");
}
END_TEST

START_TEST(relative_data_directory_names_its_index)
{
	assert_refused("cassandra:\n  data_directories:\n    - /data1\n    - data2\n",
		       "t.yaml:4:7: cassandra.data_directories[1]: must be an absolute path (got \"data2\")");
}
END_TEST

START_TEST(empty_data_directories_is_refused)
{
	assert_refused("cassandra: { data_directories: [] }\n",
		       "t.yaml:1:32: cassandra.data_directories: must not be empty");
}
END_TEST

START_TEST(relative_controller_ca_is_refused)
{
	assert_refused("controller: { address: c:1, ca: ca.pem, cert: /c, key: /k }\n",
		       "t.yaml:1:33: controller.ca: must be an absolute path");
}
END_TEST

START_TEST(relative_boot_id_file_is_refused)
{
	assert_refused("maintenance: { boot_id_file: boot_id }\n",
		       "t.yaml:1:30: maintenance.boot_id_file: must be an absolute path");
}
END_TEST

START_TEST(path_with_control_character_is_refused)
{
	assert_refused("state_directory: \"/var/lib/a\\nb\"\n",
		       "t.yaml:1:18: state_directory: must not contain control characters (got \"/var/lib/a?b\")");
}
END_TEST

START_TEST(nul_character_in_a_string_is_refused)
{
	assert_refused("node: { rack: \"r\\0x\" }\n", "t.yaml:1:15: node.rack: must not contain a NUL character");
}
END_TEST

START_TEST(unknown_truststore_type_is_refused)
{
	assert_refused("tls:\n  truststore_type: p12\n",
		       "t.yaml:2:20: tls.truststore_type: must be one of pkcs12, pem, jks (got \"p12\")");
}
END_TEST

START_TEST(datacenter_with_equals_sign_is_refused)
{
	assert_refused("node: { datacenter: \"dc=1\" }\n", "t.yaml:1:21: node.datacenter: must be a non-empty name");
}
END_TEST

START_TEST(empty_rack_is_refused)
{
	assert_refused("node: { rack: '' }\n", "t.yaml:1:15: node.rack: must be a non-empty name");
}
END_TEST

START_TEST(unit_with_slash_is_refused)
{
	assert_refused("cassandra: { unit: ../cassandra.service }\n",
		       "t.yaml:1:20: cassandra.unit: must be a systemd unit name");
}
END_TEST

START_TEST(tag_prefix_with_slash_is_refused)
{
	assert_refused("snapshots: { tag_prefix: a/b }\n", "t.yaml:1:26: snapshots.tag_prefix: must be 1 to 47 of");
}
END_TEST

START_TEST(tag_prefix_starting_with_dot_is_refused)
{
	assert_refused("snapshots: { tag_prefix: .agent }\n", "t.yaml:1:26: snapshots.tag_prefix: must be 1 to 47 of");
}
END_TEST

START_TEST(group_with_space_is_refused)
{
	assert_refused("status: { group: 'cassandra ops' }\n",
		       "t.yaml:1:18: status.group: must be \"\" or a group name");
}
END_TEST

START_TEST(window_with_other_timezone_is_refused)
{
	assert_refused("maintenance:\n  window: \"Sat,Sun 01:00-05:00 CET\"\n",
		       "t.yaml:2:11: maintenance.window: the timezone must be UTC (got \"Sat,Sun 01:00-05:00 CET\")");
}
END_TEST

START_TEST(window_without_timezone_is_refused)
{
	assert_refused("maintenance:\n  window: Sat 01:00-05:00\n",
		       "t.yaml:2:11: maintenance.window: expected a space and the timezone UTC after the time range");
}
END_TEST

START_TEST(window_with_unknown_day_is_refused)
{
	assert_refused("maintenance:\n  window: Sat,Sunday 01:00-05:00 UTC\n",
		       "t.yaml:2:11: maintenance.window: unknown day");
}
END_TEST

START_TEST(window_with_one_digit_hour_is_refused)
{
	assert_refused("maintenance:\n  window: 1:00-05:00 UTC\n",
		       "t.yaml:2:11: maintenance.window: expected a time range HH:MM-HH:MM");
}
END_TEST

START_TEST(window_with_hour_25_is_refused)
{
	assert_refused("maintenance:\n  window: 01:00-25:00 UTC\n",
		       "t.yaml:2:11: maintenance.window: expected a time range HH:MM-HH:MM");
}
END_TEST

START_TEST(window_with_empty_range_is_refused)
{
	assert_refused("maintenance:\n  window: 03:00-03:00 UTC\n",
		       "t.yaml:2:11: maintenance.window: the time range is empty");
}
END_TEST

START_TEST(upgrade_command_without_version_placeholder_is_refused)
{
	assert_refused("maintenance:\n  cassandra_upgrade_command: [apt-get, -y, install, cassandra]\n",
		       "t.yaml:2:30: maintenance.cassandra_upgrade_command: must contain \"{version}\"");
}
END_TEST

START_TEST(missing_controller_field_points_at_the_controller_key)
{
	assert_refused("node: {}\ncontroller:\n  address: ctl:7443\n  ca: /ca.pem\n  key: /agent.key\n",
		       "t.yaml:2:1: missing required key \"controller.cert\"");
}
END_TEST

START_TEST(empty_controller_mapping_is_refused)
{
	assert_refused("controller: {}\n", "t.yaml:1:1: missing required key \"controller.address\"");
}
END_TEST

START_TEST(null_controller_field_counts_as_missing)
{
	assert_refused("controller:\n  address: ~\n  ca: /c\n  cert: /c\n  key: /k\n",
		       "t.yaml:1:1: missing required key \"controller.address\"");
}
END_TEST

START_TEST(controller_address_without_port_is_refused)
{
	assert_refused("controller: { address: ctl.example.net, ca: /c, cert: /c, key: /k }\n",
		       "t.yaml:1:24: controller.address: must be HOST:PORT");
}
END_TEST

START_TEST(unbracketed_ipv6_controller_address_is_refused)
{
	assert_refused("controller: { address: '2001:db8::1:7443', ca: /c, cert: /c, key: /k }\n",
		       "t.yaml:1:24: controller.address: must be HOST:PORT");
}
END_TEST

START_TEST(anchor_is_refused)
{
	assert_refused("node: &n { rack: r1 }\n", "t.yaml:1:7: anchors (&name) are not supported");
}
END_TEST

START_TEST(alias_is_refused)
{
	assert_refused("status: { group: cassandra-ops }\nnode: { rack: *g }\n",
		       "t.yaml:2:15: aliases (*name) are not supported");
}
END_TEST

START_TEST(explicit_tag_is_refused)
{
	assert_refused("cassandra: { native_port: !!int 9042 }\n", "t.yaml:1:27: explicit tags are not supported");
}
END_TEST

START_TEST(second_document_is_refused)
{
	assert_refused("node: {}\n---\ntls: {}\n", "t.yaml:2:1: only one YAML document is allowed");
}
END_TEST

START_TEST(invalid_utf8_is_refused)
{
	assert_refused("node:\n  rack: r\xff\n", "t.yaml:2:10: invalid leading UTF-8 octet (#FF at byte offset 15)");
}
END_TEST

START_TEST(control_character_in_input_is_refused)
{
	assert_refused("node:\n  rack: a\x01\n", "t.yaml:2:10: control characters are not allowed");
}
END_TEST

START_TEST(oversized_buffer_is_refused)
{
	size_t len = CONFIG_FILE_MAX + 1;
	char *text = malloc(len + 1);
	struct agent_config cfg;
	char err[CONFIG_ERR_MAX];

	ck_assert_ptr_nonnull(text);
	memset(text, '\n', len);
	text[len] = '\0';
	memset(&cfg, 0xa5, sizeof(cfg));
	ck_assert_int_eq(config_load_buffer("t.yaml", text, len, &cfg, err, sizeof(err)), -EFBIG);
	ck_assert_str_eq(err, "t.yaml: larger than 1048576 bytes (1 MiB)");
	ck_assert(is_zeroed(&cfg));
	free(text);
}
END_TEST

START_TEST(oversized_file_is_refused)
{
	size_t len = CONFIG_FILE_MAX + 1;
	char *text = malloc(len);
	struct agent_config cfg;
	char path[256], want[512], err[CONFIG_ERR_MAX];

	ck_assert_ptr_nonnull(text);
	memset(text, '\n', len);
	write_temp(path, sizeof(path), text, len);
	memset(&cfg, 0xa5, sizeof(cfg));
	ck_assert_int_eq(config_load(path, &cfg, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "%s: larger than 1048576 bytes (1 MiB)", path);
	ck_assert_str_eq(err, want);
	ck_assert(is_zeroed(&cfg));
	remove_temp(path);
	free(text);
}
END_TEST

START_TEST(missing_file_reports_strerror_and_enoent)
{
	struct agent_config cfg;
	char err[CONFIG_ERR_MAX];

	memset(&cfg, 0xa5, sizeof(cfg));
	ck_assert_int_eq(config_load("/nonexistent/agent.yaml", &cfg, err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "/nonexistent/agent.yaml: No such file or directory");
	ck_assert(is_zeroed(&cfg));
}
END_TEST

START_TEST(directory_reports_strerror_and_eisdir)
{
	struct agent_config cfg;
	char err[CONFIG_ERR_MAX];

	memset(&cfg, 0xa5, sizeof(cfg));
	ck_assert_int_eq(config_load("/", &cfg, err, sizeof(err)), -EISDIR);
	ck_assert_str_eq(err, "/: Is a directory");
	ck_assert(is_zeroed(&cfg));
}
END_TEST

START_TEST(file_errors_carry_the_file_name_and_position)
{
	static const char text[] = "node:\n  rack: r1\n  rackk: r2\n";
	struct agent_config cfg;
	char path[256], want[512], err[CONFIG_ERR_MAX];

	write_temp(path, sizeof(path), text, strlen(text));
	ck_assert_int_eq(config_load(path, &cfg, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:3:3: unknown key \"node.rackk\"", path);
	ck_assert_str_eq(err, want);
	ck_assert(is_zeroed(&cfg));
	remove_temp(path);
}
END_TEST

START_TEST(error_after_earlier_values_leaves_nothing_behind)
{
	/* Strings and lists were replaced before the error; ASan's leak check proves they were freed. */
	assert_refused("node: { datacenter: x, rack: y }\ncassandra: { nodetool: [/a, b], data_directories: [/d] }\n"
		       "maintenance: { patch_command: [a, b, c] }\ntls: { truststore_type: x }\n",
		       "t.yaml:4:25: tls.truststore_type: must be one of");
}
END_TEST

START_TEST(small_error_buffer_is_truncated_safely)
{
	struct agent_config cfg;
	char err[8];

	memset(err, 'x', sizeof(err));
	ck_assert_int_eq(config_load_buffer("t.yaml", "x: 1\n", 5, &cfg, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "t.yaml:");
	ck_assert_int_eq(config_load_buffer("t.yaml", "x: 1\n", 5, &cfg, NULL, 0), -EINVAL);
	ck_assert(is_zeroed(&cfg));
}
END_TEST

/* Unit parsers. */

START_TEST(duration_parses_each_unit)
{
	uint64_t ms;

	ck_assert_int_eq(config_parse_duration_ms("1500ms", &ms), 0);
	ck_assert_uint_eq(ms, 1500);
	ck_assert_int_eq(config_parse_duration_ms("90s", &ms), 0);
	ck_assert_uint_eq(ms, 90000);
	ck_assert_int_eq(config_parse_duration_ms("20m", &ms), 0);
	ck_assert_uint_eq(ms, 20 * MIN_MS);
	ck_assert_int_eq(config_parse_duration_ms("4h", &ms), 0);
	ck_assert_uint_eq(ms, 4 * HOUR_MS);
	ck_assert_int_eq(config_parse_duration_ms("2d", &ms), 0);
	ck_assert_uint_eq(ms, 2 * DAY_MS);
	ck_assert_int_eq(config_parse_duration_ms("0s", &ms), 0);
	ck_assert_uint_eq(ms, 0);
	ck_assert_int_eq(config_parse_duration_ms("05s", &ms), 0);
	ck_assert_uint_eq(ms, 5000);
}
END_TEST

START_TEST(duration_accepts_the_largest_value)
{
	uint64_t ms;

	ck_assert_int_eq(config_parse_duration_ms("18446744073709551615ms", &ms), 0);
	ck_assert_uint_eq(ms, UINT64_MAX);
	ck_assert_int_eq(config_parse_duration_ms("213503982334d", &ms), 0);
	ck_assert_uint_eq(ms, 213503982334ULL * DAY_MS);
}
END_TEST

static const char *const bad_durations[] = {
	"",
	"s",
	"5",
	"-5s",
	"+5s",
	"5 s",
	" 5s",
	"5s ",
	"1.5h",
	"5x",
	"5S",
	"5sec",
	"5ms5",
	"99999999999999999999d",
	"18446744073709551616ms",
	"213503982335d",
	"0x10s",
	"5h30m",
};

START_TEST(duration_rejects_malformed_input)
{
	uint64_t ms = 42;

	ck_assert_msg(config_parse_duration_ms(bad_durations[_i], &ms) == -EINVAL, "\"%s\" accepted",
		      bad_durations[_i]);
	ck_assert_uint_eq(ms, 42);
}
END_TEST

START_TEST(size_parses_each_unit_and_bare_digits)
{
	uint64_t b;

	ck_assert_int_eq(config_parse_size_bytes("512B", &b), 0);
	ck_assert_uint_eq(b, 512);
	ck_assert_int_eq(config_parse_size_bytes("4KiB", &b), 0);
	ck_assert_uint_eq(b, 4096);
	ck_assert_int_eq(config_parse_size_bytes("64MiB", &b), 0);
	ck_assert_uint_eq(b, 64ULL << 20);
	ck_assert_int_eq(config_parse_size_bytes("2GiB", &b), 0);
	ck_assert_uint_eq(b, 2ULL << 30);
	ck_assert_int_eq(config_parse_size_bytes("3TiB", &b), 0);
	ck_assert_uint_eq(b, 3ULL << 40);
	ck_assert_int_eq(config_parse_size_bytes("12345", &b), 0);
	ck_assert_uint_eq(b, 12345);
	ck_assert_int_eq(config_parse_size_bytes("0", &b), 0);
	ck_assert_uint_eq(b, 0);
}
END_TEST

START_TEST(size_allows_one_space_before_the_unit)
{
	uint64_t b;

	ck_assert_int_eq(config_parse_size_bytes("1 GiB", &b), 0);
	ck_assert_uint_eq(b, 1ULL << 30);
	ck_assert_int_eq(config_parse_size_bytes("512 B", &b), 0);
	ck_assert_uint_eq(b, 512);
}
END_TEST

static const char *const bad_sizes[] = {
	"",       "B",  "GiB", "-1B",   "1.5GiB", "1  GiB",      "1GB",
	"1gib",   "1 ", " 1",  "1GiB ", "1 KB",   "16777216TiB", "18446744073709551616",
	"1\tGiB",
};

START_TEST(size_rejects_malformed_input)
{
	uint64_t b = 42;

	ck_assert_msg(config_parse_size_bytes(bad_sizes[_i], &b) == -EINVAL, "\"%s\" accepted", bad_sizes[_i]);
	ck_assert_uint_eq(b, 42);
}
END_TEST

START_TEST(percent_parses_integers_and_fractions)
{
	double p;

	ck_assert_int_eq(config_parse_percent("15%", &p), 0);
	ck_assert_double_eq(p, 15.0);
	ck_assert_int_eq(config_parse_percent("12.5%", &p), 0);
	ck_assert_double_eq(p, 12.5);
	ck_assert_int_eq(config_parse_percent("0%", &p), 0);
	ck_assert_double_eq(p, 0.0);
	ck_assert_int_eq(config_parse_percent("100%", &p), 0);
	ck_assert_double_eq(p, 100.0);
	ck_assert_int_eq(config_parse_percent("100.000%", &p), 0);
	ck_assert_double_eq(p, 100.0);
	ck_assert_int_eq(config_parse_percent("0.1%", &p), 0);
	ck_assert_double_eq(p, 0.1);
	ck_assert_int_eq(config_parse_percent("007%", &p), 0);
	ck_assert_double_eq(p, 7.0);
}
END_TEST

static const char *const bad_percents[] = {
	"",
	"%",
	"15",
	"101%",
	"100.01%",
	"-1%",
	"+1%",
	"abc",
	"15 %",
	"15%%",
	".5%",
	"5.%",
	"1e2%",
	"15% ",
	"99999999999999999999999%",
	"1.0000000000000000001%",
};

START_TEST(percent_rejects_malformed_input)
{
	double p = 42.0;

	ck_assert_msg(config_parse_percent(bad_percents[_i], &p) == -EINVAL, "\"%s\" accepted", bad_percents[_i]);
	ck_assert_double_eq(p, 42.0);
}
END_TEST

START_TEST(window_parse_fills_days_and_minutes)
{
	struct config_window w;

	ck_assert_int_eq(config_parse_window("Sat,Sun 01:00-05:00 UTC", &w, NULL), 0);
	ck_assert(!w.always);
	ck_assert_uint_eq(w.days, (1u << 6) | (1u << 0));
	ck_assert_uint_eq(w.start_min, 60);
	ck_assert_uint_eq(w.end_min, 300);
}
END_TEST

START_TEST(window_parse_of_empty_string_is_always)
{
	struct config_window w;

	ck_assert_int_eq(config_parse_window("", &w, NULL), 0);
	ck_assert(w.always);
	ck_assert_uint_eq(w.days, 0x7f);
	ck_assert_uint_eq(w.start_min, 0);
	ck_assert_uint_eq(w.end_min, 1440);
}
END_TEST

START_TEST(window_parse_without_days_means_every_day)
{
	struct config_window w;

	ck_assert_int_eq(config_parse_window("22:30-24:00 UTC", &w, NULL), 0);
	ck_assert_uint_eq(w.days, 0x7f);
	ck_assert_uint_eq(w.start_min, 22 * 60 + 30);
	ck_assert_uint_eq(w.end_min, 1440);
}
END_TEST

START_TEST(window_parse_day_range_and_midnight_crossing)
{
	struct config_window w;

	ck_assert_int_eq(config_parse_window("Mon-Fri 22:00-02:00 UTC", &w, NULL), 0);
	ck_assert_uint_eq(w.days, 0x3e);
	ck_assert_uint_eq(w.start_min, 22 * 60);
	ck_assert_uint_eq(w.end_min, 120);
}
END_TEST

START_TEST(window_parse_day_range_wraps_past_sunday)
{
	struct config_window w;

	ck_assert_int_eq(config_parse_window("fri-mon, wed 01:00-02:00 utc", &w, NULL), 0);
	ck_assert_uint_eq(w.days, (1u << 5) | (1u << 6) | (1u << 0) | (1u << 1) | (1u << 3));
}
END_TEST

START_TEST(window_parse_end_at_midnight_is_1440)
{
	struct config_window w;

	ck_assert_int_eq(config_parse_window("23:00-00:00 UTC", &w, NULL), 0);
	ck_assert_uint_eq(w.start_min, 23 * 60);
	ck_assert_uint_eq(w.end_min, 1440);
}
END_TEST

static const char *const bad_windows[] = {
	" ",
	"Sat,Sun 01:00-05:00",
	"Sat,Sun 01:00-05:00 CET",
	"Sat,Sun 01:00-05:00 UTC+1",
	"Sat;Sun 01:00-05:00 UTC",
	"Sat,Sun,01:00-05:00 UTC",
	"Saturday 01:00-05:00 UTC",
	"Sat- 01:00-05:00 UTC",
	"1:00-05:00 UTC",
	"01:00-5:00 UTC",
	"24:00-05:00 UTC",
	"01:60-05:00 UTC",
	"01:00-24:01 UTC",
	"00:00-00:00 UTC",
	"01:00 - 05:00 UTC",
	"01:00-05:00UTC",
	"01:00-05:00 UTC extra",
	"always",
	"Sat,",
};

START_TEST(window_parse_rejects_malformed_input)
{
	struct config_window w = {.always = true, .days = 1, .start_min = 2, .end_min = 3};
	const char *why = NULL;

	ck_assert_msg(config_parse_window(bad_windows[_i], &w, &why) == -EINVAL, "\"%s\" accepted", bad_windows[_i]);
	ck_assert_ptr_nonnull(why);
	ck_assert(w.always && w.days == 1 && w.start_min == 2 && w.end_min == 3);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *load = tcase_create("load");
	TCase *refuse = tcase_create("refuse");
	TCase *units = tcase_create("units");

	tcase_add_test(load, defaults_match_documented_values);
	tcase_add_test(load, free_is_safe_on_a_zeroed_config);
	tcase_add_test(load, empty_buffer_gives_defaults);
	tcase_add_test(load, null_buffer_of_length_zero_gives_defaults);
	tcase_add_test(load, comment_only_file_gives_defaults);
	tcase_add_test(load, null_document_gives_defaults);
	tcase_add_test(load, example_file_loads_and_documents_the_defaults);
	tcase_add_test(load, example_controller_block_loads_when_uncommented);
	tcase_add_test(load, full_file_sets_every_key);
	tcase_add_test(load, flow_and_block_styles_give_the_same_config);
	tcase_add_test(load, spec_section_4_example_loads);
	tcase_add_test(load, partial_file_keeps_other_defaults);
	tcase_add_test(load, null_values_keep_defaults);
	tcase_add_test(load, quoted_tilde_is_a_string_not_null);
	tcase_add_test(load, str_tag_forces_a_string);
	tcase_add_test(load, controller_null_keeps_it_disabled);
	tcase_add_test(load, controller_mapping_enables_it);
	tcase_add_test(load, booleans_accept_yaml_1_1_words);
	tcase_add_test(load, utf8_bom_and_crlf_are_accepted);
	tcase_add_test(load, window_accepts_the_documented_forms);
	tcase_add_test(load, settle_may_be_zero);
	tcase_add_test(load, bracketed_ipv6_and_hostname_addresses_are_accepted);
	tcase_add_test(load, load_reads_the_file_and_records_its_path);
	tcase_add_test(load, file_of_exactly_one_mebibyte_is_accepted);
	suite_add_tcase(s, load);

	tcase_add_test(refuse, syntax_error_reports_libyaml_problem_mark);
	tcase_add_test(refuse, unclosed_flow_mapping_is_a_syntax_error);
	tcase_add_test(refuse, tab_indentation_is_a_syntax_error);
	tcase_add_test(refuse, unknown_top_level_key_reports_line_and_col);
	tcase_add_test(refuse, unknown_nested_key_reports_line_and_col);
	tcase_add_test(refuse, unknown_key_in_flow_mapping_reports_its_column);
	tcase_add_test(refuse, unknown_key_with_control_characters_is_quoted_safely);
	tcase_add_test(refuse, duplicate_key_reports_the_second_occurrence);
	tcase_add_test(refuse, duplicate_top_level_mapping_is_refused);
	tcase_add_test(refuse, mapping_where_a_string_is_expected_is_refused);
	tcase_add_test(refuse, list_where_a_string_is_expected_is_refused);
	tcase_add_test(refuse, scalar_where_a_mapping_is_expected_is_refused);
	tcase_add_test(refuse, string_where_a_list_is_expected_is_refused);
	tcase_add_test(refuse, list_item_that_is_not_a_string_is_refused);
	tcase_add_test(refuse, null_list_item_is_refused);
	tcase_add_test(refuse, mapping_as_key_is_refused);
	tcase_add_test(refuse, top_level_list_is_refused);
	tcase_add_test(refuse, top_level_scalar_is_refused);
	tcase_add_test(refuse, non_bool_prefer_local_is_refused);
	tcase_add_test(refuse, bare_number_duration_is_refused);
	tcase_add_test(refuse, negative_duration_is_refused);
	tcase_add_test(refuse, unknown_duration_unit_is_refused);
	tcase_add_test(refuse, fractional_duration_is_refused);
	tcase_add_test(refuse, overflowing_duration_is_refused);
	tcase_add_test(refuse, duration_over_3650_days_is_refused);
	tcase_add_test(refuse, zero_interval_is_refused);
	tcase_add_test(refuse, zero_report_interval_is_refused);
	tcase_add_test(refuse, percentage_over_100_is_refused);
	tcase_add_test(refuse, non_numeric_percentage_is_refused);
	tcase_add_test(refuse, percentage_without_percent_sign_is_refused);
	tcase_add_test(refuse, native_port_zero_is_refused);
	tcase_add_test(refuse, native_port_above_65535_is_refused);
	tcase_add_test(refuse, native_port_with_leading_zero_is_refused);
	tcase_add_test(refuse, native_port_that_is_not_a_number_is_refused);
	tcase_add_test(refuse, empty_nodetool_argv_is_refused);
	tcase_add_test(refuse, relative_nodetool_program_is_refused);
	tcase_add_test(refuse, relative_cassandra_yaml_is_refused);
	tcase_add_test(refuse, relative_rackdc_is_refused);
	tcase_add_test(refuse, relative_socket_is_refused);
	tcase_add_test(refuse, socket_path_longer_than_sun_path_is_refused);
	tcase_add_test(refuse, relative_state_directory_is_refused);
	tcase_add_test(refuse, relative_data_directory_names_its_index);
	tcase_add_test(refuse, empty_data_directories_is_refused);
	tcase_add_test(refuse, relative_controller_ca_is_refused);
	tcase_add_test(refuse, relative_boot_id_file_is_refused);
	tcase_add_test(refuse, path_with_control_character_is_refused);
	tcase_add_test(refuse, nul_character_in_a_string_is_refused);
	tcase_add_test(refuse, unknown_truststore_type_is_refused);
	tcase_add_test(refuse, datacenter_with_equals_sign_is_refused);
	tcase_add_test(refuse, empty_rack_is_refused);
	tcase_add_test(refuse, unit_with_slash_is_refused);
	tcase_add_test(refuse, tag_prefix_with_slash_is_refused);
	tcase_add_test(refuse, tag_prefix_starting_with_dot_is_refused);
	tcase_add_test(refuse, group_with_space_is_refused);
	tcase_add_test(refuse, window_with_other_timezone_is_refused);
	tcase_add_test(refuse, window_without_timezone_is_refused);
	tcase_add_test(refuse, window_with_unknown_day_is_refused);
	tcase_add_test(refuse, window_with_one_digit_hour_is_refused);
	tcase_add_test(refuse, window_with_hour_25_is_refused);
	tcase_add_test(refuse, window_with_empty_range_is_refused);
	tcase_add_test(refuse, upgrade_command_without_version_placeholder_is_refused);
	tcase_add_test(refuse, missing_controller_field_points_at_the_controller_key);
	tcase_add_test(refuse, empty_controller_mapping_is_refused);
	tcase_add_test(refuse, null_controller_field_counts_as_missing);
	tcase_add_test(refuse, controller_address_without_port_is_refused);
	tcase_add_test(refuse, unbracketed_ipv6_controller_address_is_refused);
	tcase_add_test(refuse, anchor_is_refused);
	tcase_add_test(refuse, alias_is_refused);
	tcase_add_test(refuse, explicit_tag_is_refused);
	tcase_add_test(refuse, second_document_is_refused);
	tcase_add_test(refuse, invalid_utf8_is_refused);
	tcase_add_test(refuse, control_character_in_input_is_refused);
	tcase_add_test(refuse, oversized_buffer_is_refused);
	tcase_add_test(refuse, oversized_file_is_refused);
	tcase_add_test(refuse, missing_file_reports_strerror_and_enoent);
	tcase_add_test(refuse, directory_reports_strerror_and_eisdir);
	tcase_add_test(refuse, file_errors_carry_the_file_name_and_position);
	tcase_add_test(refuse, error_after_earlier_values_leaves_nothing_behind);
	tcase_add_test(refuse, small_error_buffer_is_truncated_safely);
	suite_add_tcase(s, refuse);

	tcase_add_test(units, duration_parses_each_unit);
	tcase_add_test(units, duration_accepts_the_largest_value);
	tcase_add_loop_test(units, duration_rejects_malformed_input, 0,
			    (int)(sizeof(bad_durations) / sizeof(bad_durations[0])));
	tcase_add_test(units, size_parses_each_unit_and_bare_digits);
	tcase_add_test(units, size_allows_one_space_before_the_unit);
	tcase_add_loop_test(units, size_rejects_malformed_input, 0, (int)(sizeof(bad_sizes) / sizeof(bad_sizes[0])));
	tcase_add_test(units, percent_parses_integers_and_fractions);
	tcase_add_loop_test(units, percent_rejects_malformed_input, 0,
			    (int)(sizeof(bad_percents) / sizeof(bad_percents[0])));
	tcase_add_test(units, window_parse_fills_days_and_minutes);
	tcase_add_test(units, window_parse_of_empty_string_is_always);
	tcase_add_test(units, window_parse_without_days_means_every_day);
	tcase_add_test(units, window_parse_day_range_and_midnight_crossing);
	tcase_add_test(units, window_parse_day_range_wraps_past_sunday);
	tcase_add_test(units, window_parse_end_at_midnight_is_1440);
	tcase_add_loop_test(units, window_parse_rejects_malformed_input, 0,
			    (int)(sizeof(bad_windows) / sizeof(bad_windows[0])));
	suite_add_tcase(s, units);
	return s;
}

int main(void)
{
	return check_run(config_suite());
}
