/*
 * metrics: what GET /metrics exposes, in the Prometheus text exposition
 * format 0.0.4 (docs/OPERATIONS.md). The counters live in this process's
 * memory from its start (Prometheus's rate() copes with restarts); the
 * gauges of the fleet and the database are read at each scrape by the
 * caller and written with metrics_gauge(). Every label has a bounded set
 * of values: endpoints from the route table, statuses, record types,
 * outcomes, communes; never an agent id. Thread-safe.
 */
#ifndef MUTU_METRICS_H
#define MUTU_METRICS_H

#include <stddef.h>

#include "buf.h"
#include "store.h"

struct metrics;

/* Events counted once each. */
enum metrics_event {
	MET_ENROL_OK,      /* an agent enrolled */
	MET_ENROL_REFUSED, /* an enrolment refused (secret, identity) */
	MET_LIMIT_ENROL,   /* 429: enrolments per secret */
	MET_LIMIT_AGENT,   /* 429: requests per agent */
	MET_LIMIT_AUTH,    /* 429: failed credentials per address */
	MET_LIMIT_ADMIN,   /* 429: admin requests per token */
	MET_SHED,          /* 429: batches over the server's rate */
	MET_NEVENTS
};

/* What became of a batch. */
enum metrics_batch {
	MET_BATCH_STORED,      /* stored (or recognised as stored before) */
	MET_BATCH_REFUSED,     /* refused: malformed, out of range, too big */
	MET_BATCH_CONFLICT,    /* an inventory delta without its base */
	MET_BATCH_UNAVAILABLE, /* the database failed: the agent retries */
	MET_NBATCH
};

/* New counters for the n endpoints named (copied); NULL on ENOMEM. */
struct metrics *metrics_new(const char *const *endpoints, size_t n);
/* Frees them; NULL is a no-op. */
void metrics_free(struct metrics *m);
/* An answer with status to endpoint i (-1: no route matched). */
void metrics_request(struct metrics *m, int endpoint, int status);
void metrics_event(struct metrics *m, enum metrics_event e);
/* A batch's outcome and how long it took (seconds); b (its records by
 * type) and res (duplicates, folded) when known, else NULL. */
void metrics_batch(struct metrics *m, enum metrics_batch outcome,
                   const struct store_batch *b,
                   const struct store_ingest_result *res, double seconds);
/* Appends every counter's family (HELP, TYPE, samples) to out. 0, or -1
 * (out's cap or memory). */
int metrics_write(struct metrics *m, struct buf *out);
/* Appends a gauge family's HELP and TYPE lines, then its samples with
 * metrics_sample(). */
int metrics_family(struct buf *out, const char *name, const char *type,
                   const char *help);
/* One sample: name, then label (NULL: none) = value escaped, and a
 * second label pair when label2 is not NULL. */
int metrics_sample(struct buf *out, const char *name, const char *label,
                   const char *value, const char *label2, const char *value2,
                   double v);

#endif
