#include "queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "crypto.h"
#include "log.h"
#include "util.h"

struct queue {
	sqlite3 *db;
	char epoch[33];
	long long next_seq;  /* next sequence number to hand out */
	long long saved_seq; /* next_seq at BEGIN, restored on rollback */
	int in_tx;
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

struct queue *
queue_open(const char *path, char *err, size_t errlen)
{
	struct queue *q;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &q->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                        SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		         q->db ? sqlite3_errmsg(q->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(q->db, 5000);
	if (exec(q, "PRAGMA journal_mode=WAL") == -1 ||
	    exec(q, "PRAGMA synchronous=FULL") == -1)
		goto dberr;
	if (migrate(q, err, errlen) == -1)
		goto fail;
	if (init_stream(q) == -1)
		goto dberr;
	return q;
dberr:
	snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(q->db));
fail:
	queue_close(q);
	return NULL;
}

void
queue_close(struct queue *q)
{
	if (q == NULL)
		return;
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
	q->in_tx = 1;
	q->saved_seq = q->next_seq;
	return 0;
}

int
queue_commit(struct queue *q)
{
	q->in_tx = 0;
	if (exec(q, "COMMIT") == -1) {
		exec(q, "ROLLBACK");
		q->next_seq = q->saved_seq;
		return -1;
	}
	return 0;
}

void
queue_rollback(struct queue *q)
{
	q->in_tx = 0;
	exec(q, "ROLLBACK");
	q->next_seq = q->saved_seq;
}

/* Runs fn inside the caller's transaction, or in one of its own. */
#define IN_TX(q, expr)                                                         \
	do {                                                                   \
		int own_ = !(q)->in_tx, ok_;                                   \
		if (own_ && queue_begin(q) == -1)                              \
			return -1;                                             \
		ok_ = (expr);                                                  \
		if (!own_)                                                     \
			return ok_;                                            \
		if (ok_ == -1) {                                               \
			queue_rollback(q);                                     \
			return -1;                                             \
		}                                                              \
		return queue_commit(q) == -1 ? -1 : ok_;                       \
	} while (0)

static long long
push(struct queue *q, const char *type, long long created, const char *body)
{
	sqlite3_stmt *st;
	char next[32];
	long long seq = q->next_seq;
	int rc;

	if (sqlite3_prepare_v2(q->db,
	                       "INSERT INTO records(seq, type, created, body)"
	                       " VALUES (?, ?, ?, ?)",
	                       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, created);
	sqlite3_bind_text(st, 4, body, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		log_warnx("queue: insert: %s", sqlite3_errmsg(q->db));
		return -1;
	}
	snprintf(next, sizeof(next), "%lld", seq + 1);
	if (meta_set(q, "next_seq", next) == -1)
		return -1;
	q->next_seq = seq + 1;
	return seq;
}

long long
queue_push(struct queue *q, const char *type, long long created,
           const char *body)
{
	long long seq;
	int own = !q->in_tx;

	if (own && queue_begin(q) == -1)
		return -1;
	seq = push(q, type, created, body);
	if (!own)
		return seq;
	if (seq == -1) {
		queue_rollback(q);
		return -1;
	}
	return queue_commit(q) == -1 ? -1 : seq;
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
queue_peek(struct queue *q, int max_records, size_t max_bytes,
           int (*cb)(long long, const char *, long long, const char *, void *),
           void *arg)
{
	sqlite3_stmt *st;
	size_t bytes = 0, len;
	int n = 0, rc;

	if (sqlite3_prepare_v2(
	        q->db,
	        "SELECT seq, type, created, body FROM records ORDER BY seq"
	        " LIMIT ?",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int(st, 1, max_records);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		len = (size_t)sqlite3_column_bytes(st, 3);
		if (n > 0 && bytes + len > max_bytes)
			break;
		bytes += len;
		if (cb(sqlite3_column_int64(st, 0),
		       (const char *)sqlite3_column_text(st, 1),
		       sqlite3_column_int64(st, 2),
		       (const char *)sqlite3_column_text(st, 3), arg) == -1) {
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
	IN_TX(q, seal(q, b));
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
	IN_TX(q, ack(q, batch_id));
}

int
queue_meta_get(struct queue *q, const char *key, char *out, size_t n)
{
	return meta_get(q, key, out, n);
}

int
queue_meta_set(struct queue *q, const char *key, const char *value)
{
	IN_TX(q, meta_set(q, key, value));
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
	IN_TX(q, sessions_save(q, s, n));
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
