/* Unit tests: dpkg status parser and file-list owner lookup, on fixtures
 * in tests/fixtures/dpkg (run from the source root). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dpkg.h"

#define FIXTURE "tests/fixtures/dpkg"

struct seen {
	char names[16][64];
	char versions[16][64];
	char arch[16][16];
	char maint[16][128];
	char summary[16][128];
	long long kb[16];
	int n;
};

static int
collect(const struct dpkg_pkg *p, void *arg)
{
	struct seen *s = arg;

	if (s->n == 16)
		return -1;
	snprintf(s->names[s->n], 64, "%s", p->name);
	snprintf(s->versions[s->n], 64, "%s", p->version);
	snprintf(s->arch[s->n], 16, "%s", p->arch);
	snprintf(s->maint[s->n], 128, "%s", p->maintainer);
	snprintf(s->summary[s->n], 128, "%s", p->summary);
	s->kb[s->n] = p->installed_kb;
	s->n++;
	return 0;
}

static void
test_status_installed_only(void **state)
{
	struct seen s;
	FILE *fp = fopen(FIXTURE "/status", "r");

	(void)state;
	assert_non_null(fp);
	memset(&s, 0, sizeof(s));
	assert_int_equal(dpkg_parse_status(fp, collect, &s), 4);
	fclose(fp);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.names[0], "libreoffice-writer");
	assert_string_equal(s.versions[0], "4:7.4.7-1+deb12u5");
	assert_string_equal(s.arch[0], "amd64");
	assert_string_equal(s.maint[0], "Debian LibreOffice Maintainers "
	                                "<debian-openoffice@lists.debian.org>");
	assert_string_equal(s.summary[0],
	                    "office productivity suite -- word processor");
	assert_int_equal(s.kb[0], 30812);
	/* held packages are installed; conffiles lines are skipped */
	assert_string_equal(s.names[1], "qgis");
	assert_int_equal(s.kb[1], -1);
	/* removed-app (config-files) and half-installed-app are not */
	assert_string_equal(s.names[2], "libc6");
	assert_string_equal(s.arch[2], "i386");
	assert_string_equal(s.names[3], "tail-without-newline");
	assert_int_equal(s.kb[3], 7);
}

static int
stop_at_second(const struct dpkg_pkg *p, void *arg)
{
	int *n = arg;

	(void)p;
	return ++*n == 2 ? -1 : 0;
}

static void
test_callback_can_stop(void **state)
{
	FILE *fp = fopen(FIXTURE "/status", "r");
	int n = 0;

	(void)state;
	assert_int_equal(dpkg_parse_status(fp, stop_at_second, &n), -1);
	assert_int_equal(n, 2);
	fclose(fp);
}

static void
test_empty_and_garbage(void **state)
{
	struct seen s;
	const char text[] = "garbage without colon\n\n\nPackage: x\n"
	                    "Status: install ok installed\n";
	FILE *fp = fmemopen((void *)(uintptr_t)text, sizeof(text) - 1, "r");

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(dpkg_parse_status(fp, collect, &s), 1);
	assert_string_equal(s.names[0], "x");
	assert_string_equal(s.versions[0], "");
	fclose(fp);
}

static void
test_owners(void **state)
{
	const char *paths[] = {
	    "/usr/lib/libreoffice/program/soffice.bin",
	    "/usr/bin/qgis-legacy", /* listed as /bin/qgis-legacy */
	    "/usr/bin/qgis",
	    "/lib/i386-linux-gnu/libc.so.6",
	    "/opt/vendor/app.exe",
	};
	char *owners[5] = {NULL};
	int i;

	(void)state;
	assert_int_equal(dpkg_owners(FIXTURE "/info", paths, 5, owners), 0);
	assert_string_equal(owners[0], "libreoffice-writer");
	assert_string_equal(owners[1], "qgis");
	assert_string_equal(owners[2], "qgis");
	assert_string_equal(owners[3], "libc6");
	assert_null(owners[4]);
	for (i = 0; i < 5; i++)
		free(owners[i]);
	assert_int_equal(dpkg_owners("/nonexistent", paths, 1, owners), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_installed_only),
	    cmocka_unit_test(test_callback_can_stop),
	    cmocka_unit_test(test_empty_and_garbage),
	    cmocka_unit_test(test_owners),
	};
	return cmocka_run_group_tests_name("dpkg", tests, NULL, NULL);
}
