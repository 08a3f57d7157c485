/* check_run: the end of every unit test's main(). */
#ifndef CA_TESTS_CHECK_RUN_H
#define CA_TESTS_CHECK_RUN_H

#include <check.h>
#include <stdlib.h>

/* Runs every test of su with CK_NORMAL output, frees the runner (and with it su), and returns
 * EXIT_SUCCESS if no test failed, EXIT_FAILURE otherwise. */
static inline int check_run(Suite *su)
{
	SRunner *sr = srunner_create(su);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
