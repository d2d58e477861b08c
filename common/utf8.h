/*
 * utf8: the one UTF-8 check of the project, for what must show or keep
 * text as it is or mark it (mutuctl's terminal cells, the audit log's
 * fields). Pure function, no state.
 */
#ifndef MUTU_UTF8_H
#define MUTU_UTF8_H

#include <stddef.h>

/* The length of the UTF-8 sequence at s (1 to 4), or 0 if the bytes there
 * are not well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF). s is NUL-terminated: the check stops at the
 * first byte that does not continue the sequence. */
size_t utf8_len(const unsigned char *s);

#endif
