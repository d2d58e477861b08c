/*
 * log: the one logging API of mutu's daemons and tools.
 *
 * Foreground mode (-d) writes to stderr; otherwise messages go to the
 * system's log through a sink per platform (log_sink.h): syslog, which
 * systemd hands to the journal with their priority (log_syslog.c), or the
 * Windows Event Log (log_win.c). The verbosity and destination are set
 * once by log_init() at startup; they are the only file-level state of
 * common/ (as in OpenBSD's log.c).
 */
#ifndef MUTU_LOG_H
#define MUTU_LOG_H

#include <stdarg.h>

#include "attr.h"

#define LOG_ATTR(f, a) MUTU_PRINTF(f, a)

/* Sets the program name, destination (stderr when foreground) and verbosity
 * (0 = info, 1 = debug). May be called again, e.g. after parsing options. */
void log_init(const char *ident, int foreground, int verbose);
/* Warning with ": strerror(errno)" appended; errno is preserved. */
void log_warn(const char *fmt, ...) LOG_ATTR(1, 2);
/* Warning without errno. */
void log_warnx(const char *fmt, ...) LOG_ATTR(1, 2);
/* Informational message. */
void log_info(const char *fmt, ...) LOG_ATTR(1, 2);
/* Debug message, printed only when verbose. */
void log_debug(const char *fmt, ...) LOG_ATTR(1, 2);
/* Logs with strerror(errno) and exits 1. Startup and broken invariants only. */
void fatal(const char *fmt, ...) LOG_ATTR(1, 2) __attribute__((noreturn));
/* Logs and exits 1. */
void fatalx(const char *fmt, ...) LOG_ATTR(1, 2) __attribute__((noreturn));

#endif
