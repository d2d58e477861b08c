#include "enrol.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "util.h"

#define SECRET_MAX 1024
#define CONF_MAX   (256 * 1024)

char *
enrol_read_secret(const char *path, char *err, size_t errlen)
{
	char *s;
	size_t n;

	if (strcmp(path, "-") == 0)
		s = util_read_file("/dev/stdin", SECRET_MAX);
	else
		s = util_read_file(path, SECRET_MAX);
	if (s == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	n = strlen(s);
	if (n == 0 || strpbrk(s, "\r\n\t ") != NULL) {
		crypto_wipe(s, n);
		free(s);
		snprintf(err, errlen, "%s: expected one line without spaces",
		         path);
		return NULL;
	}
	return s;
}

/* The key a configuration line sets, or NULL ("  key = value"). */
static int
line_sets(const char *line, const char *key)
{
	size_t n = strlen(key);

	line += strspn(line, " \t");
	if (strncmp(line, key, n) != 0)
		return 0;
	line += n;
	line += strspn(line, " \t");
	return *line == '=';
}

static int
keep_line(const char *line, const char *const *keys)
{
	int i;

	for (i = 0; keys[i] != NULL; i++)
		if (line_sets(line, keys[i]))
			return 0;
	return 1;
}

/* Copies the lines of the old file that set none of keys. */
static int
copy_other_lines(const char *old, const char *const *keys, struct buf *out)
{
	const char *p = old, *nl;
	char line[4096];
	size_t n;

	while (p && *p) {
		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		if (n >= sizeof(line))
			return -1;
		memcpy(line, p, n);
		line[n] = '\0';
		if (keep_line(line, keys) &&
		    (buf_add(out, line, n) == -1 || buf_adds(out, "\n") == -1))
			return -1;
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

int
enrol_configure(const char *path, const char *server, const char *commune,
                const char *secret, const char *user_key, char *err,
                size_t errlen)
{
	const char *keys[] = {"server", "commune", "enrol_secret",
	                      user_key ? "user_key" : NULL, NULL};
	struct stat st;
	struct buf out;
	char *old = NULL;
	int exists, rc = -1;

	exists = stat(path, &st) == 0;
	if (exists && (old = util_read_file(path, CONF_MAX)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf_init(&out, CONF_MAX);
	if (copy_other_lines(old, keys, &out) == -1 ||
	    buf_printf(&out, "server = %s\ncommune = %s\nenrol_secret = %s\n",
	               server, commune, secret) == -1 ||
	    (user_key && buf_printf(&out, "user_key = %s\n", user_key) == -1)) {
		snprintf(err, errlen, "%s: cannot rewrite (line too long?)",
		         path);
		goto fail;
	}
	if (util_write_file(path, out.data, out.len,
	                    exists ? st.st_mode & 07777 : 0600) == -1 ||
	    (exists && chown(path, st.st_uid, st.st_gid) == -1)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	rc = 0;
fail:
	if (old) {
		crypto_wipe(old, strlen(old));
		free(old);
	}
	if (out.data)
		crypto_wipe(out.data, out.len);
	buf_free(&out);
	return rc;
}
