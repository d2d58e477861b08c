/* Unit tests: exact cost sharing (largest remainder) and catalogue rule
 * matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalogue.h"
#include "share.h"

static void
test_hand_worked(void **state)
{
	long long w[2] = {21600, 18000}, out[2];
	long long eq[3] = {0, 0, 0}, out3[3];

	(void)state;
	assert_int_equal(share_split(75001, w, 2, out), 0);
	assert_int_equal(out[0], 40910); /* remainder .636 wins the cent */
	assert_int_equal(out[1], 34091);
	assert_int_equal(share_split(100, eq, 3, out3), 0);
	assert_int_equal(out3[0], 34); /* ties: the earlier party */
	assert_int_equal(out3[1], 33);
	assert_int_equal(out3[2], 33);
}

/* For random weights and totals, the parts add up exactly and each part
 * is within one cent of its exact share. */
static void
test_random_exact(void **state)
{
	long long w[17], out[17], sum;
	double exact, wsum;
	unsigned seed = 12345;
	int round;
	size_t n, i;

	(void)state;
	for (round = 0; round < 2000; round++) {
		long long total = rand_r(&seed) % 100000000;

		n = 1 + (size_t)(rand_r(&seed) % 17);
		wsum = 0;
		for (i = 0; i < n; i++) {
			w[i] = rand_r(&seed) % 4 == 0 ? 0
			                              : rand_r(&seed) % 1000000;
			wsum += (double)w[i];
		}
		assert_int_equal(share_split(total, w, n, out), 0);
		sum = 0;
		for (i = 0; i < n; i++) {
			exact = wsum > 0 ? (double)total * (double)w[i] / wsum
			                 : (double)total / (double)n;
			assert_true(out[i] >= (long long)exact - 1);
			assert_true(out[i] <= (long long)exact + 1);
			sum += out[i];
		}
		assert_int_equal(sum, total);
	}
}

static void
test_huge_amounts_no_overflow(void **state)
{
	long long w[2] = {1LL << 40, 3LL << 40}, out[2];

	(void)state;
	assert_int_equal(share_split(1LL << 50, w, 2, out), 0);
	assert_int_equal(out[0], 1LL << 48);
	assert_int_equal(out[1], 3LL << 48);
}

static void
test_catalogue_order_and_kinds(void **state)
{
	struct catalogue *c = catalogue_new();
	char err[256];
	struct norm n;

	(void)state;
	assert_int_equal(catalogue_add(c, "name", "glob", "libreoffice*",
	                               "libreoffice", err, sizeof(err)),
	                 0);
	assert_int_equal(
	    catalogue_add(c, "name", "glob", "lib*", NULL, err, sizeof(err)),
	    0);
	assert_int_equal(catalogue_add(c, "name", "regex",
	                               "^Microsoft Office .*2019",
	                               "ms-office-2019", err, sizeof(err)),
	                 0);
	assert_int_equal(catalogue_add(c, "exe", "glob", "*/soffice.bin",
	                               "libreoffice", err, sizeof(err)),
	                 0);
	assert_int_equal(catalogue_add(c, "publisher", "regex", "^NVIDIA", NULL,
	                               err, sizeof(err)),
	                 0);
	n = catalogue_match(c, "libreoffice-writer", NULL, NULL);
	assert_true(n.matched && !n.ignored);
	assert_string_equal(n.product, "libreoffice");
	n = catalogue_match(c, "libc6", "", NULL);
	assert_true(n.matched && n.ignored); /* after the libreoffice rule */
	n = catalogue_match(c, "Microsoft Office Professional Plus 2019",
	                    "Microsoft", NULL);
	assert_string_equal(n.product, "ms-office-2019");
	n = catalogue_match(c, "soffice", NULL,
	                    "/usr/lib/libreoffice/program/soffice.bin");
	assert_string_equal(n.product, "libreoffice");
	n = catalogue_match(c, "GeForce driver", "NVIDIA Corporation", NULL);
	assert_true(n.ignored);
	n = catalogue_match(c, "coreutils", "", NULL);
	assert_false(n.matched);
	assert_int_equal(
	    catalogue_add(c, "name", "regex", "([", "x", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "regex"));
	assert_int_equal(
	    catalogue_add(c, "colour", "glob", "x", "x", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "field"));
	catalogue_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hand_worked),
	    cmocka_unit_test(test_random_exact),
	    cmocka_unit_test(test_huge_amounts_no_overflow),
	    cmocka_unit_test(test_catalogue_order_and_kinds),
	};
	return cmocka_run_group_tests_name("share", tests, NULL, NULL);
}
