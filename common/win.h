/*
 * win: helpers for the Windows-only files (*_win.c, collect_windows.c).
 *
 * The program keeps every string, paths included, in UTF-8; text is
 * converted to UTF-16 only at the Win32 API ("W" functions) and back.
 * Never include this header from a shared file.
 */
#ifndef MUTU_WIN_H
#define MUTU_WIN_H

#include <stddef.h>
#include <wchar.h>

/* A new UTF-16 copy of a UTF-8 string (free() it). Returns NULL with errno
 * EILSEQ if utf8 is not valid UTF-8, ENOMEM, or EINVAL for NULL. */
wchar_t *win_wide(const char *utf8);
/* A new UTF-8 copy of a UTF-16 string (free() it). Returns NULL with errno
 * EILSEQ (unpaired surrogate), ENOMEM, or EINVAL for NULL. */
char *win_utf8(const wchar_t *w);
/* The system's text for a Win32 error code (GetLastError()), in UTF-8 and
 * without the trailing newline, written into buf (n bytes); "error N" when
 * the system has none. Returns buf. */
const char *win_strerror(unsigned long err, char *buf, size_t n);
/* The errno value closest to a Win32 error code, for functions that
 * report failures through errno (util_write_file()). */
int win_errno(unsigned long err);
/* Whether sid (a PSID) is one of the groups that stand for any local or
 * network user: Everyone, Authenticated Users, Users, Interactive,
 * Anonymous, Guests, Network, Local, Creator Owner/Group (acl_win.c). A
 * file holding secrets must grant none of them access. */
int win_sid_is_broad(void *sid);

#endif
