/* yaml_edit: surgical cassandra.yaml editor: libyaml parse with byte marks, dotted-path lookup, splices into the
 * original bytes. */
#ifndef CA_YAML_EDIT_H
#define CA_YAML_EDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The editor never re-emits a document: it parses the bytes with libyaml (event API), keeps the
 * byte span of every node, and replaces only the span of the node it edits. Everything else
 * (comments, blank lines, key order, quoting, CRLF line ends) is copied byte for byte.
 *
 * Input it refuses (yaml_edit_parse), each with "LINE:COL: why" (1-based):
 * - more than YAML_EDIT_MAX_SIZE bytes (-EFBIG, before looking at the bytes);
 * - bytes that are not UTF-8, NUL bytes, a CR not followed by LF, or the Unicode line separators
 *   NEL, LS and PS (which libyaml counts as line breaks);
 * - a tab in the indentation of a line that has content;
 * - whatever libyaml refuses, more than one document, nesting deeper than YAML_EDIT_MAX_DEPTH,
 *   more than YAML_EDIT_MAX_NODES nodes;
 * - a mapping with the same scalar key twice.
 * Anchors and aliases are accepted, but no edit touches an anchored node, a node inside one, or a
 * path through an alias. A UTF-8 byte order mark is accepted and kept.
 */

#define YAML_EDIT_MAX_SIZE  (16u * 1024 * 1024)
#define YAML_EDIT_MAX_DEPTH 64
#define YAML_EDIT_MAX_NODES (256u * 1024)
#define YAML_EDIT_MAX_PATH  32 /* components of a dotted path */
#define YAML_EDIT_ERR_MAX   512

/* Where the seed list of SimpleSeedProvider lives: a comma-separated string. */
#define YAML_EDIT_SEEDS_PATH "seed_provider[0].parameters[0].seeds"

enum yaml_edit_kind {
	YAML_EDIT_SCALAR,
	YAML_EDIT_SEQUENCE,
	YAML_EDIT_MAPPING,
	YAML_EDIT_ALIAS,
};

/* The type a scalar has for a YAML 1.1 loader (SnakeYAML in Cassandra, PyYAML): plain scalars are
 * resolved by the YAML 1.1 implicit rules (`yes`, `off`, `0x1f`, `1_000`, `~` ...), quoted ones are
 * strings, explicit standard tags (`!!str 5`) win. */
enum yaml_edit_type {
	YAML_EDIT_STR,
	YAML_EDIT_NULL,
	YAML_EDIT_BOOL,
	YAML_EDIT_INT,
	YAML_EDIT_FLOAT,
	YAML_EDIT_OTHER, /* timestamp, merge key, `=`, a non-standard tag */
};

enum yaml_edit_style {
	YAML_EDIT_PLAIN,
	YAML_EDIT_SINGLE_QUOTED,
	YAML_EDIT_DOUBLE_QUOTED,
	YAML_EDIT_LITERAL,
	YAML_EDIT_FOLDED,
	YAML_EDIT_BLOCK, /* a block sequence or mapping */
	YAML_EDIT_FLOW,  /* a flow sequence or mapping */
};

/* One node of a parsed document; read-only, owned by its document. */
struct yaml_edit_node {
	enum yaml_edit_kind kind;
	enum yaml_edit_type type; /* scalars; YAML_EDIT_STR for the rest */
	enum yaml_edit_style style;
	bool anchored;         /* carries an &anchor, or is an *alias */
	bool tagged;           /* carries an explicit tag (`!!str`) */
	bool is_key;           /* a key of a mapping */
	unsigned line, column; /* of start, 1-based (column in characters) */
	unsigned depth;        /* 0 for the root */
	size_t start, end;     /* the node's text is bytes [start, end) of the document */
	size_t tail;           /* end, or for a block scalar (and a block collection ending in
				* one) the end of its trailing blank lines */
	const char *value;     /* scalars: the decoded value, NUL-terminated (it may also hold
				* NULs: see value_len); aliases: the anchor name; else NULL */
	size_t value_len;
	size_t count; /* sequences: items; mappings: pairs */
	/* Links (node indexes, -1 for none); walk with the functions below. */
	int32_t parent, first, last, next;
	size_t value_off; /* internal */
};

struct yaml_edit_doc;

/* The bytes [start, start + old_len) of the input became [start, start + new_len) of the output;
 * all other bytes are the same. */
struct yaml_edit_span {
	size_t start, old_len, new_len;
};

/*
 * Parses `len` bytes of `buf` (need not be NUL-terminated; copied, the caller keeps `buf`).
 * On success *out is a new document (free with yaml_edit_free). Returns 0, -EFBIG (too large),
 * -EINVAL (refused input, `err` says "LINE:COL: why") or -ENOMEM.
 */
int yaml_edit_parse(const char *buf, size_t len, struct yaml_edit_doc **out, char *err, size_t errlen);
void yaml_edit_free(struct yaml_edit_doc *doc);

/* The document's bytes (NUL-terminated; *len excludes the NUL). */
const char *yaml_edit_bytes(const struct yaml_edit_doc *doc, size_t *len);

/* True when the document's first line ends with CRLF; new lines the editor writes use it too. */
bool yaml_edit_crlf(const struct yaml_edit_doc *doc);

/* The root node, or NULL for a stream without a document (empty file, only comments). */
const struct yaml_edit_node *yaml_edit_root(const struct yaml_edit_doc *doc);

/* The first item of a sequence or first key of a mapping (NULL if none or not a collection). */
const struct yaml_edit_node *yaml_edit_first(const struct yaml_edit_doc *doc, const struct yaml_edit_node *n);

/* The next item of a sequence, or the next key after key `n` of a mapping (NULL at the end). */
const struct yaml_edit_node *yaml_edit_next(const struct yaml_edit_doc *doc, const struct yaml_edit_node *n);

/* The value of mapping key `key`. */
const struct yaml_edit_node *yaml_edit_value(const struct yaml_edit_doc *doc, const struct yaml_edit_node *key);

/* The parent collection of `n` (NULL for the root). */
const struct yaml_edit_node *yaml_edit_parent(const struct yaml_edit_doc *doc, const struct yaml_edit_node *n);

/* The value of scalar key `key` in mapping `map` (NULL when absent or `map` is not a mapping). */
const struct yaml_edit_node *yaml_edit_get(const struct yaml_edit_doc *doc, const struct yaml_edit_node *map,
					   const char *key);

/*
 * Finds the node at a dotted path: keys separated by '.', list indexes as "[i]"
 * (`client_encryption_options.enabled`, `seed_provider[0].parameters[0].seeds`). Keys are
 * [A-Za-z0-9_-]+. Returns 0 with *out set, -ENOENT (absent; `err` says which part) or -EINVAL
 * (bad path, or it goes through a scalar or an alias).
 */
int yaml_edit_lookup(const struct yaml_edit_doc *doc, const char *path, const struct yaml_edit_node **out, char *err,
		     size_t errlen);

/* Flags of yaml_edit_set. */
enum {
	/* The value is meant as a string: a scalar that a YAML 1.1 loader would read as a bool, a
	 * number, null or a timestamp is written quoted. */
	YAML_EDIT_AS_STRING = 1u << 0,
};

/*
 * Sets the node at `path` to `value`, YAML text (usually flow: `true`, `5000ms`, `'a b'`,
 * `[a, b]`, `{k: v}`; empty means null), and returns the new document bytes in *out (caller
 * frees, NUL-terminated) with the changed span in *span (may be NULL).
 * - An existing node is replaced in place. Scalars keep the quoting style of the old value when
 *   it was quoted (else the user's, else plain when plain reads back the same, else single, else
 *   double quotes). A list or mapping is written in block style at the indentation of the old
 *   value (or the key's plus the file's indentation step), unless the old value was flow style or
 *   the new one is empty (`[]`, `{}`), which are written in flow style.
 * - A missing key is added: at the end of the file for a top-level key (also when the file only
 *   has it commented out: comments are never uncommented), after the last key of its parent
 *   mapping otherwise, with the missing intermediate mappings; a null parent becomes a mapping.
 *   List items are never created.
 * Returns 0, -ENOENT (a list index out of range), -EINVAL (bad path or value, anchored node,
 * parent is not a mapping; `err` says why) or -ENOMEM. The result is not re-parsed here.
 */
int yaml_edit_set(const struct yaml_edit_doc *doc, const char *path, const char *value, unsigned flags, char **out,
		  size_t *out_len, struct yaml_edit_span *span, char *err, size_t errlen);

/*
 * Deletes the node at `path` (a key with its value, or a list item): the lines from the key to
 * the end of its value go, comments above and below it stay (comments inside the value and on its
 * lines go with it). The last key of a block mapping leaves `{}` (the last item of a list `[]`),
 * so that the parent keeps its type. Returns 0 with *out as for yaml_edit_set, -ENOENT when the
 * path is absent, -EINVAL or -ENOMEM.
 */
int yaml_edit_unset(const struct yaml_edit_doc *doc, const char *path, char **out, size_t *out_len,
		    struct yaml_edit_span *span, char *err, size_t errlen);

/*
 * Renders node `n` of `doc` as YAML text in block style at column 0 (scalars quoted as needed,
 * LF line ends, no final line break). *out is NUL-terminated, caller frees. 0 or -ENOMEM.
 */
int yaml_edit_render(const struct yaml_edit_doc *doc, const struct yaml_edit_node *n, char **out, size_t *out_len);

/* Flags of the seed functions. */
enum {
	YAML_EDIT_SEEDS_PORT = 1u << 0, /* `host:port` and `[v6]:port` allowed (Cassandra 4.0+) */
};

/*
 * Checks one seed: an IPv4 address, an IPv6 address (bare, or in brackets), or a host name
 * (RFC 1123 labels), then `:port` (1-65535) when YAML_EDIT_SEEDS_PORT allows it. Anything else,
 * spaces and shell metacharacters included, is refused. Returns 0 or -EINVAL with `err`.
 */
int yaml_edit_seed_check(const char *seed, unsigned flags, char *err, size_t errlen);

/*
 * Sets YAML_EDIT_SEEDS_PATH to the comma-separated list of `seeds` followed by `external`
 * (the seeds of another part of a hybrid cluster that must stay), each checked with
 * yaml_edit_seed_check, duplicates (ignoring case) dropped keeping the first. The list may not
 * end up empty. A file without seed_provider gets a SimpleSeedProvider one. Output as for
 * yaml_edit_set; returns 0, -EINVAL (bad or no seeds) or an error of yaml_edit_set.
 */
int yaml_edit_set_seeds(const struct yaml_edit_doc *doc, const char *const *seeds, size_t n_seeds,
			const char *const *external, size_t n_external, unsigned flags, char **out, size_t *out_len,
			struct yaml_edit_span *span, char *err, size_t errlen);

/* The seeds at YAML_EDIT_SEEDS_PATH, split at commas and trimmed: a NULL-terminated array (free
 * with yaml_edit_strv_free). Returns the count, -ENOENT or -ENOMEM. */
int yaml_edit_get_seeds(const struct yaml_edit_doc *doc, char ***out);
void yaml_edit_strv_free(char **v);

/* How a YAML 1.1 loader resolves the plain scalar `s` (`len` bytes). */
enum yaml_edit_type yaml_edit_resolve_plain(const char *s, size_t len);

#endif
