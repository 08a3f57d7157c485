/* test_pb_json: Check unit tests for the descriptor-driven protobuf-c to JSON conversion. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "cassandra_agent/v1/agent.pb-c.h"
#include "pb_json.h"

/* Converts `msg`, failing the test when conversion fails; the caller decrefs the result. */
static json_t *convert(const ProtobufCMessage *msg)
{
	json_t *j = pb_json_from_message(msg);

	ck_assert_ptr_nonnull(j);
	ck_assert(json_is_object(j));
	return j;
}

/* Returns the string member `key` of `obj`, failing the test when it is not a string. */
static const char *get_str(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	ck_assert_msg(json_is_string(v), "member %s is not a string", key);
	return json_string_value(v);
}

/* Returns the integer member `key` of `obj`, failing the test when it is not an integer. */
static json_int_t get_int(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	ck_assert_msg(json_is_integer(v), "member %s is not an integer", key);
	return json_integer_value(v);
}

/* Returns the real member `key` of `obj`, failing the test when it is not a real. */
static double get_real(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	ck_assert_msg(json_is_real(v), "member %s is not a real", key);
	return json_real_value(v);
}

/* Returns the boolean member `key` of `obj`, failing the test when it is not a boolean. */
static int get_bool(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	ck_assert_msg(json_is_boolean(v), "member %s is not a boolean", key);
	return json_is_true(v);
}

/* Checks that `j` serialises and parses back to an equal value. */
static void assert_round_trips(const json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);
	json_error_t err;
	json_t *back;

	ck_assert_ptr_nonnull(text);
	back = json_loads(text, 0, &err);
	ck_assert_msg(back != NULL, "json_loads failed: %s", err.text);
	ck_assert(json_equal(j, back));
	json_decref(back);
	free(text);
}

START_TEST(test_health_report_nested_messages_and_repeated_fields)
{
	CassandraAgent__V1__NodeIdentity node = CASSANDRA_AGENT__V1__NODE_IDENTITY__INIT;
	CassandraAgent__V1__CassandraState cass = CASSANDRA_AGENT__V1__CASSANDRA_STATE__INIT;
	CassandraAgent__V1__Peer p1 = CASSANDRA_AGENT__V1__PEER__INIT;
	CassandraAgent__V1__Peer p2 = CASSANDRA_AGENT__V1__PEER__INIT;
	CassandraAgent__V1__Peer *ring[] = {&p1, &p2};
	CassandraAgent__V1__DiskState disk = CASSANDRA_AGENT__V1__DISK_STATE__INIT;
	CassandraAgent__V1__DiskState *disks[] = {&disk};
	CassandraAgent__V1__HostState host = CASSANDRA_AGENT__V1__HOST_STATE__INIT;
	CassandraAgent__V1__Condition cond = CASSANDRA_AGENT__V1__CONDITION__INIT;
	CassandraAgent__V1__Condition *conds[] = {&cond};
	CassandraAgent__V1__ControllerState ctl = CASSANDRA_AGENT__V1__CONTROLLER_STATE__INIT;
	CassandraAgent__V1__HealthReport r = CASSANDRA_AGENT__V1__HEALTH_REPORT__INIT;
	const json_t *jn, *jc, *jring, *jp, *jh, *jd, *jconds, *jctl;
	json_t *j;

	node.host_id = "6d194555-f6eb-41d0-c000-000000000001";
	node.address = "10.0.0.1";
	node.datacenter = "dc1";
	node.rack = "rack1";
	cass.version = "4.1.5";
	cass.unit_active_state = "active";
	cass.gossip_running = 1;
	cass.cql_probe_ok = 1;
	cass.cql_probe_latency_ms = 2.5;
	cass.schema_versions = 1;
	p1.address = "10.0.0.1";
	p1.status = CASSANDRA_AGENT__V1__PEER_STATUS__PEER_STATUS_UP;
	p1.state = CASSANDRA_AGENT__V1__PEER_STATE__PEER_STATE_NORMAL;
	p1.load_bytes = 123456789;
	p1.owns_percent = 33.3;
	p1.tokens = 16;
	p2.address = "10.0.0.2";
	p2.status = CASSANDRA_AGENT__V1__PEER_STATUS__PEER_STATUS_DOWN;
	p2.state = CASSANDRA_AGENT__V1__PEER_STATE__PEER_STATE_LEAVING;
	disk.path = "/var/lib/cassandra";
	disk.total_bytes = 1000;
	disk.free_bytes = 400;
	host.cpu_percent = 12.5;
	host.memory_total_bytes = 8589934592ULL;
	host.n_disks = 1;
	host.disks = disks;
	cond.code = "PEER_DOWN";
	cond.severity = CASSANDRA_AGENT__V1__SEVERITY__SEVERITY_CRITICAL;
	cond.subject = "10.0.0.2";
	cond.message = "peer 10.0.0.2 is down";
	cond.since_unix_ms = 1700000000000LL;
	ctl.connected = 1;
	ctl.reconnects = 3;
	ctl.address = "controller:7443";
	r.node = &node;
	r.collected_at_unix_ms = 1700000000123LL;
	r.cassandra = &cass;
	r.n_ring = 2;
	r.ring = ring;
	r.host = &host;
	r.n_conditions = 1;
	r.conditions = conds;
	r.controller = &ctl;
	r.agent_version = "0.1.0";

	j = convert(&r.base);
	jn = json_object_get(j, "node");
	ck_assert(json_is_object(jn));
	ck_assert_str_eq(get_str(jn, "address"), "10.0.0.1");
	ck_assert_str_eq(get_str(jn, "cluster_name"), "");
	ck_assert_int_eq(get_int(j, "collected_at_unix_ms"), 1700000000123LL);
	jc = json_object_get(j, "cassandra");
	ck_assert_str_eq(get_str(jc, "version"), "4.1.5");
	ck_assert(get_bool(jc, "gossip_running"));
	ck_assert(!get_bool(jc, "native_transport_running"));
	ck_assert_double_eq(get_real(jc, "cql_probe_latency_ms"), 2.5);
	ck_assert_int_eq(get_int(jc, "schema_versions"), 1);
	jring = json_object_get(j, "ring");
	ck_assert(json_is_array(jring));
	ck_assert_uint_eq(json_array_size(jring), 2);
	jp = json_array_get(jring, 0);
	ck_assert_str_eq(get_str(jp, "address"), "10.0.0.1");
	ck_assert_int_eq(get_int(jp, "load_bytes"), 123456789);
	ck_assert_double_eq_tol(get_real(jp, "owns_percent"), 33.3, 1e-9);
	ck_assert_int_eq(get_int(jp, "tokens"), 16);
	ck_assert_str_eq(get_str(json_array_get(jring, 1), "address"), "10.0.0.2");
	jh = json_object_get(j, "host");
	ck_assert_double_eq(get_real(jh, "cpu_percent"), 12.5);
	ck_assert_int_eq(get_int(jh, "memory_total_bytes"), 8589934592LL);
	jd = json_array_get(json_object_get(jh, "disks"), 0);
	ck_assert_str_eq(get_str(jd, "path"), "/var/lib/cassandra");
	ck_assert_int_eq(get_int(jd, "free_bytes"), 400);
	jconds = json_object_get(j, "conditions");
	ck_assert_uint_eq(json_array_size(jconds), 1);
	ck_assert_str_eq(get_str(json_array_get(jconds, 0), "code"), "PEER_DOWN");
	ck_assert_int_eq(get_int(json_array_get(jconds, 0), "since_unix_ms"), 1700000000000LL);
	jctl = json_object_get(j, "controller");
	ck_assert(get_bool(jctl, "connected"));
	ck_assert_int_eq(get_int(jctl, "reconnects"), 3);
	ck_assert_str_eq(get_str(jctl, "last_error"), "");
	ck_assert_str_eq(get_str(j, "agent_version"), "0.1.0");
	/* Unset submessages are null and empty repeated fields are empty arrays. */
	ck_assert(json_is_null(json_object_get(j, "config")));
	ck_assert(json_is_null(json_object_get(j, "snapshots")));
	ck_assert(json_is_null(json_object_get(j, "lease")));
	ck_assert(json_is_array(json_object_get(j, "certificates")));
	ck_assert_uint_eq(json_array_size(json_object_get(j, "certificates")), 0);
	assert_round_trips(j);
	json_decref(j);
}
END_TEST

START_TEST(test_empty_message_emits_every_field_with_defaults)
{
	CassandraAgent__V1__HealthReport r = CASSANDRA_AGENT__V1__HEALTH_REPORT__INIT;
	CassandraAgent__V1__CassandraState cass = CASSANDRA_AGENT__V1__CASSANDRA_STATE__INIT;
	static const char *const keys[] = {"node",       "collected_at_unix_ms", "cassandra", "ring",  "host",
					   "config",     "certificates",         "snapshots", "lease", "conditions",
					   "controller", "agent_version"};
	const char *key;
	json_t *j, *jc, *v;
	void *iter;
	size_t i = 0;

	j = convert(&r.base);
	ck_assert_uint_eq(json_object_size(j), sizeof(keys) / sizeof(keys[0]));
	/* Members appear in field-number order. */
	json_object_foreach(j, key, v)
	{
		ck_assert_str_eq(key, keys[i]);
		i++;
	}
	ck_assert_int_eq(get_int(j, "collected_at_unix_ms"), 0);
	ck_assert_str_eq(get_str(j, "agent_version"), "");
	ck_assert_uint_eq(json_array_size(json_object_get(j, "ring")), 0);
	json_decref(j);

	jc = convert(&cass.base);
	ck_assert_uint_eq(json_object_size(jc), 8);
	ck_assert_str_eq(get_str(jc, "unit_active_state"), "");
	ck_assert(!get_bool(jc, "drained"));
	ck_assert_double_eq(get_real(jc, "cql_probe_latency_ms"), 0.0);
	ck_assert_int_eq(get_int(jc, "schema_versions"), 0);
	iter = json_object_iter(jc);
	ck_assert_str_eq(json_object_iter_key(iter), "version");
	json_decref(jc);
}
END_TEST

START_TEST(test_enum_values_become_names)
{
	CassandraAgent__V1__Peer peer = CASSANDRA_AGENT__V1__PEER__INIT;
	CassandraAgent__V1__Condition cond = CASSANDRA_AGENT__V1__CONDITION__INIT;
	CassandraAgent__V1__RotateCertificates rot = CASSANDRA_AGENT__V1__ROTATE_CERTIFICATES__INIT;
	CassandraAgent__V1__LeaseRequest lr = CASSANDRA_AGENT__V1__LEASE_REQUEST__INIT;
	json_t *j;

	peer.status = CASSANDRA_AGENT__V1__PEER_STATUS__PEER_STATUS_UP;
	peer.state = CASSANDRA_AGENT__V1__PEER_STATE__PEER_STATE_JOINING;
	j = convert(&peer.base);
	ck_assert_str_eq(get_str(j, "status"), "PEER_STATUS_UP");
	ck_assert_str_eq(get_str(j, "state"), "PEER_STATE_JOINING");
	json_decref(j);

	j = convert(&cond.base);
	ck_assert_str_eq(get_str(j, "severity"), "SEVERITY_UNSPECIFIED");
	json_decref(j);

	rot.phase = CASSANDRA_AGENT__V1__ROTATION_PHASE__ROTATION_PHASE_SWITCH_IDENTITY;
	j = convert(&rot.base);
	ck_assert_str_eq(get_str(j, "phase"), "ROTATION_PHASE_SWITCH_IDENTITY");
	json_decref(j);

	lr.kind = CASSANDRA_AGENT__V1__MAINTENANCE_KIND__MAINTENANCE_KIND_UPGRADE_CASSANDRA;
	j = convert(&lr.base);
	ck_assert_str_eq(get_str(j, "kind"), "MAINTENANCE_KIND_UPGRADE_CASSANDRA");
	json_decref(j);
}
END_TEST

START_TEST(test_unknown_enum_value_becomes_number)
{
	CassandraAgent__V1__CommandUpdate u = CASSANDRA_AGENT__V1__COMMAND_UPDATE__INIT;
	json_t *j;

	u.status = (CassandraAgent__V1__CommandStatus)42;
	j = convert(&u.base);
	ck_assert_int_eq(get_int(j, "status"), 42);
	json_decref(j);
}
END_TEST

START_TEST(test_command_update_bytes_become_base64)
{
	static const uint8_t out[] = "nodetool: ok\n\x00\xff";
	CassandraAgent__V1__CommandUpdate u = CASSANDRA_AGENT__V1__COMMAND_UPDATE__INIT;
	json_t *j;

	u.id = "cmd-1";
	u.status = CASSANDRA_AGENT__V1__COMMAND_STATUS__COMMAND_STATUS_SUCCEEDED;
	u.output.data = (uint8_t *)out;
	u.output.len = sizeof(out) - 1;
	j = convert(&u.base);
	ck_assert_str_eq(get_str(j, "id"), "cmd-1");
	ck_assert_str_eq(get_str(j, "status"), "COMMAND_STATUS_SUCCEEDED");
	ck_assert_str_eq(get_str(j, "message"), "");
	ck_assert_str_eq(get_str(j, "output"), "bm9kZXRvb2w6IG9rCgD/");
	json_decref(j);
}
END_TEST

START_TEST(test_bytes_base64_padding_for_every_length_mod_3)
{
	static const char *const want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	CassandraAgent__V1__CommandUpdate u = CASSANDRA_AGENT__V1__COMMAND_UPDATE__INIT;
	json_t *j;

	for (size_t n = 0; n < sizeof(want) / sizeof(want[0]); n++) {
		u.output.data = (uint8_t *)"foobar";
		u.output.len = n;
		j = convert(&u.base);
		ck_assert_str_eq(get_str(j, "output"), want[n]);
		json_decref(j);
	}
	u.output.data = (uint8_t *)"\xfb\xff\xbf";
	u.output.len = 3;
	j = convert(&u.base);
	ck_assert_str_eq(get_str(j, "output"), "+/+/");
	json_decref(j);
}
END_TEST

START_TEST(test_envelope_oneof_emits_only_set_member)
{
	CassandraAgent__V1__Envelope env = CASSANDRA_AGENT__V1__ENVELOPE__INIT;
	CassandraAgent__V1__Ping ping = CASSANDRA_AGENT__V1__PING__INIT;
	json_t *j;

	env.seq = 7;
	ping.nonce = 99;
	env.body_case = CASSANDRA_AGENT__V1__ENVELOPE__BODY_PING;
	env.ping = &ping;
	j = convert(&env.base);
	ck_assert_uint_eq(json_object_size(j), 2);
	ck_assert_int_eq(get_int(j, "seq"), 7);
	ck_assert_int_eq(get_int(json_object_get(j, "ping"), "nonce"), 99);
	ck_assert_ptr_null(json_object_get(j, "pong"));
	ck_assert_ptr_null(json_object_get(j, "hello"));
	json_decref(j);
}
END_TEST

START_TEST(test_envelope_without_body_emits_only_seq)
{
	CassandraAgent__V1__Envelope env = CASSANDRA_AGENT__V1__ENVELOPE__INIT;
	json_t *j;

	env.seq = 1;
	j = convert(&env.base);
	ck_assert_uint_eq(json_object_size(j), 1);
	ck_assert_int_eq(get_int(j, "seq"), 1);
	json_decref(j);
}
END_TEST

START_TEST(test_command_oneof_with_repeated_strings)
{
	char *args[] = {"-h", "--", ""};
	CassandraAgent__V1__RunNodetool rn = CASSANDRA_AGENT__V1__RUN_NODETOOL__INIT;
	CassandraAgent__V1__Command cmd = CASSANDRA_AGENT__V1__COMMAND__INIT;
	const json_t *jr, *ja;
	json_t *j;

	rn.subcommand = "status";
	rn.n_args = 3;
	rn.args = args;
	cmd.id = "c-42";
	cmd.kind_case = CASSANDRA_AGENT__V1__COMMAND__KIND_RUN_NODETOOL;
	cmd.run_nodetool = &rn;
	j = convert(&cmd.base);
	ck_assert_uint_eq(json_object_size(j), 2);
	ck_assert_str_eq(get_str(j, "id"), "c-42");
	jr = json_object_get(j, "run_nodetool");
	ck_assert_str_eq(get_str(jr, "subcommand"), "status");
	ja = json_object_get(jr, "args");
	ck_assert_uint_eq(json_array_size(ja), 3);
	ck_assert_str_eq(json_string_value(json_array_get(ja, 0)), "-h");
	ck_assert_str_eq(json_string_value(json_array_get(ja, 2)), "");
	json_decref(j);
}
END_TEST

START_TEST(test_apply_config_map_becomes_object)
{
	CassandraAgent__V1__ApplyConfig__SetEntry e1 = CASSANDRA_AGENT__V1__APPLY_CONFIG__SET_ENTRY__INIT;
	CassandraAgent__V1__ApplyConfig__SetEntry e2 = CASSANDRA_AGENT__V1__APPLY_CONFIG__SET_ENTRY__INIT;
	CassandraAgent__V1__ApplyConfig__SetEntry e3 = CASSANDRA_AGENT__V1__APPLY_CONFIG__SET_ENTRY__INIT;
	CassandraAgent__V1__ApplyConfig__SetEntry *set[] = {&e1, &e2, &e3};
	char *unset[] = {"hints_directory"};
	CassandraAgent__V1__ApplyConfig ac = CASSANDRA_AGENT__V1__APPLY_CONFIG__INIT;
	const json_t *js;
	json_t *j;

	e1.key = "concurrent_reads";
	e1.value = "64";
	e2.key = "num_tokens";
	e2.value = "16";
	/* A repeated key: the last entry wins, as when protobuf parses a map. */
	e3.key = "concurrent_reads";
	e3.value = "32";
	ac.n_set = 3;
	ac.set = set;
	ac.n_unset = 1;
	ac.unset = unset;
	ac.dry_run = 1;
	j = convert(&ac.base);
	js = json_object_get(j, "set");
	ck_assert(json_is_object(js));
	ck_assert_uint_eq(json_object_size(js), 2);
	ck_assert_str_eq(get_str(js, "concurrent_reads"), "32");
	ck_assert_str_eq(get_str(js, "num_tokens"), "16");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "unset"), 0)), "hints_directory");
	ck_assert(!get_bool(j, "force"));
	ck_assert(get_bool(j, "dry_run"));
	json_decref(j);
}
END_TEST

START_TEST(test_empty_map_becomes_empty_object)
{
	CassandraAgent__V1__ApplyConfig ac = CASSANDRA_AGENT__V1__APPLY_CONFIG__INIT;
	json_t *j;

	j = convert(&ac.base);
	ck_assert(json_is_object(json_object_get(j, "set")));
	ck_assert_uint_eq(json_object_size(json_object_get(j, "set")), 0);
	ck_assert(json_is_array(json_object_get(j, "unset")));
	json_decref(j);
}
END_TEST

START_TEST(test_nan_and_infinite_doubles_become_null)
{
	CassandraAgent__V1__HostState host = CASSANDRA_AGENT__V1__HOST_STATE__INIT;
	json_t *j;

	host.cpu_percent = NAN;
	host.load1 = INFINITY;
	host.memory_total_bytes = 1;
	j = convert(&host.base);
	ck_assert(json_is_null(json_object_get(j, "cpu_percent")));
	ck_assert(json_is_null(json_object_get(j, "load1")));
	ck_assert_int_eq(get_int(j, "memory_total_bytes"), 1);
	assert_round_trips(j);
	json_decref(j);

	host.load1 = -INFINITY;
	j = convert(&host.base);
	ck_assert(json_is_null(json_object_get(j, "load1")));
	json_decref(j);
}
END_TEST

START_TEST(test_uint64_above_int64_max_becomes_decimal_string)
{
	CassandraAgent__V1__Pong pong = CASSANDRA_AGENT__V1__PONG__INIT;
	CassandraAgent__V1__LeaseGrant lg = CASSANDRA_AGENT__V1__LEASE_GRANT__INIT;
	json_t *j;

	pong.nonce = UINT64_MAX;
	j = convert(&pong.base);
	ck_assert_str_eq(get_str(j, "nonce"), "18446744073709551615");
	json_decref(j);

	pong.nonce = (uint64_t)INT64_MAX + 1;
	j = convert(&pong.base);
	ck_assert_str_eq(get_str(j, "nonce"), "9223372036854775808");
	json_decref(j);

	lg.epoch = INT64_MAX;
	j = convert(&lg.base);
	ck_assert_int_eq(get_int(j, "epoch"), INT64_MAX);
	json_decref(j);
}
END_TEST

START_TEST(test_signed_and_32bit_integer_extremes)
{
	CassandraAgent__V1__CertificateState cert = CASSANDRA_AGENT__V1__CERTIFICATE_STATE__INIT;
	CassandraAgent__V1__LeaseDenied ld = CASSANDRA_AGENT__V1__LEASE_DENIED__INIT;
	json_t *j;

	cert.not_after_unix = INT64_MIN;
	cert.days_left = -3;
	j = convert(&cert.base);
	ck_assert_int_eq(get_int(j, "not_after_unix"), INT64_MIN);
	ck_assert_int_eq(get_int(j, "days_left"), -3);
	json_decref(j);

	ld.retry_after_ms = UINT32_MAX;
	j = convert(&ld.base);
	ck_assert_int_eq(get_int(j, "retry_after_ms"), 4294967295LL);
	json_decref(j);
}
END_TEST

START_TEST(test_invalid_utf8_string_still_yields_valid_json)
{
	CassandraAgent__V1__Error err = CASSANDRA_AGENT__V1__ERROR__INIT;
	json_t *j;

	/* A lone continuation byte, a truncated 2-byte lead, an encoded surrogate, an overlong
	 * '/', a code point above U+10FFFF and a truncated 3-byte sequence at the end. */
	err.message = "a\x80"
		      "b\xC3"
		      "c\xED\xA0\x80"
		      "d\xC0\xAF"
		      "e\xF4\x90\x80\x80"
		      "f\xE2\x82";
	j = convert(&err.base);
	ck_assert_str_eq(get_str(j, "message"), "a\xEF\xBF\xBD"
						"b\xEF\xBF\xBD"
						"c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
						"d\xEF\xBF\xBD\xEF\xBF\xBD"
						"e\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
						"f\xEF\xBF\xBD");
	assert_round_trips(j);
	json_decref(j);
}
END_TEST

START_TEST(test_valid_multibyte_utf8_string_is_preserved)
{
	CassandraAgent__V1__Error err = CASSANDRA_AGENT__V1__ERROR__INIT;
	json_t *j;

	err.message = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF";
	j = convert(&err.base);
	ck_assert_str_eq(get_str(j, "message"), err.message);
	json_decref(j);
}
END_TEST

START_TEST(test_null_string_pointer_becomes_empty_string)
{
	CassandraAgent__V1__Welcome w = CASSANDRA_AGENT__V1__WELCOME__INIT;
	json_t *j;

	w.controller_id = NULL;
	j = convert(&w.base);
	ck_assert_str_eq(get_str(j, "controller_id"), "");
	json_decref(j);
}
END_TEST

START_TEST(test_null_message_returns_null)
{
	ck_assert_ptr_null(pb_json_from_message(NULL));
}
END_TEST

START_TEST(test_unpacked_message_converts_like_the_original)
{
	CassandraAgent__V1__LeaseState lease = CASSANDRA_AGENT__V1__LEASE_STATE__INIT;
	CassandraAgent__V1__NodeIdentity node = CASSANDRA_AGENT__V1__NODE_IDENTITY__INIT;
	CassandraAgent__V1__Hello hello = CASSANDRA_AGENT__V1__HELLO__INIT;
	CassandraAgent__V1__Envelope env = CASSANDRA_AGENT__V1__ENVELOPE__INIT;
	CassandraAgent__V1__Envelope *back;
	char *blockers[] = {"peer 10.0.0.2 down"};
	char *ids[] = {"c-1", "c-2"};
	uint8_t *buf;
	size_t len;
	json_t *j1, *j2;

	lease.lease_id = "l-1";
	lease.phase = "draining";
	lease.epoch = 5;
	lease.kind = CASSANDRA_AGENT__V1__MAINTENANCE_KIND__MAINTENANCE_KIND_REBOOT;
	lease.n_blockers = 1;
	lease.blockers = blockers;
	node.hostname = "cass-1";
	hello.agent_version = "0.1.0";
	hello.node = &node;
	hello.n_resumable_command_ids = 2;
	hello.resumable_command_ids = ids;
	hello.lease = &lease;
	env.seq = 1;
	env.body_case = CASSANDRA_AGENT__V1__ENVELOPE__BODY_HELLO;
	env.hello = &hello;

	len = cassandra_agent__v1__envelope__get_packed_size(&env);
	buf = malloc(len);
	ck_assert_ptr_nonnull(buf);
	cassandra_agent__v1__envelope__pack(&env, buf);
	back = cassandra_agent__v1__envelope__unpack(NULL, len, buf);
	ck_assert_ptr_nonnull(back);
	j1 = convert(&env.base);
	j2 = convert(&back->base);
	ck_assert(json_equal(j1, j2));
	ck_assert_str_eq(get_str(json_object_get(json_object_get(j2, "hello"), "lease"), "kind"),
			 "MAINTENANCE_KIND_REBOOT");
	ck_assert_str_eq(json_string_value(json_array_get(
				 json_object_get(json_object_get(j2, "hello"), "resumable_command_ids"), 1)),
			 "c-2");
	json_decref(j1);
	json_decref(j2);
	cassandra_agent__v1__envelope__free_unpacked(back, NULL);
	free(buf);
}
END_TEST

/* Number of further allocations failing_malloc() lets through. */
static size_t alloc_budget;

/* A jansson allocator that fails once alloc_budget is spent. */
static void *failing_malloc(size_t n)
{
	if (alloc_budget == 0)
		return NULL;
	alloc_budget--;
	return malloc(n);
}

/* Converts `msg` with every allocation budget from 0 up until conversion succeeds, checking
 * that each failure returns NULL (leaks are caught by LeakSanitizer); returns the result. */
static json_t *convert_under_failing_allocations(const ProtobufCMessage *msg)
{
	json_t *j = NULL;
	size_t budget;

	json_set_alloc_funcs(failing_malloc, free);
	for (budget = 0; budget < 10000 && j == NULL; budget++) {
		alloc_budget = budget;
		j = pb_json_from_message(msg);
	}
	json_set_alloc_funcs(malloc, free);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_gt(budget, 10);
	return j;
}

START_TEST(test_allocation_failure_returns_null_without_leaks)
{
	CassandraAgent__V1__ApplyConfig__SetEntry e1 = CASSANDRA_AGENT__V1__APPLY_CONFIG__SET_ENTRY__INIT;
	CassandraAgent__V1__ApplyConfig__SetEntry e2 = CASSANDRA_AGENT__V1__APPLY_CONFIG__SET_ENTRY__INIT;
	CassandraAgent__V1__ApplyConfig__SetEntry *set[] = {&e1, &e2};
	char *unset[] = {"a", "b"};
	CassandraAgent__V1__ApplyConfig ac = CASSANDRA_AGENT__V1__APPLY_CONFIG__INIT;
	CassandraAgent__V1__Command cmd = CASSANDRA_AGENT__V1__COMMAND__INIT;
	CassandraAgent__V1__CommandUpdate u = CASSANDRA_AGENT__V1__COMMAND_UPDATE__INIT;
	CassandraAgent__V1__Envelope env = CASSANDRA_AGENT__V1__ENVELOPE__INIT;
	json_t *j;

	e1.key = "k1";
	e1.value = "v1";
	e2.key = "k\xff"
		 "2";
	e2.value = "v2";
	ac.n_set = 2;
	ac.set = set;
	ac.n_unset = 2;
	ac.unset = unset;
	cmd.id = "c-1";
	cmd.kind_case = CASSANDRA_AGENT__V1__COMMAND__KIND_APPLY_CONFIG;
	cmd.apply_config = &ac;
	j = convert_under_failing_allocations(&cmd.base);
	ck_assert_str_eq(get_str(json_object_get(json_object_get(j, "apply_config"), "set"), "k1"), "v1");
	ck_assert_str_eq(get_str(json_object_get(json_object_get(j, "apply_config"), "set"), "k\xEF\xBF\xBD"
											     "2"),
			 "v2");
	json_decref(j);

	u.id = "u-1";
	u.message = "bad \xff utf-8";
	u.output.data = (uint8_t *)"xyz";
	u.output.len = 3;
	env.body_case = CASSANDRA_AGENT__V1__ENVELOPE__BODY_COMMAND_UPDATE;
	env.command_update = &u;
	j = convert_under_failing_allocations(&env.base);
	ck_assert_str_eq(get_str(json_object_get(j, "command_update"), "output"), "eHl6");
	ck_assert_str_eq(get_str(json_object_get(j, "command_update"), "message"), "bad \xEF\xBF\xBD utf-8");
	json_decref(j);
}
END_TEST

/* Builds the suite: one test function per scenario, each run in its own forked process. */
static Suite *pb_json_suite(void)
{
	Suite *s = suite_create("pb_json");
	TCase *tc = tcase_create("from_message");

	tcase_add_test(tc, test_health_report_nested_messages_and_repeated_fields);
	tcase_add_test(tc, test_empty_message_emits_every_field_with_defaults);
	tcase_add_test(tc, test_enum_values_become_names);
	tcase_add_test(tc, test_unknown_enum_value_becomes_number);
	tcase_add_test(tc, test_command_update_bytes_become_base64);
	tcase_add_test(tc, test_bytes_base64_padding_for_every_length_mod_3);
	tcase_add_test(tc, test_envelope_oneof_emits_only_set_member);
	tcase_add_test(tc, test_envelope_without_body_emits_only_seq);
	tcase_add_test(tc, test_command_oneof_with_repeated_strings);
	tcase_add_test(tc, test_apply_config_map_becomes_object);
	tcase_add_test(tc, test_empty_map_becomes_empty_object);
	tcase_add_test(tc, test_nan_and_infinite_doubles_become_null);
	tcase_add_test(tc, test_uint64_above_int64_max_becomes_decimal_string);
	tcase_add_test(tc, test_signed_and_32bit_integer_extremes);
	tcase_add_test(tc, test_invalid_utf8_string_still_yields_valid_json);
	tcase_add_test(tc, test_valid_multibyte_utf8_string_is_preserved);
	tcase_add_test(tc, test_null_string_pointer_becomes_empty_string);
	tcase_add_test(tc, test_null_message_returns_null);
	tcase_add_test(tc, test_unpacked_message_converts_like_the_original);
	tcase_add_test(tc, test_allocation_failure_returns_null_without_leaks);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_forked(pb_json_suite(), CK_NORMAL);
}
