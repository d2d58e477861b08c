/*
 * ini_compat: the INI reader conf.c uses: inih's ini_parse_stream().
 *
 * On Linux it is the system's inih (libinih, Debian's build: multi-line
 * values, UTF-8 BOM, ';' and '#' comments, inline ';' comments, 200-byte
 * lines, parsing on after an error). inih's source is not available to the
 * Windows build, so common/ini_win.c implements the same function with the
 * same semantics; this header declares it there as inih's ini.h does.
 */
#ifndef MUTU_INI_COMPAT_H
#define MUTU_INI_COMPAT_H

#ifndef _WIN32
#include <ini.h>
#else

/* Called for each name = value; returns non-zero on success. */
typedef int (*ini_handler)(void *user, const char *section, const char *name,
                           const char *value);
/* fgets-style reader: at most num - 1 bytes and a NUL into str; NULL at
 * the end of the stream. */
typedef char *(*ini_reader)(char *str, int num, void *stream);

/* Parses an INI text read through reader, calling handler for every
 * name = value (or name: value). Returns 0, or the number of the first
 * line that could not be parsed or whose handler returned 0. */
int ini_parse_stream(ini_reader reader, void *stream, ini_handler handler,
                     void *user);

#endif
#endif
