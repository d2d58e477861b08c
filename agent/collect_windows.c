/*
 * collect_windows: inventory and process sampling on Windows, read from the
 * registry and Win32 calls. No WMI, no subprocess. Every string the
 * system gives is read with the wide-character (W) calls and converted to
 * UTF-8 with WideCharToMultiByte, so accented names come out right.
 *
 * Installed software is what Windows' "Programs and Features" lists: the
 * Uninstall keys of HKLM in the 64-bit and the 32-bit registry views, and
 * of each user hive loaded under HKEY_USERS (the users logged on, and the
 * profiles a service keeps loaded), without the entries that list hides
 * (no DisplayName, SystemComponent = 1, updates with a ParentKeyName).
 * Product keys are never read.
 *
 * Processes come from a Toolhelp snapshot; each one's user is the owner
 * SID of its token, mapped to a uid as collect.h says. Paths under a
 * user's profile are reported as %USERPROFILE%\..., and so are
 * InstallLocations in the inventory.
 */
#include "collect.h"

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <iphlpapi.h>
#include <sddl.h>
#include <tlhelp32.h>
#include <winternl.h>
#include <winver.h>
#include <wtsapi32.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash.h"
#include "proto.h"
#include "smbios.h"
#include "util.h"

#define UNINSTALL L"Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall"
#define NT_KEY    L"SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"
#define PROFILES  NT_KEY L"\\ProfileList"
#define CPU_KEY   L"HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0"
#define BOOT_KEY                                                               \
	L"SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Memory "        \
	L"Management\\PrefetchParameters"
#define MASK      L"%USERPROFILE%"
#define MASK_LEN  13
#define CACHE_MS  (5 * 60 * 1000) /* Uninstall scan kept this long */
#define REG_MAX   (64 * 1024)     /* largest string value read, bytes */
#define WPATH_MAX 32768           /* longest Windows path, characters */
#define MAX_SIDS  4096
#define MAX_LOCKS 1024
#define FT_UNIX   116444736000000000ULL /* 1970 in FILETIME units */

/* An installed product, for collect_owners(). */
struct product {
	wchar_t *loc; /* InstallLocation, masked, no trailing '\\'; or NULL */
	size_t loclen;
	char *name;      /* DisplayName, UTF-8 */
	char *publisher; /* UTF-8, or NULL */
};

/* A person's profile directory, masked out of paths. */
struct profile {
	wchar_t *path; /* expanded, no trailing '\\' */
	size_t len;
};

/* A SID seen in a process token or in ProfileList. */
struct sid {
	unsigned uid;
	char *str;  /* "S-1-5-21-..." */
	char *name; /* "DOMAIN\\user" once looked up, or NULL */
};

/* A masked executable path of the last snapshot and the real one. */
struct exe {
	char *masked;
	wchar_t *real;
};

/* A session's lock state (collect_set_session_locked). */
struct lock {
	unsigned session;
	int locked;
	long long since; /* unlocked at, util_boot_ms() */
};

struct collect {
	DWORD self;
	struct product *prod; /* longest InstallLocation first */
	size_t nprod;
	ULONGLONG scanned;  /* GetTickCount64() at the last scan, 0: never */
	ULONGLONG profiled; /* the same, for ProfileList */
	struct profile *prof;
	size_t nprof;
	wchar_t *profiles_dir; /* ProfilesDirectory, C:\Users */
	size_t profiles_dir_len;
	wchar_t **broad; /* folders no product owns: C:\Program Files... */
	size_t nbroad;
	struct sid *sids;
	size_t nsids;
	struct exe *exes;
	size_t nexes, capexes;
	CRITICAL_SECTION mu; /* guards the lock states below */
	struct lock *locks;
	size_t nlocks;
	int asleep;
	long long awake_since;      /* util_boot_ms() */
	long long wall_ms, boot_ms; /* clocks at the start of collect_procs */
	wchar_t wbuf[WPATH_MAX];    /* scratch for image paths */
};

/* ---- strings ---------------------------------------------------------- */

/* A new UTF-8 copy of w, or NULL. Unpaired surrogates become U+FFFD. */
static char *
w2u(const wchar_t *w)
{
	int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
	char *s;

	if (n <= 0 || (s = malloc((size_t)n)) == NULL)
		return NULL;
	if (WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) != n) {
		free(s);
		return NULL;
	}
	return s;
}

/* UTF-8 of w into out; -1 if it does not fit. */
static int
w2u_buf(const wchar_t *w, char *out, size_t n)
{
	if (n == 0 || n > INT_MAX ||
	    WideCharToMultiByte(CP_UTF8, 0, w, -1, out, (int)n, NULL, NULL) <=
	        0) {
		if (n > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

/* A new wide copy of the UTF-8 string s, or NULL. */
static wchar_t *
u2w(const char *s)
{
	int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
	wchar_t *w;

	if (n <= 0 || (w = malloc((size_t)n * sizeof(*w))) == NULL)
		return NULL;
	if (MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n) != n) {
		free(w);
		return NULL;
	}
	return w;
}

static wchar_t *
wdup(const wchar_t *w)
{
	size_t n = wcslen(w) + 1;
	wchar_t *d = malloc(n * sizeof(*d));

	if (d)
		memcpy(d, w, n * sizeof(*d));
	return d;
}

/* Whether the first n characters of a and b are equal, ignoring case as
 * the file system does. */
static int
wprefix(const wchar_t *s, size_t slen, const wchar_t *pre, size_t n)
{
	return n <= slen && n <= INT_MAX &&
	       CompareStringOrdinal(s, (int)n, pre, (int)n, TRUE) == CSTR_EQUAL;
}

static void
wtrim(wchar_t *w)
{
	size_t n = wcslen(w), i = 0;

	while (n > 0 && (w[n - 1] == L' ' || w[n - 1] == L'\t' ||
	                 w[n - 1] == L'\r' || w[n - 1] == L'\n'))
		w[--n] = 0;
	while (w[i] == L' ' || w[i] == L'\t')
		i++;
	if (i > 0)
		memmove(w, w + i, (n - i + 1) * sizeof(*w));
}

/* Drops trailing backslashes (but keeps "C:\"). */
static size_t
wstrip_slash(wchar_t *w)
{
	size_t n = wcslen(w);

	while (n > 3 && (w[n - 1] == L'\\' || w[n - 1] == L'/'))
		w[--n] = 0;
	return n;
}

static void
set_str(json_t *o, const char *key, const char *val)
{
	json_t *s;

	/* json_string() refuses invalid UTF-8: then the field is absent. */
	if (val != NULL && *val != '\0' && (s = json_string(val)) != NULL)
		json_object_set_new(o, key, s);
}

static void
set_wstr(json_t *o, const char *key, const wchar_t *val)
{
	char *s;

	if (val == NULL || *val == 0 || (s = w2u(val)) == NULL)
		return;
	set_str(o, key, s);
	free(s);
}

static void
set_int(json_t *o, const char *key, long long v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

static long long
ft_unix(const FILETIME *ft)
{
	ULONGLONG t = (ULONGLONG)ft->dwHighDateTime << 32 | ft->dwLowDateTime;

	return t < FT_UNIX ? 0 : (long long)((t - FT_UNIX) / 10000000ULL);
}

static long long
ft_unix_ms(const FILETIME *ft)
{
	ULONGLONG t = (ULONGLONG)ft->dwHighDateTime << 32 | ft->dwLowDateTime;

	return t < FT_UNIX ? 0 : (long long)((t - FT_UNIX) / 10000ULL);
}

/* ---- registry --------------------------------------------------------- */

/* The string value name of k: REG_SZ, or REG_EXPAND_SZ expanded; trimmed.
 * A new string, or NULL if absent, empty, not a string or too long. */
static wchar_t *
reg_wstr(HKEY k, const wchar_t *name)
{
	wchar_t small[256], *w = NULL, *x;
	DWORD type, bytes, got;
	LSTATUS rc;
	int tries;

	/* Most values fit in small: one call (each is a round trip to the
	 * registry, and an inventory makes tens of thousands). */
	got = sizeof(small) - sizeof(small[0]);
	rc = RegQueryValueExW(k, name, NULL, &type, (BYTE *)small, &got);
	if (rc == ERROR_SUCCESS) {
		if (type != REG_SZ && type != REG_EXPAND_SZ)
			return NULL;
		small[got / sizeof(small[0])] = 0;
		if ((w = wdup(small)) == NULL)
			return NULL;
	}
	for (tries = 0; rc == ERROR_MORE_DATA && tries < 3; tries++) {
		bytes = 0;
		if (RegQueryValueExW(k, name, NULL, &type, NULL, &bytes) !=
		        ERROR_SUCCESS ||
		    (type != REG_SZ && type != REG_EXPAND_SZ) ||
		    bytes > REG_MAX)
			return NULL;
		if ((w = calloc(bytes / sizeof(*w) + 1, sizeof(*w))) == NULL)
			return NULL;
		got = bytes;
		rc = RegQueryValueExW(k, name, NULL, &type, (BYTE *)w, &got);
		if (rc == ERROR_SUCCESS &&
		    (type == REG_SZ || type == REG_EXPAND_SZ)) {
			w[got / sizeof(*w)] = 0; /* got <= bytes: fits */
			break;
		}
		free(w); /* grew in between (ERROR_MORE_DATA): again */
		w = NULL;
	}
	if (w == NULL)
		return NULL;
	if (type == REG_EXPAND_SZ) {
		got = ExpandEnvironmentStringsW(w, NULL, 0);
		if (got > 0 && got <= WPATH_MAX &&
		    (x = calloc(got + 1, sizeof(*x))) != NULL) {
			if (ExpandEnvironmentStringsW(w, x, got + 1) > 0) {
				free(w);
				w = x;
			} else
				free(x);
		}
	}
	wtrim(w);
	if (*w == 0) {
		free(w);
		return NULL;
	}
	return w;
}

static int
reg_dword(HKEY k, const wchar_t *name, DWORD *v)
{
	DWORD type, n = sizeof(*v);

	if (RegQueryValueExW(k, name, NULL, &type, (BYTE *)v, &n) !=
	        ERROR_SUCCESS ||
	    type != REG_DWORD || n != sizeof(*v))
		return -1;
	return 0;
}

static HKEY
reg_open(HKEY root, const wchar_t *path, REGSAM view)
{
	HKEY k;

	if (RegOpenKeyExW(root, path, 0, KEY_READ | view, &k) != ERROR_SUCCESS)
		return NULL;
	return k;
}

/* ---- SIDs and users --------------------------------------------------- */

/* The sub-authorities of a SID string after "S-1-": their number, the
 * first two and the last. -1 if it is not one. */
static int
sid_parts(const char *sid, unsigned long long *a, unsigned long long *b,
          unsigned long long *last)
{
	const char *p;
	char *end;
	unsigned long long v;
	int n = 0;

	if (strncmp(sid, "S-1-", 4) != 0)
		return -1;
	for (p = sid + 4;; p = end + 1) {
		if (*p < '0' || *p > '9')
			return -1;
		v = strtoull(p, &end, 10);
		if (n == 0)
			*a = v;
		else if (n == 1)
			*b = v;
		*last = v;
		n++;
		if (*end == '\0')
			break;
		if (*end != '-')
			return -1;
	}
	return n;
}

/* Whether a SID is a person's: a local or domain account with RID >= 1000
 * (S-1-5-21-x-y-z-RID) or an Azure AD account (S-1-12-1-...). */
static int
sid_person(const char *sid)
{
	unsigned long long a = 0, b = 0, last = 0;
	int n = sid_parts(sid, &a, &b, &last);

	if (n >= 2 && a == 12 && b == 1)
		return 1;
	return n == 6 && a == 5 && b == 21 && last >= 1000;
}

/* The uid of a SID string (collect.h). */
static unsigned
sid_uid(const char *sid)
{
	unsigned long long a = 0, b = 0, last = 0;
	uint32_t h = hash_fnv32(sid);

	if (sid_person(sid))
		return 0x80000000u | (h & 0x7fffffffu);
	if (sid_parts(sid, &a, &b, &last) >= 1 && last < 1000)
		return (unsigned)last;
	return h % 1000u;
}

/* Remembers a SID; returns its uid. The newest SID wins a shared uid. */
static unsigned
sid_note(struct collect *c, const char *str)
{
	unsigned uid = sid_uid(str);
	struct sid *p;
	size_t i;

	char *dup;

	for (i = 0; i < c->nsids; i++) {
		if (c->sids[i].uid != uid)
			continue;
		if (strcmp(c->sids[i].str, str) != 0 &&
		    (dup = strdup(str)) != NULL) {
			free(c->sids[i].name);
			c->sids[i].name = NULL;
			free(c->sids[i].str);
			c->sids[i].str = dup;
		}
		return uid;
	}
	if (c->nsids == MAX_SIDS ||
	    (p = realloc(c->sids, (c->nsids + 1) * sizeof(*p))) == NULL)
		return uid;
	c->sids = p;
	p[c->nsids].uid = uid;
	p[c->nsids].name = NULL;
	if ((p[c->nsids].str = strdup(str)) != NULL)
		c->nsids++;
	return uid;
}

/* ---- profiles and masking --------------------------------------------- */

static void
free_profiles(struct collect *c)
{
	size_t i;

	for (i = 0; i < c->nprof; i++)
		free(c->prof[i].path);
	free(c->prof);
	free(c->profiles_dir);
	c->prof = NULL;
	c->nprof = 0;
	c->profiles_dir = NULL;
	c->profiles_dir_len = 0;
}

/* Reads ProfileList: the profile directory of every person, and their
 * SIDs (so that collect_username() finds logged-off users). */
static void
load_profiles(struct collect *c)
{
	wchar_t name[256], *path;
	struct profile *p;
	HKEY k, e;
	DWORD i, len;
	char *sid;

	free_profiles(c);
	c->profiled = GetTickCount64() | 1;
	if ((k = reg_open(HKEY_LOCAL_MACHINE, PROFILES, KEY_WOW64_64KEY)) ==
	    NULL)
		return;
	if ((c->profiles_dir = reg_wstr(k, L"ProfilesDirectory")) != NULL)
		c->profiles_dir_len = wstrip_slash(c->profiles_dir);
	for (i = 0;; i++) {
		len = sizeof(name) / sizeof(name[0]);
		if (RegEnumKeyExW(k, i, name, &len, NULL, NULL, NULL, NULL) !=
		    ERROR_SUCCESS)
			break;
		if ((sid = w2u(name)) == NULL)
			continue;
		if (!sid_person(sid)) {
			free(sid);
			continue;
		}
		sid_note(c, sid);
		free(sid);
		if ((e = reg_open(k, name, 0)) == NULL)
			continue;
		path = reg_wstr(e, L"ProfileImagePath");
		RegCloseKey(e);
		if (path == NULL)
			continue;
		p = realloc(c->prof, (c->nprof + 1) * sizeof(*p));
		if (p == NULL) {
			free(path);
			continue;
		}
		c->prof = p;
		p[c->nprof].path = path;
		p[c->nprof].len = wstrip_slash(path);
		if (p[c->nprof].len > 3) /* never a whole drive */
			c->nprof++;
		else
			free(path);
	}
	RegCloseKey(k);
}

/* A new copy of path with a person's profile directory replaced by
 * %USERPROFILE%: a profile from ProfileList, or any folder directly under
 * ProfilesDirectory but Public, Default and All Users. NULL on no memory. */
static wchar_t *
mask_path(const struct collect *c, const wchar_t *path)
{
	static const wchar_t *const shared[] = {L"Public", L"Default",
	                                        L"Default User", L"All Users"};
	size_t n = wcslen(path), i, cut = 0, comp;
	const wchar_t *rest;
	wchar_t *out;

	for (i = 0; i < c->nprof && cut == 0; i++)
		if (wprefix(path, n, c->prof[i].path, c->prof[i].len) &&
		    (path[c->prof[i].len] == L'\\' ||
		     path[c->prof[i].len] == 0))
			cut = c->prof[i].len;
	if (cut == 0 && c->profiles_dir_len > 0 &&
	    wprefix(path, n, c->profiles_dir, c->profiles_dir_len) &&
	    path[c->profiles_dir_len] == L'\\') {
		rest = path + c->profiles_dir_len + 1;
		comp = wcscspn(rest, L"\\");
		for (i = 0; comp > 0 && i < sizeof(shared) / sizeof(shared[0]);
		     i++)
			if (wcslen(shared[i]) == comp &&
			    wprefix(rest, comp, shared[i], comp))
				comp = 0;
		if (comp > 0)
			cut = (size_t)(rest - path) + comp;
	}
	if (cut == 0)
		return wdup(path);
	if ((out = malloc((MASK_LEN + n - cut + 1) * sizeof(*out))) == NULL)
		return NULL;
	memcpy(out, MASK, MASK_LEN * sizeof(*out));
	memcpy(out + MASK_LEN, path + cut, (n - cut + 1) * sizeof(*out));
	return out;
}

/* Folders too broad to be a product's InstallLocation. */
static void
load_broad(struct collect *c)
{
	static const wchar_t *const env[] = {L"%ProgramFiles%",
	                                     L"%ProgramFiles(x86)%",
	                                     L"%ProgramW6432%",
	                                     L"%CommonProgramFiles%",
	                                     L"%CommonProgramFiles(x86)%",
	                                     L"%SystemRoot%",
	                                     L"%SystemRoot%\\System32",
	                                     L"%SystemRoot%\\SysWOW64",
	                                     L"%ProgramData%",
	                                     MASK,
	                                     MASK L"\\AppData",
	                                     MASK L"\\AppData\\Local",
	                                     MASK L"\\AppData\\Roaming",
	                                     MASK L"\\AppData\\Local\\Programs",
	                                     MASK L"\\Desktop",
	                                     MASK L"\\Downloads",
	                                     MASK L"\\Documents"};
	wchar_t buf[1024], **p;
	size_t i;
	DWORD n;

	for (i = 0; i < sizeof(env) / sizeof(env[0]); i++) {
		if (wcsncmp(env[i], MASK, MASK_LEN) == 0) {
			if (wcslen(env[i]) >= sizeof(buf) / sizeof(buf[0]))
				continue;
			wcscpy(buf, env[i]);
		} else {
			n = ExpandEnvironmentStringsW(
			    env[i], buf, sizeof(buf) / sizeof(buf[0]));
			if (n == 0 || n > sizeof(buf) / sizeof(buf[0]) ||
			    wcschr(buf, L'%') != NULL)
				continue;
		}
		wstrip_slash(buf);
		p = realloc(c->broad, (c->nbroad + 1) * sizeof(*p));
		if (p == NULL)
			return;
		c->broad = p;
		if ((p[c->nbroad] = wdup(buf)) != NULL)
			c->nbroad++;
	}
}

static int
too_broad(const struct collect *c, const wchar_t *loc, size_t len)
{
	size_t i;

	if (len <= 3) /* "C:\", "C:" or less */
		return 1;
	for (i = 0; i < c->nbroad; i++)
		if (wcslen(c->broad[i]) == len &&
		    wprefix(loc, len, c->broad[i], len))
			return 1;
	return c->profiles_dir_len == len &&
	       wprefix(loc, len, c->profiles_dir, len);
}

/* ---- installed software ----------------------------------------------- */

struct scan {
	struct collect *c;
	json_t *list; /* NULL: products only */
	struct product *prod;
	size_t nprod, cap;
	size_t entries;
};

static void
free_products(struct product *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(p[i].loc);
		free(p[i].name);
		free(p[i].publisher);
	}
	free(p);
}

/* InstallDate is YYYYMMDD (some installers write YYYY-MM-DD); GLPI wants
 * YYYY-MM-DD. Anything else is left out. */
static void
set_install_date(json_t *o, const wchar_t *w)
{
	char raw[16], d[16];
	int y, m, day, i;

	if (w == NULL || w2u_buf(w, raw, sizeof(raw)) == -1)
		return;
	if (strlen(raw) == 10 && raw[4] == '-' && raw[7] == '-')
		snprintf(d, sizeof(d), "%.4s%.2s%.2s", raw, raw + 5, raw + 8);
	else
		util_strlcpy(d, raw, sizeof(d));
	if (strlen(d) != 8)
		return;
	for (i = 0; i < 8; i++)
		if (d[i] < '0' || d[i] > '9')
			return;
	y = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 +
	    (d[3] - '0');
	m = (d[4] - '0') * 10 + (d[5] - '0');
	day = (d[6] - '0') * 10 + (d[7] - '0');
	if (y < 1980 || y > 2999 || m < 1 || m > 12 || day < 1 || day > 31)
		return;
	snprintf(d, sizeof(d), "%04d-%02d-%02d", y, m, day);
	set_str(o, "install_date", d);
}

/* Reads one Uninstall entry; adds it to the list and the products. */
static void
add_entry(struct scan *sc, HKEY e, const wchar_t *key, const char *arch)
{
	wchar_t *name, *parent, *loc = NULL, *masked = NULL, *pub, *v;
	struct product *p;
	json_t *o;
	DWORD dw;

	if (reg_dword(e, L"SystemComponent", &dw) == 0 && dw == 1)
		return;
	if ((parent = reg_wstr(e, L"ParentKeyName")) != NULL) {
		free(parent); /* an update, listed under its product */
		return;
	}
	if ((name = reg_wstr(e, L"DisplayName")) == NULL)
		return;
	if ((loc = reg_wstr(e, L"InstallLocation")) != NULL) {
		/* Some installers quote it. */
		if (loc[0] == L'"' && wcslen(loc) >= 2 &&
		    loc[wcslen(loc) - 1] == L'"') {
			loc[wcslen(loc) - 1] = 0;
			memmove(loc, loc + 1, wcslen(loc) * sizeof(*loc));
		}
		wstrip_slash(loc);
		masked = mask_path(sc->c, loc);
	}
	pub = reg_wstr(e, L"Publisher");
	if (sc->list && sc->entries < PROTO_MAX_SOFTWARE) {
		o = json_object();
		set_wstr(o, "name", name);
		if ((v = reg_wstr(e, L"DisplayVersion")) != NULL) {
			set_wstr(o, "version", v);
			free(v);
		}
		set_wstr(o, "publisher", pub);
		if ((v = reg_wstr(e, L"InstallDate")) != NULL) {
			set_install_date(o, v);
			free(v);
		}
		set_wstr(o, "folder", masked);
		set_str(o, "arch", arch);
		set_wstr(o, "guid", key);
		set_str(o, "from", "registry");
		if (reg_dword(e, L"EstimatedSize", &dw) == 0 && dw > 0)
			set_int(o, "filesize", (long long)dw * 1024);
		if (json_object_get(o, "name") == NULL)
			json_decref(o);
		else if (json_array_append_new(sc->list, o) == 0)
			sc->entries++;
	}
	if (sc->nprod == sc->cap) {
		p = realloc(sc->prod,
		            (sc->cap ? sc->cap * 2 : 256) * sizeof(*p));
		if (p == NULL)
			goto done;
		sc->prod = p;
		sc->cap = sc->cap ? sc->cap * 2 : 256;
	}
	p = &sc->prod[sc->nprod];
	memset(p, 0, sizeof(*p));
	if ((p->name = w2u(name)) == NULL)
		goto done;
	if (pub != NULL)
		p->publisher = w2u(pub);
	if (masked && !too_broad(sc->c, masked, wcslen(masked))) {
		p->loc = masked;
		p->loclen = wcslen(masked);
		masked = NULL;
	}
	sc->nprod++;
done:
	free(pub);
	free(masked);
	free(loc);
	free(name);
}

/* Reads every entry under root\path in the registry view view. */
static void
scan_key(struct scan *sc, HKEY root, const wchar_t *path, REGSAM view,
         const char *arch)
{
	wchar_t name[256];
	HKEY k, e;
	DWORD i, len;
	LSTATUS rc;

	if ((k = reg_open(root, path, view)) == NULL)
		return;
	for (i = 0;; i++) {
		len = sizeof(name) / sizeof(name[0]);
		rc = RegEnumKeyExW(k, i, name, &len, NULL, NULL, NULL, NULL);
		if (rc == ERROR_NO_MORE_ITEMS)
			break;
		if (rc != ERROR_SUCCESS)
			continue; /* a name too long: not an entry of ours */
		if ((e = reg_open(k, name, view)) == NULL)
			continue;
		add_entry(sc, e, name, arch);
		RegCloseKey(e);
	}
	RegCloseKey(k);
}

/* The per-user installs of every loaded hive of a person. */
static void
scan_users(struct scan *sc)
{
	wchar_t name[256], path[256 + 64];
	DWORD i, len;
	char *sid;

	for (i = 0;; i++) {
		len = sizeof(name) / sizeof(name[0]);
		if (RegEnumKeyExW(HKEY_USERS, i, name, &len, NULL, NULL, NULL,
		                  NULL) != ERROR_SUCCESS)
			break;
		if ((sid = w2u(name)) == NULL)
			continue;
		/* S-...-1001_Classes is the same user's class hive. */
		if (sid_person(sid) &&
		    _snwprintf(path, sizeof(path) / sizeof(path[0]),
		               L"%ls\\%ls", name, UNINSTALL) > 0) {
			path[sizeof(path) / sizeof(path[0]) - 1] = 0;
			scan_key(sc, HKEY_USERS, path, 0, NULL);
		}
		free(sid);
	}
}

static int
prod_cmp(const void *a, const void *b)
{
	const struct product *x = a, *y = b;

	if (x->loclen != y->loclen)
		return x->loclen > y->loclen ? -1 : 1;
	return strcmp(x->name, y->name);
}

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static int
soft_cmp(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	static const char *const keys[] = {"name", "version",   "arch",
	                                   "guid", "publisher", "folder"};
	size_t i;
	int r;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((r = strcmp(jstr(x, keys[i]), jstr(y, keys[i]))) != 0)
			return r;
	return 0;
}

/* Sorts the list (the inventory's digest must not depend on registry
 * order) and drops duplicates (the same per-user install of two users). */
static json_t *
sort_list(json_t *list)
{
	size_t n = json_array_size(list), i;
	json_t **v, *out;

	if (n == 0 || (v = malloc(n * sizeof(*v))) == NULL)
		return json_incref(list);
	for (i = 0; i < n; i++)
		v[i] = json_array_get(list, i);
	qsort(v, n, sizeof(*v), soft_cmp);
	out = json_array();
	for (i = 0; i < n; i++)
		if (i == 0 || !json_equal(v[i], v[i - 1]))
			json_array_append(out, v[i]);
	free(v);
	return out;
}

/* Scans every Uninstall key; fills list if not NULL, and refreshes the
 * products collect_owners() uses. Returns the entries listed, or -1 if not
 * even HKLM's Uninstall key could be read. */
static int
scan_software(struct collect *c, json_t *list)
{
	struct scan sc;
	HKEY k;

	memset(&sc, 0, sizeof(sc));
	sc.c = c;
	sc.list = list;
	if ((k = reg_open(HKEY_LOCAL_MACHINE, L"SOFTWARE", KEY_WOW64_64KEY)) ==
	    NULL)
		return -1;
	RegCloseKey(k);
	load_profiles(c);
	scan_key(&sc, HKEY_LOCAL_MACHINE, UNINSTALL, KEY_WOW64_64KEY, "x86_64");
	scan_key(&sc, HKEY_LOCAL_MACHINE, UNINSTALL, KEY_WOW64_32KEY, "i586");
	scan_users(&sc);
	qsort(sc.prod, sc.nprod, sizeof(*sc.prod), prod_cmp);
	free_products(c->prod, c->nprod);
	c->prod = sc.prod;
	c->nprod = sc.nprod;
	c->scanned = GetTickCount64();
	if (c->scanned == 0)
		c->scanned = 1;
	return (int)sc.entries;
}

static int
collect_software(struct collect *c, json_t *content)
{
	json_t *list = json_array(), *sorted;
	int n;

	if ((n = scan_software(c, list)) == -1) {
		json_decref(list);
		return -1;
	}
	sorted = sort_list(list);
	json_decref(list);
	json_object_set_new(content, "softwares", sorted);
	return (int)json_array_size(sorted);
}

/* ---- operating system ------------------------------------------------- */

static const char *
native_arch(void)
{
	SYSTEM_INFO si;

	GetNativeSystemInfo(&si);
	switch (si.wProcessorArchitecture) {
	case PROCESSOR_ARCHITECTURE_AMD64:
		return "x86_64";
	case PROCESSOR_ARCHITECTURE_ARM64:
		return "aarch64";
	case PROCESSOR_ARCHITECTURE_INTEL:
		return "i686";
	default:
		return NULL;
	}
}

/* The boot time the kernel keeps (moved with the clock, so that now minus
 * it is the uptime), in Unix seconds; else now minus the tick count,
 * rounded to the minute (the two clocks are read at slightly different
 * moments). */
static long long
boot_time(void)
{
	SYSTEM_TIMEOFDAY_INFORMATION tod;
	long long t;
	ULONG len;
	FILETIME ft;

	memset(&tod, 0, sizeof(tod));
	if (NtQuerySystemInformation(SystemTimeOfDayInformation, &tod,
	                             sizeof(tod), &len) >= 0 &&
	    tod.BootTime.QuadPart > 0) {
		ft.dwLowDateTime = (DWORD)tod.BootTime.LowPart;
		ft.dwHighDateTime = (DWORD)tod.BootTime.HighPart;
		if ((t = ft_unix(&ft)) > 0)
			return t;
	}
	t = (long long)time(NULL) - (long long)(GetTickCount64() / 1000);
	return (t + 30) / 60 * 60;
}

/* "Windows 10 Pro" on build 22000 and later is Windows 11: the registry
 * kept the old name. full_name is Windows' caption, "Microsoft Windows 11
 * Pro". */
static void
os_names(json_t *os, HKEY k, long build)
{
	wchar_t *product = reg_wstr(k, L"ProductName");
	wchar_t *edition = reg_wstr(k, L"EditionID");
	char *p = product ? w2u(product) : NULL, full[512], *ten;
	char *ed = edition ? w2u(edition) : NULL;

	if (p == NULL && ed != NULL) {
		snprintf(full, sizeof(full), "Windows %s %s",
		         build >= 22000 ? "11" : "10", ed);
		p = strdup(full);
	}
	if (p != NULL) {
		if (build >= 22000 && (ten = strstr(p, "Windows 10")) != NULL)
			ten[9] = '1';
		snprintf(full, sizeof(full), "%s%s",
		         strncmp(p, "Microsoft", 9) == 0 ? "" : "Microsoft ",
		         p);
		set_str(os, "full_name", full);
	}
	free(p);
	free(ed);
	free(product);
	free(edition);
}

static void
collect_os(json_t *content, const char *host)
{
	json_t *os = json_object();
	wchar_t *v, dom[256];
	DWORD major, minor, ubr, inst, n;
	long build = 0;
	char ver[64], when[32], *s;
	HKEY k;

	set_str(os, "name", "Windows");
	set_str(os, "kernel_name", "MSWin32");
	set_str(os, "arch", native_arch());
	if ((k = reg_open(HKEY_LOCAL_MACHINE, NT_KEY, KEY_WOW64_64KEY)) !=
	    NULL) {
		if ((v = reg_wstr(k, L"CurrentBuild")) != NULL ||
		    (v = reg_wstr(k, L"CurrentBuildNumber")) != NULL) {
			build = wcstol(v, NULL, 10);
			free(v);
		}
		os_names(os, k, build);
		if ((v = reg_wstr(k, L"DisplayVersion")) != NULL ||
		    (v = reg_wstr(k, L"ReleaseId")) != NULL) {
			set_wstr(os, "version", v);
			free(v);
		}
		/* Windows 10 and 11 say 10.0 here; CurrentVersion is 6.3. */
		ver[0] = '\0';
		if (reg_dword(k, L"CurrentMajorVersionNumber", &major) == 0 &&
		    reg_dword(k, L"CurrentMinorVersionNumber", &minor) == 0)
			snprintf(ver, sizeof(ver), "%lu.%lu.%ld",
			         (unsigned long)major, (unsigned long)minor,
			         build);
		else if ((v = reg_wstr(k, L"CurrentVersion")) != NULL) {
			if ((s = w2u(v)) != NULL)
				snprintf(ver, sizeof(ver), "%s.%ld", s, build);
			free(s);
			free(v);
		}
		if (ver[0] && reg_dword(k, L"UBR", &ubr) == 0)
			snprintf(ver + strlen(ver), sizeof(ver) - strlen(ver),
			         ".%lu", (unsigned long)ubr);
		set_str(os, "kernel_version", ver);
		if ((v = reg_wstr(k, L"CSDVersion")) != NULL) {
			set_wstr(os, "service_pack", v);
			free(v);
		}
		if (reg_dword(k, L"InstallDate", &inst) == 0 && inst > 0) {
			util_datetime((time_t)inst, when, sizeof(when));
			set_str(os, "install_date", when);
		}
		RegCloseKey(k);
	}
	n = sizeof(dom) / sizeof(dom[0]);
	if (GetComputerNameExW(ComputerNameDnsFullyQualified, dom, &n))
		set_wstr(os, "fqdn", dom);
	else
		set_str(os, "fqdn", host);
	n = sizeof(dom) / sizeof(dom[0]);
	if (GetComputerNameExW(ComputerNameDnsDomain, dom, &n))
		set_wstr(os, "dns_domain", dom);
	util_datetime((time_t)boot_time(), when, sizeof(when));
	set_str(os, "boot_time", when);
	json_object_set_new(content, "operatingsystem", os);
}

/* ---- hardware --------------------------------------------------------- */

/* The SMBIOS table, or an empty one (wine, or no firmware table). */
static void
read_smbios(struct smbios_info *in)
{
	const DWORD rsmb = 0x52534d42; /* 'RSMB' */
	UINT n = GetSystemFirmwareTable(rsmb, 0, NULL, 0);
	void *buf;

	memset(in, 0, sizeof(*in));
	if (n == 0 || n > 1024 * 1024 || (buf = malloc(n)) == NULL)
		return;
	if (GetSystemFirmwareTable(rsmb, 0, buf, n) == n)
		smbios_parse_rsmb(buf, n, in);
	free(buf);
}

static void
collect_hardware(json_t *content, const char *host,
                 const struct smbios_info *sm)
{
	json_t *hw = json_object();
	MEMORYSTATUSEX ms;

	set_str(hw, "name", host);
	ms.dwLength = sizeof(ms);
	if (GlobalMemoryStatusEx(&ms)) {
		set_int(hw, "memory", (long long)(ms.ullTotalPhys >> 20));
		/* The commit limit is memory plus the page files. */
		if ((ms.ullTotalPageFile - ms.ullTotalPhys) >> 20 > 0 &&
		    ms.ullTotalPageFile > ms.ullTotalPhys)
			set_int(hw, "swap",
			        (long long)((ms.ullTotalPageFile -
			                     ms.ullTotalPhys) >>
			                    20));
	}
	set_str(hw, "uuid", sm->sys_uuid);
	set_str(hw, "chassis_type", sm->chassis_type);
	json_object_set_new(content, "hardware", hw);
}

static void
collect_bios(json_t *content, const struct smbios_info *sm)
{
	json_t *bios = json_object();

	set_str(bios, "bmanufacturer", sm->bios_vendor);
	set_str(bios, "bversion", sm->bios_version);
	set_str(bios, "bdate", sm->bios_date);
	set_str(bios, "smanufacturer", sm->sys_manufacturer);
	set_str(bios, "smodel", sm->sys_product);
	set_str(bios, "ssn", sm->sys_serial);
	set_str(bios, "skunumber", sm->sys_sku);
	set_str(bios, "mmanufacturer", sm->board_manufacturer);
	set_str(bios, "mmodel", sm->board_product);
	set_str(bios, "msn", sm->board_serial);
	set_str(bios, "enclosureserial", sm->chassis_serial);
	set_str(bios, "assettag", sm->chassis_asset);
	if (json_object_size(bios) > 0)
		json_object_set_new(content, "bios", bios);
	else
		json_decref(bios);
}

static void
collect_memories(json_t *content, const struct smbios_info *sm)
{
	json_t *mems = json_array(), *m;
	char speed[16];
	int i;

	for (i = 0; i < sm->nmem; i++) {
		if (sm->mem[i].size_mb <= 0)
			continue;
		m = json_object();
		set_int(m, "capacity", sm->mem[i].size_mb);
		set_str(m, "caption", sm->mem[i].locator);
		set_str(m, "description", sm->mem[i].formfactor);
		set_str(m, "manufacturer", sm->mem[i].manufacturer);
		set_str(m, "serialnumber", sm->mem[i].serial);
		set_str(m, "model", sm->mem[i].part);
		set_str(m, "type", sm->mem[i].type);
		if (sm->mem[i].speed > 0) {
			snprintf(speed, sizeof(speed), "%d", sm->mem[i].speed);
			set_str(m, "speed", speed);
		}
		set_int(m, "numslots", sm->mem[i].slot);
		json_array_append_new(mems, m);
	}
	if (json_array_size(mems) > 0)
		json_object_set_new(content, "memories", mems);
	else
		json_decref(mems);
}

struct cpucount {
	int packages, cores, threads;
};

static void
count_cpus(struct cpucount *cc)
{
	SYSTEM_LOGICAL_PROCESSOR_INFORMATION *info = NULL;
	DWORD len = 0, i, n;
	ULONG_PTR mask;
	SYSTEM_INFO si;

	memset(cc, 0, sizeof(*cc));
	if (!GetLogicalProcessorInformation(NULL, &len) &&
	    GetLastError() == ERROR_INSUFFICIENT_BUFFER && len > 0 &&
	    len < 1024 * 1024 && (info = malloc(len)) != NULL &&
	    GetLogicalProcessorInformation(info, &len)) {
		n = len / sizeof(*info);
		for (i = 0; i < n; i++) {
			if (info[i].Relationship == RelationProcessorPackage)
				cc->packages++;
			if (info[i].Relationship != RelationProcessorCore)
				continue;
			cc->cores++;
			for (mask = info[i].ProcessorMask; mask; mask >>= 1)
				cc->threads += (int)(mask & 1);
		}
	}
	free(info);
	if (cc->threads <= 0 || cc->cores <= 0) {
		GetSystemInfo(&si);
		cc->threads = cc->cores = (int)si.dwNumberOfProcessors;
	}
	if (cc->packages <= 0)
		cc->packages = 1;
	if (cc->cores < cc->packages)
		cc->cores = cc->packages;
}

/* "Intel64 Family 6 Model 167 Stepping 1" */
static void
cpu_ident(json_t *cpu, const wchar_t *ident)
{
	char *s = w2u(ident), num[16];
	int fam, model, step;
	const char *f;

	if (s == NULL)
		return;
	set_str(cpu, "description", s);
	if ((f = strstr(s, "Family ")) != NULL &&
	    sscanf(f, "Family %d Model %d Stepping %d", &fam, &model, &step) ==
	        3) {
		snprintf(num, sizeof(num), "%d", fam);
		set_str(cpu, "familynumber", num);
		snprintf(num, sizeof(num), "%d", model);
		set_str(cpu, "model", num);
		set_int(cpu, "stepping", step);
	}
	free(s);
}

static void
collect_cpus(json_t *content, const struct smbios_info *sm)
{
	json_t *cpus = json_array(), *cpu;
	wchar_t *name = NULL, *vendor = NULL, *ident = NULL;
	const char *maker = NULL, *arch = native_arch();
	struct cpucount cc;
	DWORD mhz = 0;
	char *v = NULL;
	HKEY k;
	int i;

	if ((k = reg_open(HKEY_LOCAL_MACHINE, CPU_KEY, KEY_WOW64_64KEY)) !=
	    NULL) {
		name = reg_wstr(k, L"ProcessorNameString");
		vendor = reg_wstr(k, L"VendorIdentifier");
		ident = reg_wstr(k, L"Identifier");
		if (reg_dword(k, L"~MHz", &mhz) == -1)
			mhz = 0;
		RegCloseKey(k);
	}
	if (vendor && (v = w2u(vendor)) != NULL)
		maker = strstr(v, "Intel") ? "Intel"
		        : strstr(v, "AMD") ? "AMD"
		                           : v;
	count_cpus(&cc);
	for (i = 0; i < cc.packages; i++) {
		cpu = json_object();
		set_wstr(cpu, "name", name);
		if (name == NULL && i < sm->ncpu)
			set_str(cpu, "name", sm->cpu[i].version);
		set_str(cpu, "manufacturer", maker);
		set_int(cpu, "core", cc.cores / cc.packages);
		set_int(cpu, "thread",
		        cc.threads / cc.cores > 0 ? cc.threads / cc.cores : 1);
		if (mhz > 0)
			set_int(cpu, "speed", (long long)mhz);
		if (arch && (strcmp(arch, "x86_64") == 0 ||
		             strcmp(arch, "aarch64") == 0))
			set_str(cpu, "arch", arch);
		if (ident)
			cpu_ident(cpu, ident);
		/* The SMBIOS lists sockets in the same order. */
		if (i < sm->ncpu) {
			set_str(cpu, "id", sm->cpu[i].id);
			if (sm->cpu[i].external_clock > 0)
				set_int(cpu, "external_clock",
				        sm->cpu[i].external_clock);
			if (sm->cpu[i].cores > 0)
				set_int(cpu, "corecount", sm->cpu[i].cores);
			set_str(cpu, "serial", sm->cpu[i].serial);
		}
		json_array_append_new(cpus, cpu);
	}
	json_object_set_new(content, "cpus", cpus);
	free(v);
	free(name);
	free(vendor);
	free(ident);
}

/* Fixed drives: letter, label, file system, sizes. */
static void
collect_drives(json_t *content)
{
	json_t *drives = json_array(), *d;
	wchar_t root[4] = L"A:\\", label[MAX_PATH + 1], fs[MAX_PATH + 1];
	wchar_t vol[64], sysdrive[8];
	ULARGE_INTEGER avail, total, freeb;
	DWORD mask = GetLogicalDrives(), serial;
	char letter[4], ser[16];
	UINT old = SetErrorMode(SEM_FAILCRITICALERRORS);
	int i, sys;

	if (GetEnvironmentVariableW(L"SystemDrive", sysdrive, 8) == 0)
		sysdrive[0] = 0;
	for (i = 0; i < 26; i++) {
		if (!(mask & (1u << i)))
			continue;
		root[0] = (wchar_t)(L'A' + i);
		if (GetDriveTypeW(root) != DRIVE_FIXED)
			continue;
		d = json_object();
		snprintf(letter, sizeof(letter), "%c:", 'A' + i);
		set_str(d, "letter", letter);
		set_str(d, "description", "Local Fixed Disk");
		if (GetVolumeInformationW(root, label, MAX_PATH + 1, &serial,
		                          NULL, NULL, fs, MAX_PATH + 1)) {
			set_wstr(d, "label", label);
			set_wstr(d, "filesystem", fs);
			snprintf(ser, sizeof(ser), "%08lX",
			         (unsigned long)serial);
			set_str(d, "serial", ser);
		}
		if (GetVolumeNameForVolumeMountPointW(root, vol, 64))
			set_wstr(d, "volumn", vol);
		if (GetDiskFreeSpaceExW(root, &avail, &total, &freeb)) {
			set_int(d, "total", (long long)(total.QuadPart >> 20));
			set_int(d, "free", (long long)(avail.QuadPart >> 20));
		}
		sys = sysdrive[0] && (sysdrive[0] | 0x20) == (root[0] | 0x20);
		json_object_set_new(d, "systemdrive", json_boolean(sys));
		json_array_append_new(drives, d);
	}
	SetErrorMode(old);
	json_object_set_new(content, "drives", drives);
}

/* A string of a storage descriptor (ASCII, at offset off of the got
 * bytes returned), trimmed, printable only. */
static void
desc_str(json_t *o, const char *key, const unsigned char *d, DWORD got,
         DWORD off)
{
	char out[128];
	size_t k = 0;
	DWORD i;

	if (off == 0 || off >= got)
		return;
	for (i = off; i < got && d[i] != 0 && k + 1 < sizeof(out); i++)
		if (d[i] >= 0x20 && d[i] < 0x7f && (k > 0 || d[i] != ' '))
			out[k++] = (char)d[i];
	while (k > 0 && out[k - 1] == ' ')
		k--;
	out[k] = '\0';
	set_str(o, key, out);
}

static const char *
bus_name(STORAGE_BUS_TYPE t)
{
	static const char *const names[] = {NULL,
	                                    "SCSI",
	                                    "ATAPI",
	                                    "ATA",
	                                    "1394",
	                                    "SSA",
	                                    "Fibre Channel",
	                                    "USB",
	                                    "RAID",
	                                    "iSCSI",
	                                    "SAS",
	                                    "SATA",
	                                    "SD",
	                                    "MMC",
	                                    "Virtual",
	                                    "File Backed Virtual",
	                                    "Storage Spaces",
	                                    "NVMe",
	                                    "SCM",
	                                    "UFS"};

	return (unsigned)t < sizeof(names) / sizeof(names[0])
	           ? names[(unsigned)t]
	           : NULL;
}

/* Physical disks, asked without read access (no administrator needed):
 * the device descriptor and the geometry. Wine has none. */
static void
collect_storages(json_t *content)
{
	STORAGE_PROPERTY_QUERY q;
	STORAGE_DEVICE_DESCRIPTOR *d;
	DISK_GEOMETRY_EX geo;
	union {
		STORAGE_DEVICE_DESCRIPTOR d;
		unsigned char raw[2048];
	} buf;
	json_t *st = json_array(), *o;
	wchar_t path[32];
	char name[32];
	DWORD got;
	HANDLE h;
	int i;

	for (i = 0; i < 32; i++) {
		_snwprintf(path, 32, L"\\\\.\\PhysicalDrive%d", i);
		path[31] = 0;
		h = CreateFileW(path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE,
		                NULL, OPEN_EXISTING, 0, NULL);
		if (h == INVALID_HANDLE_VALUE)
			continue;
		memset(&q, 0, sizeof(q));
		q.PropertyId = StorageDeviceProperty;
		q.QueryType = PropertyStandardQuery;
		memset(&buf, 0, sizeof(buf));
		if (!DeviceIoControl(h, IOCTL_STORAGE_QUERY_PROPERTY, &q,
		                     sizeof(q), &buf, sizeof(buf), &got,
		                     NULL) ||
		    got < sizeof(*d)) {
			CloseHandle(h);
			continue;
		}
		d = &buf.d;
		o = json_object();
		snprintf(name, sizeof(name), "\\\\.\\PHYSICALDRIVE%d", i);
		set_str(o, "name", name);
		set_str(o, "type", "disk");
		desc_str(o, "manufacturer", buf.raw, got, d->VendorIdOffset);
		desc_str(o, "model", buf.raw, got, d->ProductIdOffset);
		desc_str(o, "firmware", buf.raw, got, d->ProductRevisionOffset);
		desc_str(o, "serial", buf.raw, got, d->SerialNumberOffset);
		set_str(o, "interface", bus_name(d->BusType));
		if (DeviceIoControl(h, IOCTL_DISK_GET_DRIVE_GEOMETRY_EX, NULL,
		                    0, &geo, sizeof(geo), &got, NULL) &&
		    geo.DiskSize.QuadPart > 0)
			set_int(o, "disksize",
			        (long long)(geo.DiskSize.QuadPart >> 20));
		CloseHandle(h);
		json_array_append_new(st, o);
	}
	if (json_array_size(st) > 0)
		json_object_set_new(content, "storages", st);
	else
		json_decref(st);
}

static const char *
if_type(DWORD t)
{
	switch (t) {
	case IF_TYPE_ETHERNET_CSMACD:
		return "ethernet";
	case IF_TYPE_IEEE80211:
		return "wifi";
	case IF_TYPE_SOFTWARE_LOOPBACK:
		return "loopback";
	case IF_TYPE_PPP:
		return "dialup";
	default:
		return NULL; /* tunnels: GLPI has no type for them */
	}
}

static const char *
if_status(IF_OPER_STATUS s)
{
	switch (s) {
	case IfOperStatusUp:
		return "up";
	case IfOperStatusDown:
		return "down";
	case IfOperStatusTesting:
		return "testing";
	case IfOperStatusDormant:
		return "dormant";
	case IfOperStatusNotPresent:
		return "notpresent";
	case IfOperStatusLowerLayerDown:
		return "lowerlayerdown";
	default:
		return "unknown";
	}
}

static json_t *
net_entry(const IP_ADAPTER_ADDRESSES *a)
{
	json_t *e = json_object();
	const SOCKET_ADDRESS *gw;
	char mac[32], ip[INET6_ADDRSTRLEN];
	const unsigned char *m = a->PhysicalAddress;
	const struct sockaddr_in *sin;

	set_wstr(e, "description", a->Description);
	if (json_object_get(e, "description") == NULL)
		set_str(e, "description", a->AdapterName);
	if (a->PhysicalAddressLength == 6) {
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
		         m[0], m[1], m[2], m[3], m[4], m[5]);
		set_str(e, "mac", mac);
	}
	set_str(e, "status", if_status(a->OperStatus));
	set_str(e, "type", if_type(a->IfType));
	if (a->Mtu > 0 && a->Mtu < 1u << 20)
		set_int(e, "mtu", (long long)a->Mtu);
	if (a->FirstGatewayAddress) {
		gw = &a->FirstGatewayAddress->Address;
		if (gw->lpSockaddr && gw->lpSockaddr->sa_family == AF_INET) {
			sin = (const struct sockaddr_in *)(const void *)
			          gw->lpSockaddr;
			if (inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip)))
				set_str(e, "ipgateway", ip);
		}
	}
	return e;
}

static void
net_addr(json_t *e, const IP_ADAPTER_UNICAST_ADDRESS *u)
{
	const struct sockaddr *sa = u->Address.lpSockaddr;
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	char a[INET6_ADDRSTRLEN], m[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN];
	struct in_addr mask, net;
	unsigned len = u->OnLinkPrefixLength;

	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		if (inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)) == NULL)
			return;
		set_str(e, "ipaddress", a);
		if (len > 32)
			return;
		mask.s_addr = htonl(len ? 0xffffffffu << (32 - len) : 0);
		net.s_addr = sin->sin_addr.s_addr & mask.s_addr;
		if (inet_ntop(AF_INET, &mask, m, sizeof(m)) &&
		    inet_ntop(AF_INET, &net, s, sizeof(s))) {
			set_str(e, "ipmask", m);
			set_str(e, "ipsubnet", s);
		}
	} else if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a)))
			set_str(e, "ipaddress6", a);
	}
}

/* GLPI lists one entry per adapter and address, as on Linux. */
static void
collect_networks(json_t *content)
{
	IP_ADAPTER_ADDRESSES *all = NULL, *a;
	IP_ADAPTER_UNICAST_ADDRESS *u;
	ULONG size = 16 * 1024, rc = ERROR_BUFFER_OVERFLOW;
	json_t *nets, *e;
	int tries;

	for (tries = 0; tries < 4 && rc == ERROR_BUFFER_OVERFLOW; tries++) {
		free(all);
		if ((all = malloc(size)) == NULL)
			return;
		rc = GetAdaptersAddresses(
		    AF_UNSPEC,
		    GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST |
		        GAA_FLAG_SKIP_DNS_SERVER | GAA_FLAG_INCLUDE_GATEWAYS,
		    NULL, all, &size);
	}
	if (rc != NO_ERROR) {
		free(all);
		return;
	}
	nets = json_array();
	for (a = all; a; a = a->Next) {
		if (a->FirstUnicastAddress == NULL) {
			json_array_append_new(nets, net_entry(a));
			continue;
		}
		for (u = a->FirstUnicastAddress; u; u = u->Next) {
			if (u->Address.lpSockaddr == NULL)
				continue;
			e = net_entry(a);
			net_addr(e, u);
			json_array_append_new(nets, e);
		}
	}
	free(all);
	json_object_set_new(content, "networks", nets);
}

int
collect_inventory(struct collect *c, json_t *content)
{
	struct smbios_info *sm = calloc(1, sizeof(*sm));
	char host[256];

	if (sm == NULL)
		return -1;
	read_smbios(sm);
	collect_hostname(host, sizeof(host));
	collect_hardware(content, host, sm);
	collect_os(content, host);
	collect_bios(content, sm);
	collect_memories(content, sm);
	collect_cpus(content, sm);
	collect_drives(content);
	collect_storages(content);
	collect_networks(content);
	json_object_set_new(content, "versionclient",
	                    json_string("mutu-agent_v" MUTU_VERSION));
	free(sm);
	return collect_software(c, content);
}

/* ---- processes -------------------------------------------------------- */

/* The owner SID of a process, as a string into out. */
static int
proc_sid(HANDLE h, char *out, size_t n)
{
	union {
		TOKEN_USER tu;
		unsigned char raw[SECURITY_MAX_SID_SIZE + sizeof(TOKEN_USER)];
	} buf;
	HANDLE tok;
	DWORD len;
	char *s = NULL;
	int rc = -1;

	if (!OpenProcessToken(h, TOKEN_QUERY, &tok))
		return -1;
	if (GetTokenInformation(tok, TokenUser, &buf, sizeof(buf), &len) &&
	    ConvertSidToStringSidA(buf.tu.User.Sid, &s) && s != NULL) {
		rc = util_strlcpy(out, s, n);
		LocalFree(s);
	}
	CloseHandle(tok);
	return rc;
}

/* Whether the processes of session are hidden (locked, or the machine
 * asleep); *since is when they became visible again. */
static int
session_hidden(struct collect *c, DWORD session, long long *since)
{
	size_t i;
	int hidden;

	EnterCriticalSection(&c->mu);
	hidden = c->asleep;
	*since = c->awake_since;
	for (i = 0; i < c->nlocks; i++)
		if (c->locks[i].session == session) {
			hidden |= c->locks[i].locked;
			if (c->locks[i].since > *since)
				*since = c->locks[i].since;
			break;
		}
	LeaveCriticalSection(&c->mu);
	return hidden;
}

/* Whether a session is locked now, as Windows tells it: 1, 0, or -1 if it
 * does not (wine). WTSSessionInfoEx (Windows 8 and later) is missing from
 * mingw-w64's headers: its class number and the documented layout of
 * WTSINFOEXW (Level, then the level-1 union at byte 8: SessionId,
 * SessionState, SessionFlags at byte 16) are used as they are. */
#define WTS_SESSION_INFO_EX 25
static int
wts_locked(DWORD session)
{
	LPWSTR buf = NULL;
	DWORD bytes = 0, level;
	LONG flags;
	int r = -1;

	if (!WTSQuerySessionInformationW(WTS_CURRENT_SERVER_HANDLE, session,
	                                 (WTS_INFO_CLASS)WTS_SESSION_INFO_EX,
	                                 &buf, &bytes) ||
	    buf == NULL)
		return -1;
	if (bytes >= 20) {
		memcpy(&level, buf, sizeof(level));
		memcpy(&flags, (const char *)buf + 16, sizeof(flags));
		if (level == 1 && (flags == 0 || flags == 1))
			r = flags == 0; /* WTS_SESSIONSTATE_LOCK is 0 */
	}
	WTSFreeMemory(buf);
	return r;
}

/* The first time a session is seen, its lock state comes from Windows (a
 * session locked before the agent started sends no lock event); after
 * that, from collect_set_session_locked(). */
static void
session_seed(struct collect *c, DWORD session)
{
	size_t i;
	int locked, known;

	EnterCriticalSection(&c->mu);
	for (i = 0; i < c->nlocks && c->locks[i].session != session; i++)
		;
	known = i < c->nlocks;
	LeaveCriticalSection(&c->mu);
	if (known)
		return;
	locked = wts_locked(session);
	EnterCriticalSection(&c->mu);
	for (i = 0; i < c->nlocks && c->locks[i].session != session; i++)
		;
	/* Unless an event came in between. */
	if (i == c->nlocks && c->nlocks < MAX_LOCKS) {
		c->locks[i].session = session;
		c->locks[i].locked = locked == 1;
		c->locks[i].since = 0;
		c->nlocks++;
	}
	LeaveCriticalSection(&c->mu);
}

static void
free_exes(struct collect *c)
{
	size_t i;

	for (i = 0; i < c->nexes; i++) {
		free(c->exes[i].masked);
		free(c->exes[i].real);
	}
	c->nexes = 0;
}

/* Remembers the real path behind a masked one, for collect_owners(). */
static void
note_exe(struct collect *c, const char *masked, const wchar_t *real)
{
	struct exe *p;
	size_t i;

	for (i = 0; i < c->nexes; i++)
		if (strcmp(c->exes[i].masked, masked) == 0)
			return;
	if (c->nexes == c->capexes) {
		p = realloc(c->exes,
		            (c->capexes ? c->capexes * 2 : 32) * sizeof(*p));
		if (p == NULL)
			return;
		c->exes = p;
		c->capexes = c->capexes ? c->capexes * 2 : 32;
	}
	p = &c->exes[c->nexes];
	p->masked = strdup(masked);
	p->real = wdup(real);
	if (p->masked && p->real)
		c->nexes++;
	else {
		free(p->masked);
		free(p->real);
	}
}

/* A process's creation time on the boot clock. Windows keeps it on the
 * wall clock of the moment, so it is moved back by its age on the wall
 * clock now; a wall-clock step since its start makes that age wrong,
 * which usage.c bounds (never before the previous sample). */
static long long
proc_start_ms(const struct collect *c, const FILETIME *created)
{
	long long t = c->boot_ms - (c->wall_ms - ft_unix_ms(created));

	if (t > c->boot_ms)
		t = c->boot_ms;
	return t < 0 ? 0 : t;
}

static int
read_proc(struct collect *c, DWORD pid, struct proc_info *pi)
{
	FILETIME created, ex, kt, ut;
	DWORD session, len = WPATH_MAX;
	long long since = 0;
	wchar_t *masked;
	char sid[256];
	HANDLE h;
	int rc = -1;

	if (!ProcessIdToSessionId(pid, &session))
		session = (DWORD)-2; /* none: only sleep hides it */
	else
		session_seed(c, session);
	if (session_hidden(c, session, &since))
		return -1;
	if ((h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid)) ==
	    NULL)
		return -1;
	/* System pseudo-processes (Registry, MemCompression) have no file. */
	if (!QueryFullProcessImageNameW(h, 0, c->wbuf, &len) || len < 3 ||
	    !((c->wbuf[1] == L':' && c->wbuf[2] == L'\\') ||
	      (c->wbuf[0] == L'\\' && c->wbuf[1] == L'\\')) ||
	    !GetProcessTimes(h, &created, &ex, &kt, &ut) ||
	    proc_sid(h, sid, sizeof(sid)) == -1)
		goto done;
	if ((masked = mask_path(c, c->wbuf)) == NULL)
		goto done;
	if (w2u_buf(masked, pi->exe, sizeof(pi->exe)) == 0) {
		if (wcscmp(masked, c->wbuf) != 0)
			note_exe(c, pi->exe, c->wbuf);
		pi->pid = (int)pid;
		pi->uid = sid_note(c, sid);
		pi->start_ms = proc_start_ms(c, &created);
		/* Unlocked or awake since: the time before is not use. */
		if (pi->start_ms < since)
			pi->start_ms = since;
		rc = 0;
	}
	free(masked);
done:
	CloseHandle(h);
	return rc;
}

int
collect_procs(struct collect *c, int (*cb)(const struct proc_info *, void *),
              void *arg)
{
	PROCESSENTRY32W pe;
	struct proc_info *pi;
	FILETIME now;
	HANDLE snap;
	BOOL ok;
	int seen = 0;

	if ((pi = malloc(sizeof(*pi))) == NULL)
		return -1;
	if ((snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0)) ==
	    INVALID_HANDLE_VALUE) {
		free(pi);
		return -1;
	}
	GetSystemTimeAsFileTime(&now);
	c->wall_ms = ft_unix_ms(&now);
	c->boot_ms = util_boot_ms();
	/* New users since the last look: their profiles are masked too. */
	if (GetTickCount64() - c->profiled > CACHE_MS)
		load_profiles(c);
	free_exes(c);
	pe.dwSize = sizeof(pe);
	for (ok = Process32FirstW(snap, &pe); ok;
	     ok = Process32NextW(snap, &pe)) {
		/* The idle process and System have no image of their own. */
		if (pe.th32ProcessID == 0 || pe.th32ProcessID == 4 ||
		    pe.th32ProcessID == c->self)
			continue;
		if (read_proc(c, pe.th32ProcessID, pi) == -1)
			continue;
		seen++;
		if (cb(pi, arg) == -1) {
			seen = -1;
			break;
		}
	}
	CloseHandle(snap);
	free(pi);
	return seen;
}

/* ---- owners ----------------------------------------------------------- */

/* A string of the version resource of exe ("ProductName"), or NULL. */
static char *
version_string(const void *info, const wchar_t *field)
{
	struct {
		WORD lang, cp;
	} * tr;
	static const DWORD fallback[] = {0x040904b0, 0x040904e4, 0x000004b0,
	                                 0x040c04b0};
	wchar_t q[96], *val;
	UINT len, i, ntr = 0;
	DWORD lc;

	if (!VerQueryValueW(info, L"\\VarFileInfo\\Translation", (void **)&tr,
	                    &len))
		len = 0;
	ntr = len / sizeof(*tr);
	for (i = 0; i < ntr + sizeof(fallback) / sizeof(fallback[0]); i++) {
		lc = i < ntr ? (DWORD)tr[i].lang << 16 | tr[i].cp
		             : fallback[i - ntr];
		_snwprintf(q, sizeof(q) / sizeof(q[0]),
		           L"\\StringFileInfo\\%08lx\\%ls", (unsigned long)lc,
		           field);
		q[sizeof(q) / sizeof(q[0]) - 1] = 0;
		if (VerQueryValueW(info, q, (void **)&val, &len) && len > 1 &&
		    val[0] != 0) {
			wtrim(val);
			if (val[0] != 0)
				return w2u(val);
		}
	}
	return NULL;
}

static int
ci_prefix(const char *s, const char *pre)
{
	size_t n = strlen(pre);
	wchar_t *ws, *wp;
	int r = 0;

	if (n == 0 || strlen(s) < n)
		return 0;
	if ((ws = u2w(s)) != NULL && (wp = u2w(pre)) != NULL) {
		r = wprefix(ws, wcslen(ws), wp, wcslen(wp)) &&
		    (ws[wcslen(wp)] == 0 || ws[wcslen(wp)] == L' ' ||
		     ws[wcslen(wp)] == L'-' || ws[wcslen(wp)] == L'(');
		free(wp);
	}
	free(ws);
	return r;
}

/* The owner from the executable's version resource: the installed
 * product whose DisplayName starts with the ProductName (one only, or the
 * one from the same CompanyName), else the ProductName itself. */
static char *
owner_by_version(const struct collect *c, const wchar_t *exe)
{
	DWORD handle, size = GetFileVersionInfoSizeW(exe, &handle);
	char *product = NULL, *company = NULL, *owner = NULL;
	const struct product *hit = NULL;
	size_t i, hits = 0;
	void *info;

	if (size == 0 || size > 4 * 1024 * 1024 ||
	    (info = malloc(size)) == NULL)
		return NULL;
	if (GetFileVersionInfoW(exe, 0, size, info)) {
		product = version_string(info, L"ProductName");
		company = version_string(info, L"CompanyName");
	}
	free(info);
	if (product == NULL)
		goto done;
	for (i = 0; i < c->nprod; i++) {
		if (!ci_prefix(c->prod[i].name, product))
			continue;
		if (company && c->prod[i].publisher &&
		    !ci_prefix(c->prod[i].publisher, company) &&
		    !ci_prefix(company, c->prod[i].publisher))
			continue;
		if (hit == NULL || strcmp(c->prod[i].name, hit->name) != 0)
			hits++;
		if (hit == NULL)
			hit = &c->prod[i];
	}
	owner = strdup(hits == 1 ? hit->name : product);
done:
	free(product);
	free(company);
	return owner;
}

/* The product whose InstallLocation holds exe (masked), longest first. */
static const struct product *
owner_by_location(const struct collect *c, const wchar_t *exe)
{
	size_t n = wcslen(exe), i;

	for (i = 0; i < c->nprod; i++) {
		if (c->prod[i].loc == NULL)
			break; /* sorted: the rest have none */
		if (wprefix(exe, n, c->prod[i].loc, c->prod[i].loclen) &&
		    exe[c->prod[i].loclen] == L'\\')
			return &c->prod[i];
	}
	return NULL;
}

int
collect_owners(struct collect *c, const char *const *paths, size_t n,
               char **owners)
{
	const struct product *p;
	const wchar_t *real;
	wchar_t *w;
	size_t i, j;

	if (c->scanned == 0 || GetTickCount64() - c->scanned > CACHE_MS)
		scan_software(c, NULL);
	for (i = 0; i < n; i++) {
		owners[i] = NULL;
		if ((w = u2w(paths[i])) == NULL)
			continue;
		if ((p = owner_by_location(c, w)) != NULL) {
			owners[i] = strdup(p->name);
			free(w);
			continue;
		}
		real = w;
		if (wcsncmp(w, MASK, MASK_LEN) == 0) {
			for (j = 0, real = NULL; j < c->nexes && !real; j++)
				if (strcmp(c->exes[j].masked, paths[i]) == 0)
					real = c->exes[j].real;
		}
		if (real)
			owners[i] = owner_by_version(c, real);
		free(w);
	}
	return 0;
}

/* ---- users, names, boot ----------------------------------------------- */

static struct sid *
sid_find(const struct collect *c, unsigned uid)
{
	size_t i;

	for (i = 0; i < c->nsids; i++)
		if (c->sids[i].uid == uid)
			return &c->sids[i];
	return NULL;
}

void
collect_username(struct collect *c, unsigned uid, char *out, size_t n)
{
	wchar_t name[256], dom[256], both[520];
	DWORD nlen = 256, dlen = 256;
	SID_NAME_USE use;
	struct sid *s;
	PSID bin;

	if (c == NULL) {
		snprintf(out, n, "%u", uid);
		return;
	}
	if (sid_find(c, uid) == NULL)
		load_profiles(c); /* a user logged off since */
	if ((s = sid_find(c, uid)) == NULL) {
		snprintf(out, n, "%u", uid);
		return;
	}
	if (s->name == NULL && ConvertStringSidToSidA(s->str, &bin)) {
		if (LookupAccountSidW(NULL, bin, name, &nlen, dom, &dlen,
		                      &use) &&
		    name[0] != 0) {
			if (dom[0] != 0)
				_snwprintf(both, 520, L"%ls\\%ls", dom, name);
			else
				_snwprintf(both, 520, L"%ls", name);
			both[519] = 0;
			s->name = w2u(both);
		}
		LocalFree(bin);
	}
	util_strlcpy(out, s->name ? s->name : s->str, n);
}

const char *
collect_basename(const char *path)
{
	const char *p, *base = path;

	for (p = path; *p; p++)
		if (*p == '\\' || *p == '/')
			base = p + 1;
	return base;
}

void
collect_set_session_locked(struct collect *c, unsigned session, int locked)
{
	long long now = util_boot_ms();
	struct lock *l = NULL;
	size_t i;

	if (c == NULL)
		return;
	EnterCriticalSection(&c->mu);
	if (session == COLLECT_SESSION_ALL) {
		if (!locked && c->asleep)
			c->awake_since = now;
		c->asleep = locked != 0;
		goto done;
	}
	for (i = 0; i < c->nlocks && l == NULL; i++)
		if (c->locks[i].session == session)
			l = &c->locks[i];
	if (l == NULL && c->nlocks < MAX_LOCKS) {
		l = &c->locks[c->nlocks++];
		l->session = session;
		l->locked = 0;
		l->since = 0;
	}
	if (l == NULL)
		goto done;
	if (!locked && l->locked)
		l->since = now;
	l->locked = locked != 0;
done:
	LeaveCriticalSection(&c->mu);
}

void
collect_hostname(char *out, size_t n)
{
	wchar_t w[256];
	DWORD len = 256;

	if (!GetComputerNameExW(ComputerNameDnsHostname, w, &len) ||
	    w[0] == 0 || w2u_buf(w, out, n) == -1)
		util_strlcpy(out, "localhost", n);
}

/* The kernel counts boots in PrefetchParameters\BootId (Windows 8 and
 * later). Without it (wine, older systems): the boot time (boot_time()),
 * rounded to the minute; it stays the same while the machine runs, unless
 * the clock is moved by more than half a minute between two starts of the
 * agent (then one boot counts as two, which only costs the exact dating
 * of records made before the move). */
void
collect_boot_id(char *out, size_t n)
{
	DWORD id;
	HKEY k;

	if ((k = reg_open(HKEY_LOCAL_MACHINE, BOOT_KEY, KEY_WOW64_64KEY)) !=
	    NULL) {
		if (reg_dword(k, L"BootId", &id) == 0) {
			RegCloseKey(k);
			snprintf(out, n, "bootid-%lu", (unsigned long)id);
			return;
		}
		RegCloseKey(k);
	}
	snprintf(out, n, "boottime-%lld", (boot_time() + 30) / 60 * 60);
}

/* ---- lifetime --------------------------------------------------------- */

struct collect *
collect_new(const struct collect_paths *paths)
{
	struct collect *c;

	(void)paths; /* Linux's dpkg directory: nothing here */
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->self = GetCurrentProcessId();
	InitializeCriticalSection(&c->mu);
	if ((c->locks = calloc(MAX_LOCKS, sizeof(*c->locks))) == NULL) {
		DeleteCriticalSection(&c->mu);
		free(c);
		return NULL;
	}
	load_profiles(c);
	load_broad(c);
	return c;
}

void
collect_free(struct collect *c)
{
	size_t i;

	if (c == NULL)
		return;
	free_products(c->prod, c->nprod);
	free_profiles(c);
	for (i = 0; i < c->nbroad; i++)
		free(c->broad[i]);
	free(c->broad);
	for (i = 0; i < c->nsids; i++) {
		free(c->sids[i].str);
		free(c->sids[i].name);
	}
	free(c->sids);
	free_exes(c);
	free(c->exes);
	free(c->locks);
	DeleteCriticalSection(&c->mu);
	free(c);
}
