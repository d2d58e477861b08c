/*
 * store_ingest: ingest. A batch is applied in one transaction with its
 * stream's high-water mark: records at or below the mark were stored
 * before and are only counted (docs/RELIABILITY.md). The transaction
 * first claims the stream's row, so that two server instances given
 * batches of one stream at once (PostgreSQL) apply them one after the
 * other, the second reading the mark the first committed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cal.h"
#include "digest.h"
#include "log.h"
#include "norm.h"
#include "stat.h"
#include "store_sql.h"
#include "util.h"

#define INGEST_TRIES 5

/* Claims the stream for this transaction and reads its mark: the upsert
 * takes the row's lock (PostgreSQL: a concurrent claim waits for this
 * transaction, then reads what it committed; SQLite: the write lock does
 * the same). -1 on failure. */
static long long
stream_claim(struct sq *q, const char *agent_id, const char *epoch)
{
	struct db_stmt *st;
	long long hwm = -1;

	st = sq_get(q, "INSERT INTO streams(agent_id, epoch, hwm, updated)"
	               " VALUES (?1, ?2, 0, ?3) ON CONFLICT(agent_id, epoch)"
	               " DO UPDATE SET updated = excluded.updated"
	               " RETURNING hwm");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, agent_id);
	db_bind_text(st, 2, epoch);
	db_bind_int64(st, 3, time(NULL));
	if (db_step(st) == DB_ROW)
		hwm = db_column_int64(st, 0);
	else
		log_warnx("database: stream: %s", db_errmsg(q->db));
	sq_put(q, st);
	return hwm;
}

/* Replaces the agent's software list with sw's first max entries (0: no
 * bound); *dropped gets how many were left out. */
static int
replace_software(struct sq *q, const char *agent_id,
                 const struct store_software *sw, size_t n, int max,
                 long long *dropped)
{
	struct db_stmt *st;
	size_t i;
	int rc;

	*dropped = 0;
	if (max > 0 && n > (size_t)max) {
		*dropped = (long long)(n - (size_t)max);
		n = (size_t)max;
	}

	st = sq_prep(q, "DELETE FROM software WHERE agent_id = ?");
	if (st)
		db_bind_text(st, 1, agent_id);
	if ((rc = sq_step_done(q, st)) != STORE_OK)
		return rc;
	st =
	    sq_prep(q, "INSERT INTO software(agent_id, name, version,"
	               " arch, publisher, size) VALUES (?, ?, ?, ?, ?, ?)"
	               " ON CONFLICT(agent_id, name, arch) DO UPDATE SET"
	               " version = excluded.version,"
	               " publisher = excluded.publisher, size = excluded.size");
	if (st == NULL)
		return STORE_ERR;
	for (i = 0, rc = STORE_OK; i < n && rc == STORE_OK; i++) {
		db_bind_text(st, 1, agent_id);
		db_bind_text(st, 2, sw[i].name);
		sq_bind_opt(st, 3, sw[i].version);
		db_bind_text(st, 4, sw[i].arch ? sw[i].arch : "");
		sq_bind_opt(st, 5, sw[i].publisher);
		if (sw[i].size >= 0)
			db_bind_int64(st, 6, sw[i].size);
		else
			db_bind_null(st, 6);
		if (db_step(st) != DB_DONE) {
			log_warnx("store: software: %s", db_errmsg(q->db));
			rc = STORE_ERR;
		}
		db_reset(st);
		if (rc == STORE_OK &&
		    norm_map_software(q, sw[i].name, sw[i].publisher) == -1)
			rc = STORE_ERR;
	}
	db_finalize(st);
	return rc;
}

/* Stores the agent's current inventory document and its digest. */
static int
set_inventory(struct sq *q, const char *agent_id, const char *hostname,
              const char *os, const char *document, const char *digest,
              long long at)
{
	struct db_stmt *st;

	st = sq_prep(q, "UPDATE agents SET hostname = coalesce(?, hostname),"
	                " os = ?, inventory = ?, inventory_digest = ?,"
	                " inventory_at = ? WHERE agent_id = ?");
	if (st == NULL)
		return STORE_ERR;
	sq_bind_opt(st, 1, hostname);
	sq_bind_opt(st, 2, os);
	db_bind_text(st, 3, document);
	db_bind_text(st, 4, digest);
	db_bind_int64(st, 5, at);
	db_bind_text(st, 6, agent_id);
	return sq_step_done(q, st);
}

static int
apply_inventory(struct sq *q, const char *agent_id, int max_software,
                const struct store_record *r, long long *dropped)
{
	int rc = set_inventory(q, agent_id, r->u.inv.hostname, r->u.inv.os,
	                       r->u.inv.document, r->u.inv.digest,
	                       r->time + r->shift);

	if (rc == STORE_OK && r->u.inv.content)
		rc = sq_ident_note(q, agent_id, r->u.inv.content);
	if (rc != STORE_OK)
		return rc;
	return replace_software(q, agent_id, r->u.inv.software,
	                        r->u.inv.nsoftware, max_software, dropped);
}

/* The stored document with the delta applied, if the delta's base is the
 * stored inventory and the result is the agent's: else STORE_CONFLICT. */
static int
merge_delta(struct sq *q, const char *agent_id, const struct store_record *r,
            json_t **doc)
{
	char d[DIGEST_HEX_LEN + 1];
	const char *name, *base;
	json_t *content, *v;
	struct db_stmt *st;
	size_t i;
	int rc = STORE_CONFLICT;

	*doc = NULL;
	st = sq_prep(q, "SELECT inventory, inventory_digest FROM agents"
	                " WHERE agent_id = ?");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, agent_id);
	if (db_step(st) == DB_ROW && (base = db_column_text(st, 1)) != NULL &&
	    strcmp(base, r->u.delta.base) == 0)
		*doc = json_loads(db_column_text(st, 0), 0, NULL);
	db_finalize(st);
	content = json_object_get(*doc, "content");
	if (!json_is_object(content))
		goto fail;
	json_object_foreach(r->u.delta.sections, name, v)
	    json_object_set(content, name, v);
	json_array_foreach(r->u.delta.removed, i, v)
	    json_object_del(content, json_string_value(v));
	if (digest_json(content, d) == -1)
		rc = STORE_ERR;
	else if (strcmp(d, r->u.delta.digest) == 0)
		return STORE_OK;
fail:
	json_decref(*doc);
	*doc = NULL;
	return rc;
}

static int
apply_delta(struct sq *q, const char *agent_id, int max_software,
            const struct store_record *r, struct store_ingest_result *res,
            long long *dropped)
{
	json_t *doc, *content;
	char *text;
	int rc;

	if ((rc = merge_delta(q, agent_id, r, &doc)) != STORE_OK) {
		if (rc == STORE_CONFLICT)
			res->conflict_seq = r->seq;
		return rc;
	}
	content = json_object_get(doc, "content");
	if ((text = json_dumps(doc, JSON_COMPACT)) == NULL)
		rc = STORE_ERR;
	else
		rc = set_inventory(
		    q, agent_id,
		    json_string_value(json_object_get(
		        json_object_get(content, "hardware"), "name")),
		    json_string_value(json_object_get(
		        json_object_get(content, "operatingsystem"),
		        "full_name")),
		    text, r->u.delta.digest, r->time + r->shift);
	if (rc == STORE_OK)
		rc = sq_ident_note(q, agent_id, content);
	free(text);
	json_decref(doc);
	if (rc == STORE_OK && r->u.delta.has_software)
		rc = replace_software(q, agent_id, r->u.delta.software,
		                      r->u.delta.nsoftware, max_software,
		                      dropped);
	return rc;
}

/* A summary's upsert: table, its time column, and its key's columns
 * after the time (a month of a machine moved between communes has rows
 * in each; a day is in one commune). */
#define SUMMARY_SQL(table, time, key)                                          \
	"INSERT INTO " table "(" time ", agent_id, commune, product, exe,"     \
	" \"user\", seconds, sessions, last_end)"                              \
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"                         \
	" ON CONFLICT(" time ", " key ")"                                      \
	" DO UPDATE SET seconds = " table ".seconds + excluded.seconds,"       \
	" sessions = " table ".sessions + excluded.sessions,"                  \
	" last_end = CASE WHEN excluded.last_end > " table ".last_end"         \
	"  THEN excluded.last_end ELSE " table ".last_end END"
static const char daily_sql[] =
    SUMMARY_SQL("usage_daily", "day",
                "agent_id, product, exe, \"user\"") " RETURNING seconds";
static const char monthly_sql[] = SUMMARY_SQL(
    "usage_monthly", "month", "agent_id, commune, product, exe, \"user\"");

/* The commune the agent's machine belonged to on local day: the one it
 * was moved from by its first move on that day or later, else its own
 * (the day of a move is the former commune's: docs/LICENCES.md,
 * "Lifecycle"; as REPORT_AGENTS_AT). */
static const char *
commune_at(const struct sq *q, const struct store_agent *a, long long day)
{
	size_t i;

	for (i = 0; i < q->tx.nmoves; i++)
		if (q->tx.moves[i].day >= day)
			return q->tx.moves[i].commune;
	return a->commune;
}

/* Loads the agent's moves into the transaction (none: no allocation);
 * ingest_tx() asks only for an agent moved before (a->former). */
static int
load_moves(struct sq *q, const char *agent_id)
{
	struct db_stmt *st = sq_get(q, "SELECT day, from_commune FROM moves"
	                               " WHERE agent_id = ?1 ORDER BY day, id");
	struct sq_move *m;
	int r;

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, agent_id);
	while ((r = db_step(st)) == DB_ROW) {
		m = realloc(q->tx.moves, (q->tx.nmoves + 1) * sizeof(*m));
		if (m == NULL)
			break;
		q->tx.moves = m;
		m[q->tx.nmoves].day = db_column_int64(st, 0);
		util_strlcpy(m[q->tx.nmoves].commune, db_column_text(st, 1),
		             sizeof(m->commune));
		q->tx.nmoves++;
	}
	sq_put(q, st);
	return r == DB_DONE ? STORE_OK : STORE_ERR;
}

/* Binds s to a summary's upsert (daily_sql or monthly_sql). */
static void
bind_summary(struct db_stmt *st, const struct store_agent *a,
             const struct sq_sum *s)
{
	db_bind_int64(st, 1, s->when);
	db_bind_text(st, 2, a->agent_id);
	db_bind_text(st, 3, s->commune);
	db_bind_text(st, 4, s->product);
	db_bind_text(st, 5, s->exe);
	db_bind_text(st, 6, s->user);
	db_bind_int64(st, 7, s->seconds);
	db_bind_int64(st, 8, s->sessions);
	db_bind_int64(st, 9, s->last_end);
}

/* Adds s to the monthly summary. */
static int
add_summary(struct sq *q, const struct store_agent *a, const struct sq_sum *s)
{
	struct db_stmt *st;

	if ((st = sq_get(q, monthly_sql)) == NULL)
		return STORE_ERR;
	bind_summary(st, a, s);
	return sq_step_put(q, st);
}

/* Adds s to the daily summary. A day has room seconds (86,400; 23 or 25
 * hours on the days clocks change, add_daily() knows its bounds): a key
 * (program, executable, user) whose day would hold more, from records each in
 * range (a hostile agent's), is capped there, and s->seconds becomes what was
 * really added, for the monthly sums. */
static int
add_day(struct sq *q, const struct store_agent *a, struct sq_sum *s,
        long long room)
{
	long long total;
	struct db_stmt *st;
	int r;

	if ((st = sq_get(q, daily_sql)) == NULL)
		return STORE_ERR;
	bind_summary(st, a, s);
	if ((r = db_step(st)) != DB_ROW) {
		/* An upsert answers one row: none is an error too. */
		if (sq_done(q, r) == STORE_OK)
			log_warnx("usage_daily: the upsert answered no row");
		sq_put(q, st);
		return STORE_ERR;
	}
	total = db_column_int64(st, 0);
	sq_put(q, st);
	if (total <= room)
		return STORE_OK;
	s->seconds -= total - room;
	if ((st = sq_get(q, "UPDATE usage_daily SET seconds = ?7"
	                    " WHERE day = ?1 AND agent_id = ?2 AND product = ?4"
	                    " AND exe = ?5 AND \"user\" = ?6")) == NULL)
		return STORE_ERR;
	bind_summary(st, a, s);
	db_bind_int64(st, 7, room);
	return sq_step_put(q, st);
}

static int
sum_cmp(const void *x, const void *y)
{
	const struct sq_sum *a = x, *b = y;
	int c;

	if (a->when != b->when)
		return a->when < b->when ? -1 : 1;
	if ((c = strcmp(a->commune, b->commune)) != 0 ||
	    (c = strcmp(a->product, b->product)) != 0 ||
	    (c = strcmp(a->exe, b->exe)) != 0)
		return c;
	return strcmp(a->user, b->user);
}

/* Writes the transaction's monthly sums: sorted, equal keys added up,
 * one upsert per month and key (a backlog's batch holds weeks of one
 * program's days). */
static int
flush_months(struct sq *q, const struct store_agent *a)
{
	struct sq_sum *m = q->tx.months, sum;
	size_t i, j;
	int rc = STORE_OK;

	qsort(m, q->tx.nmonths, sizeof(*m), sum_cmp);
	for (i = 0; i < q->tx.nmonths && rc == STORE_OK; i = j) {
		sum = m[i];
		for (j = i + 1; j < q->tx.nmonths && sum_cmp(&sum, &m[j]) == 0;
		     j++) {
			sum.seconds += m[j].seconds;
			sum.sessions += m[j].sessions;
			if (m[j].last_end > sum.last_end)
				sum.last_end = m[j].last_end;
		}
		rc = add_summary(q, a, &sum);
	}
	return rc;
}

/* Books part of a record on one day: in the daily summary the reports
 * read, and in the monthly sums written at the end of the transaction. */
static int
add_part(struct sq *q, const struct store_agent *a, struct sq_sum *s,
         long long room)
{
	int rc;

	if ((rc = add_day(q, a, s, room)) != STORE_OK)
		return rc;
	s->when = cal_month(s->when);
	/* room for every part of the batch (ingest_tx) */
	q->tx.months[q->tx.nmonths++] = *s;
	return STORE_OK;
}

/* Notes day among the transaction's days for their figures (stat.h). */
static void
note_day(struct sq *q, long long day)
{
	size_t i;

	for (i = q->tx.ndays; i > 0; i--)
		if (q->tx.days[i - 1] == day)
			return;
	q->tx.days[q->tx.ndays++] = day; /* room for each part (ingest_tx) */
}

static int
day_cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* Marks the transaction's days for their figures, in ascending order. */
static int
mark_days(struct sq *q)
{
	size_t i;
	int rc = STORE_OK;

	qsort(q->tx.days, q->tx.ndays, sizeof(*q->tx.days), day_cmp);
	for (i = 0; i < q->tx.ndays && rc == STORE_OK; i++)
		rc = stat_mark(q, q->tx.days[i]);
	return rc;
}

/* Adds the interval [t0, t0 + seconds) of s's day, cut at cut (the next
 * day's start), to the usage intervals (an interval of the same key and
 * start keeps the longer end). Empty intervals are left out: they hold no
 * instant. */
static int
add_span(struct sq *q, const struct store_agent *a, const struct sq_sum *s,
         long long t0, long long seconds, long long cut)
{
	long long t1 = t0 + seconds < cut ? t0 + seconds : cut;
	struct db_stmt *st;

	if (t1 <= t0)
		return STORE_OK;
	note_day(q, s->when);
	st =
	    sq_get(q, "INSERT INTO usage_span(day, agent_id, commune,"
	              " product, exe, \"user\", t0, t1)"
	              " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
	              " ON CONFLICT(day, agent_id, product, exe, \"user\", t0)"
	              " DO UPDATE SET t1 = CASE WHEN excluded.t1 >"
	              " usage_span.t1 THEN excluded.t1 ELSE usage_span.t1 END");
	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, s->when);
	db_bind_text(st, 2, a->agent_id);
	db_bind_text(st, 3, s->commune);
	db_bind_text(st, 4, s->product);
	db_bind_text(st, 5, s->exe);
	db_bind_text(st, 6, s->user);
	db_bind_int64(st, 7, t0);
	db_bind_int64(st, 8, t1);
	return sq_step_put(q, st);
}

/* Books usage over the local days (cal.h) its (corrected) interval
 * [start, end] spans: each day gets its part of the seconds in
 * proportion to its part of the interval, by cumulative floors so that
 * the parts add up to the seconds exactly (a usage record's seconds are
 * its length, so each day gets exactly the time that fell on it); the
 * sessions count on the start day (docs/LICENCES.md, "Periods").
 * Each day's part is also kept as an interval, for concurrency and the
 * union of a person's hours: a record's real part of the day, or, for a
 * day total (which has no times), its seconds from the start of its span
 * on that day. */
static int
add_daily(struct sq *q, const struct store_agent *a,
          const struct store_record *r, long long seconds, long long sessions)
{
	long long t0 = r->u.use.start + r->shift, t1 = r->u.use.end + r->shift;
	long long day = cal_day(t0), next, cut, cum, done = 0;
	long long from = cal_start(day);
	struct sq_sum s;
	int rc = STORE_OK, first = 1;

	do {
		next = cal_start(day + 1);
		cut = t1 < next ? t1 : next;
		cum = t1 > t0 ? seconds * (cut - t0) / (t1 - t0) : seconds;
		s = (struct sq_sum){
		    .when = day,
		    .seconds = cum - done,
		    .sessions = first ? sessions : 0,
		    .last_end = cut,
		    .commune = commune_at(q, a, day),
		    .product = r->u.use.product,
		    .exe = r->u.use.exe ? r->u.use.exe : "",
		    .user = r->u.use.user ? r->u.use.user : "",
		};
		done = cum;
		first = 0;
		/* the interval of the part itself, before any cap on the
		 * day's sum: a record sent twice must not hide another */
		if ((rc = add_span(q, a, &s, t0 > from ? t0 : from, s.seconds,
		                   next)) == STORE_OK)
			rc = add_part(q, a, &s, next - from);
		from = next;
		day++;
	} while (rc == STORE_OK && cut < t1);
	if (rc == STORE_OK &&
	    norm_map_usage(q, r->u.use.product,
	                   r->u.use.exe ? r->u.use.exe : "") == -1)
		return STORE_ERR;
	return rc;
}

/* Records that the agent was running on the record's day (reclaim needs
 * to know how much of a window an agent covered). */
static int
add_agent_day(struct sq *q, const char *agent_id, long long t)
{
	long long day = cal_day(t);

	/* Records of a batch mostly share their day: once is enough. */
	if (day == q->tx.day && strcmp(agent_id, q->tx.day_agent) == 0)
		return STORE_OK;
	q->tx.day = day;
	util_strlcpy(q->tx.day_agent, agent_id, sizeof(q->tx.day_agent));
	struct db_stmt *st = sq_get(q, "INSERT INTO agent_days(agent_id, day)"
	                               " VALUES (?, ?) ON CONFLICT DO NOTHING");

	if (st) {
		db_bind_text(st, 1, agent_id);
		db_bind_int64(st, 2, day);
	}
	return sq_step_put(q, st);
}

/* The count of the agent's usage summaries on day, or -1. */
static long long
count_day_keys(struct sq *q, const char *agent_id, long long day)
{
	struct db_stmt *st;
	long long n = -1;

	st = sq_get(q, "SELECT count(*) FROM usage_daily"
	               " WHERE day = ?1 AND agent_id = ?2");
	if (st == NULL)
		return -1;
	db_bind_int64(st, 1, day);
	db_bind_text(st, 2, agent_id);
	if (db_step(st) == DB_ROW)
		n = db_column_int64(st, 0);
	sq_put(q, st);
	return n;
}

/* 1 if the agent has a summary for the record's day and key, 0 if not,
 * -1 on failure. */
static int
day_key_exists(struct sq *q, const char *agent_id, long long day,
               const struct store_record *r)
{
	struct db_stmt *st;
	int rc;

	st = sq_get(q, "SELECT 1 FROM usage_daily WHERE day = ?1"
	               " AND agent_id = ?2 AND product = ?3 AND exe = ?4"
	               " AND \"user\" = ?5");
	if (st == NULL)
		return -1;
	db_bind_int64(st, 1, day);
	db_bind_text(st, 2, agent_id);
	db_bind_text(st, 3, r->u.use.product);
	db_bind_text(st, 4, r->u.use.exe ? r->u.use.exe : "");
	db_bind_text(st, 5, r->u.use.user ? r->u.use.user : "");
	rc = db_step(st);
	sq_put(q, st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

/* Whether a usage record may be stored under the bound on the agent's
 * distinct usage summaries per day (max; 0: none): 1 to store it, 0 to
 * fold it into the dropped count, -1 on failure. While the day's count,
 * read once, plus the records stored since stays under max, no key is
 * checked (a batch of a real machine's day costs one count); from max on,
 * the day is counted again exactly and each record's key is looked up:
 * a key the day has already is always stored, a new one only under max. */
static int
day_room(struct sq *q, const char *agent_id, int max,
         const struct store_record *r)
{
	long long day = cal_day(r->u.use.start + r->shift);
	struct sq_daykeys *d = NULL;
	size_t i;
	int rc;

	if (max <= 0)
		return 1;
	for (i = 0; i < q->tx.ndaykeys && d == NULL; i++)
		if (q->tx.daykeys[i].day == day)
			d = &q->tx.daykeys[i];
	if (d == NULL) { /* room for every record of the batch */
		d = &q->tx.daykeys[q->tx.ndaykeys++];
		d->day = day;
		d->checking = 0;
		if ((d->n = count_day_keys(q, agent_id, day)) < 0)
			return -1;
	}
	if (!d->checking && d->n < max) {
		d->n++;
		return 1;
	}
	if (!d->checking) {
		if ((d->n = count_day_keys(q, agent_id, day)) < 0)
			return -1;
		d->checking = 1;
	}
	if ((rc = day_key_exists(q, agent_id, day, r)) != 0)
		return rc;
	if (d->n >= max)
		return 0;
	d->n++;
	return 1;
}

static int
apply_usage(struct sq *q, struct db_stmt *st, const struct store_agent *a,
            const char *epoch, const struct store_record *r)
{
	long long t0 = r->u.use.start + r->shift;

	db_bind_text(st, 1, a->agent_id);
	db_bind_text(st, 2,
	             q->tx.nmoves ? commune_at(q, a, cal_day(t0)) : a->commune);
	db_bind_text(st, 3, epoch);
	db_bind_int64(st, 4, r->seq);
	db_bind_text(st, 5, r->u.use.product);
	sq_bind_opt(st, 6, r->u.use.package);
	sq_bind_opt(st, 7, r->u.use.exe);
	sq_bind_opt(st, 8, r->u.use.user);
	db_bind_int64(st, 9, r->u.use.start + r->shift);
	db_bind_int64(st, 10, r->u.use.end + r->shift);
	db_bind_int64(st, 11, r->shift);
	if (db_step(st) != DB_DONE) {
		log_warnx("store: usage: %s", db_errmsg(q->db));
		db_reset(st);
		return STORE_ERR;
	}
	db_reset(st);
	return add_daily(q, a, r, r->u.use.end - r->u.use.start, 1);
}

static int
apply_gap(struct sq *q, const struct store_agent *a, const char *epoch,
          const struct store_record *r)
{
	struct db_stmt *st;

	st = sq_get(q, "INSERT INTO gaps(agent_id, commune, epoch,"
	               " seq, reason, lost_epoch, first_seq, last_seq,"
	               " records, from_t, to_t, detail, received)"
	               " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	               " ON CONFLICT DO NOTHING");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, a->agent_id);
	db_bind_text(st, 2, a->commune);
	db_bind_text(st, 3, epoch);
	db_bind_int64(st, 4, r->seq);
	db_bind_text(st, 5, r->u.gap.reason);
	sq_bind_opt(st, 6, r->u.gap.epoch);
	db_bind_int64(st, 7, r->u.gap.first_seq);
	db_bind_int64(st, 8, r->u.gap.last_seq);
	db_bind_int64(st, 9, r->u.gap.records);
	db_bind_int64(st, 10, r->u.gap.from);
	db_bind_int64(st, 11, r->u.gap.to);
	sq_bind_opt(st, 12, r->u.gap.detail);
	db_bind_int64(st, 13, time(NULL));
	return sq_step_put(q, st);
}

/* *sw_dropped: software entries the batch's latest software list left
 * out (-1 while the batch carried none). */
static int
apply(struct sq *q, struct db_stmt *use, const struct store_agent *a,
      const struct store_batch *b, const struct store_record *r,
      struct store_ingest_result *res, long long *sw_dropped)
{
	int rc = STORE_ERR, room;

	switch (r->type) {
	case REC_INVENTORY:
		rc = apply_inventory(q, a->agent_id, b->max_software, r,
		                     sw_dropped);
		break;
	case REC_INVENTORY_DELTA:
		rc = apply_delta(q, a->agent_id, b->max_software, r, res,
		                 sw_dropped);
		break;
	case REC_USAGE:
	case REC_USAGE_DAY:
		if ((room = day_room(q, a->agent_id, b->max_day_keys, r)) < 0)
			break;
		if (room == 0) {
			res->usage_dropped++;
			rc = STORE_OK;
		} else if (r->type == REC_USAGE)
			rc = apply_usage(q, use, a, b->epoch, r);
		else
			rc = add_daily(q, a, r, r->u.use.seconds,
			               r->u.use.sessions);
		break;
	case REC_GAP:
		return apply_gap(q, a, b->epoch, r);
	}
	if (rc == STORE_OK)
		rc = add_agent_day(q, a->agent_id, r->time + r->shift);
	return rc;
}

static int
set_hwm(struct sq *q, const struct store_agent *a, const struct store_batch *b,
        const struct store_ingest_result *res, long long sw_dropped)
{
	struct db_stmt *st;
	int rc;

	st = sq_get(q, "UPDATE streams SET hwm = CASE WHEN ?3 > hwm THEN ?3"
	               " ELSE hwm END, updated = ?4, dups = dups + ?5"
	               " WHERE agent_id = ?1 AND epoch = ?2");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, a->agent_id);
	db_bind_text(st, 2, b->epoch);
	db_bind_int64(st, 3, res->ack_seq);
	db_bind_int64(st, 4, time(NULL));
	db_bind_int64(st, 5, res->duplicates);
	if ((rc = sq_step_put(q, st)) != STORE_OK)
		return rc;
	st =
	    sq_get(q, "UPDATE agents SET last_seen = ?1,"
	              " clock_offset_ms = CASE WHEN ?2 <> 0 THEN ?3"
	              "  ELSE clock_offset_ms END,"
	              " clock_at = CASE WHEN ?2 <> 0 THEN ?1 ELSE clock_at END,"
	              " usage_dropped = usage_dropped + ?5,"
	              " software_dropped = CASE WHEN ?6 >= 0 THEN ?6"
	              "  ELSE software_dropped END"
	              " WHERE agent_id = ?4");
	if (st) {
		db_bind_int64(st, 1, time(NULL));
		db_bind_int64(st, 2, b->clock_known);
		db_bind_int64(st, 3, b->clock_offset_ms);
		db_bind_text(st, 4, a->agent_id);
		db_bind_int64(st, 5, res->usage_dropped);
		db_bind_int64(st, 6, sw_dropped);
	}
	return sq_step_put(q, st);
}

static int
ingest_tx(struct sq *q, const struct store_agent *a,
          const struct store_batch *b, struct store_ingest_result *res)
{
	struct db_stmt *use = NULL;
	long long hwm, sw_dropped = -1, d;
	size_t i;
	int rc = STORE_ERR;

	q->tx.day_agent[0] = '\0'; /* nothing recorded in this transaction */
	q->tx.nmonths = 0;
	q->tx.ndaykeys = 0;
	q->tx.nmoves = 0;
	q->tx.ndays = 0;
	/* a record spans at most 9 local days (7 x 86,400 s starting at
	 * 23:30 and crossing a 23-hour day) */
	q->tx.months = calloc(9 * b->n + 1, sizeof(*q->tx.months));
	q->tx.daykeys = calloc(b->n + 1, sizeof(*q->tx.daykeys));
	q->tx.days = calloc(9 * b->n + 1, sizeof(*q->tx.days));
	if (q->tx.months == NULL || q->tx.daykeys == NULL || q->tx.days == NULL)
		goto fail;
	if ((hwm = stream_claim(q, a->agent_id, b->epoch)) < 0 ||
	    (a->former[0] && load_moves(q, a->agent_id) != STORE_OK))
		goto fail;
	use = sq_get(q, "INSERT INTO usage(agent_id, commune, epoch, seq,"
	                " product, package, exe, \"user\", start, \"end\","
	                " shift)"
	                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (use == NULL)
		goto fail;
	res->ack_seq = hwm;
	for (i = 0; i < b->n; i++) {
		const struct store_record *r = &b->rec[i];

		if (r->seq <= res->ack_seq) {
			res->duplicates++;
			continue;
		}
		d = -1;
		if ((rc = apply(q, use, a, b, r, res, &d)) != STORE_OK)
			goto fail;
		if (d >= 0) {
			sw_dropped = d;
			res->software_dropped += d;
		}
		res->applied++;
		res->ack_seq = r->seq;
	}
	if ((rc = flush_months(q, a)) == STORE_OK &&
	    (rc = mark_days(q)) == STORE_OK)
		rc = set_hwm(q, a, b, res, sw_dropped);
fail:
	sq_put(q, use);
	free(q->tx.months);
	q->tx.months = NULL;
	free(q->tx.daykeys);
	q->tx.daykeys = NULL;
	free(q->tx.days);
	q->tx.days = NULL;
	free(q->tx.moves);
	q->tx.moves = NULL;
	q->tx.nmoves = 0;
	return rc;
}

/* ingest_tx()'s arguments, through sq_tx(). */
struct ingest_args {
	const struct store_agent *a;
	const struct store_batch *batch;
	struct store_ingest_result *res;
};

static int
ingest_run(struct sq *q, void *arg)
{
	struct ingest_args *g = arg;

	memset(g->res, 0, sizeof(*g->res));
	return ingest_tx(q, g->a, g->batch, g->res);
}

int
sq_ingest(struct sq *q, const struct store_agent *a,
          const struct store_batch *batch, struct store_ingest_result *res)
{
	struct ingest_args g = {a, batch, res};
	long long conflict;
	int rc;

	memset(res, 0, sizeof(*res));
	if (norm_fresh(q) == -1)
		return STORE_ERR;
	/* A deadlock or serialisation failure (PostgreSQL, several
	 * instances) rolls back everything: run the batch again. */
	if ((rc = sq_tx(q, INGEST_TRIES, ingest_run, &g)) == STORE_OK)
		return STORE_OK;
	conflict = res->conflict_seq;
	memset(res, 0, sizeof(*res));
	res->conflict_seq = conflict;
	return rc;
}
