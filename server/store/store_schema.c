/*
 * store_schema: the store's schema, versioned and migrated in order at
 * open, on whatever engine the connection has: the migrations, the
 * version's home and what runs with them are the engine's
 * (schema_sqlite.c, schema_pgsql.c, through engine.h).
 */
#include <stdio.h>

#include "db.h"
#include "engine.h"
#include "store_sql.h"

int
sq_migrate(struct db *db, const char *role, char *err, size_t errlen)
{
	const struct engine *e = engine_of(db);
	int v;

	if (db_exec(db, "BEGIN IMMEDIATE") == -1)
		goto fail;
	if (e->migrate_lock && db_exec(db, e->migrate_lock) == -1)
		goto fail;
	if ((v = e->schema_version(db)) < 0)
		goto fail;
	if (v > e->schema_newest()) {
		snprintf(err, errlen,
		         "database schema version %d is newer than this "
		         "server's (%d)",
		         v, e->schema_newest());
		db_exec(db, "ROLLBACK");
		return -1;
	}
	if (e->migrate(db, v, role) == -1 || db_exec(db, "COMMIT") == -1)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "schema migration failed: %s", db_errmsg(db));
	db_exec(db, "ROLLBACK");
	return -1;
}

int
sq_schema_check(struct db *db, char *err, size_t errlen)
{
	const struct engine *e = engine_of(db);
	int v = e->schema_version(db);

	if (v == e->schema_newest())
		return 0;
	if (v < 0)
		snprintf(err, errlen, "cannot read the schema version: %s",
		         db_errmsg(db));
	else
		snprintf(err, errlen,
		         "database schema version %d, this server needs %d: "
		         "run it once with --db-admin (the owner role) to "
		         "migrate",
		         v, e->schema_newest());
	return -1;
}
