/*
 * store_schema: the store's schema on both engines, versioned and
 * migrated in order at open. SQLite keeps its version in PRAGMA
 * user_version; PostgreSQL in table mutu_schema, where migrations run as
 * the owner role and the server's role gets rights on rows only, under
 * row-level security (docs/SCALING.md).
 */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "store_sql.h"

/* SQLite migrations, in order: index i moves the schema from version i
 * to i + 1 (PRAGMA user_version). */
static const char *const lite_migrations[] = {
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
    /* 6: the digest of the default catalogue installed, and a version
     * bumped at every rule change, which other server instances (on
     * PostgreSQL) watch to reload their rules. */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT INTO meta VALUES ('catalogue_version', '0');",
    /* 7: the monthly rollup reports read for whole months of their
     * window (usage_daily for the days at either end); filled from the
     * daily summaries. */
    "CREATE TABLE usage_monthly(month INTEGER NOT NULL,"
    "  agent_id TEXT NOT NULL, commune TEXT NOT NULL, product TEXT NOT NULL,"
    "  exe TEXT NOT NULL, user TEXT NOT NULL, seconds INTEGER NOT NULL,"
    "  sessions INTEGER NOT NULL, last_end INTEGER NOT NULL,"
    "  PRIMARY KEY (month, agent_id, product, exe, user)) WITHOUT ROWID;"
    "CREATE INDEX usage_monthly_commune"
    "  ON usage_monthly(commune, month, seconds, last_end);"
    "INSERT INTO usage_monthly SELECT CAST(strftime('%s', day * 86400,"
    "  'unixepoch', 'start of month') AS INTEGER) / 86400, agent_id,"
    "  commune, product, exe, user, sum(seconds), sum(sessions),"
    "  max(last_end) FROM usage_daily GROUP BY 1, 2, 3, 4, 5, 6;",
};
#define LITE_VERSION (int)(sizeof(lite_migrations) / sizeof(lite_migrations[0]))

/* PostgreSQL migrations (table mutu_schema): version 1 is SQLite's
 * version 5 plus partitions, roles and row-level security. Run by the
 * owner role (--db-admin); the server's own role gets rights on rows
 * only (GRANTs in pg_grants). */
static const char *const pg_migrations[] = {
    "CREATE FUNCTION mutu_scope() RETURNS text[] LANGUAGE sql STABLE"
    "  AS $$ SELECT string_to_array("
    "    coalesce(current_setting('mutu.scope', true), ''), ',') $$;"
    /* SQLite's datetime(t, 'unixepoch'), which the lists use. */
    "CREATE FUNCTION datetime(t bigint, unixepoch text) RETURNS text"
    "  LANGUAGE sql IMMUTABLE AS $$ SELECT to_char(to_timestamp(t)"
    "    AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') $$;"
    "CREATE FUNCTION mutu_all() RETURNS boolean LANGUAGE sql STABLE"
    "  AS $$ SELECT '*' = ANY (mutu_scope()) $$;"
    "CREATE TABLE communes(code text PRIMARY KEY, name text NOT NULL,"
    "  created bigint NOT NULL);"
    "CREATE TABLE enrol_secrets(id bigint GENERATED BY DEFAULT AS IDENTITY"
    "  PRIMARY KEY, commune text NOT NULL REFERENCES communes(code),"
    "  hash text NOT NULL UNIQUE, created bigint NOT NULL,"
    "  uses bigint NOT NULL DEFAULT 0, revoked bigint NOT NULL DEFAULT 0,"
    "  expires bigint, max_uses bigint, label text);"
    "CREATE TABLE admin_tokens(id bigint GENERATED BY DEFAULT AS IDENTITY"
    "  PRIMARY KEY, hash text NOT NULL UNIQUE,"
    "  commune text REFERENCES communes(code), created bigint NOT NULL,"
    "  revoked bigint NOT NULL DEFAULT 0,"
    "  read_only bigint NOT NULL DEFAULT 0, label text);"
    "CREATE TABLE agents(agent_id text PRIMARY KEY,"
    "  commune text NOT NULL REFERENCES communes(code),"
    "  hostname text NOT NULL, token_hash text UNIQUE,"
    "  enrolled bigint NOT NULL, last_seen bigint, inventory_at bigint,"
    "  os text, inventory text, revoked bigint NOT NULL DEFAULT 0,"
    "  inventory_digest text, clock_offset_ms bigint, clock_at bigint);"
    "CREATE INDEX agents_commune ON agents(commune, hostname);"
    "CREATE TABLE streams(agent_id text NOT NULL REFERENCES agents,"
    "  epoch text NOT NULL, hwm bigint NOT NULL, updated bigint NOT NULL,"
    "  dups bigint NOT NULL DEFAULT 0, PRIMARY KEY (agent_id, epoch));"
    "CREATE TABLE software(agent_id text NOT NULL REFERENCES agents,"
    "  name text NOT NULL, version text, arch text NOT NULL DEFAULT '',"
    "  publisher text, size bigint, PRIMARY KEY (agent_id, name, arch));"
    "CREATE INDEX software_name ON software(name);"
    /* Raw sessions, by month of start: retention drops whole months. */
    "CREATE TABLE usage(id bigint GENERATED BY DEFAULT AS IDENTITY,"
    "  agent_id text NOT NULL REFERENCES agents, commune text NOT NULL,"
    "  epoch text NOT NULL, seq bigint NOT NULL, product text NOT NULL,"
    "  package text, exe text, \"user\" text, start bigint NOT NULL,"
    "  \"end\" bigint NOT NULL, shift bigint NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (id, start), UNIQUE (agent_id, epoch, seq, start))"
    "  PARTITION BY RANGE (start);"
    "CREATE TABLE usage_default PARTITION OF usage DEFAULT;"
    "CREATE INDEX usage_end ON usage(\"end\");"
    /* Daily summaries, by month of day (days since 1970). */
    "CREATE TABLE usage_daily(day bigint NOT NULL, agent_id text NOT NULL,"
    "  commune text NOT NULL, product text NOT NULL,"
    "  exe text NOT NULL DEFAULT '', \"user\" text NOT NULL DEFAULT '',"
    "  seconds bigint NOT NULL, sessions bigint NOT NULL,"
    "  last_end bigint NOT NULL,"
    "  PRIMARY KEY (day, agent_id, product, exe, \"user\"))"
    "  PARTITION BY RANGE (day);"
    "CREATE TABLE usage_daily_default PARTITION OF usage_daily DEFAULT;"
    "CREATE INDEX usage_daily_agent ON usage_daily(agent_id, product);"
    "CREATE INDEX usage_daily_commune"
    "  ON usage_daily(commune, day, seconds, last_end);"
    "CREATE TABLE agent_days(agent_id text NOT NULL, day bigint NOT NULL,"
    "  PRIMARY KEY (agent_id, day));"
    "CREATE TABLE products(key text PRIMARY KEY, name text NOT NULL,"
    "  publisher text NOT NULL DEFAULT '', edition text NOT NULL DEFAULT '',"
    "  family text NOT NULL DEFAULT '', free bigint NOT NULL DEFAULT 0,"
    "  sill bigint NOT NULL DEFAULT 0, category text NOT NULL DEFAULT '',"
    "  seasonal_days bigint, origin text NOT NULL DEFAULT 'admin');"
    "CREATE TABLE rules(id bigint GENERATED BY DEFAULT AS IDENTITY"
    "  PRIMARY KEY,"
    "  origin text NOT NULL CHECK (origin IN ('admin', 'default')),"
    "  priority bigint NOT NULL DEFAULT 100, field text NOT NULL,"
    "  kind text NOT NULL, pattern text NOT NULL,"
    "  product text REFERENCES products(key));"
    "CREATE TABLE software_map(name text NOT NULL, publisher text NOT NULL,"
    "  product text, ignored bigint NOT NULL,"
    "  PRIMARY KEY (name, publisher));"
    "CREATE TABLE usage_map(product text NOT NULL, exe text NOT NULL,"
    "  norm text, ignored bigint NOT NULL, PRIMARY KEY (product, exe));"
    "CREATE TABLE pools(code text PRIMARY KEY, name text NOT NULL,"
    "  fixed_share double precision NOT NULL DEFAULT 0"
    "    CHECK (fixed_share >= 0 AND fixed_share <= 1),"
    "  basis text NOT NULL DEFAULT 'hours'"
    "    CHECK (basis IN ('hours', 'peak', 'installs')));"
    "CREATE TABLE pool_members(pool text NOT NULL REFERENCES pools(code)"
    "  ON DELETE CASCADE, commune text NOT NULL REFERENCES communes(code),"
    "  PRIMARY KEY (pool, commune));"
    "CREATE TABLE entitlements(id bigint GENERATED BY DEFAULT AS IDENTITY"
    "  PRIMARY KEY, product text NOT NULL REFERENCES products(key),"
    "  commune text REFERENCES communes(code),"
    "  pool text REFERENCES pools(code),"
    "  metric text NOT NULL"
    "    CHECK (metric IN ('device', 'user', 'concurrent', 'site')),"
    "  quantity bigint NOT NULL CHECK (quantity >= 0),"
    "  unit_cost bigint, total_cost bigint,"
    "  start_date text, end_date text, contract text,"
    "  CHECK ((commune IS NULL) <> (pool IS NULL)));"
    "CREATE TABLE audit(id bigint GENERATED BY DEFAULT AS IDENTITY"
    "  PRIMARY KEY, at bigint NOT NULL, actor bigint NOT NULL,"
    "  commune text NOT NULL, action text NOT NULL, detail text NOT NULL);"
    "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql"
    "  AS $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;"
    "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit"
    "  FOR EACH ROW EXECUTE FUNCTION audit_append_only();"
    "CREATE TABLE gaps(id bigint GENERATED BY DEFAULT AS IDENTITY"
    "  PRIMARY KEY, agent_id text NOT NULL REFERENCES agents,"
    "  commune text NOT NULL, epoch text NOT NULL, seq bigint NOT NULL,"
    "  reason text NOT NULL, lost_epoch text, first_seq bigint,"
    "  last_seq bigint, records bigint, from_t bigint, to_t bigint,"
    "  detail text, received bigint NOT NULL,"
    "  UNIQUE (agent_id, epoch, seq));"
    "CREATE INDEX gaps_commune ON gaps(commune, received);"
    /* A partition is read through its parent, whose policies apply:
     * read directly, it shows nothing (RLS forced, no policy), and the
     * server's role has no right on it anyway. */
    "CREATE FUNCTION mutu_lock_partition(t text) RETURNS void"
    "  LANGUAGE plpgsql AS $$ BEGIN"
    "  EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);"
    "  EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);"
    "  END $$;"
    "SELECT mutu_lock_partition('usage_default');"
    "SELECT mutu_lock_partition('usage_daily_default');"
    /* Monthly partitions from a month before 'now' to three after; rows
     * outside (clocks years off) stay in the default partitions. Runs
     * as the owner: the server's role may not create tables. */
    "CREATE FUNCTION mutu_partitions(at_time bigint) RETURNS void"
    "  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$"
    "DECLARE m date; lo bigint; hi bigint; BEGIN"
    "  FOR i IN -1..3 LOOP"
    "    m := date_trunc('month', to_timestamp(at_time) AT TIME ZONE 'UTC')"
    "         + make_interval(months => i);"
    "    lo := extract(epoch FROM m)::bigint;"
    "    hi := extract(epoch FROM m + interval '1 month')::bigint;"
    "    BEGIN"
    "      EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF usage"
    "        FOR VALUES FROM (%s) TO (%s)',"
    "        'usage_' || to_char(m, 'YYYYMM'), lo, hi);"
    "      EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF"
    "        usage_daily FOR VALUES FROM (%s) TO (%s)',"
    "        'usage_daily_' || to_char(m, 'YYYYMM'), lo / 86400, hi / 86400);"
    "      PERFORM mutu_lock_partition('usage_' || to_char(m, 'YYYYMM'));"
    "      PERFORM mutu_lock_partition("
    "        'usage_daily_' || to_char(m, 'YYYYMM'));"
    "    EXCEPTION WHEN check_violation OR invalid_object_definition THEN"
    "      NULL; /* the default partition holds rows of that month */"
    "    END;"
    "  END LOOP; END $$;"
    /* Drops the raw usage partitions that end before cutoff - 1 day
     * (sessions are cut at midnight: none lasts longer); returns how
     * many rows went. */
    "CREATE FUNCTION mutu_drop_usage(cutoff bigint) RETURNS bigint"
    "  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$"
    "DECLARE r record; n bigint := 0; k bigint; BEGIN"
    "  FOR r IN SELECT c.relname,"
    "      (regexp_match(pg_get_expr(c.relpartbound, c.oid),"
    "        'FROM \\(''?(-?[0-9]+)'))[1]::bigint AS lo,"
    "      (regexp_match(pg_get_expr(c.relpartbound, c.oid),"
    "        'TO \\(''?(-?[0-9]+)'))[1]::bigint AS hi"
    "    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
    "    WHERE i.inhparent = 'usage'::regclass"
    "      AND c.relname <> 'usage_default' LOOP"
    "    IF r.hi <= cutoff - 86400 THEN"
    /* Counted through the parent, whose policies apply (the partition
     * itself shows nothing, even to its owner). */
    "      SELECT count(*) INTO k FROM usage"
    "        WHERE start >= r.lo AND start < r.hi;"
    "      EXECUTE format('DROP TABLE %I', r.relname);"
    "      n := n + k;"
    "    END IF;"
    "  END LOOP; RETURN n; END $$;"
    "CREATE TABLE meta(key text PRIMARY KEY, value text NOT NULL);"
    "INSERT INTO meta VALUES ('catalogue_version', '0');",
    /* 2: SQLite's 7, the monthly rollup. The owner reads the daily
     * summaries through their policy: scope '*' for this transaction. */
    "SELECT set_config('mutu.scope', '*', true);"
    "CREATE TABLE usage_monthly(month bigint NOT NULL,"
    "  agent_id text NOT NULL, commune text NOT NULL, product text NOT NULL,"
    "  exe text NOT NULL, \"user\" text NOT NULL, seconds bigint NOT NULL,"
    "  sessions bigint NOT NULL, last_end bigint NOT NULL,"
    "  PRIMARY KEY (month, agent_id, product, exe, \"user\"))"
    /* Most records update their month's row: no index holds a column
     * that changes, and room is left in each page, so that the update
     * can stay on its page and touch no index (HOT). */
    "  WITH (fillfactor = 70);"
    "CREATE INDEX usage_monthly_commune ON usage_monthly(commune, month);"
    "INSERT INTO usage_monthly SELECT CAST(extract(epoch FROM"
    "  date_trunc('month', to_timestamp(day * 86400) AT TIME ZONE 'UTC'))"
    "  AS bigint) / 86400, agent_id, commune, product, exe, \"user\","
    "  sum(seconds), sum(sessions), max(last_end)"
    "  FROM usage_daily GROUP BY 1, 2, 3, 4, 5, 6;",
};
#define PG_VERSION (int)(sizeof(pg_migrations) / sizeof(pg_migrations[0]))

/* The tables row-level security guards: those with a commune column and
 * those keyed by an agent (an agent belongs to one commune), with the
 * expression that says whether the session's scope sees a row. The scope
 * is set_config('mutu.scope'): '*' or a comma-separated list of commune
 * codes; unset, nothing is seen. */
/* The scope comes from scalar subqueries, which PostgreSQL evaluates once
 * per query (an InitPlan) rather than once per row; "commune = ANY" can
 * then use an index on commune. */
#define SEES(c)                                                                \
	"(SELECT mutu_all()) OR " c                                            \
	" = ANY (CAST((SELECT mutu_scope()) AS text[]))"
static const struct {
	const char *table, *sees;
} pg_guarded[] = {
    {"communes", SEES("code")},
    {"enrol_secrets", SEES("commune")},
    {"admin_tokens", SEES("commune")},
    {"agents", SEES("commune")},
    {"usage", SEES("commune")},
    {"usage_daily", SEES("commune")},
    {"usage_monthly", SEES("commune")},
    {"gaps", SEES("commune")},
    {"audit", SEES("commune")},
    {"pool_members", SEES("commune")},
    {"entitlements",
     SEES("commune") " OR pool IN (SELECT pool FROM pool_members)"},
    {"streams", "agent_id IN (SELECT agent_id FROM agents)"},
    {"software", "agent_id IN (SELECT agent_id FROM agents)"},
    {"agent_days", "agent_id IN (SELECT agent_id FROM agents)"},
};

static int
lite_version(struct db *db)
{
	struct db_stmt *st = db_prepare(db, "PRAGMA user_version", 0);
	int v = -1;

	if (st && db_step(st) == DB_ROW)
		v = db_column_int(st, 0);
	db_finalize(st);
	return v;
}

/* The PostgreSQL schema version, 0 before the first migration. */
static int
pg_version(struct db *db)
{
	struct db_stmt *st;
	int v = -1;

	st = db_prepare(db,
	                "SELECT CASE WHEN to_regclass('mutu_schema') IS NULL"
	                " THEN 0 ELSE -1 END",
	                0);
	if (st && db_step(st) == DB_ROW)
		v = db_column_int(st, 0);
	db_finalize(st);
	if (v != -1)
		return v;
	st = db_prepare(db, "SELECT max(version) FROM mutu_schema", 0);
	if (st && db_step(st) == DB_ROW)
		v = db_column_int(st, 0);
	db_finalize(st);
	return v;
}

static int
schema_version(struct db *db)
{
	return db_kind(db) == DB_PGSQL ? pg_version(db) : lite_version(db);
}

static int
newest(struct db *db)
{
	return db_kind(db) == DB_PGSQL ? PG_VERSION : LITE_VERSION;
}

/* Row-level security on every guarded table, forced (the owner too is
 * held to it), one policy for reads and writes alike. */
static int
pg_policies(struct db *db)
{
	char sql[1024];
	size_t i;

	for (i = 0; i < sizeof(pg_guarded) / sizeof(pg_guarded[0]); i++) {
		snprintf(sql, sizeof(sql),
		         "ALTER TABLE %1$s ENABLE ROW LEVEL SECURITY;"
		         "ALTER TABLE %1$s FORCE ROW LEVEL SECURITY;"
		         "DROP POLICY IF EXISTS scope ON %1$s;"
		         "CREATE POLICY scope ON %1$s USING (%2$s)"
		         " WITH CHECK (%2$s)",
		         pg_guarded[i].table, pg_guarded[i].sees);
		if (db_exec(db, sql) == -1)
			return -1;
	}
	return 0;
}

/* The server's role may read and write rows, never change the schema,
 * never rewrite the audit log. */
static const char grant_sql[] =
    "GRANT USAGE ON SCHEMA public TO %1$s;"
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES"
    " IN SCHEMA public TO %1$s;"
    "REVOKE UPDATE, DELETE, TRUNCATE ON audit, mutu_schema FROM %1$s;"
    "REVOKE ALL ON usage_default, usage_daily_default FROM %1$s;"
    /* UPDATE: setval() after a migration copied ids. */
    "GRANT USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA public TO %1$s;"
    "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO %1$s";

static int
pg_grants(struct db *db, const char *role)
{
	char sql[1024], quoted[200];
	size_t i, o = 0;

	quoted[o++] = '"';
	for (i = 0; role[i] && o + 3 < sizeof(quoted); i++) {
		if (role[i] == '"')
			quoted[o++] = '"';
		quoted[o++] = role[i];
	}
	quoted[o++] = '"';
	quoted[o] = '\0';
	snprintf(sql, sizeof(sql), grant_sql, quoted);
	return db_exec(db, sql);
}

static const char version_sql[] =
    "INSERT INTO mutu_schema VALUES (%d, extract(epoch FROM now())::bigint)";

static int
pg_migrate(struct db *db, int v, const char *role)
{
	char sql[128];

	if (db_exec(db,
	            "CREATE TABLE IF NOT EXISTS mutu_schema("
	            "version integer PRIMARY KEY, at bigint NOT NULL)") == -1)
		return -1;
	for (; v < PG_VERSION; v++) {
		snprintf(sql, sizeof(sql), version_sql, v + 1);
		if (db_exec(db, pg_migrations[v]) == -1 ||
		    db_exec(db, sql) == -1)
			return -1;
	}
	if (pg_policies(db) == -1 || pg_grants(db, role) == -1)
		return -1;
	return db_exec(db, "SELECT mutu_partitions("
	                   "extract(epoch FROM now())::bigint)");
}

static int
lite_migrate(struct db *db, int v)
{
	char sql[64];

	for (; v < LITE_VERSION; v++) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (db_exec(db, lite_migrations[v]) == -1 ||
		    db_exec(db, sql) == -1)
			return -1;
	}
	return 0;
}

int
sq_migrate(struct db *db, const char *role, char *err, size_t errlen)
{
	int v, rc;

	if (db_exec(db, "BEGIN IMMEDIATE") == -1)
		goto fail;
	/* One migrator at a time when several servers start together. */
	if (db_kind(db) == DB_PGSQL &&
	    db_exec(db, "SELECT pg_advisory_xact_lock(7275747500)") == -1)
		goto fail;
	if ((v = schema_version(db)) < 0)
		goto fail;
	if (v > newest(db)) {
		snprintf(err, errlen,
		         "database schema version %d is newer than this "
		         "server's (%d)",
		         v, newest(db));
		db_exec(db, "ROLLBACK");
		return -1;
	}
	rc = db_kind(db) == DB_PGSQL ? pg_migrate(db, v, role)
	                             : lite_migrate(db, v);
	if (rc == -1 || db_exec(db, "COMMIT") == -1)
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
	int v = schema_version(db);

	if (v == newest(db))
		return 0;
	if (v < 0)
		snprintf(err, errlen, "cannot read the schema version: %s",
		         db_errmsg(db));
	else
		snprintf(err, errlen,
		         "database schema version %d, this server needs %d: "
		         "run it once with --db-admin (the owner role) to "
		         "migrate",
		         v, newest(db));
	return -1;
}
