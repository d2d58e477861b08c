/*
 * store: opens the backend and hands each call one of its connections:
 * SQLite has one (it serialises writers anyway); PostgreSQL one per HTTP
 * thread (store_grow), so that a long report does not hold ingest up, and
 * several server processes share the load (docs/SCALING.md). A call
 * waits for a free connection. Before each call it
 * tells the backend whose rows the call may touch: the agent's commune,
 * the admin's (with its pool partners for reports and administration),
 * or all for credential lookups and housekeeping. PostgreSQL enforces
 * that scope with row-level security.
 */
#include "store.h"

#include "db.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_MAX_CONNS 64

struct store {
	const struct store_ops *ops;
	char uri[4096];
	int n;                     /* connections open */
	void *b[STORE_MAX_CONNS];  /* one backend state each */
	int busy[STORE_MAX_CONNS]; /* lent to a call */
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
	s->ops = &store_sql_ops;
	if (snprintf(s->uri, sizeof(s->uri), "%s", uri) >=
	    (int)sizeof(s->uri)) {
		snprintf(err, errlen, "database name too long");
		free(s);
		return NULL;
	}
	if ((s->b[0] = s->ops->open(uri, admin_uri, err, errlen)) == NULL) {
		free(s);
		return NULL;
	}
	s->n = 1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->freed, NULL);
	return s;
}

int
store_grow(struct store *s, int n, char *err, size_t errlen)
{
	void *b;

	if (!db_is_pgsql(s->uri))
		return 0;
	if (n > STORE_MAX_CONNS)
		n = STORE_MAX_CONNS;
	while (s->n < n) {
		if ((b = s->ops->open(s->uri, NULL, err, errlen)) == NULL)
			return -1;
		pthread_mutex_lock(&s->lock);
		s->b[s->n++] = b;
		pthread_mutex_unlock(&s->lock);
	}
	return 0;
}

/* Lends a free connection, waiting for one; give it back with put(). */
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

void *
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
		s->ops->close(s->b[i]);
	pthread_cond_destroy(&s->freed);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Runs call on a connection of its own (be_) in the scope of commune (""
 * or NULL: all), widened to its pool partners when partners is set. */
#define LOCKED(s, commune, partners, call)                                     \
	do {                                                                   \
		int rc_, i_ = get(s);                                          \
		void *be_ = (s)->b[i_];                                        \
		rc_ = (s)->ops->scope(be_, commune, partners);                 \
		if (rc_ == STORE_OK)                                           \
			rc_ = (s)->ops->call;                                  \
		put(s, i_);                                                    \
		return rc_;                                                    \
	} while (0)

int
store_commune_add(struct store *s, const char *code, const char *name)
{
	LOCKED(s, NULL, 0, commune_add(be_, code, name));
}

int
store_secret_add(struct store *s, const char *commune, const char *hash)
{
	LOCKED(s, NULL, 0, secret_add(be_, commune, hash));
}

int
store_admin_add(struct store *s, const char *hash, const char *commune)
{
	LOCKED(s, NULL, 0, admin_add(be_, hash, commune));
}

int
store_admin_auth(struct store *s, const char *hash, struct store_scope *out)
{
	LOCKED(s, NULL, 0, admin_auth(be_, hash, out));
}

int
store_secret_check(struct store *s, const char *hash)
{
	LOCKED(s, NULL, 0, secret_check(be_, hash));
}

int
store_enrol(struct store *s, const char *secret_hash, const char *agent_id,
            const char *hostname, const char *token_hash,
            char commune_out[STORE_COMMUNE_MAX])
{
	LOCKED(s, NULL, 0,
	       enrol(be_, secret_hash, agent_id, hostname, token_hash,
	             commune_out));
}

int
store_agent_auth(struct store *s, const char *token_hash,
                 struct store_agent *out)
{
	LOCKED(s, NULL, 0, agent_auth(be_, token_hash, out));
}

int
store_ingest(struct store *s, const struct store_agent *a,
             const struct store_batch *b, struct store_ingest_result *res)
{
	LOCKED(s, a->commune, 0, ingest(be_, a, b, res));
}

int
store_licences(struct store *s, const struct store_query *q, json_t **out)
{
	LOCKED(s, q->commune, 0, licences(be_, q, out));
}

int
store_machines(struct store *s, const struct store_query *q, json_t **out)
{
	LOCKED(s, q->commune, 0, machines(be_, q, out));
}

int
store_machine(struct store *s, const struct store_query *q,
              const char *id_or_host, json_t **out)
{
	LOCKED(s, q->commune, 0, machine(be_, q, id_or_host, out));
}

int
store_communes(struct store *s, const struct store_query *q, json_t **out)
{
	LOCKED(s, q->commune, 0, communes(be_, q, out));
}

int
store_admin(struct store *s, enum store_admin_op op,
            const struct store_scope *sc, json_t *in, json_t **out)
{
	LOCKED(s, sc->commune, 1, admin(be_, op, sc, in, out));
}

int
store_report(struct store *s, enum store_report kind,
             const struct store_query *q, json_t **out)
{
	LOCKED(s, q->viewer ? q->viewer : q->commune, 1,
	       report(be_, kind, q, out));
}

int
store_maintain(struct store *s, long long now, int retention_days)
{
	LOCKED(s, NULL, 0, maintain(be_, now, retention_days));
}

int
store_audit(struct store *s, long long actor, const char *commune,
            const char *action, const char *detail)
{
	LOCKED(s, NULL, 0, audit(be_, actor, commune, action, detail));
}
