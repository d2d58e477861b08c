/*
 * store: picks the backend and serialises calls into it. The SQLite backend
 * has one connection; one mutex keeps it to one thread at a time (SQLite
 * serialises writers anyway).
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
store_open(const char *uri, char *err, size_t errlen)
{
	struct store *s;

	if (strncmp(uri, "postgresql://", 13) == 0 ||
	    strncmp(uri, "postgres://", 11) == 0) {
		snprintf(err, errlen,
		         "%s: the PostgreSQL backend is not built yet; use a "
		         "SQLite file path",
		         uri);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->ops = &store_sqlite_ops;
	if ((s->b = s->ops->open(uri, err, errlen)) == NULL) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	return s;
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

#define LOCKED(s, call)                                                        \
	do {                                                                   \
		int rc_;                                                       \
		pthread_mutex_lock(&(s)->lock);                                \
		rc_ = (s)->ops->call;                                          \
		pthread_mutex_unlock(&(s)->lock);                              \
		return rc_;                                                    \
	} while (0)

int
store_commune_add(struct store *s, const char *code, const char *name)
{
	LOCKED(s, commune_add(s->b, code, name));
}

int
store_secret_add(struct store *s, const char *commune, const char *hash)
{
	LOCKED(s, secret_add(s->b, commune, hash));
}

int
store_admin_add(struct store *s, const char *hash, const char *commune)
{
	LOCKED(s, admin_add(s->b, hash, commune));
}

int
store_admin_auth(struct store *s, const char *hash, struct store_scope *out)
{
	LOCKED(s, admin_auth(s->b, hash, out));
}

int
store_secret_check(struct store *s, const char *hash)
{
	LOCKED(s, secret_check(s->b, hash));
}

int
store_enrol(struct store *s, const char *secret_hash, const char *agent_id,
            const char *hostname, const char *token_hash,
            char commune_out[STORE_COMMUNE_MAX])
{
	LOCKED(s, enrol(s->b, secret_hash, agent_id, hostname, token_hash,
	                commune_out));
}

int
store_agent_auth(struct store *s, const char *token_hash,
                 struct store_agent *out)
{
	LOCKED(s, agent_auth(s->b, token_hash, out));
}

int
store_ingest(struct store *s, const struct store_agent *a,
             const struct store_batch *b, struct store_ingest_result *res)
{
	LOCKED(s, ingest(s->b, a, b, res));
}

int
store_licences(struct store *s, const struct store_query *q, json_t **out)
{
	LOCKED(s, licences(s->b, q, out));
}

int
store_machines(struct store *s, const struct store_query *q, json_t **out)
{
	LOCKED(s, machines(s->b, q, out));
}

int
store_machine(struct store *s, const struct store_query *q,
              const char *id_or_host, json_t **out)
{
	LOCKED(s, machine(s->b, q, id_or_host, out));
}

int
store_communes(struct store *s, const struct store_query *q, json_t **out)
{
	LOCKED(s, communes(s->b, q, out));
}

int
store_admin(struct store *s, enum store_admin_op op,
            const struct store_scope *sc, json_t *in, json_t **out)
{
	LOCKED(s, admin(s->b, op, sc, in, out));
}

int
store_report(struct store *s, enum store_report kind,
             const struct store_query *q, json_t **out)
{
	LOCKED(s, report(s->b, kind, q, out));
}

int
store_maintain(struct store *s, long long now, int retention_days)
{
	LOCKED(s, maintain(s->b, now, retention_days));
}

int
store_audit(struct store *s, long long actor, const char *commune,
            const char *action, const char *detail)
{
	LOCKED(s, audit(s->b, actor, commune, action, detail));
}
