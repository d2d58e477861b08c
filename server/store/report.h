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
/*
 * Usage intervals (docs/LICENCES.md, "Concurrency and hours"): SQL common
 * table expressions over the intervals [t0, t1) of usage_span, which a
 * report writes out after its own source of them, a CTE with columns
 * (<keys>, day, t0, t1) (each interval within its local day). Only the
 * licences of raw names (view=raw) still use them; the figures of
 * catalogue products come from the daily figures (stat.h), which apply
 * the same arithmetic in C.
 *
 * REPORT_MERGE(name, src, keys): name(<keys>, day, t0, t1), the intervals
 * of src cut so that those of the same keys and day no longer overlap:
 * in the order of their starts, each keeps only what it holds after the
 * latest end of the ones before it (and is left out when that is
 * nothing). The pieces of a key cover the union of its intervals, once:
 * merged per person (the user, or the machine that sent no user id),
 * their lengths add up to the union of that person's hours; merged per
 * machine, each machine counts once however many programs of the product
 * it had open (its pieces only touch, an end and a start at one instant).
 * One window pass, no grouping.
 *
 * REPORT_PEAK(name, src, keys): name(<keys>, peak), the most intervals of
 * src open at one instant per keys: +1 at each start, -1 at each end,
 * ends before starts at the same instant (an interval ends before the
 * next begins), the running sum's maximum.
 *
 * Names and keys are constant strings of the reports' SQL, never input.
 */
#define REPORT_MERGE(name, src, keys)                                          \
	" " name "_g AS (SELECT " keys ", day, t0, t1, max(t1) OVER"           \
	" (PARTITION BY " keys ", day ORDER BY t0, t1 ROWS BETWEEN"            \
	" UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev FROM " src "),"         \
	" " name " AS (SELECT " keys ", day, CASE WHEN prev > t0 THEN prev"    \
	" ELSE t0 END AS t0, t1 FROM " name "_g"                               \
	" WHERE prev IS NULL OR prev < t1)"
#define REPORT_PEAK(name, src, keys)                                           \
	" " name "_e AS (SELECT " keys ", t0 AS t, 1 AS d FROM " src           \
	" UNION ALL SELECT " keys ", t1, -1 FROM " src "),"                    \
	" " name " AS (SELECT " keys ", max(n) AS peak FROM (SELECT " keys     \
	", sum(d) OVER (PARTITION BY " keys " ORDER BY t, d ROWS UNBOUNDED"    \
	" PRECEDING) AS n FROM " name "_e) AS r GROUP BY " keys ")"
/* The person of a usage_span row alias a: its user's pseudonym in its
 * commune (pseudonyms are keyed per commune), or its machine when it sent
 * no user id. */
#define REPORT_PERSON(a)                                                       \
	"CASE WHEN " a ".\"user\" = '' THEN '#' || " a ".agent_id ELSE " a     \
	".commune || '/' || " a ".\"user\" END"

/* SQL: the agents table as of a period's last day (last, an SQL
 * expression of its day number), for the installation counts of that
 * period (docs/LICENCES.md, "Lifecycle"): each machine in the commune it
 * belonged to on that day (the one it was moved from by its first move on
 * that day or later, else its own; the day of a move is the former
 * commune's). Installations are the machines' latest inventories: a
 * machine counts in any period ending while it is in service
 * (REPORT_IN_SERVICE). Use it as "JOIN " REPORT_AGENTS_AT(l) " a". */
#define REPORT_AGENTS_AT(last)                                                 \
	"(SELECT x.agent_id, x.hostname, x.enrolled, x.revoked_at,"            \
	" x.retired_at, x.source,"                                             \
	" coalesce((SELECT m.from_commune FROM moves m"                        \
	" WHERE m.agent_id = x.agent_id AND m.day >= " last                    \
	" ORDER BY m.day, m.id LIMIT 1), x.commune) AS commune FROM agents x)"

/* How many machines in service at the end of qu's period, in its
 * commune (or all), only a foreign agent reports (docs/INTEROP.md): their
 * installations count, their usage is unknown. STORE_OK or STORE_ERR. */
int report_inventory_only(struct sq *q, const struct store_query *qu,
                          long long *n);

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
