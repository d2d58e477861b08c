/*
 * settings: mutu-server's configuration file (mutu-server.conf(5)).
 * Command-line options override it.
 */
#ifndef MUTU_SETTINGS_H
#define MUTU_SETTINGS_H

#include <limits.h>
#include <stddef.h>

struct settings {
	char database[PATH_MAX]; /* SQLite file path or postgresql:// URI */
	char database_admin[PATH_MAX]; /* PostgreSQL: the schema owner's URI */
	char listen[256];              /* ADDR:PORT */
	int threads;                   /* HTTP worker threads */
	int timeout;                   /* idle connection timeout, seconds */
	int max_connections;
	int max_connections_per_address; /* open at once from one address */
	int reserved_connections;        /* kept for /healthz and admins */
	int header_timeout;              /* s from accept to complete headers */
	int request_timeout;             /* s from accept to complete request */
	int min_body_rate;               /* bytes/s a body must keep up */
	int max_body_memory_mb;          /* MiB of bodies held at once */
	int auth_failures_per_minute;    /* per address, then 429 */
	int min_free_mb;      /* /healthz: 503 below this free disk space */
	int retention_days;   /* raw usage kept this long (summaries stay) */
	int privacy_k;        /* user counts below k hidden outside a commune */
	char time_zone[65];   /* the zone reports count days in */
	int enrol_per_minute; /* enrolments per secret per minute */
	int requests_per_minute; /* requests per agent per minute */
	int batches_per_second;  /* batches admitted per second, then 429 */
	int admin_requests_per_second; /* per admin token, then 429 */
	int admin_burst;               /* admin requests at once per token */
	int max_programs_per_day;      /* usage summaries per machine and day */
	int max_software;              /* software entries kept per inventory */
	char tls_cert[PATH_MAX];       /* PEM certificate (chain) file */
	char tls_key[PATH_MAX];        /* PEM private key file */
	char tls_crl[PATH_MAX];        /* PEM CRL to publish at /crl.pem */
	char metrics_token_file[PATH_MAX]; /* GET /metrics's token, or off */
	int cert_warn_days; /* /healthz: 503 when the certificate is closer */
};

/* Sets the defaults (no database, no listen address, 4 threads, 30 s,
 * 1024 connections, 90 days of raw usage, k = 3). */
void settings_defaults(struct settings *st);
/* Reads path over st. Returns 0, or -1 with "file:line: problem" in err. */
int settings_load(const char *path, struct settings *st, char *err,
                  size_t errlen);

#endif
