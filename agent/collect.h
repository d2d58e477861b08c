/*
 * collect: what the agent reads from the operating system, behind one small
 * interface so that another OS can slot in with its own collect_<os>.c
 * (collect_linux.c today; collect_windows.c later).
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

/* One running process as the usage sampler sees it. */
struct proc_info {
	int pid;
	unsigned uid;
	long long start; /* start time, Unix seconds */
	char exe[PATH_MAX];
};

/* Opens the collector (reads boot time, clock ticks). paths may be NULL.
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

/* Writes the login name of uid into out; falls back to the number. */
void collect_username(unsigned uid, char *out, size_t n);

/* Writes the host name into out. */
void collect_hostname(char *out, size_t n);

/* Writes an id that changes at every boot of the machine into out (on
 * Linux the kernel's random boot_id); "" if there is none. */
void collect_boot_id(char *out, size_t n);

#endif
