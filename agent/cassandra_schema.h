/* cassandra_schema: the cassandra.yaml schema of each Cassandra version (3.11-5.0) and the validated edit of a file. */
#ifndef CA_CASSANDRA_SCHEMA_H
#define CA_CASSANDRA_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "yaml_edit.h"

enum cassandra_version {
	CASSANDRA_3_11,
	CASSANDRA_4_0,
	CASSANDRA_4_1,
	CASSANDRA_5_0,
	CASSANDRA_VERSION_COUNT,
};

/* "3.11", "4.0", "4.1", "5.0", also with a patch level ("4.1.8", what `nodetool version` says).
 * Returns 0 or -EINVAL (unsupported or malformed). */
int cassandra_version_parse(const char *s, enum cassandra_version *out);
const char *cassandra_version_name(enum cassandra_version v);

/* What a key's value must be. DURATION, SIZE and RATE are the 4.1+ forms with a unit:
 * `5000ms` (d h m s ms us µs ns), `64MiB` (B KiB MiB GiB), `24MiB/s` (B/s KiB/s MiB/s). */
enum cassandra_schema_type {
	CASSANDRA_SCHEMA_ANY, /* the default file gives no typed value: anything is accepted */
	CASSANDRA_SCHEMA_BOOL,
	CASSANDRA_SCHEMA_INT,
	CASSANDRA_SCHEMA_DOUBLE,
	CASSANDRA_SCHEMA_STRING, /* any scalar (SnakeYAML turns it into the Java string) */
	CASSANDRA_SCHEMA_LIST,
	CASSANDRA_SCHEMA_MAPPING,
	CASSANDRA_SCHEMA_DURATION,
	CASSANDRA_SCHEMA_SIZE,
	CASSANDRA_SCHEMA_RATE,
};

/* Flags of a schema key. */
enum {
	CASSANDRA_SCHEMA_DEPRECATED = 1u << 0,   /* an old name of a 4.1+ setting (replaced_by says which) */
	CASSANDRA_SCHEMA_COMMENTED = 1u << 1,    /* only commented out in the default file */
	CASSANDRA_SCHEMA_NULLABLE = 1u << 2,     /* null (`key:`) is a valid value */
	CASSANDRA_SCHEMA_PLAIN_NUMBER = 1u << 3, /* a DURATION/SIZE that also takes the pre-4.1 plain number */
};

/* One key; children are sorted by name: the keys of a MAPPING, or of each item of a LIST of mappings. */
struct cassandra_schema_key {
	const char *name;
	const char *replaced_by;
	const struct cassandra_schema_key *children;
	uint16_t n_children;
	uint8_t type; /* enum cassandra_schema_type */
	uint8_t flags;
};

struct cassandra_schema_rename {
	const char *old_name, *new_name;
};

struct cassandra_schema_table {
	const struct cassandra_schema_key *keys; /* sorted by name */
	size_t n_keys;
	const struct cassandra_schema_rename *renames; /* sorted by old name */
	size_t n_renames;
};

/* The tables, generated into cassandra_schema_table.c by tests/tools/gen_cassandra_schema.py from
 * each version's default cassandra.yaml (active and commented-out keys) and the renamed-settings
 * tables of 4.1 and 5.0. */
extern const struct cassandra_schema_table cassandra_schema_tables[CASSANDRA_VERSION_COUNT];

const char *cassandra_schema_type_name(enum cassandra_schema_type t);

/* The top-level key `name` of version `v`, or NULL. */
const struct cassandra_schema_key *cassandra_schema_find(enum cassandra_version v, const char *name);

/* The child `name` of `key` (NULL if unknown). */
const struct cassandra_schema_key *cassandra_schema_child(const struct cassandra_schema_key *key, const char *name);

/* Whether top-level key `key` is protected: changing it on a node that has joined a cluster loses
 * data or splits the cluster (cluster_name, partitioner, num_tokens, initial_token,
 * data_file_directories, commitlog_directory, saved_caches_directory). */
bool cassandra_schema_protected(const char *key);

#define CASSANDRA_SCHEMA_WARN_MAX 4096

/* Warnings collected by the checks: lines "KEY: message\n", truncated to fit. */
struct cassandra_schema_warnings {
	char text[CASSANDRA_SCHEMA_WARN_MAX];
	size_t len;
	unsigned count;
};

/*
 * Checks node `node` of `doc`, the value of `path`, against schema key `key` of version `v`:
 * its type, and for mappings and lists of mappings every child the default file shows. A child
 * the default file does not show is accepted with a warning (Cassandra's nested option classes
 * and ParameterizedClass parameters have more than the default file shows). Returns 0 or
 * -EINVAL with `err` "PATH: LINE:COL: why".
 */
int cassandra_schema_check_value(enum cassandra_version v, const struct cassandra_schema_key *key,
				 const struct yaml_edit_doc *doc, const struct yaml_edit_node *node, const char *path,
				 struct cassandra_schema_warnings *warn, char *err, size_t errlen);

/*
 * Checks the key at dotted `path` for version `v`: the top-level key must be known (an old
 * name on 4.1+ is accepted with a warning); nested keys are checked where the default file shows
 * them (else a warning); when `doc` holds a value at `path` it is checked as above.
 * Returns 0 or -EINVAL with `err`.
 */
int cassandra_schema_check_path(enum cassandra_version v, const struct yaml_edit_doc *doc, const char *path,
				struct cassandra_schema_warnings *warn, char *err, size_t errlen);

/* Refuses a document that sets both the old and the new name of one setting (Cassandra 4.1+
 * refuses to start then). Returns 0 or -EINVAL with `err`. */
int cassandra_schema_check_renames(enum cassandra_version v, const struct yaml_edit_doc *doc, char *err, size_t errlen);

enum cassandra_edit_op {
	CASSANDRA_EDIT_SET,   /* key = value (YAML flow text) */
	CASSANDRA_EDIT_UNSET, /* delete key; absent is not an error (a warning) */
	CASSANDRA_EDIT_SEEDS, /* the seed list (yaml_edit_set_seeds) */
};

struct cassandra_edit {
	enum cassandra_edit_op op;
	const char *key;
	const char *value;
	const char *const *seeds;
	size_t n_seeds;
	const char *const *external_seeds; /* of a hybrid cluster, kept after `seeds` */
	size_t n_external_seeds;
};

/* Flags of cassandra_schema_apply. */
enum {
	CASSANDRA_SCHEMA_FORCE = 1u << 0,       /* allow protected keys */
	CASSANDRA_SCHEMA_NO_VALIDATE = 1u << 1, /* no schema checks (structure, seeds syntax and
						 * protected keys are still checked; ports allowed) */
};

struct cassandra_schema_result {
	char *data; /* the new file, NUL-terminated; free with cassandra_schema_result_free */
	size_t len;
	bool changed;
	struct cassandra_schema_warnings warn;
};

/*
 * Applies `edits` in order to the cassandra.yaml bytes `buf` and validates the result for version
 * `v`: the input and every intermediate result must parse (yaml_edit_parse), protected keys need
 * CASSANDRA_SCHEMA_FORCE, each edited key must be known with a value of its type, seeds are
 * checked (ports only on 4.0+), and the result may not hold an old and a new name of one setting.
 * Top-level keys already in the file that the schema does not know are only warned about.
 * On success fills *res (caller frees with cassandra_schema_result_free) and returns 0; else
 * returns -EINVAL (refused, `err` says which key and why), -EFBIG or -ENOMEM and *res is empty.
 * Pure: no I/O.
 */
int cassandra_schema_apply(enum cassandra_version v, unsigned flags, const char *buf, size_t len,
			   const struct cassandra_edit *edits, size_t n_edits, struct cassandra_schema_result *res,
			   char *err, size_t errlen);
void cassandra_schema_result_free(struct cassandra_schema_result *res);

#endif
