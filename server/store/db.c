/*
 * db: one statement API over the database engines (see db.h). The engine
 * is chosen by the URI at db_open() and every call goes to its table of
 * operations (db_engine.h): db_sqlite.c, db_pgsql.c. What is kept here is
 * what every engine shares: the error message and class, the statement's
 * text, NULL handling.
 */
#include "db_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The engines, asked in order; the last takes any URI (a file path). */
static const struct db_backend *const backends[] = {&db_pgsql, &db_sqlite};

static const struct db_backend *
backend_for(const char *uri)
{
	size_t i;

	for (i = 0; i + 1 < sizeof(backends) / sizeof(backends[0]); i++)
		if (backends[i]->match(uri))
			return backends[i];
	return backends[i];
}

const char *
db_local_file(const char *uri)
{
	return backend_for(uri)->local_file ? uri : NULL;
}

int
db_backup(const char *uri, const char *file, char *err, size_t errlen)
{
	const struct db_backend *be = backend_for(uri);

	if (be->backup == NULL) {
		snprintf(err, errlen,
		         "this database is backed up with its own tools "
		         "(PostgreSQL: pg_dump; docs/DEPLOY.md, \"Backups\")");
		return -1;
	}
	return be->backup(uri, file, err, errlen);
}

int
db_restore(const char *file, const char *uri, const char *probe, char *err,
           size_t errlen)
{
	const struct db_backend *be = backend_for(uri);

	if (be->restore == NULL) {
		snprintf(
		    err, errlen,
		    "this database is restored with its own tools "
		    "(PostgreSQL: pg_restore; docs/DEPLOY.md, \"Backups\")");
		return -1;
	}
	return be->restore(file, uri, probe, err, errlen);
}

int
db_concurrent(const char *uri)
{
	return backend_for(uri)->concurrent;
}

void
db_set_err(struct db *db, int class, const char *msg)
{
	char *p;
	size_t n;

	db->errclass = class;
	util_strlcpy(db->err, msg ? msg : "unknown error", sizeof(db->err));
	n = strlen(db->err);
	while (n > 0 && (db->err[n - 1] == '\n' || db->err[n - 1] == ' '))
		db->err[--n] = '\0';
	/* libpq's messages span lines ("ERROR: ...\nHINT: ..."): one line. */
	for (p = db->err; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
}

int
db_lock_serving(const char *uri, char *err, size_t errlen)
{
	return backend_for(uri)->lock_serving(uri, err, errlen);
}

struct db *
db_open(const char *uri, char *err, size_t errlen)
{
	struct db *db;

	if ((db = calloc(1, sizeof(*db))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db->be = backend_for(uri);
	if (db->be->open(db, uri, err, errlen) == -1) {
		db_close(db);
		return NULL;
	}
	return db;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	db->be->close(db);
	free(db);
}

const char *
db_engine(const struct db *db)
{
	return db->be->name;
}

unsigned
db_generation(const struct db *db)
{
	return db->gen;
}

const char *
db_errmsg(struct db *db)
{
	return db->err[0] ? db->err : db->be->errmsg(db);
}

int
db_errclass(struct db *db)
{
	return db->errclass ? db->errclass : DB_ERROR;
}

int
db_exec(struct db *db, const char *sql)
{
	db->err[0] = '\0';
	db->errclass = 0;
	return db->be->exec(db, sql);
}

long long
db_changes(struct db *db)
{
	return db->be->changes(db);
}

struct db_stmt *
db_prepare(struct db *db, const char *sql, int persistent)
{
	struct db_stmt *st;

	db->err[0] = '\0';
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->db = db;
	if ((st->sql = strdup(sql)) == NULL ||
	    db->be->prepare(st, sql, persistent) == -1) {
		db_finalize(st);
		return NULL;
	}
	return st;
}

const char *
db_sql(const struct db_stmt *st)
{
	return st->sql;
}

void
db_bind_text(struct db_stmt *st, int i, const char *v)
{
	st->db->be->bind_text(st, i, v);
}

void
db_bind_int64(struct db_stmt *st, int i, long long v)
{
	st->db->be->bind_int64(st, i, v);
}

void
db_bind_double(struct db_stmt *st, int i, double v)
{
	st->db->be->bind_double(st, i, v);
}

void
db_bind_null(struct db_stmt *st, int i)
{
	st->db->be->bind_null(st, i);
}

int
db_step(struct db_stmt *st)
{
	return st->db->be->step(st);
}

void
db_reset(struct db_stmt *st)
{
	st->db->be->reset(st);
}

void
db_clear_bindings(struct db_stmt *st)
{
	st->db->be->clear_bindings(st);
}

void
db_finalize(struct db_stmt *st)
{
	if (st == NULL)
		return;
	st->db->be->finalize(st);
	free(st->sql);
	free(st);
}

int
db_column_count(struct db_stmt *st)
{
	return st->db->be->column_count(st);
}

const char *
db_column_name(struct db_stmt *st, int i)
{
	return st->db->be->column_name(st, i);
}

int
db_column_type(struct db_stmt *st, int i)
{
	return st->db->be->column_type(st, i);
}

long long
db_column_int64(struct db_stmt *st, int i)
{
	return st->db->be->column_int64(st, i);
}

int
db_column_int(struct db_stmt *st, int i)
{
	return (int)db_column_int64(st, i);
}

double
db_column_double(struct db_stmt *st, int i)
{
	return st->db->be->column_double(st, i);
}

const char *
db_column_text(struct db_stmt *st, int i)
{
	return st->db->be->column_text(st, i);
}
