/*
 * ingest: turns a batch body (inflated JSON, docs/PROTOCOL.md) into
 * validated records for store_ingest(). Every field is checked for type,
 * range and length; the first problem is reported by its JSON path.
 */
#ifndef MUTU_INGEST_H
#define MUTU_INGEST_H

#include <stddef.h>

#include "store.h"

/* Why a body is refused; api.c maps each to its HTTP status (one table). */
enum ingest_err {
	INGEST_OK = 0,
	INGEST_MALFORMED,  /* not what the protocol says (400) */
	INGEST_TOO_COSTLY, /* over the decoding budget (413) */
	INGEST_BAD_RECORD, /* a record refused, its seq in bad_seq (422) */
	INGEST_FORBIDDEN,  /* another agent's batch, or a clock beyond
	                      CLOCK_MAX_OFFSET_MS (403) */
	INGEST_NO_MEMORY,  /* out of memory (503) */
};

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
/* Offsets beyond this (20 years) are refused, not corrected
 * (INGEST_FORBIDDEN, 403) naming
 * the Mutu-Clock header, the agent keeps its data (docs/PROTOCOL.md). */
#define CLOCK_MAX_OFFSET_MS (20LL * 36525 * 864 * 1000)

struct ingest_batch {
	struct store_batch batch; /* what store_ingest() takes */
	const char *batch_id;
	json_t *root; /* owns every string the records point to */
	struct store_record *rec;
	struct store_software *sw;
	char **docs; /* GLPI documents re-serialised, and their digests */
	size_t ndocs;
	struct ingest_clock clock;
	long long bad_seq; /* INGEST_BAD_RECORD: the refused record's seq */
};

/* Every JSON request body is decoded within these bounds (the text is
 * already capped in size by the HTTP layer): nesting depth, and the heap
 * memory the decoded tree may take, estimated before decoding. */
#define INGEST_JSON_DEPTH  32
#define INGEST_JSON_BUDGET ((size_t)64 << 20)

/* Scans text without allocating: INGEST_OK when decoding it stays within
 * the bounds above, else INGEST_MALFORMED (too deep) or INGEST_TOO_COSTLY
 * (over the memory budget) with err naming the limit. Malformed text is
 * left to the decoder, whose allocations the scan bounds all the same. */
enum ingest_err ingest_json_check(const char *text, size_t len, char *err,
                                  size_t errlen);
/* Decodes a request body (duplicate keys refused) after
 * ingest_json_check(): the value (the caller's reference), or NULL with
 * *why INGEST_MALFORMED or INGEST_TOO_COSTLY and err. */
json_t *ingest_json_load(const char *text, size_t len, enum ingest_err *why,
                         char *err, size_t errlen);

/* Parses a Mutu-Clock header value ("WALL_MS BOOT MONO_MS") received at
 * received_ms into c; c->known is 0 when absent or malformed. */
void ingest_clock_parse(const char *header, long long received_ms,
                        struct ingest_clock *c);

/* Parses body for the agent agent_id, dating records with clock (may be
 * NULL). Returns INGEST_OK, or why it refuses the batch with err naming
 * the problem: INGEST_MALFORMED for a malformed batch, INGEST_TOO_COSTLY
 * for one over the decoding budget, INGEST_BAD_RECORD for a malformed
 * record or a number out of its range (its seq in out->bad_seq),
 * INGEST_FORBIDDEN for another agent's batch or a clock beyond
 * CLOCK_MAX_OFFSET_MS, INGEST_NO_MEMORY. out must be released with
 * ingest_free() in both cases. */
enum ingest_err ingest_parse(const char *body, size_t len, const char *agent_id,
                             const struct ingest_clock *clock,
                             struct ingest_batch *out, char *err,
                             size_t errlen);
/* Releases what ingest_parse() allocated. */
void ingest_free(struct ingest_batch *b);

#endif
