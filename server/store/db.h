/*
 * db: one connection to the server's database, SQLite or PostgreSQL,
 * behind the small statement API the store is written against
 * (prepare, bind, step, column, finalize: SQLite's shape).
 *
 * SQL is written once, in the subset both engines share: ?N or ?
 * parameters, ON CONFLICT upserts, RETURNING, explicit aliases on every
 * subquery in FROM, quoted "user" and "end" columns, CASE instead of
 * two-argument max(). For PostgreSQL the parameters become $N, "BEGIN
 * IMMEDIATE" becomes "BEGIN" and json_group_array( becomes json_agg(;
 * nothing else is rewritten. Text is bound as text (NULL too, so that
 * "?1 IS NULL OR x = ?1" works), integers as bigint, db_bind_null()
 * untyped (PostgreSQL infers the type from the column it goes to).
 *
 * A connection is used by one thread at a time. Bound text is copied.
 *
 * Each engine is a table of operations in a file of its own (db_engine.h:
 * db_sqlite.c, db_pgsql.c), chosen by the URI at db_open(); callers never
 * ask which one they have. What the store does differently per engine
 * is the store's engine table (engine.h).
 */
#ifndef MUTU_DB_H
#define MUTU_DB_H

#include <stddef.h>

/* db_step() answers. */
enum {
	DB_ROW = 100,
	DB_DONE = 101,
	DB_CONSTRAINT = 19, /* a unique, foreign key or check constraint */
	DB_RETRY = 5,       /* busy, deadlock or serialisation: run the
	                       transaction again */
	DB_ERROR = 1,
};

/* db_column_type() answers. */
enum db_type { DB_INTEGER = 1, DB_FLOAT = 2, DB_TEXT = 3, DB_NULL = 5 };

struct db;
struct db_stmt;

/* uri itself when its engine keeps the database in that file on this
 * machine, mapped in memory (SQLite: anything but postgresql:// or
 * postgres://); NULL for a database behind a server (PostgreSQL). */
const char *db_local_file(const char *uri);
/* True when uri's engine lets several connections (threads, servers)
 * serve the database at once (PostgreSQL); a SQLite file has one. */
int db_concurrent(const char *uri);
/* SQLite: takes the serving lock of the database file uri, held until
 * the process exits: one serving process per file. Two locks: a POSIX
 * record lock on the file beside it named after its real path plus
 * ".lock" (the pid written in it), which symbolic links and relative
 * names meet; and an flock(2) write lock on a descriptor of the database
 * file itself (kept open; the file created, mode 0600, when missing),
 * which follows the inode, so that a hard link meets it too. A POSIX
 * lock on the database file would not do: closing any descriptor of a
 * file drops every POSIX lock the process has on it, SQLite's included;
 * flock locks are apart from those (Linux) and belong to the open file
 * description. Commands that only open the database (bootstrap, tokens)
 * take no lock. Returns the .lock file's descriptor (kept open), 0 for
 * PostgreSQL (several servers share it by design), or -1 with err naming
 * the file and the pid of the process holding it (for a hard link, when
 * /proc/locks tells it; else "another process"). */
int db_lock_serving(const char *uri, char *err, size_t errlen);
/* Copies the database uri into file, a new file (mode 0600), as one
 * consistent snapshot while others write to it: 0, or -1 with err
 * naming the problem (file exists, disk full, the engine backs up with
 * its own tools: PostgreSQL's pg_dump). The copy is checked (SQLite:
 * integrity_check) and appears under its name only when whole. */
int db_backup(const char *uri, const char *file, char *err, size_t errlen);
/* Replaces the database uri's content by the backup file's, checked
 * first (sound, and probe, a query, runs on it) and never modified. The
 * caller holds the serving lock (db_lock_serving()): nothing else may
 * use uri meanwhile. 0, or -1 with err. */
int db_restore(const char *file, const char *uri, const char *probe, char *err,
               size_t errlen);
/* Opens a connection; NULL with the reason in err. */
struct db *db_open(const char *uri, char *err, size_t errlen);
/* Closes it and every statement still prepared on it; NULL is a no-op. */
void db_close(struct db *db);
/* The engine's name: "sqlite" or "pgsql" (engine.h looks it up). */
const char *db_engine(const struct db *db);
/* The last error's message, owned by the connection. */
const char *db_errmsg(struct db *db);
/* The last error's class: DB_CONSTRAINT, DB_RETRY or DB_ERROR. */
int db_errclass(struct db *db);
/* Runs one or more statements without parameters or results: 0, or -1
 * (the message in db_errmsg()). */
int db_exec(struct db *db, const char *sql);
/* Counts the connections made: PostgreSQL reconnects before the next
 * statement when the server closed the connection, and the session's
 * settings (set_config) are then gone. Always 0 for SQLite. */
unsigned db_generation(const struct db *db);
/* Rows changed by the last INSERT, UPDATE or DELETE. */
long long db_changes(struct db *db);

/* Prepares a statement; NULL (message in db_errmsg()) on failure.
 * persistent: the statement will be reused many times. */
struct db_stmt *db_prepare(struct db *db, const char *sql, int persistent);
/* The SQL text the statement was prepared from (untranslated). */
const char *db_sql(const struct db_stmt *st);
/* v may be NULL: a NULL of type text. */
void db_bind_text(struct db_stmt *st, int i, const char *v);
void db_bind_int64(struct db_stmt *st, int i, long long v);
void db_bind_double(struct db_stmt *st, int i, double v);
void db_bind_null(struct db_stmt *st, int i);
/* Runs the statement (first call) or moves to the next row: DB_ROW,
 * DB_DONE, or an error class. */
int db_step(struct db_stmt *st);
/* Makes the statement runnable again; bindings stay. */
void db_reset(struct db_stmt *st);
void db_clear_bindings(struct db_stmt *st);
/* NULL is a no-op. */
void db_finalize(struct db_stmt *st);

int db_column_count(struct db_stmt *st);
const char *db_column_name(struct db_stmt *st, int i);
/* DB_INTEGER (also booleans and whole numerics), DB_FLOAT, DB_TEXT or
 * DB_NULL. */
int db_column_type(struct db_stmt *st, int i);
long long db_column_int64(struct db_stmt *st, int i);
int db_column_int(struct db_stmt *st, int i);
double db_column_double(struct db_stmt *st, int i);
/* NULL for SQL NULL; valid until the next step, reset or finalize. */
const char *db_column_text(struct db_stmt *st, int i);

#endif
