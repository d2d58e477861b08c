/*
 * log_sink: where log.c sends messages when not in the foreground; one
 * file per platform (log_syslog.c: syslog; log_win.c: the Windows Event
 * Log). Private to log.c.
 */
#ifndef MUTU_LOG_SINK_H
#define MUTU_LOG_SINK_H

/* Priorities, with syslog's numbers (also those of the journal's "<N>"
 * line prefix, sd-daemon(3)). */
#define LOG_PRI_CRIT    2
#define LOG_PRI_WARNING 4
#define LOG_PRI_INFO    6
#define LOG_PRI_DEBUG   7

/* Opens the system log under the program's name. A failure is not
 * reported: log_sink_write() then falls back to stderr. */
void log_sink_open(const char *ident);
/* Writes one message (a NUL-terminated line without control characters,
 * UTF-8) at priority pri. */
void log_sink_write(int pri, const char *msg);
/* Closes what log_sink_open() opened; a no-op if it was not. */
void log_sink_close(void);

#endif
