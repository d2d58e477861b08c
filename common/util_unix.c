/*
 * util_unix: the system part of util.h on Linux (POSIX files and clocks).
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
util_gmtime(time_t t, struct tm *tm)
{
	return gmtime_r(&t, tm) != NULL ? 0 : -1;
}

static int
fsync_dir(const char *path)
{
	char copy[PATH_MAX];
	int fd, rc;

	if (util_strlcpy(copy, path, sizeof(copy)) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
util_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	const char *p = data;
	ssize_t w;
	int fd = -1, n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* A link planted at path.tmp must not make us write through it. */
	if (unlink(tmp) == -1 && errno != ENOENT)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	          mode);
	if (fd == -1)
		return -1;
	if (fchmod(fd, mode) == -1)
		goto fail;
	while (len > 0) {
		if ((w = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) == -1)
		goto fail;
	n = close(fd);
	fd = -1;
	if (n == -1)
		goto fail;
	if (rename(tmp, path) == -1)
		goto fail;
	return fsync_dir(path);
fail:
	n = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = n;
	return -1;
}

FILE *
util_fopen(const char *path, const char *mode)
{
	char m[8];
	int n;

	/* glibc's "e": O_CLOEXEC. */
	n = snprintf(m, sizeof(m), "%se", mode);
	if (n < 0 || (size_t)n >= sizeof(m)) {
		errno = EINVAL;
		return NULL;
	}
	return fopen(path, m);
}

FILE *
util_fopen_nofollow(const char *path)
{
	FILE *fp;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return NULL;
	if ((fp = fdopen(fd, "rb")) == NULL)
		close(fd);
	return fp;
}

int
util_file_id(const char *path, unsigned long long id[2])
{
	struct stat st;

	if (stat(path, &st) == -1)
		return -1;
	id[0] = (unsigned long long)st.st_dev;
	id[1] = (unsigned long long)st.st_ino;
	return 0;
}

int
util_is_symlink(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

int
util_check_private_dir(const char *path, int shared_ok, char *err,
                       size_t errlen)
{
	struct stat st;
	uid_t me = geteuid();

	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "state directory %s: %s", path,
		         strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "state directory %s: not a directory",
		         path);
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen,
		         "state directory %s: writable by %s (mode %04o): "
		         "another user could plant files or links in it; "
		         "chmod go-w it (0700)",
		         path, st.st_mode & S_IWOTH ? "all users" : "its group",
		         (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (st.st_uid != me && st.st_uid != 0 && !(shared_ok && me == 0)) {
		snprintf(err, errlen,
		         "state directory %s: owned by uid %u, not by the "
		         "user running the agent (uid %u) nor root; chown it",
		         path, (unsigned)st.st_uid, (unsigned)me);
		return -1;
	}
	return 0;
}

long long
util_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long
util_boot_ms(void)
{
	struct timespec ts;

#ifdef CLOCK_BOOTTIME
	if (clock_gettime(CLOCK_BOOTTIME, &ts) == 0)
		return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
