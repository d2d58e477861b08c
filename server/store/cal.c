/*
 * cal: local days, civil dates and report periods (cal.h).
 */
#include "cal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

int
cal_zone(const char *name, char *err, size_t errlen)
{
	char path[512];
	struct stat sb;
	size_t n = strlen(name);

	/* a zone name is a relative path of the zone database, nothing
	 * else: no "..", no leading "/", no POSIX TZ string */
	if (n == 0 || n > 64 || name[0] == '/' || strstr(name, "..") ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                 "0123456789/_+-") != n) {
		snprintf(err, errlen,
		         "time_zone: '%.64s' is not a zone name such as "
		         "Europe/Paris",
		         name);
		return -1;
	}
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	if (stat(path, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		/* glibc would fall back to UTC without a word */
		snprintf(err, errlen,
		         "time_zone: no zone '%s' in /usr/share/zoneinfo "
		         "(is tzdata installed?)",
		         name);
		return -1;
	}
	if (setenv("TZ", name, 1) == -1) {
		snprintf(err, errlen, "time_zone: setenv failed");
		return -1;
	}
	tzset();
	return 0;
}

long long
cal_civil(int y, int m, int d)
{
	long long yy = y - (m <= 2), era, yoe, doy, doe;

	/* H. Hinnant's days_from_civil */
	era = (yy >= 0 ? yy : yy - 399) / 400;
	yoe = yy - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
cal_date(long long day, int *y, int *m, int *d)
{
	long long z = day + 719468, era, doe, yoe, doy, mp;

	/* civil_from_days, the inverse */
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

long long
cal_day(long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL)
		return t / 86400;
	return cal_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

long long
cal_start(long long day)
{
	struct tm tm;
	time_t t;
	int y, m, d;

	cal_date(day, &y, &m, &d);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_isdst = -1;
	if ((t = mktime(&tm)) == (time_t)-1)
		return day * 86400;
	/* a zone whose clocks skip midnight starts the day at the first
	 * instant that exists, which mktime gives; one whose clocks go back
	 * over midnight has two: the first is the day's start */
	if (cal_day((long long)t - 3600) == day)
		t -= 3600;
	return (long long)t;
}

long long
cal_month(long long day)
{
	int y, m, d;

	cal_date(day, &y, &m, &d);
	return day - (d - 1);
}

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int y, int m)
{
	static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && leap(y) ? 29 : n[m - 1];
}

/* Reads exactly 'digits' decimal digits from s. */
static int
digits(const char *s, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
cal_parse(const char *s, long long *day)
{
	int y, m, d;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    digits(s, 4, &y) || digits(s + 5, 2, &m) || digits(s + 8, 2, &d) ||
	    y < 1900 || m < 1 || m > 12 || d < 1 || d > month_days(y, m))
		return -1;
	*day = cal_civil(y, m, d);
	return 0;
}

void
cal_format(long long day, char *out, size_t n)
{
	int y, m, d;

	cal_date(day, &y, &m, &d);
	snprintf(out, n, "%04d-%02d-%02d", y, m, d);
}

/* month = YYYY-MM */
static int
parse_month(const char *s, struct cal_period *p)
{
	int y, m;

	if (strlen(s) != 7 || s[4] != '-' || digits(s, 4, &y) ||
	    digits(s + 5, 2, &m) || y < 1900 || m < 1 || m > 12)
		return -1;
	p->first = cal_civil(y, m, 1);
	p->last = p->first + month_days(y, m) - 1;
	return 0;
}

static int
parse_year(const char *s, struct cal_period *p)
{
	int y;

	if (strlen(s) != 4 || digits(s, 4, &y) || y < 1900)
		return -1;
	p->first = cal_civil(y, 1, 1);
	p->last = cal_civil(y, 12, 31);
	return 0;
}

int
cal_period(const char *from, const char *to, const char *month,
           const char *year, const char *days, int default_days, int max_days,
           long long today, struct cal_period *p, char *err, size_t errlen)
{
	long long n = default_days;
	int forms =
	    (from || to) + (month != NULL) + (year != NULL) + (days != NULL);

	if (forms > 1) {
		snprintf(
		    err, errlen,
		    "period: give one of from and to, month, year or days");
		return -1;
	}
	if ((from == NULL) != (to == NULL)) {
		snprintf(err, errlen, "period: from and to go together");
		return -1;
	}
	if (from && (cal_parse(from, &p->first) || cal_parse(to, &p->last))) {
		snprintf(err, errlen, "from, to: expected dates as YYYY-MM-DD");
		return -1;
	}
	if (from && p->first > p->last) {
		snprintf(err, errlen, "period: from is after to");
		return -1;
	}
	if (month && parse_month(month, p)) {
		snprintf(err, errlen, "month: expected YYYY-MM");
		return -1;
	}
	if (year && parse_year(year, p)) {
		snprintf(err, errlen, "year: expected YYYY");
		return -1;
	}
	if (days && util_parse_ll(days, 1, max_days, &n) == -1) {
		snprintf(err, errlen, "days: expected 1 to %d", max_days);
		return -1;
	}
	if (days || forms == 0) {
		/* the n whole days ending yesterday: closed, so re-running
		 * the same period later gives the same answer */
		p->last = today - 1;
		p->first = today - n;
	}
	if (p->last - p->first + 1 > max_days) {
		snprintf(err, errlen, "period: longer than %d days", max_days);
		return -1;
	}
	return 0;
}
