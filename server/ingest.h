/*
 * ingest: turns a batch body (inflated JSON, docs/PROTOCOL.md) into
 * validated records for store_ingest(). Every field is checked for type,
 * range and length; the first problem is reported by its JSON path.
 */
#ifndef MUTU_INGEST_H
#define MUTU_INGEST_H

#include <stddef.h>

#include "store.h"

struct ingest_batch {
	struct store_batch batch; /* what store_ingest() takes */
	const char *batch_id;
	json_t *root; /* owns every string the records point to */
	struct store_record *rec;
	struct store_software *sw;
	char **docs; /* GLPI documents re-serialised */
	size_t ndocs;
};

/* Parses body for the agent agent_id. Returns 0, or the HTTP status to
 * answer (400 malformed, 403 another agent's batch) with err naming the
 * problem. out must be released with ingest_free() in both cases. */
int ingest_parse(const char *body, size_t len, const char *agent_id,
                 struct ingest_batch *out, char *err, size_t errlen);
/* Releases what ingest_parse() allocated. */
void ingest_free(struct ingest_batch *b);

#endif
