/*
 * status: what "mutu-agent status" tells a person or a monitoring check
 * (docs/OPERATIONS.md): the records waiting in the queue, the last
 * delivery and the last error as sync keeps them (struct sync_state), the
 * queue's disk use against its budget, and whether delivery has failed
 * for longer than a threshold. It reads the queue opened read-only, so
 * that it may run beside the agent's service and changes nothing.
 */
#ifndef MUTU_AGENT_STATUS_H
#define MUTU_AGENT_STATUS_H

#include <stddef.h>
#include <stdio.h>

#include "queue.h"
#include "sync.h"

/* --max-age by default: records may wait a day without a delivery. */
#define STATUS_MAX_AGE_DEFAULT (24 * 3600LL)

/* What status reports, read at one time; filled by status_read(), or by
 * the caller (the tests of the verdict). Times are Unix seconds. */
struct status {
	long long now;     /* when it was read */
	long long max_age; /* seconds records may wait without a delivery */
	struct queue_stats queue;
	struct sync_state sync;
	long long disk_bytes;  /* the queue's database and WAL */
	long long disk_budget; /* bytes, from the configuration */
};

/* Reads the queue at path (read-only) into st, with max_age and budget
 * (bytes) as given. Returns 0, or -1 with the reason in err. */
int status_read(const char *path, long long max_age, long long budget,
                struct status *st, char *err, size_t errlen);
/* Since when records have waited without a delivery: the later of the
 * last delivery and the first waiting record's creation; 0 when nothing
 * waits. A record is never older than the last delivery that could have
 * taken it, whatever its own time says. */
long long status_waiting_since(const struct status *st);
/* Whether delivery is failing for a monitoring check: records wait, and
 * have waited without a delivery for longer than max_age. An agent with
 * nothing queued is never failing, even one that never delivered. */
int status_failing(const struct status *st);
/* Parses the value of --max-age: hours, decimals allowed ("0.5"), from 0
 * to 87600 (ten years), into seconds. Returns 0, or -1. */
int status_parse_hours(const char *s, long long *secs);
/* Writes secs as a person reads a duration ("40 s", "2 h 5 min",
 * "3 d 4 h") into out of n bytes. */
void status_duration(long long secs, char *out, size_t n);
/* Prints st to fp as "key: value" lines, the first one the verdict, or
 * with json as one JSON object with the same keys. No secret is in st.
 * Returns 0, or -1. */
int status_print(FILE *fp, const struct status *st, int json);

#endif
