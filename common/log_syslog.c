/*
 * log_syslog: the log sink over syslog(3), which systemd hands to the
 * journal with each message's priority (Linux).
 */
#include "log_sink.h"

#include <syslog.h>

_Static_assert(LOG_PRI_CRIT == LOG_CRIT && LOG_PRI_WARNING == LOG_WARNING &&
                   LOG_PRI_INFO == LOG_INFO && LOG_PRI_DEBUG == LOG_DEBUG,
               "log_sink.h priorities are syslog's");

static int opened;

void
log_sink_open(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	opened = 1;
}

void
log_sink_write(int pri, const char *msg)
{
	syslog(pri, "%s", msg);
}

void
log_sink_close(void)
{
	if (opened)
		closelog();
	opened = 0;
}
