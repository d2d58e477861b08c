/*
 * collect: what the agent reads from the operating system, behind one small
 * interface; each OS has its own collect_<os>.c (collect_linux.c,
 * collect_windows.c), chosen by the Makefile.
 *
 * Users. A process's user is an unsigned "uid". On Linux it is the uid.
 * On Windows it is derived from the owner SID of the process token, so
 * that usage.c's usage_min_uid (default 1000) means "people" there too:
 *   - people: S-1-5-21-...-RID with RID >= 1000 (local and domain accounts)
 *     and S-1-12-1-... (Azure AD) map to
 *     0x80000000 | (FNV-1a 32 of the SID string & 0x7fffffff), at least
 *     2^31, the same on every PC for the same SID;
 *   - everything else is "not people" and maps below 1000: well-known
 *     accounts to their last sub-authority (SYSTEM S-1-5-18 -> 18, LOCAL
 *     SERVICE 19, NETWORK SERVICE 20, Window Manager S-1-5-90-0-N and Font
 *     Driver Host S-1-5-96-0-N -> N, the built-in Administrator -> 500),
 *     other SIDs (service SIDs S-1-5-80-..., app pools) to
 *     FNV-1a 32 % 1000.
 * collect_username() maps a uid back (DOMAIN\user, or the SID string when
 * the account cannot be looked up).
 *
 * Paths. Executables are absolute UTF-8 paths, except that a path under a
 * person's home is reported with the home replaced, so that no user name
 * is stored or sent: on Windows the profile directory by "%USERPROFILE%",
 * on Linux /home/NAME, /root or a home passwd names elsewhere by "~"
 * (procstat_mask_home()).
 */
#ifndef MUTU_COLLECT_H
#define MUTU_COLLECT_H

#include <limits.h>
#include <stddef.h>

#include <jansson.h>

struct collect;

/* Where the OS keeps what we read; NULL fields mean the system defaults.
 * Tests point these at fixture trees. */
struct collect_paths {
	const char *pkgdb; /* Linux: dpkg's directory, /var/lib/dpkg */
};

/* Longest executable path, in bytes of UTF-8 with the NUL. */
#define COLLECT_PATH_MAX 4096

/* Session number meaning every session at once (the machine asleep). */
#define COLLECT_SESSION_ALL 0xffffffffu

/* One running process as the usage sampler sees it. */
struct proc_info {
	int pid;
	unsigned uid;       /* see "Users" above */
	long long start_ms; /* start time on util_boot_ms()'s clock (ms since
	                       boot, counting suspend), which a step of the
	                       wall clock does not move; see also
	                       collect_set_session_locked */
	char exe[COLLECT_PATH_MAX];
};

/* Opens the collector (reads clock ticks). paths may be NULL.
 * NULL on failure. */
struct collect *collect_new(const struct collect_paths *paths);
/* Frees it; NULL is a no-op. */
void collect_free(struct collect *c);

/* Fills content, a GLPI inventory "content" object owned by the caller,
 * with hardware, OS, disks, network and installed software. Sections that
 * cannot be read are left out. Returns the number of software entries, or
 * -1 if the installed software could not be read. */
int collect_inventory(struct collect *c, json_t *content);

/* Calls cb for each live user-space process except the caller itself
 * (kernel threads are skipped). Processes that vanish or cannot be read are
 * skipped. Returns the number seen, or -1. cb returning -1 stops it. */
int collect_procs(struct collect *c,
                  int (*cb)(const struct proc_info *, void *), void *arg);

/* Sets owners[i] to a new string naming the installed package that owns
 * executable paths[i], or NULL. The caller frees the strings. */
int collect_owners(struct collect *c, const char *const *paths, size_t n,
                   char **owners);

/* Writes the login name of uid into out; falls back to the number. On
 * Windows the name is DOMAIN\user (or the SID string) of a SID seen by the
 * last collect_procs() or listed in the registry's ProfileList. */
void collect_username(struct collect *c, unsigned uid, char *out, size_t n);

/* The file name part of an executable path (after the last '/', and on
 * Windows also '\\'); a pointer into path. */
const char *collect_basename(const char *path);

/* Tells the collector that a session is locked (locked = 1) or unlocked
 * (0); session COLLECT_SESSION_ALL stands for the whole machine going to
 * sleep (1) or waking up (0). The processes of a locked session, and all
 * processes while the machine sleeps, are not reported by collect_procs(),
 * so usage.c ends their sessions at the last sample before the lock: time
 * locked is not use. Once a session is unlocked its processes are reported
 * again with start no earlier than the unlock, so the new usage session
 * does not cover the locked time. Callers: on lock or suspend, call this,
 * then sample; on resume, sample first (sessions end before the sleep),
 * then unlock; on logoff, unlock (session numbers are reused). On
 * Windows a session's state when first seen is asked from Windows
 * (WTSSessionInfoEx), so a session locked before the agent started is
 * hidden too. Safe to call from another thread; c may be NULL. Linux has
 * no such events: a no-op there. */
void collect_set_session_locked(struct collect *c, unsigned session,
                                int locked);

/* Writes the host name into out. */
void collect_hostname(char *out, size_t n);

/* Writes an id that changes at every boot of the machine into out (on
 * Linux the kernel's random boot_id; on Windows the BootId counter the
 * kernel keeps in the registry, else the boot time rounded to the minute:
 * see collect_windows.c); "" if there is none. */
void collect_boot_id(char *out, size_t n);

#endif
