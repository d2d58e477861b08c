#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

	if (util_gmtime(t, &tm) == -1 ||
	    strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		util_strlcpy(out, "1970-01-01 00:00:00", n);
}

void
util_isotime(time_t t, char *out, size_t n)
{
	struct tm tm;

	if (util_gmtime(t, &tm) == -1 ||
	    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		util_strlcpy(out, "1970-01-01T00:00:00Z", n);
}

/* Reads fp (closed here) as util_read_file() does. */
static char *
read_stream(FILE *fp, size_t max)
{
	char *s;
	size_t len;
	int saved;

	if (fp == NULL)
		return NULL;
	if ((s = malloc(max + 1)) == NULL) {
		fclose(fp);
		return NULL;
	}
	len = fread(s, 1, max + 1, fp);
	if (ferror(fp) || len > max) {
		saved = ferror(fp) ? EIO : E2BIG;
		fclose(fp);
		free(s);
		errno = saved;
		return NULL;
	}
	fclose(fp);
	s[len] = '\0';
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	return s;
}

char *
util_read_file(const char *path, size_t max)
{
	return read_stream(util_fopen(path, "rb"), max);
}

char *
util_read_private(const char *path, size_t max)
{
	return read_stream(util_fopen_nofollow(path), max);
}

/* Whether s is a dotted-quad IPv4 literal in 127.0.0.0/8: four decimal
 * parts of at most 3 digits and 255, the first 127 ("127.evil.example"
 * is a name, resolved by DNS, and is not). */
static int
ipv4_loopback(const char *s)
{
	long part;
	char *end;
	int i;

	for (i = 0; i < 4; i++) {
		if (!isdigit((unsigned char)*s))
			return 0;
		part = strtol(s, &end, 10);
		if (part > 255 || end - s > 3 || (i == 0 && part != 127))
			return 0;
		s = end;
		if (i < 3 && *s++ != '.')
			return 0;
	}
	return *s == '\0';
}

int
util_is_loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 || ipv4_loopback(host) ||
	       strcmp(host, "::1") == 0 || strcmp(host, "[::1]") == 0;
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
util_uuid_from_hex(const char *hex, char *out, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const char *d;
	size_t i, o = 0;

	if (n < 37 || strlen(hex) < 32)
		return -1;
	for (i = 0; i < 32; i++) {
		if ((d = strchr(digits, hex[i])) == NULL || hex[i] == '\0')
			return -1;
		if (i == 8 || i == 12 || i == 16 || i == 20)
			out[o++] = '-';
		if (i == 12) /* version 8: custom (RFC 9562) */
			out[o++] = '8';
		else if (i == 16) /* variant 10 */
			out[o++] = digits[8 | ((d - digits) & 3)];
		else
			out[o++] = *d;
	}
	out[o] = '\0';
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
