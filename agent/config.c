#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>

#include "conf.h"
#include "proto.h"
#include "util.h"

static const char *const user_id_modes[] = {"pseudonym", "none", "plain", NULL};

#define STR(n)                                                                 \
	{                                                                      \
		"", #n, CONF_STR, offsetof(struct agent_config, n),            \
		    sizeof(((struct agent_config *)0)->n), 0, 0, NULL          \
	}
#define INT(n, lo, hi)                                                         \
	{                                                                      \
		"", #n, CONF_INT, offsetof(struct agent_config, n), 0, lo, hi, \
		    NULL                                                       \
	}

static const struct conf_key agent_keys[] = {
    STR(server),
    STR(commune),
    STR(enrol_secret),
    STR(state_dir),
    STR(ca_file),
    STR(user_key),
    INT(usage_interval, 1, 3600),
    INT(sync_interval, 1, 86400),
    INT(inventory_interval, 60, 30 * 86400),
    INT(usage_min_uid, 0, 1 << 30),
    INT(batch_records, 1, PROTO_MAX_RECORDS),
    INT(http_timeout, 1, 3600),
    INT(inventory_full_interval, 60, 366 * 86400),
    INT(disk_budget, 1, 1 << 20),
    INT(startup_splay, 0, 86400),
    INT(retry_min, 1, 3600),
    INT(retry_max, 1, 86400),
    {"", "user_ids", CONF_ENUM, offsetof(struct agent_config, user_ids), 0, 0,
     0, user_id_modes},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL},
};

static void
set_defaults(struct agent_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	util_strlcpy(cfg->state_dir, "/var/lib/mutu-agent",
	             sizeof(cfg->state_dir));
	cfg->usage_interval = 15;
	cfg->sync_interval = 300;
	cfg->inventory_interval = 86400;
	cfg->usage_min_uid = 1000;
	cfg->user_ids = USER_IDS_PSEUDONYM;
	cfg->batch_records = PROTO_BATCH_RECORDS;
	cfg->http_timeout = 60;
	cfg->inventory_full_interval = 7 * 86400;
	cfg->disk_budget = 64;
	cfg->startup_splay = 60;
	cfg->retry_min = 5;
	cfg->retry_max = 3600;
}

static int
check(const char *path, const struct agent_config *cfg, char *err,
      size_t errlen)
{
	char host[256];

	if (cfg->server[0] == '\0') {
		snprintf(err, errlen, "%s: 'server' is required", path);
		return -1;
	}
	if (strncmp(cfg->server, "http://", 7) != 0 &&
	    strncmp(cfg->server, "https://", 8) != 0) {
		snprintf(err, errlen, "%s: server: not an http(s) URL: '%s'",
		         path, cfg->server);
		return -1;
	}
	if (strncmp(cfg->server, "http://", 7) == 0 &&
	    (util_url_host(cfg->server, host, sizeof(host)) == -1 ||
	     !util_is_loopback(host))) {
		snprintf(
		    err, errlen,
		    "%s: server: plain http:// is allowed only to a loopback "
		    "address; use https:// ('%s')",
		    path, cfg->server);
		return -1;
	}
	if (!util_valid_insee(cfg->commune)) {
		snprintf(
		    err, errlen,
		    "%s: commune: expected a 5-character INSEE code, got '%s'",
		    path, cfg->commune);
		return -1;
	}
	if (cfg->user_ids == USER_IDS_PSEUDONYM && strlen(cfg->user_key) < 16) {
		snprintf(
		    err, errlen,
		    "%s: user_ids is 'pseudonym' (the default): set user_key "
		    "to a secret of at least 16 characters shared by the "
		    "commune's PCs, or choose user_ids = none",
		    path);
		return -1;
	}
	return 0;
}

int
config_load(const char *path, struct agent_config *cfg, char *err,
            size_t errlen)
{
	set_defaults(cfg);
	if (conf_load(path, agent_keys, cfg, err, errlen) == -1)
		return -1;
	if (check(path, cfg, err, errlen) == -1)
		return -1;
	if ((cfg->enrol_secret[0] || cfg->user_key[0]) &&
	    conf_check_private(path, err, errlen) == -1)
		return -1;
	return 0;
}

static int
owner_only_writes(const char *what, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "%s %s: cannot stat", what, path);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) ||
	    (st.st_uid != 0 && st.st_uid != geteuid())) {
		snprintf(err, errlen,
		         "%s %s: writable by others or owned by another user "
		         "(mode %04o, uid %u); refusing to run",
		         what, path, (unsigned)(st.st_mode & 07777),
		         (unsigned)st.st_uid);
		return -1;
	}
	return 0;
}

int
config_check_files(const char *path, const struct agent_config *cfg, char *err,
                   size_t errlen)
{
	char self[PATH_MAX];
	ssize_t n;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		if (owner_only_writes("binary", self, err, errlen) == -1)
			return -1;
	}
	if (owner_only_writes("configuration", path, err, errlen) == -1)
		return -1;
	if (cfg->ca_file[0] &&
	    owner_only_writes("ca_file", cfg->ca_file, err, errlen) == -1)
		return -1;
	return 0;
}
