/*
 * report: the reports of the store, one file each (report_<name>.c), and
 * what they share (report.c). A new report gets a file of its own, an
 * entry point below, and a line in report_run() or store.c.
 *
 * Every entry point answers STORE_OK with *out set (owned by the
 * caller), or an error code with *out NULL: a query that fails, even
 * after some rows, is an error, never a short report. Private to the
 * store.
 */
#ifndef MUTU_REPORT_H
#define MUTU_REPORT_H

#include "store_sql.h"

/* store_report() on a connection: runs the report of that kind. */
int report_run(struct sq *q, enum store_report kind,
               const struct store_query *qu, json_t **out);

/* The reports (docs/LICENCES.md; store.h says what each answers). */
int report_licences(struct sq *q, const struct store_query *qu, json_t **out);
int report_compliance(struct sq *q, const struct store_query *qu, json_t **out);
int report_reclaim(struct sq *q, const struct store_query *qu, json_t **out);
int report_costs(struct sq *q, const struct store_query *qu, json_t **out);
int report_usage(struct sq *q, const struct store_query *qu, json_t **out);
/* The listings (report_machines.c). */
int report_machines(struct sq *q, const struct store_query *qu, json_t **out);
int report_machine(struct sq *q, const struct store_query *qu, const char *id,
                   json_t **out);
int report_communes(struct sq *q, const struct store_query *qu, json_t **out);
/* The fleet's state at now, for /metrics (report_fleet.c). */
int report_fleet(struct sq *q, long long now, json_t **out);

/* The window. A report reads the usage of its period [qu->first,
 * qu->last] (local days, cal.h)
 * as the union of three row sets, written out in its SQL: the whole
 * months from usage_monthly, and the days at either end from
 * usage_daily (two day ranges, each served by an index). */

/* Binds parameters 1 to 4 of st: the window's first and last day
 * numbers, then its first and last days as YYYY-MM-DD. */
void report_bind_window(struct db_stmt *st, const struct store_query *qu);
/* Binds parameters i and i + 1 of st to the bounds [m0, m1) of the
 * window's whole months (no whole month: both the day after the
 * window): the monthly rows are month >= m0 AND month < m1, the daily
 * ones day >= first AND day < m0, and day >= m1 AND day <= last. */
void report_bind_months(struct db_stmt *st, int i,
                        const struct store_query *qu);
/* SQL: whether the machine of the agents row a (an alias) was in
 * service on a period's last day, that is neither revoked nor retired
 * on or before it; end is an SQL expression of the instant the day after
 * it begins (report_end()). An installation counts in a period whose
 * last day is that; its usage counts whatever became of it
 * (docs/LICENCES.md, "Lifecycle"). */
#define REPORT_IN_SERVICE(a, end)                                              \
	"(" a ".revoked_at IS NULL OR " a ".revoked_at >= " end ")"            \
	" AND (" a ".retired_at IS NULL OR " a ".retired_at >= " end ")"
/* The instant the day after day begins: REPORT_IN_SERVICE's end. */
long long report_end(long long day);
/* The commune a report is focused on: the query's, else the viewer's,
 * else "" (the intercommunal view). */
const char *report_focus(const struct store_query *qu);

/* A count of users as a report shows it: from 1 to k - 1 as the string
 * "<k" unless own (the row is the viewer's own commune), else the
 * number (docs/LICENCES.md, "Privacy"). */
json_t *report_users(long long users, int own, int k);
/* usage_hours as every report gives it: seconds / 3600, unrounded (the
 * exact figure is usage_seconds; mutuctl rounds for display). */
json_t *report_hours(long long seconds);

#endif
