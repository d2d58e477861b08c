/*
 * upkeep: the periodic upkeep of the usage tables: the engine's own
 * (next months' partitions made and whole months past the retention
 * dropped, engine.h), then raw usage rows past the retention deleted;
 * the daily and monthly summaries are kept (docs/OPERATIONS.md).
 */
#include "upkeep.h"

#include "engine.h"
#include "log.h"

int
upkeep_run(struct sq *q, long long now, int retention_days)
{
	long long cutoff = now - (long long)retention_days * 86400, n = 0;
	struct db_stmt *st;
	int rc;

	if ((n = engine_of(q->db)->drop_partitions(q, now, cutoff)) < 0)
		return STORE_ERR;
	/* What is left: rows the engine did not drop (of the month the
	 * cutoff falls in, or all of them). */
	if ((st = sq_prep(q, "DELETE FROM usage WHERE \"end\" < ?")) == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, cutoff);
	rc = sq_step_done(q, st);
	if (rc == STORE_OK)
		n += db_changes(q->db);
	if (rc == STORE_OK && n > 0)
		log_info("retention: %lld raw usage rows older than %d days "
		         "dropped (daily summaries kept)",
		         n, retention_days);
	return rc;
}
