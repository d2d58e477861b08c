/*
 * procstat: parsing of Linux /proc/PID/stat lines, apart from the file
 * reading so that it can be tested and fuzzed on its own.
 */
#ifndef MUTU_PROCSTAT_H
#define MUTU_PROCSTAT_H

/* Parses the text of /proc/PID/stat: flags (field 9) and starttime
 * (field 22), read past the last ')' since the command name may hold
 * spaces and parentheses. Returns 0, or -1 if the line is malformed. */
int procstat_parse(const char *line, unsigned long *flags,
                   unsigned long long *start);

#endif
