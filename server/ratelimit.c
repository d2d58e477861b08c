#include "ratelimit.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "util.h"

#define SLOTS 4096 /* keys tracked at once; a collision resets a slot */

struct slot {
	char key[72];
	long long window;
	int count;
};

struct ratelimit {
	pthread_mutex_t lock;
	int limit, window_s;
	struct slot slots[SLOTS];
};

struct ratelimit *
ratelimit_new(int limit, int window_s)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	if (rl == NULL)
		return NULL;
	pthread_mutex_init(&rl->lock, NULL);
	rl->limit = limit;
	rl->window_s = window_s > 0 ? window_s : 60;
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

/* key's slot for the current window, reset if it held another key or
 * an older window. Under the lock. */
static struct slot *
slot_of(struct ratelimit *rl, const char *key, long long window)
{
	struct slot *s = &rl->slots[hash_fnv32(key) % SLOTS];

	if (strcmp(s->key, key) != 0 || s->window != window) {
		util_strlcpy(s->key, key, sizeof(s->key));
		s->window = window;
		s->count = 0;
	}
	return s;
}

long
ratelimit_hit(struct ratelimit *rl, const char *key, long long now)
{
	long long window = now / rl->window_s;
	long wait = 0;

	if (rl->limit <= 0)
		return 0;
	pthread_mutex_lock(&rl->lock);
	if (++slot_of(rl, key, window)->count > rl->limit)
		wait = (long)((window + 1) * rl->window_s - now);
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

int
ratelimit_add(struct ratelimit *rl, const char *key, long long now)
{
	int n;

	if (rl->limit <= 0)
		return 0;
	pthread_mutex_lock(&rl->lock);
	n = ++slot_of(rl, key, now / rl->window_s)->count;
	pthread_mutex_unlock(&rl->lock);
	return n;
}

long
ratelimit_peek(struct ratelimit *rl, const char *key, long long now)
{
	long long window = now / rl->window_s;
	long wait = 0;

	if (rl->limit <= 0)
		return 0;
	pthread_mutex_lock(&rl->lock);
	if (slot_of(rl, key, window)->count >= rl->limit)
		wait = (long)((window + 1) * rl->window_s - now);
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

int
ratelimit_limit(const struct ratelimit *rl)
{
	return rl->limit;
}
