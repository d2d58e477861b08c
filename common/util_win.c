/*
 * util_win: the system part of util.h on Windows: UTF-16 file APIs,
 * durable replace, the system's clocks.
 */
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <windows.h>

#include "win.h"

int
util_gmtime(time_t t, struct tm *tm)
{
	return gmtime_s(tm, &t) == 0 ? 0 : -1;
}

/* Sets errno from GetLastError() and returns -1. */
static int
fail_win(void)
{
	errno = win_errno(GetLastError());
	return -1;
}

static int
write_all(HANDLE h, const void *data, size_t len)
{
	const char *p = data;
	DWORD w, k;

	while (len > 0) {
		k = len > 0x40000000u ? 0x40000000u : (DWORD)len;
		if (!WriteFile(h, p, k, &w, NULL))
			return fail_win();
		p += w;
		len -= w;
	}
	return 0;
}

int
util_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	wchar_t *wpath = NULL, *wtmp = NULL;
	HANDLE h = INVALID_HANDLE_VALUE;
	char tmp[MAX_PATH * 4];
	int n, saved, rc = -1;

	(void)mode; /* the ACL is the directory's (util.h) */
	n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((wpath = win_wide(path)) == NULL || (wtmp = win_wide(tmp)) == NULL)
		goto out;
	/* No security attributes: the ACEs inheritable from the directory
	 * apply, as for every file of the private state directory. */
	/* Anew: a link planted at path.tmp is removed, not written through
	 * (DeleteFileW removes a symbolic link itself). */
	DeleteFileW(wtmp);
	h = CreateFileW(wtmp, GENERIC_WRITE, 0, NULL, CREATE_NEW,
	                FILE_ATTRIBUTE_NORMAL, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		fail_win();
		goto out;
	}
	if (write_all(h, data, len) == -1)
		goto fail;
	if (!FlushFileBuffers(h)) {
		fail_win();
		goto fail;
	}
	CloseHandle(h);
	h = INVALID_HANDLE_VALUE;
	if (!MoveFileExW(wtmp, wpath,
	                 MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
		fail_win();
		goto fail;
	}
	rc = 0;
	goto out;
fail:
	saved = errno;
	if (h != INVALID_HANDLE_VALUE)
		CloseHandle(h);
	DeleteFileW(wtmp);
	errno = saved;
out:
	saved = errno;
	free(wpath);
	free(wtmp);
	errno = saved;
	return rc;
}

FILE *
util_fopen(const char *path, const char *mode)
{
	wchar_t *wpath, *wmode;
	char m[8];
	FILE *fp = NULL;
	int n, saved;

	/* msvcrt's "N": _O_NOINHERIT. */
	n = snprintf(m, sizeof(m), "%sN", mode);
	if (n < 0 || (size_t)n >= sizeof(m)) {
		errno = EINVAL;
		return NULL;
	}
	if ((wpath = win_wide(path)) == NULL)
		return NULL;
	if ((wmode = win_wide(m)) != NULL)
		fp = _wfopen(wpath, wmode);
	saved = errno;
	free(wpath);
	free(wmode);
	errno = saved;
	return fp;
}

int
util_file_id(const char *path, unsigned long long id[2])
{
	BY_HANDLE_FILE_INFORMATION fi;
	wchar_t *wpath = win_wide(path);
	HANDLE h;
	BOOL ok;

	if (wpath == NULL)
		return -1;
	h = CreateFileW(wpath, FILE_READ_ATTRIBUTES,
	                FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
	                NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
	free(wpath);
	if (h == INVALID_HANDLE_VALUE)
		return fail_win();
	ok = GetFileInformationByHandle(h, &fi);
	CloseHandle(h);
	if (!ok)
		return fail_win();
	id[0] = fi.dwVolumeSerialNumber;
	id[1] =
	    ((unsigned long long)fi.nFileIndexHigh << 32) | fi.nFileIndexLow;
	return 0;
}

int
util_is_symlink(const char *path)
{
	wchar_t *wpath = win_wide(path);
	DWORD a;

	if (wpath == NULL)
		return 0;
	a = GetFileAttributesW(wpath);
	free(wpath);
	return a != INVALID_FILE_ATTRIBUTES &&
	       (a & FILE_ATTRIBUTE_REPARSE_POINT) != 0;
}

FILE *
util_fopen_nofollow(const char *path)
{
	if (util_is_symlink(path)) {
		errno = ELOOP;
		return NULL;
	}
	return util_fopen(path, "rb");
}

int
util_check_private_dir(const char *path, int shared_ok, char *err,
                       size_t errlen)
{
	(void)path, (void)shared_ok, (void)err, (void)errlen;
	return 0; /* the ACL: service_private_dir() (util.h) */
}

long long
util_mono_ms(void)
{
	ULONGLONG t; /* 100 ns units, not counting sleep and hibernation */

	QueryUnbiasedInterruptTime(&t); /* fails only for a NULL pointer */
	return (long long)(t / 10000);
}

long long
util_boot_ms(void)
{
	return (long long)GetTickCount64(); /* counts sleep and hibernation */
}
