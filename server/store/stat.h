/*
 * stat: the daily figures of the usage intervals (docs/LICENCES.md,
 * "Concurrency and hours"), kept so that a report adds up days instead
 * of sweeping every interval of its window (docs/PERFORMANCE.md,
 * "Daily figures").
 *
 * usage_stat holds, per local day, scope (level 'commune' with the
 * commune's code, 'pool' with the pool's, 'all' with '*') and catalogue
 * product: the union of each person's hours added up (secs), the most
 * machines running it at one instant (peak) and the most people (peak_users).
 * A window's figure is the sum of its days' secs and the most of their
 * peaks: the intervals are cut at day boundaries, so a day's union and
 * peak never depend on another day.
 *
 * Ingest marks the days it adds intervals to (stat_mark); a catalogue or
 * pool change marks every day (stat_mark_all). The marked days are
 * computed again by stat_settle(), which reports call for their window
 * before reading and the server's loop calls for every day: a report
 * never reads a figure older than the data. Private to the store.
 */
#ifndef MUTU_STAT_H
#define MUTU_STAT_H

#include "store_sql.h"

/* Marks day as to compute again (in the caller's transaction). STORE_OK
 * or STORE_ERR. */
int stat_mark(struct sq *q, long long day);
/* Marks every day that has intervals (in the caller's transaction),
 * as the day STAT_ALL, whatever the caller's scope. */
#define STAT_ALL (-1LL)
int stat_mark_all(struct sq *q);
/* Computes again the marked days in [first, last], oldest first, each
 * in a transaction of its own, on a connection that sees every commune,
 * until budget_ms milliseconds have passed (0: all of them); *done (may
 * be NULL) gets how many. STORE_OK, or STORE_ERR (the days not yet done
 * stay marked). */
int stat_settle(struct sq *q, long long first, long long last,
                long long budget_ms, long *done);

#endif
