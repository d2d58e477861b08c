/*
 * ratelimit: fixed-window request counting per key (an enrolment secret,
 * an agent), in memory. Per server instance: several instances behind a
 * load balancer each count their own share.
 */
#ifndef MUTU_RATELIMIT_H
#define MUTU_RATELIMIT_H

struct ratelimit;

/* Allows `limit` hits per key in each window of `window_s` seconds.
 * limit 0 disables it. NULL on ENOMEM. */
struct ratelimit *ratelimit_new(int limit, int window_s);
/* Frees it; NULL is a no-op. */
void ratelimit_free(struct ratelimit *rl);
/* Counts a hit for key at time now: 0 when allowed, else the seconds
 * to wait before the next window. Thread-safe. */
long ratelimit_hit(struct ratelimit *rl, const char *key, long long now);
/* Counts a hit for key at time now and returns the window's count (0
 * when the limit is disabled). Thread-safe. */
int ratelimit_add(struct ratelimit *rl, const char *key, long long now);
/* Without counting: the seconds to wait when key has used up its hits of
 * the window (limit reached), else 0. Thread-safe. */
long ratelimit_peek(struct ratelimit *rl, const char *key, long long now);
/* The limit it was made with. */
int ratelimit_limit(const struct ratelimit *rl);

#endif
