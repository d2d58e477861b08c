/*
 * store_sql: the store on one database connection, SQLite (one file in WAL
 * mode, the embedded default) or PostgreSQL, with the same SQL (db.h).
 * Writes in BEGIN IMMEDIATE transactions; SQL only with bound parameters.
 */
#include "store.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "engine.h"

#include "log.h"
#include "norm.h"
#include "store_sql.h"
#include "util.h"

int
sq_exec(struct sq *q, const char *sql)
{
	if (db_exec(q->db, sql) == -1) {
		log_warnx("database: %s", db_errmsg(q->db));
		return -1;
	}
	return 0;
}

struct db_stmt *
sq_prep(struct sq *q, const char *sql)
{
	struct db_stmt *st = db_prepare(q->db, sql, 0);

	if (st == NULL)
		log_warnx("database: prepare: %s", db_errmsg(q->db));
	return st;
}

/* Steps a write once: STORE_OK, STORE_CONFLICT on a constraint, or
 * STORE_ERR (logged). */
static int
step_rc(struct sq *q, struct db_stmt *st)
{
	int rc = db_step(st);

	if (rc == DB_DONE)
		return STORE_OK;
	if (rc == DB_CONSTRAINT)
		return STORE_CONFLICT;
	log_warnx("database: %s", db_errmsg(q->db));
	return STORE_ERR;
}

struct db_stmt *
sq_get(struct sq *q, const char *sql)
{
	struct sq_cached *c, *free_slot = NULL;
	size_t i;

	for (i = 0; i < SQ_CACHE_SLOTS; i++) {
		c = &q->cache[i];
		if (c->st && !c->in_use && strcmp(db_sql(c->st), sql) == 0) {
			c->in_use = 1;
			return c->st;
		}
		if (c->st == NULL && free_slot == NULL)
			free_slot = c;
	}
	if (free_slot == NULL)
		return sq_prep(q, sql);
	if ((free_slot->st = db_prepare(q->db, sql, 1)) == NULL) {
		log_warnx("database: prepare: %s", db_errmsg(q->db));
		return NULL;
	}
	free_slot->in_use = 1;
	return free_slot->st;
}

void
sq_put(struct sq *q, struct db_stmt *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < SQ_CACHE_SLOTS; i++)
		if (q->cache[i].st == st) {
			db_reset(st);
			db_clear_bindings(st);
			q->cache[i].in_use = 0;
			return;
		}
	db_finalize(st);
}

int
sq_step_put(struct sq *q, struct db_stmt *st)
{
	int rc;

	if (st == NULL)
		return STORE_ERR;
	rc = step_rc(q, st);
	sq_put(q, st);
	return rc;
}

int
sq_run(struct sq *q, const char *sql)
{
	return sq_step_put(q, sq_get(q, sql)) == STORE_OK ? 0 : -1;
}

static void
sq_cache_free(struct sq *q)
{
	size_t i;

	for (i = 0; i < SQ_CACHE_SLOTS; i++)
		db_finalize(q->cache[i].st);
	memset(q->cache, 0, sizeof(q->cache));
}

void
sq_bind_opt(struct db_stmt *st, int i, const char *v)
{
	db_bind_text(st, i, v);
}

struct sq *
sq_open(const char *uri, const char *admin_uri, char *err, size_t errlen)
{
	struct sq *q;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	if ((q->db = db_open(uri, err, errlen)) == NULL)
		goto fail;
	if (engine_of(q->db)->setup(q, admin_uri, err, errlen) == -1)
		goto fail;
	if (norm_install_defaults(q) == -1) {
		snprintf(err, errlen, "cannot install the default catalogue");
		goto fail;
	}
	return q;
fail:
	sq_cache_free(q);
	db_close(q->db);
	norm_free(q->norm);
	free(q);
	return NULL;
}

void
sq_close(struct sq *q)
{
	sq_cache_free(q);
	db_close(q->db);
	norm_free(q->norm);
	free(q);
}

int
sq_scope(struct sq *q, const char *commune, int partners)
{
	return engine_of(q->db)->scope(q, commune, partners);
}

/* Runs a prepared one-shot write; maps constraint failures. */
int
sq_step_done(struct sq *q, struct db_stmt *st)
{
	int rc;

	if (st == NULL)
		return STORE_ERR;
	rc = step_rc(q, st);
	db_finalize(st);
	return rc;
}

int
sq_insert_id(struct sq *q, struct db_stmt *st, long long *id)
{
	int r;

	if (st == NULL)
		return STORE_ERR;
	if ((r = db_step(st)) == DB_ROW) {
		*id = db_column_int64(st, 0);
		r = db_step(st);
	}
	db_finalize(st);
	if (r == DB_DONE)
		return STORE_OK;
	if (r == DB_CONSTRAINT)
		return STORE_CONFLICT;
	log_warnx("database: %s", db_errmsg(q->db));
	return STORE_ERR;
}

int
sq_commune_add(struct sq *q, const char *code, const char *name)
{
	struct db_stmt *st = sq_prep(
	    q, "INSERT INTO communes(code, name, created) VALUES (?, ?, ?)");

	if (st) {
		db_bind_text(st, 1, code);
		db_bind_text(st, 2, name);
		db_bind_int64(st, 3, time(NULL));
	}
	return sq_step_done(q, st);
}

int
sq_secret_add(struct sq *q, const char *commune, const char *hash)
{
	struct db_stmt *st =
	    sq_prep(q, "INSERT INTO enrol_secrets(commune, hash, "
	               "created) VALUES (?, ?, ?)");
	int rc;

	if (st) {
		db_bind_text(st, 1, commune);
		db_bind_text(st, 2, hash);
		db_bind_int64(st, 3, time(NULL));
	}
	rc = sq_step_done(q, st);
	/* The only foreign key here is the commune. */
	return rc == STORE_CONFLICT ? STORE_NOTFOUND : rc;
}

int
sq_admin_add(struct sq *q, const char *hash, const char *commune)
{
	struct db_stmt *st =
	    sq_prep(q, "INSERT INTO admin_tokens(hash, commune, "
	               "created) VALUES (?, ?, ?)");
	int rc;

	if (st) {
		db_bind_text(st, 1, hash);
		sq_bind_opt(st, 2, commune);
		db_bind_int64(st, 3, time(NULL));
	}
	rc = sq_step_done(q, st);
	return rc == STORE_CONFLICT ? STORE_NOTFOUND : rc;
}

/* Reads the first one or two text columns of a one-row query with one
 * text parameter (out2 may be NULL). STORE_NOTFOUND if there is no row. */
static int
lookup(struct sq *q, const char *sql, const char *param, char *out1, size_t n1,
       char *out2, size_t n2)
{
	struct db_stmt *st = sq_get(q, sql);
	int rc = STORE_NOTFOUND, r;

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, param);
	db_bind_int64(st, 2, time(NULL)); /* the SQL may use it as now */
	if ((r = db_step(st)) == DB_ROW) {
		util_strlcpy(out1, db_column_text(st, 0), n1);
		if (out2)
			util_strlcpy(out2, db_column_text(st, 1), n2);
		rc = STORE_OK;
	} else if (r != DB_DONE)
		rc = STORE_ERR;
	sq_put(q, st);
	return rc;
}

static int
lookup1(struct sq *q, const char *sql, const char *param, char *out, size_t n)
{
	return lookup(q, sql, param, out, n, NULL, 0);
}

/* A credential lookup: an unknown one is STORE_DENIED. */
static int
denied_if_missing(int rc)
{
	return rc == STORE_NOTFOUND ? STORE_DENIED : rc;
}

int
sq_admin_auth(struct sq *q, const char *hash, struct store_scope *out)
{
	struct db_stmt *st =
	    sq_get(q, "SELECT coalesce(commune, ''), read_only,"
	              " id FROM admin_tokens"
	              " WHERE hash = ? AND revoked = 0");
	int rc = STORE_DENIED;

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, hash);
	if (db_step(st) == DB_ROW) {
		util_strlcpy(out->commune, db_column_text(st, 0),
		             sizeof(out->commune));
		out->read_only = db_column_int(st, 1);
		out->token_id = db_column_int64(st, 2);
		rc = STORE_OK;
	}
	sq_put(q, st);
	return rc;
}

/* A secret that can still enrol: not revoked, not expired, not used up. */
#define SECRET_VALID_SQL                                                       \
	"SELECT commune FROM enrol_secrets WHERE hash = ?1 AND revoked = 0"    \
	" AND (expires IS NULL OR expires > ?2)"                               \
	" AND (max_uses IS NULL OR uses < max_uses)"

int
sq_secret_check(struct sq *q, const char *hash)
{
	char commune[STORE_COMMUNE_MAX];

	return denied_if_missing(
	    lookup1(q, SECRET_VALID_SQL, hash, commune, sizeof(commune)));
}

static int
enrol_tx(struct sq *q, const char *secret_hash, const char *agent_id,
         const char *hostname, const char *token_hash, int key_proven,
         const char *proof_token_hash, char *commune)
{
	char existing[STORE_COMMUNE_MAX], held[STORE_ID_MAX];
	struct db_stmt *st;
	int rc, known;

	rc = lookup1(q, SECRET_VALID_SQL, secret_hash, commune,
	             STORE_COMMUNE_MAX);
	if (rc != STORE_OK)
		return rc == STORE_NOTFOUND ? STORE_DENIED : rc;
	rc = lookup1(q, "SELECT commune FROM agents WHERE agent_id = ?",
	             agent_id, existing, sizeof(existing));
	if (rc == STORE_ERR)
		return rc;
	if (rc == STORE_OK && strcmp(existing, commune) != 0)
		return STORE_CONFLICT;
	known = rc == STORE_OK;
	if (lookup1(q,
	            "SELECT 1 FROM agents WHERE agent_id = ? AND revoked = 1",
	            agent_id, existing, sizeof(existing)) == STORE_OK)
		return STORE_DENIED; /* a revoked agent stays out */
	/* The enrolment secret is shared by a commune's PCs: it does not
	 * make its holder the owner of an enrolled identity. */
	if (known && !key_proven) {
		rc = lookup1(q,
		             "SELECT coalesce(token_hash, '') FROM agents"
		             " WHERE agent_id = ?",
		             agent_id, held, sizeof(held));
		if (rc == STORE_ERR)
			return rc;
		if (proof_token_hash == NULL || held[0] == '\0' ||
		    strcmp(held, proof_token_hash) != 0)
			return STORE_FORBIDDEN;
	}
	/* A re-enrolment replaces the token: the old one stops working. */
	st = sq_prep(q, "INSERT INTO agents(agent_id, commune, hostname,"
	                " token_hash, enrolled) VALUES (?1, ?2, ?3, ?4, ?5)"
	                " ON CONFLICT(agent_id) DO UPDATE SET"
	                " hostname = ?3, token_hash = ?4");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, agent_id);
	db_bind_text(st, 2, commune);
	db_bind_text(st, 3, hostname);
	db_bind_text(st, 4, token_hash);
	db_bind_int64(st, 5, time(NULL));
	if ((rc = sq_step_done(q, st)) != STORE_OK)
		return rc;
	st = sq_prep(q,
	             "UPDATE enrol_secrets SET uses = uses + 1 WHERE hash = ?");
	if (st)
		db_bind_text(st, 1, secret_hash);
	return sq_step_done(q, st);
}

/* enrol_tx()'s arguments, through sq_tx(). */
struct enrol_args {
	const char *secret_hash, *agent_id, *hostname, *token_hash;
	int key_proven;
	const char *proof_token_hash;
	char *commune_out;
};

static int
enrol_run(struct sq *q, void *arg)
{
	struct enrol_args *e = arg;

	return enrol_tx(q, e->secret_hash, e->agent_id, e->hostname,
	                e->token_hash, e->key_proven, e->proof_token_hash,
	                e->commune_out);
}

int
sq_enrol(struct sq *q, const char *secret_hash, const char *agent_id,
         const char *hostname, const char *token_hash, int key_proven,
         const char *proof_token_hash, char *commune_out)
{
	struct enrol_args e = {secret_hash, agent_id,   hostname,
	                       token_hash,  key_proven, proof_token_hash,
	                       commune_out};

	return sq_tx(q, 1, enrol_run, &e);
}

int
sq_agent_auth(struct sq *q, const char *hash, struct store_agent *out)
{
	struct db_stmt *st = sq_get(q, "SELECT agent_id, commune, former"
	                               " FROM agents WHERE token_hash = ?"
	                               " AND revoked = 0");
	int rc = STORE_DENIED, r;

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, hash);
	if ((r = db_step(st)) == DB_ROW) {
		util_strlcpy(out->agent_id, db_column_text(st, 0),
		             sizeof(out->agent_id));
		util_strlcpy(out->commune, db_column_text(st, 1),
		             sizeof(out->commune));
		util_strlcpy(out->former, db_column_text(st, 2),
		             sizeof(out->former));
		rc = STORE_OK;
	} else if (r != DB_DONE)
		rc = STORE_ERR;
	sq_put(q, st);
	return rc;
}

/* Runs a query and returns its rows as an array of objects whose keys are
 * the column names; integer, real, text and null columns keep their type. */
int
sq_rows(struct sq *q, struct db_stmt *st, json_t **out)
{
	json_t *rows = json_array(), *row, *v;
	int i, n, r;

	*out = NULL;
	while ((r = db_step(st)) == DB_ROW) {
		row = json_object();
		n = db_column_count(st);
		for (i = 0; i < n; i++) {
			switch (db_column_type(st, i)) {
			case DB_INTEGER:
				v = json_integer(db_column_int64(st, i));
				break;
			case DB_FLOAT:
				v = json_real(db_column_double(st, i));
				break;
			case DB_NULL:
				v = json_null();
				break;
			default:
				v = json_string(db_column_text(st, i));
			}
			json_object_set_new(row, db_column_name(st, i), v);
		}
		json_array_append_new(rows, row);
	}
	if (sq_done(q, r) != STORE_OK) {
		json_decref(rows);
		return STORE_ERR;
	}
	*out = rows;
	return STORE_OK;
}

int
sq_done(struct sq *q, int step)
{
	if (step == DB_DONE)
		return STORE_OK;
	log_warnx("database: %s", db_errmsg(q->db));
	return STORE_ERR;
}

const char *
sq_jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int
sq_invalid(json_t **out, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_decref(*out);
	*out = json_pack("{s:s}", "error", msg);
	return STORE_INVALID;
}

json_t *
sq_iso(struct db_stmt *st, int col)
{
	char when[32];

	if (db_column_type(st, col) == DB_NULL)
		return json_null();
	util_isotime((time_t)db_column_int64(st, col), when, sizeof(when));
	return json_string(when);
}

/* /healthz: a real write, committed (the meta row "health" gets the
 * time), so that a read-only, full or revoked database shows. */
int
sq_health(struct sq *q, char *why, size_t n)
{
	struct db_stmt *st;
	char now[32];
	int rc = DB_ERROR;

	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if (db_exec(q->db, "BEGIN") == -1) {
		snprintf(why, n, "database: %s", db_errmsg(q->db));
		return STORE_ERR;
	}
	st =
	    db_prepare(q->db,
	               "INSERT INTO meta(key, value) VALUES ('health', ?1)"
	               " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	               0);
	if (st) {
		db_bind_text(st, 1, now);
		rc = db_step(st);
	}
	if (rc == DB_DONE && db_exec(q->db, "COMMIT") == 0) {
		db_finalize(st);
		return STORE_OK;
	}
	snprintf(why, n, "database: %s", db_errmsg(q->db));
	db_finalize(st);
	db_exec(q->db, "ROLLBACK");
	return STORE_ERR;
}
