/*
 * api: the meaning of mutu-server's HTTP requests (docs/API.md and
 * docs/PROTOCOL.md): enrolment, batch ingest, admin queries, health.
 */
#ifndef MUTU_API_H
#define MUTU_API_H

#include "http.h"
#include "ratelimit.h"
#include "shed.h"
#include "store.h"

struct api {
	struct store *store;          /* borrowed */
	int privacy_k;                /* user counts below it are hidden */
	struct ratelimit *enrol_rate; /* per enrolment secret */
	struct ratelimit *agent_rate; /* per agent token */
	struct shed *shed;            /* batches across all agents */
	const char *crl; /* the CA's CRL (PEM) to publish, or NULL */
};

/* The handlers to give http_start() with a struct api as context. */
extern const struct http_handlers api_handlers;

#endif
