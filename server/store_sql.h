/*
 * store_sql: what the SQL store's files share (store_sql.c: connection,
 * credentials, licence counts; store_schema.c: migrations;
 * store_ingest.c; store_licence.c: catalogue, entitlements and licence
 * reports; store_access.c). One code path for SQLite and PostgreSQL,
 * through db.h. Private to the store.
 */
#ifndef MUTU_STORE_SQL_H
#define MUTU_STORE_SQL_H

#include "db.h"

#include "catalogue.h"
#include "store.h"

#define SQ_CACHE_SLOTS 24
#define SQ_SEEN_SLOTS  4096

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
	const char *product, *exe, *user;
};

struct sq {
	struct db *db;
	struct catalogue *cat; /* the rules in force, loaded from the db */
	long long cat_version; /* PostgreSQL: mutu_catalogue when loaded */
	struct sq_cached cache[SQ_CACHE_SLOTS];
	char scope[1024];   /* PostgreSQL: mutu.scope as last set */
	unsigned scope_gen; /* on this connection (db_generation) */
	/* Hashes of normalisation keys known to be mapped (0: empty slot);
	 * cleared when the rules change or a transaction rolls back. */
	unsigned long long seen[SQ_SEEN_SLOTS];
	/* The last agent day recorded in the current ingest transaction. */
	char day_agent[STORE_ID_MAX];
	long long day;
	/* The current ingest transaction's monthly sums, one per usage
	 * record, added up and written once per month and key at its end
	 * (owned by the transaction; NULL outside it). */
	struct sq_sum *months;
	size_t nmonths;
};

/* Schema (store_schema.c). Migrates db to the newest version in one
 * transaction; role (PostgreSQL) is the server's role to grant rights on
 * rows to. 0, or -1 with the reason in err. */
int sq_migrate(struct db *db, const char *role, char *err, size_t errlen);
/* 0 if db's schema is the newest, else -1 with the reason in err. */
int sq_schema_check(struct db *db, char *err, size_t errlen);

/* Sets the rows the connection may touch (PostgreSQL row-level
 * security; a no-op on SQLite): commune's (NULL or "": all), with its
 * pool partners' when partners is set. STORE_OK or STORE_ERR. */
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
 * name, integers, reals, text and nulls keeping their type. The caller
 * finalizes st. */
json_t *sq_rows(struct db_stmt *st);
/* Sets *out to {"error": message} and returns STORE_INVALID. */
int sq_invalid(json_t **out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Column col as an ISO 8601 UTC string, or JSON null. */
json_t *sq_iso(struct db_stmt *st, int col);

/* Usage rollups. The day number (days since 1970, UTC) of the first day
 * of day's month: the key of usage_monthly. */
long long sq_month(long long day);
/* The usage rows of a report's window, as SQL text: its whole months
 * from usage_monthly, the days at either end from usage_daily (two day
 * ranges, each served by an index). ROWS(table, time, range) selects from
 * one table, time being its day or month column and range the condition
 * on it; first and last are the SQL of the window's days, m0 and m1 the
 * parameters sq_bind_window() binds. */
#define SQ_WINDOW(ROWS, first, last, m0, m1)                                   \
	ROWS("usage_monthly", "month", "month >= " m0 " AND month < " m1)      \
	" UNION ALL " ROWS(                                                    \
	    "usage_daily", "day",                                              \
	    "day >= " first                                                    \
	    " AND day < " m0) " UNION ALL " ROWS("usage_daily", "day",         \
	                                         "day >= " m1                  \
	                                         " AND day <= " last)
/* Binds parameters i and i + 1 of st to the bounds of qu's whole months
 * (m0 and m1 of SQ_WINDOW; no whole month: both the day after the
 * window). */
void sq_bind_window(struct db_stmt *st, int i, const struct store_query *qu);

/* Ingest (store_ingest.c): the backend's store_ops.ingest. */
int sq_ingest(void *b, const struct store_agent *a,
              const struct store_batch *batch, struct store_ingest_result *res);

/* Catalogue (store_licence.c): loads the rules into q->cat and, when
 * renorm is set, recomputes every normalisation map. */
int lic_reload(struct sq *q, int renorm);
/* Makes sure the default catalogue is in the database (at open). */
int lic_install_defaults(struct sq *q);
/* Forgets the normalisation keys known to be mapped (after a rollback). */
void lic_forget(struct sq *q);
/* PostgreSQL: reloads the rules if another connection or server
 * instance changed them since they were loaded (ingest). 0, or -1. */
int lic_fresh(struct sq *q);
/* Normalises a software entry or a usage key not yet mapped (ingest). */
int lic_map_software(struct sq *q, const char *name, const char *publisher);
int lic_map_usage(struct sq *q, const char *product, const char *exe);

/* Backend entry points of the licence domain. */
int lic_admin(void *b, enum store_admin_op op, const struct store_scope *sc,
              json_t *in, json_t **out);
int lic_report(void *b, enum store_report kind, const struct store_query *q,
               json_t **out);
int lic_maintain(void *b, long long now, int retention_days);

/* Access control (store_access.c). */
int acc_admin(void *b, enum store_admin_op op, const struct store_scope *sc,
              json_t *in, json_t **out);
int acc_audit(void *b, long long actor, const char *commune, const char *action,
              const char *detail);

#endif
