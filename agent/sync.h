/*
 * sync: delivers the queue to the server. Enrols first if the agent has no
 * token, then seals batches (gzip JSON, bounded in records and bytes) and
 * POSTs them; a batch leaves the queue only when the server's answer names
 * it and acknowledges its last sequence number (docs/PROTOCOL.md).
 */
#ifndef MUTU_SYNC_H
#define MUTU_SYNC_H

#include <signal.h>

#include "config.h"
#include "queue.h"

struct sync;

struct sync_result {
	int batches;           /* batches acknowledged in this run */
	long long records;     /* records acknowledged */
	long retry_after;      /* seconds the server asked to wait, or -1 */
	int status;            /* last HTTP status, 0 if none */
	int need_inventory;    /* the server lacks our inventory baseline: the
	                          caller queues a full inventory and syncs again */
	long long quarantined; /* records set aside as refused by the server */
};

/* The longest error text kept for "mutu-agent status", with its NUL. */
#define SYNC_ERROR_MAX 256

/* How delivery went, as sync_run() keeps it in the queue's meta table for
 * "mutu-agent status": one small transaction per attempt that reached
 * for the server or failed (not per record, nor for an attempt that found
 * nothing to send). Times are Unix seconds on the agent's clock, 0 for
 * never. */
struct sync_state {
	long long ok_at;            /* last attempt the server took: batches
	                               acknowledged, or nothing left to send */
	long long failing_since;    /* first failed attempt after the last one
	                               that succeeded; 0 if that one succeeded */
	long long error_at;         /* last failed attempt, 0: none ever */
	char error[SYNC_ERROR_MAX]; /* its reason, "" if none; one line of
	                               UTF-8 holding no URL's user:password */
};

/* How long a refusal that needs an administrator (403, or 401 again
 * after a new enrolment) pauses delivery, in seconds. */
#define SYNC_PAUSE 3600

/* New syncer. cfg and q are borrowed; agent_id and hostname are copied.
 * The token lives in STATE_DIR/token (mode 0600). NULL on failure. */
struct sync *sync_new(const struct agent_config *cfg, struct queue *q,
                      const char *agent_id, const char *hostname);
/* Makes sync_run() stop between batches, and abandon a transfer, as soon
 * as *stop becomes non-zero (a SIGTERM); stop is borrowed. */
void sync_set_stop(struct sync *s, const volatile sig_atomic_t *stop);
/* Calls tick(arg) about once a second during a request (see httpc.h). */
void sync_set_tick(struct sync *s, void (*tick)(void *), void *arg);
/* Frees it; NULL is a no-op. */
void sync_free(struct sync *s);
/* Trades the enrolment secret for a new agent token now, replacing any
 * token held (STATE_DIR/token, mode 0600). The request proves the
 * identity it enrols with the identity key (STATE_DIR/agent-key) and the
 * token held, if any: the server refuses (403) to re-enrol a known
 * agent_id without one of them. Returns 0, or -1 (logged). */
int sync_enrol(struct sync *s, struct sync_result *r);
/* Writes the identity key and the token held back into the state
 * directory (after it was removed under the running agent). Returns 0,
 * or -1 with errno. */
int sync_save_identity(struct sync *s);
/* Delivers batches until the queue is empty (returns 0) or a delivery
 * fails (returns -1; the data stays queued). Each answer is handled as the
 * table in docs/PROTOCOL.md says: a refused record is quarantined and
 * reported, a batch too large is split, and so on. */
int sync_run(struct sync *s, struct sync_result *r);
/* Reads what the last delivery attempts left in q (which may be opened
 * read-only) into st. Returns 0, or -1. */
int sync_state_load(struct queue *q, struct sync_state *st);
/* Copies the error text src into dst (n bytes) as status shows it: on one
 * line (control characters blanked), the user:password@ of any URL left
 * out, bytes that are not UTF-8 replaced by '?', cut at a character's
 * boundary. Pure function. */
void sync_clean_error(const char *src, char *dst, size_t n);
/* Delay in seconds before retry number `attempt` (1, 2, ...): exponential
 * from base (5 s by default), capped at `cap`, with full jitter from the
 * random value rnd in [0, 1), and never less than the server's retry_after
 * (-1 if none). */
long sync_backoff(int attempt, long base, long cap, long retry_after,
                  double rnd);

#endif
