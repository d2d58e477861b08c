#include "sync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "codec.h"
#include "crypto.h"
#include "httpc.h"
#include "log.h"
#include "proto.h"
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
	char url_enrol[600], url_batches[600];
};

static void
load_token(struct sync *s)
{
	char *t;

	s->token[0] = '\0';
	if ((t = util_read_file(s->token_path, 256)) == NULL)
		return;
	if (strlen(t) == CRYPTO_HEX256_LEN)
		util_strlcpy(s->token, t, sizeof(s->token));
	else
		log_warnx("%s: malformed token, enrolling again",
		          s->token_path);
	crypto_wipe(t, strlen(t));
	free(t);
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
	                     cfg->state_dir) >= sizeof(s->token_path))
		goto fail;
	s->http = httpc_new(cfg->ca_file, cfg->http_timeout, REPLY_MAX);
	if (s->http == NULL)
		goto fail;
	load_token(s);
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
	free(s);
}

long
sync_backoff(int attempt, long cap, long retry_after, double rnd)
{
	double ceiling = 5;
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
log_refusal(const char *what, const struct httpc_resp *r)
{
	json_t *j =
	    json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
	const char *msg = json_string_value(json_object_get(j, "error"));

	log_warnx("%s: server answered %ld%s%s", what, r->status,
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
	                        0};
	struct httpc_resp r;
	const char *tok, *commune;
	json_t *body, *reply = NULL;
	char *text;
	int rc = -1;

	if (s->cfg->enrol_secret[0] == '\0') {
		log_warnx("no token in %s and no enrol_secret configured",
		          s->token_path);
		return -1;
	}
	body = json_pack("{s:s, s:s, s:s}", "agent_id", s->agent_id, "hostname",
	                 s->hostname, "commune", s->cfg->commune);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL)
		return -1;
	req.body = text;
	req.body_len = strlen(text);
	if (httpc_do(s->http, &req, &r) == -1) {
		log_warnx("enrol: %s", r.err);
		goto fail;
	}
	res->status = (int)r.status;
	res->retry_after = r.retry_after;
	if (r.status != 200 && r.status != 201) {
		log_refusal("enrol", &r);
		goto fail;
	}
	reply = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
	tok = json_string_value(json_object_get(reply, "token"));
	commune = json_string_value(json_object_get(reply, "commune"));
	if (tok == NULL || strlen(tok) != CRYPTO_HEX256_LEN) {
		log_warnx("enrol: answer without a valid token");
		goto fail;
	}
	if (util_write_file(s->token_path, tok, strlen(tok), 0600) == -1) {
		log_warn("%s", s->token_path);
		goto fail;
	}
	util_strlcpy(s->token, tok, sizeof(s->token));
	log_info("enrolled as agent %s of commune %s", s->agent_id,
	         commune ? commune : "?");
	rc = 0;
fail:
	json_decref(reply);
	buf_free(&r.body);
	free(text);
	return rc;
}

struct build_ctx {
	struct buf *json;
	long long first, last;
	int count;
};

static int
add_record(long long seq, const char *type, long long created, const char *body,
           void *arg)
{
	struct build_ctx *b = arg;

	if (b->count == 0)
		b->first = seq;
	b->last = seq;
	if (buf_printf(
	        b->json,
	        "%s{\"seq\":%lld,\"type\":\"%s\",\"time\":%lld,\"data\":",
	        b->count ? "," : "", seq, type, created) == -1 ||
	    buf_adds(b->json, body) == -1 || buf_adds(b->json, "}") == -1)
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
	n = queue_peek(s->q, s->cfg->batch_records, PROTO_BATCH_BYTES,
	               add_record, &b);
	if (n <= 0) {
		rc = n;
		goto fail;
	}
	if (buf_adds(&json, "]}") == -1 ||
	    codec_gzip(json.data, json.len, 6, &gz) == -1) {
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
	rc = 1;
fail:
	buf_free(&json);
	buf_free(&gz);
	return rc;
}

/* Checks that the answer acknowledges exactly this batch. A 200 from
 * something else (a captive portal, a proxy) acknowledges nothing. */
static int
acked(const struct queue_batch *qb, const struct httpc_resp *r)
{
	json_t *j;
	const char *id;
	json_int_t seq;
	int ok;

	j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
	id = json_string_value(json_object_get(j, "batch_id"));
	seq = json_integer_value(json_object_get(j, "ack_seq"));
	ok = id != NULL && strcmp(id, qb->batch_id) == 0 && seq >= qb->last_seq;
	json_decref(j);
	return ok;
}

enum send_result { SEND_OK, SEND_FAIL, SEND_REENROL };

static enum send_result
send_batch(struct sync *s, const struct queue_batch *qb,
           struct sync_result *res)
{
	struct httpc_req req = {
	    "POST", s->url_batches, s->token, PROTO_CONTENT_TYPE,
	    "gzip", qb->body,       qb->len};
	struct httpc_resp r;
	enum send_result out = SEND_FAIL;

	if (httpc_do(s->http, &req, &r) == -1) {
		log_warnx("sync: %s", r.err);
		goto done;
	}
	res->status = (int)r.status;
	res->retry_after = r.retry_after;
	if (r.status == 401) {
		log_refusal("sync", &r);
		out = SEND_REENROL;
	} else if (r.status != 200) {
		log_refusal("sync", &r);
	} else if (!acked(qb, &r)) {
		log_warnx("sync: answer does not acknowledge batch %s; "
		          "keeping it",
		          qb->batch_id);
	} else if (queue_ack(s->q, qb->batch_id) == -1) {
		log_warnx("sync: cannot remove acknowledged batch %s",
		          qb->batch_id);
	} else {
		res->batches++;
		res->records += qb->records;
		log_debug("sync: batch %s (seq %lld-%lld) acknowledged",
		          qb->batch_id, qb->first_seq, qb->last_seq);
		out = SEND_OK;
	}
done:
	buf_free(&r.body);
	return out;
}

int
sync_run(struct sync *s, struct sync_result *res)
{
	struct queue_batch qb;
	enum send_result sr;
	int i, n, reenrolled = 0;

	memset(res, 0, sizeof(*res));
	res->retry_after = -1;
	if (s->token[0] == '\0' && sync_enrol(s, res) == -1)
		return -1;
	for (i = 0; i < MAX_BATCHES_PER_RUN; i++) {
		if ((n = queue_sealed(s->q, &qb)) == 0)
			n = seal_batch(s, &qb);
		if (n == -1)
			return -1;
		if (n == 0)
			return 0;
		sr = send_batch(s, &qb, res);
		queue_batch_free(&qb);
		if (sr == SEND_REENROL && !reenrolled) {
			/* The token was revoked or the server lost us: trade
			 * the enrolment secret for a new one, once. */
			reenrolled = 1;
			unlink(s->token_path);
			s->token[0] = '\0';
			if (sync_enrol(s, res) == -1)
				return -1;
			i--;
			continue;
		}
		if (sr != SEND_OK)
			return -1;
	}
	return 0; /* more to send: the caller comes back soon */
}
