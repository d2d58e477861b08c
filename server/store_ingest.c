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

#include "digest.h"
#include "log.h"
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

static int
replace_software(struct sq *q, const char *agent_id,
                 const struct store_software *sw, size_t n)
{
	struct db_stmt *st;
	size_t i;
	int rc;

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
			log_warnx("sqlite: software: %s", db_errmsg(q->db));
			rc = STORE_ERR;
		}
		db_reset(st);
		if (rc == STORE_OK &&
		    lic_map_software(q, sw[i].name, sw[i].publisher) == -1)
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
apply_inventory(struct sq *q, const char *agent_id,
                const struct store_record *r)
{
	int rc = set_inventory(q, agent_id, r->u.inv.hostname, r->u.inv.os,
	                       r->u.inv.document, r->u.inv.digest,
	                       r->time + r->shift);

	if (rc != STORE_OK)
		return rc;
	return replace_software(q, agent_id, r->u.inv.software,
	                        r->u.inv.nsoftware);
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
apply_delta(struct sq *q, const char *agent_id, const struct store_record *r,
            struct store_ingest_result *res)
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
	free(text);
	json_decref(doc);
	if (rc == STORE_OK && r->u.delta.has_software)
		rc = replace_software(q, agent_id, r->u.delta.software,
		                      r->u.delta.nsoftware);
	return rc;
}

/* A summary's upsert: table, and its time column. */
#define SUMMARY_SQL(table, time)                                               \
	"INSERT INTO " table "(" time ", agent_id, commune, product, exe,"     \
	" \"user\", seconds, sessions, last_end)"                              \
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"                         \
	" ON CONFLICT(" time ", agent_id, product, exe, \"user\")"             \
	" DO UPDATE SET seconds = " table ".seconds + excluded.seconds,"       \
	" sessions = " table ".sessions + excluded.sessions,"                  \
	" last_end = CASE WHEN excluded.last_end > " table ".last_end"         \
	"  THEN excluded.last_end ELSE " table ".last_end END"
static const char daily_sql[] = SUMMARY_SQL("usage_daily", "day");
static const char monthly_sql[] = SUMMARY_SQL("usage_monthly", "month");

/* Adds s to a summary: sql is daily_sql or monthly_sql. */
static int
add_summary(struct sq *q, const char *sql, const struct store_agent *a,
            const struct sq_sum *s)
{
	struct db_stmt *st;

	if ((st = sq_get(q, sql)) == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, s->when);
	db_bind_text(st, 2, a->agent_id);
	db_bind_text(st, 3, a->commune);
	db_bind_text(st, 4, s->product);
	db_bind_text(st, 5, s->exe);
	db_bind_text(st, 6, s->user);
	db_bind_int64(st, 7, s->seconds);
	db_bind_int64(st, 8, s->sessions);
	db_bind_int64(st, 9, s->last_end);
	return sq_step_put(q, st);
}

static int
sum_cmp(const void *x, const void *y)
{
	const struct sq_sum *a = x, *b = y;
	int c;

	if (a->when != b->when)
		return a->when < b->when ? -1 : 1;
	if ((c = strcmp(a->product, b->product)) != 0 ||
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
	struct sq_sum *m = q->months, sum;
	size_t i, j;
	int rc = STORE_OK;

	qsort(m, q->nmonths, sizeof(*m), sum_cmp);
	for (i = 0; i < q->nmonths && rc == STORE_OK; i = j) {
		sum = m[i];
		for (j = i + 1; j < q->nmonths && sum_cmp(&sum, &m[j]) == 0;
		     j++) {
			sum.seconds += m[j].seconds;
			sum.sessions += m[j].sessions;
			if (m[j].last_end > sum.last_end)
				sum.last_end = m[j].last_end;
		}
		rc = add_summary(q, monthly_sql, a, &sum);
	}
	return rc;
}

/* Adds usage to the daily summary the reports read, and to the monthly
 * sums written at the end of the transaction: the day is the (corrected)
 * start day; agents cut records at midnight UTC. */
static int
add_daily(struct sq *q, const struct store_agent *a,
          const struct store_record *r, long long seconds, long long sessions)
{
	struct sq_sum s = {
	    .when = (r->u.use.start + r->shift) / 86400,
	    .seconds = seconds,
	    .sessions = sessions,
	    .last_end = r->u.use.end + r->shift,
	    .product = r->u.use.product,
	    .exe = r->u.use.exe ? r->u.use.exe : "",
	    .user = r->u.use.user ? r->u.use.user : "",
	};
	int rc;

	if ((rc = add_summary(q, daily_sql, a, &s)) != STORE_OK)
		return rc;
	s.when = sq_month(s.when);
	q->months[q->nmonths++] = s; /* room for every record of the batch */
	if (lic_map_usage(q, s.product, s.exe) == -1)
		return STORE_ERR;
	return STORE_OK;
}

/* Records that the agent was running on the record's day (reclaim needs
 * to know how much of a window an agent covered). */
static int
add_agent_day(struct sq *q, const char *agent_id, long long t)
{
	/* Records of a batch mostly share their day: once is enough. */
	if (t / 86400 == q->day && strcmp(agent_id, q->day_agent) == 0)
		return STORE_OK;
	q->day = t / 86400;
	util_strlcpy(q->day_agent, agent_id, sizeof(q->day_agent));
	struct db_stmt *st = sq_get(q, "INSERT INTO agent_days(agent_id, day)"
	                               " VALUES (?, ?) ON CONFLICT DO NOTHING");

	if (st) {
		db_bind_text(st, 1, agent_id);
		db_bind_int64(st, 2, t / 86400);
	}
	return sq_step_put(q, st);
}

static int
apply_usage(struct sq *q, struct db_stmt *st, const struct store_agent *a,
            const char *epoch, const struct store_record *r)
{
	db_bind_text(st, 1, a->agent_id);
	db_bind_text(st, 2, a->commune);
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
		log_warnx("sqlite: usage: %s", db_errmsg(q->db));
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

static int
apply(struct sq *q, struct db_stmt *use, const struct store_agent *a,
      const struct store_batch *b, const struct store_record *r,
      struct store_ingest_result *res)
{
	int rc = STORE_ERR;

	switch (r->type) {
	case REC_INVENTORY:
		rc = apply_inventory(q, a->agent_id, r);
		break;
	case REC_INVENTORY_DELTA:
		rc = apply_delta(q, a->agent_id, r, res);
		break;
	case REC_USAGE:
		rc = apply_usage(q, use, a, b->epoch, r);
		break;
	case REC_USAGE_DAY:
		rc = add_daily(q, a, r, r->u.use.seconds, r->u.use.sessions);
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
        const struct store_ingest_result *res)
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
	st = sq_get(q, "UPDATE agents SET last_seen = ?1,"
	               " clock_offset_ms = CASE WHEN ?2 <> 0 THEN ?3"
	               "  ELSE clock_offset_ms END,"
	               " clock_at = CASE WHEN ?2 <> 0 THEN ?1 ELSE clock_at END"
	               " WHERE agent_id = ?4");
	if (st) {
		db_bind_int64(st, 1, time(NULL));
		db_bind_int64(st, 2, b->clock_known);
		db_bind_int64(st, 3, b->clock_offset_ms);
		db_bind_text(st, 4, a->agent_id);
	}
	return sq_step_put(q, st);
}

static int
ingest_tx(struct sq *q, const struct store_agent *a,
          const struct store_batch *b, struct store_ingest_result *res)
{
	struct db_stmt *use = NULL;
	long long hwm;
	size_t i;
	int rc = STORE_ERR;

	q->day_agent[0] = '\0'; /* nothing recorded in this transaction */
	q->nmonths = 0;
	if ((q->months = calloc(b->n + 1, sizeof(*q->months))) == NULL)
		return STORE_ERR;
	if ((hwm = stream_claim(q, a->agent_id, b->epoch)) < 0)
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
		if ((rc = apply(q, use, a, b, r, res)) != STORE_OK)
			goto fail;
		res->applied++;
		res->ack_seq = r->seq;
	}
	if ((rc = flush_months(q, a)) == STORE_OK)
		rc = set_hwm(q, a, b, res);
fail:
	sq_put(q, use);
	free(q->months);
	q->months = NULL;
	return rc;
}

int
sq_ingest(void *b, const struct store_agent *a, const struct store_batch *batch,
          struct store_ingest_result *res)
{
	struct sq *q = b;
	long long conflict;
	int rc, tries, class;

	if (lic_fresh(q) == -1)
		return STORE_ERR;
	/* A deadlock or serialisation failure (PostgreSQL, several
	 * instances) rolls back everything: run the batch again. */
	for (tries = 0; tries < INGEST_TRIES; tries++) {
		memset(res, 0, sizeof(*res));
		if (sq_run(q, "BEGIN IMMEDIATE") == -1)
			return STORE_ERR;
		if ((rc = ingest_tx(q, a, batch, res)) == STORE_OK) {
			if (sq_run(q, "COMMIT") == 0)
				return STORE_OK;
			rc = STORE_ERR;
		}
		class = db_errclass(q->db);
		sq_run(q, "ROLLBACK");
		lic_forget(q); /* keys mapped in the transaction are gone */
		if (rc != STORE_ERR || class != DB_RETRY)
			break;
		log_debug("ingest: %s: conflict with another writer, again",
		          a->agent_id);
	}
	conflict = res->conflict_seq;
	memset(res, 0, sizeof(*res));
	res->conflict_seq = conflict;
	return rc;
}
