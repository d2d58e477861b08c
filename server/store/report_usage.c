/*
 * report_usage: the usage of the window by month, product and commune
 * (docs/LICENCES.md, "usage").
 */
#include "report.h"

#include <stdio.h>
#include <string.h>

#include "engine.h"

/* The usage of the window by month: machines and users from the
 * summaries, hours from the daily figures (the union of each person's
 * intervals, docs/LICENCES.md, "Concurrency and hours"; stat.h); %1$s is the
 * month of t.day in the engine's spelling. */
/* clang-format off */
static const char trend_sql[] =
    "WITH s AS (SELECT %1$s AS month, t.product, t.commune,"
    " count(DISTINCT t.agent_id) AS used_machines,"
    " count(DISTINCT nullif(t.\"user\", '')) AS used_users"
    " FROM ("
    /* the usage of the window (?5 and ?6 bound by report_bind_months) */
    /* whole months, from the monthly rollup */
    "SELECT d.month AS day, m.norm AS product, d.commune, d.agent_id,"
    " d.\"user\" FROM usage_monthly d JOIN usage_map m"
    " ON m.product = d.product AND m.exe = d.exe"
    " WHERE m.norm IS NOT NULL AND month >= ?5 AND month < ?6"
    " AND (?3 = '' OR d.commune = ?3) AND (?4 IS NULL OR m.norm = ?4)"
    " UNION ALL "
    /* the days before the first whole month */
    "SELECT d.day AS day, m.norm AS product, d.commune, d.agent_id,"
    " d.\"user\" FROM usage_daily d JOIN usage_map m"
    " ON m.product = d.product AND m.exe = d.exe"
    " WHERE m.norm IS NOT NULL AND day >= ?1 AND day < ?5"
    " AND (?3 = '' OR d.commune = ?3) AND (?4 IS NULL OR m.norm = ?4)"
    " UNION ALL "
    /* the days after the last whole month */
    "SELECT d.day AS day, m.norm AS product, d.commune, d.agent_id,"
    " d.\"user\" FROM usage_daily d JOIN usage_map m"
    " ON m.product = d.product AND m.exe = d.exe"
    " WHERE m.norm IS NOT NULL AND day >= ?6 AND day <= ?2"
    " AND (?3 = '' OR d.commune = ?3) AND (?4 IS NULL OR m.norm = ?4)"
    ") AS t GROUP BY 1, 2, 3),"
    /* hours from the communes' daily figures (stat.h) */
    " h AS (SELECT %1$s AS month, t.product, t.holder AS commune,"
    " sum(t.secs) AS secs FROM usage_stat t"
    " WHERE t.level = 'commune' AND t.day >= ?1 AND t.day <= ?2"
    " AND (?3 = '' OR t.holder = ?3) AND (?4 IS NULL OR t.product = ?4)"
    " GROUP BY 1, 2, 3)"
    " SELECT s.month, s.product, s.commune,"
    " coalesce(h.secs, 0) AS usage_seconds, s.used_machines, s.used_users"
    " FROM s LEFT JOIN h ON h.month = s.month AND h.product = s.product"
    " AND h.commune = s.commune ORDER BY 2, 3, 1";
/* clang-format on */

int
report_usage(struct sq *q, const struct store_query *qu, json_t **out)
{
	char sql[sizeof(trend_sql) + 256];
	struct db_stmt *st;
	json_t *r;
	size_t i;
	int rc;

	snprintf(sql, sizeof(sql), trend_sql, engine_of(q->db)->month_sql);
	st = sq_prep(q, sql);
	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, qu->first);
	db_bind_int64(st, 2, qu->last);
	db_bind_text(st, 3, report_focus(qu));
	sq_bind_opt(st, 4, qu->product);
	report_bind_months(st, 5, qu);
	rc = sq_rows(q, st, out);
	db_finalize(st);
	if (rc != STORE_OK)
		return rc;
	json_array_foreach(*out, i, r)
	{
		int own = qu->viewer &&
		          strcmp(qu->viewer, sq_jstr(r, "commune")) == 0;

		/* hours as in every report: seconds / 3600, unrounded */
		json_object_set_new(r, "usage_hours",
		                    report_hours(json_integer_value(
		                        json_object_get(r, "usage_seconds"))));
		json_object_set_new(
		    r, "used_users",
		    report_users(
		        json_integer_value(json_object_get(r, "used_users")),
		        own, qu->k));
	}
	return STORE_OK;
}
