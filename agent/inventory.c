#include "inventory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "log.h"
#include "proto.h"
#include "util.h"

json_t *
inventory_build(struct collect *c, const char *agent_id)
{
	json_t *doc, *content;

	content = json_object();
	if (collect_inventory(c, content) == -1) {
		json_decref(content);
		return NULL;
	}
	doc = json_object();
	json_object_set_new(doc, "deviceid", json_string(agent_id));
	json_object_set_new(doc, "itemtype", json_string("Computer"));
	json_object_set_new(doc, "action", json_string("inventory"));
	json_object_set_new(doc, "content", content);
	return doc;
}

/* Per-section digests of content, as a JSON object name -> digest. */
static json_t *
section_digests(json_t *content)
{
	char d[DIGEST_HEX_LEN + 1];
	const char *name;
	json_t *out = json_object(), *v;

	json_object_foreach(content, name, v)
	{
		if (digest_json(v, d) == -1) {
			json_decref(out);
			return NULL;
		}
		json_object_set_new(out, name, json_string(d));
	}
	return out;
}

/* The delta from the previous digests old to content: the sections whose
 * digest changed, and the names of those that went away. */
static json_t *
make_delta(json_t *doc, json_t *old, json_t *now, const char *base,
           const char *digest)
{
	json_t *content = json_object_get(doc, "content");
	json_t *sections = json_object(), *removed = json_array(), *v;
	const char *name;

	json_object_foreach(now, name, v)
	{
		if (!json_equal(v, json_object_get(old, name)))
			json_object_set(sections, name,
			                json_object_get(content, name));
	}
	json_object_foreach(old, name, v)
	{
		if (json_object_get(now, name) == NULL)
			json_array_append_new(removed, json_string(name));
	}
	return json_pack("{s:O, s:s, s:s, s:o, s:o}", "deviceid",
	                 json_object_get(doc, "deviceid"), "base", base,
	                 "digest", digest, "sections", sections, "removed",
	                 removed);
}

/* Whether the next inventory must be complete: never sent one, the last
 * complete one is older than full_every, or someone asked (need_full). */
static int
full_due(struct queue *q, long long now, long long full_every)
{
	char v[32];
	long long at;

	if (queue_meta_get(q, "inv_need_full", v, sizeof(v)) == 0 &&
	    strcmp(v, "1") == 0)
		return 1;
	if (queue_meta_get(q, "inv_full_at", v, sizeof(v)) == -1 ||
	    util_parse_ll(v, 0, 1LL << 40, &at) == -1)
		return 1;
	return now < at || now - at >= full_every;
}

/* Queues the record and the new digests in one transaction. */
static int
store(struct queue *q, const char *type, const char *text, json_t *digests,
      const char *digest, long long now, int full)
{
	char *dtext = json_dumps(digests, JSON_COMPACT), when[32];
	int rc = -1;

	if (dtext == NULL || queue_begin(q) == -1) {
		free(dtext);
		return -1;
	}
	snprintf(when, sizeof(when), "%lld", now);
	if (queue_push(q, type, now, text) > 0 &&
	    queue_meta_set(q, "inv_sections", dtext) == 0 &&
	    queue_meta_set(q, "inv_digest", digest) == 0 &&
	    (!full || (queue_meta_set(q, "inv_full_at", when) == 0 &&
	               queue_meta_set(q, "inv_need_full", "0") == 0)))
		rc = queue_commit(q);
	else
		queue_rollback(q);
	free(dtext);
	return rc;
}

int
inventory_enqueue(struct collect *c, struct queue *q, const char *agent_id,
                  long long now, long long full_every)
{
	char digest[DIGEST_HEX_LEN + 1], base[DIGEST_HEX_LEN + 1];
	char *old_text = NULL, *text = NULL;
	json_t *doc, *now_d = NULL, *old_d = NULL, *delta = NULL;
	int n = -1, full;

	if ((doc = inventory_build(c, agent_id)) == NULL) {
		log_warnx("inventory: cannot read the installed software");
		return -1;
	}
	if (digest_json(json_object_get(doc, "content"), digest) == -1 ||
	    (now_d = section_digests(json_object_get(doc, "content"))) == NULL)
		goto done;
	full = full_due(q, now, full_every) ||
	       queue_meta_get(q, "inv_digest", base, sizeof(base)) == -1 ||
	       (old_text = malloc(64 * 1024)) == NULL ||
	       queue_meta_get(q, "inv_sections", old_text, 64 * 1024) == -1 ||
	       (old_d = json_loads(old_text, 0, NULL)) == NULL;
	if (!full &&
	    (delta = make_delta(doc, old_d, now_d, base, digest)) == NULL)
		goto done;
	text = json_dumps(full ? doc : delta, JSON_COMPACT);
	if (text == NULL ||
	    store(q, full ? PROTO_REC_INVENTORY : PROTO_REC_INVENTORY_DELTA,
	          text, now_d, digest, now, full) == -1)
		goto done;
	n = (int)json_array_size(
	    json_object_get(json_object_get(doc, "content"), "softwares"));
	log_debug("inventory queued: %s, %zu bytes", full ? "full" : "delta",
	          strlen(text));
done:
	free(text);
	free(old_text);
	json_decref(delta);
	json_decref(old_d);
	json_decref(now_d);
	json_decref(doc);
	return n;
}

int
inventory_need_full(struct queue *q)
{
	return queue_meta_set(q, "inv_need_full", "1");
}
