#include "enrol.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "conf.h"
#include "crypto.h"
#include "httpc.h"
#include "service.h"
#include "util.h"

#define SECRET_MAX 1024
#define CONF_MAX   (256 * 1024)

/* One line of standard input (there is no /dev/stdin on Windows). */
static char *
read_stdin_line(void)
{
	char *s = malloc(SECRET_MAX + 2);

	if (s == NULL)
		return NULL;
	if (fgets(s, SECRET_MAX + 2, stdin) == NULL) {
		free(s);
		errno = EIO;
		return NULL;
	}
	s[strcspn(s, "\r\n")] = '\0';
	return s;
}

char *
enrol_read_secret(const char *path, char *err, size_t errlen)
{
	char *s;
	size_t n;

	if (strcmp(path, "-") == 0)
		s = read_stdin_line();
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
		if (keys[i][0] && line_sets(line, keys[i]))
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

/* The new lines: "key = value" for each setting given. */
static int
add_settings(struct buf *out, const struct enrol_settings *s)
{
	const char *const names[] = {"server",   "commune", "enrol_secret",
	                             "user_key", "ca_file", "proxy"};
	const char *const values[] = {s->server,   s->commune, s->secret,
	                              s->user_key, s->ca_file, s->proxy};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (values[i] &&
		    buf_printf(out, "%s = %s\n", names[i], values[i]) == -1)
			return -1;
	return 0;
}

int
enrol_configure(const char *path, const struct enrol_settings *s, char *err,
                size_t errlen)
{
	const char *keys[] = {"server",
	                      "commune",
	                      "enrol_secret",
	                      s->user_key ? "user_key" : "",
	                      s->ca_file ? "ca_file" : "",
	                      s->proxy ? "proxy" : "",
	                      NULL};
	struct stat st;
	struct buf out;
	char *old = NULL, why[1024];
	int exists, loopback, rc = -1;

	/* Everything is checked before anything is written: a refusal must
	 * not leave the secret behind in a file others can read, nor a
	 * server the agent would refuse (issue 16). */
	if (httpc_url_check(s->server, &loopback, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "--server: %s", why);
		return -1;
	}
	if (!util_valid_insee(s->commune)) {
		snprintf(err, errlen,
		         "--commune: expected a 5-character INSEE code, got "
		         "'%s'",
		         s->commune);
		return -1;
	}
	exists = stat(path, &st) == 0;
	if (exists && conf_check_private(path, err, errlen) == -1)
		return -1;
	if (exists && (old = util_read_file(path, CONF_MAX)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf_init(&out, CONF_MAX);
	if (copy_other_lines(old, keys, &out) == -1 ||
	    add_settings(&out, s) == -1) {
		snprintf(err, errlen, "%s: cannot rewrite (line too long?)",
		         path);
		goto fail;
	}
	if (util_write_file(path, out.data, out.len,
	                    exists ? st.st_mode & 07777 : 0600) == -1 ||
	    (exists && service_keep_owner(path, &st) == -1)) {
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
