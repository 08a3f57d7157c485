/* fuzz_cassandra_schema: libFuzzer target for the validated cassandra.yaml edit,
 * cassandra_schema_apply (agent/cassandra_schema.c over agent/yaml_edit.c): random edit lists
 * on random documents, for each Cassandra version.
 *
 * Input: byte 0 = version (bits 0-1), CASSANDRA_SCHEMA_FORCE (bit 2), CASSANDRA_SCHEMA_NO_VALIDATE
 * (bit 3), number of edits - 1 (bits 4-5); then per edit: op byte, two key-selector bytes, value
 * length L, L bytes of value; then the document. Keys are schema keys of the version (and their
 * children), or top-level keys of the document, or a few fixed ones.
 *
 * Checked: the return codes; on success the result parses, is NUL-terminated, `changed` tells
 * whether the bytes differ, no old and new name of one setting are both set (when validating),
 * and the edited keys pass cassandra_schema_check_path; on error the result is empty; the
 * warnings stay within their buffer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cassandra_schema.h"
#include "yaml_edit.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "fuzz_cassandra_schema: " __VA_ARGS__);                            \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

#define MAX_EDITS 4
#define KEY_LEN 160
#define MAX_SEEDS 6

struct edit_buf {
	char key[KEY_LEN];
	char value[256];
	char seeds_buf[256];
	const char *seeds[MAX_SEEDS];
};

static const char *const fixed_keys[] = {
	"cluster_name", "num_tokens", "seed_provider", "client_encryption_options.enabled",
	"server_encryption_options.internode_encryption", "concurrent_reads", "commitlog_sync_period",
	"commitlog_sync_period_in_ms", "hints_directory", "unknown_key", "a.b", "", "x[0]",
};

/* Key number `sel` for version `v` of `doc`. */
static void pick_key(enum cassandra_version v, const struct yaml_edit_doc *doc, unsigned sel, char *out)
{
	const struct cassandra_schema_table *t = &cassandra_schema_tables[v];
	const struct yaml_edit_node *root = doc ? yaml_edit_root(doc) : NULL;
	size_t nf = sizeof fixed_keys / sizeof fixed_keys[0];

	if (sel & 0x8000) { /* a schema key, maybe with a child */
		const struct cassandra_schema_key *k;

		sel &= 0x7fff;
		if (!t->n_keys) {
			snprintf(out, KEY_LEN, "%s", fixed_keys[sel % nf]);
			return;
		}
		k = &t->keys[sel % t->n_keys];
		if ((sel / t->n_keys) % 2 && k->n_children)
			snprintf(out, KEY_LEN, "%s.%s", k->name, k->children[(sel / t->n_keys / 2) % k->n_children].name);
		else
			snprintf(out, KEY_LEN, "%s", k->name);
		return;
	}
	if ((sel & 0x4000) && root && root->kind == YAML_EDIT_MAPPING && root->count) {
		const struct yaml_edit_node *k = yaml_edit_first(doc, root);

		for (unsigned i = (sel & 0x3fff) % root->count; i && k; i--)
			k = yaml_edit_next(doc, k);
		if (k && k->kind == YAML_EDIT_SCALAR && k->value && strlen(k->value) == k->value_len) {
			snprintf(out, KEY_LEN, "%s", k->value);
			return;
		}
	}
	snprintf(out, KEY_LEN, "%s", fixed_keys[sel % nf]);
}

static void check_warnings(const struct cassandra_schema_warnings *w)
{
	if (w->len >= sizeof w->text || w->text[w->len] != '\0' || strlen(w->text) != w->len)
		FAIL("warnings: len %zu does not match the text", w->len);
	if (w->count && !w->len)
		FAIL("warnings: %u counted, no text", w->count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct edit_buf *bufs;
	struct cassandra_edit edits[MAX_EDITS];
	struct cassandra_schema_result res;
	struct yaml_edit_doc *pre = NULL, *after = NULL;
	enum cassandra_version v;
	unsigned flags = 0;
	size_t n_edits, off = 1, len;
	const char *doc;
	char err[512], perr[YAML_EDIT_ERR_MAX];
	int r;

	if (size < 1)
		return 0;
	v = (enum cassandra_version)(data[0] & 3);
	if (data[0] & 4)
		flags |= CASSANDRA_SCHEMA_FORCE;
	if (data[0] & 8)
		flags |= CASSANDRA_SCHEMA_NO_VALIDATE;
	n_edits = ((data[0] >> 4) & 3) + 1;
	bufs = calloc(MAX_EDITS, sizeof *bufs);
	if (!bufs)
		return 0;

	/* The document comes last, but keys may be taken from it: find it first. */
	for (size_t i = 0; i < n_edits; i++) {
		size_t l;

		if (off + 4 > size) {
			n_edits = i;
			break;
		}
		l = data[off + 3];
		off += 4 + (l < size - off - 4 ? l : size - off - 4);
	}
	doc = (const char *)data + off;
	len = size - off;
	if (yaml_edit_parse(doc, len, &pre, perr, sizeof perr) != 0)
		pre = NULL;

	off = 1;
	for (size_t i = 0; i < n_edits; i++) {
		struct cassandra_edit *e = &edits[i];
		struct edit_buf *b = &bufs[i];
		unsigned op = data[off], sel = (unsigned)data[off + 1] << 8 | data[off + 2];
		size_t l = data[off + 3], ns = 0;
		char *save = NULL;

		if (l > size - off - 4)
			l = size - off - 4;
		memcpy(b->value, data + off + 4, l);
		b->value[l] = '\0';
		off += 4 + l;
		pick_key(v, pre, sel, b->key);
		memset(e, 0, sizeof *e);
		e->op = (enum cassandra_edit_op)(op % 3);
		e->key = b->key;
		e->value = b->value;
		if (e->op == CASSANDRA_EDIT_SEEDS) {
			snprintf(b->seeds_buf, sizeof b->seeds_buf, "%s", b->value);
			for (char *t = strtok_r(b->seeds_buf, ", ", &save); t && ns < MAX_SEEDS;
			     t = strtok_r(NULL, ", ", &save))
				b->seeds[ns++] = t;
			e->seeds = b->seeds;
			e->n_external_seeds = (op >> 2) % 3 < ns ? (op >> 2) % 3 : ns;
			e->n_seeds = ns - e->n_external_seeds;
			e->external_seeds = b->seeds + e->n_seeds;
		}
	}

	memset(err, 'x', sizeof err);
	r = cassandra_schema_apply(v, flags, doc, len, edits, n_edits, &res, err, sizeof err);
	check_warnings(&res.warn);
	if (!memchr(err, '\0', sizeof err))
		FAIL("unterminated error message");
	if (r < 0) {
		if (r != -EINVAL && r != -ENOENT && r != -EFBIG && r != -ENOMEM)
			FAIL("unexpected return %d: %s", r, err);
		if (!err[0])
			FAIL("error %d without a message", r);
		if (res.data || res.len || res.changed)
			FAIL("result not empty on error");
		goto out;
	}
	if (r != 0)
		FAIL("unexpected return %d", r);
	if (!pre)
		FAIL("a document yaml_edit_parse refuses was accepted");
	if (!res.data || res.data[res.len] != '\0' || strlen(res.data) != res.len)
		FAIL("result not NUL-terminated at len");
	if (res.changed != (res.len != len || memcmp(res.data, doc, len) != 0))
		FAIL("changed = %d, but the bytes say otherwise", res.changed);
	if (yaml_edit_parse(res.data, res.len, &after, perr, sizeof perr) != 0)
		FAIL("the result does not parse: %s\n%s", perr, res.data);
	if (!(flags & CASSANDRA_SCHEMA_NO_VALIDATE)) {
		struct cassandra_schema_warnings w = { .len = 0 };

		if (cassandra_schema_check_renames(v, after, err, sizeof err) != 0)
			FAIL("the result sets an old and a new name: %s\n%s", err, res.data);
		/* The last edit's key, when it was a set, passes the schema check on the result. */
		if (n_edits && edits[n_edits - 1].op == CASSANDRA_EDIT_SET &&
		    cassandra_schema_check_path(v, after, edits[n_edits - 1].key, &w, err, sizeof err) != 0)
			FAIL("set %s = %s accepted, but check_path refuses the result: %s\n%s", edits[n_edits - 1].key,
			     edits[n_edits - 1].value, err, res.data);
		check_warnings(&w);
	}
	yaml_edit_free(after);
	cassandra_schema_result_free(&res);
out:
	yaml_edit_free(pre);
	free(bufs);
	return 0;
}
