/*
 * report: what the reports share (the window's bounds, the privacy rule
 * on user counts, hours) and the dispatcher of store_report(). Each
 * report has a file of its own, report_<name>.c (docs/LICENCES.md).
 */
#include "report.h"

#include <stdio.h>
#include <time.h>

void
report_day(long long t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%d", &tm);
}

/* Window bounds the reports share: days and ISO dates. */
void
report_bind_window(struct db_stmt *st, const struct store_query *qu)
{
	char d0[16], d1[16];

	report_day(qu->from, d0, sizeof(d0));
	report_day(qu->to, d1, sizeof(d1));
	db_bind_int64(st, 1, qu->from / 86400);
	db_bind_int64(st, 2, qu->to / 86400);
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
	long long first = qu->from / 86400, last = qu->to / 86400;
	long long m = sq_month(first), m0, m1;

	/* a month has 28 to 31 days: m + 31 falls in the next one */
	m0 = m == first ? m : sq_month(m + 31);
	m1 = sq_month(last + 1);
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
