/*
 * auditgate: what one admin token may cost the server and its audit log
 * (docs/SECURITY.md, "Audit log flooding"). A token bucket per admin
 * token (so many requests a second, with a burst), answered 429 with
 * Retry-After beyond it; and refusals collapsed: in each minute of a
 * token, its first refusal and its first request over the rate are
 * audited in full, the others only counted, and once the minute is over
 * one entry gives the counts. In memory, per server instance.
 */
#ifndef MUTU_AUDITGATE_H
#define MUTU_AUDITGATE_H

#include "store.h"

struct auditgate;

/* per_second requests a second per token, burst at once; per_second 0
 * disables the limit (refusals are still collapsed). NULL on ENOMEM. */
struct auditgate *auditgate_new(int per_second, int burst);
/* Frees it; NULL is a no-op (call auditgate_flush() first). */
void auditgate_free(struct auditgate *g);
/* Takes a request of the token sc->token_id at now_ms (what: "GET
 * /path"): 0 when admitted, else the seconds to wait before the next one
 * is; the first refused of a minute is audited. Also writes, at most once
 * a second, the counts of minutes that ended. g NULL admits all. */
long auditgate_admit(struct auditgate *g, struct store *s,
                     const struct store_scope *sc, const char *what,
                     long long now_ms);
/* Audits a refusal (action "refused") of the token sc->token_id about
 * commune: in full if it is the token's first of the minute, else only
 * counted. g NULL writes each one. */
void auditgate_refused(struct auditgate *g, struct store *s,
                       const struct store_scope *sc, const char *commune,
                       const char *what, long long now_ms);
/* Writes one entry per token whose minute ended with refusals counted,
 * at most once a second (with force, every token's, minute over or not,
 * at once: at stop). */
void auditgate_flush(struct auditgate *g, struct store *s, long long now_ms,
                     int force);

#endif
