/* test_host: procfs parsers with inline text, live host sample, statvfs disk usage. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "host.h"

static const char stat_text[] = "cpu  10132153 290696 3084719 46828483 16683 0 25195 0 175628 0\n"
				"cpu0 1393280 32966 572056 13343292 6130 0 17875 0 23933 0\n"
				"intr 1462898 0 0 0\n"
				"ctxt 115315\n";

START_TEST(test_stat_aggregate_cpu_line_is_parsed)
{
	struct host_cpu c = {0};

	ck_assert_int_eq(host_parse_proc_stat(stat_text, strlen(stat_text), &c), 0);
	/* user nice system idle iowait irq softirq steal; guest fields excluded */
	uint64_t total = 10132153ull + 290696 + 3084719 + 46828483 + 16683 + 0 + 25195 + 0;
	ck_assert_uint_eq(c.total, total);
	ck_assert_uint_eq(c.busy, total - 46828483ull - 16683);
}
END_TEST

START_TEST(test_stat_old_kernel_four_fields)
{
	static const char txt[] = "cpu 100 0 50 850\n";
	struct host_cpu c = {0};

	ck_assert_int_eq(host_parse_proc_stat(txt, strlen(txt), &c), 0);
	ck_assert_uint_eq(c.total, 1000);
	ck_assert_uint_eq(c.busy, 150);
}
END_TEST

START_TEST(test_stat_without_cpu_line_is_rejected)
{
	static const char txt[] = "cpu0 1 2 3 4\nintr 5\n";
	struct host_cpu c = {7, 9};

	ck_assert_int_eq(host_parse_proc_stat(txt, strlen(txt), &c), -EINVAL);
	ck_assert_uint_eq(c.busy, 7);
	ck_assert_uint_eq(c.total, 9);
	ck_assert_int_eq(host_parse_proc_stat("", 0, &c), -EINVAL);
}
END_TEST

START_TEST(test_stat_malformed_cpu_line_is_rejected)
{
	static const char few[] = "cpu 1 2 3\n";
	static const char junk[] = "cpu 1 2 x 4\n";
	static const char huge[] = "cpu 99999999999999999999999 1 1 1\n";
	struct host_cpu c;

	ck_assert_int_eq(host_parse_proc_stat(few, strlen(few), &c), -EINVAL);
	ck_assert_int_eq(host_parse_proc_stat(junk, strlen(junk), &c), -EINVAL);
	ck_assert_int_eq(host_parse_proc_stat(huge, strlen(huge), &c), -EINVAL);
}
END_TEST

START_TEST(test_stat_respects_length_without_nul)
{
	/* only "cpu 1 2 3 4" is inside len; the trailing digits must not be read */
	static const char txt[] = "cpu 1 2 3 4999";
	struct host_cpu c;

	ck_assert_int_eq(host_parse_proc_stat(txt, 11, &c), 0);
	ck_assert_uint_eq(c.total, 10);
	ck_assert_uint_eq(c.busy, 6);
}
END_TEST

START_TEST(test_cpu_percent_over_interval)
{
	struct host_cpu zero = {0, 0}, a = {100, 1000}, b = {150, 1100}, back = {90, 900};

	ck_assert_double_eq_tol(host_cpu_percent(&zero, &a), 0.0, 1e-9);
	ck_assert_double_eq_tol(host_cpu_percent(&a, &b), 50.0, 1e-9);
	ck_assert_double_eq_tol(host_cpu_percent(&a, &a), 0.0, 1e-9);
	ck_assert_double_eq_tol(host_cpu_percent(&a, &back), 0.0, 1e-9);
}
END_TEST

START_TEST(test_loadavg_first_field)
{
	static const char txt[] = "1.52 0.58 0.59 2/1234 5678\n";
	double l = -1;

	ck_assert_int_eq(host_parse_loadavg(txt, strlen(txt), &l), 0);
	ck_assert_double_eq_tol(l, 1.52, 1e-9);
	ck_assert_int_eq(host_parse_loadavg("12", 2, &l), 0);
	ck_assert_double_eq_tol(l, 12.0, 1e-9);
}
END_TEST

START_TEST(test_loadavg_garbage_is_rejected)
{
	double l = 42;

	ck_assert_int_eq(host_parse_loadavg("", 0, &l), -EINVAL);
	ck_assert_int_eq(host_parse_loadavg("abc 1 2", 7, &l), -EINVAL);
	ck_assert_int_eq(host_parse_loadavg("1. 2", 4, &l), -EINVAL);
	ck_assert_int_eq(host_parse_loadavg("1.5x 2", 6, &l), -EINVAL);
	ck_assert_double_eq_tol(l, 42, 1e-9);
}
END_TEST

static const char meminfo_text[] = "MemTotal:       16318480 kB\n"
				   "MemFree:          512000 kB\n"
				   "MemAvailable:    8159240 kB\n"
				   "Buffers:          100000 kB\n"
				   "Cached:          4000000 kB\n"
				   "SwapCached:            0 kB\n"
				   "HugePages_Total:       0\n";

START_TEST(test_meminfo_total_and_available)
{
	uint64_t t = 0, a = 0;

	ck_assert_int_eq(host_parse_meminfo(meminfo_text, strlen(meminfo_text), &t, &a), 0);
	ck_assert_uint_eq(t, 16318480ull * 1024);
	ck_assert_uint_eq(a, 8159240ull * 1024);
}
END_TEST

START_TEST(test_meminfo_without_memavailable_falls_back)
{
	static const char txt[] = "MemTotal:  1000 kB\n"
				  "MemFree:    100 kB\n"
				  "Buffers:     20 kB\n"
				  "Cached:     300 kB\n"
				  "SwapCached:   5 kB\n";
	uint64_t t = 0, a = 0;

	ck_assert_int_eq(host_parse_meminfo(txt, strlen(txt), &t, &a), 0);
	ck_assert_uint_eq(t, 1000ull * 1024);
	ck_assert_uint_eq(a, 420ull * 1024);
}
END_TEST

START_TEST(test_meminfo_missing_or_bad_total_is_rejected)
{
	static const char missing[] = "MemFree: 1 kB\nMemAvailable: 2 kB\n";
	static const char bad[] = "MemTotal: lots kB\nMemAvailable: 2 kB\n";
	static const char overflow[] = "MemTotal: 18446744073709551615 kB\nMemAvailable: 2 kB\n";
	uint64_t t = 5, a = 6;

	ck_assert_int_eq(host_parse_meminfo(missing, strlen(missing), &t, &a), -EINVAL);
	ck_assert_int_eq(host_parse_meminfo(bad, strlen(bad), &t, &a), -EINVAL);
	ck_assert_int_eq(host_parse_meminfo(overflow, strlen(overflow), &t, &a), -EINVAL);
	ck_assert_uint_eq(t, 5);
	ck_assert_uint_eq(a, 6);
}
END_TEST

START_TEST(test_sample_read_live_procfs)
{
	struct host_cpu prev = {0};
	struct host_sample s;

	ck_assert_int_eq(host_sample_read(&prev, &s), 0);
	ck_assert_double_eq_tol(s.cpu_percent, 0.0, 1e-9);
	ck_assert_uint_gt(prev.total, 0);
	ck_assert(s.load1 >= 0.0);
	ck_assert_uint_gt(s.memory_total_bytes, 0);
	ck_assert_uint_le(s.memory_available_bytes, s.memory_total_bytes);

	/* burn a little CPU so the second interval is not empty */
	volatile uint64_t x = 0;
	for (uint64_t i = 0; i < 50000000ull; i++)
		x += i;
	ck_assert_uint_gt(x, 0);
	ck_assert_int_eq(host_sample_read(&prev, &s), 0);
	ck_assert(s.cpu_percent >= 0.0 && s.cpu_percent <= 100.0);
}
END_TEST

START_TEST(test_disk_usage_root)
{
	uint64_t total = 0, avail = 0;

	ck_assert_int_eq(host_disk_usage("/", &total, &avail), 0);
	ck_assert_uint_gt(total, 0);
	ck_assert_uint_le(avail, total);
}
END_TEST

START_TEST(test_disk_usage_missing_path_is_enoent)
{
	uint64_t total = 1, avail = 2;

	ck_assert_int_eq(host_disk_usage("/nonexistent/cassandra-agent-test/xyz", &total, &avail), -ENOENT);
	ck_assert_uint_eq(total, 1);
	ck_assert_uint_eq(avail, 2);
	ck_assert_int_eq(host_disk_usage(NULL, &total, &avail), -EINVAL);
}
END_TEST

static Suite *host_suite(void)
{
	Suite *s = suite_create("host");
	TCase *tc = tcase_create("parsers");

	tcase_add_test(tc, test_stat_aggregate_cpu_line_is_parsed);
	tcase_add_test(tc, test_stat_old_kernel_four_fields);
	tcase_add_test(tc, test_stat_without_cpu_line_is_rejected);
	tcase_add_test(tc, test_stat_malformed_cpu_line_is_rejected);
	tcase_add_test(tc, test_stat_respects_length_without_nul);
	tcase_add_test(tc, test_cpu_percent_over_interval);
	tcase_add_test(tc, test_loadavg_first_field);
	tcase_add_test(tc, test_loadavg_garbage_is_rejected);
	tcase_add_test(tc, test_meminfo_total_and_available);
	tcase_add_test(tc, test_meminfo_without_memavailable_falls_back);
	tcase_add_test(tc, test_meminfo_missing_or_bad_total_is_rejected);
	suite_add_tcase(s, tc);

	tc = tcase_create("live");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_sample_read_live_procfs);
	tcase_add_test(tc, test_disk_usage_root);
	tcase_add_test(tc, test_disk_usage_missing_path_is_enoent);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_forked(host_suite(), CK_ENV);
}
