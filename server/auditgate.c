#include "auditgate.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

#define SLOTS     1024  /* tokens tracked at once, by id */
#define WINDOW_MS 60000 /* refusals collapsed per token and minute */
#define PENDING   16    /* counted entries written per flush at most */

struct slot {
	long long token; /* admin token id; 0: free */
	/* the token bucket */
	double tokens;
	long long filled_ms;
	/* the current minute: when it began, what was written in full and
	 * what was only counted since */
	long long window_ms;
	int wrote_refused, wrote_limited;
	long long refused, limited;
	char commune[STORE_COMMUNE_MAX]; /* of the last refusal counted */
	char scope[STORE_COMMUNE_MAX];   /* the token's own commune */
	char last[160];                  /* the last request counted */
};

/* A minute's counts to write, copied out of the lock. */
struct pending {
	long long token, refused, limited, from_ms, to_ms;
	char commune[STORE_COMMUNE_MAX], last[160];
};

struct auditgate {
	pthread_mutex_t lock;
	double rate, burst;
	long long flushed_ms;
	struct slot slots[SLOTS];
};

struct auditgate *
auditgate_new(int per_second, int burst)
{
	struct auditgate *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	pthread_mutex_init(&g->lock, NULL);
	g->rate = per_second;
	g->burst = burst > 0 ? burst : 1;
	return g;
}

void
auditgate_free(struct auditgate *g)
{
	if (g == NULL)
		return;
	pthread_mutex_destroy(&g->lock);
	free(g);
}

/* Moves a slot's counts into p (when it has any) and starts its next
 * minute. Under the lock. 1 when p was filled. */
static int
take(struct slot *sl, long long now_ms, struct pending *p)
{
	int any = sl->refused > 0 || sl->limited > 0;

	if (any) {
		p->token = sl->token;
		p->refused = sl->refused;
		p->limited = sl->limited;
		p->from_ms = sl->window_ms;
		p->to_ms = now_ms;
		util_strlcpy(p->commune, sl->refused ? sl->commune : sl->scope,
		             sizeof(p->commune));
		util_strlcpy(p->last, sl->last, sizeof(p->last));
	}
	sl->window_ms = now_ms;
	sl->wrote_refused = sl->wrote_limited = 0;
	sl->refused = sl->limited = 0;
	return any;
}

static void
write_pending(struct store *s, const struct pending *p)
{
	char detail[512], from[32], to[32];

	util_datetime((time_t)(p->from_ms / 1000), from, sizeof(from));
	util_datetime((time_t)(p->to_ms / 1000), to, sizeof(to));
	snprintf(detail, sizeof(detail),
	         "%lld more refused requests and %lld more over the rate "
	         "limit from admin token %lld between %s and %s UTC, "
	         "counted, not written one by one (last: %s)",
	         p->refused, p->limited, p->token, from, to, p->last);
	store_audit(s, p->token, p->commune,
	            p->refused ? "refused" : "rate-limited", detail);
}

/* The token's slot, its minute rolled over when it ended (its counts
 * then in *p, *any set). A slot held by another token is handed over,
 * its counts written too. Under the lock. */
static struct slot *
slot_of(struct auditgate *g, const struct store_scope *sc, long long now_ms,
        struct pending *p, int *any)
{
	struct slot *sl = &g->slots[(unsigned long long)sc->token_id % SLOTS];

	*any = 0;
	if (sl->token != sc->token_id) {
		if (sl->token != 0)
			*any = take(sl, now_ms, p);
		memset(sl, 0, sizeof(*sl));
		sl->token = sc->token_id;
		sl->tokens = g->burst;
		sl->filled_ms = now_ms;
		sl->window_ms = now_ms;
		util_strlcpy(sl->scope, sc->commune, sizeof(sl->scope));
	} else if (now_ms - sl->window_ms >= WINDOW_MS ||
	           now_ms < sl->window_ms)
		*any = take(sl, now_ms, p);
	return sl;
}

/* Keeps what of a request a count entry names: its start, whole. */
static void
last_of(struct slot *sl, const char *what)
{
	size_t n = strlen(what);

	if (n >= sizeof(sl->last))
		n = sizeof(sl->last) - 1;
	/* Not inside a UTF-8 sequence: the audit log replaces the rest. */
	while (n > 0 && ((unsigned char)what[n] & 0xc0) == 0x80)
		n--;
	memcpy(sl->last, what, n);
	sl->last[n] = '\0';
}

long
auditgate_admit(struct auditgate *g, struct store *s,
                const struct store_scope *sc, const char *what,
                long long now_ms)
{
	struct pending p;
	struct slot *sl;
	double missing;
	int any, first = 0;
	char detail[400];
	long wait = 0;

	if (g == NULL)
		return 0;
	auditgate_flush(g, s, now_ms, 0);
	if (g->rate <= 0)
		return 0;
	pthread_mutex_lock(&g->lock);
	sl = slot_of(g, sc, now_ms, &p, &any);
	if (now_ms > sl->filled_ms)
		sl->tokens += (double)(now_ms - sl->filled_ms) * g->rate / 1000;
	if (sl->tokens > g->burst)
		sl->tokens = g->burst;
	sl->filled_ms = now_ms;
	if (sl->tokens >= 1)
		sl->tokens -= 1;
	else {
		missing = (1 - sl->tokens) / g->rate; /* seconds */
		wait = (long)missing + 1;
		if (!sl->wrote_limited)
			first = sl->wrote_limited = 1;
		else {
			sl->limited++;
			last_of(sl, what);
		}
	}
	pthread_mutex_unlock(&g->lock);
	if (any)
		write_pending(s, &p);
	if (first) {
		snprintf(detail, sizeof(detail),
		         "%.200s: over %.0f requests a second (burst %.0f) for "
		         "this token, answered 429; more within the minute are "
		         "counted in one entry",
		         what, g->rate, g->burst);
		store_audit(s, sc->token_id, sc->commune, "rate-limited",
		            detail);
	}
	return wait;
}

void
auditgate_refused(struct auditgate *g, struct store *s,
                  const struct store_scope *sc, const char *commune,
                  const char *what, long long now_ms)
{
	struct pending p;
	struct slot *sl;
	int any, first = 0;

	if (commune == NULL)
		commune = sc->commune;
	if (g == NULL) {
		store_audit(s, sc->token_id, commune, "refused", what);
		return;
	}
	pthread_mutex_lock(&g->lock);
	sl = slot_of(g, sc, now_ms, &p, &any);
	if (!sl->wrote_refused)
		first = sl->wrote_refused = 1;
	else {
		sl->refused++;
		last_of(sl, what);
		/* The commune cut to a code's size (the audit log replaces
		 * a character cut in two). */
		snprintf(sl->commune, sizeof(sl->commune), "%.*s",
		         (int)sizeof(sl->commune) - 1, commune);
	}
	pthread_mutex_unlock(&g->lock);
	if (any)
		write_pending(s, &p);
	if (first)
		store_audit(s, sc->token_id, commune, "refused", what);
}

void
auditgate_flush(struct auditgate *g, struct store *s, long long now_ms,
                int force)
{
	struct pending p[PENDING];
	struct slot *sl;
	int n = 0, i;

	if (g == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	/* Without force, at most once a second: each request calls it. */
	if (!force && now_ms - g->flushed_ms < 1000 &&
	    now_ms >= g->flushed_ms) {
		pthread_mutex_unlock(&g->lock);
		return;
	}
	g->flushed_ms = now_ms;
	for (i = 0; i < SLOTS && n < PENDING; i++) {
		sl = &g->slots[i];
		if (sl->token == 0 || (sl->refused == 0 && sl->limited == 0))
			continue;
		if (force || now_ms - sl->window_ms >= WINDOW_MS ||
		    now_ms < sl->window_ms)
			n += take(sl, now_ms, &p[n]);
	}
	pthread_mutex_unlock(&g->lock);
	for (i = 0; i < n; i++)
		write_pending(s, &p[i]);
}
