/*
 * config: the agent's configuration file (mutu-agent.conf).
 */
#ifndef MUTU_AGENT_CONFIG_H
#define MUTU_AGENT_CONFIG_H

#include <limits.h>
#include <stddef.h>

enum user_ids {
	USER_IDS_PSEUDONYM, /* HMAC-SHA256(user_key, user name): the default */
	USER_IDS_NONE,      /* no user sent at all */
	USER_IDS_PLAIN,     /* the user name in clear: must be chosen */
};

struct agent_config {
	char server[512];       /* base URL, e.g. https://mutu.example:8443 */
	char commune[16];       /* INSEE code of the commune */
	char enrol_secret[128]; /* the commune's enrolment secret */
	char state_dir[PATH_MAX];
	char ca_file[PATH_MAX];      /* CA to trust instead of the system's */
	char user_key[256];          /* key for user pseudonyms */
	char proxy[512];             /* proxy URL, "direct", or "" for the
	                                system's (environment, WinHTTP) */
	int usage_interval;          /* seconds between /proc samples */
	int sync_interval;           /* seconds between syncs */
	int inventory_interval;      /* seconds between full inventories */
	int usage_min_uid;           /* ignore processes of lower uids */
	char services[1024];         /* programs metered as services
	                                (usage.h), comma-separated */
	int user_ids;                /* enum user_ids */
	int batch_records;           /* records per batch at most */
	int http_timeout;            /* seconds for one HTTP request */
	int inventory_full_interval; /* seconds between full (not delta)
	                                inventories */
	int disk_budget;             /* MiB for the queue (database + WAL) */
	int startup_splay;           /* first sync within this many seconds */
	int retry_min; /* seconds: ceiling of the first retry's delay */
	int retry_max; /* seconds: longest delay between retries */
};

/* Sets defaults, then reads path. Checks required keys and the file's
 * mode (it holds secrets). Returns 0, or -1 with the reason in err. */
int config_load(const char *path, struct agent_config *cfg, char *err,
                size_t errlen);

/* Refuses files others could change: the agent's own binary, the
 * configuration and the CA file must be writable by their owner only,
 * and owned by root or by the user running the agent (on Windows: not
 * writable by ordinary users; see service_check_file()). Returns 0, or -1
 * with the file and the problem in err. */
int config_check_files(const char *path, const struct agent_config *cfg,
                       char *err, size_t errlen);

#endif
