/* Unit tests: the agent's configuration file, and the INI syntax under it
 * (inih on Linux, common/ini_win.c on Windows: the same assertions hold
 * for both). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "service.h"

#ifdef _WIN32
#include <windows.h>

#include <sddl.h>

/* Windows has no mode bits: "others may read" (o+r) becomes an ACE for
 * Everyone, besides SYSTEM, Administrators and the owner. Wine keeps
 * only what its Unix mode can hold, which includes these two cases. */
static int
set_mode(const char *p, mode_t mode)
{
	const wchar_t *sddl = (mode & 0007) ? L"D:P(A;;FA;;;SY)(A;;FA;;;BA)"
	                                      L"(A;;FA;;;OW)(A;;FR;;;WD)"
	                                    : L"D:P(A;;FA;;;SY)(A;;FA;;;BA)"
	                                      L"(A;;FA;;;OW)";
	PSECURITY_DESCRIPTOR sd;
	wchar_t wp[512];
	BOOL ok;

	if (MultiByteToWideChar(CP_UTF8, 0, p, -1, wp, 512) <= 0 ||
	    !ConvertStringSecurityDescriptorToSecurityDescriptorW(
	        sddl, SDDL_REVISION_1, &sd, NULL))
		return -1;
	ok = SetFileSecurityW(
	    wp, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
	    sd);
	LocalFree(sd);
	return ok ? 0 : -1;
}
#else
static int
set_mode(const char *p, mode_t mode)
{
	return chmod(p, mode);
}
#endif

static char path[512];

static int
setup(void **state)
{
	const char *dir = getenv("TEMP");
	int fd;

	(void)state;
	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	snprintf(path, sizeof(path), "%s/mutu-conf-XXXXXX", dir);
	if ((fd = mkstemp(path)) == -1)
		return -1;
	close(fd);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

/* Writes text byte for byte (no newline translation). */
static int
load(const char *text, mode_t mode, struct agent_config *cfg, char *err)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(set_mode(path, mode), 0);
	return config_load(path, cfg, err, 512);
}

#define GOOD                                                                   \
	"server = https://mutu.example.org:8443\n"                             \
	"commune = 29019\n"                                                    \
	"# comment\n"                                                          \
	"enrol_secret = s3cret\n"                                              \
	"user_key = 0123456789abcdef\n"

static void
test_valid_and_defaults(void **state)
{
	struct agent_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(load(GOOD "usage_interval = 5\n", 0600, &cfg, err), 0);
	assert_string_equal(cfg.server, "https://mutu.example.org:8443");
	assert_string_equal(cfg.commune, "29019");
	assert_string_equal(cfg.enrol_secret, "s3cret");
	assert_int_equal(cfg.usage_interval, 5);
	assert_int_equal(cfg.sync_interval, 300);
	assert_int_equal(cfg.user_ids, USER_IDS_PSEUDONYM);
	assert_int_equal(cfg.usage_min_uid, 1000);
	assert_string_equal(cfg.state_dir, service_default_state_dir());
}

static void
test_unknown_key_names_line(void **state)
{
	struct agent_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(load(GOOD "colour = blue\n", 0600, &cfg, err), -1);
	assert_non_null(strstr(err, ":6: unknown key 'colour'"));
}

static void
test_bad_values(void **state)
{
	struct agent_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(load(GOOD "usage_interval = 0\n", 0600, &cfg, err),
	                 -1);
	assert_non_null(strstr(err, ":6: usage_interval"));
	assert_int_equal(load(GOOD "sync_interval = 5s\n", 0600, &cfg, err),
	                 -1);
	assert_non_null(strstr(err, "sync_interval"));
	assert_int_equal(load(GOOD "user_ids = maybe\n", 0600, &cfg, err), -1);
	assert_non_null(strstr(err, "allowed values"));
	assert_int_equal(load("commune = 29019\n", 0600, &cfg, err), -1);
	assert_non_null(strstr(err, "'server' is required"));
	assert_int_equal(
	    load("server = ftp://x\ncommune = 29019\n", 0600, &cfg, err), -1);
	assert_non_null(strstr(err, "not an http(s) URL"));
	assert_int_equal(load("server = http://127.0.0.1\ncommune = 2901\n",
	                      0600, &cfg, err),
	                 -1);
	assert_non_null(strstr(err, "INSEE"));
	assert_int_equal(load("server = http://127.0.0.1\ncommune = 2A004\n"
	                      "user_ids = none\n",
	                      0600, &cfg, err),
	                 0);
	assert_int_equal(cfg.user_ids, USER_IDS_NONE);
	assert_int_equal(load("[section\n", 0600, &cfg, err), -1);
	assert_non_null(strstr(err, ":1: syntax error"));
}

static void
test_pseudonym_needs_key(void **state)
{
	struct agent_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(load("server = http://127.0.0.1\ncommune = 29019\n",
	                      0600, &cfg, err),
	                 -1);
	assert_non_null(strstr(err, "user_key"));
	assert_int_equal(load("server = http://127.0.0.1\ncommune = 29019\n"
	                      "user_ids = plain\n",
	                      0600, &cfg, err),
	                 0);
	assert_int_equal(cfg.user_ids, USER_IDS_PLAIN);
}

static void
test_world_readable_secrets_refused(void **state)
{
	struct agent_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(load(GOOD, 0644, &cfg, err), -1);
	assert_non_null(strstr(err, "holds secrets but is accessible to"));
	assert_int_equal(load(GOOD, 0640, &cfg, err), 0);
	assert_int_equal(load(GOOD, 0600, &cfg, err), 0);
}

/* The INI syntax: comments, separators, trimming, BOM, CRLF. */
static void
test_ini_syntax(void **state)
{
	struct agent_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(load("\xef\xbb\xbf; a comment\r\n"
	                      "# another\r\n"
	                      "\r\n"
	                      "server=https://mutu.example.org  \r\n"
	                      "commune : 29019 ; inline comment\r\n"
	                      "user_ids\t=\tnone\t\r\n"
	                      "  ; indented comment\r\n"
	                      "usage_interval = 7",
	                      0600, &cfg, err),
	                 0);
	assert_string_equal(cfg.server, "https://mutu.example.org");
	assert_string_equal(cfg.commune, "29019");
	assert_int_equal(cfg.user_ids, USER_IDS_NONE);
	assert_int_equal(cfg.usage_interval, 7);
	/* The first '=' or ':' splits; values keep later ones. */
	assert_int_equal(load("server = http://127.0.0.1:8080/a=b\n"
	                      "commune = 29019\nuser_ids = none\n",
	                      0600, &cfg, err),
	                 0);
	assert_string_equal(cfg.server, "http://127.0.0.1:8080/a=b");
	/* '#' is not an inline comment, nor ';' without a space before. */
	assert_int_equal(load("server = http://127.0.0.1\n"
	                      "commune = 29019 # Brest\nuser_ids = none\n",
	                      0600, &cfg, err),
	                 -1);
	assert_non_null(strstr(err, "INSEE"));
	assert_int_equal(load("server = http://127.0.0.1\n"
	                      "commune = 29019;Brest\nuser_ids = none\n",
	                      0600, &cfg, err),
	                 -1);
	assert_non_null(strstr(err, "INSEE"));
}

/* inih's multi-line values: an indented line continues the previous
 * key, whose handler is called again with that line. */
static void
test_ini_continuation(void **state)
{
	struct agent_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(load("server = https://first.example\n"
	                      "    https://mutu.example.org\n"
	                      "commune = 29019\nuser_ids = none\n",
	                      0600, &cfg, err),
	                 0);
	assert_string_equal(cfg.server, "https://mutu.example.org");
	assert_int_equal(load("server = http://127.0.0.1\n"
	                      "commune = 29019\n"
	                      "  2A004 x\nuser_ids = none\n",
	                      0600, &cfg, err),
	                 -1);
	assert_non_null(strstr(err, "INSEE"));
}

/* Sections, errors named by line; parsing goes on after a syntax error,
 * so a later bad key is what is reported (inih's behaviour). */
static void
test_ini_errors(void **state)
{
	struct agent_config cfg;
	char err[512], longline[400];

	(void)state;
	assert_int_equal(
	    load("[agent]\nserver = http://127.0.0.1\n", 0600, &cfg, err), -1);
	assert_non_null(strstr(err, ":2: unknown key 'agent.server'"));
	assert_int_equal(load("server = http://127.0.0.1\n\n; c\nno separator\n"
	                      "commune = 29019\nuser_ids = none\n",
	                      0600, &cfg, err),
	                 -1);
	assert_non_null(strstr(err, ":4: syntax error"));
	assert_int_equal(
	    load("server = http://127.0.0.1\n[oops ; ]\n", 0600, &cfg, err),
	    -1);
	assert_non_null(strstr(err, ":2: syntax error"));
	assert_int_equal(load("= value\n", 0600, &cfg, err), -1);
	assert_non_null(strstr(err, ":1: unknown key ''"));
	assert_int_equal(load("nonsense\ncolour = blue\n", 0600, &cfg, err),
	                 -1);
	assert_non_null(strstr(err, ":2: unknown key 'colour'"));
	/* Lines are bounded (200 bytes): a longer one is an error. */
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "# ", 2);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = '\0';
	assert_int_equal(load(longline, 0600, &cfg, err), -1);
	assert_non_null(strstr(err, "syntax error"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_valid_and_defaults, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_key_names_line, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pseudonym_needs_key, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_world_readable_secrets_refused,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ini_syntax, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ini_continuation, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_ini_errors, setup, teardown),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
