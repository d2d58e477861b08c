/*
 * powerloss: a SQLite VFS shim that forgets every write not yet synced
 * when the process dies, as a power cut forgets the page cache. Loaded
 * with LD_PRELOAD, it becomes the default VFS of the process: writes are
 * kept in memory, reads see them, and only xSync puts them in the file.
 * A clean xClose writes them too (the kernel would, given time); kill -9
 * or _exit() loses them. Tests then check that SQLite, as the agent uses
 * it, loses nothing it reported committed (docs/RELIABILITY.md).
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

struct write {
	sqlite3_int64 off;
	int n;
	struct write *next;
	unsigned char data[];
};

struct pl_file {
	sqlite3_file base;
	sqlite3_int64 trunc;  /* pending truncation, -1 if none */
	struct write *head, *tail;
	sqlite3_file real[];  /* the wrapped file, szOsFile bytes */
};

static sqlite3_vfs *real_vfs;

static void
drop(struct pl_file *f)
{
	struct write *w, *next;

	for (w = f->head; w; w = next) {
		next = w->next;
		free(w);
	}
	f->head = f->tail = NULL;
	f->trunc = -1;
}

static int
flush(struct pl_file *f)
{
	struct write *w;
	int rc = SQLITE_OK;

	if (f->trunc >= 0)
		rc = f->real->pMethods->xTruncate(f->real, f->trunc);
	for (w = f->head; w && rc == SQLITE_OK; w = w->next)
		rc = f->real->pMethods->xWrite(f->real, w->data, w->n, w->off);
	drop(f);
	return rc;
}

static int
pl_close(sqlite3_file *p)
{
	struct pl_file *f = (struct pl_file *)p;
	int rc = flush(f);

	f->real->pMethods->xClose(f->real);
	return rc;
}

static sqlite3_int64
real_size(struct pl_file *f)
{
	sqlite3_int64 n = 0;

	f->real->pMethods->xFileSize(f->real, &n);
	if (f->trunc >= 0 && f->trunc < n)
		n = f->trunc;
	return n;
}

static int
pl_read(sqlite3_file *p, void *buf, int n, sqlite3_int64 off)
{
	struct pl_file *f = (struct pl_file *)p;
	sqlite3_int64 size = real_size(f), end = off + n, lo, hi;
	unsigned char *out = buf;
	struct write *w;
	int rc = SQLITE_OK;

	memset(buf, 0, n);
	if (off < size) {
		int m = (int)(size - off < n ? size - off : n);

		rc = f->real->pMethods->xRead(f->real, buf, m, off);
		if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ)
			return rc;
	}
	for (w = f->head; w; w = w->next) {
		lo = w->off > off ? w->off : off;
		hi = w->off + w->n < end ? w->off + w->n : end;
		if (lo < hi)
			memcpy(out + (lo - off), w->data + (lo - w->off),
			       (size_t)(hi - lo));
		if (w->off + w->n > size)
			size = w->off + w->n;
	}
	return end > size ? SQLITE_IOERR_SHORT_READ : SQLITE_OK;
}

static int
pl_write(sqlite3_file *p, const void *buf, int n, sqlite3_int64 off)
{
	struct pl_file *f = (struct pl_file *)p;
	struct write *w = malloc(sizeof(*w) + (size_t)n);

	if (w == NULL)
		return SQLITE_IOERR_NOMEM;
	w->off = off;
	w->n = n;
	w->next = NULL;
	memcpy(w->data, buf, (size_t)n);
	if (f->tail)
		f->tail->next = w;
	else
		f->head = w;
	f->tail = w;
	return SQLITE_OK;
}

static int
pl_truncate(sqlite3_file *p, sqlite3_int64 size)
{
	struct pl_file *f = (struct pl_file *)p;
	struct write *w;

	for (w = f->head; w; w = w->next)
		if (w->off + w->n > size)
			w->n = w->off >= size ? 0 : (int)(size - w->off);
	if (f->trunc < 0 || size < f->trunc)
		f->trunc = size;
	return SQLITE_OK;
}

static int
pl_sync(sqlite3_file *p, int flags)
{
	struct pl_file *f = (struct pl_file *)p;
	int rc = flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int
pl_size(sqlite3_file *p, sqlite3_int64 *out)
{
	struct pl_file *f = (struct pl_file *)p;
	sqlite3_int64 n = real_size(f);
	struct write *w;

	for (w = f->head; w; w = w->next)
		if (w->n > 0 && w->off + w->n > n)
			n = w->off + w->n;
	*out = n;
	return SQLITE_OK;
}

#define PASS(name, proto, args)                                                \
	static int pl_##name proto                                             \
	{                                                                      \
		struct pl_file *f = (struct pl_file *)p;                       \
		return f->real->pMethods->x##name args;                        \
	}
PASS(Lock, (sqlite3_file * p, int l), (f->real, l))
PASS(Unlock, (sqlite3_file * p, int l), (f->real, l))
PASS(CheckReservedLock, (sqlite3_file * p, int *o), (f->real, o))
PASS(FileControl, (sqlite3_file * p, int op, void *a), (f->real, op, a))
PASS(SectorSize, (sqlite3_file * p), (f->real))
PASS(DeviceCharacteristics, (sqlite3_file * p), (f->real))
PASS(ShmMap, (sqlite3_file * p, int i, int sz, int e, void volatile **pp),
     (f->real, i, sz, e, pp))
PASS(ShmLock, (sqlite3_file * p, int o, int n, int fl), (f->real, o, n, fl))
PASS(ShmUnmap, (sqlite3_file * p, int d), (f->real, d))

static void
pl_ShmBarrier(sqlite3_file *p)
{
	struct pl_file *f = (struct pl_file *)p;

	f->real->pMethods->xShmBarrier(f->real);
}

static const sqlite3_io_methods pl_methods = {
    2,           pl_close,         pl_read,
    pl_write,    pl_truncate,      pl_sync,
    pl_size,     pl_Lock,          pl_Unlock,
    pl_CheckReservedLock,          pl_FileControl,
    pl_SectorSize,                 pl_DeviceCharacteristics,
    pl_ShmMap,   pl_ShmLock,       pl_ShmBarrier,
    pl_ShmUnmap, NULL,             NULL,
};

static int
pl_open(sqlite3_vfs *v, const char *name, sqlite3_file *p, int flags,
        int *out)
{
	struct pl_file *f = (struct pl_file *)p;
	int rc;

	(void)v;
	memset(f, 0, sizeof(*f));
	f->trunc = -1;
	rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out);
	f->base.pMethods = rc == SQLITE_OK && f->real->pMethods ? &pl_methods
	                                                        : NULL;
	return rc;
}

#define VPASS(name, proto, args)                                               \
	static int pl_v##name proto                                            \
	{                                                                      \
		(void)v;                                                       \
		return real_vfs->x##name args;                                 \
	}
VPASS(Delete, (sqlite3_vfs * v, const char *n, int s), (real_vfs, n, s))
VPASS(Access, (sqlite3_vfs * v, const char *n, int fl, int *o),
      (real_vfs, n, fl, o))
VPASS(FullPathname, (sqlite3_vfs * v, const char *n, int sz, char *o),
      (real_vfs, n, sz, o))
VPASS(Randomness, (sqlite3_vfs * v, int n, char *o), (real_vfs, n, o))
VPASS(Sleep, (sqlite3_vfs * v, int us), (real_vfs, us))
VPASS(CurrentTime, (sqlite3_vfs * v, double *o), (real_vfs, o))
VPASS(GetLastError, (sqlite3_vfs * v, int n, char *o), (real_vfs, n, o))
VPASS(CurrentTimeInt64, (sqlite3_vfs * v, sqlite3_int64 *o), (real_vfs, o))

static sqlite3_vfs pl_vfs = {
    2,    0,    0,    NULL, "powerloss", NULL, pl_open, pl_vDelete,
    pl_vAccess,       pl_vFullPathname,        NULL,    NULL,
    NULL, NULL,       pl_vRandomness,          pl_vSleep,
    pl_vCurrentTime,  pl_vGetLastError,        pl_vCurrentTimeInt64,
    NULL, NULL,       NULL,
};

__attribute__((constructor)) static void
powerloss_init(void)
{
	if ((real_vfs = sqlite3_vfs_find(NULL)) == NULL)
		abort();
	pl_vfs.szOsFile = (int)sizeof(struct pl_file) + real_vfs->szOsFile;
	pl_vfs.mxPathname = real_vfs->mxPathname;
	sqlite3_vfs_register(&pl_vfs, 1);
}
