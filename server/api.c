#include "api.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <time.h>

#include "crashpoint.h"
#include "crypto.h"
#include "cal.h"
#include "ingest.h"
#include "interop.h"
#include "log.h"
#include "metrics.h"
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
	R_METRICS,  /* Prometheus metrics, behind the metrics token */
	R_READY,    /* ready to serve (load balancers) */
	R_FOREIGN,  /* a foreign agent's report (interop.h) */
};

/* Who may call a route, checked from the headers before the body is read:
 * any admin token may read; AUTH_WRITE needs a token that is not
 * read-only, AUTH_INTER a writable intercommunal one (the catalogue and
 * the pools belong to the intercommunal service). An admin operation's
 * route says AUTH_OP: the store's table of operations decides
 * (route_auth()). The store checks the finer scope (which commune's
 * objects) once the body is known. */
enum auth {
	AUTH_NONE,
	AUTH_METRICS, /* the metrics token (metrics_token_file) */
	AUTH_ENROL,
	AUTH_AGENT,
	AUTH_FOREIGN, /* a foreign agents' credential (HTTP basic) */
	AUTH_ADMIN,
	AUTH_WRITE,
	AUTH_INTER,
	AUTH_OP
};

/* The query parameters of the admin routes (docs/API.md), each route
 * taking those it lists (params[] says what each value must be). */
enum {
	P_COMMUNE = 1 << 0,
	P_PRODUCT = 1 << 1,
	P_DAYS = 1 << 2,
	P_LIMIT = 1 << 3,
	P_COVERAGE = 1 << 4,
	P_POOL = 1 << 5,
	P_VIEW = 1 << 6,
	P_STATE = 1 << 7,
	P_SILENT = 1 << 8,
	P_FROM = 1 << 9,
	P_TO = 1 << 10,
	P_MONTH = 1 << 11,
	P_YEAR = 1 << 12,
};
/* a report's commune and period (docs/LICENCES.md, "Periods") */
#define P_REPORT (P_COMMUNE | P_DAYS | P_FROM | P_TO | P_MONTH | P_YEAR)

static const struct {
	const char *method, *path;
	enum route route;
	enum auth auth;
	int prefix; /* path is a prefix followed by one id segment, or
	               holds it as '*' ("/machines/ * /retire") */
	int op;
	unsigned params; /* the query parameters it takes (P_*) */
} routes[] = {
    {"GET", "/healthz", R_HEALTH, AUTH_NONE, 0, 0, 0},
    {"GET", "/readyz", R_READY, AUTH_NONE, 0, 0, 0},
    {"GET", "/metrics", R_METRICS, AUTH_METRICS, 0, 0, 0},
    {"GET", "/crl.pem", R_CRL, AUTH_NONE, 0, 0, 0},
    {"POST", PROTO_PATH_ENROL, R_ENROL, AUTH_ENROL, 0, 0, 0},
    {"POST", PROTO_PATH_BATCHES, R_BATCHES, AUTH_AGENT, 0, 0, 0},
    /* where FusionInventory, OCS Inventory and GLPI Agent post */
    {"POST", "/ocsinventory", R_FOREIGN, AUTH_FOREIGN, 0, 0, 0},
    {"POST", "/front/inventory.php", R_FOREIGN, AUTH_FOREIGN, 0, 0, 0},
    {"POST", "/marketplace/glpiinventory/", R_FOREIGN, AUTH_FOREIGN, 0, 0, 0},
    {"POST", "/plugins/fusioninventory/", R_FOREIGN, AUTH_FOREIGN, 0, 0, 0},
    {"POST", "/", R_FOREIGN, AUTH_FOREIGN, 0, 0, 0},
    {"GET", "/api/v1/licences", R_LICENCES, AUTH_ADMIN, 0, 0,
     P_REPORT | P_PRODUCT | P_LIMIT | P_VIEW},
    {"GET", "/api/v1/machines", R_MACHINES, AUTH_ADMIN, 0, 0,
     P_COMMUNE | P_STATE | P_SILENT},
    {"GET", "/api/v1/machines/", R_MACHINE, AUTH_ADMIN, 1, 0, P_COMMUNE},
    {"POST", "/api/v1/machines/*/retire", R_LICADMIN, AUTH_OP, 1,
     ADM_AGENT_RETIRE, 0},
    {"POST", "/api/v1/machines/*/move", R_LICADMIN, AUTH_OP, 1, ADM_AGENT_MOVE,
     0},
    {"GET", "/api/v1/communes", R_COMMUNES, AUTH_ADMIN, 0, 0, P_COMMUNE},
    {"GET", "/api/v1/catalogue", R_LICADMIN, AUTH_OP, 0, ADM_CATALOGUE_EXPORT,
     0},
    {"POST", "/api/v1/catalogue", R_LICADMIN, AUTH_OP, 0, ADM_CATALOGUE_IMPORT,
     0},
    {"GET", "/api/v1/catalogue/unmatched", R_LICADMIN, AUTH_OP, 0,
     ADM_UNMATCHED, 0},
    {"POST", "/api/v1/catalogue/rules", R_LICADMIN, AUTH_OP, 0, ADM_RULE_ADD,
     0},
    {"DELETE", "/api/v1/catalogue/rules/", R_LICADMIN, AUTH_OP, 1,
     ADM_RULE_DELETE, 0},
    {"POST", "/api/v1/catalogue/products", R_LICADMIN, AUTH_OP, 0,
     ADM_PRODUCT_ADD, 0},
    {"GET", "/api/v1/entitlements", R_LICADMIN, AUTH_OP, 0, ADM_ENT_LIST, 0},
    {"POST", "/api/v1/entitlements", R_LICADMIN, AUTH_OP, 0, ADM_ENT_ADD, 0},
    {"PUT", "/api/v1/entitlements/", R_LICADMIN, AUTH_OP, 1, ADM_ENT_UPDATE, 0},
    {"DELETE", "/api/v1/entitlements/", R_LICADMIN, AUTH_OP, 1, ADM_ENT_DELETE,
     0},
    {"GET", "/api/v1/pools", R_LICADMIN, AUTH_OP, 0, ADM_POOL_LIST, 0},
    {"POST", "/api/v1/pools", R_LICADMIN, AUTH_OP, 0, ADM_POOL_SET, 0},
    {"GET", "/api/v1/reports/compliance", R_REPORT, AUTH_ADMIN, 0,
     REPORT_COMPLIANCE, P_REPORT | P_PRODUCT},
    {"GET", "/api/v1/reports/reclaim", R_REPORT, AUTH_ADMIN, 0, REPORT_RECLAIM,
     P_REPORT | P_COVERAGE},
    {"GET", "/api/v1/reports/costs", R_REPORT, AUTH_ADMIN, 0, REPORT_COSTS,
     P_REPORT | P_POOL},
    {"GET", "/api/v1/reports/usage", R_REPORT, AUTH_ADMIN, 0, REPORT_USAGE,
     P_REPORT | P_PRODUCT},
    {"POST", "/api/v1/secrets", R_LICADMIN, AUTH_OP, 0, ADM_SECRET_CREATE, 0},
    {"GET", "/api/v1/secrets", R_LICADMIN, AUTH_OP, 0, ADM_SECRET_LIST, 0},
    {"POST", "/api/v1/foreign-credentials", R_LICADMIN, AUTH_OP, 0,
     ADM_FOREIGN_CREATE, 0},
    {"GET", "/api/v1/foreign-credentials", R_LICADMIN, AUTH_OP, 0,
     ADM_FOREIGN_LIST, 0},
    {"DELETE", "/api/v1/foreign-credentials/", R_LICADMIN, AUTH_OP, 1,
     ADM_FOREIGN_REVOKE, 0},
    {"DELETE", "/api/v1/secrets/", R_LICADMIN, AUTH_OP, 1, ADM_SECRET_REVOKE,
     0},
    {"POST", "/api/v1/tokens", R_LICADMIN, AUTH_OP, 0, ADM_TOKEN_CREATE, 0},
    {"GET", "/api/v1/tokens", R_LICADMIN, AUTH_OP, 0, ADM_TOKEN_LIST, 0},
    {"DELETE", "/api/v1/tokens/", R_LICADMIN, AUTH_OP, 1, ADM_TOKEN_REVOKE, 0},
    {"DELETE", "/api/v1/agents/", R_LICADMIN, AUTH_OP, 1, ADM_AGENT_REVOKE, 0},
    {"GET", "/api/v1/audit", R_LICADMIN, AUTH_OP, 0, ADM_AUDIT_LIST, P_DAYS},
    {"GET", "/api/v1/gaps", R_LICADMIN, AUTH_OP, 0, ADM_GAPS_LIST, P_DAYS},
    {"GET", "/api/v1/audit/retention", R_LICADMIN, AUTH_OP, 0, ADM_AUDIT_POLICY,
     0},
    {"PUT", "/api/v1/audit/retention", R_LICADMIN, AUTH_OP, 0,
     ADM_AUDIT_RETENTION, 0},
    {"POST", "/api/v1/audit/purge", R_LICADMIN, AUTH_OP, 0, ADM_AUDIT_PURGE, 0},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* The HTTP status of each layer's errors, the one place that maps them:
 * a batch or body refused by ingest, and a store call's result (the
 * message depends on the call). */
static const int ingest_status[] = {
    [INGEST_OK] = 200,         [INGEST_MALFORMED] = 400,
    [INGEST_TOO_COSTLY] = 413, [INGEST_BAD_RECORD] = 422,
    [INGEST_FORBIDDEN] = 403,  [INGEST_NO_MEMORY] = 503,
};
static const struct {
	enum store_rc rc;
	int status;
} store_statuses[] = {
    {STORE_OK, 200},        {STORE_ERR, 503},       {STORE_NOTFOUND, 404},
    {STORE_CONFLICT, 409},  {STORE_DENIED, 401},    {STORE_INVALID, 400},
    {STORE_FORBIDDEN, 403}, {STORE_NOCOMMUNE, 400},
};

static int
store_status(int rc)
{
	size_t i;

	for (i = 0; i < sizeof(store_statuses) / sizeof(store_statuses[0]); i++)
		if ((int)store_statuses[i].rc == rc)
			return store_statuses[i].status;
	return 503;
}

/* The credentials a request may carry, as a refusal names them: in the
 * 401 answer and in the audit log (auth_failed()). */
enum credential { CRED_AGENT, CRED_ADMIN, CRED_SECRET, CRED_FOREIGN };
static const struct {
	const char *name, *refusal;
} credentials[] = {
    [CRED_AGENT] = {"agent token", "unknown or revoked agent token"},
    [CRED_ADMIN] = {"admin token", "unknown or revoked admin token"},
    [CRED_SECRET] = {"enrolment secret",
                     "unknown, revoked, expired or used-up enrolment "
                     "secret"},
    [CRED_FOREIGN] = {"foreign agents' credential",
                      "unknown, revoked or expired credential"},
};

/* Who may call route i: its own level, or for an admin operation what
 * the store's table of operations says. An operation only the server
 * itself runs has no route; the store would refuse any token anyway. */
static enum auth
route_auth(size_t i)
{
	if (routes[i].auth != AUTH_OP)
		return routes[i].auth;
	switch (store_admin_caller((enum store_admin_op)routes[i].op)) {
	case CALLER_ANY:
		return AUTH_ADMIN;
	case CALLER_WRITER:
		return AUTH_WRITE;
	default:
		return AUTH_INTER;
	}
}

/* Per-request state kept between head and handle. */
struct reqstate {
	size_t route;
	struct store_agent agent;
	struct store_scope scope;
	char bearer[256];
	char foreign_hash[CRYPTO_HEX256_LEN + 1]; /* R_FOREIGN's credential */
};

/* Route i's path around its id segment: the prefix's length in *n and
 * the suffix after the segment ("" when the id ends the path). */
static const char *
route_parts(size_t i, size_t *n)
{
	const char *star = strchr(routes[i].path, '*');

	*n = star ? (size_t)(star - routes[i].path) : strlen(routes[i].path);
	return star ? star + 1 : "";
}

static int
path_matches(size_t i, const char *path)
{
	size_t n, len = strlen(path), k;
	const char *suffix = route_parts(i, &n);

	if (!routes[i].prefix)
		return strcmp(path, routes[i].path) == 0;
	k = strlen(suffix);
	if (strncmp(path, routes[i].path, n) != 0 || len <= n + k ||
	    strcmp(path + len - k, suffix) != 0)
		return 0;
	/* one segment between the prefix and the suffix */
	return memchr(path + n, '/', len - n - k) == NULL;
}

/* The id segment of the path of route i, which it matches, in out (n
 * bytes): 0, or -1 when it does not fit. */
static int
route_id(const char *path, size_t i, char *out, size_t n)
{
	size_t pre, len;

	len = strlen(path) - strlen(route_parts(i, &pre)) - pre;
	if (len >= n)
		return -1;
	memcpy(out, path + pre, len);
	out[len] = '\0';
	return 0;
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

/* 429 with Retry-After while the client's address (its IPv6 /64) is
 * over its failed authentications of the window: it may not even try a
 * right credential, so that guessing stops for all of them. */
static int
auth_blocked(struct api *api, struct http_req *r, struct http_reply *reply)
{
	long wait;

	if (api->auth_fail == NULL ||
	    (wait = ratelimit_peek(api->auth_fail, http_peer_net(r),
	                           time(NULL))) == 0)
		return 0;
	metrics_event(api->metrics, MET_LIMIT_AUTH);
	http_error(reply, 429,
	           "too many failed authentications from %s; retry in %ld s",
	           http_peer_net(r), wait);
	reply->retry_after = wait;
	return -1;
}

/* Counts a wrong credential against the client's address, and audits it
 * in a bounded way: one entry at the address's first failure of the
 * window, one when it goes over the limit; the tries in between are only
 * counted (docs/SECURITY.md). */
static void
auth_failed(struct api *api, struct http_req *r, const char *what)
{
	char detail[256];
	int n;

	if (api->auth_fail == NULL ||
	    (n = ratelimit_add(api->auth_fail, http_peer_net(r), time(NULL))) ==
	        0)
		return;
	if (n == ratelimit_limit(api->auth_fail))
		snprintf(detail, sizeof(detail),
		         "%d failed authentications from %s within the minute "
		         "(last: wrong %s for %s %s); it is refused with 429 "
		         "until the minute ends",
		         n, http_peer_net(r), what, http_method(r),
		         http_path(r));
	else if (n == 1)
		snprintf(detail, sizeof(detail),
		         "wrong %s for %s %s from %s (first failure from this "
		         "address this minute; the next are only counted)",
		         what, http_method(r), http_path(r), http_peer(r));
	else
		return;
	/* And a bound across addresses: an IPv6 /48 holds 65,536 /64s. */
	if (api->auth_audit &&
	    ratelimit_hit(api->auth_audit, "all", time(NULL)) > 0)
		return;
	log_warnx("%s", detail);
	store_audit(api->store, 0, "", "auth-failed", detail);
}

/* Maps a credential lookup to the answer: 0 to go on, or -1 with reply
 * set (401 naming the credential, 503 when storage failed). A 401 counts
 * against the client's address (auth_failed()). */
static int
auth_check(struct api *api, struct http_req *r, int rc, enum credential cred,
           struct http_reply *reply)
{
	if (rc == STORE_OK)
		return 0;
	if (rc == STORE_ERR)
		http_error(reply, store_status(rc), "storage unavailable");
	else {
		http_error(reply, store_status(STORE_DENIED), "%s",
		           credentials[cred].refusal);
		auth_failed(api, r, credentials[cred].name);
	}
	return -1;
}

/* 429 with Retry-After when key went over its rate (counted as e). */
static int
rate_limited(struct api *api, struct ratelimit *rl, const char *key,
             const char *what, enum metrics_event e, struct http_reply *reply)
{
	long wait = rl ? ratelimit_hit(rl, key, time(NULL)) : 0;

	if (wait == 0)
		return 0;
	metrics_event(api->metrics, e);
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
auth_agent(struct api *api, struct http_req *r, struct reqstate *st,
           struct http_reply *reply)
{
	char hash[CRYPTO_HEX256_LEN + 1];
	long wait;

	crypto_sha256_hex(st->bearer, hash);
	if (auth_check(api, r, store_agent_auth(api->store, hash, &st->agent),
	               CRED_AGENT, reply) == -1)
		return -1;
	if (rate_limited(api, api->agent_rate, st->agent.agent_id, "requests",
	                 MET_LIMIT_AGENT, reply) == -1)
		return -1;
	/* Saturated: shed before reading the body, booking a later slot. */
	if (api->shed &&
	    (wait = shed_admit(api->shed, st->agent.agent_id, now_ms())) > 0) {
		metrics_event(api->metrics, MET_SHED);
		http_error(reply, 429, "server busy; retry in %ld s", wait);
		reply->retry_after = wait;
		return -1;
	}
	return 0;
}

#define DENIED_READ_ONLY "this token is read-only"
#define DENIED_SCOPE                                                           \
	"this token may not change that: the catalogue, pools and "            \
	"intercommunal tokens belong to the intercommunal admin, other "       \
	"communes' objects to their admins"

/* The admin token, and its right to call the route (auth): a change
 * refused here is refused before its body is read, and audited. */
static int
auth_admin(struct api *api, struct http_req *r, struct reqstate *st,
           enum auth auth, struct http_reply *reply)
{
	char hash[CRYPTO_HEX256_LEN + 1], what[256];
	const char *why = NULL;
	long wait;

	crypto_sha256_hex(st->bearer, hash);
	if (auth_check(api, r, store_admin_auth(api->store, hash, &st->scope),
	               CRED_ADMIN, reply) == -1)
		return -1;
	snprintf(what, sizeof(what), "%s %s", http_method(r), http_path(r));
	/* Each admin token has a rate (docs/SECURITY.md, "Audit log
	 * flooding"). */
	if ((wait = auditgate_admit(api->audit_gate, api->store, &st->scope,
	                            what, now_ms())) > 0) {
		metrics_event(api->metrics, MET_LIMIT_ADMIN);
		http_error(reply, 429,
		           "too many requests with this admin token; retry in "
		           "%ld s",
		           wait);
		reply->retry_after = wait;
		return -1;
	}
	if (auth != AUTH_ADMIN && st->scope.read_only)
		why = DENIED_READ_ONLY;
	else if (auth == AUTH_INTER && st->scope.commune[0])
		why = DENIED_SCOPE;
	if (why == NULL)
		return 0;
	auditgate_refused(api->audit_gate, api->store, &st->scope,
	                  st->scope.commune, what, now_ms());
	http_error(reply, 403, "%s", why);
	return -1;
}

/* The rate of one credential from one address (a commune's PCs share
 * its credential, and often one address behind the town hall's router),
 * and the server's load shedding, as for mutu-agent's batches. */
static int
foreign_admit(struct api *api, struct http_req *r, struct reqstate *st,
              struct http_reply *reply)
{
	struct interop_req in = {0};
	char key[CRYPTO_HEX256_LEN + 64], h[CRYPTO_HEX256_LEN + 1];
	long wait;

	/* a key as short as an agent id: the limiters keep 39 bytes */
	snprintf(key, sizeof(key), "%s/%s", st->foreign_hash, http_peer_net(r));
	crypto_sha256_hex(key, h);
	h[32] = '\0';
	in.glpi_agent_id = http_header(r, "GLPI-Agent-ID");
	wait =
	    api->agent_rate ? ratelimit_hit(api->agent_rate, h, time(NULL)) : 0;
	if (wait > 0)
		metrics_event(api->metrics, MET_LIMIT_AGENT);
	else if (api->shed && (wait = shed_admit(api->shed, h, now_ms())) > 0)
		metrics_event(api->metrics, MET_SHED);
	if (wait == 0)
		return 0;
	interop_error(&in, reply, 429, "server busy; retry in %ld s", wait);
	reply->retry_after = wait;
	return -1;
}

/* A foreign agent's basic credential: without one, 401 with the
 * challenge its agent answers; a wrong one, 403 with the protocol's STOP,
 * counted as a failed credential. */
static int
auth_foreign(struct api *api, struct http_req *r, struct reqstate *st,
             struct http_reply *reply)
{
	char user[STORE_COMMUNE_MAX + 1], pass[200];
	struct interop_req in = {0};
	int rc;

	http_limit_body(r, PROTO_MAX_BODY);
	if (interop_basic(http_header(r, "Authorization"), user, sizeof(user),
	                  pass, sizeof(pass)) == -1) {
		in.glpi_agent_id = http_header(r, "GLPI-Agent-ID");
		interop_refuse(&in, 401, reply);
		return -1;
	}
	if (auth_blocked(api, r, reply) == -1)
		return -1;
	crypto_sha256_hex(pass, st->foreign_hash);
	crypto_wipe(pass, sizeof(pass));
	rc = store_foreign_auth(api->store, user, st->foreign_hash,
	                        st->agent.commune);
	if (rc == STORE_OK)
		return foreign_admit(api, r, st, reply);
	in.glpi_agent_id = http_header(r, "GLPI-Agent-ID");
	if (rc == STORE_ERR)
		interop_error(&in, reply, 503, "storage unavailable");
	else {
		interop_refuse(&in, 403, reply);
		auth_failed(api, r, credentials[CRED_FOREIGN].name);
	}
	return -1;
}

/* The metrics token: 0, or -1 with 401 counted as a failed credential. */
static int
metrics_auth(struct api *api, struct http_req *r, struct reqstate *st,
             struct http_reply *reply)
{
	char hash[CRYPTO_HEX256_LEN + 1];

	crypto_sha256_hex(st->bearer, hash);
	if (crypto_streq(hash, api->metrics_hash))
		return 0;
	http_error(reply, 401, "wrong metrics token");
	auth_failed(api, r, "metrics token");
	return -1;
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
	/* Chunked bodies declare no length: cap what is read and inflated. */
	http_limit_body(r, ENROL_MAX_BODY);
	crypto_sha256_hex(st->bearer, hash);
	if (auth_check(api, r, store_secret_check(api->store, hash),
	               CRED_SECRET, reply) == -1)
		return -1;
	return rate_limited(api, api->enrol_rate, hash, "enrolments",
	                    MET_LIMIT_ENROL, reply);
}

/* Query values: what each parameter must be. */
static int
digits(const char *v, long long min, long long max)
{
	long long n;

	return strlen(v) <= 18 && strspn(v, "0123456789") == strlen(v) &&
	       util_parse_ll(v, min, max, &n) == 0;
}

static int
valid_days(const char *v)
{
	return digits(v, 1, MAX_DAYS);
}

static int
valid_date(const char *v)
{
	long long d;

	return cal_parse(v, &d) == 0;
}

static int
valid_month(const char *v)
{
	char d[16];
	long long n;

	snprintf(d, sizeof(d), "%.7s-01", v);
	return strlen(v) == 7 && cal_parse(d, &n) == 0;
}

static int
valid_year(const char *v)
{
	return strlen(v) == 4 && digits(v, 1900, 9999);
}

static int
valid_limit(const char *v)
{
	return digits(v, 0, 1000000);
}

static int
valid_commune(const char *v)
{
	return util_valid_insee(v);
}

/* A name as agents send them: 1 to 256 bytes, no control character. */
static int
valid_name(const char *v)
{
	size_t i, n = strlen(v);

	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return 0;
	return n >= 1 && n <= 256;
}

static int
valid_pool(const char *v)
{
	size_t n = strlen(v);

	return n >= 1 && n <= 64 &&
	       strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-_.") == n;
}

/* DIGITS[.DIGITS] from 0 to 1: no sign, exponent, hex, nan or inf. */
static int
valid_coverage(const char *v)
{
	size_t n = strspn(v, "0123456789");

	if (n == 0 || n > 8 ||
	    (v[n] == '.' && (strspn(v + n + 1, "0123456789") == 0 ||
	                     v[n + 1 + strspn(v + n + 1, "0123456789")])) ||
	    (v[n] != '.' && v[n] != '\0') || strlen(v) > 24)
		return 0;
	return strtod(v, NULL) <= 1.0;
}

static int
valid_view(const char *v)
{
	return strcmp(v, "products") == 0 || strcmp(v, "raw") == 0;
}

static int
valid_state(const char *v)
{
	return strcmp(v, "active") == 0 || strcmp(v, "silent") == 0 ||
	       strcmp(v, "revoked") == 0 || strcmp(v, "retired") == 0;
}

static const struct {
	unsigned flag;
	const char *name;
	int (*valid)(const char *);
	const char *expected;
} params[] = {
    {P_COMMUNE, "commune", valid_commune, "an INSEE commune code"},
    {P_PRODUCT, "product", valid_name,
     "a name of 1 to 256 bytes without control characters"},
    {P_DAYS, "days", valid_days, "a whole number of days from 1 to 3660"},
    {P_LIMIT, "limit", valid_limit, "a whole number from 0 to 1000000"},
    {P_COVERAGE, "coverage", valid_coverage,
     "a decimal from 0 to 1 (such as 0.7)"},
    {P_POOL, "pool", valid_pool, "a pool code (1 to 64 of a-z 0-9 - _ .)"},
    {P_VIEW, "view", valid_view, "products or raw"},
    {P_STATE, "state", valid_state, "active, silent, revoked or retired"},
    {P_SILENT, "silent", valid_days, "a whole number of days from 1 to 3660"},
    {P_FROM, "from", valid_date, "a date as YYYY-MM-DD"},
    {P_TO, "to", valid_date, "a date as YYYY-MM-DD"},
    {P_MONTH, "month", valid_month, "a month as YYYY-MM"},
    {P_YEAR, "year", valid_year, "a year as YYYY"},
};
#define NPARAMS (sizeof(params) / sizeof(params[0]))

struct param_check {
	const struct http_req *r;
	unsigned allowed, seen;
	struct http_reply *reply;
};

/* Up to 64 bytes of s for an error message, every byte outside printable
 * ASCII as '?'. */
static void
shown(const char *s, char out[72])
{
	size_t i;

	for (i = 0; s[i] && i < 64; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	util_strlcpy(out + i, s[i] ? "..." : "", 72 - i);
}

static int
check_param(void *arg, const char *name, const char *value)
{
	struct param_check *c = arg;
	char n[72], v[72];
	size_t i;

	shown(name, n);
	for (i = 0; i < NPARAMS && strcmp(params[i].name, name) != 0; i++)
		;
	if (i == NPARAMS || !(params[i].flag & c->allowed)) {
		http_error(c->reply, 400,
		           "query parameter '%s': not one %s %s takes", n,
		           http_method(c->r), http_path(c->r));
		return -1;
	}
	if (c->seen & params[i].flag) {
		http_error(c->reply, 400, "query parameter %s: given twice", n);
		return -1;
	}
	c->seen |= params[i].flag;
	if (value == NULL || !params[i].valid(value)) {
		shown(value ? value : "", v);
		http_error(c->reply, 400, "query parameter %s: '%s' is not %s",
		           n, v, params[i].expected);
		return -1;
	}
	return 0;
}

/* Admin routes: every query parameter is one the route takes, given once,
 * with a value as params[] says; else 400 naming it and its value. */
static int
check_query(struct http_req *r, unsigned allowed, struct http_reply *reply)
{
	struct param_check c = {r, allowed, 0, reply};

	return http_query_each(r, check_param, &c);
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
	/* Near the connection limit, the last slots serve health checks,
	 * monitoring and admins only (http.h). */
	if (http_reserved(r) && routes[i].route != R_HEALTH &&
	    routes[i].route != R_READY && routes[i].route != R_METRICS &&
	    route_auth((size_t)i) < AUTH_ADMIN) {
		http_error(reply, 503,
		           "server at its connection limit; retry later");
		reply->retry_after = 30;
		return -1;
	}
	if (route_auth((size_t)i) == AUTH_NONE)
		return 0;
	if (route_auth((size_t)i) == AUTH_FOREIGN)
		return auth_foreign(api, r, st, reply);
	if (routes[i].route == R_METRICS && api->metrics_hash[0] == '\0') {
		http_error(reply, 404,
		           "metrics are off: set metrics_token_file "
		           "(mutu-server.conf(5))");
		return -1;
	}
	if (bearer(r, st->bearer, sizeof(st->bearer)) == -1) {
		http_error(reply, 401,
		           "missing 'Authorization: Bearer' header");
		return -1;
	}
	if (auth_blocked(api, r, reply) == -1)
		return -1;
	switch (route_auth((size_t)i)) {
	case AUTH_METRICS:
		return metrics_auth(api, r, st, reply);
	case AUTH_ENROL:
		return enrol_head(api, r, st, reply);
	case AUTH_AGENT:
		return auth_agent(api, r, st, reply);
	case AUTH_ADMIN:
	case AUTH_WRITE:
	case AUTH_INTER:
		if (auth_admin(api, r, st, route_auth((size_t)i), reply) == -1)
			return -1;
		return check_query(r, routes[i].params, reply);
	default:
		return 0;
	}
}

/* The body must be exactly application/json (any case), optionally with
 * parameters ("; charset=utf-8"): 415 naming what came instead. */
static int
json_content(struct http_req *r, struct http_reply *reply)
{
	const char *ct = http_header(r, "Content-Type");
	size_t n = strlen(PROTO_CONTENT_TYPE), len;
	char shown[101];

	if (ct != NULL && strncasecmp(ct, PROTO_CONTENT_TYPE, n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t') &&
	    (ct[n + strspn(ct + n, " \t")] == '\0' ||
	     ct[n + strspn(ct + n, " \t")] == ';'))
		return 0;
	/* Named as printable ASCII, so that any header can be quoted. */
	for (len = 0;
	     ct && ct[len] && ct[len] != ';' && len < sizeof(shown) - 1; len++)
		shown[len] = ct[len] >= ' ' && ct[len] < 0x7f ? ct[len] : '?';
	shown[len] = '\0';
	http_error(reply, 415, "Content-Type must be %s, not %s%s%s",
	           PROTO_CONTENT_TYPE, ct ? "'" : "", ct ? shown : "none",
	           ct ? "'" : "");
	return -1;
}

/* A 64-digit lowercase hex string, or NULL (absent or malformed). */
static const char *
hex256(json_t *j, const char *name)
{
	const char *v = json_string_value(json_object_get(j, name));

	if (v == NULL || strlen(v) != CRYPTO_HEX256_LEN ||
	    strspn(v, "0123456789abcdef") != CRYPTO_HEX256_LEN)
		return NULL;
	return v;
}

/* What an enrolment proves about the identity it claims
 * (docs/PROTOCOL.md, "Enrolment"): the agent's identity key, from which
 * its agent_id is derived, and/or its current token (agents enrolled
 * before identity keys). Sets *key_proven and proof (the token's hash,
 * "" if none). */
static void
enrol_proof(json_t *j, const char *aid, int *key_proven,
            char proof[CRYPTO_HEX256_LEN + 1])
{
	const char *key = hex256(j, "key"), *tok = hex256(j, "token");
	char h[CRYPTO_HEX256_LEN + 1], id[CRYPTO_UUID_LEN + 1];

	*key_proven = 0;
	proof[0] = '\0';
	if (key && crypto_sha256_hex(key, h) == 0 &&
	    util_uuid_from_hex(h, id, sizeof(id)) == 0)
		*key_proven = strcmp(id, aid) == 0;
	if (tok)
		crypto_sha256_hex(tok, proof);
}

/* 403: the secret is valid, but the agent_id is enrolled and the request
 * does not prove it holds it; audited (someone holding the commune's
 * secret tried to take a PC's identity over, or a PC lost its state). */
static void
enrol_refused(struct api *api, const char *aid, const char *host,
              const char *commune, struct http_reply *reply)
{
	char d[400];

	log_warnx("enrolment of agent %s (%s) refused: no proof of identity",
	          aid, host);
	snprintf(d, sizeof(d), "agent %s (%.255s): no proof of identity", aid,
	         host);
	store_audit(api->store, 0, commune, "enrol-refused", d);
	http_error(reply, store_status(STORE_FORBIDDEN),
	           "agent %s is enrolled already, and this request proves "
	           "neither its identity key nor its current token; an "
	           "enrolment secret does not take over an enrolled PC "
	           "(docs/SECURITY.md, \"Identity\")",
	           aid);
}

static void
do_enrol(struct api *api, struct http_req *r, struct reqstate *st,
         struct http_reply *reply)
{
	char secret_hash[CRYPTO_HEX256_LEN + 1], token[CRYPTO_HEX256_LEN + 1];
	char token_hash[CRYPTO_HEX256_LEN + 1], commune[STORE_COMMUNE_MAX];
	char proof[CRYPTO_HEX256_LEN + 1];
	const char *body, *aid, *host;
	char err[256];
	enum ingest_err why;
	size_t len;
	json_t *j;
	int rc, key_proven;

	if (json_content(r, reply) == -1)
		return;
	body = http_body(r, &len);
	if ((j = ingest_json_load(body, len, &why, err, sizeof(err))) == NULL) {
		http_error(reply, ingest_status[why], "%s", err);
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
	enrol_proof(j, aid, &key_proven, proof);
	rc = store_enrol(api->store, secret_hash, aid, host, token_hash,
	                 key_proven, proof[0] ? proof : NULL, commune);
	if (rc != STORE_ERR)
		metrics_event(api->metrics, rc == STORE_OK ? MET_ENROL_OK
		                                           : MET_ENROL_REFUSED);
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
		http_error(reply, store_status(rc),
		           "unknown or revoked enrolment secret");
	else if (rc == STORE_CONFLICT)
		http_error(reply, store_status(rc),
		           "agent %s is enrolled in another commune", aid);
	else if (rc == STORE_FORBIDDEN)
		enrol_refused(api, aid, host, commune, reply);
	else
		http_error(reply, store_status(rc), "storage unavailable");
	crypto_wipe(token, sizeof(token));
done:
	json_decref(j);
}

/* The answer to a batch refused before storage (docs/PROTOCOL.md): 422
 * names the record the agent must set aside. */
static void
batch_refused(struct reqstate *st, const struct ingest_batch *b,
              enum ingest_err why, const char *err, struct http_reply *reply)
{
	log_warnx("agent %s: batch refused: %s", st->agent.agent_id, err);
	if (why == INGEST_BAD_RECORD)
		http_json(reply, ingest_status[why],
		          json_pack("{s:s, s:I}", "error", err, "record_seq",
		                    (json_int_t)b->bad_seq));
	else
		http_error(reply, ingest_status[why], "%s", err);
}

static void
batch_stored(struct reqstate *st, const struct ingest_batch *b,
             const struct store_ingest_result *res, struct http_reply *reply)
{
	/* Tests kill the server here: committed, not yet answered. */
	crashpoint("server.committed");
	if (res->usage_dropped || res->software_dropped)
		log_warnx("agent %s: batch %s: %lld usage records over "
		          "max_programs_per_day and %lld software entries over "
		          "max_software folded into counts, not stored "
		          "(machines: usage_dropped, software_dropped)",
		          st->agent.agent_id, b->batch_id, res->usage_dropped,
		          res->software_dropped);
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
	long long t0 = now_ms();
	struct store_ingest_result res;
	struct ingest_clock clock;
	struct ingest_batch b;
	enum ingest_err why;
	const char *body;
	char err[256];
	size_t len;
	int rc;

	if (json_content(r, reply) == -1)
		return;
	body = http_body(r, &len);
	ingest_clock_parse(http_header(r, PROTO_CLOCK_HEADER), t0, &clock);
	if ((why = ingest_parse(body, len, st->agent.agent_id, &clock, &b, err,
	                        sizeof(err))) != INGEST_OK) {
		batch_refused(st, &b, why, err, reply);
		metrics_batch(api->metrics, MET_BATCH_REFUSED, NULL, NULL,
		              (now_ms() - t0) / 1000.0);
		ingest_free(&b);
		return;
	}
	b.batch.max_day_keys = api->max_day_keys;
	b.batch.max_software = api->max_software;
	rc = store_ingest(api->store, &st->agent, &b.batch, &res);
	metrics_batch(api->metrics,
	              rc == STORE_OK         ? MET_BATCH_STORED
	              : rc == STORE_CONFLICT ? MET_BATCH_CONFLICT
	                                     : MET_BATCH_UNAVAILABLE,
	              &b.batch, rc == STORE_OK ? &res : NULL,
	              (now_ms() - t0) / 1000.0);
	if (rc == STORE_OK)
		batch_stored(st, &b, &res, reply);
	else if (rc == STORE_CONFLICT)
		http_json(reply, store_status(rc),
		          json_pack("{s:s, s:s, s:I}", "error",
		                    "inventory delta does not apply to the "
		                    "inventory this server holds",
		                    "need", "full_inventory", "record_seq",
		                    (json_int_t)res.conflict_seq));
	else {
		http_error(reply, store_status(rc),
		           "storage unavailable; retry later");
		reply->retry_after = 30;
	}
	ingest_free(&b);
}

static void
do_foreign(struct api *api, struct http_req *r, struct reqstate *st,
           struct http_reply *reply)
{
	struct interop_req in = {http_header(r, "Content-Type"),
	                         http_header(r, "User-Agent"),
	                         http_header(r, "GLPI-Agent-ID"),
	                         NULL,
	                         0,
	                         st->agent.commune,
	                         st->foreign_hash,
	                         api->max_day_keys,
	                         api->max_software};

	in.body = http_body(r, &in.len);
	interop_serve(api->store, &in, reply);
}

/* Builds the query from the URL and the token's scope. A commune admin
 * asking for another commune gets 403. */
static int
admin_query(struct api *api, struct http_req *r, const struct reqstate *st,
            struct store_query *q, struct http_reply *reply)
{
	const char *commune = http_query(r, "commune");
	const char *limit = http_query(r, "limit");
	const char *silent = http_query(r, "silent");
	long long l = 0, sd = 0;

	memset(q, 0, sizeof(*q));
	if (commune && *commune == '\0')
		commune = NULL;
	if (st->scope.commune[0]) {
		if (commune && strcmp(commune, st->scope.commune) != 0) {
			auditgate_refused(api->audit_gate, api->store,
			                  &st->scope, commune, http_path(r),
			                  now_ms());
			http_error(reply, 403,
			           "this token may only read commune %s",
			           st->scope.commune);
			return -1;
		}
		commune = st->scope.commune;
	}
	if (limit && util_parse_ll(limit, 0, 1000000, &l) == -1) {
		http_error(reply, 400, "limit: expected 0 to 1000000");
		return -1;
	}
	q->commune = commune;
	q->product = http_query(r, "product");
	q->state = http_query(r, "state");
	if (silent && util_parse_ll(silent, 1, MAX_DAYS, &sd) == 0)
		q->silent = (int)sd; /* params[] checked it */
	q->now = time(NULL);
	q->limit = (int)l;
	return 0;
}

/* The report's period from the URL (default: the default_days ending
 * yesterday), in q; else 400 naming the problem. */
static int
query_period(struct http_req *r, int default_days, struct store_query *q,
             struct http_reply *reply)
{
	struct cal_period p;
	char err[128];

	if (cal_period(http_query(r, "from"), http_query(r, "to"),
	               http_query(r, "month"), http_query(r, "year"),
	               http_query(r, "days"), default_days, MAX_DAYS,
	               cal_day(q->now), &p, err, sizeof(err)) == -1) {
		http_error(reply, 400, "%s", err);
		return -1;
	}
	q->first = p.first;
	q->last = p.last;
	q->days = (int)(p.last - p.first + 1);
	return 0;
}

/* The period as a report states it: first and last days, and days. */
static void
period_json(json_t *out, const struct store_query *q)
{
	char d[16];

	cal_format(q->first, d, sizeof(d));
	json_object_set_new(out, "from", json_string(d));
	cal_format(q->last, d, sizeof(d));
	json_object_set_new(out, "to", json_string(d));
	json_object_set_new(out, "days", json_integer(q->days));
}

static void
store_reply(struct http_reply *reply, int rc, json_t *out, const char *what)
{
	if (rc == STORE_OK)
		http_json(reply, store_status(rc), out);
	else if (rc == STORE_NOTFOUND)
		http_error(reply, store_status(rc), "%s not found", what);
	else if (rc == STORE_CONFLICT) {
		http_json(reply, store_status(rc),
		          json_pack("{s:s, s:o}", "error",
		                    "host name is ambiguous; use an agent id",
		                    "candidates", out ? out : json_array()));
	} else
		http_error(reply, store_status(STORE_ERR),
		           "storage unavailable");
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
		/* products (default) or raw names; "<k" as in every report */
		id = http_query(r, "view");
		if (id && strcmp(id, "raw") != 0 &&
		    strcmp(id, "products") != 0) {
			http_error(reply, 400,
			           "view: expected products or raw");
			return;
		}
		q.raw = id && strcmp(id, "raw") == 0;
		q.k = api->privacy_k;
		q.viewer = st->scope.commune;
		if (query_period(r, DEFAULT_DAYS, &q, reply) == -1)
			return;
		rc = store_licences(api->store, &q, &out);
		if (rc == STORE_OK) {
			period_json(out, &q);
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
	const char *body, *days;
	json_t *in = NULL;
	char err[256], id[STORE_ID_MAX];
	long long n;
	enum ingest_err why;
	size_t len;

	body = http_body(r, &len);
	if (len > 0) {
		if (json_content(r, reply) == -1)
			return NULL;
		in = ingest_json_load(body, len, &why, err, sizeof(err));
		if (in == NULL) {
			http_error(reply, ingest_status[why], "%s", err);
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
	if (route_id(http_path(r), st->route, id, sizeof(id)) == -1) {
		http_error(reply, 404, "no such object");
		json_decref(in);
		return NULL;
	}
	if (routes[st->route].op == ADM_AGENT_REVOKE ||
	    routes[st->route].op == ADM_AGENT_RETIRE) { /* a UUID */
		json_decref(in);
		return json_pack("{s:s}", "id", id);
	}
	if (routes[st->route].op == ADM_AGENT_MOVE) { /* a UUID and a body */
		if (!json_is_object(in)) {
			http_error(reply, 400, "expected a JSON object");
			json_decref(in);
			return NULL;
		}
		json_object_set_new(in, "id", json_string(id));
		return in;
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
	if (rc == STORE_OK && json_object_get(out, "from_commune"))
		audit(api, st, /* a move: in both communes' logs */
		      json_string_value(json_object_get(out, "from_commune")),
		      "change", what);
	else if (rc == STORE_FORBIDDEN)
		auditgate_refused(
		    api->audit_gate, api->store, &st->scope,
		    json_string_value(json_object_get(in, "commune")), what,
		    now_ms());
	json_decref(in);
	if (rc == STORE_OK || rc == STORE_INVALID || rc == STORE_NOCOMMUNE)
		http_json(reply, store_status(rc), out);
	else if (rc == STORE_FORBIDDEN)
		http_error(reply, store_status(rc), "%s",
		           st->scope.read_only ? DENIED_READ_ONLY
		                               : DENIED_SCOPE);
	else if (rc == STORE_NOTFOUND)
		http_error(reply, store_status(rc), "no such object");
	else
		http_error(reply, store_status(STORE_ERR),
		           "storage unavailable");
	if (rc != STORE_OK && rc != STORE_INVALID && rc != STORE_NOCOMMUNE)
		json_decref(out); /* not handed to the reply */
}

static void
do_report(struct api *api, struct http_req *r, struct reqstate *st,
          struct http_reply *reply)
{
	static const int default_days[] = {30, 90, 365, 365};
	enum store_report kind = (enum store_report)routes[st->route].op;
	const char *cov = http_query(r, "coverage");
	struct store_query q;
	json_t *out = NULL;
	char *end = NULL;
	int rc;

	if (admin_query(api, r, st, &q, reply) == -1 ||
	    query_period(r, default_days[kind], &q, reply) == -1)
		return;
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
	if (rc == STORE_OK && json_is_object(out))
		period_json(out, &q);
	if (rc == STORE_OK) {
		store_audit(api->store, st->scope.token_id,
		            q.commune ? q.commune : "", "read", http_path(r));
		http_json(reply, store_status(rc), out);
	} else
		http_error(reply, store_status(STORE_ERR),
		           "storage unavailable");
}

/* 0 when the database's file system has min_free_mb free, else -1 with
 * the reason (SQLite; PostgreSQL's disk is the write check's). */
static int
disk_check(const struct api *api, char *why, size_t n)
{
	char dir[4096];
	struct statvfs sv;
	long long mb;

	if (api->db_path == NULL || api->min_free_mb <= 0 ||
	    util_strlcpy(dir, api->db_path, sizeof(dir)) == -1)
		return 0;
	if (statvfs(dirname(dir), &sv) == -1) {
		snprintf(why, n, "%.300s: %s", dir, strerror(errno));
		return -1;
	}
	mb = (long long)sv.f_bavail * (long long)sv.f_frsize / (1024 * 1024);
	if (mb >= api->min_free_mb)
		return 0;
	snprintf(why, n,
	         "%lld MiB free on the database's file system (%.300s), below "
	         "min_free_mb = %d",
	         mb, dir, api->min_free_mb);
	return -1;
}

/* 0 unless the server's certificate expires within cert_warn_days. */
static int
cert_check(const struct api *api, char *why, size_t n)
{
	long long left = api->cert_expires - (long long)time(NULL);
	char when[32];

	if (api->cert_expires <= 0 || api->cert_warn_days <= 0 ||
	    left >= (long long)api->cert_warn_days * 86400)
		return 0;
	util_isotime((time_t)api->cert_expires, when, sizeof(when));
	if (left <= 0)
		snprintf(why, n, "the server's certificate expired at %s",
		         when);
	else
		snprintf(why, n,
		         "the server's certificate expires at %s, within "
		         "cert_warn_days = %d: renew it (mutu-server tls-init)",
		         when, api->cert_warn_days);
	return -1;
}

/* GET /healthz: 200 when the database takes a write (a row of the meta
 * table, committed), its disk has room and the certificate is not about
 * to expire (cert_check()); else 503 with the reason.
 * Checked at most once a second, so that polling it costs no more. */
static void
do_health(struct api *api, struct http_reply *reply)
{
	long long now = now_ms();
	char why[512];
	int ok;

	pthread_mutex_lock(&api->health_lock);
	if (api->health_at == 0 || now - api->health_at >= 1000 ||
	    now < api->health_at) {
		why[0] = '\0';
		ok = disk_check(api, why, sizeof(why)) == 0 &&
		     cert_check(api, why, sizeof(why)) == 0 &&
		     store_health(api->store, why, sizeof(why)) == STORE_OK;
		api->health_ok = ok;
		util_strlcpy(api->health_why, why, sizeof(api->health_why));
		api->health_at = now;
	}
	ok = api->health_ok;
	util_strlcpy(why, api->health_why, sizeof(why));
	pthread_mutex_unlock(&api->health_lock);
	if (ok)
		http_json(reply, 200,
		          json_pack("{s:s, s:s}", "status", "ok", "version",
		                    MUTU_VERSION));
	else {
		http_json(reply, 503,
		          json_pack("{s:s, s:s, s:s}", "status", "unavailable",
		                    "error", why, "version", MUTU_VERSION));
		reply->retry_after = 30;
	}
}

/* GET /readyz: 200 while the database takes a write, so that a load
 * balancer sends requests only to instances that can serve them; disk
 * space and the certificate are /healthz's (an operator's) concern. */
static void
do_ready(struct api *api, struct http_reply *reply)
{
	char why[512] = "";

	if (store_health(api->store, why, sizeof(why)) == STORE_OK) {
		http_json(reply, 200, json_pack("{s:s}", "status", "ready"));
		return;
	}
	http_json(
	    reply, 503,
	    json_pack("{s:s, s:s}", "status", "unavailable", "error", why));
	reply->retry_after = 5;
}

static const char *const fleet_states[] = {"active", "silent_7d", "silent_30d",
                                           "never",  "revoked",   "retired"};
#define NSTATES (sizeof(fleet_states) / sizeof(fleet_states[0]))

/* Commune c's samples of the fleet's families (fleet_gauges()). */
static int
fleet_commune(struct buf *out, json_t *c, int family)
{
	const char *code = json_string_value(json_object_get(c, "commune"));
	json_t *seen = json_object_get(c, "last_seen");
	size_t k;
	int rc = 0;

	switch (family) {
	case 0:
		for (k = 0; rc == 0 && k < NSTATES; k++)
			rc = metrics_sample(
			    out, "mutu_agents", "commune", code, "state",
			    fleet_states[k],
			    (double)json_integer_value(
			        json_object_get(c, fleet_states[k])));
		return rc;
	case 1:
		if (!json_is_integer(seen))
			return 0;
		return metrics_sample(
		    out, "mutu_commune_last_seen_timestamp_seconds", "commune",
		    code, NULL, NULL, (double)json_integer_value(seen));
	default:
		return metrics_sample(out, "mutu_records_lost_total", "commune",
		                      code, NULL, NULL,
		                      (double)json_integer_value(
		                          json_object_get(c, "records_lost")));
	}
}

/* The per-commune families of the fleet (store_fleet()). */
static int
fleet_gauges(struct buf *out, json_t *communes)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
	    {"mutu_agents", "gauge",
	     "Machines per commune by state: active (in contact within 7 "
	     "days), silent 7 to 30 days, silent 30 days or more (since the "
	     "last batch or, without one, the enrolment), never (enrolled "
	     "within 7 days, no batch yet), revoked, retired."},
	    {"mutu_commune_last_seen_timestamp_seconds", "gauge",
	     "The last contact of a machine of the commune in service: its "
	     "last batch or, without one, its enrolment (absent: none)."},
	    {"mutu_records_lost_total", "counter",
	     "Records the commune's agents reported lost (gap records)."},
	};
	size_t f, i;
	int rc = 0;

	for (f = 0; rc == 0 && f < sizeof(fam) / sizeof(fam[0]); f++) {
		rc = metrics_family(out, fam[f].name, fam[f].type, fam[f].help);
		for (i = 0; rc == 0 && i < json_array_size(communes); i++)
			rc = fleet_commune(out, json_array_get(communes, i),
			                   (int)f);
	}
	return rc;
}

/* The largest clock offset over the fleet, seconds (0: none known). */
static double
fleet_clock(json_t *communes)
{
	double max = 0, v;
	size_t i;

	for (i = 0; i < json_array_size(communes); i++) {
		v = json_number_value(json_object_get(
		    json_array_get(communes, i), "clock_offset_s"));
		if (v > max)
			max = v;
	}
	return max;
}

/* One gauge family of one sample without labels. */
static int
gauge(struct buf *out, const char *name, const char *help, double v)
{
	if (metrics_family(out, name, "gauge", help) == -1)
		return -1;
	return metrics_sample(out, name, NULL, NULL, NULL, NULL, v);
}

/* The process's and the database's gauges. */
static int
server_gauges(const struct api *api, struct buf *out, json_t *fleet)
{
	struct statvfs sv;
	char dir[4096];
	int rc;

	rc = metrics_family(out, "mutu_build_info", "gauge",
	                    "The server's version.");
	if (rc == 0)
		rc = metrics_sample(out, "mutu_build_info", "version",
		                    MUTU_VERSION, NULL, NULL, 1);
	if (rc == 0)
		rc = gauge(out, "mutu_start_time_seconds",
		           "When the server started, Unix time.",
		           (double)api->started);
	if (rc == 0)
		rc = gauge(out, "mutu_clock_offset_max_seconds",
		           "The largest clock offset of an active machine "
		           "(server time minus the machine's), absolute.",
		           fleet_clock(json_object_get(fleet, "communes")));
	if (rc == 0)
		rc = gauge(out, "mutu_database_size_bytes",
		           "The database's size.",
		           (double)json_integer_value(
		               json_object_get(fleet, "database_bytes")));
	if (rc == 0 && api->cert_expires > 0)
		rc = gauge(out, "mutu_tls_certificate_expiry_timestamp_seconds",
		           "When the server's certificate expires, Unix time.",
		           (double)api->cert_expires);
	/* SQLite: the file system the database is on. */
	if (rc != 0 || api->db_path == NULL ||
	    util_strlcpy(dir, api->db_path, sizeof(dir)) == -1 ||
	    statvfs(dirname(dir), &sv) == -1)
		return rc;
	rc = gauge(out, "mutu_database_filesystem_avail_bytes",
	           "Space available to the server on the database's file "
	           "system.",
	           (double)sv.f_bavail * (double)sv.f_frsize);
	if (rc == 0)
		rc = gauge(out, "mutu_database_filesystem_size_bytes",
		           "Size of the database's file system.",
		           (double)sv.f_blocks * (double)sv.f_frsize);
	return rc;
}

/* The connections the slow-client limits cut, by what they missed. */
static int
conn_counters(const struct http_req *r, struct buf *out)
{
	static const char name[] = "mutu_http_connections_cut_total";
	struct http_stats st;
	int rc;

	http_req_stats(r, &st);
	rc = metrics_family(out, name, "counter",
	                    "Connections cut by the slow-client limits: "
	                    "headers, body (rate or request deadline), reply "
	                    "(read too slowly).");
	if (rc == 0)
		rc = metrics_sample(out, name, "reason", "headers", NULL, NULL,
		                    (double)st.cut_head);
	if (rc == 0)
		rc = metrics_sample(out, name, "reason", "body", NULL, NULL,
		                    (double)st.cut_body);
	if (rc == 0)
		rc = metrics_sample(out, name, "reason", "reply", NULL, NULL,
		                    (double)st.cut_reply);
	if (rc == 0)
		rc = metrics_family(out, "mutu_http_connections_reserved_total",
		                    "counter",
		                    "Connections opened in the slots kept for "
		                    "health checks and admins.");
	if (rc == 0)
		rc =
		    metrics_sample(out, "mutu_http_connections_reserved_total",
		                   NULL, NULL, NULL, NULL, (double)st.reserved);
	return rc;
}

/* GET /metrics: the Prometheus text format 0.0.4 (docs/OPERATIONS.md).
 * The fleet's gauges come from the database at each scrape; when it
 * fails, the answer is 503, never a page with gauges missing. */
static void
do_metrics(struct api *api, struct http_req *r, struct http_reply *reply)
{
	struct buf out;
	json_t *fleet = NULL;

	if (store_fleet(api->store, time(NULL), &fleet) != STORE_OK) {
		http_error(reply, 503, "storage unavailable");
		reply->retry_after = 5;
		return;
	}
	buf_init(&out, 64 * 1024 * 1024);
	if (metrics_write(api->metrics, &out) == -1 ||
	    server_gauges(api, &out, fleet) == -1 ||
	    conn_counters(r, &out) == -1 ||
	    fleet_gauges(&out, json_object_get(fleet, "communes")) == -1) {
		buf_free(&out);
		json_decref(fleet);
		http_error(reply, 503, "out of memory");
		return;
	}
	json_decref(fleet);
	http_text(reply, 200, "text/plain; version=0.0.4; charset=utf-8",
	          buf_detach(&out));
}

/* Every answer, counted by route and status. */
static void
api_sent(void *ctx, struct http_req *r, int status)
{
	struct api *api = ctx;
	struct reqstate *st = http_user(r);

	metrics_request(api->metrics, st ? (int)st->route : -1, status);
}

static void
api_handle(void *ctx, struct http_req *r, struct http_reply *reply)
{
	struct api *api = ctx;
	struct reqstate *st = http_user(r);

	switch (routes[st->route].route) {
	case R_HEALTH:
		do_health(api, reply);
		break;
	case R_READY:
		do_ready(api, reply);
		break;
	case R_METRICS:
		do_metrics(api, r, reply);
		break;
	case R_ENROL:
		do_enrol(api, r, st, reply);
		break;
	case R_BATCHES:
		do_batch(api, r, st, reply);
		break;
	case R_FOREIGN:
		do_foreign(api, r, st, reply);
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

struct metrics *
api_metrics_new(void)
{
	char label[NROUTES][96];
	const char *labels[NROUTES];
	size_t i;

	for (i = 0; i < NROUTES; i++) {
		snprintf(label[i], sizeof(label[i]), "%s %s%s",
		         routes[i].method, routes[i].path,
		         routes[i].prefix && !strchr(routes[i].path, '*')
		             ? "{id}"
		             : "");
		labels[i] = label[i];
	}
	return metrics_new(labels, NROUTES);
}

const struct http_handlers api_handlers = {api_head, api_handle, api_sent};
