/*
 * report_fleet: the fleet's state now, per commune, for GET /metrics:
 * machines by state, records the agents reported lost, the largest clock
 * offset, and the database's size (docs/OPERATIONS.md, "Metrics").
 */
#include "report.h"

#include "engine.h"

/* Per commune (every one, with or without machines): machines active
 * (in contact within 7 days of ?1), silent 7 to 30 days, silent 30 days
 * or more, enrolled within 7 days but not reported yet, revoked, retired
 * (each machine in one state: retired before revoked; contact is the last
 * batch or, without one, the enrolment, as mutuctl machines counts it);
 * the records its agents reported lost (as machines' records_lost); the
 * largest clock offset of its machines in ms (NULL: none known); the last
 * contact of a machine in service (NULL: none). */
static const char fleet_sql[] =
    "WITH a AS (SELECT agent_id, commune, clock_offset_ms,"
    "  coalesce(last_seen, enrolled) AS last_seen,"
    "  CASE WHEN retired_at IS NOT NULL THEN 'retired'"
    "   WHEN revoked != 0 THEN 'revoked'"
    "   WHEN coalesce(last_seen, enrolled) < ?1 - 30 * 86400"
    "    THEN 'silent_30d'"
    "   WHEN coalesce(last_seen, enrolled) < ?1 - 7 * 86400"
    "    THEN 'silent_7d'"
    "   WHEN last_seen IS NULL THEN 'never'"
    "   ELSE 'active' END AS state FROM agents)"
    " SELECT c.code,"
    " sum(CASE WHEN a.state = 'active' THEN 1 ELSE 0 END),"
    " sum(CASE WHEN a.state = 'silent_7d' THEN 1 ELSE 0 END),"
    " sum(CASE WHEN a.state = 'silent_30d' THEN 1 ELSE 0 END),"
    " sum(CASE WHEN a.state = 'never' THEN 1 ELSE 0 END),"
    " sum(CASE WHEN a.state = 'revoked' THEN 1 ELSE 0 END),"
    " sum(CASE WHEN a.state = 'retired' THEN 1 ELSE 0 END),"
    " (SELECT coalesce(sum(g.records), 0) FROM gaps g"
    "  WHERE g.commune = c.code AND g.reason != 'enqueue_failed'),"
    " max(CASE WHEN a.state IN ('revoked', 'retired') THEN NULL"
    "  WHEN a.clock_offset_ms < 0 THEN -a.clock_offset_ms"
    "  ELSE a.clock_offset_ms END),"
    " max(CASE WHEN a.state NOT IN ('revoked', 'retired')"
    "  THEN a.last_seen END)"
    " FROM communes c LEFT JOIN a ON a.commune = c.code"
    " GROUP BY c.code ORDER BY c.code";

static json_t *
fleet_row(struct db_stmt *st)
{
	return json_pack("{s:I, s:o, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
	                 "retired", (json_int_t)db_column_int64(st, 6),
	                 "last_seen",
	                 db_column_type(st, 9) == DB_NULL
	                     ? json_null()
	                     : json_integer(db_column_int64(st, 9)),
	                 "commune", db_column_text(st, 0), "active",
	                 (json_int_t)db_column_int64(st, 1), "silent_7d",
	                 (json_int_t)db_column_int64(st, 2), "silent_30d",
	                 (json_int_t)db_column_int64(st, 3), "never",
	                 (json_int_t)db_column_int64(st, 4), "revoked",
	                 (json_int_t)db_column_int64(st, 5), "records_lost",
	                 (json_int_t)db_column_int64(st, 7), "clock_offset_s",
	                 db_column_type(st, 8) == DB_NULL
	                     ? json_null()
	                     : json_real(db_column_int64(st, 8) / 1000.0));
}

/* The database's size in bytes into *size: STORE_OK or STORE_ERR. */
static int
fleet_size(struct sq *q, long long *size)
{
	const char *size_sql = engine_of(q->db)->size_sql; /* a constant */
	struct db_stmt *st = sq_prep(q, size_sql);
	int r;

	if (st == NULL)
		return STORE_ERR;
	if ((r = db_step(st)) == DB_ROW)
		*size = db_column_int64(st, 0);
	db_finalize(st);
	return r == DB_ROW ? STORE_OK : STORE_ERR;
}

int
report_fleet(struct sq *q, long long now, json_t **out)
{
	struct db_stmt *st;
	long long size = 0;
	json_t *rows;
	int r;

	*out = NULL;
	if (fleet_size(q, &size) != STORE_OK ||
	    (st = sq_prep(q, fleet_sql)) == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, now);
	rows = json_array();
	while ((r = db_step(st)) == DB_ROW)
		if (json_array_append_new(rows, fleet_row(st)) == -1)
			break; /* out of memory: r says DB_ROW, an error */
	db_finalize(st);
	if (r == DB_ROW || sq_done(q, r) != STORE_OK) {
		json_decref(rows);
		return STORE_ERR;
	}
	*out = json_pack("{s:o, s:I}", "communes", rows, "database_bytes",
	                 (json_int_t)size);
	return STORE_OK;
}
