/*
 * cal: the calendar the reports count in. A day is a whole civil day of
 * the service's time zone, numbered from 1970-01-01 (day 0); months and
 * years are civil too (docs/LICENCES.md, "Periods"). The zone is the
 * process's (TZ), set once at start by cal_zone(); every other function
 * is pure or reads it only. Used by the store and the API.
 */
#ifndef MUTU_CAL_H
#define MUTU_CAL_H

#include <stddef.h>

/* Sets the process's time zone to name, an IANA zone ("Europe/Paris",
 * "UTC") found in the system's zone database. 0, or -1 with the reason
 * in err. For main(), before any thread starts. */
int cal_zone(const char *name, char *err, size_t errlen);

/* Day number of a proleptic Gregorian date (no check). */
long long cal_civil(int y, int m, int d);
/* The date of day number day. */
void cal_date(long long day, int *y, int *m, int *d);
/* The local day instant t (Unix seconds) falls on. */
long long cal_day(long long t);
/* The instant local day begins (its first second, DST handled: a
 * day lasts 23, 24 or 25 hours). */
long long cal_start(long long day);
/* The first day of day's month. */
long long cal_month(long long day);
/* Parses YYYY-MM-DD (a real date from 1900 to 9999) into *day: 0, or -1. */
int cal_parse(const char *s, long long *day);
/* Writes day as YYYY-MM-DD into out (n >= 11). */
void cal_format(long long day, char *out, size_t n);

/* A report's period: whole local days first to last, both included. */
struct cal_period {
	long long first, last;
};
/* The period of a request's parameters (each NULL when absent): from
 * and to (YYYY-MM-DD, both or neither), month (YYYY-MM), year (YYYY),
 * or days (N: the N whole days ending yesterday); at most one of these
 * forms; none gives the default_days ending yesterday. today is the
 * local day the request is answered on. 0, or -1 with a message naming
 * the problem in err. Periods longer than max_days are refused. */
int cal_period(const char *from, const char *to, const char *month,
               const char *year, const char *days, int default_days,
               int max_days, long long today, struct cal_period *p, char *err,
               size_t errlen);

#endif
