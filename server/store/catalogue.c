#include "catalogue.h"

#include <fnmatch.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rule {
	enum rule_field field;
	int is_regex;
	char *pattern;
	regex_t re;
	char *product; /* NULL: ignore */
};

struct catalogue {
	struct rule *r;
	size_t n, cap;
};

struct catalogue *
catalogue_new(void)
{
	return calloc(1, sizeof(struct catalogue));
}

void
catalogue_free(struct catalogue *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		if (c->r[i].is_regex)
			regfree(&c->r[i].re);
		free(c->r[i].pattern);
		free(c->r[i].product);
	}
	free(c->r);
	free(c);
}

static int
parse_field(const char *field, enum rule_field *f)
{
	if (strcmp(field, "name") == 0)
		*f = RULE_NAME;
	else if (strcmp(field, "publisher") == 0)
		*f = RULE_PUBLISHER;
	else if (strcmp(field, "exe") == 0)
		*f = RULE_EXE;
	else
		return -1;
	return 0;
}

/* Compiles rule r from its text; returns 0, or -1 with err. */
static int
compile(struct rule *r, const char *field, const char *kind,
        const char *pattern, char *err, size_t errlen)
{
	char msg[128];
	int rc;

	memset(r, 0, sizeof(*r));
	if (parse_field(field, &r->field) == -1) {
		snprintf(err, errlen,
		         "field: '%s' is not name, publisher or exe", field);
		return -1;
	}
	if (pattern == NULL || *pattern == '\0' || strlen(pattern) > 512) {
		snprintf(err, errlen, "pattern: expected 1 to 512 characters");
		return -1;
	}
	if (strcmp(kind, "regex") == 0) {
		rc = regcomp(&r->re, pattern, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			regerror(rc, &r->re, msg, sizeof(msg));
			snprintf(err, errlen, "regex '%s': %s", pattern, msg);
			return -1;
		}
		r->is_regex = 1;
	} else if (strcmp(kind, "glob") != 0) {
		snprintf(err, errlen, "kind: '%s' is not glob or regex", kind);
		return -1;
	}
	return 0;
}

int
catalogue_check(const char *field, const char *kind, const char *pattern,
                char *err, size_t errlen)
{
	struct rule r;

	if (compile(&r, field, kind, pattern, err, errlen) == -1)
		return -1;
	if (r.is_regex)
		regfree(&r.re);
	return 0;
}

int
catalogue_add(struct catalogue *c, const char *field, const char *kind,
              const char *pattern, const char *product, char *err,
              size_t errlen)
{
	struct rule r, *p;

	if (compile(&r, field, kind, pattern, err, errlen) == -1)
		return -1;
	if (c->n == c->cap) {
		p = realloc(c->r, (c->cap ? c->cap * 2 : 64) * sizeof(*p));
		if (p == NULL)
			goto nomem;
		c->r = p;
		c->cap = c->cap ? c->cap * 2 : 64;
	}
	r.pattern = strdup(pattern);
	r.product = product ? strdup(product) : NULL;
	if (r.pattern == NULL || (product && r.product == NULL))
		goto nomem;
	c->r[c->n++] = r;
	return 0;
nomem:
	if (r.is_regex)
		regfree(&r.re);
	free(r.pattern);
	free(r.product);
	snprintf(err, errlen, "out of memory");
	return -1;
}

static int
rule_matches(const struct rule *r, const char *value)
{
	if (value == NULL || *value == '\0')
		return 0;
	if (r->is_regex)
		return regexec(&r->re, value, 0, NULL, 0) == 0;
	return fnmatch(r->pattern, value, 0) == 0;
}

struct catalogue_hit
catalogue_match(const struct catalogue *c, const char *name,
                const char *publisher, const char *exe)
{
	struct catalogue_hit out = {0, 0, NULL};
	const char *v;
	size_t i;

	for (i = 0; i < c->n; i++) {
		const struct rule *r = &c->r[i];

		v = r->field == RULE_NAME        ? name
		    : r->field == RULE_PUBLISHER ? publisher
		                                 : exe;
		if (!rule_matches(r, v))
			continue;
		out.matched = 1;
		out.ignored = r->product == NULL;
		out.product = r->product;
		return out;
	}
	return out;
}
