/*
 * queue: the agent's durable outbox, a SQLite database in the state
 * directory (WAL, synchronous=FULL). Every record gets the next sequence
 * number of the queue's stream (epoch, seq) in the transaction that stores
 * it; nothing leaves the queue before the server acknowledged the sealed
 * batch that carried it. The same database keeps the usage sessions still
 * open, so that a restart neither loses nor repeats them.
 */
#ifndef MUTU_QUEUE_H
#define MUTU_QUEUE_H

#include <stddef.h>

struct queue;

/* A sealed batch: its body is stored once, so every retry is identical. */
struct queue_batch {
	char batch_id[40];
	long long first_seq, last_seq;
	int records;
	unsigned char
	    *body; /* gzip-compressed; owned, see queue_batch_free() */
	size_t len;
};

/* A usage session still open, as persisted. */
struct queue_session {
	const char *exe;
	unsigned uid;
	long long start, last_seen;
};

/* Opens or creates the queue at path. A new database gets a random epoch.
 * A database that fails its integrity check (or is not one) is moved aside
 * as path.corrupt-TIME (with its -wal and -shm), a new one with a new
 * epoch is created, and a "gap" record reports the lost epoch. NULL on
 * failure, with the reason in err. */
struct queue *queue_open(const char *path, char *err, size_t errlen);
/* Opens the queue at path read-only, for a look from outside the agent
 * (mutu-agent status) while the agent may run: nothing is created,
 * migrated or written (SQLite WAL readers do not block its writer). Only
 * the calls that read work on it: queue_stats(), queue_pending(),
 * queue_meta_get(), queue_disk_bytes(). NULL with the reason in err if
 * the file is absent, unreadable, or not of this agent's schema. */
struct queue *queue_open_readonly(const char *path, char *err, size_t errlen);
/* Closes the queue; NULL is a no-op. */
void queue_close(struct queue *q);
/* Whether the queue's path no longer names the file opened (deleted, or
 * replaced with the state directory): what is written then goes to a
 * file nobody will read again. */
int queue_gone(const struct queue *q);
/* The stream's epoch: 32 hex characters, fixed for the database's life. */
const char *queue_epoch(const struct queue *q);

/* Groups the following calls in one durable transaction (BEGIN IMMEDIATE).
 * Calls made outside one run in a transaction of their own. */
int queue_begin(struct queue *q);
/* Commits; the data is on disk when it returns 0. */
int queue_commit(struct queue *q);
/* Rolls back, and forgets sequence numbers handed out since begin. */
void queue_rollback(struct queue *q);

/* Stores one record (body: JSON text) of type with its creation time.
 * Returns its sequence number (> 0), or -1. */
long long queue_push(struct queue *q, const char *type, long long created,
                     const char *body);
/* Number of records waiting for acknowledgement, or -1. */
long long queue_pending(struct queue *q);

/* What the queue holds, read in one statement (one snapshot). */
struct queue_stats {
	long long records;     /* waiting for acknowledgement */
	long long oldest;      /* creation time of the first of them, 0: none */
	long long in_batch;    /* of them, in the sealed batch being sent */
	long long quarantined; /* refused by the server, set aside for good */
	long long dropped;     /* given up to keep the disk budget, ever */
};

/* Fills out. Returns 0, or -1. */
int queue_stats(struct queue *q, struct queue_stats *out);

/* A queued record, as queue_peek() shows it. Strings are borrowed for the
 * callback's duration. */
struct queue_rec {
	long long seq;
	const char *type;
	long long created; /* wall clock at creation (Unix seconds) */
	long long boot;    /* boot number of the queue at creation */
	long long mono;    /* util_boot_ms() at creation */
	const char *body;  /* JSON text */
};

/* Calls cb on the oldest records, in sequence order, while their count
 * stays within max_records and their bodies within max_bytes (at least one
 * record is always visited). Returns the number visited, or -1. */
int queue_peek(struct queue *q, int max_records, size_t max_bytes,
               int (*cb)(const struct queue_rec *r, void *arg), void *arg);
/* Stores b as the sealed batch. Only one batch is sealed at a time. */
int queue_seal(struct queue *q, const struct queue_batch *b);
/* Loads the sealed batch into b: 1 if there is one, 0 if none, -1. */
int queue_sealed(struct queue *q, struct queue_batch *b);
/* Frees the body of b. */
void queue_batch_free(struct queue_batch *b);
/* The server acknowledged batch_id: deletes the batch and its records in
 * one transaction. Returns 0, or -1 if batch_id is not the sealed batch. */
int queue_ack(struct queue *q, const char *batch_id);

/* Forgets the sealed batch but keeps its records, to seal them again
 * differently (smaller, without a refused record). Only for a batch the
 * server refused as a whole. */
int queue_unseal(struct queue *q);
/* Moves the records first..last (not in a sealed batch) to the quarantine
 * table with the reason, where they stay for inspection but are never sent
 * again. Returns the number moved, or -1. */
int queue_quarantine(struct queue *q, long long first, long long last,
                     const char *reason);
/* Deletes the queued records of the given type (inventory deltas the
 * server cannot apply). Returns the number deleted, or -1. */
int queue_delete_type(struct queue *q, const char *type);

/* The queue's boot number (it changes when the machine's boot id does)
 * and util_boot_ms() now: the clock the records' ages are measured on. */
void queue_clock(const struct queue *q, long long *boot, long long *mono);
/* Tells the queue the machine's boot id; a new one opens a new boot
 * number. Returns 0, or -1. */
int queue_set_boot(struct queue *q, const char *boot_id);

/* Bytes the queue uses on disk: the database file and its WAL. */
long long queue_disk_bytes(struct queue *q);
/* Moves the WAL into the database and truncates it, giving the space
 * back (the agent does it when its queue is empty). */
void queue_checkpoint(struct queue *q);

/* What queue_enforce_budget() did. */
struct queue_budget {
	long long compacted; /* usage records folded into daily ones */
	long long dropped;   /* records given up */
	long long first_seq, last_seq; /* range of the dropped ones */
	long long from, to;            /* their creation times */
};

/* Keeps the queue within budget bytes: first folds the usage records
 * created before now - 1 day into one record per (product, user, day),
 * then, if still above, drops the oldest records not in the sealed batch.
 * Each drop queues a "gap" record naming the range, so the server knows.
 * Returns 1 if something was done, 0 if within budget, -1 on error. */
int queue_enforce_budget(struct queue *q, long long budget, long long now,
                         struct queue_budget *out);

/* Reads meta value key into out; returns 0, or -1 if absent. */
int queue_meta_get(struct queue *q, const char *key, char *out, size_t n);
/* Sets meta value key. */
int queue_meta_set(struct queue *q, const char *key, const char *value);

/* Replaces the persisted open sessions with the n given. */
int queue_sessions_save(struct queue *q, const struct queue_session *s,
                        size_t n);
/* Calls cb for each persisted open session. Returns the count, or -1. */
int queue_sessions_load(struct queue *q,
                        int (*cb)(const struct queue_session *, void *),
                        void *arg);

#endif
