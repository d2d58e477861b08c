/*
 * entitle: entitlements (the licences a commune or a pool holds, with
 * their metric, quantity, costs and term) and pools (communes sharing
 * entitlements, with the formula that splits their costs), as the admin
 * operations list and change them (docs/LICENCES.md).
 */
#include "entitle.h"
#include "stat.h"

#include "cal.h"

#include <stdio.h>
#include <string.h>

#include "norm.h"
#include "share.h"

#define KEY_MAX 64

static const char ent_cols[] =
    "SELECT e.id, e.product, p.name AS product_name, e.commune, e.pool,"
    " e.metric, e.quantity, e.unit_cost AS unit_cost_cents,"
    " e.total_cost AS total_cost_cents, e.start_date, e.end_date,"
    " e.contract FROM entitlements e JOIN products p ON p.key = e.product";

static int
ent_list(struct sq *q, const struct store_scope *sc, json_t **out)
{
	char sql[512];
	struct db_stmt *st;
	int rc;

	snprintf(sql, sizeof(sql),
	         "%s WHERE ?1 = '' OR e.commune = ?1 OR e.pool IN"
	         " (SELECT pool FROM pool_members WHERE commune = ?1)"
	         " ORDER BY e.product, e.id",
	         ent_cols);
	json_t *e;
	size_t i;

	if ((st = sq_prep(q, sql)) == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, sc->commune);
	rc = sq_rows(q, st, out);
	db_finalize(st);
	if (rc != STORE_OK)
		return rc;
	json_array_foreach(*out, i, e)
	{
		share_add_eur(e, "unit_cost");
		share_add_eur(e, "total_cost");
	}
	return STORE_OK;
}

static int
valid_date(const char *d)
{
	long long n;

	return d == NULL || cal_parse(d, &n) == 0;
}

/* A cost given in euros ("<key>_eur": an exact decimal, string or JSON
 * number) becomes "<key>_cents"; -1 if it is not an amount of euros and
 * cents, or if both forms are given. */
static int
cost_cents(json_t *e, const char *key)
{
	char cn[32], en[32];
	json_t *c, *eur;
	long long v;

	snprintf(cn, sizeof(cn), "%s_cents", key);
	snprintf(en, sizeof(en), "%s_eur", key);
	c = json_object_get(e, cn);
	eur = json_object_get(e, en);
	if (eur == NULL || json_is_null(eur))
		return 0;
	if ((c != NULL && !json_is_null(c)) ||
	    share_json_decimal(eur, MONEY_SCALE, MONEY_MAX, &v) == -1)
		return -1;
	json_object_set_new(e, cn, json_integer(v));
	return 0;
}

static int
opt_int(json_t *o, const char *key, long long min, long long max, int *set,
        long long *v)
{
	json_t *j = json_object_get(o, key);

	*set = j != NULL && !json_is_null(j);
	if (!*set)
		return 0;
	if (!json_is_integer(j))
		return -1;
	*v = json_integer_value(j);
	return *v < min || *v > max ? -1 : 0;
}

/* Checks an entitlement and whether the scope may hold it. */
static int
ent_check(json_t *e, const struct store_scope *sc, json_t **out)
{
	static const char *const metrics[] = {"device", "user", "concurrent",
	                                      "site", NULL};
	const char *commune = sq_jstr(e, "commune"), *pool = sq_jstr(e, "pool");
	const char *metric = sq_jstr(e, "metric");
	long long v;
	int i, set;

	if (!json_is_object(e))
		return sq_invalid(out, "entitlement: expected an object");
	if (!norm_valid_key(sq_jstr(e, "product")))
		return sq_invalid(out,
		                  "product: expected a catalogue product key");
	if ((commune == NULL) == (pool == NULL))
		return sq_invalid(out, "give one holder: commune or pool");
	if (sc->commune[0] && (pool || strcmp(commune, sc->commune) != 0))
		return sq_invalid(out,
		                  "this token may only manage entitlements "
		                  "held by commune %s",
		                  sc->commune);
	for (i = 0; metrics[i] && (!metric || strcmp(metric, metrics[i])); i++)
		;
	if (metrics[i] == NULL)
		return sq_invalid(out,
		                  "metric: expected device, user, concurrent "
		                  "or site");
	if (opt_int(e, "quantity", 0, 10000000, &set, &v) == -1 || !set)
		return sq_invalid(out, "quantity: expected 0 to 10000000");
	if (cost_cents(e, "unit_cost") == -1 ||
	    cost_cents(e, "total_cost") == -1)
		return sq_invalid(out,
		                  "costs: give unit_cost_eur or total_cost_eur"
		                  " as euros with at most two decimals, e.g."
		                  " \"3600.10\" (or *_cents as whole cents,"
		                  " not both)");
	if (opt_int(e, "unit_cost_cents", 0, 1LL << 40, &set, &v) == -1 ||
	    opt_int(e, "total_cost_cents", 0, 1LL << 40, &set, &v) == -1)
		return sq_invalid(out,
		                  "costs: expected whole cents, 0 or more");
	if (!valid_date(sq_jstr(e, "start_date")) ||
	    !valid_date(sq_jstr(e, "end_date")))
		return sq_invalid(out, "dates: expected YYYY-MM-DD");
	if (sq_jstr(e, "start_date") && sq_jstr(e, "end_date") &&
	    strcmp(sq_jstr(e, "start_date"), sq_jstr(e, "end_date")) > 0)
		return sq_invalid(out, "dates: end_date before start_date");
	if (sq_jstr(e, "contract") && strlen(sq_jstr(e, "contract")) > 256)
		return sq_invalid(out, "contract: at most 256 characters");
	return STORE_OK;
}

static void
bind_int_opt(struct db_stmt *st, int i, json_t *v)
{
	if (json_is_integer(v))
		db_bind_int64(st, i, json_integer_value(v));
	else
		db_bind_null(st, i);
}

static int
ent_write(struct sq *q, json_t *e, long long id, json_t **out)
{
	struct db_stmt *st;
	int rc;

	st = sq_prep(q, id > 0
	                    ? "UPDATE entitlements SET product = ?1,"
	                      " commune = ?2, pool = ?3, metric = ?4,"
	                      " quantity = ?5, unit_cost = ?6,"
	                      " total_cost = ?7, start_date = ?8,"
	                      " end_date = ?9, contract = ?10"
	                      " WHERE id = ?11"
	                    : "INSERT INTO entitlements(product, commune,"
	                      " pool, metric, quantity, unit_cost, total_cost,"
	                      " start_date, end_date, contract)"
	                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
	                      " ?10)");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, sq_jstr(e, "product"));
	sq_bind_opt(st, 2, sq_jstr(e, "commune"));
	sq_bind_opt(st, 3, sq_jstr(e, "pool"));
	db_bind_text(st, 4, sq_jstr(e, "metric"));
	bind_int_opt(st, 5, json_object_get(e, "quantity"));
	bind_int_opt(st, 6, json_object_get(e, "unit_cost_cents"));
	bind_int_opt(st, 7, json_object_get(e, "total_cost_cents"));
	sq_bind_opt(st, 8, sq_jstr(e, "start_date"));
	sq_bind_opt(st, 9, sq_jstr(e, "end_date"));
	sq_bind_opt(st, 10, sq_jstr(e, "contract"));
	if (id > 0)
		db_bind_int64(st, 11, id);
	rc = sq_step_done(q, st);
	if (rc == STORE_CONFLICT)
		return sq_invalid(out,
		                  "unknown product, commune or pool in "
		                  "entitlement for '%s'",
		                  sq_jstr(e, "product"));
	if (rc == STORE_OK && id > 0 && db_changes(q->db) == 0)
		return STORE_NOTFOUND;
	return rc;
}

/* May the scope change entitlement id? */
static int
ent_owned(struct sq *q, const struct store_scope *sc, long long id)
{
	struct db_stmt *st = sq_prep(q, "SELECT coalesce(commune, '')"
	                                " FROM entitlements WHERE id = ?");
	int rc = STORE_NOTFOUND, r;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, id);
	if ((r = db_step(st)) == DB_ROW)
		rc = sc->commune[0] == '\0' ||
		             strcmp(db_column_text(st, 0), sc->commune) == 0
		         ? STORE_OK
		         : STORE_NOTFOUND; /* another commune's: not shown */
	else if (sq_done(q, r) != STORE_OK)
		rc = STORE_ERR; /* a failed query is not a missing row */
	db_finalize(st);
	return rc;
}

static int
ent_change(struct sq *q, enum store_admin_op op, const struct store_scope *sc,
           json_t *in, json_t **out)
{
	json_t *list =
	    json_is_array(in) ? json_incref(in) : json_pack("[O]", in);
	json_t *e, *jid = json_object_get(in, "id");
	long long id = json_is_integer(jid) ? json_integer_value(jid) : 0;
	size_t i;
	int rc = STORE_OK;

	if (op != ADM_ENT_ADD && id <= 0)
		rc = sq_invalid(out, "id: expected an entitlement id");
	else if (op != ADM_ENT_ADD)
		rc = ent_owned(q, sc, id);
	if (rc != STORE_OK || sq_begin(q) == -1) {
		json_decref(list);
		return rc == STORE_OK ? STORE_ERR : rc;
	}
	if (op == ADM_ENT_DELETE) {
		struct db_stmt *st = sq_prep(q, "DELETE FROM entitlements"
		                                " WHERE id = ?");
		if (st)
			db_bind_int64(st, 1, id);
		rc = sq_step_done(q, st);
	} else
		json_array_foreach(list, i, e)
		{
			if ((rc = ent_check(e, sc, out)) != STORE_OK ||
			    (rc = ent_write(q, e, op == ADM_ENT_UPDATE ? id : 0,
			                    out)) != STORE_OK) {
				if (rc == STORE_INVALID &&
				    json_array_size(list) > 1)
					sq_invalid(out, "entitlement %zu: %s",
					           i + 1,
					           sq_jstr(*out, "error"));
				break;
			}
		}
	json_decref(list);
	if ((rc = sq_end_tx(q, rc)) != STORE_OK)
		return rc;
	json_decref(*out);
	*out = NULL;
	return ent_list(q, sc, out);
}

static int
pool_list(struct sq *q, const struct store_scope *sc, json_t **out)
{
	struct db_stmt *st;
	int rc;

	st = sq_prep(q, "SELECT p.code, p.name, p.fixed_share_ppm, p.basis,"
	                " (SELECT json_group_array(commune) FROM"
	                "  (SELECT commune FROM pool_members m"
	                "   WHERE m.pool = p.code ORDER BY commune) AS t)"
	                " AS members FROM pools p"
	                " WHERE ?1 = '' OR p.code IN (SELECT pool FROM"
	                " pool_members WHERE commune = ?1) ORDER BY p.code");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, sc->commune);
	rc = sq_rows(q, st, out);
	db_finalize(st);
	if (rc != STORE_OK)
		return rc;
	{
		json_t *p;
		size_t i;

		json_array_foreach(*out, i, p)
		{
			json_object_set_new(
			    p, "members",
			    json_loads(sq_jstr(p, "members"), 0, NULL));
			json_object_set_new(
			    p, "fixed_share",
			    share_json(json_integer_value(json_object_get(
			                   p, "fixed_share_ppm")),
			               SHARE_SCALE));
		}
	}
	return STORE_OK;
}

static int
pool_write(struct sq *q, json_t *in, json_t **out)
{
	const char *code = sq_jstr(in, "code"), *name = sq_jstr(in, "name");
	const char *basis = sq_jstr(in, "basis");
	json_t *members = json_object_get(in, "members"), *m;
	json_t *fs = json_object_get(in, "fixed_share");
	long long ppm = 0;
	struct db_stmt *st;
	size_t i;
	int rc;

	if (!norm_valid_key(code))
		return sq_invalid(
		    out, "code: expected 1 to %d of a-z 0-9 - _ .", KEY_MAX);
	if (name == NULL || *name == '\0')
		return sq_invalid(out, "name: required");
	if (!json_is_array(members) || json_array_size(members) == 0)
		return sq_invalid(out, "members: expected a list of communes");
	if (fs && !json_is_null(fs) &&
	    share_json_decimal(fs, SHARE_SCALE, 1000000, &ppm) == -1)
		return sq_invalid(out,
		                  "fixed_share: expected a decimal from 0 to 1"
		                  " with at most 6 decimals, e.g. \"0.35\"");
	if (basis && strcmp(basis, "hours") && strcmp(basis, "peak") &&
	    strcmp(basis, "installs"))
		return sq_invalid(out,
		                  "basis: expected hours, peak or installs");
	st = sq_prep(q, "INSERT INTO pools(code, name, fixed_share_ppm, basis)"
	                " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(code) DO UPDATE"
	                " SET name = ?2, fixed_share_ppm = ?3, basis = ?4");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, code);
	db_bind_text(st, 2, name);
	db_bind_int64(st, 3, ppm);
	db_bind_text(st, 4, basis ? basis : "hours");
	if ((rc = sq_step_done(q, st)) != STORE_OK)
		return rc;
	if ((st = sq_prep(q, "DELETE FROM pool_members WHERE pool = ?")) ==
	    NULL)
		return STORE_ERR;
	db_bind_text(st, 1, code);
	if ((rc = sq_step_done(q, st)) != STORE_OK)
		return rc;
	json_array_foreach(members, i, m)
	{
		st = sq_prep(q, "INSERT INTO pool_members(pool, commune)"
		                " VALUES (?, ?)");
		if (st == NULL)
			return STORE_ERR;
		db_bind_text(st, 1, code);
		sq_bind_opt(st, 2, json_string_value(m));
		if ((rc = sq_step_done(q, st)) == STORE_CONFLICT)
			return sq_invalid(out, "members[%zu]: unknown commune",
			                  i);
		if (rc != STORE_OK)
			return rc;
	}
	/* the pool's figures (stat.h) */
	return stat_mark_all(q);
}

int
entitle_admin(struct sq *q, enum store_admin_op op,
              const struct store_scope *sc, json_t *in, json_t **out)
{
	int rc;

	*out = NULL;
	switch (op) {
	case ADM_ENT_LIST:
		return ent_list(q, sc, out);
	case ADM_POOL_LIST:
		return pool_list(q, sc, out);
	case ADM_ENT_ADD:
	case ADM_ENT_UPDATE:
	case ADM_ENT_DELETE:
		return ent_change(q, op, sc, in, out);
	default:
		break;
	}
	/* The pools belong to the intercommunal service. */
	if (op != ADM_POOL_SET || sc->commune[0] != '\0')
		return STORE_DENIED;
	if (sq_begin(q) == -1)
		return STORE_ERR;
	if ((rc = sq_end_tx(q, pool_write(q, in, out))) != STORE_OK)
		return rc;
	return pool_list(q, sc, out);
}
