/*
 * ingest: turns a batch body (inflated JSON, docs/PROTOCOL.md) into
 * validated records for store_ingest(). Every field is checked for type,
 * range and length; the first problem is reported by its JSON path.
 */
#ifndef MUTU_INGEST_H
#define MUTU_INGEST_H

#include <stddef.h>

#include "store.h"

/* The agent's clock at the attempt (the Mutu-Clock header) and ours at
 * reception, to date records whatever the agent's wall clock says. */
struct ingest_clock {
	int known;             /* the header was present and valid */
	long long received_ms; /* our wall clock */
	long long sent_ms;     /* the agent's wall clock */
	long long boot, mono;  /* the agent's boot number and boot clock */
};

/* Offsets below this are jitter, not a wrong clock: left uncorrected. */
#define CLOCK_SLACK_MS 2000

struct ingest_batch {
	struct store_batch batch; /* what store_ingest() takes */
	const char *batch_id;
	json_t *root; /* owns every string the records point to */
	struct store_record *rec;
	struct store_software *sw;
	char **docs; /* GLPI documents re-serialised, and their digests */
	size_t ndocs;
	struct ingest_clock clock;
	long long bad_seq; /* 422: the refused record's seq */
};

/* Parses a Mutu-Clock header value ("WALL_MS BOOT MONO_MS") received at
 * received_ms into c; c->known is 0 when absent or malformed. */
void ingest_clock_parse(const char *header, long long received_ms,
                        struct ingest_clock *c);

/* Parses body for the agent agent_id, dating records with clock (may be
 * NULL). Returns 0, or the HTTP status to answer with err naming the
 * problem: 400 for a malformed batch, 422 for a malformed record (its seq
 * in out->bad_seq), 403 for another agent's batch. out must be released
 * with ingest_free() in both cases. */
int ingest_parse(const char *body, size_t len, const char *agent_id,
                 const struct ingest_clock *clock, struct ingest_batch *out,
                 char *err, size_t errlen);
/* Releases what ingest_parse() allocated. */
void ingest_free(struct ingest_batch *b);

#endif
