/*
 * db_sqlite: the SQLite engine of db.h (db_engine.h), a thin veneer over
 * sqlite3_stmt. One file, served by one process (db_lock_serving()).
 */
#include "db_engine.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <sqlite3.h>

#include "util.h"

struct lite {
	sqlite3 *h;
	char named[1024]; /* a file error with the file's name */
};

static sqlite3 *
handle(struct db *db)
{
	return ((struct lite *)db->conn)->h;
}

static sqlite3_stmt *
stmt(struct db_stmt *st)
{
	return st->impl;
}

static int
lite_class(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		return DB_CONSTRAINT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return DB_RETRY;
	default:
		return DB_ERROR;
	}
}

/* msg, prefixed with the database file's name when rc is about the file
 * (read-only, cannot open, I/O, full...), so that the operator knows
 * which file to look at. */
static const char *
lite_named(struct db *db, int rc, const char *msg)
{
	struct lite *l = db->conn;
	const char *f = sqlite3_db_filename(l->h, "main");

	switch (rc & 0xff) {
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_PERM:
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		if (f == NULL || f[0] == '\0')
			return msg;
		snprintf(l->named, sizeof(l->named), "%s: %s", f, msg);
		return l->named;
	default:
		return msg;
	}
}

/* Any URI no other engine takes: a file path. */
static int
lite_match(const char *uri)
{
	(void)uri;
	return 1;
}

/* The server writes its database, and SQLite the -wal and -shm files
 * next to it (the -shm mapped in memory): each that exists must be a
 * regular file this user may write, and the directory writable, to
 * create them. A -shm it may not write would be opened read-only and the
 * database refused later with a message naming no file: refused here,
 * naming the file. */
static int
lite_writable(const char *path, char *err, size_t errlen)
{
	static const char *const sfx[] = {"", "-wal", "-shm"};
	char f[PATH_MAX + 8], dir[PATH_MAX];
	struct stat st;
	size_t i;

	if (path[0] == ':' || strncmp(path, "file:", 5) == 0)
		return 0;
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(f, sizeof(f), "%s%s", path, sfx[i]);
		if (lstat(f, &st) == -1) {
			if (errno == ENOENT)
				continue;
			snprintf(err, errlen, "%s: %s", f, strerror(errno));
			return -1;
		}
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "%s: not a regular file", f);
			return -1;
		}
		if (access(f, R_OK | W_OK) == -1) {
			snprintf(err, errlen,
			         "%s: not writable by uid %u (owner %u, mode "
			         "%03o): the server must write its database "
			         "and the -wal and -shm files next to it",
			         f, (unsigned)geteuid(), (unsigned)st.st_uid,
			         (unsigned)(st.st_mode & 07777));
			return -1;
		}
	}
	if (util_strlcpy(dir, path, sizeof(dir)) == 0 &&
	    access(dirname(dir), W_OK | X_OK) == -1) {
		snprintf(err, errlen,
		         "%s: directory not writable by uid %u: SQLite creates "
		         "the database's -wal and -shm files there",
		         dir, (unsigned)geteuid());
		return -1;
	}
	return 0;
}

static int
lite_open(struct db *db, const char *path, char *err, size_t errlen)
{
	struct lite *l;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	db->conn = l;
	if (lite_writable(path, err, errlen) == -1)
		return -1;
	if (sqlite3_open_v2(path, &l->h,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                        SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		         l->h ? sqlite3_errmsg(l->h) : "cannot open");
		return -1;
	}
	sqlite3_busy_timeout(l->h, 10000);
	sqlite3_extended_result_codes(l->h, 0);
	return 0;
}

static void
lite_close(struct db *db)
{
	struct lite *l = db->conn;

	if (l == NULL)
		return;
	if (l->h)
		sqlite3_close_v2(l->h);
	free(l);
	db->conn = NULL;
}

/* The lock file's name: the database's real path (symbolic links and
 * relative names resolved, so that two names of one file lock one file)
 * followed by ".lock". The file itself may not exist yet. */
static int
lock_path(const char *path, char *out, size_t n)
{
	char real[PATH_MAX], dir[PATH_MAX], base[PATH_MAX];

	if (realpath(path, real) == NULL) {
		if (util_strlcpy(dir, path, sizeof(dir)) == -1 ||
		    util_strlcpy(base, path, sizeof(base)) == -1 ||
		    realpath(dirname(dir), real) == NULL)
			return -1;
		if (snprintf(out, n, "%s/%s.lock", real, basename(base)) >=
		    (int)n)
			return -1;
		return 0;
	}
	return snprintf(out, n, "%s.lock", real) >= (int)n ? -1 : 0;
}

/* The pid holding an flock(2) write lock on the file st describes, read
 * from /proc/locks (Linux), or 0 when it cannot be told. */
static long
flock_holder(const struct stat *st)
{
	char line[256];
	unsigned maj, min;
	unsigned long ino;
	long pid, found = 0;
	FILE *f = fopen("/proc/locks", "re");

	if (f == NULL)
		return 0;
	while (found == 0 && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%*d: FLOCK ADVISORY WRITE %ld %x:%x:%lu",
		           &pid, &maj, &min, &ino) == 4 &&
		    maj == major(st->st_dev) && min == minor(st->st_dev) &&
		    ino == (unsigned long)st->st_ino)
			found = pid;
	fclose(f);
	return found;
}

/* The serving lock on the database file itself: an flock(2) write lock on
 * a descriptor kept open for the process's life. It follows the inode, so
 * every name of the file meets it, hard links included, which the .lock
 * file (named after one path) does not see. flock locks are apart from
 * SQLite's POSIX locks (Linux) and belong to the open file description:
 * SQLite closing its own descriptors does not drop this one. The file is
 * created (mode 0600) when missing; a symbolic link is followed. 0, or -1
 * with err. The descriptor is left open on purpose: it is the lock. */
static int
lock_file(const char *uri, char *err, size_t errlen)
{
	struct stat st;
	long pid;
	int fd, n;

	/* In-memory and URI names are no file of their own to lock. */
	if (uri[0] == ':' || strncmp(uri, "file:", 5) == 0)
		return 0;
	/* Read-write, as NFS's flock (a POSIX lock underneath) wants; else
	 * read-only will do for flock, and leaves a file this user may not
	 * write to lite_writable()'s message. O_NONBLOCK: a FIFO does not
	 * hang us. */
	fd = open(uri, O_RDWR | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd == -1 && errno != ENOENT) {
		n = errno;
		if ((fd = open(uri, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1 &&
		    errno == ENOENT)
			errno = n;
	}
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", uri, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", uri);
		goto fail;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		n = errno;
		if (n != EWOULDBLOCK) {
			snprintf(err, errlen, "%s: cannot lock: %s", uri,
			         strerror(n));
			goto fail;
		}
		if ((pid = flock_holder(&st)) > 0)
			snprintf(err, errlen,
			         "%s: database in use by another mutu-server "
			         "(pid %ld) under another name of the file (a "
			         "hard link); one server serves a SQLite file "
			         "(PostgreSQL for several)",
			         uri, pid);
		else
			snprintf(err, errlen,
			         "%s: database in use by another process under "
			         "another name of the file (a hard link); one "
			         "server serves a SQLite file (PostgreSQL for "
			         "several)",
			         uri);
		goto fail;
	}
	return 0; /* fd stays open, and the lock with it */
fail:
	close(fd);
	return -1;
}

static int
lite_lock_serving(const char *uri, char *err, size_t errlen)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	char path[PATH_MAX + 8], pid[32];
	int fd, n;

	if (lock_path(uri, path, sizeof(path)) == -1) {
		snprintf(err, errlen, "%s: cannot resolve its directory: %s",
		         uri, strerror(errno));
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fcntl(fd, F_SETLK, &fl) == -1) {
		n = errno;
		fl.l_type = F_WRLCK;
		if ((n == EACCES || n == EAGAIN) &&
		    fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
			snprintf(
			    err, errlen,
			    "%s: database in use by another mutu-server "
			    "(pid %ld holds %s); one server serves a SQLite "
			    "file (PostgreSQL for several)",
			    uri, (long)fl.l_pid, path);
		else
			snprintf(err, errlen, "%s: cannot lock: %s", path,
			         strerror(n));
		close(fd);
		return -1;
	}
	/* Then the file itself, whatever its name (hard links). */
	if (lock_file(uri, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	/* For people: the lock itself says who holds it (F_GETLK). */
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || write(fd, pid, (size_t)n) != n) {
		/* The lock holds all the same. */
	}
	return fd;
}

static const char *
lite_errmsg(struct db *db)
{
	return lite_named(db, sqlite3_errcode(handle(db)),
	                  sqlite3_errmsg(handle(db)));
}

static int
lite_exec(struct db *db, const char *sql)
{
	char *msg = NULL;
	int rc;

	rc = sqlite3_exec(handle(db), sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		db_set_err(
		    db, lite_class(rc),
		    lite_named(db, rc, msg ? msg : sqlite3_errmsg(handle(db))));
	sqlite3_free(msg);
	return rc == SQLITE_OK ? 0 : -1;
}

static long long
lite_changes(struct db *db)
{
	return sqlite3_changes(handle(db));
}

static int
lite_prepare(struct db_stmt *st, const char *sql, int persistent)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v3(handle(st->db), sql, -1,
	                        persistent ? SQLITE_PREPARE_PERSISTENT : 0, &s,
	                        NULL);
	st->impl = s;
	if (rc == SQLITE_OK)
		return 0;
	db_set_err(st->db, lite_class(rc), sqlite3_errmsg(handle(st->db)));
	return -1;
}

static void
lite_bind_text(struct db_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(stmt(st), i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(stmt(st), i);
}

static void
lite_bind_int64(struct db_stmt *st, int i, long long v)
{
	sqlite3_bind_int64(stmt(st), i, v);
}

static void
lite_bind_double(struct db_stmt *st, int i, double v)
{
	sqlite3_bind_double(stmt(st), i, v);
}

static void
lite_bind_null(struct db_stmt *st, int i)
{
	sqlite3_bind_null(stmt(st), i);
}

static int
lite_step(struct db_stmt *st)
{
	int rc;

	st->db->err[0] = '\0';
	st->db->errclass = 0;
	rc = sqlite3_step(stmt(st));
	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_DONE;
	rc = sqlite3_reset(stmt(st));
	db_set_err(st->db, lite_class(rc), sqlite3_errmsg(handle(st->db)));
	return st->db->errclass;
}

static void
lite_reset(struct db_stmt *st)
{
	sqlite3_reset(stmt(st));
}

static void
lite_clear_bindings(struct db_stmt *st)
{
	sqlite3_clear_bindings(stmt(st));
}

static void
lite_finalize(struct db_stmt *st)
{
	sqlite3_finalize(stmt(st));
	st->impl = NULL;
}

static int
lite_column_count(struct db_stmt *st)
{
	return sqlite3_column_count(stmt(st));
}

static const char *
lite_column_name(struct db_stmt *st, int i)
{
	return sqlite3_column_name(stmt(st), i);
}

static int
lite_column_type(struct db_stmt *st, int i)
{
	switch (sqlite3_column_type(stmt(st), i)) {
	case SQLITE_INTEGER:
		return DB_INTEGER;
	case SQLITE_FLOAT:
		return DB_FLOAT;
	case SQLITE_NULL:
		return DB_NULL;
	default:
		return DB_TEXT;
	}
}

static long long
lite_column_int64(struct db_stmt *st, int i)
{
	return sqlite3_column_int64(stmt(st), i);
}

static double
lite_column_double(struct db_stmt *st, int i)
{
	return sqlite3_column_double(stmt(st), i);
}

static const char *
lite_column_text(struct db_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(stmt(st), i);
}

/* Backups: SQLite's online backup API copies every page of one database
 * into another in one read transaction of the source, so the copy is the
 * database as of one commit while the server keeps writing (WAL readers
 * do not block writers). */

/* How long a copy may wait for a lock, 50 ms at a time. */
#define COPY_TRIES 600

/* Opens path with flags: 0, or -1 with err naming the file. */
static int
copy_open(const char *path, int flags, sqlite3 **h, char *err, size_t n)
{
	if (sqlite3_open_v2(path, h, flags | SQLITE_OPEN_NOMUTEX, NULL) ==
	    SQLITE_OK) {
		sqlite3_busy_timeout(*h, 10000);
		return 0;
	}
	snprintf(err, n, "%s: %s", path,
	         *h ? sqlite3_errmsg(*h) : "cannot open");
	return -1;
}

/* The whole of from copied over to: 0, or -1 with err. */
static int
copy_pages(sqlite3 *from, sqlite3 *to, char *err, size_t n)
{
	sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
	int rc = SQLITE_BUSY, tries = 0;

	if (b == NULL) {
		snprintf(err, n, "backup: %s", sqlite3_errmsg(to));
		return -1;
	}
	while (tries++ < COPY_TRIES) {
		rc = sqlite3_backup_step(b, -1);
		if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
			break;
		sqlite3_sleep(50);
	}
	sqlite3_backup_finish(b);
	if (rc == SQLITE_DONE)
		return 0;
	snprintf(err, n, "backup: %s", sqlite3_errstr(rc));
	return -1;
}

/* PRAGMA integrity_check of h says ok: 0, or -1 with err naming what. */
static int
copy_check(sqlite3 *h, const char *what, char *err, size_t n)
{
	sqlite3_stmt *st = NULL;
	int ok;

	if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) !=
	    SQLITE_OK) {
		snprintf(err, n, "%s: %s", what, sqlite3_errmsg(h));
		return -1;
	}
	ok = sqlite3_step(st) == SQLITE_ROW &&
	     strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
	if (!ok)
		snprintf(err, n, "%s: not a sound SQLite database (%s)", what,
		         sqlite3_errmsg(h));
	sqlite3_finalize(st);
	return ok ? 0 : -1;
}

/* Creates path anew, empty, mode 0600 (a backup holds token hashes and
 * pseudonyms): 0, or -1 with err. */
static int
create_private(const char *path, char *err, size_t n)
{
	int fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd == -1) {
		snprintf(err, n, "%s: %s", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

static int
lite_backup(const char *uri, const char *file, char *err, size_t errlen)
{
	char part[PATH_MAX];
	sqlite3 *from = NULL, *to = NULL;
	int ret = -1, made = 0;

	if ((size_t)snprintf(part, sizeof(part), "%s.part", file) >=
	    sizeof(part)) {
		snprintf(err, errlen, "%s: name too long", file);
		return -1;
	}
	if (access(file, F_OK) == 0) {
		snprintf(err, errlen, "%s exists already: give a new file",
		         file);
		return -1;
	}
	if (copy_open(uri, SQLITE_OPEN_READWRITE, &from, err, errlen) == -1 ||
	    create_private(part, err, errlen) == -1)
		goto fail;
	made = 1;
	if (copy_open(part, SQLITE_OPEN_READWRITE, &to, err, errlen) == -1 ||
	    copy_pages(from, to, err, errlen) == -1 ||
	    copy_check(to, part, err, errlen) == -1)
		goto fail;
	if (sqlite3_close(to) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot close", part);
		goto fail;
	}
	to = NULL;
	/* link() fails if file appeared meanwhile: never overwritten. */
	if (link(part, file) == -1) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		goto fail;
	}
	ret = 0;
fail:
	sqlite3_close(to);
	sqlite3_close(from);
	if (made)
		unlink(part);
	return ret;
}

static int
lite_restore(const char *file, const char *uri, const char *probe, char *err,
             size_t errlen)
{
	sqlite3 *from = NULL, *to = NULL;
	int ret = -1;

	if (access(file, R_OK) == -1) {
		snprintf(err, errlen, "%s: not readable by uid %u: %s", file,
		         (unsigned)geteuid(), strerror(errno));
		return -1;
	}
	if (copy_open(file, SQLITE_OPEN_READONLY, &from, err, errlen) == -1 ||
	    copy_check(from, file, err, errlen) == -1)
		goto fail;
	if (sqlite3_exec(from, probe, NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: not a mutu-server database (%s)",
		         file, sqlite3_errmsg(from));
		goto fail;
	}
	if (access(uri, F_OK) == -1 && create_private(uri, err, errlen) == -1)
		goto fail;
	if (lite_writable(uri, err, errlen) == -1 ||
	    copy_open(uri, SQLITE_OPEN_READWRITE, &to, err, errlen) == -1 ||
	    copy_pages(from, to, err, errlen) == -1 ||
	    copy_check(to, uri, err, errlen) == -1)
		goto fail;
	ret = 0;
fail:
	sqlite3_close(to);
	sqlite3_close(from);
	return ret;
}

const struct db_backend db_sqlite = {
    .name = "sqlite",
    .match = lite_match,
    .concurrent = 0,
    .local_file = 1,
    .lock_serving = lite_lock_serving,
    .backup = lite_backup,
    .restore = lite_restore,
    .open = lite_open,
    .close = lite_close,
    .errmsg = lite_errmsg,
    .exec = lite_exec,
    .changes = lite_changes,
    .prepare = lite_prepare,
    .bind_text = lite_bind_text,
    .bind_int64 = lite_bind_int64,
    .bind_double = lite_bind_double,
    .bind_null = lite_bind_null,
    .step = lite_step,
    .reset = lite_reset,
    .clear_bindings = lite_clear_bindings,
    .finalize = lite_finalize,
    .column_count = lite_column_count,
    .column_name = lite_column_name,
    .column_type = lite_column_type,
    .column_int64 = lite_column_int64,
    .column_double = lite_column_double,
    .column_text = lite_column_text,
};
