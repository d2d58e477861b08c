/*
 * report_reclaim: installations of licensed products unused over their
 * window, and what reclaiming each would save (docs/LICENCES.md,
 * "reclaim").
 */
#include "report.h"

#include <stdio.h>
#include <string.h>

#include "cal.h"
#include "share.h"

/* Installations of licensed products on machines in service on the
 * period's last day (?1; ?6: the instant after it) and enrolled (or
 * reporting) by then
 * (a revoked or retired one has nothing to reclaim), with their last use
 * up to that day and its day, how many days of the product's window (the
 * period's ?3 days, or the product's seasonal_days, ending on ?1) the
 * agent reported, and the device entitlement a reclaim would save on:
 * the commune's own first, else a pool's, in force in the period (?4,
 * ?5: its first and last dates) and with a cost (licences of the other
 * metrics follow people or instants, not machines: reclaim_seats()). Nothing
 * after the period's last day counts: a closed period's answer never changes.
 */
/* clang-format off */
static const char reclaim_sql[] =
    "WITH lic AS (SELECT DISTINCT product FROM entitlements),"
    " inst AS (SELECT DISTINCT s.agent_id, a.hostname, a.commune,"
    "   a.enrolled, m.product, a.source"
    "  FROM software s JOIN " REPORT_AGENTS_AT("?1") " a"
    "   ON a.agent_id = s.agent_id"
    "  JOIN software_map m ON m.name = s.name"
    "   AND m.publisher = coalesce(s.publisher, '')"
    "  WHERE m.product IN (SELECT product FROM lic)"
    "   AND (?2 IS NULL OR a.commune = ?2) AND (a.enrolled < ?6"
    "    OR EXISTS (SELECT 1 FROM agent_days ad"
    "     WHERE ad.agent_id = a.agent_id AND ad.day <= ?1))"
    "   AND " REPORT_IN_SERVICE("a", "?6") "),"
    " r AS (SELECT i.agent_id, i.hostname, i.commune, i.product,"
    "  i.enrolled, i.source, p.name AS product_name,"
    "  coalesce(p.seasonal_days, ?3) AS win,"
    "  (SELECT max(d.day) FROM usage_daily d JOIN usage_map m"
    "   ON m.product = d.product AND m.exe = d.exe"
    "   WHERE d.agent_id = i.agent_id AND m.norm = i.product"
    "   AND d.day <= ?1) AS last_day,"
    "  (SELECT count(*) FROM agent_days ad WHERE ad.agent_id = i.agent_id"
    "   AND ad.day > ?1 - coalesce(p.seasonal_days, ?3)"
    "   AND ad.day <= ?1) AS seen,"
    "  (SELECT e.id FROM entitlements e WHERE e.product = i.product"
    "   AND e.metric = 'device' AND (e.commune = i.commune OR e.pool IN"
    "    (SELECT pool FROM pool_members WHERE commune = i.commune))"
    "   AND coalesce(e.unit_cost, e.total_cost) IS NOT NULL"
    "   AND (e.start_date IS NULL OR e.start_date <= ?5)"
    "   AND (e.end_date IS NULL OR e.end_date >= ?4)"
    "   ORDER BY e.commune IS NULL, e.id LIMIT 1) AS ent"
    " FROM inst i JOIN products p ON p.key = i.product"
    /* presence is use: never reclaimed */
    " WHERE p.metering <> 'installed')"
    " SELECT r.agent_id, r.hostname, r.commune, r.product, r.product_name,"
    "  (SELECT max(d.last_end) FROM usage_daily d JOIN usage_map m"
    "   ON m.product = d.product AND m.exe = d.exe"
    "   WHERE d.agent_id = r.agent_id AND m.norm = r.product"
    "   AND d.day = r.last_day),"
    "  r.win, r.seen, r.ent, e.unit_cost, e.total_cost, e.quantity,"
    "  r.enrolled, (SELECT min(ad.day) FROM agent_days ad"
    "   WHERE ad.agent_id = r.agent_id), r.source"
    " FROM r LEFT JOIN entitlements e ON e.id = r.ent"
    " WHERE r.last_day IS NULL OR r.last_day <= ?1 - r.win"
    " ORDER BY r.commune, r.product, r.hostname, r.agent_id";
/* clang-format on */

/* The saving of the next installation of an entitlement, counted in
 * *seen (ent id -> installations listed so far): its unit cost, or the
 * next unit of total_cost split over its quantity by the largest
 * remainder method (docs/LICENCES.md, "Money"). */
static long long
unit_saving(struct db_stmt *st, json_t *seen)
{
	char id[32];
	long long j, total, qty;

	snprintf(id, sizeof(id), "%lld", (long long)db_column_int64(st, 8));
	j = json_integer_value(json_object_get(seen, id));
	json_object_set_new(seen, id, json_integer(j + 1));
	if (db_column_type(st, 9) != DB_NULL)
		return db_column_int64(st, 9);
	total = db_column_int64(st, 10);
	qty = db_column_int64(st, 11) > 0 ? db_column_int64(st, 11) : 1;
	return share_unit(total, qty, j);
}

/* The reclaim row of st's current row (the period ending on day last);
 * an unused installation's saving is added to *saving_total. Coverage
 * counts the days of the product's window the machine existed in: from
 * its enrolment day (or first day reported, if earlier) on. */
static json_t *
reclaim_row(struct db_stmt *st, long long last, long long cov_ppm,
            json_t *units, long long *saving_total)
{
	long long win = db_column_int64(st, 6), seen = db_column_int64(st, 7);
	long long born = cal_day(db_column_int64(st, 12));
	int unused, foreign;

	/* it existed from its enrolment, or its first report if earlier
	 * (history sent after enrolment) */
	if (db_column_type(st, 13) != DB_NULL && db_column_int64(st, 13) < born)
		born = db_column_int64(st, 13);
	if (born > last - win + 1)
		win = last - born + 1;
	/* a machine only a foreign agent reports: its usage is unknown,
	 * never none (docs/INTEROP.md) */
	foreign = strcmp(db_column_text(st, 14), "mutu-agent") != 0;
	unused = !foreign && win > 0 && seen * 1000000 >= cov_ppm * win;
	long long unit;
	json_t *row;

	row = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:f, s:s}", "agent_id",
	    db_column_text(st, 0), "hostname", db_column_text(st, 1), "commune",
	    db_column_text(st, 2), "product", db_column_text(st, 3),
	    "product_name", db_column_text(st, 4), "last_used", sq_iso(st, 5),
	    "window_days", (json_int_t)win, "coverage",
	    win > 0 ? (double)((seen * 1000 * 2 + win) / (2 * win)) / 1000
	            : 0.0,
	    "status", unused ? "unused" : "unreported");
	/* coverage is days_reported / window_days, exactly */
	json_object_set_new(row, "days_reported", json_integer(seen));
	json_object_set_new(row, "inventory_only", json_boolean(foreign));
	/* a saving only where one can be made: an inventory-only row takes
	 * no unit of the entitlement (nor moves the others' cents) */
	if (db_column_type(st, 8) != DB_NULL && !foreign) {
		unit = unit_saving(st, units);
		json_object_set_new(row, "entitlement",
		                    json_integer(db_column_int64(st, 8)));
		json_object_set_new(row, "saving_cents", json_integer(unit));
		share_add_eur(row, "saving");
		if (unused)
			*saving_total += unit;
	}
	return row;
}

/* The saving of n seats of the holder's (commune or pool) entitlements
 * of product and metric in force in the period and with a cost, lowest id
 * first: each one's unit cost, or the first units of its total cost split
 * over its quantity by the largest remainder method; in *saving, with the
 * ids it took seats from appended to ids. */
static int
seat_saving(struct sq *q, const struct store_query *qu, json_t *row,
            long long n, long long *saving, json_t *ids)
{
	struct db_stmt *st = sq_prep(
	    q, "SELECT id, unit_cost, total_cost, quantity FROM entitlements"
	       " WHERE product = ?1 AND metric = ?2"
	       " AND (commune = ?3 OR pool = ?3)"
	       " AND coalesce(unit_cost, total_cost) IS NOT NULL"
	       " AND (start_date IS NULL OR start_date <= ?5)"
	       " AND (end_date IS NULL OR end_date >= ?4) ORDER BY id");
	long long qty, take, total, k;
	char d0[16], d1[16];
	int r = DB_DONE;

	if (st == NULL)
		return STORE_ERR;
	cal_format(qu->first, d0, sizeof(d0));
	cal_format(qu->last, d1, sizeof(d1));
	db_bind_text(st, 1, sq_jstr(row, "product"));
	db_bind_text(st, 2, sq_jstr(row, "metric"));
	db_bind_text(st, 3, sq_jstr(row, "holder"));
	db_bind_text(st, 4, d0);
	db_bind_text(st, 5, d1);
	*saving = 0;
	while (n > 0 && (r = db_step(st)) == DB_ROW) {
		qty = db_column_int64(st, 3) > 0 ? db_column_int64(st, 3) : 1;
		take = n < qty ? n : qty;
		n -= take;
		json_array_append_new(ids,
		                      json_integer(db_column_int64(st, 0)));
		if (db_column_type(st, 1) != DB_NULL) {
			*saving += take * db_column_int64(st, 1);
			continue;
		}
		total = db_column_int64(st, 2);
		for (k = 0; k < take; k++) /* its first units */
			*saving += share_unit(total, qty, k);
	}
	r = n > 0 ? r : DB_DONE;
	db_finalize(st);
	return r == DB_DONE ? STORE_OK : sq_done(q, r);
}

/* A seat row: a holder's surplus of a user or concurrent licence. */
static json_t *
seat_row(json_t *c, long long surplus)
{
	return json_pack(
	    "{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:I}", "product",
	    json_object_get(c, "product"), "product_name",
	    json_object_get(c, "product_name"), "level",
	    json_object_get(c, "level"), "holder", json_object_get(c, "holder"),
	    "metric", json_object_get(c, "metric"), "owned",
	    json_object_get(c, "owned"), "need", json_object_get(c, "need"),
	    "surplus", (json_int_t)surplus);
}

/* The member communes of every pool: {pool: {commune: true}}. */
static int
pool_members(struct sq *q, json_t **out)
{
	struct db_stmt *st =
	    sq_prep(q, "SELECT pool, commune FROM pool_members");
	json_t *m;
	int r;

	if (st == NULL)
		return STORE_ERR;
	*out = json_object();
	while ((r = db_step(st)) == DB_ROW) {
		const char *pool = db_column_text(st, 0);

		if ((m = json_object_get(*out, pool)) == NULL)
			json_object_set_new(*out, pool, m = json_object());
		json_object_set_new(m, db_column_text(st, 1), json_true());
	}
	db_finalize(st);
	if (sq_done(q, r) == STORE_OK)
		return STORE_OK;
	json_decref(*out);
	*out = NULL;
	return STORE_ERR;
}

/* The surplus of compliance row c of a user or concurrent metric: owned
 * beyond the need; a pool's, beyond its need and its members' own
 * surpluses (kept in commune_ex by "product/metric/commune": the members
 * use their own licences first). -1 for other rows. */
static long long
seat_surplus(json_t *c, json_t *members, json_t *commune_ex)
{
	const char *level = sq_jstr(c, "level"), *metric = sq_jstr(c, "metric");
	long long ex, own = 0;
	const char *code;
	json_t *v, *m;
	char key[256];

	if (strcmp(metric, "user") && strcmp(metric, "concurrent"))
		return -1;
	if (strcmp(sq_jstr(c, "metering"), "installed") == 0)
		return -1; /* presence is use: never reclaimed */
	if (!json_is_integer(json_object_get(c, "need")))
		return -1; /* withheld */
	ex = json_integer_value(json_object_get(c, "owned")) -
	     json_integer_value(json_object_get(c, "need"));
	if (strcmp(level, "commune") == 0) {
		snprintf(key, sizeof(key), "%s/%s/%s", sq_jstr(c, "product"),
		         metric, sq_jstr(c, "holder"));
		json_object_set_new(commune_ex, key,
		                    json_integer(ex > 0 ? ex : 0));
		return ex > 0 ? ex : 0;
	}
	if (strcmp(level, "pool") != 0)
		return -1;
	m = json_object_get(members, sq_jstr(c, "holder"));
	json_object_foreach(m, code, v)
	{
		snprintf(key, sizeof(key), "%s/%s/%s", sq_jstr(c, "product"),
		         metric, code);
		own += json_integer_value(json_object_get(commune_ex, key));
	}
	return ex - own > 0 ? ex - own : 0;
}

/* The compliance rows (*out, an array) of the products some entitlement
 * holds by user or concurrent metric, one product at a time (a product's
 * compliance reads its own usage only), in compliance's order. */
static int
seat_compliance(struct sq *q, const struct store_query *qu, json_t **out)
{
	struct db_stmt *st = sq_prep(q, "SELECT DISTINCT product FROM"
	                                " entitlements WHERE metric IN"
	                                " ('user', 'concurrent') ORDER BY 1");
	struct store_query one = *qu;
	json_t *rows;
	int r, rc = STORE_OK;

	if (st == NULL)
		return STORE_ERR;
	*out = json_array();
	while (rc == STORE_OK && (r = db_step(st)) == DB_ROW) {
		one.product = db_column_text(st, 0);
		if ((rc = report_compliance(q, &one, &rows)) == STORE_OK) {
			json_array_extend(*out, rows);
			json_decref(rows);
		}
	}
	if (rc == STORE_OK)
		rc = sq_done(q, r);
	db_finalize(st);
	if (rc != STORE_OK) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

/* Seats of user and concurrent licences beyond the need over the period
 * (docs/LICENCES.md, "reclaim"), from the compliance figures: a commune's
 * own surplus, then (in the intercommunal view) each pool's. Rows are
 * appended to seats, their savings added to *total. */
static int
reclaim_seats(struct sq *q, const struct store_query *qu, json_t *seats,
              long long *total)
{
	json_t *comp = NULL, *members = NULL, *ex = json_object(), *c, *row;
	const char *focus = report_focus(qu);
	long long surplus, saving;
	int rc;
	size_t i;

	if ((rc = seat_compliance(q, qu, &comp)) != STORE_OK ||
	    (rc = pool_members(q, &members)) != STORE_OK)
		goto fail;
	json_array_foreach(comp, i, c)
	{
		if (*focus && (strcmp(sq_jstr(c, "level"), "commune") ||
		               strcmp(sq_jstr(c, "holder"), focus)))
			continue; /* a commune's view: its own licences */
		if ((surplus = seat_surplus(c, members, ex)) <= 0)
			continue;
		row = seat_row(c, surplus);
		json_object_set_new(row, "entitlements", json_array());
		rc = seat_saving(q, qu, row, surplus, &saving,
		                 json_object_get(row, "entitlements"));
		if (rc != STORE_OK) {
			json_decref(row);
			goto fail;
		}
		json_object_set_new(row, "saving_cents", json_integer(saving));
		share_add_eur(row, "saving");
		*total += saving;
		json_array_append_new(seats, row);
	}
fail:
	json_decref(comp);
	json_decref(members);
	json_decref(ex);
	return rc;
}

int
report_reclaim(struct sq *q, const struct store_query *qu, json_t **out)
{
	struct db_stmt *st = sq_prep(q, reclaim_sql);
	long long saving_total = 0, foreign;
	/* coverage in parts per million: the comparison is exact */
	long long cov_ppm = (long long)(qu->coverage * 1000000 + 0.5);
	json_t *rows, *units, *seats;
	char d0[16], d1[16];
	int r;

	if (st == NULL)
		return STORE_ERR;
	cal_format(qu->first, d0, sizeof(d0));
	cal_format(qu->last, d1, sizeof(d1));
	db_bind_int64(st, 1, qu->last);
	sq_bind_opt(st, 2, qu->commune);
	db_bind_int64(st, 3, qu->days);
	db_bind_text(st, 4, d0);
	db_bind_text(st, 5, d1);
	db_bind_int64(st, 6, report_end(qu->last));
	rows = json_array();
	units = json_object();
	while ((r = db_step(st)) == DB_ROW)
		json_array_append_new(rows, reclaim_row(st, qu->last, cov_ppm,
		                                        units, &saving_total));
	json_decref(units);
	r = sq_done(q, r);
	db_finalize(st);
	seats = json_array();
	if (r != STORE_OK ||
	    reclaim_seats(q, qu, seats, &saving_total) != STORE_OK) {
		json_decref(rows);
		json_decref(seats);
		return STORE_ERR;
	}
	if (report_inventory_only(q, qu, &foreign) != STORE_OK) {
		json_decref(rows);
		json_decref(seats);
		return STORE_ERR;
	}
	*out = json_pack(
	    "{s:o, s:o, s:I, s:o, s:f, s:i, s:I}", "rows", rows, "seats", seats,
	    "saving_cents", (json_int_t)saving_total, "saving_eur",
	    share_json(saving_total, MONEY_SCALE), "coverage", qu->coverage,
	    "days", qu->days, "inventory_only_machines", (json_int_t)foreign);
	return STORE_OK;
}
