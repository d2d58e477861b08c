/*
 * api: the meaning of mutu-server's HTTP requests (docs/API.md and
 * docs/PROTOCOL.md): enrolment, batch ingest, admin queries, health.
 */
#ifndef MUTU_API_H
#define MUTU_API_H

#include <pthread.h>

#include "auditgate.h"
#include "http.h"
#include "metrics.h"
#include "ratelimit.h"
#include "shed.h"
#include "store.h"

struct api {
	struct store *store;            /* borrowed */
	int privacy_k;                  /* user counts below it are hidden */
	struct ratelimit *enrol_rate;   /* per enrolment secret */
	struct ratelimit *agent_rate;   /* per agent token */
	struct shed *shed;              /* batches across all agents */
	int max_day_keys, max_software; /* store_batch's bounds (0: none) */
	const char *crl; /* the CA's CRL (PEM) to publish, or NULL */
	struct ratelimit *auth_fail;  /* failed credentials per address */
	struct ratelimit *auth_audit; /* their audit entries, all addresses */
	int min_free_mb;     /* /healthz: free space the database needs */
	const char *db_path; /* SQLite: the file (its directory's space) */
	pthread_mutex_t health_lock; /* the last /healthz check: */
	long long health_at;         /* when (ms), 0: never */
	int health_ok;
	char health_why[512];
	struct auditgate *audit_gate; /* admin rate, refusals collapsed */
	struct metrics *metrics;      /* GET /metrics's counters */
	char metrics_hash[65];  /* SHA-256 hex of the metrics token ("": off) */
	long long started;      /* Unix time the server started */
	long long cert_expires; /* the certificate's notAfter, 0: no TLS */
	int cert_warn_days;     /* /healthz: 503 this close to it (0: never) */
};

/* The counters of GET /metrics, one endpoint label per route ("GET
 * /api/v1/licences", "DELETE /api/v1/agents/{id}"); NULL on ENOMEM.
 * metrics_free() it. */
struct metrics *api_metrics_new(void);

/* The handlers to give http_start() with a struct api as context. */
extern const struct http_handlers api_handlers;

#endif
