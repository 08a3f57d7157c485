/* config: loads and validates agent.yaml (SPEC section 4) with libyaml; pure, no loop. */
#ifndef CA_CONFIG_H
#define CA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_ERR_MAX         512
#define CONFIG_FILE_MAX        (1024 * 1024)                /* larger files are refused with -EFBIG */
#define CONFIG_DURATION_MAX_MS (3650ULL * 24 * 3600 * 1000) /* 3650d: no config duration is longer */

/* A list of strings (argv prefixes, directories). Owned by the containing config. */
struct config_strv {
	char **v; /* NULL-terminated; v == NULL when n == 0 */
	size_t n;
};

/*
 * The whole agent.yaml. Every string is malloc'd and owned by the struct;
 * release with config_free(). Durations are in milliseconds, sizes in bytes,
 * percentages as 0..100 (double).
 */
struct agent_config {
	char *path; /* the file it was loaded from */

	struct {
		char *datacenter;  /* default "dc1" */
		char *rack;        /* default "rack1" */
		bool prefer_local; /* default false */
	} node;

	struct {
		char *yaml;                          /* default /etc/cassandra/cassandra.yaml */
		char *rackdc;                        /* default /etc/cassandra/cassandra-rackdc.properties */
		char *unit;                          /* default cassandra.service */
		struct config_strv nodetool;         /* default [/usr/bin/nodetool]; never empty */
		uint64_t nodetool_timeout_ms;        /* default 60 s */
		char *native_address;                /* default 127.0.0.1 */
		uint16_t native_port;                /* default 9042 */
		struct config_strv data_directories; /* default [/var/lib/cassandra/data] */
	} cassandra;

	struct {
		bool enabled;                /* true when a controller: mapping is present */
		char *address;               /* host:port, required when enabled */
		char *ca, *cert, *key;       /* required when enabled */
		uint64_t report_interval_ms; /* default 30 s */
	} controller;

	struct {
		uint64_t probe_interval_ms;    /* default 5 s */
		uint64_t nodetool_interval_ms; /* default 30 s */
	} health;

	struct {
		char *socket; /* default /run/cassandra-agent/agent.sock */
		char *group;  /* default cassandra-ops; "" = leave the group alone */
	} status;

	char *state_directory; /* default /var/lib/cassandra-agent */

	struct {
		uint64_t interval_ms;         /* default 4 h */
		uint64_t retention_ms;        /* default 48 h */
		char *tag_prefix;             /* default "agent" */
		double min_free_disk_percent; /* default 15 */
	} snapshots;

	struct {
		char *reboot_required;            /* default /run/reboot-required */
		char *window;                     /* default "" (always); raw text, see config_parse_window() */
		struct config_strv patch_command; /* default [] (none) */
		struct config_strv cassandra_upgrade_command; /* default []; else an arg holds "{version}" */
		uint64_t healthy_timeout_ms;                  /* default 20 m */
		uint64_t settle_ms;                           /* default 30 s; 0 is allowed (no settling) */
		char *boot_id_file;                           /* default /proc/sys/kernel/random/boot_id */
	} maintenance;

	struct {
		char *truststore_type; /* pkcs12 | pem | jks; default pkcs12 */
	} tls;

	struct {
		char *textfile_directory; /* node_exporter textfile collector directory; "" (default) = off */
	} metrics;
};

/*
 * What the loader accepts (conf/agent.yaml documents every key):
 * - One YAML document whose top level is a mapping; an empty file, a file of comments
 *   only or a null document means all defaults. Files must be UTF-8, at most
 *   CONFIG_FILE_MAX bytes. Anchors, aliases and explicit tags are refused (except !!str,
 *   which forces a string, and !!null); so are unknown and duplicate keys at every level,
 *   keys that are not scalars, and a second document. Errors are reported in document
 *   order: the first problem met stops the load.
 * - Every key is optional. A null value (`key:`, `key: ~`, `key: null`) keeps the default;
 *   a quoted "~" or "" is a string, not null.
 * - `controller:` given as a mapping sets controller.enabled and then requires address,
 *   ca, cert and key (the error points at the `controller` key; a null value counts as
 *   missing); `controller:` null or absent = disabled.
 * - Booleans: true/false, yes/no, on/off (also Capitalised or UPPER case), quoted or not.
 * - Ports: decimal 1..65535 without sign or leading zero (YAML 1.1 reads 010 as octal).
 * - Durations (config_parse_duration_ms) must be > 0 and at most CONFIG_DURATION_MAX_MS,
 *   except maintenance.settle, which may be 0s.
 * - Absolute paths required: cassandra.yaml, cassandra.rackdc, cassandra.nodetool[0],
 *   every cassandra.data_directories entry (at least one), controller.ca/cert/key,
 *   status.socket (also under 108 bytes, the sun_path limit), state_directory,
 *   maintenance.reboot_required, maintenance.boot_id_file. patch_command and
 *   cassandra_upgrade_command may name a program found through PATH ([apt-get, ...]).
 * - cassandra.nodetool must not be empty; a non-empty cassandra_upgrade_command must
 *   contain "{version}" in at least one argument.
 * - node.datacenter/rack: non-empty, no whitespace, control characters or = : # ! \
 *   (they are written to cassandra-rackdc.properties). cassandra.unit and native_address:
 *   non-empty, no whitespace. controller.address: HOST:PORT, IPv6 as [addr]:port.
 *   status.group: "" (leave the group alone) or a name without whitespace or ':'.
 *   snapshots.tag_prefix: 1..47 of A-Z a-z 0-9 _ - . not starting with '.' (with the
 *   17-character "-YYYYMMDDTHHMMSSZ" it makes a valid tag, SPEC 6.4).
 *   tls.truststore_type: pkcs12|pem|jks.
 * - metrics.textfile_directory: "" or an absolute path.
 * - maintenance.window: validated with config_parse_window(), stored as written.
 * - No string may contain a NUL character or (paths) a control character.
 */

/* Fills `cfg` with every default above. Returns 0 or -ENOMEM. */
int config_defaults(struct agent_config *cfg);

/*
 * Loads `path` over the defaults. Unknown keys, wrong types, bad durations/sizes/
 * percentages, negative or zero intervals, and YAML syntax errors are refused:
 * returns -EINVAL (or -ENOENT/-EACCES/... when the file cannot be read, -EFBIG over
 * CONFIG_FILE_MAX, -ENOMEM) and writes "PATH:LINE:COL: message" (1-based line and
 * column, the offending key or value) into `err`; errors without a position (reading
 * the file, size) are "PATH: message". Messages name the dotted key
 * (`unknown key "snapshots.intervall"`, `snapshots.interval: invalid duration "5x" ...`).
 * On success `err` is set to "". `err` may be NULL when `errlen` is 0.
 * On error `cfg` is left zeroed and needs no config_free().
 */
int config_load(const char *path, struct agent_config *cfg, char *err, size_t errlen);

/* The same from a buffer; `name` stands for PATH in messages. */
int config_load_buffer(const char *name, const char *buf, size_t len, struct agent_config *cfg, char *err,
		       size_t errlen);

/* Frees every string of `cfg` and zeroes it. Safe on a zeroed struct. */
void config_free(struct agent_config *cfg);

/*
 * Unit parsers, shared with the rest of the agent. `s` is NUL-terminated.
 * Each returns 0 and sets the output, or -EINVAL and leaves it untouched.
 * Duration: "<digits><unit>" with unit one of ms s m h d ("90s", "20m", "4h", "1500ms");
 * no space before the unit, no sign, no fraction. A bare number, a negative number, a
 * fraction, a space, overflow of uint64 milliseconds or an unknown unit is -EINVAL.
 * "0s" parses (to 0); the loader decides where 0 is allowed.
 * Size: "<digits>[ ]<unit>" with unit B KiB MiB GiB TiB (binary multiples; one optional
 * space: "64MiB", "1 GiB"; bare digits = bytes; no fraction; overflow is -EINVAL).
 * Percent: "<digits>[.<digits>]%" in [0, 100] (fractions allowed: "12.5%"; no space,
 * no sign; a bare number without "%" is -EINVAL).
 */
int config_parse_duration_ms(const char *s, uint64_t *ms);
int config_parse_size_bytes(const char *s, uint64_t *bytes);
int config_parse_percent(const char *s, double *percent);

/* A parsed maintenance window (see config_parse_window()). */
struct config_window {
	bool always;        /* the empty string: maintenance may start at any time */
	uint8_t days;       /* bit (1 << tm_wday): bit 0 Sunday .. bit 6 Saturday; 0x7f = every day */
	uint16_t start_min; /* minutes after 00:00 UTC when the window opens, 0..1439 */
	uint16_t end_min;   /* 1..1440 (an end of 00:00 or 24:00 is 1440); end_min < start_min crosses midnight */
};

/*
 * Parses maintenance.window: "" (always) or "[DAYS ]HH:MM-HH:MM UTC", e.g.
 * "Sat,Sun 01:00-05:00 UTC", "Mon-Fri 22:00-02:00 UTC", "01:00-05:00 UTC".
 * DAYS is a comma list (a space may follow a comma) of Mon Tue Wed Thu Fri Sat Sun or
 * ranges of them ("Mon-Fri"; "Fri-Mon" wraps), case-insensitive; without DAYS every day.
 * Times are two-digit HH:MM, start 00:00..23:59, end 00:00..24:00, start != end.
 * A window whose end is before its start runs past midnight and belongs to the day it
 * starts on. The timezone must be UTC (case-insensitive). Tokens are separated by spaces.
 * Returns 0 and fills `w`, or -EINVAL and, when `why` is not NULL, points it at a
 * static string saying what is wrong.
 */
int config_parse_window(const char *s, struct config_window *w, const char **why);

#endif
