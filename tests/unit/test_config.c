/* Unit tests: the agent's configuration file. */
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

static char path[64];

static int
setup(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/mutu-conf-XXXXXX");
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

static int
load(const char *text, mode_t mode, struct agent_config *cfg, char *err)
{
	FILE *fp = fopen(path, "w");

	fputs(text, fp);
	fclose(fp);
	chmod(path, mode);
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
	assert_string_equal(cfg.state_dir, "/var/lib/mutu-agent");
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
	assert_non_null(strstr(err, "accessible to all users"));
	assert_int_equal(load(GOOD, 0640, &cfg, err), 0);
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
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
