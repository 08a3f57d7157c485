/* check_run: the end of every unit test's main(). */
#ifndef CA_TESTS_CHECK_RUN_H
#define CA_TESTS_CHECK_RUN_H

#include <check.h>
#include <stdlib.h>

/* Runs every test of sr with `mode` output, frees the runner (and with it its suite), and returns
 * EXIT_SUCCESS if no test failed, EXIT_FAILURE otherwise. */
static inline int check_run_runner(SRunner *sr, enum print_output mode)
{
	int failed;

	srunner_run_all(sr, mode);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Runs every test of su with CK_NORMAL output (forking as CK_FORK says); see check_run_runner. */
static inline int check_run(Suite *su)
{
	return check_run_runner(srunner_create(su), CK_NORMAL);
}

/* Like check_run, but every test runs in a child process of its own whatever CK_FORK says (a
 * crash or an abort fails that test only), and `mode` sets the output (CK_NORMAL, or CK_ENV to
 * follow CK_VERBOSITY). */
static inline int check_run_forked(Suite *su, enum print_output mode)
{
	SRunner *sr = srunner_create(su);

	srunner_set_fork_status(sr, CK_FORK);
	return check_run_runner(sr, mode);
}

#endif
