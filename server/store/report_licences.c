/*
 * report_licences: installations and usage per product (or raw name) and
 * commune over the window, with the totals across communes
 * (docs/LICENCES.md, "licences").
 */
#include "report.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* The licence query. %1$s is the commune column of a row: the real one
 * for per-commune rows, '*' for the totals across communes. %2$s filters
 * usage by commune: "a.commune = ?1" for one (the (commune, day) index
 * serves it; "?1 IS NULL OR ..." would keep the planner on the day range),
 * "?1 IS NULL" for all. %3$s and %4$s name a row's software and usage:
 * the catalogue product (m.product, m.norm: rows no rule maps are left
 * out) or, for view=raw, the raw name (rows an ignore rule drops are left
 * out all the same). %5$s is the CTEs hrs, pk and pu of hours and
 * peaks (licence_figures). Only these constant strings are substituted.
 * Whole months of the window come from the monthly rollup, the days at
 * either end (?6, ?7: report_bind_months) from the daily summaries. */
/* clang-format off */
static const char licence_sql[] =
    "WITH inst AS ("
    "  SELECT %1$s AS commune, %3$s AS product,"
    "    count(DISTINCT s.agent_id) AS n"
    "  FROM software s JOIN " REPORT_AGENTS_AT("?4") " a"
    "   ON a.agent_id = s.agent_id"
    "  JOIN software_map m ON m.name = s.name"
    "   AND m.publisher = coalesce(s.publisher, '')"
    "  WHERE (?1 IS NULL OR a.commune = ?1) AND m.ignored = 0"
    "    AND %3$s IS NOT NULL AND (?2 IS NULL OR %3$s = ?2)"
    "    AND " REPORT_IN_SERVICE("a", "?8")
    "  GROUP BY 1, 2),"
    " u AS ("
    /* whole months, from the monthly rollup */
    "SELECT %1$s AS commune, %4$s AS product, a.agent_id,"
    " nullif(a.\"user\", '') AS \"user\", a.last_end"
    " FROM usage_monthly a JOIN usage_map m"
    " ON m.product = a.product AND m.exe = a.exe"
    " WHERE month >= ?6 AND month < ?7 AND %2$s AND m.ignored = 0 AND %4$s IS NOT NULL"
    " AND (?2 IS NULL OR %4$s = ?2)"
    " UNION ALL "
    /* the days before the first whole month */
    "SELECT %1$s AS commune, %4$s AS product, a.agent_id,"
    " nullif(a.\"user\", '') AS \"user\", a.last_end"
    " FROM usage_daily a JOIN usage_map m"
    " ON m.product = a.product AND m.exe = a.exe"
    " WHERE day >= ?3 AND day < ?6 AND %2$s AND m.ignored = 0 AND %4$s IS NOT NULL"
    " AND (?2 IS NULL OR %4$s = ?2)"
    " UNION ALL "
    /* the days after the last whole month */
    "SELECT %1$s AS commune, %4$s AS product, a.agent_id,"
    " nullif(a.\"user\", '') AS \"user\", a.last_end"
    " FROM usage_daily a JOIN usage_map m"
    " ON m.product = a.product AND m.exe = a.exe"
    " WHERE day >= ?7 AND day <= ?4 AND %2$s AND m.ignored = 0 AND %4$s IS NOT NULL"
    " AND (?2 IS NULL OR %4$s = ?2)"
    "),"
    " used AS ("
    "  SELECT commune, product, count(DISTINCT agent_id) AS machines,"
    "    count(DISTINCT \"user\") AS users, max(last_end) AS last"
    "  FROM u GROUP BY 1, 2),"
    /* hours and the peaks: hrs, pk and pu (%5$s) */
    "%5$s"
    " keys AS (SELECT commune, product FROM inst"
    "  UNION SELECT commune, product FROM used)"
    " SELECT k.product, k.commune, coalesce(i.n, 0),"
    "  coalesce(x.machines, 0), coalesce(x.users, 0),"
    "  coalesce(h.secs, 0), coalesce(d.peak, 0), x.last, p.name,"
    "  p.metering, coalesce(pu.peak, 0)"
    " FROM keys k"
    " LEFT JOIN inst i ON i.commune = k.commune AND i.product = k.product"
    " LEFT JOIN used x ON x.commune = k.commune AND x.product = k.product"
    " LEFT JOIN hrs h ON h.commune = k.commune AND h.product = k.product"
    " LEFT JOIN pk d ON d.commune = k.commune AND d.product = k.product"
    " LEFT JOIN pu ON pu.commune = k.commune AND pu.product = k.product"
    " LEFT JOIN products p ON p.key = k.product"
    " ORDER BY 6 DESC, 3 DESC, 1, 2"
    " LIMIT ?5";
/* The figures of the raw names, from the intervals of the window's days
 * (%1$s, %2$s: licence_sql's; %3$s its %4$s). */
static const char raw_figures[] =
    " sp AS ("
    "  SELECT %1$s AS commune, %3$s AS product, a.agent_id,"
    "    " REPORT_PERSON("a") " AS person, a.day, a.t0, a.t1"
    "  FROM usage_span a JOIN usage_map m"
    "   ON m.product = a.product AND m.exe = a.exe"
    "  WHERE a.day >= ?3 AND a.day <= ?4 AND %2$s"
    "    AND m.ignored = 0 AND %3$s IS NOT NULL"
    "    AND (?2 IS NULL OR %3$s = ?2)),"
    REPORT_MERGE("hu", "sp", "commune, product, person") ","
    " hrs AS (SELECT commune, product, sum(t1 - t0) AS secs FROM hu"
    "  GROUP BY 1, 2),"
    REPORT_PEAK("pu", "hu", "commune, product") ","
    REPORT_MERGE("mu", "sp", "commune, product, agent_id") ","
    REPORT_PEAK("pk", "mu", "commune, product") ",";
/* The figures of catalogue products, from their days' (stat.h): %1$s the
 * commune column (a.holder, or '*'), %2$s the scope (level and holder). */
static const char stat_figures[] =
    " st AS (SELECT %1$s AS commune, a.product, sum(a.secs) AS secs,"
    "  max(a.peak) AS peak, max(a.peak_users) AS peak_users"
    "  FROM usage_stat a WHERE %2$s AND a.day >= ?3 AND a.day <= ?4"
    "  AND (?2 IS NULL OR a.product = ?2) GROUP BY 1, 2),"
    " hrs AS (SELECT commune, product, secs FROM st),"
    " pk AS (SELECT commune, product, peak FROM st),"
    " pu AS (SELECT commune, product, peak_users AS peak FROM st),";
/* clang-format on */

/* Writes into fig (n bytes) the figures CTEs of licence_rows(col,
 * filter, names): from the daily figures of the communes, or of all for
 * the totals across communes, else (raw names) from the intervals. */
static void
licence_figures(char *fig, size_t n, const struct store_query *qu,
                const char *col, const char *filter, const char *name)
{
	int total = strcmp(col, "'*'") == 0;
	const char *scope = qu->commune
	                        ? "a.level = 'commune' AND a.holder = ?1"
	                    : total ? "a.level = 'all'"
	                            : "a.level = 'commune'";

	if (qu->raw)
		snprintf(fig, n, raw_figures, col, filter, name);
	else
		snprintf(fig, n, stat_figures, total ? "'*'" : "a.holder",
		         scope);
}

/* The licence rows (col: "a.commune" per commune, "'*'" for the totals
 * across communes), by product or, with qu->raw, by raw name. User
 * counts from 1 to k - 1 show as "<k" except in the rows of the
 * viewer's own commune, as in every report (report_users). */
static int
licence_rows(struct sq *q, const struct store_query *qu, const char *col,
             json_t *out)
{
	/* names: catalogue products, or raw names (view=raw) */
	static const char *const names[2][2] = {{"m.product", "m.norm"},
	                                        {"s.name", "a.product"}};
	char sql[sizeof(licence_sql) + sizeof(raw_figures) + 1024];
	char fig[sizeof(raw_figures) + 512];
	const char *commune,
	    *filter = qu->commune ? "a.commune = ?1" : "?1 IS NULL";
	struct db_stmt *st;
	json_t *row;
	int r, own;

	licence_figures(fig, sizeof(fig), qu, col, filter,
	                names[qu->raw != 0][1]);
	snprintf(sql, sizeof(sql), licence_sql, col, filter,
	         names[qu->raw != 0][0], names[qu->raw != 0][1], fig);
	if ((st = sq_prep(q, sql)) == NULL)
		return STORE_ERR;
	sq_bind_opt(st, 1, qu->commune);
	sq_bind_opt(st, 2, qu->product);
	db_bind_int64(st, 3, qu->first);
	db_bind_int64(st, 4, qu->last);
	db_bind_int64(st, 5, qu->limit > 0 ? qu->limit : LLONG_MAX);
	report_bind_months(st, 6, qu);
	db_bind_int64(st, 8, report_end(qu->last));
	while ((r = db_step(st)) == DB_ROW) {
		commune = db_column_text(st, 1);
		/* a commune admin's totals are its own commune's */
		own = qu->viewer && *qu->viewer &&
		      (strcmp(commune, qu->viewer) == 0 ||
		       (strcmp(commune, "*") == 0 && qu->commune &&
		        strcmp(qu->commune, qu->viewer) == 0));
		row = json_pack(
		    "{s:s, s:s, s:I, s:I, s:o, s:o, s:I, s:I, s:o}", "product",
		    db_column_text(st, 0), "commune", commune, "installed",
		    (json_int_t)db_column_int64(st, 2), "used_machines",
		    (json_int_t)db_column_int64(st, 3), "used_users",
		    report_users(db_column_int64(st, 4), own, qu->k),
		    "usage_hours", report_hours(db_column_int64(st, 5)),
		    "usage_seconds", (json_int_t)db_column_int64(st, 5),
		    "peak_concurrent", (json_int_t)db_column_int64(st, 6),
		    "last_used", sq_iso(st, 7));
		if (row && db_column_type(st, 8) != DB_NULL)
			json_object_set_new(row, "product_name",
			                    json_string(db_column_text(st, 8)));
		if (row)
			json_object_set_new(
			    row, "peak_users",
			    report_users(db_column_int64(st, 10), own, qu->k));
		if (row && db_column_type(st, 9) != DB_NULL)
			json_object_set_new(row, "metering",
			                    json_string(db_column_text(st, 9)));
		if (row == NULL || json_array_append_new(out, row) == -1)
			break;
	}
	db_finalize(st);
	return r == DB_DONE ? STORE_OK : STORE_ERR;
}

int
report_licences(struct sq *q, const struct store_query *qu, json_t **out)
{
	json_t *rows = json_array(), *totals = json_array();
	struct store_query all = *qu;
	long long foreign;

	/* the limit trims the rows; the totals are over every row */
	all.limit = 0;
	*out = NULL;
	if (licence_rows(q, qu, "a.commune", rows) != STORE_OK ||
	    licence_rows(q, &all, "'*'", totals) != STORE_OK) {
		json_decref(rows);
		json_decref(totals);
		return STORE_ERR;
	}
	if (report_inventory_only(q, qu, &foreign) != STORE_OK) {
		json_decref(rows);
		json_decref(totals);
		return STORE_ERR;
	}
	*out = json_pack("{s:o, s:o, s:s, s:I}", "rows", rows, "totals", totals,
	                 "view", qu->raw ? "raw" : "products",
	                 "inventory_only_machines", (json_int_t)foreign);
	return *out ? STORE_OK : STORE_ERR;
}
