#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "proto.h"

#define MAX_PRODUCT 256
#define MAX_USER    128
#define MAX_SESSION (31LL * 86400) /* longest usage record accepted */

struct ctx {
	char *err;
	size_t errlen;
};

static int
fail(struct ctx *c, const char *path, const char *what)
{
	snprintf(c->err, c->errlen, "%s: %s", path, what);
	return -1;
}

/* A string member: required or optional, 1..max bytes. */
static int
get_str(struct ctx *c, json_t *o, const char *key, const char *path, size_t max,
        int required, const char **out)
{
	json_t *v = json_object_get(o, key);
	char p[128];

	snprintf(p, sizeof(p), "%s.%s", path, key);
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return required ? fail(c, p, "missing") : 0;
	if (!json_is_string(v))
		return fail(c, p, "expected a string");
	if (json_string_length(v) == 0 && required)
		return fail(c, p, "must not be empty");
	if (json_string_length(v) > max)
		return fail(c, p, "string too long");
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail(c, p, "string holds a NUL character");
	*out = json_string_value(v);
	return 0;
}

static int
get_int(struct ctx *c, json_t *o, const char *key, const char *path,
        long long min, long long max, long long *out)
{
	json_t *v = json_object_get(o, key);
	char p[128];

	snprintf(p, sizeof(p), "%s.%s", path, key);
	if (v == NULL)
		return fail(c, p, "missing");
	if (!json_is_integer(v))
		return fail(c, p, "expected an integer");
	*out = json_integer_value(v);
	if (*out < min || *out > max)
		return fail(c, p, "out of range");
	return 0;
}

static int
valid_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PROTO_ID_MAX)
		return 0;
	return strspn(s, "0123456789abcdefABCDEF-") == n;
}

static int
parse_usage(struct ctx *c, json_t *d, const char *path, struct store_record *r,
            struct ingest_batch *b)
{
	(void)b;
	if (get_str(c, d, "product", path, MAX_PRODUCT, 1, &r->u.use.product) ==
	        -1 ||
	    get_str(c, d, "package", path, MAX_PRODUCT, 0, &r->u.use.package) ==
	        -1 ||
	    get_str(c, d, "exe", path, PROTO_MAX_STR, 0, &r->u.use.exe) == -1 ||
	    get_str(c, d, "user", path, MAX_USER, 0, &r->u.use.user) == -1 ||
	    get_int(c, d, "start", path, 0, 1LL << 40, &r->u.use.start) == -1 ||
	    get_int(c, d, "end", path, 0, 1LL << 40, &r->u.use.end) == -1)
		return -1;
	if (r->u.use.end < r->u.use.start)
		return fail(c, path, "end is before start");
	if (r->u.use.end - r->u.use.start > MAX_SESSION)
		return fail(c, path, "session longer than 31 days");
	return 0;
}

static int
parse_usage_day(struct ctx *c, json_t *d, const char *path,
                struct store_record *r, struct ingest_batch *b)
{
	long long day, secs, first, last;

	(void)b;
	if (get_str(c, d, "product", path, MAX_PRODUCT, 1, &r->u.use.product) ==
	        -1 ||
	    get_str(c, d, "package", path, MAX_PRODUCT, 0, &r->u.use.package) ==
	        -1 ||
	    get_str(c, d, "exe", path, PROTO_MAX_STR, 0, &r->u.use.exe) == -1 ||
	    get_str(c, d, "user", path, MAX_USER, 0, &r->u.use.user) == -1 ||
	    get_int(c, d, "day", path, 0, (1LL << 40) / 86400, &day) == -1 ||
	    get_int(c, d, "seconds", path, 0, 86400LL * 10000, &secs) == -1 ||
	    get_int(c, d, "sessions", path, 1, 1 << 30, &r->u.use.sessions) ==
	        -1 ||
	    get_int(c, d, "first", path, 0, 1LL << 40, &first) == -1 ||
	    get_int(c, d, "last", path, 0, 1LL << 40, &last) == -1)
		return -1;
	if (first / 86400 != day || last < first)
		return fail(c, path,
		            "first and last must lie in day, in order");
	r->u.use.start = first;
	r->u.use.end = last;
	r->u.use.seconds = secs;
	return 0;
}

static int parse_software(struct ctx *c, json_t *s, const char *path,
                          struct store_software *sw);

static int
parse_delta(struct ctx *c, json_t *d, const char *path, struct store_record *r,
            struct ingest_batch *b)
{
	const char *dummy;
	char p[160];
	size_t i;
	json_t *v;

	if (get_str(c, d, "base", path, 64, 1, &r->u.delta.base) == -1 ||
	    get_str(c, d, "digest", path, 64, 1, &r->u.delta.digest) == -1 ||
	    get_str(c, d, "deviceid", path, 255, 0, &dummy) == -1)
		return -1;
	r->u.delta.sections = json_object_get(d, "sections");
	r->u.delta.removed = json_object_get(d, "removed");
	snprintf(p, sizeof(p), "%s.sections", path);
	if (!json_is_object(r->u.delta.sections))
		return fail(c, p, "expected an object");
	snprintf(p, sizeof(p), "%s.removed", path);
	if (!json_is_array(r->u.delta.removed))
		return fail(c, p, "expected an array");
	json_array_foreach(r->u.delta.removed, i, v)
	{
		if (!json_is_string(v))
			return fail(c, p, "expected section names");
	}
	v = json_object_get(r->u.delta.sections, "softwares");
	if (v == NULL)
		return 0;
	if (!json_is_array(v) || json_array_size(v) > PROTO_MAX_SOFTWARE)
		return fail(c, path,
		            "sections.softwares: expected an array of "
		            "at most 20000 entries");
	r->u.delta.has_software = 1;
	r->u.delta.software = b->sw;
	r->u.delta.nsoftware = json_array_size(v);
	for (i = 0; i < r->u.delta.nsoftware; i++) {
		snprintf(p, sizeof(p), "%s.sections.softwares[%zu]", path, i);
		if (parse_software(c, json_array_get(v, i), p, &b->sw[i]) == -1)
			return -1;
	}
	b->sw += r->u.delta.nsoftware;
	return 0;
}

static int
parse_gap(struct ctx *c, json_t *d, const char *path, struct store_record *r,
          struct ingest_batch *b)
{
	static const char *const reasons[] = {"budget", "quarantine", "corrupt",
	                                      "enqueue_failed", NULL};
	json_t *v;
	int i;

	(void)b;

	if (get_str(c, d, "reason", path, 32, 1, &r->u.gap.reason) == -1 ||
	    get_str(c, d, "epoch", path, PROTO_ID_MAX, 0, &r->u.gap.epoch) ==
	        -1 ||
	    get_str(c, d, "detail", path, 512, 0, &r->u.gap.detail) == -1)
		return -1;
	for (i = 0; reasons[i] && strcmp(reasons[i], r->u.gap.reason); i++)
		;
	if (reasons[i] == NULL)
		return fail(c, path, "reason: unknown");
	r->u.gap.first_seq =
	    json_integer_value(json_object_get(d, "first_seq"));
	r->u.gap.last_seq = json_integer_value(json_object_get(d, "last_seq"));
	v = json_object_get(d, "records");
	if (v == NULL)
		v = json_object_get(d, "attempts");
	r->u.gap.records = json_integer_value(v);
	r->u.gap.from = json_integer_value(json_object_get(d, "from"));
	r->u.gap.to = json_integer_value(json_object_get(d, "to"));
	return 0;
}

static int
parse_software(struct ctx *c, json_t *s, const char *path,
               struct store_software *sw)
{
	json_t *size;

	if (!json_is_object(s))
		return fail(c, path, "expected an object");
	if (get_str(c, s, "name", path, MAX_PRODUCT, 1, &sw->name) == -1 ||
	    get_str(c, s, "version", path, MAX_PRODUCT, 0, &sw->version) ==
	        -1 ||
	    get_str(c, s, "arch", path, 64, 0, &sw->arch) == -1 ||
	    get_str(c, s, "publisher", path, PROTO_MAX_STR, 0,
	            &sw->publisher) == -1)
		return -1;
	size = json_object_get(s, "filesize");
	sw->size = json_is_integer(size) && json_integer_value(size) >= 0
	               ? json_integer_value(size)
	               : -1;
	return 0;
}

static int
parse_inventory(struct ctx *c, json_t *d, const char *path,
                struct store_record *r, struct ingest_batch *b)
{
	json_t *content = json_object_get(d, "content"), *list, *s;
	const char *dummy;
	char p[160];
	size_t i;

	snprintf(p, sizeof(p), "%s.content", path);
	if (!json_is_object(content))
		return fail(c, p, "expected an object");
	if (get_str(c, json_object_get(content, "hardware"), "name", p, 255, 0,
	            &r->u.inv.hostname) == -1 ||
	    get_str(c, json_object_get(content, "operatingsystem"), "full_name",
	            p, 255, 0, &r->u.inv.os) == -1 ||
	    get_str(c, d, "deviceid", path, 255, 0, &dummy) == -1)
		return -1;
	list = json_object_get(content, "softwares");
	if (list != NULL && !json_is_array(list))
		return fail(c, p, "softwares: expected an array");
	if (json_array_size(list) > PROTO_MAX_SOFTWARE)
		return fail(c, p, "softwares: too many entries");
	r->u.inv.software = b->sw;
	r->u.inv.nsoftware = json_array_size(list);
	json_array_foreach(list, i, s)
	{
		snprintf(p, sizeof(p), "%s.content.softwares[%zu]", path, i);
		if (parse_software(c, s, p, &b->sw[i]) == -1)
			return -1;
	}
	b->sw += r->u.inv.nsoftware;
	if ((b->docs[b->ndocs] = json_dumps(d, JSON_COMPACT)) == NULL)
		return fail(c, path, "out of memory");
	r->u.inv.document = b->docs[b->ndocs++];
	if ((b->docs[b->ndocs] = malloc(DIGEST_HEX_LEN + 1)) == NULL ||
	    digest_json(content, b->docs[b->ndocs]) == -1)
		return fail(c, path, "out of memory");
	r->u.inv.digest = b->docs[b->ndocs++];
	return 0;
}

/* Rounds milliseconds to seconds, or 0 within the slack (jitter, transfer
 * time and the one-second resolution of record times are not a wrong
 * clock). */
static long long
to_shift(long long ms)
{
	if (ms < CLOCK_SLACK_MS && ms > -CLOCK_SLACK_MS)
		return 0;
	return (ms + (ms >= 0 ? 500 : -500)) / 1000;
}

/* Seconds to add to a record's agent times. A record made during the
 * agent's current boot is dated by its age on the boot clock, which no
 * wall-clock change affects: true time = received - (sent - created), on
 * that clock; this also mends a record stamped before the agent's clock
 * was set right. A record from an earlier boot is moved by the offset
 * between the two wall clocks at sending. */
static long long
clock_shift(const struct ingest_batch *b, json_t *o, long long created)
{
	const struct ingest_clock *k = &b->clock;
	json_int_t boot = json_integer_value(json_object_get(o, "boot"));
	json_t *mono = json_object_get(o, "mono");
	long long true_ms;

	if (!k->known)
		return 0;
	if (json_is_integer(mono) && boot == k->boot &&
	    json_integer_value(mono) <= k->mono) {
		true_ms = k->received_ms - (k->mono - json_integer_value(mono));
		return to_shift(true_ms - created * 1000);
	}
	return to_shift(k->received_ms - k->sent_ms);
}

/* The record types of the protocol and their parsers. */
static const struct {
	const char *name;
	enum store_rec_type type;
	int (*parse)(struct ctx *, json_t *, const char *,
	             struct store_record *, struct ingest_batch *);
} rec_types[] = {
    {PROTO_REC_USAGE, REC_USAGE, parse_usage},
    {PROTO_REC_INVENTORY, REC_INVENTORY, parse_inventory},
    {PROTO_REC_USAGE_DAY, REC_USAGE_DAY, parse_usage_day},
    {PROTO_REC_INVENTORY_DELTA, REC_INVENTORY_DELTA, parse_delta},
    {PROTO_REC_GAP, REC_GAP, parse_gap},
};

static int
parse_record(struct ctx *c, json_t *o, size_t i, long long prev,
             struct store_record *r, struct ingest_batch *b)
{
	size_t k;
	const char *type;
	json_t *data;
	char path[64];

	snprintf(path, sizeof(path), "records[%zu]", i);
	if (!json_is_object(o))
		return fail(c, path, "expected an object");
	if (get_int(c, o, "seq", path, 1, 1LL << 62, &r->seq) == -1 ||
	    get_int(c, o, "time", path, 0, 1LL << 40, &r->time) == -1 ||
	    get_str(c, o, "type", path, 32, 1, &type) == -1)
		return -1;
	if (r->seq <= prev)
		return fail(c, path, "seq must increase within a batch");
	r->shift = clock_shift(b, o, r->time);
	data = json_object_get(o, "data");
	snprintf(path, sizeof(path), "records[%zu].data", i);
	if (!json_is_object(data))
		return fail(c, path, "expected an object");
	for (k = 0; k < sizeof(rec_types) / sizeof(rec_types[0]); k++)
		if (strcmp(type, rec_types[k].name) == 0) {
			r->type = rec_types[k].type;
			return rec_types[k].parse(c, data, path, r, b);
		}
	snprintf(path, sizeof(path), "records[%zu].type", i);
	return fail(c, path, "unknown record type");
}

/* Counts software entries so that one allocation holds them all. */
static size_t
count_software(json_t *records)
{
	size_t i, k, n = 0;
	json_t *r, *list;

	json_array_foreach(records, i, r)
	{
		for (k = 0; k < 2; k++) {
			list = json_object_get(
			    json_object_get(json_object_get(r, "data"),
			                    k ? "sections" : "content"),
			    "softwares");
			if (json_is_array(list))
				n += json_array_size(list);
		}
	}
	return n;
}

static int
parse_envelope(struct ctx *c, json_t *root, const char *agent_id,
               json_t **records, struct ingest_batch *b)
{
	const char *aid, *epoch, *bid;
	long long v;

	if (!json_is_object(root))
		return fail(c, "$", "expected a JSON object");
	if (get_int(c, root, "v", "$", 0, 1 << 20, &v) == -1)
		return -1;
	if (v != PROTO_VERSION)
		return fail(c, "$.v", "unsupported protocol version");
	if (get_str(c, root, "agent_id", "$", PROTO_ID_MAX, 1, &aid) == -1 ||
	    get_str(c, root, "epoch", "$", PROTO_ID_MAX, 1, &epoch) == -1 ||
	    get_str(c, root, "batch_id", "$", PROTO_ID_MAX, 1, &bid) == -1)
		return -1;
	if (!valid_id(epoch) || !valid_id(bid))
		return fail(c, "$", "epoch and batch_id must be hex ids");
	if (strcmp(aid, agent_id) != 0) {
		fail(c, "$.agent_id", "does not match the credential");
		return 403;
	}
	*records = json_object_get(root, "records");
	if (!json_is_array(*records) || json_array_size(*records) == 0)
		return fail(c, "$.records", "expected a non-empty array");
	if (json_array_size(*records) > PROTO_MAX_RECORDS)
		return fail(c, "$.records", "too many records");
	b->batch.epoch = epoch;
	b->batch_id = bid;
	return 0;
}

int
ingest_parse(const char *body, size_t len, const char *agent_id,
             const struct ingest_clock *clock, struct ingest_batch *b,
             char *err, size_t errlen)
{
	struct ctx c = {err, errlen};
	struct store_software *sw0;
	json_error_t jerr;
	json_t *records, *o;
	long long prev = 0;
	size_t i, n;
	int rc;

	memset(b, 0, sizeof(*b));
	if (clock)
		b->clock = *clock;
	b->root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (b->root == NULL) {
		snprintf(err, errlen, "invalid JSON at line %d column %d: %s",
		         jerr.line, jerr.column, jerr.text);
		return 400;
	}
	if ((rc = parse_envelope(&c, b->root, agent_id, &records, b)) != 0)
		return rc == -1 ? 400 : rc;
	n = json_array_size(records);
	b->rec = calloc(n, sizeof(*b->rec));
	b->sw = sw0 = calloc(count_software(records) + 1, sizeof(*b->sw));
	b->docs = calloc(2 * n, sizeof(*b->docs));
	if (b->rec == NULL || b->sw == NULL || b->docs == NULL) {
		snprintf(err, errlen, "out of memory");
		b->sw = sw0;
		return 503;
	}
	json_array_foreach(records, i, o)
	{
		if (parse_record(&c, o, i, prev, &b->rec[i], b) == -1) {
			b->sw = sw0;
			b->bad_seq =
			    json_integer_value(json_object_get(o, "seq"));
			return b->bad_seq > prev ? 422 : 400;
		}
		prev = b->rec[i].seq;
	}
	b->sw = sw0;
	b->batch.rec = b->rec;
	b->batch.n = n;
	if (b->clock.known) {
		b->batch.clock_known = 1;
		b->batch.clock_offset_ms =
		    b->clock.received_ms - b->clock.sent_ms;
	}
	return 0;
}

void
ingest_free(struct ingest_batch *b)
{
	size_t i;

	for (i = 0; i < b->ndocs; i++)
		free(b->docs[i]);
	free(b->docs);
	free(b->rec);
	free(b->sw);
	json_decref(b->root);
	memset(b, 0, sizeof(*b));
}

void
ingest_clock_parse(const char *header, long long received_ms,
                   struct ingest_clock *c)
{
	long long v[3];

	memset(c, 0, sizeof(*c));
	c->received_ms = received_ms;
	if (header == NULL ||
	    sscanf(header, "%lld %lld %lld", &v[0], &v[1], &v[2]) != 3 ||
	    v[0] <= 0 || v[1] < 0 || v[2] < 0)
		return;
	c->sent_ms = v[0];
	c->boot = v[1];
	c->mono = v[2];
	c->known = 1;
}
