/*
 * proto: constants of the agent-server protocol (docs/PROTOCOL.md), shared
 * by both sides so that they cannot drift apart.
 */
#ifndef MUTU_PROTO_H
#define MUTU_PROTO_H

#define PROTO_VERSION 1

#define PROTO_PATH_ENROL   "/api/v1/enrol"
#define PROTO_PATH_BATCHES "/api/v1/batches"
#define PROTO_CONTENT_TYPE "application/json"

#define PROTO_REC_INVENTORY       "inventory"
#define PROTO_REC_USAGE           "usage"
#define PROTO_REC_USAGE_DAY       "usage_day" /* compacted usage */
#define PROTO_REC_INVENTORY_DELTA "inventory_delta"
#define PROTO_REC_GAP             "gap" /* data given up, and why */

/* Per attempt: "WALL_MS BOOT MONO_MS" of the agent (clock correction). */
#define PROTO_CLOCK_HEADER "Mutu-Clock"

/* Limits a server enforces by default and a client must stay within. */
#define PROTO_MAX_BODY     (4 * 1024 * 1024)  /* compressed body */
#define PROTO_MAX_INFLATED (32 * 1024 * 1024) /* inflated body */
#define PROTO_MAX_RATIO    200                /* inflated / compressed */
#define PROTO_MAX_RECORDS  5000               /* records per batch */
#define PROTO_MAX_STR      4096               /* any string field */
#define PROTO_MAX_SOFTWARE 20000              /* software per inventory */
#define PROTO_ID_MAX       64                 /* ids, epochs, batch ids */

/* What an agent puts in one batch by default. */
#define PROTO_BATCH_RECORDS 1000
#define PROTO_BATCH_BYTES   (2 * 1024 * 1024) /* before compression */

#endif
