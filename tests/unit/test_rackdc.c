/* Tests of the cassandra-rackdc.properties renderer and reader (cassandra_config.c): every other
 * line kept, dc=/rack=/prefer_local= replaced wherever and however often they stand. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cassandra_config.h"
#include "check_run.h"

static void render_is(const char *old, const char *dc, const char *rack, bool pl, const char *want)
{
	char *out = cassandra_config_rackdc_render(old, dc, rack, pl);

	ck_assert_ptr_nonnull(out);
	ck_assert_msg(strcmp(out, want) == 0, "--- got\n%s--- want\n%s", out, want);
	free(out);
}

START_TEST(values_are_replaced_and_every_other_line_kept)
{
	render_is("# operator comment\ndc=old\n\nrack=r0\nprefer_local=false\nextra=1\n", "dc1", "rack1", true,
		  "# operator comment\ndc=dc1\n\nrack=rack1\nprefer_local=true\nextra=1\n");
	/* a file without the settings gets them appended; a last line without newline gains one */
	render_is("# only a comment", "dc1", "rack1", false, "# only a comment\ndc=dc1\nrack=rack1\n");
	render_is(NULL, "dc1", "rack1", true, "dc=dc1\nrack=rack1\nprefer_local=true\n");
	render_is("", "dc1", "rack1", false, "dc=dc1\nrack=rack1\n");
}
END_TEST

START_TEST(repeated_short_lines_with_long_values_fit)
{
	/* Each short line grows to the new value (the renderer once sized its buffer for one of
	 * each and wrote past it: found by clang-tidy, seen by AddressSanitizer). */
	char old[1024] = "", want[16384] = "", dc[201], rack[201];
	char *out;

	memset(dc, 'd', 200);
	dc[200] = '\0';
	memset(rack, 'r', 200);
	rack[200] = '\0';
	for (int i = 0; i < 20; i++) {
		strcat(old, i % 3 == 0 ? "dc=\n" : i % 3 == 1 ? "rack=\n" : "prefer_local=\n");
		strcat(want, i % 3 == 0 ? "dc=" : i % 3 == 1 ? "rack=" : "prefer_local=");
		strcat(want, i % 3 == 0 ? dc : i % 3 == 1 ? rack : "true");
		strcat(want, "\n");
	}
	out = cassandra_config_rackdc_render(old, dc, rack, true);
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, want);
	free(out);
}
END_TEST

START_TEST(read_takes_the_last_value_and_trims_line_ends)
{
	char dc[64], rack[64];

	cassandra_config_rackdc_read("# c\ndc=dc1\r\nrack=rack1  \n", dc, sizeof dc, rack, sizeof rack);
	ck_assert_str_eq(dc, "dc1");
	ck_assert_str_eq(rack, "rack1");
	cassandra_config_rackdc_read("dc=a\ndc=b\n", dc, sizeof dc, rack, sizeof rack);
	ck_assert_str_eq(dc, "b");
	ck_assert_str_eq(rack, "");
	cassandra_config_rackdc_read(NULL, dc, sizeof dc, rack, sizeof rack);
	ck_assert_str_eq(dc, "");
	/* a value longer than the buffer is cut, never overflows */
	cassandra_config_rackdc_read("dc=0123456789\n", dc, 5, rack, sizeof rack);
	ck_assert_str_eq(dc, "0123");
}
END_TEST

int main(void)
{
	Suite *su = suite_create("rackdc");
	TCase *tc = tcase_create("rackdc");

	tcase_add_test(tc, values_are_replaced_and_every_other_line_kept);
	tcase_add_test(tc, repeated_short_lines_with_long_values_fit);
	tcase_add_test(tc, read_takes_the_last_value_and_trims_line_ends);
	suite_add_tcase(su, tc);
	return check_run(su);
}
