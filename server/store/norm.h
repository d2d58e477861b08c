/*
 * norm: the catalogue in the database and the normalisation maps it
 * keeps (norm.c). Each connection has its own struct norm: the rules in
 * force and a cache of the raw keys known to be mapped, which ingest
 * consults before it queries. Private to the store.
 */
#ifndef MUTU_NORM_H
#define MUTU_NORM_H

#include "store_sql.h"

struct norm;

/* A connection's normalisation state, empty (no rules loaded); NULL on
 * ENOMEM. Freed with norm_free(); NULL is a no-op there. */
struct norm *norm_new(void);
void norm_free(struct norm *n);

/* Makes sure the default catalogue is in the database and loads the
 * rules into q->norm (at open): 0, or -1 (logged). */
int norm_install_defaults(struct sq *q);
/* Loads the rules into q->norm and, when renorm is set, recomputes every
 * normalisation map in a transaction of its own: 0, or -1. */
int norm_reload(struct sq *q, int renorm);
/* Forgets the normalisation keys known to be mapped (after a rollback). */
void norm_forget(struct sq *q);
/* PostgreSQL: reloads the rules if another connection or server
 * instance changed them since they were loaded (ingest). 0, or -1. */
int norm_fresh(struct sq *q);
/* Maps a software entry or a usage key not yet mapped, inside the
 * caller's transaction (ingest): 0, or -1. */
int norm_map_software(struct sq *q, const char *name, const char *publisher);
int norm_map_usage(struct sq *q, const char *product, const char *exe);

/* The catalogue's admin operations (ADM_CATALOGUE_EXPORT,
 * ADM_CATALOGUE_IMPORT, ADM_RULE_ADD, ADM_RULE_DELETE, ADM_PRODUCT_ADD,
 * ADM_UNMATCHED): a STORE_* code, *out set as store_admin() says. */
int norm_admin(struct sq *q, enum store_admin_op op,
               const struct store_scope *sc, json_t *in, json_t **out);
/* Whether k is a valid product or pool key: 1 to 64 of a-z 0-9 - _ . */
int norm_valid_key(const char *k);

#endif
