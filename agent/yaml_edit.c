/* yaml_edit: surgical cassandra.yaml editor: libyaml parse with byte marks, dotted-path lookup, splices into the
 * original bytes. */
/* strndup and strcasecmp are POSIX.1-2008; the build may already ask for more. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "yaml_edit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

/* libyaml marks count characters; non-ASCII documents keep the byte offset of every 64th one. */
#define YE_CHECKPOINT 64

/* A mapping with more keys than this is checked for duplicates by sorting, not pair by pair. */
#define YE_DUP_LINEAR_MAX 8

/* The longest list index a path may name. */
#define YE_INDEX_MAX 1000000L

/* How much of a user-supplied value is echoed back in a message. */
#define YE_QUOTE_MAX 64

struct yaml_edit_doc {
	char *buf; /* a copy of the input, NUL-terminated */
	size_t len;
	struct yaml_edit_node *nodes;
	size_t n_nodes, cap_nodes;
	char *arena; /* scalar values, each NUL-terminated */
	size_t arena_len, arena_cap;
	int32_t root;
	bool crlf;
	bool explicit_end; /* the document ends with `...` */
	unsigned step;     /* indentation step of the file (2 when unknown) */
	bool ascii;
	size_t bom;          /* 3 when the text starts with a UTF-8 BOM (marks count from after it) */
	size_t *checkpoints; /* checkpoints[k] = byte offset of character k * YE_CHECKPOINT */
	size_t n_checkpoints;
};

/* One component of a dotted path: a key, or a list index. */
struct ye_comp {
	const char *key;
	size_t key_len;
	long index;
	bool is_index;
	size_t end; /* offset in the path just after this component */
};

/* A growable output buffer; `oom` sticks after the first failed allocation. */
struct ye_buf {
	char *p;
	size_t len, cap;
	bool oom;
	bool lost; /* a value could not be written keeping its type: the edit is refused */
};

/* A value to render: node `node` of `doc`, inside `nwrap` mappings of one key each (the missing
 * path components of a set). `root` marks the user's value itself, to which AS_STRING applies. */
struct ye_val {
	const struct yaml_edit_doc *doc;
	int32_t node;
	const struct ye_comp *wrap;
	size_t nwrap;
	bool root;
};

struct ye_render {
	struct ye_buf *out;
	const char *eol;
	unsigned step;
	bool as_string;              /* the root value is meant as a string */
	enum yaml_edit_style prefer; /* quoting to keep for the root scalar, or YAML_EDIT_PLAIN */
	unsigned depth;
};

static int ye_fail(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int ye_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Output buffer. */

static void buf_put(struct ye_buf *b, const void *s, size_t n)
{
	char *p;
	size_t cap;

	if (b->oom)
		return;
	if (n > SIZE_MAX / 2 - b->len - 1) {
		b->oom = true;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_puts(struct ye_buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static void buf_putc(struct ye_buf *b, char c)
{
	buf_put(b, &c, 1);
}

static void buf_pad(struct ye_buf *b, unsigned n)
{
	static const char spaces[] = "                                ";

	while (n > 0) {
		unsigned k = n < sizeof(spaces) - 1 ? n : (unsigned)(sizeof(spaces) - 1);

		buf_put(b, spaces, k);
		n -= k;
	}
}

/* UTF-8 and the pre-checks libyaml does not do (or does with poor positions). */

/* Length of the UTF-8 sequence at s (n bytes left) and its code point, or 0 if invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Refuses what the editor cannot splice safely; notes CRLF and whether the text is ASCII. */
static int precheck(struct yaml_edit_doc *d, char *err, size_t errlen)
{
	const unsigned char *s = (const unsigned char *)d->buf;
	size_t i = 0, line = 1, col = 1, tab_col = 0;
	bool in_indent = true, seen_lf = false;
	uint32_t cp;

	d->ascii = true;
	while (i < d->len) {
		unsigned char c = s[i];
		size_t n = 1;

		if (c == '\n') {
			if (!seen_lf) {
				d->crlf = i > 0 && s[i - 1] == '\r';
				seen_lf = true;
			}
			line++;
			col = 1;
			in_indent = true;
			tab_col = 0;
			i++;
			continue;
		}
		if (c == '\r' && (i + 1 >= d->len || s[i + 1] != '\n'))
			return ye_fail(err, errlen, -EINVAL, "%zu:%zu: carriage return without line feed", line, col);
		if (c == '\0')
			return ye_fail(err, errlen, -EINVAL, "%zu:%zu: NUL byte", line, col);
		if (c >= 0x80) {
			n = utf8_decode(s + i, d->len - i, &cp);
			if (n == 0)
				return ye_fail(err, errlen, -EINVAL, "%zu:%zu: invalid UTF-8 (byte 0x%02x)", line, col,
					       c);
			if (cp == 0x85 || cp == 0x2028 || cp == 0x2029)
				return ye_fail(err, errlen, -EINVAL,
					       "%zu:%zu: Unicode line separator U+%04X (use a line feed)", line, col,
					       (unsigned)cp);
			/* libyaml skips a byte order mark anywhere; the editor's columns and its
			 * whitespace would not (found by fuzzing: a comma doubled in a flow mapping) */
			if (cp == 0xFEFF && i > 0)
				return ye_fail(err, errlen, -EINVAL,
					       "%zu:%zu: byte order mark (U+FEFF) inside the document", line, col);
			d->ascii = false;
		}
		if (in_indent) {
			if (c == '\t') {
				if (!tab_col)
					tab_col = col;
			} else if (c != ' ' && c != '\r') {
				if (tab_col)
					return ye_fail(err, errlen, -EINVAL, "%zu:%zu: tab in indentation", line,
						       tab_col);
				in_indent = false;
			}
		}
		i += n;
		col++;
	}
	return 0;
}

static int build_checkpoints(struct yaml_edit_doc *d)
{
	size_t i = d->bom, chars = 0, k = 0;
	uint32_t cp;

	d->n_checkpoints = d->len / YE_CHECKPOINT + 2;
	d->checkpoints = malloc(d->n_checkpoints * sizeof(*d->checkpoints));
	if (!d->checkpoints)
		return -ENOMEM;
	while (i <= d->len && k < d->n_checkpoints) {
		if (chars % YE_CHECKPOINT == 0)
			d->checkpoints[k++] = i;
		if (i == d->len)
			break;
		size_t n = utf8_decode((const unsigned char *)d->buf + i, d->len - i, &cp);

		i += n ? n : 1;
		chars++;
	}
	d->n_checkpoints = k;
	return 0;
}

/* Byte offset of character `index` (libyaml marks count characters; CRLF counts two). */
static size_t doc_byte(const struct yaml_edit_doc *d, size_t index)
{
	size_t k, b, c;
	uint32_t cp;

	if (d->ascii)
		return index < d->len ? index : d->len;
	k = index / YE_CHECKPOINT;
	if (k >= d->n_checkpoints)
		k = d->n_checkpoints - 1;
	b = d->checkpoints[k];
	c = k * YE_CHECKPOINT;
	while (c < index && b < d->len) {
		size_t n = utf8_decode((const unsigned char *)d->buf + b, d->len - b, &cp);

		b += n ? n : 1;
		c++;
	}
	return b < d->len ? b : d->len;
}

/* YAML 1.1 implicit resolution, as PyYAML's and SnakeYAML's resolvers do it. */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool all_in(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(set, s[i]) || s[i] == '\0')
			return false;
	return true;
}

static bool word_in(const char *s, size_t n, const char *const *words)
{
	for (; *words; words++)
		if (strlen(*words) == n && memcmp(*words, s, n) == 0)
			return true;
	return false;
}

/* (:[0-5]?[0-9])+ from s[*i]; true if it consumed at least one group and stopped at `stop`. */
static bool sexagesimal(const char *s, size_t n, size_t *i)
{
	bool any = false;

	while (*i < n && s[*i] == ':') {
		size_t j = *i + 1;

		if (j < n && is_digit(s[j]) && j + 1 < n && is_digit(s[j + 1])) {
			if (s[j] > '5')
				return false;
			j += 2;
		} else if (j < n && is_digit(s[j])) {
			j += 1;
		} else {
			return false;
		}
		*i = j;
		any = true;
	}
	return any;
}

static bool match_int(const char *s, size_t n)
{
	size_t i = 0, j;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	if (i >= n)
		return false;
	if (n - i == 1 && s[i] == '0')
		return true;
	if (n - i > 2 && s[i] == '0' && s[i + 1] == 'b')
		return all_in(s + i + 2, n - i - 2, "01_");
	if (n - i > 2 && s[i] == '0' && s[i + 1] == 'x')
		return all_in(s + i + 2, n - i - 2, "0123456789abcdefABCDEF_");
	if (s[i] == '0')
		return n - i > 1 && all_in(s + i + 1, n - i - 1, "01234567_");
	if (s[i] < '1' || s[i] > '9')
		return false;
	for (j = i + 1; j < n && (is_digit(s[j]) || s[j] == '_'); j++)
		;
	if (j == n)
		return true;
	return sexagesimal(s, n, &j) && j == n;
}

/* [eE][-+][0-9]+ at s[*i], optional; false if present but malformed. */
static bool exponent(const char *s, size_t n, size_t *i, bool sign_required)
{
	size_t j = *i;

	if (j >= n || (s[j] != 'e' && s[j] != 'E'))
		return true;
	j++;
	if (j < n && (s[j] == '-' || s[j] == '+'))
		j++;
	else if (sign_required)
		return false;
	if (j >= n || !is_digit(s[j]))
		return false;
	while (j < n && is_digit(s[j]))
		j++;
	*i = j;
	return true;
}

static bool match_float(const char *s, size_t n)
{
	static const char *const specials[] = {".inf",  ".Inf",  ".INF", "-.inf", "-.Inf", "-.INF", "+.inf",
					       "+.Inf", "+.INF", ".nan", ".NaN",  ".NAN",  NULL};
	size_t i = 0, j;

	if (word_in(s, n, specials))
		return true;
	if (n > 0 && s[0] == '.') {
		/* \.[0-9][0-9_]*([eE][-+][0-9]+)? */
		if (n < 2 || !is_digit(s[1]))
			return false;
		for (j = 2; j < n && (is_digit(s[j]) || s[j] == '_'); j++)
			;
		return exponent(s, n, &j, true) && j == n;
	}
	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	if (i >= n || !is_digit(s[i]))
		return false;
	for (j = i + 1; j < n && (is_digit(s[j]) || s[j] == '_'); j++)
		;
	if (j < n && s[j] == ':') {
		if (!sexagesimal(s, n, &j) || j >= n || s[j] != '.')
			return false;
		j++;
		return all_in(s + j, n - j, "0123456789_");
	}
	if (j >= n || s[j] != '.')
		return false;
	for (j++; j < n && (is_digit(s[j]) || s[j] == '_'); j++)
		;
	return exponent(s, n, &j, true) && j == n;
}

/* SnakeYAML's looser float (`1e5`, `.5`, `+1`): not a string for Cassandra either. */
static bool match_snake_number(const char *s, size_t n)
{
	size_t i = 0, j;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	if (i >= n)
		return false;
	if (s[i] == '.') {
		if (i + 1 >= n || !is_digit(s[i + 1]))
			return false;
		for (j = i + 1; j < n && is_digit(s[j]); j++)
			;
	} else {
		if (!is_digit(s[i]) && s[i] != '_')
			return false;
		for (j = i; j < n && (is_digit(s[j]) || s[j] == '_'); j++)
			;
		if (j < n && s[j] == '.')
			for (j++; j < n && (is_digit(s[j]) || s[j] == '_'); j++)
				;
	}
	return exponent(s, n, &j, false) && j == n;
}

static size_t digits(const char *s, size_t n, size_t i, size_t min, size_t max)
{
	size_t k = 0;

	while (i + k < n && k < max && is_digit(s[i + k]))
		k++;
	return k >= min ? k : 0;
}

static bool match_timestamp(const char *s, size_t n)
{
	size_t i = 0, k;

	if (digits(s, n, 0, 4, 4) != 4 || n < 5 || s[4] != '-')
		return false;
	if (n == 10 && digits(s, n, 5, 2, 2) == 2 && s[7] == '-' && digits(s, n, 8, 2, 2) == 2)
		return true;
	i = 5;
	if (!(k = digits(s, n, i, 1, 2)) || i + k >= n || s[i + k] != '-')
		return false;
	i += k + 1;
	if (!(k = digits(s, n, i, 1, 2)))
		return false;
	i += k;
	if (i < n && (s[i] == 'T' || s[i] == 't')) {
		i++;
	} else {
		if (i >= n || (s[i] != ' ' && s[i] != '\t'))
			return false;
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
	}
	if (!(k = digits(s, n, i, 1, 2)))
		return false;
	i += k;
	for (int part = 0; part < 2; part++) {
		if (i >= n || s[i] != ':' || digits(s, n, i + 1, 2, 2) != 2)
			return false;
		i += 3;
	}
	if (i < n && s[i] == '.')
		for (i++; i < n && is_digit(s[i]); i++)
			;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == n)
		return true;
	if (s[i] == 'Z')
		return i + 1 == n;
	if (s[i] != '-' && s[i] != '+')
		return false;
	i++;
	if (!(k = digits(s, n, i, 1, 2)))
		return false;
	i += k;
	if (i < n && s[i] == ':') {
		if (digits(s, n, i + 1, 2, 2) != 2)
			return false;
		i += 3;
	}
	return i == n;
}

enum yaml_edit_type yaml_edit_resolve_plain(const char *s, size_t n)
{
	static const char *const nulls[] = {"~", "null", "Null", "NULL", NULL};
	static const char *const bools[] = {"yes",   "Yes",   "YES", "no", "No", "NO",  "true", "True", "TRUE", "false",
					    "False", "FALSE", "on",  "On", "ON", "off", "Off",  "OFF",  NULL};

	if (n == 0 || word_in(s, n, nulls))
		return YAML_EDIT_NULL;
	if (word_in(s, n, bools))
		return YAML_EDIT_BOOL;
	if (match_int(s, n))
		return YAML_EDIT_INT;
	if (match_float(s, n))
		return YAML_EDIT_FLOAT;
	if (match_timestamp(s, n) || (n == 2 && memcmp(s, "<<", 2) == 0) || (n == 1 && s[0] == '='))
		return YAML_EDIT_OTHER;
	return YAML_EDIT_STR;
}

static enum yaml_edit_type tag_type(const char *tag)
{
	static const char prefix[] = "tag:yaml.org,2002:";

	if (!tag || strcmp(tag, "!") == 0)
		return YAML_EDIT_STR;
	if (strncmp(tag, prefix, sizeof(prefix) - 1) != 0)
		return YAML_EDIT_OTHER;
	tag += sizeof(prefix) - 1;
	if (strcmp(tag, "str") == 0)
		return YAML_EDIT_STR;
	if (strcmp(tag, "null") == 0)
		return YAML_EDIT_NULL;
	if (strcmp(tag, "bool") == 0)
		return YAML_EDIT_BOOL;
	if (strcmp(tag, "int") == 0)
		return YAML_EDIT_INT;
	if (strcmp(tag, "float") == 0)
		return YAML_EDIT_FLOAT;
	return YAML_EDIT_OTHER;
}

/* Parsing. */

/* Node `i` of `d`, or NULL for -1 (or anything out of range). */
static struct yaml_edit_node *node_at(const struct yaml_edit_doc *d, int32_t i)
{
	return i >= 0 && (size_t)i < d->n_nodes ? &d->nodes[i] : NULL;
}

static int32_t node_add(struct yaml_edit_doc *d, enum yaml_edit_kind kind, const yaml_mark_t *start,
			const yaml_mark_t *end)
{
	struct yaml_edit_node *n;

	if (d->n_nodes >= YAML_EDIT_MAX_NODES)
		return -E2BIG;
	if (d->n_nodes == d->cap_nodes) {
		size_t cap = d->cap_nodes ? d->cap_nodes * 2 : 256;

		n = realloc(d->nodes, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		d->nodes = n;
		d->cap_nodes = cap;
	}
	n = &d->nodes[d->n_nodes];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->type = YAML_EDIT_STR;
	n->line = (unsigned)start->line + 1;
	n->column = (unsigned)start->column + 1;
	n->start = doc_byte(d, start->index);
	n->end = doc_byte(d, end->index);
	if (n->end < n->start)
		n->end = n->start;
	n->tail = n->end;
	n->parent = n->first = n->last = n->next = -1;
	return (int32_t)d->n_nodes++;
}

static int arena_add(struct yaml_edit_doc *d, const void *s, size_t n, size_t *off)
{
	if (n > SIZE_MAX / 4 - d->arena_len)
		return -ENOMEM;
	if (d->arena_len + n + 1 > d->arena_cap) {
		size_t cap = d->arena_cap ? d->arena_cap : 4096;
		char *p;

		while (cap < d->arena_len + n + 1)
			cap *= 2;
		p = realloc(d->arena, cap);
		if (!p)
			return -ENOMEM;
		d->arena = p;
		d->arena_cap = cap;
	}
	*off = d->arena_len;
	if (n)
		memcpy(d->arena + d->arena_len, s, n);
	d->arena[d->arena_len + n] = '\0';
	d->arena_len += n + 1;
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	const struct yaml_edit_node *x = *(const struct yaml_edit_node *const *)a;
	const struct yaml_edit_node *y = *(const struct yaml_edit_node *const *)b;
	size_t n = x->value_len < y->value_len ? x->value_len : y->value_len;
	int c = memcmp(x->value, y->value, n);

	if (c)
		return c;
	if (x->value_len != y->value_len)
		return x->value_len < y->value_len ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static bool same_key(const struct yaml_edit_node *a, const struct yaml_edit_node *b)
{
	return a->kind == YAML_EDIT_SCALAR && b->kind == YAML_EDIT_SCALAR && a->value_len == b->value_len &&
	       memcmp(a->value, b->value, a->value_len) == 0;
}

/* Refuses a mapping with the same scalar key twice (values are resolved by then). */
static int check_duplicates(const struct yaml_edit_doc *d, const struct yaml_edit_node *map, char *err, size_t errlen)
{
	const struct yaml_edit_node **keys, *a, *b;
	size_t n = 0, i;
	int rc = 0;

	if (map->count < 2)
		return 0;
	if (map->count <= YE_DUP_LINEAR_MAX) {
		for (a = yaml_edit_first(d, map); a; a = yaml_edit_next(d, a))
			for (b = yaml_edit_next(d, a); b; b = yaml_edit_next(d, b))
				if (same_key(a, b))
					return ye_fail(err, errlen, -EINVAL,
						       "%u:%u: duplicate key '%.*s' (first at %u:%u)", b->line,
						       b->column, YE_QUOTE_MAX, a->value, a->line, a->column);
		return 0;
	}
	keys = malloc(map->count * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (a = yaml_edit_first(d, map); a && n < map->count; a = yaml_edit_next(d, a))
		if (a->kind == YAML_EDIT_SCALAR)
			keys[n++] = a;
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 1; i < n; i++) {
		if (same_key(keys[i - 1], keys[i])) {
			rc = ye_fail(err, errlen, -EINVAL, "%u:%u: duplicate key '%.*s' (first at %u:%u)",
				     keys[i]->line, keys[i]->column, YE_QUOTE_MAX, keys[i]->value, keys[i - 1]->line,
				     keys[i - 1]->column);
			break;
		}
	}
	free(keys);
	return rc;
}

/* Links node `idx` under the innermost open collection (or as the root). */
static void node_attach(struct yaml_edit_doc *d, int32_t idx, const int32_t *stack, unsigned sp)
{
	struct yaml_edit_node *n = &d->nodes[idx], *p;

	n->depth = sp;
	if (sp == 0) {
		d->root = idx;
		return;
	}
	p = &d->nodes[stack[sp - 1]];
	n->parent = stack[sp - 1];
	if (p->kind == YAML_EDIT_MAPPING)
		n->is_key = p->last < 0 || !d->nodes[p->last].is_key;
	if (p->last < 0)
		p->first = idx;
	else
		d->nodes[p->last].next = idx;
	p->last = idx;
	if (p->kind == YAML_EDIT_SEQUENCE || n->is_key)
		p->count++;
}

static int parse_error(const yaml_parser_t *p, char *err, size_t errlen)
{
	if (p->error == YAML_MEMORY_ERROR)
		return ye_fail(err, errlen, -ENOMEM, "out of memory");
	if (p->context)
		return ye_fail(err, errlen, -EINVAL, "%zu:%zu: %s (%s at %zu:%zu)", p->problem_mark.line + 1,
			       p->problem_mark.column + 1, p->problem ? p->problem : "syntax error", p->context,
			       p->context_mark.line + 1, p->context_mark.column + 1);
	return ye_fail(err, errlen, -EINVAL, "%zu:%zu: %s", p->problem_mark.line + 1, p->problem_mark.column + 1,
		       p->problem ? p->problem : "syntax error");
}

/* Block scalars: end at their last non-blank character; tail keeps the trailing blank lines. */
static void trim_block_scalar(const struct yaml_edit_doc *d, struct yaml_edit_node *n)
{
	size_t e = n->end;

	while (e > n->start &&
	       (d->buf[e - 1] == ' ' || d->buf[e - 1] == '\n' || d->buf[e - 1] == '\r' || d->buf[e - 1] == '\t'))
		e--;
	n->tail = n->end;
	n->end = e;
}

static int on_scalar(struct yaml_edit_doc *d, const yaml_event_t *ev, int32_t idx)
{
	struct yaml_edit_node *n = &d->nodes[idx];
	size_t off;
	int rc;

	switch (ev->data.scalar.style) {
	case YAML_SINGLE_QUOTED_SCALAR_STYLE: n->style = YAML_EDIT_SINGLE_QUOTED; break;
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE: n->style = YAML_EDIT_DOUBLE_QUOTED; break;
	case YAML_LITERAL_SCALAR_STYLE: n->style = YAML_EDIT_LITERAL; break;
	case YAML_FOLDED_SCALAR_STYLE: n->style = YAML_EDIT_FOLDED; break;
	default: n->style = YAML_EDIT_PLAIN; break;
	}
	n->anchored = ev->data.scalar.anchor != NULL;
	n->tagged = ev->data.scalar.tag != NULL;
	if (n->style == YAML_EDIT_PLAIN && ev->data.scalar.plain_implicit)
		n->type = yaml_edit_resolve_plain((const char *)ev->data.scalar.value, ev->data.scalar.length);
	else if (ev->data.scalar.quoted_implicit && n->style != YAML_EDIT_PLAIN)
		n->type = YAML_EDIT_STR;
	else
		n->type = tag_type((const char *)ev->data.scalar.tag);
	if (n->style == YAML_EDIT_LITERAL || n->style == YAML_EDIT_FOLDED)
		trim_block_scalar(d, n);
	rc = arena_add(d, ev->data.scalar.value, ev->data.scalar.length, &off);
	if (rc < 0)
		return rc;
	n = &d->nodes[idx];
	n->value_off = off;
	n->value_len = ev->data.scalar.length;
	return 0;
}

/* Closes the collection on top of the stack: block collections end with their last child. */
static void on_collection_end(struct yaml_edit_doc *d, int32_t idx, const yaml_event_t *ev)
{
	struct yaml_edit_node *n = &d->nodes[idx];

	if (n->style == YAML_EDIT_FLOW) {
		n->end = doc_byte(d, ev->end_mark.index);
		if (n->end < n->start)
			n->end = n->start;
		n->tail = n->end;
	} else if (n->last >= 0) {
		n->end = d->nodes[n->last].end;
		n->tail = d->nodes[n->last].tail;
	}
}

static unsigned pos_line(const struct yaml_edit_doc *d, size_t pos);
static unsigned pos_column(const struct yaml_edit_doc *d, size_t pos);

/* Value `n` of key `k` in a block mapping: an explicit key with no ':' (`? k`) has an empty
 * value that libyaml places at the next token, maybe many lines below, so its mapping would
 * seem to end there (deleting it took the next list item's indentation: found by fuzzing). It
 * is placed right after its key instead. */
static void place_missing_value(const struct yaml_edit_doc *d, struct yaml_edit_node *n, const struct yaml_edit_node *k)
{
	const struct yaml_edit_node *p = &d->nodes[n->parent];

	if (p->kind != YAML_EDIT_MAPPING || p->style != YAML_EDIT_BLOCK || n->style != YAML_EDIT_PLAIN ||
	    n->value_len != 0 || n->tagged || n->anchored || n->start != n->end || n->start <= k->end ||
	    d->buf[n->start - 1] == ':')
		return;
	n->start = n->end = n->tail = k->end;
	n->line = pos_line(d, k->end);
	n->column = pos_column(d, k->end);
}

static int parse_events(struct yaml_edit_doc *d, char *err, size_t errlen)
{
	int32_t stack[YAML_EDIT_MAX_DEPTH + 1], prev_at_root = -1;
	unsigned sp = 0, docs = 0;
	yaml_parser_t p;
	yaml_event_t ev;
	int32_t idx;
	bool done = false;
	int rc = 0;

	if (!yaml_parser_initialize(&p))
		return ye_fail(err, errlen, -ENOMEM, "out of memory");
	/* encoding detected: libyaml drops a UTF-8 BOM (the marks then start after it); the
	 * precheck refused anything but UTF-8 already */
	yaml_parser_set_input_string(&p, (const unsigned char *)d->buf, d->len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = parse_error(&p, err, errlen);
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT: done = true; break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				rc = ye_fail(err, errlen, -EINVAL, "%zu:%zu: more than one document",
					     ev.start_mark.line + 1, ev.start_mark.column + 1);
			break;
		case YAML_DOCUMENT_END_EVENT: d->explicit_end = !ev.data.document_end.implicit; break;
		case YAML_ALIAS_EVENT:
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			enum yaml_edit_kind kind = ev.type == YAML_ALIAS_EVENT           ? YAML_EDIT_ALIAS
						   : ev.type == YAML_SCALAR_EVENT        ? YAML_EDIT_SCALAR
						   : ev.type == YAML_MAPPING_START_EVENT ? YAML_EDIT_MAPPING
											 : YAML_EDIT_SEQUENCE;
			prev_at_root = sp == 1 ? d->nodes[stack[0]].last : -1;
			int32_t prev = sp > 0 ? d->nodes[stack[sp - 1]].last : -1;

			idx = node_add(d, kind, &ev.start_mark, &ev.end_mark);
			if (idx < 0) {
				rc = idx == -E2BIG ? ye_fail(err, errlen, -EINVAL, "%zu:%zu: more than %u nodes",
							     ev.start_mark.line + 1, ev.start_mark.column + 1,
							     YAML_EDIT_MAX_NODES)
						   : ye_fail(err, errlen, -ENOMEM, "out of memory");
				break;
			}
			node_attach(d, idx, stack, sp);
			struct yaml_edit_node *n = &d->nodes[idx];

			if (kind == YAML_EDIT_SCALAR) {
				rc = on_scalar(d, &ev, idx);
				n = &d->nodes[idx];
				if (rc == 0 && prev >= 0 && !n->is_key)
					place_missing_value(d, n, &d->nodes[prev]);
			} else if (kind == YAML_EDIT_ALIAS) {
				size_t off;

				n->anchored = true;
				rc = arena_add(d, ev.data.alias.anchor, strlen((const char *)ev.data.alias.anchor),
					       &off);
				n = &d->nodes[idx];
				n->value_off = off;
				n->value_len = strlen((const char *)ev.data.alias.anchor);
			} else {
				bool flow = kind == YAML_EDIT_MAPPING
						    ? ev.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE
						    : ev.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;

				n->style = flow ? YAML_EDIT_FLOW : YAML_EDIT_BLOCK;
				n->anchored = (kind == YAML_EDIT_MAPPING ? ev.data.mapping_start.anchor
									 : ev.data.sequence_start.anchor) != NULL;
				n->tagged = (kind == YAML_EDIT_MAPPING ? ev.data.mapping_start.tag
								       : ev.data.sequence_start.tag) != NULL;
				/* the file's indentation step: a top-level value's block against its key */
				if (!flow && sp == 1 && !d->step && !n->tagged && !n->anchored && prev_at_root >= 0 &&
				    d->nodes[prev_at_root].is_key && n->column > d->nodes[prev_at_root].column)
					d->step = n->column - d->nodes[prev_at_root].column;
				if (sp >= YAML_EDIT_MAX_DEPTH) {
					rc = ye_fail(err, errlen, -EINVAL, "%u:%u: nested deeper than %u levels",
						     n->line, n->column, YAML_EDIT_MAX_DEPTH);
					break;
				}
				stack[sp++] = idx;
			}
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (sp == 0)
				break;
			idx = stack[--sp];
			on_collection_end(d, idx, &ev);
			if (d->nodes[idx].kind == YAML_EDIT_MAPPING) {
				/* value pointers are fixed up at the end; point them now for the check */
				for (int32_t k = d->nodes[idx].first; k >= 0; k = d->nodes[k].next)
					d->nodes[k].value = d->nodes[k].kind == YAML_EDIT_SCALAR
								    ? d->arena + d->nodes[k].value_off
								    : NULL;
				rc = check_duplicates(d, &d->nodes[idx], err, errlen);
			}
			break;
		default: break;
		}
		yaml_event_delete(&ev);
		if (rc < 0)
			break;
	}
	yaml_parser_delete(&p);
	return rc;
}

int yaml_edit_parse(const char *buf, size_t len, struct yaml_edit_doc **out, char *err, size_t errlen)
{
	struct yaml_edit_doc *d;
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (len > YAML_EDIT_MAX_SIZE)
		return ye_fail(err, errlen, -EFBIG, "%zu bytes: larger than the %u MiB limit", len,
			       YAML_EDIT_MAX_SIZE >> 20);
	d = calloc(1, sizeof(*d));
	if (!d)
		return ye_fail(err, errlen, -ENOMEM, "out of memory");
	d->root = -1;
	d->buf = malloc(len + 1);
	if (!d->buf) {
		rc = ye_fail(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	if (len)
		memcpy(d->buf, buf, len);
	d->buf[len] = '\0';
	d->len = len;
	rc = precheck(d, err, errlen);
	if (rc < 0)
		goto fail;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		d->bom = 3;
	if (!d->ascii && build_checkpoints(d) < 0) {
		rc = ye_fail(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	rc = parse_events(d, err, errlen);
	if (rc < 0)
		goto fail;
	for (size_t i = 0; i < d->n_nodes; i++) {
		struct yaml_edit_node *n = &d->nodes[i];

		n->value = n->kind == YAML_EDIT_SCALAR || n->kind == YAML_EDIT_ALIAS ? d->arena + n->value_off : NULL;
	}
	if (!d->step)
		d->step = 2;
	*out = d;
	return 0;
fail:
	yaml_edit_free(d);
	return rc;
}

void yaml_edit_free(struct yaml_edit_doc *doc)
{
	if (!doc)
		return;
	free(doc->checkpoints);
	free(doc->arena);
	free(doc->nodes);
	free(doc->buf);
	free(doc);
}

const char *yaml_edit_bytes(const struct yaml_edit_doc *doc, size_t *len)
{
	if (len)
		*len = doc->len;
	return doc->buf;
}

bool yaml_edit_crlf(const struct yaml_edit_doc *doc)
{
	return doc->crlf;
}

/* Navigation. */

static int32_t idx_of(const struct yaml_edit_doc *d, const struct yaml_edit_node *n)
{
	return n ? (int32_t)(n - d->nodes) : -1;
}

const struct yaml_edit_node *yaml_edit_root(const struct yaml_edit_doc *doc)
{
	return node_at(doc, doc->root);
}

const struct yaml_edit_node *yaml_edit_first(const struct yaml_edit_doc *doc, const struct yaml_edit_node *n)
{
	if (!n || (n->kind != YAML_EDIT_SEQUENCE && n->kind != YAML_EDIT_MAPPING))
		return NULL;
	return node_at(doc, n->first);
}

const struct yaml_edit_node *yaml_edit_next(const struct yaml_edit_doc *doc, const struct yaml_edit_node *n)
{
	const struct yaml_edit_node *v;

	if (!n)
		return NULL;
	if (!n->is_key)
		return node_at(doc, n->next);
	v = node_at(doc, n->next);
	return v ? node_at(doc, v->next) : NULL;
}

const struct yaml_edit_node *yaml_edit_value(const struct yaml_edit_doc *doc, const struct yaml_edit_node *key)
{
	return key && key->is_key ? node_at(doc, key->next) : NULL;
}

const struct yaml_edit_node *yaml_edit_parent(const struct yaml_edit_doc *doc, const struct yaml_edit_node *n)
{
	return n ? node_at(doc, n->parent) : NULL;
}

static const struct yaml_edit_node *map_find(const struct yaml_edit_doc *d, const struct yaml_edit_node *map,
					     const char *key, size_t len)
{
	const struct yaml_edit_node *k;

	if (!map || map->kind != YAML_EDIT_MAPPING)
		return NULL;
	for (k = yaml_edit_first(d, map); k; k = yaml_edit_next(d, k))
		if (k->kind == YAML_EDIT_SCALAR && k->value_len == len && memcmp(k->value, key, len) == 0)
			return k;
	return NULL;
}

const struct yaml_edit_node *yaml_edit_get(const struct yaml_edit_doc *doc, const struct yaml_edit_node *map,
					   const char *key)
{
	return yaml_edit_value(doc, map_find(doc, map, key, strlen(key)));
}

/* Paths. */

static bool key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' || c == '-';
}

static int path_parse(const char *path, struct ye_comp *comps, size_t *n, char *err, size_t errlen)
{
	const char *s = path;
	size_t k = 0;

	if (!path || !*path)
		return ye_fail(err, errlen, -EINVAL, "empty key");
	while (*s) {
		const char *start = s;

		if (k >= YAML_EDIT_MAX_PATH)
			return ye_fail(err, errlen, -EINVAL, "'%.*s': more than %d parts", YE_QUOTE_MAX, path,
				       YAML_EDIT_MAX_PATH);
		while (key_char(*s))
			s++;
		if (s == start)
			return ye_fail(err, errlen, -EINVAL, "'%.*s': expected a key at offset %zu", YE_QUOTE_MAX, path,
				       (size_t)(start - path));
		comps[k++] = (struct ye_comp){.key = start, .key_len = (size_t)(s - start), .end = (size_t)(s - path)};
		while (*s == '[') {
			long v = 0;

			s++;
			if (!is_digit(*s))
				return ye_fail(err, errlen, -EINVAL, "'%.*s': expected a list index at offset %zu",
					       YE_QUOTE_MAX, path, (size_t)(s - path));
			while (is_digit(*s)) {
				v = v * 10 + (*s - '0');
				if (v > YE_INDEX_MAX)
					return ye_fail(err, errlen, -EINVAL, "'%.*s': list index too large",
						       YE_QUOTE_MAX, path);
				s++;
			}
			if (*s != ']')
				return ye_fail(err, errlen, -EINVAL, "'%.*s': expected ']' at offset %zu", YE_QUOTE_MAX,
					       path, (size_t)(s - path));
			s++;
			if (k >= YAML_EDIT_MAX_PATH)
				return ye_fail(err, errlen, -EINVAL, "'%.*s': more than %d parts", YE_QUOTE_MAX, path,
					       YAML_EDIT_MAX_PATH);
			comps[k++] = (struct ye_comp){.index = v, .is_index = true, .end = (size_t)(s - path)};
		}
		if (*s == '.') {
			s++;
			if (!*s)
				return ye_fail(err, errlen, -EINVAL, "'%.*s': ends with '.'", YE_QUOTE_MAX, path);
		} else if (*s) {
			return ye_fail(err, errlen, -EINVAL, "'%.*s': unexpected '%c' at offset %zu", YE_QUOTE_MAX,
				       path, *s, (size_t)(s - path));
		}
	}
	*n = k;
	return 0;
}

/*
 * Walks `comps` from the root as far as the document goes: *node is the node of the first *matched
 * components (-1 with *matched 0 when there is no root). Stops without error at a missing key;
 * refuses a path through an alias, a missing list index or a scalar/list where a key is needed
 * only when `strict` (lookups); set decides itself what to do with a partial match.
 */
static int walk(const struct yaml_edit_doc *d, const char *path, const struct ye_comp *comps, size_t n, int32_t *node,
		size_t *matched, char *err, size_t errlen)
{
	int32_t cur = d->root;
	size_t i;

	*matched = 0;
	*node = -1;
	if (cur < 0)
		return 0;
	for (i = 0; i < n; i++) {
		const struct yaml_edit_node *c = node_at(d, cur);

		if (c->kind == YAML_EDIT_ALIAS)
			return ye_fail(err, errlen, -EINVAL, "%s: %u:%u: goes through alias *%.*s", path, c->line,
				       c->column, YE_QUOTE_MAX, c->value);
		if (comps[i].is_index) {
			const struct yaml_edit_node *it;
			long k = 0;

			if (c->kind != YAML_EDIT_SEQUENCE)
				return ye_fail(err, errlen, -EINVAL, "%s: %u:%u: [%ld] on a value that is not a list",
					       path, c->line, c->column, comps[i].index);
			for (it = yaml_edit_first(d, c); it && k < comps[i].index; it = yaml_edit_next(d, it))
				k++;
			if (!it)
				return ye_fail(err, errlen, -ENOENT, "%s: %u:%u: list has no item [%ld] (%zu items)",
					       path, c->line, c->column, comps[i].index, c->count);
			cur = idx_of(d, it);
		} else {
			const struct yaml_edit_node *k;

			if (c->kind != YAML_EDIT_MAPPING)
				break;
			k = map_find(d, c, comps[i].key, comps[i].key_len);
			if (!k)
				break;
			cur = k->next;
		}
	}
	*node = cur;
	*matched = i;
	return 0;
}

/* The text of the first `upto` components of `path`. */
static void path_prefix(const char *path, const struct ye_comp *comps, size_t upto, char *out, size_t outlen)
{
	if (upto == 0)
		snprintf(out, outlen, "(the document)");
	else
		snprintf(out, outlen, "%.*s", (int)(comps[upto - 1].end < 200 ? comps[upto - 1].end : 200), path);
}

int yaml_edit_lookup(const struct yaml_edit_doc *doc, const char *path, const struct yaml_edit_node **out, char *err,
		     size_t errlen)
{
	struct ye_comp comps[YAML_EDIT_MAX_PATH];
	char prefix[256];
	size_t n, matched;
	int32_t node;
	int rc;

	*out = NULL;
	rc = path_parse(path, comps, &n, err, errlen);
	if (rc < 0)
		return rc;
	rc = walk(doc, path, comps, n, &node, &matched, err, errlen);
	if (rc < 0)
		return rc;
	if (node < 0)
		return ye_fail(err, errlen, -ENOENT, "%s: not set (empty document)", path);
	if (matched < n) {
		const struct yaml_edit_node *c = node_at(doc, node);

		path_prefix(path, comps, matched, prefix, sizeof(prefix));
		if (c->kind == YAML_EDIT_MAPPING || (c->kind == YAML_EDIT_SCALAR && c->type == YAML_EDIT_NULL))
			return ye_fail(err, errlen, -ENOENT, "%s: not set", path);
		return ye_fail(err, errlen, -EINVAL, "%s: %s is a %s, not a mapping", path, prefix,
			       c->kind == YAML_EDIT_SEQUENCE ? "list" : "scalar");
	}
	*out = node_at(doc, node);
	return 0;
}

/* Rendering of new text. */

static enum yaml_edit_kind val_kind(const struct ye_val *v)
{
	return v->nwrap ? YAML_EDIT_MAPPING : v->doc->nodes[v->node].kind;
}

static size_t val_count(const struct ye_val *v)
{
	return v->nwrap ? 1 : v->doc->nodes[v->node].count;
}

static bool val_is_block(const struct ye_val *v)
{
	enum yaml_edit_kind k = val_kind(v);

	return (k == YAML_EDIT_MAPPING || k == YAML_EDIT_SEQUENCE) && val_count(v) > 0;
}

static struct ye_val val_child(const struct ye_val *v, int32_t node)
{
	return (struct ye_val){.doc = v->doc, .node = node};
}

/* Whether `s` can be written as a plain scalar and read back as the same string. */
static bool plain_ok(const char *s, size_t n, bool flow)
{
	size_t i;

	if (n == 0 || s[0] == ' ' || s[n - 1] == ' ')
		return false;
	if (strchr("#,[]{}&*!|>'\"%@`", s[0]))
		return false;
	if (strchr("-?:", s[0]) && (n == 1 || s[1] == ' ' || flow))
		return false;
	if (n >= 3 && (memcmp(s, "---", 3) == 0 || memcmp(s, "...", 3) == 0))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return false;
		if (c == ':' && (i + 1 == n || s[i + 1] == ' ' || flow))
			return false;
		if (c == '#' && i > 0 && s[i - 1] == ' ')
			return false;
		if (flow && strchr(",[]{}", c))
			return false;
		if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] == 0x85)
			return false;
		if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
		    ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9))
			return false;
		if (c == 0xef && i + 2 < n && (unsigned char)s[i + 1] == 0xbb && (unsigned char)s[i + 2] == 0xbf)
			return false;
	}
	return true;
}

static bool single_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return false;
		if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] == 0x85)
			return false;
		if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
		    ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9))
			return false;
		if (c == 0xef && i + 2 < n && (unsigned char)s[i + 1] == 0xbb && (unsigned char)s[i + 2] == 0xbf)
			return false;
	}
	return true;
}

static void put_single(struct ye_buf *b, const char *s, size_t n)
{
	buf_putc(b, '\'');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\'')
			buf_putc(b, '\'');
		buf_putc(b, s[i]);
	}
	buf_putc(b, '\'');
}

static void put_double(struct ye_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[5] = {'\\', 0, 0, 0, 0};

		switch (c) {
		case '"':
		case '\\': esc[1] = (char)c; break;
		case '\0': esc[1] = '0'; break;
		case '\a': esc[1] = 'a'; break;
		case '\b': esc[1] = 'b'; break;
		case '\t': esc[1] = 't'; break;
		case '\n': esc[1] = 'n'; break;
		case '\v': esc[1] = 'v'; break;
		case '\f': esc[1] = 'f'; break;
		case '\r': esc[1] = 'r'; break;
		case 0x1b: esc[1] = 'e'; break;
		default:
			if (c < 0x20 || c == 0x7f) {
				esc[1] = 'x';
				esc[2] = hex[c >> 4];
				esc[3] = hex[c & 15];
			} else if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] == 0x85) {
				esc[1] = 'N';
				i++;
			} else if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
				   (unsigned char)s[i + 1] <= 0x9f) {
				/* C1 controls (U+0080-U+009F) are not printable in YAML: escaped */
				esc[1] = 'x';
				esc[2] = hex[(unsigned char)s[i + 1] >> 4];
				esc[3] = hex[(unsigned char)s[i + 1] & 15];
				i++;
			} else if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
				   ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
				esc[1] = (unsigned char)s[i + 2] == 0xa8 ? 'L' : 'P';
				i += 2;
			} else if (c == 0xef && i + 2 < n && (unsigned char)s[i + 1] == 0xbb &&
				   (unsigned char)s[i + 2] == 0xbf) {
				buf_puts(b, "\\uFEFF");
				i += 2;
				continue;
			}
			break;
		}
		if (esc[1])
			buf_puts(b, esc);
		else
			buf_putc(b, (char)c);
	}
	buf_putc(b, '"');
}

/* Writes a string scalar: the preferred quoting if it can hold it, else plain, single, double. */
static void put_string(struct ye_buf *b, const char *s, size_t n, bool flow, enum yaml_edit_style prefer)
{
	bool looks_other = yaml_edit_resolve_plain(s, n) != YAML_EDIT_STR || match_snake_number(s, n);

	// NOLINTBEGIN(bugprone-branch-clone): the branches are the order of preference, so styles repeat
	if (prefer == YAML_EDIT_DOUBLE_QUOTED) {
		put_double(b, s, n);
	} else if (prefer == YAML_EDIT_SINGLE_QUOTED && single_ok(s, n)) {
		put_single(b, s, n);
	} else if (!looks_other && plain_ok(s, n, flow)) {
		buf_put(b, s, n);
	} else if (single_ok(s, n)) {
		put_single(b, s, n);
	} else {
		put_double(b, s, n);
	}
	// NOLINTEND(bugprone-branch-clone)
}

/* A scalar of the value document; `after_colon`: in block context right after "key:". */
static void put_scalar(struct ye_render *r, const struct ye_val *v, bool flow, bool after_colon)
{
	const struct yaml_edit_node *n = &v->doc->nodes[v->node];
	enum yaml_edit_style prefer = YAML_EDIT_PLAIN;
	bool string = n->type == YAML_EDIT_STR || (v->root && r->as_string);

	if (!string) {
		if (n->type == YAML_EDIT_NULL && n->value_len == 0) {
			if (!after_colon)
				buf_puts(r->out, "null");
			return;
		}
		if (n->style == YAML_EDIT_PLAIN && plain_ok(n->value, n->value_len, flow) &&
		    memchr(n->value, '\0', n->value_len) == NULL) {
			buf_put(r->out, n->value, n->value_len);
			return;
		}
		/* a tagged or odd non-string: keep its meaning through the tag-free text if possible */
		if (n->style == YAML_EDIT_PLAIN && !flow) {
			buf_put(r->out, n->value, n->value_len);
			return;
		}
		/* quoting it would make it a string (`6:5`, a base-60 int, in a flow collection) */
		if (n->style == YAML_EDIT_PLAIN) {
			r->out->lost = true;
			return;
		}
	}
	if (v->root && r->prefer != YAML_EDIT_PLAIN)
		prefer = r->prefer;
	else if (n->style == YAML_EDIT_SINGLE_QUOTED || n->style == YAML_EDIT_DOUBLE_QUOTED)
		prefer = n->style;
	put_string(r->out, n->value, n->value_len, flow, prefer);
}

static void put_key(struct ye_render *r, const struct ye_val *parent, int32_t key, bool flow)
{
	if (parent->nwrap) {
		buf_put(r->out, parent->wrap[0].key, parent->wrap[0].key_len);
		return;
	}
	const struct yaml_edit_node *k = &parent->doc->nodes[key];

	if (k->kind == YAML_EDIT_SCALAR)
		put_string(r->out, k->value, k->value_len, flow,
			   k->style == YAML_EDIT_SINGLE_QUOTED || k->style == YAML_EDIT_DOUBLE_QUOTED
				   ? k->style
				   : YAML_EDIT_PLAIN);
	else
		buf_puts(r->out, "null");
}

static void put_flow(struct ye_render *r, const struct ye_val *v);

/* Iterates the entries of a value: (key, value) pairs of a mapping, items of a sequence. A wrapped
 * value has one pair whose key is the next path component (key and val are -2 then). */
struct ye_iter {
	int32_t key, val;
	size_t i;
};

static bool val_next(const struct ye_val *v, struct ye_iter *it)
{
	const struct yaml_edit_node *nodes = v->doc->nodes, *n;
	int32_t next;

	if (v->nwrap) {
		if (it->i++ > 0)
			return false;
		it->key = it->val = -2;
		return true;
	}
	n = &nodes[v->node];
	next = it->i++ == 0 ? n->first : nodes[it->val].next;
	if (next < 0)
		return false;
	if (n->kind == YAML_EDIT_MAPPING) {
		it->key = next;
		it->val = nodes[next].next;
		return it->val >= 0;
	}
	it->key = -1;
	it->val = next;
	return true;
}

static struct ye_val val_of(const struct ye_val *parent, int32_t value)
{
	if (parent->nwrap)
		return (struct ye_val){.doc = parent->doc,
				       .node = parent->node,
				       .wrap = parent->wrap + 1,
				       .nwrap = parent->nwrap - 1,
				       .root = parent->root};
	return val_child(parent, value);
}

static void put_flow(struct ye_render *r, const struct ye_val *v)
{
	enum yaml_edit_kind kind = val_kind(v);
	bool first = true;

	if (kind == YAML_EDIT_SCALAR || kind == YAML_EDIT_ALIAS) {
		put_scalar(r, v, true, false);
		return;
	}
	if (r->depth >= YAML_EDIT_MAX_DEPTH)
		return;
	r->depth++;
	buf_putc(r->out, kind == YAML_EDIT_MAPPING ? '{' : '[');
	for (struct ye_iter it = {0}; val_next(v, &it);) {
		struct ye_val cv = val_of(v, it.val);

		if (!first)
			buf_puts(r->out, ", ");
		first = false;
		if (kind == YAML_EDIT_MAPPING) {
			put_key(r, v, it.key, true);
			buf_puts(r->out, ": ");
		}
		put_flow(r, &cv);
	}
	buf_putc(r->out, kind == YAML_EDIT_MAPPING ? '}' : ']');
	r->depth--;
}

static void put_block_map(struct ye_render *r, const struct ye_val *v, unsigned indent, bool inline_first);
static void put_block_seq(struct ye_render *r, const struct ye_val *v, unsigned indent, bool inline_first);

/* What follows "key:" in block context, the key being at column `indent`. */
static void put_after_colon(struct ye_render *r, const struct ye_val *v, unsigned indent)
{
	if (!val_is_block(v)) {
		struct ye_buf *b = r->out;
		size_t before = b->len;

		buf_putc(b, ' ');
		if (val_kind(v) == YAML_EDIT_SCALAR || val_kind(v) == YAML_EDIT_ALIAS)
			put_scalar(r, v, false, true);
		else
			put_flow(r, v);
		if (b->len == before + 1 && !b->oom) { /* nothing after the space: `key:` */
			b->len = before;
			b->p[b->len] = '\0';
		}
		return;
	}
	if (val_kind(v) == YAML_EDIT_MAPPING)
		put_block_map(r, v, indent + r->step, false);
	else
		put_block_seq(r, v, indent + r->step, false);
}

/* A block mapping with keys at column `indent`; the first key on the current line if inline_first. */
static void put_block_map(struct ye_render *r, const struct ye_val *v, unsigned indent, bool inline_first)
{
	bool first = true;

	if (r->depth >= YAML_EDIT_MAX_DEPTH)
		return;
	r->depth++;
	for (struct ye_iter it = {0}; val_next(v, &it);) {
		struct ye_val cv = val_of(v, it.val);

		if (!(first && inline_first)) {
			buf_puts(r->out, r->eol);
			buf_pad(r->out, indent);
		}
		first = false;
		put_key(r, v, it.key, false);
		buf_putc(r->out, ':');
		put_after_colon(r, &cv, indent);
	}
	r->depth--;
}

/* A block sequence with dashes at column `indent`. */
static void put_block_seq(struct ye_render *r, const struct ye_val *v, unsigned indent, bool inline_first)
{
	bool first = true;

	if (r->depth >= YAML_EDIT_MAX_DEPTH)
		return;
	r->depth++;
	for (struct ye_iter it = {0}; val_next(v, &it);) {
		struct ye_val cv = val_of(v, it.val);

		if (!(first && inline_first)) {
			buf_puts(r->out, r->eol);
			buf_pad(r->out, indent);
		}
		first = false;
		buf_putc(r->out, '-');
		if (val_kind(&cv) == YAML_EDIT_MAPPING && val_is_block(&cv)) {
			buf_putc(r->out, ' ');
			put_block_map(r, &cv, indent + 2, true);
		} else if (val_kind(&cv) == YAML_EDIT_SEQUENCE && val_is_block(&cv)) {
			buf_putc(r->out, ' ');
			put_block_seq(r, &cv, indent + 2, true);
		} else {
			buf_putc(r->out, ' ');
			if (val_kind(&cv) == YAML_EDIT_SCALAR || val_kind(&cv) == YAML_EDIT_ALIAS)
				put_scalar(r, &cv, false, false);
			else
				put_flow(r, &cv);
		}
	}
	r->depth--;
}

/* A value at the current position in block context, its continuation lines at `indent`. */
static void put_block_inline(struct ye_render *r, const struct ye_val *v, unsigned indent)
{
	if (val_kind(v) == YAML_EDIT_MAPPING && val_is_block(v))
		put_block_map(r, v, indent, true);
	else if (val_kind(v) == YAML_EDIT_SEQUENCE && val_is_block(v))
		put_block_seq(r, v, indent, true);
	else if (val_kind(v) == YAML_EDIT_SCALAR || val_kind(v) == YAML_EDIT_ALIAS)
		put_scalar(r, v, false, false);
	else
		put_flow(r, v);
}

int yaml_edit_render(const struct yaml_edit_doc *doc, const struct yaml_edit_node *n, char **out, size_t *out_len)
{
	struct ye_buf b = {0};
	struct ye_render r = {.out = &b, .eol = "\n", .step = doc->step};
	struct ye_val v = {.doc = doc, .node = idx_of(doc, n)};

	put_block_inline(&r, &v, 0);
	buf_put(&b, "", 0);
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	if (out_len)
		*out_len = b.len;
	return 0;
}

/* Splicing. */

/* 1-based line and column (in bytes) of byte `pos`, for messages. */
static unsigned pos_line(const struct yaml_edit_doc *d, size_t pos)
{
	unsigned line = 1;

	for (size_t i = 0; i < pos && i < d->len; i++)
		line += d->buf[i] == '\n';
	return line;
}

static unsigned pos_column(const struct yaml_edit_doc *d, size_t pos)
{
	size_t i = pos;

	while (i > 0 && d->buf[i - 1] != '\n')
		i--;
	return (unsigned)(pos - i + 1);
}

static int splice(const struct yaml_edit_doc *d, size_t start, size_t end, const struct ye_buf *text, char **out,
		  size_t *out_len, struct yaml_edit_span *span, char *err, size_t errlen)
{
	size_t n;
	char *p;

	if (text->oom)
		return ye_fail(err, errlen, -ENOMEM, "out of memory");
	if (text->lost)
		return ye_fail(err, errlen, -EINVAL,
			       "%u:%u: the value has a ':' or a flow indicator: in a flow collection it could "
			       "only be written quoted, as a string",
			       pos_line(d, start), pos_column(d, start));
	if (start > end || end > d->len)
		return ye_fail(err, errlen, -EINVAL, "internal error: bad span %zu-%zu", start, end);
	/* a comment written right after what is replaced (`k: []#c`) stays a comment: a space
	 * between the new text and the '#' (else `k: x#c` would be the scalar "x#c") */
	char before = ' ';

	if (text->len)
		before = text->p[text->len - 1];
	else if (start)
		before = d->buf[start - 1];
	bool sep = end < d->len && d->buf[end] == '#' && !strchr(" \t\r\n", before);
	size_t new_len = text->len + (sep ? 1 : 0);

	n = d->len - (end - start) + new_len;
	p = malloc(n + 1);
	if (!p)
		return ye_fail(err, errlen, -ENOMEM, "out of memory");
	memcpy(p, d->buf, start);
	if (text->len)
		memcpy(p + start, text->p, text->len);
	if (sep)
		p[start + text->len] = ' ';
	memcpy(p + start + new_len, d->buf + end, d->len - end);
	p[n] = '\0';
	*out = p;
	*out_len = n;
	if (span)
		*span = (struct yaml_edit_span){.start = start, .old_len = end - start, .new_len = new_len};
	return 0;
}

static size_t line_start(const struct yaml_edit_doc *d, size_t pos)
{
	while (pos > 0 && d->buf[pos - 1] != '\n')
		pos--;
	return pos;
}

/* Position of the line break ending the line of `pos` (or the end of the document). */
static size_t line_end(const struct yaml_edit_doc *d, size_t pos)
{
	while (pos < d->len && d->buf[pos] != '\n')
		pos++;
	if (pos < d->len && pos > 0 && d->buf[pos - 1] == '\r')
		pos--;
	return pos;
}

/* Past the line break ending the line of `pos`. */
static size_t next_line(const struct yaml_edit_doc *d, size_t pos)
{
	while (pos < d->len && d->buf[pos] != '\n')
		pos++;
	return pos < d->len ? pos + 1 : pos;
}

static bool only_spaces(const struct yaml_edit_doc *d, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (d->buf[i] != ' ')
			return false;
	return true;
}

/* The ':' after block mapping key `k`. */
static int find_colon(const struct yaml_edit_doc *d, const struct yaml_edit_node *k, size_t *pos, char *err,
		      size_t errlen)
{
	size_t i = k->end;

	while (i < d->len && (d->buf[i] == ' ' || d->buf[i] == '\t'))
		i++;
	if (i >= d->len || d->buf[i] != ':')
		return ye_fail(err, errlen, -EINVAL, "%u:%u: cannot find the ':' after this key (complex key?)",
			       k->line, k->column);
	*pos = i;
	return 0;
}

/* Refuses to edit `n` when it, an ancestor, or (with `subtree`) a descendant carries an anchor. */
static int check_anchors(const struct yaml_edit_doc *d, const struct yaml_edit_node *n, bool subtree, const char *path,
			 char *err, size_t errlen)
{
	for (const struct yaml_edit_node *p = n; p; p = node_at(d, p->parent))
		if (p->anchored)
			return ye_fail(err, errlen, -EINVAL, "%s: %u:%u: refusing to edit an anchored or aliased node",
				       path, p->line, p->column);
	if (subtree && n && n->kind != YAML_EDIT_SCALAR) {
		for (size_t i = (size_t)idx_of(d, n) + 1; i < d->n_nodes && d->nodes[i].start < n->tail; i++)
			if (d->nodes[i].anchored)
				return ye_fail(err, errlen, -EINVAL,
					       "%s: %u:%u: refusing to delete a node that holds an anchor", path,
					       d->nodes[i].line, d->nodes[i].column);
	}
	return 0;
}

/* Whether mapping key `k` is written as an explicit key (`? k`). */
static bool explicit_key(const struct yaml_edit_doc *d, const struct yaml_edit_node *k)
{
	size_t i = k->start;

	while (i > 0 && (d->buf[i - 1] == ' ' || d->buf[i - 1] == '\t'))
		i--;
	if (i > 0 && d->buf[i - 1] == '?' && (i == 1 || d->bom == i - 1 || strchr(" \t\r\n{[,", d->buf[i - 2]) != NULL))
		return true;
	/* the key on a line below its '?' ("?\n  k\n: v"): above it, past blank and comment-only
	 * lines, a line holding only '?' (and maybe a comment) */
	if (i > d->bom && d->buf[i - 1] != '\n')
		return false;
	for (size_t ls = i; ls > d->bom;) {
		size_t pe = ls - 1, ps = line_start(d, pe), q, r;

		if (ps < d->bom)
			ps = d->bom;
		for (q = ps; q < pe && strchr(" \t\r", d->buf[q]); q++)
			;
		if (q == pe || d->buf[q] == '#') { /* blank or comment only */
			ls = ps;
			continue;
		}
		if (d->buf[q] != '?')
			return false;
		for (r = q + 1; r < pe && strchr(" \t\r", d->buf[r]); r++)
			;
		if (r != pe && (d->buf[r] != '#' || r == q + 1))
			return false;
		/* ... and not a line of a block scalar ("a: |\n  ?") */
		for (size_t n = 0; n < d->n_nodes; n++)
			if (d->nodes[n].kind == YAML_EDIT_SCALAR && d->nodes[n].start <= q && q < d->nodes[n].end)
				return false;
		return true;
	}
	return false;
}

/* Whether flow mapping `p` is a single pair written in a flow sequence without braces
 * (`[k: v]`): it has no braces to add a key into, and deleting its key would delete the item. */
static bool implicit_pair(const struct yaml_edit_doc *d, const struct yaml_edit_node *p)
{
	return p && p->kind == YAML_EDIT_MAPPING && p->style == YAML_EDIT_FLOW && !p->tagged && !p->anchored &&
	       p->start < d->len && d->buf[p->start] != '{';
}

/* Refuses to edit in collection `n` when it holds an explicit key (`? k`) at any depth: the spans
 * of such entries are not where the edits expect them. `path` (may be NULL) prefixes the message. */
static int check_explicit_keys(const struct yaml_edit_doc *d, const struct yaml_edit_node *n, const char *path,
			       char *err, size_t errlen)
{
	if (!n)
		return 0;
	for (size_t i = (size_t)idx_of(d, n); i < d->n_nodes; i++) {
		const struct yaml_edit_node *c = &d->nodes[i];

		if (c != n && c->depth <= n->depth)
			break;
		if (c->is_key && explicit_key(d, c))
			return ye_fail(err, errlen, -EINVAL,
				       "%s%s%u:%u: refusing to edit next to an explicit key ('? ')", path ? path : "",
				       path ? ": " : "", c->line, c->column);
	}
	return 0;
}

/* Looks back from `pos` (not before `lo`) over white space and comments: returns the offset
 * just after the last other character. Sets *newline when a line break was crossed. A '#' at the
 * start of a line or after white space on a line above starts a comment (a quoted '#' there would
 * be taken for one too: the callers then refuse, never edit inside a comment). */
static size_t back_over_blanks(const struct yaml_edit_doc *d, size_t lo, size_t pos, bool *newline)
{
	size_t j = pos;

	*newline = false;
	for (;;) {
		while (j > lo && strchr(" \t\r\n", d->buf[j - 1])) {
			if (d->buf[j - 1] == '\n')
				*newline = true;
			j--;
		}
		if (j == lo || !*newline)
			return j;
		/* a comment may end the line above: go back to its '#' */
		size_t ls = line_start(d, j - 1), h = ls;

		while (h < j && !(d->buf[h] == '#' && (h == ls || strchr(" \t", d->buf[h - 1]))))
			h++;
		if (h == j || h < lo)
			return j;
		j = h;
	}
}

/* The '-' of a block list item whose value starts at `pos` (the list starts at `lo`): only white
 * space and comments may stand between the two. Sets *below when the value is on a later line
 * than the '-'. Returns whether a '-' at the start of its line or after white space was found
 * (*dash, its offset). */
static bool item_dash(const struct yaml_edit_doc *d, size_t lo, size_t pos, size_t *dash, bool *below)
{
	size_t j = back_over_blanks(d, lo, pos, below);

	if (j == lo || d->buf[j - 1] != '-' || (j - 1 > 0 && !strchr(" \t\n", d->buf[j - 2])))
		return false;
	*dash = j - 1;
	return true;
}

/* Looks at the lines below the one of `pos` that are blank or comments, up to the next line with
 * content: returns the start of the line after the last of them whose leading white space holds
 * a tab (the end of the text when that line has no line break), or `pos` when none does.
 * *tab_column (may be NULL): the lowest 0-based column of such a tab, UINT_MAX when none. */
static size_t past_tab_lines(const struct yaml_edit_doc *d, size_t pos, unsigned *tab_column)
{
	const char *nl = memchr(d->buf + pos, '\n', d->len - pos);
	size_t past = pos;
	unsigned lowest = UINT_MAX;

	for (size_t i = nl ? (size_t)(nl - d->buf) + 1 : d->len; i < d->len;) {
		size_t ls = i, tab = SIZE_MAX;

		while (i < d->len && strchr(" \t\r", d->buf[i])) {
			if (d->buf[i] == '\t' && tab == SIZE_MAX)
				tab = i - ls;
			i++;
		}
		if (i < d->len && d->buf[i] != '\n' && d->buf[i] != '#')
			break;
		nl = memchr(d->buf + i, '\n', d->len - i);
		i = nl ? (size_t)(nl - d->buf) + 1 : d->len;
		if (tab != SIZE_MAX) {
			past = i;
			if (tab < lowest)
				lowest = (unsigned)tab;
		}
	}
	if (tab_column)
		*tab_column = lowest;
	return past;
}

/* Whether a line below the one of `pos`, blank or a comment, holds a tab before the next line
 * with content. */
static bool tab_in_blank_lines_after(const struct yaml_edit_doc *d, size_t pos)
{
	return past_tab_lines(d, pos, NULL) != pos;
}

/* The length of the text in `b` without the line breaks that end it. */
static size_t len_before_line_breaks(const struct ye_buf *b)
{
	size_t n = b->len;

	while (n > 0 && (b->p[n - 1] == '\n' || b->p[n - 1] == '\r'))
		n--;
	return n;
}

/* Whether the text in `b` (before a final line break) ends in a plain scalar, the only value that
 * a blank line holding a tab may follow: after a quoted, flow or empty value (`k: ''`, `k: []`,
 * `k:`) libyaml reads the tab as indentation and refuses the document (found by fuzzing). A plain
 * scalar ending in a quote is taken for a quoted one: a refusal, never a broken file. */
static bool ends_in_plain(const struct ye_buf *b)
{
	size_t n = len_before_line_breaks(b);

	return n > 0 && b->p[n - 1] != '\0' && !strchr("'\"]}: \t", b->p[n - 1]);
}

/* The 0-based column of the innermost block collection open at the end of `b` (written from
 * 0-based column `col0` on), as told by its last line: the column of its last entry when that is
 * a key (`  - a: 1`, `    c: y`), else that of the last "- " (`  - 1`), else that of the text. */
static unsigned last_block_column(const struct ye_buf *b, unsigned col0)
{
	size_t n = len_before_line_breaks(b), i;
	unsigned col, dash = UINT_MAX;

	for (i = n; i > 0 && b->p[i - 1] != '\n'; i--)
		;
	col = i == 0 ? col0 : 0;
	for (;;) {
		for (; i < n && b->p[i] == ' '; i++)
			col++;
		if (i + 1 >= n || b->p[i] != '-' || b->p[i + 1] != ' ')
			break;
		dash = col;
		i++;
		col++;
	}
	if (dash == UINT_MAX || (n > i && (b->p[n - 1] == ':' || memmem(b->p + i, n - i, ": ", 2))))
		return col;
	return dash;
}

/* Whether block text `b`, written from 0-based column `col0` in place of the text ending at `end`,
 * may stand above the blank lines that follow. A tab in their leading white space is taken into
 * a plain scalar ending `b` only right of the innermost block collection's column; libyaml
 * refuses it otherwise ("a tab character that violates indentation", yaml_parser_scan_plain_scalar
 * with indent + 1; found by fuzzing: `a: x\n \t` set to [1]). */
static bool block_fits_tab_lines(const struct yaml_edit_doc *d, size_t end, const struct ye_buf *b, unsigned col0)
{
	unsigned tab_column;

	if (past_tab_lines(d, end, &tab_column) == end)
		return true;
	return ends_in_plain(b) && tab_column > last_block_column(b, col0);
}

/* splice() of a block value written at `start` in place of node `t`, refused when it cannot stand
 * above the blank lines that follow (block_fits_tab_lines). */
static int splice_block(const struct yaml_edit_doc *d, size_t start, size_t end, const struct ye_buf *b, char **out,
			size_t *out_len, struct yaml_edit_span *span, char *err, size_t errlen,
			const struct yaml_edit_node *t)
{
	if (!b->oom && !block_fits_tab_lines(d, end, b, pos_column(d, start) - 1))
		return ye_fail(err, errlen, -EINVAL,
			       "%u:%u: refusing to write this value above a blank line that holds a tab left of "
			       "its indentation",
			       t->line, t->column);
	return splice(d, start, end, b, out, out_len, span, err, errlen);
}

/* Replaces existing node `ti` (a mapping value or a list item) with `v`. */
static int replace_node(const struct yaml_edit_doc *d, int32_t ti, const struct ye_val *v, struct ye_render *r,
			char **out, size_t *out_len, struct yaml_edit_span *span, char *err, size_t errlen)
{
	const struct yaml_edit_node *t = node_at(d, ti), *p = node_at(d, t->parent), *k = NULL;
	struct ye_buf *b = r->out;
	size_t start = t->start, end = t->end, colon = 0, dash = 0;
	unsigned dash_column = 0; /* list items: the column of their '-' */
	bool t_block = (t->kind == YAML_EDIT_MAPPING || t->kind == YAML_EDIT_SEQUENCE) && t->style == YAML_EDIT_BLOCK;
	bool t_empty = t->kind == YAML_EDIT_SCALAR && t->start == t->end;
	int rc;

	if (t->kind == YAML_EDIT_SCALAR && (t->style == YAML_EDIT_SINGLE_QUOTED || t->style == YAML_EDIT_DOUBLE_QUOTED))
		r->prefer = t->style;
	if (!p)
		return ye_fail(err, errlen, -EINVAL, "refusing to replace the whole document");
	rc = check_explicit_keys(d, p, NULL, err, errlen);
	if (rc < 0)
		return rc;
	if (p->kind == YAML_EDIT_MAPPING) {
		for (int32_t i = p->first; i >= 0; i = d->nodes[i].next)
			if (d->nodes[i].next == ti && d->nodes[i].is_key)
				k = &d->nodes[i];
		if (!k)
			return ye_fail(err, errlen, -EINVAL, "internal error: value without key");
	}
	if (p->style == YAML_EDIT_FLOW && k && (k->anchored || k->tagged))
		/* `{&a \n\nz}`: where the key's text starts is not where libyaml sees it (found by
		 * fuzzing) */
		return ye_fail(err, errlen, -EINVAL,
			       "%u:%u: refusing to edit the value of an anchored or tagged flow key", k->line,
			       k->column);
	if (p->style == YAML_EDIT_FLOW) {
		if (t_empty) {
			size_t j = start, j2;
			bool newline;

			while (j > 0 && d->buf[j - 1] == ' ')
				j--;
			/* over line breaks, and comments: a ':' inside one is not the pair's (found by
			 * fuzzing: `{k # c:\n}`) */
			j2 = back_over_blanks(d, p->start, j, &newline);
			if (j2 < j && j2 > 0 && d->buf[j2 - 1] == ':') {
				/* `{ k:` with the empty value at the next line: write it after the ':' */
				start = end = j2;
				buf_putc(b, ' ');
			} else if (newline) {
				return ye_fail(err, errlen, -EINVAL,
					       "%u:%u: cannot find where to write this empty flow value", t->line,
					       t->column);
			} else {
				buf_puts(b, j > 0 && d->buf[j - 1] == ':' ? " " : ": ");
			}
		}
		put_flow(r, v);
		return splice(d, start, end, b, out, out_len, span, err, errlen);
	}
	/* block parent */
	bool want_block = val_is_block(v) && !(t->kind != YAML_EDIT_SCALAR && t->style == YAML_EDIT_FLOW);

	if (k) {
		rc = find_colon(d, k, &colon, err, errlen);
		if (rc < 0)
			return rc;
	} else {
		/* A list item: its '-' gives the indentation (not the list's start, which may be its
		 * tag: `k: !\n  -`). A value standing on a later line than its '-', at no deeper column
		 * ("-\n>-\n"), would become a sibling if written there, so the new value is written on
		 * that line indented under the '-'; comments between them stay (found by fuzzing). When
		 * the '-' cannot be told for sure, the edit is refused. */
		bool below;

		if (!item_dash(d, p->start, start, &dash, &below) && (below || t_empty))
			return ye_fail(err, errlen, -EINVAL, "%u:%u: cannot find the '-' of this list item", t->line,
				       t->column);
		dash_column = pos_column(d, dash);
		if (!t_empty && below && t->column <= dash_column) {
			size_t ls = line_start(d, start);
			unsigned indent = dash_column - 1 + 2;

			for (size_t i = ls; i < start; i++)
				if (d->buf[i] != ' ')
					return ye_fail(err, errlen, -EINVAL,
						       "%u:%u: refusing to re-indent a list item value that follows "
						       "a tab or other text on its line",
						       t->line, t->column);
			start = ls;
			for (unsigned i = 0; i < indent; i++)
				buf_putc(b, ' ');
			if (want_block)
				put_block_inline(r, v, indent);
			else if (val_kind(v) == YAML_EDIT_SCALAR || val_kind(v) == YAML_EDIT_ALIAS)
				put_scalar(r, v, false, false);
			else
				put_flow(r, v);
			return splice_block(d, start, end, b, out, out_len, span, err, errlen, t);
		}
	}
	if (!want_block) {
		if (k && (t_block || t_empty || t->tagged || t->column <= k->column)) {
			start = colon + 1;
			buf_putc(b, ' ');
		} else if (t_empty) {
			buf_putc(b, ' ');
		}
		if (val_kind(v) == YAML_EDIT_SCALAR || val_kind(v) == YAML_EDIT_ALIAS) {
			put_scalar(r, v, false, k != NULL);
		} else {
			put_flow(r, v);
		}
		bool tab_below = tab_in_blank_lines_after(d, end);

		if (k && !b->oom && (b->len == 0 || (b->len == 1 && b->p[0] == ' '))) {
			/* a null written as `key:`, or as `key: null` where a blank or comment line
			 * below holds a tab: after a bare `key:` libyaml reads that tab as the value's
			 * indentation and refuses the document (found by fuzzing) */
			b->len = 0;
			start = colon + 1;
			if (tab_below)
				buf_puts(b, " null");
		}
		/* Only a plain scalar takes such a tab line into itself; after a quoted or flow value
		 * libyaml refuses it (found by fuzzing: `- d1c\n   \t` set to '5') */
		if (!b->oom && tab_below && !ends_in_plain(b))
			return ye_fail(err, errlen, -EINVAL,
				       "%u:%u: refusing to write this value above a blank line that holds a tab "
				       "(only a plain value may stand there)",
				       t->line, t->column);
		return splice(d, start, end, b, out, out_len, span, err, errlen);
	}
	if (k) {
		bool inline_ok =
			t_block && !t->tagged &&
			(t->column > k->column || (t->kind == YAML_EDIT_SEQUENCE && val_kind(v) == YAML_EDIT_SEQUENCE));

		if (inline_ok) {
			put_block_inline(r, v, t->column - 1);
		} else {
			start = colon + 1;
			if (val_kind(v) == YAML_EDIT_MAPPING)
				put_block_map(r, v, k->column - 1 + r->step, false);
			else
				put_block_seq(r, v, k->column - 1 + r->step, false);
		}
		return splice_block(d, start, end, b, out, out_len, span, err, errlen, t);
	}
	/* a list item: after "- " */
	if (t_empty) {
		buf_putc(b, ' ');
		put_block_inline(r, v, dash_column - 1 + 2);
	} else {
		put_block_inline(r, v, t->column - 1);
	}
	return splice_block(d, start, end, b, out, out_len, span, err, errlen, t);
}

/* Whether flow mapping `p`, whose closing '}' is at `close`, has a ',' after its last entry.
 * Only white space, comments and that comma can stand between the last key or value and the
 * '}'; a comment may itself hold a comma (`{a: 1  # x, y\n}`), so it is skipped, not searched
 * backwards from the brace (found by fuzzing). Every '#' there starts a comment, even one glued to
 * the token before it (`[x]#, y`): libyaml's scanner takes a '#' met between tokens as a comment
 * (yaml_parser_scan_to_next_token), and only tokens, never a plain scalar, end in this range. */
static bool flow_trailing_comma(const struct yaml_edit_doc *d, const struct yaml_edit_node *p, size_t close)
{
	size_t from = p->start + 1;
	bool comment = false;

	for (const struct yaml_edit_node *k = yaml_edit_first(d, p); k; k = yaml_edit_next(d, k)) {
		const struct yaml_edit_node *v = yaml_edit_value(d, k);

		if (k->end > from)
			from = k->end;
		if (v && v->end > from)
			from = v->end;
	}
	for (size_t i = from; i < close; i++) {
		char c = d->buf[i];

		if (comment) {
			comment = c != '\n' && c != '\r';
		} else if (c == '#') {
			comment = true;
		} else if (c == ',') {
			return true;
		}
	}
	return false;
}

/* Adds key comps[0] with value `v` (wrapped in comps[1..]) to mapping `pi` (or the end of the file). */
static int insert_key(const struct yaml_edit_doc *d, int32_t pi, const struct ye_val *v, struct ye_render *r,
		      char **out, size_t *out_len, struct yaml_edit_span *span, char *err, size_t errlen)
{
	const struct yaml_edit_node *p = node_at(d, pi);
	struct ye_buf *b = r->out;
	size_t pos;
	int rc = check_explicit_keys(d, p, NULL, err, errlen);

	if (rc < 0)
		return rc;
	if (implicit_pair(d, p))
		return ye_fail(err, errlen, -EINVAL,
			       "%u:%u: refusing to add a key to a single-pair mapping in a flow list ('[k: v]')",
			       p->line, p->column);
	if (p && p->style == YAML_EDIT_FLOW) {
		pos = p->end;
		if (pos == 0 || d->buf[pos - 1] != '}')
			return ye_fail(err, errlen, -EINVAL, "%u:%u: cannot find the end of this flow mapping", p->line,
				       p->column);
		pos--;
		if (p->count > 0 && !flow_trailing_comma(d, p, pos))
			buf_puts(b, ", ");
		put_flow(r, v); /* v is the wrapping mapping: strip its braces below */
		if (!b->oom) {
			/* put_flow wrote "{key: value}" (after the optional ", "): drop the braces */
			// NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): put_flow wrote at least "{}"
			char *brace = memchr(b->p, '{', b->len);

			if (brace) {
				memmove(brace, brace + 1, (size_t)(b->p + b->len - brace - 1));
				b->len -= 2;
				b->p[b->len] = '\0';
			}
		}
		return splice(d, pos, pos, b, out, out_len, span, err, errlen);
	}
	if (!p || p->depth == 0) {
		/* top level: append at the end of the file */
		if (d->explicit_end)
			return ye_fail(err, errlen, -EINVAL,
				       "the document ends with '...': refusing to append a key after it");
		unsigned indent = 0;

		/* a document indented as a whole keeps its indentation: the column of the mapping, or
		 * of its first key when a tag or an anchor stands on the line above (`  !!map\nm: 1`) */
		if (p && p->kind == YAML_EDIT_MAPPING) {
			const struct yaml_edit_node *k =
				(p->tagged || p->anchored) && p->first >= 0 ? node_at(d, p->first) : p;
			size_t ls = line_start(d, k->start);

			if (ls == 0 && d->bom && k->start >= d->bom)
				ls = d->bom; /* the byte order mark is not indentation */
			if (memmem(d->buf + ls, k->start - ls, "\xef\xbb\xbf", 3))
				return ye_fail(err, errlen, -EINVAL,
					       "%u:%u: a byte order mark before the first key: refusing to add a "
					       "top-level key",
					       k->line, k->column);
			if (!only_spaces(d, ls, k->start))
				return ye_fail(err, errlen, -EINVAL,
					       "%u:%u: the first top-level key does not start its line: refusing to "
					       "add a top-level key",
					       k->line, k->column);
			indent = (unsigned)(k->start - ls);
		}
		pos = d->len;
		if (pos > 0 && d->buf[pos - 1] != '\n')
			buf_puts(b, r->eol);
		buf_pad(b, indent);
		put_block_map(r, v, indent, true);
		buf_puts(b, r->eol);
		return splice(d, pos, pos, b, out, out_len, span, err, errlen);
	}
	/* after the last value of a nested block mapping, at the column of its keys (not that of
	 * a tag before them: `m: !!map`) */
	const struct yaml_edit_node *last = node_at(d, p->last);
	unsigned indent = p->first >= 0 ? d->nodes[p->first].column - 1 : p->column - 1;
	bool at_line_start = last->tail != last->end && (last->tail == 0 || d->buf[last->tail - 1] == '\n');

	pos = at_line_start ? last->tail : line_end(d, last->end);
	/* Blank lines that hold a tab may follow only a plain scalar, and only at no lesser column
	 * than its block's indentation: libyaml refuses them after `k: ''` or below a deeper new
	 * `- 1` (found by fuzzing). The new key goes below them, where the old last value keeps
	 * them as they are. */
	size_t from = at_line_start && pos > 0 ? pos - 1 : pos, past = past_tab_lines(d, from, NULL);

	if (past != from) {
		pos = past;
		at_line_start = true;
	}
	if (at_line_start) {
		if (pos > 0 && d->buf[pos - 1] != '\n')
			buf_puts(b, r->eol);
		buf_pad(b, indent);
		put_block_map(r, v, indent, true);
		buf_puts(b, r->eol);
	} else {
		put_block_map(r, v, indent, false);
	}
	return splice(d, pos, pos, b, out, out_len, span, err, errlen);
}

/* Whether tagged node `n` of a value means the same once written without its tag: a string
 * (`!!str 5`, written quoted), an empty null, or a plain scalar that resolves to its tag's type
 * (`!!int 5`). Tagged lists and mappings, local tags and the rest are refused. */
static bool tag_kept(const struct yaml_edit_node *n)
{
	if (n->kind != YAML_EDIT_SCALAR || n->type == YAML_EDIT_OTHER)
		return false;
	if (n->type == YAML_EDIT_STR || (n->type == YAML_EDIT_NULL && n->value_len == 0))
		return true;
	return n->style == YAML_EDIT_PLAIN && yaml_edit_resolve_plain(n->value, n->value_len) == n->type;
}

static int parse_value(const char *value, struct yaml_edit_doc **vdoc, char *err, size_t errlen)
{
	char verr[YAML_EDIT_ERR_MAX];
	int rc;

	rc = yaml_edit_parse(value ? value : "", value ? strlen(value) : 0, vdoc, verr, sizeof(verr));
	if (rc < 0)
		return ye_fail(err, errlen, rc, "value '%.*s': %s", YE_QUOTE_MAX, value ? value : "", verr);
	// NOLINTNEXTLINE(clang-analyzer-core.NullDereference): set when yaml_edit_parse() returns 0
	for (size_t i = 0; i < (*vdoc)->n_nodes; i++) {
		const struct yaml_edit_node *n = &(*vdoc)->nodes[i];

		const char *why = NULL;

		if (n->anchored)
			why = "anchors and aliases are not allowed";
		else if (n->is_key && n->kind != YAML_EDIT_SCALAR)
			why = "keys that are lists or mappings are not allowed";
		else if (n->tagged && !tag_kept(n))
			why = "a tag that plain text cannot keep is not allowed";
		if (why) {
			rc = ye_fail(err, errlen, -EINVAL, "value '%.*s': %u:%u: %s", YE_QUOTE_MAX, value, n->line,
				     n->column, why);
			yaml_edit_free(*vdoc);
			*vdoc = NULL;
			return rc;
		}
	}
	return 0;
}

/* How many lists and mappings nest at the deepest point of value document `vd` (0 for a scalar). */
static unsigned value_depth(const struct yaml_edit_doc *vd)
{
	unsigned depth = 0;

	for (size_t i = 0; i < vd->n_nodes; i++)
		if (vd->nodes[i].kind == YAML_EDIT_MAPPING || vd->nodes[i].kind == YAML_EDIT_SEQUENCE)
			if (vd->nodes[i].depth + 1 > depth)
				depth = vd->nodes[i].depth + 1;
	return depth;
}

/* Refuses an edit whose result would nest `outer` lists and mappings (those around the place
 * written, and the new mappings of the path) and `inner` ones (the value) deeper than
 * YAML_EDIT_MAX_DEPTH: the result could not be parsed again (found by fuzzing: a value 60
 * lists deep set at a.b.c). */
static int check_depth(unsigned outer, unsigned inner, const char *path, char *err, size_t errlen)
{
	if (outer + inner > YAML_EDIT_MAX_DEPTH)
		return ye_fail(err, errlen, -EINVAL, "%s: the result would nest %u levels, more than %u", path,
			       outer + inner, YAML_EDIT_MAX_DEPTH);
	return 0;
}

int yaml_edit_set(const struct yaml_edit_doc *doc, const char *path, const char *value, unsigned flags, char **out,
		  size_t *out_len, struct yaml_edit_span *span, char *err, size_t errlen)
{
	struct ye_comp comps[YAML_EDIT_MAX_PATH];
	struct yaml_edit_doc *vdoc = NULL, empty = {.root = -1};
	struct ye_buf b = {0};
	struct ye_render r = {.out = &b,
			      .eol = doc->crlf ? "\r\n" : "\n",
			      .step = doc->step,
			      .as_string = flags & YAML_EDIT_AS_STRING};
	struct yaml_edit_node null_node = {.kind = YAML_EDIT_SCALAR,
					   .type = YAML_EDIT_NULL,
					   .value = "",
					   .parent = -1,
					   .first = -1,
					   .last = -1,
					   .next = -1};
	struct ye_val v;
	char prefix[256];
	size_t n, matched, i;
	int32_t node;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (err && errlen)
		err[0] = '\0';
	rc = path_parse(path, comps, &n, err, errlen);
	if (rc < 0)
		return rc;
	rc = parse_value(value, &vdoc, err, errlen);
	if (rc < 0)
		return rc;
	// NOLINTNEXTLINE(clang-analyzer-core.NullDereference): set when parse_value() returns 0
	if (vdoc->root < 0) { /* empty value: null */
		empty.nodes = &null_node;
		empty.n_nodes = 1;
		empty.root = 0;
	}
	v = (struct ye_val){
		.doc = vdoc->root < 0 ? &empty : vdoc, .node = vdoc->root < 0 ? 0 : vdoc->root, .root = true};
	rc = walk(doc, path, comps, n, &node, &matched, err, errlen);
	if (rc < 0)
		goto done;
	if (matched == n) {
		rc = check_depth(node_at(doc, node)->depth, value_depth(vdoc), path, err, errlen);
		if (rc == 0)
			rc = check_anchors(doc, node_at(doc, node), false, path, err, errlen);
		if (rc == 0)
			rc = replace_node(doc, node, &v, &r, out, out_len, span, err, errlen);
		goto done;
	}
	for (i = matched; i < n; i++) {
		if (comps[i].is_index) {
			rc = ye_fail(err, errlen, -ENOENT, "%s: list items are not created; [%ld] does not exist", path,
				     comps[i].index);
			goto done;
		}
	}
	path_prefix(path, comps, matched, prefix, sizeof(prefix));
	const struct yaml_edit_node *p = node_at(doc, node);

	if (p && p->kind != YAML_EDIT_MAPPING) {
		if (p->kind == YAML_EDIT_SCALAR && p->type == YAML_EDIT_NULL && matched > 0 && p->parent >= 0) {
			/* `parent:` with no value becomes a mapping */
			struct ye_val w = {.doc = v.doc,
					   .node = v.node,
					   .wrap = comps + matched,
					   .nwrap = n - matched,
					   .root = true};

			rc = check_depth(p->depth + (unsigned)(n - matched), value_depth(vdoc), path, err, errlen);
			if (rc == 0)
				rc = check_anchors(doc, p, false, path, err, errlen);
			if (rc == 0)
				rc = replace_node(doc, node, &w, &r, out, out_len, span, err, errlen);
			goto done;
		}
		rc = ye_fail(err, errlen, -EINVAL, "%s: %s is a %s, not a mapping", path, prefix,
			     p->kind == YAML_EDIT_SEQUENCE ? "list"
			     : p->kind == YAML_EDIT_ALIAS  ? "alias"
							   : "scalar");
		goto done;
	}
	if (p) {
		rc = check_anchors(doc, p, false, path, err, errlen);
		if (rc < 0)
			goto done;
	}
	struct ye_val w = {.doc = v.doc, .node = v.node, .wrap = comps + matched, .nwrap = n - matched, .root = true};

	/* p, then a mapping for each path component after the new key */
	rc = check_depth((p ? p->depth : 0) + (unsigned)(n - matched), value_depth(vdoc), path, err, errlen);
	if (rc < 0)
		goto done;
	rc = insert_key(doc, node, &w, &r, out, out_len, span, err, errlen);
done:
	free(b.p);
	yaml_edit_free(vdoc);
	return rc;
}

/* The dash of item `it` of block sequence `seq`. */
static int find_dash(const struct yaml_edit_doc *d, const struct yaml_edit_node *seq, const struct yaml_edit_node *it,
		     size_t *pos)
{
	const struct yaml_edit_node *prev = NULL;
	size_t i;

	for (const struct yaml_edit_node *c = yaml_edit_first(d, seq); c && c != it; c = yaml_edit_next(d, c))
		prev = c;
	i = prev ? prev->end : seq->start;
	while (i < it->start) {
		char c = d->buf[i];

		if (c == '-') {
			*pos = i;
			return 0;
		}
		if (c == '#') {
			i = next_line(d, i);
			continue;
		}
		i++;
	}
	return -EINVAL;
}

/* Whether the text just before `pos` is a tag (`!`, `!!str`, `!:0`): libyaml wants white space,
 * or in a flow collection a ',', after one (yaml_parser_scan_tag), never a ']' or '}'. A quoted
 * scalar holding " !x" at its end is taken for one too: one space more, never a broken file. */
static bool tag_before(const struct yaml_edit_doc *d, size_t pos)
{
	size_t i = pos;

	while (i > 0 && !strchr(" \t\r\n,[]{}", d->buf[i - 1]))
		i--;
	return i < pos && d->buf[i] == '!';
}

int yaml_edit_unset(const struct yaml_edit_doc *doc, const char *path, char **out, size_t *out_len,
		    struct yaml_edit_span *span, char *err, size_t errlen)
{
	const struct yaml_edit_node *t, *p, *k = NULL, *prev = NULL, *nxt = NULL;
	struct ye_buf b = {0};
	size_t start, end;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (err && errlen)
		err[0] = '\0';
	rc = yaml_edit_lookup(doc, path, &t, err, errlen);
	if (rc < 0)
		return rc;
	p = yaml_edit_parent(doc, t);
	if (!p)
		return ye_fail(err, errlen, -EINVAL, "%s: refusing to delete the whole document", path);
	rc = check_anchors(doc, t, true, path, err, errlen);
	if (rc == 0)
		rc = check_explicit_keys(doc, p, path, err, errlen);
	if (rc < 0)
		return rc;
	if (implicit_pair(doc, p))
		return ye_fail(err, errlen, -EINVAL,
			       "%s: %u:%u: refusing to delete the key of a single-pair mapping in a flow list "
			       "('[k: v]'): the item would go",
			       path, p->line, p->column);
	/* the entry: the key (mappings) or the item (lists) and its neighbours */
	if (p->kind == YAML_EDIT_MAPPING) {
		for (const struct yaml_edit_node *c = yaml_edit_first(doc, p); c; c = yaml_edit_next(doc, c)) {
			if (yaml_edit_value(doc, c) == t) {
				k = c;
				nxt = yaml_edit_next(doc, c);
				break;
			}
			prev = c;
		}
		if (!k)
			return ye_fail(err, errlen, -EINVAL, "internal error: value without key");
	} else {
		for (const struct yaml_edit_node *c = yaml_edit_first(doc, p); c; c = yaml_edit_next(doc, c)) {
			if (c == t) {
				nxt = yaml_edit_next(doc, c);
				break;
			}
			prev = c;
		}
	}
	const struct yaml_edit_node *first = k ? k : t;

	if (p->style == YAML_EDIT_FLOW) {
		if (prev) {
			const struct yaml_edit_node *pv = prev->is_key ? yaml_edit_value(doc, prev) : prev;

			start = pv->end;
			end = t->end;
			/* a tag needs white space after it: `{a: !, b: 1}` -> `{a: ! }`, not `{a: !}`;
			 * the tag may be the key's (`{ !:0, b: 1}`, found by fuzzing) */
			if (tag_before(doc, start))
				buf_putc(&b, ' ');
		} else if (nxt) {
			start = first->start;
			end = nxt->start;
		} else {
			start = first->start;
			end = t->end;
			/* the only entry, with a trailing comma (`{a: 1, }`): the comma goes too */
			for (size_t j = end; j < doc->len && strchr(" \t\r\n,", doc->buf[j]); j++) {
				if (doc->buf[j] == ',') {
					end = j + 1;
					break;
				}
			}
		}
		if (start > end) {
			free(b.p);
			return ye_fail(err, errlen, -EINVAL, "%s: cannot delete from this flow collection", path);
		}
		/* what stays must not begin a line with `---` or `...`: at column 0 that is a document
		 * marker (`{\nz\n, ... }` without z; found by fuzzing) */
		if (b.len == 0 && (start == 0 || doc->buf[start - 1] == '\n') && end + 3 <= doc->len &&
		    (memcmp(doc->buf + end, "---", 3) == 0 || memcmp(doc->buf + end, "...", 3) == 0))
			buf_putc(&b, ' ');
		rc = splice(doc, start, end, &b, out, out_len, span, err, errlen);
		free(b.p);
		return rc;
	}
	if (p->count == 1) {
		const struct yaml_edit_node *pk = NULL, *pp = yaml_edit_parent(doc, p);
		size_t from = p->start, colon;

		for (const struct yaml_edit_node *c = pp ? yaml_edit_first(doc, pp) : NULL;
		     c && pp->kind == YAML_EDIT_MAPPING; c = yaml_edit_next(doc, c))
			if (yaml_edit_value(doc, c) == p)
				pk = c;
		if (pk && pp->style == YAML_EDIT_BLOCK && p->column <= pk->column) {
			/* a list at its key's indentation (`k:\n- a`): `k: []` */
			rc = find_colon(doc, pk, &colon, err, errlen);
			if (rc < 0)
				return rc;
			// NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): set by find_colon() == 0
			from = colon + 1;
			buf_putc(&b, ' ');
		}
		/* the parent keeps its type: `{}` or `[]` where its only entry was; a blank line
		 * holding a tab below would not parse after it (`me: o\n \t`, found by fuzzing) */
		if (tab_in_blank_lines_after(doc, p->end > 0 ? p->end - 1 : 0)) {
			free(b.p);
			return ye_fail(err, errlen, -EINVAL,
				       "%s: %u:%u: refusing to delete the only entry above a blank line holding a tab",
				       path, t->line, t->column);
		}
		buf_puts(&b, p->kind == YAML_EDIT_MAPPING ? "{}" : "[]");
		rc = splice(doc, from, p->end, &b, out, out_len, span, err, errlen);
		free(b.p);
		return rc;
	}
	if (p->kind == YAML_EDIT_MAPPING) {
		start = first->start;
	} else if (find_dash(doc, p, t, &start) < 0) {
		return ye_fail(err, errlen, -EINVAL, "%s: %u:%u: cannot find the '-' of this item", path, t->line,
			       t->column);
	}
	if (only_spaces(doc, line_start(doc, start), start)) {
		start = line_start(doc, start);
		end = next_line(doc, t->end);
		/* blank lines holding a tab may no longer be read as blank after what comes before */
		for (size_t j = end; j < doc->len && strchr(" \t\r\n", doc->buf[j]); j++)
			if (doc->buf[j] == '\t')
				return ye_fail(err, errlen, -EINVAL,
					       "%s: %u:%u: refusing to delete before a blank line holding a tab", path,
					       pos_line(doc, j), pos_column(doc, j));
	} else if (p->kind == YAML_EDIT_MAPPING) {
		/* `- key: v` with more keys below: keep the dash, its item goes on to the next lines */
		end = line_end(doc, t->end);
	} else {
		return ye_fail(err, errlen, -EINVAL, "%s: %u:%u: cannot delete an item of a compact nested list", path,
			       t->line, t->column);
	}
	return splice(doc, start, end, &b, out, out_len, span, err, errlen);
}

/* Seeds. */

static bool ipv4_ok(const char *s, size_t n)
{
	char tmp[INET_ADDRSTRLEN];
	struct in_addr a;

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET, tmp, &a) == 1;
}

static bool ipv6_ok(const char *s, size_t n)
{
	char tmp[INET6_ADDRSTRLEN];
	struct in6_addr a;

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET6, tmp, &a) == 1;
}

static bool hostname_ok(const char *s, size_t n)
{
	size_t label = 0, i;
	bool numeric = true;

	if (n == 0 || n > 253)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-'))
			return false;
		if (c == '-' && label == 0)
			return false;
		if (!is_digit(c))
			numeric = false;
		if (++label > 63)
			return false;
	}
	if (label == 0 || s[n - 1] == '-')
		return false;
	/* all-numeric names are IPv4 addresses or nothing */
	return !numeric;
}

static bool port_ok(const char *s, size_t n)
{
	long v = 0;

	if (n == 0 || n > 5 || s[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

int yaml_edit_seed_check(const char *seed, unsigned flags, char *err, size_t errlen)
{
	size_t n = strlen(seed), host_len = n;
	const char *host = seed, *colon, *port = NULL;
	size_t port_len = 0;

	if (n == 0)
		return ye_fail(err, errlen, -EINVAL, "empty seed");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)seed[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit((char)c) || strchr(".-:[]", c)))
			return ye_fail(
				err, errlen, -EINVAL,
				"seed '%.*s': character %s%c%s not allowed (addresses and host names only; no "
				"spaces or shell metacharacters)",
				YE_QUOTE_MAX, seed, c >= 0x21 && c < 0x7f ? "'" : "", c >= 0x21 && c < 0x7f ? c : '?',
				c >= 0x21 && c < 0x7f ? "'" : (c == ' ' ? " (space)" : " (control or non-ASCII)"));
	}
	if (seed[0] == '[') {
		const char *close = strchr(seed, ']');

		if (!close || !ipv6_ok(seed + 1, (size_t)(close - seed - 1)))
			return ye_fail(err, errlen, -EINVAL, "seed '%.*s': not an IPv6 address in brackets",
				       YE_QUOTE_MAX, seed);
		if (close[1] == ':') {
			port = close + 2;
			port_len = strlen(port);
		} else if (close[1]) {
			return ye_fail(err, errlen, -EINVAL, "seed '%.*s': unexpected text after ']'", YE_QUOTE_MAX,
				       seed);
		}
	} else if (ipv6_ok(seed, n)) {
		return 0;
	} else {
		colon = strchr(seed, ':');
		if (colon) {
			if (strchr(colon + 1, ':'))
				return ye_fail(err, errlen, -EINVAL, "seed '%.*s': not an IPv6 address", YE_QUOTE_MAX,
					       seed);
			host_len = (size_t)(colon - seed);
			port = colon + 1;
			port_len = strlen(port);
		}
		if (!ipv4_ok(host, host_len) && !hostname_ok(host, host_len))
			return ye_fail(err, errlen, -EINVAL, "seed '%.*s': not an IPv4 address or host name",
				       YE_QUOTE_MAX, seed);
	}
	if (port) {
		if (!(flags & YAML_EDIT_SEEDS_PORT))
			return ye_fail(err, errlen, -EINVAL,
				       "seed '%.*s': a port in seeds needs Cassandra 4.0 or later", YE_QUOTE_MAX, seed);
		if (!port_ok(port, port_len))
			return ye_fail(err, errlen, -EINVAL, "seed '%.*s': port must be 1-65535", YE_QUOTE_MAX, seed);
	}
	return 0;
}

static bool seed_seen(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(list[i], s) == 0)
			return true;
	return false;
}

int yaml_edit_set_seeds(const struct yaml_edit_doc *doc, const char *const *seeds, size_t n_seeds,
			const char *const *external, size_t n_external, unsigned flags, char **out, size_t *out_len,
			struct yaml_edit_span *span, char *err, size_t errlen)
{
	const char **kept = NULL;
	const struct yaml_edit_node *sp;
	struct ye_buf b = {0};
	size_t n = 0, total = n_seeds + n_external;
	char lerr[YAML_EDIT_ERR_MAX];
	int rc;

	*out = NULL;
	*out_len = 0;
	if (total > YE_INDEX_MAX)
		return ye_fail(err, errlen, -EINVAL, "too many seeds");
	kept = calloc(total ? total : 1, sizeof(*kept));
	if (!kept)
		return ye_fail(err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < total; i++) {
		const char *s = i < n_seeds ? seeds[i] : external[i - n_seeds];

		rc = yaml_edit_seed_check(s, flags, err, errlen);
		if (rc < 0)
			goto done;
		if (!seed_seen(kept, n, s))
			kept[n++] = s;
	}
	if (n == 0) {
		rc = ye_fail(err, errlen, -EINVAL, "the seed list may not be empty");
		goto done;
	}
	/* the value, as YAML: a double-quoted string (the checked characters need no escapes) */
	rc = yaml_edit_lookup(doc, "seed_provider", &sp, lerr, sizeof(lerr));
	if (rc == -ENOENT)
		buf_puts(&b, "[{class_name: org.apache.cassandra.locator.SimpleSeedProvider, parameters: [{seeds: ");
	buf_putc(&b, '"');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(&b, ',');
		buf_puts(&b, kept[i]);
	}
	buf_putc(&b, '"');
	if (rc == -ENOENT)
		buf_puts(&b, "}]}]");
	if (b.oom) {
		rc = ye_fail(err, errlen, -ENOMEM, "out of memory");
		goto done;
	}
	rc = yaml_edit_set(doc, rc == -ENOENT ? "seed_provider" : YAML_EDIT_SEEDS_PATH, b.p, YAML_EDIT_AS_STRING, out,
			   out_len, span, err, errlen);
done:
	free(b.p);
	free(kept);
	return rc;
}

void yaml_edit_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

int yaml_edit_get_seeds(const struct yaml_edit_doc *doc, char ***out)
{
	const struct yaml_edit_node *n;
	char **v;
	size_t count = 1, k = 0;
	const char *s, *e;

	*out = NULL;
	// NOLINTNEXTLINE(clang-analyzer-core.NullDereference): n is set when the lookup returns 0
	if (yaml_edit_lookup(doc, YAML_EDIT_SEEDS_PATH, &n, NULL, 0) < 0 || n->kind != YAML_EDIT_SCALAR)
		return -ENOENT;
	for (size_t i = 0; i < n->value_len; i++)
		count += n->value[i] == ',';
	v = calloc(count + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	s = n->value;
	for (;;) {
		const char *comma = memchr(s, ',', (size_t)(n->value + n->value_len - s));

		e = comma ? comma : n->value + n->value_len;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		const char *t = e;

		while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
			t--;
		if (t > s) {
			v[k] = strndup(s, (size_t)(t - s));
			if (!v[k]) {
				yaml_edit_strv_free(v);
				return -ENOMEM;
			}
			k++;
		}
		if (!comma)
			break;
		s = comma + 1;
	}
	*out = v;
	return (int)k;
}
