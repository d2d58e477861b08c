/*
 * store_tx: the one way the store runs a write transaction. SQLite takes
 * its write lock at BEGIN IMMEDIATE (PostgreSQL reads it as BEGIN, db.c);
 * a deadlock or serialisation failure between PostgreSQL connections or
 * server instances rolls everything back, so a caller may ask for the
 * whole transaction to run again.
 */
#include "log.h"
#include "norm.h"
#include "store_sql.h"

int
sq_begin(struct sq *q)
{
	return sq_run(q, "BEGIN IMMEDIATE");
}

/* sq_end_tx() that also gives the class of what failed (0 when
 * committed; DB_RETRY: another writer got in the way). */
static int
end_tx(struct sq *q, int rc, int *class)
{
	*class = 0;
	if (rc == STORE_OK && sq_run(q, "COMMIT") == 0)
		return STORE_OK;
	if (rc == STORE_OK)
		rc = STORE_ERR;
	*class = db_errclass(q->db);
	sq_run(q, "ROLLBACK");
	norm_forget(q); /* keys mapped in the transaction are gone */
	return rc;
}

int
sq_end_tx(struct sq *q, int rc)
{
	int class;

	return end_tx(q, rc, &class);
}

int
sq_tx(struct sq *q, int tries, int (*fn)(struct sq *q, void *arg), void *arg)
{
	int rc = STORE_ERR, class, i;

	for (i = 0; i < tries; i++) {
		if (sq_begin(q) == -1)
			return STORE_ERR;
		rc = end_tx(q, fn(q, arg), &class);
		if (rc != STORE_ERR || class != DB_RETRY)
			break;
		log_debug("store: conflict with another writer, again");
	}
	return rc;
}
