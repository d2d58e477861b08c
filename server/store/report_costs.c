/*
 * report_costs: the statements of pooled entitlements, each member's
 * share of the part of the invoice billed in the window
 * (docs/LICENCES.md, "costs").
 */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#include "cal.h"
#include "entitle.h"
#include "share.h"

/* One member's measure of a product over the window, by the pool's basis:
 * its people's hours (seconds), the most machines running it at once, or
 * the machines with it installed that were in service on the last day
 * (docs/LICENCES.md, "Lifecycle"), in *v. STORE_OK, or STORE_ERR. */
static int MUTU_MUST_CHECK
measure(struct sq *q, const char *basis, const char *product,
        const char *commune, const struct store_query *qu, long long *v)
{
	/* from the commune's daily figures of the product (stat.h): its
	 * people's hours (the union of each one's, added up), the most
	 * machines running it at once */
	static const char hours[] =
	    "SELECT coalesce(sum(secs), 0) FROM usage_stat"
	    " WHERE level = 'commune' AND holder = ?4 AND product = ?3"
	    " AND day >= ?1 AND day <= ?2";
	static const char peak[] =
	    "SELECT coalesce(max(peak), 0) FROM usage_stat"
	    " WHERE level = 'commune' AND holder = ?4 AND product = ?3"
	    " AND day >= ?1 AND day <= ?2";
	/* clang-format off */
	static const char installs[] =
	    "SELECT count(DISTINCT s.agent_id) FROM software s"
	    " JOIN " REPORT_AGENTS_AT("?2") " a"
	    " ON a.agent_id = s.agent_id"
	    " JOIN software_map m ON m.name = s.name"
	    " AND m.publisher = coalesce(s.publisher, '')"
	    " WHERE ?1 IS NOT NULL AND m.product = ?3 AND a.commune = ?4"
	    " AND " REPORT_IN_SERVICE("a", "?5");
	/* clang-format on */
	int by_hours =
	    strcmp(basis, "peak") != 0 && strcmp(basis, "installs") != 0;
	const char *sql = by_hours                     ? hours
	                  : strcmp(basis, "peak") == 0 ? peak
	                                               : installs;
	struct db_stmt *st;
	int r;

	st = sq_prep(q, sql);
	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, qu->first);
	db_bind_int64(st, 2, qu->last);
	db_bind_text(st, 3, product);
	db_bind_text(st, 4, commune);
	if (sql == installs)
		db_bind_int64(st, 5, report_end(qu->last));
	/* an aggregate: one row, always */
	if ((r = db_step(st)) == DB_ROW)
		*v = db_column_int64(st, 0);
	else
		r = sq_done(q, r) == STORE_OK ? DB_ERROR : r;
	db_finalize(st);
	return r == DB_ROW ? STORE_OK : STORE_ERR;
}

/* The statements of one pooled entitlement for the days [d0, d1] in
 * force in the window: billed (its part of the invoice) split into the
 * fixed part (billed x fixed share, half up), shared equally, and the
 * rest, shared by the members' measures over those days, both by the
 * largest remainder method. NULL when a measure cannot be read (or on
 * ENOMEM). */
static json_t *
statements(struct sq *q, json_t *ent, const struct store_query *qu,
           long long billed, long long d0, long long d1)
{
	const char *basis = sq_jstr(ent, "basis"),
	           *product = sq_jstr(ent, "product");
	json_t *members = json_object_get(ent, "members"), *list, *m, *s;
	long long ppm =
	    json_integer_value(json_object_get(ent, "fixed_share_ppm"));
	size_t i, n = json_array_size(members);
	long long fixed_total, *w, *one, *fixed, *var;
	struct store_query in_force = *qu;

	in_force.first = d0;
	in_force.last = d1;
	fixed_total = share_mul_div(billed, ppm, 1000000);
	w = calloc(n + 1, sizeof(*w));
	one = calloc(n + 1, sizeof(*one));
	fixed = calloc(n + 1, sizeof(*fixed));
	var = calloc(n + 1, sizeof(*var));
	list = NULL;
	if (!w || !one || !fixed || !var)
		goto done;
	json_array_foreach(members, i, m)
	{
		if (measure(q, basis, product, json_string_value(m), &in_force,
		            &w[i]) != STORE_OK)
			goto done;
		one[i] = 1;
	}
	if (share_split(fixed_total, one, n, fixed) == -1 ||
	    share_split(billed - fixed_total, w, n, var) == -1)
		goto done;
	list = json_array();
	json_array_foreach(members, i, m)
	{
		s = json_pack("{s:s, s:I, s:I, s:I, s:I}", "commune",
		              json_string_value(m), "measure", (json_int_t)w[i],
		              "fixed_cents", (json_int_t)fixed[i],
		              "usage_cents", (json_int_t)var[i], "total_cents",
		              (json_int_t)(fixed[i] + var[i]));
		share_add_eur(s, "fixed");
		share_add_eur(s, "usage");
		share_add_eur(s, "total");
		json_array_append_new(list, s);
	}
done:
	free(w);
	free(one);
	free(fixed);
	free(var);
	return list;
}

/* The part of an entitlement's invoice billed in the window [w0, w1]
 * (day numbers), and the days [*d0, *d1] it is in force in it. A term
 * with both dates is prorated by days (share_prorate: the windows of a
 * term add up to the invoice); without both, the whole invoice. */
static long long
billed_part(json_t *e, long long w0, long long w1, long long *d0, long long *d1)
{
	long long invoice =
	    json_integer_value(json_object_get(e, "invoice_cents"));
	long long s, t;
	int has_s = cal_parse(sq_jstr(e, "start_date"), &s) == 0;
	int has_t = cal_parse(sq_jstr(e, "end_date"), &t) == 0;

	*d0 = has_s && s > w0 ? s : w0;
	*d1 = has_t && t < w1 ? t : w1;
	json_object_set_new(e, "term_days",
	                    has_s && has_t ? json_integer(t - s + 1)
	                                   : json_null());
	json_object_set_new(e, "days_in_force",
	                    json_integer(*d1 >= *d0 ? *d1 - *d0 + 1 : 0));
	if (*d1 < *d0)
		return 0;
	if (!has_s || !has_t)
		return invoice;
	return share_prorate(invoice, *d0 - s, *d1 - s + 1, t - s + 1);
}

/* Keeps, of a pool's statements, the one of commune only. */
static void
own_statement(json_t *list, const char *commune)
{
	size_t i = 0;

	while (i < json_array_size(list)) {
		if (strcmp(sq_jstr(json_array_get(list, i), "commune"),
		           commune))
			json_array_remove(list, i);
		else
			i++;
	}
}

/* Costs. A commune admin sees its own statement only, and, for a pool
 * shared by hours or peak, over the whole calendar months of the window
 * (the days of a partial month at either end are left out, and the part
 * billed with them): one's own share of a usage split reveals the
 * partners' measure over its period, so a member never gets it for a
 * period shorter than a month (docs/LICENCES.md, "Privacy"). */
int
report_costs(struct sq *q, const struct store_query *qu, json_t **out)
{
	long long w0 = qu->first, w1 = qu->last, d0, d1, billed;
	long long m0, m1;
	int member = qu->viewer && *qu->viewer;
	char first[16], last[16];
	struct db_stmt *st;
	json_t *ents, *e, *list;
	size_t i;
	int rc;

	st =
	    sq_prep(q, "SELECT e.id, e.product, p.name AS product_name, e.pool,"
	               " po.name AS pool_name, po.fixed_share_ppm, po.basis,"
	               " coalesce(e.total_cost, e.unit_cost * e.quantity)"
	               " AS invoice_cents, e.contract, e.start_date,"
	               " e.end_date,"
	               " (SELECT json_group_array(commune) FROM (SELECT commune"
	               "  FROM pool_members pm WHERE pm.pool = e.pool"
	               "  ORDER BY commune) AS t) AS members"
	               " FROM entitlements e JOIN pools po ON po.code = e.pool"
	               " JOIN products p ON p.key = e.product"
	               " WHERE (?1 IS NULL OR e.pool = ?1)"
	               " AND (?2 = '' OR e.pool IN (SELECT pool FROM"
	               "  pool_members WHERE commune = ?2))"
	               " AND coalesce(e.total_cost, e.unit_cost) IS NOT NULL"
	               " AND (e.start_date IS NULL OR e.start_date <= ?4)"
	               " AND (e.end_date IS NULL OR e.end_date >= ?3)"
	               " ORDER BY e.pool, e.product, e.id");
	if (st == NULL)
		return STORE_ERR;
	cal_format(qu->first, first, sizeof(first));
	cal_format(qu->last, last, sizeof(last));
	sq_bind_opt(st, 1, qu->pool);
	db_bind_text(st, 2, report_focus(qu));
	db_bind_text(st, 3, first);
	db_bind_text(st, 4, last);
	rc = sq_rows(q, st, &ents);
	db_finalize(st);
	if (rc != STORE_OK)
		return rc;
	json_array_foreach(ents, i, e)
	{
		json_object_set_new(e, "members",
		                    json_loads(sq_jstr(e, "members"), 0, NULL));
		json_object_set_new(
		    e, "fixed_share",
		    share_json(json_integer_value(
		                   json_object_get(e, "fixed_share_ppm")),
		               SHARE_SCALE));
		billed = billed_part(e, w0, w1, &d0, &d1);
		if (member && strcmp(sq_jstr(e, "basis"), "installs") != 0) {
			/* a commune admin: whole months only (see above) */
			m0 = cal_month(d0) == d0
			         ? d0
			         : cal_month(cal_month(d0) + 31);
			m1 = cal_month(d1 + 1) - 1;
			if (d1 < d0 || m1 < m0) {
				m0 = w1 + 1;
				m1 = w1;
			}
			billed = billed_part(e, m0, m1, &d0, &d1);
			json_object_set_new(e, "whole_months", json_true());
		}
		json_object_set_new(e, "billed_cents", json_integer(billed));
		share_add_eur(e, "invoice");
		share_add_eur(e, "billed");
		list = d1 < d0 ? json_array()
		               : statements(q, e, qu, billed, d0, d1);
		if (list == NULL) {
			json_decref(ents);
			return STORE_ERR;
		}
		if (member)
			own_statement(list, qu->viewer);
		json_object_set_new(e, "statements", list);
	}
	*out = ents;
	return STORE_OK;
}
