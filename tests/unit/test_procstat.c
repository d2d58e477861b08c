/* Unit tests: /proc/PID/stat parsing, including command names with
 * spaces and parentheses, and malformed lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "procstat.h"

static void
test_parse(void **state)
{
	unsigned long flags = 0;
	unsigned long long start = 0;

	(void)state;
	assert_int_equal(procstat_parse("42 (bash) S 1 42 42 0 -1 4194560 10 0 "
	                                "0 0 1 2 0 0 20 0 1 0 12345 0 0",
	                                &flags, &start),
	                 0);
	assert_int_equal(flags, 4194560);
	assert_int_equal(start, 12345);
	assert_int_equal(
	    procstat_parse("7 (a) b) (c)) R 1 7 7 0 -1 2097216 0 0 "
	                   "0 0 0 0 0 0 20 0 1 0 99 0 0",
	                   &flags, &start),
	    0);
	assert_int_equal(flags, 2097216); /* PF_KTHREAD set */
	assert_int_equal(start, 99);
	assert_int_equal(procstat_parse("", &flags, &start), -1);
	assert_int_equal(procstat_parse("1 (x", &flags, &start), -1);
	assert_int_equal(procstat_parse("1 (x) S 1 2", &flags, &start), -1);
	assert_int_equal(procstat_parse("1 (x)", &flags, &start), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_parse)};
	return cmocka_run_group_tests_name("procstat", tests, NULL, NULL);
}
