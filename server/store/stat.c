/*
 * stat: the daily figures of the usage intervals (stat.h).
 */
#include "stat.h"

#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "report.h"

int
stat_mark(struct sq *q, long long day)
{
	struct db_stmt *st = sq_get(q, "INSERT INTO stat_dirty(day) VALUES (?)"
	                               " ON CONFLICT DO NOTHING");

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
	(void)arg;
	if (sq_exec(q, "INSERT INTO stat_dirty(day) SELECT DISTINCT day"
	               " FROM usage_span WHERE true ON CONFLICT DO NOTHING") ==
	        -1 ||
	    sq_exec(q, "DELETE FROM stat_dirty WHERE day = -1") == -1)
		return STORE_ERR;
	return STORE_OK;
}

/* One day's figures, from its intervals of catalogue products: merged per
 * person for hours and the peak of people, per machine for the peak of
 * machines, in each scope the commune is part of (the same SQL the
 * reports ran over their whole window, on one day). */
/* clang-format off */
static const char day_sql[] =
    "INSERT INTO usage_stat(day, level, holder, product, secs, peak,"
    " peak_users)"
    " WITH scopes(level, holder, commune) AS ("
    "  SELECT 'commune', code, code FROM communes"
    "  UNION ALL SELECT 'pool', pool, commune FROM pool_members"
    "  UNION ALL SELECT 'all', '*', code FROM communes),"
    " sp AS (SELECT d.commune, m.norm AS product, d.agent_id,"
    "   " REPORT_PERSON("d") " AS person, d.day, d.t0, d.t1"
    "  FROM usage_span d JOIN usage_map m"
    "   ON m.product = d.product AND m.exe = d.exe"
    "  WHERE m.norm IS NOT NULL AND d.day = ?1),"
    REPORT_MERGE("hu", "sp", "commune, product, person") ","
    " h2 AS (SELECT s.level, s.holder, h.product, sum(h.t1 - h.t0) AS secs"
    "  FROM hu h JOIN scopes s ON s.commune = h.commune GROUP BY 1, 2, 3),"
    " hs AS (SELECT s.level, s.holder, h.product, h.t0, h.t1"
    "  FROM hu h JOIN scopes s ON s.commune = h.commune),"
    REPORT_PEAK("pu", "hs", "level, holder, product") ","
    REPORT_MERGE("mu", "sp", "commune, product, agent_id") ","
    " ms AS (SELECT s.level, s.holder, u.product, u.t0, u.t1"
    "  FROM mu u JOIN scopes s ON s.commune = u.commune),"
    REPORT_PEAK("pk", "ms", "level, holder, product")
    " SELECT ?1, h.level, h.holder, h.product, h.secs,"
    "  coalesce(k.peak, 0), coalesce(u.peak, 0)"
    " FROM h2 h LEFT JOIN pk k ON k.level = h.level"
    "  AND k.holder = h.holder AND k.product = h.product"
    " LEFT JOIN pu u ON u.level = h.level AND u.holder = h.holder"
    "  AND u.product = h.product";
/* clang-format on */

/* Computes day's figures again and unmarks it (sq_tx's body). */
static int
settle_day(struct sq *q, void *arg)
{
	static const char *const sql[] = {
	    "DELETE FROM stat_dirty WHERE day = ?1",
	    "DELETE FROM usage_stat WHERE day = ?1",
	    day_sql,
	};
	long long day = *(long long *)arg;
	struct db_stmt *st;
	size_t i;
	int rc = STORE_OK;

	for (i = 0; i < sizeof(sql) / sizeof(sql[0]) && rc == STORE_OK; i++) {
		if ((st = sq_prep(q, sql[i])) == NULL)
			return STORE_ERR;
		db_bind_int64(st, 1, day);
		rc = sq_step_done(q, st);
	}
	return rc;
}

/* The marked days of [first, last], oldest first, in *days (malloc'd,
 * the caller frees it) and their count in *n. STORE_OK or STORE_ERR. */
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
	st = sq_prep(q, "SELECT day FROM stat_dirty WHERE day >= ?"
	                " AND day <= ? ORDER BY day");
	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, first);
	db_bind_int64(st, 2, last);
	while ((r = db_step(st)) == DB_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			if ((t = realloc(d, cap * sizeof(*d))) == NULL)
				break;
			d = t;
		}
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

/* Milliseconds of the monotonic clock. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
	if ((rc = marked(q, STAT_ALL, STAT_ALL, &days, &n)) != STORE_OK)
		return rc;
	free(days);
	if (n > 0 && (rc = sq_tx(q, 5, expand_all, NULL)) != STORE_OK)
		return rc;
	if ((rc = marked(q, first, last, &days, &n)) != STORE_OK)
		return rc;
	for (i = 0; i < n && rc == STORE_OK && (!end || now_ms() < end); i++) {
		rc = sq_tx(q, 5, settle_day, &days[i]);
		if (rc == STORE_OK && done)
			(*done)++;
	}
	if (rc != STORE_OK)
		log_warnx("usage figures: day %lld not computed", days[i - 1]);
	free(days);
	return rc;
}
