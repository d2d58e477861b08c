/* Unit tests: /proc/PID/stat parsing, including command names with
 * spaces and parentheses, and malformed lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

static void
mask(const char *path, const char *const *homes, size_t n, const char *want)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", path);
	assert_int_equal(procstat_mask_home(buf, homes, n),
	                 strcmp(path, want) != 0);
	assert_string_equal(buf, want);
}

static void
test_mask_home(void **state)
{
	const char *homes[] = {"/srv/people/alice",
	                       "/srv/people/",
	                       "/",
	                       "",
	                       "/home/users/bob/",
	                       "x",
	                       NULL};
	size_t n = sizeof(homes) / sizeof(homes[0]);

	(void)state;
	mask("/home/alice/bin/tool", NULL, 0, "~/bin/tool");
	mask("/home/alice/.local/share/app/run", homes, n,
	     "~/.local/share/app/run");
	mask("/root/tool", NULL, 0, "~/tool");
	/* A home elsewhere, the longest that contains the path. */
	mask("/srv/people/alice/x", homes, n, "~/x");
	mask("/srv/people/carol/x", homes, n, "~/carol/x");
	mask("/home/users/bob/x", homes, n, "~/x");
	/* Not a home, or not under one. */
	mask("/usr/bin/sleep", homes, n, "/usr/bin/sleep");
	mask("/home/alice", homes, n, "/home/alice");
	mask("/home//x", homes, n, "/home//x");
	mask("/homework/x", homes, n, "/homework/x");
	mask("/rootfs/x", homes, n, "/rootfs/x");
	mask("/srv/people/alicex/y", homes, 1, "/srv/people/alicex/y");
	mask("~/already", homes, n, "~/already");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_parse),
	                                   cmocka_unit_test(test_mask_home)};
	return cmocka_run_group_tests_name("procstat", tests, NULL, NULL);
}
