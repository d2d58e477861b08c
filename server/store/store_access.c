/*
 * store_access: access control: enrolment secrets
 * with lifetimes, admin tokens with scopes and roles, agent revocation
 * and machine retirement, and the append-only audit log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cal.h"
#include "crypto.h"
#include "engine.h"
#include "store_sql.h"
#include "util.h"
#include "utf8.h"

/* The commune a request may act on: its own for a commune's admin. */
static const char *
target_commune(const struct store_scope *sc, json_t *in)
{
	const char *c = json_string_value(json_object_get(in, "commune"));

	return sc->commune[0] ? sc->commune : c;
}

static int
opt_positive(json_t *in, const char *key, long long max, long long *v)
{
	json_t *j = json_object_get(in, key);

	*v = 0;
	if (j == NULL || json_is_null(j))
		return 0;
	if (!json_is_integer(j) || json_integer_value(j) < 1 ||
	    json_integer_value(j) > max)
		return -1;
	*v = json_integer_value(j);
	return 0;
}

/* The answer to a commune the database does not hold. */
static int
unknown_commune(json_t **out)
{
	sq_invalid(out, "%s", "commune: unknown commune");
	return STORE_NOCOMMUNE;
}

/* A commune's new secret: an enrolment secret for mutu-agent, or
 * (foreign) a credential for its FusionInventory, GLPI Agent and OCS
 * agents (docs/INTEROP.md: HTTP basic authentication, the commune's code
 * as user). Shown once in *out; the store keeps its hash. */
static int
commune_secret(struct sq *q, const struct store_scope *sc, json_t *in,
               int foreign, json_t **out)
{
	const char *commune = target_commune(sc, in);
	char secret[CRYPTO_HEX256_LEN + 1], hash[CRYPTO_HEX256_LEN + 1];
	long long days, uses = 0, now = time(NULL), id;
	struct db_stmt *st;
	int rc;

	if (sc->commune[0] && sq_jstr(in, "commune") &&
	    strcmp(sq_jstr(in, "commune"), sc->commune) != 0)
		return STORE_DENIED;
	if (commune == NULL)
		return sq_invalid(out, "%s", "commune: required");
	if (opt_positive(in, "expires_days", 3660, &days) == -1 ||
	    (!foreign && opt_positive(in, "max_uses", 1000000, &uses) == -1))
		return sq_invalid(out, "%s",
		                  foreign ? "expires_days: expected 1 to 3660"
		                          : "expires_days and max_uses: "
		                            "expected positive whole numbers");
	if (crypto_token(secret) == -1)
		return STORE_ERR;
	crypto_sha256_hex(secret, hash);
	st = foreign ? sq_prep(q, "INSERT INTO foreign_creds(commune, hash,"
	                          " created, expires, label)"
	                          " VALUES (?, ?, ?, ?, ?) RETURNING id")
	             : sq_prep(q, "INSERT INTO enrol_secrets(commune, hash,"
	                          " created, expires, label, max_uses)"
	                          " VALUES (?, ?, ?, ?, ?, ?) RETURNING id");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, commune);
	db_bind_text(st, 2, hash);
	db_bind_int64(st, 3, now);
	if (days)
		db_bind_int64(st, 4, now + days * 86400);
	sq_bind_opt(st, 5, sq_jstr(in, "label"));
	if (uses)
		db_bind_int64(st, 6, uses);
	if ((rc = sq_insert_id(q, st, &id)) == STORE_CONFLICT)
		return unknown_commune(out);
	if (rc != STORE_OK)
		return rc;
	*out = foreign ? json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)id,
	                           "commune", commune, "user", commune,
	                           "password", secret)
	               : json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id,
	                           "commune", commune, "secret", secret);
	crypto_wipe(secret, sizeof(secret));
	return STORE_OK;
}

static int
token_create(struct sq *q, const struct store_scope *sc, json_t *in,
             json_t **out)
{
	const char *commune = json_string_value(json_object_get(in, "commune"));
	const char *label = json_string_value(json_object_get(in, "label"));
	int ro = json_is_true(json_object_get(in, "read_only"));
	char tok[CRYPTO_HEX256_LEN + 1], hash[CRYPTO_HEX256_LEN + 1];
	struct db_stmt *st;
	long long id;
	int rc;

	/* A commune's admin makes tokens for its own commune only, never
	 * intercommunal ones. */
	if (sc->commune[0] && (commune == NULL || strcmp(commune, sc->commune)))
		return STORE_DENIED;
	if (crypto_token(tok) == -1)
		return STORE_ERR;
	crypto_sha256_hex(tok, hash);
	st = sq_prep(q,
	             "INSERT INTO admin_tokens(hash, commune, created,"
	             " read_only, label) VALUES (?, ?, ?, ?, ?) RETURNING id");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, hash);
	sq_bind_opt(st, 2, commune);
	db_bind_int64(st, 3, time(NULL));
	db_bind_int64(st, 4, ro);
	sq_bind_opt(st, 5, label);
	if ((rc = sq_insert_id(q, st, &id)) == STORE_CONFLICT)
		return unknown_commune(out);
	if (rc != STORE_OK)
		return rc;
	*out = json_pack("{s:I, s:s?, s:b, s:s}", "id", (json_int_t)id,
	                 "commune", commune, "read_only", ro, "token", tok);
	crypto_wipe(tok, sizeof(tok));
	return STORE_OK;
}

/* Runs a revocation (sql binds ?1 id, ?2 scope commune). */
static int
revoke(struct sq *q, const char *sql, json_t *in, const struct store_scope *sc)
{
	json_t *id = json_object_get(in, "id");
	struct db_stmt *st = sq_prep(q, sql);
	int rc;

	if (st == NULL)
		return STORE_ERR;
	if (json_is_integer(id))
		db_bind_int64(st, 1, json_integer_value(id));
	else
		sq_bind_opt(st, 1, json_string_value(id));
	db_bind_text(st, 2, sc->commune);
	rc = sq_step_done(q, st);
	if (rc == STORE_OK && db_changes(q->db) == 0)
		return STORE_NOTFOUND;
	return rc;
}

/* Takes an agent out of service: revoked (its token stops working and it
 * may not enrol again) or, with ADM_AGENT_RETIRE, retired (the same,
 * its PC taken out of service). Either records when, the first time;
 * the machine stops counting as installed from that day
 * (docs/LICENCES.md, "Lifecycle"). A commune's admin reaches its own
 * commune's agents only: any other is STORE_NOTFOUND. *out: {agent_id,
 * hostname, commune, revoked_at or retired_at}. */
static int
agent_out(struct sq *q, enum store_admin_op op, const struct store_scope *sc,
          json_t *in, json_t **out)
{
	const char *id = json_string_value(json_object_get(in, "id"));
	int retire = op == ADM_AGENT_RETIRE, r, rc;
	struct db_stmt *st;

	if (id == NULL)
		return STORE_NOTFOUND;
	/* ?4: 1 to retire, 0 to revoke */
	st =
	    sq_prep(q, "UPDATE agents SET revoked = 1, token_hash = NULL,"
	               " revoked_at = CASE WHEN ?4 = 0"
	               "  THEN coalesce(revoked_at, ?3) ELSE revoked_at END,"
	               " retired_at = CASE WHEN ?4 = 1"
	               "  THEN coalesce(retired_at, ?3) ELSE retired_at END"
	               " WHERE agent_id = ?1 AND (?2 = '' OR commune = ?2)"
	               " RETURNING agent_id, hostname, commune,"
	               " CASE WHEN ?4 = 1 THEN retired_at ELSE revoked_at END");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, sc->commune);
	db_bind_int64(st, 3, time(NULL));
	db_bind_int64(st, 4, retire);
	if ((r = db_step(st)) == DB_ROW) {
		*out = json_pack(
		    "{s:s, s:s, s:s, s:o}", "agent_id", db_column_text(st, 0),
		    "hostname", db_column_text(st, 1), "commune",
		    db_column_text(st, 2), retire ? "retired_at" : "revoked_at",
		    sq_iso(st, 3));
		r = db_step(st); /* one row: an agent id is a key */
	}
	rc = sq_done(q, r);
	db_finalize(st);
	if (rc != STORE_OK) {
		json_decref(*out);
		*out = NULL;
		return rc;
	}
	return *out ? STORE_OK : STORE_NOTFOUND;
}

/* agent_move()'s arguments and answer, through sq_tx(). */
struct move {
	const char *id, *to;
	json_t **out;
	int rc;
};

static int
move_run(struct sq *q, void *arg)
{
	struct move *m = arg;
	struct db_stmt *st;
	long long now = time(NULL);
	int r;

	json_decref(*m->out); /* a retried transaction starts again */
	*m->out = NULL;
	m->rc = STORE_OK;
	st = sq_prep(q, "SELECT a.commune, a.hostname, a.revoked,"
	                " (SELECT count(*) FROM communes WHERE code = ?2)"
	                " FROM agents a WHERE a.agent_id = ?1");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, m->id);
	db_bind_text(st, 2, m->to);
	if ((r = db_step(st)) != DB_ROW) {
		db_finalize(st);
		return r == DB_DONE ? (m->rc = STORE_NOTFOUND) : STORE_ERR;
	}
	*m->out = json_pack("{s:s, s:s?, s:s, s:s}", "agent_id", m->id,
	                    "hostname", db_column_text(st, 1), "commune", m->to,
	                    "from_commune", db_column_text(st, 0));
	if (db_column_int64(st, 3) == 0)
		m->rc = unknown_commune(m->out);
	else if (db_column_int64(st, 2) != 0)
		m->rc = sq_invalid(m->out,
		                   "machine %s is revoked or retired: "
		                   "it does not move",
		                   m->id);
	else if (strcmp(db_column_text(st, 0), m->to) == 0)
		m->rc =
		    sq_invalid(m->out, "machine %s is in commune %s already",
		               m->id, m->to);
	db_finalize(st);
	if (m->rc != STORE_OK)
		return STORE_OK; /* a refusal: nothing written */
	json_object_set_new(*m->out, "moved_at", json_integer(now));
	st = sq_prep(q, "INSERT INTO moves(agent_id, at, day, from_commune,"
	                " to_commune) VALUES (?1, ?2, ?3, ?4, ?5)");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, m->id);
	db_bind_int64(st, 2, now);
	db_bind_int64(st, 3, cal_day(now));
	db_bind_text(st, 4, sq_jstr(*m->out, "from_commune"));
	db_bind_text(st, 5, m->to);
	if (sq_step_done(q, st) != STORE_OK)
		return STORE_ERR;
	st = sq_prep(q, "UPDATE agents SET commune = ?2, former = CASE"
	                " WHEN former = '' THEN ?3 ELSE former || ',' || ?3 END"
	                " WHERE agent_id = ?1");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, m->id);
	db_bind_text(st, 2, m->to);
	db_bind_text(st, 3, sq_jstr(*m->out, "from_commune"));
	return sq_step_done(q, st);
}

/* Moves an agent's machine to another commune (docs/LICENCES.md,
 * "Lifecycle"): from now on it counts there, and its usage is booked
 * there; what it did before stays with the commune it was in. The move
 * is recorded (moves) and the agent keeps its identity and token. */
static int
agent_move(struct sq *q, json_t *in, json_t **out)
{
	struct move m = {json_string_value(json_object_get(in, "id")),
	                 json_string_value(json_object_get(in, "commune")), out,
	                 STORE_OK};
	char when[32];
	int rc;

	if (m.id == NULL)
		return STORE_NOTFOUND;
	if (m.to == NULL)
		return sq_invalid(out, "%s",
		                  "commune: expected a commune code");
	if ((rc = sq_tx(q, 1, move_run, &m)) != STORE_OK || m.rc != STORE_OK) {
		if (rc != STORE_OK || m.rc == STORE_NOTFOUND) {
			json_decref(*out);
			*out = NULL;
		}
		return rc != STORE_OK ? rc : m.rc;
	}
	util_isotime(
	    (time_t)json_integer_value(json_object_get(*out, "moved_at")), when,
	    sizeof(when));
	json_object_set_new(*out, "moved_at", json_string(when));
	return STORE_OK;
}

static int
list(struct sq *q, const char *sql, const struct store_scope *sc,
     long long since, json_t **out)
{
	struct db_stmt *st = sq_prep(q, sql);
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, sc->commune);
	db_bind_int64(st, 2, since);
	rc = sq_rows(q, st, out);
	db_finalize(st);
	return rc;
}

/* The audit log's retention in days (meta audit_retention_days), 0 when
 * none was set: kept for ever. -1 on a database failure. */
static long long
audit_retention(struct sq *q)
{
	struct db_stmt *st = sq_prep(
	    q, "SELECT value FROM meta WHERE key = 'audit_retention_days'");
	long long days = 0;
	int r;

	if (st == NULL)
		return -1;
	if ((r = db_step(st)) == DB_ROW &&
	    util_parse_ll(db_column_text(st, 0), 0, 3660, &days) == -1)
		days = 0;
	db_finalize(st);
	return r == DB_ROW || r == DB_DONE ? days : -1;
}

/* Deletes the audit entries before cutoff and audits that, in one
 * transaction, as the engine allows (engine.h). *n: rows deleted. */
static int
audit_purge(struct sq *q, long long cutoff, long long actor, const char *why,
            long long *n)
{
	return engine_of(q->db)->purge_audit(q, cutoff, actor, why, n);
}

/* A YYYY-MM-DD date as the instant its local day begins; -1 if d is
 * not a real date from 1970 on. */
static long long
date_epoch(const char *d)
{
	long long day;

	return cal_parse(d, &day) == 0 && day >= 0 ? cal_start(day) : -1;
}

/* The audit log's retention: shown to any admin, set (and applied at
 * once) or a purge run by the intercommunal admin only (store.c's table
 * of operations says so); the server applies it at start and daily
 * (ADM_AUDIT_RETAIN, store_maintain). */
static int
audit_admin(struct sq *q, enum store_admin_op op, const struct store_scope *sc,
            json_t *in, json_t **out)
{
	long long days, cutoff, n = 0, now = time(NULL);
	char why[160], when[32], value[32];
	json_t *j = json_object_get(in, "days");
	struct db_stmt *st;

	if ((days = audit_retention(q)) < 0)
		return STORE_ERR;
	switch (op) {
	case ADM_AUDIT_POLICY:
		*out = json_pack("{s:I}", "retention_days", (json_int_t)days);
		return STORE_OK;
	case ADM_AUDIT_RETAIN: /* the server's own, daily */
		if (days == 0)
			return STORE_OK;
		cutoff = now - days * 86400;
		st = sq_prep(q, "SELECT count(*) FROM audit WHERE at < ?");
		if (st == NULL)
			return STORE_ERR;
		db_bind_int64(st, 1, cutoff);
		n = db_step(st) == DB_ROW ? db_column_int64(st, 0) : -1;
		db_finalize(st);
		if (n <= 0)
			return n == 0 ? STORE_OK : STORE_ERR;
		snprintf(why, sizeof(why),
		         "retention of %lld days, applied by the server", days);
		return audit_purge(q, cutoff, 0, why, &n);
	case ADM_AUDIT_RETENTION:
		if (!json_is_integer(j) || json_integer_value(j) < 0 ||
		    json_integer_value(j) > 3660)
			return sq_invalid(out, "%s",
			                  "days: expected 0 (keep everything) "
			                  "to 3660");
		days = json_integer_value(j);
		st = sq_prep(q, "INSERT INTO meta(key, value)"
		                " VALUES ('audit_retention_days', ?1)"
		                " ON CONFLICT(key) DO UPDATE"
		                " SET value = excluded.value");
		if (st == NULL)
			return STORE_ERR;
		snprintf(value, sizeof(value), "%lld", days);
		db_bind_text(st, 1, value);
		if (sq_step_done(q, st) != STORE_OK)
			return STORE_ERR;
		snprintf(why, sizeof(why),
		         "audit log retention set to %lld days%s by admin "
		         "token %lld",
		         days, days ? "" : " (kept for ever)", sc->token_id);
		if (acc_audit(q, sc->token_id, "", "retention", why) !=
		    STORE_OK)
			return STORE_ERR;
		if (days > 0 && audit_purge(q, now - days * 86400, sc->token_id,
		                            why, &n) != STORE_OK)
			return STORE_ERR;
		*out = json_pack("{s:I, s:I}", "retention_days",
		                 (json_int_t)days, "purged", (json_int_t)n);
		return STORE_OK;
	case ADM_AUDIT_PURGE:
		cutoff = date_epoch(
		    json_string_value(json_object_get(in, "before")));
		if (cutoff < 0 || cutoff > now)
			return sq_invalid(out, "%s",
			                  "before: expected a date YYYY-MM-DD, "
			                  "today at the latest");
		snprintf(why, sizeof(why), "purge asked by admin token %lld",
		         sc->token_id);
		if (audit_purge(q, cutoff, sc->token_id, why, &n) != STORE_OK)
			return STORE_ERR;
		util_datetime((time_t)cutoff, when, sizeof(when));
		*out = json_pack("{s:I, s:s}", "purged", (json_int_t)n,
		                 "before", when);
		return STORE_OK;
	default:
		return STORE_ERR;
	}
}

int
acc_admin(struct sq *q, enum store_admin_op op, const struct store_scope *sc,
          json_t *in, json_t **out)
{
	long long days;

	*out = NULL;
	switch (op) {
	case ADM_AUDIT_POLICY:
	case ADM_AUDIT_RETAIN:
	case ADM_AUDIT_RETENTION:
	case ADM_AUDIT_PURGE:
		return audit_admin(q, op, sc, in, out);
	case ADM_SECRET_CREATE:
		return commune_secret(q, sc, in, 0, out);
	case ADM_TOKEN_CREATE:
		return token_create(q, sc, in, out);
	case ADM_FOREIGN_CREATE:
		return commune_secret(q, sc, in, 1, out);
	case ADM_FOREIGN_LIST:
		return list(q,
		            "SELECT id, commune, label, created, expires,"
		            " uses, last_used, revoked FROM foreign_creds"
		            " WHERE (?1 = '' OR commune = ?1) AND ?2 >= 0"
		            " ORDER BY id",
		            sc, 0, out);
	case ADM_FOREIGN_REVOKE:
		return revoke(q,
		              "UPDATE foreign_creds SET revoked = 1"
		              " WHERE id = ?1 AND (?2 = '' OR commune = ?2)",
		              in, sc);
	case ADM_SECRET_LIST:
		return list(q,
		            "SELECT id, commune, label, created, expires,"
		            " max_uses, uses, revoked FROM enrol_secrets"
		            " WHERE (?1 = '' OR commune = ?1) AND ?2 >= 0"
		            " ORDER BY id",
		            sc, 0, out);
	case ADM_TOKEN_LIST:
		return list(q,
		            "SELECT id, commune, label, read_only, created,"
		            " revoked FROM admin_tokens"
		            " WHERE (?1 = '' OR commune = ?1) AND ?2 >= 0"
		            " ORDER BY id",
		            sc, 0, out);
	case ADM_SECRET_REVOKE:
		return revoke(q,
		              "UPDATE enrol_secrets SET revoked = 1"
		              " WHERE id = ?1 AND (?2 = '' OR commune = ?2)",
		              in, sc);
	case ADM_TOKEN_REVOKE:
		return revoke(q,
		              "UPDATE admin_tokens SET revoked = 1"
		              " WHERE id = ?1 AND (?2 = '' OR commune = ?2)",
		              in, sc);
	case ADM_AGENT_REVOKE:
	case ADM_AGENT_RETIRE:
		return agent_out(q, op, sc, in, out);
	case ADM_AGENT_MOVE:
		return agent_move(q, in, out);
	case ADM_AUDIT_LIST:
		if (opt_positive(in, "days", 3660, &days) == -1)
			return sq_invalid(out, "%s",
			                  "days: expected 1 to 3660");
		return list(q,
		            "SELECT id, datetime(at, 'unixepoch') AS at, actor,"
		            " commune, action, detail FROM audit"
		            " WHERE (?1 = '' OR commune = ?1) AND at >= ?2"
		            " ORDER BY id DESC LIMIT 10000",
		            sc, time(NULL) - (days ? days : 30) * 86400, out);
	case ADM_GAPS_LIST:
		if (opt_positive(in, "days", 3660, &days) == -1)
			return sq_invalid(out, "%s",
			                  "days: expected 1 to 3660");
		return list(
		    q,
		    "SELECT g.agent_id, a.hostname, g.commune, g.reason,"
		    " g.epoch, g.first_seq, g.last_seq, g.records,"
		    " g.from_t AS \"from\", g.to_t AS \"to\", g.detail,"
		    " datetime(g.received, 'unixepoch') AS received"
		    " FROM gaps g JOIN agents a USING (agent_id)"
		    " WHERE (?1 = '' OR g.commune = ?1)"
		    " AND g.received >= ?2 ORDER BY g.id LIMIT 100000",
		    sc, time(NULL) - (days ? days : 30) * 86400, out);
	default:
		return STORE_ERR;
	}
}

/* Each field of an audit entry keeps at most this many bytes (whole
 * UTF-8 characters), then says how long it was: a request can make an
 * entry no larger than about 1.2 KB (docs/SECURITY.md, "Audit log
 * flooding"). */
#define AUDIT_COMMUNE_MAX 16
#define AUDIT_ACTION_MAX  32
#define AUDIT_DETAIL_MAX  1024
#define AUDIT_NOTE_MAX    64 /* "...(truncated, 1,234,567,890 bytes)" */

/* n with thousands separators ("30,000"). */
static void
thousands(size_t n, char *out, size_t len)
{
	char digits[24];
	size_t i, o = 0, k;

	k = (size_t)snprintf(digits, sizeof(digits), "%zu", n);
	for (i = 0; i < k && o + 2 < len; i++) {
		if (i > 0 && (k - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

/* in as the audit log keeps it, in out (max + AUDIT_NOTE_MAX bytes): at
 * most max bytes of whole characters, control characters and bytes that
 * are not UTF-8 as '?' (PostgreSQL would refuse the entry), and when cut
 * "...(truncated, N bytes)" after. */
static void
audit_field(const char *in, size_t max, char *out)
{
	const unsigned char *s = (const unsigned char *)(in ? in : "");
	size_t o = 0, len, total = strlen((const char *)s);
	char num[32];

	while (*s) {
		len = utf8_len(s);
		if (o + (len ? len : 1) > max)
			break;
		if (len == 0 || (len == 1 && (*s < 0x20 || *s == 0x7f))) {
			out[o++] = '?';
			s++;
			continue;
		}
		memcpy(out + o, s, len);
		o += len;
		s += len;
	}
	out[o] = '\0';
	if (*s) {
		thousands(total, num, sizeof(num));
		snprintf(out + o, AUDIT_NOTE_MAX,
		         "\xe2\x80\xa6(truncated, %s bytes)", num);
	}
}

int
acc_audit(struct sq *q, long long actor, const char *commune,
          const char *action, const char *detail)
{
	char c[AUDIT_COMMUNE_MAX + AUDIT_NOTE_MAX];
	char a[AUDIT_ACTION_MAX + AUDIT_NOTE_MAX];
	char d[AUDIT_DETAIL_MAX + AUDIT_NOTE_MAX];
	struct db_stmt *st =
	    sq_prep(q, "INSERT INTO audit(at, actor, commune,"
	               " action, detail) VALUES (?, ?, ?, ?, ?)");

	if (st == NULL)
		return STORE_ERR;
	audit_field(commune, AUDIT_COMMUNE_MAX, c);
	audit_field(action, AUDIT_ACTION_MAX, a);
	audit_field(detail, AUDIT_DETAIL_MAX, d);
	db_bind_int64(st, 1, time(NULL));
	db_bind_int64(st, 2, actor);
	db_bind_text(st, 3, c);
	db_bind_text(st, 4, a);
	db_bind_text(st, 5, d);
	return sq_step_done(q, st);
}
