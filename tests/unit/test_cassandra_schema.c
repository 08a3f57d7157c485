/* test_cassandra_schema: Check unit tests of the per-version cassandra.yaml schema and validated edits
 * (agent/cassandra_schema.c). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "check_run.h"
#include "cassandra_schema.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Helpers. */

static const char base_41[] = "cluster_name: 'Test Cluster'\n"
			      "num_tokens: 16\n"
			      "hinted_handoff_enabled: true\n"
			      "read_request_timeout: 5000ms\n"
			      "concurrent_reads: 32\n"
			      "commitlog_sync_period: 10000ms\n"
			      "seed_provider:\n"
			      "  - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n"
			      "    parameters:\n"
			      "      - seeds: \"127.0.0.1:7000\"\n"
			      "client_encryption_options:\n"
			      "  enabled: false\n"
			      "  keystore: conf/.keystore\n";

static const char base_311[] = "cluster_name: 'Test Cluster'\n"
			       "read_request_timeout_in_ms: 5000\n"
			       "seed_provider:\n"
			       "    - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n"
			       "      parameters:\n"
			       "          - seeds: \"127.0.0.1\"\n";

/* Applies one SET; returns the rc, fills err and (on success) *res. */
static int apply_set(enum cassandra_version v, unsigned flags, const char *text, const char *key, const char *value,
		     struct cassandra_schema_result *res, char *err)
{
	struct cassandra_edit e = {.op = CASSANDRA_EDIT_SET, .key = key, .value = value};

	return cassandra_schema_apply(v, flags, text, strlen(text), &e, 1, res, err, YAML_EDIT_ERR_MAX);
}

static void set_ok(enum cassandra_version v, const char *text, const char *key, const char *value,
		   const char *want_line)
{
	struct cassandra_schema_result res;
	char err[YAML_EDIT_ERR_MAX] = "";
	int rc = apply_set(v, 0, text, key, value, &res, err);

	ck_assert_msg(rc == 0, "%s=%s on %s refused: %s", key, value, cassandra_version_name(v), err);
	ck_assert(res.changed);
	if (want_line)
		ck_assert_msg(strstr(res.data, want_line), "'%s' not in\n%s", want_line, res.data);
	cassandra_schema_result_free(&res);
}

static void set_refused(enum cassandra_version v, unsigned flags, const char *text, const char *key, const char *value,
			const char *what)
{
	struct cassandra_schema_result res;
	char err[YAML_EDIT_ERR_MAX] = "";
	int rc = apply_set(v, flags, text, key, value, &res, err);

	ck_assert_msg(rc == -EINVAL, "%s=%s on %s: expected refusal, got %d (%s)", key, value,
		      cassandra_version_name(v), rc, err);
	ck_assert_ptr_null(res.data);
	ck_assert_msg(strstr(err, what), "expected '%s' in '%s'", what, err);
}

static const char *shared_data(void)
{
	static char path[4096];
	const char *env = getenv("SHARED_DATA"), *root = getenv("PROJECT_ROOT");
	char probe[4200];
	FILE *f;

	if (env && *env)
		snprintf(path, sizeof(path), "%s", env);
	else
		snprintf(path, sizeof(path), "%s/../shared/data", root && *root ? root : ".");
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

/* Versions and tables. */

START_TEST(version_parse_accepts_supported_versions_with_patch_levels)
{
	enum cassandra_version v;

	ck_assert_int_eq(cassandra_version_parse("3.11", &v), 0);
	ck_assert_int_eq(v, CASSANDRA_3_11);
	ck_assert_int_eq(cassandra_version_parse("3.11.18", &v), 0);
	ck_assert_int_eq(v, CASSANDRA_3_11);
	ck_assert_int_eq(cassandra_version_parse("4.0.15", &v), 0);
	ck_assert_int_eq(v, CASSANDRA_4_0);
	ck_assert_int_eq(cassandra_version_parse("4.1", &v), 0);
	ck_assert_int_eq(v, CASSANDRA_4_1);
	ck_assert_int_eq(cassandra_version_parse("5.0.2", &v), 0);
	ck_assert_int_eq(v, CASSANDRA_5_0);
	ck_assert_str_eq(cassandra_version_name(CASSANDRA_4_1), "4.1");
	const char *bad[] = {"", "5", "5.", "3.0", "4.2", "x.y", "5.0x", "5.0.", "-4.0", "4.0 ", NULL};

	for (const char **p = bad; *p; p++)
		ck_assert_msg(cassandra_version_parse(*p, &v) == -EINVAL, "'%s' accepted", *p);
}
END_TEST

static void assert_sorted(const struct cassandra_schema_key *keys, size_t n, const char *where)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			ck_assert_msg(strcmp(keys[i - 1].name, keys[i].name) < 0, "%s: %s before %s", where,
				      keys[i - 1].name, keys[i].name);
		if (keys[i].n_children)
			assert_sorted(keys[i].children, keys[i].n_children, keys[i].name);
	}
}

START_TEST(generated_tables_are_sorted_for_binary_search)
{
	for (unsigned v = 0; v < CASSANDRA_VERSION_COUNT; v++) {
		const struct cassandra_schema_table *t = &cassandra_schema_tables[v];

		ck_assert_uint_gt(t->n_keys, 100);
		assert_sorted(t->keys, t->n_keys, cassandra_version_name(v));
		for (size_t i = 1; i < t->n_renames; i++)
			ck_assert(strcmp(t->renames[i - 1].old_name, t->renames[i].old_name) < 0);
	}
	ck_assert_uint_eq(cassandra_schema_tables[CASSANDRA_3_11].n_renames, 0);
	ck_assert_uint_gt(cassandra_schema_tables[CASSANDRA_4_1].n_renames, 80);
}
END_TEST

START_TEST(schema_types_come_from_the_default_files_and_renamed_settings)
{
	const struct cassandra_schema_key *k;

	k = cassandra_schema_find(CASSANDRA_5_0, "read_request_timeout");
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(k->type, CASSANDRA_SCHEMA_DURATION);
	k = cassandra_schema_find(CASSANDRA_5_0, "read_request_timeout_in_ms");
	ck_assert_int_eq(k->type, CASSANDRA_SCHEMA_INT);
	ck_assert(k->flags & CASSANDRA_SCHEMA_DEPRECATED);
	ck_assert_str_eq(k->replaced_by, "read_request_timeout");
	ck_assert_int_eq(cassandra_schema_find(CASSANDRA_4_1, "compaction_throughput")->type, CASSANDRA_SCHEMA_RATE);
	ck_assert_int_eq(cassandra_schema_find(CASSANDRA_4_1, "max_value_size")->type, CASSANDRA_SCHEMA_SIZE);
	ck_assert_int_eq(cassandra_schema_find(CASSANDRA_3_11, "read_request_timeout_in_ms")->type,
			 CASSANDRA_SCHEMA_INT);
	ck_assert_ptr_null(cassandra_schema_find(CASSANDRA_3_11, "read_request_timeout"));
	ck_assert_int_eq(cassandra_schema_find(CASSANDRA_4_0, "hinted_handoff_enabled")->type, CASSANDRA_SCHEMA_BOOL);
	ck_assert_int_eq(cassandra_schema_find(CASSANDRA_4_0, "cluster_name")->type, CASSANDRA_SCHEMA_STRING);
	/* only commented out in the default file */
	k = cassandra_schema_find(CASSANDRA_5_0, "data_file_directories");
	ck_assert_int_eq(k->type, CASSANDRA_SCHEMA_LIST);
	ck_assert(k->flags & CASSANDRA_SCHEMA_COMMENTED);
	/* nested structure */
	k = cassandra_schema_find(CASSANDRA_4_1, "client_encryption_options");
	ck_assert_int_eq(k->type, CASSANDRA_SCHEMA_MAPPING);
	ck_assert_int_eq(cassandra_schema_child(k, "enabled")->type, CASSANDRA_SCHEMA_BOOL);
	ck_assert_int_eq(cassandra_schema_child(k, "optional")->type, CASSANDRA_SCHEMA_BOOL); /* commented child */
	k = cassandra_schema_find(CASSANDRA_3_11, "seed_provider");
	ck_assert_int_eq(k->type, CASSANDRA_SCHEMA_LIST);
	k = cassandra_schema_child(cassandra_schema_child(k, "parameters"), "seeds");
	ck_assert_int_eq(k->type, CASSANDRA_SCHEMA_STRING);
	/* prose in comments is not a key */
	ck_assert_ptr_null(cassandra_schema_find(CASSANDRA_5_0, "table"));
}
END_TEST

START_TEST(schema_knows_every_key_of_each_default_file)
{
	static const struct {
		const char *file;
		enum cassandra_version v;
	} files[] = {
		{"cassandra-3.11.yaml", CASSANDRA_3_11},      {"cassandra-4.0.yaml", CASSANDRA_4_0},
		{"cassandra-4.1.yaml", CASSANDRA_4_1},        {"cassandra-5.0.yaml", CASSANDRA_5_0},
		{"cassandra_latest-5.0.yaml", CASSANDRA_5_0},
	};
	const char *data = shared_data();
	char path[4300], err[YAML_EDIT_ERR_MAX];

	if (!data)
		return;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct yaml_edit_doc *doc;
		const struct yaml_edit_node *root;
		size_t len;
		char *text;

		snprintf(path, sizeof(path), "%s/cassandra/%s", data, files[i].file);
		text = slurp(path, &len);
		ck_assert_int_eq(yaml_edit_parse(text, len, &doc, err, sizeof(err)), 0);
		root = yaml_edit_root(doc);
		for (const struct yaml_edit_node *k = yaml_edit_first(doc, root); k; k = yaml_edit_next(doc, k)) {
			const struct cassandra_schema_key *key = cassandra_schema_find(files[i].v, k->value);
			struct cassandra_schema_warnings w = {0};

			ck_assert_msg(key != NULL, "%s: %s unknown", files[i].file, k->value);
			ck_assert_msg(cassandra_schema_check_value(files[i].v, key, doc, yaml_edit_value(doc, k),
								   k->value, &w, err, sizeof(err)) == 0,
				      "%s: default value refused: %s", files[i].file, err);
		}
		ck_assert_int_eq(cassandra_schema_check_renames(files[i].v, doc, err, sizeof(err)), 0);
		yaml_edit_free(doc);
		free(text);
	}
}
END_TEST

/* Validation of edits. */

START_TEST(unknown_key_refused_with_a_hint)
{
	set_refused(CASSANDRA_4_1, 0, base_41, "no_such_setting", "1",
		    "no_such_setting: unknown key for Cassandra 4.1");
	set_refused(CASSANDRA_3_11, 0, base_311, "read_request_timeout", "5000ms",
		    "known in 4.1, 5.0); Cassandra 3.11 calls it read_request_timeout_in_ms");
	set_refused(CASSANDRA_4_0, 0, base_311, "storage_compatibility_mode", "NONE", "(known in 5.0)");
}
END_TEST

START_TEST(wrong_types_refused)
{
	set_refused(CASSANDRA_4_1, 0, base_41, "concurrent_reads", "abc",
		    "expects an integer for Cassandra 4.1, got a string 'abc'");
	set_refused(CASSANDRA_4_1, 0, base_41, "concurrent_reads", "1.5", "got a float");
	set_refused(CASSANDRA_4_1, 0, base_41, "concurrent_reads", "", "got null");
	set_refused(CASSANDRA_4_1, 0, base_41, "hinted_handoff_enabled", "maybe", "expects a boolean");
	set_refused(CASSANDRA_4_1, 0, base_41, "hinted_handoff_enabled", "'true'", "expects a boolean");
	set_refused(CASSANDRA_4_1, 0, base_41, "client_encryption_options", "[a]", "expects a mapping");
	set_refused(CASSANDRA_4_1, CASSANDRA_SCHEMA_FORCE, base_41, "data_file_directories", "/data", "expects a list");
	set_refused(CASSANDRA_4_1, CASSANDRA_SCHEMA_FORCE, base_41, "cluster_name", "[x]", "expects a string");
	set_refused(CASSANDRA_4_1, 0, base_41, "client_encryption_options.enabled", "yes please", "expects a boolean");
}
END_TEST

START_TEST(right_types_accepted)
{
	set_ok(CASSANDRA_4_1, base_41, "concurrent_reads", "64", "concurrent_reads: 64\n");
	set_ok(CASSANDRA_4_1, base_41, "hinted_handoff_enabled", "false", "hinted_handoff_enabled: false\n");
	set_ok(CASSANDRA_4_1, base_41, "phi_convict_threshold", "12", "phi_convict_threshold: 12\n");
	set_ok(CASSANDRA_4_1, base_41, "client_encryption_options", "{enabled: true, keystore: /etc/k.jks}",
	       "  enabled: true\n");
	set_ok(CASSANDRA_5_0, base_41, "client_encryption_options.enabled", "true", "  enabled: true\n");
	set_ok(CASSANDRA_4_0, base_311, "endpoint_snitch", "GossipingPropertyFileSnitch", NULL);
}
END_TEST

START_TEST(string_settings_are_quoted_when_they_look_like_other_types)
{
	set_ok(CASSANDRA_4_1, base_41, "endpoint_snitch", "123", "endpoint_snitch: '123'\n");
	set_ok(CASSANDRA_4_1, base_41, "client_encryption_options.keystore", "true", "  keystore: 'true'\n");
}
END_TEST

START_TEST(durations_sizes_and_rates_need_units_on_41)
{
	set_ok(CASSANDRA_4_1, base_41, "read_request_timeout", "10s", "read_request_timeout: 10s\n");
	set_ok(CASSANDRA_5_0, base_41, "read_request_timeout", "'2h'", NULL);
	set_ok(CASSANDRA_4_1, base_41, "max_value_size", "256MiB", "max_value_size: 256MiB\n");
	set_ok(CASSANDRA_4_1, base_41, "compaction_throughput", "64MiB/s", "compaction_throughput: 64MiB/s\n");
	set_refused(CASSANDRA_4_1, 0, base_41, "read_request_timeout", "5000",
		    "'5000' has no unit; Cassandra 4.1 expects a duration with a unit");
	set_refused(CASSANDRA_4_1, 0, base_41, "read_request_timeout", "5000",
		    "(or the deprecated old name read_request_timeout_in_ms with a plain number)");
	set_refused(CASSANDRA_4_1, 0, base_41, "read_request_timeout", "5 s", "expects a duration");
	set_refused(CASSANDRA_4_1, 0, base_41, "read_request_timeout", "5000MS", "expects a duration");
	set_refused(CASSANDRA_4_1, 0, base_41, "max_value_size", "256MB", "expects a size");
	set_refused(CASSANDRA_4_1, 0, base_41, "compaction_throughput", "64", "has no unit");
	/* a same-name setting whose old form was a number (SECONDS_CUSTOM_DURATION) */
	set_ok(CASSANDRA_4_1, base_41, "key_cache_save_period", "14400", "key_cache_save_period: 14400\n");
	set_ok(CASSANDRA_4_1, base_41, "key_cache_save_period", "4h", "key_cache_save_period: 4h\n");
	/* 3.11 has only the numbers */
	set_ok(CASSANDRA_3_11, base_311, "read_request_timeout_in_ms", "10000", NULL);
	set_refused(CASSANDRA_3_11, 0, base_311, "read_request_timeout_in_ms", "10s", "expects an integer");
}
END_TEST

START_TEST(old_names_accepted_as_deprecated_on_41)
{
	struct cassandra_schema_result res;
	char err[YAML_EDIT_ERR_MAX];
	const char *text = "cluster_name: x\n";

	ck_assert_int_eq(apply_set(CASSANDRA_4_1, 0, text, "write_request_timeout_in_ms", "2000", &res, err), 0);
	ck_assert_ptr_nonnull(strstr(res.warn.text,
				     "write_request_timeout_in_ms: deprecated in Cassandra 4.1; the new name "
				     "is write_request_timeout"));
	cassandra_schema_result_free(&res);
	set_refused(CASSANDRA_4_1, 0, text, "write_request_timeout_in_ms", "2000ms", "expects an integer");
}
END_TEST

START_TEST(old_and_new_name_together_refused)
{
	set_refused(CASSANDRA_4_1, 0, base_41, "read_request_timeout_in_ms", "5000",
		    "both read_request_timeout_in_ms and read_request_timeout are set");
	set_refused(CASSANDRA_5_0, 0, "enable_user_defined_functions: false\n", "user_defined_functions_enabled",
		    "true", "both enable_user_defined_functions and user_defined_functions_enabled are set");
	/* two old names of one setting */
	set_refused(CASSANDRA_4_1, 0, "internode_send_buff_size_in_bytes: 0\n",
		    "internode_socket_send_buffer_size_in_bytes", "0",
		    "both are old names of internode_socket_send_buffer_size");
}
END_TEST

START_TEST(renaming_in_one_apply_passes)
{
	struct cassandra_edit e[] = {
		{.op = CASSANDRA_EDIT_UNSET, .key = "read_request_timeout"},
		{.op = CASSANDRA_EDIT_SET, .key = "read_request_timeout_in_ms", .value = "6000"},
	};
	struct cassandra_schema_result res;
	char err[YAML_EDIT_ERR_MAX];

	ck_assert_int_eq(
		cassandra_schema_apply(CASSANDRA_4_1, 0, base_41, strlen(base_41), e, 2, &res, err, sizeof(err)), 0);
	ck_assert_ptr_null(strstr(res.data, "read_request_timeout:"));
	ck_assert_ptr_nonnull(strstr(res.data, "\nread_request_timeout_in_ms: 6000\n"));
	cassandra_schema_result_free(&res);
}
END_TEST

START_TEST(protected_keys_need_force)
{
	static const char *const keys[] = {"cluster_name",
					   "partitioner",
					   "num_tokens",
					   "initial_token",
					   "data_file_directories",
					   "commitlog_directory",
					   "saved_caches_directory",
					   NULL};
	struct cassandra_edit unset = {.op = CASSANDRA_EDIT_UNSET, .key = "num_tokens"};
	struct cassandra_schema_result res;
	char err[YAML_EDIT_ERR_MAX];

	for (const char *const *k = keys; *k; k++) {
		ck_assert(cassandra_schema_protected(*k));
		set_refused(CASSANDRA_4_1, 0, base_41, *k, "x", "protected");
		set_refused(CASSANDRA_4_1, CASSANDRA_SCHEMA_NO_VALIDATE, base_41, *k, "x", "refused without force");
	}
	ck_assert_int_eq(apply_set(CASSANDRA_4_1, CASSANDRA_SCHEMA_FORCE, base_41, "num_tokens", "8", &res, err), 0);
	ck_assert_ptr_nonnull(strstr(res.data, "num_tokens: 8\n"));
	cassandra_schema_result_free(&res);
	ck_assert_int_eq(apply_set(CASSANDRA_4_1, CASSANDRA_SCHEMA_FORCE, base_41, "data_file_directories",
				   "[/d1, /d2]", &res, err),
			 0);
	cassandra_schema_result_free(&res);
	ck_assert_int_eq(
		cassandra_schema_apply(CASSANDRA_4_1, 0, base_41, strlen(base_41), &unset, 1, &res, err, sizeof(err)),
		-EINVAL);
	ck_assert(!cassandra_schema_protected("concurrent_reads"));
}
END_TEST

START_TEST(nested_keys_checked_where_known_and_warned_where_not)
{
	struct cassandra_schema_result res;
	char err[YAML_EDIT_ERR_MAX];

	ck_assert_int_eq(apply_set(CASSANDRA_4_1, 0, base_41, "client_encryption_options.accepted_protocols",
				   "[TLSv1.2]", &res, err),
			 0);
	ck_assert_ptr_nonnull(strstr(res.warn.text, "client_encryption_options.accepted_protocols: not in the default "
						    "cassandra.yaml of 4.1; accepted without a type check"));
	cassandra_schema_result_free(&res);
	ck_assert_int_eq(apply_set(CASSANDRA_4_1, 0, base_41, "client_encryption_options",
				   "{enabled: true, my_option: 1}", &res, err),
			 0);
	ck_assert_ptr_nonnull(strstr(res.warn.text, "client_encryption_options.my_option: not in the default"));
	cassandra_schema_result_free(&res);
	set_refused(CASSANDRA_4_1, 0, base_41, "client_encryption_options", "{enabled: 7}",
		    "client_encryption_options.enabled: 12:12: expects a boolean");
	set_refused(CASSANDRA_4_1, 0, base_41, "seed_provider[0].parameters[0].seeds", "[a]", "expects a string");
}
END_TEST

START_TEST(seeds_ports_need_40_and_bad_seeds_are_refused)
{
	const char *with_port[] = {"10.0.0.1:7000", "10.0.0.2"};
	const char *semicolon[] = {"10.0.0.1;reboot"};
	const char *subst[] = {"$(reboot)"};
	const char *space[] = {"10.0.0.1 10.0.0.2"};
	struct cassandra_edit e = {.op = CASSANDRA_EDIT_SEEDS, .seeds = with_port, .n_seeds = 2};
	struct cassandra_schema_result res;
	char err[YAML_EDIT_ERR_MAX];

	ck_assert_int_eq(
		cassandra_schema_apply(CASSANDRA_3_11, 0, base_311, strlen(base_311), &e, 1, &res, err, sizeof(err)),
		-EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "needs Cassandra 4.0"));
	ck_assert_int_eq(
		cassandra_schema_apply(CASSANDRA_4_0, 0, base_311, strlen(base_311), &e, 1, &res, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(res.data, "- seeds: \"10.0.0.1:7000,10.0.0.2\"\n"));
	cassandra_schema_result_free(&res);
	e.n_seeds = 0;
	ck_assert_int_eq(
		cassandra_schema_apply(CASSANDRA_4_0, 0, base_311, strlen(base_311), &e, 1, &res, err, sizeof(err)),
		-EINVAL);
	e.n_seeds = 1;
	e.seeds = semicolon;
	ck_assert_int_eq(
		cassandra_schema_apply(CASSANDRA_4_0, 0, base_311, strlen(base_311), &e, 1, &res, err, sizeof(err)),
		-EINVAL);
	e.seeds = subst;
	ck_assert_int_eq(
		cassandra_schema_apply(CASSANDRA_4_0, 0, base_311, strlen(base_311), &e, 1, &res, err, sizeof(err)),
		-EINVAL);
	e.seeds = space;
	ck_assert_int_eq(
		cassandra_schema_apply(CASSANDRA_4_0, 0, base_311, strlen(base_311), &e, 1, &res, err, sizeof(err)),
		-EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "(space)"));
}
END_TEST

START_TEST(apply_runs_edits_in_order_and_reports_unchanged)
{
	struct cassandra_edit e[] = {
		{.op = CASSANDRA_EDIT_SET, .key = "concurrent_reads", .value = "64"},
		{.op = CASSANDRA_EDIT_SET, .key = "concurrent_reads", .value = "32"},
	};
	struct cassandra_schema_result res;
	char err[YAML_EDIT_ERR_MAX];

	ck_assert_int_eq(
		cassandra_schema_apply(CASSANDRA_4_1, 0, base_41, strlen(base_41), e, 2, &res, err, sizeof(err)), 0);
	ck_assert(!res.changed);
	ck_assert_str_eq(res.data, base_41);
	cassandra_schema_result_free(&res);
}
END_TEST

START_TEST(apply_unset_of_an_absent_key_is_a_warning)
{
	struct cassandra_edit e = {.op = CASSANDRA_EDIT_UNSET, .key = "concurrent_writes"};
	struct cassandra_schema_result res;
	char err[YAML_EDIT_ERR_MAX];

	ck_assert_int_eq(
		cassandra_schema_apply(CASSANDRA_4_1, 0, base_41, strlen(base_41), &e, 1, &res, err, sizeof(err)), 0);
	ck_assert(!res.changed);
	ck_assert_ptr_nonnull(strstr(res.warn.text, "concurrent_writes: not set; nothing to delete"));
	cassandra_schema_result_free(&res);
}
END_TEST

START_TEST(apply_refuses_files_that_do_not_parse)
{
	struct cassandra_schema_result res;
	char err[YAML_EDIT_ERR_MAX];

	ck_assert_int_eq(apply_set(CASSANDRA_4_1, 0, "a: [1\n", "concurrent_reads", "1", &res, err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "the file is refused: "));
	ck_assert_int_eq(apply_set(CASSANDRA_4_1, 0, "a: 1\na: 2\n", "concurrent_reads", "1", &res, err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "duplicate key"));
	ck_assert_int_eq(apply_set(CASSANDRA_4_1, 0, "a:\n\tb: 1\n", "concurrent_reads", "1", &res, err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "tab in indentation"));
	ck_assert_int_eq(apply_set(CASSANDRA_4_1, 0, "a: \xff\n", "concurrent_reads", "1", &res, err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "invalid UTF-8"));
	ck_assert_int_eq(apply_set(CASSANDRA_4_1, 0, "- a\n", "concurrent_reads", "1", &res, err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not a mapping"));
	ck_assert_ptr_null(res.data);
}
END_TEST

START_TEST(apply_no_validate_skips_schema_but_not_protection)
{
	struct cassandra_schema_result res;
	char err[YAML_EDIT_ERR_MAX];

	ck_assert_int_eq(
		apply_set(CASSANDRA_VERSION_COUNT, CASSANDRA_SCHEMA_NO_VALIDATE, base_41, "my_custom", "x", &res, err),
		0);
	ck_assert_ptr_nonnull(strstr(res.data, "\nmy_custom: x\n"));
	cassandra_schema_result_free(&res);
	set_refused(CASSANDRA_VERSION_COUNT, CASSANDRA_SCHEMA_NO_VALIDATE, base_41, "cluster_name", "y", "protected");
}
END_TEST

START_TEST(apply_warns_about_unknown_keys_already_in_the_file)
{
	struct cassandra_schema_result res;
	char err[YAML_EDIT_ERR_MAX];
	const char *text = "cluster_name: x\nmystery_setting: 1\n";

	ck_assert_int_eq(apply_set(CASSANDRA_4_1, 0, text, "concurrent_reads", "8", &res, err), 0);
	ck_assert_ptr_nonnull(
		strstr(res.warn.text, "mystery_setting: unknown key for Cassandra 4.1 (already in the file"));
	cassandra_schema_result_free(&res);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("cassandra_schema");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, version_parse_accepts_supported_versions_with_patch_levels);
	tcase_add_test(tc, generated_tables_are_sorted_for_binary_search);
	tcase_add_test(tc, schema_types_come_from_the_default_files_and_renamed_settings);
	tcase_add_test(tc, schema_knows_every_key_of_each_default_file);
	tcase_add_test(tc, unknown_key_refused_with_a_hint);
	tcase_add_test(tc, wrong_types_refused);
	tcase_add_test(tc, right_types_accepted);
	tcase_add_test(tc, string_settings_are_quoted_when_they_look_like_other_types);
	tcase_add_test(tc, durations_sizes_and_rates_need_units_on_41);
	tcase_add_test(tc, old_names_accepted_as_deprecated_on_41);
	tcase_add_test(tc, old_and_new_name_together_refused);
	tcase_add_test(tc, renaming_in_one_apply_passes);
	tcase_add_test(tc, protected_keys_need_force);
	tcase_add_test(tc, nested_keys_checked_where_known_and_warned_where_not);
	tcase_add_test(tc, seeds_ports_need_40_and_bad_seeds_are_refused);
	tcase_add_test(tc, apply_runs_edits_in_order_and_reports_unchanged);
	tcase_add_test(tc, apply_unset_of_an_absent_key_is_a_warning);
	tcase_add_test(tc, apply_refuses_files_that_do_not_parse);
	tcase_add_test(tc, apply_no_validate_skips_schema_but_not_protection);
	tcase_add_test(tc, apply_warns_about_unknown_keys_already_in_the_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_forked(suite(), CK_NORMAL);
}
