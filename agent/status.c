#include "status.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "util.h"

int
status_read(const char *path, long long max_age, long long budget,
            struct status *st, char *err, size_t errlen)
{
	struct queue *q;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	st->max_age = max_age;
	st->disk_budget = budget;
	if ((q = queue_open_readonly(path, err, errlen)) == NULL)
		return -1;
	if (queue_stats(q, &st->queue) == -1 ||
	    sync_state_load(q, &st->sync) == -1) {
		snprintf(err, errlen, "%s: cannot read the queue", path);
		goto done;
	}
	st->disk_bytes = queue_disk_bytes(q);
	/* After the reads: what sync wrote meanwhile is not in the future. */
	st->now = time(NULL);
	rc = 0;
done:
	queue_close(q);
	return rc;
}

long long
status_waiting_since(const struct status *st)
{
	if (st->queue.records <= 0)
		return 0;
	return st->sync.ok_at > st->queue.oldest ? st->sync.ok_at
	                                         : st->queue.oldest;
}

int
status_failing(const struct status *st)
{
	long long since = status_waiting_since(st);

	return since != 0 && st->now - since > st->max_age;
}

int
status_parse_hours(const char *s, long long *secs)
{
	char *end;
	double h;

	/* Digits first: no sign, blank, "inf" or "nan". */
	if (s == NULL || !(isdigit((unsigned char)*s) || *s == '.'))
		return -1;
	errno = 0;
	h = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(h >= 0 && h <= 87600))
		return -1;
	*secs = (long long)(h * 3600 + 0.5);
	return 0;
}

void
status_duration(long long secs, char *out, size_t n)
{
	long long big, small;

	if (secs < 0)
		secs = 0;
	if (secs < 60) {
		snprintf(out, n, "%lld s", secs);
		return;
	}
	if (secs < 3600) {
		snprintf(out, n, "%lld min", secs / 60);
		return;
	}
	if (secs < 86400) {
		big = secs / 3600, small = secs % 3600 / 60;
		if (small)
			snprintf(out, n, "%lld h %lld min", big, small);
		else
			snprintf(out, n, "%lld h", big);
		return;
	}
	big = secs / 86400, small = secs % 86400 / 3600;
	if (small)
		snprintf(out, n, "%lld d %lld h", big, small);
	else
		snprintf(out, n, "%lld d", big);
}

/* t as "2026-12-02T10:00:00Z (3 h 5 min ago)". */
static void
when(long long t, long long now, char *out, size_t n)
{
	char iso[32], d[32];

	util_isotime((time_t)t, iso, sizeof(iso));
	status_duration(t <= now ? now - t : t - now, d, sizeof(d));
	snprintf(out, n, "%s (%s %s)", iso, d,
	         t <= now ? "ago" : "ahead of this clock");
}

/* The first line: the verdict, with why. */
static void
print_verdict(FILE *fp, const struct status *st)
{
	long long since = status_waiting_since(st);
	char wait[32], max[32];

	status_duration(st->now - since, wait, sizeof(wait));
	status_duration(st->max_age, max, sizeof(max));
	if (status_failing(st))
		fprintf(fp,
		        "status: failing: no delivery for %s while %lld "
		        "records wait (max age %s)\n",
		        wait, st->queue.records, max);
	else if (since != 0 && st->sync.failing_since != 0)
		fprintf(fp,
		        "status: ok, but no delivery for %s while %lld "
		        "records wait (max age %s)\n",
		        wait, st->queue.records, max);
	else
		fprintf(fp, "status: ok\n");
}

static int
print_text(FILE *fp, const struct status *st)
{
	char t[96];

	print_verdict(fp, st);
	fprintf(fp, "queued: %lld\n", st->queue.records);
	if (st->queue.records > 0) {
		when(st->queue.oldest, st->now, t, sizeof(t));
		fprintf(fp, "oldest: %s\n", t);
	} else
		fprintf(fp, "oldest: none\n");
	if (st->sync.ok_at) {
		when(st->sync.ok_at, st->now, t, sizeof(t));
		fprintf(fp, "last_delivery: %s\n", t);
	} else
		fprintf(fp, "last_delivery: never\n");
	if (st->sync.error_at) {
		when(st->sync.error_at, st->now, t, sizeof(t));
		fprintf(fp, "last_error: %s: %s\n", t, st->sync.error);
	} else
		fprintf(fp, "last_error: none\n");
	if (st->sync.failing_since) {
		when(st->sync.failing_since, st->now, t, sizeof(t));
		fprintf(fp, "failing_since: %s\n", t);
	} else
		fprintf(fp, "failing_since: no\n");
	fprintf(fp, "disk: %lld of %lld bytes (%.1f %%)\n", st->disk_bytes,
	        st->disk_budget,
	        st->disk_budget > 0
	            ? 100.0 * (double)st->disk_bytes / (double)st->disk_budget
	            : 0.0);
	fprintf(fp, "quarantined: %lld\n", st->queue.quarantined);
	fprintf(fp, "dropped: %lld\n", st->queue.dropped);
	return ferror(fp) ? -1 : 0;
}

/* t as a JSON integer, or null for 0 (never). */
static json_t *
time_or_null(long long t)
{
	return t ? json_integer((json_int_t)t) : json_null();
}

static int
print_json(FILE *fp, const struct status *st)
{
	long long since = status_waiting_since(st);
	json_t *j, *err = json_null();
	int rc;

	if (st->sync.error_at)
		err = json_pack("{s:I, s:s}", "time",
		                (json_int_t)st->sync.error_at, "message",
		                st->sync.error);
	j = json_pack(
	    "{s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I}",
	    "status", status_failing(st) ? "failing" : "ok", "queued",
	    (json_int_t)st->queue.records, "in_batch",
	    (json_int_t)st->queue.in_batch, "oldest",
	    time_or_null(st->queue.records > 0 ? st->queue.oldest : 0),
	    "last_delivery", time_or_null(st->sync.ok_at), "last_error", err,
	    "failing_since", time_or_null(st->sync.failing_since), "waiting_s",
	    (json_int_t)(since ? st->now - since : 0), "max_age_s",
	    (json_int_t)st->max_age, "disk_bytes", (json_int_t)st->disk_bytes,
	    "disk_budget_bytes", (json_int_t)st->disk_budget, "quarantined",
	    (json_int_t)st->queue.quarantined, "dropped",
	    (json_int_t)st->queue.dropped, "now", (json_int_t)st->now);
	if (j == NULL)
		return -1;
	rc = json_dumpf(j, fp, JSON_INDENT(1));
	json_decref(j);
	if (rc == -1 || fputc('\n', fp) == EOF)
		return -1;
	return 0;
}

int
status_print(FILE *fp, const struct status *st, int json)
{
	if ((json ? print_json(fp, st) : print_text(fp, st)) == -1 ||
	    fflush(fp) == EOF)
		return -1;
	return 0;
}
