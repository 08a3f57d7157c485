/* cassandra_schema: the cassandra.yaml schema of each Cassandra version (3.11-5.0) and the validated edit of a file. */
#include "cassandra_schema.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How much of a user-supplied key or value is echoed back in a message. */
#define CS_QUOTE_MAX 64

/* The longest key name looked up in the tables. */
#define CS_KEY_MAX 128

static const char *const cs_version_names[CASSANDRA_VERSION_COUNT] = {
	[CASSANDRA_3_11] = "3.11",
	[CASSANDRA_4_0] = "4.0",
	[CASSANDRA_4_1] = "4.1",
	[CASSANDRA_5_0] = "5.0",
};

static const char *const cs_protected[] = {
	"cluster_name",
	"partitioner",
	"num_tokens",
	"initial_token",
	"data_file_directories",
	"commitlog_directory",
	"saved_caches_directory",
	NULL,
};

static int cs_fail(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int cs_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static void cs_warn(struct cassandra_schema_warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void cs_warn(struct cassandra_schema_warnings *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!w)
		return;
	w->count++;
	if (w->len + 2 >= sizeof(w->text))
		return;
	va_start(ap, fmt);
	n = vsnprintf(w->text + w->len, sizeof(w->text) - w->len - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	w->len += (size_t)n < sizeof(w->text) - w->len - 1 ? (size_t)n : sizeof(w->text) - w->len - 2;
	w->text[w->len++] = '\n';
	w->text[w->len] = '\0';
}

int cassandra_version_parse(const char *s, enum cassandra_version *out)
{
	unsigned long major, minor;
	char *end;

	if (!s || !(*s >= '0' && *s <= '9'))
		return -EINVAL;
	major = strtoul(s, &end, 10);
	if (*end != '.' || !(end[1] >= '0' && end[1] <= '9'))
		return -EINVAL;
	minor = strtoul(end + 1, &end, 10);
	if (*end == '.') {
		/* a patch level, digits then maybe a suffix such as -SNAPSHOT */
		if (!(end[1] >= '0' && end[1] <= '9'))
			return -EINVAL;
	} else if (*end) {
		return -EINVAL;
	}
	if (major == 3 && minor == 11)
		*out = CASSANDRA_3_11;
	else if (major == 4 && minor == 0)
		*out = CASSANDRA_4_0;
	else if (major == 4 && minor == 1)
		*out = CASSANDRA_4_1;
	else if (major == 5 && minor == 0)
		*out = CASSANDRA_5_0;
	else
		return -EINVAL;
	return 0;
}

const char *cassandra_version_name(enum cassandra_version v)
{
	return (unsigned)v < CASSANDRA_VERSION_COUNT ? cs_version_names[v] : "?";
}

const char *cassandra_schema_type_name(enum cassandra_schema_type t)
{
	switch (t) {
	case CASSANDRA_SCHEMA_ANY: return "any";
	case CASSANDRA_SCHEMA_BOOL: return "a boolean";
	case CASSANDRA_SCHEMA_INT: return "an integer";
	case CASSANDRA_SCHEMA_DOUBLE: return "a number";
	case CASSANDRA_SCHEMA_STRING: return "a string";
	case CASSANDRA_SCHEMA_LIST: return "a list";
	case CASSANDRA_SCHEMA_MAPPING: return "a mapping";
	case CASSANDRA_SCHEMA_DURATION: return "a duration with a unit (5000ms, 10s, 3h)";
	case CASSANDRA_SCHEMA_SIZE: return "a size with a unit (64MiB, 512KiB)";
	case CASSANDRA_SCHEMA_RATE: return "a data rate with a unit (64MiB/s)";
	}
	return "?";
}

static int key_cmp(const void *name, const void *elem)
{
	return strcmp(name, ((const struct cassandra_schema_key *)elem)->name);
}

static const struct cassandra_schema_key *find_in(const struct cassandra_schema_key *keys, size_t n, const char *name)
{
	if (!keys || !n)
		return NULL;
	return bsearch(name, keys, n, sizeof(*keys), key_cmp);
}

const struct cassandra_schema_key *cassandra_schema_find(enum cassandra_version v, const char *name)
{
	if ((unsigned)v >= CASSANDRA_VERSION_COUNT)
		return NULL;
	return find_in(cassandra_schema_tables[v].keys, cassandra_schema_tables[v].n_keys, name);
}

const struct cassandra_schema_key *cassandra_schema_child(const struct cassandra_schema_key *key, const char *name)
{
	return key ? find_in(key->children, key->n_children, name) : NULL;
}

bool cassandra_schema_protected(const char *key)
{
	for (const char *const *p = cs_protected; *p; p++)
		if (strcmp(*p, key) == 0)
			return true;
	return false;
}

static int rename_cmp(const void *name, const void *elem)
{
	return strcmp(name, ((const struct cassandra_schema_rename *)elem)->old_name);
}

static const struct cassandra_schema_rename *find_rename(enum cassandra_version v, const char *old_name)
{
	const struct cassandra_schema_table *t = &cassandra_schema_tables[v];

	if (!t->renames || !t->n_renames)
		return NULL;
	return bsearch(old_name, t->renames, t->n_renames, sizeof(*t->renames), rename_cmp);
}

/* Value checks. */

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* `s` is digits followed by exactly one of `units`. */
static bool number_with_unit(const char *s, size_t n, const char *const *units)
{
	size_t d = 0;

	while (d < n && s[d] >= '0' && s[d] <= '9')
		d++;
	if (d == 0 || d == n)
		return false;
	for (; *units; units++)
		if (strlen(*units) == n - d && memcmp(*units, s + d, n - d) == 0)
			return true;
	return false;
}

static bool is_duration(const char *s, size_t n)
{
	static const char *const units[] = {"d", "h", "m", "s", "ms", "us", "\xc2\xb5s", "ns", NULL};

	return number_with_unit(s, n, units);
}

static bool is_size(const char *s, size_t n)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", NULL};

	return number_with_unit(s, n, units);
}

static bool is_rate(const char *s, size_t n)
{
	static const char *const units[] = {"B/s", "KiB/s", "MiB/s", NULL};

	return number_with_unit(s, n, units);
}

/* The deprecated old name whose new name is `name` (for a hint), or NULL. */
static const char *old_name_of(enum cassandra_version v, const char *name)
{
	const struct cassandra_schema_table *t = &cassandra_schema_tables[v];

	for (size_t i = 0; i < t->n_renames; i++)
		if (strcmp(t->renames[i].new_name, name) == 0)
			return t->renames[i].old_name;
	return NULL;
}

static const char *kind_name(const struct yaml_edit_node *n)
{
	switch (n->kind) {
	case YAML_EDIT_SEQUENCE: return "a list";
	case YAML_EDIT_MAPPING: return "a mapping";
	case YAML_EDIT_ALIAS: return "an alias";
	case YAML_EDIT_SCALAR: break;
	}
	switch (n->type) {
	case YAML_EDIT_NULL: return "null";
	case YAML_EDIT_BOOL: return "a boolean";
	case YAML_EDIT_INT: return "an integer";
	case YAML_EDIT_FLOAT: return "a float";
	case YAML_EDIT_OTHER: return "a timestamp or tagged value";
	case YAML_EDIT_STR: break;
	}
	return "a string";
}

static int check_children(enum cassandra_version v, const struct cassandra_schema_key *key,
			  const struct yaml_edit_doc *doc, const struct yaml_edit_node *map, const char *path,
			  unsigned depth, struct cassandra_schema_warnings *warn, char *err, size_t errlen);

static int check_node(enum cassandra_version v, const struct cassandra_schema_key *key, const struct yaml_edit_doc *doc,
		      const struct yaml_edit_node *n, const char *path, unsigned depth,
		      struct cassandra_schema_warnings *warn, char *err, size_t errlen)
{
	enum cassandra_schema_type t = (enum cassandra_schema_type)key->type;
	const char *old;
	bool ok = false;

	if (!n || n->kind == YAML_EDIT_ALIAS || t == CASSANDRA_SCHEMA_ANY)
		return 0;
	if (depth > YAML_EDIT_MAX_DEPTH)
		return cs_fail(err, errlen, -EINVAL, "%s: nested too deep", path);
	if (n->kind == YAML_EDIT_SCALAR && n->type == YAML_EDIT_NULL) {
		if ((key->flags & CASSANDRA_SCHEMA_NULLABLE) || t == CASSANDRA_SCHEMA_STRING ||
		    t == CASSANDRA_SCHEMA_LIST || t == CASSANDRA_SCHEMA_MAPPING || t == CASSANDRA_SCHEMA_DURATION ||
		    t == CASSANDRA_SCHEMA_SIZE || t == CASSANDRA_SCHEMA_RATE)
			return 0;
		return cs_fail(err, errlen, -EINVAL, "%s: %u:%u: expects %s for Cassandra %s, got null", path, n->line,
			       n->column, cassandra_schema_type_name(t), cassandra_version_name(v));
	}
	switch (t) {
	case CASSANDRA_SCHEMA_ANY: ok = true; break;
	case CASSANDRA_SCHEMA_BOOL: ok = n->kind == YAML_EDIT_SCALAR && n->type == YAML_EDIT_BOOL; break;
	case CASSANDRA_SCHEMA_INT: ok = n->kind == YAML_EDIT_SCALAR && n->type == YAML_EDIT_INT; break;
	case CASSANDRA_SCHEMA_DOUBLE:
		ok = n->kind == YAML_EDIT_SCALAR && (n->type == YAML_EDIT_INT || n->type == YAML_EDIT_FLOAT);
		break;
	case CASSANDRA_SCHEMA_STRING: ok = n->kind == YAML_EDIT_SCALAR; break;
	case CASSANDRA_SCHEMA_DURATION:
	case CASSANDRA_SCHEMA_SIZE:
	case CASSANDRA_SCHEMA_RATE:
		if (n->kind != YAML_EDIT_SCALAR)
			break;
		if (n->type == YAML_EDIT_STR)
			ok = t == CASSANDRA_SCHEMA_DURATION ? is_duration(n->value, n->value_len)
			     : t == CASSANDRA_SCHEMA_SIZE   ? is_size(n->value, n->value_len)
							    : is_rate(n->value, n->value_len);
		else if (n->type == YAML_EDIT_INT && (key->flags & CASSANDRA_SCHEMA_PLAIN_NUMBER))
			ok = all_digits(n->value, n->value_len);
		if (!ok && n->kind == YAML_EDIT_SCALAR && all_digits(n->value, n->value_len)) {
			old = depth == 0 ? old_name_of(v, key->name) : NULL;
			return cs_fail(err, errlen, -EINVAL,
				       "%s: %u:%u: '%.*s' has no unit; Cassandra %s expects %s%s%s%s", path, n->line,
				       n->column, CS_QUOTE_MAX, n->value, cassandra_version_name(v),
				       cassandra_schema_type_name(t), old ? " (or the deprecated old name " : "",
				       old ? old : "", old ? " with a plain number)" : "");
		}
		break;
	case CASSANDRA_SCHEMA_LIST:
		ok = n->kind == YAML_EDIT_SEQUENCE;
		if (ok && key->n_children) {
			size_t i = 0;
			char ipath[512];

			for (const struct yaml_edit_node *it = yaml_edit_first(doc, n); it;
			     it = yaml_edit_next(doc, it), i++) {
				snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
				if (it->kind == YAML_EDIT_MAPPING) {
					int rc = check_children(v, key, doc, it, ipath, depth + 1, warn, err, errlen);

					if (rc < 0)
						return rc;
				} else if (!(it->kind == YAML_EDIT_SCALAR && it->type == YAML_EDIT_NULL)) {
					return cs_fail(err, errlen, -EINVAL, "%s: %u:%u: expects a mapping, got %s",
						       ipath, it->line, it->column, kind_name(it));
				}
			}
		}
		break;
	case CASSANDRA_SCHEMA_MAPPING:
		ok = n->kind == YAML_EDIT_MAPPING;
		if (ok && key->n_children)
			return check_children(v, key, doc, n, path, depth + 1, warn, err, errlen);
		break;
	}
	if (ok)
		return 0;
	if (n->kind == YAML_EDIT_SCALAR)
		return cs_fail(err, errlen, -EINVAL, "%s: %u:%u: expects %s for Cassandra %s, got %s '%.*s'", path,
			       n->line, n->column, cassandra_schema_type_name(t), cassandra_version_name(v),
			       kind_name(n), CS_QUOTE_MAX, n->value);
	return cs_fail(err, errlen, -EINVAL, "%s: %u:%u: expects %s for Cassandra %s, got %s", path, n->line, n->column,
		       cassandra_schema_type_name(t), cassandra_version_name(v), kind_name(n));
}

static int check_children(enum cassandra_version v, const struct cassandra_schema_key *key,
			  const struct yaml_edit_doc *doc, const struct yaml_edit_node *map, const char *path,
			  unsigned depth, struct cassandra_schema_warnings *warn, char *err, size_t errlen)
{
	char cpath[512];

	for (const struct yaml_edit_node *k = yaml_edit_first(doc, map); k; k = yaml_edit_next(doc, k)) {
		const struct cassandra_schema_key *child;
		int rc;

		if (k->kind != YAML_EDIT_SCALAR)
			continue;
		snprintf(cpath, sizeof(cpath), "%s.%.*s", path, CS_QUOTE_MAX, k->value);
		child = strlen(k->value) == k->value_len ? cassandra_schema_child(key, k->value) : NULL;
		if (!child) {
			cs_warn(warn, "%s: not in the default cassandra.yaml of %s; accepted without a type check",
				cpath, cassandra_version_name(v));
			continue;
		}
		rc = check_node(v, child, doc, yaml_edit_value(doc, k), cpath, depth, warn, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int cassandra_schema_check_value(enum cassandra_version v, const struct cassandra_schema_key *key,
				 const struct yaml_edit_doc *doc, const struct yaml_edit_node *node, const char *path,
				 struct cassandra_schema_warnings *warn, char *err, size_t errlen)
{
	if ((unsigned)v >= CASSANDRA_VERSION_COUNT || !key)
		return cs_fail(err, errlen, -EINVAL, "%s: no schema", path);
	return check_node(v, key, doc, node, path, 0, warn, err, errlen);
}

/* Paths. */

/* The top-level key of `path` into `top` (at most CS_KEY_MAX bytes). */
static int top_key(const char *path, char *top, char *err, size_t errlen)
{
	size_t n = strcspn(path, ".[");

	if (n == 0 || n >= CS_KEY_MAX)
		return cs_fail(err, errlen, -EINVAL, "'%.*s': not a key", CS_QUOTE_MAX, path);
	memcpy(top, path, n);
	top[n] = '\0';
	return 0;
}

/* Appends to the string in out[outlen], truncating. */
static void append(char *out, size_t outlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void append(char *out, size_t outlen, const char *fmt, ...)
{
	size_t len = strlen(out);
	va_list ap;

	if (len + 1 >= outlen)
		return;
	va_start(ap, fmt);
	vsnprintf(out + len, outlen - len, fmt, ap);
	va_end(ap);
}

/* " (known in 4.1, 5.0)" and "; Cassandra 3.11 calls it X" hints for a key unknown in `v`. */
static void unknown_hint(enum cassandra_version v, const char *key, char *out, size_t outlen)
{
	bool any = false;

	out[0] = '\0';
	for (unsigned i = 0; i < CASSANDRA_VERSION_COUNT; i++) {
		if (i == v || !cassandra_schema_find((enum cassandra_version)i, key))
			continue;
		append(out, outlen, "%s%s", any ? ", " : " (known in ",
		       cassandra_version_name((enum cassandra_version)i));
		any = true;
	}
	if (any)
		append(out, outlen, ")");
	for (unsigned i = 0; i < CASSANDRA_VERSION_COUNT; i++) {
		const char *old = old_name_of((enum cassandra_version)i, key);

		if (old && v < CASSANDRA_4_1 && cassandra_schema_find(v, old)) {
			append(out, outlen, "; Cassandra %s calls it %s", cassandra_version_name(v), old);
			break;
		}
	}
}

int cassandra_schema_check_path(enum cassandra_version v, const struct yaml_edit_doc *doc, const char *path,
				struct cassandra_schema_warnings *warn, char *err, size_t errlen)
{
	const struct cassandra_schema_key *key, *item = NULL;
	const struct yaml_edit_node *node = NULL;
	char top[CS_KEY_MAX], name[CS_KEY_MAX], hint[160];
	const char *s;
	int rc;

	if ((unsigned)v >= CASSANDRA_VERSION_COUNT)
		return cs_fail(err, errlen, -EINVAL, "unsupported Cassandra version");
	rc = top_key(path, top, err, errlen);
	if (rc < 0)
		return rc;
	key = cassandra_schema_find(v, top);
	if (!key) {
		unknown_hint(v, top, hint, sizeof(hint));
		return cs_fail(err, errlen, -EINVAL, "%s: unknown key for Cassandra %s%s", top,
			       cassandra_version_name(v), hint);
	}
	if (key->flags & CASSANDRA_SCHEMA_DEPRECATED)
		cs_warn(warn, "%s: deprecated in Cassandra %s; the new name is %s", top, cassandra_version_name(v),
			key->replaced_by);
	/* nested components, as far as the schema knows them */
	for (s = path + strlen(top); *s;) {
		const struct cassandra_schema_key *parent;
		size_t n;

		if (*s == '[') {
			s = strchr(s, ']');
			if (!s || key->type != CASSANDRA_SCHEMA_LIST)
				return 0; /* the document walk reports a bad index */
			s++;
			item = key;
			continue;
		}
		if (*s != '.')
			return 0;
		s++;
		n = strcspn(s, ".[");
		if (n == 0 || n >= sizeof(name))
			return 0;
		memcpy(name, s, n);
		name[n] = '\0';
		s += n;
		parent = item ? item : key;
		item = NULL;
		if (parent->type == CASSANDRA_SCHEMA_LIST && parent == key && !parent->n_children)
			return 0;
		key = cassandra_schema_child(parent, name);
		if (!key) {
			cs_warn(warn, "%.*s: not in the default cassandra.yaml of %s; accepted without a type check",
				(int)(s - path), path, cassandra_version_name(v));
			return 0;
		}
	}
	if (!doc || yaml_edit_lookup(doc, path, &node, NULL, 0) < 0 || !node)
		return 0;
	if (item) {
		/* a list item: a mapping checked against the keys the default file shows for items */
		if (node->kind == YAML_EDIT_MAPPING && item->n_children)
			return check_children(v, item, doc, node, path, 1, warn, err, errlen);
		return 0;
	}
	return check_node(v, key, doc, node, path, 0, warn, err, errlen);
}

int cassandra_schema_check_renames(enum cassandra_version v, const struct yaml_edit_doc *doc, char *err, size_t errlen)
{
	const struct cassandra_schema_table *t;
	const struct yaml_edit_node *root = yaml_edit_root(doc);

	if ((unsigned)v >= CASSANDRA_VERSION_COUNT)
		return cs_fail(err, errlen, -EINVAL, "unsupported Cassandra version");
	t = &cassandra_schema_tables[v];
	if (!root || root->kind != YAML_EDIT_MAPPING || !t->n_renames)
		return 0;
	for (const struct yaml_edit_node *k = yaml_edit_first(doc, root); k; k = yaml_edit_next(doc, k)) {
		const struct cassandra_schema_rename *r;
		const struct yaml_edit_node *other;

		if (k->kind != YAML_EDIT_SCALAR || strlen(k->value) != k->value_len)
			continue;
		r = find_rename(v, k->value);
		if (!r)
			continue;
		other = yaml_edit_get(doc, root, r->new_name);
		if (other)
			return cs_fail(
				err, errlen, -EINVAL,
				"%u:%u: both %s and %s are set: they are the old and new name of one setting and "
				"Cassandra %s refuses to start; keep only %s",
				k->line, k->column, k->value, r->new_name, cassandra_version_name(v), r->new_name);
		for (size_t i = 0; i < t->n_renames; i++) {
			const struct yaml_edit_node *ok;

			if (&t->renames[i] == r || strcmp(t->renames[i].new_name, r->new_name) != 0)
				continue;
			ok = yaml_edit_get(doc, root, t->renames[i].old_name);
			if (ok)
				return cs_fail(
					err, errlen, -EINVAL,
					"%u:%u: both %s and %s are set: both are old names of %s and Cassandra %s "
					"refuses to start; keep only %s",
					k->line, k->column, k->value, t->renames[i].old_name, r->new_name,
					cassandra_version_name(v), r->new_name);
		}
	}
	return 0;
}

/* Applying edits. */

static int reparse(char *bytes, size_t len, const char *what, struct yaml_edit_doc **doc, char *err, size_t errlen)
{
	char perr[YAML_EDIT_ERR_MAX];
	int rc = yaml_edit_parse(bytes, len, doc, perr, sizeof(perr));

	if (rc < 0)
		return cs_fail(err, errlen, rc == -ENOMEM ? -ENOMEM : -EINVAL,
			       "%s: the edited file would not parse: %s", what, perr);
	return 0;
}

static int check_protected(const char *path, unsigned flags, char *err, size_t errlen)
{
	char top[CS_KEY_MAX];

	if (flags & CASSANDRA_SCHEMA_FORCE)
		return 0;
	if (top_key(path, top, NULL, 0) < 0)
		return 0; /* the editor reports the bad path */
	if (cassandra_schema_protected(top))
		return cs_fail(err, errlen, -EINVAL,
			       "%s: protected (changing it on a node that joined a cluster loses data or splits the "
			       "cluster); refused without force",
			       top);
	return 0;
}

/* Whether the schema of `path` wants a string, so that `123` or `yes` are written quoted. */
static bool wants_string(enum cassandra_version v, const char *path)
{
	const struct cassandra_schema_key *key;
	char top[CS_KEY_MAX], name[CS_KEY_MAX];
	const char *s;

	if (top_key(path, top, NULL, 0) < 0 || !(key = cassandra_schema_find(v, top)))
		return false;
	s = path + strlen(top);
	while (*s && key) {
		size_t n;

		if (*s == '[') {
			s = strchr(s, ']');
			if (!s)
				return false;
			s++;
			continue;
		}
		if (*s != '.')
			return false;
		s++;
		n = strcspn(s, ".[");
		if (n == 0 || n >= sizeof(name))
			return false;
		memcpy(name, s, n);
		name[n] = '\0';
		s += n;
		key = cassandra_schema_child(key, name);
	}
	return key && !*s && key->type == CASSANDRA_SCHEMA_STRING;
}

static int apply_one(enum cassandra_version v, unsigned flags, const struct cassandra_edit *e,
		     const struct yaml_edit_doc *doc, char **out, size_t *out_len,
		     struct cassandra_schema_warnings *warn, char *err, size_t errlen)
{
	bool validate = !(flags & CASSANDRA_SCHEMA_NO_VALIDATE);
	const struct yaml_edit_node *node;
	unsigned seed_flags;
	int rc;

	switch (e->op) {
	case CASSANDRA_EDIT_SET:
		rc = check_protected(e->key, flags, err, errlen);
		if (rc == 0 && validate)
			rc = cassandra_schema_check_path(v, NULL, e->key, NULL, err, errlen);
		if (rc < 0)
			return rc;
		return yaml_edit_set(doc, e->key, e->value,
				     validate && wants_string(v, e->key) ? YAML_EDIT_AS_STRING : 0, out, out_len, NULL,
				     err, errlen);
	case CASSANDRA_EDIT_UNSET:
		rc = check_protected(e->key, flags, err, errlen);
		if (rc < 0)
			return rc;
		rc = yaml_edit_lookup(doc, e->key, &node, err, errlen);
		if (rc == -ENOENT) {
			cs_warn(warn, "%s: not set; nothing to delete", e->key);
			return 1;
		}
		if (rc < 0)
			return rc;
		return yaml_edit_unset(doc, e->key, out, out_len, NULL, err, errlen);
	case CASSANDRA_EDIT_SEEDS:
		seed_flags = !validate || v >= CASSANDRA_4_0 ? YAML_EDIT_SEEDS_PORT : 0;
		return yaml_edit_set_seeds(doc, e->seeds, e->n_seeds, e->external_seeds, e->n_external_seeds,
					   seed_flags, out, out_len, NULL, err, errlen);
	}
	return cs_fail(err, errlen, -EINVAL, "unknown edit");
}

/* Checks the edited key in the new document. */
static int check_after(enum cassandra_version v, const struct cassandra_edit *e, const struct yaml_edit_doc *doc,
		       struct cassandra_schema_warnings *warn, char *err, size_t errlen)
{
	switch (e->op) {
	case CASSANDRA_EDIT_SET: return cassandra_schema_check_path(v, doc, e->key, warn, err, errlen);
	case CASSANDRA_EDIT_SEEDS: return cassandra_schema_check_path(v, doc, YAML_EDIT_SEEDS_PATH, warn, err, errlen);
	case CASSANDRA_EDIT_UNSET: return 0;
	}
	return 0;
}

static const char *edit_name(const struct cassandra_edit *e)
{
	return e->op == CASSANDRA_EDIT_SEEDS ? "seeds" : e->key ? e->key : "?";
}

int cassandra_schema_apply(enum cassandra_version v, unsigned flags, const char *buf, size_t len,
			   const struct cassandra_edit *edits, size_t n_edits, struct cassandra_schema_result *res,
			   char *err, size_t errlen)
{
	bool validate = !(flags & CASSANDRA_SCHEMA_NO_VALIDATE);
	struct yaml_edit_doc *doc = NULL, *next = NULL;
	const struct yaml_edit_node *root;
	char perr[YAML_EDIT_ERR_MAX];
	char *bytes = NULL, *out = NULL;
	size_t n = 0, out_len = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	if (err && errlen)
		err[0] = '\0';
	if (validate && (unsigned)v >= CASSANDRA_VERSION_COUNT)
		return cs_fail(err, errlen, -EINVAL, "unsupported Cassandra version");
	rc = yaml_edit_parse(buf, len, &doc, perr, sizeof(perr));
	if (rc < 0)
		return cs_fail(err, errlen, rc, "the file is refused: %s", perr);
	root = yaml_edit_root(doc);
	if (root && root->kind != YAML_EDIT_MAPPING) {
		rc = cs_fail(err, errlen, -EINVAL, "%u:%u: not a cassandra.yaml: the document is not a mapping",
			     root->line, root->column);
		goto fail;
	}
	bytes = malloc(len + 1);
	if (!bytes) {
		rc = cs_fail(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	memcpy(bytes, buf, len);
	bytes[len] = '\0';
	n = len;
	for (size_t i = 0; i < n_edits; i++) {
		const struct cassandra_edit *e = &edits[i];

		rc = apply_one(v, flags, e, doc, &out, &out_len, &res->warn, err, errlen);
		if (rc == 1)
			continue; /* nothing to do */
		if (rc < 0)
			goto fail;
		rc = reparse(out, out_len, edit_name(e), &next, err, errlen);
		if (rc < 0)
			goto fail;
		if (validate) {
			rc = check_after(v, e, next, &res->warn, err, errlen);
			if (rc < 0)
				goto fail;
		}
		free(bytes);
		bytes = out;
		n = out_len;
		out = NULL;
		yaml_edit_free(doc);
		doc = next;
		next = NULL;
	}
	if (validate) {
		rc = cassandra_schema_check_renames(v, doc, err, errlen);
		if (rc < 0)
			goto fail;
		root = yaml_edit_root(doc);
		for (const struct yaml_edit_node *k = yaml_edit_first(doc, root); k; k = yaml_edit_next(doc, k))
			if (k->kind == YAML_EDIT_SCALAR && !cassandra_schema_find(v, k->value))
				cs_warn(&res->warn,
					"%.*s: unknown key for Cassandra %s (already in the file; left as is)",
					CS_QUOTE_MAX, k->value, cassandra_version_name(v));
	}
	res->changed = n != len || memcmp(bytes, buf, len) != 0;
	res->data = bytes;
	res->len = n;
	yaml_edit_free(doc);
	return 0;
fail:
	free(out);
	free(bytes);
	yaml_edit_free(next);
	yaml_edit_free(doc);
	{
		struct cassandra_schema_warnings keep = res->warn;

		memset(res, 0, sizeof(*res));
		res->warn = keep;
	}
	return rc;
}

void cassandra_schema_result_free(struct cassandra_schema_result *res)
{
	if (!res)
		return;
	free(res->data);
	res->data = NULL;
	res->len = 0;
}
