/*
 * entitle: entitlements and pools, as the admin operations list and
 * change them (entitle.c). Private to the store.
 */
#ifndef MUTU_ENTITLE_H
#define MUTU_ENTITLE_H

#include "store_sql.h"

/* The entitlement and pool operations (ADM_ENT_LIST, ADM_ENT_ADD,
 * ADM_ENT_UPDATE, ADM_ENT_DELETE, ADM_POOL_LIST, ADM_POOL_SET): a
 * STORE_* code, *out set as store_admin() says. */
int entitle_admin(struct sq *q, enum store_admin_op op,
                  const struct store_scope *sc, json_t *in, json_t **out);

#endif
