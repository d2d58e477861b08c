#include "usage.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "config.h"
#include "crypto.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define PERSIST_EVERY 300000 /* ms between saves of unchanged sessions */
/* Wall clock minus boot clock moves by less than a second between samples
 * (the wall clock is read in whole seconds); more is a step. */
#define STEP_TOLERANCE_MS 2000
#define CLOCK_META        "usage_clock" /* "BOOT OFFSET_MS" of the sessions */

/* Times are on the boot clock (util_boot_ms(): milliseconds since boot,
 * counting suspend), which no wall-clock step moves: a session lasts what
 * really elapsed. Wall time only dates a record, as wall now minus the
 * boot-clock age (see wall_of()). */
struct session {
	char *exe;
	unsigned uid;
	long long start;     /* start of the part not yet recorded */
	long long last_seen; /* last sample that saw a process of it */
	long long reopen;    /* stale, seen again: the new start; else -1 */
	int seen;            /* seen in the current sample */
	int born;            /* opened by the current sample */
	int stale;           /* persisted by an earlier boot: ends as it was */
};

struct owner {
	char *exe;
	char *package; /* NULL: no package owns it */
};

struct usage {
	struct collect *collect;
	struct queue *queue;
	unsigned min_uid;
	char *services; /* ",name,name," in lower case, or NULL */
	int user_ids;
	char *user_key;
	struct session *s; /* sorted by (exe, uid) */
	size_t n, cap;
	struct owner *own; /* sorted by exe: cache of package owners */
	size_t nown, capown;
	long long now;       /* wall clock of the sample, Unix seconds */
	long long boot_now;  /* boot clock of the sample, ms */
	long long prev_boot; /* boot clock of the previous sample, or -1 */
	long long offset;    /* wall ms minus boot ms: dates boot times */
	long long persisted; /* boot clock of the last save */
	long long bootnum;   /* the queue's boot number */
	int have_offset;
	int dirty;
};

static long long
floor_div(long long a, long long b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* The wall time (Unix seconds) of boot-clock time t, on the wall clock of
 * the current sample. */
static long long
wall_of(const struct usage *u, long long t)
{
	return floor_div(t + u->offset, 1000);
}

/* Reads the clocks for a sample at wall time now (Unix seconds). The first
 * reading fixes how boot times are dated (the offset); a later one that
 * disagrees with it by STEP_TOLERANCE_MS or more is a step of the wall
 * clock: logged, and from then on records are dated on the new wall
 * clock, while sessions keep the length the boot clock measured. */
static void
read_clocks(struct usage *u, long long now)
{
	long long boot = util_boot_ms(), off = now * 1000 - boot, d;

	u->now = now;
	u->boot_now = boot;
	if (!u->have_offset) {
		u->offset = off;
		u->have_offset = 1;
		return;
	}
	d = off - u->offset;
	if (d > -STEP_TOLERANCE_MS && d < STEP_TOLERANCE_MS)
		return;
	log_warnx("usage: the wall clock stepped by %+lld s (%zu sessions "
	          "open): their length comes from the boot clock, their "
	          "dates from the new wall clock",
	          floor_div(d + 500, 1000), u->n);
	u->offset = off;
}

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

struct load_ctx {
	struct usage *u;
	long long offset; /* how the persisted wall times convert back */
	int same_boot;    /* they were saved during this boot */
};

static int
load_one(const struct queue_session *qs, void *arg)
{
	struct load_ctx *lc = arg;
	struct usage *u = lc->u;
	struct session *s;
	size_t at;
	int found;

	at = sess_find(u, qs->exe, qs->uid, &found);
	if (found)
		return 0;
	if ((s = sess_insert(u, at, qs->exe, qs->uid)) == NULL)
		return -1;
	s->start = qs->start * 1000 - lc->offset;
	s->last_seen = qs->last_seen * 1000 - lc->offset;
	s->reopen = -1;
	/* Sessions of an earlier boot (or that this boot's clock cannot
	 * have seen) ended with it: they close as they were, never
	 * stretched over the time the machine was off. */
	s->stale =
	    !lc->same_boot || s->last_seen > util_boot_ms() || s->start < 0;
	return 0;
}

/* Loads the persisted sessions. They are stored in wall time, with the
 * boot number and the offset they were dated with (CLOCK_META), so that
 * a restart in the same boot finds their boot-clock times again even if
 * the wall clock stepped while the agent was stopped. */
static int
load(struct usage *u)
{
	struct load_ctx lc = {u, 0, 0};
	long long mono, bootnum, off;
	char meta[64];

	queue_clock(u->queue, &u->bootnum, &mono);
	if (queue_meta_get(u->queue, CLOCK_META, meta, sizeof(meta)) == 0 &&
	    sscanf(meta, "%lld %lld", &bootnum, &off) == 2 &&
	    bootnum == u->bootnum) {
		lc.offset = off;
		lc.same_boot = 1;
		/* The first sample compares it with the wall clock then. */
		u->offset = off;
		u->have_offset = 1;
	} else {
		/* Another boot, or saved by an older agent: dated as saved. */
		lc.offset = (long long)time(NULL) * 1000 - mono;
		lc.same_boot = queue_meta_get(u->queue, CLOCK_META, meta,
		                              sizeof(meta)) == -1;
	}
	return queue_sessions_load(u->queue, load_one, &lc);
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
	if (load(u) == -1)
		log_warnx("usage: cannot reload the open sessions");
	u->dirty = 0;
}

/* ",a,b," in lower case from "A, b": names compared whole, any case. */
static char *
services_list(const char *names)
{
	size_t i, o = 0, n = strlen(names);
	char *s = malloc(n + 3);

	if (s == NULL)
		return NULL;
	s[o++] = ',';
	for (i = 0; i < n; i++)
		if (names[i] != ' ' && names[i] != '\t')
			s[o++] = (char)tolower((unsigned char)names[i]);
	if (s[o - 1] != ',')
		s[o++] = ',';
	s[o] = '\0';
	return s;
}

/* Whether exe's base name is one of the services. */
static int
is_service(const struct usage *u, const char *exe)
{
	char key[258];
	const char *b = collect_basename(exe);
	size_t i, n = strlen(b);

	if (u->services == NULL || n == 0 || n > 255)
		return 0;
	key[0] = ',';
	for (i = 0; i < n; i++)
		key[i + 1] = (char)tolower((unsigned char)b[i]);
	key[n + 1] = ',';
	key[n + 2] = '\0';
	return strstr(u->services, key) != NULL;
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
	if (o->services && *o->services && strcmp(o->services, "none") != 0 &&
	    (u->services = services_list(o->services)) == NULL)
		goto fail;
	if ((u->user_key = strdup(o->user_key ? o->user_key : "")) == NULL)
		goto fail;
	u->prev_boot = -1;
	if (load(u) == -1)
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
	free(u->services);
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
	collect_username(u->collect, uid, name, sizeof(name));
	if (u->user_ids == USER_IDS_PLAIN) {
		json_object_set_new(o, "user", json_string(name));
		return;
	}
	if (crypto_hmac_hex(u->user_key, name, hash) == 0)
		json_object_set_new(o, "user", json_string(hash));
	crypto_wipe(name, sizeof(name));
}

/* Queues the usage of s over [s->start, end] (boot clock), dated on the
 * wall clock of the sample, which is also the record's creation time: the
 * server corrects both together (docs/PROTOCOL.md, "Clocks"). */
static int
emit(struct usage *u, const struct session *s, long long end, int running)
{
	const struct owner *ow = owner_lookup(u, s->exe);
	const char *base = collect_basename(s->exe);
	json_t *o = json_object();
	char *text;
	long long seq;

	json_object_set_new(
	    o, "product", json_string(ow && ow->package ? ow->package : base));
	if (ow && ow->package)
		json_object_set_new(o, "package", json_string(ow->package));
	json_object_set_new(o, "exe", json_string(s->exe));
	if (s->uid >= u->min_uid) /* a system account's service: no user */
		set_user(u, o, s->uid);
	json_object_set_new(o, "start", json_integer(wall_of(u, s->start)));
	json_object_set_new(o, "end", json_integer(wall_of(u, end)));
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
	int failed;
};

static int
on_proc(const struct proc_info *p, void *arg)
{
	struct sample_ctx *sc = arg;
	struct usage *u = sc->u;
	struct session *s;
	long long start = p->start_ms;
	size_t at;
	int found;

	if (p->uid < u->min_uid && !is_service(u, p->exe))
		return 0;
	/* Never before the boot nor after now; and a program first seen now
	 * was not running at the previous sample, or it would have been
	 * seen then (this bounds a start the system dates on a wall clock
	 * that stepped since, as Windows does). */
	if (start > u->boot_now)
		start = u->boot_now;
	if (start < u->prev_boot)
		start = u->prev_boot;
	if (start < 0)
		start = 0;
	at = sess_find(u, p->exe, p->uid, &found);
	if (!found) {
		if ((s = sess_insert(u, at, p->exe, p->uid)) == NULL) {
			sc->failed = 1;
			return -1;
		}
		s->start = start;
		s->reopen = -1;
		s->born = 1;
	} else
		s = &u->s[at];
	if (s->born && start < s->start)
		s->start = start; /* its earliest process */
	if (s->stale) {
		if (s->reopen == -1 || start < s->reopen)
			s->reopen = start;
		return 0;
	}
	s->seen = 1;
	s->last_seen = u->boot_now;
	return 0;
}

/* Splits sessions at midnight UTC (of the wall clock dating them) so that
 * each record lies in one day. */
static int
split_days(struct usage *u, size_t *count)
{
	long long midnight;
	size_t i;

	for (i = 0; i < u->n; i++) {
		if (!u->s[i].seen)
			continue;
		for (;;) {
			midnight =
			    (floor_div(wall_of(u, u->s[i].start), 86400) + 1) *
			        86400 * 1000 -
			    u->offset;
			if (u->s[i].last_seen < midnight)
				break;
			if (emit(u, &u->s[i], midnight, 1) == -1)
				return -1;
			u->s[i].start = midnight;
			(*count)++;
		}
	}
	return 0;
}

/* Closes the sessions no process of which was seen, and those of an
 * earlier boot; one of the latter seen again starts anew, not before it
 * ended. */
static int
close_gone(struct usage *u, size_t *count)
{
	struct session *s;
	size_t i = 0;

	while (i < u->n) {
		s = &u->s[i];
		if (s->seen && !s->stale) {
			i++;
			continue;
		}
		if (emit(u, s, s->last_seen, 0) == -1)
			return -1;
		(*count)++;
		if (s->stale && s->reopen != -1) {
			s->start =
			    s->reopen > s->last_seen ? s->reopen : s->last_seen;
			if (s->start > u->boot_now)
				s->start = u->boot_now;
			s->last_seen = u->boot_now;
			s->stale = 0;
			s->reopen = -1;
			s->seen = 1;
			u->dirty = 1;
			i++;
			continue;
		}
		sess_remove(u, i);
	}
	return 0;
}

/* Saves the sessions in wall time, with how they were dated (CLOCK_META),
 * within the caller's transaction. */
static int
persist(struct usage *u)
{
	struct queue_session *qs;
	char meta[64];
	size_t i;
	int rc;

	if ((qs = calloc(u->n + 1, sizeof(*qs))) == NULL)
		return -1;
	for (i = 0; i < u->n; i++) {
		qs[i].exe = u->s[i].exe;
		qs[i].uid = u->s[i].uid;
		qs[i].start = wall_of(u, u->s[i].start);
		qs[i].last_seen = wall_of(u, u->s[i].last_seen);
	}
	rc = queue_sessions_save(u->queue, qs, u->n);
	free(qs);
	snprintf(meta, sizeof(meta), "%lld %lld", u->bootnum, u->offset);
	if (rc == 0)
		rc = queue_meta_set(u->queue, CLOCK_META, meta);
	if (rc == 0) {
		u->dirty = 0;
		u->persisted = u->boot_now;
	}
	return rc;
}

int
usage_sample(struct usage *u, long long now)
{
	struct sample_ctx sc = {u, 0};
	size_t i, count = 0;

	read_clocks(u, now);
	for (i = 0; i < u->n; i++) {
		u->s[i].seen = 0;
		u->s[i].born = 0;
	}
	if (collect_procs(u->collect, on_proc, &sc) == -1 || sc.failed)
		return -1;
	if (resolve_owners(u) == -1)
		return -1;
	if (queue_begin(u->queue) == -1)
		return -1;
	if (split_days(u, &count) == -1 || close_gone(u, &count) == -1)
		goto fail;
	if ((count > 0 || u->dirty ||
	     u->boot_now - u->persisted >= PERSIST_EVERY) &&
	    persist(u) == -1)
		goto fail;
	if (queue_commit(u->queue) == -1) {
		restore(u);
		return -1;
	}
	u->prev_boot = u->boot_now;
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

	if (!u->have_offset)
		read_clocks(u, (long long)time(NULL));
	if (queue_begin(u->queue) == -1)
		return -1;
	for (i = 0; i < u->n; i++) {
		if (u->s[i].stale || u->s[i].last_seen <= u->s[i].start)
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
	if (!u->have_offset)
		read_clocks(u, (long long)time(NULL));
	if (queue_begin(u->queue) == -1)
		return -1;
	if (persist(u) == -1) {
		queue_rollback(u->queue);
		return -1;
	}
	return queue_commit(u->queue);
}

size_t
usage_open_count(const struct usage *u)
{
	return u->n;
}
