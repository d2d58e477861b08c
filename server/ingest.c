#include "ingest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "proto.h"

#define MAX_PRODUCT 256
#define MAX_USER    128

/* The ranges of numeric fields, from what they mean. */
#define DAY          86400LL
#define TIME_MAX     (1LL << 40) /* Unix seconds: beyond the year 36000 */
#define SEQ_MAX      (1LL << 62)
#define BOOT_MAX     (1LL << 31)         /* boots of one queue */
#define MONO_MAX     CLOCK_MAX_OFFSET_MS /* boot clock (ms): 20 years up */
#define LOST_MAX     1000000000LL        /* records given up in one gap */
#define FILESIZE_MAX (1LL << 50)         /* bytes: 1 PiB */
/* Usage is dated within these bounds of the server's clock, once the
 * record's clock correction is applied: 400 days back (13 months of
 * reports; a PC offline longer has lost its queue anyway) and a day ahead
 * (sessions cut at midnight, clocks corrected to the second). */
#define USAGE_MAX_AGE   (400 * DAY)
#define USAGE_MAX_AHEAD DAY
#define USAGE_MAX_LEN   (7 * DAY)

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

/* A numeric member and its range. An optional one may be absent or null
 * (read as 0); present, it must be an integer in range. */
struct range {
	const char *key;
	long long min, max;
	int required;
};

/* Checks o's numeric members against the ranges (ending with a NULL key);
 * the error names the member by its path, record index included. */
static int
check_ranges(struct ctx *c, json_t *o, const char *path, const struct range *rg)
{
	char p[128], what[96];
	json_int_t n;
	json_t *v;

	for (; rg && rg->key; rg++) {
		v = json_object_get(o, rg->key);
		snprintf(p, sizeof(p), "%s.%s", path, rg->key);
		if (v == NULL || json_is_null(v)) {
			if (rg->required)
				return fail(c, p, "missing");
			continue;
		}
		if (!json_is_integer(v))
			return fail(c, p, "expected an integer");
		n = json_integer_value(v);
		if (n < rg->min || n > rg->max) {
			snprintf(what, sizeof(what),
			         "%lld out of range (%lld to %lld)",
			         (long long)n, rg->min, rg->max);
			return fail(c, p, what);
		}
	}
	return 0;
}

/* A member check_ranges() accepted (0 when absent). */
static long long
num(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
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
	    get_str(c, d, "user", path, MAX_USER, 0, &r->u.use.user) == -1)
		return -1;
	r->u.use.start = num(d, "start");
	r->u.use.end = num(d, "end");
	if (r->u.use.end < r->u.use.start)
		return fail(c, path, "end is before start");
	/* mutu-agent cuts sessions every hour; the server books a record
	 * over the days it spans, up to a week (docs/PROTOCOL.md) */
	if (r->u.use.end - r->u.use.start > USAGE_MAX_LEN)
		return fail(c, path,
		            "end - start: session longer than 7 days "
		            "(604800 s)");
	return 0;
}

static int
parse_usage_day(struct ctx *c, json_t *d, const char *path,
                struct store_record *r, struct ingest_batch *b)
{
	long long day, first, last;

	(void)b;
	if (get_str(c, d, "product", path, MAX_PRODUCT, 1, &r->u.use.product) ==
	        -1 ||
	    get_str(c, d, "package", path, MAX_PRODUCT, 0, &r->u.use.package) ==
	        -1 ||
	    get_str(c, d, "exe", path, PROTO_MAX_STR, 0, &r->u.use.exe) == -1 ||
	    get_str(c, d, "user", path, MAX_USER, 0, &r->u.use.user) == -1)
		return -1;
	day = num(d, "day");
	first = num(d, "first");
	last = num(d, "last");
	/* The day's last session may end at the midnight that ends it. */
	if (first / DAY != day || last < first || last > (day + 1) * DAY)
		return fail(c, path,
		            "first and last must lie in day, in order");
	r->u.use.start = first;
	r->u.use.end = last;
	r->u.use.seconds = num(d, "seconds");
	r->u.use.sessions = num(d, "sessions");
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
	r->u.gap.first_seq = num(d, "first_seq");
	r->u.gap.last_seq = num(d, "last_seq");
	r->u.gap.records = json_object_get(d, "records") ? num(d, "records")
	                                                 : num(d, "attempts");
	r->u.gap.from = num(d, "from");
	r->u.gap.to = num(d, "to");
	if (r->u.gap.last_seq && r->u.gap.first_seq > r->u.gap.last_seq)
		return fail(c, path, "first_seq is after last_seq");
	if (r->u.gap.to && r->u.gap.from > r->u.gap.to)
		return fail(c, path, "from is after to");
	return 0;
}

static int
parse_software(struct ctx *c, json_t *s, const char *path,
               struct store_software *sw)
{
	static const struct range ranges[] = {
	    {"filesize", 0, FILESIZE_MAX, 0},
	    {NULL, 0, 0, 0},
	};

	if (!json_is_object(s))
		return fail(c, path, "expected an object");
	if (get_str(c, s, "name", path, MAX_PRODUCT, 1, &sw->name) == -1 ||
	    get_str(c, s, "version", path, MAX_PRODUCT, 0, &sw->version) ==
	        -1 ||
	    get_str(c, s, "arch", path, 64, 0, &sw->arch) == -1 ||
	    get_str(c, s, "publisher", path, PROTO_MAX_STR, 0,
	            &sw->publisher) == -1 ||
	    check_ranges(c, s, path, ranges) == -1)
		return -1;
	sw->size = json_is_integer(json_object_get(s, "filesize"))
	               ? num(s, "filesize")
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
	r->u.inv.content = content;
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

/* The numeric members of every record, then of each type's data: checked
 * before the parsers run, which then read them with num(). The parsers
 * check what involves several members (end after start, ...). */
static const struct range record_ranges[] = {
    {"seq", 1, SEQ_MAX, 1},   {"time", 0, TIME_MAX, 1},
    {"boot", 0, BOOT_MAX, 0}, {"mono", 0, MONO_MAX, 0},
    {NULL, 0, 0, 0},
};
static const struct range usage_ranges[] = {
    {"start", 0, TIME_MAX, 1},
    {"end", 0, TIME_MAX, 1},
    {NULL, 0, 0, 0},
};
static const struct range usage_day_ranges[] = {
    {"day", 0, TIME_MAX / DAY, 1}, {"seconds", 0, DAY, 1}, /* a day has 86,400 s
                                                            */
    {"sessions", 1, DAY, 1}, /* each lasts a second at least */
    {"first", 0, TIME_MAX, 1},     {"last", 0, TIME_MAX, 1}, {NULL, 0, 0, 0},
};
static const struct range gap_ranges[] = {
    {"first_seq", 0, SEQ_MAX, 0},
    {"last_seq", 0, SEQ_MAX, 0},
    {"records", 0, LOST_MAX, 0},
    {"attempts", 0, LOST_MAX, 0},
    {"from", 0, TIME_MAX, 0},
    {"to", 0, TIME_MAX, 0},
    {NULL, 0, 0, 0},
};

/* The record types of the protocol: the ranges of their data's numeric
 * members (software sizes are checked per entry) and their parsers. */
static const struct {
	const char *name;
	enum store_rec_type type;
	const struct range *ranges;
	int (*parse)(struct ctx *, json_t *, const char *,
	             struct store_record *, struct ingest_batch *);
} rec_types[] = {
    {PROTO_REC_USAGE, REC_USAGE, usage_ranges, parse_usage},
    {PROTO_REC_INVENTORY, REC_INVENTORY, NULL, parse_inventory},
    {PROTO_REC_USAGE_DAY, REC_USAGE_DAY, usage_day_ranges, parse_usage_day},
    {PROTO_REC_INVENTORY_DELTA, REC_INVENTORY_DELTA, NULL, parse_delta},
    {PROTO_REC_GAP, REC_GAP, gap_ranges, parse_gap},
};

/* A usage record's corrected dates against the server's clock at
 * receipt (docs/PROTOCOL.md, "usage"): older than USAGE_MAX_AGE or ahead
 * by more than USAGE_MAX_AHEAD is refused, so that no agent can spread
 * records over years of backdated days (each day's caps would not bound
 * them) or date them in the future. Without a clock (tests), no check. */
static int
check_dates(struct ctx *c, const struct ingest_batch *b, const char *path,
            const struct store_record *r)
{
	long long now = b->clock.received_ms / 1000;

	if (now <= 0 || (r->type != REC_USAGE && r->type != REC_USAGE_DAY))
		return 0;
	if (r->u.use.start + r->shift < now - USAGE_MAX_AGE)
		return fail(c, path,
		            "start: more than 400 days before the server's "
		            "time (clock corrected)");
	if (r->u.use.end + r->shift > now + USAGE_MAX_AHEAD)
		return fail(c, path,
		            "end: more than a day after the server's time "
		            "(clock corrected)");
	return 0;
}

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
	if (check_ranges(c, o, path, record_ranges) == -1 ||
	    get_str(c, o, "type", path, 32, 1, &type) == -1)
		return -1;
	r->seq = num(o, "seq");
	r->time = num(o, "time");
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
			if (check_ranges(c, data, path, rec_types[k].ranges) ==
			        -1 ||
			    rec_types[k].parse(c, data, path, r, b) == -1)
				return -1;
			return check_dates(c, b, path, r);
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

/* fail() for the envelope: the batch as a whole is malformed. */
static enum ingest_err
malformed(struct ctx *c, const char *path, const char *what)
{
	fail(c, path, what);
	return INGEST_MALFORMED;
}

static enum ingest_err
parse_envelope(struct ctx *c, json_t *root, const char *agent_id,
               json_t **records, struct ingest_batch *b)
{
	const char *aid, *epoch, *bid;
	long long v;

	if (!json_is_object(root))
		return malformed(c, "$", "expected a JSON object");
	if (get_int(c, root, "v", "$", 0, 1 << 20, &v) == -1)
		return INGEST_MALFORMED;
	if (v != PROTO_VERSION)
		return malformed(c, "$.v", "unsupported protocol version");
	if (get_str(c, root, "agent_id", "$", PROTO_ID_MAX, 1, &aid) == -1 ||
	    get_str(c, root, "epoch", "$", PROTO_ID_MAX, 1, &epoch) == -1 ||
	    get_str(c, root, "batch_id", "$", PROTO_ID_MAX, 1, &bid) == -1)
		return INGEST_MALFORMED;
	if (!valid_id(epoch) || !valid_id(bid))
		return malformed(c, "$", "epoch and batch_id must be hex ids");
	if (strcmp(aid, agent_id) != 0) {
		fail(c, "$.agent_id", "does not match the credential");
		return INGEST_FORBIDDEN;
	}
	*records = json_object_get(root, "records");
	if (!json_is_array(*records) || json_array_size(*records) == 0)
		return malformed(c, "$.records", "expected a non-empty array");
	if (json_array_size(*records) > PROTO_MAX_RECORDS)
		return malformed(c, "$.records", "too many records");
	b->batch.epoch = epoch;
	b->batch_id = bid;
	return INGEST_OK;
}

/* What decoding costs jansson 2.14 (x86-64, glibc), in heap bytes with
 * malloc's own overhead, rounded up from measurements (docs/SECURITY.md,
 * "Memory budget"): every value takes a slot in its array (doubling
 * included), then per kind; an object member costs about a string (its
 * key) and is counted as one. */
#define COST_SLOT   16
#define COST_OBJECT 256
#define COST_ARRAY  144
#define COST_STRING 112 /* plus the quoted text's length */
#define COST_NUMBER 48  /* true, false and null are shared: slot only */

/* Bytes of text that end a number or a literal. */
static int
is_delim(unsigned char ch)
{
	return ch == ',' || ch == ':' || ch == '[' || ch == ']' || ch == '{' ||
	       ch == '}' || ch == '"' || ch == ' ' || ch == '\t' ||
	       ch == '\n' || ch == '\r';
}

enum ingest_err
ingest_json_check(const char *text, size_t len, char *err, size_t errlen)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, start, depth = 0, cost = 0;

	while (i < len) {
		start = i;
		switch (s[i]) {
		case '{':
		case '[':
			if (++depth > INGEST_JSON_DEPTH) {
				snprintf(err, errlen,
				         "invalid JSON: nested deeper than %d "
				         "levels (at byte %zu)",
				         INGEST_JSON_DEPTH, i);
				return INGEST_MALFORMED;
			}
			cost += COST_SLOT +
			        (s[i] == '{' ? COST_OBJECT : COST_ARRAY);
			i++;
			break;
		case '}':
		case ']':
			depth -= depth > 0;
			i++;
			break;
		case '"': /* to the closing quote, escapes skipped */
			for (i++; i < len && s[i] != '"'; i++)
				i += s[i] == '\\';
			i++;
			cost += COST_SLOT + COST_STRING + (i - start);
			break;
		case ',':
		case ':':
		case ' ':
		case '\t':
		case '\n':
		case '\r':
			i++;
			break;
		default: /* a number, a literal, or garbage the decoder refuses
		          */
			while (i < len && !is_delim(s[i]))
				i++;
			cost += COST_SLOT;
			if (s[start] == '-' ||
			    (s[start] >= '0' && s[start] <= '9'))
				cost += COST_NUMBER;
			break;
		}
		if (cost > INGEST_JSON_BUDGET) {
			snprintf(err, errlen,
			         "JSON body too costly to decode: over the "
			         "server's budget of %zu MiB per request (at "
			         "byte %zu); send fewer or smaller records",
			         (size_t)INGEST_JSON_BUDGET >> 20, start);
			return INGEST_TOO_COSTLY;
		}
	}
	return INGEST_OK;
}

json_t *
ingest_json_load(const char *text, size_t len, enum ingest_err *why, char *err,
                 size_t errlen)
{
	json_error_t jerr;
	json_t *j;

	if ((*why = ingest_json_check(text, len, err, errlen)) != INGEST_OK)
		return NULL;
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		snprintf(err, errlen, "invalid JSON at line %d column %d: %s",
		         jerr.line, jerr.column, jerr.text);
		*why = INGEST_MALFORMED;
	}
	return j;
}

/* The agent's clock must be within CLOCK_MAX_OFFSET_MS of ours, its boot
 * clock within MONO_MAX: beyond, records are neither dated nor stored
 * (403: the agent keeps them until someone sets its clock right). */
static int
check_clock(const struct ingest_clock *k, char *err, size_t errlen)
{
	if (k->sent_ms < k->received_ms - CLOCK_MAX_OFFSET_MS ||
	    k->sent_ms > k->received_ms + CLOCK_MAX_OFFSET_MS) {
		snprintf(err, errlen,
		         "%s: the agent's clock (%lld ms) is more than 20 "
		         "years from the server's (%lld ms); set the PC's "
		         "clock: its data waits",
		         PROTO_CLOCK_HEADER, k->sent_ms, k->received_ms);
		return -1;
	}
	if (k->boot > BOOT_MAX || k->mono > MONO_MAX) {
		snprintf(err, errlen,
		         "%s: boot number %lld or boot clock %lld ms out of "
		         "range (0 to %lld, 0 to %lld)",
		         PROTO_CLOCK_HEADER, k->boot, k->mono, BOOT_MAX,
		         MONO_MAX);
		return -1;
	}
	return 0;
}

enum ingest_err
ingest_parse(const char *body, size_t len, const char *agent_id,
             const struct ingest_clock *clock, struct ingest_batch *b,
             char *err, size_t errlen)
{
	struct ctx c = {err, errlen};
	struct store_software *sw0;
	enum ingest_err why;
	json_t *records, *o;
	long long prev = 0;
	size_t i, n;

	memset(b, 0, sizeof(*b));
	if (clock)
		b->clock = *clock;
	if (b->clock.known && check_clock(&b->clock, err, errlen) == -1)
		return INGEST_FORBIDDEN;
	if ((b->root = ingest_json_load(body, len, &why, err, errlen)) == NULL)
		return why;
	if ((why = parse_envelope(&c, b->root, agent_id, &records, b)) !=
	    INGEST_OK)
		return why;
	n = json_array_size(records);
	b->rec = calloc(n, sizeof(*b->rec));
	b->sw = sw0 = calloc(count_software(records) + 1, sizeof(*b->sw));
	b->docs = calloc(2 * n, sizeof(*b->docs));
	if (b->rec == NULL || b->sw == NULL || b->docs == NULL) {
		snprintf(err, errlen, "out of memory");
		b->sw = sw0;
		return INGEST_NO_MEMORY;
	}
	json_array_foreach(records, i, o)
	{
		if (parse_record(&c, o, i, prev, &b->rec[i], b) == -1) {
			b->sw = sw0;
			b->bad_seq =
			    json_integer_value(json_object_get(o, "seq"));
			return b->bad_seq > prev ? INGEST_BAD_RECORD
			                         : INGEST_MALFORMED;
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
	return INGEST_OK;
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
	const char *p = header;
	char *end;
	int i;

	memset(c, 0, sizeof(*c));
	c->received_ms = received_ms;
	if (header == NULL)
		return;
	for (i = 0; i < 3; i++) { /* strtoll: no overflow, unlike sscanf */
		errno = 0;
		v[i] = strtoll(p, &end, 10);
		if (end == p || errno != 0 || v[i] < 0 ||
		    (*end != ' ' && *end != '\0'))
			return;
		p = end;
	}
	if (*p != '\0' || v[0] == 0)
		return;
	c->sent_ms = v[0];
	c->boot = v[1];
	c->mono = v[2];
	c->known = 1;
}
