/*
 * db_pgsql: the PostgreSQL engine of db.h (db_engine.h). Each statement
 * is run with PQexecParams() (or, kept for reuse, prepared on the server
 * once) at its first step; the result is kept and its rows handed out
 * one step at a time. The shared dialect is rewritten here: ?N to $N and
 * the few SQLite spellings (db.h).
 */
#include "db_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

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

struct pg {
	PGconn *conn;
	long long changes;  /* of the last command */
	unsigned nprepared; /* names of prepared statements */
};

struct pg_param {
	const char *val; /* NULL for SQL NULL */
	char *own;       /* a bound text's copy */
	Oid type;        /* 0: inferred, like a literal */
	char num[32];    /* the text of a bound number */
};

struct pg_stmt {
	char *sql; /* translated */
	int nparams;
	struct pg_param param[PG_MAX_PARAMS];
	PGresult *res;
	int row, nrows, ran;
	int persistent; /* prepared on the server once */
	char name[16];  /* its name there, "" until prepared */
	unsigned gen;   /* the connection it was prepared on */
};

static struct pg *
conn(struct db *db)
{
	return db->conn;
}

static struct pg_stmt *
stmt(struct db_stmt *st)
{
	return st->impl;
}

static int
pg_match(const char *uri)
{
	return strncmp(uri, "postgresql://", 13) == 0 ||
	       strncmp(uri, "postgres://", 11) == 0;
}

/* Several servers share the database by design: no lock. */
static int
pg_lock_serving(const char *uri, char *err, size_t errlen)
{
	(void)uri;
	(void)err;
	(void)errlen;
	return 0;
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
pg_result(struct db *db, PGresult *res)
{
	ExecStatusType s = PQresultStatus(res);

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
		conn(db)->changes = strtoll(PQcmdTuples(res), NULL, 10);
		db->errclass = 0;
		return 0;
	}
	db_set_err(db, pg_class(res), PQresultErrorMessage(res));
	return -1;
}

/* The session's settings, after each (re)connection. Times are Unix
 * seconds computed by the server, never by the database's clock or zone. */
static int
pg_session(struct db *db)
{
	PGresult *res = PQexec(conn(db)->conn, "SET client_min_messages = "
	                                       "warning;"
	                                       "SET TIME ZONE 'UTC'");
	int rc = pg_result(db, res);

	PQclear(res);
	return rc;
}

static int
pg_open(struct db *db, const char *uri, char *err, size_t errlen)
{
	struct pg *p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	db->conn = p;
	p->conn = PQconnectdb(uri);
	if (p->conn == NULL || PQstatus(p->conn) != CONNECTION_OK ||
	    pg_session(db) == -1) {
		if (db->err[0] == '\0')
			db_set_err(db, DB_ERROR,
			           p->conn ? PQerrorMessage(p->conn)
			                   : "out of memory");
		snprintf(err, errlen, "PostgreSQL: %s", db->err);
		return -1;
	}
	db->gen = 1;
	return 0;
}

static void
pg_close(struct db *db)
{
	struct pg *p = db->conn;

	if (p == NULL)
		return;
	if (p->conn)
		PQfinish(p->conn);
	free(p);
	db->conn = NULL;
}

/* A connection the server closed (restart, failover, idle timeout) is
 * made again before the next statement; the statement that found it
 * broken has failed. 0 if the connection is usable. */
static int
pg_alive(struct db *db)
{
	PGconn *c = conn(db)->conn;

	if (PQstatus(c) == CONNECTION_OK)
		return 0;
	PQreset(c);
	if (PQstatus(c) != CONNECTION_OK || pg_session(db) == -1) {
		db_set_err(db, DB_ERROR, PQerrorMessage(c));
		return -1;
	}
	db->gen++;
	return 0;
}

/* Errors are all held by db.c (db->err). */
static const char *
pg_errmsg(struct db *db)
{
	return db->err;
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
pg_exec(struct db *db, const char *sql)
{
	PGresult *res;
	size_t len;
	char *t;
	int rc;

	if (pg_alive(db) == -1)
		return -1;
	len = strlen(sql) * 2 + 64;
	if ((t = malloc(len)) == NULL)
		return -1;
	if (translate(sql, t, len) < 0) {
		free(t);
		db_set_err(db, DB_ERROR, "statement too long to translate");
		return -1;
	}
	res = PQexec(conn(db)->conn, t);
	free(t);
	rc = pg_result(db, res);
	PQclear(res);
	return rc;
}

static long long
pg_changes(struct db *db)
{
	return conn(db)->changes;
}

static int
pg_prepare(struct db_stmt *st, const char *sql, int persistent)
{
	size_t len = strlen(sql) * 2 + 64;
	struct pg_stmt *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	st->impl = s;
	if ((s->sql = malloc(len)) == NULL)
		return -1;
	if ((s->nparams = translate(sql, s->sql, len)) < 0) {
		db_set_err(st->db, DB_ERROR,
		           "statement too long or with too many parameters");
		return -1;
	}
	s->persistent = persistent;
	return 0;
}

static struct pg_param *
param(struct db_stmt *st, int i)
{
	struct pg_param *p;

	if (i < 1 || i > stmt(st)->nparams)
		return NULL;
	p = &stmt(st)->param[i - 1];
	free(p->own);
	p->own = NULL;
	return p;
}

static void
pg_bind_text(struct db_stmt *st, int i, const char *v)
{
	struct pg_param *p;

	if ((p = param(st, i)) == NULL)
		return;
	p->own = v ? strdup(v) : NULL;
	p->val = p->own;
	p->type = OID_TEXT;
}

static void
pg_bind_int64(struct db_stmt *st, int i, long long v)
{
	struct pg_param *p;

	if ((p = param(st, i)) == NULL)
		return;
	snprintf(p->num, sizeof(p->num), "%lld", v);
	p->val = p->num;
	p->type = OID_INT8;
}

static void
pg_bind_double(struct db_stmt *st, int i, double v)
{
	struct pg_param *p;

	if ((p = param(st, i)) == NULL)
		return;
	snprintf(p->num, sizeof(p->num), "%.17g", v);
	p->val = p->num;
	p->type = OID_FLOAT8;
}

static void
pg_bind_null(struct db_stmt *st, int i)
{
	struct pg_param *p;

	if ((p = param(st, i)) != NULL)
		memset(p, 0, sizeof(*p));
}

/* A statement kept for reuse is prepared on the server at its first run,
 * with the types of that run's parameters: later runs skip parsing and
 * planning. -1 on failure. */
static int
server_prepare(struct db_stmt *st, const Oid *types)
{
	struct pg_stmt *s = stmt(st);
	PGresult *res;
	int rc;

	snprintf(s->name, sizeof(s->name), "s%u", ++conn(st->db)->nprepared);
	res = PQprepare(conn(st->db)->conn, s->name, s->sql, s->nparams, types);
	rc = pg_result(st->db, res);
	PQclear(res);
	if (rc == -1)
		s->name[0] = '\0';
	s->gen = st->db->gen;
	return rc;
}

static PGresult *
run(struct db_stmt *st)
{
	const char *vals[PG_MAX_PARAMS];
	Oid types[PG_MAX_PARAMS];
	struct pg_stmt *s = stmt(st);
	int i;

	if (pg_alive(st->db) == -1)
		return NULL;
	if (s->name[0] && s->gen != st->db->gen)
		s->name[0] = '\0'; /* prepared on a connection now gone */
	for (i = 0; i < s->nparams; i++) {
		vals[i] = s->param[i].val;
		types[i] = s->param[i].type;
	}
	if (s->persistent && s->name[0] == '\0' &&
	    server_prepare(st, types) == -1)
		return NULL;
	if (s->name[0])
		return PQexecPrepared(conn(st->db)->conn, s->name, s->nparams,
		                      vals, NULL, NULL, 0);
	return PQexecParams(conn(st->db)->conn, s->sql, s->nparams, types, vals,
	                    NULL, NULL, 0);
}

static int
pg_step(struct db_stmt *st)
{
	struct pg_stmt *s = stmt(st);
	struct db *db = st->db;

	if (!s->ran) {
		db->err[0] = '\0';
		s->res = run(st);
		if (s->res == NULL && db->err[0]) {
			s->ran = 1;
			return db->errclass;
		}
		s->ran = 1;
		s->row = -1;
		if (pg_result(db, s->res) == -1)
			return db->errclass;
		s->nrows = PQntuples(s->res);
	}
	if (s->res == NULL || PQresultStatus(s->res) != PGRES_TUPLES_OK)
		return s->res && PQresultStatus(s->res) == PGRES_COMMAND_OK
		           ? DB_DONE
		           : db->errclass;
	return ++s->row < s->nrows ? DB_ROW : DB_DONE;
}

static void
pg_reset(struct db_stmt *st)
{
	struct pg_stmt *s = stmt(st);

	PQclear(s->res);
	s->res = NULL;
	s->ran = 0;
}

static void
pg_clear_bindings(struct db_stmt *st)
{
	struct pg_stmt *s = stmt(st);
	int i;

	for (i = 0; i < PG_MAX_PARAMS; i++)
		free(s->param[i].own);
	memset(s->param, 0, sizeof(s->param));
}

static void
pg_finalize(struct db_stmt *st)
{
	struct pg_stmt *s = stmt(st);
	PGconn *c = conn(st->db)->conn;
	char sql[32];
	PGresult *res;

	if (s == NULL)
		return;
	if (s->name[0] && s->gen == st->db->gen &&
	    PQstatus(c) == CONNECTION_OK) {
		snprintf(sql, sizeof(sql), "DEALLOCATE %s", s->name);
		res = PQexec(c, sql);
		PQclear(res);
	}
	pg_clear_bindings(st);
	PQclear(s->res);
	free(s->sql);
	free(s);
	st->impl = NULL;
}

static int
pg_column_count(struct db_stmt *st)
{
	return stmt(st)->res ? PQnfields(stmt(st)->res) : 0;
}

static const char *
pg_column_name(struct db_stmt *st, int i)
{
	return PQfname(stmt(st)->res, i);
}

/* The value of column i in the current row, or NULL for SQL NULL or no
 * such row or column. */
static const char *
value(struct db_stmt *st, int i)
{
	struct pg_stmt *s = stmt(st);

	if (s->res == NULL || s->row < 0 || s->row >= s->nrows || i < 0 ||
	    i >= PQnfields(s->res) || PQgetisnull(s->res, s->row, i))
		return NULL;
	return PQgetvalue(s->res, s->row, i);
}

static int
pg_column_type(struct db_stmt *st, int i)
{
	const char *v = value(st, i);

	if (v == NULL)
		return DB_NULL;
	switch (PQftype(stmt(st)->res, i)) {
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
		return strpbrk(v, ".eE") ? DB_FLOAT : DB_INTEGER;
	default:
		return DB_TEXT;
	}
}

static long long
pg_column_int64(struct db_stmt *st, int i)
{
	const char *v = value(st, i);

	if (v == NULL)
		return 0;
	if (PQftype(stmt(st)->res, i) == OID_BOOL)
		return v[0] == 't';
	if (strpbrk(v, ".eE"))
		return (long long)strtod(v, NULL);
	return strtoll(v, NULL, 10);
}

static double
pg_column_double(struct db_stmt *st, int i)
{
	const char *v = value(st, i);

	if (v == NULL)
		return 0;
	if (PQftype(stmt(st)->res, i) == OID_BOOL)
		return v[0] == 't';
	return strtod(v, NULL);
}

static const char *
pg_column_text(struct db_stmt *st, int i)
{
	const char *v = value(st, i);

	if (v != NULL && PQftype(stmt(st)->res, i) == OID_BOOL)
		return v[0] == 't' ? "1" : "0";
	return v;
}

const struct db_backend db_pgsql = {
    .name = "pgsql",
    .match = pg_match,
    .concurrent = 1,
    .local_file = 0,
    .lock_serving = pg_lock_serving,
    .open = pg_open,
    .close = pg_close,
    .errmsg = pg_errmsg,
    .exec = pg_exec,
    .changes = pg_changes,
    .prepare = pg_prepare,
    .bind_text = pg_bind_text,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .reset = pg_reset,
    .clear_bindings = pg_clear_bindings,
    .finalize = pg_finalize,
    .column_count = pg_column_count,
    .column_name = pg_column_name,
    .column_type = pg_column_type,
    .column_int64 = pg_column_int64,
    .column_double = pg_column_double,
    .column_text = pg_column_text,
};
