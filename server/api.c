#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crashpoint.h"
#include "crypto.h"
#include "ingest.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define ENROL_MAX_BODY 4096
#define DEFAULT_DAYS   30
#define MAX_DAYS       3660

enum route {
	R_NONE,
	R_HEALTH,
	R_ENROL,
	R_BATCHES,
	R_LICENCES,
	R_MACHINES,
	R_MACHINE,
	R_COMMUNES,
	R_LICADMIN, /* licence administration: op is an enum store_admin_op */
	R_REPORT,   /* licence report: op is an enum store_report */
	R_CRL,      /* the CA's revocation list, named in the certificate */
};

enum auth { AUTH_NONE, AUTH_ENROL, AUTH_AGENT, AUTH_ADMIN };

static const struct {
	const char *method, *path;
	enum route route;
	enum auth auth;
	int prefix; /* path is a prefix followed by one id segment */
	int op;
} routes[] = {
    {"GET", "/healthz", R_HEALTH, AUTH_NONE, 0, 0},
    {"GET", "/crl.pem", R_CRL, AUTH_NONE, 0, 0},
    {"POST", PROTO_PATH_ENROL, R_ENROL, AUTH_ENROL, 0, 0},
    {"POST", PROTO_PATH_BATCHES, R_BATCHES, AUTH_AGENT, 0, 0},
    {"GET", "/api/v1/licences", R_LICENCES, AUTH_ADMIN, 0, 0},
    {"GET", "/api/v1/machines", R_MACHINES, AUTH_ADMIN, 0, 0},
    {"GET", "/api/v1/machines/", R_MACHINE, AUTH_ADMIN, 1, 0},
    {"GET", "/api/v1/communes", R_COMMUNES, AUTH_ADMIN, 0, 0},
    {"GET", "/api/v1/catalogue", R_LICADMIN, AUTH_ADMIN, 0,
     ADM_CATALOGUE_EXPORT},
    {"POST", "/api/v1/catalogue", R_LICADMIN, AUTH_ADMIN, 0,
     ADM_CATALOGUE_IMPORT},
    {"GET", "/api/v1/catalogue/unmatched", R_LICADMIN, AUTH_ADMIN, 0,
     ADM_UNMATCHED},
    {"POST", "/api/v1/catalogue/rules", R_LICADMIN, AUTH_ADMIN, 0,
     ADM_RULE_ADD},
    {"DELETE", "/api/v1/catalogue/rules/", R_LICADMIN, AUTH_ADMIN, 1,
     ADM_RULE_DELETE},
    {"POST", "/api/v1/catalogue/products", R_LICADMIN, AUTH_ADMIN, 0,
     ADM_PRODUCT_ADD},
    {"GET", "/api/v1/entitlements", R_LICADMIN, AUTH_ADMIN, 0, ADM_ENT_LIST},
    {"POST", "/api/v1/entitlements", R_LICADMIN, AUTH_ADMIN, 0, ADM_ENT_ADD},
    {"PUT", "/api/v1/entitlements/", R_LICADMIN, AUTH_ADMIN, 1, ADM_ENT_UPDATE},
    {"DELETE", "/api/v1/entitlements/", R_LICADMIN, AUTH_ADMIN, 1,
     ADM_ENT_DELETE},
    {"GET", "/api/v1/pools", R_LICADMIN, AUTH_ADMIN, 0, ADM_POOL_LIST},
    {"POST", "/api/v1/pools", R_LICADMIN, AUTH_ADMIN, 0, ADM_POOL_SET},
    {"GET", "/api/v1/reports/compliance", R_REPORT, AUTH_ADMIN, 0,
     REPORT_COMPLIANCE},
    {"GET", "/api/v1/reports/reclaim", R_REPORT, AUTH_ADMIN, 0, REPORT_RECLAIM},
    {"GET", "/api/v1/reports/costs", R_REPORT, AUTH_ADMIN, 0, REPORT_COSTS},
    {"GET", "/api/v1/reports/usage", R_REPORT, AUTH_ADMIN, 0, REPORT_USAGE},
    {"POST", "/api/v1/secrets", R_LICADMIN, AUTH_ADMIN, 0, ADM_SECRET_CREATE},
    {"GET", "/api/v1/secrets", R_LICADMIN, AUTH_ADMIN, 0, ADM_SECRET_LIST},
    {"DELETE", "/api/v1/secrets/", R_LICADMIN, AUTH_ADMIN, 1,
     ADM_SECRET_REVOKE},
    {"POST", "/api/v1/tokens", R_LICADMIN, AUTH_ADMIN, 0, ADM_TOKEN_CREATE},
    {"GET", "/api/v1/tokens", R_LICADMIN, AUTH_ADMIN, 0, ADM_TOKEN_LIST},
    {"DELETE", "/api/v1/tokens/", R_LICADMIN, AUTH_ADMIN, 1, ADM_TOKEN_REVOKE},
    {"DELETE", "/api/v1/agents/", R_LICADMIN, AUTH_ADMIN, 1, ADM_AGENT_REVOKE},
    {"GET", "/api/v1/audit", R_LICADMIN, AUTH_ADMIN, 0, ADM_AUDIT_LIST},
    {"GET", "/api/v1/gaps", R_LICADMIN, AUTH_ADMIN, 0, ADM_GAPS_LIST},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* Per-request state kept between head and handle. */
struct reqstate {
	size_t route;
	struct store_agent agent;
	struct store_scope scope;
	char bearer[256];
};

static int
path_matches(size_t i, const char *path)
{
	size_t n = strlen(routes[i].path);

	if (!routes[i].prefix)
		return strcmp(path, routes[i].path) == 0;
	return strncmp(path, routes[i].path, n) == 0 && path[n] != '\0' &&
	       strchr(path + n, '/') == NULL;
}

/* Finds the route; *status is 404 or 405 when there is none. */
static int
find_route(const char *method, const char *path, int *status)
{
	size_t i;
	int path_seen = 0;

	for (i = 0; i < NROUTES; i++) {
		if (!path_matches(i, path))
			continue;
		path_seen = 1;
		if (strcmp(method, routes[i].method) == 0)
			return (int)i;
	}
	*status = path_seen ? 405 : 404;
	return -1;
}

static int
bearer(struct http_req *r, char *out, size_t n)
{
	const char *h = http_header(r, "Authorization");

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return -1;
	h += 7;
	while (*h == ' ')
		h++;
	if (*h == '\0' || util_strlcpy(out, h, n) == -1)
		return -1;
	return 0;
}

/* Maps a credential lookup to the answer: 0 to go on, or -1 with reply
 * set (401 naming the credential, 503 when storage failed). */
static int
auth_result(int rc, const char *what, struct http_reply *reply)
{
	if (rc == STORE_OK)
		return 0;
	if (rc == STORE_ERR)
		http_error(reply, 503, "storage unavailable");
	else
		http_error(reply, 401, "%s%s",
		           strchr(what, ',') ? "" : "unknown or revoked ",
		           what);
	return -1;
}

/* 429 with Retry-After when key went over its rate. */
static int
rate_limited(struct ratelimit *rl, const char *key, const char *what,
             struct http_reply *reply)
{
	long wait = rl ? ratelimit_hit(rl, key, time(NULL)) : 0;

	if (wait == 0)
		return 0;
	http_error(reply, 429, "too many %s; retry in %ld s", what, wait);
	reply->retry_after = wait;
	return -1;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
auth_agent(struct api *api, struct reqstate *st, struct http_reply *reply)
{
	char hash[CRYPTO_HEX256_LEN + 1];
	long wait;

	crypto_sha256_hex(st->bearer, hash);
	if (auth_result(store_agent_auth(api->store, hash, &st->agent),
	                "agent token", reply) == -1)
		return -1;
	if (rate_limited(api->agent_rate, st->agent.agent_id, "requests",
	                 reply) == -1)
		return -1;
	/* Saturated: shed before reading the body, booking a later slot. */
	if (api->shed &&
	    (wait = shed_admit(api->shed, st->agent.agent_id, now_ms())) > 0) {
		http_error(reply, 429, "server busy; retry in %ld s", wait);
		reply->retry_after = wait;
		return -1;
	}
	return 0;
}

static int
auth_admin(struct api *api, struct reqstate *st, struct http_reply *reply)
{
	char hash[CRYPTO_HEX256_LEN + 1];

	crypto_sha256_hex(st->bearer, hash);
	return auth_result(store_admin_auth(api->store, hash, &st->scope),
	                   "admin token", reply);
}

static int
enrol_head(struct api *api, struct http_req *r, struct reqstate *st,
           struct http_reply *reply)
{
	const char *len = http_header(r, "Content-Length");
	char hash[CRYPTO_HEX256_LEN + 1];
	long long n;

	if (len && util_parse_ll(len, 0, 1LL << 50, &n) == 0 &&
	    n > ENROL_MAX_BODY) {
		http_error(reply, 413, "enrolment body over %d bytes",
		           ENROL_MAX_BODY);
		return -1;
	}
	crypto_sha256_hex(st->bearer, hash);
	if (auth_result(store_secret_check(api->store, hash),
	                "unknown, revoked, expired or used-up enrolment secret",
	                reply) == -1)
		return -1;
	return rate_limited(api->enrol_rate, hash, "enrolments", reply);
}

static int
api_head(void *ctx, struct http_req *r, struct http_reply *reply)
{
	struct api *api = ctx;
	struct reqstate *st;
	int i, status = 404;

	if ((i = find_route(http_method(r), http_path(r), &status)) < 0) {
		http_error(
		    reply, status, "%s %s: %s", http_method(r), http_path(r),
		    status == 404 ? "no such resource" : "method not allowed");
		return -1;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		http_error(reply, 503, "out of memory");
		return -1;
	}
	http_set_user(r, st);
	st->route = (size_t)i;
	if (routes[i].auth == AUTH_NONE)
		return 0;
	if (bearer(r, st->bearer, sizeof(st->bearer)) == -1) {
		http_error(reply, 401,
		           "missing 'Authorization: Bearer' header");
		return -1;
	}
	switch (routes[i].auth) {
	case AUTH_ENROL:
		return enrol_head(api, r, st, reply);
	case AUTH_AGENT:
		return auth_agent(api, st, reply);
	case AUTH_ADMIN:
		return auth_admin(api, st, reply);
	default:
		return 0;
	}
}

static int
json_content(struct http_req *r, struct http_reply *reply)
{
	const char *ct = http_header(r, "Content-Type");

	if (ct == NULL || strncasecmp(ct, PROTO_CONTENT_TYPE,
	                              strlen(PROTO_CONTENT_TYPE)) != 0) {
		http_error(reply, 415, "Content-Type must be %s",
		           PROTO_CONTENT_TYPE);
		return -1;
	}
	return 0;
}

static void
do_enrol(struct api *api, struct http_req *r, struct reqstate *st,
         struct http_reply *reply)
{
	char secret_hash[CRYPTO_HEX256_LEN + 1], token[CRYPTO_HEX256_LEN + 1];
	char token_hash[CRYPTO_HEX256_LEN + 1], commune[STORE_COMMUNE_MAX];
	const char *body, *aid, *host;
	json_error_t jerr;
	size_t len;
	json_t *j;
	int rc;

	if (json_content(r, reply) == -1)
		return;
	body = http_body(r, &len);
	if ((j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		http_error(reply, 400, "invalid JSON: %s", jerr.text);
		return;
	}
	aid = json_string_value(json_object_get(j, "agent_id"));
	host = json_string_value(json_object_get(j, "hostname"));
	if (aid == NULL || strlen(aid) != CRYPTO_UUID_LEN ||
	    strspn(aid, "0123456789abcdef-") != CRYPTO_UUID_LEN) {
		http_error(reply, 400, "agent_id: expected a lowercase UUID");
		goto done;
	}
	if (host == NULL || *host == '\0' || strlen(host) > 255) {
		http_error(reply, 400,
		           "hostname: expected 1 to 255 characters");
		goto done;
	}
	crypto_sha256_hex(st->bearer, secret_hash);
	if (crypto_token(token) == -1) {
		http_error(reply, 503, "no random numbers");
		goto done;
	}
	crypto_sha256_hex(token, token_hash);
	rc = store_enrol(api->store, secret_hash, aid, host, token_hash,
	                 commune);
	if (rc == STORE_OK) {
		log_info("enrolled agent %s (%s) in commune %s", aid, host,
		         commune);
		{
			char d[400];

			snprintf(d, sizeof(d), "agent %s (%s)", aid, host);
			store_audit(api->store, 0, commune, "enrol", d);
		}
		http_json(reply, 201,
		          json_pack("{s:s, s:s, s:s}", "agent_id", aid,
		                    "commune", commune, "token", token));
	} else if (rc == STORE_DENIED)
		http_error(reply, 401, "unknown or revoked enrolment secret");
	else if (rc == STORE_CONFLICT)
		http_error(reply, 409,
		           "agent %s is enrolled in another commune", aid);
	else
		http_error(reply, 503, "storage unavailable");
	crypto_wipe(token, sizeof(token));
done:
	json_decref(j);
}

/* The answer to a batch refused before storage (docs/PROTOCOL.md): 422
 * names the record the agent must set aside. */
static void
batch_refused(struct reqstate *st, const struct ingest_batch *b, int status,
              const char *err, struct http_reply *reply)
{
	log_warnx("agent %s: batch refused: %s", st->agent.agent_id, err);
	if (status == 422)
		http_json(reply, 422,
		          json_pack("{s:s, s:I}", "error", err, "record_seq",
		                    (json_int_t)b->bad_seq));
	else
		http_error(reply, status, "%s", err);
}

static void
batch_stored(struct reqstate *st, const struct ingest_batch *b,
             const struct store_ingest_result *res, struct http_reply *reply)
{
	/* Tests kill the server here: committed, not yet answered. */
	crashpoint("server.committed");
	log_debug("agent %s: batch %s: %d applied, %d duplicates, ack %lld",
	          st->agent.agent_id, b->batch_id, res->applied,
	          res->duplicates, res->ack_seq);
	http_json(reply, 200,
	          json_pack("{s:s, s:s, s:I, s:i, s:i}", "batch_id",
	                    b->batch_id, "epoch", b->batch.epoch, "ack_seq",
	                    (json_int_t)res->ack_seq, "applied", res->applied,
	                    "duplicates", res->duplicates));
}

static void
do_batch(struct api *api, struct http_req *r, struct reqstate *st,
         struct http_reply *reply)
{
	struct store_ingest_result res;
	struct ingest_clock clock;
	struct ingest_batch b;
	const char *body;
	char err[256];
	size_t len;
	int rc;

	if (json_content(r, reply) == -1)
		return;
	body = http_body(r, &len);
	ingest_clock_parse(http_header(r, PROTO_CLOCK_HEADER), now_ms(),
	                   &clock);
	if ((rc = ingest_parse(body, len, st->agent.agent_id, &clock, &b, err,
	                       sizeof(err))) != 0) {
		batch_refused(st, &b, rc, err, reply);
		ingest_free(&b);
		return;
	}
	rc = store_ingest(api->store, &st->agent, &b.batch, &res);
	if (rc == STORE_OK)
		batch_stored(st, &b, &res, reply);
	else if (rc == STORE_CONFLICT)
		http_json(reply, 409,
		          json_pack("{s:s, s:s, s:I}", "error",
		                    "inventory delta does not apply to the "
		                    "inventory this server holds",
		                    "need", "full_inventory", "record_seq",
		                    (json_int_t)res.conflict_seq));
	else {
		http_error(reply, 503, "storage unavailable; retry later");
		reply->retry_after = 30;
	}
	ingest_free(&b);
}

/* Builds the query from the URL and the token's scope. A commune admin
 * asking for another commune gets 403. */
static int
admin_query(struct api *api, struct http_req *r, const struct reqstate *st,
            struct store_query *q, struct http_reply *reply)
{
	const char *commune = http_query(r, "commune");
	const char *days = http_query(r, "days");
	const char *limit = http_query(r, "limit");
	long long d = DEFAULT_DAYS, l = 0;

	memset(q, 0, sizeof(*q));
	if (commune && *commune == '\0')
		commune = NULL;
	if (st->scope.commune[0]) {
		if (commune && strcmp(commune, st->scope.commune) != 0) {
			store_audit(api->store, st->scope.token_id, commune,
			            "refused", http_path(r));
			http_error(reply, 403,
			           "this token may only read commune %s",
			           st->scope.commune);
			return -1;
		}
		commune = st->scope.commune;
	}
	if (days && util_parse_ll(days, 1, MAX_DAYS, &d) == -1) {
		http_error(reply, 400, "days: expected 1 to %d", MAX_DAYS);
		return -1;
	}
	if (limit && util_parse_ll(limit, 0, 1000000, &l) == -1) {
		http_error(reply, 400, "limit: expected 0 to 1000000");
		return -1;
	}
	q->commune = commune;
	q->product = http_query(r, "product");
	q->to = time(NULL);
	q->from = q->to - d * 86400;
	q->limit = (int)l;
	return 0;
}

static void
store_reply(struct http_reply *reply, int rc, json_t *out, const char *what)
{
	if (rc == STORE_OK)
		http_json(reply, 200, out);
	else if (rc == STORE_NOTFOUND)
		http_error(reply, 404, "%s not found", what);
	else if (rc == STORE_CONFLICT) {
		http_json(reply, 409,
		          json_pack("{s:s, s:o}", "error",
		                    "host name is ambiguous; use an agent id",
		                    "candidates", out ? out : json_array()));
	} else
		http_error(reply, 503, "storage unavailable");
}

static void
do_admin(struct api *api, struct http_req *r, struct reqstate *st,
         struct http_reply *reply)
{
	enum route route = routes[st->route].route;
	struct store_query q;
	json_t *out = NULL;
	const char *id;
	int rc = STORE_ERR;

	if (admin_query(api, r, st, &q, reply) == -1)
		return;
	switch (route) {
	case R_LICENCES:
		rc = store_licences(api->store, &q, &out);
		if (rc == STORE_OK) {
			json_object_set_new(
			    out, "days", json_integer((q.to - q.from) / 86400));
			json_object_set_new(out, "commune",
			                    q.commune ? json_string(q.commune)
			                              : json_null());
		}
		break;
	case R_MACHINES:
		rc = store_machines(api->store, &q, &out);
		break;
	case R_MACHINE:
		id = http_path(r) + strlen(routes[st->route].path);
		rc = store_machine(api->store, &q, id, &out);
		break;
	case R_COMMUNES:
		rc = store_communes(api->store, &q, &out);
		break;
	default:
		break;
	}
	if (rc == STORE_OK)
		store_audit(api->store, st->scope.token_id,
		            q.commune ? q.commune : "", "read", http_path(r));
	store_reply(reply, rc, out, "machine");
}

/* Reads an optional JSON body for the licence administration calls, and
 * the id of /{id} routes. */
static json_t *
licadmin_input(struct http_req *r, const struct reqstate *st,
               struct http_reply *reply)
{
	const char *body, *id, *days;
	json_error_t jerr;
	json_t *in = NULL;
	long long n;
	size_t len;

	body = http_body(r, &len);
	if (len > 0) {
		if (json_content(r, reply) == -1)
			return NULL;
		in = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
		if (in == NULL) {
			http_error(reply, 400, "invalid JSON at line %d: %s",
			           jerr.line, jerr.text);
			return NULL;
		}
	}
	if (!routes[st->route].prefix) {
		if (in == NULL)
			in = json_object();
		days = http_query(r, "days");
		if (days && json_is_object(in) &&
		    util_parse_ll(days, 1, 3660, &n) == 0)
			json_object_set_new(in, "days", json_integer(n));
		return in;
	}
	id = http_path(r) + strlen(routes[st->route].path);
	if (routes[st->route].op == ADM_AGENT_REVOKE) { /* a UUID */
		json_decref(in);
		return json_pack("{s:s}", "id", id);
	}
	if (util_parse_ll(id, 1, 1LL << 62, &n) == -1) {
		http_error(reply, 404, "%s: not a numeric id", id);
		json_decref(in);
		return NULL;
	}
	if (in == NULL)
		in = json_object();
	if (!json_is_object(in)) {
		http_error(reply, 400, "expected a JSON object");
		json_decref(in);
		return NULL;
	}
	json_object_set_new(in, "id", json_integer(n));
	return in;
}

/* Records an admin action, or a read, in the audit log. */
static void
audit(struct api *api, const struct reqstate *st, const char *commune,
      const char *action, const char *detail)
{
	store_audit(api->store, st->scope.token_id,
	            commune ? commune : st->scope.commune, action, detail);
}

static void
do_licadmin(struct api *api, struct http_req *r, struct reqstate *st,
            struct http_reply *reply)
{
	json_t *in, *out = NULL;
	char what[256];
	int rc;

	if ((in = licadmin_input(r, st, reply)) == NULL)
		return;
	rc = store_admin(api->store, (enum store_admin_op)routes[st->route].op,
	                 &st->scope, in, &out);
	snprintf(what, sizeof(what), "%s %s", http_method(r), http_path(r));
	if (rc == STORE_OK)
		audit(api, st,
		      json_string_value(json_object_get(out, "commune")),
		      strcmp(http_method(r), "GET") ? "change" : "read", what);
	else if (rc == STORE_DENIED)
		audit(api, st,
		      json_string_value(json_object_get(in, "commune")),
		      "refused", what);
	json_decref(in);
	if (rc == STORE_OK)
		http_json(reply, 200, out);
	else if (rc == STORE_INVALID)
		http_json(reply, 400, out);
	else if (rc == STORE_DENIED)
		http_error(
		    reply, 403,
		    st->scope.read_only
		        ? "this token is read-only"
		        : "this token may not change that: the catalogue, "
		          "pools and intercommunal tokens belong to the "
		          "intercommunal admin, other communes' objects to "
		          "their admins");
	else if (rc == STORE_NOTFOUND)
		http_error(reply, 404, "no such object");
	else
		http_error(reply, 503, "storage unavailable");
	if (rc != STORE_OK && rc != STORE_INVALID)
		json_decref(out); /* not handed to the reply */
}

static void
do_report(struct api *api, struct http_req *r, struct reqstate *st,
          struct http_reply *reply)
{
	static const int default_days[] = {30, 90, 365, 365};
	enum store_report kind = (enum store_report)routes[st->route].op;
	const char *days = http_query(r, "days"),
	           *cov = http_query(r, "coverage");
	struct store_query q;
	json_t *out = NULL;
	char *end = NULL;
	int rc;

	if (admin_query(api, r, st, &q, reply) == -1)
		return;
	if (days == NULL) {
		q.days = default_days[kind];
		q.from = q.to - (long long)q.days * 86400;
	} else
		q.days = (int)((q.to - q.from) / 86400);
	q.coverage = 0.7;
	if (cov && ((q.coverage = strtod(cov, &end)) < 0 || q.coverage > 1 ||
	            *end != '\0' || end == cov)) {
		http_error(reply, 400, "coverage: expected 0 to 1");
		return;
	}
	q.pool = http_query(r, "pool");
	q.k = api->privacy_k;
	q.viewer = st->scope.commune;
	rc = store_report(api->store, kind, &q, &out);
	if (rc == STORE_OK) {
		store_audit(api->store, st->scope.token_id,
		            q.commune ? q.commune : "", "read", http_path(r));
		http_json(reply, 200, out);
	} else
		http_error(reply, 503, "storage unavailable");
}

static void
api_handle(void *ctx, struct http_req *r, struct http_reply *reply)
{
	struct api *api = ctx;
	struct reqstate *st = http_user(r);

	switch (routes[st->route].route) {
	case R_HEALTH:
		http_json(reply, 200,
		          json_pack("{s:s, s:s}", "status", "ok", "version",
		                    MUTU_VERSION));
		break;
	case R_ENROL:
		do_enrol(api, r, st, reply);
		break;
	case R_BATCHES:
		do_batch(api, r, st, reply);
		break;
	case R_LICADMIN:
		do_licadmin(api, r, st, reply);
		break;
	case R_CRL:
		if (api->crl)
			http_raw(reply, 200, "application/x-pem-file",
			         api->crl);
		else
			http_error(reply, 404, "no CRL published (tls_crl)");
		break;
	case R_REPORT:
		do_report(api, r, st, reply);
		break;
	default:
		do_admin(api, r, st, reply);
		break;
	}
	crypto_wipe(st->bearer, sizeof(st->bearer));
}

const struct http_handlers api_handlers = {api_head, api_handle};
