/*
 * digest: the digest of a JSON value that agent and server must compute
 * alike (inventory deltas, docs/PROTOCOL.md): SHA-256 of its compact JSON
 * text with sorted keys, as 64 lowercase hex characters.
 */
#ifndef MUTU_DIGEST_H
#define MUTU_DIGEST_H

#include <jansson.h>

#define DIGEST_HEX_LEN 64

/* Writes the digest of v into out; returns 0, or -1 (out of memory, or
 * the system hash failed). */
int digest_json(const json_t *v, char out[DIGEST_HEX_LEN + 1]);

#endif
