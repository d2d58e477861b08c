/*
 * metrics: the server's counters and their exposition (see metrics.h).
 */
#include "metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The statuses the server answers, each its own label value; anything
 * else is counted as "other". */
static const int codes[] = {200, 201, 400, 401, 403, 404, 405, 408,
                            409, 411, 413, 415, 422, 429, 500, 503};
#define NCODES (sizeof(codes) / sizeof(codes[0]))

/* Upper bounds of the ingest latency histogram, seconds. */
static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                0.5,   1,    2.5,   5,    10};
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))

#define NTYPES (REC_GAP + 1)
static const char *const type_names[NTYPES] = {[REC_INVENTORY] = "inventory",
                                               [REC_INVENTORY_DELTA] =
                                                   "inventory_delta",
                                               [REC_USAGE] = "usage",
                                               [REC_USAGE_DAY] = "usage_day",
                                               [REC_GAP] = "gap"};
static const char *const batch_names[MET_NBATCH] = {
    [MET_BATCH_STORED] = "stored",
    [MET_BATCH_REFUSED] = "refused",
    [MET_BATCH_CONFLICT] = "conflict",
    [MET_BATCH_UNAVAILABLE] = "unavailable"};
static const struct {
	const char *name, *label, *value, *help;
} events[MET_NEVENTS] = {
    [MET_ENROL_OK] = {"mutu_enrolments_total", "outcome", "enrolled",
                      "Enrolment requests by outcome."},
    [MET_ENROL_REFUSED] = {"mutu_enrolments_total", "outcome", "refused", NULL},
    [MET_LIMIT_ENROL] = {"mutu_rate_limited_total", "limit", "enrolment",
                         "Requests refused (429) by a rate limit."},
    [MET_LIMIT_AGENT] = {"mutu_rate_limited_total", "limit", "agent", NULL},
    [MET_LIMIT_AUTH] = {"mutu_rate_limited_total", "limit", "auth_failures",
                        NULL},
    [MET_LIMIT_ADMIN] = {"mutu_rate_limited_total", "limit", "admin", NULL},
    [MET_SHED] = {"mutu_load_shed_total", NULL, NULL,
                  "Batches refused (429) to keep the ingest rate, each "
                  "agent given a later slot."},
};

struct metrics {
	pthread_mutex_t lock;
	char **endpoints; /* owned */
	size_t nendpoints;
	/* [endpoint + 1][code index, NCODES: other]; row 0: no route */
	unsigned long long *requests;
	unsigned long long events[MET_NEVENTS];
	unsigned long long batches[MET_NBATCH];
	unsigned long long records[MET_NBATCH][NTYPES];
	unsigned long long duplicates, folded_usage, folded_software;
	unsigned long long hist[NBOUNDS + 1]; /* per bucket, not cumulative */
	double hist_sum;
};

struct metrics *
metrics_new(const char *const *endpoints, size_t n)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	m->requests = calloc((n + 1) * (NCODES + 1), sizeof(*m->requests));
	if (m->requests == NULL ||
	    (m->endpoints = calloc(n + 1, sizeof(*m->endpoints))) == NULL)
		goto fail;
	for (m->nendpoints = 0; m->nendpoints < n; m->nendpoints++)
		if ((m->endpoints[m->nendpoints] =
		         strdup(endpoints[m->nendpoints])) == NULL)
			goto fail;
	return m;
fail:
	metrics_free(m);
	return NULL;
}

void
metrics_free(struct metrics *m)
{
	size_t i;

	if (m == NULL)
		return;
	pthread_mutex_destroy(&m->lock);
	for (i = 0; m->endpoints && i < m->nendpoints; i++)
		free(m->endpoints[i]);
	free(m->endpoints);
	free(m->requests);
	free(m);
}

static size_t
code_index(int status)
{
	size_t i;

	for (i = 0; i < NCODES; i++)
		if (codes[i] == status)
			return i;
	return NCODES;
}

void
metrics_request(struct metrics *m, int endpoint, int status)
{
	size_t row = endpoint < 0 || (size_t)endpoint >= m->nendpoints
	                 ? 0
	                 : (size_t)endpoint + 1;

	pthread_mutex_lock(&m->lock);
	m->requests[row * (NCODES + 1) + code_index(status)]++;
	pthread_mutex_unlock(&m->lock);
}

void
metrics_event(struct metrics *m, enum metrics_event e)
{
	pthread_mutex_lock(&m->lock);
	m->events[e]++;
	pthread_mutex_unlock(&m->lock);
}

void
metrics_batch(struct metrics *m, enum metrics_batch outcome,
              const struct store_batch *b,
              const struct store_ingest_result *res, double seconds)
{
	size_t i = 0, k;

	while (i < NBOUNDS && seconds > bounds[i])
		i++;
	pthread_mutex_lock(&m->lock);
	m->batches[outcome]++;
	m->hist[i]++;
	m->hist_sum += seconds;
	for (k = 0; b != NULL && k < b->n; k++)
		if ((size_t)b->rec[k].type < NTYPES)
			m->records[outcome][b->rec[k].type]++;
	if (res != NULL) {
		m->duplicates += (unsigned long long)res->duplicates;
		m->folded_usage += (unsigned long long)res->usage_dropped;
		m->folded_software += (unsigned long long)res->software_dropped;
	}
	pthread_mutex_unlock(&m->lock);
}

int
metrics_family(struct buf *out, const char *name, const char *type,
               const char *help)
{
	return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	                  type);
}

/* A label value as the format wants it: \, " and newline escaped. */
static int
label_value(struct buf *out, const char *v)
{
	int rc = 0;

	for (; *v && rc == 0; v++) {
		if (*v == '\\' || *v == '"')
			rc = buf_printf(out, "\\%c", *v);
		else if (*v == '\n')
			rc = buf_adds(out, "\\n");
		else
			rc = buf_add(out, v, 1);
	}
	return rc;
}

static int
label(struct buf *out, const char *sep, const char *name, const char *v)
{
	if (buf_printf(out, "%s%s=\"", sep, name) == -1 ||
	    label_value(out, v) == -1)
		return -1;
	return buf_adds(out, "\"");
}

int
metrics_sample(struct buf *out, const char *name, const char *label1,
               const char *value1, const char *label2, const char *value2,
               double v)
{
	if (buf_adds(out, name) == -1)
		return -1;
	if (label1 != NULL) {
		if (label(out, "{", label1, value1) == -1 ||
		    (label2 != NULL && label(out, ",", label2, value2) == -1) ||
		    buf_adds(out, "}") == -1)
			return -1;
	}
	/* %.17g keeps integers up to 2^53 exact and doubles round-trip. */
	return buf_printf(out, " %.17g\n", v);
}

static int
write_requests(struct metrics *m, struct buf *out)
{
	char code[8];
	size_t row, c;
	unsigned long long n;
	int rc = metrics_family(out, "mutu_http_requests_total", "counter",
	                        "HTTP answers by endpoint (method and "
	                        "route; \"none\": no route matched) and "
	                        "status code.");

	for (row = 0; rc == 0 && row <= m->nendpoints; row++)
		for (c = 0; rc == 0 && c <= NCODES; c++) {
			if ((n = m->requests[row * (NCODES + 1) + c]) == 0)
				continue;
			if (c < NCODES)
				snprintf(code, sizeof(code), "%d", codes[c]);
			else
				snprintf(code, sizeof(code), "other");
			rc = metrics_sample(
			    out, "mutu_http_requests_total", "endpoint",
			    row ? m->endpoints[row - 1] : "none", "code", code,
			    (double)n);
		}
	return rc;
}

static int
write_events(struct metrics *m, struct buf *out)
{
	int rc = 0;
	size_t e;

	for (e = 0; rc == 0 && e < MET_NEVENTS; e++) {
		if (events[e].help != NULL)
			rc = metrics_family(out, events[e].name, "counter",
			                    events[e].help);
		if (rc == 0)
			rc = metrics_sample(out, events[e].name,
			                    events[e].label, events[e].value,
			                    NULL, NULL, (double)m->events[e]);
	}
	return rc;
}

static int
write_batches(struct metrics *m, struct buf *out)
{
	size_t o, t;
	int rc = metrics_family(out, "mutu_ingest_batches_total", "counter",
	                        "Batches received, by outcome.");

	for (o = 0; rc == 0 && o < MET_NBATCH; o++)
		rc = metrics_sample(out, "mutu_ingest_batches_total", "outcome",
		                    batch_names[o], NULL, NULL,
		                    (double)m->batches[o]);
	if (rc == 0)
		rc = metrics_family(out, "mutu_ingest_records_total", "counter",
		                    "Records of the batches that were parsed "
		                    "whole, by type and by the batch's outcome "
		                    "(a refused batch's are not counted).");
	for (o = 0; rc == 0 && o < MET_NBATCH; o++)
		for (t = 0; rc == 0 && o != MET_BATCH_REFUSED && t < NTYPES;
		     t++)
			rc = metrics_sample(out, "mutu_ingest_records_total",
			                    "type", type_names[t], "outcome",
			                    batch_names[o],
			                    (double)m->records[o][t]);
	if (rc == 0)
		rc = metrics_family(out, "mutu_ingest_duplicate_records_total",
		                    "counter",
		                    "Records of stored batches that were "
		                    "stored before (an agent's retry).");
	if (rc == 0)
		rc = metrics_sample(out, "mutu_ingest_duplicate_records_total",
		                    NULL, NULL, NULL, NULL,
		                    (double)m->duplicates);
	if (rc == 0)
		rc = metrics_family(out, "mutu_ingest_folded_total", "counter",
		                    "Records over the distinct-name caps, "
		                    "folded into counts instead of stored.");
	if (rc == 0)
		rc = metrics_sample(out, "mutu_ingest_folded_total", "kind",
		                    "usage", NULL, NULL,
		                    (double)m->folded_usage);
	if (rc == 0)
		rc = metrics_sample(out, "mutu_ingest_folded_total", "kind",
		                    "software", NULL, NULL,
		                    (double)m->folded_software);
	return rc;
}

static int
write_histogram(struct metrics *m, struct buf *out)
{
	const char *name = "mutu_ingest_duration_seconds";
	unsigned long long cum = 0;
	char le[32], bucket[64];
	size_t i;
	int rc = metrics_family(out, name, "histogram",
	                        "Time to parse and store a batch.");

	snprintf(bucket, sizeof(bucket), "%s_bucket", name);
	for (i = 0; rc == 0 && i <= NBOUNDS; i++) {
		cum += m->hist[i];
		if (i < NBOUNDS)
			snprintf(le, sizeof(le), "%g", bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		rc = metrics_sample(out, bucket, "le", le, NULL, NULL,
		                    (double)cum);
	}
	if (rc == 0)
		rc = buf_printf(out, "%s_sum %.17g\n%s_count %llu\n", name,
		                m->hist_sum, name, cum);
	return rc;
}

int
metrics_write(struct metrics *m, struct buf *out)
{
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = write_requests(m, out);
	if (rc == 0)
		rc = write_events(m, out);
	if (rc == 0)
		rc = write_batches(m, out);
	if (rc == 0)
		rc = write_histogram(m, out);
	pthread_mutex_unlock(&m->lock);
	return rc;
}
