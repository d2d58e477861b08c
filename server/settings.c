#include "settings.h"

#include <string.h>

#include "conftab.h"
#include "util.h"

static const struct conf_key keys[] = {
    CONFTAB_STR(struct settings, database),
    CONFTAB_STR(struct settings, database_admin),
    CONFTAB_STR(struct settings, listen),
    CONFTAB_INT(struct settings, threads, 1, 256),
    CONFTAB_INT(struct settings, timeout, 1, 3600),
    CONFTAB_INT(struct settings, max_connections, 1, 1000000),
    CONFTAB_INT(struct settings, max_connections_per_address, 1, 1000000),
    CONFTAB_INT(struct settings, reserved_connections, 1, 1000000),
    CONFTAB_INT(struct settings, header_timeout, 1, 3600),
    CONFTAB_INT(struct settings, request_timeout, 1, 86400),
    CONFTAB_INT(struct settings, min_body_rate, 1, 1000000000),
    CONFTAB_INT(struct settings, max_body_memory_mb, 1, 1000000),
    CONFTAB_INT(struct settings, auth_failures_per_minute, 0, 1000000),
    CONFTAB_INT(struct settings, min_free_mb, 0, 1000000000),
    CONFTAB_INT(struct settings, retention_days, 1, 3660),
    CONFTAB_INT(struct settings, privacy_k, 1, 100),
    CONFTAB_STR(struct settings, time_zone),
    CONFTAB_INT(struct settings, enrol_per_minute, 0, 1000000),
    CONFTAB_INT(struct settings, requests_per_minute, 0, 1000000),
    CONFTAB_INT(struct settings, batches_per_second, 0, 1000000),
    CONFTAB_INT(struct settings, admin_requests_per_second, 0, 1000000),
    CONFTAB_INT(struct settings, admin_burst, 1, 1000000),
    CONFTAB_INT(struct settings, max_programs_per_day, 0, 1000000),
    CONFTAB_INT(struct settings, max_software, 0, 20000),
    CONFTAB_STR(struct settings, tls_cert),
    CONFTAB_STR(struct settings, tls_key),
    CONFTAB_STR(struct settings, tls_crl),
    CONFTAB_STR(struct settings, metrics_token_file),
    CONFTAB_INT(struct settings, cert_warn_days, 0, 3650),
    CONFTAB_END,
};

void
settings_defaults(struct settings *st)
{
	memset(st, 0, sizeof(*st));
	st->threads = 4;
	st->timeout = 30;
	st->max_connections = 1024;
	st->retention_days = 90;
	st->privacy_k = 3;
	util_strlcpy(st->time_zone, "Europe/Paris", sizeof(st->time_zone));
	st->enrol_per_minute = 60;
	st->requests_per_minute = 120;
	st->batches_per_second = 500;
	st->admin_requests_per_second = 20;
	st->admin_burst = 100;
	st->max_programs_per_day = 2000;
	st->max_software = 10000;
	st->max_connections_per_address = 64;
	st->reserved_connections = 64;
	st->header_timeout = 10;
	st->request_timeout = 120;
	st->min_body_rate = 1024;
	st->max_body_memory_mb = 256;
	st->auth_failures_per_minute = 20;
	st->min_free_mb = 100;
	st->cert_warn_days = 21;
}

int
settings_load(const char *path, struct settings *st, char *err, size_t errlen)
{
	return conf_load(path, keys, st, err, errlen);
}
