/*
 * upkeep: the periodic upkeep of the usage tables (upkeep.c). Private to
 * the store.
 */
#ifndef MUTU_UPKEEP_H
#define MUTU_UPKEEP_H

#include "store_sql.h"

/* store_maintain() on a connection: makes next months' partitions and
 * drops raw usage older than retention_days (PostgreSQL: whole months
 * at once). STORE_OK or STORE_ERR. */
int upkeep_run(struct sq *q, long long now, int retention_days);

#endif
