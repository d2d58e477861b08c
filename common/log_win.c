/*
 * log_win: the log sink over the Windows Event Log (the service's log).
 *
 * Messages go to the Application log under the program's name as event
 * source ("mutu-agent"; the MSI registers it). Every message is event ID 1
 * with the whole text as its one insertion string, so that the source's
 * message file needs a single entry, "%1"; the level is the event type.
 * When the source cannot be opened (not registered, or the Event Log
 * service is down) messages go to stderr instead.
 */
#include "log_sink.h"

#include <stdio.h>
#include <stdlib.h>

#include <windows.h>

#include "win.h"

#define LOG_EVENT_ID 1

static HANDLE source;

void
log_sink_open(const char *ident)
{
	wchar_t *w;

	log_sink_close();
	if ((w = win_wide(ident)) == NULL)
		return;
	source = RegisterEventSourceW(NULL, w);
	free(w);
}

static WORD
event_type(int pri)
{
	if (pri <= LOG_PRI_CRIT + 1) /* crit, and err if ever used */
		return EVENTLOG_ERROR_TYPE;
	if (pri == LOG_PRI_WARNING)
		return EVENTLOG_WARNING_TYPE;
	return EVENTLOG_INFORMATION_TYPE;
}

void
log_sink_write(int pri, const char *msg)
{
	/* log.c's messages are under 2048 bytes, and a UTF-16 text has no
	 * more units than its UTF-8 has bytes. Bytes that are not UTF-8
	 * (network-fed names) become U+FFFD rather than losing the line. */
	wchar_t w[2048];
	const wchar_t *strings[1] = {w};
	int n;

	if (source == NULL) {
		fprintf(stderr, "%s\n", msg);
		return;
	}
	n = MultiByteToWideChar(CP_UTF8, 0, msg, -1, w,
	                        (int)(sizeof(w) / sizeof(w[0])));
	if (n <= 0)
		strings[0] = L"(message too long)";
	ReportEventW(source, event_type(pri), 0, LOG_EVENT_ID, NULL, 1, 0,
	             strings, NULL);
}

void
log_sink_close(void)
{
	if (source != NULL)
		DeregisterEventSource(source);
	source = NULL;
}
