/*
 * win_utf8: UTF-8 <-> UTF-16 at the Win32 API, and Win32 error texts
 * (win.h).
 */
#include "win.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <windows.h>

wchar_t *
win_wide(const char *utf8)
{
	wchar_t *w;
	int n;

	if (utf8 == NULL) {
		errno = EINVAL;
		return NULL;
	}
	n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, NULL,
	                        0);
	if (n <= 0) {
		errno = EILSEQ;
		return NULL;
	}
	if ((w = malloc((size_t)n * sizeof(*w))) == NULL)
		return NULL;
	if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, w,
	                        n) != n) {
		free(w);
		errno = EILSEQ;
		return NULL;
	}
	return w;
}

char *
win_utf8(const wchar_t *w)
{
	char *s;
	int n;

	if (w == NULL) {
		errno = EINVAL;
		return NULL;
	}
	n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, NULL, 0,
	                        NULL, NULL);
	if (n <= 0) {
		errno = EILSEQ;
		return NULL;
	}
	if ((s = malloc((size_t)n)) == NULL)
		return NULL;
	if (WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, s, n,
	                        NULL, NULL) != n) {
		free(s);
		errno = EILSEQ;
		return NULL;
	}
	return s;
}

const char *
win_strerror(unsigned long err, char *buf, size_t n)
{
	wchar_t w[512];
	DWORD len;
	int k = 0;

	if (n == 0)
		return buf;
	len = FormatMessageW(
	    FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
	    (DWORD)err, 0, w, sizeof(w) / sizeof(w[0]), NULL);
	while (len > 0 && (w[len - 1] == L'\r' || w[len - 1] == L'\n' ||
	                   w[len - 1] == L' ' || w[len - 1] == L'.'))
		len--;
	if (len > 0 && n <= INT_MAX)
		k = WideCharToMultiByte(CP_UTF8, 0, w, (int)len, buf,
		                        (int)n - 1, NULL, NULL);
	if (k <= 0)
		snprintf(buf, n, "error %lu", err);
	else
		buf[k] = '\0';
	return buf;
}

int
win_errno(unsigned long err)
{
	switch (err) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
	case ERROR_INVALID_DRIVE:
		return ENOENT;
	case ERROR_ACCESS_DENIED:
	case ERROR_SHARING_VIOLATION:
	case ERROR_LOCK_VIOLATION:
		return EACCES;
	case ERROR_FILE_EXISTS:
	case ERROR_ALREADY_EXISTS:
		return EEXIST;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
		return ENOMEM;
	case ERROR_DISK_FULL:
	case ERROR_HANDLE_DISK_FULL:
		return ENOSPC;
	case ERROR_FILENAME_EXCED_RANGE:
		return ENAMETOOLONG;
	case ERROR_INVALID_NAME:
	case ERROR_INVALID_PARAMETER:
		return EINVAL;
	case ERROR_WRITE_PROTECT:
		return EROFS;
	default:
		return EIO;
	}
}
