#include "queue.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>

#include "crashpoint.h"
#include "crypto.h"
#include "log.h"
#include "util.h"

struct queue {
	sqlite3 *db;
	char path[PATH_MAX];
	char epoch[33];
	long long boot; /* boot number: changes with the machine's boot id */
	long long next_seq;  /* next sequence number to hand out */
	long long saved_seq; /* next_seq at BEGIN, restored on rollback */
	int in_tx;
	sqlite3_stmt *ins;             /* the record insert, prepared once */
	unsigned long long file_id[2]; /* util_file_id() at open */
};

/* Schema migrations, in order: entry i moves a database from version i
 * (PRAGMA user_version) to i + 1. Version 0 is also what mutu 0.1.0 wrote
 * before versioning, hence IF NOT EXISTS in the first one. Append only. */
static const char *const migrations[] = {
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY,"
    " value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS records(seq INTEGER PRIMARY KEY,"
    " type TEXT NOT NULL, created INTEGER NOT NULL, body TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS batch(id INTEGER PRIMARY KEY"
    " CHECK (id = 1), batch_id TEXT NOT NULL, first_seq INTEGER NOT NULL,"
    " last_seq INTEGER NOT NULL, records INTEGER NOT NULL,"
    " body BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS sessions(exe TEXT NOT NULL,"
    " uid INTEGER NOT NULL, start INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL, PRIMARY KEY (exe, uid));",
    /* 1 -> 2: record ages on the boot clock (clock-skew correction),
     * quarantined records, and the log of records given up. */
    "ALTER TABLE records ADD COLUMN boot INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE records ADD COLUMN mono INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE quarantine(seq INTEGER PRIMARY KEY, type TEXT NOT NULL,"
    " created INTEGER NOT NULL, body TEXT NOT NULL, reason TEXT NOT NULL,"
    " at INTEGER NOT NULL);"
    "CREATE TABLE dropped(first_seq INTEGER NOT NULL,"
    " last_seq INTEGER NOT NULL, records INTEGER NOT NULL,"
    " from_t INTEGER NOT NULL, to_t INTEGER NOT NULL,"
    " reason TEXT NOT NULL, at INTEGER NOT NULL);",
};
#define QUEUE_SCHEMA_VERSION (int)(sizeof(migrations) / sizeof(migrations[0]))

static int
exec(struct queue *q, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(q->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warnx("queue: %s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
schema_version(struct queue *q)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(q->db, "PRAGMA user_version", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Brings the schema up to date in one transaction. A database from a
 * newer agent is refused rather than misread. */
static int
migrate(struct queue *q, char *err, size_t errlen)
{
	char sql[64];
	int v;

	if (exec(q, "BEGIN IMMEDIATE") == -1)
		return -1;
	if ((v = schema_version(q)) < 0)
		goto fail;
	if (v > QUEUE_SCHEMA_VERSION) {
		snprintf(err, errlen,
		         "queue schema version %d is newer than "
		         "this agent's (%d)",
		         v, QUEUE_SCHEMA_VERSION);
		exec(q, "ROLLBACK");
		return -1;
	}
	for (; v < QUEUE_SCHEMA_VERSION; v++) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (exec(q, migrations[v]) == -1 || exec(q, sql) == -1)
			goto fail;
	}
	return exec(q, "COMMIT");
fail:
	snprintf(err, errlen, "queue schema migration failed: %s",
	         sqlite3_errmsg(q->db));
	exec(q, "ROLLBACK");
	return -1;
}

static int
meta_get(struct queue *q, const char *key, char *out, size_t n)
{
	sqlite3_stmt *st;
	int rc = -1;

	if (sqlite3_prepare_v2(q->db, "SELECT value FROM meta WHERE key = ?",
	                       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		util_strlcpy(out, (const char *)sqlite3_column_text(st, 0), n);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

static int
meta_set(struct queue *q, const char *key, const char *value)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(
	        q->db,
	        "INSERT INTO meta(key, value) VALUES (?, ?)"
	        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Creates the stream on a new database: a random epoch, seq from 1. */
static int
init_stream(struct queue *q)
{
	unsigned char raw[16];
	char seq[32];

	if (meta_get(q, "epoch", q->epoch, sizeof(q->epoch)) == 0) {
		if (meta_get(q, "next_seq", seq, sizeof(seq)) == -1 ||
		    util_parse_ll(seq, 1, (1LL << 62), &q->next_seq) == -1)
			return -1;
		return 0;
	}
	if (crypto_random(raw, sizeof(raw)) == -1)
		return -1;
	crypto_hex(raw, sizeof(raw), q->epoch);
	q->next_seq = 1;
	if (exec(q, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (meta_set(q, "epoch", q->epoch) == -1 ||
	    meta_set(q, "next_seq", "1") == -1) {
		exec(q, "ROLLBACK");
		return -1;
	}
	return exec(q, "COMMIT");
}

/* Whether the last error says the file is damaged (not a transient
 * condition such as a full disk or a lock). */
static int
corrupt_code(sqlite3 *db)
{
	int c = db ? sqlite3_errcode(db) & 0xff : SQLITE_CANTOPEN;

	return c == SQLITE_CORRUPT || c == SQLITE_NOTADB;
}

/* PRAGMA quick_check: 1 if the database is sound, 0 if not, -1 on error
 * (the error code then tells whether it is damage). */
static int
quick_check(struct queue *q)
{
	sqlite3_stmt *st;
	int ok = -1;

	if (sqlite3_prepare_v2(q->db, "PRAGMA quick_check(1)", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		ok =
		    strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
	sqlite3_finalize(st);
	return ok;
}

/* A database made by 0.1.0 has no auto-vacuum, so deletions would never
 * give space back to the disk budget: convert it once. */
static int
incremental_vacuum_on(struct queue *q)
{
	sqlite3_stmt *st;
	int mode = 0;

	if (sqlite3_prepare_v2(q->db, "PRAGMA auto_vacuum", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		mode = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (mode == 2)
		return 0;
	return exec(q, "PRAGMA auto_vacuum=INCREMENTAL") == -1 ||
	               exec(q, "VACUUM") == -1
	           ? -1
	           : 0;
}

enum open_result { OPEN_OK, OPEN_CORRUPT, OPEN_FAIL };

/* SQLite follows links to its -wal, -shm and -journal files: none of the
 * queue's files may be one (a link planted in the state directory would
 * make the agent write wherever it points). The database itself is
 * opened with SQLITE_OPEN_NOFOLLOW too. Returns 0, or -1 with err. */
static int
no_links(const char *path, char *err, size_t errlen)
{
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	char f[PATH_MAX + 16];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(f, sizeof(f), "%s%s", path, sfx[i]);
		if (util_is_symlink(f)) {
			snprintf(err, errlen,
			         "%s: a symbolic link; refusing to follow it "
			         "(remove it)",
			         f);
			return -1;
		}
	}
	return 0;
}

static enum open_result
try_open(struct queue *q, char *err, size_t errlen)
{
	if (no_links(q->path, err, errlen) == -1)
		return OPEN_FAIL;
	if (sqlite3_open_v2(q->path, &q->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                        SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
	                    NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_busy_timeout(q->db, 5000);
	/* auto_vacuum only takes effect before the first table exists. */
	if (exec(q, "PRAGMA auto_vacuum=INCREMENTAL") == -1 ||
	    exec(q, "PRAGMA journal_mode=WAL") == -1 ||
	    exec(q, "PRAGMA synchronous=FULL") == -1 ||
	    exec(q, "PRAGMA journal_size_limit=1048576") == -1 ||
	    /* A small page cache: the agent must stay light at rest. */
	    exec(q, "PRAGMA cache_size=-256") == -1)
		goto dberr;
	switch (quick_check(q)) {
	case 0:
		snprintf(err, errlen, "%s: integrity check failed", q->path);
		return OPEN_CORRUPT;
	case -1:
		goto dberr;
	}
	if (incremental_vacuum_on(q) == -1)
		goto dberr;
	if (migrate(q, err, errlen) == -1)
		return corrupt_code(q->db) ? OPEN_CORRUPT : OPEN_FAIL;
	if (init_stream(q) == -1)
		goto dberr;
	return OPEN_OK;
dberr:
	snprintf(err, errlen, "%s: %s", q->path,
	         q->db ? sqlite3_errmsg(q->db) : "cannot open");
	return corrupt_code(q->db) ? OPEN_CORRUPT : OPEN_FAIL;
}

/* Moves a damaged database and its -wal and -shm aside; returns 0, or -1
 * with err set. */
static int
move_aside(const char *path, char *err, size_t errlen)
{
	static const char *const sfx[] = {"", "-wal", "-shm"};
	char from[PATH_MAX + 8], to[PATH_MAX + 48];
	long long now = time(NULL);
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(from, sizeof(from), "%s%s", path, sfx[i]);
		snprintf(to, sizeof(to), "%s.corrupt-%lld%s", path, now,
		         sfx[i]);
		if (rename(from, to) == -1 && errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", from, strerror(errno));
			return -1;
		}
	}
	log_warnx("queue %s was damaged; moved aside as %s.corrupt-%lld, "
	          "starting a new stream",
	          path, path, now);
	return 0;
}

/* Tells the server, through the new stream, which stream was lost. */
static int
report_lost_stream(struct queue *q, const char *why)
{
	json_t *j = json_pack("{s:s, s:s}", "reason", "corrupt", "detail", why);
	char *text = json_dumps(j, JSON_COMPACT);
	int rc;

	json_decref(j);
	if (text == NULL)
		return -1;
	rc = queue_push(q, "gap", time(NULL), text) > 0 ? 0 : -1;
	free(text);
	return rc;
}

struct queue *
queue_open(const char *path, char *err, size_t errlen)
{
	struct queue *q;
	enum open_result r;
	char why[256];

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (util_strlcpy(q->path, path, sizeof(q->path)) == -1) {
		snprintf(err, errlen, "queue path too long");
		goto fail;
	}
	if ((r = try_open(q, err, errlen)) == OPEN_OK)
		goto opened;
	if (r != OPEN_CORRUPT)
		goto fail;
	util_strlcpy(why, err, sizeof(why));
	sqlite3_close(q->db);
	q->db = NULL;
	if (move_aside(path, err, errlen) == -1 ||
	    try_open(q, err, errlen) != OPEN_OK ||
	    report_lost_stream(q, why) == -1)
		goto fail;
opened:
	if (util_file_id(q->path, q->file_id) == -1) {
		snprintf(err, errlen, "%s: %s", q->path, strerror(errno));
		goto fail;
	}
	return q;
fail:
	queue_close(q);
	return NULL;
}

/* The database's error as the reason in err. */
static void
db_error(struct queue *q, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", q->path,
	         q->db ? sqlite3_errmsg(q->db) : "cannot open");
}

struct queue *
queue_open_readonly(const char *path, char *err, size_t errlen)
{
	unsigned long long id[2];
	struct queue *q;
	int v;

	if (util_file_id(path, id) == -1) {
		snprintf(err, errlen, "%s: %s", path,
		         errno == ENOENT ? "no queue: the agent has not run "
		                           "with this state_dir"
		                         : strerror(errno));
		return NULL;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (util_strlcpy(q->path, path, sizeof(q->path)) == -1) {
		snprintf(err, errlen, "queue path too long");
		goto fail;
	}
	if (no_links(path, err, errlen) == -1)
		goto fail;
	/* No pragma that writes (journal_mode, auto_vacuum): the agent
	 * set them when it created the file. */
	if (sqlite3_open_v2(path, &q->db,
	                    SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX |
	                        SQLITE_OPEN_NOFOLLOW,
	                    NULL) != SQLITE_OK) {
		db_error(q, err, errlen);
		goto fail;
	}
	sqlite3_busy_timeout(q->db, 5000);
	if (exec(q, "PRAGMA query_only=ON") == -1 ||
	    (v = schema_version(q)) < 0) {
		db_error(q, err, errlen);
		goto fail;
	}
	if (v != QUEUE_SCHEMA_VERSION) {
		snprintf(err, errlen,
		         "%s: queue schema version %d, this agent's is %d%s",
		         path, v, QUEUE_SCHEMA_VERSION,
		         v < QUEUE_SCHEMA_VERSION
		             ? " (the agent updates it when it starts)"
		             : "");
		goto fail;
	}
	memcpy(q->file_id, id, sizeof(q->file_id));
	return q;
fail:
	queue_close(q);
	return NULL;
}

int
queue_gone(const struct queue *q)
{
	unsigned long long id[2];

	if (util_file_id(q->path, id) == -1)
		return errno == ENOENT || errno == ENOTDIR;
	return id[0] != q->file_id[0] || id[1] != q->file_id[1];
}

void
queue_close(struct queue *q)
{
	if (q == NULL)
		return;
	sqlite3_finalize(q->ins);
	sqlite3_close(q->db);
	free(q);
}

const char *
queue_epoch(const struct queue *q)
{
	return q->epoch;
}

int
queue_begin(struct queue *q)
{
	if (exec(q, "BEGIN IMMEDIATE") == -1)
		return -1;
	crashpoint("queue.begin");
	q->in_tx = 1;
	q->saved_seq = q->next_seq;
	return 0;
}

int
queue_commit(struct queue *q)
{
	char next[32];

	q->in_tx = 0;
	/* The counter is written once per transaction, with its records. */
	if (q->next_seq != q->saved_seq) {
		snprintf(next, sizeof(next), "%lld", q->next_seq);
		if (meta_set(q, "next_seq", next) == -1) {
			exec(q, "ROLLBACK");
			q->next_seq = q->saved_seq;
			return -1;
		}
	}
	crashpoint("queue.commit.before");
	if (exec(q, "COMMIT") == -1) {
		if (!sqlite3_get_autocommit(q->db)) /* not rolled back yet */
			exec(q, "ROLLBACK");
		q->next_seq = q->saved_seq;
		return -1;
	}
	crashpoint("queue.commit.after");
	return 0;
}

void
queue_rollback(struct queue *q)
{
	q->in_tx = 0;
	exec(q, "ROLLBACK");
	q->next_seq = q->saved_seq;
}

/* Opens a transaction for one call unless the caller holds one (then
 * the call runs in the caller's): 0 with *own set when it is the call's,
 * or -1. Close it with tx_leave(). */
static int
tx_enter(struct queue *q, int *own)
{
	*own = !q->in_tx;
	return *own ? queue_begin(q) : 0;
}

/* Closes what tx_enter() opened, by the call's result rc: a transaction of
 * the call's own commits unless rc is -1, and rolls back if it is; the
 * caller's is left to the caller. rc, or -1 when the commit failed. */
static long long
tx_leave(struct queue *q, int own, long long rc)
{
	if (!own)
		return rc;
	if (rc == -1) {
		queue_rollback(q);
		return -1;
	}
	return queue_commit(q) == -1 ? -1 : rc;
}

static long long
push(struct queue *q, const char *type, long long created, const char *body)
{
	long long seq = q->next_seq;
	int rc;

	if (q->ins == NULL &&
	    sqlite3_prepare_v2(q->db,
	                       "INSERT INTO records(seq, type, created, body,"
	                       " boot, mono) VALUES (?, ?, ?, ?, ?, ?)",
	                       -1, &q->ins, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(q->ins, 1, seq);
	sqlite3_bind_text(q->ins, 2, type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q->ins, 3, created);
	sqlite3_bind_text(q->ins, 4, body, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q->ins, 5, q->boot);
	sqlite3_bind_int64(q->ins, 6, util_boot_ms());
	rc = sqlite3_step(q->ins);
	sqlite3_reset(q->ins);
	sqlite3_clear_bindings(q->ins);
	if (rc != SQLITE_DONE) {
		log_warnx("queue: insert: %s", sqlite3_errmsg(q->db));
		return -1;
	}
	crashpoint("queue.insert");
	q->next_seq = seq + 1;
	return seq;
}

long long
queue_push(struct queue *q, const char *type, long long created,
           const char *body)
{
	int own;

	if (tx_enter(q, &own) == -1)
		return -1;
	return tx_leave(q, own, push(q, type, created, body));
}

long long
queue_pending(struct queue *q)
{
	sqlite3_stmt *st;
	long long n = -1;

	if (sqlite3_prepare_v2(q->db, "SELECT count(*) FROM records", -1, &st,
	                       NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

int
queue_stats(struct queue *q, struct queue_stats *out)
{
	/* The first record in sequence order is the one waiting longest:
	 * found by its key, where min(created) would read every row. */
	static const char sql[] =
	    "SELECT (SELECT count(*) FROM records),"
	    " (SELECT created FROM records ORDER BY seq LIMIT 1),"
	    " (SELECT records FROM batch WHERE id = 1),"
	    " (SELECT count(*) FROM quarantine),"
	    " (SELECT sum(records) FROM dropped)";
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* NULL (no record, no batch, nothing dropped) reads as 0. */
		out->records = sqlite3_column_int64(st, 0);
		out->oldest = sqlite3_column_int64(st, 1);
		out->in_batch = sqlite3_column_int64(st, 2);
		out->quarantined = sqlite3_column_int64(st, 3);
		out->dropped = sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
queue_peek(struct queue *q, int max_records, size_t max_bytes,
           int (*cb)(const struct queue_rec *, void *), void *arg)
{
	struct queue_rec r;
	sqlite3_stmt *st;
	size_t bytes = 0, len;
	int n = 0, rc;

	if (sqlite3_prepare_v2(q->db,
	                       "SELECT seq, type, created, boot, mono, body"
	                       " FROM records ORDER BY seq LIMIT ?",
	                       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int(st, 1, max_records);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		len = (size_t)sqlite3_column_bytes(st, 5);
		if (n > 0 && bytes + len > max_bytes)
			break;
		bytes += len;
		r.seq = sqlite3_column_int64(st, 0);
		r.type = (const char *)sqlite3_column_text(st, 1);
		r.created = sqlite3_column_int64(st, 2);
		r.boot = sqlite3_column_int64(st, 3);
		r.mono = sqlite3_column_int64(st, 4);
		r.body = (const char *)sqlite3_column_text(st, 5);
		if (cb(&r, arg) == -1) {
			n = -1;
			break;
		}
		n++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		n = -1;
	sqlite3_finalize(st);
	return n;
}

static int
seal(struct queue *q, const struct queue_batch *b)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(
	        q->db,
	        "INSERT INTO batch(id, batch_id, first_seq, last_seq, records,"
	        " body) VALUES (1, ?, ?, ?, ?, ?)",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, b->batch_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, b->first_seq);
	sqlite3_bind_int64(st, 3, b->last_seq);
	sqlite3_bind_int(st, 4, b->records);
	sqlite3_bind_blob(st, 5, b->body, (int)b->len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
queue_seal(struct queue *q, const struct queue_batch *b)
{
	int own;

	if (tx_enter(q, &own) == -1)
		return -1;
	return (int)tx_leave(q, own, seal(q, b));
}

int
queue_sealed(struct queue *q, struct queue_batch *b)
{
	sqlite3_stmt *st;
	const void *body;
	int rc, found = 0;

	memset(b, 0, sizeof(*b));
	if (sqlite3_prepare_v2(
	        q->db,
	        "SELECT batch_id, first_seq, last_seq, records, body"
	        " FROM batch WHERE id = 1",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		util_strlcpy(b->batch_id,
		             (const char *)sqlite3_column_text(st, 0),
		             sizeof(b->batch_id));
		b->first_seq = sqlite3_column_int64(st, 1);
		b->last_seq = sqlite3_column_int64(st, 2);
		b->records = sqlite3_column_int(st, 3);
		b->len = (size_t)sqlite3_column_bytes(st, 4);
		body = sqlite3_column_blob(st, 4);
		if ((b->body = malloc(b->len ? b->len : 1)) == NULL)
			found = -1;
		else {
			if (b->len > 0)
				memcpy(b->body, body, b->len);
			found = 1;
		}
	} else if (rc != SQLITE_DONE)
		found = -1;
	sqlite3_finalize(st);
	return found;
}

void
queue_batch_free(struct queue_batch *b)
{
	free(b->body);
	b->body = NULL;
	b->len = 0;
}

static int
ack(struct queue *q, const char *batch_id)
{
	sqlite3_stmt *st;
	long long last = -1;
	int rc;

	if (sqlite3_prepare_v2(
	        q->db,
	        "SELECT last_seq FROM batch WHERE id = 1 AND batch_id = ?", -1,
	        &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		last = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (last < 0)
		return -1;
	if (sqlite3_prepare_v2(q->db, "DELETE FROM records WHERE seq <= ?", -1,
	                       &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, last);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	return exec(q, "DELETE FROM batch WHERE id = 1");
}

int
queue_ack(struct queue *q, const char *batch_id)
{
	int own;

	if (tx_enter(q, &own) == -1)
		return -1;
	return (int)tx_leave(q, own, ack(q, batch_id));
}

/* The first column of the first row of sql as an integer (def if none),
 * with up to two integer parameters. */
static long long
scalar(struct queue *q, const char *sql, long long def, long long p1,
       long long p2)
{
	sqlite3_stmt *st;
	long long v = def;

	if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK)
		return def;
	if (sqlite3_bind_parameter_count(st) >= 1)
		sqlite3_bind_int64(st, 1, p1);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, p2);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Last sequence number of the sealed batch, 0 if none is sealed: records
 * up to it are in flight and must stay as they are. */
static long long
sealed_last(struct queue *q)
{
	return scalar(q, "SELECT last_seq FROM batch WHERE id = 1", 0, 0, 0);
}

int
queue_unseal(struct queue *q)
{
	int own;

	if (tx_enter(q, &own) == -1)
		return -1;
	return (int)tx_leave(q, own, exec(q, "DELETE FROM batch WHERE id = 1"));
}

static int
quarantine(struct queue *q, long long first, long long last, const char *reason)
{
	sqlite3_stmt *st;
	int n;

	if (exec(q, "DELETE FROM batch WHERE id = 1") == -1)
		return -1;
	if (sqlite3_prepare_v2(
	        q->db,
	        "INSERT OR REPLACE INTO quarantine(seq, type, created, body,"
	        " reason, at) SELECT seq, type, created, body, ?3, ?4"
	        " FROM records WHERE seq BETWEEN ?1 AND ?2",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, first);
	sqlite3_bind_int64(st, 2, last);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, time(NULL));
	n = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(q->db) : -1;
	sqlite3_finalize(st);
	if (n == -1)
		return -1;
	if (sqlite3_prepare_v2(q->db,
	                       "DELETE FROM records WHERE seq BETWEEN ? AND ?",
	                       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, first);
	sqlite3_bind_int64(st, 2, last);
	if (sqlite3_step(st) != SQLITE_DONE)
		n = -1;
	sqlite3_finalize(st);
	return n;
}

int
queue_quarantine(struct queue *q, long long first, long long last,
                 const char *reason)
{
	int own;

	if (tx_enter(q, &own) == -1)
		return -1;
	return (int)tx_leave(q, own, quarantine(q, first, last, reason));
}

static int
delete_type(struct queue *q, const char *type)
{
	sqlite3_stmt *st;
	int n = -1;

	if (exec(q, "DELETE FROM batch WHERE id = 1") == -1 ||
	    sqlite3_prepare_v2(q->db, "DELETE FROM records WHERE type = ?", -1,
	                       &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE)
		n = sqlite3_changes(q->db);
	sqlite3_finalize(st);
	return n;
}

int
queue_delete_type(struct queue *q, const char *type)
{
	int own;

	if (tx_enter(q, &own) == -1)
		return -1;
	return (int)tx_leave(q, own, delete_type(q, type));
}

void
queue_clock(const struct queue *q, long long *boot, long long *mono)
{
	*boot = q->boot;
	*mono = util_boot_ms();
}

int
queue_set_boot(struct queue *q, const char *boot_id)
{
	char old[64], num[32];

	if (meta_get(q, "boot_id", old, sizeof(old)) == 0 &&
	    strcmp(old, boot_id) == 0) {
		if (meta_get(q, "boot", num, sizeof(num)) == 0)
			util_parse_ll(num, 0, 1LL << 40, &q->boot);
		return 0;
	}
	q->boot = scalar(q,
	                 "SELECT CAST(value AS INTEGER) + 1 FROM meta"
	                 " WHERE key = 'boot'",
	                 1, 0, 0);
	snprintf(num, sizeof(num), "%lld", q->boot);
	if (queue_begin(q) == -1)
		return -1;
	if (meta_set(q, "boot_id", boot_id) == -1 ||
	    meta_set(q, "boot", num) == -1) {
		queue_rollback(q);
		return -1;
	}
	return queue_commit(q);
}

long long
queue_disk_bytes(struct queue *q)
{
	char wal[PATH_MAX + 8];
	struct stat st;
	long long n = 0;

	if (stat(q->path, &st) == 0)
		n += st.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", q->path);
	if (stat(wal, &st) == 0)
		n += st.st_size;
	return n;
}

/* Gives freed pages back to the file system and empties the WAL. */
static void
shrink(struct queue *q)
{
	exec(q, "PRAGMA incremental_vacuum");
	exec(q, "PRAGMA wal_checkpoint(TRUNCATE)");
}

void
queue_checkpoint(struct queue *q)
{
	shrink(q);
}

/* Folds old usage records into one "usage_day" record per (product,
 * package, exe, user, UTC day): the minutes and session counts the
 * reports need survive; the individual sessions do not. */
static int
compact(struct queue *q, long long before, long long *count)
{
	static const char sel[] =
	    "SELECT json_extract(body, '$.product'),"
	    " json_extract(body, '$.package'), json_extract(body, '$.exe'),"
	    " json_extract(body, '$.user'),"
	    " json_extract(body, '$.start') / 86400 AS day,"
	    " sum(json_extract(body, '$.end') - json_extract(body, '$.start')),"
	    " count(*), min(json_extract(body, '$.start')),"
	    " max(json_extract(body, '$.end')), max(created)"
	    " FROM records WHERE type = 'usage' AND created < ?1 AND seq > ?2"
	    " GROUP BY 1, 2, 3, 4, 5";
	long long last = sealed_last(q);
	sqlite3_stmt *st;
	json_t *j;
	char *text;
	int rc, i, ok = 0;

	if (sqlite3_prepare_v2(q->db, sel, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int64(st, 2, last);
	while (ok == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		j = json_pack(
		    "{s:s?, s:I, s:I, s:I, s:I, s:I}", "product",
		    (const char *)sqlite3_column_text(st, 0), "day",
		    (json_int_t)sqlite3_column_int64(st, 4), "seconds",
		    (json_int_t)sqlite3_column_int64(st, 5), "sessions",
		    (json_int_t)sqlite3_column_int64(st, 6), "first",
		    (json_int_t)sqlite3_column_int64(st, 7), "last",
		    (json_int_t)sqlite3_column_int64(st, 8));
		for (i = 1; i <= 3; i++)
			if (sqlite3_column_type(st, i) == SQLITE_TEXT)
				json_object_set_new(
				    j,
				    i == 1   ? "package"
				    : i == 2 ? "exe"
				             : "user",
				    json_string(
				        (const char *)sqlite3_column_text(st,
				                                          i)));
		text = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		if (text == NULL ||
		    push(q, "usage_day", sqlite3_column_int64(st, 9), text) ==
		        -1)
			ok = -1;
		free(text);
	}
	sqlite3_finalize(st);
	if (ok == -1)
		return -1;
	*count = scalar(q,
	                "SELECT count(*) FROM records WHERE type = 'usage'"
	                " AND created < ?1 AND seq > ?2",
	                0, before, last);
	if (sqlite3_prepare_v2(q->db,
	                       "DELETE FROM records WHERE type = 'usage'"
	                       " AND created < ?1 AND seq > ?2",
	                       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int64(st, 2, last);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Drops the n oldest records outside the sealed batch (never "gap"
 * records), logs the range and queues a "gap" record for the server. */
static int
drop_oldest(struct queue *q, long long n, struct queue_budget *b)
{
	static const char range[] =
	    "SELECT min(seq), max(seq), count(*), min(created), max(created)"
	    " FROM (SELECT seq, created FROM records WHERE seq > ?1"
	    " AND type != 'gap' ORDER BY seq LIMIT ?2)";
	long long last = sealed_last(q), v[5] = {0};
	sqlite3_stmt *st;
	json_t *j;
	char *text;
	int i, rc = -1;

	if (sqlite3_prepare_v2(q->db, range, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, last);
	sqlite3_bind_int64(st, 2, n);
	if (sqlite3_step(st) == SQLITE_ROW)
		for (i = 0; i < 5; i++)
			v[i] = sqlite3_column_int64(st, i);
	sqlite3_finalize(st);
	if (v[2] == 0)
		return 0;
	if (sqlite3_prepare_v2(q->db,
	                       "DELETE FROM records WHERE seq BETWEEN ?1 AND ?2"
	                       " AND type != 'gap'",
	                       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, v[0]);
	sqlite3_bind_int64(st, 2, v[1]);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	if (rc == -1 || sqlite3_prepare_v2(q->db,
	                                   "INSERT INTO dropped VALUES (?1, ?2,"
	                                   " ?3, ?4, ?5, 'budget', ?6)",
	                                   -1, &st, NULL) != SQLITE_OK)
		return -1;
	for (i = 0; i < 5; i++)
		sqlite3_bind_int64(st, i + 1, v[i]);
	sqlite3_bind_int64(st, 6, time(NULL));
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "reason", "budget",
	              "epoch", q->epoch, "first_seq", (json_int_t)v[0],
	              "last_seq", (json_int_t)v[1], "records", (json_int_t)v[2],
	              "from", (json_int_t)v[3], "to", (json_int_t)v[4]);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (rc == -1 || text == NULL || push(q, "gap", time(NULL), text) == -1)
		rc = -1;
	free(text);
	if (rc == 0) {
		if (b->dropped == 0)
			b->first_seq = v[0], b->from = v[3];
		b->last_seq = v[1];
		b->to = v[4];
		b->dropped += v[2];
	}
	return rc == 0 ? (int)v[2] : -1;
}

int
queue_enforce_budget(struct queue *q, long long budget, long long now,
                     struct queue_budget *out)
{
	long long low = budget / 10 * 8, n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (queue_disk_bytes(q) <= budget)
		return 0;
	if (queue_begin(q) == -1)
		return -1;
	if (compact(q, now - 86400, &out->compacted) == -1) {
		queue_rollback(q);
		return -1;
	}
	if (queue_commit(q) == -1)
		return -1;
	shrink(q);
	while (queue_disk_bytes(q) > low) {
		n = queue_pending(q) / 8;
		if (queue_begin(q) == -1)
			return -1;
		if ((rc = drop_oldest(q, n < 16 ? 16 : n, out)) == -1) {
			queue_rollback(q);
			return -1;
		}
		if (queue_commit(q) == -1)
			return -1;
		shrink(q);
		if (rc == 0)
			break; /* nothing left that may go */
	}
	if (out->dropped > 0)
		log_warnx("queue over its %lld-byte budget: %lld old usage "
		          "records compacted, %lld records (seq %lld-%lld) "
		          "dropped and reported",
		          budget, out->compacted, out->dropped, out->first_seq,
		          out->last_seq);
	else if (out->compacted > 0)
		log_info("queue over its %lld-byte budget: %lld old usage "
		         "records compacted",
		         budget, out->compacted);
	return 1;
}

int
queue_meta_get(struct queue *q, const char *key, char *out, size_t n)
{
	return meta_get(q, key, out, n);
}

int
queue_meta_set(struct queue *q, const char *key, const char *value)
{
	int own;

	if (tx_enter(q, &own) == -1)
		return -1;
	return (int)tx_leave(q, own, meta_set(q, key, value));
}

static int
sessions_save(struct queue *q, const struct queue_session *s, size_t n)
{
	sqlite3_stmt *st;
	size_t i;
	int rc = 0;

	if (exec(q, "DELETE FROM sessions") == -1)
		return -1;
	if (sqlite3_prepare_v2(
	        q->db,
	        "INSERT INTO sessions(exe, uid, start, last_seen)"
	        " VALUES (?, ?, ?, ?)",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		sqlite3_bind_text(st, 1, s[i].exe, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, s[i].uid);
		sqlite3_bind_int64(st, 3, s[i].start);
		sqlite3_bind_int64(st, 4, s[i].last_seen);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = -1;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return rc;
}

int
queue_sessions_save(struct queue *q, const struct queue_session *s, size_t n)
{
	int own;

	if (tx_enter(q, &own) == -1)
		return -1;
	return (int)tx_leave(q, own, sessions_save(q, s, n));
}

int
queue_sessions_load(struct queue *q,
                    int (*cb)(const struct queue_session *, void *), void *arg)
{
	struct queue_session s;
	sqlite3_stmt *st;
	int n = 0;

	if (sqlite3_prepare_v2(
	        q->db, "SELECT exe, uid, start, last_seen FROM sessions", -1,
	        &st, NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		s.exe = (const char *)sqlite3_column_text(st, 0);
		s.uid = (unsigned)sqlite3_column_int64(st, 1);
		s.start = sqlite3_column_int64(st, 2);
		s.last_seen = sqlite3_column_int64(st, 3);
		if (cb(&s, arg) == -1) {
			n = -1;
			break;
		}
		n++;
	}
	sqlite3_finalize(st);
	return n;
}
