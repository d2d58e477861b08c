/*
 * mutuctl: the admins' command line over the server's HTTP API.
 * Exit codes: 0 ok, 1 server refused or error, 2 usage, 3 unreachable,
 * 4 bad token, 5 not found.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ctl.h"
#include "httpc.h"
#include "util.h"
#include "utf8.h"

static const struct column licence_cols[] = {{"PRODUCT", "product"},
                                             {"COMMUNE", "commune"},
                                             {"INSTALLED", "installed"},
                                             {"USED_MACHINES", "used_machines"},
                                             {"USED_USERS", "used_users"},
                                             {"USAGE_HOURS", "usage_hours"},
                                             {"PEAK", "peak_concurrent"},
                                             {"LAST_USED", "last_used"},
                                             {NULL, NULL}};
/* A table shows a silent machine's state as "silent 12 d" (state_cell,
 * machine_cells()); CSV gives the state and the days apart. */
static const struct column machine_cols[] = {
    {"AGENT_ID", "agent_id"}, {"HOSTNAME", "hostname"},
    {"COMMUNE", "commune"},   {"OS", "os"},
    {"SOFTWARE", "software"}, {"LAST_SEEN", "last_seen"},
    {"STATE", "state_cell"},  {"CLOCK_S", "clock_offset_s"},
    {"LOST", "records_lost"}, {NULL, NULL}};
static const struct column machine_csv_cols[] = {
    {"AGENT_ID", "agent_id"},
    {"HOSTNAME", "hostname"},
    {"COMMUNE", "commune"},
    {"OS", "os"},
    {"SOFTWARE", "software"},
    {"LAST_SEEN", "last_seen"},
    {"STATE", "state"},
    {"SILENT_DAYS", "silent_days"},
    {"CONTACT_DAYS", "contact_days"},
    {"REVOKED_AT", "revoked_at"},
    {"RETIRED_AT", "retired_at"},
    {"CLOCK_S", "clock_offset_s"},
    {"LOST", "records_lost"},
    {NULL, NULL}};
static void machine_cells(json_t *rows, const char *days_field);

static const struct column software_cols[] = {
    {"NAME", "name"}, {"VERSION", "version"}, {"ARCH", "arch"}, {NULL, NULL}};

void
ctl_die(enum ctl_exit code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mutuctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void
usage_exit(int code)
{
	fprintf(
	    code ? stderr : stdout,
	    "usage: mutuctl [--server URL] [--token-file FILE] [--format "
	    "table|json|csv] COMMAND\n"
	    "  licences [--commune CODE] [PERIOD] [--product NAME] "
	    "[--limit N] [--raw]\n"
	    "  machines [--commune CODE] [--state "
	    "active|silent|revoked|retired] [--silent DAYS]\n"
	    "  machines retire AGENT_ID   out of service: its token stops, "
	    "it stops counting\n"
	    "  machines move AGENT_ID --commune CODE   the PC is that "
	    "commune's from tomorrow\n"
	    "  inventory HOSTNAME|AGENT_ID\n"
	    "  communes\n"
	    "  compliance [--commune CODE] [--product KEY] [PERIOD] "
	    "[--limit N]\n"
	    "  reclaim [--commune CODE] [PERIOD] [--coverage 0.7] "
	    "[--limit N] [--seats]\n"
	    "  costs [--pool CODE] [PERIOD] [--limit N]\n"
	    "  usage [--commune CODE] [--product KEY] [PERIOD] "
	    "[--limit N]\n"
	    "  catalogue export [FILE] | import FILE | products | rules |"
	    " unmatched\n"
	    "  catalogue add-rule --field name|publisher|exe --glob P|--regex "
	    "P\n"
	    "            --product KEY|--ignore [--priority N]\n"
	    "  catalogue del-rule ID\n"
	    "  catalogue add-product KEY --name N [--publisher P] [--family "
	    "F]\n"
	    "            [--edition E] [--category C] [--free] "
	    "[--seasonal-days N]\n"
	    "            [--metering interactive|service|installed]\n"
	    "  entitlements list | del ID | import FILE.csv\n"
	    "  entitlements add|update [ID] --product KEY --commune C|--pool "
	    "P\n"
	    "            --metric device|user|concurrent|site --quantity N\n"
	    "            [--unit-cost EUR|--total-cost EUR] [--start "
	    "YYYY-MM-DD]\n"
	    "            [--end YYYY-MM-DD] [--contract REF]\n"
	    "  pools list | set CODE --name N --members C1,C2 [--fixed-share "
	    "0-1]\n"
	    "            [--basis hours|peak|installs]\n"
	    "  audit [--days N] | audit retention [DAYS] | "
	    "audit purge --before YYYY-MM-DD\n"
	    "  gaps [--days N]   data agents reported as given up\n"
	    "  secrets|tokens|foreign-credentials list | revoke ID |\n"
	    "            create [--commune C] [--label L] [--expires-days N]"
	    "\n"
	    "PERIOD, whole days of the server's time zone: --days N (the N "
	    "days\n"
	    "ending yesterday), --month YYYY-MM, --year YYYY, or --from "
	    "YYYY-MM-DD\n"
	    "--to YYYY-MM-DD (both included).\n"
	    "The server, token and CA file may come from MUTU_SERVER, "
	    "MUTU_TOKEN\n"
	    "and MUTU_CA_FILE. The token: from --token-file FILE (mode 0600 "
	    "or 0400)\n"
	    "or MUTU_TOKEN; --token T still works but shows it to other "
	    "local users.\n");
	exit(code);
}

static void
cell(json_t *v, char *out, size_t n)
{
	if (json_is_string(v))
		util_strlcpy(out, json_string_value(v), n);
	else if (json_is_integer(v))
		snprintf(out, n, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(out, n, "%.2f", json_real_value(v));
	else if (json_is_true(v) || json_is_false(v))
		util_strlcpy(out, json_is_true(v) ? "yes" : "no", n);
	else
		util_strlcpy(out, "-", n);
}

/* Would a spreadsheet run this cell as a formula? Plain negative numbers
 * are data. */
static int
formula_like(const char *s)
{
	if (s[0] == '\0' || strchr("=+-@\t\r", s[0]) == NULL)
		return 0;
	return !(s[0] == '-' && s[1] != '\0' &&
	         strspn(s + 1, "0123456789.") == strlen(s + 1));
}

/* One CSV cell (RFC 4180 quoting); formula-like cells get a leading
 * quote character so that spreadsheets show them as text. */
static void
csv_cell(const char *s)
{
	int neutral = formula_like(s);

	if (strpbrk(s, ",\"\n\r") == NULL) {
		printf("%s%s", neutral ? "'" : "", s);
		return;
	}
	putchar('"');
	if (neutral)
		putchar('\'');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static int tty_safe(const char *in, char *out, size_t n);

/* RFC 4180: records end in CRLF, fields holding a comma, a quote, CR or
 * LF are quoted (quotes doubled); formulas are neutralised (csv_cell).
 * To a terminal, cells go through tty_safe() as in a table (an agent's
 * host name must not drive the terminal); to a file or pipe they are
 * exact. */
static void
print_csv(json_t *rows, const struct column *cols)
{
	int tty = isatty(STDOUT_FILENO);
	char v[1024], safe[4096];
	json_t *row;
	size_t i;
	int c;

	for (c = 0; cols[c].key; c++) {
		if (c)
			putchar(',');
		csv_cell(cols[c].key);
	}
	fputs("\r\n", stdout);
	json_array_foreach(rows, i, row)
	{
		for (c = 0; cols[c].key; c++) {
			cell(json_object_get(row, cols[c].key), v, sizeof(v));
			if (tty)
				tty_safe(v, safe, sizeof(safe));
			if (c)
				putchar(',');
			if (strcmp(v, "-") == 0)
				csv_cell("");
			else
				csv_cell(tty ? safe : v);
		}
		fputs("\r\n", stdout);
	}
}

/* The code point of a bidirectional formatting character at s (of len
 * UTF-8 bytes), or 0: U+061C, U+200E-200F, U+202A-202E, U+2066-2069.
 * They reorder what a terminal shows ("Trojan Source"). */
static unsigned
bidi_control(const unsigned char *s, size_t len)
{
	if (len == 2 && s[0] == 0xd8 && s[1] == 0x9c)
		return 0x061c;
	if (len != 3 || s[0] != 0xe2)
		return 0;
	if (s[1] == 0x80 &&
	    (s[2] == 0x8e || s[2] == 0x8f || (s[2] >= 0xaa && s[2] <= 0xae)))
		return 0x2000 + (s[2] - 0x80);
	if (s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9)
		return 0x2040 + (s[2] - 0x80);
	return 0;
}

/* A cell as a terminal may show it: control characters (C0, DEL and the
 * C1 range U+0080-U+009F, which some terminals obey as escapes) and
 * bidirectional formatting characters become \n, \r, \t, \e, \xNN or
 * \uNNNN, and so do bytes that are not UTF-8; the rest is copied. The
 * width: characters written. */
static int
tty_safe(const char *in, char *out, size_t n)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0, k, len;
	int width = 0;
	char esc[8];

	while (*s && o + 8 < n) {
		len = utf8_len(s);
		esc[0] = '\0';
		if (len == 1 && (*s < 0x20 || *s == 0x7f)) {
			if (*s == '\n' || *s == '\r' || *s == '\t' ||
			    *s == 0x1b)
				snprintf(esc, sizeof(esc), "\\%c",
				         *s == '\n'   ? 'n'
				         : *s == '\r' ? 'r'
				         : *s == '\t' ? 't'
				                      : 'e');
			else
				snprintf(esc, sizeof(esc), "\\x%02x", *s);
		} else if (len == 0)
			snprintf(esc, sizeof(esc), "\\x%02x", *s);
		else if (len == 2 && s[0] == 0xc2 && s[1] < 0xa0)
			snprintf(esc, sizeof(esc), "\\u%04x", s[1]);
		else if (bidi_control(s, len))
			snprintf(esc, sizeof(esc), "\\u%04x",
			         bidi_control(s, len));
		if (esc[0]) {
			for (k = 0; esc[k]; k++)
				out[o++] = esc[k];
			width += (int)k;
			s += len ? len : 1; /* a character, or one byte */
			continue;
		}
		for (k = 0; k < len; k++)
			out[o++] = (char)*s++;
		width++;
	}
	out[o] = '\0';
	return width;
}

/* A table: names can hold anything an agent sent, so every cell goes
 * through tty_safe (one line per row, no terminal escape). */
static void
print_table(json_t *rows, const struct column *cols)
{
	int width[16] = {0}, c, w, last;
	char v[1024], safe[4200];
	json_t *row, *x;
	size_t i;

	for (c = 0; cols[c].key; c++)
		width[c] = (int)strlen(cols[c].title);
	json_array_foreach(rows, i, row) for (c = 0; cols[c].key; c++)
	{
		cell(json_object_get(row, cols[c].key), v, sizeof(v));
		if ((w = tty_safe(v, safe, sizeof(safe))) > width[c])
			width[c] = w;
	}
	for (c = 0; cols[c].key; c++)
		printf("%-*s%s", cols[c + 1].key ? width[c] : 0, cols[c].title,
		       cols[c + 1].key ? "  " : "\n");
	json_array_foreach(rows, i, row) for (c = 0; cols[c].key; c++)
	{
		x = json_object_get(row, cols[c].key);
		cell(x, v, sizeof(v));
		w = tty_safe(v, safe, sizeof(safe));
		last = cols[c + 1].key == NULL;
		if (json_is_number(x))
			printf("%*s%s", last ? 0 : width[c] - w, "", safe);
		else
			printf("%s%*s", safe, last ? 0 : width[c] - w, "");
		fputs(last ? "\n" : "  ", stdout);
	}
}

void
ctl_print(const struct ctl *c, json_t *rows, const struct column *cols)
{
	json_t *row, *secs;
	long long h;
	size_t i;

	/* Hours in tables and CSV: usage_seconds / 3600 rounded half up to
	 * two decimals, in integers, in every report (docs/LICENCES.md). */
	json_array_foreach(rows, i, row)
	{
		secs = json_object_get(row, "usage_seconds");
		if (c->format == FMT_JSON || !json_is_integer(secs) ||
		    json_integer_value(secs) < 0)
			continue;
		h = (json_integer_value(secs) * 100 + 1800) / 3600;
		/* the double nearest h / 100: "%.2f" prints h exactly */
		json_object_set_new(row, "usage_hours", json_real(h / 100.0));
	}
	if (c->format == FMT_JSON) {
		json_dumpf(rows, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (c->format == FMT_CSV)
		print_csv(rows, cols);
	else
		print_table(rows, cols);
}

const char *
ctl_opt(const struct ctl *c, const char *name)
{
	return json_string_value(json_object_get(c->opts, name));
}

void
ctl_period(const struct ctl *c, char *q, size_t n)
{
	static const char *const names[] = {"from", "to", "month", "year"};
	char num[32];
	size_t i;

	if (c->days > 0) {
		snprintf(num, sizeof(num), "%d", c->days);
		ctl_param(q, n, "days", num);
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ctl_param(q, n, names[i], ctl_opt(c, names[i]));
}

/* One request, repeated while the server answers 429 (admin requests are
 * rate-limited per token) and asks for a short wait: a script that loops
 * over communes slows down instead of failing half-way. At most
 * CTL_RETRIES waits of at most CTL_RETRY_MAX s each, said on stderr. */
#define CTL_RETRIES   5
#define CTL_RETRY_MAX 30
static int
perform(struct httpc *h, const struct httpc_req *req, struct httpc_resp *r)
{
	int i;

	for (i = 0;; i++) {
		if (httpc_do(h, req, r) == -1)
			return -1;
		if (r->status != 429 || i == CTL_RETRIES ||
		    r->retry_after > CTL_RETRY_MAX)
			return 0;
		fprintf(stderr, "mutuctl: rate-limited, retrying in %ld s\n",
		        r->retry_after > 0 ? r->retry_after : 1);
		sleep(r->retry_after > 0 ? (unsigned)r->retry_after : 1);
		buf_free(&r->body);
	}
}

json_t *
ctl_request(const struct ctl *c, const char *method, const char *path,
            json_t *body)
{
	struct httpc_req req = {method, NULL, c->token, NULL,
	                        NULL,   NULL, 0,        NULL};
	struct httpc_resp r;
	struct httpc *h;
	char url[2048], *text = NULL;
	enum ctl_exit code;
	const char *msg;
	char why[1024];
	json_t *j;

	snprintf(url, sizeof(url), "%s%s", c->server, path);
	req.url = url;
	if (body) {
		if ((text = json_dumps(body, JSON_COMPACT)) == NULL)
			ctl_die(CTL_EXIT_FAIL, "out of memory");
		req.content_type = "application/json";
		req.body = text;
		req.body_len = strlen(text);
	}
	if ((h = httpc_new(c->ca_file, 60, 256 * 1024 * 1024)) == NULL)
		ctl_die(CTL_EXIT_FAIL, "cannot set up HTTP (out of memory?)");
	if (perform(h, &req, &r) == -1) {
		httpc_free(h);
		ctl_die(CTL_EXIT_UNREACHABLE, "cannot reach the server: %s",
		        r.err);
	}
	httpc_free(h);
	free(text);
	j = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
	buf_free(&r.body);
	if (r.status == 200 && j != NULL)
		return j;
	msg = json_string_value(json_object_get(j, "error"));
	util_strlcpy(why, msg ? msg : "(no JSON body: is this a mutu server?)",
	             sizeof(why));
	code = r.status == 401   ? CTL_EXIT_AUTH
	       : r.status == 404 ? CTL_EXIT_NOTFOUND
	                         : CTL_EXIT_FAIL;
	if (r.status == 409 && json_object_get(j, "candidates")) {
		machine_cells(json_object_get(j, "candidates"), "silent_days");
		ctl_print(c, json_object_get(j, "candidates"), machine_cols);
	}
	json_decref(j);
	ctl_die(code, "server answered %ld: %s", r.status, why);
}

static json_t *
get(const struct ctl *c, const char *path)
{
	return ctl_request(c, "GET", path, NULL);
}

void
ctl_param(char *q, size_t n, const char *name, const char *value)
{
	char *esc;
	size_t len = strlen(q);

	if (value == NULL)
		return;
	if ((esc = curl_easy_escape(NULL, value, 0)) == NULL)
		ctl_die(CTL_EXIT_FAIL, "out of memory");
	snprintf(q + len, n - len, "%c%s=%s", len ? '&' : '?', name, esc);
	curl_free(esc);
}

static int
cmd_licences(const struct ctl *c)
{
	char q[1024] = "", path[1200], num[32];
	json_t *j, *all;

	ctl_param(q, sizeof(q), "commune", c->commune);
	ctl_param(q, sizeof(q), "product", c->product);
	if (json_object_get(c->opts, "raw")) /* raw names, not products */
		ctl_param(q, sizeof(q), "view", "raw");
	ctl_period(c, q, sizeof(q));
	if (c->limit > 0) {
		snprintf(num, sizeof(num), "%d", c->limit);
		ctl_param(q, sizeof(q), "limit", num);
	}
	snprintf(path, sizeof(path), "/api/v1/licences%s", q);
	j = get(c, path);
	all = json_deep_copy(json_object_get(j, "rows"));
	/* The totals across communes (commune "*") follow, when the query
	 * covered more than one commune. */
	if (c->commune == NULL && json_object_get(j, "commune") == json_null())
		json_array_extend(all, json_object_get(j, "totals"));
	ctl_print(c, all, licence_cols);
	json_decref(all);
	json_decref(j);
	return 0;
}

/* The table's STATE cells: the state, and the days of the field days
 * when it has them: a silent machine's silent_days ("silent 12 d"), or a
 * machine in service's contact_days ("active 3 d"). */
static void
machine_cells(json_t *rows, const char *days_field)
{
	const char *state;
	json_t *row, *days;
	char s[64];
	size_t i;

	json_array_foreach(rows, i, row)
	{
		state = json_string_value(json_object_get(row, "state"));
		days = json_object_get(row, days_field);
		if (state && json_is_integer(days))
			snprintf(s, sizeof(s), "%s %lld d", state,
			         (long long)json_integer_value(days));
		else
			util_strlcpy(s, state ? state : "-", sizeof(s));
		json_object_set_new(row, "state_cell", json_string(s));
	}
}

static const struct column commune_cols[] = {{"CODE", "code"},
                                             {"NAME", "name"},
                                             {"MACHINES", "machines"},
                                             {"IN_SERVICE", "in_service"},
                                             {"SILENT_7D", "silent"},
                                             {"LAST_CONTACT", "last_contact"},
                                             {"CONTACT_DAYS", "contact_days"},
                                             {NULL, NULL}};

static int parse_int(const char *s, const char *what);

/* The communes (of rows, from /communes) with machines in service none of
 * which made contact for days or more: a site outage, not broken PCs. */
static json_t *
silent_communes(json_t *rows, long long days)
{
	json_t *out = json_array(), *row, *d;
	size_t i;

	json_array_foreach(rows, i, row)
	{
		d = json_object_get(row, "contact_days");
		if (json_is_integer(d) && json_integer_value(d) >= days)
			json_array_append(out, row);
	}
	return out;
}

/* machines --silent DAYS: the machines in service silent for DAYS or
 * more, then the communes where every one of them is. In JSON, both in
 * one object; in CSV, the machines only (communes --format csv has the
 * rest). */
static void
print_silent(const struct ctl *c, json_t *machines, int days)
{
	char q[128] = "", path[256];
	json_t *communes, *out, *both;

	ctl_param(q, sizeof(q), "commune", c->commune);
	snprintf(path, sizeof(path), "/api/v1/communes%s", q);
	communes = get(c, path);
	out = silent_communes(communes, days);
	if (c->format == FMT_JSON) {
		both = json_pack("{s:O, s:O}", "machines", machines,
		                 "silent_communes", out);
		json_dumpf(both, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(both);
	} else if (c->format == FMT_CSV)
		ctl_print(c, machines, machine_csv_cols);
	else {
		machine_cells(machines, "contact_days");
		ctl_print(c, machines, machine_cols);
		printf("\n%zu machine(s) listed; communes where every machine "
		       "in service has been silent for %d day(s) or more:%s\n",
		       json_array_size(machines), days,
		       json_array_size(out) ? "" : " none");
		if (json_array_size(out))
			ctl_print(c, out, commune_cols);
	}
	json_decref(out);
	json_decref(communes);
}

static int
cmd_machines(const struct ctl *c)
{
	const char *silent = ctl_opt(c, "silent");
	char q[256] = "", path[512];
	json_t *j;
	int days = silent ? parse_int(silent, "--silent") : 0;

	ctl_param(q, sizeof(q), "commune", c->commune);
	ctl_param(q, sizeof(q), "state", ctl_opt(c, "state"));
	ctl_param(q, sizeof(q), "silent", silent);
	snprintf(path, sizeof(path), "/api/v1/machines%s", q);
	j = get(c, path);
	if (silent)
		print_silent(c, j, days);
	else {
		if (c->format == FMT_TABLE)
			machine_cells(j, "silent_days");
		ctl_print(c, j,
		          c->format == FMT_CSV ? machine_csv_cols
		                               : machine_cols);
	}
	json_decref(j);
	return 0;
}

/* machines retire AGENT_ID: the machine is out of service. */
/* machines move AGENT_ID --commune CODE: the machine moves there. */
static int
cmd_move(const struct ctl *c, const char *id)
{
	char path[600], *esc;
	json_t *j, *body;

	if (c->commune == NULL)
		ctl_die(CTL_EXIT_USAGE,
		        "machines move: --commune CODE is required");
	if ((esc = curl_easy_escape(NULL, id, 0)) == NULL)
		ctl_die(CTL_EXIT_FAIL, "out of memory");
	snprintf(path, sizeof(path), "/api/v1/machines/%s/move", esc);
	curl_free(esc);
	body = json_pack("{s:s}", "commune", c->commune);
	j = ctl_request(c, "POST", path, body);
	json_decref(body);
	if (c->format == FMT_JSON) {
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
	} else
		printf("machine %s (%s) moved from commune %s to %s on %s: "
		       "its history stays with %s\n",
		       id, json_string_value(json_object_get(j, "hostname")),
		       json_string_value(json_object_get(j, "from_commune")),
		       json_string_value(json_object_get(j, "commune")),
		       json_string_value(json_object_get(j, "moved_at")),
		       json_string_value(json_object_get(j, "from_commune")));
	json_decref(j);
	return 0;
}

static int
cmd_retire(const struct ctl *c, const char *id)
{
	char path[600], *esc;
	json_t *j;

	if ((esc = curl_easy_escape(NULL, id, 0)) == NULL)
		ctl_die(CTL_EXIT_FAIL, "out of memory");
	snprintf(path, sizeof(path), "/api/v1/machines/%s/retire", esc);
	curl_free(esc);
	j = ctl_request(c, "POST", path, NULL);
	if (c->format == FMT_JSON) {
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
	} else
		printf(
		    "machine %s (%s, commune %s) retired on %s: its token no "
		    "longer works and it no longer counts as installed\n",
		    id, json_string_value(json_object_get(j, "hostname")),
		    json_string_value(json_object_get(j, "commune")),
		    json_string_value(json_object_get(j, "retired_at")));
	json_decref(j);
	return 0;
}

static int
cmd_inventory(const struct ctl *c, const char *id)
{
	char path[600], *esc;
	json_t *j, *one;

	if ((esc = curl_easy_escape(NULL, id, 0)) == NULL)
		return 1;
	snprintf(path, sizeof(path), "/api/v1/machines/%s", esc);
	curl_free(esc);
	j = get(c, path);
	if (c->format == FMT_JSON) {
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		if (c->format == FMT_TABLE) {
			one = json_array();
			json_array_append(one, j);
			machine_cells(one, "silent_days");
			ctl_print(c, one, machine_cols);
			json_decref(one);
			putchar('\n');
		}
		ctl_print(c, json_object_get(j, "software"), software_cols);
	}
	json_decref(j);
	return 0;
}

static int
cmd_communes(const struct ctl *c)
{
	char q[128] = "", path[256];
	json_t *j;

	ctl_param(q, sizeof(q), "commune", c->commune);
	snprintf(path, sizeof(path), "/api/v1/communes%s", q);
	j = get(c, path);

	ctl_print(c, j, commune_cols);
	json_decref(j);
	return 0;
}

static int
parse_int(const char *s, const char *what)
{
	long long v;

	if (util_parse_ll(s, 1, 1000000, &v) == -1) {
		ctl_die(CTL_EXIT_USAGE, "%s: expected a positive number", what);
	}
	return (int)v;
}

/* Runs the command; returns mutuctl's exit code. */
static int
run(const struct ctl *c, int argc, char **argv)
{
	int rc;

	if (argc == 0)
		usage_exit(2);
	if (c->server == NULL || c->token == NULL) {
		fprintf(stderr, "mutuctl: give --server and --token, or set "
		                "MUTU_SERVER and MUTU_TOKEN\n");
		return 2;
	}
	if (strcmp(argv[0], "licences") == 0 && argc == 1)
		return cmd_licences(c);
	if (strcmp(argv[0], "machines") == 0 && argc == 1)
		return cmd_machines(c);
	if (strcmp(argv[0], "machines") == 0 && argc == 3 &&
	    strcmp(argv[1], "retire") == 0)
		return cmd_retire(c, argv[2]);
	if (strcmp(argv[0], "machines") == 0 && argc == 3 &&
	    strcmp(argv[1], "move") == 0)
		return cmd_move(c, argv[2]);
	if (strcmp(argv[0], "inventory") == 0 && argc == 2)
		return cmd_inventory(c, argv[1]);
	if (strcmp(argv[0], "communes") == 0 && argc == 1)
		return cmd_communes(c);
	if ((rc = ctl_access(c, argc, argv)) == -1)
		rc = ctl_licence(c, argc, argv);
	if (rc != -1)
		return rc == 2 ? (usage_exit(2), 2) : rc;
	usage_exit(2);
	return 2;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
	    {"server", required_argument, NULL, 's'},
	    {"token", required_argument, NULL, 't'},
	    {"token-file", required_argument, NULL, 'T'},
	    {"ca-file", required_argument, NULL, 'a'},
	    {"format", required_argument, NULL, 'f'},
	    {"commune", required_argument, NULL, 'c'},
	    {"product", required_argument, NULL, 'p'},
	    {"days", required_argument, NULL, 'n'},
	    {"limit", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    /* licence commands (ctl_licence.c) */
	    {"pool", required_argument, NULL, 'O'},
	    {"field", required_argument, NULL, 'O'},
	    {"glob", required_argument, NULL, 'O'},
	    {"regex", required_argument, NULL, 'O'},
	    {"ignore", no_argument, NULL, 'O'},
	    {"priority", required_argument, NULL, 'O'},
	    {"name", required_argument, NULL, 'O'},
	    {"publisher", required_argument, NULL, 'O'},
	    {"edition", required_argument, NULL, 'O'},
	    {"family", required_argument, NULL, 'O'},
	    {"category", required_argument, NULL, 'O'},
	    {"free", no_argument, NULL, 'O'},
	    {"seasonal-days", required_argument, NULL, 'O'},
	    {"metering", required_argument, NULL, 'O'},
	    {"metric", required_argument, NULL, 'O'},
	    {"quantity", required_argument, NULL, 'O'},
	    {"unit-cost", required_argument, NULL, 'O'},
	    {"total-cost", required_argument, NULL, 'O'},
	    {"start", required_argument, NULL, 'O'},
	    {"end", required_argument, NULL, 'O'},
	    {"contract", required_argument, NULL, 'O'},
	    {"members", required_argument, NULL, 'O'},
	    {"fixed-share", required_argument, NULL, 'O'},
	    {"basis", required_argument, NULL, 'O'},
	    {"coverage", required_argument, NULL, 'O'},
	    {"raw", no_argument, NULL, 'O'},
	    {"seats", no_argument, NULL, 'O'},
	    {"label", required_argument, NULL, 'O'},
	    {"read-only", no_argument, NULL, 'O'},
	    {"expires-days", required_argument, NULL, 'O'},
	    {"max-uses", required_argument, NULL, 'O'},
	    {"before", required_argument, NULL, 'O'},
	    {"state", required_argument, NULL, 'O'},
	    {"silent", required_argument, NULL, 'O'},
	    {"from", required_argument, NULL, 'O'},
	    {"to", required_argument, NULL, 'O'},
	    {"month", required_argument, NULL, 'O'},
	    {"year", required_argument, NULL, 'O'},
	    {NULL, 0, NULL, 0},
	};
	struct ctl c;
	int ch, idx, rc;

	memset(&c, 0, sizeof(c));
	c.server = getenv("MUTU_SERVER");
	c.token = getenv("MUTU_TOKEN");
	c.ca_file = getenv("MUTU_CA_FILE");
	c.opts = json_object();
	while ((ch = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
		switch (ch) {
		case 'O':
			json_object_set_new(c.opts, longopts[idx].name,
			                    optarg ? json_string(optarg)
			                           : json_true());
			break;
		case 's':
			c.server = optarg;
			break;
		case 't': /* copied, then wiped from the command line */
			c.token = ctl_token_arg(optarg);
			break;
		case 'T':
			c.token = ctl_token_file(optarg);
			break;
		case 'a':
			c.ca_file = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "table") == 0)
				c.format = FMT_TABLE;
			else if (strcmp(optarg, "json") == 0)
				c.format = FMT_JSON;
			else if (strcmp(optarg, "csv") == 0)
				c.format = FMT_CSV;
			else
				usage_exit(2);
			break;
		case 'c':
			c.commune = optarg;
			break;
		case 'p':
			c.product = optarg;
			break;
		case 'n':
			c.days = parse_int(optarg, "--days");
			break;
		case 'l':
			c.limit = parse_int(optarg, "--limit");
			break;
		case 'V':
			printf("mutuctl %s\n", MUTU_VERSION);
			json_decref(c.opts);
			return 0;
		case 'h':
			usage_exit(0);
			break;
		default:
			usage_exit(2);
		}
	}
	argc -= optind;
	argv += optind;
	rc = run(&c, argc, argv);
	json_decref(c.opts);
	return rc;
}
