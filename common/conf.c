#include "conf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ini_compat.h"

#include "util.h"

struct conf_ctx {
	const char *path;
	const struct conf_key *keys;
	char *obj;
	char *err;
	size_t errlen;
	int failed;
	FILE *fp;
	int lineno; /* lines read so far: inih 55 has no line callback */
};

static char *
reader(char *str, int num, void *stream)
{
	struct conf_ctx *c = stream;
	char *r = fgets(str, num, c->fp);

	if (r != NULL && strchr(r, '\n') != NULL)
		c->lineno++;
	return r;
}

static const struct conf_key *
find_key(const struct conf_key *keys, const char *section, const char *name)
{
	for (; keys->name != NULL; keys++)
		if (strcmp(keys->section, section) == 0 &&
		    strcmp(keys->name, name) == 0)
			return keys;
	return NULL;
}

static int
set_value(const struct conf_key *k, char *obj, const char *value,
          const char **why)
{
	long long v;
	int i;

	switch (k->type) {
	case CONF_STR:
		if (util_strlcpy(obj + k->offset, value, k->size) == -1) {
			*why = "value too long";
			return -1;
		}
		return 0;
	case CONF_INT:
		if (util_parse_ll(value, k->min, k->max, &v) == -1) {
			*why = "expected an integer in range";
			return -1;
		}
		*(int *)(void *)(obj + k->offset) = (int)v;
		return 0;
	case CONF_ENUM:
		for (i = 0; k->choices[i] != NULL; i++)
			if (strcmp(k->choices[i], value) == 0) {
				*(int *)(void *)(obj + k->offset) = i;
				return 0;
			}
		*why = "not one of the allowed values";
		return -1;
	}
	*why = "bad key type";
	return -1;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct conf_ctx *c = user;
	int lineno = c->lineno;
	const struct conf_key *k;
	const char *why = NULL;

	if (c->failed)
		return 0;
	if ((k = find_key(c->keys, section, name)) == NULL) {
		snprintf(c->err, c->errlen, "%s:%d: unknown key '%s%s%s'",
		         c->path, lineno, section, *section ? "." : "", name);
		c->failed = 1;
		return 0;
	}
	if (set_value(k, c->obj, value, &why) == -1) {
		snprintf(c->err, c->errlen, "%s:%d: %s: %s ('%s')", c->path,
		         lineno, name, why, value);
		c->failed = 1;
		return 0;
	}
	return 1;
}

int
conf_load(const char *path, const struct conf_key *keys, void *obj, char *err,
          size_t errlen)
{
	struct conf_ctx c = {path, keys, obj, err, errlen, 0, NULL, 0};
	int rc;

	if ((c.fp = util_fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = ini_parse_stream(reader, &c, handler, &c);
	fclose(c.fp);
	if (c.failed)
		return -1;
	if (rc != 0) {
		snprintf(err, errlen, "%s:%d: syntax error", path, rc);
		return -1;
	}
	return 0;
}
