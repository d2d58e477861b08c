/*
 * codec: gzip compression of batches and bounded, streaming decompression
 * of what arrives from the network. Inflation stops as soon as the output
 * would pass its cap or the output/input ratio its limit, so a gzip bomb
 * costs the server at most the cap, never the bomb's size.
 */
#ifndef MUTU_CODEC_H
#define MUTU_CODEC_H

#include <stddef.h>

#include "buf.h"

struct inflater;

enum codec_err {
	CODEC_OK = 0,
	CODEC_TOO_BIG,   /* output past its cap, or ratio past its limit */
	CODEC_CORRUPT,   /* not gzip/zlib data, or damaged */
	CODEC_TRUNCATED, /* input ended before the end of the stream */
	CODEC_NOMEM,
};

/* Compresses n bytes as one gzip member, appending to out (bounded by its
 * cap). Returns 0, or -1. */
int codec_gzip(const void *in, size_t n, int level, struct buf *out);

/* The same as one zlib stream (RFC 1950), as the OCS Inventory protocol
 * wants. */
int codec_zlib(const void *in, size_t n, int level, struct buf *out);

/* New streaming gzip inflater: output is appended to out, which the caller
 * owns and whose cap bounds the inflated size; max_ratio (0 = none) bounds
 * output bytes per input byte once 64 KiB have been produced. NULL on ENOMEM.
 */
struct inflater *inflater_new(struct buf *out, unsigned max_ratio);
/* Feeds n more compressed bytes. Returns CODEC_OK or an error, after which
 * further feeds return the same error. Data past the end of the gzip
 * stream is CODEC_CORRUPT. */
enum codec_err inflater_feed(struct inflater *z, const void *in, size_t n);
/* Tells that the input is complete: CODEC_OK if the stream ended properly. */
enum codec_err inflater_finish(struct inflater *z);
/* Frees the inflater (not its output buffer); NULL is a no-op. */
void inflater_free(struct inflater *z);

/* One-shot inflate of a whole gzip body into out (bounded by out's cap). */
enum codec_err codec_gunzip(const void *in, size_t n, unsigned max_ratio,
                            struct buf *out);
/* The same for a body in either wrapper, gzip or zlib (RFC 1950), as
 * FusionInventory and OCS Inventory agents send. */
enum codec_err codec_unzip_any(const void *in, size_t n, unsigned max_ratio,
                               struct buf *out);
/* A short English description of an error, for logs and HTTP replies. */
const char *codec_strerror(enum codec_err e);

#endif
