/*
 * catalogue: normalisation of raw software names into products.
 *
 * A rule matches one field of a raw entry (package or program name,
 * publisher, executable path) with a glob (fnmatch) or an extended regular
 * expression, and maps it to a product key or ignores it (system libraries,
 * drivers). Rules are tried in order: admins' rules before the default
 * catalogue's, then by priority, then by id; the first match wins.
 */
#ifndef MUTU_CATALOGUE_H
#define MUTU_CATALOGUE_H

#include <stddef.h>

#include <jansson.h>

struct catalogue;

enum rule_field { RULE_NAME, RULE_PUBLISHER, RULE_EXE };

/* The result of normalising one entry. */
struct catalogue_hit {
	int matched;         /* a rule matched */
	int ignored;         /* ...and it says to ignore the entry */
	const char *product; /* product key when matched and not ignored */
};

/* An empty catalogue. NULL on ENOMEM. */
struct catalogue *catalogue_new(void);
/* Frees it; NULL is a no-op. */
void catalogue_free(struct catalogue *c);
/* Appends a rule, in evaluation order. product is NULL for an ignore
 * rule. Returns 0, or -1 with err naming the problem (bad regex...). */
int catalogue_add(struct catalogue *c, const char *field, const char *kind,
                  const char *pattern, const char *product, char *err,
                  size_t errlen);
/* Normalises an entry; publisher and exe may be NULL. The product string
 * lives as long as the catalogue. */
struct catalogue_hit catalogue_match(const struct catalogue *c,
                                     const char *name, const char *publisher,
                                     const char *exe);
/* Checks a rule's syntax without keeping it. */
int catalogue_check(const char *field, const char *kind, const char *pattern,
                    char *err, size_t errlen);

#endif
