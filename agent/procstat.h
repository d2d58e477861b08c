/*
 * procstat: parsing of Linux /proc/PID/stat lines, and the masking of home
 * directories in executable paths, apart from the file reading so that
 * they can be tested and fuzzed on their own.
 */
#ifndef MUTU_PROCSTAT_H
#define MUTU_PROCSTAT_H

#include <stddef.h>

/* Parses the text of /proc/PID/stat: flags (field 9) and starttime
 * (field 22), read past the last ')' since the command name may hold
 * spaces and parentheses. Returns 0, or -1 if the line is malformed. */
int procstat_parse(const char *line, unsigned long *flags,
                   unsigned long long *start);

/* Masks a person's home directory at the start of path, in place, so that
 * no user name is stored or sent: the longest of homes[0..n-1] (absolute
 * directories, a trailing '/' ignored; "/" and one-character entries never
 * match) followed by '/', else /home/NAME/, else /root/, becomes "~/".
 * Returns 1 if path was masked, else 0 (path unchanged). */
int procstat_mask_home(char *path, const char *const *homes, size_t n);

#endif
