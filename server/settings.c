#include "settings.h"

#include <string.h>

#include "conf.h"
#include "util.h"

#define STR(n)                                                                 \
	{                                                                      \
		"", #n, CONF_STR, offsetof(struct settings, n),                \
		    sizeof(((struct settings *)0)->n), 0, 0, NULL              \
	}
#define INT(n, lo, hi)                                                         \
	{                                                                      \
		"", #n, CONF_INT, offsetof(struct settings, n), 0, lo, hi,     \
		    NULL                                                       \
	}

static const struct conf_key keys[] = {
    STR(database),
    STR(database_admin),
    STR(listen),
    INT(threads, 1, 256),
    INT(timeout, 1, 3600),
    INT(max_connections, 1, 1000000),
    INT(retention_days, 1, 3660),
    INT(privacy_k, 1, 100),
    INT(enrol_per_minute, 0, 1000000),
    INT(requests_per_minute, 0, 1000000),
    INT(batches_per_second, 0, 1000000),
    STR(tls_cert),
    STR(tls_key),
    STR(tls_crl),
    {NULL, NULL, 0, 0, 0, 0, 0, NULL},
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
	st->enrol_per_minute = 60;
	st->requests_per_minute = 120;
	st->batches_per_second = 500;
}

int
settings_load(const char *path, struct settings *st, char *err, size_t errlen)
{
	return conf_load(path, keys, st, err, errlen);
}
