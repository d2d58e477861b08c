/*
 * dpkg: reads Debian's package database directly (no subprocess): the
 * status file for installed packages, and the info/PKG.list file lists to
 * find which package owns an executable.
 */
#ifndef MUTU_DPKG_H
#define MUTU_DPKG_H

#include <stddef.h>
#include <stdio.h>

struct dpkg_pkg {
	const char *name;
	const char *version;
	const char *arch;
	const char *maintainer;
	const char *section;
	const char *summary;    /* first line of Description */
	long long installed_kb; /* Installed-Size, -1 if absent */
};

/* Calls cb for every package whose Status says it is installed, in file
 * order. The strings live until cb returns. cb returning -1 stops the walk.
 * Returns the number of installed packages, or -1 on a read error or if cb
 * stopped it. */
int dpkg_parse_status(FILE *fp, int (*cb)(const struct dpkg_pkg *, void *),
                      void *arg);

/* For each of the n absolute paths, sets owners[i] to a new string naming
 * the package whose file list holds it (architecture qualifier removed), or
 * leaves it NULL. /usr/bin/x also matches /bin/x (merged /usr). The caller
 * frees the strings. Returns 0, or -1 if info_dir cannot be read. */
int dpkg_owners(const char *info_dir, const char *const *paths, size_t n,
                char **owners);

#endif
