/* fuzz_config: libFuzzer target for the agent.yaml loader, config_load_buffer (agent/config.c,
 * libyaml). Input: an agent.yaml document (any bytes). An accepted document is checked against
 * the rules config.h states, then loaded a second time (the result must be the same). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "fuzz_config: " __VA_ARGS__);                                      \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

#define NAME "fuzz.yaml"

static void check_str(const char *what, const char *s, bool may_be_empty)
{
	if (!s)
		FAIL("%s is NULL", what);
	if (!may_be_empty && !s[0])
		FAIL("%s is empty", what);
}

static void check_path(const char *what, const char *s)
{
	check_str(what, s, false);
	if (s[0] != '/')
		FAIL("%s is not absolute: \"%s\"", what, s);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			FAIL("%s holds a control character", what);
}

static void check_strv(const char *what, const struct config_strv *v, bool may_be_empty)
{
	if (v->n == 0) {
		if (!may_be_empty)
			FAIL("%s is empty", what);
		if (v->v)
			FAIL("%s: n == 0 with v != NULL", what);
		return;
	}
	if (!v->v || v->v[v->n])
		FAIL("%s: not NULL-terminated at n", what);
	for (size_t i = 0; i < v->n; i++)
		check_str(what, v->v[i], true);
}

static bool name_ok(const char *s, const char *refused)
{
	if (!s[0])
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || strchr(refused, *p))
			return false;
	return true;
}

static void check(const struct agent_config *c)
{
	struct config_window w;
	const char *why = NULL;

	check_str("path", c->path, false);
	check_str("node.datacenter", c->node.datacenter, false);
	check_str("node.rack", c->node.rack, false);
	if (!name_ok(c->node.datacenter, "=:#!\\") || !name_ok(c->node.rack, "=:#!\\"))
		FAIL("node.datacenter/rack with a refused character");
	check_path("cassandra.yaml", c->cassandra.yaml);
	check_path("cassandra.rackdc", c->cassandra.rackdc);
	check_str("cassandra.unit", c->cassandra.unit, false);
	check_strv("cassandra.nodetool", &c->cassandra.nodetool, false);
	check_path("cassandra.nodetool[0]", c->cassandra.nodetool.v[0]);
	check_str("cassandra.native_address", c->cassandra.native_address, false);
	if (c->cassandra.native_port == 0)
		FAIL("native_port 0");
	check_strv("cassandra.data_directories", &c->cassandra.data_directories, false);
	for (size_t i = 0; i < c->cassandra.data_directories.n; i++)
		check_path("cassandra.data_directories[]", c->cassandra.data_directories.v[i]);
	if (c->controller.enabled) {
		check_str("controller.address", c->controller.address, false);
		check_path("controller.ca", c->controller.ca);
		check_path("controller.cert", c->controller.cert);
		check_path("controller.key", c->controller.key);
	}
	check_path("status.socket", c->status.socket);
	if (strlen(c->status.socket) >= 108)
		FAIL("status.socket over sun_path");
	check_str("status.group", c->status.group, true);
	check_path("state_directory", c->state_directory);
	check_str("snapshots.tag_prefix", c->snapshots.tag_prefix, false);
	if (strlen(c->snapshots.tag_prefix) > 47 || c->snapshots.tag_prefix[0] == '.' ||
	    strspn(c->snapshots.tag_prefix, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.") !=
		    strlen(c->snapshots.tag_prefix))
		FAIL("bad snapshots.tag_prefix \"%s\"", c->snapshots.tag_prefix);
	if (c->snapshots.min_free_disk_percent < 0 || c->snapshots.min_free_disk_percent > 100)
		FAIL("min_free_disk_percent %g", c->snapshots.min_free_disk_percent);
	if (!c->cassandra.nodetool_timeout_ms || !c->controller.report_interval_ms ||
	    !c->health.probe_interval_ms || !c->health.nodetool_interval_ms || !c->snapshots.interval_ms ||
	    !c->snapshots.retention_ms || !c->maintenance.healthy_timeout_ms)
		FAIL("a zero duration was accepted");
	if (c->cassandra.nodetool_timeout_ms > CONFIG_DURATION_MAX_MS ||
	    c->controller.report_interval_ms > CONFIG_DURATION_MAX_MS ||
	    c->health.probe_interval_ms > CONFIG_DURATION_MAX_MS ||
	    c->health.nodetool_interval_ms > CONFIG_DURATION_MAX_MS ||
	    c->snapshots.interval_ms > CONFIG_DURATION_MAX_MS || c->snapshots.retention_ms > CONFIG_DURATION_MAX_MS ||
	    c->maintenance.healthy_timeout_ms > CONFIG_DURATION_MAX_MS ||
	    c->maintenance.settle_ms > CONFIG_DURATION_MAX_MS)
		FAIL("a duration over CONFIG_DURATION_MAX_MS was accepted");
	check_path("maintenance.reboot_required", c->maintenance.reboot_required);
	check_str("maintenance.window", c->maintenance.window, true);
	if (config_parse_window(c->maintenance.window, &w, &why) != 0)
		FAIL("accepted maintenance.window \"%s\" does not parse: %s", c->maintenance.window, why);
	check_strv("maintenance.patch_command", &c->maintenance.patch_command, true);
	check_strv("maintenance.cassandra_upgrade_command", &c->maintenance.cassandra_upgrade_command, true);
	if (c->maintenance.cassandra_upgrade_command.n) {
		bool found = false;

		for (size_t i = 0; i < c->maintenance.cassandra_upgrade_command.n; i++)
			found |= strstr(c->maintenance.cassandra_upgrade_command.v[i], "{version}") != NULL;
		if (!found)
			FAIL("cassandra_upgrade_command without {version}");
	}
	check_path("maintenance.boot_id_file", c->maintenance.boot_id_file);
	check_str("tls.truststore_type", c->tls.truststore_type, false);
	if (strcmp(c->tls.truststore_type, "pkcs12") && strcmp(c->tls.truststore_type, "pem") &&
	    strcmp(c->tls.truststore_type, "jks"))
		FAIL("tls.truststore_type \"%s\"", c->tls.truststore_type);
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_config cfg, again;
	char err[CONFIG_ERR_MAX], err2[CONFIG_ERR_MAX];
	int r, r2;

	memset(&cfg, 0xa5, sizeof cfg);
	memset(err, 'x', sizeof err);
	r = config_load_buffer(NAME, (const char *)data, size, &cfg, err, sizeof err);
	if (!memchr(err, '\0', sizeof err))
		FAIL("unterminated error message");
	if (r < 0) {
		if (r != -EINVAL && r != -ENOMEM && r != -EFBIG)
			FAIL("unexpected return %d", r);
		if (strncmp(err, NAME ":", strlen(NAME ":")) != 0)
			FAIL("error message does not start with the name: \"%s\"", err);
		if (cfg.path || cfg.node.datacenter || cfg.cassandra.nodetool.v || cfg.tls.truststore_type)
			FAIL("cfg not zeroed on error");
		return 0;
	}
	if (r != 0)
		FAIL("unexpected return %d", r);
	if (err[0])
		FAIL("success with a message: \"%s\"", err);
	check(&cfg);

	/* Loading is deterministic. */
	r2 = config_load_buffer(NAME, (const char *)data, size, &again, err2, sizeof err2);
	if (r2 != 0)
		FAIL("second load failed: %d %s", r2, err2);
	if (!same_str(cfg.node.datacenter, again.node.datacenter) || !same_str(cfg.status.socket, again.status.socket) ||
	    cfg.snapshots.interval_ms != again.snapshots.interval_ms ||
	    cfg.cassandra.nodetool.n != again.cassandra.nodetool.n)
		FAIL("two loads of one document differ");
	config_free(&again);
	config_free(&cfg);
	if (cfg.path || cfg.node.datacenter)
		FAIL("config_free left the struct set");
	return 0;
}
