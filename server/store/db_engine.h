/*
 * db_engine: what a database engine implements for db.h, as a table of
 * operations (db_sqlite.c, db_pgsql.c), and the connection and statement
 * state db.c keeps for every engine. Each engine keeps its own state
 * behind conn and impl. Private to db.c and the engines.
 */
#ifndef MUTU_DB_ENGINE_H
#define MUTU_DB_ENGINE_H

#include <stddef.h>

#include "db.h"

struct db_backend {
	const char *name; /* db_engine()'s answer */
	/* True when uri is this engine's. */
	int (*match)(const char *uri);
	/* True when several connections may serve the database at once. */
	int concurrent;
	/* True when the uri is a file on this machine (db_local_file()). */
	int local_file;
	/* db_lock_serving() for this engine. */
	int (*lock_serving)(const char *uri, char *err, size_t errlen);
	/* db_backup() and db_restore(); NULL when the engine's own tools
	 * do it (PostgreSQL: pg_dump). */
	int (*backup)(const char *uri, const char *file, char *err,
	              size_t errlen);
	int (*restore)(const char *file, const char *uri, const char *probe,
	               char *err, size_t errlen);
	/* Connects db->conn; -1 with the reason in err (db_close() then
	 * frees what was made). */
	int (*open)(struct db *db, const char *uri, char *err, size_t errlen);
	/* Frees db->conn, possibly half made; NULL is a no-op. */
	void (*close)(struct db *db);
	/* The engine's last error message, when db.c holds none. */
	const char *(*errmsg)(struct db *db);
	int (*exec)(struct db *db, const char *sql);
	long long (*changes)(struct db *db);
	/* Fills st->impl for sql: 0, or -1 (the error set on st->db); the
	 * statement is then finalized. */
	int (*prepare)(struct db_stmt *st, const char *sql, int persistent);
	void (*bind_text)(struct db_stmt *st, int i, const char *v);
	void (*bind_int64)(struct db_stmt *st, int i, long long v);
	void (*bind_double)(struct db_stmt *st, int i, double v);
	void (*bind_null)(struct db_stmt *st, int i);
	int (*step)(struct db_stmt *st);
	void (*reset)(struct db_stmt *st);
	void (*clear_bindings)(struct db_stmt *st);
	/* Frees st->impl, possibly half made. */
	void (*finalize)(struct db_stmt *st);
	int (*column_count)(struct db_stmt *st);
	const char *(*column_name)(struct db_stmt *st, int i);
	int (*column_type)(struct db_stmt *st, int i);
	long long (*column_int64)(struct db_stmt *st, int i);
	double (*column_double)(struct db_stmt *st, int i);
	const char *(*column_text)(struct db_stmt *st, int i);
};

struct db {
	const struct db_backend *be;
	void *conn;   /* the engine's connection */
	unsigned gen; /* connections made (db_generation()) */
	int errclass;
	char err[512];
};

struct db_stmt {
	struct db *db;
	char *sql;  /* the text as given */
	void *impl; /* the engine's statement */
};

/* Sets db's error: its class and msg on one line (NULL: "unknown
 * error"). */
void db_set_err(struct db *db, int class, const char *msg);

/* The engines. */
extern const struct db_backend db_sqlite;
extern const struct db_backend db_pgsql;

#endif
