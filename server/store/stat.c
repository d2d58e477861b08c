/*
 * stat: the daily figures of the usage intervals (stat.h).
 */
#include "stat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "report.h"

int
stat_mark(struct sq *q, long long day)
{
	/* DO UPDATE, not DO NOTHING: the mark's row stays locked until the
	 * caller commits, so that a settle deleting it (stat_settle) waits
	 * for the intervals the caller adds (PostgreSQL) */
	struct db_stmt *st = sq_get(q, "INSERT INTO stat_dirty(day) VALUES (?)"
	                               " ON CONFLICT (day) DO UPDATE"
	                               " SET day = excluded.day");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, day);
	return sq_step_put(q, st);
}

int
stat_mark_all(struct sq *q)
{
	/* a day before any: the rows of the caller's scope may not be every
	 * commune's (PostgreSQL), stat_settle() sees them all */
	return stat_mark(q, STAT_ALL);
}

/* Marks every day with intervals instead of STAT_ALL (sq_tx's body). */
static int
expand_all(struct sq *q, void *arg)
{
	struct db_stmt *st;

	(void)arg;
	if (sq_exec(q, "INSERT INTO stat_dirty(day) SELECT DISTINCT day"
	               " FROM usage_span WHERE true ON CONFLICT DO NOTHING") ==
	        -1 ||
	    (st = sq_prep(q, "DELETE FROM stat_dirty WHERE day = ?")) == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, STAT_ALL);
	return sq_step_done(q, st);
}

/*
 * One day's figures, computed in C from its intervals of catalogue
 * products (the SQL of report.h's REPORT_MERGE and REPORT_PEAK took
 * about 100 ms a day for 1,500 machines; this is the same arithmetic):
 * - each person's intervals (REPORT_PERSON) merged into pieces: in the
 *   order of their starts, each keeps what it holds after the latest end
 *   of the ones before it; their lengths add up to the union of that
 *   person's hours;
 * - each machine's intervals merged the same way;
 * - in every scope of the piece's commune (the commune, its pools, all):
 *   secs, the pieces' lengths of people added up; peak_users and peak,
 *   the most pieces of people and of machines open at one instant (+1 at
 *   each start, -1 at each end, ends before starts at the same instant).
 * Product by product, so that memory holds one product's day at a time.
 */

/* An interval of the day (strings owned by the day's arena). */
struct span {
	const char *product, *commune, *agent, *person;
	long long t0, t1;
};

/* A scope a commune is part of (level, holder: the scope; id, the same
 * for every row of one scope). */
struct scope {
	char *level, *holder, *commune;
	size_t id;
};

/* A start or end of a piece in one scope: kind 0 a person's, 1 a
 * machine's; len, a person's piece's length on its start. */
struct event {
	const struct scope *sc; /* one row of the scope (sc->id) */
	long long t, len;
	int d, kind;
};

/* The figures of one scope and product: secs, peak[0] of people,
 * peak[1] of machines. */
struct row {
	const struct scope *sc;
	const char *product;
	long long secs, peak[2];
};

/* The day's intervals, the scopes and the rows, owned by it. */
struct day {
	struct row *rows;
	size_t nrows, caprows;
	struct span *sp;
	size_t nsp;
	struct scope *sc;
	size_t nsc;
	char **strs;
	size_t nstrs, capstrs;
	struct event *ev;
	size_t nev, capev;
};

/* Array p (of *cap items of size bytes) with room for need items: p
 * itself, or a larger copy (*cap updated), or NULL when out of memory (p
 * and *cap unchanged). */
static void *
grow(void *p, size_t need, size_t *cap, size_t size)
{
	size_t c = *cap ? *cap : 256;
	void *t;

	if (need <= *cap)
		return p;
	while (c < need)
		c *= 2;
	if ((t = realloc(p, c * size)) == NULL)
		return NULL;
	*cap = c;
	return t;
}

/* a, sep and b joined, kept in the day's arena; NULL when out of memory. */
static const char *
keep(struct day *d, const char *a, const char *sep, const char *b)
{
	char *s, **t;

	if ((t = grow(d->strs, d->nstrs + 1, &d->capstrs, sizeof(*t))) == NULL)
		return NULL;
	d->strs = t;
	if (asprintf(&s, "%s%s%s", a, sep, b) == -1)
		return NULL;
	return d->strs[d->nstrs++] = s;
}

/* Field f (0 product, 1 commune, 2 agent) of the next span: the
 * previous span's string when equal (the rows come by machine), else v
 * kept. */
static const char *
again(struct day *d, const char *v, int f)
{
	const struct span *p = d->nsp ? &d->sp[d->nsp - 1] : NULL;
	const char *was = p == NULL ? NULL
	                  : f == 0  ? p->product
	                  : f == 1  ? p->commune
	                            : p->agent;

	return was && strcmp(was, v) == 0 ? was : keep(d, v, "", "");
}

/* The person of span s (REPORT_PERSON): its commune "/" user, or "#"
 * and its machine without a user id; the previous span's when equal. */
static const char *
person(struct day *d, const struct span *s, const char *user)
{
	const struct span *p = d->nsp ? &d->sp[d->nsp - 1] : NULL;

	if (p && p->agent == s->agent && p->commune == s->commune) {
		if (!user[0] && p->person[0] == '#')
			return p->person;
		if (user[0] && p->person[0] != '#' &&
		    strcmp(p->person + strlen(s->commune) + 1, user) == 0)
			return p->person;
	}
	return user[0] ? keep(d, s->commune, "/", user)
	               : keep(d, "#", "", s->agent);
}

static void
day_free(struct day *d)
{
	size_t i;

	for (i = 0; i < d->nstrs; i++)
		free(d->strs[i]);
	for (i = 0; i < d->nsc; i++) {
		free(d->sc[i].level);
		free(d->sc[i].holder);
		free(d->sc[i].commune);
	}
	free(d->strs);
	free(d->rows);
	free(d->sp);
	free(d->sc);
	free(d->ev);
}

/* The spans' order for people (by_agent 0) or machines (1): product,
 * commune, person or machine, start, end. */
static int
span_cmp(const struct span *a, const struct span *b, int by_agent)
{
	int c;

	if ((c = strcmp(a->product, b->product)) != 0 ||
	    (c = strcmp(a->commune, b->commune)) != 0 ||
	    (c = strcmp(by_agent ? a->agent : a->person,
	                by_agent ? b->agent : b->person)) != 0)
		return c;
	if (a->t0 != b->t0)
		return a->t0 < b->t0 ? -1 : 1;
	return (a->t1 > b->t1) - (a->t1 < b->t1);
}

static int
by_person(const void *a, const void *b)
{
	return span_cmp(a, b, 0);
}

static int
by_agent(const void *a, const void *b)
{
	return span_cmp(a, b, 1);
}

static int
scope_cmp(const void *a, const void *b)
{
	return strcmp(((const struct scope *)a)->commune,
	              ((const struct scope *)b)->commune);
}

/* Scopes by level and holder. */
static int
holder_cmp(const void *a, const void *b)
{
	const struct scope *x = a, *y = b;
	int c = strcmp(x->level, y->level);

	return c ? c : strcmp(x->holder, y->holder);
}

/* A commune's code against a scope's (bsearch). */
static int
commune_cmp(const void *key, const void *b)
{
	return strcmp(key, ((const struct scope *)b)->commune);
}

/* Events by scope, kind, instant, ends first. */
static int
event_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	if (x->sc->id != y->sc->id)
		return x->sc->id < y->sc->id ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind - y->kind;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->d - y->d;
}

/* Reads the day's intervals of catalogue products. STORE_OK or
 * STORE_ERR. */
static int
load_spans(struct sq *q, long long day, struct day *d)
{
	static const char spans_sql[] =
	    "SELECT m.norm, d.commune, d.agent_id, d.\"user\", d.t0, d.t1"
	    " FROM usage_span d JOIN usage_map m"
	    " ON m.product = d.product AND m.exe = d.exe"
	    " WHERE m.norm IS NOT NULL AND d.day = ?";
	struct db_stmt *st;
	size_t cap = 0;
	void *t;
	int r, ok = 1;

	if ((st = sq_prep(q, spans_sql)) == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, day);
	while (ok && (r = db_step(st)) == DB_ROW) {
		struct span *s;
		const char *user = db_column_text(st, 3);

		if ((t = grow(d->sp, d->nsp + 1, &cap, sizeof(*d->sp))) == NULL)
			break;
		d->sp = t;
		s = &d->sp[d->nsp];
		s->product = again(d, db_column_text(st, 0), 0);
		s->commune = again(d, db_column_text(st, 1), 1);
		s->agent = again(d, db_column_text(st, 2), 2);
		s->person = NULL;
		/* REPORT_PERSON: pseudonyms are keyed per commune */
		if (s->commune && s->agent)
			s->person = person(d, s, user);
		s->t0 = db_column_int64(st, 4);
		s->t1 = db_column_int64(st, 5);
		ok = s->product && s->commune && s->agent && s->person;
		d->nsp += ok;
	}
	db_finalize(st);
	return ok && sq_done(q, r) == STORE_OK ? STORE_OK : STORE_ERR;
}

/* Reads the scopes (the communes, the pools' members, all), each with
 * an id, in the order of their communes. STORE_OK or STORE_ERR. */
static int
load_scopes(struct sq *q, struct day *d)
{
	static const char scopes_sql[] =
	    "SELECT 'commune', code, code FROM communes"
	    " UNION ALL SELECT 'pool', pool, commune FROM pool_members"
	    " UNION ALL SELECT 'all', '*', code FROM communes";
	struct db_stmt *st;
	size_t cap = 0, i;
	void *t;
	int r, ok = 1;

	if ((st = sq_prep(q, scopes_sql)) == NULL)
		return STORE_ERR;
	while (ok && (r = db_step(st)) == DB_ROW) {
		struct scope *c;

		if ((t = grow(d->sc, d->nsc + 1, &cap, sizeof(*d->sc))) == NULL)
			break;
		d->sc = t;
		c = &d->sc[d->nsc++];
		c->level = strdup(db_column_text(st, 0));
		c->holder = strdup(db_column_text(st, 1));
		c->commune = strdup(db_column_text(st, 2));
		ok = c->level && c->holder && c->commune;
	}
	db_finalize(st);
	if (!ok || sq_done(q, r) != STORE_OK)
		return STORE_ERR;
	/* one id per scope, then the rows by commune */
	if (d->nsc == 0)
		return STORE_OK;
	qsort(d->sc, d->nsc, sizeof(*d->sc), holder_cmp);
	for (i = 0; i < d->nsc; i++)
		d->sc[i].id = i > 0 && holder_cmp(&d->sc[i - 1], &d->sc[i]) == 0
		                  ? d->sc[i - 1].id
		                  : i;
	qsort(d->sc, d->nsc, sizeof(*d->sc), scope_cmp);
	return STORE_OK;
}

/* Adds the events of the piece [t0, t1) of span s (kind 0 a person's, 1 a
 * machine's) in every scope of its commune. STORE_OK or STORE_ERR. */
static int
piece(struct day *d, const struct span *s, long long t0, long long t1, int kind)
{
	struct scope *c;
	struct event *e;
	void *t;

	c = d->nsc ? bsearch(s->commune, d->sc, d->nsc, sizeof(*d->sc),
	                     commune_cmp)
	           : NULL;
	if (c == NULL) /* a commune no longer known: no scope */
		return STORE_OK;
	while (c > d->sc && strcmp(c[-1].commune, s->commune) == 0)
		c--;
	for (; c < d->sc + d->nsc && strcmp(c->commune, s->commune) == 0; c++) {
		if ((t = grow(d->ev, d->nev + 2, &d->capev, sizeof(*e))) ==
		    NULL)
			return STORE_ERR;
		d->ev = t;
		e = &d->ev[d->nev];
		e[0] = (struct event){c, t0, kind ? 0 : t1 - t0, 1, kind};
		e[1] = (struct event){c, t1, 0, -1, kind};
		d->nev += 2;
	}
	return STORE_OK;
}

/* Merges the spans [sp, sp + n) of one product, in their order (by
 * person for kind 0, by machine for 1), into pieces (their events). */
static int
merge(struct day *d, const struct span *sp, size_t n, int kind)
{
	long long prev = 0;
	size_t i;
	int rc = STORE_OK, first;

	for (i = 0; i < n && rc == STORE_OK; i++) {
		const struct span *s = &sp[i];

		first = i == 0 || strcmp(s->commune, sp[i - 1].commune) ||
		        strcmp(kind ? s->agent : s->person,
		               kind ? sp[i - 1].agent : sp[i - 1].person);
		if (first || prev < s->t1)
			rc = piece(d, s, !first && prev > s->t0 ? prev : s->t0,
			           s->t1, kind);
		if (first || s->t1 > prev)
			prev = s->t1;
	}
	return rc;
}

/* Adds the figures of product in each scope, from the day's events, to
 * the day's rows. STORE_OK or STORE_ERR (out of memory). */
static int
add_rows(struct day *d, const char *product)
{
	long long n[2];
	struct row *r;
	size_t i, j;
	void *t;

	if (d->nev > 0)
		qsort(d->ev, d->nev, sizeof(*d->ev), event_cmp);
	for (i = 0; i < d->nev; i = j) {
		t = grow(d->rows, d->nrows + 1, &d->caprows, sizeof(*d->rows));
		if (t == NULL)
			return STORE_ERR;
		d->rows = t;
		r = &d->rows[d->nrows++];
		*r = (struct row){d->ev[i].sc, product, 0, {0, 0}};
		n[0] = n[1] = 0;
		for (j = i; j < d->nev && d->ev[j].sc->id == d->ev[i].sc->id;
		     j++) {
			const struct event *e = &d->ev[j];

			r->secs += e->len;
			n[e->kind] += e->d;
			if (n[e->kind] > r->peak[e->kind])
				r->peak[e->kind] = n[e->kind];
		}
	}
	return STORE_OK;
}

/* Writes the day's rows. */
static int
write_rows(struct sq *q, long long day, const struct day *d)
{
	struct db_stmt *st;
	size_t i;
	int rc = STORE_OK;

	for (i = 0; i < d->nrows && rc == STORE_OK; i++) {
		/* an upsert: another settle of the same day may have
		 * written it since this one deleted it (PostgreSQL) */
		st = sq_get(q, "INSERT INTO usage_stat(day, level, holder,"
		               " product, secs, peak, peak_users)"
		               " VALUES (?, ?, ?, ?, ?, ?, ?)"
		               " ON CONFLICT (day, level, holder, product)"
		               " DO UPDATE SET secs = excluded.secs,"
		               " peak = excluded.peak,"
		               " peak_users = excluded.peak_users");
		if (st == NULL)
			return STORE_ERR;
		db_bind_int64(st, 1, day);
		db_bind_text(st, 2, d->rows[i].sc->level);
		db_bind_text(st, 3, d->rows[i].sc->holder);
		db_bind_text(st, 4, d->rows[i].product);
		db_bind_int64(st, 5, d->rows[i].secs);
		db_bind_int64(st, 6, d->rows[i].peak[1]);
		db_bind_int64(st, 7, d->rows[i].peak[0]);
		rc = sq_step_put(q, st);
	}
	return rc;
}

/* Computes and writes the day's figures, product by product. */
static int
day_figures(struct sq *q, long long day)
{
	struct day d = {0};
	size_t i, j;
	int rc;

	if ((rc = load_spans(q, day, &d)) != STORE_OK ||
	    (rc = load_scopes(q, &d)) != STORE_OK)
		goto fail;
	if (d.nsp > 0) /* qsort's pointer may not be NULL */
		qsort(d.sp, d.nsp, sizeof(*d.sp), by_person);
	for (i = 0; i < d.nsp && rc == STORE_OK; i = j) {
		for (j = i;
		     j < d.nsp && strcmp(d.sp[j].product, d.sp[i].product) == 0;
		     j++)
			;
		d.nev = 0;
		if ((rc = merge(&d, d.sp + i, j - i, 0)) != STORE_OK)
			break;
		qsort(d.sp + i, j - i, sizeof(*d.sp), by_agent);
		if ((rc = merge(&d, d.sp + i, j - i, 1)) == STORE_OK)
			rc = add_rows(&d, d.sp[i].product);
	}
	if (rc == STORE_OK)
		rc = write_rows(q, day, &d);
fail:
	day_free(&d);
	return rc;
}

/* Milliseconds of the monotonic clock. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Days to compute in one transaction: the next ones of days[0, n),
 * until about 200 ms have passed (a commit costs a sync of the disk; a
 * long transaction keeps ingest waiting to mark the same days). */
struct batch {
	const long long *days;
	size_t n, done;
};

/* Runs the statement sql (constant) with parameter 1 day. */
static int
run_day(struct sq *q, const char *sql, long long day)
{
	struct db_stmt *st = sq_prep(q, sql);

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, day);
	return sq_step_done(q, st);
}

/* Computes the batch's days again and unmarks them (sq_tx's body). */
static int
settle_days(struct sq *q, void *arg)
{
	struct batch *b = arg;
	long long end = now_ms() + 200, day;
	size_t k;
	int rc = STORE_OK;

	for (k = 0; k < b->n && rc == STORE_OK && (k == 0 || now_ms() < end);
	     k++) {
		day = b->days[k];
		if ((rc = run_day(q, "DELETE FROM stat_dirty WHERE day = ?",
		                  day)) == STORE_OK &&
		    (rc = run_day(q, "DELETE FROM usage_stat WHERE day = ?",
		                  day)) == STORE_OK)
			rc = day_figures(q, day);
	}
	b->done = k; /* on a retry, the same days again */
	return rc;
}

/* The marked days of [first, last], oldest first, STAT_ALL first of all
 * when marked, in *days (malloc'd, the caller frees it) and their count in
 * *n. STORE_OK or STORE_ERR. */
static int
marked(struct sq *q, long long first, long long last, long long **days,
       size_t *n)
{
	struct db_stmt *st;
	long long *d = NULL, *t;
	size_t cap = 0;
	int r;

	*days = NULL;
	*n = 0;
	st = sq_prep(q, "SELECT day FROM stat_dirty WHERE day = ?"
	                " OR (day >= ? AND day <= ?) ORDER BY day");
	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, STAT_ALL);
	db_bind_int64(st, 2, first);
	db_bind_int64(st, 3, last);
	while ((r = db_step(st)) == DB_ROW) {
		if ((t = grow(d, *n + 1, &cap, sizeof(*d))) == NULL)
			break;
		d = t;
		d[(*n)++] = db_column_int64(st, 0);
	}
	db_finalize(st);
	if (sq_done(q, r) != STORE_OK) {
		free(d);
		*n = 0;
		return STORE_ERR;
	}
	*days = d;
	return STORE_OK;
}

int
stat_settle(struct sq *q, long long first, long long last, long long budget_ms,
            long *done)
{
	long long *days, end = budget_ms > 0 ? now_ms() + budget_ms : 0;
	size_t i, n;
	int rc;

	if (done)
		*done = 0;
	if ((rc = marked(q, first, last, &days, &n)) != STORE_OK)
		return rc;
	if (n > 0 && days[0] == STAT_ALL) { /* every day, then those asked */
		free(days);
		if ((rc = sq_tx(q, 5, expand_all, NULL)) != STORE_OK ||
		    (rc = marked(q, first, last, &days, &n)) != STORE_OK)
			return rc;
	}
	/* marked again meanwhile: the next call's (never computed as a day) */
	i = n > 0 && days[0] == STAT_ALL;
	for (; i < n && rc == STORE_OK && (!end || now_ms() < end);) {
		struct batch b = {days + i, n - i, 0};

		if ((rc = sq_tx(q, 5, settle_days, &b)) != STORE_OK)
			log_warnx("usage figures: days from %lld not computed",
			          days[i]);
		i += rc == STORE_OK ? b.done : 0;
		if (rc == STORE_OK && done)
			*done += (long)b.done;
	}
	free(days);
	return rc;
}
