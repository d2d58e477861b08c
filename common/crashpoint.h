/*
 * crashpoint: named places where a test may kill the process, to prove
 * that a crash there loses and repeats nothing (docs/RELIABILITY.md).
 *
 * With MUTU_CRASHPOINT=name:N in the environment, the Nth pass through
 * crashpoint("name") ends the process at once with _exit(137), as a power
 * cut or kill -9 would: no atexit handler, no stdio flush, no SQLite
 * close. Without the variable a pass costs one string comparison.
 */
#ifndef MUTU_CRASHPOINT_H
#define MUTU_CRASHPOINT_H

/* Marks the named point; see above. */
void crashpoint(const char *name);

#endif
