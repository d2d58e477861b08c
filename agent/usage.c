#include "usage.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "crypto.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define PERSIST_EVERY 300 /* seconds between saves of unchanged sessions */

struct session {
	char *exe;
	unsigned uid;
	long long start;     /* start of the part not yet recorded */
	long long last_seen; /* last sample that saw a process of it */
	int seen;            /* seen in the current sample */
};

struct owner {
	char *exe;
	char *package; /* NULL: no package owns it */
};

struct usage {
	struct collect *collect;
	struct queue *queue;
	unsigned min_uid;
	int user_ids;
	char *user_key;
	struct session *s; /* sorted by (exe, uid) */
	size_t n, cap;
	struct owner *own; /* sorted by exe: cache of package owners */
	size_t nown, capown;
	long long now, persisted;
	int dirty;
};

static int
sess_cmp(const char *exe, unsigned uid, const struct session *s)
{
	int c = strcmp(exe, s->exe);

	if (c != 0)
		return c;
	return uid < s->uid ? -1 : uid > s->uid;
}

/* Binary search; returns the index of the match or of the insertion point,
 * with *found set. */
static size_t
sess_find(const struct usage *u, const char *exe, unsigned uid, int *found)
{
	size_t lo = 0, hi = u->n, mid;
	int c;

	*found = 0;
	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = sess_cmp(exe, uid, &u->s[mid]);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static struct session *
sess_insert(struct usage *u, size_t at, const char *exe, unsigned uid)
{
	struct session *p;
	char *dup;

	if (u->n == u->cap) {
		p = realloc(u->s, (u->cap ? u->cap * 2 : 64) * sizeof(*p));
		if (p == NULL)
			return NULL;
		u->s = p;
		u->cap = u->cap ? u->cap * 2 : 64;
	}
	if ((dup = strdup(exe)) == NULL)
		return NULL;
	memmove(&u->s[at + 1], &u->s[at], (u->n - at) * sizeof(*u->s));
	u->n++;
	memset(&u->s[at], 0, sizeof(*u->s));
	u->s[at].exe = dup;
	u->s[at].uid = uid;
	u->dirty = 1;
	return &u->s[at];
}

static void
sess_remove(struct usage *u, size_t at)
{
	free(u->s[at].exe);
	memmove(&u->s[at], &u->s[at + 1], (u->n - at - 1) * sizeof(*u->s));
	u->n--;
	u->dirty = 1;
}

static int
load_one(const struct queue_session *qs, void *arg)
{
	struct usage *u = arg;
	struct session *s;
	size_t at;
	int found;

	at = sess_find(u, qs->exe, qs->uid, &found);
	if (found)
		return 0;
	if ((s = sess_insert(u, at, qs->exe, qs->uid)) == NULL)
		return -1;
	s->start = qs->start;
	s->last_seen = qs->last_seen;
	return 0;
}

/* After a failed transaction the sessions in memory are ahead of the
 * queue: go back to the persisted ones (the next sample sees the same
 * processes again, so nothing is lost, and nothing was queued twice). */
static void
restore(struct usage *u)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		free(u->s[i].exe);
	u->n = 0;
	if (queue_sessions_load(u->queue, load_one, u) == -1)
		log_warnx("usage: cannot reload the open sessions");
	u->dirty = 0;
}

struct usage *
usage_new(struct collect *c, struct queue *q, const struct usage_opts *o)
{
	struct usage *u;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return NULL;
	u->collect = c;
	u->queue = q;
	u->min_uid = o->min_uid;
	u->user_ids = o->user_ids;
	if ((u->user_key = strdup(o->user_key ? o->user_key : "")) == NULL)
		goto fail;
	if (queue_sessions_load(q, load_one, u) == -1)
		goto fail;
	u->dirty = 0;
	return u;
fail:
	usage_free(u);
	return NULL;
}

void
usage_free(struct usage *u)
{
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; i < u->n; i++)
		free(u->s[i].exe);
	for (i = 0; i < u->nown; i++) {
		free(u->own[i].exe);
		free(u->own[i].package);
	}
	free(u->s);
	free(u->own);
	if (u->user_key) {
		crypto_wipe(u->user_key, strlen(u->user_key));
		free(u->user_key);
	}
	free(u);
}

static int
own_cmp(const void *a, const void *b)
{
	return strcmp(((const struct owner *)a)->exe,
	              ((const struct owner *)b)->exe);
}

static const struct owner *
owner_lookup(const struct usage *u, const char *exe)
{
	struct owner key = {(char *)(uintptr_t)exe, NULL};

	if (u->nown == 0)
		return NULL;
	return bsearch(&key, u->own, u->nown, sizeof(key), own_cmp);
}

/* Resolves the owning package of every session executable not yet in the
 * cache, with one pass over the package database for all of them. */
static int
resolve_owners(struct usage *u)
{
	const char **paths;
	char **owners;
	struct owner *p;
	size_t i, k = 0;
	int rc = -1;

	paths = calloc(u->n + 1, sizeof(*paths));
	owners = calloc(u->n + 1, sizeof(*owners));
	if (paths == NULL || owners == NULL)
		goto fail;
	for (i = 0; i < u->n; i++)
		if (owner_lookup(u, u->s[i].exe) == NULL &&
		    (k == 0 || strcmp(paths[k - 1], u->s[i].exe) != 0))
			paths[k++] = u->s[i].exe;
	if (k == 0) {
		rc = 0;
		goto fail;
	}
	collect_owners(u->collect, paths, k, owners);
	if (u->nown + k > u->capown) {
		p = realloc(u->own, (u->nown + k + 64) * sizeof(*p));
		if (p == NULL)
			goto fail;
		u->own = p;
		u->capown = u->nown + k + 64;
	}
	for (i = 0; i < k; i++) {
		if ((u->own[u->nown].exe = strdup(paths[i])) == NULL)
			break;
		u->own[u->nown].package = owners[i];
		owners[i] = NULL;
		u->nown++;
	}
	qsort(u->own, u->nown, sizeof(*u->own), own_cmp);
	rc = 0;
fail:
	for (i = 0; owners && i < k; i++)
		free(owners[i]);
	free(paths);
	free(owners);
	return rc;
}

static void
set_user(const struct usage *u, json_t *o, unsigned uid)
{
	char name[256], hash[CRYPTO_HEX256_LEN + 1];

	if (u->user_ids == USER_IDS_NONE)
		return;
	collect_username(uid, name, sizeof(name));
	if (u->user_ids == USER_IDS_PLAIN) {
		json_object_set_new(o, "user", json_string(name));
		return;
	}
	if (crypto_hmac_hex(u->user_key, name, hash) == 0)
		json_object_set_new(o, "user", json_string(hash));
	crypto_wipe(name, sizeof(name));
}

/* Queues the usage of s over [s->start, end]. */
static int
emit(struct usage *u, const struct session *s, long long end, int running)
{
	const struct owner *ow = owner_lookup(u, s->exe);
	const char *base = strrchr(s->exe, '/');
	json_t *o = json_object();
	char *text;
	long long seq;

	base = base ? base + 1 : s->exe;
	json_object_set_new(
	    o, "product", json_string(ow && ow->package ? ow->package : base));
	if (ow && ow->package)
		json_object_set_new(o, "package", json_string(ow->package));
	json_object_set_new(o, "exe", json_string(s->exe));
	set_user(u, o, s->uid);
	json_object_set_new(o, "start", json_integer(s->start));
	json_object_set_new(o, "end", json_integer(end));
	json_object_set_new(o, "running", json_boolean(running));
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		return -1;
	seq = queue_push(u->queue, PROTO_REC_USAGE, u->now, text);
	free(text);
	return seq > 0 ? 0 : -1;
}

struct sample_ctx {
	struct usage *u;
	long long now;
	int failed;
};

static int
on_proc(const struct proc_info *p, void *arg)
{
	struct sample_ctx *sc = arg;
	struct usage *u = sc->u;
	struct session *s;
	size_t at;
	int found;

	if (p->uid < u->min_uid)
		return 0;
	at = sess_find(u, p->exe, p->uid, &found);
	if (!found) {
		if ((s = sess_insert(u, at, p->exe, p->uid)) == NULL) {
			sc->failed = 1;
			return -1;
		}
		/* Clocks can be wrong: never start in the future. */
		s->start = p->start < sc->now ? p->start : sc->now;
	} else
		s = &u->s[at];
	s->seen = 1;
	s->last_seen = sc->now;
	return 0;
}

/* Splits sessions at midnight UTC so that each record lies in one day. */
static int
split_days(struct usage *u, size_t *count)
{
	long long midnight;
	size_t i;

	for (i = 0; i < u->n; i++) {
		midnight = (u->s[i].start / 86400 + 1) * 86400;
		if (!u->s[i].seen || u->s[i].last_seen < midnight)
			continue;
		if (emit(u, &u->s[i], midnight, 1) == -1)
			return -1;
		u->s[i].start = midnight;
		(*count)++;
	}
	return 0;
}

static int
close_gone(struct usage *u, size_t *count)
{
	size_t i = 0;

	while (i < u->n) {
		if (u->s[i].seen) {
			i++;
			continue;
		}
		if (emit(u, &u->s[i], u->s[i].last_seen, 0) == -1)
			return -1;
		(*count)++;
		sess_remove(u, i);
	}
	return 0;
}

static int
persist(struct usage *u)
{
	struct queue_session *qs;
	size_t i;
	int rc;

	if ((qs = calloc(u->n + 1, sizeof(*qs))) == NULL)
		return -1;
	for (i = 0; i < u->n; i++) {
		qs[i].exe = u->s[i].exe;
		qs[i].uid = u->s[i].uid;
		qs[i].start = u->s[i].start;
		qs[i].last_seen = u->s[i].last_seen;
	}
	rc = queue_sessions_save(u->queue, qs, u->n);
	free(qs);
	if (rc == 0) {
		u->dirty = 0;
		u->persisted = u->now;
	}
	return rc;
}

int
usage_sample(struct usage *u, long long now)
{
	struct sample_ctx sc = {u, now, 0};
	size_t i, count = 0;

	u->now = now;
	for (i = 0; i < u->n; i++)
		u->s[i].seen = 0;
	if (collect_procs(u->collect, on_proc, &sc) == -1 || sc.failed)
		return -1;
	if (resolve_owners(u) == -1)
		return -1;
	if (queue_begin(u->queue) == -1)
		return -1;
	if (split_days(u, &count) == -1 || close_gone(u, &count) == -1)
		goto fail;
	if ((count > 0 || u->dirty || now - u->persisted >= PERSIST_EVERY) &&
	    persist(u) == -1)
		goto fail;
	if (queue_commit(u->queue) == -1) {
		restore(u);
		return -1;
	}
	return (int)count;
fail:
	queue_rollback(u->queue);
	restore(u);
	return -1;
}

int
usage_cut(struct usage *u)
{
	size_t i, count = 0;

	if (queue_begin(u->queue) == -1)
		return -1;
	for (i = 0; i < u->n; i++) {
		if (u->s[i].last_seen <= u->s[i].start)
			continue;
		if (emit(u, &u->s[i], u->s[i].last_seen, 1) == -1)
			goto fail;
		u->s[i].start = u->s[i].last_seen;
		count++;
	}
	if (persist(u) == -1)
		goto fail;
	if (queue_commit(u->queue) == -1) {
		restore(u);
		return -1;
	}
	return (int)count;
fail:
	queue_rollback(u->queue);
	restore(u);
	return -1;
}

int
usage_save(struct usage *u)
{
	return persist(u);
}

size_t
usage_open_count(const struct usage *u)
{
	return u->n;
}
