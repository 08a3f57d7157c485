/* Tests of the health model: conditions raised and cleared, events, JSON documents. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "health.h"
#include "log.h"
#include "check_run.h"

static struct agent_config cfg;
static struct health *h;
static int changes;

static void change_cb(void *data)
{
	(void)data;
	changes++;
}

static void setup(void)
{
	log_init(false, LOG_WARNING);
	ck_assert_int_eq(config_defaults(&cfg), 0);
	ck_assert_int_eq(health_new(&cfg, &h), 0);
	health_set_change_cb(h, change_cb, NULL);
	changes = 0;
}

static void teardown(void)
{
	health_free(h);
	config_free(&cfg);
}

static json_t *doc(enum health_doc d)
{
	size_t len;
	const char *text = health_json(h, d, &len);
	json_error_t err;
	json_t *j;

	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(strlen(text), len);
	j = json_loads(text, 0, &err);
	ck_assert_ptr_nonnull(j);
	return j;
}

/* The code of condition `i` in the status document, or "" when there are fewer. */
static const char *cond_code(json_t *status, size_t i)
{
	const char *s =
		json_string_value(json_object_get(json_array_get(json_object_get(status, "conditions"), i), "code"));

	return s ? s : "";
}

static void set_ring(const char *self_host_id, char self_status, char other_status)
{
	struct nt_status st = {0};

	st.n_peers = 2;
	st.peers = calloc(2, sizeof *st.peers);
	snprintf(st.peers[0].address, NT_ADDR_MAX, "10.0.1.11");
	snprintf(st.peers[0].host_id, NT_HOST_ID_MAX, "%s", self_host_id);
	snprintf(st.peers[1].address, NT_ADDR_MAX, "10.0.1.12");
	snprintf(st.peers[1].host_id, NT_HOST_ID_MAX, "other");
	for (int i = 0; i < 2; i++) {
		snprintf(st.peers[i].datacenter, NT_NAME_MAX, "dc1");
		snprintf(st.peers[i].rack, NT_NAME_MAX, "rack%d", i + 1);
		st.peers[i].state = 'N';
	}
	st.peers[0].status = self_status;
	st.peers[1].status = other_status;
	health_update_status(h, &st);
	ck_assert_ptr_null(st.peers); /* ownership moved */
}

START_TEST(inactive_unit_raises_and_active_clears)
{
	json_t *j;

	health_update_unit(h, 0, NULL, "inactive");
	ck_assert_uint_eq(health_condition_count(h), 1);
	j = doc(HEALTH_DOC_STATUS);
	ck_assert_str_eq(cond_code(j, 0), "UNIT_INACTIVE");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "cassandra"), "unit_active_state")),
			 "inactive");
	json_decref(j);
	health_update_unit(h, 0, NULL, "active");
	ck_assert_uint_eq(health_condition_count(h), 0);
	ck_assert_int_ge(changes, 2);
	j = doc(HEALTH_DOC_EVENTS);
	ck_assert_uint_ge(json_array_size(json_object_get(j, "events")), 2);
	json_decref(j);
}
END_TEST

START_TEST(dbus_error_raises_systemd_unreachable)
{
	json_t *j;

	health_update_unit(h, -ENOENT, "system bus unreachable", NULL);
	j = doc(HEALTH_DOC_STATUS);
	ck_assert_str_eq(cond_code(j, 0), "SYSTEMD_UNREACHABLE");
	json_decref(j);
}
END_TEST

START_TEST(cql_failure_raises_and_recovery_reports_latency)
{
	json_t *j;

	health_update_cql(h, -ECONNREFUSED, "connection refused", 0);
	j = doc(HEALTH_DOC_STATUS);
	ck_assert_str_eq(cond_code(j, 0), "CQL_PROBE_FAILED");
	ck_assert(json_is_false(json_object_get(json_object_get(j, "cassandra"), "cql_probe_ok")));
	json_decref(j);
	health_update_cql(h, 0, NULL, 1.5);
	j = doc(HEALTH_DOC_STATUS);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "conditions")), 0);
	ck_assert(json_is_true(json_object_get(json_object_get(j, "cassandra"), "cql_probe_ok")));
	ck_assert_double_eq(json_real_value(json_object_get(json_object_get(j, "cassandra"), "cql_probe_latency_ms")),
			    1.5);
	json_decref(j);
}
END_TEST

START_TEST(peer_down_names_the_peer_and_ignores_self)
{
	struct nt_info info = {0};
	json_t *j;

	snprintf(info.host_id, sizeof info.host_id, "self-id");
	health_update_info(h, &info);
	set_ring("self-id", 'D', 'D');
	ck_assert_uint_eq(health_condition_count(h), 1);
	j = doc(HEALTH_DOC_STATUS);
	ck_assert_str_eq(cond_code(j, 0), "PEER_DOWN");
	ck_assert_str_eq(
		json_string_value(json_object_get(json_array_get(json_object_get(j, "conditions"), 0), "subject")),
		"10.0.1.12");
	json_decref(j);
	set_ring("self-id", 'U', 'U');
	ck_assert_uint_eq(health_condition_count(h), 0);
	j = doc(HEALTH_DOC_EVENTS);
	/* raised, peer_up and cleared are all in the event list */
	size_t i;
	json_t *e;
	bool peer_up = false;

	json_array_foreach(json_object_get(j, "events"), i, e) peer_up |=
		strcmp(json_string_value(json_object_get(e, "kind")), "peer_up") == 0;
	ck_assert(peer_up);
	json_decref(j);
}
END_TEST

START_TEST(disk_below_fifteen_percent_raises_disk_low)
{
	const char *dir = cfg.cassandra.data_directories.v[0];

	health_update_disk(h, dir, 0, 1000, 200);
	ck_assert_uint_eq(health_condition_count(h), 0);
	health_update_disk(h, dir, 0, 1000, 100);
	ck_assert_uint_eq(health_condition_count(h), 1);
	json_t *j = doc(HEALTH_DOC_STATUS);

	ck_assert_str_eq(cond_code(j, 0), "DISK_LOW");
	ck_assert_str_eq(
		json_string_value(json_object_get(json_array_get(json_object_get(j, "conditions"), 0), "subject")),
		dir);
	json_decref(j);
}
END_TEST

START_TEST(nodetool_failure_raises_until_that_subcommand_succeeds)
{
	health_update_nodetool(h, "status", -ETIMEDOUT, "timed out after 60000 ms");
	health_update_nodetool(h, "info", 0, NULL);
	ck_assert_uint_eq(health_condition_count(h), 1);
	json_t *j = doc(HEALTH_DOC_STATUS);

	ck_assert_str_eq(cond_code(j, 0), "NODETOOL_FAILED");
	ck_assert_str_eq(
		json_string_value(json_object_get(json_array_get(json_object_get(j, "conditions"), 0), "subject")),
		"status");
	json_decref(j);
	health_update_nodetool(h, "status", 0, NULL);
	ck_assert_uint_eq(health_condition_count(h), 0);
}
END_TEST

START_TEST(condition_since_is_kept_while_it_holds)
{
	json_t *j;
	json_int_t since;

	health_update_unit(h, 0, NULL, "failed");
	j = doc(HEALTH_DOC_STATUS);
	since = json_integer_value(
		json_object_get(json_array_get(json_object_get(j, "conditions"), 0), "since_unix_ms"));
	json_decref(j);
	health_update_unit(h, 0, NULL, "inactive");
	j = doc(HEALTH_DOC_STATUS);
	ck_assert_int_eq(json_integer_value(
				 json_object_get(json_array_get(json_object_get(j, "conditions"), 0), "since_unix_ms")),
			 since);
	json_decref(j);
}
END_TEST

START_TEST(events_keep_the_last_two_hundred)
{
	json_t *j;

	for (int i = 0; i < 250; i++)
		health_event(h, "test", "subject", "event %d", i);
	j = doc(HEALTH_DOC_EVENTS);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "events")), HEALTH_EVENTS_MAX);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "events"), 0), "message")),
			 "event 50");
	json_decref(j);
}
END_TEST

START_TEST(version_document_and_cache_follow_updates)
{
	struct nt_version v = {.major = 4, .minor = 1, .patch = 8};
	json_t *j;

	j = doc(HEALTH_DOC_VERSION);
	ck_assert_str_eq(json_string_value(json_object_get(j, "cassandra_version")), "");
	json_decref(j);
	snprintf(v.release_version, sizeof v.release_version, "4.1.8");
	health_update_version(h, &v);
	j = doc(HEALTH_DOC_VERSION);
	ck_assert_str_eq(json_string_value(json_object_get(j, "cassandra_version")), "4.1.8");
	ck_assert_str_eq(json_string_value(json_object_get(j, "agent_version")), AGENT_VERSION);
	json_decref(j);
}
END_TEST

/* Node identity learnt from nodetool is sent to the controller at once: the first version and
 * cluster name each count as a change, the same values again do not. */
START_TEST(first_version_and_cluster_name_are_changes)
{
	struct nt_version v = {.major = 4, .minor = 1, .patch = 8};
	struct nt_describecluster dc = {.schema_versions = 1};
	int before;

	snprintf(v.release_version, sizeof v.release_version, "4.1.8");
	before = changes;
	health_update_version(h, &v);
	ck_assert_int_eq(changes, before + 1);
	health_update_version(h, &v);
	ck_assert_int_eq(changes, before + 1);

	health_update_describecluster(h, &dc);
	before = changes;
	snprintf(dc.name, sizeof dc.name, "Test Cluster");
	health_update_describecluster(h, &dc);
	ck_assert_int_eq(changes, before + 1);
	health_update_describecluster(h, &dc);
	ck_assert_int_eq(changes, before + 1);
}
END_TEST

START_TEST(ring_has_datacenter)
{
	set_ring("x", 'U', 'U');
	ck_assert(health_ring_has_datacenter(h, "dc1"));
	ck_assert(!health_ring_has_datacenter(h, "dc9"));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("health");
	TCase *tc = tcase_create("model");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, inactive_unit_raises_and_active_clears);
	tcase_add_test(tc, dbus_error_raises_systemd_unreachable);
	tcase_add_test(tc, cql_failure_raises_and_recovery_reports_latency);
	tcase_add_test(tc, peer_down_names_the_peer_and_ignores_self);
	tcase_add_test(tc, disk_below_fifteen_percent_raises_disk_low);
	tcase_add_test(tc, nodetool_failure_raises_until_that_subcommand_succeeds);
	tcase_add_test(tc, condition_since_is_kept_while_it_holds);
	tcase_add_test(tc, events_keep_the_last_two_hundred);
	tcase_add_test(tc, version_document_and_cache_follow_updates);
	tcase_add_test(tc, first_version_and_cluster_name_are_changes);
	tcase_add_test(tc, ring_has_datacenter);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(suite());
}
