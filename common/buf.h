/*
 * buf: a growable byte buffer with a hard cap, for everything fed from the
 * network or from disk (curl's dynbuf). The struct is public so that callers
 * can embed it; its memory belongs to the buffer until buf_free().
 */
#ifndef MUTU_BUF_H
#define MUTU_BUF_H

#include <stddef.h>

#include "attr.h"

struct buf {
	char *data; /* NUL-terminated after every append; NULL when empty */
	size_t len; /* bytes used, without the terminating NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* hard cap on len */
};

/* Prepares an empty buffer that refuses to grow past max bytes. */
void buf_init(struct buf *b, size_t max);
/* Appends n bytes; returns 0, or -1 (errno E2BIG past the cap, ENOMEM). */
int buf_add(struct buf *b, const void *p, size_t n);
/* Appends a NUL-terminated string; as buf_add(). */
int buf_adds(struct buf *b, const char *s);
/* Appends printf-formatted text; as buf_add(). */
int buf_printf(struct buf *b, const char *fmt, ...) MUTU_PRINTF(2, 3);
/* Empties the buffer and keeps its memory. */
void buf_reset(struct buf *b);
/* Hands the data to the caller (free() it) and empties the buffer. */
char *buf_detach(struct buf *b);
/* Releases the memory; the buffer is empty and may be reused. */
void buf_free(struct buf *b);

#endif
