/* test_yaml_edit: Check unit tests of the surgical cassandra.yaml editor (agent/yaml_edit.c). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "check_run.h"
#include "yaml_edit.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Helpers. */

static struct yaml_edit_doc *parse_ok(const char *text)
{
	struct yaml_edit_doc *doc = NULL;
	char err[YAML_EDIT_ERR_MAX] = "";
	int rc = yaml_edit_parse(text, strlen(text), &doc, err, sizeof(err));

	ck_assert_msg(rc == 0, "parse failed (%d): %s\n%s", rc, err, text);
	return doc;
}

/* Parses `text`, which must be refused with `rc` and a message containing `what`. */
static void parse_refused(const char *text, size_t len, int rc, const char *what)
{
	struct yaml_edit_doc *doc = (struct yaml_edit_doc *)1;
	char err[YAML_EDIT_ERR_MAX] = "";
	int r = yaml_edit_parse(text, len, &doc, err, sizeof(err));

	ck_assert_msg(r == rc, "expected %d, got %d (%s)", rc, r, err);
	ck_assert_ptr_null(doc);
	ck_assert_msg(strstr(err, what), "expected '%s' in '%s'", what, err);
}

/* The bytes outside the span are those of the input, and the output parses. */
static void assert_span(const char *in, const char *out, size_t out_len, const struct yaml_edit_span *sp)
{
	size_t in_len = strlen(in);
	struct yaml_edit_doc *doc = NULL;
	char err[YAML_EDIT_ERR_MAX];

	ck_assert_uint_eq(out_len, in_len - sp->old_len + sp->new_len);
	ck_assert_int_eq(memcmp(in, out, sp->start), 0);
	ck_assert_int_eq(
		memcmp(in + sp->start + sp->old_len, out + sp->start + sp->new_len, in_len - sp->start - sp->old_len),
		0);
	ck_assert_msg(yaml_edit_parse(out, out_len, &doc, err, sizeof(err)) == 0, "result does not parse: %s\n%s", err,
		      out);
	yaml_edit_free(doc);
}

/* Sets path = value in text; the result must equal `want`. */
static void set_is(const char *text, const char *path, const char *value, unsigned flags, const char *want)
{
	struct yaml_edit_doc *doc = parse_ok(text);
	char err[YAML_EDIT_ERR_MAX] = "", *out = NULL;
	struct yaml_edit_span sp;
	size_t len;
	int rc = yaml_edit_set(doc, path, value, flags, &out, &len, &sp, err, sizeof(err));

	ck_assert_msg(rc == 0, "set %s=%s failed (%d): %s", path, value, rc, err);
	ck_assert_msg(strcmp(out, want) == 0, "set %s=%s\n--- got\n%s\n--- want\n%s", path, value, out, want);
	assert_span(text, out, len, &sp);
	free(out);
	yaml_edit_free(doc);
}

static void set_refused(const char *text, const char *path, const char *value, int rc, const char *what)
{
	struct yaml_edit_doc *doc = parse_ok(text);
	char err[YAML_EDIT_ERR_MAX] = "", *out = (char *)1;
	size_t len;
	int r = yaml_edit_set(doc, path, value, 0, &out, &len, NULL, err, sizeof(err));

	ck_assert_msg(r == rc, "set %s=%s: expected %d, got %d (%s)", path, value, rc, r, err);
	ck_assert_ptr_null(out);
	ck_assert_msg(strstr(err, what), "expected '%s' in '%s'", what, err);
	yaml_edit_free(doc);
}

static void unset_is(const char *text, const char *path, const char *want)
{
	struct yaml_edit_doc *doc = parse_ok(text);
	char err[YAML_EDIT_ERR_MAX] = "", *out = NULL;
	struct yaml_edit_span sp;
	size_t len;
	int rc = yaml_edit_unset(doc, path, &out, &len, &sp, err, sizeof(err));

	ck_assert_msg(rc == 0, "unset %s failed (%d): %s", path, rc, err);
	ck_assert_msg(strcmp(out, want) == 0, "unset %s\n--- got\n%s\n--- want\n%s", path, out, want);
	assert_span(text, out, len, &sp);
	free(out);
	yaml_edit_free(doc);
}

static const char *shared_data(void)
{
	static char path[4096];
	const char *env = getenv("SHARED_DATA"), *root = getenv("PROJECT_ROOT");
	FILE *f;

	if (env && *env)
		snprintf(path, sizeof(path), "%s", env);
	else
		snprintf(path, sizeof(path), "%s/../shared/data", root && *root ? root : ".");
	char probe[4200];

	snprintf(probe, sizeof(probe), "%s/cassandra/cassandra-5.0.yaml", path);
	f = fopen(probe, "rb");
	if (!f) {
		printf("SKIP: ../shared/data not found (%s)\n", path);
		return NULL;
	}
	fclose(f);
	return path;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static const char *const shared_files[] = {"cassandra-3.11.yaml", "cassandra-4.0.yaml",        "cassandra-4.1.yaml",
					   "cassandra-5.0.yaml",  "cassandra_latest-5.0.yaml", NULL};

/* Parsing and refusals. */

START_TEST(parse_refuses_tab_in_indentation)
{
	parse_refused("a:\n\tb: 1\n", 9, -EINVAL, "2:1: tab in indentation");
	parse_refused("a:\n  \tb: 1\n", 11, -EINVAL, "2:3: tab in indentation");
}
END_TEST

START_TEST(parse_accepts_tab_after_content)
{
	struct yaml_edit_doc *doc = parse_ok("a: 1\t# tab before a comment\nb:\t2\n");

	yaml_edit_free(doc);
}
END_TEST

START_TEST(parse_refuses_duplicate_keys)
{
	const char *text = "a: 1\nb:\n  x: 1\n  x: 2\n";

	parse_refused(text, strlen(text), -EINVAL, "4:3: duplicate key 'x' (first at 3:3)");
}
END_TEST

START_TEST(parse_refuses_duplicate_keys_in_a_large_mapping)
{
	char text[1024];
	size_t n = 0;

	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "key%02d: %d\n", i, i);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "key17: again\n");
	parse_refused(text, n, -EINVAL, "41:1: duplicate key 'key17' (first at 18:1)");
}
END_TEST

START_TEST(parse_refuses_non_utf8)
{
	parse_refused("a: 1\nb: caf\xe9\n", 12, -EINVAL, "2:7: invalid UTF-8");
	parse_refused("a: \xc0\xaf\n", 6, -EINVAL, "invalid UTF-8");     /* overlong */
	parse_refused("a: \xed\xa0\x80\n", 7, -EINVAL, "invalid UTF-8"); /* surrogate */
	/* a byte order mark is the first thing or nothing (set-top-level-key-after-bom-mid-document,
	 * set-flow-insert-after-bom-doubles-comma) */
	parse_refused("\n\xef\xbb\xbf"
		      "a:\n",
		      7, -EINVAL, "2:1: byte order mark (U+FEFF) inside the document");
	parse_refused("\n {k:>v,\n\xef\xbb\xbf\r\n } \n", 19, -EINVAL, "3:1: byte order mark");
}
END_TEST

START_TEST(parse_refuses_oversized_input_without_reading_it)
{
	static const char small[] = "a: 1\n";
	struct yaml_edit_doc *doc = (struct yaml_edit_doc *)1;
	char err[YAML_EDIT_ERR_MAX];

	/* the length alone is refused: the 5 bytes behind `small` are never read past */
	ck_assert_int_eq(yaml_edit_parse(small, (size_t)YAML_EDIT_MAX_SIZE + 1, &doc, err, sizeof(err)), -EFBIG);
	ck_assert_ptr_null(doc);
	ck_assert_ptr_nonnull(strstr(err, "16 MiB"));
}
END_TEST

START_TEST(parse_refuses_broken_yaml_with_position)
{
	parse_refused("a: [1, 2\nb: 3\n", 14, -EINVAL, "2:");
	parse_refused("a: 1\n b: 2\n", 11, -EINVAL, "2:");
	parse_refused("a: 'open\n", 9, -EINVAL, "found unexpected end of stream");
}
END_TEST

START_TEST(parse_refuses_two_documents)
{
	parse_refused("a: 1\n---\nb: 2\n", 14, -EINVAL, "2:1: more than one document");
}
END_TEST

START_TEST(parse_refuses_deep_nesting)
{
	char text[300];
	size_t n = 0;

	for (int i = 0; i < 100; i++)
		text[n++] = '[';
	for (int i = 0; i < 100; i++)
		text[n++] = ']';
	text[n] = '\0';
	parse_refused(text, n, -EINVAL, "nested deeper than 64 levels");
}
END_TEST

START_TEST(parse_refuses_nul_and_lone_cr)
{
	parse_refused("a: 1\0\n", 6, -EINVAL, "1:5: NUL byte");
	parse_refused("a: 1\rb: 2\n", 10, -EINVAL, "1:5: carriage return without line feed");
	parse_refused("a: x\xc2\x85y\n", 8, -EINVAL, "Unicode line separator U+0085");
}
END_TEST

START_TEST(parse_accepts_empty_and_comment_only_files)
{
	struct yaml_edit_doc *doc = parse_ok("");

	ck_assert_ptr_null(yaml_edit_root(doc));
	yaml_edit_free(doc);
	doc = parse_ok("# only a comment\n\n");
	ck_assert_ptr_null(yaml_edit_root(doc));
	yaml_edit_free(doc);
}
END_TEST

START_TEST(parse_resolves_yaml11_scalar_types)
{
	struct {
		const char *s;
		enum yaml_edit_type t;
	} cases[] = {
		{"", YAML_EDIT_NULL},
		{"~", YAML_EDIT_NULL},
		{"null", YAML_EDIT_NULL},
		{"Null", YAML_EDIT_NULL},
		{"nULL", YAML_EDIT_STR},
		{"yes", YAML_EDIT_BOOL},
		{"Off", YAML_EDIT_BOOL},
		{"TRUE", YAML_EDIT_BOOL},
		{"y", YAML_EDIT_STR},
		{"tRue", YAML_EDIT_STR},
		{"0", YAML_EDIT_INT},
		{"-17", YAML_EDIT_INT},
		{"+1_000", YAML_EDIT_INT},
		{"0x1F", YAML_EDIT_INT},
		{"0b101", YAML_EDIT_INT},
		{"017", YAML_EDIT_INT},
		{"08", YAML_EDIT_STR},
		{"1:30", YAML_EDIT_INT},
		{"1:70", YAML_EDIT_STR},
		{"1.5", YAML_EDIT_FLOAT},
		{"1.", YAML_EDIT_FLOAT},
		{".5", YAML_EDIT_FLOAT},
		{"1e5", YAML_EDIT_STR},
		{"1.0e+5", YAML_EDIT_FLOAT},
		{"1.0e5", YAML_EDIT_STR},
		{".inf", YAML_EDIT_FLOAT},
		{"-.Inf", YAML_EDIT_FLOAT},
		{".NaN", YAML_EDIT_FLOAT},
		{"2001-12-14", YAML_EDIT_OTHER},
		{"2001-12-14t21:59:43.10-05:00", YAML_EDIT_OTHER},
		{"2001-12-1", YAML_EDIT_STR},
		{"<<", YAML_EDIT_OTHER},
		{"5000ms", YAML_EDIT_STR},
		{"64MiB", YAML_EDIT_STR},
		{"127.0.0.1", YAML_EDIT_STR},
		{"1.2.3", YAML_EDIT_STR},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(yaml_edit_resolve_plain(cases[i].s, strlen(cases[i].s)) == cases[i].t,
			      "'%s': got %d want %d", cases[i].s,
			      yaml_edit_resolve_plain(cases[i].s, strlen(cases[i].s)), cases[i].t);
}
END_TEST

START_TEST(parse_gives_quoted_and_tagged_scalars_their_type)
{
	struct yaml_edit_doc *doc = parse_ok("a: '5'\nb: \"true\"\nc: !!str 7\nd: !!int '8'\ne: 9\n");
	const struct yaml_edit_node *root = yaml_edit_root(doc);

	ck_assert_int_eq(yaml_edit_get(doc, root, "a")->type, YAML_EDIT_STR);
	ck_assert_int_eq(yaml_edit_get(doc, root, "b")->type, YAML_EDIT_STR);
	ck_assert_int_eq(yaml_edit_get(doc, root, "c")->type, YAML_EDIT_STR);
	ck_assert_int_eq(yaml_edit_get(doc, root, "d")->type, YAML_EDIT_INT);
	ck_assert_int_eq(yaml_edit_get(doc, root, "e")->type, YAML_EDIT_INT);
	ck_assert_int_eq(yaml_edit_get(doc, root, "a")->style, YAML_EDIT_SINGLE_QUOTED);
	yaml_edit_free(doc);
}
END_TEST

START_TEST(parse_maps_marks_to_bytes_in_non_ascii_files)
{
	const char *text = "\xef\xbb\xbf# caf\xc3\xa9 \xe2\x82\xac\na: \"\xc3\xa9t\xc3\xa9\"\nb: \xf0\x9f\x98\x80 x\n";
	struct yaml_edit_doc *doc = parse_ok(text);
	const struct yaml_edit_node *b = yaml_edit_get(doc, yaml_edit_root(doc), "b");

	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(b->value, "\xf0\x9f\x98\x80 x");
	ck_assert_int_eq(memcmp(text + b->start, "\xf0\x9f\x98\x80 x", b->end - b->start), 0);
	ck_assert_uint_eq(b->end - b->start, 6);
	yaml_edit_free(doc);
	set_is(text, "b", "ok", 0, "\xef\xbb\xbf# caf\xc3\xa9 \xe2\x82\xac\na: \"\xc3\xa9t\xc3\xa9\"\nb: ok\n");
	set_is(text, "a", "\xc3\xbc", 0,
	       "\xef\xbb\xbf# caf\xc3\xa9 \xe2\x82\xac\na: \"\xc3\xbc\"\nb: \xf0\x9f\x98\x80 x\n");
}
END_TEST

/* Lookup. */

START_TEST(lookup_finds_nested_and_indexed_paths)
{
	const char *text = "seed_provider:\n  - class_name: X\n    parameters:\n      - seeds: \"a,b\"\n"
			   "client_encryption_options:\n  enabled: false\n";
	struct yaml_edit_doc *doc = parse_ok(text);
	const struct yaml_edit_node *n;
	char err[YAML_EDIT_ERR_MAX];

	ck_assert_int_eq(yaml_edit_lookup(doc, YAML_EDIT_SEEDS_PATH, &n, err, sizeof(err)), 0);
	ck_assert_str_eq(n->value, "a,b");
	ck_assert_int_eq(n->style, YAML_EDIT_DOUBLE_QUOTED);
	ck_assert_int_eq(yaml_edit_lookup(doc, "client_encryption_options.enabled", &n, err, sizeof(err)), 0);
	ck_assert_int_eq(n->type, YAML_EDIT_BOOL);
	ck_assert_uint_eq(n->line, 6);
	ck_assert_uint_eq(n->column, 12);
	ck_assert_int_eq(yaml_edit_lookup(doc, "client_encryption_options.keystore", &n, err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(yaml_edit_lookup(doc, "seed_provider[1]", &n, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "list has no item [1]"));
	ck_assert_int_eq(yaml_edit_lookup(doc, "seed_provider.class_name", &n, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "is a list, not a mapping"));
	yaml_edit_free(doc);
}
END_TEST

START_TEST(lookup_refuses_malformed_paths)
{
	struct yaml_edit_doc *doc = parse_ok("a: 1\n");
	const struct yaml_edit_node *n;
	const char *bad[] = {"", ".a", "a.", "a..b", "a[", "a[x]", "a[1", "a b", "a;b", "[0]", "a[99999999]", NULL};
	char err[YAML_EDIT_ERR_MAX];

	for (const char **p = bad; *p; p++)
		ck_assert_msg(yaml_edit_lookup(doc, *p, &n, err, sizeof(err)) == -EINVAL, "'%s' accepted", *p);
	yaml_edit_free(doc);
}
END_TEST

/* Set. */

START_TEST(set_scalar_keeps_every_other_byte)
{
	set_is("# top\nnum_tokens: 16   # trailing comment\n\nb: x\n", "num_tokens", "8", 0,
	       "# top\nnum_tokens: 8   # trailing comment\n\nb: x\n");
}
END_TEST

START_TEST(set_keeps_the_quoting_style_of_the_old_value)
{
	set_is("cluster_name: 'Test Cluster'\n", "cluster_name", "Prod", 0, "cluster_name: 'Prod'\n");
	set_is("cluster_name: 'Test Cluster'\n", "cluster_name", "\"it's\"", 0, "cluster_name: 'it''s'\n");
	set_is("s: \"127.0.0.1\"\n", "s", "10.0.0.1,10.0.0.2", 0, "s: \"10.0.0.1,10.0.0.2\"\n");
	set_is("s: plain\n", "s", "other", 0, "s: other\n");
	set_is("s: plain\n", "s", "'quoted by the user'", 0, "s: 'quoted by the user'\n");
}
END_TEST

START_TEST(set_quotes_strings_that_would_read_as_another_type)
{
	set_is("cluster_name: x\n", "cluster_name", "123", YAML_EDIT_AS_STRING, "cluster_name: '123'\n");
	set_is("cluster_name: x\n", "cluster_name", "yes", YAML_EDIT_AS_STRING, "cluster_name: 'yes'\n");
	set_is("cluster_name: x\n", "cluster_name", "1e5", YAML_EDIT_AS_STRING, "cluster_name: '1e5'\n");
	set_is("cluster_name: x\n", "cluster_name", "null", YAML_EDIT_AS_STRING, "cluster_name: 'null'\n");
	set_is("cluster_name: x\n", "cluster_name", "2001-12-14", YAML_EDIT_AS_STRING, "cluster_name: '2001-12-14'\n");
	/* without the flag a number stays a number */
	set_is("n: 1\n", "n", "123", 0, "n: 123\n");
	set_is("b: false\n", "b", "true", 0, "b: true\n");
	/* a quoted old value does not make a bool a string */
	set_is("b: \"false\"\n", "b", "true", 0, "b: true\n");
}
END_TEST

START_TEST(set_quotes_strings_with_yaml_special_characters)
{
	set_is("k: x\n", "k", "'a: b'", 0, "k: 'a: b'\n");
	set_is("k: x\n", "k", "'a #b'", 0, "k: 'a #b'\n");
	set_is("k: x\n", "k", "' lead'", 0, "k: ' lead'\n");
	set_is("k: x\n", "k", "'trail '", 0, "k: 'trail '\n");
	set_is("k: x\n", "k", "''", 0, "k: ''\n");
	set_is("k: x\n", "k", "'[x'", 0, "k: '[x'\n");
	set_is("k: x\n", "k", "'*star'", 0, "k: '*star'\n");
	set_is("k: x\n", "k", "\"two\\nlines\"", 0, "k: \"two\\nlines\"\n");
	set_is("k: x\n", "k", "\"tab\\there\"", 0, "k: \"tab\\there\"\n");
	set_is("k: x\n", "k", "a:b", 0, "k: a:b\n");
	set_is("k: x\n", "k", "-Xmx4G", 0, "k: -Xmx4G\n");
}
END_TEST

START_TEST(set_value_of_a_key_with_null_value)
{
	set_is("a:\nb: 2\n", "a", "5", 0, "a: 5\nb: 2\n");
	set_is("a:   # why\nb: 2\n", "a", "x", 0, "a: x   # why\nb: 2\n");
	set_is("a: ~\n", "a", "5", 0, "a: 5\n");
}
END_TEST

START_TEST(set_empty_value_writes_null)
{
	set_is("a: 5\nb: 2\n", "a", "", 0, "a:\nb: 2\n");
	set_is("a: 5\n", "a", "null", 0, "a: null\n");
}
END_TEST

START_TEST(set_missing_top_level_key_appends_at_the_end)
{
	set_is("a: 1\n# last comment\n", "new_key", "true", 0, "a: 1\n# last comment\nnew_key: true\n");
	set_is("a: 1", "b", "2", 0, "a: 1\nb: 2\n");
	set_is("", "b", "2", 0, "b: 2\n");
	set_is("# only comments\n", "b", "2", 0, "# only comments\nb: 2\n");
	set_is("  a: 1\n  c:\n    d: 1\n", "b", "{x: 1}", 0, "  a: 1\n  c:\n    d: 1\n  b:\n    x: 1\n");
	set_is("\xef\xbb\xbf"
	       "a: 1\n",
	       "b", "2", 0,
	       "\xef\xbb\xbf"
	       "a: 1\nb: 2\n");
}
END_TEST

START_TEST(set_commented_out_key_appends_a_real_key)
{
	const char *text = "a: 1\n# client_encryption_options:\n#   enabled: false\n\nb: 2\n";

	set_is(text, "client_encryption_options.enabled", "true", 0,
	       "a: 1\n# client_encryption_options:\n#   enabled: false\n\nb: 2\n"
	       "client_encryption_options:\n  enabled: true\n");
}
END_TEST

START_TEST(set_missing_nested_key_goes_after_the_last_child)
{
	const char *text = "opts:\n    enabled: false\n    keystore: k  # c\n    # protocol: TLS\nnext: 1\n";

	set_is(text, "opts.protocol", "TLSv1.2", 0,
	       "opts:\n    enabled: false\n    keystore: k  # c\n    protocol: TLSv1.2\n    # protocol: TLS\nnext: "
	       "1\n");
}
END_TEST

START_TEST(set_creates_the_missing_intermediate_mappings)
{
	set_is("a:\n  b: 1\n", "a.c.d.e", "x", 0, "a:\n  b: 1\n  c:\n    d:\n      e: x\n");
	set_is("a: 1\n", "x.y", "[1, 2]", 0, "a: 1\nx:\n  y:\n    - 1\n    - 2\n");
	set_is("a:\nb: 1\n", "a.c", "2", 0, "a:\n  c: 2\nb: 1\n");
}
END_TEST

START_TEST(set_list_is_written_in_block_style_at_the_file_indent)
{
	set_is("dirs:\n    - /a\n# c\nx: 1\n", "dirs", "[/b, /c]", 0, "dirs:\n    - /b\n    - /c\n# c\nx: 1\n");
	set_is("dirs: /a\nx: 1\n", "dirs", "[/b, /c]", 0, "dirs:\n  - /b\n  - /c\nx: 1\n");
	set_is("a:\n    b: 1\ndirs: /a\n", "dirs", "[/b]", 0, "a:\n    b: 1\ndirs:\n    - /b\n");
	/* an indentless list stays indentless */
	set_is("dirs:\n- /a\nx: 1\n", "dirs", "[/b, /c]", 0, "dirs:\n- /b\n- /c\nx: 1\n");
}
END_TEST

START_TEST(set_flow_list_stays_flow_and_empty_list_is_flow)
{
	set_is("l: [1, 2]  # c\n", "l", "[3]", 0, "l: [3]  # c\n");
	set_is("l:\n  - 1\n  - 2\nx: 1\n", "l", "[]", 0, "l: []\nx: 1\n");
	set_is("l: [1]\n", "l", "[a, 'b c', 'd,e']", 0, "l: [a, 'b c', 'd,e']\n");
}
END_TEST

START_TEST(set_mapping_replaces_a_block_keeping_its_leading_comments)
{
	set_is("opts:\n  # about opts\n  a: 1\n  b: 2\nx: 1\n", "opts", "{c: 3, d: [1, 2]}", 0,
	       "opts:\n  # about opts\n  c: 3\n  d:\n    - 1\n    - 2\nx: 1\n");
	set_is("l:\n- 1\nx: 1\n", "l", "{a: 1}", 0, "l:\n  a: 1\nx: 1\n");
	set_is("m: {a: 1}\n", "m", "{b: 2}", 0, "m: {b: 2}\n");
}
END_TEST

START_TEST(set_in_a_crlf_file_writes_crlf)
{
	set_is("a: 1\r\nb:\r\n  c: 2\r\n", "b.d", "[x, y]", 0,
	       "a: 1\r\nb:\r\n  c: 2\r\n  d:\r\n    - x\r\n    - y\r\n");
	set_is("a: 1\r\n", "z", "1", 0, "a: 1\r\nz: 1\r\n");
	set_is("a: 1\r\nb: 2\r\n", "a", "3", 0, "a: 3\r\nb: 2\r\n");
}
END_TEST

START_TEST(set_inside_flow_collections)
{
	set_is("m: {a: 1, b: 2}\n", "m.b", "3", 0, "m: {a: 1, b: 3}\n");
	set_is("m: {a: 1}\n", "m.c", "x y", 0, "m: {a: 1, c: x y}\n");
	set_is("m: {}\n", "m.c", "'1'", 0, "m: {c: '1'}\n");
	set_is("m: {a: 1}\n", "m.c", "'a,b'", 0, "m: {a: 1, c: 'a,b'}\n");
	set_is("l: [1, 2]\n", "l[1]", "{k: v}", 0, "l: [1, {k: v}]\n");
}
END_TEST

START_TEST(set_list_items_by_index)
{
	const char *text = "sp:\n  - class_name: X\n    parameters:\n      - seeds: \"a\"\n";

	set_is(text, "sp[0].parameters[0].seeds", "b,c", 0,
	       "sp:\n  - class_name: X\n    parameters:\n      - seeds: \"b,c\"\n");
	set_is(text, "sp[0].class_name", "Y", 0, "sp:\n  - class_name: Y\n    parameters:\n      - seeds: \"a\"\n");
	set_is(text, "sp[0].parameters[0]", "{seeds: d, x: 1}", 0,
	       "sp:\n  - class_name: X\n    parameters:\n      - seeds: d\n        x: 1\n");
	set_is("l:\n  - a\n  -\n", "l[1]", "{k: v}", 0, "l:\n  - a\n  - k: v\n");
}
END_TEST

START_TEST(set_after_a_block_scalar_keeps_its_value)
{
	set_is("m:\n  x: |+\n    lit\n\n# tail\nn: 1\n", "m.y", "5", 0,
	       "m:\n  x: |+\n    lit\n\n  y: 5\n# tail\nn: 1\n");
	set_is("m:\n  x: |\n    lit\nn: 1\n", "m.x", "short", 0, "m:\n  x: short\nn: 1\n");
}
END_TEST

START_TEST(set_refuses_what_it_cannot_do)
{
	set_refused("l:\n  - a\n", "l[3]", "x", -ENOENT, "list has no item [3]");
	set_refused("l:\n  - a\n", "m[0]", "x", -ENOENT, "list items are not created");
	set_refused("a: 5\n", "a.b", "x", -EINVAL, "a is a scalar, not a mapping");
	set_refused("l: [1]\n", "l.b", "x", -EINVAL, "l is a list, not a mapping");
	set_refused("a: &anchor\n  x: 1\nb: *anchor\n", "a.x", "2", -EINVAL, "anchored");
	set_refused("a: &anchor\n  x: 1\nb: *anchor\n", "b.x", "2", -EINVAL, "alias");
	set_refused("a: 1\n", "a", "[1, 2", -EINVAL, "value '[1, 2'");
	set_refused("a: 1\n", "a", "&x [1]", -EINVAL, "anchors and aliases are not allowed");
	set_refused("a: 1\n...\n", "b", "1", -EINVAL, "ends with '...'");
	set_refused("a: 1\n", "a b", "1", -EINVAL, "unexpected ' '");
}
END_TEST

START_TEST(set_tagged_block_collection_is_replaced_with_its_tag)
{
	set_is("a: !!map\n  x: 1\nb: 2\n", "a", "{y: 2}", 0, "a:\n  y: 2\nb: 2\n");
}
END_TEST

/* Unset. */

START_TEST(unset_deletes_the_key_lines_and_keeps_the_comments_around)
{
	unset_is("# doc of a\na: 1  # trailing\n\n# doc of b\nb:\n  # inside\n  c: 1\n  d: 2\n# after b\ne: 3\n", "b",
		 "# doc of a\na: 1  # trailing\n\n# doc of b\n# after b\ne: 3\n");
	unset_is("a: 1\nb: 2", "b", "a: 1\n");
	unset_is("a: 1\r\nb: 2\r\nc: 3\r\n", "b", "a: 1\r\nc: 3\r\n");
}
END_TEST

START_TEST(unset_nested_key)
{
	unset_is("o:\n  a: 1\n  # about b\n  b: 2\n  c: 3\n", "o.b", "o:\n  a: 1\n  # about b\n  c: 3\n");
}
END_TEST

START_TEST(unset_only_key_leaves_an_empty_mapping)
{
	unset_is("o:\n  # c\n  a: 1  # t\nx: 1\n", "o.a", "o:\n  # c\n  {}  # t\nx: 1\n");
	unset_is("l:\n  - 1\nx: 1\n", "l[0]", "l:\n  []\nx: 1\n");
}
END_TEST

START_TEST(unset_first_key_of_a_list_item_keeps_the_dash)
{
	unset_is("sp:\n  - class_name: X\n    # about parameters\n    parameters: {}\n", "sp[0].class_name",
		 "sp:\n  - \n    # about parameters\n    parameters: {}\n");
}
END_TEST

START_TEST(unset_list_items)
{
	unset_is("l:\n  - a\n  # c\n  - b\n  - c\n", "l[1]", "l:\n  - a\n  # c\n  - c\n");
	unset_is("l:\n  - a\n  - b\n", "l[0]", "l:\n  - b\n");
	unset_is("l: [1, 2, 3]\n", "l[0]", "l: [2, 3]\n");
	unset_is("l: [1, 2, 3]\n", "l[1]", "l: [1, 3]\n");
	unset_is("l: [1, 2, 3]\n", "l[2]", "l: [1, 2]\n");
	unset_is("l: [1]\n", "l[0]", "l: []\n");
}
END_TEST

START_TEST(unset_flow_mapping_entries)
{
	unset_is("m: {a: 1, b: 2, c: 3}\n", "m.b", "m: {a: 1, c: 3}\n");
	unset_is("m: {a: 1, b: 2}\n", "m.a", "m: {b: 2}\n");
}
END_TEST

START_TEST(unset_refuses_missing_keys_and_anchor_holders)
{
	struct yaml_edit_doc *doc = parse_ok("a: &x\n  b: 1\nc: *x\nd:\n  e: &y 1\n");
	char err[YAML_EDIT_ERR_MAX], *out;
	size_t len;

	ck_assert_int_eq(yaml_edit_unset(doc, "zz", &out, &len, NULL, err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(yaml_edit_unset(doc, "a", &out, &len, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(yaml_edit_unset(doc, "d", &out, &len, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "holds an anchor"));
	ck_assert_int_eq(yaml_edit_unset(doc, "c", &out, &len, NULL, err, sizeof(err)), -EINVAL);
	yaml_edit_free(doc);
}
END_TEST

/* Fuzz findings (tests/fuzz/regressions/yaml_edit/): exotic YAML is refused or handled. */

static void unset_refused(const char *text, const char *path, const char *what)
{
	struct yaml_edit_doc *doc = parse_ok(text);
	char err[YAML_EDIT_ERR_MAX] = "", *out = (char *)1;
	size_t len;
	int r = yaml_edit_unset(doc, path, &out, &len, NULL, err, sizeof(err));

	ck_assert_msg(r == -EINVAL, "unset %s: expected -EINVAL, got %d (%s)", path, r, err);
	ck_assert_ptr_null(out);
	ck_assert_msg(strstr(err, what), "expected '%s' in '%s'", what, err);
	yaml_edit_free(doc);
}

START_TEST(set_refuses_values_it_cannot_write_keeping_their_meaning)
{
	/* complex-key-written-as-null */
	set_refused("x: 1\n", "k", "{x1}: ", -EINVAL, "keys that are lists or mappings");
	set_refused("x: 1\n", "k", "? [a]\n: 1", -EINVAL, "keys that are lists or mappings");
	/* tagged-int-written-as-string */
	set_refused("x: 1\n", "k", "num: !!int '5'", -EINVAL, "1:6: a tag that plain text cannot keep");
	/* set-tagged-multiline-scalar-unparsable(-fuzzed) */
	set_refused("x: 1\n", "x", "!foo a\n\nb", -EINVAL, "a tag that plain text cannot keep");
	set_refused("", "k", "\xef\xbb\xbf!int rouo\n\n\n!int '5'\n", -EINVAL, "a tag that plain text cannot keep");
	set_refused("x: 1\n", "x", "!!map {a: 1}", -EINVAL, "a tag that plain text cannot keep");
	/* set-sexagesimal-int-in-flow-becomes-string */
	set_refused("{}\n", "new_key", "6:5", -EINVAL, "only be written quoted");
	set_refused("m: [1]\n", "m[0]", "6:5", -EINVAL, "only be written quoted");
	/* tags a plain text keeps, and base-60 numbers in block context, still go */
	set_is("x: 1\n", "k", "!!int 5", 0, "x: 1\nk: 5\n");
	set_is("x: 1\n", "k", "!!str 5", 0, "x: 1\nk: '5'\n");
	set_is("x: 1\n", "x", "6:5", 0, "x: 6:5\n");
}
END_TEST

/* A flow list `levels` deep around "1" ("[[1]]" for 2), in a static buffer. */
static const char *nested_list(unsigned levels)
{
	static char buf[2 * YAML_EDIT_MAX_DEPTH + 8];
	size_t n = 0;

	ck_assert_uint_le(levels, YAML_EDIT_MAX_DEPTH + 1);
	for (unsigned i = 0; i < levels; i++)
		buf[n++] = '[';
	buf[n++] = '1';
	for (unsigned i = 0; i < levels; i++)
		buf[n++] = ']';
	buf[n] = '\0';
	return buf;
}

/* Whether setting `path` of `text` to a list `levels` deep succeeds and reads back as one. */
static void set_depth_ok(const char *text, const char *path, unsigned levels)
{
	struct yaml_edit_doc *doc = parse_ok(text), *res = NULL;
	char err[YAML_EDIT_ERR_MAX] = "", *out = NULL;
	const struct yaml_edit_node *n;
	size_t len;
	int rc = yaml_edit_set(doc, path, nested_list(levels), 0, &out, &len, NULL, err, sizeof(err));

	ck_assert_msg(rc == 0, "set %s to %u levels: %d %s", path, levels, rc, err);
	ck_assert_msg(yaml_edit_parse(out, len, &res, err, sizeof(err)) == 0, "result does not parse: %s", err);
	ck_assert_int_eq(yaml_edit_lookup(res, path, &n, err, sizeof(err)), 0);
	for (unsigned i = 0; i < levels; i++) {
		ck_assert_int_eq(n->kind, YAML_EDIT_SEQUENCE);
		n = yaml_edit_first(res, n);
	}
	ck_assert_str_eq(n->value, "1");
	yaml_edit_free(res);
	free(out);
	yaml_edit_free(doc);
}

/* set-value-nested-past-max-depth: the result may nest YAML_EDIT_MAX_DEPTH lists and mappings, no more;
 * before, the renderer cut the value short there and the set succeeded */
START_TEST(set_refuses_nesting_too_deep)
{
	/* replacing a value of the root mapping: 1 level around it */
	set_depth_ok("a: 1\n", "a", YAML_EDIT_MAX_DEPTH - 1);
	set_refused("a: 1\n", "a", nested_list(YAML_EDIT_MAX_DEPTH), -EINVAL, "a: the result would nest 65 levels");
	/* new keys: a mapping for each of a, b and c */
	set_depth_ok("", "a.b.c", YAML_EDIT_MAX_DEPTH - 3);
	set_refused("", "a.b.c", nested_list(YAML_EDIT_MAX_DEPTH - 2), -EINVAL, "more than 64");
	set_depth_ok("x: 1\n", "a.b", YAML_EDIT_MAX_DEPTH - 2);
	set_refused("x: 1\n", "a.b", nested_list(YAML_EDIT_MAX_DEPTH - 1), -EINVAL, "more than 64");
	/* `a:` with no value becomes a mapping */
	set_depth_ok("a:\n", "a.b", YAML_EDIT_MAX_DEPTH - 2);
	set_refused("a:\n", "a.b", nested_list(YAML_EDIT_MAX_DEPTH - 1), -EINVAL, "more than 64");
}
END_TEST

START_TEST(set_handles_odd_layouts)
{
	/* set-empty-value-flow-map-next-line */
	set_is("m: { k:\n}\n", "m.k", "1", 0, "m: { k: 1\n}\n");
	set_is("m: { k: # c\n}\n", "m.k", "1", 0, "m: { k: 1 # c\n}\n");
	/* set-empty-flow-value-colon-in-comment: never written into the comment */
	set_refused("{k # c:\n\n}\n", "k", "1", -EINVAL, "cannot find where to write this empty flow value");
	set_refused("m: {k # c:\n}\n", "m.k", "", -EINVAL, "cannot find where to write this empty flow value");
	/* set-over-flow-value-followed-by-comment: `[]#c` keeps its comment a comment */
	set_is("k: []#c\nz: 1\n", "k", ".0e-", 0, "k: .0e- #c\nz: 1\n");
	set_is("k: [1]#c\n", "k[0]", "2", 0, "k: [2]#c\n");
	set_is("k: !!int ''#c\n", "k", "", 0, "k: #c\n"); /* set-null-over-value-followed-by-comment */
	/* set-null-over-value-before-blank-line-with-tab: `key:` then " \t" would not parse */
	set_is("a: true\r\n \t\nb: 1\r\n", "a", "", 0, "a: null\r\n \t\nb: 1\r\n");
	set_is("a: 1\n\n# c\nb: 1\n", "a", "", 0, "a:\n\n# c\nb: 1\n");
	/* set-c1-control-character-escaped: U+0080 written as \x80 */
	set_is("k: 1\n", "k", "\"a\\x80b\"", 0, "k: \"a\\x80b\"\n");
	/* set-new-key-flow-trailing-comma-then-tab */
	set_is("{b: 1,\t}\n", "new_key", "2", 0, "{b: 1,\tnew_key: 2}\n");
	/* set-flow-mapping-result-unclosed: a comma inside a comment is not the entries' separator */
	set_is("{\n24   1   # ,\n}\n", "new_key", "2", 0, "{\n24   1   # ,\n, new_key: 2}\n");
	set_is("{a: 1  # x, y\n}\n", "new_key", "2", 0, "{a: 1  # x, y\n, new_key: 2}\n");
	set_is("{a: 1,  # x, y\n}\n", "new_key", "2", 0, "{a: 1,  # x, y\nnew_key: 2}\n");
	set_is("{a: 'x,#y'}\n", "new_key", "2", 0, "{a: 'x,#y', new_key: 2}\n");
	set_is("{a # c,\n}\n", "new_key", "2", 0, "{a # c,\n, new_key: 2}\n");
	/* set-new-key-flow-map-hash-after-bracket: a '#' glued to the token before it is a comment too */
	set_is("{a: [x]#, y\n}\n", "new_key", "2", 0, "{a: [x]#, y\n, new_key: 2}\n");
	set_is("{a: 'q'#,\n}\n", "new_key", "2", 0, "{a: 'q'#,\n, new_key: 2}\n");
	set_is("{a: 1,#c, d\n}\n", "new_key", "2", 0, "{a: 1,#c, d\nnew_key: 2}\n");
	/* set-new-key-in-tagged-mapping */
	set_is("m: !!map\n  k: v\n", "m.added", "1", 0, "m: !!map\n  k: v\n  added: 1\n");
	/* set-list-item-column0-{literal,folded}-below-dash: the new value is indented under the '-' */
	set_is("m:\n- a\n-\n\n>-\n", "m[1]", "x", 0, "m:\n- a\n-\n\n  x\n");
	set_is("m:\n- a\n- \n|-\n", "m[1]", "''", 0, "m:\n- a\n- \n  ''\n");
	set_is("m:\n-\n|-\n  t\nz: 1\n", "m[0]", "", 0, "m:\n-\n  null\nz: 1\n");
	set_is("m:\n-\n|-\n  t\nz: 1\n", "m[0]", "[1, 2]", 0, "m:\n-\n  - 1\n  - 2\nz: 1\n");
	set_is("m:\n-\n|-\n  t\nz: 1\n", "m[0]", "a: 1\nb: 2", 0, "m:\n-\n  a: 1\n  b: 2\nz: 1\n");
	set_is("m:\n- # c, with '-'\n# d -\n|-\n  t\n", "m[0]", "x", 0, "m:\n- # c, with '-'\n# d -\n  x\n");
	set_is("m:\n- !!str\n|-\n  t\n", "m[0]", "x", 0, "m:\n- x\n");
	set_is("m:\n  -\n  |-\n   t\nz: 1\n", "m[0]", "x", 0, "m:\n  -\n    x\nz: 1\n");
	set_is("m:\n-\n  !!str\n  t\n", "m[0]", "x", 0, "m:\n-\n  x\n");
	/* set-flow-key-anchored-across-lines */
	set_refused("{&a \n\r\nz}\n", "z", "1", -EINVAL, "anchored or tagged flow key");
	/* set-quoted-value-above-blank-line-with-tab */
	set_refused("l:\n- a\n-   d1c\n   \t   ", "l[1]", "'5'", -EINVAL, "a blank line that holds a tab");
	set_is("l:\n- a\n-   d1c\n   \t   ", "l[1]", "x", 0, "l:\n- a\n-   x\n   \t   ");
	/* set-new-key-quoted-above-blank-line-with-tab: blank lines that hold a tab stay with the old
	 * last value (a plain scalar); the new key goes below them */
	set_is("s:\n  a: x\n   \t\n", "s.new_key", "''", 0, "s:\n  a: x\n   \t\n  new_key: ''\n");
	set_is("s:\n  a: x\r\n   \t", "s.new_key", "[]", 0, "s:\n  a: x\r\n   \t\n  new_key: []\n");
	set_is("s:\n  a: x\r\n   \t", "s.new_key", "[1]", 0, "s:\n  a: x\r\n   \t\n  new_key:\n    - 1\n");
	set_is("s:\n  a: x\n   \t\n  # c\n\n# d\nz: 1\n", "s.b.c", "y", 0,
	       "s:\n  a: x\n   \t\n  b:\n    c: y\n  # c\n\n# d\nz: 1\n");
	set_is("s:\n  a: x\n\n# d\nz: 1\n", "s.n", "1", 0, "s:\n  a: x\n  n: 1\n\n# d\nz: 1\n");
	/* set-block-value-above-blank-line-with-tab: a tab left of the new block's indentation */
	set_refused("a: x\n \t\nz: 1\n", "a", "[1]", -EINVAL, "1:4: refusing to write this value above a blank");
	set_refused("a: x\n   \t\nz: 1\n", "a", "b: {c: 1}", -EINVAL, "a blank line that holds a tab");
	set_refused("a: x\n   \t\nz: 1\n", "a", "[[]]", -EINVAL, "a blank line that holds a tab");
	set_refused("a: x\n  \t\nz: 1\n", "a", "[1]", -EINVAL, "a blank line that holds a tab");
	set_is("a: x\n   \t\nz: 1\n", "a", "[1]", 0, "a:\n  - 1\n   \t\nz: 1\n");
	set_is("a: x\n   \t\nz: 1\n", "a", "b: 1", 0, "a:\n  b: 1\n   \t\nz: 1\n");
	set_is("d:\n    - /a\n     \t\n", "d", "[/b, /c]", 0, "d:\n    - /b\n    - /c\n     \t\n");
	set_is("l:\n- x\n   \t\n", "l[0]", "[1]", 0, "l:\n- - 1\n   \t\n");
	set_refused("l:\n- x\n  \t\n", "l[0]", "[1]", -EINVAL, "a blank line that holds a tab");
	/* an explicit key with no ':' ends its mapping (unset-item-holding-explicit-key-without-value) */
	set_is("W:\n-\n  -   ?   \n#\n        no   \n# \n-\n", "W[0][0]", "x", 0, "W:\n-\n  -   x   \n# \n-\n");
	/* set-block-map-into-empty-item-of-tagged-list */
	set_is("ame: !\n  -\n", "ame[0]", "a:\nb:", 0, "ame: !\n  - a:\n    b:\n");
	set_is("l:\n-\n- x\n", "l[0]", "a: 1\nb: 2", 0, "l:\n- a: 1\n  b: 2\n- x\n");
	/* set-tagged-list-value-again: a tag on the key's line is not the column of the '-' */
	set_is("me: !u:\n- a\n", "me[0]", "b", 0, "me: !u:\n- b\n");
	set_is("me: !!seq\n-\n  a\n", "me[0]", "b", 0, "me: !!seq\n-\n  b\n");
	/* set-over-column0-block-scalar */
	set_is("k:\n>-\n  t\nz: 1\n", "k", "x", 0, "k: x\nz: 1\n");
	/* set-over-explicit-key-joins-lines(-fuzzed) */
	set_refused("a:\n  ? k\nb: 1\n", "a", "x", -EINVAL, "2:5: refusing to edit next to an explicit key");
	set_refused("a:\n  ? k\nb: 1\n", "a.new", "x", -EINVAL, "explicit key");
	set_refused("? a\n: 1\nb: 2\n", "b", "x", -EINVAL, "explicit key");
	/* set-new-key-after-explicit-key-on-its-own-line: the key below its '?' */
	set_refused("?\n   k: 1\n", "new_key", "x", -EINVAL, "2:4: refusing to edit next to an explicit key");
	set_refused("a: 1\n?\n\n  [k]\n: v\n", "a", "x", -EINVAL, "explicit key");
	/* unset-next-to-explicit-key-with-comment: comments between the '?' and its key */
	set_refused("a: 1\n?  # c\n  # d\n  k\n: v\n", "a", "x", -EINVAL, "explicit key");
	/* a '?' ending a comment or a value, or a line of a block scalar, is not one
	 * (set-new-key-after-question-mark-in-block-scalar) */
	set_is("am: |\n   ?\nb: 1\n", "b", "2", 0, "am: |\n   ?\nb: 2\n");
	set_is("a: what ?\n# really ?\nb: 1\n", "b", "2", 0, "a: what ?\n# really ?\nb: 2\n");
	/* set-top-level-key-after-bom-indented-root */
	set_is("\xef\xbb\xbf  a: 1\n", "new_key", "2", 0, "\xef\xbb\xbf  a: 1\n  new_key: 2\n");

	/* set-new-key-in-tagged-root-mapping(-fuzzed), set-result-no-document-start-ci: a tag or an
	 * anchor of the root mapping on its own line does not tell the keys' column */
	set_is("  !!map\nm: 1\n", "new_key", "2", 0, "  !!map\nm: 1\nnew_key: 2\n");
	set_is("!i3\n  num:\n", "a.b", "''", 0, "!i3\n  num:\n  a:\n    b: ''\n");
	set_refused("&x\n  a: 1\n", "new_key", "2", -EINVAL, "1:1: refusing to edit an anchored");
}
END_TEST

START_TEST(unset_handles_odd_layouts)
{
	/* unset-flow-entry-after-tagged-key: the key's tag keeps white space after it */
	unset_is("{ !:0, b: [y\n]}\n", "b", "{ !:0 }\n");
	unset_is("{!t , b: 1}\n", "b", "{!t }\n");
	unset_is("l: [!!str, x]\n", "l[1]", "l: [!!str ]\n");
	unset_is("{a: 'x !y', b: 1}\n", "b", "{a: 'x !y' }\n");
	unset_is("{a: !!str x, b: 1}\n", "b", "{a: !!str x}\n");
	/* unset-only-key-above-blank-line-with-tab: `{}` cannot stand there */
	unset_refused("me: o\n \t", "me", "1:5: refusing to delete the only entry above a blank line");
	unset_refused("l:\n  - o\n   \t\nz: 1\n", "l[0]", "above a blank line holding a tab");
	unset_is("me: o\n \n", "me", "{}\n \n");
	/* unset-item-holding-explicit-key-without-value: its mapping ends after the key, not at the
	 * next item (set_handles_odd_layouts replaces the same item) */
	unset_is("W:\n-\n  -   ?   \n#\n        no   \n# \n-\n", "W[0][0]", "W:\n-\n  []   \n# \n-\n");
	/* unset-before-tab-whitespace-line */
	unset_refused("a: [1]\nb: 2\n \t\n", "b", "3:2: refusing to delete before a blank line holding a tab");
	/* unset-last-item-indentless-list(-fuzzed) */
	unset_is("k:\n- a\nz: 1\n", "k[0]", "k: []\nz: 1\n");
	unset_is("a:\nk:\n- /d", "k[0]", "a:\nk: []");
	/* unset-key-of-single-pair-flow-mapping: `[k: v]` */
	unset_refused("m: {b: [k: v, y]}\n", "m.b[0].k", "refusing to delete the key of a single-pair mapping");
	unset_refused("b: [k: {c: 1}]\n", "b[0].k", "single-pair mapping");
	set_refused("b: [k: {c: 1}]\n", "b[0].new", "x", -EINVAL, "1:5: refusing to add a key to a single-pair");
	set_is("b: [k: v]\n", "b[0].k", "w", 0, "b: [k: w]\n");
	unset_is("b: [{k: v}, y]\n", "b[0].k", "b: [{}, y]\n");
	/* unset-after-tagged-empty-flow-value: a tag keeps white space after it */
	unset_is("m: {a: !, b: [x, y]}\n", "m.b", "m: {a: ! }\n");
	unset_is("m: [!!str x, y]\n", "m[1]", "m: [!!str x]\n");
	/* unset-flow-entry-leaves-document-marker-at-column-0 */
	unset_is("{\nz\n, ... }\n", "z", "{\n ... }\n");
	unset_is("{\nz\n, ---: 1}\n", "z", "{\n ---: 1}\n");
	/* unset-only-entry-flow-trailing-comma */
	unset_is("m: {a: 1, }\n", "m.a", "m: { }\n");
	unset_is("m: [1 , ]\n", "m[0]", "m: [ ]\n");
	/* explicit keys */
	unset_refused("m:\n  ? k\n  b: 1\n", "m.b", "2:5: refusing to edit next to an explicit key");
}
END_TEST

/* Seeds. */

START_TEST(seed_check_accepts_addresses_and_host_names)
{
	const char *ok[] = {"10.0.0.1",
			    "::1",
			    "fe80::1",
			    "[2001:db8::1]",
			    "cassandra-1",
			    "db.example.net",
			    "a",
			    "10.0.0.1:7000",
			    "[2001:db8::1]:7000",
			    "host.example:9042",
			    NULL};
	char err[YAML_EDIT_ERR_MAX];

	for (const char **p = ok; *p; p++)
		ck_assert_msg(yaml_edit_seed_check(*p, YAML_EDIT_SEEDS_PORT, err, sizeof(err)) == 0, "%s: %s", *p, err);
}
END_TEST

START_TEST(seed_check_refuses_shell_metacharacters_and_bad_forms)
{
	const char *bad[] = {
		"",           "10.0.0.1;reboot", "$(reboot)",    "`id`",      "a b",  "a|b",    "a&b",        "a>b",
		"10.0.0.256", "1.2.3",           "-host",        "host-",     "a..b", "host:0", "host:65536", "host:07",
		"[::1",       "[zz]:1",          "1:2:3:x:y::z", "h\xc3\xa9", "a\tb", "a'b",    NULL};
	char err[YAML_EDIT_ERR_MAX];

	for (const char **p = bad; *p; p++)
		ck_assert_msg(yaml_edit_seed_check(*p, YAML_EDIT_SEEDS_PORT, err, sizeof(err)) == -EINVAL,
			      "'%s' accepted", *p);
	ck_assert_int_eq(yaml_edit_seed_check("a b", 0, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "(space)"));
}
END_TEST

START_TEST(seed_check_refuses_ports_without_the_flag)
{
	char err[YAML_EDIT_ERR_MAX];

	ck_assert_int_eq(yaml_edit_seed_check("10.0.0.1:7000", 0, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "needs Cassandra 4.0"));
	ck_assert_int_eq(yaml_edit_seed_check("[::1]:7000", 0, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(yaml_edit_seed_check("::1", 0, err, sizeof(err)), 0);
}
END_TEST

static const char seeds_text[] = "seed_provider:\n  - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n"
				 "    parameters:\n      # seeds\n      - seeds: \"127.0.0.1:7000\"\n";

START_TEST(set_seeds_dedupes_keeping_order_and_external_seeds)
{
	struct yaml_edit_doc *doc = parse_ok(seeds_text);
	const char *seeds[] = {"10.0.0.2", "10.0.0.1", "10.0.0.2", "DB1.example", "db1.EXAMPLE"};
	const char *ext[] = {"192.168.0.1", "10.0.0.1"};
	char err[YAML_EDIT_ERR_MAX], *out, **got;
	struct yaml_edit_span sp;
	size_t len;

	ck_assert_int_eq(
		yaml_edit_set_seeds(doc, seeds, 5, ext, 2, YAML_EDIT_SEEDS_PORT, &out, &len, &sp, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(out, "      - seeds: \"10.0.0.2,10.0.0.1,DB1.example,192.168.0.1\"\n"));
	assert_span(seeds_text, out, len, &sp);
	yaml_edit_free(doc);
	doc = parse_ok(out);
	ck_assert_int_eq(yaml_edit_get_seeds(doc, &got), 4);
	ck_assert_str_eq(got[0], "10.0.0.2");
	ck_assert_str_eq(got[3], "192.168.0.1");
	ck_assert_ptr_null(got[4]);
	yaml_edit_strv_free(got);
	yaml_edit_free(doc);
	free(out);
}
END_TEST

START_TEST(set_seeds_refuses_empty_and_bad_lists)
{
	struct yaml_edit_doc *doc = parse_ok(seeds_text);
	const char *bad[] = {"10.0.0.1", "10.0.0.2;rm -rf /"};
	char err[YAML_EDIT_ERR_MAX], *out = NULL;
	size_t len;

	ck_assert_int_eq(yaml_edit_set_seeds(doc, NULL, 0, NULL, 0, 0, &out, &len, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "may not be empty"));
	ck_assert_int_eq(yaml_edit_set_seeds(doc, bad, 2, NULL, 0, 0, &out, &len, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "';'"));
	ck_assert_ptr_null(out);
	yaml_edit_free(doc);
}
END_TEST

START_TEST(set_seeds_creates_a_seed_provider_when_there_is_none)
{
	struct yaml_edit_doc *doc = parse_ok("cluster_name: x\n");
	const char *seeds[] = {"10.0.0.1"};
	char err[YAML_EDIT_ERR_MAX], *out;
	size_t len;

	ck_assert_int_eq(yaml_edit_set_seeds(doc, seeds, 1, NULL, 0, 0, &out, &len, NULL, err, sizeof(err)), 0);
	ck_assert_str_eq(
		out,
		"cluster_name: x\nseed_provider:\n  - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n"
		"    parameters:\n      - seeds: \"10.0.0.1\"\n");
	free(out);
	yaml_edit_free(doc);
}
END_TEST

START_TEST(render_writes_block_yaml_for_show)
{
	struct yaml_edit_doc *doc = parse_ok("m:\n  a: [1, 'x: y']\n  b: {c: ~}\n");
	char *out;

	ck_assert_int_eq(yaml_edit_render(doc, yaml_edit_get(doc, yaml_edit_root(doc), "m"), &out, NULL), 0);
	ck_assert_str_eq(out, "a:\n  - 1\n  - 'x: y'\nb:\n  c: ~");
	free(out);
	yaml_edit_free(doc);
}
END_TEST

/* The shared default files: seeds, a nested key, a new key, a deleted key; all other bytes kept. */

static bool is_comment_line(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] == ' ')
		i++;
	return i < n && p[i] == '#';
}

/* Every comment line of `a` appears in `b` in the same order. */
static void assert_comments_kept(const char *a, const char *b, const char *what)
{
	const char *q = b;

	for (const char *p = a; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);

		if (is_comment_line(p, n)) {
			char *line = strndup(p, n);
			const char *hit = strstr(q, line);

			ck_assert_msg(hit != NULL, "%s: comment line lost: %s", what, line);
			q = hit + n;
			free(line);
		}
		p += n;
	}
}

static void edit_step(char **text, size_t *len, int rc, char *out, size_t out_len, const struct yaml_edit_span *sp,
		      const char *err, const char *what)
{
	/* rc is computed by the caller before out and out_len are read */
	ck_assert_msg(rc == 0, "%s: %s", what, err);
	(*text)[*len] = '\0';
	assert_span(*text, out, out_len, sp);
	assert_comments_kept(*text, out, what);
	free(*text);
	*text = out;
	*len = out_len;
}

START_TEST(shared_files_take_the_four_edits_keeping_all_other_bytes)
{
	const char *data = shared_data();
	const char *seeds[] = {"10.0.0.1", "10.0.0.2"};
	char path[4300], err[YAML_EDIT_ERR_MAX], *text, *out;
	struct yaml_edit_span sp;
	size_t len, out_len;
	int rc;

	if (!data)
		return;
	for (const char *const *f = shared_files; *f; f++) {
		struct yaml_edit_doc *doc;
		const struct yaml_edit_node *n;

		snprintf(path, sizeof(path), "%s/cassandra/%s", data, *f);
		text = slurp(path, &len);
		doc = parse_ok(text);
		rc = yaml_edit_set_seeds(doc, seeds, 2, NULL, 0, 0, &out, &out_len, &sp, err, sizeof(err));
		edit_step(&text, &len, rc, out, out_len, &sp, err, *f);
		yaml_edit_free(doc);
		doc = parse_ok(text);
		rc = yaml_edit_set(doc, "client_encryption_options.enabled", "true", 0, &out, &out_len, &sp, err,
				   sizeof(err));
		edit_step(&text, &len, rc, out, out_len, &sp, err, *f);
		yaml_edit_free(doc);
		doc = parse_ok(text);
		rc = yaml_edit_set(doc, "phi_convict_threshold", "12", 0, &out, &out_len, &sp, err, sizeof(err));
		edit_step(&text, &len, rc, out, out_len, &sp, err, *f);
		yaml_edit_free(doc);
		doc = parse_ok(text);
		rc = yaml_edit_unset(doc, "hinted_handoff_enabled", &out, &out_len, &sp, err, sizeof(err));
		edit_step(&text, &len, rc, out, out_len, &sp, err, *f);
		yaml_edit_free(doc);
		doc = parse_ok(text);
		ck_assert_int_eq(yaml_edit_lookup(doc, YAML_EDIT_SEEDS_PATH, &n, err, sizeof(err)), 0);
		ck_assert_str_eq(n->value, "10.0.0.1,10.0.0.2");
		ck_assert_int_eq(yaml_edit_lookup(doc, "client_encryption_options.enabled", &n, err, sizeof(err)), 0);
		ck_assert_int_eq(n->type, YAML_EDIT_BOOL);
		ck_assert_str_eq(n->value, "true");
		ck_assert_int_eq(yaml_edit_lookup(doc, "hinted_handoff_enabled", &n, err, sizeof(err)), -ENOENT);
		ck_assert_ptr_nonnull(strstr(text, "\nphi_convict_threshold: 12\n"));
		yaml_edit_free(doc);
		free(text);
	}
}
END_TEST

START_TEST(shared_files_keep_crlf_when_converted)
{
	const char *data = shared_data();
	char path[4300], err[YAML_EDIT_ERR_MAX], *text, *crlf, *out;
	struct yaml_edit_doc *doc;
	struct yaml_edit_span sp;
	size_t len, n = 0, out_len;

	if (!data)
		return;
	snprintf(path, sizeof(path), "%s/cassandra/cassandra-5.0.yaml", data);
	text = slurp(path, &len);
	crlf = malloc(2 * len + 1);
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n')
			crlf[n++] = '\r';
		crlf[n++] = text[i];
	}
	crlf[n] = '\0';
	doc = parse_ok(crlf);
	ck_assert(yaml_edit_crlf(doc));
	ck_assert_int_eq(yaml_edit_set(doc, "client_encryption_options.protocol", "TLS", 0, &out, &out_len, &sp, err,
				       sizeof(err)),
			 0);
	assert_span(crlf, out, out_len, &sp);
	ck_assert_int_eq(memcmp(out + sp.start, "\r\n  protocol: TLS", sp.new_len), 0);
	for (size_t i = 0; i < out_len; i++)
		if (out[i] == '\n')
			ck_assert_msg(i > 0 && out[i - 1] == '\r', "bare LF at %zu", i);
	free(out);
	yaml_edit_free(doc);
	free(crlf);
	free(text);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("yaml_edit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, parse_refuses_tab_in_indentation);
	tcase_add_test(tc, parse_accepts_tab_after_content);
	tcase_add_test(tc, parse_refuses_duplicate_keys);
	tcase_add_test(tc, parse_refuses_duplicate_keys_in_a_large_mapping);
	tcase_add_test(tc, parse_refuses_non_utf8);
	tcase_add_test(tc, parse_refuses_oversized_input_without_reading_it);
	tcase_add_test(tc, parse_refuses_broken_yaml_with_position);
	tcase_add_test(tc, parse_refuses_two_documents);
	tcase_add_test(tc, parse_refuses_deep_nesting);
	tcase_add_test(tc, parse_refuses_nul_and_lone_cr);
	tcase_add_test(tc, parse_accepts_empty_and_comment_only_files);
	tcase_add_test(tc, parse_resolves_yaml11_scalar_types);
	tcase_add_test(tc, parse_gives_quoted_and_tagged_scalars_their_type);
	tcase_add_test(tc, parse_maps_marks_to_bytes_in_non_ascii_files);
	tcase_add_test(tc, lookup_finds_nested_and_indexed_paths);
	tcase_add_test(tc, lookup_refuses_malformed_paths);
	tcase_add_test(tc, set_scalar_keeps_every_other_byte);
	tcase_add_test(tc, set_keeps_the_quoting_style_of_the_old_value);
	tcase_add_test(tc, set_quotes_strings_that_would_read_as_another_type);
	tcase_add_test(tc, set_quotes_strings_with_yaml_special_characters);
	tcase_add_test(tc, set_value_of_a_key_with_null_value);
	tcase_add_test(tc, set_empty_value_writes_null);
	tcase_add_test(tc, set_missing_top_level_key_appends_at_the_end);
	tcase_add_test(tc, set_commented_out_key_appends_a_real_key);
	tcase_add_test(tc, set_missing_nested_key_goes_after_the_last_child);
	tcase_add_test(tc, set_creates_the_missing_intermediate_mappings);
	tcase_add_test(tc, set_list_is_written_in_block_style_at_the_file_indent);
	tcase_add_test(tc, set_flow_list_stays_flow_and_empty_list_is_flow);
	tcase_add_test(tc, set_mapping_replaces_a_block_keeping_its_leading_comments);
	tcase_add_test(tc, set_in_a_crlf_file_writes_crlf);
	tcase_add_test(tc, set_inside_flow_collections);
	tcase_add_test(tc, set_list_items_by_index);
	tcase_add_test(tc, set_after_a_block_scalar_keeps_its_value);
	tcase_add_test(tc, set_refuses_what_it_cannot_do);
	tcase_add_test(tc, set_tagged_block_collection_is_replaced_with_its_tag);
	tcase_add_test(tc, unset_deletes_the_key_lines_and_keeps_the_comments_around);
	tcase_add_test(tc, unset_nested_key);
	tcase_add_test(tc, unset_only_key_leaves_an_empty_mapping);
	tcase_add_test(tc, unset_first_key_of_a_list_item_keeps_the_dash);
	tcase_add_test(tc, unset_list_items);
	tcase_add_test(tc, unset_flow_mapping_entries);
	tcase_add_test(tc, unset_refuses_missing_keys_and_anchor_holders);
	tcase_add_test(tc, set_refuses_values_it_cannot_write_keeping_their_meaning);
	tcase_add_test(tc, set_handles_odd_layouts);
	tcase_add_test(tc, set_refuses_nesting_too_deep);
	tcase_add_test(tc, unset_handles_odd_layouts);
	tcase_add_test(tc, seed_check_accepts_addresses_and_host_names);
	tcase_add_test(tc, seed_check_refuses_shell_metacharacters_and_bad_forms);
	tcase_add_test(tc, seed_check_refuses_ports_without_the_flag);
	tcase_add_test(tc, set_seeds_dedupes_keeping_order_and_external_seeds);
	tcase_add_test(tc, set_seeds_refuses_empty_and_bad_lists);
	tcase_add_test(tc, set_seeds_creates_a_seed_provider_when_there_is_none);
	tcase_add_test(tc, render_writes_block_yaml_for_show);
	tcase_add_test(tc, shared_files_take_the_four_edits_keeping_all_other_bytes);
	tcase_add_test(tc, shared_files_keep_crlf_when_converted);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_forked(suite(), CK_NORMAL);
}
