/*
 * store_licence: the licence domain of the SQLite backend: catalogue and
 * normalisation maps, entitlements and pools, and the compliance, reclaim,
 * cost-sharing and usage reports (docs/LICENCES.md).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "log.h"
#include "share.h"
#include "store_sql.h"
#include "util.h"

extern const char catalogue_default_json[];

#define KEY_MAX 64

static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* ---- catalogue ---------------------------------------------------- */

static int
valid_key(const char *k)
{
	size_t n = k ? strlen(k) : 0;

	return n > 0 && n <= KEY_MAX &&
	       strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789-_.") == n;
}

static int
put_product(struct sq *q, json_t *p, const char *origin, json_t **out)
{
	const char *key = jstr(p, "key"), *name = jstr(p, "name");
	json_t *sd = json_object_get(p, "seasonal_days");
	struct db_stmt *st;

	if (!valid_key(key))
		return sq_invalid(out,
		                  "product key '%s': expected 1 to %d of "
		                  "a-z 0-9 - _ .",
		                  key ? key : "", KEY_MAX);
	if (name == NULL || *name == '\0' || strlen(name) > 256)
		return sq_invalid(out,
		                  "product %s: name: expected 1 to 256 "
		                  "characters",
		                  key);
	if (sd && !json_is_null(sd) &&
	    (!json_is_integer(sd) || json_integer_value(sd) < 1 ||
	     json_integer_value(sd) > 3660))
		return sq_invalid(out,
		                  "product %s: seasonal_days: expected 1 to "
		                  "3660",
		                  key);
	st = sq_prep(q, "INSERT INTO products(key, name, publisher, edition,"
	                " family, free, category, seasonal_days, origin, sill)"
	                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
	                " ON CONFLICT(key) DO UPDATE SET name = ?2,"
	                " publisher = ?3, edition = ?4, family = ?5, free = ?6,"
	                " category = ?7, seasonal_days = ?8, origin = ?9,"
	                " sill = ?10");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, key);
	db_bind_text(st, 2, name);
	db_bind_text(st, 3, jstr(p, "publisher") ? jstr(p, "publisher") : "");
	db_bind_text(st, 4, jstr(p, "edition") ? jstr(p, "edition") : "");
	db_bind_text(st, 5, jstr(p, "family") ? jstr(p, "family") : "");
	db_bind_int64(st, 6, json_is_true(json_object_get(p, "free")));
	db_bind_text(st, 7, jstr(p, "category") ? jstr(p, "category") : "");
	if (json_is_integer(sd))
		db_bind_int64(st, 8, json_integer_value(sd));
	else
		db_bind_null(st, 8);
	db_bind_text(st, 9, origin);
	db_bind_int64(st, 10, json_is_true(json_object_get(p, "sill")));
	return sq_step_done(q, st);
}

/* A rule from its JSON form: field, glob|regex, product|ignore. */
static int
put_rule(struct sq *q, json_t *r, const char *origin, int priority,
         json_t **out)
{
	const char *field = jstr(r, "field"), *glob = jstr(r, "glob");
	const char *regex = jstr(r, "regex"), *product = jstr(r, "product");
	int ignore = json_is_true(json_object_get(r, "ignore"));
	json_t *prio = json_object_get(r, "priority");
	char err[256];
	struct db_stmt *st;
	int rc;

	if ((glob == NULL) == (regex == NULL))
		return sq_invalid(out, "rule: give one of glob or regex");
	if ((product == NULL) == !ignore)
		return sq_invalid(out, "rule: give a product, or ignore: true");
	if (catalogue_check(field ? field : "", glob ? "glob" : "regex",
	                    glob ? glob : regex, err, sizeof(err)) == -1)
		return sq_invalid(out, "rule: %s", err);
	if (json_is_integer(prio))
		priority = (int)json_integer_value(prio);
	st = sq_prep(q, "INSERT INTO rules(origin, priority, field, kind,"
	                " pattern, product) VALUES (?, ?, ?, ?, ?, ?)");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, origin);
	db_bind_int64(st, 2, priority);
	db_bind_text(st, 3, field);
	db_bind_text(st, 4, glob ? "glob" : "regex");
	db_bind_text(st, 5, glob ? glob : regex);
	sq_bind_opt(st, 6, product);
	rc = sq_step_done(q, st);
	if (rc == STORE_CONFLICT)
		return sq_invalid(out, "rule: unknown product '%s'", product);
	return rc;
}

static int
from_defaults(json_t *v)
{
	const char *o = jstr(v, "origin");

	return o != NULL && strcmp(o, "default") == 0;
}

/* Products and rules of a catalogue document, for one origin. Admin
 * rules keep their place after the ones already there. */
static int
put_catalogue(struct sq *q, json_t *doc, const char *origin, json_t **out)
{
	json_t *products = json_object_get(doc, "products");
	json_t *rules = json_object_get(doc, "rules"), *v;
	size_t i;
	int rc;

	if (!json_is_object(doc) || (products && !json_is_array(products)) ||
	    (rules && !json_is_array(rules)))
		return sq_invalid(out, "expected {\"products\": [...], "
		                       "\"rules\": [...]}");
	/* An exported catalogue marks the default entries: an admins'
	 * import takes only their own. */
	json_array_foreach(products, i, v)
	{
		if (strcmp(origin, "admin") == 0 && from_defaults(v))
			continue;
		if ((rc = put_product(q, v, origin, out)) != STORE_OK)
			return rc;
	}
	json_array_foreach(rules, i, v)
	{
		if (strcmp(origin, "admin") == 0 && from_defaults(v))
			continue;
		rc = put_rule(q, v, origin, (int)(1000 + i), out);
		if (rc != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

/* Ends a transaction by its outcome: COMMIT on STORE_OK, else ROLLBACK. */
static int
end_tx(struct sq *q, int rc)
{
	if (rc == STORE_OK)
		return sq_exec(q, "COMMIT") == 0 ? STORE_OK : STORE_ERR;
	sq_exec(q, "ROLLBACK");
	return rc;
}

/* Reads a meta value; -1 if absent. */
static int
meta_get(struct sq *q, const char *key, char *out, size_t n)
{
	struct db_stmt *st = sq_get(q, "SELECT value FROM meta WHERE key = ?1");
	int rc = -1;

	if (st == NULL)
		return -1;
	db_bind_text(st, 1, key);
	if (db_step(st) == DB_ROW)
		rc = util_strlcpy(out, db_column_text(st, 0), n);
	sq_put(q, st);
	return rc;
}

static int
meta_set(struct sq *q, const char *key, const char *value)
{
	struct db_stmt *st = sq_get(q, "INSERT INTO meta(key, value)"
	                               " VALUES (?1, ?2) ON CONFLICT(key)"
	                               " DO UPDATE SET value = excluded.value");

	if (st == NULL)
		return -1;
	db_bind_text(st, 1, key);
	db_bind_text(st, 2, value);
	return sq_step_put(q, st) == STORE_OK ? 0 : -1;
}

int
lic_install_defaults(struct sq *q)
{
	char digest[CRYPTO_HEX256_LEN + 1], have[CRYPTO_HEX256_LEN + 1];
	json_t *doc, *out = NULL;
	json_error_t jerr;
	int rc;

	doc = json_loads(catalogue_default_json, 0, &jerr);
	if (doc == NULL) {
		log_warnx("default catalogue: %s (line %d)", jerr.text,
		          jerr.line);
		return -1;
	}
	crypto_sha256_hex(catalogue_default_json, digest);
	if (meta_get(q, "default_catalogue", have, sizeof(have)) == 0 &&
	    strcmp(have, digest) == 0) {
		json_decref(doc);
		return lic_reload(q, 0); /* installed already */
	}
	if (sq_exec(q, "BEGIN IMMEDIATE") == -1) {
		json_decref(doc);
		return -1;
	}
	rc = sq_exec(q, "DELETE FROM rules WHERE origin = 'default'") == 0
	         ? put_catalogue(q, doc, "default", &out)
	         : STORE_ERR;
	if (rc == STORE_OK && meta_set(q, "default_catalogue", digest) == -1)
		rc = STORE_ERR;
	if (rc == STORE_INVALID)
		log_warnx("default catalogue: %s", jstr(out, "error"));
	json_decref(out);
	json_decref(doc);
	if (end_tx(q, rc) != STORE_OK)
		return -1;
	return lic_reload(q, 1);
}

/* Builds the catalogue from the rules table: admins' rules first. */
static struct catalogue *
load_rules(struct sq *q)
{
	struct catalogue *c = catalogue_new();
	struct db_stmt *st;
	char err[256];

	st = sq_prep(q, "SELECT field, kind, pattern, product FROM rules"
	                " ORDER BY origin = 'default', priority, id");
	if (c == NULL || st == NULL) {
		catalogue_free(c);
		db_finalize(st);
		return NULL;
	}
	while (db_step(st) == DB_ROW)
		if (catalogue_add(c, db_column_text(st, 0),
		                  db_column_text(st, 1), db_column_text(st, 2),
		                  db_column_text(st, 3), err,
		                  sizeof(err)) == -1)
			log_warnx("catalogue: rule skipped: %s", err);
	db_finalize(st);
	return c;
}

static int
map_insert(struct sq *q, const char *sql, const char *a, const char *b,
           struct norm n)
{
	struct db_stmt *st = sq_get(q, sql);

	if (st == NULL)
		return -1;
	db_bind_text(st, 1, a);
	db_bind_text(st, 2, b);
	sq_bind_opt(st, 3, n.ignored ? NULL : n.product);
	db_bind_int64(st, 4, n.ignored);
	return sq_step_put(q, st) == STORE_OK ? 0 : -1;
}

static int
map_exists(struct sq *q, const char *sql, const char *a, const char *b)
{
	struct db_stmt *st = sq_get(q, sql);
	int found;

	if (st == NULL)
		return -1;
	db_bind_text(st, 1, a);
	db_bind_text(st, 2, b);
	found = db_step(st) == DB_ROW;
	sq_put(q, st);
	return found;
}

/* FNV-1a over the map's name and the two parts of a key. */
static unsigned long long
key_hash(const char *map, const char *a, const char *b)
{
	const char *parts[] = {map, a, b};
	unsigned long long h = 1469598103934665603ULL;
	size_t i;
	const char *p;

	for (i = 0; i < 3; i++) {
		for (p = parts[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
	}
	return h ? h : 1;
}

/* Whether h is among the known keys; with add, makes it known. */
static int
seen(struct sq *q, unsigned long long h, int add)
{
	size_t i, k;

	for (k = 0; k < 8; k++) {
		i = (size_t)((h + k) % SQ_SEEN_SLOTS);
		if (q->seen[i] == h)
			return 1;
		if (q->seen[i] == 0)
			break;
	}
	if (add)
		q->seen[k < 8 ? i : (size_t)(h % SQ_SEEN_SLOTS)] = h;
	return 0;
}

void
lic_forget(struct sq *q)
{
	memset(q->seen, 0, sizeof(q->seen));
}

/* Checks a map for the key (a, b), whose key_hash() is h: 1 if mapped
 * already, or known mapped (no query then), 0 if not, -1 on failure. */
static int
mapped(struct sq *q, unsigned long long h, const char *exists, const char *a,
       const char *b)
{
	if (seen(q, h, 0))
		return 1;
	return map_exists(q, exists, a, b);
}

int
lic_map_software(struct sq *q, const char *name, const char *publisher)
{
	const char *pub = publisher ? publisher : "";
	unsigned long long h = key_hash("s", name, pub);
	int e = mapped(q, h,
	               "SELECT 1 FROM software_map WHERE name = ?"
	               " AND publisher = ?",
	               name, pub);

	if (e == 0 && map_insert(q,
	                         "INSERT INTO software_map(name, publisher,"
	                         " product, ignored) VALUES (?, ?, ?, ?)"
	                         " ON CONFLICT DO NOTHING",
	                         name, pub,
	                         catalogue_match(q->cat, name, pub, NULL)) == 0)
		e = 1;
	if (e == 1)
		seen(q, h, 1);
	return e == 1 ? 0 : -1;
}

int
lic_map_usage(struct sq *q, const char *product, const char *exe)
{
	unsigned long long h = key_hash("u", product, exe);
	int e = mapped(q, h,
	               "SELECT 1 FROM usage_map WHERE product = ?"
	               " AND exe = ?",
	               product, exe);

	if (e == 0 &&
	    map_insert(q,
	               "INSERT INTO usage_map(product, exe, norm,"
	               " ignored) VALUES (?, ?, ?, ?)"
	               " ON CONFLICT DO NOTHING",
	               product, exe,
	               catalogue_match(q->cat, product, NULL, exe)) == 0)
		e = 1;
	if (e == 1)
		seen(q, h, 1);
	return e == 1 ? 0 : -1;
}

/* Recomputes a whole map from the distinct raw keys: a rule change needs
 * no new data from the agents. */
static int
renormalise(struct sq *q)
{
	static const struct {
		const char *clear, *keys;
		int (*map)(struct sq *, const char *, const char *);
	} maps[] = {
	    {"DELETE FROM software_map",
	     "SELECT DISTINCT name, coalesce(publisher, '') FROM software",
	     lic_map_software},
	    {"DELETE FROM usage_map",
	     "SELECT DISTINCT product, exe FROM usage_daily", lic_map_usage},
	};
	struct db_stmt *st;
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(maps) / sizeof(maps[0]) && rc == 0; i++) {
		if (sq_exec(q, maps[i].clear) == -1 ||
		    (st = sq_prep(q, maps[i].keys)) == NULL)
			return -1;
		while (rc == 0 && db_step(st) == DB_ROW)
			rc = maps[i].map(q, db_column_text(st, 0),
			                 db_column_text(st, 1));
		db_finalize(st);
	}
	return rc;
}

/* The catalogue version: bumped at every change of the rules. */
static long long
catalogue_version(struct sq *q)
{
	char v[32];

	if (meta_get(q, "catalogue_version", v, sizeof(v)) == -1)
		return -1;
	return strtoll(v, NULL, 10);
}

int
lic_reload(struct sq *q, int renorm)
{
	struct catalogue *c = load_rules(q);
	int rc = 0;

	if (c == NULL)
		return -1;
	catalogue_free(q->cat);
	q->cat = c;
	lic_forget(q);
	if (!renorm) {
		q->cat_version = catalogue_version(q);
		return 0;
	}
	if (sq_exec(q, "BEGIN IMMEDIATE") == -1)
		return -1;
	rc = renormalise(q);
	if (rc == 0 && sq_exec(q, "UPDATE meta SET value ="
	                          " CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
	                          " WHERE key = 'catalogue_version'") == -1)
		rc = -1;
	if (end_tx(q, rc == 0 ? STORE_OK : STORE_ERR) != STORE_OK) {
		lic_forget(q); /* the maps written are rolled back */
		return -1;
	}
	q->cat_version = catalogue_version(q);
	return 0;
}

int
lic_fresh(struct sq *q)
{
	long long v;

	/* SQLite has one connection, which made any change itself. */
	if (db_kind(q->db) != DB_PGSQL)
		return 0;
	if ((v = catalogue_version(q)) < 0)
		return -1;
	return v == q->cat_version ? 0 : lic_reload(q, 0);
}

static json_t *
query_rows(struct sq *q, const char *sql)
{
	struct db_stmt *st = sq_prep(q, sql);
	json_t *rows;

	if (st == NULL)
		return NULL;
	rows = sq_rows(st);
	db_finalize(st);
	return rows;
}

static int
catalogue_export(struct sq *q, json_t **out)
{
	json_t *products, *rules, *r;
	size_t i;

	products =
	    query_rows(q, "SELECT key, name, publisher, edition, family,"
	                  " category, free = 1 AS free, sill = 1 AS sill,"
	                  " seasonal_days,"
	                  " origin FROM products ORDER BY key");
	rules = query_rows(q, "SELECT id, origin, priority, field, kind,"
	                      " pattern, product FROM rules"
	                      " ORDER BY origin = 'default', priority, id");
	if (products == NULL || rules == NULL) {
		json_decref(products);
		json_decref(rules);
		return STORE_ERR;
	}
	/* The import format: glob|regex and product|ignore. */
	json_array_foreach(rules, i, r)
	{
		json_object_set(r, jstr(r, "kind"),
		                json_object_get(r, "pattern"));
		json_object_del(r, "kind");
		json_object_del(r, "pattern");
		if (json_is_null(json_object_get(r, "product"))) {
			json_object_del(r, "product");
			json_object_set_new(r, "ignore", json_true());
		}
	}
	json_array_foreach(products, i, r)
	{
		json_object_set_new(r, "free",
		                    json_boolean(json_integer_value(
		                        json_object_get(r, "free"))));
		json_object_set_new(r, "sill",
		                    json_boolean(json_integer_value(
		                        json_object_get(r, "sill"))));
	}
	*out = json_pack("{s:o, s:o}", "products", products, "rules", rules);
	return STORE_OK;
}

/* Raw names that no rule matches, by number of machines: what to write
 * rules for next. */
static int
unmatched(struct sq *q, const struct store_scope *sc, json_t **out)
{
	struct db_stmt *st = sq_prep(
	    q, "SELECT s.name AS name, m.publisher AS publisher,"
	       " count(DISTINCT s.agent_id) AS machines"
	       " FROM software s JOIN software_map m"
	       " ON m.name = s.name AND m.publisher = coalesce(s.publisher, '')"
	       " JOIN agents a ON a.agent_id = s.agent_id"
	       " WHERE m.product IS NULL AND m.ignored = 0"
	       " AND (?1 = '' OR a.commune = ?1)"
	       " GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT 500");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, sc->commune);
	*out = sq_rows(st);
	db_finalize(st);
	return STORE_OK;
}

/* Catalogue changes run in one transaction, then every map is rebuilt. */
static int
catalogue_change(struct sq *q, enum store_admin_op op, json_t *in, json_t **out)
{
	json_t *id = json_object_get(in, "id");
	struct db_stmt *st;
	int rc = STORE_ERR;

	if (sq_exec(q, "BEGIN IMMEDIATE") == -1)
		return STORE_ERR;
	switch (op) {
	case ADM_CATALOGUE_IMPORT:
		rc = sq_exec(q, "DELETE FROM rules WHERE origin = 'admin'") == 0
		         ? put_catalogue(q, in, "admin", out)
		         : STORE_ERR;
		break;
	case ADM_RULE_ADD:
		rc = put_rule(q, in, "admin", 100, out);
		break;
	case ADM_PRODUCT_ADD:
		rc = put_product(q, in, "admin", out);
		break;
	case ADM_RULE_DELETE:
		if (!json_is_integer(id)) {
			rc = sq_invalid(out, "id: expected a rule id");
			break;
		}
		if ((st = sq_prep(q, "DELETE FROM rules WHERE id = ?")) == NULL)
			break;
		db_bind_int64(st, 1, json_integer_value(id));
		rc = sq_step_done(q, st);
		if (rc == STORE_OK && db_changes(q->db) == 0)
			rc = STORE_NOTFOUND;
		break;
	default:
		break;
	}
	if ((rc = end_tx(q, rc)) != STORE_OK)
		return rc;
	if (lic_reload(q, 1) == -1)
		return STORE_ERR;
	return catalogue_export(q, out);
}

/* ---- entitlements and pools ------------------------------------------ */

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

	snprintf(sql, sizeof(sql),
	         "%s WHERE ?1 = '' OR e.commune = ?1 OR e.pool IN"
	         " (SELECT pool FROM pool_members WHERE commune = ?1)"
	         " ORDER BY e.product, e.id",
	         ent_cols);
	if ((st = sq_prep(q, sql)) == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, sc->commune);
	*out = sq_rows(st);
	db_finalize(st);
	return STORE_OK;
}

static int
valid_date(const char *d)
{
	int y, m, day;

	return d == NULL || (strlen(d) == 10 &&
	                     sscanf(d, "%4d-%2d-%2d", &y, &m, &day) == 3 &&
	                     m >= 1 && m <= 12 && day >= 1 && day <= 31);
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
	const char *commune = jstr(e, "commune"), *pool = jstr(e, "pool");
	const char *metric = jstr(e, "metric");
	long long v;
	int i, set;

	if (!json_is_object(e))
		return sq_invalid(out, "entitlement: expected an object");
	if (!valid_key(jstr(e, "product")))
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
	if (opt_int(e, "unit_cost_cents", 0, 1LL << 40, &set, &v) == -1 ||
	    opt_int(e, "total_cost_cents", 0, 1LL << 40, &set, &v) == -1)
		return sq_invalid(out,
		                  "costs: expected whole cents, 0 or more");
	if (!valid_date(jstr(e, "start_date")) ||
	    !valid_date(jstr(e, "end_date")))
		return sq_invalid(out, "dates: expected YYYY-MM-DD");
	if (jstr(e, "contract") && strlen(jstr(e, "contract")) > 256)
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
	db_bind_text(st, 1, jstr(e, "product"));
	sq_bind_opt(st, 2, jstr(e, "commune"));
	sq_bind_opt(st, 3, jstr(e, "pool"));
	db_bind_text(st, 4, jstr(e, "metric"));
	bind_int_opt(st, 5, json_object_get(e, "quantity"));
	bind_int_opt(st, 6, json_object_get(e, "unit_cost_cents"));
	bind_int_opt(st, 7, json_object_get(e, "total_cost_cents"));
	sq_bind_opt(st, 8, jstr(e, "start_date"));
	sq_bind_opt(st, 9, jstr(e, "end_date"));
	sq_bind_opt(st, 10, jstr(e, "contract"));
	if (id > 0)
		db_bind_int64(st, 11, id);
	rc = sq_step_done(q, st);
	if (rc == STORE_CONFLICT)
		return sq_invalid(out,
		                  "unknown product, commune or pool in "
		                  "entitlement for '%s'",
		                  jstr(e, "product"));
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
	int rc = STORE_NOTFOUND;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, id);
	if (db_step(st) == DB_ROW)
		rc = sc->commune[0] == '\0' ||
		             strcmp(db_column_text(st, 0), sc->commune) == 0
		         ? STORE_OK
		         : STORE_NOTFOUND; /* another commune's: not shown */
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
	if (rc != STORE_OK || sq_exec(q, "BEGIN IMMEDIATE") == -1) {
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
					           i + 1, jstr(*out, "error"));
				break;
			}
		}
	json_decref(list);
	if ((rc = end_tx(q, rc)) != STORE_OK)
		return rc;
	json_decref(*out);
	*out = NULL;
	return ent_list(q, sc, out);
}

static int
pool_list(struct sq *q, const struct store_scope *sc, json_t **out)
{
	struct db_stmt *st;

	st = sq_prep(q, "SELECT p.code, p.name, p.fixed_share, p.basis,"
	                " (SELECT json_group_array(commune) FROM"
	                "  (SELECT commune FROM pool_members m"
	                "   WHERE m.pool = p.code ORDER BY commune) AS t)"
	                " AS members FROM pools p"
	                " WHERE ?1 = '' OR p.code IN (SELECT pool FROM"
	                " pool_members WHERE commune = ?1) ORDER BY p.code");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, sc->commune);
	*out = sq_rows(st);
	db_finalize(st);
	{
		json_t *p;
		size_t i;

		json_array_foreach(*out, i, p) json_object_set_new(
		    p, "members", json_loads(jstr(p, "members"), 0, NULL));
	}
	return STORE_OK;
}

static int
pool_write(struct sq *q, json_t *in, json_t **out)
{
	const char *code = jstr(in, "code"), *name = jstr(in, "name");
	const char *basis = jstr(in, "basis");
	json_t *members = json_object_get(in, "members"), *m;
	json_t *fs = json_object_get(in, "fixed_share");
	struct db_stmt *st;
	size_t i;
	int rc;

	if (!valid_key(code))
		return sq_invalid(
		    out, "code: expected 1 to %d of a-z 0-9 - _ .", KEY_MAX);
	if (name == NULL || *name == '\0')
		return sq_invalid(out, "name: required");
	if (!json_is_array(members) || json_array_size(members) == 0)
		return sq_invalid(out, "members: expected a list of communes");
	if (fs && (!json_is_number(fs) || json_number_value(fs) < 0 ||
	           json_number_value(fs) > 1))
		return sq_invalid(out, "fixed_share: expected 0 to 1");
	if (basis && strcmp(basis, "hours") && strcmp(basis, "peak") &&
	    strcmp(basis, "installs"))
		return sq_invalid(out,
		                  "basis: expected hours, peak or installs");
	st = sq_prep(q, "INSERT INTO pools(code, name, fixed_share, basis)"
	                " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(code) DO UPDATE"
	                " SET name = ?2, fixed_share = ?3, basis = ?4");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, code);
	db_bind_text(st, 2, name);
	db_bind_double(st, 3, fs ? json_number_value(fs) : 0.0);
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
	return STORE_OK;
}

int
lic_admin(void *b, enum store_admin_op op, const struct store_scope *sc,
          json_t *in, json_t **out)
{
	struct sq *q = b;
	int rc, intercommunal = sc->commune[0] == '\0';

	*out = NULL;
	switch (op) {
	case ADM_CATALOGUE_EXPORT:
		return catalogue_export(q, out);
	case ADM_UNMATCHED:
		return unmatched(q, sc, out);
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
	/* The catalogue and the pools belong to the intercommunal service. */
	if (!intercommunal)
		return STORE_DENIED;
	if (op != ADM_POOL_SET)
		return catalogue_change(q, op, in, out);
	if (sq_exec(q, "BEGIN IMMEDIATE") == -1)
		return STORE_ERR;
	if ((rc = end_tx(q, pool_write(q, in, out))) != STORE_OK)
		return rc;
	return pool_list(q, sc, out);
}

/* ---- reports -------------------------------------------------------- */

static void
day_string(long long t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%d", &tm);
}

/* Hides small user counts outside the viewer's own commune. */
static json_t *
users_value(long long users, int own, int k)
{
	char s[16];

	if (own || users == 0 || users >= k)
		return json_integer(users);
	snprintf(s, sizeof(s), "<%d", k);
	return json_string(s);
}

/* Usage of normalised products over the window (SQ_WINDOW, ?7 and ?8
 * bound by sq_bind_window). */
#define COMPLIANCE_ROWS(table, time, range)                                    \
	"SELECT d.commune, m.norm AS product, d.agent_id,"                     \
	" nullif(d.\"user\", '') AS \"user\", d.seconds"                       \
	" FROM " table " d JOIN usage_map m"                                   \
	" ON m.product = d.product AND m.exe = d.exe"                          \
	" WHERE m.norm IS NOT NULL AND " range                                 \
	" AND (?5 IS NULL OR m.norm = ?5) AND %2$s"
/* clang-format off */
static const char compliance_sql[] =
    "WITH scopes(level, holder, commune) AS ("
    "  SELECT 'commune', code, code FROM communes"
    "  UNION ALL SELECT 'pool', pool, commune FROM pool_members"
    "  UNION ALL SELECT 'all', '*', code FROM communes),"
    /* a report for one commune needs its rows and its pools' only */
    " focus(commune) AS (SELECT CAST(?6 AS TEXT) UNION SELECT b.commune"
    "  FROM pool_members a JOIN pool_members b ON b.pool = a.pool"
    "  WHERE a.commune = ?6),"
    " inst AS (SELECT DISTINCT a.commune, m.product, s.agent_id"
    "  FROM software s JOIN agents a ON a.agent_id = s.agent_id"
    "  JOIN software_map m ON m.name = s.name"
    "   AND m.publisher = coalesce(s.publisher, '')"
    "  WHERE m.product IS NOT NULL AND (?5 IS NULL OR m.product = ?5)"
    "   AND %1$s),"
    " used AS ("
    SQ_WINDOW(COMPLIANCE_ROWS, "?1", "?2", "?7", "?8")
    "),"
    " ent AS (SELECT product, commune, pool, metric, quantity"
    "  FROM entitlements WHERE (start_date IS NULL OR start_date <= ?4)"
    "   AND (end_date IS NULL OR end_date >= ?3)"
    "   AND (?5 IS NULL OR product = ?5)),"
    " owned AS ("
    "  SELECT 'commune' AS level, commune AS holder, product,"
    "   sum(quantity) AS n, min(metric) AS metric"
    "  FROM ent WHERE commune IS NOT NULL GROUP BY 2, 3"
    "  UNION ALL SELECT 'pool', holder, product, sum(n), min(metric) FROM ("
    "   SELECT pool AS holder, product, quantity AS n, metric FROM ent"
    "   WHERE pool IS NOT NULL"
    "   UNION ALL SELECT pm.pool, e.product, e.quantity, e.metric"
    "   FROM ent e JOIN pool_members pm ON pm.commune = e.commune) AS t"
    "  GROUP BY 2, 3"
    "  UNION ALL SELECT 'all', '*', product, sum(quantity), min(metric)"
    "  FROM ent GROUP BY 3),"
    /* Counted per commune, then added up per scope: an agent, and so its
     * users, belong to one commune. */
    " i1 AS (SELECT commune, product, count(DISTINCT agent_id) AS n"
    "  FROM inst GROUP BY 1, 2),"
    " i2 AS (SELECT s.level, s.holder, i.product, sum(i.n) AS installed,"
    "   count(*) AS sites"
    "  FROM i1 i JOIN scopes s ON s.commune = i.commune GROUP BY 1, 2, 3),"
    " u1 AS (SELECT commune, product, count(DISTINCT agent_id) AS machines,"
    "   count(DISTINCT \"user\") AS users, sum(seconds) AS secs"
    "  FROM used GROUP BY 1, 2),"
    " u2 AS (SELECT s.level, s.holder, u.product, sum(u.machines) AS machines,"
    "   sum(u.users) AS users, sum(u.secs) AS secs"
    "  FROM u1 u JOIN scopes s ON s.commune = u.commune GROUP BY 1, 2, 3),"
    /* the peak needs days: the daily summaries of the whole window */
    " d1 AS (SELECT d.commune, m.norm AS product, d.day,"
    "   count(DISTINCT d.agent_id) AS n"
    "  FROM usage_daily d JOIN usage_map m"
    "   ON m.product = d.product AND m.exe = d.exe"
    "  WHERE m.norm IS NOT NULL AND d.day BETWEEN ?1 AND ?2"
    "   AND (?5 IS NULL OR m.norm = ?5) AND %2$s GROUP BY 1, 2, 3),"
    " p2 AS (SELECT level, holder, product, max(n) AS peak FROM ("
    "   SELECT s.level, s.holder, d.product, d.day, sum(d.n) AS n"
    "   FROM d1 d JOIN scopes s ON s.commune = d.commune"
    "   GROUP BY 1, 2, 3, 4) AS t GROUP BY 1, 2, 3),"
    " keys AS (SELECT level, holder, product FROM i2"
    "  UNION SELECT level, holder, product FROM u2"
    "  UNION SELECT level, holder, product FROM owned)"
    " SELECT k.level, k.holder, k.product, p.name, p.free,"
    "  coalesce(o.n, 0), coalesce(o.metric, 'device'),"
    "  coalesce(i.installed, 0), coalesce(i.sites, 0),"
    "  coalesce(u.machines, 0), coalesce(u.users, 0), coalesce(u.secs, 0),"
    "  coalesce(pk.peak, 0)"
    " FROM keys k JOIN products p ON p.key = k.product"
    " LEFT JOIN owned o ON o.level = k.level AND o.holder = k.holder"
    "  AND o.product = k.product"
    " LEFT JOIN i2 i ON i.level = k.level AND i.holder = k.holder"
    "  AND i.product = k.product"
    " LEFT JOIN u2 u ON u.level = k.level AND u.holder = k.holder"
    "  AND u.product = k.product"
    " LEFT JOIN p2 pk ON pk.level = k.level AND pk.holder = k.holder"
    "  AND pk.product = k.product"
    " WHERE ?6 = '' OR (k.level = 'commune' AND k.holder = ?6)"
    "  OR (k.level = 'pool' AND k.holder IN"
    "   (SELECT pool FROM pool_members WHERE commune = ?6))"
    " ORDER BY k.product, k.level = 'all', k.level = 'pool', k.holder";
/* clang-format on */

/* What the licences must cover, by the entitlement's metric. */
static long long
need_of(const char *metric, long long installed, long long sites,
        long long users, long long peak)
{
	if (strcmp(metric, "user") == 0)
		return users;
	if (strcmp(metric, "concurrent") == 0)
		return peak;
	if (strcmp(metric, "site") == 0)
		return sites;
	return installed;
}

static const char *
status_of(int free_sw, long long owned, long long need)
{
	if (free_sw && owned == 0)
		return "free";
	if (need > owned)
		return "over-deployed";
	return need == owned ? "compliant" : "surplus";
}

/* Window bounds the reports share: days and ISO dates. */
static void
bind_window(struct db_stmt *st, const struct store_query *qu)
{
	char d0[16], d1[16];

	day_string(qu->from, d0, sizeof(d0));
	day_string(qu->to, d1, sizeof(d1));
	db_bind_int64(st, 1, qu->from / 86400);
	db_bind_int64(st, 2, qu->to / 86400);
	db_bind_text(st, 3, d0);
	db_bind_text(st, 4, d1);
}

static const char *
focus(const struct store_query *qu)
{
	if (qu->commune && *qu->commune)
		return qu->commune;
	return qu->viewer ? qu->viewer : "";
}

static json_t *
compliance_row(struct db_stmt *st, const struct store_query *qu)
{
	const char *level = db_column_text(st, 0);
	const char *holder = db_column_text(st, 1);
	const char *metric = db_column_text(st, 6);
	long long owned = db_column_int64(st, 5);
	long long inst = db_column_int64(st, 7);
	long long sites = db_column_int64(st, 8);
	long long users = db_column_int64(st, 10);
	long long peak = db_column_int64(st, 12);
	long long need = need_of(metric, inst, sites, users, peak);
	int own = strcmp(level, "commune") == 0 && qu->viewer &&
	          strcmp(holder, qu->viewer) == 0;

	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:o, s:f, s:I, s:I, s:s}",
	    "product", db_column_text(st, 2), "product_name",
	    db_column_text(st, 3), "level", level, "holder", holder, "owned",
	    (json_int_t)owned, "metric", metric, "installed", (json_int_t)inst,
	    "used_machines", (json_int_t)db_column_int64(st, 9), "used_users",
	    users_value(users, own, qu->k), "usage_hours",
	    db_column_int64(st, 11) / 3600.0, "peak_concurrent",
	    (json_int_t)peak, "need", (json_int_t)need, "status",
	    status_of(db_column_int(st, 4), owned, need));
}

/* The commune filters of compliance_sql's installs (%1$s) and usage
 * (%2$s): none for the intercommunal view, else the focus communes. Two
 * texts rather than "?6 = '' OR ...", which keeps SQLite off the
 * (commune, day) index (docs/PERFORMANCE.md). */
static const char *const focus_sql[2][2] = {
    {"1 = 1", "1 = 1"},
    {"a.commune IN (SELECT commune FROM focus)",
     "d.commune IN (SELECT commune FROM focus)"},
};

static int
compliance(struct sq *q, const struct store_query *qu, json_t **out)
{
	char sql[sizeof(compliance_sql) + 512];
	int one = focus(qu)[0] != '\0';
	struct db_stmt *st;

	snprintf(sql, sizeof(sql), compliance_sql, focus_sql[one][0],
	         focus_sql[one][1]);
	if ((st = sq_prep(q, sql)) == NULL)
		return STORE_ERR;
	bind_window(st, qu);
	sq_bind_opt(st, 5, qu->product);
	db_bind_text(st, 6, focus(qu));
	sq_bind_window(st, 7, qu);
	*out = json_array();
	while (db_step(st) == DB_ROW)
		json_array_append_new(*out, compliance_row(st, qu));
	db_finalize(st);
	return STORE_OK;
}

/* Installations of licensed products, with their last use ever and how
 * many days of the product's window the agent reported. */
static const char reclaim_sql[] =
    "WITH lic AS (SELECT DISTINCT product FROM entitlements),"
    " inst AS (SELECT DISTINCT s.agent_id, a.hostname, a.commune,"
    "   m.product"
    "  FROM software s JOIN agents a ON a.agent_id = s.agent_id"
    "  JOIN software_map m ON m.name = s.name"
    "   AND m.publisher = coalesce(s.publisher, '')"
    "  WHERE m.product IN (SELECT product FROM lic)"
    "   AND (?2 IS NULL OR a.commune = ?2)),"
    " last AS (SELECT d.agent_id, m.norm AS product,"
    "   max(d.last_end) AS last"
    "  FROM usage_monthly d JOIN usage_map m"
    "   ON m.product = d.product AND m.exe = d.exe"
    "  WHERE m.norm IN (SELECT product FROM lic) GROUP BY 1, 2)"
    " SELECT i.agent_id, i.hostname, i.commune, i.product, p.name,"
    "  l.last, coalesce(p.seasonal_days, ?3) AS win,"
    "  (SELECT count(*) FROM agent_days ad WHERE ad.agent_id = i.agent_id"
    "   AND ad.day > ?1 / 86400 - coalesce(p.seasonal_days, ?3)"
    "   AND ad.day <= ?1 / 86400) AS seen,"
    "  (SELECT coalesce(e.unit_cost, e.total_cost /"
    "    CASE WHEN e.quantity > 1 THEN e.quantity ELSE 1 END)"
    "   FROM entitlements e WHERE e.product = i.product"
    "   AND (e.commune = i.commune OR e.pool IN"
    "    (SELECT pool FROM pool_members WHERE commune = i.commune))"
    "   ORDER BY e.commune IS NULL, e.id LIMIT 1) AS unit_cost"
    " FROM inst i JOIN products p ON p.key = i.product"
    " LEFT JOIN last l ON l.agent_id = i.agent_id AND l.product = i.product"
    " WHERE l.last IS NULL"
    "  OR l.last < ?1 - coalesce(p.seasonal_days, ?3) * 86400"
    " ORDER BY i.commune, i.product, i.hostname";

static int
reclaim(struct sq *q, const struct store_query *qu, json_t **out)
{
	struct db_stmt *st = sq_prep(q, reclaim_sql);
	long long win, seen, saving_total = 0;
	json_t *rows, *row;
	double cov;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, qu->to);
	sq_bind_opt(st, 2, qu->commune);
	db_bind_int64(st, 3, qu->days);
	rows = json_array();
	while (db_step(st) == DB_ROW) {
		win = db_column_int64(st, 6);
		seen = db_column_int64(st, 7);
		cov = win > 0 ? (double)seen / (double)win : 0;
		row = json_pack(
		    "{s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:f, s:s}", "agent_id",
		    db_column_text(st, 0), "hostname", db_column_text(st, 1),
		    "commune", db_column_text(st, 2), "product",
		    db_column_text(st, 3), "product_name",
		    db_column_text(st, 4), "last_used", sq_iso(st, 5),
		    "window_days", (json_int_t)win, "coverage",
		    floor(cov * 1000 + 0.5) / 1000, "status",
		    cov >= qu->coverage ? "unused" : "unreported");
		if (db_column_type(st, 8) != DB_NULL) {
			json_object_set_new(
			    row, "saving_cents",
			    json_integer(db_column_int64(st, 8)));
			if (cov >= qu->coverage)
				saving_total += db_column_int64(st, 8);
		}
		json_array_append_new(rows, row);
	}
	db_finalize(st);
	*out = json_pack("{s:o, s:I, s:f, s:i}", "rows", rows, "saving_cents",
	                 (json_int_t)saving_total, "coverage", qu->coverage,
	                 "days", qu->days);
	return STORE_OK;
}

/* A commune's seconds of a normalised product (SQ_WINDOW). */
#define HOURS_ROWS(table, time, range)                                         \
	"SELECT d.seconds FROM " table " d JOIN usage_map m"                   \
	" ON m.product = d.product AND m.exe = d.exe"                          \
	" WHERE m.norm = ?3 AND d.commune = ?4 AND " range

/* One member's measure of a product over the window, by the pool's basis:
 * usage seconds, peak machines on one day, or machines with it installed. */
static long long
measure(struct sq *q, const char *basis, const char *product,
        const char *commune, const struct store_query *qu)
{
	static const char hours[] =
	    "SELECT coalesce(sum(t.seconds), 0) FROM (" SQ_WINDOW(
	        HOURS_ROWS, "?1", "?2", "?5", "?6") ") AS t";
	static const char peak[] =
	    "SELECT coalesce(max(n), 0) FROM (SELECT count(DISTINCT d.agent_id)"
	    " AS n FROM usage_daily d JOIN usage_map m ON m.product = d.product"
	    " AND m.exe = d.exe WHERE m.norm = ?3 AND d.commune = ?4"
	    " AND d.day BETWEEN ?1 AND ?2 GROUP BY d.day) AS t";
	static const char installs[] =
	    "SELECT count(DISTINCT s.agent_id) FROM software s"
	    " JOIN agents a ON a.agent_id = s.agent_id"
	    " JOIN software_map m ON m.name = s.name"
	    " AND m.publisher = coalesce(s.publisher, '')"
	    " WHERE ?1 IS NOT NULL AND ?2 IS NOT NULL"
	    " AND m.product = ?3 AND a.commune = ?4";
	int by_hours =
	    strcmp(basis, "peak") != 0 && strcmp(basis, "installs") != 0;
	const char *sql = by_hours                     ? hours
	                  : strcmp(basis, "peak") == 0 ? peak
	                                               : installs;
	long long v = 0;
	struct db_stmt *st;

	st = sq_prep(q, sql);
	if (st == NULL)
		return 0;
	db_bind_int64(st, 1, qu->from / 86400);
	db_bind_int64(st, 2, qu->to / 86400);
	db_bind_text(st, 3, product);
	db_bind_text(st, 4, commune);
	if (by_hours)
		sq_bind_window(st, 5, qu);
	if (db_step(st) == DB_ROW)
		v = db_column_int64(st, 0);
	db_finalize(st);
	return v;
}

/* The statements of one pooled entitlement. */
static json_t *
statements(struct sq *q, json_t *ent, const struct store_query *qu)
{
	const char *basis = jstr(ent, "basis"), *product = jstr(ent, "product");
	json_t *members = json_object_get(ent, "members"), *list, *m;
	long long invoice =
	    json_integer_value(json_object_get(ent, "invoice_cents"));
	double fs = json_real_value(json_object_get(ent, "fixed_share"));
	size_t i, n = json_array_size(members);
	long long fixed_total, *w, *one, *fixed, *var;

	fixed_total = (long long)floor((double)invoice * fs + 0.5);
	w = calloc(n + 1, sizeof(*w));
	one = calloc(n + 1, sizeof(*one));
	fixed = calloc(n + 1, sizeof(*fixed));
	var = calloc(n + 1, sizeof(*var));
	list = json_array();
	if (!w || !one || !fixed || !var)
		goto done;
	json_array_foreach(members, i, m)
	{
		w[i] = measure(q, basis, product, json_string_value(m), qu);
		one[i] = 1;
	}
	share_split(fixed_total, one, n, fixed);
	share_split(invoice - fixed_total, w, n, var);
	json_array_foreach(members, i, m) json_array_append_new(
	    list, json_pack("{s:s, s:I, s:I, s:I, s:I}", "commune",
	                    json_string_value(m), "measure", (json_int_t)w[i],
	                    "fixed_cents", (json_int_t)fixed[i], "usage_cents",
	                    (json_int_t)var[i], "total_cents",
	                    (json_int_t)(fixed[i] + var[i])));
done:
	free(w);
	free(one);
	free(fixed);
	free(var);
	return list;
}

static int
costs(struct sq *q, const struct store_query *qu, json_t **out)
{
	struct db_stmt *st;
	json_t *ents, *e;
	size_t i;

	st =
	    sq_prep(q, "SELECT e.id, e.product, p.name AS product_name, e.pool,"
	               " po.name AS pool_name, po.fixed_share, po.basis,"
	               " coalesce(e.total_cost, e.unit_cost * e.quantity)"
	               " AS invoice_cents, e.contract,"
	               " (SELECT json_group_array(commune) FROM (SELECT commune"
	               "  FROM pool_members pm WHERE pm.pool = e.pool"
	               "  ORDER BY commune) AS t) AS members"
	               " FROM entitlements e JOIN pools po ON po.code = e.pool"
	               " JOIN products p ON p.key = e.product"
	               " WHERE (?1 IS NULL OR e.pool = ?1)"
	               " AND (?2 = '' OR e.pool IN (SELECT pool FROM"
	               "  pool_members WHERE commune = ?2))"
	               " AND coalesce(e.total_cost, e.unit_cost) IS NOT NULL"
	               " ORDER BY e.pool, e.product, e.id");
	if (st == NULL)
		return STORE_ERR;
	sq_bind_opt(st, 1, qu->pool);
	db_bind_text(st, 2, focus(qu));
	ents = sq_rows(st);
	db_finalize(st);
	json_array_foreach(ents, i, e)
	{
		json_object_set_new(e, "members",
		                    json_loads(jstr(e, "members"), 0, NULL));
		if (!json_is_real(json_object_get(e, "fixed_share")))
			json_object_set_new(
			    e, "fixed_share",
			    json_real((double)json_integer_value(
			        json_object_get(e, "fixed_share"))));
		json_object_set_new(e, "statements", statements(q, e, qu));
	}
	*out = ents;
	return STORE_OK;
}

/* The usage of the window by month (SQ_WINDOW, ?5 and ?6 bound by
 * sq_bind_window); %1$s is the month of t.day in the engine's
 * spelling. */
#define TREND_ROWS(table, time, range)                                         \
	"SELECT d." time " AS day, m.norm AS product, d.commune, d.agent_id,"  \
	" d.\"user\", d.seconds FROM " table " d JOIN usage_map m"             \
	" ON m.product = d.product AND m.exe = d.exe"                          \
	" WHERE m.norm IS NOT NULL AND " range                                 \
	" AND (?3 = '' OR d.commune = ?3) AND (?4 IS NULL OR m.norm = ?4)"
/* clang-format off */
static const char trend_sql[] =
    "SELECT %1$s AS month, t.product, t.commune,"
    " round(sum(t.seconds) / 3600.0, 2) AS usage_hours,"
    " count(DISTINCT t.agent_id) AS used_machines,"
    " count(DISTINCT nullif(t.\"user\", '')) AS used_users"
    " FROM (" SQ_WINDOW(TREND_ROWS, "?1", "?2", "?5", "?6") ") AS t"
    " GROUP BY 1, 2, 3 ORDER BY 2, 3, 1";
/* clang-format on */

static int
usage_trend(struct sq *q, const struct store_query *qu, json_t **out)
{
	/* The month of a day number, in each engine's spelling. */
	static const char *const month[] = {
	    "strftime('%Y-%m', t.day * 86400, 'unixepoch')",
	    "to_char(to_timestamp(t.day * 86400) AT TIME ZONE 'UTC',"
	    " 'YYYY-MM')",
	};
	char sql[sizeof(trend_sql) + 128];
	struct db_stmt *st;
	json_t *r;
	size_t i;

	snprintf(sql, sizeof(sql), trend_sql,
	         month[db_kind(q->db) == DB_PGSQL]);
	st = sq_prep(q, sql);
	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, qu->from / 86400);
	db_bind_int64(st, 2, qu->to / 86400);
	db_bind_text(st, 3, focus(qu));
	sq_bind_opt(st, 4, qu->product);
	sq_bind_window(st, 5, qu);
	*out = sq_rows(st);
	db_finalize(st);
	json_array_foreach(*out, i, r)
	{
		int own =
		    qu->viewer && strcmp(qu->viewer, jstr(r, "commune")) == 0;
		json_object_set_new(
		    r, "used_users",
		    users_value(
		        json_integer_value(json_object_get(r, "used_users")),
		        own, qu->k));
	}
	return STORE_OK;
}

int
lic_report(void *b, enum store_report kind, const struct store_query *qu,
           json_t **out)
{
	struct sq *q = b;

	*out = NULL;
	switch (kind) {
	case REPORT_COMPLIANCE:
		return compliance(q, qu, out);
	case REPORT_RECLAIM:
		return reclaim(q, qu, out);
	case REPORT_COSTS:
		return costs(q, qu, out);
	case REPORT_USAGE:
		return usage_trend(q, qu, out);
	}
	return STORE_ERR;
}

/* PostgreSQL: makes next months' partitions, drops whole months of raw
 * usage past the cutoff; the number of rows dropped, or -1. */
static long long
drop_partitions(struct sq *q, long long now, long long cutoff)
{
	struct db_stmt *st;
	long long n = -1;

	if ((st = sq_prep(q, "SELECT mutu_partitions(?1)")) == NULL)
		return -1;
	db_bind_int64(st, 1, now);
	if (db_step(st) != DB_ROW) {
		db_finalize(st);
		log_warnx("database: partitions: %s", db_errmsg(q->db));
		return -1;
	}
	db_finalize(st);
	if ((st = sq_prep(q, "SELECT mutu_drop_usage(?1)")) == NULL)
		return -1;
	db_bind_int64(st, 1, cutoff);
	if (db_step(st) == DB_ROW)
		n = db_column_int64(st, 0);
	else
		log_warnx("database: retention: %s", db_errmsg(q->db));
	db_finalize(st);
	return n;
}

int
lic_maintain(void *b, long long now, int retention_days)
{
	struct sq *q = b;
	long long cutoff = now - (long long)retention_days * 86400, n = 0;
	struct db_stmt *st;
	int rc;

	if (db_kind(q->db) == DB_PGSQL &&
	    (n = drop_partitions(q, now, cutoff)) < 0)
		return STORE_ERR;
	/* What is left: rows of the month the cutoff falls in (and, on
	 * SQLite, all of them). */
	if ((st = sq_prep(q, "DELETE FROM usage WHERE \"end\" < ?")) == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, cutoff);
	rc = sq_step_done(q, st);
	if (rc == STORE_OK)
		n += db_changes(q->db);
	if (rc == STORE_OK && n > 0)
		log_info("retention: %lld raw usage rows older than %d days "
		         "dropped (daily summaries kept)",
		         n, retention_days);
	return rc;
}
