#include "inventory.h"

#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "proto.h"

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

int
inventory_enqueue(struct collect *c, struct queue *q, const char *agent_id,
                  long long now)
{
	json_t *doc;
	char *text;
	int n;

	if ((doc = inventory_build(c, agent_id)) == NULL) {
		log_warnx("inventory: cannot read the installed software");
		return -1;
	}
	n = (int)json_array_size(
	    json_object_get(json_object_get(doc, "content"), "softwares"));
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (text == NULL)
		return -1;
	if (queue_push(q, PROTO_REC_INVENTORY, now, text) == -1) {
		free(text);
		return -1;
	}
	free(text);
	return n;
}
