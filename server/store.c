/*
 * store: opens the backend and serialises calls into its one connection
 * (one mutex: SQLite serialises writers anyway; with PostgreSQL, several
 * server processes share the load, docs/SCALING.md). Before each call it
 * tells the backend whose rows the call may touch: the agent's commune,
 * the admin's (with its pool partners for reports and administration),
 * or all for credential lookups and housekeeping. PostgreSQL enforces
 * that scope with row-level security.
 */
#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct store {
	const struct store_ops *ops;
	void *b;
	pthread_mutex_t lock;
};

struct store *
store_open(const char *uri, const char *admin_uri, char *err, size_t errlen)
{
	struct store *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->ops = &store_sql_ops;
	if ((s->b = s->ops->open(uri, admin_uri, err, errlen)) == NULL) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void *
store_backend(struct store *s)
{
	return s->b;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	s->ops->close(s->b);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Runs call under the lock in the scope of commune ("" or NULL: all),
 * widened to its pool partners when partners is set. */
#define LOCKED(s, commune, partners, call)                                     \
	do {                                                                   \
		int rc_;                                                       \
		pthread_mutex_lock(&(s)->lock);                                \
		rc_ = (s)->ops->scope((s)->b, commune, partners);              \
		if (rc_ == STORE_OK)                                           \
			rc_ = (s)->ops->call;                                  \
		pthread_mutex_unlock(&(s)->lock);                              \
		return rc_;                                                    \
	} while (0)

int
store_commune_add(struct store *s, const char *code, const char *name)
{
	LOCKED(s, NULL, 0, commune_add(s->b, code, name));
}

int
store_secret_add(struct store *s, const char *commune, const char *hash)
{
	LOCKED(s, NULL, 0, secret_add(s->b, commune, hash));
}

int
store_admin_add(struct store *s, const char *hash, const char *commune)
{
	LOCKED(s, NULL, 0, admin_add(s->b, hash, commune));
}

int
store_admin_auth(struct store *s, const char *hash, struct store_scope *out)
{
	LOCKED(s, NULL, 0, admin_auth(s->b, hash, out));
}

int
store_secret_check(struct store *s, const char *hash)
{
	LOCKED(s, NULL, 0, secret_check(s->b, hash));
}

int
store_enrol(struct store *s, const char *secret_hash, const char *agent_id,
            const char *hostname, const char *token_hash,
            char commune_out[STORE_COMMUNE_MAX])
{
	LOCKED(s, NULL, 0,
	       enrol(s->b, secret_hash, agent_id, hostname, token_hash,
	             commune_out));
}

int
store_agent_auth(struct store *s, const char *token_hash,
                 struct store_agent *out)
{
	LOCKED(s, NULL, 0, agent_auth(s->b, token_hash, out));
}

int
store_ingest(struct store *s, const struct store_agent *a,
             const struct store_batch *b, struct store_ingest_result *res)
{
	LOCKED(s, a->commune, 0, ingest(s->b, a, b, res));
}

int
store_licences(struct store *s, const struct store_query *q, json_t **out)
{
	LOCKED(s, q->commune, 0, licences(s->b, q, out));
}

int
store_machines(struct store *s, const struct store_query *q, json_t **out)
{
	LOCKED(s, q->commune, 0, machines(s->b, q, out));
}

int
store_machine(struct store *s, const struct store_query *q,
              const char *id_or_host, json_t **out)
{
	LOCKED(s, q->commune, 0, machine(s->b, q, id_or_host, out));
}

int
store_communes(struct store *s, const struct store_query *q, json_t **out)
{
	LOCKED(s, q->commune, 0, communes(s->b, q, out));
}

int
store_admin(struct store *s, enum store_admin_op op,
            const struct store_scope *sc, json_t *in, json_t **out)
{
	LOCKED(s, sc->commune, 1, admin(s->b, op, sc, in, out));
}

int
store_report(struct store *s, enum store_report kind,
             const struct store_query *q, json_t **out)
{
	LOCKED(s, q->viewer ? q->viewer : q->commune, 1,
	       report(s->b, kind, q, out));
}

int
store_maintain(struct store *s, long long now, int retention_days)
{
	LOCKED(s, NULL, 0, maintain(s->b, now, retention_days));
}

int
store_audit(struct store *s, long long actor, const char *commune,
            const char *action, const char *detail)
{
	LOCKED(s, NULL, 0, audit(s->b, actor, commune, action, detail));
}
