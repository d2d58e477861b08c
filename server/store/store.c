/*
 * store: opens the database and lends each call one of its connections
 * (take(), give()): SQLite has one (it serialises writers anyway);
 * PostgreSQL one per HTTP thread (store_grow), so that a long report does
 * not hold ingest up, and several server processes share the load
 * (docs/SCALING.md). A call waits for a free connection. Taking one sets
 * whose rows the call may touch: the agent's commune, the admin's (with
 * its pool partners for reports and administration), or all for
 * credential lookups and housekeeping. PostgreSQL enforces that scope
 * with row-level security. Admin operations are dispatched through one
 * table (admin_ops[]) that also says who may call each.
 */
#include "store.h"

#include "cal.h"
#include "db.h"
#include "entitle.h"
#include "norm.h"
#include "report.h"
#include "stat.h"
#include "store_sql.h"
#include "upkeep.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STORE_MAX_CONNS 64

struct store {
	char uri[4096];
	int n;                         /* connections open */
	struct sq *b[STORE_MAX_CONNS]; /* one connection's state each */
	int busy[STORE_MAX_CONNS];     /* lent to a call */
	pthread_mutex_t lock;
	pthread_cond_t freed;
};

struct store *
store_open(const char *uri, const char *admin_uri, char *err, size_t errlen)
{
	struct store *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (snprintf(s->uri, sizeof(s->uri), "%s", uri) >=
	    (int)sizeof(s->uri)) {
		snprintf(err, errlen, "database name too long");
		free(s);
		return NULL;
	}
	if ((s->b[0] = sq_open(uri, admin_uri, err, errlen)) == NULL) {
		free(s);
		return NULL;
	}
	s->n = 1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->freed, NULL);
	return s;
}

int
store_lock(const char *uri, char *err, size_t errlen)
{
	return db_lock_serving(uri, err, errlen) == -1 ? -1 : 0;
}

int
store_backup(const char *uri, const char *file, char *err, size_t errlen)
{
	return db_backup(uri, file, err, errlen);
}

int
store_restore(const char *file, const char *uri, char *err, size_t errlen)
{
	if (db_lock_serving(uri, err, errlen) == -1)
		return -1;
	return db_restore(file, uri, "SELECT count(*) FROM agents", err,
	                  errlen);
}

int
store_grow(struct store *s, int n, char *err, size_t errlen)
{
	struct sq *b;

	/* One connection serves a SQLite file. */
	if (!db_concurrent(s->uri))
		return 0;
	if (n > STORE_MAX_CONNS)
		n = STORE_MAX_CONNS;
	while (s->n < n) {
		if ((b = sq_open(s->uri, NULL, err, errlen)) == NULL)
			return -1;
		pthread_mutex_lock(&s->lock);
		s->b[s->n++] = b;
		pthread_mutex_unlock(&s->lock);
	}
	return 0;
}

/* Lends a free connection, waiting for one: its slot. */
static int
get(struct store *s)
{
	int i;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		for (i = 0; i < s->n; i++)
			if (!s->busy[i]) {
				s->busy[i] = 1;
				pthread_mutex_unlock(&s->lock);
				return i;
			}
		pthread_cond_wait(&s->freed, &s->lock);
	}
}

static void
put(struct store *s, int i)
{
	pthread_mutex_lock(&s->lock);
	s->busy[i] = 0;
	pthread_cond_signal(&s->freed);
	pthread_mutex_unlock(&s->lock);
}

struct sq *
store_backend(struct store *s)
{
	return s->b[0];
}

void
store_close(struct store *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		sq_close(s->b[i]);
	pthread_cond_destroy(&s->freed);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* A connection lent to one call. */
struct lease {
	int slot;
	struct sq *q;
};

/* Takes a connection for one call and sets its scope: commune's rows (""
 * or NULL: all), widened to its pool partners when partners is set. The
 * scope's result (STORE_OK or STORE_ERR); give the lease back with
 * give() whatever it is. */
static int
take(struct store *s, const char *commune, int partners, struct lease *l)
{
	l->slot = get(s);
	l->q = s->b[l->slot];
	return sq_scope(l->q, commune, partners);
}

/* Gives the lease back; returns rc, the call's result. */
static int
give(struct store *s, struct lease *l, int rc)
{
	put(s, l->slot);
	return rc;
}

int
store_commune_add(struct store *s, const char *code, const char *name)
{
	struct lease l;
	int rc = take(s, NULL, 0, &l);

	if (rc == STORE_OK)
		rc = sq_commune_add(l.q, code, name);
	return give(s, &l, rc);
}

int
store_secret_add(struct store *s, const char *commune, const char *hash)
{
	struct lease l;
	int rc = take(s, NULL, 0, &l);

	if (rc == STORE_OK)
		rc = sq_secret_add(l.q, commune, hash);
	return give(s, &l, rc);
}

int
store_admin_add(struct store *s, const char *hash, const char *commune)
{
	struct lease l;
	int rc = take(s, NULL, 0, &l);

	if (rc == STORE_OK)
		rc = sq_admin_add(l.q, hash, commune);
	return give(s, &l, rc);
}

int
store_admin_auth(struct store *s, const char *hash, struct store_scope *out)
{
	struct lease l;
	int rc = take(s, NULL, 0, &l);

	if (rc == STORE_OK)
		rc = sq_admin_auth(l.q, hash, out);
	return give(s, &l, rc);
}

int
store_secret_check(struct store *s, const char *hash)
{
	struct lease l;
	int rc = take(s, NULL, 0, &l);

	if (rc == STORE_OK)
		rc = sq_secret_check(l.q, hash);
	return give(s, &l, rc);
}

int
store_enrol(struct store *s, const char *secret_hash, const char *agent_id,
            const char *hostname, const char *token_hash, int key_proven,
            const char *proof_token_hash, char commune_out[STORE_COMMUNE_MAX])
{
	struct lease l;
	int rc = take(s, NULL, 0, &l);

	if (rc == STORE_OK)
		rc = sq_enrol(l.q, secret_hash, agent_id, hostname, token_hash,
		              key_proven, proof_token_hash, commune_out);
	return give(s, &l, rc);
}

int
store_agent_auth(struct store *s, const char *token_hash,
                 struct store_agent *out)
{
	struct lease l;
	int rc = take(s, NULL, 0, &l);

	if (rc == STORE_OK)
		rc = sq_agent_auth(l.q, token_hash, out);
	return give(s, &l, rc);
}

int
store_foreign_auth(struct store *s, const char *login, const char *hash,
                   char commune[STORE_COMMUNE_MAX])
{
	struct lease l;
	int rc = take(s, NULL, 0, &l);

	if (rc == STORE_OK)
		rc = sq_foreign_auth(l.q, login, hash, commune);
	return give(s, &l, rc);
}

int
store_inventory_of(struct store *s, const char *agent_id, json_t **content)
{
	struct lease l;
	int rc = take(s, NULL, 0, &l);

	*content = NULL;
	if (rc == STORE_OK)
		rc = sq_inventory_of(l.q, agent_id, content);
	return give(s, &l, rc);
}

int
store_foreign_machine(struct store *s, const char *commune,
                      const struct store_foreign *f, struct store_agent *out,
                      long long *next_seq, char merged[STORE_ID_MAX])
{
	struct lease l;
	int rc = take(s, NULL, 0, &l);

	if (rc == STORE_OK)
		rc = sq_foreign_machine(l.q, commune, f, out, next_seq, merged);
	return give(s, &l, rc);
}

int
store_ingest(struct store *s, const struct store_agent *a,
             const struct store_batch *b, struct store_ingest_result *res)
{
	char scope[sizeof(a->commune) + sizeof(a->former) + 1];
	struct lease l;
	int rc;

	/* its commune, and those it was moved from (their history) */
	snprintf(scope, sizeof(scope), "%s%s%s", a->commune,
	         a->former[0] ? "," : "", a->former);
	if ((rc = take(s, scope, 0, &l)) == STORE_OK)
		rc = sq_ingest(l.q, a, b, res);
	return give(s, &l, rc);
}

/* Computes the daily figures of q's window left to compute (stat.h), in
 * the scope of every commune, before a report reads them: a quarter of a
 * second's worth at a time, the connection given back in between (on
 * SQLite, the one connection: ingest and other requests get their turn);
 * a day that ingest marks again meanwhile (today) does not hold it up
 * for ever. */
static int
settle(struct store *s, const struct store_query *q)
{
	struct lease l;
	long done = 0;
	long long turns = q->last - q->first + 1; /* a day at least a turn */
	int rc;

	do {
		if ((rc = take(s, NULL, 0, &l)) == STORE_OK)
			rc = stat_settle(l.q, q->first, q->last, 250, &done);
		give(s, &l, rc);
	} while (rc == STORE_OK && done > 0 && --turns > 0);
	return rc;
}

int
store_licences(struct store *s, const struct store_query *q, json_t **out)
{
	struct lease l;
	int rc;

	if (settle(s, q) != STORE_OK)
		return STORE_ERR;
	rc = take(s, q->commune, 0, &l);
	if (rc == STORE_OK)
		rc = report_licences(l.q, q, out);
	return give(s, &l, rc);
}

int
store_machines(struct store *s, const struct store_query *q, json_t **out)
{
	struct lease l;
	int rc = take(s, q->commune, 0, &l);

	if (rc == STORE_OK)
		rc = report_machines(l.q, q, out);
	return give(s, &l, rc);
}

int
store_machine(struct store *s, const struct store_query *q,
              const char *id_or_host, json_t **out)
{
	struct lease l;
	int rc = take(s, q->commune, 0, &l);

	if (rc == STORE_OK)
		rc = report_machine(l.q, q, id_or_host, out);
	return give(s, &l, rc);
}

int
store_communes(struct store *s, const struct store_query *q, json_t **out)
{
	struct lease l;
	int rc = take(s, q->commune, 0, &l);

	if (rc == STORE_OK)
		rc = report_communes(l.q, q, out);
	return give(s, &l, rc);
}

/* The admin operations: for each, the domain that carries it out, whether
 * it changes anything, and who may call it. A read-only token may call
 * only what does not write; the catalogue, the pools and the audit log's
 * retention belong to the intercommunal admin; the domains then check
 * the finer scope (which commune's objects). Indexed by the operation. */
static const struct {
	enum store_admin_op op;
	int (*run)(struct sq *q, enum store_admin_op op,
	           const struct store_scope *sc, json_t *in, json_t **out);
	int writes;
	enum store_caller caller;
} admin_ops[] = {
    {ADM_CATALOGUE_EXPORT, norm_admin, 0, CALLER_ANY},
    {ADM_CATALOGUE_IMPORT, norm_admin, 1, CALLER_INTER},
    {ADM_RULE_ADD, norm_admin, 1, CALLER_INTER},
    {ADM_RULE_DELETE, norm_admin, 1, CALLER_INTER},
    {ADM_PRODUCT_ADD, norm_admin, 1, CALLER_INTER},
    {ADM_UNMATCHED, norm_admin, 0, CALLER_ANY},
    {ADM_ENT_LIST, entitle_admin, 0, CALLER_ANY},
    {ADM_ENT_ADD, entitle_admin, 1, CALLER_WRITER},
    {ADM_ENT_UPDATE, entitle_admin, 1, CALLER_WRITER},
    {ADM_ENT_DELETE, entitle_admin, 1, CALLER_WRITER},
    {ADM_POOL_LIST, entitle_admin, 0, CALLER_ANY},
    {ADM_POOL_SET, entitle_admin, 1, CALLER_INTER},
    {ADM_SECRET_CREATE, acc_admin, 1, CALLER_WRITER},
    {ADM_SECRET_LIST, acc_admin, 0, CALLER_ANY},
    {ADM_SECRET_REVOKE, acc_admin, 1, CALLER_WRITER},
    {ADM_TOKEN_CREATE, acc_admin, 1, CALLER_WRITER},
    {ADM_TOKEN_LIST, acc_admin, 0, CALLER_ANY},
    {ADM_TOKEN_REVOKE, acc_admin, 1, CALLER_WRITER},
    {ADM_AGENT_REVOKE, acc_admin, 1, CALLER_WRITER},
    {ADM_AGENT_RETIRE, acc_admin, 1, CALLER_WRITER},
    {ADM_AGENT_MOVE, acc_admin, 1, CALLER_INTER},
    {ADM_AUDIT_LIST, acc_admin, 0, CALLER_ANY},
    {ADM_GAPS_LIST, acc_admin, 0, CALLER_ANY},
    {ADM_AUDIT_POLICY, acc_admin, 0, CALLER_ANY},
    {ADM_AUDIT_RETENTION, acc_admin, 1, CALLER_INTER},
    {ADM_AUDIT_PURGE, acc_admin, 1, CALLER_INTER},
    {ADM_AUDIT_RETAIN, acc_admin, 1, CALLER_SERVER},
    {ADM_FOREIGN_CREATE, acc_admin, 1, CALLER_WRITER},
    {ADM_FOREIGN_LIST, acc_admin, 0, CALLER_ANY},
    {ADM_FOREIGN_REVOKE, acc_admin, 1, CALLER_WRITER},
};
#define NADMIN_OPS (sizeof(admin_ops) / sizeof(admin_ops[0]))

enum store_caller
store_admin_caller(enum store_admin_op op)
{
	if ((size_t)op >= NADMIN_OPS || admin_ops[op].op != op)
		return CALLER_SERVER; /* unknown: no token may call it */
	return admin_ops[op].caller;
}

/* May sc call op? The server itself is the intercommunal scope with
 * token id 0. */
static int
admin_allowed(enum store_admin_op op, const struct store_scope *sc)
{
	int inter = sc->commune[0] == '\0';

	switch (store_admin_caller(op)) {
	case CALLER_ANY:
		return 1;
	case CALLER_WRITER:
		return !sc->read_only;
	case CALLER_INTER:
		return !sc->read_only && inter;
	case CALLER_SERVER:
		return inter && sc->token_id == 0;
	}
	return 0;
}

int
store_admin(struct store *s, enum store_admin_op op,
            const struct store_scope *sc, json_t *in, json_t **out)
{
	struct lease l;
	int rc;

	*out = NULL;
	if (!admin_allowed(op, sc))
		return STORE_FORBIDDEN;
	if ((rc = take(s, sc->commune, 1, &l)) == STORE_OK)
		rc = admin_ops[op].run(l.q, op, sc, in, out);
	/* The domains say DENIED for an object outside the scope. */
	return give(s, &l, rc == STORE_DENIED ? STORE_FORBIDDEN : rc);
}

int
store_settle(struct store *s, long long budget_ms, long *done)
{
	struct lease l;
	int rc = take(s, NULL, 0, &l);

	/* not today's: ingest marks it all day long, and a report that asks
	 * for it computes it */
	if (rc == STORE_OK)
		rc = stat_settle(l.q, 0, cal_day(time(NULL)) - 1, budget_ms,
		                 done);
	return give(s, &l, rc);
}

int
store_report(struct store *s, enum store_report kind,
             const struct store_query *q, json_t **out)
{
	struct lease l;
	int rc;

	if (settle(s, q) != STORE_OK)
		return STORE_ERR;
	rc = take(s, q->viewer ? q->viewer : q->commune, 1, &l);

	if (rc == STORE_OK)
		rc = report_run(l.q, kind, q, out);
	return give(s, &l, rc);
}

int
store_maintain(struct store *s, long long now, int retention_days)
{
	struct store_scope server = {"", 0, 0};
	json_t *out = NULL;
	struct lease l;
	int rc = take(s, NULL, 0, &l), audit_rc;

	if (rc == STORE_OK)
		rc = upkeep_run(l.q, now, retention_days);
	give(s, &l, rc);
	/* The audit log's retention, as the intercommunal admin set it. */
	audit_rc = store_admin(s, ADM_AUDIT_RETAIN, &server, NULL, &out);
	json_decref(out);
	return audit_rc == STORE_OK ? rc : STORE_ERR;
}

int
store_fleet(struct store *s, long long now, json_t **out)
{
	struct lease l;
	int rc = take(s, NULL, 0, &l);

	if (rc == STORE_OK)
		rc = report_fleet(l.q, now, out);
	return give(s, &l, rc);
}

int
store_health(struct store *s, char *why, size_t n)
{
	struct lease l;
	int rc = take(s, NULL, 0, &l);

	if (rc == STORE_OK)
		rc = sq_health(l.q, why, n);
	return give(s, &l, rc);
}

int
store_audit(struct store *s, long long actor, const char *commune,
            const char *action, const char *detail)
{
	struct lease l;
	int rc = take(s, NULL, 0, &l);

	if (rc == STORE_OK)
		rc = acc_audit(l.q, actor, commune, action, detail);
	return give(s, &l, rc);
}
