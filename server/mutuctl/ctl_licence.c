/*
 * ctl_licence: mutuctl's licence commands: catalogue, entitlements, pools,
 * and the compliance, reclaim, costs and usage reports.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "ctl.h"
#include "util.h"

static int
flag(const struct ctl *c, const char *name)
{
	return json_object_get(c->opts, name) != NULL;
}

/* "1234.5" euros -> 123450 cents, exactly (no floating point). */
static long long
cents(const char *s, const char *what)
{
	long long units, frac = 0;
	char whole[32], part[4] = "00";
	const char *dot = strchr(s, '.');
	size_t n = dot ? (size_t)(dot - s) : strlen(s);

	if (n == 0 || n >= sizeof(whole))
		ctl_die(CTL_EXIT_USAGE,
		        "%s: expected an amount in euros, e.g. 1234.50", what);
	memcpy(whole, s, n);
	whole[n] = '\0';
	if (dot) {
		if (strlen(dot + 1) < 1 || strlen(dot + 1) > 2 ||
		    strspn(dot + 1, "0123456789") != strlen(dot + 1))
			ctl_die(CTL_EXIT_USAGE,
			        "%s: expected at most two decimals", what);
		memcpy(part, dot + 1, strlen(dot + 1));
	}
	if (util_parse_ll(whole, 0, 1LL << 40, &units) == -1 ||
	    util_parse_ll(part, 0, 99, &frac) == -1)
		ctl_die(CTL_EXIT_USAGE,
		        "%s: expected an amount in euros, e.g. 1234.50", what);
	return units * 100 + frac;
}

static long long
number(const char *s, long long min, long long max, const char *what)
{
	long long v;

	if (util_parse_ll(s, min, max, &v) == -1)
		ctl_die(CTL_EXIT_USAGE, "%s: expected a whole number in range",
		        what);
	return v;
}

static void
euros(long long c, char *out, size_t n)
{
	snprintf(out, n, "%lld.%02lld", c / 100, c % 100);
}

/* Adds "<key>_eur" strings next to the integer "<key>_cents" fields, for
 * tables and CSV. */
static void
add_euros(json_t *row, const char *key)
{
	char name[64], v[32];
	json_t *c;

	snprintf(name, sizeof(name), "%s_cents", key);
	c = json_object_get(row, name);
	if (!json_is_integer(c))
		return;
	euros(json_integer_value(c), v, sizeof(v));
	snprintf(name, sizeof(name), "%s_eur", key);
	json_object_set_new(row, name, json_string(v));
}

/* --limit N: the first N rows of an array (in place); totals the server
 * sent stay over all rows. */
static void
trim(const struct ctl *c, json_t *rows)
{
	while (c->limit > 0 && json_array_size(rows) > (size_t)c->limit)
		json_array_remove(rows, json_array_size(rows) - 1);
}

static json_t *
report(const struct ctl *c, const char *kind)
{
	char q[1024] = "", path[1200];

	ctl_param(q, sizeof(q), "commune", c->commune);
	ctl_param(q, sizeof(q), "product", c->product);
	ctl_param(q, sizeof(q), "pool", ctl_opt(c, "pool"));
	ctl_param(q, sizeof(q), "coverage", ctl_opt(c, "coverage"));
	ctl_period(c, q, sizeof(q));
	snprintf(path, sizeof(path), "/api/v1/reports/%s%s", kind, q);
	return ctl_request(c, "GET", path, NULL);
}

static int
cmd_compliance(const struct ctl *c)
{
	static const struct column cols[] = {{"PRODUCT", "product"},
	                                     {"LEVEL", "level"},
	                                     {"HOLDER", "holder"},
	                                     {"METRIC", "metric"},
	                                     {"OWNED", "owned"},
	                                     {"NEED", "need"},
	                                     {"INSTALLED", "installed"},
	                                     {"USED_MACHINES", "used_machines"},
	                                     {"USED_USERS", "used_users"},
	                                     {"USAGE_HOURS", "usage_hours"},
	                                     {"PEAK", "peak_concurrent"},
	                                     {"STATUS", "status"},
	                                     {NULL, NULL}};
	json_t *j = report(c, "compliance");

	trim(c, j);
	ctl_print(c, j, cols);
	json_decref(j);
	return 0;
}

static int
cmd_reclaim(const struct ctl *c)
{
	static const struct column cols[] = {{"HOSTNAME", "hostname"},
	                                     {"COMMUNE", "commune"},
	                                     {"PRODUCT", "product"},
	                                     {"LAST_USED", "last_used"},
	                                     {"WINDOW_DAYS", "window_days"},
	                                     {"COVERAGE", "coverage"},
	                                     {"STATUS", "status"},
	                                     {"SAVING_EUR", "saving_eur"},
	                                     {NULL, NULL}};
	static const struct column seat_cols[] = {{"PRODUCT", "product"},
	                                          {"LEVEL", "level"},
	                                          {"HOLDER", "holder"},
	                                          {"METRIC", "metric"},
	                                          {"OWNED", "owned"},
	                                          {"NEED", "need"},
	                                          {"SURPLUS", "surplus"},
	                                          {"SAVING_EUR", "saving_eur"},
	                                          {NULL, NULL}};
	json_t *j = report(c, "reclaim"), *rows = json_object_get(j, "rows"),
	       *r, *seats;
	char total[32];
	size_t i;

	seats = json_object_get(j, "seats");
	json_array_foreach(rows, i, r) add_euros(r, "saving");
	json_array_foreach(seats, i, r) add_euros(r, "saving");
	trim(c, rows);
	if (c->format == FMT_JSON) {
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (flag(c, "seats")) /* the seats' table, or CSV */
		ctl_print(c, seats, seat_cols);
	else
		ctl_print(c, rows, cols);
	if (c->format == FMT_TABLE && !flag(c, "seats") &&
	    json_array_size(seats) > 0) {
		printf("\nseats beyond the need (user and concurrent "
		       "licences; --seats for these alone):\n");
		ctl_print(c, seats, seat_cols);
	}
	if (c->format == FMT_TABLE) {
		euros(json_integer_value(json_object_get(j, "saving_cents")),
		      total, sizeof(total));
		printf("\nreclaimable: %s EUR at the licences' prices "
		       "(installations unused, agents reporting >= %.0f%% of "
		       "the window, and seats beyond the need; all rows)\n",
		       total,
		       json_number_value(json_object_get(j, "coverage")) * 100);
	}
	json_decref(j);
	return 0;
}

static int
cmd_costs(const struct ctl *c)
{
	static const struct column cols[] = {{"POOL", "pool"},
	                                     {"PRODUCT", "product"},
	                                     {"CONTRACT", "contract"},
	                                     {"BASIS", "basis"},
	                                     {"INVOICE_EUR", "invoice_eur"},
	                                     {"DAYS", "days_in_force"},
	                                     {"BILLED_EUR", "billed_eur"},
	                                     {"COMMUNE", "commune"},
	                                     {"MEASURE", "measure"},
	                                     {"FIXED_EUR", "fixed_eur"},
	                                     {"USAGE_EUR", "usage_eur"},
	                                     {"TOTAL_EUR", "total_eur"},
	                                     {NULL, NULL}};
	json_t *j = report(c, "costs"), *flat = json_array(), *e, *s, *row;
	size_t i, k;

	json_array_foreach(j, i, e)
	{
		add_euros(e, "invoice");
		json_array_foreach(json_object_get(e, "statements"), k, s)
		{
			row = json_deep_copy(s);
			json_object_update_missing(row, e);
			json_object_del(row, "statements");
			json_object_del(row, "members");
			add_euros(row, "fixed");
			add_euros(row, "usage");
			add_euros(row, "total");
			json_array_append_new(flat, row);
		}
	}
	if (c->format == FMT_JSON) {
		trim(c, j);
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		trim(c, flat);
		ctl_print(c, flat, cols);
	}
	json_decref(flat);
	json_decref(j);
	return 0;
}

static int
cmd_usage(const struct ctl *c)
{
	static const struct column cols[] = {{"MONTH", "month"},
	                                     {"PRODUCT", "product"},
	                                     {"COMMUNE", "commune"},
	                                     {"USAGE_HOURS", "usage_hours"},
	                                     {"USED_MACHINES", "used_machines"},
	                                     {"USED_USERS", "used_users"},
	                                     {NULL, NULL}};
	json_t *j = report(c, "usage");

	trim(c, j);
	ctl_print(c, j, cols);
	json_decref(j);
	return 0;
}

static json_t *
read_json_file(const char *path)
{
	json_error_t jerr;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);

	if (j == NULL) {
		ctl_die(CTL_EXIT_USAGE, "%s:%d: %s", path, jerr.line,
		        jerr.text);
	}
	return j;
}

static int
cmd_catalogue(const struct ctl *c, int argc, char **argv)
{
	static const struct column products[] = {
	    {"KEY", "key"},
	    {"NAME", "name"},
	    {"PUBLISHER", "publisher"},
	    {"FAMILY", "family"},
	    {"CATEGORY", "category"},
	    {"FREE", "free"},
	    {"SEASONAL_DAYS", "seasonal_days"},
	    {"METERING", "metering"},
	    {"ORIGIN", "origin"},
	    {NULL, NULL}};
	static const struct column rules[] = {{"ID", "id"},
	                                      {"ORIGIN", "origin"},
	                                      {"PRIORITY", "priority"},
	                                      {"FIELD", "field"},
	                                      {"GLOB", "glob"},
	                                      {"REGEX", "regex"},
	                                      {"PRODUCT", "product"},
	                                      {"IGNORE", "ignore"},
	                                      {NULL, NULL}};
	static const struct column raw[] = {{"NAME", "name"},
	                                    {"PUBLISHER", "publisher"},
	                                    {"MACHINES", "machines"},
	                                    {NULL, NULL}};
	const char *sub = argc > 1 ? argv[1] : "products";
	char path[256];
	json_t *j = NULL, *body;
	FILE *fp;

	if (strcmp(sub, "export") == 0 && argc <= 3) {
		j = ctl_request(c, "GET", "/api/v1/catalogue", NULL);
		fp = argc == 3 ? fopen(argv[2], "w") : stdout;
		if (fp == NULL)
			ctl_die(CTL_EXIT_FAIL, "%s: cannot write", argv[2]);
		json_dumpf(j, fp, JSON_INDENT(2));
		fputc('\n', fp);
		if (fp != stdout)
			fclose(fp);
	} else if (strcmp(sub, "import") == 0 && argc == 3) {
		body = read_json_file(argv[2]);
		j = ctl_request(c, "POST", "/api/v1/catalogue", body);
		json_decref(body);
		printf("catalogue imported: %zu products, %zu rules in force\n",
		       json_array_size(json_object_get(j, "products")),
		       json_array_size(json_object_get(j, "rules")));
	} else if (strcmp(sub, "products") == 0 && argc <= 2) {
		j = ctl_request(c, "GET", "/api/v1/catalogue", NULL);
		ctl_print(c, json_object_get(j, "products"), products);
	} else if (strcmp(sub, "rules") == 0 && argc == 2) {
		j = ctl_request(c, "GET", "/api/v1/catalogue", NULL);
		ctl_print(c, json_object_get(j, "rules"), rules);
	} else if (strcmp(sub, "unmatched") == 0 && argc == 2) {
		j = ctl_request(c, "GET", "/api/v1/catalogue/unmatched", NULL);
		ctl_print(c, j, raw);
	} else if (strcmp(sub, "add-rule") == 0 && argc == 2) {
		body = json_pack("{s:s?, s:s?, s:s?, s:s?}", "field",
		                 ctl_opt(c, "field"), "glob",
		                 ctl_opt(c, "glob"), "regex",
		                 ctl_opt(c, "regex"), "product", c->product);
		if (flag(c, "ignore"))
			json_object_set_new(body, "ignore", json_true());
		if (ctl_opt(c, "priority"))
			json_object_set_new(
			    body, "priority",
			    json_integer(number(ctl_opt(c, "priority"),
			                        -1000000, 1000000,
			                        "--priority")));
		j = ctl_request(c, "POST", "/api/v1/catalogue/rules", body);
		json_decref(body);
		printf("rule added; %zu rules in force\n",
		       json_array_size(json_object_get(j, "rules")));
	} else if (strcmp(sub, "del-rule") == 0 && argc == 3) {
		snprintf(path, sizeof(path), "/api/v1/catalogue/rules/%s",
		         argv[2]);
		j = ctl_request(c, "DELETE", path, NULL);
		printf("rule %s deleted\n", argv[2]);
	} else if (strcmp(sub, "add-product") == 0 && argc == 3) {
		body = json_pack(
		    "{s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:b}", "key", argv[2],
		    "name", ctl_opt(c, "name"), "publisher",
		    ctl_opt(c, "publisher"), "family", ctl_opt(c, "family"),
		    "edition", ctl_opt(c, "edition"), "category",
		    ctl_opt(c, "category"), "free", flag(c, "free"));
		if (ctl_opt(c, "metering"))
			json_object_set_new(
			    body, "metering",
			    json_string(ctl_opt(c, "metering")));
		if (ctl_opt(c, "seasonal-days"))
			json_object_set_new(
			    body, "seasonal_days",
			    json_integer(number(ctl_opt(c, "seasonal-days"), 1,
			                        3660, "--seasonal-days")));
		j = ctl_request(c, "POST", "/api/v1/catalogue/products", body);
		json_decref(body);
		printf("product %s saved\n", argv[2]);
	} else
		return 2;
	json_decref(j);
	return 0;
}

/* An entitlement from the options (add, update). */
static json_t *
ent_from_opts(const struct ctl *c)
{
	json_t *e = json_pack(
	    "{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}", "product", c->product,
	    "commune", c->commune, "pool", ctl_opt(c, "pool"), "metric",
	    ctl_opt(c, "metric"), "start_date", ctl_opt(c, "start"), "end_date",
	    ctl_opt(c, "end"), "contract", ctl_opt(c, "contract"));
	long long q;

	if (ctl_opt(c, "quantity") == NULL ||
	    util_parse_ll(ctl_opt(c, "quantity"), 0, 10000000, &q) == -1)
		ctl_die(CTL_EXIT_USAGE, "%s",
		        "--quantity: expected a whole number");
	json_object_set_new(e, "quantity", json_integer(q));
	if (ctl_opt(c, "unit-cost"))
		json_object_set_new(e, "unit_cost_cents",
		                    json_integer(cents(ctl_opt(c, "unit-cost"),
		                                       "--unit-cost")));
	if (ctl_opt(c, "total-cost"))
		json_object_set_new(e, "total_cost_cents",
		                    json_integer(cents(ctl_opt(c, "total-cost"),
		                                       "--total-cost")));
	return e;
}

/* Splits one CSV line (RFC 4180 quotes) into at most n fields. */
static size_t
csv_split(char *line, char **f, size_t n)
{
	size_t k = 0;
	char *r = line, *w;

	while (k < n) {
		f[k++] = w = r;
		if (*r == '"') {
			for (r++; *r; r++) {
				if (*r == '"' && r[1] == '"')
					*w++ = *r++;
				else if (*r == '"')
					break;
				else
					*w++ = *r;
			}
			if (*r == '"')
				r++;
		} else
			while (*r && *r != ',' && *r != '\n' && *r != '\r')
				*w++ = *r++;
		if (*r != ',') {
			*w = '\0';
			break;
		}
		*w = '\0';
		r++;
	}
	return k;
}

/* CSV with a header naming the columns: product, commune, pool, metric,
 * quantity, unit_cost, total_cost (euros), start_date, end_date, contract. */
static json_t *
ents_from_csv(const char *path)
{
	char line[4096], head[4096], *h[16], *v[16];
	size_t nh, nv, i, lineno = 1;
	json_t *list = json_array(), *e;
	FILE *fp = fopen(path, "r");

	if (fp == NULL || fgets(head, sizeof(head), fp) == NULL)
		ctl_die(CTL_EXIT_USAGE, "%s: cannot read a CSV header", path);
	nh = csv_split(head, h, 16);
	while (fgets(line, sizeof(line), fp)) {
		lineno++;
		if (line[strspn(line, " \r\n")] == '\0')
			continue;
		nv = csv_split(line, v, 16);
		e = json_object();
		for (i = 0; i < nh && i < nv; i++) {
			if (v[i][0] == '\0')
				continue;
			if (strcmp(h[i], "quantity") == 0)
				json_object_set_new(
				    e, "quantity",
				    json_integer(
				        number(v[i], 0, 10000000, "quantity")));
			else if (strcmp(h[i], "unit_cost") == 0 ||
			         strcmp(h[i], "total_cost") == 0) {
				char key[32];
				snprintf(key, sizeof(key), "%s_cents", h[i]);
				json_object_set_new(
				    e, key, json_integer(cents(v[i], h[i])));
			} else
				json_object_set_new(e, h[i], json_string(v[i]));
		}
		json_array_append_new(list, e);
	}
	fclose(fp);
	return list;
}

static int
cmd_entitlements(const struct ctl *c, int argc, char **argv)
{
	static const struct column cols[] = {
	    {"ID", "id"},
	    {"PRODUCT", "product"},
	    {"COMMUNE", "commune"},
	    {"POOL", "pool"},
	    {"METRIC", "metric"},
	    {"QUANTITY", "quantity"},
	    {"UNIT_COST_EUR", "unit_cost_eur"},
	    {"TOTAL_COST_EUR", "total_cost_eur"},
	    {"START", "start_date"},
	    {"END", "end_date"},
	    {"CONTRACT", "contract"},
	    {NULL, NULL}};
	const char *sub = argc > 1 ? argv[1] : "list";
	json_t *j, *body = NULL, *r;
	char path[256];
	size_t i;

	if (strcmp(sub, "list") == 0 && argc <= 2)
		j = ctl_request(c, "GET", "/api/v1/entitlements", NULL);
	else if (strcmp(sub, "add") == 0 && argc == 2)
		j = ctl_request(c, "POST", "/api/v1/entitlements",
		                body = ent_from_opts(c));
	else if (strcmp(sub, "import") == 0 && argc == 3)
		j = ctl_request(c, "POST", "/api/v1/entitlements",
		                body = ents_from_csv(argv[2]));
	else if ((strcmp(sub, "update") == 0 || strcmp(sub, "del") == 0) &&
	         argc == 3) {
		snprintf(path, sizeof(path), "/api/v1/entitlements/%s",
		         argv[2]);
		j = sub[0] == 'u'
		        ? ctl_request(c, "PUT", path, body = ent_from_opts(c))
		        : ctl_request(c, "DELETE", path, NULL);
	} else
		return 2;
	json_decref(body);
	json_array_foreach(j, i, r)
	{
		add_euros(r, "unit_cost");
		add_euros(r, "total_cost");
	}
	ctl_print(c, j, cols);
	json_decref(j);
	return 0;
}

static int
cmd_pools(const struct ctl *c, int argc, char **argv)
{
	static const struct column cols[] = {{"CODE", "code"},
	                                     {"NAME", "name"},
	                                     {"MEMBERS", "members_list"},
	                                     {"FIXED_SHARE", "fixed_share"},
	                                     {"BASIS", "basis"},
	                                     {NULL, NULL}};
	const char *sub = argc > 1 ? argv[1] : "list";
	json_t *j, *body = NULL, *members, *p, *m;
	char list[1024], *copy, *tok, *save = NULL;
	size_t i, k;

	if (strcmp(sub, "list") == 0 && argc <= 2)
		j = ctl_request(c, "GET", "/api/v1/pools", NULL);
	else if (strcmp(sub, "set") == 0 && argc == 3) {
		if (ctl_opt(c, "members") == NULL)
			ctl_die(CTL_EXIT_USAGE, "%s",
			        "pools set: --members C1,C2,... is required");
		members = json_array();
		copy = strdup(ctl_opt(c, "members"));
		for (tok = strtok_r(copy, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save))
			json_array_append_new(members, json_string(tok));
		free(copy);
		body = json_pack("{s:s, s:s?, s:o, s:s?}", "code", argv[2],
		                 "name", ctl_opt(c, "name"), "members", members,
		                 "basis", ctl_opt(c, "basis"));
		/* as text: the server reads the decimal exactly */
		if (ctl_opt(c, "fixed-share"))
			json_object_set_new(
			    body, "fixed_share",
			    json_string(ctl_opt(c, "fixed-share")));
		j = ctl_request(c, "POST", "/api/v1/pools", body);
	} else
		return 2;
	json_decref(body);
	json_array_foreach(j, i, p)
	{
		list[0] = '\0';
		json_array_foreach(json_object_get(p, "members"), k, m)
		{
			if (k)
				strncat(list, ",",
				        sizeof(list) - strlen(list) - 1);
			strncat(list, json_string_value(m),
			        sizeof(list) - strlen(list) - 1);
		}
		json_object_set_new(p, "members_list", json_string(list));
	}
	ctl_print(c, j, cols);
	json_decref(j);
	return 0;
}

int
ctl_licence(const struct ctl *c, int argc, char **argv)
{
	const char *cmd = argv[0];

	if (strcmp(cmd, "compliance") == 0 && argc == 1)
		return cmd_compliance(c);
	if (strcmp(cmd, "reclaim") == 0 && argc == 1)
		return cmd_reclaim(c);
	if (strcmp(cmd, "costs") == 0 && argc == 1)
		return cmd_costs(c);
	if (strcmp(cmd, "usage") == 0 && argc == 1)
		return cmd_usage(c);
	if (strcmp(cmd, "catalogue") == 0)
		return cmd_catalogue(c, argc, argv);
	if (strcmp(cmd, "entitlements") == 0)
		return cmd_entitlements(c, argc, argv);
	if (strcmp(cmd, "pools") == 0)
		return cmd_pools(c, argc, argv);
	return -1;
}
