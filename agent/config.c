/* config: loads and validates agent.yaml (SPEC section 4) with the libyaml event API, driven by key tables. */
/* strdup, strndup and O_CLOEXEC are POSIX.1-2008; the build may already ask for more. */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#define CONFIG_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CONFIG_OFF(field)    offsetof(struct agent_config, field)

/* The longest Unix socket path that fits sun_path (108 bytes) with its NUL. */
#define CONFIG_SOCKET_PATH_MAX 107

/* The longest snapshots.tag_prefix: a tag is at most 64 characters, the timestamp takes 17. */
#define CONFIG_TAG_PREFIX_MAX 47

/* How much of a user-supplied key or value is echoed back in a message. */
#define CONFIG_QUOTE_MAX 64

#define CONFIG_MS_S 1000ULL
#define CONFIG_MS_M (60ULL * CONFIG_MS_S)
#define CONFIG_MS_H (60ULL * CONFIG_MS_M)
#define CONFIG_MS_D (24ULL * CONFIG_MS_H)

/* What a key's value is and so which parser reads it. */
enum config_kind {
	CONFIG_STRING,   /* char * */
	CONFIG_BOOL,     /* bool */
	CONFIG_PORT,     /* uint16_t, 1..65535 */
	CONFIG_DURATION, /* uint64_t milliseconds */
	CONFIG_PERCENT,  /* double, 0..100 */
	CONFIG_STRV,     /* struct config_strv, a list of strings */
	CONFIG_MAPPING,  /* a nested table of keys */
};

/* Flags of a key. */
enum {
	CONFIG_REQUIRED = 1u << 0,  /* must be present and non-null when its mapping is */
	CONFIG_NONZERO = 1u << 1,   /* a duration that must be greater than 0 */
	CONFIG_NONEMPTY = 1u << 2,  /* a list that must hold at least one string */
	CONFIG_FIRST_ABS = 1u << 3, /* a list whose first string must be an absolute path */
	CONFIG_ENABLES = 1u << 4,   /* a mapping whose presence sets the bool at flag_offset */
};

/* A check of one string value: NULL when it is fine, else why it is not. */
typedef const char *config_check_fn(const char *s);

/* A check of a whole list, after every string passed its own check. */
typedef const char *config_check_list_fn(const struct config_strv *strv);

/* One key of a mapping: its name, what it holds, where in struct agent_config, how to check it. */
// NOLINTNEXTLINE(clang-analyzer-optin.performance.Padding): 8 bytes in a static table; fields in reading order
struct config_key {
	const char *name;
	enum config_kind kind;
	size_t offset; /* of the field in struct agent_config */
	unsigned flags;
	config_check_fn *check;           /* CONFIG_STRING, and each CONFIG_STRV string */
	config_check_list_fn *check_list; /* CONFIG_STRV */
	const struct config_key *keys;    /* CONFIG_MAPPING */
	size_t nkeys;
	size_t flag_offset; /* CONFIG_ENABLES: the bool to set */
};

/* The state of one load: the libyaml parser, the input (for reader error positions) and the error buffer. */
struct config_parser {
	yaml_parser_t yaml;
	const char *name;
	const char *buf;
	size_t len;
	char *err;
	size_t errlen;
};

/* Helpers for the key tables; every field is given so the tables read as one line per key. */
#define CONFIG_K_STR(n, f, fl, chk)                                                                                    \
	{                                                                                                              \
		n, CONFIG_STRING, CONFIG_OFF(f), fl, chk, NULL, NULL, 0, 0                                             \
	}
#define CONFIG_K_BOOL(n, f)                                                                                            \
	{                                                                                                              \
		n, CONFIG_BOOL, CONFIG_OFF(f), 0, NULL, NULL, NULL, 0, 0                                               \
	}
#define CONFIG_K_PORT(n, f)                                                                                            \
	{                                                                                                              \
		n, CONFIG_PORT, CONFIG_OFF(f), 0, NULL, NULL, NULL, 0, 0                                               \
	}
#define CONFIG_K_DUR(n, f, fl)                                                                                         \
	{                                                                                                              \
		n, CONFIG_DURATION, CONFIG_OFF(f), fl, NULL, NULL, NULL, 0, 0                                          \
	}
#define CONFIG_K_PCT(n, f)                                                                                             \
	{                                                                                                              \
		n, CONFIG_PERCENT, CONFIG_OFF(f), 0, NULL, NULL, NULL, 0, 0                                            \
	}
#define CONFIG_K_STRV(n, f, fl, chk, chk_list)                                                                         \
	{                                                                                                              \
		n, CONFIG_STRV, CONFIG_OFF(f), fl, chk, chk_list, NULL, 0, 0                                           \
	}
#define CONFIG_K_MAP(n, sub)                                                                                           \
	{                                                                                                              \
		n, CONFIG_MAPPING, 0, 0, NULL, NULL, sub, CONFIG_ARRAY_SIZE(sub), 0                                    \
	}
#define CONFIG_K_MAP_ENABLES(n, sub, f)                                                                                \
	{                                                                                                              \
		n, CONFIG_MAPPING, 0, CONFIG_ENABLES, NULL, NULL, sub, CONFIG_ARRAY_SIZE(sub), CONFIG_OFF(f)           \
	}

/* Value checks. */

static bool config_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static bool config_has_space(const char *s)
{
	for (; *s; s++)
		if (*s == ' ' || *s == '\t' || (unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static const char *config_check_abs_path(const char *s)
{
	if (s[0] != '/')
		return "must be an absolute path";
	if (config_has_control(s))
		return "must not contain control characters";
	return NULL;
}

static const char *config_check_optional_abs_path(const char *s)
{
	return s[0] ? config_check_abs_path(s) : NULL;
}

static const char *config_check_socket_path(const char *s)
{
	const char *why = config_check_abs_path(s);

	if (why)
		return why;
	if (strlen(s) > CONFIG_SOCKET_PATH_MAX)
		return "must be at most 107 bytes long (the Unix socket path limit)";
	return NULL;
}

/* A datacenter or rack name: it becomes a value in cassandra-rackdc.properties. */
static const char *config_check_rackdc_name(const char *s)
{
	if (s[0] == '\0' || config_has_space(s) || strpbrk(s, "=:#!\\"))
		return "must be a non-empty name without whitespace, control characters or any of = : # ! \\";
	return NULL;
}

static const char *config_check_word(const char *s)
{
	if (s[0] == '\0' || config_has_space(s))
		return "must be non-empty and without whitespace";
	return NULL;
}

static const char *config_check_unit(const char *s)
{
	if (s[0] == '\0' || config_has_space(s) || strchr(s, '/'))
		return "must be a systemd unit name (non-empty, no whitespace or '/')";
	return NULL;
}

static const char *config_check_group(const char *s)
{
	if (config_has_space(s) || strchr(s, ':'))
		return "must be \"\" or a group name without whitespace or ':'";
	return NULL;
}

/* Parses a decimal port 1..65535: digits only, no sign, no leading zero. */
static int config_parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (s[0] < '1' || s[0] > '9')
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return -EINVAL;
	}
	*port = (uint16_t)v;
	return 0;
}

/* HOST:PORT with an IPv6 host in brackets. */
static const char *config_check_address(const char *s)
{
	static const char *const why = "must be HOST:PORT (IPv6 as [ADDRESS]:PORT) with a port 1..65535";
	const char *colon = strrchr(s, ':');
	uint16_t port;

	if (!colon || colon == s || config_has_space(s) || config_parse_port(colon + 1, &port) < 0)
		return why;
	if (s[0] == '[') {
		if (colon[-1] != ']' || colon - s < 3)
			return why;
		if (memchr(s + 1, ']', (size_t)(colon - s - 2)) || memchr(s + 1, '[', (size_t)(colon - s - 2)))
			return why;
	} else if (memchr(s, ':', (size_t)(colon - s)) || strpbrk(s, "[]")) {
		return why;
	}
	return NULL;
}

/*
 * Snapshot tags are "<tag_prefix>-YYYYMMDDTHHMMSSZ" and must match the tag rule of
 * SPEC 6.4, [A-Za-z0-9_-][A-Za-z0-9._-]{0,63}: so the prefix has at most 64 - 17 characters.
 */
static const char *config_check_tag_prefix(const char *s)
{
	static const char *const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
	size_t n = strlen(s);

	if (n == 0 || n > CONFIG_TAG_PREFIX_MAX || !strchr(alnum, s[0]) ||
	    strspn(s + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != n - 1)
		return "must be 1 to 47 of A-Z a-z 0-9 _ - . and not start with '.'";
	return NULL;
}

static const char *config_check_truststore_type(const char *s)
{
	if (strcmp(s, "pkcs12") && strcmp(s, "pem") && strcmp(s, "jks"))
		return "must be one of pkcs12, pem, jks";
	return NULL;
}

static const char *config_check_window(const char *s)
{
	struct config_window w;
	const char *why = NULL;

	if (config_parse_window(s, &w, &why) < 0)
		return why;
	return NULL;
}

static const char *config_check_upgrade_command(const struct config_strv *strv)
{
	for (size_t i = 0; i < strv->n; i++)
		if (strstr(strv->v[i], "{version}"))
			return NULL;
	return strv->n ? "must contain \"{version}\" in one of its arguments" : NULL;
}

/* The key tables: one line per key of SPEC section 4, in the order of conf/agent.yaml. */

static const struct config_key config_node_keys[] = {
	CONFIG_K_STR("datacenter", node.datacenter, 0, config_check_rackdc_name),
	CONFIG_K_STR("rack", node.rack, 0, config_check_rackdc_name),
	CONFIG_K_BOOL("prefer_local", node.prefer_local),
};

static const struct config_key config_cassandra_keys[] = {
	CONFIG_K_STR("yaml", cassandra.yaml, 0, config_check_abs_path),
	CONFIG_K_STR("rackdc", cassandra.rackdc, 0, config_check_abs_path),
	CONFIG_K_STR("unit", cassandra.unit, 0, config_check_unit),
	CONFIG_K_STRV("nodetool", cassandra.nodetool, CONFIG_NONEMPTY | CONFIG_FIRST_ABS, NULL, NULL),
	CONFIG_K_DUR("nodetool_timeout", cassandra.nodetool_timeout_ms, CONFIG_NONZERO),
	CONFIG_K_STR("native_address", cassandra.native_address, 0, config_check_word),
	CONFIG_K_PORT("native_port", cassandra.native_port),
	CONFIG_K_STRV("data_directories", cassandra.data_directories, CONFIG_NONEMPTY, config_check_abs_path, NULL),
};

static const struct config_key config_controller_keys[] = {
	CONFIG_K_STR("address", controller.address, CONFIG_REQUIRED, config_check_address),
	CONFIG_K_STR("ca", controller.ca, CONFIG_REQUIRED, config_check_abs_path),
	CONFIG_K_STR("cert", controller.cert, CONFIG_REQUIRED, config_check_abs_path),
	CONFIG_K_STR("key", controller.key, CONFIG_REQUIRED, config_check_abs_path),
	CONFIG_K_DUR("report_interval", controller.report_interval_ms, CONFIG_NONZERO),
};

static const struct config_key config_health_keys[] = {
	CONFIG_K_DUR("probe_interval", health.probe_interval_ms, CONFIG_NONZERO),
	CONFIG_K_DUR("nodetool_interval", health.nodetool_interval_ms, CONFIG_NONZERO),
};

static const struct config_key config_status_keys[] = {
	CONFIG_K_STR("socket", status.socket, 0, config_check_socket_path),
	CONFIG_K_STR("group", status.group, 0, config_check_group),
};

static const struct config_key config_snapshots_keys[] = {
	CONFIG_K_DUR("interval", snapshots.interval_ms, CONFIG_NONZERO),
	CONFIG_K_DUR("retention", snapshots.retention_ms, CONFIG_NONZERO),
	CONFIG_K_STR("tag_prefix", snapshots.tag_prefix, 0, config_check_tag_prefix),
	CONFIG_K_PCT("min_free_disk", snapshots.min_free_disk_percent),
};

static const struct config_key config_maintenance_keys[] = {
	CONFIG_K_STR("reboot_required", maintenance.reboot_required, 0, config_check_abs_path),
	CONFIG_K_STR("window", maintenance.window, 0, config_check_window),
	CONFIG_K_STRV("patch_command", maintenance.patch_command, 0, NULL, NULL),
	CONFIG_K_STRV("cassandra_upgrade_command", maintenance.cassandra_upgrade_command, 0, NULL,
		      config_check_upgrade_command),
	CONFIG_K_DUR("healthy_timeout", maintenance.healthy_timeout_ms, CONFIG_NONZERO),
	CONFIG_K_DUR("settle", maintenance.settle_ms, 0),
	CONFIG_K_STR("boot_id_file", maintenance.boot_id_file, 0, config_check_abs_path),
};

static const struct config_key config_tls_keys[] = {
	CONFIG_K_STR("truststore_type", tls.truststore_type, 0, config_check_truststore_type),
};

static const struct config_key config_metrics_keys[] = {
	CONFIG_K_STR("textfile_directory", metrics.textfile_directory, 0, config_check_optional_abs_path),
};

static const struct config_key config_root_keys[] = {
	CONFIG_K_MAP("node", config_node_keys),
	CONFIG_K_MAP("cassandra", config_cassandra_keys),
	CONFIG_K_MAP_ENABLES("controller", config_controller_keys, controller.enabled),
	CONFIG_K_MAP("health", config_health_keys),
	CONFIG_K_MAP("status", config_status_keys),
	CONFIG_K_STR("state_directory", state_directory, 0, config_check_abs_path),
	CONFIG_K_MAP("snapshots", config_snapshots_keys),
	CONFIG_K_MAP("maintenance", config_maintenance_keys),
	CONFIG_K_MAP("tls", config_tls_keys),
	CONFIG_K_MAP("metrics", config_metrics_keys),
};

/* parse_mapping() tracks seen keys in a 32-bit mask. */
_Static_assert(CONFIG_ARRAY_SIZE(config_root_keys) <= 32, "too many keys for the seen mask");
_Static_assert(CONFIG_ARRAY_SIZE(config_cassandra_keys) <= 32, "too many keys for the seen mask");
_Static_assert(CONFIG_ARRAY_SIZE(config_maintenance_keys) <= 32, "too many keys for the seen mask");

/* Lists of strings. */

static void config_strv_free(struct config_strv *strv)
{
	for (size_t i = 0; i < strv->n; i++)
		free(strv->v[i]);
	free(strv->v);
	strv->v = NULL;
	strv->n = 0;
}

/* Appends a copy of `s` (`len` bytes); the list stays NULL-terminated. */
static int config_strv_push(struct config_strv *strv, const char *s, size_t len)
{
	char **v;
	char *copy;

	copy = strndup(s, len);
	if (!copy)
		return -ENOMEM;
	v = realloc(strv->v, (strv->n + 2) * sizeof(*v));
	if (!v) {
		free(copy);
		return -ENOMEM;
	}
	v[strv->n++] = copy;
	v[strv->n] = NULL;
	strv->v = v;
	return 0;
}

/* Defaults and release. */

void config_free(struct agent_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->node.datacenter);
	free(cfg->node.rack);
	free(cfg->cassandra.yaml);
	free(cfg->cassandra.rackdc);
	free(cfg->cassandra.unit);
	config_strv_free(&cfg->cassandra.nodetool);
	free(cfg->cassandra.native_address);
	config_strv_free(&cfg->cassandra.data_directories);
	free(cfg->controller.address);
	free(cfg->controller.ca);
	free(cfg->controller.cert);
	free(cfg->controller.key);
	free(cfg->status.socket);
	free(cfg->status.group);
	free(cfg->state_directory);
	free(cfg->snapshots.tag_prefix);
	free(cfg->maintenance.reboot_required);
	free(cfg->maintenance.window);
	config_strv_free(&cfg->maintenance.patch_command);
	config_strv_free(&cfg->maintenance.cassandra_upgrade_command);
	free(cfg->maintenance.boot_id_file);
	free(cfg->tls.truststore_type);
	free(cfg->metrics.textfile_directory);
	memset(cfg, 0, sizeof(*cfg));
}

/* Sets *field to a copy of `s`; a failed copy is remembered in *ok. */
static void config_default_str(char **field, const char *s, bool *ok)
{
	*field = strdup(s);
	if (!*field)
		*ok = false;
}

int config_defaults(struct agent_config *cfg)
{
	bool ok = true;

	memset(cfg, 0, sizeof(*cfg));
	config_default_str(&cfg->node.datacenter, "dc1", &ok);
	config_default_str(&cfg->node.rack, "rack1", &ok);
	cfg->node.prefer_local = false;

	config_default_str(&cfg->cassandra.yaml, "/etc/cassandra/cassandra.yaml", &ok);
	config_default_str(&cfg->cassandra.rackdc, "/etc/cassandra/cassandra-rackdc.properties", &ok);
	config_default_str(&cfg->cassandra.unit, "cassandra.service", &ok);
	if (config_strv_push(&cfg->cassandra.nodetool, "/usr/bin/nodetool", strlen("/usr/bin/nodetool")) < 0)
		ok = false;
	cfg->cassandra.nodetool_timeout_ms = 60 * CONFIG_MS_S;
	config_default_str(&cfg->cassandra.native_address, "127.0.0.1", &ok);
	cfg->cassandra.native_port = 9042;
	if (config_strv_push(&cfg->cassandra.data_directories, "/var/lib/cassandra/data",
			     strlen("/var/lib/cassandra/data")) < 0)
		ok = false;

	cfg->controller.enabled = false;
	cfg->controller.report_interval_ms = 30 * CONFIG_MS_S;

	cfg->health.probe_interval_ms = 5 * CONFIG_MS_S;
	cfg->health.nodetool_interval_ms = 30 * CONFIG_MS_S;

	config_default_str(&cfg->status.socket, "/run/cassandra-agent/agent.sock", &ok);
	config_default_str(&cfg->status.group, "cassandra-ops", &ok);

	config_default_str(&cfg->state_directory, "/var/lib/cassandra-agent", &ok);

	cfg->snapshots.interval_ms = 4 * CONFIG_MS_H;
	cfg->snapshots.retention_ms = 48 * CONFIG_MS_H;
	config_default_str(&cfg->snapshots.tag_prefix, "agent", &ok);
	cfg->snapshots.min_free_disk_percent = 15.0;

	config_default_str(&cfg->maintenance.reboot_required, "/run/reboot-required", &ok);
	config_default_str(&cfg->maintenance.window, "", &ok);
	cfg->maintenance.healthy_timeout_ms = 20 * CONFIG_MS_M;
	cfg->maintenance.settle_ms = 30 * CONFIG_MS_S;
	config_default_str(&cfg->maintenance.boot_id_file, "/proc/sys/kernel/random/boot_id", &ok);

	config_default_str(&cfg->tls.truststore_type, "pkcs12", &ok);
	config_default_str(&cfg->metrics.textfile_directory, "", &ok);

	if (!ok) {
		config_free(cfg);
		return -ENOMEM;
	}
	return 0;
}

/* Unit parsers. */

static bool config_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads a run of at least one digit into *n; -EINVAL on none or on uint64 overflow. */
static int config_parse_digits(const char **pp, uint64_t *n)
{
	const char *p = *pp;
	uint64_t v = 0;

	if (!config_is_digit(*p))
		return -EINVAL;
	for (; config_is_digit(*p); p++) {
		uint64_t d = (uint64_t)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*pp = p;
	*n = v;
	return 0;
}

int config_parse_duration_ms(const char *s, uint64_t *ms)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {
		{"ms", 1}, {"s", CONFIG_MS_S}, {"m", CONFIG_MS_M}, {"h", CONFIG_MS_H}, {"d", CONFIG_MS_D},
	};
	const char *p = s;
	uint64_t n;

	if (!s || config_parse_digits(&p, &n) < 0)
		return -EINVAL;
	for (size_t i = 0; i < CONFIG_ARRAY_SIZE(units); i++) {
		if (strcmp(p, units[i].unit))
			continue;
		if (n > UINT64_MAX / units[i].ms)
			return -EINVAL;
		*ms = n * units[i].ms;
		return 0;
	}
	return -EINVAL;
}

int config_parse_size_bytes(const char *s, uint64_t *bytes)
{
	static const struct {
		const char *unit;
		uint64_t bytes;
	} units[] = {
		{"B", 1}, {"KiB", 1ULL << 10}, {"MiB", 1ULL << 20}, {"GiB", 1ULL << 30}, {"TiB", 1ULL << 40},
	};
	const char *p = s;
	uint64_t n;

	if (!s || config_parse_digits(&p, &n) < 0)
		return -EINVAL;
	if (*p == '\0') {
		*bytes = n;
		return 0;
	}
	if (*p == ' ')
		p++;
	for (size_t i = 0; i < CONFIG_ARRAY_SIZE(units); i++) {
		if (strcmp(p, units[i].unit))
			continue;
		if (n > UINT64_MAX / units[i].bytes)
			return -EINVAL;
		*bytes = n * units[i].bytes;
		return 0;
	}
	return -EINVAL;
}

int config_parse_percent(const char *s, double *percent)
{
	uint64_t mantissa = 0;
	double scale = 1.0, v;
	unsigned frac_digits = 0;
	const char *p = s;

	if (!s || !config_is_digit(*p))
		return -EINVAL;
	for (; config_is_digit(*p); p++) {
		if (mantissa > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		mantissa = mantissa * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		p++;
		if (!config_is_digit(*p))
			return -EINVAL;
		for (; config_is_digit(*p); p++) {
			/* Powers of ten up to 1e18 are exact in a double. */
			if (++frac_digits > 18 || mantissa > (UINT64_MAX - 9) / 10)
				return -EINVAL;
			mantissa = mantissa * 10 + (uint64_t)(*p - '0');
			scale *= 10.0;
		}
	}
	if (strcmp(p, "%"))
		return -EINVAL;
	v = (double)mantissa / scale;
	if (v > 100.0)
		return -EINVAL;
	*percent = v;
	return 0;
}

/* Maintenance window. */

static void config_skip_spaces(const char **pp)
{
	while (**pp == ' ')
		(*pp)++;
}

/* Reads a three-letter day name; returns its tm_wday (0 = Sunday) or -1. */
static int config_window_day(const char **pp)
{
	static const char *const names[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	const char *p = *pp;

	for (int d = 0; d < 7; d++) {
		if (strncasecmp(p, names[d], 3))
			continue;
		if ((p[3] >= 'a' && p[3] <= 'z') || (p[3] >= 'A' && p[3] <= 'Z'))
			return -1;
		*pp = p + 3;
		return d;
	}
	return -1;
}

/* Reads "HH:MM"; returns minutes after midnight or -1. 24:00 only when `allow_24`. */
static int config_window_time(const char **pp, bool allow_24)
{
	const char *p = *pp;
	int h, m;

	if (!config_is_digit(p[0]) || !config_is_digit(p[1]) || p[2] != ':' || !config_is_digit(p[3]) ||
	    !config_is_digit(p[4]) || config_is_digit(p[5]))
		return -1;
	h = (p[0] - '0') * 10 + (p[1] - '0');
	m = (p[3] - '0') * 10 + (p[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && (!allow_24 || m != 0)))
		return -1;
	*pp = p + 5;
	return h * 60 + m;
}

int config_parse_window(const char *s, struct config_window *w, const char **why)
{
	struct config_window out = {.always = false, .days = 0, .start_min = 0, .end_min = 0};
	const char *p = s, *reason = NULL;
	int start, end;

	if (!s) {
		reason = "no window";
		goto fail;
	}
	if (*s == '\0') {
		out = (struct config_window){.always = true, .days = 0x7f, .start_min = 0, .end_min = 1440};
		goto done;
	}
	config_skip_spaces(&p);
	if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
		for (;;) {
			int first = config_window_day(&p), last = first;

			if (first >= 0 && *p == '-') {
				p++;
				last = config_window_day(&p);
			}
			if (first < 0 || last < 0) {
				reason = "unknown day (days are Mon, Tue, Wed, Thu, Fri, Sat, Sun or ranges like "
					 "Mon-Fri)";
				goto fail;
			}
			for (int d = first;; d = (d + 1) % 7) {
				out.days |= (uint8_t)(1u << d);
				if (d == last)
					break;
			}
			if (*p != ',')
				break;
			p++;
			config_skip_spaces(&p);
		}
		if (*p != ' ') {
			reason = "expected a space after the days";
			goto fail;
		}
		config_skip_spaces(&p);
	} else {
		out.days = 0x7f;
	}
	start = config_window_time(&p, false);
	if (start < 0 || *p != '-') {
		reason = "expected a time range HH:MM-HH:MM (00:00 to 24:00)";
		goto fail;
	}
	p++;
	end = config_window_time(&p, true);
	if (end < 0) {
		reason = "expected a time range HH:MM-HH:MM (00:00 to 24:00)";
		goto fail;
	}
	if (start == end) {
		reason = "the time range is empty (start equals end)";
		goto fail;
	}
	if (*p != ' ') {
		reason = "expected a space and the timezone UTC after the time range";
		goto fail;
	}
	config_skip_spaces(&p);
	if (strncasecmp(p, "UTC", 3) || (p[3] != '\0' && p[3] != ' ')) {
		reason = "the timezone must be UTC";
		goto fail;
	}
	p += 3;
	config_skip_spaces(&p);
	if (*p != '\0') {
		reason = "unexpected text after the timezone";
		goto fail;
	}
	out.start_min = (uint16_t)start;
	out.end_min = (uint16_t)(end == 0 ? 1440 : end);
done:
	*w = out;
	return 0;
fail:
	if (why)
		*why = reason;
	return -EINVAL;
}

/* Error messages. */

/* Copies at most CONFIG_QUOTE_MAX bytes of `s` for a message, control characters as '?'. */
static void config_quote(char *out, size_t outlen, const char *s, size_t len)
{
	size_t n = len, i;

	if (n > CONFIG_QUOTE_MAX) {
		n = CONFIG_QUOTE_MAX;
		/* Do not cut a UTF-8 sequence in half. */
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	if (outlen < 4)
		n = 0;
	else if (n > outlen - 4)
		n = outlen - 4;
	for (i = 0; i < n; i++) {
		// NOLINTNEXTLINE(bugprone-narrowing-conversions): a char either way, '?' is an int in C
		out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	}
	if (n < len && outlen >= 4) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	if (outlen)
		out[i] = '\0';
}

__attribute__((format(printf, 3, 4))) static void config_errorf(struct config_parser *p, const yaml_mark_t *mark,
								const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->err || p->errlen == 0)
		return;
	n = snprintf(p->err, p->errlen, "%s:%zu:%zu: ", p->name, mark->line + 1, mark->column + 1);
	if (n < 0 || (size_t)n >= p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Translates a libyaml failure into a message; returns -EINVAL or -ENOMEM. */
static int config_yaml_error(struct config_parser *p)
{
	const yaml_parser_t *y = &p->yaml;
	yaml_mark_t mark = y->problem_mark;

	switch (y->error) {
	case YAML_MEMORY_ERROR:
		if (p->err && p->errlen)
			snprintf(p->err, p->errlen, "%s: out of memory", p->name);
		return -ENOMEM;
	case YAML_READER_ERROR:
		/* Reader errors carry a byte offset, not a mark: count lines and characters. */
		mark = (yaml_mark_t){.index = y->problem_offset, .line = 0, .column = 0};
		for (size_t i = 0; i < y->problem_offset && i < p->len; i++) {
			if (p->buf[i] == '\n') {
				mark.line++;
				mark.column = 0;
			} else if (((unsigned char)p->buf[i] & 0xc0) != 0x80) {
				mark.column++;
			}
		}
		if (y->problem_value != -1)
			config_errorf(p, &mark, "%s (#%X at byte offset %zu)",
				      y->problem ? y->problem : "invalid input", (unsigned)y->problem_value,
				      y->problem_offset);
		else
			config_errorf(p, &mark, "%s (at byte offset %zu)", y->problem ? y->problem : "invalid input",
				      y->problem_offset);
		return -EINVAL;
	default:
		if (y->context)
			config_errorf(p, &mark, "syntax error: %s %s (line %zu column %zu)",
				      y->problem ? y->problem : "invalid YAML", y->context, y->context_mark.line + 1,
				      y->context_mark.column + 1);
		else
			config_errorf(p, &mark, "syntax error: %s", y->problem ? y->problem : "invalid YAML");
		return -EINVAL;
	}
}

/* Events. */

static bool config_is_null(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;

	if (ev->type != YAML_SCALAR_EVENT)
		return false;
	if (ev->data.scalar.tag)
		return strcmp((const char *)ev->data.scalar.tag, YAML_NULL_TAG) == 0;
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !strcmp(v, "") || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* What an event is, for "expected X, got Y" messages. */
static const char *config_event_what(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_MAPPING_START_EVENT: return "a mapping";
	case YAML_SEQUENCE_START_EVENT: return "a list";
	case YAML_SCALAR_EVENT: return config_is_null(ev) ? "null" : "a scalar";
	default: return "something else";
	}
}

/*
 * Reads the next event. Refuses aliases, anchors and explicit tags other than !!str
 * and !!null on scalars, so every value is written out where it is used.
 */
static int config_next(struct config_parser *p, yaml_event_t *ev)
{
	const yaml_char_t *anchor = NULL, *tag = NULL;

	if (!yaml_parser_parse(&p->yaml, ev))
		return config_yaml_error(p);
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		config_errorf(p, &ev->start_mark, "aliases (*name) are not supported; write the value out");
		goto fail;
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		if (tag && (!strcmp((const char *)tag, YAML_STR_TAG) || !strcmp((const char *)tag, YAML_NULL_TAG)))
			tag = NULL;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		break;
	default: break;
	}
	if (anchor) {
		config_errorf(p, &ev->start_mark, "anchors (&name) are not supported; write the value out");
		goto fail;
	}
	if (tag) {
		config_errorf(p, &ev->start_mark, "explicit tags are not supported (only !!str)");
		goto fail;
	}
	return 0;
fail:
	yaml_event_delete(ev);
	return -EINVAL;
}

/* Refuses a scalar with an embedded NUL (possible with "\0" in double quotes). */
static int config_check_nul(struct config_parser *p, const yaml_event_t *ev, const char *dotted)
{
	if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length)) {
		config_errorf(p, &ev->start_mark, "%s: must not contain a NUL character", dotted);
		return -EINVAL;
	}
	return 0;
}

static void *config_field(struct agent_config *cfg, size_t offset)
{
	return (char *)cfg + offset;
}

static int config_parse_mapping(struct config_parser *p, struct agent_config *cfg, const struct config_key *keys,
				size_t nkeys, const char *prefix, const yaml_mark_t *map_mark);

/* Reads the items of a list whose SEQUENCE-START was `seq`, then replaces the field. */
static int config_parse_strv(struct config_parser *p, struct agent_config *cfg, const struct config_key *k,
			     const char *dotted, const yaml_event_t *seq)
{
	struct config_strv strv = {.v = NULL, .n = 0};
	struct config_strv *field = config_field(cfg, k->offset);
	char quoted[CONFIG_QUOTE_MAX + 4];
	const char *why;
	yaml_event_t ev;
	int r;

	for (;;) {
		r = config_next(p, &ev);
		if (r < 0)
			goto fail;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type != YAML_SCALAR_EVENT || config_is_null(&ev)) {
			config_errorf(p, &ev.start_mark, "%s[%zu]: expected a string, got %s", dotted, strv.n,
				      config_event_what(&ev));
			r = -EINVAL;
			goto fail_event;
		}
		r = config_check_nul(p, &ev, dotted);
		if (r < 0)
			goto fail_event;
		why = k->check ? k->check((const char *)ev.data.scalar.value) : NULL;
		if (!why && strv.n == 0 && (k->flags & CONFIG_FIRST_ABS))
			why = config_check_abs_path((const char *)ev.data.scalar.value);
		if (why) {
			config_quote(quoted, sizeof(quoted), (const char *)ev.data.scalar.value, ev.data.scalar.length);
			config_errorf(p, &ev.start_mark, "%s[%zu]: %s (got \"%s\")", dotted, strv.n, why, quoted);
			r = -EINVAL;
			goto fail_event;
		}
		r = config_strv_push(&strv, (const char *)ev.data.scalar.value, ev.data.scalar.length);
		if (r < 0) {
			config_errorf(p, &ev.start_mark, "out of memory");
			goto fail_event;
		}
		yaml_event_delete(&ev);
	}
	if ((k->flags & CONFIG_NONEMPTY) && strv.n == 0) {
		config_errorf(p, &seq->start_mark, "%s: must not be empty", dotted);
		r = -EINVAL;
		goto fail;
	}
	why = k->check_list ? k->check_list(&strv) : NULL;
	if (why) {
		config_errorf(p, &seq->start_mark, "%s: %s", dotted, why);
		r = -EINVAL;
		goto fail;
	}
	config_strv_free(field);
	*field = strv;
	return 0;

fail_event:
	yaml_event_delete(&ev);
fail:
	config_strv_free(&strv);
	return r;
}

/* Converts one scalar value for key `k` and stores it. */
static int config_parse_scalar(struct config_parser *p, struct agent_config *cfg, const struct config_key *k,
			       const char *dotted, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	void *field = config_field(cfg, k->offset);
	char quoted[CONFIG_QUOTE_MAX + 4];
	const char *why;
	uint64_t ms;
	double pct;
	char *copy;

	if (config_check_nul(p, ev, dotted) < 0)
		return -EINVAL;
	config_quote(quoted, sizeof(quoted), s, ev->data.scalar.length);
	switch (k->kind) {
	case CONFIG_STRING:
		why = k->check ? k->check(s) : NULL;
		if (why) {
			config_errorf(p, &ev->start_mark, "%s: %s (got \"%s\")", dotted, why, quoted);
			return -EINVAL;
		}
		copy = strdup(s);
		if (!copy) {
			config_errorf(p, &ev->start_mark, "out of memory");
			return -ENOMEM;
		}
		free(*(char **)field);
		*(char **)field = copy;
		return 0;
	case CONFIG_BOOL: {
		static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
		static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};

		for (size_t i = 0; i < CONFIG_ARRAY_SIZE(yes); i++) {
			if (!strcmp(s, yes[i])) {
				*(bool *)field = true;
				return 0;
			}
			if (!strcmp(s, no[i])) {
				*(bool *)field = false;
				return 0;
			}
		}
		config_errorf(p, &ev->start_mark, "%s: expected true or false, got \"%s\"", dotted, quoted);
		return -EINVAL;
	}
	case CONFIG_PORT:
		if (config_parse_port(s, field) < 0) {
			config_errorf(p, &ev->start_mark, "%s: expected a port number 1..65535, got \"%s\"", dotted,
				      quoted);
			return -EINVAL;
		}
		return 0;
	case CONFIG_DURATION:
		if (config_parse_duration_ms(s, &ms) < 0) {
			config_errorf(
				p, &ev->start_mark,
				"%s: invalid duration \"%s\" (expected digits and a unit ms, s, m, h or d, like 90s)",
				dotted, quoted);
			return -EINVAL;
		}
		if ((k->flags & CONFIG_NONZERO) && ms == 0) {
			config_errorf(p, &ev->start_mark, "%s: must be greater than 0 (got \"%s\")", dotted, quoted);
			return -EINVAL;
		}
		if (ms > CONFIG_DURATION_MAX_MS) {
			config_errorf(p, &ev->start_mark, "%s: must be at most 3650d (got \"%s\")", dotted, quoted);
			return -EINVAL;
		}
		*(uint64_t *)field = ms;
		return 0;
	case CONFIG_PERCENT:
		if (config_parse_percent(s, &pct) < 0) {
			config_errorf(p, &ev->start_mark,
				      "%s: invalid percentage \"%s\" (expected 0%% to 100%%, like 15%%)", dotted,
				      quoted);
			return -EINVAL;
		}
		*(double *)field = pct;
		return 0;
	default: config_errorf(p, &ev->start_mark, "%s: internal error: not a scalar key", dotted); return -EINVAL;
	}
}

/*
 * Reads the value of key `k` (whose key scalar was at `key_mark`). A null value keeps
 * the default and leaves *set false.
 */
static int config_parse_value(struct config_parser *p, struct agent_config *cfg, const struct config_key *k,
			      const char *dotted, const yaml_mark_t *key_mark, bool *set)
{
	const char *expected;
	yaml_event_t ev;
	int r;

	*set = false;
	r = config_next(p, &ev);
	if (r < 0)
		return r;
	if (config_is_null(&ev)) {
		yaml_event_delete(&ev);
		return 0;
	}
	switch (k->kind) {
	case CONFIG_MAPPING:
		if (ev.type != YAML_MAPPING_START_EVENT) {
			expected = "a mapping";
			goto wrong_type;
		}
		yaml_event_delete(&ev);
		r = config_parse_mapping(p, cfg, k->keys, k->nkeys, dotted, key_mark);
		if (r < 0)
			return r;
		if (k->flags & CONFIG_ENABLES)
			*(bool *)config_field(cfg, k->flag_offset) = true;
		break;
	case CONFIG_STRV:
		if (ev.type != YAML_SEQUENCE_START_EVENT) {
			expected = "a list of strings";
			goto wrong_type;
		}
		r = config_parse_strv(p, cfg, k, dotted, &ev);
		yaml_event_delete(&ev);
		if (r < 0)
			return r;
		break;
	default:
		if (ev.type != YAML_SCALAR_EVENT) {
			expected = k->kind == CONFIG_STRING ? "a string" : "a scalar";
			goto wrong_type;
		}
		r = config_parse_scalar(p, cfg, k, dotted, &ev);
		yaml_event_delete(&ev);
		if (r < 0)
			return r;
		break;
	}
	*set = true;
	return 0;

wrong_type:
	config_errorf(p, &ev.start_mark, "%s: expected %s, got %s", dotted, expected, config_event_what(&ev));
	yaml_event_delete(&ev);
	return -EINVAL;
}

/*
 * Reads the keys of a mapping (its MAPPING-START already consumed, at `map_mark`) up
 * to its MAPPING-END. `prefix` is the dotted path of the mapping ("" at the top).
 */
static int config_parse_mapping(struct config_parser *p, struct agent_config *cfg, const struct config_key *keys,
				size_t nkeys, const char *prefix, const yaml_mark_t *map_mark)
{
	yaml_mark_t first[32];
	uint32_t seen = 0, set = 0;
	char quoted[CONFIG_QUOTE_MAX + 4];
	char dotted[CONFIG_QUOTE_MAX + 64];
	yaml_event_t ev;
	int r;

	for (;;) {
		const struct config_key *k = NULL;
		yaml_mark_t key_mark;
		bool value_set;
		size_t i;

		r = config_next(p, &ev);
		if (r < 0)
			return r;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type != YAML_SCALAR_EVENT) {
			config_errorf(p, &ev.start_mark, "%s%skeys must be strings, got %s", prefix,
				      *prefix ? ": " : "", config_event_what(&ev));
			yaml_event_delete(&ev);
			return -EINVAL;
		}
		key_mark = ev.start_mark;
		for (i = 0; i < nkeys; i++) {
			if (strlen(keys[i].name) == ev.data.scalar.length &&
			    !memcmp(keys[i].name, ev.data.scalar.value, ev.data.scalar.length)) {
				k = &keys[i];
				break;
			}
		}
		if (k) {
			snprintf(dotted, sizeof(dotted), "%s%s%s", prefix, *prefix ? "." : "", k->name);
		} else {
			config_quote(quoted, sizeof(quoted), (const char *)ev.data.scalar.value, ev.data.scalar.length);
			snprintf(dotted, sizeof(dotted), "%s%s%s", prefix, *prefix ? "." : "", quoted);
		}
		yaml_event_delete(&ev);
		if (!k) {
			config_errorf(p, &key_mark, "unknown key \"%s\"", dotted);
			return -EINVAL;
		}
		if (seen & (1u << i)) {
			config_errorf(p, &key_mark, "duplicate key \"%s\" (first at line %zu column %zu)", dotted,
				      first[i].line + 1, first[i].column + 1);
			return -EINVAL;
		}
		seen |= 1u << i;
		first[i] = key_mark;
		r = config_parse_value(p, cfg, k, dotted, &key_mark, &value_set);
		if (r < 0)
			return r;
		if (value_set)
			set |= 1u << i;
	}
	for (size_t i = 0; i < nkeys; i++) {
		if ((keys[i].flags & CONFIG_REQUIRED) && !(set & (1u << i))) {
			config_errorf(p, map_mark, "missing required key \"%s%s%s\"", prefix, *prefix ? "." : "",
				      keys[i].name);
			return -EINVAL;
		}
	}
	return 0;
}

/* Reads the whole stream: nothing, or one document whose top level is a mapping or null. */
static int config_parse_stream(struct config_parser *p, struct agent_config *cfg)
{
	yaml_event_t ev;
	int r;

	r = config_next(p, &ev); /* STREAM-START */
	if (r < 0)
		return r;
	yaml_event_delete(&ev);
	r = config_next(p, &ev);
	if (r < 0)
		return r;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		return 0;
	}
	yaml_event_delete(&ev); /* DOCUMENT-START */

	r = config_next(p, &ev);
	if (r < 0)
		return r;
	if (ev.type == YAML_MAPPING_START_EVENT) {
		yaml_mark_t mark = ev.start_mark;

		yaml_event_delete(&ev);
		r = config_parse_mapping(p, cfg, config_root_keys, CONFIG_ARRAY_SIZE(config_root_keys), "", &mark);
		if (r < 0)
			return r;
	} else if (config_is_null(&ev)) {
		yaml_event_delete(&ev);
	} else {
		config_errorf(p, &ev.start_mark, "the top level must be a mapping, got %s", config_event_what(&ev));
		yaml_event_delete(&ev);
		return -EINVAL;
	}

	r = config_next(p, &ev); /* DOCUMENT-END */
	if (r < 0)
		return r;
	yaml_event_delete(&ev);
	r = config_next(p, &ev);
	if (r < 0)
		return r;
	if (ev.type != YAML_STREAM_END_EVENT) {
		config_errorf(p, &ev.start_mark, "only one YAML document is allowed");
		yaml_event_delete(&ev);
		return -EINVAL;
	}
	yaml_event_delete(&ev);
	return 0;
}

/* Loading. */

int config_load_buffer(const char *name, const char *buf, size_t len, struct agent_config *cfg, char *err,
		       size_t errlen)
{
	struct config_parser p = {
		.name = name, .buf = buf ? buf : "", .len = buf ? len : 0, .err = err, .errlen = errlen};
	struct agent_config tmp;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	if (err && errlen)
		err[0] = '\0';
	if (p.len > CONFIG_FILE_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "%s: larger than %d bytes (1 MiB)", name, CONFIG_FILE_MAX);
		return -EFBIG;
	}
	r = config_defaults(&tmp);
	if (r < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", name);
		return r;
	}
	tmp.path = strdup(name);
	if (!tmp.path) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", name);
		r = -ENOMEM;
		goto fail;
	}
	if (!yaml_parser_initialize(&p.yaml)) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", name);
		r = -ENOMEM;
		goto fail;
	}
	yaml_parser_set_encoding(&p.yaml, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&p.yaml, (const unsigned char *)p.buf, p.len);
	r = config_parse_stream(&p, &tmp);
	yaml_parser_delete(&p.yaml);
	if (r < 0)
		goto fail;
	*cfg = tmp;
	return 0;

fail:
	config_free(&tmp);
	return r;
}

int config_load(const char *path, struct agent_config *cfg, char *err, size_t errlen)
{
	size_t len = 0;
	char *buf = NULL;
	int fd, r;

	memset(cfg, 0, sizeof(*cfg));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	/* One byte more than the limit tells an oversized file from one of exactly 1 MiB. */
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf) {
		r = -ENOMEM;
		goto fail_close;
	}
	while (len <= CONFIG_FILE_MAX) {
		ssize_t n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto fail_free;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	r = config_load_buffer(path, buf, len, cfg, err, errlen);
	free(buf);
	return r;

fail_free:
	free(buf);
fail_close:
	close(fd);
fail:
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
	return r;
}
