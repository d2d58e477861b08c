#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log_sink.h"

static int log_foreground = 1;
static int log_journal; /* stderr goes to the journal: prefix priorities */
static int log_verbose;
static const char *log_ident = "mutu";

void
log_init(const char *ident, int foreground, int verbose)
{
	log_ident = ident;
	log_verbose = verbose;
	if (log_foreground == 0)
		log_sink_close();
	log_foreground = foreground;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
	if (!foreground)
		log_sink_open(ident);
}

/* Log lines are bounded (the buffer) and hold no control characters, so
 * that network-fed strings cannot forge or break lines. */
static void
sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void
vlog(int pri, const char *fmt, va_list ap, int with_errno)
{
	char msg[2048];
	int saved = errno;
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (with_errno && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	sanitize(msg);
	if (log_foreground && log_journal)
		fprintf(stderr, "<%d>%s\n", pri, msg); /* sd-daemon(3) */
	else if (log_foreground)
		fprintf(stderr, "%s: %s\n", log_ident, msg);
	else
		log_sink_write(pri, msg);
	errno = saved;
}

#define LOG_BODY(pri, e)                                                       \
	do {                                                                   \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		vlog(pri, fmt, ap, e);                                         \
		va_end(ap);                                                    \
	} while (0)

void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_PRI_WARNING, 1);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_PRI_WARNING, 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_PRI_INFO, 0);
}

void
log_debug(const char *fmt, ...)
{
	if (log_verbose)
		LOG_BODY(LOG_PRI_DEBUG, 0);
}

/* A fatal error is also told on stderr when logging goes to syslog:
 * whoever started the program must see why it stopped. */
static void
fatal_stderr(const char *fmt, va_list ap, int with_errno)
{
	int saved = errno;

	if (log_foreground)
		return;
	fprintf(stderr, "%s: ", log_ident);
	vfprintf(stderr, fmt, ap);
	if (with_errno)
		fprintf(stderr, ": %s", strerror(saved));
	fputc('\n', stderr);
}

#define FATAL_BODY(e)                                                          \
	do {                                                                   \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		fatal_stderr(fmt, ap, e);                                      \
		va_end(ap);                                                    \
	} while (0)

void
fatal(const char *fmt, ...)
{
	int saved = errno;

	FATAL_BODY(1);
	errno = saved;
	LOG_BODY(LOG_PRI_CRIT, 1);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	FATAL_BODY(0);
	LOG_BODY(LOG_PRI_CRIT, 0);
	exit(1);
}
