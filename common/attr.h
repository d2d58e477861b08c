/*
 * attr: compiler attributes shared by common's headers.
 *
 * MUTU_PRINTF marks printf-like functions. With mingw-w64 and
 * __USE_MINGW_ANSI_STDIO the C library's printf is the C99 one (%zu,
 * %lld), which GCC checks only as gnu_printf: its plain "printf" means
 * Microsoft's msvcrt formats there.
 */
#ifndef MUTU_ATTR_H
#define MUTU_ATTR_H

#ifdef __MINGW32__
#define MUTU_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#else
#define MUTU_PRINTF(f, a) __attribute__((format(printf, f, a)))
#endif

/* MUTU_MUST_CHECK marks a function whose result says whether it failed:
 * a caller that drops it is a compile error under -Werror. */
#define MUTU_MUST_CHECK __attribute__((warn_unused_result))

#endif
