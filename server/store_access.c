/*
 * store_access: access control of the SQLite backend: enrolment secrets
 * with lifetimes, admin tokens with scopes and roles, agent revocation,
 * and the append-only audit log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "store_sql.h"
#include "util.h"

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

static int
secret_create(struct sq *q, const struct store_scope *sc, json_t *in,
              json_t **out)
{
	const char *commune = target_commune(sc, in);
	const char *label = json_string_value(json_object_get(in, "label"));
	char secret[CRYPTO_HEX256_LEN + 1], hash[CRYPTO_HEX256_LEN + 1];
	long long days, uses, now = time(NULL), id;
	struct db_stmt *st;
	int rc;

	if (sc->commune[0] &&
	    json_string_value(json_object_get(in, "commune")) &&
	    strcmp(json_string_value(json_object_get(in, "commune")),
	           sc->commune) != 0)
		return STORE_DENIED;
	if (commune == NULL)
		return sq_invalid(out, "%s", "commune: required");
	if (opt_positive(in, "expires_days", 3660, &days) == -1 ||
	    opt_positive(in, "max_uses", 1000000, &uses) == -1)
		return sq_invalid(out, "%s",
		                  "expires_days and max_uses: expected "
		                  "positive whole numbers");
	if (crypto_token(secret) == -1)
		return STORE_ERR;
	crypto_sha256_hex(secret, hash);
	st = sq_prep(q, "INSERT INTO enrol_secrets(commune, hash, created,"
	                " expires, max_uses, label) VALUES (?, ?, ?, ?, ?, ?)"
	                " RETURNING id");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, commune);
	db_bind_text(st, 2, hash);
	db_bind_int64(st, 3, now);
	if (days)
		db_bind_int64(st, 4, now + days * 86400);
	if (uses)
		db_bind_int64(st, 5, uses);
	sq_bind_opt(st, 6, label);
	if ((rc = sq_insert_id(q, st, &id)) == STORE_CONFLICT)
		return sq_invalid(out, "%s", "commune: unknown commune");
	if (rc != STORE_OK)
		return rc;
	*out = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "commune",
	                 commune, "secret", secret);
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
		return sq_invalid(out, "%s", "commune: unknown commune");
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

static int
list(struct sq *q, const char *sql, const struct store_scope *sc,
     long long since, json_t **out)
{
	struct db_stmt *st = sq_prep(q, sql);

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, sc->commune);
	db_bind_int64(st, 2, since);
	*out = sq_rows(st);
	db_finalize(st);
	return STORE_OK;
}

int
acc_admin(void *b, enum store_admin_op op, const struct store_scope *sc,
          json_t *in, json_t **out)
{
	struct sq *q = b;
	long long days;

	*out = NULL;
	if (sc->read_only && op != ADM_SECRET_LIST && op != ADM_TOKEN_LIST &&
	    op != ADM_AUDIT_LIST && op != ADM_GAPS_LIST)
		return STORE_DENIED;
	switch (op) {
	case ADM_SECRET_CREATE:
		return secret_create(q, sc, in, out);
	case ADM_TOKEN_CREATE:
		return token_create(q, sc, in, out);
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
		return revoke(q,
		              "UPDATE agents SET revoked = 1, token_hash = NULL"
		              " WHERE agent_id = ?1"
		              " AND (?2 = '' OR commune = ?2)",
		              in, sc);
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

int
acc_audit(void *b, long long actor, const char *commune, const char *action,
          const char *detail)
{
	struct sq *q = b;
	struct db_stmt *st =
	    sq_prep(q, "INSERT INTO audit(at, actor, commune,"
	               " action, detail) VALUES (?, ?, ?, ?, ?)");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, time(NULL));
	db_bind_int64(st, 2, actor);
	db_bind_text(st, 3, commune ? commune : "");
	db_bind_text(st, 4, action);
	db_bind_text(st, 5, detail ? detail : "");
	return sq_step_done(q, st);
}
