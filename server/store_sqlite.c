/*
 * store_sqlite: the embedded default backend. One SQLite file in WAL mode;
 * writes in BEGIN IMMEDIATE transactions; SQL only with bound parameters.
 * The schema is versioned with PRAGMA user_version and migrated in order.
 */
#include "store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"
#include "store_sqlite.h"
#include "util.h"

/* The page cache (negative: KiB). Daily usage rows arrive in key order
 * per agent but scattered across the table: with SQLite's default 2 MiB
 * a year of a few hundred machines already misses the cache on most
 * inserts (docs/PERFORMANCE.md). */
#define SQ_CACHE_KIB "-65536"

/* Migrations, in order: index i moves the schema from version i to i+1. */
static const char *const migrations[] = {
    "CREATE TABLE communes(code TEXT PRIMARY KEY, name TEXT NOT NULL,"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE enrol_secrets(id INTEGER PRIMARY KEY,"
    "  commune TEXT NOT NULL REFERENCES communes(code),"
    "  hash TEXT NOT NULL UNIQUE, created INTEGER NOT NULL,"
    "  uses INTEGER NOT NULL DEFAULT 0,"
    "  revoked INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE admin_tokens(id INTEGER PRIMARY KEY,"
    "  hash TEXT NOT NULL UNIQUE, commune TEXT REFERENCES communes(code),"
    "  created INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE agents(agent_id TEXT PRIMARY KEY,"
    "  commune TEXT NOT NULL REFERENCES communes(code),"
    "  hostname TEXT NOT NULL, token_hash TEXT UNIQUE,"
    "  enrolled INTEGER NOT NULL, last_seen INTEGER,"
    "  inventory_at INTEGER, os TEXT, inventory TEXT);"
    "CREATE INDEX agents_commune ON agents(commune, hostname);"
    "CREATE TABLE streams(agent_id TEXT NOT NULL REFERENCES agents,"
    "  epoch TEXT NOT NULL, hwm INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL, PRIMARY KEY (agent_id, epoch));"
    "CREATE TABLE software(agent_id TEXT NOT NULL REFERENCES agents,"
    "  name TEXT NOT NULL, version TEXT, arch TEXT NOT NULL DEFAULT '',"
    "  publisher TEXT, size INTEGER,"
    "  PRIMARY KEY (agent_id, name, arch)) WITHOUT ROWID;"
    "CREATE INDEX software_name ON software(name);"
    "CREATE TABLE usage(id INTEGER PRIMARY KEY,"
    "  agent_id TEXT NOT NULL REFERENCES agents,"
    "  commune TEXT NOT NULL, epoch TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  product TEXT NOT NULL, package TEXT, exe TEXT, user TEXT,"
    "  start INTEGER NOT NULL, end INTEGER NOT NULL,"
    "  UNIQUE (agent_id, epoch, seq));"
    "CREATE INDEX usage_end ON usage(end);",
    /* 2: licence domain. Reports read usage_daily, which ingest keeps up
     * to date; raw usage is kept for the retention period only. */
    "CREATE TABLE usage_daily(day INTEGER NOT NULL, agent_id TEXT NOT NULL,"
    "  commune TEXT NOT NULL, product TEXT NOT NULL,"
    "  exe TEXT NOT NULL DEFAULT '', user TEXT NOT NULL DEFAULT '',"
    "  seconds INTEGER NOT NULL, sessions INTEGER NOT NULL,"
    "  last_end INTEGER NOT NULL,"
    "  PRIMARY KEY (day, agent_id, product, exe, user)) WITHOUT ROWID;"
    "CREATE INDEX usage_daily_agent ON usage_daily(agent_id, product);"
    "INSERT INTO usage_daily SELECT start / 86400, agent_id, commune,"
    "  product, coalesce(exe, ''), coalesce(user, ''), sum(end - start),"
    "  count(*), max(end) FROM usage GROUP BY 1, 2, 4, 5, 6;"
    "CREATE TABLE agent_days(agent_id TEXT NOT NULL, day INTEGER NOT NULL,"
    "  PRIMARY KEY (agent_id, day)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO agent_days SELECT agent_id, day FROM usage_daily;"
    "CREATE TABLE products(key TEXT PRIMARY KEY, name TEXT NOT NULL,"
    "  publisher TEXT NOT NULL DEFAULT '', edition TEXT NOT NULL DEFAULT '',"
    "  family TEXT NOT NULL DEFAULT '', free INTEGER NOT NULL DEFAULT 0,"
    "  sill INTEGER NOT NULL DEFAULT 0,"
    "  category TEXT NOT NULL DEFAULT '', seasonal_days INTEGER,"
    "  origin TEXT NOT NULL DEFAULT 'admin');"
    "CREATE TABLE rules(id INTEGER PRIMARY KEY,"
    "  origin TEXT NOT NULL CHECK (origin IN ('admin', 'default')),"
    "  priority INTEGER NOT NULL DEFAULT 100, field TEXT NOT NULL,"
    "  kind TEXT NOT NULL, pattern TEXT NOT NULL,"
    "  product TEXT REFERENCES products(key));"
    "CREATE TABLE software_map(name TEXT NOT NULL, publisher TEXT NOT NULL,"
    "  product TEXT, ignored INTEGER NOT NULL,"
    "  PRIMARY KEY (name, publisher)) WITHOUT ROWID;"
    "CREATE TABLE usage_map(product TEXT NOT NULL, exe TEXT NOT NULL,"
    "  norm TEXT, ignored INTEGER NOT NULL,"
    "  PRIMARY KEY (product, exe)) WITHOUT ROWID;"
    "CREATE TABLE pools(code TEXT PRIMARY KEY, name TEXT NOT NULL,"
    "  fixed_share REAL NOT NULL DEFAULT 0"
    "    CHECK (fixed_share >= 0 AND fixed_share <= 1),"
    "  basis TEXT NOT NULL DEFAULT 'hours'"
    "    CHECK (basis IN ('hours', 'peak', 'installs')));"
    "CREATE TABLE pool_members(pool TEXT NOT NULL REFERENCES pools(code)"
    "  ON DELETE CASCADE, commune TEXT NOT NULL REFERENCES communes(code),"
    "  PRIMARY KEY (pool, commune));"
    "CREATE TABLE entitlements(id INTEGER PRIMARY KEY,"
    "  product TEXT NOT NULL REFERENCES products(key),"
    "  commune TEXT REFERENCES communes(code),"
    "  pool TEXT REFERENCES pools(code),"
    "  metric TEXT NOT NULL"
    "    CHECK (metric IN ('device', 'user', 'concurrent', 'site')),"
    "  quantity INTEGER NOT NULL CHECK (quantity >= 0),"
    "  unit_cost INTEGER, total_cost INTEGER,"
    "  start_date TEXT, end_date TEXT, contract TEXT,"
    "  CHECK ((commune IS NULL) <> (pool IS NULL)));",
    /* 3: access control: secret lifetimes, token roles, agent
     * revocation, and the append-only audit log. */
    "ALTER TABLE enrol_secrets ADD COLUMN expires INTEGER;"
    "ALTER TABLE enrol_secrets ADD COLUMN max_uses INTEGER;"
    "ALTER TABLE enrol_secrets ADD COLUMN label TEXT;"
    "ALTER TABLE admin_tokens ADD COLUMN read_only INTEGER NOT NULL"
    "  DEFAULT 0;"
    "ALTER TABLE admin_tokens ADD COLUMN label TEXT;"
    "ALTER TABLE agents ADD COLUMN revoked INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE audit(id INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
    "  actor INTEGER NOT NULL, commune TEXT NOT NULL, action TEXT NOT NULL,"
    "  detail TEXT NOT NULL);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
    /* 4: delivery: inventory baselines for deltas, clock offsets, wire
     * duplicates per stream, raw times of corrected usage, and the gaps
     * agents report (docs/RELIABILITY.md). */
    "ALTER TABLE agents ADD COLUMN inventory_digest TEXT;"
    "ALTER TABLE agents ADD COLUMN clock_offset_ms INTEGER;"
    "ALTER TABLE agents ADD COLUMN clock_at INTEGER;"
    "ALTER TABLE streams ADD COLUMN dups INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE usage ADD COLUMN shift INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE gaps(id INTEGER PRIMARY KEY,"
    "  agent_id TEXT NOT NULL REFERENCES agents, commune TEXT NOT NULL,"
    "  epoch TEXT NOT NULL, seq INTEGER NOT NULL, reason TEXT NOT NULL,"
    "  lost_epoch TEXT, first_seq INTEGER, last_seq INTEGER,"
    "  records INTEGER, from_t INTEGER, to_t INTEGER, detail TEXT,"
    "  received INTEGER NOT NULL, UNIQUE (agent_id, epoch, seq));"
    "CREATE INDEX gaps_commune ON gaps(commune, received);",
    /* 5: one commune's reports read only its own usage rows, from the
     * index alone (with the key columns it holds, it covers them). */
    "CREATE INDEX usage_daily_commune"
    "  ON usage_daily(commune, day, seconds, last_end);",
};
#define SCHEMA_VERSION (int)(sizeof(migrations) / sizeof(migrations[0]))

int
sq_exec(struct sq *q, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(q->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warnx("sqlite: %s", msg ? msg : sqlite3_errmsg(q->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

sqlite3_stmt *
sq_prep(struct sq *q, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("sqlite: prepare: %s", sqlite3_errmsg(q->db));
		return NULL;
	}
	return st;
}

/* Steps a write once: STORE_OK, STORE_CONFLICT on a constraint, or
 * STORE_ERR (logged). */
static int
step_rc(struct sq *q, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE)
		return STORE_OK;
	if (rc == SQLITE_CONSTRAINT)
		return STORE_CONFLICT;
	log_warnx("sqlite: %s", sqlite3_errmsg(q->db));
	return STORE_ERR;
}

sqlite3_stmt *
sq_get(struct sq *q, const char *sql)
{
	struct sq_cached *c, *free_slot = NULL;
	size_t i;

	for (i = 0; i < SQ_CACHE_SLOTS; i++) {
		c = &q->cache[i];
		if (c->st && !c->in_use &&
		    strcmp(sqlite3_sql(c->st), sql) == 0) {
			c->in_use = 1;
			return c->st;
		}
		if (c->st == NULL && free_slot == NULL)
			free_slot = c;
	}
	if (free_slot == NULL)
		return sq_prep(q, sql);
	if (sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	                       &free_slot->st, NULL) != SQLITE_OK) {
		log_warnx("sqlite: prepare: %s", sqlite3_errmsg(q->db));
		return NULL;
	}
	free_slot->in_use = 1;
	return free_slot->st;
}

void
sq_put(struct sq *q, sqlite3_stmt *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < SQ_CACHE_SLOTS; i++)
		if (q->cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			q->cache[i].in_use = 0;
			return;
		}
	sqlite3_finalize(st);
}

int
sq_step_put(struct sq *q, sqlite3_stmt *st)
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
		sqlite3_finalize(q->cache[i].st);
	memset(q->cache, 0, sizeof(q->cache));
}

void
sq_bind_opt(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static int
user_version(struct sq *q)
{
	sqlite3_stmt *st = sq_prep(q, "PRAGMA user_version");
	int v = -1;

	if (st && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int
migrate(struct sq *q, char *err, size_t errlen)
{
	char sql[64];
	int v;

	if (sq_exec(q, "BEGIN IMMEDIATE") == -1)
		return -1;
	if ((v = user_version(q)) < 0)
		goto fail;
	if (v > SCHEMA_VERSION) {
		snprintf(
		    err, errlen,
		    "database schema version %d is newer than this server's "
		    "(%d)",
		    v, SCHEMA_VERSION);
		sq_exec(q, "ROLLBACK");
		return -1;
	}
	for (; v < SCHEMA_VERSION; v++) {
		if (sq_exec(q, migrations[v]) == -1)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (sq_exec(q, sql) == -1)
			goto fail;
	}
	return sq_exec(q, "COMMIT");
fail:
	snprintf(err, errlen, "schema migration failed: %s",
	         sqlite3_errmsg(q->db));
	sq_exec(q, "ROLLBACK");
	return -1;
}

static void *
sq_open(const char *uri, char *err, size_t errlen)
{
	struct sq *q;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	if (sqlite3_open_v2(uri, &q->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                        SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", uri,
		         q->db ? sqlite3_errmsg(q->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(q->db, 10000);
	if (sq_exec(q, "PRAGMA journal_mode=WAL") == -1 ||
	    sq_exec(q, "PRAGMA synchronous=NORMAL") == -1 ||
	    sq_exec(q, "PRAGMA cache_size=" SQ_CACHE_KIB) == -1 ||
	    sq_exec(q, "PRAGMA foreign_keys=ON") == -1) {
		snprintf(err, errlen, "%s: %s", uri, sqlite3_errmsg(q->db));
		goto fail;
	}
	if (migrate(q, err, errlen) == -1)
		goto fail;
	if (lic_install_defaults(q) == -1) {
		snprintf(err, errlen,
		         "%s: cannot install the default catalogue", uri);
		goto fail;
	}
	return q;
fail:
	sq_cache_free(q);
	sqlite3_close(q->db);
	catalogue_free(q->cat);
	free(q);
	return NULL;
}

static void
sq_close(void *b)
{
	struct sq *q = b;

	sq_cache_free(q);
	sqlite3_close(q->db);
	catalogue_free(q->cat);
	free(q);
}

/* Runs a prepared one-shot write; maps constraint failures. */
int
sq_step_done(struct sq *q, sqlite3_stmt *st)
{
	int rc;

	if (st == NULL)
		return STORE_ERR;
	rc = step_rc(q, st);
	sqlite3_finalize(st);
	return rc;
}

static int
sq_commune_add(void *b, const char *code, const char *name)
{
	struct sq *q = b;
	sqlite3_stmt *st = sq_prep(
	    q, "INSERT INTO communes(code, name, created) VALUES (?, ?, ?)");

	if (st) {
		sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, time(NULL));
	}
	return sq_step_done(q, st);
}

static int
sq_secret_add(void *b, const char *commune, const char *hash)
{
	struct sq *q = b;
	sqlite3_stmt *st =
	    sq_prep(q, "INSERT INTO enrol_secrets(commune, hash, "
	               "created) VALUES (?, ?, ?)");
	int rc;

	if (st) {
		sqlite3_bind_text(st, 1, commune, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, time(NULL));
	}
	rc = sq_step_done(q, st);
	/* The only foreign key here is the commune. */
	return rc == STORE_CONFLICT ? STORE_NOTFOUND : rc;
}

static int
sq_admin_add(void *b, const char *hash, const char *commune)
{
	struct sq *q = b;
	sqlite3_stmt *st = sq_prep(q, "INSERT INTO admin_tokens(hash, commune, "
	                              "created) VALUES (?, ?, ?)");
	int rc;

	if (st) {
		sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
		sq_bind_opt(st, 2, commune);
		sqlite3_bind_int64(st, 3, time(NULL));
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
	sqlite3_stmt *st = sq_get(q, sql);
	int rc = STORE_NOTFOUND, r;

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(st)) == SQLITE_ROW) {
		util_strlcpy(out1, (const char *)sqlite3_column_text(st, 0),
		             n1);
		if (out2)
			util_strlcpy(
			    out2, (const char *)sqlite3_column_text(st, 1), n2);
		rc = STORE_OK;
	} else if (r != SQLITE_DONE)
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
	sqlite3_stmt *st = sq_get(q, "SELECT coalesce(commune, ''), read_only,"
	                             " id FROM admin_tokens"
	                             " WHERE hash = ? AND revoked = 0");
	int rc = STORE_DENIED;

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		util_strlcpy(out->commune,
		             (const char *)sqlite3_column_text(st, 0),
		             sizeof(out->commune));
		out->read_only = sqlite3_column_int(st, 1);
		out->token_id = sqlite3_column_int64(st, 2);
		rc = STORE_OK;
	}
	sq_put(q, st);
	return rc;
}

/* A secret that can still enrol: not revoked, not expired, not used up. */
#define SECRET_VALID_SQL                                                       \
	"SELECT commune FROM enrol_secrets WHERE hash = ? AND revoked = 0"     \
	" AND (expires IS NULL OR expires > strftime('%s', 'now'))"            \
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
	sqlite3_stmt *st;
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
	sqlite3_bind_text(st, 1, agent_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, commune, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, hostname, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, token_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, time(NULL));
	if ((rc = sq_step_done(q, st)) != STORE_OK)
		return rc;
	st = sq_prep(q,
	             "UPDATE enrol_secrets SET uses = uses + 1 WHERE hash = ?");
	if (st)
		sqlite3_bind_text(st, 1, secret_hash, -1, SQLITE_STATIC);
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
 * "?1 IS NULL" for all. Only these constant strings are substituted. */
static const char licence_sql[] =
    "WITH inst AS ("
    "  SELECT %1$s AS commune, s.name AS product,"
    "    count(DISTINCT s.agent_id) AS n"
    "  FROM software s JOIN agents a ON a.agent_id = s.agent_id"
    "  WHERE (?1 IS NULL OR a.commune = ?1)"
    "    AND (?2 IS NULL OR s.name = ?2)"
    "  GROUP BY 1, 2),"
    " u AS ("
    "  SELECT %1$s AS commune, product, agent_id, nullif(user, '') AS user,"
    "    day, seconds, last_end"
    "  FROM usage_daily a"
    "  WHERE day >= ?3 / 86400 AND day <= ?4 / 86400"
    "    AND %2$s"
    "    AND (?2 IS NULL OR product = ?2)),"
    " used AS ("
    "  SELECT commune, product, count(DISTINCT agent_id) AS machines,"
    "    count(DISTINCT user) AS users, sum(seconds) AS secs,"
    "    max(last_end) AS last"
    "  FROM u GROUP BY 1, 2),"
    " daily AS ("
    "  SELECT commune, product, max(n) AS peak FROM ("
    "    SELECT commune, product, day,"
    "      count(DISTINCT agent_id) AS n"
    "    FROM u GROUP BY 1, 2, 3) GROUP BY 1, 2),"
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

/* Runs a query and returns its rows as an array of objects whose keys are
 * the column names; integer, real, text and null columns keep their type. */
json_t *
sq_rows(sqlite3_stmt *st)
{
	json_t *rows = json_array(), *row, *v;
	int i, n;

	while (sqlite3_step(st) == SQLITE_ROW) {
		row = json_object();
		n = sqlite3_column_count(st);
		for (i = 0; i < n; i++) {
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_INTEGER:
				v = json_integer(sqlite3_column_int64(st, i));
				break;
			case SQLITE_FLOAT:
				v = json_real(sqlite3_column_double(st, i));
				break;
			case SQLITE_NULL:
				v = json_null();
				break;
			default:
				v = json_string(
				    (const char *)sqlite3_column_text(st, i));
			}
			json_object_set_new(row, sqlite3_column_name(st, i), v);
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
sq_iso(sqlite3_stmt *st, int col)
{
	char when[32];

	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	util_isotime((time_t)sqlite3_column_int64(st, col), when, sizeof(when));
	return json_string(when);
}

static int
licence_rows(struct sq *q, const struct store_query *qu, const char *col,
             json_t *out)
{
	char sql[sizeof(licence_sql) + 64];
	sqlite3_stmt *st;
	json_t *row;
	int r;

	snprintf(sql, sizeof(sql), licence_sql, col,
	         qu->commune ? "a.commune = ?1" : "?1 IS NULL");
	if ((st = sq_prep(q, sql)) == NULL)
		return STORE_ERR;
	sq_bind_opt(st, 1, qu->commune);
	sq_bind_opt(st, 2, qu->product);
	sqlite3_bind_int64(st, 3, qu->from);
	sqlite3_bind_int64(st, 4, qu->to);
	sqlite3_bind_int64(st, 5, qu->limit > 0 ? qu->limit : -1);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		row = json_pack(
		    "{s:s, s:s, s:I, s:I, s:I, s:f, s:I, s:I, s:o}", "product",
		    (const char *)sqlite3_column_text(st, 0), "commune",
		    (const char *)sqlite3_column_text(st, 1), "installed",
		    (json_int_t)sqlite3_column_int64(st, 2), "used_machines",
		    (json_int_t)sqlite3_column_int64(st, 3), "used_users",
		    (json_int_t)sqlite3_column_int64(st, 4), "usage_hours",
		    sqlite3_column_int64(st, 5) / 3600.0, "usage_seconds",
		    (json_int_t)sqlite3_column_int64(st, 5), "peak_concurrent",
		    (json_int_t)sqlite3_column_int64(st, 6), "last_used",
		    sq_iso(st, 7));
		if (row == NULL || json_array_append_new(out, row) == -1)
			break;
	}
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? STORE_OK : STORE_ERR;
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
machine_row(sqlite3_stmt *st)
{
	const char *os = (const char *)sqlite3_column_text(st, 3);

	json_t *clock = sqlite3_column_type(st, 8) == SQLITE_NULL
	                    ? json_null()
	                    : json_real(sqlite3_column_int64(st, 8) / 1000.0);

	return json_pack("{s:s, s:s, s:s, s:s?, s:o, s:o, s:o, s:I, s:o, s:I}",
	                 "agent_id", (const char *)sqlite3_column_text(st, 0),
	                 "hostname", (const char *)sqlite3_column_text(st, 1),
	                 "commune", (const char *)sqlite3_column_text(st, 2),
	                 "os", os, "enrolled", sq_iso(st, 4), "last_seen",
	                 sq_iso(st, 5), "inventory_at", sq_iso(st, 6),
	                 "software", (json_int_t)sqlite3_column_int64(st, 7),
	                 "clock_offset_s", clock, "records_lost",
	                 (json_int_t)sqlite3_column_int64(st, 9));
}

static int
sq_machines(void *b, const struct store_query *qu, json_t **out)
{
	struct sq *q = b;
	char sql[512];
	sqlite3_stmt *st;
	int r;

	snprintf(sql, sizeof(sql),
	         "%s WHERE (?1 IS NULL OR a.commune = ?1)"
	         " ORDER BY a.commune, a.hostname, a.agent_id",
	         machine_cols);
	if ((st = sq_prep(q, sql)) == NULL)
		return STORE_ERR;
	sq_bind_opt(st, 1, qu->commune);
	*out = json_array();
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(*out, machine_row(st));
	sqlite3_finalize(st);
	if (r != SQLITE_DONE) {
		json_decref(*out);
		*out = NULL;
		return STORE_ERR;
	}
	return STORE_OK;
}

static json_t *
software_of(struct sq *q, const char *agent_id)
{
	sqlite3_stmt *st =
	    sq_prep(q, "SELECT name, version, arch, publisher, size"
	               " FROM software WHERE agent_id = ?"
	               " ORDER BY name, arch");
	json_t *list = json_array(), *o;

	if (st == NULL)
		return list;
	sqlite3_bind_text(st, 1, agent_id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		o = json_pack(
		    "{s:s, s:s?, s:s, s:s?}", "name",
		    (const char *)sqlite3_column_text(st, 0), "version",
		    (const char *)sqlite3_column_text(st, 1), "arch",
		    (const char *)sqlite3_column_text(st, 2), "publisher",
		    (const char *)sqlite3_column_text(st, 3));
		if (o && sqlite3_column_type(st, 4) != SQLITE_NULL)
			json_object_set_new(
			    o, "size",
			    json_integer(sqlite3_column_int64(st, 4)));
		json_array_append_new(list, o);
	}
	sqlite3_finalize(st);
	return list;
}

static json_t *
document_of(struct sq *q, const char *agent_id)
{
	sqlite3_stmt *st = sq_prep(q, "SELECT inventory FROM agents"
	                              " WHERE agent_id = ?");
	json_t *doc = NULL;
	const char *text;

	if (st == NULL)
		return json_null();
	sqlite3_bind_text(st, 1, agent_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    (text = (const char *)sqlite3_column_text(st, 0)) != NULL)
		doc = json_loads(text, 0, NULL);
	sqlite3_finalize(st);
	return doc ? doc : json_null();
}

static int
sq_machine(void *b, const struct store_query *qu, const char *id, json_t **out)
{
	struct sq *q = b;
	json_t *found = json_array(), *m;
	char sql[512];
	sqlite3_stmt *st;
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
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sq_bind_opt(st, 2, qu->commune);
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(found, machine_row(st));
	sqlite3_finalize(st);
	if (r != SQLITE_DONE) {
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
	sqlite3_stmt *st;
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
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(
		    *out,
		    json_pack("{s:s, s:s, s:I}", "code",
		              (const char *)sqlite3_column_text(st, 0), "name",
		              (const char *)sqlite3_column_text(st, 1),
		              "machines",
		              (json_int_t)sqlite3_column_int64(st, 2)));
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? STORE_OK : STORE_ERR;
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

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
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
