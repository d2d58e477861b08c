/*
 * store_copy: moves a deployment from one database to another (SQLite to
 * PostgreSQL: mutu-server migrate). Both stores are opened as the server
 * opens them, so the target's schema is created and migrated first; then
 * every table is copied row by row in one transaction, in foreign-key
 * order, with the same ids, and the row counts of source and target are
 * compared before the commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "engine.h"
#include "log.h"
#include "store.h"
#include "store_sql.h"

/* Every table, parents first. The target's default catalogue goes: the
 * source's (with the admins' rules and products) replaces it. */
static const char *const tables[] = {
    "communes",     "enrol_secrets", "foreign_creds", "admin_tokens",
    "agents",       "moves",         "streams",       "software",
    "usage",        "usage_daily",   "usage_monthly", "usage_span",
    "usage_stat",   "stat_dirty",    "agent_days",    "products",
    "rules",        "software_map",  "usage_map",     "pools",
    "pool_members", "entitlements",  "audit",         "gaps",
    "meta",
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

/* Tables whose id the target numbers itself after the copy. */
static const char *const with_ids[] = {
    "enrol_secrets", "foreign_creds", "admin_tokens", "usage", "rules",
    "moves",         "entitlements",  "audit",        "gaps",
};

static long long
count_rows(struct db *db, const char *table)
{
	char sql[128];
	struct db_stmt *st;
	long long n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if ((st = db_prepare(db, sql, 0)) != NULL && db_step(st) == DB_ROW)
		n = db_column_int64(st, 0);
	db_finalize(st);
	return n;
}

/* "INSERT INTO t(c1, ...) VALUES (?1, ...)" for the columns of src. */
static int
insert_sql(struct db_stmt *src, const char *table, char *sql, size_t n)
{
	int i, cols = db_column_count(src);
	size_t o;

	o = (size_t)snprintf(sql, n, "INSERT INTO %s(", table);
	for (i = 0; i < cols && o < n; i++)
		o += (size_t)snprintf(sql + o, n - o, "%s\"%s\"", i ? ", " : "",
		                      db_column_name(src, i));
	o += (size_t)snprintf(sql + o, o < n ? n - o : 0, ") VALUES (");
	for (i = 0; i < cols && o < n; i++)
		o += (size_t)snprintf(sql + o, n - o, "%s?%d", i ? ", " : "",
		                      i + 1);
	o += (size_t)snprintf(sql + o, o < n ? n - o : 0, ")");
	return o < n ? 0 : -1;
}

static void
bind_column(struct db_stmt *dst, int i, struct db_stmt *src)
{
	switch (db_column_type(src, i)) {
	case DB_INTEGER:
		db_bind_int64(dst, i + 1, db_column_int64(src, i));
		break;
	case DB_FLOAT:
		db_bind_double(dst, i + 1, db_column_double(src, i));
		break;
	case DB_NULL:
		db_bind_null(dst, i + 1);
		break;
	default:
		db_bind_text(dst, i + 1, db_column_text(src, i));
	}
}

static int
copy_table(struct db *from, struct db *to, const char *table, char *err,
           size_t errlen)
{
	struct db_stmt *src = NULL, *dst = NULL;
	char sql[2048];
	int i, r, rc = -1;

	snprintf(sql, sizeof(sql), "SELECT * FROM %s", table);
	if ((src = db_prepare(from, sql, 0)) == NULL)
		goto fail;
	while ((r = db_step(src)) == DB_ROW) {
		if (dst == NULL &&
		    (insert_sql(src, table, sql, sizeof(sql)) == -1 ||
		     (dst = db_prepare(to, sql, 1)) == NULL))
			goto fail;
		for (i = 0; i < db_column_count(src); i++)
			bind_column(dst, i, src);
		if (db_step(dst) != DB_DONE) {
			snprintf(err, errlen, "%s: %s", table, db_errmsg(to));
			goto out;
		}
		db_reset(dst);
	}
	if (r == DB_DONE)
		rc = 0;
fail:
	if (rc == -1)
		snprintf(err, errlen, "%s: %s", table,
		         db_errmsg(src ? to : from));
out:
	db_finalize(src);
	db_finalize(dst);
	return rc;
}

/* The target must hold nothing but its default catalogue. */
static int
target_empty(struct db *to, char *err, size_t errlen)
{
	if (count_rows(to, "communes") != 0 || count_rows(to, "agents") != 0) {
		snprintf(err, errlen,
		         "the target database holds communes or agents "
		         "already: migrate into a new, empty one");
		return -1;
	}
	return db_exec(to, "DELETE FROM software_map; DELETE FROM usage_map;"
	                   " DELETE FROM rules; DELETE FROM products;"
	                   " DELETE FROM meta; DELETE FROM stat_dirty");
}

static int
copy_all(struct db *from, struct db *to, FILE *out, char *err, size_t errlen)
{
	long long n[NTABLES], m;
	size_t i;

	if (target_empty(to, err, errlen) == -1)
		return -1;
	for (i = 0; i < NTABLES; i++) {
		if ((n[i] = count_rows(from, tables[i])) < 0 ||
		    copy_table(from, to, tables[i], err, errlen) == -1)
			return -1;
	}
	for (i = 0; i < NTABLES; i++) {
		if ((m = count_rows(to, tables[i])) != n[i]) {
			snprintf(err, errlen,
			         "%s: %lld rows in the source, %lld copied",
			         tables[i], n[i], m);
			return -1;
		}
		fprintf(out, "%-14s %lld rows\n", tables[i], n[i]);
	}
	/* Ids the target hands out next follow the copied ones. */
	return engine_of(to)->after_copy(
	    to, with_ids, sizeof(with_ids) / sizeof(with_ids[0]));
}

int
store_copy(struct store *from, struct store *to, FILE *out, char *err,
           size_t errlen)
{
	struct sq *f = store_backend(from), *t = store_backend(to);

	err[0] = '\0';
	if (sq_scope(f, NULL, 0) != STORE_OK ||
	    sq_scope(t, NULL, 0) != STORE_OK) {
		snprintf(err, errlen, "cannot set the scope");
		return -1;
	}
	if (db_exec(f->db, "BEGIN") == -1 ||
	    db_exec(t->db, "BEGIN IMMEDIATE") == -1) {
		snprintf(err, errlen, "%s", db_errmsg(t->db));
		db_exec(f->db, "ROLLBACK");
		return -1;
	}
	if (copy_all(f->db, t->db, out, err, errlen) == -1) {
		if (err[0] == '\0' || db_errmsg(t->db)[0])
			snprintf(err, errlen, "%s", db_errmsg(t->db));
		db_exec(t->db, "ROLLBACK");
		db_exec(f->db, "ROLLBACK");
		return -1;
	}
	db_exec(f->db, "COMMIT");
	if (db_exec(t->db, "COMMIT") == -1) {
		snprintf(err, errlen, "commit: %s", db_errmsg(t->db));
		return -1;
	}
	return 0;
}
