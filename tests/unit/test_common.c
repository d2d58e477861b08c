/* Unit tests: util.h's system part (files, clocks, time) and its portable
 * helpers, on each platform (util_unix.c or util_win.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"

#ifdef _WIN32
#include "win.h"
#endif

static char dir[512];

/* A directory of our own under $TEMP (Windows) or /tmp. */
static int
setup(void **state)
{
	const char *tmp = getenv("TEMP");
	char name[600];
	FILE *fp;
	int fd;

	(void)state;
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/mutu-common-XXXXXX", tmp);
	if ((fd = mkstemp(dir)) == -1)
		return -1;
	close(fd);
	/* The unique name is kept as a prefix: every file of a test is
	 * dir + suffix, removed by teardown. */
	snprintf(name, sizeof(name), "%s.probe", dir);
	if ((fp = fopen(name, "w")) == NULL)
		return -1;
	fclose(fp);
	return remove(name);
}

static int
teardown(void **state)
{
	static const char *const suffix[] = {
	    "", ".a", ".a.tmp", ".big", ".nl", ".\xc3\xa9t\xc3\xa9"};
	char name[600];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(name, sizeof(name), "%s%s", dir, suffix[i]);
		remove(name);
	}
	return 0;
}

static void
file_name(char *out, size_t n, const char *suffix)
{
	snprintf(out, n, "%s%s", dir, suffix);
}

static void
test_write_replace_read(void **state)
{
	char p[600], tmp[600];
	char *s;

	(void)state;
	file_name(p, sizeof(p), ".a");
	file_name(tmp, sizeof(tmp), ".a.tmp");
	assert_int_equal(util_write_file(p, "first\n", 6, 0600), 0);
	assert_non_null(s = util_read_file(p, 100));
	assert_string_equal(s, "first");
	free(s);
	/* Replaced whole, no temp file left behind. */
	assert_int_equal(util_write_file(p, "2nd\r\n", 5, 0600), 0);
	assert_non_null(s = util_read_file(p, 100));
	assert_string_equal(s, "2nd");
	free(s);
	errno = 0;
	assert_null(util_fopen(tmp, "rb"));
	assert_int_equal(errno, ENOENT);
	/* An empty file. */
	assert_int_equal(util_write_file(p, "", 0, 0600), 0);
	assert_non_null(s = util_read_file(p, 100));
	assert_string_equal(s, "");
	free(s);
}

static void
test_read_limits(void **state)
{
	char p[600], big[300];
	char *s;

	(void)state;
	file_name(p, sizeof(p), ".big");
	memset(big, 'x', sizeof(big));
	assert_int_equal(util_write_file(p, big, sizeof(big), 0600), 0);
	errno = 0;
	assert_null(util_read_file(p, sizeof(big) - 1));
	assert_int_equal(errno, E2BIG);
	assert_non_null(s = util_read_file(p, sizeof(big)));
	assert_int_equal(strlen(s), sizeof(big));
	free(s);
	/* Binary bytes and inner newlines survive; only trailing ones go. */
	file_name(p, sizeof(p), ".nl");
	assert_int_equal(util_write_file(p, "a\r\nb\n\n", 6, 0600), 0);
	assert_non_null(s = util_read_file(p, 100));
	assert_string_equal(s, "a\r\nb");
	free(s);
	file_name(p, sizeof(p), ".missing");
	errno = 0;
	assert_null(util_read_file(p, 100));
	assert_int_equal(errno, ENOENT);
}

static void
test_write_errors(void **state)
{
	char p[600];

	(void)state;
	/* A directory that does not exist. */
	snprintf(p, sizeof(p), "%s.nodir/x", dir);
	errno = 0;
	assert_int_equal(util_write_file(p, "x", 1, 0600), -1);
	assert_int_equal(errno, ENOENT);
}

/* A UTF-8 file name (é): on Windows it must reach the UTF-16 API whole. */
static void
test_utf8_path(void **state)
{
	char p[600];
	char *s;
	FILE *fp;

	(void)state;
	file_name(p, sizeof(p), ".\xc3\xa9t\xc3\xa9");
	assert_int_equal(util_write_file(p, "\xc3\xa9t\xc3\xa9", 5, 0600), 0);
	assert_non_null(s = util_read_file(p, 100));
	assert_string_equal(s, "\xc3\xa9t\xc3\xa9");
	free(s);
	assert_non_null(fp = util_fopen(p, "r"));
	fclose(fp);
#ifdef _WIN32
	{
		wchar_t *w = win_wide(p);
		char *back;

		assert_non_null(w);
		assert_non_null(wcsstr(w, L".\u00e9t\u00e9"));
		assert_non_null(back = win_utf8(w));
		assert_string_equal(back, p);
		free(back);
		free(w);
		errno = 0;
		assert_null(win_wide("bad \xff utf-8"));
		assert_int_equal(errno, EILSEQ);
	}
#endif
}

static void
test_time_formats(void **state)
{
	char out[32];
	struct tm tm;

	(void)state;
	util_datetime(0, out, sizeof(out));
	assert_string_equal(out, "1970-01-01 00:00:00");
	util_isotime(951782400 + 86399, out, sizeof(out)); /* 2000-02-29 */
	assert_string_equal(out, "2000-02-29T23:59:59Z");
	util_datetime(4102444800LL, out, sizeof(out)); /* past 2038 */
	assert_string_equal(out, "2100-01-01 00:00:00");
	assert_int_equal(util_gmtime(1700000000, &tm), 0);
	assert_int_equal(tm.tm_year, 123);
	assert_int_equal(tm.tm_mon, 10);
	assert_int_equal(tm.tm_mday, 14);
	assert_int_equal(tm.tm_hour, 22);
	assert_int_equal(tm.tm_min, 13);
	assert_int_equal(tm.tm_sec, 20);
}

static void
test_clocks(void **state)
{
	long long m0, b0, m1, b1;
	struct timespec ts = {0, 60 * 1000000};

	(void)state;
	m0 = util_mono_ms();
	b0 = util_boot_ms();
	assert_true(m0 > 0 && b0 > 0);
	/* Asleep time counts on the boot clock only: boot >= mono. */
	assert_true(b0 + 50 >= m0);
	nanosleep(&ts, NULL);
	m1 = util_mono_ms();
	b1 = util_boot_ms();
	assert_true(m1 - m0 >= 40 && m1 - m0 < 5000);
	assert_true(b1 - b0 >= 40 && b1 - b0 < 5000);
}

static void
test_strings(void **state)
{
	char small[4], host[64];
	long long v;

	(void)state;
	assert_int_equal(util_strlcpy(small, "abc", sizeof(small)), 0);
	assert_int_equal(util_strlcpy(small, "abcd", sizeof(small)), -1);
	assert_string_equal(small, "abc");
	assert_int_equal(util_parse_ll("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(util_parse_ll("101", 0, 100, &v), -1);
	assert_int_equal(util_parse_ll("4x", 0, 100, &v), -1);
	assert_int_equal(util_parse_ll("", 0, 100, &v), -1);
	assert_int_equal(
	    util_url_host("https://[::1]:8443/x", host, sizeof(host)), 0);
	assert_string_equal(host, "[::1]");
	assert_true(util_is_loopback(host));
	assert_int_equal(
	    util_url_host("http://mutu.example.org/", host, sizeof(host)), 0);
	assert_string_equal(host, "mutu.example.org");
	assert_false(util_is_loopback(host));
	/* Names that start like a loopback address are names (finding 7). */
	assert_false(util_is_loopback("127.evil.example"));
	assert_false(util_is_loopback("127.0.0.1.evil.example"));
	assert_false(util_is_loopback("127.0.0.256"));
	assert_false(util_is_loopback("127.0.0"));
	assert_true(util_is_loopback("127.1.2.3"));
	assert_true(util_valid_insee("2A004"));
	assert_false(util_valid_insee("2C004"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_write_replace_read, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_read_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_utf8_path, setup, teardown),
	    cmocka_unit_test(test_time_formats),
	    cmocka_unit_test(test_clocks),
	    cmocka_unit_test(test_strings),
	};
	return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
