/*
 * report_compliance: entitlements against need, per commune, pool and in
 * all, by each entitlement's metric (docs/LICENCES.md, "compliance").
 */
#include "report.h"

#include <stdio.h>
#include <string.h>

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
    "  FROM software s JOIN " REPORT_AGENTS_AT("?2") " a"
    "   ON a.agent_id = s.agent_id"
    "  JOIN software_map m ON m.name = s.name"
    "   AND m.publisher = coalesce(s.publisher, '')"
    "  WHERE m.product IS NOT NULL AND (?5 IS NULL OR m.product = ?5)"
    "   AND " REPORT_IN_SERVICE("a", "?9") " AND %1$s),"
    /* usage of normalised products over the window (?7 and ?8 bound by
     * report_bind_months) */
    " used AS ("
    /* whole months, from the monthly rollup */
    "SELECT d.commune, m.norm AS product, d.agent_id,"
    " nullif(d.\"user\", '') AS \"user\""
    " FROM usage_monthly d JOIN usage_map m"
    " ON m.product = d.product AND m.exe = d.exe"
    " WHERE m.norm IS NOT NULL AND month >= ?7 AND month < ?8"
    " AND (?5 IS NULL OR m.norm = ?5) AND %2$s"
    " UNION ALL "
    /* the days before the first whole month */
    "SELECT d.commune, m.norm AS product, d.agent_id,"
    " nullif(d.\"user\", '') AS \"user\""
    " FROM usage_daily d JOIN usage_map m"
    " ON m.product = d.product AND m.exe = d.exe"
    " WHERE m.norm IS NOT NULL AND day >= ?1 AND day < ?7"
    " AND (?5 IS NULL OR m.norm = ?5) AND %2$s"
    " UNION ALL "
    /* the days after the last whole month */
    "SELECT d.commune, m.norm AS product, d.agent_id,"
    " nullif(d.\"user\", '') AS \"user\""
    " FROM usage_daily d JOIN usage_map m"
    " ON m.product = d.product AND m.exe = d.exe"
    " WHERE m.norm IS NOT NULL AND day >= ?8 AND day <= ?2"
    " AND (?5 IS NULL OR m.norm = ?5) AND %2$s"
    "),"
    " ent AS (SELECT product, commune, pool, metric, quantity"
    "  FROM entitlements WHERE (start_date IS NULL OR start_date <= ?4)"
    "   AND (end_date IS NULL OR end_date >= ?3)"
    "   AND (?5 IS NULL OR product = ?5)),"
    /* owned per metric: quantities of different metrics never add up */
    " owned AS ("
    "  SELECT 'commune' AS level, commune AS holder, product, metric,"
    "   sum(quantity) AS n"
    "  FROM ent WHERE commune IS NOT NULL GROUP BY 2, 3, 4"
    "  UNION ALL SELECT 'pool', holder, product, metric, sum(n) FROM ("
    "   SELECT pool AS holder, product, quantity AS n, metric FROM ent"
    "   WHERE pool IS NOT NULL"
    "   UNION ALL SELECT pm.pool, e.product, e.quantity, e.metric"
    "   FROM ent e JOIN pool_members pm ON pm.commune = e.commune) AS t"
    "  GROUP BY 2, 3, 4"
    "  UNION ALL SELECT 'all', '*', product, metric, sum(quantity)"
    "  FROM ent GROUP BY 3, 4),"
    /* the pools' own entitlements, and the communes they cover */
    " pooled AS (SELECT pool, product, metric, sum(quantity) AS n"
    "  FROM ent WHERE pool IS NOT NULL GROUP BY 1, 2, 3),"
    " covered AS (SELECT pm.commune, p.product, p.metric, sum(p.n) AS n,"
    "   min(p.pool) AS pool"
    "  FROM pooled p JOIN pool_members pm ON pm.pool = p.pool"
    "  GROUP BY 1, 2, 3),"
    " metrics AS (SELECT level, holder, product, metric FROM owned"
    "  UNION SELECT 'commune', commune, product, metric FROM covered),"
    /* Counted per commune, then added up per scope: an agent, and so its
     * users, belong to one commune. */
    " i1 AS (SELECT commune, product, count(DISTINCT agent_id) AS n"
    "  FROM inst GROUP BY 1, 2),"
    " i2 AS (SELECT s.level, s.holder, i.product, sum(i.n) AS installed,"
    "   count(*) AS sites"
    "  FROM i1 i JOIN scopes s ON s.commune = i.commune GROUP BY 1, 2, 3),"
    /* anon: machines that ran it with no user id (user_ids = none) */
    " u1 AS (SELECT commune, product, count(DISTINCT agent_id) AS machines,"
    "   count(DISTINCT \"user\") AS users,"
    "   count(DISTINCT agent_id) - count(DISTINCT CASE WHEN \"user\""
    "    IS NOT NULL THEN agent_id END) AS anon"
    "  FROM used GROUP BY 1, 2),"
    " u2 AS (SELECT s.level, s.holder, u.product, sum(u.machines) AS machines,"
    "   sum(u.users) AS users, sum(u.anon) AS anon,"
    "   count(*) AS communes,"
    "   sum(CASE WHEN u.users > 0 THEN 1 ELSE 0 END) AS user_communes"
    "  FROM u1 u JOIN scopes s ON s.commune = u.commune GROUP BY 1, 2, 3),"
    /* hours and the peaks from the daily figures of each scope (stat.h):
     * the peak of a pool or of all is at the instant their communes'
     * machines were busiest together */
    " st AS (SELECT level, holder, product, sum(secs) AS secs,"
    "   max(peak) AS peak, max(peak_users) AS peak_users"
    "  FROM usage_stat WHERE day >= ?1 AND day <= ?2"
    "   AND (?5 IS NULL OR product = ?5) AND %3$s GROUP BY 1, 2, 3),"
    " h2 AS (SELECT level, holder, product, secs FROM st),"
    " pu AS (SELECT level, holder, product, peak_users AS peak FROM st),"
    " p2 AS (SELECT level, holder, product, peak FROM st),"
    " keys AS (SELECT level, holder, product FROM i2"
    "  UNION SELECT level, holder, product FROM u2"
    "  UNION SELECT level, holder, product FROM owned),"
    " km AS (SELECT k.level, k.holder, k.product,"
    "   coalesce(mt.metric, 'device') AS metric"
    "  FROM keys k LEFT JOIN metrics mt ON mt.level = k.level"
    "   AND mt.holder = k.holder AND mt.product = k.product)"
    " SELECT k.level, k.holder, k.product, p.name, p.free,"
    "  coalesce(o.n, 0), k.metric,"
    "  coalesce(i.installed, 0), coalesce(i.sites, 0),"
    "  coalesce(u.machines, 0), coalesce(u.users, 0), coalesce(h.secs, 0),"
    /* a service's machines are never users (metering classes) */
    "  coalesce(pk.peak, 0),"
    "  CASE WHEN p.metering = 'service' THEN 0 ELSE coalesce(u.anon, 0) END,"
    "  coalesce(u.communes, 0),"
    "  coalesce(u.user_communes, 0), c.n, c.pool, pl.n,"
    "  coalesce(oi.installed, 0), coalesce(ou.machines, 0),"
    "  coalesce(ou.users, 0), coalesce(oh.secs, 0), coalesce(op.peak, 0),"
    "  CASE WHEN p.metering = 'service' THEN 0 ELSE coalesce(ou.anon, 0) END,"
    "  coalesce(pu.peak, 0), coalesce(opu.peak, 0), p.metering"
    " FROM km k JOIN products p ON p.key = k.product"
    " LEFT JOIN owned o ON o.level = k.level AND o.holder = k.holder"
    "  AND o.product = k.product AND o.metric = k.metric"
    " LEFT JOIN i2 i ON i.level = k.level AND i.holder = k.holder"
    "  AND i.product = k.product"
    " LEFT JOIN u2 u ON u.level = k.level AND u.holder = k.holder"
    "  AND u.product = k.product"
    " LEFT JOIN h2 h ON h.level = k.level AND h.holder = k.holder"
    "  AND h.product = k.product"
    " LEFT JOIN pu ON pu.level = k.level AND pu.holder = k.holder"
    "  AND pu.product = k.product"
    " LEFT JOIN p2 pk ON pk.level = k.level AND pk.holder = k.holder"
    "  AND pk.product = k.product"
    " LEFT JOIN covered c ON k.level = 'commune' AND c.commune = k.holder"
    "  AND c.product = k.product AND c.metric = k.metric"
    " LEFT JOIN pooled pl ON k.level = 'pool' AND pl.pool = k.holder"
    "  AND pl.product = k.product AND pl.metric = k.metric"
    /* the viewer's own share, for the pool rows a commune admin sees */
    " LEFT JOIN i2 oi ON oi.level = 'commune' AND oi.holder = ?6"
    "  AND oi.product = k.product"
    " LEFT JOIN u2 ou ON ou.level = 'commune' AND ou.holder = ?6"
    "  AND ou.product = k.product"
    " LEFT JOIN h2 oh ON oh.level = 'commune' AND oh.holder = ?6"
    "  AND oh.product = k.product"
    " LEFT JOIN pu opu ON opu.level = 'commune' AND opu.holder = ?6"
    "  AND opu.product = k.product"
    " LEFT JOIN p2 op ON op.level = 'commune' AND op.holder = ?6"
    "  AND op.product = k.product"
    " WHERE ?6 = '' OR (k.level = 'commune' AND k.holder = ?6)"
    "  OR (k.level = 'pool' AND k.holder IN"
    "   (SELECT pool FROM pool_members WHERE commune = ?6))"
    " ORDER BY k.product, k.level = 'all', k.level = 'pool', k.holder,"
    "  k.metric";
/* clang-format on */

/* The figures of a compliance row (compliance_sql's columns). */
struct fig {
	long long installed, machines, users, secs, peak, anon, peak_users;
	int present; /* metering class "installed": presence is use */
};

static void
fig_read(struct db_stmt *st, int own, struct fig *f)
{
	static const int total[] = {7, 9, 10, 11, 12, 13, 25};
	static const int mine[] = {19, 20, 21, 22, 23, 24, 26};
	const int *c = own ? mine : total;

	f->installed = db_column_int64(st, c[0]);
	f->machines = db_column_int64(st, c[1]);
	f->users = db_column_int64(st, c[2]);
	f->secs = db_column_int64(st, c[3]);
	f->peak = db_column_int64(st, c[4]);
	f->anon = db_column_int64(st, c[5]);
	f->peak_users = db_column_int64(st, c[6]);
	f->present = strcmp(db_column_text(st, 27), "installed") == 0;
}

/* Sets row's figure prefix + name to v (a reference it takes). */
static void
fig_put(json_t *row, const char *prefix, const char *name, json_t *v)
{
	char key[64];

	snprintf(key, sizeof(key), "%s%s", prefix, name);
	json_object_set_new(row, key, v);
}

/* Sets a row's figures: users from 1 to k - 1 as "<k" unless own, and
 * "unknown" when the machines that ran it sent no user ids (user_ids =
 * none); prefix "" for the row's figures, "own_" for the viewer's share. */
static void
fig_set(json_t *row, const char *prefix, const struct fig *f, int own, int k)
{
	fig_put(row, prefix, "installed", json_integer(f->installed));
	fig_put(row, prefix, "used_machines", json_integer(f->machines));
	fig_put(row, prefix, "used_users",
	        f->users == 0 && f->anon > 0 ? json_string("unknown")
	                                     : report_users(f->users, own, k));
	fig_put(row, prefix, "machines_without_user_ids",
	        json_integer(f->anon));
	fig_put(row, prefix, "usage_hours", report_hours(f->secs));
	fig_put(row, prefix, "usage_seconds", json_integer(f->secs));
	fig_put(row, prefix, "peak_concurrent", json_integer(f->peak));
	fig_put(row, prefix, "peak_users", report_users(f->peak_users, own, k));
}

/* What the licences must cover, by the entitlement's metric: a user
 * metric counts the machines that sent no user ids as one user each. A
 * product whose presence is its use (metering class "installed") needs
 * a licence per machine where it is installed, whatever the metric but
 * site: its users and concurrency are not metered. */
static long long
need_of(const char *metric, const struct fig *f, long long sites)
{
	if (strcmp(metric, "site") == 0)
		return sites;
	if (f->present)
		return f->installed;
	if (strcmp(metric, "user") == 0)
		return f->users + f->anon;
	if (strcmp(metric, "concurrent") == 0)
		return f->peak;
	if (strcmp(metric, "site") == 0)
		return sites;
	return f->installed;
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

/* A pool row as a commune admin sees it (docs/LICENCES.md, "Privacy"):
 * owned is the pool's own entitlements (not the partners' contracts),
 * the viewer's share is given as own_*, and a pool figure only when at
 * least k other member communes contribute to it; otherwise it is null,
 * and so are need and status when they rest on it. */
static void
pool_row_for_member(json_t *row, struct db_stmt *st,
                    const struct store_query *qu, const char *metric)
{
	struct fig all, own;
	long long sites = db_column_int64(st, 8);
	long long users_c = db_column_int64(st, 15), used_c;
	long long owned = db_column_int64(st, 18), others_i, others_u, need;
	int show_i, show_u, show_users, shown;

	fig_read(st, 0, &all);
	fig_read(st, 1, &own);
	used_c = db_column_int64(st, 14);
	others_i = sites - (own.installed > 0);
	others_u = used_c - (own.machines > 0);
	show_i = others_i >= qu->k;
	show_u = others_u >= qu->k;
	show_users = show_u && users_c - (own.users > 0) >= qu->k;
	json_object_set_new(row, "owned", json_integer(owned));
	fig_set(row, "", &all, 0, qu->k);
	fig_set(row, "own_", &own, 1, qu->k);
	if (!show_i)
		json_object_set_new(row, "installed", json_null());
	if (!show_u) {
		json_object_set_new(row, "used_machines", json_null());
		json_object_set_new(row, "machines_without_user_ids",
		                    json_null());
		json_object_set_new(row, "usage_hours", json_null());
		json_object_set_new(row, "usage_seconds", json_null());
		json_object_set_new(row, "peak_concurrent", json_null());
	}
	if (!show_users) {
		json_object_set_new(row, "used_users", json_null());
		json_object_set_new(row, "peak_users", json_null());
	}
	if (all.present || strcmp(metric, "device") == 0 ||
	    strcmp(metric, "site") == 0)
		shown = show_i;
	else if (strcmp(metric, "user") == 0)
		shown = show_users;
	else
		shown = show_u;
	need = need_of(metric, &all, sites);
	json_object_set_new(row, "need",
	                    shown ? json_integer(need) : json_null());
	json_object_set_new(
	    row, "status",
	    shown ? json_string(status_of(db_column_int(st, 4), owned, need))
	          : json_string("withheld"));
	json_object_set_new(row, "partners_withheld",
	                    json_boolean(!show_i || !show_u || !show_users));
}

static json_t *
compliance_row(struct db_stmt *st, const struct store_query *qu)
{
	const char *level = db_column_text(st, 0);
	const char *holder = db_column_text(st, 1);
	const char *metric = db_column_text(st, 6);
	long long owned = db_column_int64(st, 5);
	long long sites = db_column_int64(st, 8), need, cover;
	int member = qu->viewer && *qu->viewer;
	int own = strcmp(level, "commune") == 0 && member &&
	          strcmp(holder, qu->viewer) == 0;
	const char *status;
	struct fig f;
	json_t *row;

	/* a commune admin sees of a pool only what its entitlements cover */
	if (member && strcmp(level, "pool") == 0 &&
	    db_column_type(st, 18) == DB_NULL)
		return NULL;
	row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "product",
	                db_column_text(st, 2), "product_name",
	                db_column_text(st, 3), "level", level, "holder", holder,
	                "metric", metric, "metering", db_column_text(st, 27));
	if (row == NULL)
		return NULL;
	if (member && strcmp(level, "pool") == 0) {
		pool_row_for_member(row, st, qu, metric);
		return row;
	}
	fig_read(st, 0, &f);
	fig_set(row, "", &f, own, qu->k);
	need = need_of(metric, &f, sites);
	status = status_of(db_column_int(st, 4), owned, need);
	/* a commune whose need a pool's entitlements cover: the pool row
	 * says whether the pool is compliant */
	cover = db_column_type(st, 16) == DB_NULL ? 0 : db_column_int64(st, 16);
	if (cover > 0) {
		json_object_set_new(row, "pool",
		                    json_string(db_column_text(st, 17)));
		json_object_set_new(row, "pool_owned", json_integer(cover));
		if (need > owned)
			status = "pooled";
	}
	json_object_set_new(row, "owned", json_integer(owned));
	json_object_set_new(row, "need", json_integer(need));
	json_object_set_new(row, "status", json_string(status));
	return row;
}

/* The commune filters of compliance_sql's installs (%1$s), usage (%2$s)
 * and daily figures (%3$s): none for the intercommunal view, else the focus
 * communes. Two texts rather than "?6 = '' OR ...", which keeps SQLite off the
 * (commune, day) index (docs/PERFORMANCE.md). */
static const char *const focus_sql[2][3] = {
    {"1 = 1", "1 = 1", "1 = 1"},
    {"a.commune IN (SELECT commune FROM focus)",
     "d.commune IN (SELECT commune FROM focus)",
     "((level = 'commune' AND holder IN (SELECT commune FROM focus))"
     " OR (level = 'pool' AND holder IN (SELECT pool FROM pool_members"
     " WHERE commune = ?6)))"},
};

int
report_compliance(struct sq *q, const struct store_query *qu, json_t **out)
{
	char sql[sizeof(compliance_sql) + 512];
	int one = report_focus(qu)[0] != '\0', r;
	struct db_stmt *st;

	snprintf(sql, sizeof(sql), compliance_sql, focus_sql[one][0],
	         focus_sql[one][1], focus_sql[one][2]);
	if ((st = sq_prep(q, sql)) == NULL)
		return STORE_ERR;
	report_bind_window(st, qu);
	sq_bind_opt(st, 5, qu->product);
	db_bind_text(st, 6, report_focus(qu));
	report_bind_months(st, 7, qu);
	db_bind_int64(st, 9, report_end(qu->last));
	*out = json_array();
	while ((r = db_step(st)) == DB_ROW) {
		json_t *row = compliance_row(st, qu);

		if (row)
			json_array_append_new(*out, row);
	}
	if (sq_done(q, r) != STORE_OK) {
		json_decref(*out);
		*out = NULL;
	}
	db_finalize(st);
	return *out ? STORE_OK : STORE_ERR;
}
