/*
 * db: SQLite and PostgreSQL behind one statement API (see db.h). The
 * SQLite half is a thin veneer over sqlite3_stmt. The PostgreSQL half
 * runs each statement with PQexecParams() at its first step, keeps the
 * result and hands its rows out one step at a time.
 */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "util.h"

#define PG_MAX_PARAMS 32

/* PostgreSQL type OIDs the column readers care about (pg_type.dat). */
#define OID_BOOL    16
#define OID_INT8    20
#define OID_INT2    21
#define OID_INT4    23
#define OID_TEXT    25
#define OID_OID     26
#define OID_FLOAT4  700
#define OID_FLOAT8  701
#define OID_NUMERIC 1700

struct db {
	enum db_kind kind;
	sqlite3 *lite;
	PGconn *pg;
	long long changes;  /* PostgreSQL: of the last command */
	unsigned nprepared; /* PostgreSQL: names of prepared statements */
	unsigned gen;       /* PostgreSQL: connections made (resets) */
	int errclass;
	char err[512];
};

struct pg_param {
	const char *val; /* NULL for SQL NULL */
	char *own;       /* a bound text's copy */
	Oid type;        /* 0: inferred, like a literal */
	char num[32];    /* the text of a bound number */
};

struct db_stmt {
	struct db *db;
	sqlite3_stmt *lite;
	char *sql;   /* the text as given */
	char *pgsql; /* translated for PostgreSQL */
	int nparams;
	struct pg_param param[PG_MAX_PARAMS];
	PGresult *res;
	int row, nrows, ran;
	int persistent; /* PostgreSQL: prepared on the server once */
	char name[16];  /* its name there, "" until prepared */
	unsigned gen;   /* the connection it was prepared on */
};

int
db_is_pgsql(const char *uri)
{
	return strncmp(uri, "postgresql://", 13) == 0 ||
	       strncmp(uri, "postgres://", 11) == 0;
}

static void
set_err(struct db *db, int class, const char *msg)
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

static int pg_result(struct db *db, PGresult *res);

static int
lite_class(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		return DB_CONSTRAINT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return DB_RETRY;
	default:
		return DB_ERROR;
	}
}

/* The class of a PostgreSQL error from its SQLSTATE: 23xxx integrity,
 * 40001 serialisation failure, 40P01 deadlock. */
static int
pg_class(const PGresult *res)
{
	const char *state =
	    res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (state == NULL)
		return DB_ERROR;
	if (strncmp(state, "23", 2) == 0)
		return DB_CONSTRAINT;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		return DB_RETRY;
	return DB_ERROR;
}

static int
open_sqlite(struct db *db, const char *path, char *err, size_t errlen)
{
	if (sqlite3_open_v2(path, &db->lite,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                        SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		         db->lite ? sqlite3_errmsg(db->lite) : "cannot open");
		return -1;
	}
	sqlite3_busy_timeout(db->lite, 10000);
	sqlite3_extended_result_codes(db->lite, 0);
	return 0;
}

/* The session's settings, after each (re)connection. Times are Unix
 * seconds computed by the server, never by the database's clock or zone. */
static int
pg_session(struct db *db)
{
	PGresult *res = PQexec(db->pg, "SET client_min_messages = warning;"
	                               "SET TIME ZONE 'UTC'");
	int rc = pg_result(db, res);

	PQclear(res);
	return rc;
}

static int
open_pgsql(struct db *db, const char *uri, char *err, size_t errlen)
{
	db->pg = PQconnectdb(uri);
	if (db->pg == NULL || PQstatus(db->pg) != CONNECTION_OK ||
	    pg_session(db) == -1) {
		if (db->err[0] == '\0')
			set_err(db, DB_ERROR,
			        db->pg ? PQerrorMessage(db->pg)
			               : "out of memory");
		snprintf(err, errlen, "PostgreSQL: %s", db->err);
		return -1;
	}
	db->gen = 1;
	return 0;
}

/* A connection the server closed (restart, failover, idle timeout) is
 * made again before the next statement; the statement that found it
 * broken has failed. 0 if the connection is usable. */
static int
pg_alive(struct db *db)
{
	if (PQstatus(db->pg) == CONNECTION_OK)
		return 0;
	PQreset(db->pg);
	if (PQstatus(db->pg) != CONNECTION_OK || pg_session(db) == -1) {
		set_err(db, DB_ERROR, PQerrorMessage(db->pg));
		return -1;
	}
	db->gen++;
	return 0;
}

unsigned
db_generation(const struct db *db)
{
	return db->gen;
}

struct db *
db_open(const char *uri, char *err, size_t errlen)
{
	struct db *db;
	int rc;

	if ((db = calloc(1, sizeof(*db))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db->kind = db_is_pgsql(uri) ? DB_PGSQL : DB_SQLITE;
	rc = db->kind == DB_PGSQL ? open_pgsql(db, uri, err, errlen)
	                          : open_sqlite(db, uri, err, errlen);
	if (rc == -1) {
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
	if (db->lite)
		sqlite3_close_v2(db->lite);
	if (db->pg)
		PQfinish(db->pg);
	free(db);
}

enum db_kind
db_kind(const struct db *db)
{
	return db->kind;
}

const char *
db_errmsg(struct db *db)
{
	if (db->kind == DB_SQLITE && db->err[0] == '\0')
		return sqlite3_errmsg(db->lite);
	return db->err;
}

int
db_errclass(struct db *db)
{
	return db->errclass ? db->errclass : DB_ERROR;
}

/* Rewrites the shared dialect for PostgreSQL (db.h): ?N and ? become $N
 * outside quotes; a few SQLite spellings get their PostgreSQL ones.
 * Returns the parameter count, or -1 when there are too many. */
static int
translate(const char *in, char *out, size_t outlen)
{
	static const struct {
		const char *from, *to;
	} words[] = {
	    {"BEGIN IMMEDIATE", "BEGIN"},
	    {"json_group_array(", "json_agg("},
	};
	size_t o = 0, i, w;
	int maxp = 0, n;
	char quote = 0;

	for (i = 0; in[i] && o + 16 < outlen;) {
		char c = in[i];

		if (quote) {
			quote = c == quote ? 0 : quote;
			out[o++] = in[i++];
			continue;
		}
		if (c == '\'' || c == '"') {
			quote = c;
			out[o++] = in[i++];
			continue;
		}
		if (c == '?') {
			i++;
			if (in[i] >= '0' && in[i] <= '9')
				n = (int)strtol(in + i, NULL, 10);
			else
				n = maxp + 1;
			while (in[i] >= '0' && in[i] <= '9')
				i++;
			if (n > maxp)
				maxp = n;
			o += (size_t)snprintf(out + o, outlen - o, "$%d", n);
			continue;
		}
		for (w = 0; w < sizeof(words) / sizeof(words[0]); w++)
			if (strncmp(in + i, words[w].from,
			            strlen(words[w].from)) == 0)
				break;
		if (w < sizeof(words) / sizeof(words[0])) {
			o += (size_t)snprintf(out + o, outlen - o, "%s",
			                      words[w].to);
			i += strlen(words[w].from);
			continue;
		}
		out[o++] = in[i++];
	}
	out[o] = '\0';
	if (in[i] != '\0' || maxp > PG_MAX_PARAMS)
		return -1;
	return maxp;
}

static int
pg_result(struct db *db, PGresult *res)
{
	ExecStatusType s = PQresultStatus(res);

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
		db->changes = strtoll(PQcmdTuples(res), NULL, 10);
		db->errclass = 0;
		return 0;
	}
	set_err(db, pg_class(res), PQresultErrorMessage(res));
	return -1;
}

int
db_exec(struct db *db, const char *sql)
{
	PGresult *res;
	char *msg = NULL, *t;
	size_t len;
	int rc;

	db->err[0] = '\0';
	db->errclass = 0;
	if (db->kind == DB_SQLITE) {
		rc = sqlite3_exec(db->lite, sql, NULL, NULL, &msg);
		if (rc != SQLITE_OK)
			set_err(db, lite_class(rc),
			        msg ? msg : sqlite3_errmsg(db->lite));
		sqlite3_free(msg);
		return rc == SQLITE_OK ? 0 : -1;
	}
	if (pg_alive(db) == -1)
		return -1;
	len = strlen(sql) * 2 + 64;
	if ((t = malloc(len)) == NULL)
		return -1;
	if (translate(sql, t, len) < 0) {
		free(t);
		set_err(db, DB_ERROR, "statement too long to translate");
		return -1;
	}
	res = PQexec(db->pg, t);
	free(t);
	rc = pg_result(db, res);
	PQclear(res);
	return rc;
}

long long
db_changes(struct db *db)
{
	if (db->kind == DB_SQLITE)
		return sqlite3_changes(db->lite);
	return db->changes;
}

static struct db_stmt *
prepare_pgsql(struct db_stmt *st, const char *sql)
{
	size_t len = strlen(sql) * 2 + 64;

	if ((st->pgsql = malloc(len)) == NULL)
		return NULL;
	if ((st->nparams = translate(sql, st->pgsql, len)) < 0) {
		set_err(st->db, DB_ERROR,
		        "statement too long or with too many parameters");
		return NULL;
	}
	return st;
}

struct db_stmt *
db_prepare(struct db *db, const char *sql, int persistent)
{
	struct db_stmt *st;
	int rc;

	db->err[0] = '\0';
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->db = db;
	if ((st->sql = strdup(sql)) == NULL)
		goto fail;
	if (db->kind == DB_PGSQL) {
		if (prepare_pgsql(st, sql) == NULL)
			goto fail;
		st->persistent = persistent;
		return st;
	}
	rc = sqlite3_prepare_v3(db->lite, sql, -1,
	                        persistent ? SQLITE_PREPARE_PERSISTENT : 0,
	                        &st->lite, NULL);
	if (rc == SQLITE_OK)
		return st;
	set_err(db, lite_class(rc), sqlite3_errmsg(db->lite));
fail:
	db_finalize(st);
	return NULL;
}

const char *
db_sql(const struct db_stmt *st)
{
	return st->sql;
}

static struct pg_param *
pg_param(struct db_stmt *st, int i)
{
	if (i < 1 || i > st->nparams)
		return NULL;
	return &st->param[i - 1];
}

void
db_bind_text(struct db_stmt *st, int i, const char *v)
{
	struct pg_param *p;

	if (st->lite) {
		if (v)
			sqlite3_bind_text(st->lite, i, v, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(st->lite, i);
	} else if ((p = pg_param(st, i)) != NULL) {
		free(p->own);
		p->own = v ? strdup(v) : NULL;
		p->val = p->own;
		p->type = OID_TEXT;
	}
}

void
db_bind_int64(struct db_stmt *st, int i, long long v)
{
	struct pg_param *p;

	if (st->lite)
		sqlite3_bind_int64(st->lite, i, v);
	else if ((p = pg_param(st, i)) != NULL) {
		free(p->own);
		p->own = NULL;
		snprintf(p->num, sizeof(p->num), "%lld", v);
		p->val = p->num;
		p->type = OID_INT8;
	}
}

void
db_bind_double(struct db_stmt *st, int i, double v)
{
	struct pg_param *p;

	if (st->lite)
		sqlite3_bind_double(st->lite, i, v);
	else if ((p = pg_param(st, i)) != NULL) {
		free(p->own);
		p->own = NULL;
		snprintf(p->num, sizeof(p->num), "%.17g", v);
		p->val = p->num;
		p->type = OID_FLOAT8;
	}
}

void
db_bind_null(struct db_stmt *st, int i)
{
	struct pg_param *p;

	if (st->lite)
		sqlite3_bind_null(st->lite, i);
	else if ((p = pg_param(st, i)) != NULL) {
		free(p->own);
		memset(p, 0, sizeof(*p));
	}
}

/* A statement kept for reuse is prepared on the server at its first run,
 * with the types of that run's parameters: later runs skip parsing and
 * planning. -1 on failure. */
static int
server_prepare(struct db_stmt *st, const Oid *types)
{
	PGresult *res;
	int rc;

	snprintf(st->name, sizeof(st->name), "s%u", ++st->db->nprepared);
	res = PQprepare(st->db->pg, st->name, st->pgsql, st->nparams, types);
	rc = pg_result(st->db, res);
	PQclear(res);
	if (rc == -1)
		st->name[0] = '\0';
	st->gen = st->db->gen;
	return rc;
}

static PGresult *
run_pgsql(struct db_stmt *st)
{
	const char *vals[PG_MAX_PARAMS];
	Oid types[PG_MAX_PARAMS];
	int i;

	if (pg_alive(st->db) == -1)
		return NULL;
	if (st->name[0] && st->gen != st->db->gen)
		st->name[0] = '\0'; /* prepared on a connection now gone */
	for (i = 0; i < st->nparams; i++) {
		vals[i] = st->param[i].val;
		types[i] = st->param[i].type;
	}
	if (st->persistent && st->name[0] == '\0' &&
	    server_prepare(st, types) == -1)
		return NULL;
	if (st->name[0])
		return PQexecPrepared(st->db->pg, st->name, st->nparams, vals,
		                      NULL, NULL, 0);
	return PQexecParams(st->db->pg, st->pgsql, st->nparams, types, vals,
	                    NULL, NULL, 0);
}

static int
step_pgsql(struct db_stmt *st)
{
	if (!st->ran) {
		st->db->err[0] = '\0';
		st->res = run_pgsql(st);
		if (st->res == NULL && st->db->err[0]) {
			st->ran = 1;
			return st->db->errclass;
		}
		st->ran = 1;
		st->row = -1;
		if (pg_result(st->db, st->res) == -1)
			return st->db->errclass;
		st->nrows = PQntuples(st->res);
	}
	if (st->res == NULL || PQresultStatus(st->res) != PGRES_TUPLES_OK)
		return st->res && PQresultStatus(st->res) == PGRES_COMMAND_OK
		           ? DB_DONE
		           : st->db->errclass;
	return ++st->row < st->nrows ? DB_ROW : DB_DONE;
}

int
db_step(struct db_stmt *st)
{
	int rc;

	if (st->db->kind == DB_PGSQL)
		return step_pgsql(st);
	st->db->err[0] = '\0';
	st->db->errclass = 0;
	rc = sqlite3_step(st->lite);
	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_DONE;
	rc = sqlite3_reset(st->lite);
	set_err(st->db, lite_class(rc), sqlite3_errmsg(st->db->lite));
	return st->db->errclass;
}

void
db_reset(struct db_stmt *st)
{
	if (st->lite)
		sqlite3_reset(st->lite);
	PQclear(st->res);
	st->res = NULL;
	st->ran = 0;
}

void
db_clear_bindings(struct db_stmt *st)
{
	int i;

	if (st->lite)
		sqlite3_clear_bindings(st->lite);
	for (i = 0; i < PG_MAX_PARAMS; i++)
		free(st->param[i].own);
	memset(st->param, 0, sizeof(st->param));
}

void
db_finalize(struct db_stmt *st)
{
	char sql[32];
	PGresult *res;

	if (st == NULL)
		return;
	if (st->name[0] && st->gen == st->db->gen &&
	    PQstatus(st->db->pg) == CONNECTION_OK) {
		snprintf(sql, sizeof(sql), "DEALLOCATE %s", st->name);
		res = PQexec(st->db->pg, sql);
		PQclear(res);
	}
	db_clear_bindings(st);
	sqlite3_finalize(st->lite);
	PQclear(st->res);
	free(st->pgsql);
	free(st->sql);
	free(st);
}

int
db_column_count(struct db_stmt *st)
{
	if (st->lite)
		return sqlite3_column_count(st->lite);
	return st->res ? PQnfields(st->res) : 0;
}

const char *
db_column_name(struct db_stmt *st, int i)
{
	if (st->lite)
		return sqlite3_column_name(st->lite, i);
	return PQfname(st->res, i);
}

static int
pg_ok(struct db_stmt *st, int i)
{
	return st->res && st->row >= 0 && st->row < st->nrows && i >= 0 &&
	       i < PQnfields(st->res);
}

int
db_column_type(struct db_stmt *st, int i)
{
	const char *v;

	if (st->lite) {
		switch (sqlite3_column_type(st->lite, i)) {
		case SQLITE_INTEGER:
			return DB_INTEGER;
		case SQLITE_FLOAT:
			return DB_FLOAT;
		case SQLITE_NULL:
			return DB_NULL;
		default:
			return DB_TEXT;
		}
	}
	if (!pg_ok(st, i) || PQgetisnull(st->res, st->row, i))
		return DB_NULL;
	switch (PQftype(st->res, i)) {
	case OID_BOOL:
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
	case OID_OID:
		return DB_INTEGER;
	case OID_FLOAT4:
	case OID_FLOAT8:
		return DB_FLOAT;
	case OID_NUMERIC:
		/* sum() of bigints is numeric: whole ones read as integers,
		 * as SQLite gives them. */
		v = PQgetvalue(st->res, st->row, i);
		return strpbrk(v, ".eE") ? DB_FLOAT : DB_INTEGER;
	default:
		return DB_TEXT;
	}
}

long long
db_column_int64(struct db_stmt *st, int i)
{
	const char *v;

	if (st->lite)
		return sqlite3_column_int64(st->lite, i);
	if (!pg_ok(st, i) || PQgetisnull(st->res, st->row, i))
		return 0;
	v = PQgetvalue(st->res, st->row, i);
	if (PQftype(st->res, i) == OID_BOOL)
		return v[0] == 't';
	if (strpbrk(v, ".eE"))
		return (long long)strtod(v, NULL);
	return strtoll(v, NULL, 10);
}

int
db_column_int(struct db_stmt *st, int i)
{
	return (int)db_column_int64(st, i);
}

double
db_column_double(struct db_stmt *st, int i)
{
	if (st->lite)
		return sqlite3_column_double(st->lite, i);
	if (!pg_ok(st, i) || PQgetisnull(st->res, st->row, i))
		return 0;
	if (PQftype(st->res, i) == OID_BOOL)
		return PQgetvalue(st->res, st->row, i)[0] == 't';
	return strtod(PQgetvalue(st->res, st->row, i), NULL);
}

const char *
db_column_text(struct db_stmt *st, int i)
{
	const char *v;

	if (st->lite)
		return (const char *)sqlite3_column_text(st->lite, i);
	if (!pg_ok(st, i) || PQgetisnull(st->res, st->row, i))
		return NULL;
	v = PQgetvalue(st->res, st->row, i);
	if (PQftype(st->res, i) == OID_BOOL)
		return v[0] == 't' ? "1" : "0";
	return v;
}
