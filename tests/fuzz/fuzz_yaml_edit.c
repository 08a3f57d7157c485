/* fuzz_yaml_edit: libFuzzer target for the surgical cassandra.yaml editor (agent/yaml_edit.c):
 * random edits on random documents.
 *
 * Input: byte 0 = operation, byte 1 = which path, byte 2 = length L of the value, then L bytes of
 * value (YAML flow text; cut at a NUL), then the document. Paths are taken from the document
 * itself (every key and list item reachable by a dotted path), or are new keys below them, or a
 * few fixed ones. Operations: set, set with YAML_EDIT_AS_STRING, unset, set_seeds (the value split
 * at commas and spaces), and render/lookup only.
 *
 * After an edit that succeeds:
 * - every byte outside the reported span is the input's, and the lengths add up;
 * - the result parses (yaml_edit_parse, so libyaml and the editor's own checks);
 * - set: the path now holds the value (same decoded scalar, or the same rendering for a list or
 *   mapping), and setting it again changes nothing;
 * - unset: a key is gone, a list is one item shorter;
 * - set_seeds: yaml_edit_get_seeds gives the seeds, deduplicated ignoring case.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "yaml_edit.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "fuzz_yaml_edit: " __VA_ARGS__);                                   \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

#define MAX_PATHS 64
#define PATH_LEN 256
#define MAX_SEEDS 8

enum op { OP_SET, OP_SET_STRING, OP_UNSET, OP_SEEDS, OP_READ, OP_COUNT };

struct paths {
	char v[MAX_PATHS][PATH_LEN];
	size_t n;
};

static bool key_ok(const struct yaml_edit_node *k)
{
	if (k->kind != YAML_EDIT_SCALAR || !k->value || !k->value_len || k->value_len != strlen(k->value) ||
	    k->value_len > 64)
		return false;
	for (size_t i = 0; i < k->value_len; i++) {
		char c = k->value[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static void add_path(struct paths *ps, const char *p)
{
	if (ps->n < MAX_PATHS && strlen(p) < PATH_LEN)
		snprintf(ps->v[ps->n++], PATH_LEN, "%s", p);
}

/* Collects the dotted paths of the nodes below `n` (whose own path is `prefix`). */
static void collect(const struct yaml_edit_doc *doc, const struct yaml_edit_node *n, const char *prefix,
		    unsigned depth, struct paths *ps)
{
	char p[PATH_LEN];
	size_t i = 0;

	if (!n || depth > 6 || ps->n >= MAX_PATHS)
		return;
	if (n->kind == YAML_EDIT_MAPPING) {
		for (const struct yaml_edit_node *k = yaml_edit_first(doc, n); k; k = yaml_edit_next(doc, k)) {
			if (!key_ok(k))
				continue;
			if (snprintf(p, sizeof p, "%s%s%s", prefix, prefix[0] ? "." : "", k->value) >= (int)sizeof p)
				continue;
			add_path(ps, p);
			collect(doc, yaml_edit_value(doc, k), p, depth + 1, ps);
		}
	} else if (n->kind == YAML_EDIT_SEQUENCE && prefix[0]) {
		for (const struct yaml_edit_node *it = yaml_edit_first(doc, n); it; it = yaml_edit_next(doc, it), i++) {
			if (snprintf(p, sizeof p, "%s[%zu]", prefix, i) >= (int)sizeof p)
				continue;
			add_path(ps, p);
			collect(doc, it, p, depth + 1, ps);
		}
	}
}

/* Path number `sel`: one of the document's, a new key below one of them, or a fixed one. */
static void pick_path(const struct paths *ps, unsigned sel, char *out)
{
	static const char *const fixed[] = {
		"new_key", "seed_provider[0].parameters[0].seeds", "client_encryption_options.enabled",
		"a.b.c", "x[0]", "bad path", "", "k[99]", "-", "a..b", "a[", "a[-1]", "a[0]]",
	};
	size_t nf = sizeof fixed / sizeof fixed[0];

	if (sel < ps->n) {
		snprintf(out, PATH_LEN, "%s", ps->v[sel]);
	} else if (sel < 2 * ps->n) {
		snprintf(out, PATH_LEN, "%.200s.added_%u", ps->v[sel - ps->n], sel % 3);
	} else {
		snprintf(out, PATH_LEN, "%s", fixed[(sel - 2 * ps->n) % nf]);
	}
}

static void check_err(int r, const char *err, const char *what)
{
	if (r < 0 && (!memchr(err, '\0', YAML_EDIT_ERR_MAX) || !err[0]))
		FAIL("%s: error %d without a terminated message", what, r);
}

/* The output of an edit against its input and span; returns the parsed output. */
static struct yaml_edit_doc *check_output(const char *in, size_t in_len, const char *out, size_t out_len,
					  const struct yaml_edit_span *sp, const char *what)
{
	struct yaml_edit_doc *doc = NULL;
	char err[YAML_EDIT_ERR_MAX];
	int r;

	if (!out)
		FAIL("%s: success without output", what);
	if (out[out_len] != '\0' || strlen(out) != out_len)
		FAIL("%s: output not NUL-terminated at out_len", what);
	if (sp->start > in_len || sp->old_len > in_len - sp->start)
		FAIL("%s: span %zu+%zu outside the input (%zu)", what, sp->start, sp->old_len, in_len);
	if (out_len != in_len - sp->old_len + sp->new_len)
		FAIL("%s: out_len %zu != %zu - %zu + %zu", what, out_len, in_len, sp->old_len, sp->new_len);
	if (memcmp(in, out, sp->start) != 0)
		FAIL("%s: bytes before the span changed", what);
	if (memcmp(in + sp->start + sp->old_len, out + sp->start + sp->new_len, in_len - sp->start - sp->old_len) != 0)
		FAIL("%s: bytes after the span changed", what);
	r = yaml_edit_parse(out, out_len, &doc, err, sizeof err);
	if (r != 0)
		FAIL("%s: the result does not parse: %d %s\n--- input\n%.*s\n--- output\n%s\n---", what, r, err,
		     (int)in_len, in, out);
	return doc;
}

/* Whether node `na` of `a` and node `nb` of `b` hold the same data: kinds, decoded scalars (and
 * their types when `types`), keys in order, items in order. yaml_edit_render is not used for this:
 * it indents with each document's own step. */
static bool same_tree(const struct yaml_edit_doc *a, const struct yaml_edit_node *na, const struct yaml_edit_doc *b,
		      const struct yaml_edit_node *nb, bool types, unsigned depth)
{
	const struct yaml_edit_node *ca, *cb;

	if (!na || !nb)
		return na == nb;
	if (na->kind != nb->kind || depth > YAML_EDIT_MAX_DEPTH)
		return false;
	switch (na->kind) {
	case YAML_EDIT_SCALAR:
		/* A null may be written `null` for an empty or `~` one; as a string, as that text. */
		if (nb->type == YAML_EDIT_NULL && (na->type == YAML_EDIT_NULL || !types))
			return true;
		return na->value_len == nb->value_len && memcmp(na->value, nb->value, na->value_len) == 0 &&
		       (!types || na->type == nb->type);
	case YAML_EDIT_ALIAS:
		return strcmp(na->value, nb->value) == 0;
	default:
		if (na->count != nb->count)
			return false;
		for (ca = yaml_edit_first(a, na), cb = yaml_edit_first(b, nb); ca && cb;
		     ca = yaml_edit_next(a, ca), cb = yaml_edit_next(b, cb)) {
			/* Keys are compared by text: the editor writes keys that YAML 1.1 would read as
			 * numbers or booleans quoted, as the names Cassandra's settings are. */
			if (!same_tree(a, ca, b, cb, types && na->kind != YAML_EDIT_MAPPING, depth + 1))
				return false;
			if (na->kind == YAML_EDIT_MAPPING &&
			    !same_tree(a, yaml_edit_value(a, ca), b, yaml_edit_value(b, cb), types, depth + 1))
				return false;
		}
		return !ca && !cb;
	}
}

static void do_set(const struct yaml_edit_doc *doc, const char *in, size_t in_len, const char *path,
		   const char *value, unsigned flags)
{
	struct yaml_edit_doc *res, *vdoc = NULL;
	const struct yaml_edit_node *node, *vroot;
	struct yaml_edit_span sp = { 0 }, sp2 = { 0 };
	char err[YAML_EDIT_ERR_MAX], *out = NULL, *out2 = NULL;
	size_t out_len = 0, out2_len = 0;
	bool keeps_style = false; /* the old value's quoting may change the new value's type */
	int r;

	if (yaml_edit_lookup(doc, path, &node, err, sizeof err) == 0)
		keeps_style = node->kind == YAML_EDIT_SCALAR && node->style != YAML_EDIT_PLAIN;
	memset(err, 'x', sizeof err);
	r = yaml_edit_set(doc, path, value, flags, &out, &out_len, &sp, err, sizeof err);
	check_err(r, err, "set");
	if (r < 0) {
		if (r != -EINVAL && r != -ENOENT && r != -ENOMEM)
			FAIL("set: unexpected %d", r);
		if (out)
			FAIL("set: output on error");
		return;
	}
	res = check_output(in, in_len, out, out_len, &sp, "set");
	r = yaml_edit_lookup(res, path, &node, err, sizeof err);
	if (r != 0)
		FAIL("set %s: the path is not in the result: %s\n%s", path, err, out);
	if (yaml_edit_parse(value, strlen(value), &vdoc, err, sizeof err) != 0)
		FAIL("set: accepted a value that does not parse");
	vroot = yaml_edit_root(vdoc);
	if (vroot && vroot->kind == YAML_EDIT_SCALAR) {
		if (node->kind != YAML_EDIT_SCALAR)
			FAIL("set %s: a scalar became a %d", path, node->kind);
		/* A null may be written `null` for an empty one ("---", "!!null"). */
		if (!(vroot->type == YAML_EDIT_NULL && node->type == YAML_EDIT_NULL) &&
		    (node->value_len != vroot->value_len || memcmp(node->value, vroot->value, vroot->value_len) != 0))
			FAIL("set %s: value \"%s\" reads back as \"%s\"\n%s", path, vroot->value, node->value, out);
		if ((flags & YAML_EDIT_AS_STRING) && node->type != YAML_EDIT_STR)
			FAIL("set %s as a string: reads back as type %d\n%s", path, node->type, out);
		/* Without a quoted old value to follow, the value keeps its type. */
		if (!(flags & YAML_EDIT_AS_STRING) && !keeps_style && node->type != vroot->type)
			FAIL("set %s: value \"%s\" of type %d reads back as type %d\n%s", path, vroot->value,
			     vroot->type, node->type, out);
	} else if (vroot) {
		if (node->kind != vroot->kind)
			FAIL("set %s: a %d became a %d\n%s", path, vroot->kind, node->kind, out);
		if (!same_tree(res, node, vdoc, vroot, !(flags & YAML_EDIT_AS_STRING), 0))
			FAIL("set %s: the value reads back differently\n%s", path, out);
	}
	/* Setting the same value again changes nothing. */
	r = yaml_edit_set(res, path, value, flags, &out2, &out2_len, &sp2, err, sizeof err);
	if (r != 0)
		FAIL("set %s again failed: %d %s\n%s", path, r, err, out);
	if (out2_len != out_len || memcmp(out, out2, out_len) != 0)
		FAIL("set %s = %s twice is not idempotent\n--- once\n%s\n--- twice\n%s\n---", path, value, out, out2);
	free(out2);
	yaml_edit_free(vdoc);
	yaml_edit_free(res);
	free(out);
}

/* Splits "a b" at the last '[' of an index path: "x.y[3]" -> parent "x.y", index 3. */
static bool index_path(const char *path, char *parent, long *index)
{
	const char *b = strrchr(path, '[');
	char *end;

	if (!b || path[strlen(path) - 1] != ']' || b == path)
		return false;
	*index = strtol(b + 1, &end, 10);
	if (*end != ']')
		return false;
	snprintf(parent, PATH_LEN, "%.*s", (int)(b - path), path);
	return true;
}

static void do_unset(const struct yaml_edit_doc *doc, const char *in, size_t in_len, const char *path)
{
	struct yaml_edit_doc *res;
	const struct yaml_edit_node *node, *before = NULL;
	struct yaml_edit_span sp = { 0 };
	char err[YAML_EDIT_ERR_MAX], *out = NULL, parent[PATH_LEN];
	size_t out_len = 0, count = 0;
	long index;
	bool is_index = index_path(path, parent, &index);
	int r;

	if (is_index && yaml_edit_lookup(doc, parent, &before, err, sizeof err) == 0)
		count = before->count;
	memset(err, 'x', sizeof err);
	r = yaml_edit_unset(doc, path, &out, &out_len, &sp, err, sizeof err);
	check_err(r, err, "unset");
	if (r < 0) {
		if (r != -EINVAL && r != -ENOENT && r != -ENOMEM)
			FAIL("unset: unexpected %d", r);
		if (out)
			FAIL("unset: output on error");
		return;
	}
	res = check_output(in, in_len, out, out_len, &sp, "unset");
	if (!is_index) {
		if (yaml_edit_lookup(res, path, &node, err, sizeof err) != -ENOENT)
			FAIL("unset %s: still there\n%s", path, out);
	} else if (before) {
		r = yaml_edit_lookup(res, parent, &node, err, sizeof err);
		if (r != 0 || node->kind != YAML_EDIT_SEQUENCE || node->count + 1 != count)
			FAIL("unset %s: the list had %zu items and now %zu\n%s", path, count, r ? 0 : node->count,
			     out);
	}
	yaml_edit_free(res);
	free(out);
}

static void do_seeds(const struct yaml_edit_doc *doc, const char *in, size_t in_len, const char *value,
		     unsigned sel)
{
	char copy[256], *save = NULL, *tok, err[YAML_EDIT_ERR_MAX], *out = NULL, **got = NULL;
	const char *seeds[MAX_SEEDS], *want[MAX_SEEDS];
	size_t n = 0, n_ext, n_want = 0, out_len = 0;
	unsigned flags = sel & 1 ? YAML_EDIT_SEEDS_PORT : 0;
	struct yaml_edit_span sp = { 0 };
	struct yaml_edit_doc *res;
	int r, got_n;

	snprintf(copy, sizeof copy, "%s", value);
	for (tok = strtok_r(copy, ", ", &save); tok && n < MAX_SEEDS; tok = strtok_r(NULL, ", ", &save))
		seeds[n++] = tok;
	/* The last one or two are the other part of a hybrid cluster. */
	n_ext = n ? (sel >> 1) % 3 : 0;
	if (n_ext > n)
		n_ext = n;
	memset(err, 'x', sizeof err);
	r = yaml_edit_set_seeds(doc, seeds, n - n_ext, seeds + (n - n_ext), n_ext, flags, &out, &out_len, &sp, err,
				sizeof err);
	check_err(r, err, "set_seeds");
	if (r < 0) {
		if (out)
			FAIL("set_seeds: output on error");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		bool dup = false;

		if (yaml_edit_seed_check(seeds[i], flags, NULL, 0) != 0)
			FAIL("set_seeds accepted \"%s\", seed_check refuses it", seeds[i]);
		for (size_t j = 0; j < n_want; j++)
			dup |= strcasecmp(want[j], seeds[i]) == 0;
		if (!dup)
			want[n_want++] = seeds[i];
	}
	res = check_output(in, in_len, out, out_len, &sp, "set_seeds");
	got_n = yaml_edit_get_seeds(res, &got);
	if (got_n < 0)
		FAIL("set_seeds: get_seeds on the result: %d\n%s", got_n, out);
	if ((size_t)got_n != n_want)
		FAIL("set_seeds: %zu seeds set, %d read back\n%s", n_want, got_n, out);
	for (size_t i = 0; i < n_want; i++)
		if (strcmp(got[i], want[i]) != 0)
			FAIL("set_seeds: seed %zu is \"%s\", expected \"%s\"\n%s", i, got[i], want[i], out);
	if (got[n_want])
		FAIL("set_seeds: get_seeds array not NULL-terminated");
	yaml_edit_strv_free(got);
	yaml_edit_free(res);
	free(out);
}

static void do_read(const struct yaml_edit_doc *doc, const struct paths *ps)
{
	const struct yaml_edit_node *root = yaml_edit_root(doc), *n;
	char err[YAML_EDIT_ERR_MAX], *text = NULL, **seeds = NULL;
	size_t len, doc_len;
	const char *bytes = yaml_edit_bytes(doc, &doc_len);

	if (root) {
		if (yaml_edit_render(doc, root, &text, &len) == 0 && (text[len] != '\0' || strlen(text) != len))
			FAIL("render: not NUL-terminated at len");
		free(text);
	}
	for (size_t i = 0; i < ps->n; i++) {
		if (yaml_edit_lookup(doc, ps->v[i], &n, err, sizeof err) != 0)
			FAIL("lookup of collected path %s failed: %s", ps->v[i], err);
		if (n->start > n->end || n->end > doc_len || n->tail < n->end || n->tail > doc_len)
			FAIL("node %s: span %zu..%zu tail %zu of %zu bytes", ps->v[i], n->start, n->end, n->tail,
			     doc_len);
		if (n->kind == YAML_EDIT_SCALAR && (!n->value || n->value[n->value_len] != '\0'))
			FAIL("node %s: scalar value not terminated", ps->v[i]);
	}
	if (bytes[doc_len] != '\0')
		FAIL("document bytes not NUL-terminated");
	if (yaml_edit_get_seeds(doc, &seeds) >= 0)
		yaml_edit_strv_free(seeds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yaml_edit_doc *doc = NULL;
	struct paths *ps;
	char err[YAML_EDIT_ERR_MAX], value[256], path[PATH_LEN];
	const char *in;
	size_t vlen, in_len;
	unsigned op, sel;
	int r;

	if (size < 3)
		return 0;
	op = data[0] % OP_COUNT;
	sel = data[1];
	vlen = data[2];
	if (vlen > size - 3)
		vlen = size - 3;
	memcpy(value, data + 3, vlen);
	value[vlen] = '\0';
	in = (const char *)data + 3 + vlen;
	in_len = size - 3 - vlen;

	memset(err, 'x', sizeof err);
	r = yaml_edit_parse(in, in_len, &doc, err, sizeof err);
	check_err(r, err, "parse");
	if (r < 0) {
		if (r != -EINVAL && r != -EFBIG && r != -ENOMEM)
			FAIL("parse: unexpected %d", r);
		if (doc)
			FAIL("parse: document on error");
		return 0;
	}
	ps = calloc(1, sizeof *ps);
	if (!ps) {
		yaml_edit_free(doc);
		return 0;
	}
	collect(doc, yaml_edit_root(doc), "", 0, ps);
	pick_path(ps, sel, path);
	(void)yaml_edit_resolve_plain(value, strlen(value));
	(void)yaml_edit_seed_check(value, data[0] & 8 ? YAML_EDIT_SEEDS_PORT : 0, NULL, 0);
	switch (op) {
	case OP_SET:
		do_set(doc, in, in_len, path, value, 0);
		break;
	case OP_SET_STRING:
		do_set(doc, in, in_len, path, value, YAML_EDIT_AS_STRING);
		break;
	case OP_UNSET:
		do_unset(doc, in, in_len, path);
		break;
	case OP_SEEDS:
		do_seeds(doc, in, in_len, value, sel);
		break;
	default:
		do_read(doc, ps);
		break;
	}
	free(ps);
	yaml_edit_free(doc);
	return 0;
}
