#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "conftab.h"
#include "httpc.h"
#include "proto.h"
#include "service.h"
#include "usage.h"
#include "util.h"

static const char *const user_id_modes[] = {"pseudonym", "none", "plain", NULL};

static const struct conf_key agent_keys[] = {
    CONFTAB_STR(struct agent_config, server),
    CONFTAB_STR(struct agent_config, commune),
    CONFTAB_STR(struct agent_config, enrol_secret),
    CONFTAB_STR(struct agent_config, state_dir),
    CONFTAB_STR(struct agent_config, ca_file),
    CONFTAB_STR(struct agent_config, user_key),
    CONFTAB_STR(struct agent_config, proxy),
    CONFTAB_INT(struct agent_config, usage_interval, 1, 3600),
    CONFTAB_INT(struct agent_config, sync_interval, 1, 86400),
    CONFTAB_INT(struct agent_config, inventory_interval, 60, 30 * 86400),
    CONFTAB_INT(struct agent_config, usage_min_uid, 0, 1 << 30),
    CONFTAB_STR(struct agent_config, services),
    CONFTAB_INT(struct agent_config, batch_records, 1, PROTO_MAX_RECORDS),
    CONFTAB_INT(struct agent_config, http_timeout, 1, 3600),
    CONFTAB_INT(struct agent_config, inventory_full_interval, 60, 366 * 86400),
    CONFTAB_INT(struct agent_config, disk_budget, 1, 1 << 20),
    CONFTAB_INT(struct agent_config, startup_splay, 0, 86400),
    CONFTAB_INT(struct agent_config, retry_min, 1, 3600),
    CONFTAB_INT(struct agent_config, retry_max, 1, 86400),
    CONFTAB_ENUM(struct agent_config, user_ids, user_id_modes),
    CONFTAB_END,
};

static void
set_defaults(struct agent_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	util_strlcpy(cfg->state_dir, service_default_state_dir(),
	             sizeof(cfg->state_dir));
	cfg->usage_interval = 15;
	cfg->sync_interval = 300;
	cfg->inventory_interval = 86400;
	cfg->usage_min_uid = 1000;
	util_strlcpy(cfg->services, USAGE_SERVICES_DEFAULT,
	             sizeof(cfg->services));
	cfg->user_ids = USER_IDS_PSEUDONYM;
	cfg->batch_records = PROTO_BATCH_RECORDS;
	cfg->http_timeout = 60;
	cfg->inventory_full_interval = 7 * 86400;
	cfg->disk_budget = 64;
	cfg->startup_splay = 60;
	cfg->retry_min = 5;
	cfg->retry_max = 3600;
}

/* proxy: "direct", or a URL libcurl takes ("http://host:port"). */
static int
valid_proxy(const char *p)
{
	static const char *const schemes[] = {"http://", "https://",
	                                      "socks5://", "socks5h://", NULL};
	int i;

	if (p[0] == '\0' || strcmp(p, "direct") == 0)
		return 1;
	for (i = 0; schemes[i]; i++)
		if (strncmp(p, schemes[i], strlen(schemes[i])) == 0)
			return p[strlen(schemes[i])] != '\0' &&
			       strpbrk(p, " \t") == NULL;
	return 0;
}

static int
check(const char *path, const struct agent_config *cfg, char *err,
      size_t errlen)
{
	char why[1024];
	int loopback;

	if (cfg->server[0] == '\0') {
		snprintf(err, errlen, "%s: 'server' is required", path);
		return -1;
	}
	/* The host libcurl will connect to, not a prefix of the text:
	 * http://127.0.0.1@evil/ goes to evil (issue 16, finding 7). */
	if (httpc_url_check(cfg->server, &loopback, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: server: %s", path, why);
		return -1;
	}
	if (!util_valid_insee(cfg->commune)) {
		snprintf(
		    err, errlen,
		    "%s: commune: expected a 5-character INSEE code, got '%s'",
		    path, cfg->commune);
		return -1;
	}
	if (!valid_proxy(cfg->proxy)) {
		snprintf(err, errlen,
		         "%s: proxy: expected 'direct' or an http://, "
		         "https://, socks5:// or socks5h:// URL, got '%s'",
		         path, cfg->proxy);
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

int
config_check_files(const char *path, const struct agent_config *cfg, char *err,
                   size_t errlen)
{
	char self[PATH_MAX];

	if (service_self_path(self, sizeof(self)) == 0 &&
	    service_check_file("binary", self, err, errlen) == -1)
		return -1;
	if (service_check_file("configuration", path, err, errlen) == -1)
		return -1;
	if (cfg->ca_file[0] &&
	    service_check_file("ca_file", cfg->ca_file, err, errlen) == -1)
		return -1;
	return 0;
}
