/*
 * engine: what the store does differently on each database engine, as a
 * table of operations with one implementation per engine
 * (engine_sqlite.c, engine_pgsql.c), as OpenSMTPD's table backends. The
 * statement API itself is db.h's; this is the store's side: connection
 * setup, row-level scope, audit purge, partitions, the schema's
 * versions and migrations (schema_sqlite.c, schema_pgsql.c), and the few
 * SQL spellings that differ. Shared store code calls these and never
 * asks which engine it runs on. Private to the store.
 */
#ifndef MUTU_ENGINE_H
#define MUTU_ENGINE_H

#include <stddef.h>

#include "db.h"

struct sq;

struct engine {
	/* db_engine()'s name of the connections this engine serves. */
	const char *name;
	/* Readies a newly opened store connection: settings, the schema
	 * migrated (admin_uri: the owner's connection, where the engine has
	 * one; may be NULL) or checked. 0, or -1 with the reason in err. */
	int (*setup)(struct sq *q, const char *admin_uri, char *err,
	             size_t errlen);
	/* Sets the rows the connection may touch (sq_scope()): STORE_OK or
	 * STORE_ERR. */
	int (*scope)(struct sq *q, const char *commune, int partners);
	/* Deletes the audit entries before cutoff and audits that, in one
	 * transaction; *n the rows deleted. STORE_OK or STORE_ERR. */
	int (*purge_audit)(struct sq *q, long long cutoff, long long actor,
	                   const char *why, long long *n);
	/* Retention of raw usage done by the engine's own means before the
	 * shared DELETE: the rows dropped (0 if none), or -1 (logged). */
	long long (*drop_partitions)(struct sq *q, long long now,
	                             long long cutoff);
	/* After store_copy() filled db's tables: ids handed out next follow
	 * the copied ones. 0, or -1 (message in db_errmsg()). */
	int (*after_copy)(struct db *db, const char *const *tables, size_t n);
	/* Set when other connections (other threads, other servers) may
	 * change the catalogue: it is then checked for freshness. */
	int shared_catalogue;
	/* SQL of the month 'YYYY-MM' of day number t.day. */
	const char *month_sql;
	/* A query of one row and column: the database's size in bytes. */
	const char *size_sql;

	/* Schema. The version of db's schema (0: empty), or -1. */
	int (*schema_version)(struct db *db);
	/* The version this server's migrations lead to. */
	int (*schema_newest)(void);
	/* Statement that serialises migrators inside the migration's
	 * transaction, or NULL when the transaction is enough. */
	const char *migrate_lock;
	/* Migrates db from version v to the newest, inside the caller's
	 * transaction; role: the server's role to grant rights to (may be
	 * NULL where the engine has no roles). 0, or -1. */
	int (*migrate)(struct db *db, int v, const char *role);
};

/* The engine of connection db (never NULL). */
const struct engine *engine_of(const struct db *db);

/* The engines (engine_sqlite.c, engine_pgsql.c). */
extern const struct engine engine_sqlite;
extern const struct engine engine_pgsql;

/* Their schemas (schema_sqlite.c, schema_pgsql.c): engine's
 * schema_version, schema_newest and migrate. */
int schema_sqlite_version(struct db *db);
int schema_sqlite_newest(void);
int schema_sqlite_migrate(struct db *db, int v, const char *role);
int schema_pgsql_version(struct db *db);
int schema_pgsql_newest(void);
int schema_pgsql_migrate(struct db *db, int v, const char *role);

#endif
