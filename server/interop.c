/*
 * interop: the OCS Inventory XML protocol of foreign agents.
 */
#include "interop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "buf.h"
#include "codec.h"
#include "ingest.h"
#include "log.h"
#include "ocsxml.h"
#include "proto.h"

/* Hours the agents wait before their next contact (PROLOG_FREQ). */
#define PROLOG_FREQ 24
#define ZLIB_TYPE   "application/x-compress-zlib"

/* Sets reply to the protocol's XML answer, zlib compressed. */
static void
xml_reply(struct http_reply *reply, int status, const char *response, int freq)
{
	char *xml = ocsxml_reply(response, freq);
	struct buf z;
	size_t len;

	buf_init(&z, 64 * 1024);
	if (xml == NULL || codec_zlib(xml, strlen(xml), 6, &z) == -1) {
		free(xml);
		buf_free(&z);
		http_error(reply, 503, "out of memory");
		return;
	}
	free(xml);
	len = z.len;
	http_bytes(reply, status, ZLIB_TYPE, buf_detach(&z), len);
}

int
interop_basic(const char *h, char *user, size_t ulen, char *pass, size_t plen)
{
	unsigned char dec[400];
	size_t n, pad = 0;
	char *colon;
	int k;

	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return -1;
	h += 6;
	while (*h == ' ')
		h++;
	n = strlen(h);
	if (n == 0 || n % 4 || n / 4 * 3 >= sizeof(dec))
		return -1;
	if ((k = EVP_DecodeBlock(dec, (const unsigned char *)h, (int)n)) < 0)
		return -1;
	pad = (h[n - 1] == '=') + (h[n - 2] == '=');
	n = (size_t)k - pad;
	dec[n] = '\0';
	if (memchr(dec, '\0', n) || (colon = strchr((char *)dec, ':')) == NULL)
		return -1;
	*colon = '\0';
	if (strlen((char *)dec) >= ulen || strlen(colon + 1) >= plen)
		return -1;
	memcpy(user, dec, strlen((char *)dec) + 1);
	memcpy(pass, colon + 1, strlen(colon + 1) + 1);
	OPENSSL_cleanse(dec, sizeof(dec));
	return 0;
}

void
interop_refuse(int status, struct http_reply *reply)
{
	xml_reply(reply, status, "STOP", 0);
	if (status == 401)
		reply->authenticate = INTEROP_REALM;
}

/* The body as XML text: as sent when it starts with '<', else inflated
 * (zlib or gzip, whatever Content-Type says: agents disagree on it)
 * into z within the batches' limits. -1 with the reply set. */
static int
decode(const struct interop_req *in, struct buf *z, const char **xml,
       size_t *len, struct http_reply *reply)
{
	enum codec_err e;
	size_t i = 0;

	while (i < in->len && (in->body[i] == ' ' || in->body[i] == '\n' ||
	                       in->body[i] == '\r' || in->body[i] == '\t'))
		i++;
	if (i < in->len && in->body[i] == '<') {
		*xml = in->body;
		*len = in->len;
		return 0;
	}
	if (i < in->len && in->body[i] == '{') {
		http_error(
		    reply, 415,
		    "GLPI Agent's JSON protocol is not served: configure "
		    "the agent for this server's XML protocol "
		    "(docs/INTEROP.md)");
		return -1;
	}
	buf_init(z, PROTO_MAX_INFLATED);
	if ((e = codec_unzip_any(in->body, in->len, PROTO_MAX_RATIO, z)) !=
	    CODEC_OK) {
		http_error(reply, e == CODEC_TOO_BIG ? 413 : 400,
		           "body (Content-Type %s): %s",
		           in->content_type ? in->content_type : "none",
		           codec_strerror(e));
		return -1;
	}
	*xml = z->data ? z->data : "";
	*len = z->len;
	return 0;
}

/* Which agent sent it, from its User-Agent or its VERSIONCLIENT. */
static const char *
source_of(const struct interop_req *in, json_t *content)
{
	const char *v =
	    json_string_value(json_object_get(content, "versionclient"));
	const char *ua = in->user_agent ? in->user_agent : "";

	if (strstr(ua, "GLPI-Agent") || (v && strstr(v, "GLPI-Agent")))
		return "glpi-agent";
	if (strstr(ua, "FusionInventory") ||
	    (v && strstr(v, "FusionInventory")))
		return "fusioninventory";
	return "ocs";
}

/* The inventory as a batch of one record of the machine's stream,
 * through the same checks and store as mutu-agent's. */
static void
store_inventory(struct store *s, const struct interop_req *in,
                const struct ocsxml_msg *m, struct http_reply *reply)
{
	struct store_foreign f = {source_of(in, m->content), m->deviceid,
	                          in->cred_hash, m->content};
	struct store_ingest_result res;
	char merged[STORE_ID_MAX], err[256], bid[32];
	struct store_agent a;
	struct ingest_batch b;
	enum ingest_err why;
	long long seq;
	json_t *batch;
	char *text;
	int rc;

	rc = store_foreign_machine(s, in->commune, &f, &a, &seq, merged);
	if (rc == STORE_DENIED) {
		interop_refuse(403, reply);
		return;
	}
	if (rc != STORE_OK) {
		http_error(reply, 503, "storage unavailable; retry later");
		reply->retry_after = 30;
		return;
	}
	if (merged[0]) { /* mutu-agent reports this PC: its word stands */
		xml_reply(reply, 200, "NO_ACCOUNT_UPDATE", 0);
		return;
	}
	snprintf(bid, sizeof(bid), "f%llx", seq);
	batch = json_pack(
	    "{s:i, s:s, s:s, s:s, s:[{s:I, s:I, s:s, s:{s:s, s:O}}]}", "v",
	    PROTO_VERSION, "agent_id", a.agent_id, "epoch", STORE_FOREIGN_EPOCH,
	    "batch_id", bid, "records", "seq", (json_int_t)seq, "time",
	    (json_int_t)time(NULL), "type", PROTO_REC_INVENTORY, "data",
	    "deviceid", m->deviceid, "content", m->content);
	text = batch ? json_dumps(batch, JSON_COMPACT) : NULL;
	json_decref(batch);
	if (text == NULL) {
		http_error(reply, 503, "out of memory");
		return;
	}
	why = ingest_parse(text, strlen(text), a.agent_id, NULL, &b, err,
	                   sizeof(err));
	free(text);
	if (why != INGEST_OK) {
		ingest_free(&b);
		http_error(reply, why == INGEST_TOO_COSTLY ? 413 : 422,
		           "inventory refused: %s", err);
		return;
	}
	b.batch.max_day_keys = in->max_day_keys;
	b.batch.max_software = in->max_software;
	rc = store_ingest(s, &a, &b.batch, &res);
	ingest_free(&b);
	if (rc != STORE_OK) {
		http_error(reply, 503, "storage unavailable; retry later");
		reply->retry_after = 30;
		return;
	}
	log_info("%s inventory of %s stored as machine %s of commune %s",
	         f.source, m->deviceid, a.agent_id, a.commune);
	xml_reply(reply, 200, "NO_ACCOUNT_UPDATE", 0);
}

void
interop_serve(struct store *s, const struct interop_req *in,
              struct http_reply *reply)
{
	struct ocsxml_msg m;
	const char *xml;
	char err[256];
	struct buf z;
	size_t len;

	memset(&z, 0, sizeof(z));
	if (decode(in, &z, &xml, &len, reply) == -1) {
		buf_free(&z);
		return;
	}
	if (ocsxml_parse(xml, len, &m, err, sizeof(err)) == -1) {
		http_error(reply, 400, "%s", err);
		buf_free(&z);
		return;
	}
	buf_free(&z);
	switch (m.query) {
	case OCSXML_PROLOG:
		xml_reply(reply, 200, "SEND", PROLOG_FREQ);
		break;
	case OCSXML_INVENTORY:
		store_inventory(s, in, &m, reply);
		break;
	case OCSXML_OTHER:
		http_error(reply, 400,
		           "QUERY %s: not served (PROLOG and "
		           "INVENTORY are)",
		           m.query_name);
		break;
	}
	json_decref(m.content);
}
