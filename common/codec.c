#include "codec.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define GZIP_WINDOW (15 + 16) /* zlib: gzip wrapper */
#define ZLIB_WINDOW 15        /* zlib: zlib wrapper (RFC 1950) */
#define AUTO_WINDOW (15 + 32) /* zlib: either, from the header */
#define RATIO_GRACE (64 * 1024)

struct inflater {
	z_stream zs;
	struct buf *out;
	unsigned max_ratio;
	unsigned long long in_total;
	int ended;
	enum codec_err err;
};

static int
deflate_with(const void *in, size_t n, int level, int window, struct buf *out)
{
	z_stream zs;
	unsigned char chunk[16384];
	int rc, ret = -1;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, level, Z_DEFLATED, window, 8,
	                 Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	zs.next_in = (unsigned char *)(uintptr_t)in;
	zs.avail_in = (uInt)n;
	if ((size_t)zs.avail_in != n)
		goto fail;
	do {
		zs.next_out = chunk;
		zs.avail_out = sizeof(chunk);
		rc = deflate(&zs, Z_FINISH);
		if (rc == Z_STREAM_ERROR)
			goto fail;
		if (buf_add(out, chunk, sizeof(chunk) - zs.avail_out) == -1)
			goto fail;
	} while (rc != Z_STREAM_END);
	ret = 0;
fail:
	deflateEnd(&zs);
	return ret;
}

int
codec_gzip(const void *in, size_t n, int level, struct buf *out)
{
	return deflate_with(in, n, level, GZIP_WINDOW, out);
}

int
codec_zlib(const void *in, size_t n, int level, struct buf *out)
{
	return deflate_with(in, n, level, ZLIB_WINDOW, out);
}

static struct inflater *
inflater_with(struct buf *out, unsigned max_ratio, int window)
{
	struct inflater *z;

	if ((z = calloc(1, sizeof(*z))) == NULL)
		return NULL;
	if (inflateInit2(&z->zs, window) != Z_OK) {
		free(z);
		return NULL;
	}
	z->out = out;
	z->max_ratio = max_ratio;
	return z;
}

struct inflater *
inflater_new(struct buf *out, unsigned max_ratio)
{
	return inflater_with(out, max_ratio, GZIP_WINDOW);
}

static enum codec_err
check_limits(struct inflater *z)
{
	size_t produced = z->out->len;

	if (z->max_ratio == 0 || produced < RATIO_GRACE)
		return CODEC_OK;
	if (produced / z->max_ratio > z->in_total)
		return CODEC_TOO_BIG;
	return CODEC_OK;
}

enum codec_err
inflater_feed(struct inflater *z, const void *in, size_t n)
{
	unsigned char chunk[16384];
	int rc;

	if (z->err != CODEC_OK)
		return z->err;
	if (n == 0)
		return CODEC_OK;
	if (z->ended)
		return z->err = CODEC_CORRUPT;
	z->zs.next_in = (unsigned char *)(uintptr_t)in;
	z->zs.avail_in = (uInt)n;
	z->in_total += n;
	while (z->zs.avail_in > 0 && !z->ended) {
		z->zs.next_out = chunk;
		z->zs.avail_out = sizeof(chunk);
		rc = inflate(&z->zs, Z_NO_FLUSH);
		if (rc == Z_MEM_ERROR)
			return z->err = CODEC_NOMEM;
		if (rc != Z_OK && rc != Z_STREAM_END)
			return z->err = CODEC_CORRUPT;
		if (buf_add(z->out, chunk, sizeof(chunk) - z->zs.avail_out) ==
		    -1)
			return z->err =
			           errno == E2BIG ? CODEC_TOO_BIG : CODEC_NOMEM;
		if ((z->err = check_limits(z)) != CODEC_OK)
			return z->err;
		if (rc == Z_STREAM_END)
			z->ended = 1;
	}
	if (z->ended && z->zs.avail_in > 0)
		return z->err = CODEC_CORRUPT;
	return CODEC_OK;
}

enum codec_err
inflater_finish(struct inflater *z)
{
	if (z->err != CODEC_OK)
		return z->err;
	return z->ended ? CODEC_OK : CODEC_TRUNCATED;
}

void
inflater_free(struct inflater *z)
{
	if (z == NULL)
		return;
	inflateEnd(&z->zs);
	free(z);
}

static enum codec_err
inflate_with(const void *in, size_t n, unsigned max_ratio, int window,
             struct buf *out)
{
	struct inflater *z;
	enum codec_err e;

	if ((z = inflater_with(out, max_ratio, window)) == NULL)
		return CODEC_NOMEM;
	e = inflater_feed(z, in, n);
	if (e == CODEC_OK)
		e = inflater_finish(z);
	inflater_free(z);
	return e;
}

enum codec_err
codec_gunzip(const void *in, size_t n, unsigned max_ratio, struct buf *out)
{
	return inflate_with(in, n, max_ratio, GZIP_WINDOW, out);
}

enum codec_err
codec_unzip_any(const void *in, size_t n, unsigned max_ratio, struct buf *out)
{
	return inflate_with(in, n, max_ratio, AUTO_WINDOW, out);
}

const char *
codec_strerror(enum codec_err e)
{
	switch (e) {
	case CODEC_OK:
		return "ok";
	case CODEC_TOO_BIG:
		return "inflated body exceeds the size or ratio limit";
	case CODEC_CORRUPT:
		return "body is not valid gzip or zlib data";
	case CODEC_TRUNCATED:
		return "compressed body is truncated";
	case CODEC_NOMEM:
		return "out of memory while inflating";
	}
	return "unknown codec error";
}
