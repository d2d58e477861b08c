/*
 * shed: early load shedding of agent batches. Admits up to `rate` batches
 * a second (token bucket, one second of burst); past that, answers 429
 * with a Retry-After that books the agent a later slot, so that a fleet
 * reconnecting at once comes back spread at the rate the server takes. An
 * agent back at its slot is admitted (each agent is refused at most once
 * per backlog, unless its slot was forgotten or it came early).
 * Counts agents that come back before their Retry-After. Per server
 * instance, in memory.
 */
#ifndef MUTU_SHED_H
#define MUTU_SHED_H

struct shed;

struct shed_stats {
	long long admitted, shed, early;
};

/* New shedder admitting rate batches per second; 0 admits everything.
 * NULL on ENOMEM. */
struct shed *shed_new(int rate);
/* Frees it; NULL is a no-op. */
void shed_free(struct shed *s);
/* A batch from agent at now_ms (wall clock): 0 to admit it, else the
 * seconds it must wait. Thread-safe. */
long shed_admit(struct shed *s, const char *agent, long long now_ms);
/* The counters so far. */
void shed_stats(struct shed *s, struct shed_stats *out);

#endif
