/*
 * engine_pgsql: the store on PostgreSQL (engine.h): shared by several
 * servers, each connection held to its commune's rows by row-level
 * security (the scope), the schema owned by another role, raw usage
 * partitioned by month, and the owner's functions for what the server's
 * role may not do itself (docs/SCALING.md).
 */
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "log.h"
#include "store_sql.h"
#include "util.h"

/* The owner's connection (admin_uri) migrates the schema and grants this
 * connection's role its rights; then the schema must be the newest. */
static int
pg_setup(struct sq *q, const char *admin_uri, char *err, size_t errlen)
{
	char role[128] = "";
	struct db_stmt *st;
	struct db *adm;
	int rc;

	if (admin_uri) {
		st = db_prepare(q->db, "SELECT current_user", 0);
		if (st && db_step(st) == DB_ROW)
			util_strlcpy(role, db_column_text(st, 0), sizeof(role));
		db_finalize(st);
		if ((adm = db_open(admin_uri, err, errlen)) == NULL)
			return -1;
		rc = sq_migrate(adm, role, err, errlen);
		db_close(adm);
		if (rc == -1)
			return -1;
	}
	if (sq_schema_check(q->db, err, errlen) == -1)
		return -1;
	return sq_scope(q, NULL, 0) == STORE_OK ? 0 : -1;
}

/* The scope as PostgreSQL's policies read it: "*", or the commune and,
 * with partners, every commune it shares a pool with. */
static int
scope_list(struct sq *q, const char *commune, int partners, char *out, size_t n)
{
	struct db_stmt *st;
	const char *c;
	size_t len;

	if (commune == NULL || commune[0] == '\0')
		return util_strlcpy(out, "*", n);
	if (util_strlcpy(out, commune, n) == -1)
		return -1;
	if (!partners)
		return 0;
	st = sq_get(q, "SELECT DISTINCT b.commune FROM pool_members a"
	               " JOIN pool_members b ON b.pool = a.pool"
	               " WHERE a.commune = ?1 AND b.commune <> ?1");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, commune);
	while (db_step(st) == DB_ROW) {
		c = db_column_text(st, 0);
		len = strlen(out);
		if (len + strlen(c) + 2 > n)
			break;
		out[len] = ',';
		util_strlcpy(out + len + 1, c, n - len - 1);
	}
	sq_put(q, st);
	return 0;
}

static int
set_scope(struct sq *q, const char *scope)
{
	struct db_stmt *st;
	int r;

	if (strcmp(q->scope, scope) == 0 &&
	    q->scope_gen == db_generation(q->db))
		return STORE_OK;
	st = sq_get(q, "SELECT set_config('mutu.scope', ?1, false)");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, scope);
	r = db_step(st);
	sq_put(q, st);
	if (r != DB_ROW) {
		q->scope[0] = '\0';
		return STORE_ERR;
	}
	util_strlcpy(q->scope, scope, sizeof(q->scope));
	q->scope_gen = db_generation(q->db);
	return STORE_OK;
}

/* mutu.scope, which the row-level policies read (schema_pgsql.c). */
static int
pg_scope(struct sq *q, const char *commune, int partners)
{
	char list[sizeof(q->scope)];

	/* Partners are looked up with the whole view. */
	if (partners && commune && commune[0] && set_scope(q, "*") != STORE_OK)
		return STORE_ERR;
	if (scope_list(q, commune, partners, list, sizeof(list)) == -1)
		return STORE_ERR;
	return set_scope(q, list);
}

/* The owner's function does it all: the server's role may not delete
 * from audit. */
static int
pg_purge_audit(struct sq *q, long long cutoff, long long actor, const char *why,
               long long *n)
{
	struct db_stmt *st;
	int rc;

	*n = 0;
	st = sq_prep(q, "SELECT mutu_purge_audit(?, ?, ?)");
	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, cutoff);
	db_bind_int64(st, 2, actor);
	db_bind_text(st, 3, why);
	rc = db_step(st) == DB_ROW ? STORE_OK : STORE_ERR;
	if (rc == STORE_OK)
		*n = db_column_int64(st, 0);
	db_finalize(st);
	return rc;
}

/* Makes next months' partitions, drops whole months of raw usage past
 * the cutoff; the number of rows dropped, or -1. */
static long long
pg_drop_partitions(struct sq *q, long long now, long long cutoff)
{
	struct db_stmt *st;
	long long n = -1;

	if ((st = sq_prep(q, "SELECT mutu_partitions(?1)")) == NULL)
		return -1;
	db_bind_int64(st, 1, now);
	if (db_step(st) != DB_ROW) {
		db_finalize(st);
		log_warnx("database: partitions: %s", db_errmsg(q->db));
		return -1;
	}
	db_finalize(st);
	if ((st = sq_prep(q, "SELECT mutu_drop_usage(?1)")) == NULL)
		return -1;
	db_bind_int64(st, 1, cutoff);
	if (db_step(st) == DB_ROW)
		n = db_column_int64(st, 0);
	else
		log_warnx("database: retention: %s", db_errmsg(q->db));
	db_finalize(st);
	return n;
}

/* Ids the target hands out next follow the copied ones. */
static const char setval_sql[] =
    "SELECT setval(pg_get_serial_sequence('%1$s', 'id'),"
    " (SELECT coalesce(max(id), 0) + 1 FROM %1$s), false)";

static int
pg_after_copy(struct db *db, const char *const *tables, size_t n)
{
	char sql[256];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(sql, sizeof(sql), setval_sql, tables[i]);
		if (db_exec(db, sql) == -1)
			return -1;
	}
	return 0;
}

const struct engine engine_pgsql = {
    .name = "pgsql",
    .setup = pg_setup,
    .scope = pg_scope,
    .purge_audit = pg_purge_audit,
    .drop_partitions = pg_drop_partitions,
    .after_copy = pg_after_copy,
    .shared_catalogue = 1,
    .month_sql = "to_char(to_timestamp(t.day * 86400) AT TIME ZONE 'UTC',"
                 " 'YYYY-MM')",
    .size_sql = "SELECT pg_database_size(current_database())",
    .schema_version = schema_pgsql_version,
    .schema_newest = schema_pgsql_newest,
    /* One migrator at a time when several servers start together. */
    .migrate_lock = "SELECT pg_advisory_xact_lock(7275747500)",
    .migrate = schema_pgsql_migrate,
};
