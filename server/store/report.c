/*
 * report: what the reports share (the window's bounds, the privacy rule
 * on user counts, hours) and the dispatcher of store_report(). Each
 * report has a file of its own, report_<name>.c (docs/LICENCES.md).
 */
#include "report.h"

#include <stdio.h>

#include "cal.h"

long long
report_end(long long day)
{
	return cal_start(day + 1);
}

/* Window bounds the reports share: days and ISO dates. */
void
report_bind_window(struct db_stmt *st, const struct store_query *qu)
{
	char d0[16], d1[16];

	cal_format(qu->first, d0, sizeof(d0));
	cal_format(qu->last, d1, sizeof(d1));
	db_bind_int64(st, 1, qu->first);
	db_bind_int64(st, 2, qu->last);
	db_bind_text(st, 3, d0);
	db_bind_text(st, 4, d1);
}

const char *
report_focus(const struct store_query *qu)
{
	if (qu->commune && *qu->commune)
		return qu->commune;
	return qu->viewer ? qu->viewer : "";
}

void
report_bind_months(struct db_stmt *st, int i, const struct store_query *qu)
{
	long long first = qu->first, last = qu->last;
	long long m = cal_month(first), m0, m1;

	/* a month has 28 to 31 days: m + 31 falls in the next one */
	m0 = m == first ? m : cal_month(m + 31);
	m1 = cal_month(last + 1);
	if (m0 >= m1)
		m0 = m1 = last + 1;
	db_bind_int64(st, i, m0);
	db_bind_int64(st, i + 1, m1);
}

json_t *
report_users(long long users, int own, int k)
{
	char s[16];

	if (own || users == 0 || users >= k)
		return json_integer(users);
	snprintf(s, sizeof(s), "<%d", k);
	return json_string(s);
}

json_t *
report_hours(long long seconds)
{
	return json_real((double)seconds / 3600.0);
}

int
report_inventory_only(struct sq *q, const struct store_query *qu, long long *n)
{
	struct db_stmt *st =
	    sq_prep(q, "SELECT count(*) FROM " REPORT_AGENTS_AT(
	                   "?1") " a"
	                         " WHERE a.source <> 'mutu-agent'"
	                         " AND (?2 IS NULL OR a.commune = ?2)"
	                         " AND a.enrolled < ?3"
	                         " AND " REPORT_IN_SERVICE("a", "?3"));
	int r;

	*n = 0;
	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, qu->last);
	sq_bind_opt(st, 2, report_focus(qu)[0] ? report_focus(qu) : NULL);
	db_bind_int64(st, 3, report_end(qu->last));
	if ((r = db_step(st)) == DB_ROW) {
		*n = db_column_int64(st, 0);
		r = db_step(st);
	}
	r = sq_done(q, r);
	db_finalize(st);
	return r;
}

int
report_run(struct sq *q, enum store_report kind, const struct store_query *qu,
           json_t **out)
{
	*out = NULL;
	switch (kind) {
	case REPORT_COMPLIANCE:
		return report_compliance(q, qu, out);
	case REPORT_RECLAIM:
		return report_reclaim(q, qu, out);
	case REPORT_COSTS:
		return report_costs(q, qu, out);
	case REPORT_USAGE:
		return report_usage(q, qu, out);
	}
	return STORE_ERR;
}
