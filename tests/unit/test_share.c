/* Unit tests: exact cost sharing (largest remainder) and catalogue rule
 * matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
	struct catalogue_hit n;

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

/* Decimals read exactly, from text and from JSON numbers. */
static void
test_decimals(void **state)
{
	static const struct {
		const char *text;
		int scale;
		long long want; /* -1: refused */
	} cases[] = {
	    {"3600.10", 2, 360010}, {"3600.1", 2, 360010}, {"3600", 2, 360000},
	    {"0.35", 6, 350000},    {"1", 6, 1000000},     {"0", 2, 0},
	    {"0.000001", 6, 1},     {"3600.105", 2, -1},   {"-1", 2, -1},
	    {"1e3", 2, -1},         {".5", 2, -1},         {"5.", 2, -1},
	    {" 5", 2, -1},          {"", 2, -1},           {"1.0000001", 6, -1},
	    {"2", 6, -1}, /* above max 1000000 */
	};
	char buf[64];
	long long v;
	size_t i;
	json_t *j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long max = cases[i].scale == 6 ? 1000000 : 1LL << 40;
		int rc =
		    share_parse_decimal(cases[i].text, cases[i].scale, max, &v);

		if (cases[i].want < 0) {
			assert_int_equal(rc, -1);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(v, cases[i].want);
		/* the same value as a JSON number, when JSON has one */
		if (strchr(cases[i].text, '.') == NULL)
			continue;
		j = json_real(strtod(cases[i].text, NULL));
		assert_int_equal(share_json_decimal(j, cases[i].scale, max, &v),
		                 0);
		assert_int_equal(v, cases[i].want);
		json_decref(j);
	}
	/* a binary number that no two-decimal amount is nearest to */
	j = json_real(3600.105);
	assert_int_equal(share_json_decimal(j, 2, 1LL << 40, &v), -1);
	json_decref(j);
	j = json_real(0.34999999999999998);
	assert_int_equal(share_json_decimal(j, 6, 1000000, &v), 0);
	assert_int_equal(v, 350000);
	json_decref(j);
	j = json_integer(3600);
	assert_int_equal(share_json_decimal(j, 2, 1LL << 40, &v), 0);
	assert_int_equal(v, 360000);
	json_decref(j);
	j = json_real(-0.5);
	assert_int_equal(share_json_decimal(j, 2, 1LL << 40, &v), -1);
	json_decref(j);
	/* every amount of cents up to 10^9 euros survives the round trip
	 * text -> double -> cents (a sample) */
	for (v = 1; v < 100000000000LL; v = v * 7 + 3) {
		long long got;

		snprintf(buf, sizeof(buf), "%lld.%02lld", v / 100, v % 100);
		j = json_real(strtod(buf, NULL));
		assert_int_equal(share_json_decimal(j, 2, 1LL << 40, &got), 0);
		assert_int_equal(got, v);
		json_decref(j);
	}
	share_format(180005, 2, 2, buf, sizeof(buf));
	assert_string_equal(buf, "1800.05");
	share_format(5, 2, 2, buf, sizeof(buf));
	assert_string_equal(buf, "0.05");
	share_format(-5, 2, 2, buf, sizeof(buf));
	assert_string_equal(buf, "-0.05");
	share_format(350000, 6, 2, buf, sizeof(buf));
	assert_string_equal(buf, "0.35");
	share_format(333333, 6, 2, buf, sizeof(buf));
	assert_string_equal(buf, "0.333333");
	share_format(1000000, 6, 2, buf, sizeof(buf));
	assert_string_equal(buf, "1.00");
}

/* Half up, and prorating that telescopes: the months of a 365-day term
 * add up to the invoice. */
static void
test_prorate(void **state)
{
	static const int months[] = {31, 28, 31, 30, 31, 30,
	                             31, 31, 30, 31, 30, 31};
	long long sum = 0, day = 0, part;
	size_t i;

	(void)state;
	assert_int_equal(share_mul_div(360010, 350000, 1000000), 126004);
	assert_int_equal(share_mul_div(100001, 250000, 1000000), 25000);
	assert_int_equal(share_mul_div(1, 1, 2), 1); /* 0.5 -> 1 */
	assert_int_equal(share_mul_div(1, 1, 3), 0); /* 0.33 -> 0 */
	assert_int_equal(share_mul_div(5, 1, 0), 0); /* no term */
	for (i = 0; i < 12; i++) {
		part = share_prorate(360010, day, day + months[i], 365);
		assert_true(part >= 360010 * months[i] / 365 - 1);
		assert_true(part <= 360010 * months[i] / 365 + 1);
		sum += part;
		day += months[i];
	}
	assert_int_equal(day, 365);
	assert_int_equal(sum, 360010);
	assert_int_equal(share_prorate(360010, 0, 31, 365), 30576);
	assert_int_equal(share_prorate(360010, 70, 101, 365), 30576);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hand_worked),
	    cmocka_unit_test(test_decimals),
	    cmocka_unit_test(test_prorate),
	    cmocka_unit_test(test_random_exact),
	    cmocka_unit_test(test_huge_amounts_no_overflow),
	    cmocka_unit_test(test_catalogue_order_and_kinds),
	};
	return cmocka_run_group_tests_name("share", tests, NULL, NULL);
}
