/* Tests of the maintenance blockers and the version policy (pure). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockers.h"
#include "check_run.h"

/* 2026-11-21 is a Saturday; 02:30 UTC. */
#define SAT_0230 1795228200000LL
/* 2026-11-23 is a Monday; 12:00 UTC. */
#define MON_1200 1795435200000LL

static struct nt_peer peers[6];
static struct nt_status ring = {.peers = peers, .n_peers = 6};
static struct nt_keyspace keyspaces[3];
static struct nt_describecluster cluster = {.schema_versions = 1, .keyspaces = keyspaces, .n_keyspaces = 2};
static const char *netstats_ok = "Mode: NORMAL\nNot sending any streams.\n";

static void setup(void)
{
	for (int i = 0; i < 6; i++) {
		memset(&peers[i], 0, sizeof peers[i]);
		snprintf(peers[i].address, NT_ADDR_MAX, "10.0.%d.%d", i / 3 + 1, i % 3 + 1);
		snprintf(peers[i].datacenter, NT_NAME_MAX, "dc1");
		snprintf(peers[i].rack, NT_NAME_MAX, "rack%d", i % 3 + 1);
		peers[i].status = 'U';
		peers[i].state = 'N';
	}
	memset(keyspaces, 0, sizeof keyspaces);
	snprintf(keyspaces[0].name, NT_NAME_MAX, "app");
	snprintf(keyspaces[0].replication_class, NT_NAME_MAX, "NetworkTopologyStrategy");
	keyspaces[0].n_factors = 1;
	snprintf(keyspaces[0].factors[0].key, NT_NAME_MAX, "dc1");
	keyspaces[0].factors[0].value = 3;
	snprintf(keyspaces[1].name, NT_NAME_MAX, "system_traces");
	snprintf(keyspaces[1].replication_class, NT_NAME_MAX, "NetworkTopologyStrategy");
	keyspaces[1].n_factors = 1;
	snprintf(keyspaces[1].factors[0].key, NT_NAME_MAX, "dc1");
	keyspaces[1].factors[0].value = 2;
	cluster.schema_versions = 1;
	cluster.n_keyspaces = 2;
}

static struct blockers_input input(void)
{
	struct blockers_input in = {
		.now_unix_ms = MON_1200,
		.window = "",
		.datacenter = "dc1",
		.rack = "rack1",
		.ring = &ring,
		.cluster = &cluster,
		.netstats = netstats_ok,
		.check_window = true,
	};
	return in;
}

START_TEST(healthy_ring_has_no_blocker)
{
	struct blockers_input in = input();
	struct blockers b;

	ck_assert_uint_eq(blockers_evaluate(&in, &b), 0);
}
END_TEST

START_TEST(a_down_node_in_another_rack_blocks_and_is_named)
{
	struct blockers_input in = input();
	struct blockers b;

	peers[1].status = 'D'; /* rack2 */
	ck_assert_uint_eq(blockers_evaluate(&in, &b), 1);
	ck_assert_str_eq(b.text[0], "peer 10.0.1.2 (dc1/rack2) is DN");
}
END_TEST

START_TEST(a_down_node_in_our_own_rack_does_not_block)
{
	struct blockers_input in = input();
	struct blockers b;

	peers[3].status = 'D'; /* rack1, like us (e.g. ourselves rebooting) */
	ck_assert_uint_eq(blockers_evaluate(&in, &b), 0);
}
END_TEST

START_TEST(joining_leaving_moving_anywhere_blocks)
{
	struct blockers_input in = input();
	struct blockers b;

	peers[0].state = 'J';
	peers[4].state = 'L';
	peers[5].state = 'M';
	ck_assert_uint_eq(blockers_evaluate(&in, &b), 3);
}
END_TEST

START_TEST(schema_disagreement_blocks)
{
	struct blockers_input in = input();
	struct blockers b;

	cluster.schema_versions = 2;
	ck_assert_uint_eq(blockers_evaluate(&in, &b), 1);
	ck_assert_ptr_nonnull(strstr(b.text[0], "2 schema versions"));
}
END_TEST

START_TEST(rf_below_three_in_our_dc_blocks_but_system_traces_does_not)
{
	struct blockers_input in = input();
	struct blockers b;

	keyspaces[0].factors[0].value = 2;
	ck_assert_uint_eq(blockers_evaluate(&in, &b), 1);
	ck_assert_str_eq(b.text[0], "keyspace app has RF 2 in dc1 (needs 3)");
}
END_TEST

START_TEST(simple_strategy_in_a_multi_rack_cluster_blocks)
{
	struct blockers_input in = input();
	struct blockers b;

	snprintf(keyspaces[2].name, NT_NAME_MAX, "legacy");
	snprintf(keyspaces[2].replication_class, NT_NAME_MAX, "SimpleStrategy");
	keyspaces[2].n_factors = 1;
	snprintf(keyspaces[2].factors[0].key, NT_NAME_MAX, "replication_factor");
	keyspaces[2].factors[0].value = 3;
	cluster.n_keyspaces = 3;
	ck_assert_uint_eq(blockers_evaluate(&in, &b), 1);
	ck_assert_ptr_nonnull(strstr(b.text[0], "SimpleStrategy in a multi-rack"));
}
END_TEST

START_TEST(streaming_blocks)
{
	struct blockers_input in = input();
	struct blockers b;

	in.netstats = "Mode: NORMAL\nRebuild 1234\n    /10.0.1.2\n        Receiving 3 files, 1000 bytes total\n";
	ck_assert_uint_eq(blockers_evaluate(&in, &b), 1);
	ck_assert_str_eq(b.text[0], "streaming in progress (netstats)");
}
END_TEST

START_TEST(paused_and_outside_window_block)
{
	struct blockers_input in = input();
	struct blockers b;

	in.paused = true;
	in.window = "Sat,Sun 01:00-05:00 UTC";
	ck_assert_uint_eq(blockers_evaluate(&in, &b), 2);
	in.now_unix_ms = SAT_0230;
	ck_assert_uint_eq(blockers_evaluate(&in, &b), 1);
	ck_assert_str_eq(b.text[0], "maintenance is paused");
	in.check_window = false;
	in.now_unix_ms = MON_1200;
	ck_assert_uint_eq(blockers_evaluate(&in, &b), 1);
}
END_TEST

START_TEST(missing_views_block)
{
	struct blockers_input in = input();
	struct blockers b;

	in.ring = NULL;
	in.cluster = NULL;
	in.netstats = NULL;
	ck_assert_uint_eq(blockers_evaluate(&in, &b), 3);
}
END_TEST

START_TEST(window_crossing_midnight_belongs_to_its_start_day)
{
	/* Fri 22:00 - 02:00: Saturday 01:00 is inside, Saturday 23:00 is not. */
	ck_assert(blockers_window_open("Fri 22:00-02:00 UTC", 1795222800000LL));  /* Sat 01:00 */
	ck_assert(!blockers_window_open("Fri 22:00-02:00 UTC", 1795302000000LL)); /* Sat 23:00 */
	ck_assert(blockers_window_open("", 0));
	ck_assert(!blockers_window_open("garbage", SAT_0230));
}
END_TEST

START_TEST(version_policy)
{
	char err[256];

	ck_assert_int_eq(blockers_version_policy("4.1.5", "4.1.8", false, false, err, sizeof err), 0);
	ck_assert_int_eq(blockers_version_policy("4.0.15", "4.1.8", false, false, err, sizeof err), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "allow_minor_upgrade"));
	ck_assert_int_eq(blockers_version_policy("4.0.15", "4.1.8", true, false, err, sizeof err), 0);
	ck_assert_int_eq(blockers_version_policy("4.1.8", "5.0.2", false, false, err, sizeof err), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "allow_major_upgrade"));
	ck_assert_int_eq(blockers_version_policy("4.1.8", "5.0.2", false, true, err, sizeof err), 0);
	ck_assert_int_eq(blockers_version_policy("4.1.8", "4.1.5", true, true, err, sizeof err), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "downgrade"));
	ck_assert_int_eq(blockers_version_policy("4.1.8", "4.1", false, false, err, sizeof err), -EINVAL);
	ck_assert_int_eq(blockers_version_policy("", "4.1.9", false, false, err, sizeof err), -EINVAL);
	/* a component too long for an int is refused, not wrapped ("4.4294967297.0" once read as 4.1.0,
	 * a minor upgrade passing as a patch) */
	ck_assert_int_eq(blockers_version_policy("4.1.0", "4.4294967297.0", false, false, err, sizeof err), -EINVAL);
	ck_assert_int_eq(blockers_version_policy("4.1.0", "4.1.0000000001", false, false, err, sizeof err), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("blockers");
	TCase *tc = tcase_create("blockers");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, healthy_ring_has_no_blocker);
	tcase_add_test(tc, a_down_node_in_another_rack_blocks_and_is_named);
	tcase_add_test(tc, a_down_node_in_our_own_rack_does_not_block);
	tcase_add_test(tc, joining_leaving_moving_anywhere_blocks);
	tcase_add_test(tc, schema_disagreement_blocks);
	tcase_add_test(tc, rf_below_three_in_our_dc_blocks_but_system_traces_does_not);
	tcase_add_test(tc, simple_strategy_in_a_multi_rack_cluster_blocks);
	tcase_add_test(tc, streaming_blocks);
	tcase_add_test(tc, paused_and_outside_window_block);
	tcase_add_test(tc, missing_views_block);
	tcase_add_test(tc, window_crossing_midnight_belongs_to_its_start_day);
	tcase_add_test(tc, version_policy);
	suite_add_tcase(s, tc);
	return check_run(s);
}
