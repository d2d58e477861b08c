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

#include "log.h"
#include "store_sql.h"
#include "util.h"

/* The page cache (negative: KiB). Daily usage rows arrive in key order
 * per agent but scattered across the table: with SQLite's default 2 MiB
 * a year of a few hundred machines already misses the cache on most
 * inserts (docs/PERFORMANCE.md). */
#define SQ_CACHE_KIB "-65536"

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

/* SQLite's settings for the server's file: WAL, a 64 MiB page cache,
 * foreign keys. */
static int
lite_setup(struct sq *q, char *err, size_t errlen)
{
	if (sq_exec(q, "PRAGMA journal_mode=WAL") == -1 ||
	    sq_exec(q, "PRAGMA synchronous=NORMAL") == -1 ||
	    sq_exec(q, "PRAGMA cache_size=" SQ_CACHE_KIB) == -1 ||
	    sq_exec(q, "PRAGMA foreign_keys=ON") == -1) {
		snprintf(err, errlen, "%s", db_errmsg(q->db));
		return -1;
	}
	return sq_migrate(q->db, NULL, err, errlen);
}

/* PostgreSQL: the owner's connection (admin_uri) migrates the schema and
 * grants this connection's role its rights; then the schema must be the
 * newest. */
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

static void *
sq_open(const char *uri, const char *admin_uri, char *err, size_t errlen)
{
	struct sq *q;
	int rc;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	if ((q->db = db_open(uri, err, errlen)) == NULL)
		goto fail;
	rc = db_kind(q->db) == DB_PGSQL ? pg_setup(q, admin_uri, err, errlen)
	                                : lite_setup(q, err, errlen);
	if (rc == -1)
		goto fail;
	if (lic_install_defaults(q) == -1) {
		snprintf(err, errlen, "cannot install the default catalogue");
		goto fail;
	}
	return q;
fail:
	sq_cache_free(q);
	db_close(q->db);
	catalogue_free(q->cat);
	free(q);
	return NULL;
}

static void
sq_close(void *b)
{
	struct sq *q = b;

	sq_cache_free(q);
	db_close(q->db);
	catalogue_free(q->cat);
	free(q);
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

int
sq_scope(struct sq *q, const char *commune, int partners)
{
	char list[sizeof(q->scope)];

	if (db_kind(q->db) != DB_PGSQL)
		return STORE_OK;
	/* Partners are looked up with the whole view. */
	if (partners && commune && commune[0] && set_scope(q, "*") != STORE_OK)
		return STORE_ERR;
	if (scope_list(q, commune, partners, list, sizeof(list)) == -1)
		return STORE_ERR;
	return set_scope(q, list);
}

static int
sq_scope_op(void *b, const char *commune, int partners)
{
	return sq_scope(b, commune, partners);
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

static int
sq_commune_add(void *b, const char *code, const char *name)
{
	struct sq *q = b;
	struct db_stmt *st = sq_prep(
	    q, "INSERT INTO communes(code, name, created) VALUES (?, ?, ?)");

	if (st) {
		db_bind_text(st, 1, code);
		db_bind_text(st, 2, name);
		db_bind_int64(st, 3, time(NULL));
	}
	return sq_step_done(q, st);
}

static int
sq_secret_add(void *b, const char *commune, const char *hash)
{
	struct sq *q = b;
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

static int
sq_admin_add(void *b, const char *hash, const char *commune)
{
	struct sq *q = b;
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

static int
sq_admin_auth(void *b, const char *hash, struct store_scope *out)
{
	struct sq *q = b;
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

static int
sq_secret_check(void *b, const char *hash)
{
	char commune[STORE_COMMUNE_MAX];

	return denied_if_missing(
	    lookup1(b, SECRET_VALID_SQL, hash, commune, sizeof(commune)));
}

static int
enrol_tx(struct sq *q, const char *secret_hash, const char *agent_id,
         const char *hostname, const char *token_hash, char *commune)
{
	char existing[STORE_COMMUNE_MAX];
	struct db_stmt *st;
	int rc;

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
	if (lookup1(q,
	            "SELECT 1 FROM agents WHERE agent_id = ? AND revoked = 1",
	            agent_id, existing, sizeof(existing)) == STORE_OK)
		return STORE_DENIED; /* a revoked agent stays out */
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

static int
sq_enrol(void *b, const char *secret_hash, const char *agent_id,
         const char *hostname, const char *token_hash, char *commune_out)
{
	struct sq *q = b;
	int rc;

	if (sq_exec(q, "BEGIN IMMEDIATE") == -1)
		return STORE_ERR;
	rc = enrol_tx(q, secret_hash, agent_id, hostname, token_hash,
	              commune_out);
	if (rc != STORE_OK) {
		sq_exec(q, "ROLLBACK");
		return rc;
	}
	return sq_exec(q, "COMMIT") == 0 ? STORE_OK : STORE_ERR;
}

static int
sq_agent_auth(void *b, const char *hash, struct store_agent *out)
{
	return denied_if_missing(
	    lookup(b,
	           "SELECT agent_id, commune FROM agents WHERE token_hash = ?"
	           " AND revoked = 0",
	           hash, out->agent_id, sizeof(out->agent_id), out->commune,
	           sizeof(out->commune)));
}

/* The licence query. %1$s is the commune column of a row: the real one
 * for per-commune rows, '*' for the totals across communes. %2$s filters
 * usage by commune: "a.commune = ?1" for one (the (commune, day) index
 * serves it; "?1 IS NULL OR ..." would keep the planner on the day range),
 * "?1 IS NULL" for all. Only these constant strings are substituted.
 * Whole months of the window come from the monthly rollup, the days at
 * either end (?6, ?7: sq_bind_window) from the daily summaries. */
#define LICENCE_ROWS(table, time, range)                                       \
	"SELECT %1$s AS commune, product, agent_id,"                           \
	" nullif(\"user\", '') AS \"user\", seconds, last_end"                 \
	" FROM " table " a WHERE " range                                       \
	" AND %2$s AND (?2 IS NULL OR product = ?2)"
/* clang-format off */
static const char licence_sql[] =
    "WITH inst AS ("
    "  SELECT %1$s AS commune, s.name AS product,"
    "    count(DISTINCT s.agent_id) AS n"
    "  FROM software s JOIN agents a ON a.agent_id = s.agent_id"
    "  WHERE (?1 IS NULL OR a.commune = ?1)"
    "    AND (?2 IS NULL OR s.name = ?2)"
    "  GROUP BY 1, 2),"
    " u AS ("
    SQ_WINDOW(LICENCE_ROWS, "?3 / 86400", "?4 / 86400", "?6", "?7")
    "),"
    " used AS ("
    "  SELECT commune, product, count(DISTINCT agent_id) AS machines,"
    "    count(DISTINCT \"user\") AS users, sum(seconds) AS secs,"
    "    max(last_end) AS last"
    "  FROM u GROUP BY 1, 2),"
    /* the peak needs days: the daily summaries of the whole window */
    " daily AS ("
    "  SELECT commune, product, max(n) AS peak FROM ("
    "    SELECT %1$s AS commune, product, day,"
    "      count(DISTINCT agent_id) AS n"
    "    FROM usage_daily a"
    "    WHERE day >= ?3 / 86400 AND day <= ?4 / 86400 AND %2$s"
    "      AND (?2 IS NULL OR product = ?2)"
    "    GROUP BY 1, 2, 3) AS t GROUP BY 1, 2),"
    " keys AS (SELECT commune, product FROM inst"
    "  UNION SELECT commune, product FROM used)"
    " SELECT k.product, k.commune, coalesce(i.n, 0),"
    "  coalesce(x.machines, 0), coalesce(x.users, 0),"
    "  coalesce(x.secs, 0), coalesce(d.peak, 0), x.last"
    " FROM keys k"
    " LEFT JOIN inst i ON i.commune = k.commune AND i.product = k.product"
    " LEFT JOIN used x ON x.commune = k.commune AND x.product = k.product"
    " LEFT JOIN daily d ON d.commune = k.commune AND d.product = k.product"
    " ORDER BY 6 DESC, 3 DESC, 1, 2"
    " LIMIT ?5";
/* clang-format on */

long long
sq_month(long long day)
{
	time_t t = (time_t)(day * 86400);
	struct tm tm;

	gmtime_r(&t, &tm);
	return day - (tm.tm_mday - 1);
}

void
sq_bind_window(struct db_stmt *st, int i, const struct store_query *qu)
{
	long long first = qu->from / 86400, last = qu->to / 86400;
	long long m = sq_month(first), m0, m1;

	/* a month has 28 to 31 days: m + 31 falls in the next one */
	m0 = m == first ? m : sq_month(m + 31);
	m1 = sq_month(last + 1);
	if (m0 >= m1)
		m0 = m1 = last + 1;
	db_bind_int64(st, i, m0);
	db_bind_int64(st, i + 1, m1);
}

/* Runs a query and returns its rows as an array of objects whose keys are
 * the column names; integer, real, text and null columns keep their type. */
json_t *
sq_rows(struct db_stmt *st)
{
	json_t *rows = json_array(), *row, *v;
	int i, n;

	while (db_step(st) == DB_ROW) {
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
	return rows;
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

static int
licence_rows(struct sq *q, const struct store_query *qu, const char *col,
             json_t *out)
{
	char sql[sizeof(licence_sql) + 256];
	struct db_stmt *st;
	json_t *row;
	int r;

	snprintf(sql, sizeof(sql), licence_sql, col,
	         qu->commune ? "a.commune = ?1" : "?1 IS NULL");
	if ((st = sq_prep(q, sql)) == NULL)
		return STORE_ERR;
	sq_bind_opt(st, 1, qu->commune);
	sq_bind_opt(st, 2, qu->product);
	db_bind_int64(st, 3, qu->from);
	db_bind_int64(st, 4, qu->to);
	db_bind_int64(st, 5, qu->limit > 0 ? qu->limit : LLONG_MAX);
	sq_bind_window(st, 6, qu);
	while ((r = db_step(st)) == DB_ROW) {
		row = json_pack(
		    "{s:s, s:s, s:I, s:I, s:I, s:f, s:I, s:I, s:o}", "product",
		    db_column_text(st, 0), "commune", db_column_text(st, 1),
		    "installed", (json_int_t)db_column_int64(st, 2),
		    "used_machines", (json_int_t)db_column_int64(st, 3),
		    "used_users", (json_int_t)db_column_int64(st, 4),
		    "usage_hours", db_column_int64(st, 5) / 3600.0,
		    "usage_seconds", (json_int_t)db_column_int64(st, 5),
		    "peak_concurrent", (json_int_t)db_column_int64(st, 6),
		    "last_used", sq_iso(st, 7));
		if (row == NULL || json_array_append_new(out, row) == -1)
			break;
	}
	db_finalize(st);
	return r == DB_DONE ? STORE_OK : STORE_ERR;
}

static int
sq_licences(void *b, const struct store_query *qu, json_t **out)
{
	struct sq *q = b;
	json_t *rows = json_array(), *totals = json_array();

	*out = NULL;
	if (licence_rows(q, qu, "a.commune", rows) != STORE_OK ||
	    licence_rows(q, qu, "'*'", totals) != STORE_OK) {
		json_decref(rows);
		json_decref(totals);
		return STORE_ERR;
	}
	*out = json_pack("{s:o, s:o}", "rows", rows, "totals", totals);
	return *out ? STORE_OK : STORE_ERR;
}

static const char machine_cols[] =
    "SELECT a.agent_id, a.hostname, a.commune, a.os, a.enrolled,"
    " a.last_seen, a.inventory_at,"
    " (SELECT count(*) FROM software s WHERE s.agent_id = a.agent_id),"
    " a.clock_offset_ms,"
    " (SELECT coalesce(sum(records), 0) FROM gaps g"
    "  WHERE g.agent_id = a.agent_id AND g.reason != 'enqueue_failed')"
    " FROM agents a";

static json_t *
machine_row(struct db_stmt *st)
{
	const char *os = db_column_text(st, 3);

	json_t *clock = db_column_type(st, 8) == DB_NULL
	                    ? json_null()
	                    : json_real(db_column_int64(st, 8) / 1000.0);

	return json_pack(
	    "{s:s, s:s, s:s, s:s?, s:o, s:o, s:o, s:I, s:o, s:I}", "agent_id",
	    db_column_text(st, 0), "hostname", db_column_text(st, 1), "commune",
	    db_column_text(st, 2), "os", os, "enrolled", sq_iso(st, 4),
	    "last_seen", sq_iso(st, 5), "inventory_at", sq_iso(st, 6),
	    "software", (json_int_t)db_column_int64(st, 7), "clock_offset_s",
	    clock, "records_lost", (json_int_t)db_column_int64(st, 9));
}

static int
sq_machines(void *b, const struct store_query *qu, json_t **out)
{
	struct sq *q = b;
	char sql[512];
	struct db_stmt *st;
	int r;

	snprintf(sql, sizeof(sql),
	         "%s WHERE (?1 IS NULL OR a.commune = ?1)"
	         " ORDER BY a.commune, a.hostname, a.agent_id",
	         machine_cols);
	if ((st = sq_prep(q, sql)) == NULL)
		return STORE_ERR;
	sq_bind_opt(st, 1, qu->commune);
	*out = json_array();
	while ((r = db_step(st)) == DB_ROW)
		json_array_append_new(*out, machine_row(st));
	db_finalize(st);
	if (r != DB_DONE) {
		json_decref(*out);
		*out = NULL;
		return STORE_ERR;
	}
	return STORE_OK;
}

static json_t *
software_of(struct sq *q, const char *agent_id)
{
	struct db_stmt *st =
	    sq_prep(q, "SELECT name, version, arch, publisher, size"
	               " FROM software WHERE agent_id = ?"
	               " ORDER BY name, arch");
	json_t *list = json_array(), *o;

	if (st == NULL)
		return list;
	db_bind_text(st, 1, agent_id);
	while (db_step(st) == DB_ROW) {
		o = json_pack(
		    "{s:s, s:s?, s:s, s:s?}", "name", db_column_text(st, 0),
		    "version", db_column_text(st, 1), "arch",
		    db_column_text(st, 2), "publisher", db_column_text(st, 3));
		if (o && db_column_type(st, 4) != DB_NULL)
			json_object_set_new(
			    o, "size", json_integer(db_column_int64(st, 4)));
		json_array_append_new(list, o);
	}
	db_finalize(st);
	return list;
}

static json_t *
document_of(struct sq *q, const char *agent_id)
{
	struct db_stmt *st = sq_prep(q, "SELECT inventory FROM agents"
	                                " WHERE agent_id = ?");
	json_t *doc = NULL;
	const char *text;

	if (st == NULL)
		return json_null();
	db_bind_text(st, 1, agent_id);
	if (db_step(st) == DB_ROW && (text = db_column_text(st, 0)) != NULL)
		doc = json_loads(text, 0, NULL);
	db_finalize(st);
	return doc ? doc : json_null();
}

static int
sq_machine(void *b, const struct store_query *qu, const char *id, json_t **out)
{
	struct sq *q = b;
	json_t *found = json_array(), *m;
	char sql[512];
	struct db_stmt *st;
	int r;

	*out = NULL;
	snprintf(sql, sizeof(sql),
	         "%s WHERE (a.agent_id = ?1 OR a.hostname = ?1)"
	         " AND (?2 IS NULL OR a.commune = ?2)"
	         " ORDER BY a.agent_id = ?1 DESC, a.agent_id",
	         machine_cols);
	if ((st = sq_prep(q, sql)) == NULL) {
		json_decref(found);
		return STORE_ERR;
	}
	db_bind_text(st, 1, id);
	sq_bind_opt(st, 2, qu->commune);
	while ((r = db_step(st)) == DB_ROW)
		json_array_append_new(found, machine_row(st));
	db_finalize(st);
	if (r != DB_DONE) {
		json_decref(found);
		return STORE_ERR;
	}
	if (json_array_size(found) == 0) {
		json_decref(found);
		return STORE_NOTFOUND;
	}
	m = json_array_get(found, 0);
	/* An exact agent id wins; several hosts of one name are ambiguous. */
	if (json_array_size(found) > 1 &&
	    strcmp(json_string_value(json_object_get(m, "agent_id")), id) !=
	        0) {
		*out = found;
		return STORE_CONFLICT;
	}
	json_incref(m);
	json_decref(found);
	id = json_string_value(json_object_get(m, "agent_id"));
	json_object_set_new(m, "software", software_of(q, id));
	json_object_set_new(m, "inventory", document_of(q, id));
	*out = m;
	return STORE_OK;
}

static int
sq_communes(void *b, const struct store_query *qu, json_t **out)
{
	struct sq *q = b;
	struct db_stmt *st;
	int r;

	st = sq_prep(q,
	             "SELECT c.code, c.name,"
	             " (SELECT count(*) FROM agents a WHERE a.commune = c.code)"
	             " FROM communes c WHERE (?1 IS NULL OR c.code = ?1)"
	             " ORDER BY c.code");
	if (st == NULL)
		return STORE_ERR;
	sq_bind_opt(st, 1, qu->commune);
	*out = json_array();
	while ((r = db_step(st)) == DB_ROW)
		json_array_append_new(
		    *out,
		    json_pack("{s:s, s:s, s:I}", "code", db_column_text(st, 0),
		              "name", db_column_text(st, 1), "machines",
		              (json_int_t)db_column_int64(st, 2)));
	db_finalize(st);
	return r == DB_DONE ? STORE_OK : STORE_ERR;
}

/* Administration calls: the licence domain and access control. A
 * read-only token may only list. */
static int
sq_admin(void *b, enum store_admin_op op, const struct store_scope *sc,
         json_t *in, json_t **out)
{
	if (op >= ADM_SECRET_CREATE)
		return acc_admin(b, op, sc, in, out);
	if (sc->read_only && op != ADM_CATALOGUE_EXPORT &&
	    op != ADM_UNMATCHED && op != ADM_ENT_LIST && op != ADM_POOL_LIST)
		return STORE_DENIED;
	return lic_admin(b, op, sc, in, out);
}

const struct store_ops store_sql_ops = {
    .name = "sql",
    .open = sq_open,
    .scope = sq_scope_op,
    .close = sq_close,
    .commune_add = sq_commune_add,
    .secret_add = sq_secret_add,
    .admin_add = sq_admin_add,
    .admin_auth = sq_admin_auth,
    .secret_check = sq_secret_check,
    .enrol = sq_enrol,
    .agent_auth = sq_agent_auth,
    .ingest = sq_ingest,
    .licences = sq_licences,
    .machines = sq_machines,
    .machine = sq_machine,
    .communes = sq_communes,
    .admin = sq_admin,
    .report = lic_report,
    .maintain = lic_maintain,
    .audit = acc_audit,
};
