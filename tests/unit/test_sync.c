/* Unit tests: delivery backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sync.h"

static void
test_backoff_grows_and_caps(void **state)
{
	(void)state;
	/* Full jitter: between 1 and the ceiling (5 s doubling). */
	assert_int_equal(sync_backoff(1, 5, 3600, -1, 0.0), 1);
	assert_int_equal(sync_backoff(1, 5, 3600, -1, 0.9999), 5);
	assert_int_equal(sync_backoff(2, 5, 3600, -1, 0.9999), 10);
	assert_int_equal(sync_backoff(4, 5, 3600, -1, 0.9999), 40);
	assert_int_equal(sync_backoff(30, 5, 3600, -1, 0.9999), 3600);
	assert_int_equal(sync_backoff(1000, 5, 3600, -1, 0.5), 1801);
}

static void
test_backoff_honours_retry_after(void **state)
{
	(void)state;
	assert_int_equal(sync_backoff(1, 5, 3600, 120, 0.0), 120);
	assert_int_equal(sync_backoff(10, 5, 3600, 2, 0.9999), 2560);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff_grows_and_caps),
	    cmocka_unit_test(test_backoff_honours_retry_after),
	};
	return cmocka_run_group_tests_name("sync", tests, NULL, NULL);
}
