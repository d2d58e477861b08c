/*
 * store_sql: what the SQL store's files share (store_sql.c: connection,
 * credentials; store_schema.c: migrations; store_ingest.c; the licence
 * domain: norm.c, catalogue and normalisation maps; entitle.c,
 * entitlements and pools; report.c and report_*.c, the reports;
 * upkeep.c; store_access.c). One code path for SQLite and PostgreSQL,
 * through db.h. Private to the store.
 */
#ifndef MUTU_STORE_SQL_H
#define MUTU_STORE_SQL_H

#include "attr.h"
#include "db.h"

#include "catalogue.h"
#include "store.h"

#define SQ_CACHE_SLOTS 24

/* A statement kept prepared for the hot paths (sq_get). */
struct sq_cached {
	struct db_stmt *st; /* keyed by its SQL text */
	int in_use;
};

/* A usage summary's key and sums (usage_daily: when is the day;
 * usage_monthly: the first day of the month). Strings are borrowed from
 * the batch being ingested. */
struct sq_sum {
	long long when, seconds, sessions, last_end;
	const char *commune; /* the machine's on that day (moves) */
	const char *product, *exe, *user;
};

/* A move of the ingesting agent's machine: through local day day, it was
 * in commune. */
struct sq_move {
	long long day;
	char commune[STORE_COMMUNE_MAX];
};

/* An agent's usage summaries of one day in an ingest transaction: n
 * counts them, at most (new keys not checked) until checking is set,
 * exactly from then on (each new key checked). */
struct sq_daykeys {
	long long day, n;
	int checking;
};

/* The state of the current ingest transaction (store_ingest.c). */
struct sq_ingest {
	/* The last agent day recorded in the current ingest transaction. */
	char day_agent[STORE_ID_MAX];
	long long day;
	/* The current ingest transaction's monthly sums, one per usage
	 * record, added up and written once per month and key at its end
	 * (owned by the transaction; NULL outside it). */
	struct sq_sum *months;
	size_t nmonths;
	/* The current ingest transaction's usage summaries per day of the
	 * agent, against batch.max_day_keys (store_ingest.c; owned by the
	 * transaction, NULL outside it). */
	struct sq_daykeys *daykeys;
	size_t ndaykeys;
	/* The agent's moves between communes, oldest first (owned by the
	 * transaction, NULL outside it or when it has none). */
	struct sq_move *moves;
	size_t nmoves;
	/* The distinct days the transaction added intervals to, marked
	 * for their figures (stat_mark) at its end in ascending order: two
	 * transactions never wait on each other's marks in opposite orders
	 * (owned by the transaction, NULL outside it). */
	long long *days;
	size_t ndays;
};

struct norm;

struct sq {
	struct db *db;
	struct sq_cached cache[SQ_CACHE_SLOTS];
	char scope[1024];    /* PostgreSQL: mutu.scope as last set */
	unsigned scope_gen;  /* on this connection (db_generation) */
	struct norm *norm;   /* the rules and the keys known mapped (norm.h) */
	struct sq_ingest tx; /* ingest's, within its transaction */
};

/* The store's entry points (store.c calls them on a connection of its
 * own, in the call's scope; see store.h for what each does). */
struct sq *sq_open(const char *uri, const char *admin_uri, char *err,
                   size_t errlen);
void sq_close(struct sq *q);
int sq_commune_add(struct sq *q, const char *code, const char *name);
int sq_secret_add(struct sq *q, const char *commune, const char *hash);
int sq_admin_add(struct sq *q, const char *hash, const char *commune);
int sq_admin_auth(struct sq *q, const char *hash, struct store_scope *out);
int sq_secret_check(struct sq *q, const char *hash);
int sq_enrol(struct sq *q, const char *secret_hash, const char *agent_id,
             const char *hostname, const char *token_hash, int key_proven,
             const char *proof_token_hash, char *commune_out);
int sq_agent_auth(struct sq *q, const char *hash, struct store_agent *out);
int sq_health(struct sq *q, char *why, size_t n);
/* The first connection of a store, for the store's own files
 * (store_copy.c). */
struct sq *store_backend(struct store *s);

/* Transactions, one implementation (store_tx.c). sq_tx() runs fn(q, arg)
 * in one write transaction: it commits when fn returns STORE_OK, else
 * rolls back; when another writer got in the way (DB_RETRY) it runs it
 * all again, tries times in all. fn's code, or STORE_ERR when the
 * transaction cannot begin or commit. For a transaction whose body is
 * plain code: sq_begin() (BEGIN IMMEDIATE: 0, or -1 logged), then
 * sq_end_tx() with the body's outcome: COMMIT on STORE_OK, else ROLLBACK
 * (a failed COMMIT rolls back too); the outcome, or STORE_ERR when the
 * commit failed. A rollback forgets the normalisation keys known mapped
 * (norm_forget()). */
int sq_tx(struct sq *q, int tries, int (*fn)(struct sq *q, void *arg),
          void *arg);
int sq_begin(struct sq *q);
int sq_end_tx(struct sq *q, int rc);

/* Schema (store_schema.c). Migrates db to the newest version in one
 * transaction; role (PostgreSQL) is the server's role to grant rights on
 * rows to. 0, or -1 with the reason in err. */
int sq_migrate(struct db *db, const char *role, char *err, size_t errlen);
/* 0 if db's schema is the newest, else -1 with the reason in err. */
int sq_schema_check(struct db *db, char *err, size_t errlen);

/* Sets the rows the connection may touch (PostgreSQL row-level
 * security; a no-op on SQLite): commune's (NULL or "": all; a
 * comma-separated list: those), with its pool partners' when partners is
 * set. STORE_OK or STORE_ERR. */
int sq_scope(struct sq *q, const char *commune, int partners);
/* Runs SQL without results; logs and returns -1 on failure. */
int sq_exec(struct sq *q, const char *sql);
/* Prepares a statement; NULL (logged) on failure. */
struct db_stmt *sq_prep(struct sq *q, const char *sql);
/* A statement for sql from the connection's cache (keyed by the text):
 * prepared once, reused by later calls. Give it back with sq_put(), never
 * finalize it. When the cached statement is in use (nested calls) or the cache
 * is full, a fresh one is prepared and sq_put() finalizes it. NULL (logged) on
 * failure. */
struct db_stmt *sq_get(struct sq *q, const char *sql);
/* Resets and unbinds a statement from sq_get(); NULL is a no-op. */
void sq_put(struct sq *q, struct db_stmt *st);
/* sq_step_done() for a statement from sq_get(): steps it and puts it
 * back. */
int sq_step_put(struct sq *q, struct db_stmt *st);
/* Runs a statement without parameters or results through the cache
 * (BEGIN, COMMIT): 0, or -1 (logged). */
int sq_run(struct sq *q, const char *sql);
/* Binds a string, or NULL when v is NULL. */
void sq_bind_opt(struct db_stmt *st, int i, const char *v);
/* Steps a write to completion and finalizes it: STORE_OK, STORE_CONFLICT
 * on a constraint, STORE_ERR. st may be NULL (prepare failed). */
int sq_step_done(struct sq *q, struct db_stmt *st);
/* Steps an INSERT ... RETURNING id to completion and finalizes it:
 * STORE_OK with the new row's id, STORE_CONFLICT, STORE_ERR. */
int sq_insert_id(struct sq *q, struct db_stmt *st, long long *id);
/* The rows of a prepared query as an array of objects keyed by column
 * name, integers, reals, text and nulls keeping their type: STORE_OK
 * with the array in *out (the caller's), or STORE_ERR (logged) with *out
 * NULL when the query fails, even after some rows. The caller finalizes
 * st. */
int sq_rows(struct sq *q, struct db_stmt *st, json_t **out) MUTU_MUST_CHECK;
/* Sets *out to {"error": message} and returns STORE_INVALID. */
int sq_invalid(json_t **out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Column col as an ISO 8601 UTC string, or JSON null. */
json_t *sq_iso(struct db_stmt *st, int col);
/* How a loop over rows ended: STORE_OK when db_step() said DB_DONE, else
 * STORE_ERR (logged with the connection's message). */
int sq_done(struct sq *q, int step) MUTU_MUST_CHECK;
/* The string member key of JSON object o, or NULL. */
const char *sq_jstr(json_t *o, const char *key);

/* Ingest (store_ingest.c): store_ingest() on a connection. */
int sq_ingest(struct sq *q, const struct store_agent *a,
              const struct store_batch *batch, struct store_ingest_result *res);

/* Foreign agents (foreign.c): store_foreign_auth() and
 * store_foreign_machine() on a connection; sq_ident_note() records what
 * identifies the machine agent_id from its inventory's content and, for
 * a mutu-agent machine, retires into it the foreign machines that are
 * the same PC (ident.h). Within the ingest transaction. */
int sq_foreign_auth(struct sq *q, const char *login, const char *hash,
                    char commune[STORE_COMMUNE_MAX]);
int sq_foreign_machine(struct sq *q, const char *commune,
                       const struct store_foreign *f, struct store_agent *out,
                       long long *next_seq, char merged[STORE_ID_MAX]);
int sq_ident_note(struct sq *q, const char *agent_id, json_t *content);
int sq_inventory_of(struct sq *q, const char *agent_id, json_t **content);

/* Access control (store_access.c): the admin operations on secrets,
 * tokens, agents and the audit log (store.c has checked who may call
 * op), and store_audit() on a connection. */
int acc_admin(struct sq *q, enum store_admin_op op,
              const struct store_scope *sc, json_t *in, json_t **out);
int acc_audit(struct sq *q, long long actor, const char *commune,
              const char *action, const char *detail);

#endif
