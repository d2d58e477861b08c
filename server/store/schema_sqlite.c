/*
 * schema_sqlite: the store's schema on SQLite (engine.h), its version in
 * PRAGMA user_version, migrated in order by store_schema.c's driver.
 */
#include <stdio.h>

#include "engine.h"

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
    /* 8: a pool's fixed share as an exact integer of parts per million
     * (0.35 was the binary 0.34999999999999998; docs/LICENCES.md,
     * "Money"). The one-time conversion rounds to the nearest ppm. */
    "ALTER TABLE pools ADD COLUMN fixed_share_ppm INTEGER NOT NULL"
    "  DEFAULT 0 CHECK (fixed_share_ppm BETWEEN 0 AND 1000000);"
    "UPDATE pools SET fixed_share_ppm ="
    "  CAST(round(fixed_share * 1000000) AS INTEGER);"
    "ALTER TABLE pools DROP COLUMN fixed_share;",
    /* 9: what ingest folded rather than stored, per machine: usage
     * records over the distinct programs a day may hold (all time), and
     * software entries over an inventory's bound (its latest list)
     * (docs/SECURITY.md, "Distinct names"). */
    "ALTER TABLE agents ADD COLUMN usage_dropped INTEGER NOT NULL"
    "  DEFAULT 0;"
    "ALTER TABLE agents ADD COLUMN software_dropped INTEGER NOT NULL"
    "  DEFAULT 0;",
    /* 10: the audit log's retention (docs/SECURITY.md, "Audit log
     * flooding"): rows go only through a purge, which names its cutoff in
     * meta for its own transaction, deletes the rows before it and
     * audits itself. Any other deletion still aborts. Idempotent. */
    "DROP TRIGGER IF EXISTS audit_no_delete;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    "  WHEN OLD.at >= coalesce((SELECT CAST(value AS INTEGER) FROM meta"
    "    WHERE key = 'audit_purge_before'), 0)"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
    /* 11: machine lifecycle (docs/LICENCES.md, "Lifecycle"): when an
     * agent was revoked and when its machine was retired, Unix seconds;
     * a machine stops counting as installed from that day. Agents
     * revoked before have the time of their revocation's audit entry,
     * else their last contact. */
    "ALTER TABLE agents ADD COLUMN revoked_at INTEGER;"
    "ALTER TABLE agents ADD COLUMN retired_at INTEGER;"
    "UPDATE agents SET revoked_at = coalesce((SELECT max(at) FROM audit"
    "  WHERE action = 'change'"
    "  AND detail = 'DELETE /api/v1/agents/' || agents.agent_id),"
    "  last_seen, enrolled) WHERE revoked = 1;",
    /* 12: usage intervals (docs/LICENCES.md, "Concurrency and hours"):
     * each record's part on each local day it spans, [t0, t1) in Unix
     * seconds, from which reports take true concurrency and the union of
     * a person's intervals. Usage booked before has no intervals: each
     * daily summary becomes one interval from the start of its day (once:
     * intervals already there are kept). */
    "CREATE TABLE IF NOT EXISTS usage_span(day INTEGER NOT NULL,"
    "  agent_id TEXT NOT NULL,"
    "  commune TEXT NOT NULL, product TEXT NOT NULL, exe TEXT NOT NULL,"
    "  user TEXT NOT NULL, t0 INTEGER NOT NULL, t1 INTEGER NOT NULL,"
    "  PRIMARY KEY (day, agent_id, product, exe, user, t0)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS usage_span_commune"
    "  ON usage_span(commune, day);"
    "INSERT INTO usage_span SELECT day, agent_id, commune, product, exe,"
    "  user, day * 86400, day * 86400 + seconds FROM usage_daily"
    "  WHERE seconds > 0 AND NOT EXISTS (SELECT 1 FROM usage_span);",
    /* 13: a product's metering class (docs/LICENCES.md, "Metering
     * classes"): its sessions (interactive), a service's uptime
     * (service), or its presence (installed: never reclaimed). */
    "ALTER TABLE products ADD COLUMN metering TEXT NOT NULL"
    "  DEFAULT 'interactive'"
    "  CHECK (metering IN ('interactive', 'service', 'installed'));",
    /* 14: machines moved between communes (docs/LICENCES.md,
     * "Lifecycle"): at (Unix seconds) and day (the local day) of each;
     * a machine counts as installed in the commune it belonged to on a
     * period's last day, and its usage is booked to the commune it
     * belonged to on the day it happened (the day of a move is the
     * former commune's). */
    "CREATE TABLE IF NOT EXISTS moves(id INTEGER PRIMARY KEY,"
    "  agent_id TEXT NOT NULL REFERENCES agents, at INTEGER NOT NULL,"
    "  day INTEGER NOT NULL, from_commune TEXT NOT NULL,"
    "  to_commune TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS moves_agent ON moves(agent_id, day);"
    "ALTER TABLE agents ADD COLUMN former TEXT NOT NULL DEFAULT '';"
    /* the month of a move has rows in both communes */
    "CREATE TABLE usage_monthly2(month INTEGER NOT NULL,"
    "  agent_id TEXT NOT NULL, commune TEXT NOT NULL, product TEXT NOT NULL,"
    "  exe TEXT NOT NULL, user TEXT NOT NULL, seconds INTEGER NOT NULL,"
    "  sessions INTEGER NOT NULL, last_end INTEGER NOT NULL,"
    "  PRIMARY KEY (month, agent_id, commune, product, exe, user))"
    "  WITHOUT ROWID;"
    "INSERT INTO usage_monthly2 SELECT * FROM usage_monthly;"
    "DROP TABLE usage_monthly;"
    "ALTER TABLE usage_monthly2 RENAME TO usage_monthly;"
    "CREATE INDEX usage_monthly_commune"
    "  ON usage_monthly(commune, month, seconds, last_end);",
    /* 15: the daily figures of the usage intervals (stat.h): per day,
     * scope and product, the union of each person's hours added up and
     * the peaks of machines and people, computed again for the days
     * marked in stat_dirty (all of them at first). */
    "CREATE TABLE IF NOT EXISTS usage_stat(day INTEGER NOT NULL,"
    "  level TEXT NOT NULL, holder TEXT NOT NULL, product TEXT NOT NULL,"
    "  secs INTEGER NOT NULL, peak INTEGER NOT NULL,"
    "  peak_users INTEGER NOT NULL,"
    "  PRIMARY KEY (day, level, holder, product)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS usage_stat_holder"
    "  ON usage_stat(level, holder, day, product, secs, peak, peak_users);"
    "CREATE TABLE IF NOT EXISTS stat_dirty(day INTEGER PRIMARY KEY);"
    "INSERT OR IGNORE INTO stat_dirty SELECT DISTINCT day FROM usage_span;",
    /* 16: the intervals are read by day only (the daily figures, and the
     * raw names' view over a window of days): their index by commune
     * goes (about 150 bytes a record, docs/PERFORMANCE.md). */
    "DROP INDEX IF EXISTS usage_span_commune;",
    /* 17: foreign agents (docs/INTEROP.md): credentials a commune's
     * FusionInventory, GLPI Agent and OCS agents report with, and what
     * identifies a machine whichever agent reports it. */
    "CREATE TABLE IF NOT EXISTS foreign_creds(id INTEGER PRIMARY KEY,"
    "  commune TEXT NOT NULL REFERENCES communes(code),"
    "  hash TEXT NOT NULL UNIQUE, created INTEGER NOT NULL,"
    "  expires INTEGER, label TEXT, uses INTEGER NOT NULL DEFAULT 0,"
    "  last_used INTEGER, revoked INTEGER NOT NULL DEFAULT 0);"
    "ALTER TABLE agents ADD COLUMN source TEXT NOT NULL"
    "  DEFAULT 'mutu-agent';"
    "ALTER TABLE agents ADD COLUMN hw_uuid TEXT;"
    "ALTER TABLE agents ADD COLUMN serial TEXT;"
    "ALTER TABLE agents ADD COLUMN macs TEXT;"
    "ALTER TABLE agents ADD COLUMN merged_into TEXT;",
};
#define NEWEST (int)(sizeof(lite_migrations) / sizeof(lite_migrations[0]))

int
schema_sqlite_version(struct db *db)
{
	struct db_stmt *st = db_prepare(db, "PRAGMA user_version", 0);
	int v = -1;

	if (st && db_step(st) == DB_ROW)
		v = db_column_int(st, 0);
	db_finalize(st);
	return v;
}

int
schema_sqlite_newest(void)
{
	return NEWEST;
}

/* SQLite has no roles: role is unused. */
int
schema_sqlite_migrate(struct db *db, int v, const char *role)
{
	char sql[64];

	(void)role;
	for (; v < NEWEST; v++) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (db_exec(db, lite_migrations[v]) == -1 ||
		    db_exec(db, sql) == -1)
			return -1;
	}
	return 0;
}
