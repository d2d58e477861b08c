#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
util_strlcpy(char *dst, const char *src, size_t n)
{
	size_t len = strlen(src);

	if (n == 0)
		return -1;
	if (len >= n) {
		memcpy(dst, src, n - 1);
		dst[n - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, len + 1);
	return 0;
}

int
util_parse_ll(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

void
util_datetime(time_t t, char *out, size_t n)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
}

void
util_isotime(time_t t, char *out, size_t n)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
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
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
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

char *
util_read_file(const char *path, size_t max)
{
	char *s;
	size_t len = 0;
	ssize_t r;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if ((s = malloc(max + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	for (;;) {
		r = read(fd, s + len, max + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len > max) {
			r = -1;
			errno = E2BIG;
			break;
		}
	}
	saved = errno;
	close(fd);
	if (r == -1) {
		free(s);
		errno = saved;
		return NULL;
	}
	s[len] = '\0';
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	return s;
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

int
util_is_loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 ||
	       strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
	       strcmp(host, "[::1]") == 0;
}

int
util_url_host(const char *url, char *out, size_t n)
{
	const char *p = strstr(url, "://"), *end;
	size_t len;

	if (p == NULL)
		return -1;
	p += 3;
	if (*p == '[')
		end = strchr(p, ']') ? strchr(p, ']') + 1 : NULL;
	else
		end = p + strcspn(p, ":/?#");
	if (end == NULL || end == p || (len = (size_t)(end - p)) >= n)
		return -1;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

int
util_valid_insee(const char *s)
{
	size_t i;

	if (strlen(s) != 5)
		return 0;
	for (i = 0; i < 5; i++)
		if (!isdigit((unsigned char)s[i]) &&
		    !(i == 1 && (s[i] == 'A' || s[i] == 'B')))
			return 0;
	return 1;
}
