/*
 * interop: the protocols of foreign agents: OCS Inventory's XML and
 * GLPI Agent's JSON.
 */
#include "interop.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "buf.h"
#include "codec.h"
#include "ingest.h"
#include "log.h"
#include "ocsxml.h"
#include "proto.h"

/* Hours the agents wait before their next contact (PROLOG_FREQ, and
 * the JSON protocol's expiration). */
#define FREQ_HOURS 24
#define ZLIB_TYPE  "application/x-compress-zlib"

/* How the agent speaks, for answers and errors: the JSON protocol when
 * it names itself with a GLPI-Agent-ID header (as the protocol says it
 * must), else OCS XML with mutu's errors. */
static int
json_mode(const struct interop_req *in)
{
	return in->glpi_agent_id != NULL;
}

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

/* A JSON protocol answer, sent back to the agent that GLPI-Agent-ID
 * names (when it is an id: hex digits and dashes). */
static void
json_reply(const struct interop_req *in, struct http_reply *reply, int status,
           json_t *answer)
{
	const char *id = in->glpi_agent_id;

	http_json(reply, status, answer);
	if (id && strlen(id) <= 64 &&
	    strspn(id, "0123456789abcdefABCDEF-") == strlen(id)) {
		reply->header = "GLPI-Agent-ID";
		reply->value = id;
	}
}

static void
json_ok(const struct interop_req *in, struct http_reply *reply)
{
	json_reply(
	    in, reply, 200,
	    json_pack("{s:s, s:i}", "status", "ok", "expiration", FREQ_HOURS));
}

void
interop_error(const struct interop_req *in, struct http_reply *reply,
              int status, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json_mode(in))
		json_reply(in, reply, status,
		           json_pack("{s:s, s:s, s:i}", "status", "error",
		                     "message", msg, "expiration", FREQ_HOURS));
	else
		http_error(reply, status, "%s", msg);
	if (status == 503)
		reply->retry_after = 30;
}

int
interop_basic(const char *h, char *user, size_t ulen, char *pass, size_t plen)
{
	unsigned char dec[400];
	size_t n, pad = 0;
	char *colon;
	int k, rc = -1;

	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return -1;
	h += 6;
	while (*h == ' ')
		h++;
	n = strlen(h);
	if (n == 0 || n % 4 || n / 4 * 3 >= sizeof(dec))
		return -1;
	if ((k = EVP_DecodeBlock(dec, (const unsigned char *)h, (int)n)) < 0)
		goto fail;
	pad = (h[n - 1] == '=') + (h[n - 2] == '=');
	n = (size_t)k - pad;
	dec[n] = '\0';
	/* a NUL inside: a '=' out of place, or a NUL sent */
	if (memchr(dec, '\0', n) || (colon = strchr((char *)dec, ':')) == NULL)
		goto fail;
	*colon = '\0';
	if (strlen((char *)dec) >= ulen || strlen(colon + 1) >= plen)
		goto fail;
	memcpy(user, dec, strlen((char *)dec) + 1);
	memcpy(pass, colon + 1, strlen(colon + 1) + 1);
	rc = 0;
fail:
	OPENSSL_cleanse(dec, sizeof(dec));
	return rc;
}

void
interop_refuse(const struct interop_req *in, int status,
               struct http_reply *reply)
{
	if (json_mode(in))
		interop_error(in, reply, status, "%s",
		              status == 401 ? "authentication required"
		                            : "forbidden");
	else
		xml_reply(reply, status, "STOP", 0);
	if (status == 401)
		reply->authenticate = INTEROP_REALM;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* The body as text (XML or JSON): as sent when it starts with '<' or
 * '{', else inflated (zlib or gzip, whatever Content-Type says: agents
 * disagree on it) into z within the batches' limits. -1 with the reply
 * set. */
static int
decode(const struct interop_req *in, struct buf *z, const char **text,
       size_t *len, struct http_reply *reply)
{
	const char *ct = in->content_type ? in->content_type : "none";
	enum codec_err e;
	size_t i = 0;

	while (i < in->len && is_space(in->body[i]))
		i++;
	if (i < in->len && (in->body[i] == '<' || in->body[i] == '{')) {
		*text = in->body;
		*len = in->len;
		return 0;
	}
	if (strstr(ct, "x-compress-br")) {
		interop_error(in, reply, 415,
		              "unsupported content-type %.60s: zlib, "
		              "gzip or none",
		              ct);
		return -1;
	}
	buf_init(z, PROTO_MAX_INFLATED);
	if ((e = codec_unzip_any(in->body, in->len, PROTO_MAX_RATIO, z)) !=
	    CODEC_OK) {
		interop_error(in, reply,
		              e == CODEC_TOO_BIG ? 413
		              : e == CODEC_NOMEM ? 503
		                                 : 400,
		              "body (Content-Type %.60s): %s", ct,
		              codec_strerror(e));
		return -1;
	}
	*text = z->data ? z->data : "";
	*len = z->len;
	return 0;
}

/* Which agent sent it, from its User-Agent or its versionclient. */
static const char *
source_of(const struct interop_req *in, json_t *content)
{
	const char *v =
	    json_string_value(json_object_get(content, "versionclient"));
	const char *ua = in->user_agent ? in->user_agent : "";

	if (in->glpi_agent_id || strstr(ua, "GLPI-Agent") ||
	    (v && strstr(v, "GLPI-Agent")))
		return "glpi-agent";
	if (strstr(ua, "FusionInventory") ||
	    (v && strstr(v, "FusionInventory")))
		return "fusioninventory";
	return "ocs";
}

/* The answer to a stored (or acknowledged) inventory. */
static void
stored(const struct interop_req *in, struct http_reply *reply)
{
	if (json_mode(in))
		json_ok(in, reply);
	else
		xml_reply(reply, 200, "NO_ACCOUNT_UPDATE", 0);
}

/* A partial inventory (JSON protocol): its sections over the stored
 * ones, a missing section unchanged. 0 with a new reference in *content,
 * 1 when the store holds no inventory of that PC, -1 on failure. */
static int
complete(struct store *s, const char *agent_id, json_t **content)
{
	json_t *held;

	if (store_inventory_of(s, agent_id, &held) != STORE_OK)
		return -1;
	if (held == NULL) /* nothing to complete: the agent must send all */
		return 1;
	if (json_object_update(held, *content) == -1) {
		json_decref(held);
		return -1;
	}
	*content = held;
	return 0;
}

/* content as a batch of one inventory record of the stream of agent id
 * (its seq set once the machine is known), through the same checks as
 * mutu-agent's batches: 0, or -1 with the reply set. */
static int
parse_one(const struct interop_req *in, const char *id, const char *deviceid,
          json_t *content, struct ingest_batch *b, struct http_reply *reply)
{
	enum ingest_err why;
	char err[256];
	json_t *batch;
	char *text;

	memset(b, 0, sizeof(*b));
	batch = json_pack(
	    "{s:i, s:s, s:s, s:s, s:[{s:i, s:I, s:s, s:{s:s, s:O}}]}", "v",
	    PROTO_VERSION, "agent_id", id, "epoch", STORE_FOREIGN_EPOCH,
	    "batch_id", "f0", "records", "seq", 1, "time",
	    (json_int_t)time(NULL), "type", PROTO_REC_INVENTORY, "data",
	    "deviceid", deviceid, "content", content);
	text = batch ? json_dumps(batch, JSON_COMPACT) : NULL;
	json_decref(batch);
	if (text == NULL) {
		interop_error(in, reply, 503, "out of memory");
		return -1;
	}
	why = ingest_parse(text, strlen(text), id, NULL, b, err, sizeof(err));
	free(text);
	if (why == INGEST_OK)
		return 0;
	interop_error(in, reply,
	              why == INGEST_TOO_COSTLY  ? 413
	              : why == INGEST_NO_MEMORY ? 503
	                                        : 422,
	              "inventory refused: %s", err);
	return -1;
}

/* An inventory of the PC deviceid names, checked, then its machine
 * found or made and the inventory stored, unless mutu-agent reports that
 * PC (acknowledged). A partial one (JSON protocol) goes over the stored
 * one. */
static void
store_inventory(struct store *s, const struct interop_req *in,
                const char *deviceid, json_t *content, int partial,
                struct http_reply *reply)
{
	struct store_foreign f = {source_of(in, content), deviceid,
	                          in->cred_hash, content};
	char id[STORE_ID_MAX], merged[STORE_ID_MAX] = "";
	struct store_ingest_result res = {0};
	struct ingest_batch b;
	struct store_agent a;
	long long seq;
	int rc;

	store_foreign_id(in->commune, deviceid, id);
	if (!partial)
		json_incref(content);
	else if ((rc = complete(s, id, &content)) != 0) {
		if (rc == 1)
			interop_error(
			    in, reply, 409,
			    "partial inventory of a PC this server has no "
			    "inventory of: send a full one");
		else
			interop_error(in, reply, 503,
			              "storage unavailable; retry later");
		return;
	}
	rc = parse_one(in, id, deviceid, content, &b, reply);
	json_decref(content);
	if (rc == -1) {
		ingest_free(&b);
		return;
	}
	rc = store_foreign_machine(s, in->commune, &f, &a, &seq, merged);
	if (rc == STORE_OK && merged[0] == '\0') {
		b.rec[0].seq = seq;
		b.batch.max_day_keys = in->max_day_keys;
		b.batch.max_software = in->max_software;
		rc = store_ingest(s, &a, &b.batch, &res);
	}
	ingest_free(&b);
	if (rc == STORE_DENIED)
		interop_refuse(in, 403, reply);
	else if (rc != STORE_OK)
		interop_error(in, reply, 503,
		              "storage unavailable; retry later");
	else if (merged[0] == '\0' && res.applied == 0)
		/* another report of the PC took its place in the stream */
		interop_error(in, reply, 503, "concurrent report; retry later");
	else {
		if (merged[0] == '\0')
			log_info("%s inventory of %s stored as machine %s of "
			         "commune %s",
			         f.source, deviceid, a.agent_id, a.commune);
		stored(in, reply);
	}
}

/* What names people in a GLPI inventory: mutu keeps them pseudonymous,
 * so a foreign agent's logins are not kept (the XML conversion leaves
 * them out the same way). */
static void
strip_people(json_t *content)
{
	static const char *const sections[] = {
	    "users", "local_users", "local_groups", "processes", "envs"};
	json_t *hw = json_object_get(content, "hardware"), *sw;
	size_t i;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		json_object_del(content, sections[i]);
	json_object_del(hw, "lastloggeduser");
	json_object_del(hw, "datelastloggeduser");
	json_object_del(hw, "winowner");
	json_array_foreach(json_object_get(content, "softwares"), i, sw)
	{
		json_object_del(sw, "username");
		json_object_del(sw, "userid");
	}
}

/* The JSON protocol's CONTACT answer: inventory is the one task; every
 * other the agent has is disabled. */
static void
contact(const struct interop_req *in, json_t *j, struct http_reply *reply)
{
	json_t *off = json_array(), *t;
	const char *k[] = {"installed-tasks", "enabled-tasks"};
	size_t i, n;

	for (i = 0; off && i < 2; i++)
		json_array_foreach(json_object_get(j, k[i]), n, t)
		{
			const char *name = json_string_value(t);
			size_t m;
			json_t *u;
			int seen = 0;

			if (name == NULL || strcmp(name, "inventory") == 0)
				continue;
			json_array_foreach(off, m, u) seen |=
			    strcmp(json_string_value(u), name) == 0;
			if (!seen)
				json_array_append_new(off, json_string(name));
		}
	json_reply(in, reply, 200,
	           json_pack("{s:s, s:i, s:{s:{}}, s:o?}", "status", "ok",
	                     "expiration", FREQ_HOURS, "tasks", "inventory",
	                     "disabled", off));
}

/* A JSON protocol request (glpi-project's json-protocol): contact or
 * inventory, full or partial. */
static void
serve_json(struct store *s, const struct interop_req *in, const char *text,
           size_t len, struct http_reply *reply)
{
	const char *action, *deviceid;
	enum ingest_err why;
	char err[256];
	json_t *j, *content;

	if ((j = ingest_json_load(text, len, &why, err, sizeof(err))) == NULL) {
		interop_error(in, reply, why == INGEST_TOO_COSTLY ? 413 : 400,
		              "malformed json: %s", err);
		return;
	}
	action = json_object_get(j, "action")
	             ? json_string_value(json_object_get(j, "action"))
	             : "inventory";
	deviceid = json_string_value(json_object_get(j, "deviceid"));
	content = json_object_get(j, "content");
	if (action == NULL)
		interop_error(in, reply, 400, "action: expected a string");
	else if (deviceid == NULL || deviceid[0] == '\0' ||
	         strlen(deviceid) > 255)
		interop_error(in, reply, 400,
		              "deviceid: required, 1 to 255 characters");
	else if (strcmp(action, "contact") == 0)
		contact(in, j, reply);
	else if (strcmp(action, "inventory") != 0)
		interop_error(
		    in, reply, 400,
		    "action %.40s: not served (contact and inventory are)",
		    action);
	else if (!json_is_object(content))
		interop_error(in, reply, 400, "content: expected an object");
	else if (json_object_get(j, "partial") &&
	         !json_is_boolean(json_object_get(j, "partial")))
		interop_error(in, reply, 400,
		              "partial: expected true or false");
	else {
		strip_people(content);
		store_inventory(s, in, deviceid, content,
		                json_is_true(json_object_get(j, "partial")),
		                reply);
	}
	json_decref(j);
}

static void
serve_xml(struct store *s, const struct interop_req *in, const char *text,
          size_t len, struct http_reply *reply)
{
	struct ocsxml_msg m;
	char err[256];
	int rc;

	if ((rc = ocsxml_parse(text, len, &m, err, sizeof(err))) < 0) {
		interop_error(in, reply, rc == -2 ? 503 : 400, "%s", err);
		return;
	}
	switch (m.query) {
	case OCSXML_PROLOG: /* GLPI Agent's first contact: JSON from now */
		if (json_mode(in))
			json_ok(in, reply);
		else
			xml_reply(reply, 200, "SEND", FREQ_HOURS);
		break;
	case OCSXML_INVENTORY:
		store_inventory(s, in, m.deviceid, m.content, 0, reply);
		break;
	case OCSXML_OTHER:
		interop_error(in, reply, 400,
		              "QUERY %s: not served (PROLOG and "
		              "INVENTORY are)",
		              m.query_name);
		break;
	}
	json_decref(m.content);
}

void
interop_serve(struct store *s, const struct interop_req *in,
              struct http_reply *reply)
{
	const char *text;
	struct buf z;
	size_t len, i = 0;

	memset(&z, 0, sizeof(z));
	if (decode(in, &z, &text, &len, reply) == 0) {
		while (i < len && is_space(text[i]))
			i++;
		if (i < len && text[i] == '{')
			serve_json(s, in, text, len, reply);
		else
			serve_xml(s, in, text, len, reply);
	}
	buf_free(&z);
}
