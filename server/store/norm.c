/*
 * norm: the catalogue in the database (products and rules: the default
 * catalogue installed at open, the admins' own) and the normalisation
 * maps it keeps, software_map and usage_map, which give each raw key of
 * the inventories and the usage its product. Ingest maps each new key
 * (norm_map_software, norm_map_usage); a change of the rules recomputes
 * every map (docs/LICENCES.md).
 */
#include "norm.h"
#include "stat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "crypto.h"
#include "engine.h"
#include "hash.h"
#include "log.h"
#include "util.h"

extern const char catalogue_default_json[];

#define KEY_MAX         64
#define NORM_SEEN_SLOTS 4096

/* A connection's rules and the normalisation keys known to be mapped. */
struct norm {
	struct catalogue *cat; /* the rules in force, loaded from the db */
	long long cat_version; /* PostgreSQL: mutu_catalogue when loaded */
	/* Hashes of normalisation keys known to be mapped (0: empty slot);
	 * cleared when the rules change or a transaction rolls back. */
	unsigned long long seen[NORM_SEEN_SLOTS];
};

struct norm *
norm_new(void)
{
	return calloc(1, sizeof(struct norm));
}

void
norm_free(struct norm *n)
{
	if (n == NULL)
		return;
	catalogue_free(n->cat);
	free(n);
}

int
norm_valid_key(const char *k)
{
	size_t n = k ? strlen(k) : 0;

	return n > 0 && n <= KEY_MAX &&
	       strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789-_.") == n;
}

static int
put_product(struct sq *q, json_t *p, const char *origin, json_t **out)
{
	const char *key = sq_jstr(p, "key"), *name = sq_jstr(p, "name");
	json_t *sd = json_object_get(p, "seasonal_days");
	const char *metering = sq_jstr(p, "metering");
	struct db_stmt *st;

	if (!norm_valid_key(key))
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
	if (metering == NULL && json_object_get(p, "metering") == NULL)
		metering = "interactive";
	if (metering == NULL || (strcmp(metering, "interactive") != 0 &&
	                         strcmp(metering, "service") != 0 &&
	                         strcmp(metering, "installed") != 0))
		return sq_invalid(out,
		                  "product %s: metering: expected interactive, "
		                  "service or installed",
		                  key);
	st = sq_prep(q, "INSERT INTO products(key, name, publisher, edition,"
	                " family, free, category, seasonal_days, origin, sill,"
	                " metering)"
	                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
	                " ON CONFLICT(key) DO UPDATE SET name = ?2,"
	                " publisher = ?3, edition = ?4, family = ?5, free = ?6,"
	                " category = ?7, seasonal_days = ?8, origin = ?9,"
	                " sill = ?10, metering = ?11");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, key);
	db_bind_text(st, 2, name);
	db_bind_text(st, 3,
	             sq_jstr(p, "publisher") ? sq_jstr(p, "publisher") : "");
	db_bind_text(st, 4, sq_jstr(p, "edition") ? sq_jstr(p, "edition") : "");
	db_bind_text(st, 5, sq_jstr(p, "family") ? sq_jstr(p, "family") : "");
	db_bind_int64(st, 6, json_is_true(json_object_get(p, "free")));
	db_bind_text(st, 7,
	             sq_jstr(p, "category") ? sq_jstr(p, "category") : "");
	if (json_is_integer(sd))
		db_bind_int64(st, 8, json_integer_value(sd));
	else
		db_bind_null(st, 8);
	db_bind_text(st, 9, origin);
	db_bind_int64(st, 10, json_is_true(json_object_get(p, "sill")));
	db_bind_text(st, 11, metering);
	return sq_step_done(q, st);
}

/* A rule from its JSON form: field, glob|regex, product|ignore. */
static int
put_rule(struct sq *q, json_t *r, const char *origin, int priority,
         json_t **out)
{
	const char *field = sq_jstr(r, "field"), *glob = sq_jstr(r, "glob");
	const char *regex = sq_jstr(r, "regex"),
	           *product = sq_jstr(r, "product");
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
	const char *o = sq_jstr(v, "origin");

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
norm_install_defaults(struct sq *q)
{
	char digest[CRYPTO_HEX256_LEN + 1], have[CRYPTO_HEX256_LEN + 1];
	json_t *doc, *out = NULL;
	json_error_t jerr;
	int rc;

	if (q->norm == NULL && (q->norm = norm_new()) == NULL)
		return -1;
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
		return norm_reload(q, 0); /* installed already */
	}
	if (sq_begin(q) == -1) {
		json_decref(doc);
		return -1;
	}
	rc = sq_exec(q, "DELETE FROM rules WHERE origin = 'default'") == 0
	         ? put_catalogue(q, doc, "default", &out)
	         : STORE_ERR;
	if (rc == STORE_OK && meta_set(q, "default_catalogue", digest) == -1)
		rc = STORE_ERR;
	if (rc == STORE_INVALID)
		log_warnx("default catalogue: %s", sq_jstr(out, "error"));
	json_decref(out);
	json_decref(doc);
	if (sq_end_tx(q, rc) != STORE_OK)
		return -1;
	return norm_reload(q, 1);
}

/* Builds the catalogue from the rules table: admins' rules first. */
static struct catalogue *
load_rules(struct sq *q)
{
	struct catalogue *c = catalogue_new();
	struct db_stmt *st;
	char err[256];
	int r;

	st = sq_prep(q, "SELECT field, kind, pattern, product FROM rules"
	                " ORDER BY origin = 'default', priority, id");
	if (c == NULL || st == NULL) {
		catalogue_free(c);
		db_finalize(st);
		return NULL;
	}
	while ((r = db_step(st)) == DB_ROW)
		if (catalogue_add(c, db_column_text(st, 0),
		                  db_column_text(st, 1), db_column_text(st, 2),
		                  db_column_text(st, 3), err,
		                  sizeof(err)) == -1)
			log_warnx("catalogue: rule skipped: %s", err);
	if (sq_done(q, r) != STORE_OK) {
		/* a part of the rules is not the catalogue in force */
		catalogue_free(c);
		c = NULL;
	}
	db_finalize(st);
	return c;
}

static int
map_insert(struct sq *q, const char *sql, const char *a, const char *b,
           struct catalogue_hit n)
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
	int found, r;

	if (st == NULL)
		return -1;
	db_bind_text(st, 1, a);
	db_bind_text(st, 2, b);
	r = db_step(st);
	found = r == DB_ROW ? 1 : sq_done(q, r) == STORE_OK ? 0 : -1;
	sq_put(q, st);
	return found;
}

/* FNV-1a over the map's name and the two parts of a key, each ended by
 * a 0xff byte. */
static unsigned long long
key_hash(const char *map, const char *a, const char *b)
{
	const char *parts[] = {map, a, b};
	uint64_t h = HASH_FNV64_INIT;
	size_t i;

	for (i = 0; i < 3; i++)
		h = hash_fnv64(hash_fnv64(h, parts[i]), "\xff");
	return h ? h : 1;
}

/* Whether h is among the known keys; with add, makes it known. */
static int
seen(struct sq *q, unsigned long long h, int add)
{
	size_t i, k;

	for (k = 0; k < 8; k++) {
		i = (size_t)((h + k) % NORM_SEEN_SLOTS);
		if (q->norm->seen[i] == h)
			return 1;
		if (q->norm->seen[i] == 0)
			break;
	}
	if (add)
		q->norm->seen[k < 8 ? i : (size_t)(h % NORM_SEEN_SLOTS)] = h;
	return 0;
}

void
norm_forget(struct sq *q)
{
	memset(q->norm->seen, 0, sizeof(q->norm->seen));
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
norm_map_software(struct sq *q, const char *name, const char *publisher)
{
	const char *pub = publisher ? publisher : "";
	unsigned long long h = key_hash("s", name, pub);
	int e = mapped(q, h,
	               "SELECT 1 FROM software_map WHERE name = ?"
	               " AND publisher = ?",
	               name, pub);

	if (e == 0 &&
	    map_insert(q,
	               "INSERT INTO software_map(name, publisher,"
	               " product, ignored) VALUES (?, ?, ?, ?)"
	               " ON CONFLICT DO NOTHING",
	               name, pub,
	               catalogue_match(q->norm->cat, name, pub, NULL)) == 0)
		e = 1;
	if (e == 1)
		seen(q, h, 1);
	return e == 1 ? 0 : -1;
}

int
norm_map_usage(struct sq *q, const char *product, const char *exe)
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
	               catalogue_match(q->norm->cat, product, NULL, exe)) == 0)
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
	     norm_map_software},
	    {"DELETE FROM usage_map",
	     "SELECT DISTINCT product, exe FROM usage_daily", norm_map_usage},
	};
	struct db_stmt *st;
	size_t i;
	int rc = 0, r;

	for (i = 0; i < sizeof(maps) / sizeof(maps[0]) && rc == 0; i++) {
		if (sq_exec(q, maps[i].clear) == -1 ||
		    (st = sq_prep(q, maps[i].keys)) == NULL)
			return -1;
		while (rc == 0 && (r = db_step(st)) == DB_ROW)
			rc = maps[i].map(q, db_column_text(st, 0),
			                 db_column_text(st, 1));
		if (rc == 0 && sq_done(q, r) != STORE_OK)
			rc = -1;
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
norm_reload(struct sq *q, int renorm)
{
	struct catalogue *c = load_rules(q);
	int rc = 0;

	if (c == NULL)
		return -1;
	catalogue_free(q->norm->cat);
	q->norm->cat = c;
	norm_forget(q);
	if (!renorm) {
		q->norm->cat_version = catalogue_version(q);
		return 0;
	}
	if (sq_begin(q) == -1)
		return -1;
	rc = renormalise(q);
	/* the products of intervals may have changed: every day's figures */
	if (rc == 0 && stat_mark_all(q) != STORE_OK)
		rc = -1;
	if (rc == 0 && sq_exec(q, "UPDATE meta SET value ="
	                          " CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
	                          " WHERE key = 'catalogue_version'") == -1)
		rc = -1;
	if (sq_end_tx(q, rc == 0 ? STORE_OK : STORE_ERR) != STORE_OK) {
		norm_forget(q); /* the maps written are rolled back */
		return -1;
	}
	q->norm->cat_version = catalogue_version(q);
	return 0;
}

int
norm_fresh(struct sq *q)
{
	long long v;

	/* No other connection changes it: this one made any change itself. */
	if (!engine_of(q->db)->shared_catalogue)
		return 0;
	if ((v = catalogue_version(q)) < 0)
		return -1;
	return v == q->norm->cat_version ? 0 : norm_reload(q, 0);
}

static json_t *
query_rows(struct sq *q, const char *sql)
{
	struct db_stmt *st = sq_prep(q, sql);
	json_t *rows = NULL;

	if (st == NULL)
		return NULL;
	if (sq_rows(q, st, &rows) != STORE_OK)
		rows = NULL;
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
	                  " seasonal_days, metering,"
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
		json_object_set(r, sq_jstr(r, "kind"),
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

/* Raw names that no rule matches, by number of machines in service
 * (neither revoked nor retired): what to write rules for next. */
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
	       " AND a.revoked = 0 AND (?1 = '' OR a.commune = ?1)"
	       " GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT 500");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, sc->commune);
	rc = sq_rows(q, st, out);
	db_finalize(st);
	return rc;
}

/* Catalogue changes run in one transaction, then every map is rebuilt. */
static int
catalogue_change(struct sq *q, enum store_admin_op op, json_t *in, json_t **out)
{
	json_t *id = json_object_get(in, "id");
	struct db_stmt *st;
	int rc = STORE_ERR;

	if (sq_begin(q) == -1)
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
	if ((rc = sq_end_tx(q, rc)) != STORE_OK)
		return rc;
	if (norm_reload(q, 1) == -1)
		return STORE_ERR;
	return catalogue_export(q, out);
}

int
norm_admin(struct sq *q, enum store_admin_op op, const struct store_scope *sc,
           json_t *in, json_t **out)
{
	*out = NULL;
	switch (op) {
	case ADM_CATALOGUE_EXPORT:
		return catalogue_export(q, out);
	case ADM_UNMATCHED:
		return unmatched(q, sc, out);
	default:
		break;
	}
	/* The catalogue belongs to the intercommunal service. */
	if (sc->commune[0] != '\0')
		return STORE_DENIED;
	return catalogue_change(q, op, in, out);
}
