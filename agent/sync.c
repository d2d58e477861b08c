#include "sync.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "attr.h"
#include "buf.h"
#include "codec.h"
#include "crashpoint.h"
#include "crypto.h"
#include "httpc.h"
#include "log.h"
#include "proto.h"
#include "utf8.h"
#include "util.h"

#define MAX_BATCHES_PER_RUN 200
#define REPLY_MAX           (64 * 1024)

struct sync {
	const struct agent_config *cfg;
	struct queue *q;
	struct httpc *http;
	char agent_id[CRYPTO_UUID_LEN + 1];
	char hostname[256];
	char token[CRYPTO_HEX256_LEN + 1];
	char token_path[PATH_MAX];
	char key[CRYPTO_HEX256_LEN + 1]; /* identity key, "" if none */
	char key_path[PATH_MAX];
	char url_enrol[600], url_batches[600];
	const volatile sig_atomic_t *stop; /* borrowed; NULL: never */
	int limit;                /* records per batch: halved after a 413 */
	size_t max_bytes;         /* JSON bytes per batch: likewise */
	int tried;                /* this run made a request to the server */
	char err[SYNC_ERROR_MAX]; /* why this run's last step failed */
};

/* The delivery's outcome in the queue's meta table (sync_state). */
#define KEY_OK_AT         "sync_ok_at"
#define KEY_FAILING_SINCE "sync_failing_since"
#define KEY_ERROR_AT      "sync_error_at"
#define KEY_ERROR         "sync_error"

static void failed(struct sync *s, const char *fmt, ...) MUTU_PRINTF(2, 3);

/* Logs why a step of the delivery failed, and keeps the text as the
 * run's error (the last one wins) for sync_state. */
static void
failed(struct sync *s, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s", msg);
	sync_clean_error(msg, s->err, sizeof(s->err));
}

/* Whether the UTF-8 character at p (len bytes) could change how a
 * terminal shows what follows: C1 controls (U+0080-U+009F) and the bidi
 * formatting characters (U+202A-U+202E, U+2066-U+2069). */
static int
hostile_char(const unsigned char *p, size_t len)
{
	if (len == 2)
		return p[0] == 0xc2 && p[1] < 0xa0;
	if (len == 3 && p[0] == 0xe2 && p[1] == 0x80)
		return p[2] >= 0xaa && p[2] <= 0xae;
	if (len == 3 && p[0] == 0xe2 && p[1] == 0x81)
		return p[2] >= 0xa6 && p[2] <= 0xa9;
	return 0;
}

void
sync_clean_error(const char *src, char *dst, size_t n)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t o = 0, len, i, auth;
	const unsigned char *at;
	unsigned char c;

	if (n == 0)
		return;
	while (*p != '\0') {
		if (p[0] == ':' && p[1] == '/' && p[2] == '/') {
			if (o + 3 >= n)
				break;
			memcpy(dst + o, p, 3);
			o += 3;
			p += 3;
			/* scheme://user:password@host/: the authority ends
			 * at the path, query, fragment, a quote or a blank;
			 * what precedes its last '@' is the user info. */
			auth = strcspn((const char *)p, "/?#'\" \t\r\n");
			for (at = NULL, i = 0; i < auth; i++)
				if (p[i] == '@')
					at = p + i;
			if (at != NULL)
				p = at + 1;
			continue;
		}
		len = utf8_len(p);
		c = 0;
		if (len == 0)
			c = '?', len = 1; /* not UTF-8 */
		else if (len == 1 && (*p < 0x20 || *p == 0x7f))
			c = ' ';
		else if (hostile_char(p, len))
			c = '?';
		if (o + (c ? 1 : len) >= n)
			break;
		if (c)
			dst[o++] = (char)c;
		else {
			memcpy(dst + o, p, len);
			o += len;
		}
		p += len;
	}
	dst[o] = '\0';
}

void
sync_set_tick(struct sync *s, void (*tick)(void *), void *arg)
{
	httpc_set_tick(s->http, tick, arg);
}

void
sync_set_stop(struct sync *s, const volatile sig_atomic_t *stop)
{
	s->stop = stop;
	httpc_set_abort(s->http, stop);
}

static void
load_token(struct sync *s)
{
	char *t;

	s->token[0] = '\0';
	if ((t = util_read_private(s->token_path, 256)) == NULL) {
		if (errno != ENOENT)
			log_warn("%s: enrolling again", s->token_path);
		return;
	}
	if (strlen(t) == CRYPTO_HEX256_LEN)
		util_strlcpy(s->token, t, sizeof(s->token));
	else
		log_warnx("%s: malformed token, enrolling again",
		          s->token_path);
	crypto_wipe(t, strlen(t));
	free(t);
}

/* The identity key the agent id was derived from (main.c), if any: an
 * agent enrolled before identity keys has none, and proves its identity
 * with its current token. */
static void
load_key(struct sync *s)
{
	char *k;

	s->key[0] = '\0';
	if ((k = util_read_private(s->key_path, 256)) == NULL) {
		if (errno != ENOENT)
			log_warn("%s", s->key_path);
		return;
	}
	if (strlen(k) == CRYPTO_HEX256_LEN)
		util_strlcpy(s->key, k, sizeof(s->key));
	else
		log_warnx("%s: malformed identity key, ignored", s->key_path);
	crypto_wipe(k, strlen(k));
	free(k);
}

struct sync *
sync_new(const struct agent_config *cfg, struct queue *q, const char *agent_id,
         const char *hostname)
{
	struct sync *s;
	const char *base = cfg->server;
	size_t blen = strlen(base);

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->cfg = cfg;
	s->q = q;
	util_strlcpy(s->agent_id, agent_id, sizeof(s->agent_id));
	util_strlcpy(s->hostname, hostname, sizeof(s->hostname));
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	snprintf(s->url_enrol, sizeof(s->url_enrol), "%.*s%s", (int)blen, base,
	         PROTO_PATH_ENROL);
	snprintf(s->url_batches, sizeof(s->url_batches), "%.*s%s", (int)blen,
	         base, PROTO_PATH_BATCHES);
	if ((size_t)snprintf(s->token_path, sizeof(s->token_path), "%s/token",
	                     cfg->state_dir) >= sizeof(s->token_path) ||
	    (size_t)snprintf(s->key_path, sizeof(s->key_path), "%s/agent-key",
	                     cfg->state_dir) >= sizeof(s->key_path))
		goto fail;
	s->limit = cfg->batch_records;
	s->max_bytes = PROTO_BATCH_BYTES;
	s->http = httpc_new(cfg->ca_file, cfg->http_timeout, REPLY_MAX);
	if (s->http == NULL || httpc_set_proxy(s->http, cfg->proxy) == -1)
		goto fail;
	load_token(s);
	load_key(s);
	return s;
fail:
	sync_free(s);
	return NULL;
}

void
sync_free(struct sync *s)
{
	if (s == NULL)
		return;
	httpc_free(s->http);
	crypto_wipe(s->token, sizeof(s->token));
	crypto_wipe(s->key, sizeof(s->key));
	free(s);
}

int
sync_save_identity(struct sync *s)
{
	if (s->key[0] &&
	    util_write_file(s->key_path, s->key, strlen(s->key), 0600) == -1)
		return -1;
	if (s->token[0] && util_write_file(s->token_path, s->token,
	                                   strlen(s->token), 0600) == -1)
		return -1;
	return 0;
}

long
sync_backoff(int attempt, long base, long cap, long retry_after, double rnd)
{
	double ceiling = base;
	long d;
	int i;

	for (i = 1; i < attempt && ceiling < cap; i++)
		ceiling *= 2;
	if (ceiling > cap)
		ceiling = cap;
	d = (long)(ceiling * rnd) + 1;
	if (retry_after > d)
		d = retry_after;
	return d;
}

/* Logs the server's "error" message, if it sent one. */
static void
log_refusal(struct sync *s, const char *what, const struct httpc_resp *r)
{
	json_t *j =
	    json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
	const char *msg = json_string_value(json_object_get(j, "error"));

	failed(s, "%s: server answered %ld%s%s", what, r->status,
	       msg ? ": " : "", msg ? msg : "");
	json_decref(j);
}

int
sync_enrol(struct sync *s, struct sync_result *res)
{
	struct httpc_req req = {"POST",
	                        s->url_enrol,
	                        s->cfg->enrol_secret,
	                        PROTO_CONTENT_TYPE,
	                        NULL,
	                        NULL,
	                        0,
	                        NULL};
	struct httpc_resp r;
	const char *tok, *commune;
	json_t *body, *reply = NULL;
	char *text;
	int rc = -1;

	if (s->cfg->enrol_secret[0] == '\0') {
		failed(s, "no token in %s and no enrol_secret configured",
		       s->token_path);
		return -1;
	}
	body = json_pack("{s:s, s:s, s:s}", "agent_id", s->agent_id, "hostname",
	                 s->hostname, "commune", s->cfg->commune);
	/* Proof that this PC holds the identity it enrols (docs/PROTOCOL.md,
	 * "Enrolment"): the key the agent id derives from, and the current
	 * token if any (agents enrolled before identity keys). */
	if (body && s->key[0])
		json_object_set_new(body, "key", json_string(s->key));
	if (body && s->token[0])
		json_object_set_new(body, "token", json_string(s->token));
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL)
		return -1;
	req.body = text;
	req.body_len = strlen(text);
	s->tried = 1;
	if (httpc_do(s->http, &req, &r) == -1) {
		failed(s, "enrol: %s", r.err);
		goto fail;
	}
	res->status = (int)r.status;
	res->retry_after = r.retry_after;
	if (r.status != 200 && r.status != 201) {
		log_refusal(s, "enrol", &r);
		goto fail;
	}
	reply = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
	tok = json_string_value(json_object_get(reply, "token"));
	commune = json_string_value(json_object_get(reply, "commune"));
	if (tok == NULL || strlen(tok) != CRYPTO_HEX256_LEN) {
		failed(s, "enrol: answer without a valid token");
		goto fail;
	}
	if (util_write_file(s->token_path, tok, strlen(tok), 0600) == -1) {
		failed(s, "%s: %s", s->token_path, strerror(errno));
		goto fail;
	}
	util_strlcpy(s->token, tok, sizeof(s->token));
	log_info("enrolled as agent %s of commune %s", s->agent_id,
	         commune ? commune : "?");
	rc = 0;
fail:
	json_decref(reply);
	buf_free(&r.body);
	crypto_wipe(text, strlen(text));
	free(text);
	return rc;
}

struct build_ctx {
	struct buf *json;
	long long first, last;
	int count;
};

static int
add_record(const struct queue_rec *r, void *arg)
{
	struct build_ctx *b = arg;

	if (b->count == 0)
		b->first = r->seq;
	b->last = r->seq;
	if (buf_printf(b->json,
	               "%s{\"seq\":%lld,\"type\":\"%s\",\"time\":%lld,"
	               "\"boot\":%lld,\"mono\":%lld,\"data\":",
	               b->count ? "," : "", r->seq, r->type, r->created,
	               r->boot, r->mono) == -1 ||
	    buf_adds(b->json, r->body) == -1 || buf_adds(b->json, "}") == -1)
		return -1;
	b->count++;
	return 0;
}

/* Seals the oldest records into a new batch: returns 1, 0 if the queue is
 * empty, or -1. The JSON envelope is assembled from the stored record
 * bodies, which are JSON already. */
static int
seal_batch(struct sync *s, struct queue_batch *qb)
{
	struct buf json, gz;
	struct build_ctx b;
	unsigned char raw[16];
	int n, rc = -1;

	buf_init(&json, PROTO_MAX_INFLATED);
	buf_init(&gz, PROTO_MAX_BODY);
	memset(qb, 0, sizeof(*qb));
	memset(&b, 0, sizeof(b));
	b.json = &json;
	if (crypto_random(raw, sizeof(raw)) == -1)
		goto fail;
	crypto_hex(raw, sizeof(raw), qb->batch_id);
	if (buf_printf(&json,
	               "{\"v\":%d,\"agent_id\":\"%s\",\"epoch\":\"%s\","
	               "\"batch_id\":\"%s\",\"records\":[",
	               PROTO_VERSION, s->agent_id, queue_epoch(s->q),
	               qb->batch_id) == -1)
		goto fail;
	n = queue_peek(s->q, s->limit, s->max_bytes, add_record, &b);
	if (n <= 0) {
		rc = n;
		goto fail;
	}
	if (buf_adds(&json, "]}") == -1 ||
	    codec_gzip(json.data, json.len, 9, &gz) == -1) {
		log_warnx("batch of %d records too large to seal", n);
		goto fail;
	}
	qb->first_seq = b.first;
	qb->last_seq = b.last;
	qb->records = b.count;
	qb->len = gz.len;
	qb->body = (unsigned char *)buf_detach(&gz);
	if (queue_seal(s->q, qb) == -1) {
		queue_batch_free(qb);
		goto fail;
	}
	crashpoint("sync.sealed");
	rc = 1;
fail:
	buf_free(&json);
	buf_free(&gz);
	return rc;
}

/* Checks that the answer acknowledges exactly this batch. A 200 from
 * something else (a captive portal, a proxy) acknowledges nothing. */
static int
acked(const struct queue_batch *qb, json_t *j)
{
	const char *id = json_string_value(json_object_get(j, "batch_id"));
	json_int_t seq = json_integer_value(json_object_get(j, "ack_seq"));

	return id != NULL && strcmp(id, qb->batch_id) == 0 &&
	       seq >= qb->last_seq;
}

/* What to do with an answer (docs/PROTOCOL.md, "Answers"). */
enum verdict {
	V_ACK,        /* 2xx naming the batch: delete it */
	V_RETRY,      /* keep the batch, back off, send it again */
	V_REENROL,    /* 401: new token once, then pause */
	V_QUARANTINE, /* 400/422: set the refused record(s) aside */
	V_SPLIT,      /* 413: seal fewer records */
	V_IDENTITY,   /* 415: send the batch uncompressed */
	V_REBASE,     /* 409: the server lacks our inventory baseline */
	V_PAUSE,      /* 403: an administrator must act; keep the data */
};

static const struct {
	long status;
	enum verdict verdict;
	int needs_error; /* only when the body is our server's JSON error */
} answers[] = {
    {400, V_QUARANTINE, 1}, {401, V_REENROL, 0}, {403, V_PAUSE, 0},
    {409, V_REBASE, 1},     {413, V_SPLIT, 0},   {415, V_IDENTITY, 0},
    {422, V_QUARANTINE, 1}, {429, V_RETRY, 0},   {503, V_RETRY, 0},
};

/* The verdict for status with its JSON body j (NULL if not JSON). A 4xx
 * that would discard or rewrite data is believed only from a mutu server
 * (a JSON body with "error"): a proxy's HTML page is a transient failure. */
static enum verdict
verdict(long status, json_t *j)
{
	size_t i;

	if (status >= 200 && status < 300)
		return V_ACK;
	for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		if (answers[i].status != status)
			continue;
		if (answers[i].needs_error &&
		    !json_is_string(json_object_get(j, "error")))
			return V_RETRY;
		return answers[i].verdict;
	}
	return V_RETRY;
}

/* The clock header: wall time, boot number and boot-clock time at this
 * attempt, so that the server can date the records whatever the agent's
 * wall clock says (docs/RELIABILITY.md, "Clocks"). */
static void
clock_header(struct sync *s, char *out, size_t n)
{
	struct timespec ts;
	long long boot, mono;

	clock_gettime(CLOCK_REALTIME, &ts);
	queue_clock(s->q, &boot, &mono);
	snprintf(out, n, "%s: %lld %lld %lld", PROTO_CLOCK_HEADER,
	         (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, boot,
	         mono);
}

struct answer {
	long status;
	long retry_after;
	json_t *body; /* parsed JSON, or NULL */
};

/* POSTs the batch, compressed unless identity. 0 with a, or -1 when no
 * answer came (the batch stays sealed for a byte-identical retry). */
static int
post_batch(struct sync *s, const struct queue_batch *qb, int identity,
           struct answer *a)
{
	struct httpc_req req = {
	    "POST", s->url_batches, s->token, PROTO_CONTENT_TYPE,
	    "gzip", qb->body,       qb->len,  NULL};
	struct buf plain;
	struct httpc_resp r;
	char hdr[128];
	int rc;

	buf_init(&plain, PROTO_MAX_INFLATED);
	if (identity) {
		if (codec_gunzip(qb->body, qb->len, 0, &plain) != CODEC_OK) {
			failed(s, "sync: cannot decompress batch %s",
			       qb->batch_id);
			buf_free(&plain);
			return -1;
		}
		req.content_encoding = NULL;
		req.body = plain.data;
		req.body_len = plain.len;
	}
	clock_header(s, hdr, sizeof(hdr));
	req.header = hdr;
	s->tried = 1;
	rc = httpc_do(s->http, &req, &r);
	buf_free(&plain);
	if (rc == -1) {
		failed(s, "sync: %s", r.err);
		buf_free(&r.body);
		return -1;
	}
	a->status = r.status;
	a->retry_after = r.retry_after;
	a->body =
	    json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
	buf_free(&r.body);
	return 0;
}

static void
log_answer(struct sync *s, const char *what, const struct answer *a)
{
	const char *msg = json_string_value(json_object_get(a->body, "error"));

	failed(s, "%s: server answered %ld%s%s", what, a->status,
	       msg ? ": " : "", msg ? msg : "");
}

/* Sets records first..last aside and queues a "gap" record saying so, in
 * one transaction. Returns the number set aside, or -1. */
static long long
quarantine(struct sync *s, long long first, long long last, const char *why)
{
	json_t *j;
	char *text;
	int n;

	if (queue_begin(s->q) == -1)
		return -1;
	if ((n = queue_quarantine(s->q, first, last, why)) == -1)
		goto fail;
	j = json_pack("{s:s, s:s, s:I, s:I, s:i, s:s}", "reason", "quarantine",
	              "epoch", queue_epoch(s->q), "first_seq",
	              (json_int_t)first, "last_seq", (json_int_t)last,
	              "records", n, "detail", why);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL || queue_push(s->q, "gap", time(NULL), text) == -1) {
		free(text);
		goto fail;
	}
	free(text);
	if (queue_commit(s->q) == -1)
		return -1;
	log_warnx("sync: server refused record(s) %lld-%lld (%s); %d set "
	          "aside in the quarantine table",
	          first, last, why, n);
	return n;
fail:
	queue_rollback(s->q);
	return -1;
}

/* 400/422: the server names the refused record (record_seq); without a
 * name the whole batch is refused. */
static int
on_refused(struct sync *s, const struct queue_batch *qb, json_t *j,
           struct sync_result *res)
{
	json_int_t seq = json_integer_value(json_object_get(j, "record_seq"));
	const char *why = json_string_value(json_object_get(j, "error"));
	long long n;

	if (seq >= qb->first_seq && seq <= qb->last_seq)
		n = quarantine(s, seq, seq, why);
	else
		n = quarantine(s, qb->first_seq, qb->last_seq, why);
	if (n < 0)
		return -1;
	res->quarantined += n;
	return 0;
}

/* 413: seal half as many records; a single record too large for the
 * server is quarantined. */
static int
on_too_large(struct sync *s, const struct queue_batch *qb,
             struct sync_result *res)
{
	long long n;

	if (qb->records <= 1) {
		if ((n = quarantine(s, qb->first_seq, qb->last_seq,
		                    "record too large for the server")) < 0)
			return -1;
		res->quarantined += n;
		return 0;
	}
	s->limit = qb->records / 2;
	s->max_bytes = s->max_bytes / 2 > 4096 ? s->max_bytes / 2 : 4096;
	log_info("sync: batch of %d records too large; splitting", qb->records);
	return queue_unseal(s->q);
}

/* 409: the server cannot apply our inventory deltas (it lost or never had
 * the full inventory they build on). The deltas are superseded by the full
 * inventory the caller now queues. */
static int
on_rebase(struct sync *s, struct sync_result *res)
{
	int n = queue_delete_type(s->q, PROTO_REC_INVENTORY_DELTA);

	if (n == -1)
		return -1;
	log_info("sync: server lacks our inventory; %d deltas replaced by a "
	         "full inventory",
	         n);
	res->need_inventory = 1;
	return 0;
}

static int
on_ack(struct sync *s, const struct queue_batch *qb, json_t *j,
       struct sync_result *res)
{
	if (!acked(qb, j)) {
		failed(s,
		       "sync: answer does not acknowledge batch %s; "
		       "keeping it",
		       qb->batch_id);
		return -1;
	}
	crashpoint("sync.acked");
	if (queue_ack(s->q, qb->batch_id) == -1) {
		failed(s, "sync: cannot remove acknowledged batch %s",
		       qb->batch_id);
		return -1;
	}
	crashpoint("sync.deleted");
	res->batches++;
	res->records += qb->records;
	s->limit = s->cfg->batch_records;
	s->max_bytes = PROTO_BATCH_BYTES;
	log_debug("sync: batch %s (seq %lld-%lld) acknowledged", qb->batch_id,
	          qb->first_seq, qb->last_seq);
	return 0;
}

enum step { STEP_NEXT, STEP_FAIL, STEP_REENROL };

/* Sends one batch and acts on the answer. */
static enum step
deliver(struct sync *s, const struct queue_batch *qb, struct sync_result *res)
{
	struct answer a = {0, -1, NULL};
	enum verdict v;
	int identity = 0, rc = -1;

again:
	if (post_batch(s, qb, identity, &a) == -1)
		return STEP_FAIL;
	res->status = (int)a.status;
	res->retry_after = a.retry_after;
	switch ((v = verdict(a.status, a.body))) {
	case V_ACK:
		rc = on_ack(s, qb, a.body, res);
		break;
	case V_QUARANTINE:
		log_answer(s, "sync", &a);
		rc = on_refused(s, qb, a.body, res);
		break;
	case V_SPLIT:
		rc = on_too_large(s, qb, res);
		break;
	case V_IDENTITY:
		log_answer(s, "sync", &a);
		if (!identity) {
			identity = 1;
			json_decref(a.body);
			goto again;
		}
		res->retry_after = SYNC_PAUSE;
		break;
	case V_REBASE:
		rc = on_rebase(s, res);
		if (rc == 0)
			rc = -1; /* the caller queues the inventory first */
		break;
	case V_PAUSE:
		log_answer(s, "sync", &a);
		res->retry_after = SYNC_PAUSE;
		break;
	case V_REENROL:
	case V_RETRY:
		log_answer(s, "sync", &a);
		break;
	}
	json_decref(a.body);
	if (v == V_REENROL)
		return STEP_REENROL;
	return rc == 0 ? STEP_NEXT : STEP_FAIL;
}

static int
run_batches(struct sync *s, struct sync_result *res)
{
	struct queue_batch qb;
	enum step st;
	int i, n, reenrolled = 0;

	memset(res, 0, sizeof(*res));
	res->retry_after = -1;
	if (s->token[0] == '\0' && sync_enrol(s, res) == -1)
		return -1;
	for (i = 0; i < MAX_BATCHES_PER_RUN; i++) {
		if (s->stop && *s->stop)
			return -1;
		if ((n = queue_sealed(s->q, &qb)) == 0)
			n = seal_batch(s, &qb);
		if (n == -1) {
			failed(s, "sync: cannot seal a batch from the queue");
			return -1;
		}
		if (n == 0)
			return 0;
		st = deliver(s, &qb, res);
		queue_batch_free(&qb);
		if (st == STEP_REENROL && !reenrolled) {
			/* The token was revoked or the server lost us: trade
			 * the enrolment secret for a new one, once, proving
			 * our identity with the key (or the token refused:
			 * a server restored from a backup still knows it). */
			reenrolled = 1;
			if (sync_enrol(s, res) == -1)
				return -1;
			i--;
			continue;
		}
		if (st == STEP_REENROL)
			res->retry_after = SYNC_PAUSE;
		if (st != STEP_NEXT)
			return -1;
	}
	return 0; /* more to send: the caller comes back soon */
}

/* Reads meta value key of q as a time; 0 if absent or malformed. */
static long long
meta_time(struct queue *q, const char *key)
{
	char v[32];
	long long t;

	if (queue_meta_get(q, key, v, sizeof(v)) == -1 ||
	    util_parse_ll(v, 0, 1LL << 40, &t) == -1)
		return 0;
	return t;
}

int
sync_state_load(struct queue *q, struct sync_state *st)
{
	char v[32], raw[SYNC_ERROR_MAX];

	memset(st, 0, sizeof(*st));
	/* A database without the keys (a new agent, or one from before
	 * them) reads as no attempt yet; the epoch is always there, so
	 * that a read that fails is told apart from an absent key. */
	if (queue_meta_get(q, "epoch", v, sizeof(v)) == -1)
		return -1;
	st->ok_at = meta_time(q, KEY_OK_AT);
	st->failing_since = meta_time(q, KEY_FAILING_SINCE);
	st->error_at = meta_time(q, KEY_ERROR_AT);
	/* Cleaned again: whatever the file holds, status prints one line. */
	if (queue_meta_get(q, KEY_ERROR, raw, sizeof(raw)) == 0)
		sync_clean_error(raw, st->error, sizeof(st->error));
	return 0;
}

/* Sets meta value key of q to the time t. */
static int
set_time(struct queue *q, const char *key, long long t)
{
	char v[32];

	snprintf(v, sizeof(v), "%lld", t);
	return queue_meta_set(q, key, v);
}

/* Keeps the run's outcome (sync_state) in one small transaction of the
 * queue. A run that found nothing to send and asked the server nothing
 * is not written, nor one the server answered with 409 alone: the
 * caller queues the full inventory and tries again at once. Not being
 * able to write it is logged; delivery goes on. */
static void
keep_outcome(struct sync *s, int rc, const struct sync_result *res)
{
	const char *err =
	    s->err[0] ? s->err : "delivery failed (see the agent's log)";
	long long now = time(NULL), since;
	int took = rc == 0 || res->batches > 0;
	int fail = rc == -1 && !res->need_inventory;
	int w = 0;

	if (s->q == NULL || (!fail && !(took && s->tried)))
		return;
	since = meta_time(s->q, KEY_FAILING_SINCE);
	if (queue_begin(s->q) == -1) {
		log_warnx("queue: cannot record the delivery's outcome");
		return;
	}
	if (took)
		w |= set_time(s->q, KEY_OK_AT, now);
	if (rc == 0 && since != 0)
		w |= set_time(s->q, KEY_FAILING_SINCE, 0);
	if (fail && since == 0)
		w |= set_time(s->q, KEY_FAILING_SINCE, now);
	if (fail)
		w |= set_time(s->q, KEY_ERROR_AT, now) |
		     queue_meta_set(s->q, KEY_ERROR, err);
	if (w != 0)
		queue_rollback(s->q);
	if (w != 0 || queue_commit(s->q) == -1)
		log_warnx("queue: cannot record the delivery's outcome");
}

int
sync_run(struct sync *s, struct sync_result *res)
{
	int rc;

	s->tried = 0;
	s->err[0] = '\0';
	rc = run_batches(s, res);
	/* No connection is held idle between runs: the next one is minutes
	 * or hours away, and a server facing thousands of agents should
	 * not keep their sockets open meanwhile. */
	httpc_disconnect(s->http);
	/* Stopping (SIGTERM) is not a failed delivery. */
	if (!(s->stop && *s->stop))
		keep_outcome(s, rc, res);
	return rc;
}
