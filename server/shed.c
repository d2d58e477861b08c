#include "shed.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "util.h"

#define SLOTS 8192 /* agents remembered; a collision forgets one */

struct promise {
	char agent[40];
	long long not_before; /* ms */
};

struct shed {
	pthread_mutex_t lock;
	double rate;         /* batches per second */
	double tokens;       /* admissions available now */
	long long refilled;  /* ms of the last refill */
	long long next_slot; /* ms of the next slot to book */
	struct shed_stats st;
	struct promise p[SLOTS];
};

struct shed *
shed_new(int rate)
{
	struct shed *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->rate = rate;
	s->tokens = rate;
	return s;
}

void
shed_free(struct shed *s)
{
	if (s == NULL)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Books the agent the next free slot; returns the wait in seconds. */
static long
book(struct shed *s, struct promise *p, const char *agent, long long now)
{
	long long wait;

	if (s->next_slot < now + 1000)
		s->next_slot = now + 1000;
	s->next_slot += (long long)(1000 / s->rate);
	wait = (s->next_slot - now + 999) / 1000;
	util_strlcpy(p->agent, agent, sizeof(p->agent));
	p->not_before = now + wait * 1000;
	s->st.shed++;
	return (long)wait;
}

long
shed_admit(struct shed *s, const char *agent, long long now)
{
	struct promise *p = &s->p[hash_fnv32(agent) % SLOTS];
	long wait = 0;

	if (s->rate <= 0)
		return 0;
	pthread_mutex_lock(&s->lock);
	if (strcmp(p->agent, agent) == 0 && now < p->not_before - 1000) {
		s->st.early++;      /* one second of grace for clock rounding */
		p->agent[0] = '\0'; /* an early agent loses its slot */
	}
	s->tokens += (now - s->refilled) * s->rate / 1000.0;
	if (s->tokens > s->rate)
		s->tokens = s->rate;
	s->refilled = now;
	/* An agent back at its booked slot is admitted even without a
	 * token: the token is then taken from newcomers, keeping the rate. */
	if ((strcmp(p->agent, agent) == 0 && now >= p->not_before - 1000) ||
	    s->tokens >= 1) {
		s->tokens -= 1;
		s->st.admitted++;
		p->agent[0] = '\0';
	} else
		wait = book(s, p, agent, now);
	pthread_mutex_unlock(&s->lock);
	return wait;
}

void
shed_stats(struct shed *s, struct shed_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->st;
	pthread_mutex_unlock(&s->lock);
}
