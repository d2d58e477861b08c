/*
 * engine_sqlite: the store on SQLite (engine.h): one file in WAL mode,
 * served by one process (db_lock_serving()), so no row-level scope, no
 * partitions and a catalogue no other connection changes.
 */
#include <stdio.h>
#include <time.h>

#include "engine.h"
#include "store_sql.h"
#include "util.h"

/* The page cache (negative: KiB). Daily usage rows arrive in key order
 * per agent but scattered across the table: with SQLite's default 2 MiB
 * a year of a few hundred machines already misses the cache on most
 * inserts (docs/PERFORMANCE.md). */
#define CACHE_KIB "-65536"

/* SQLite's settings for the server's file: WAL, a 64 MiB page cache,
 * foreign keys; then the schema migrated. */
static int
lite_setup(struct sq *q, const char *admin_uri, char *err, size_t errlen)
{
	(void)admin_uri;
	if (sq_exec(q, "PRAGMA journal_mode=WAL") == -1 ||
	    sq_exec(q, "PRAGMA synchronous=NORMAL") == -1 ||
	    sq_exec(q, "PRAGMA cache_size=" CACHE_KIB) == -1 ||
	    sq_exec(q, "PRAGMA foreign_keys=ON") == -1) {
		snprintf(err, errlen, "%s", db_errmsg(q->db));
		return -1;
	}
	return sq_migrate(q->db, NULL, err, errlen);
}

/* Every row is the server's to touch: access is checked above the
 * database. */
static int
lite_scope(struct sq *q, const char *commune, int partners)
{
	(void)q;
	(void)commune;
	(void)partners;
	return STORE_OK;
}

/* The cutoff is named in meta for the trigger that otherwise refuses any
 * deletion from audit. */
static int
lite_purge_audit(struct sq *q, long long cutoff, long long actor,
                 const char *why, long long *n)
{
	char detail[512], when[32];
	struct db_stmt *st;

	*n = 0;
	if (sq_begin(q) == -1)
		return STORE_ERR;
	st = sq_prep(q,
	             "INSERT INTO meta(key, value)"
	             " VALUES ('audit_purge_before', ?1)"
	             " ON CONFLICT(key) DO UPDATE SET value = excluded.value");
	if (st == NULL)
		goto fail;
	snprintf(when, sizeof(when), "%lld", cutoff);
	db_bind_text(st, 1, when);
	if (sq_step_done(q, st) != STORE_OK ||
	    (st = sq_prep(q, "DELETE FROM audit WHERE at < ?")) == NULL)
		goto fail;
	db_bind_int64(st, 1, cutoff);
	if (sq_step_done(q, st) != STORE_OK)
		goto fail;
	*n = db_changes(q->db);
	if (sq_exec(q, "DELETE FROM meta WHERE key = 'audit_purge_before'") ==
	    -1)
		goto fail;
	util_datetime((time_t)cutoff, when, sizeof(when));
	snprintf(detail, sizeof(detail),
	         "%lld audit entries before %s UTC deleted (%s)", *n, when,
	         why);
	if (sq_end_tx(q, acc_audit(q, actor, "", "purge", detail)) == STORE_OK)
		return STORE_OK;
	*n = 0;
	return STORE_ERR;
fail:
	sq_end_tx(q, STORE_ERR);
	*n = 0;
	return STORE_ERR;
}

/* No partitions: the shared DELETE does all of retention. */
static long long
lite_drop_partitions(struct sq *q, long long now, long long cutoff)
{
	(void)q;
	(void)now;
	(void)cutoff;
	return 0;
}

/* INTEGER PRIMARY KEY hands out max(id) + 1 by itself. */
static int
lite_after_copy(struct db *db, const char *const *tables, size_t n)
{
	(void)db;
	(void)tables;
	(void)n;
	return 0;
}

const struct engine engine_sqlite = {
    .name = "sqlite",
    .setup = lite_setup,
    .scope = lite_scope,
    .purge_audit = lite_purge_audit,
    .drop_partitions = lite_drop_partitions,
    .after_copy = lite_after_copy,
    .shared_catalogue = 0,
    .month_sql = "strftime('%Y-%m', t.day * 86400, 'unixepoch')",
    .size_sql = "SELECT c.page_count * s.page_size"
                " FROM pragma_page_count() c, pragma_page_size() s",
    .schema_version = schema_sqlite_version,
    .schema_newest = schema_sqlite_newest,
    .migrate_lock = NULL,
    .migrate = schema_sqlite_migrate,
};
