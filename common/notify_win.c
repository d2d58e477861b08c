/*
 * notify_win.c: notify.h over the Service Control Manager (notify_win.h).
 * The status is shared by the service thread (the agent) and the SCM's
 * control-handler thread, hence the lock.
 */
#include "notify.h"
#include "notify_win.h"

#include <string.h>

#include "log.h"

static CRITICAL_SECTION lock;
static SERVICE_STATUS_HANDLE scm; /* NULL: not under the SCM */
static SERVICE_STATUS status;

/* Sends state with the next checkpoint (pending states) or none. */
static void
report(DWORD state)
{
	int pending =
	    state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING;

	if (state != status.dwCurrentState)
		status.dwCheckPoint = 0;
	status.dwCurrentState = state;
	status.dwControlsAccepted =
	    state == SERVICE_RUNNING ? NOTIFY_WIN_ACCEPTED : 0;
	status.dwCheckPoint = pending ? status.dwCheckPoint + 1 : 0;
	status.dwWaitHint = pending ? NOTIFY_WIN_WAIT_HINT : 0;
	SetServiceStatus(scm, &status);
}

void
notify_win_attach(SERVICE_STATUS_HANDLE h)
{
	InitializeCriticalSection(&lock);
	memset(&status, 0, sizeof(status));
	status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
	status.dwWin32ExitCode = NO_ERROR;
	scm = h;
	report(SERVICE_START_PENDING);
}

void
notify_win_stopping(void)
{
	if (scm == NULL)
		return;
	EnterCriticalSection(&lock);
	if (status.dwCurrentState != SERVICE_STOPPED)
		report(SERVICE_STOP_PENDING);
	LeaveCriticalSection(&lock);
}

void
notify_win_stopped(int code)
{
	if (scm == NULL)
		return;
	EnterCriticalSection(&lock);
	status.dwWin32ExitCode = code ? ERROR_SERVICE_SPECIFIC_ERROR : NO_ERROR;
	status.dwServiceSpecificExitCode = (DWORD)code;
	report(SERVICE_STOPPED);
	scm = NULL; /* the handle is invalid once STOPPED is reported */
	LeaveCriticalSection(&lock);
}

int
notify_send(const char *state)
{
	if (scm == NULL)
		return 0;
	if (strncmp(state, "STATUS=", 7) == 0) {
		log_info("%s", state + 7);
		return 0;
	}
	EnterCriticalSection(&lock);
	if (strcmp(state, "READY=1") == 0 &&
	    status.dwCurrentState == SERVICE_START_PENDING)
		report(SERVICE_RUNNING);
	else if (strcmp(state, "STOPPING=1") == 0 &&
	         status.dwCurrentState != SERVICE_STOPPED)
		report(SERVICE_STOP_PENDING);
	else if (strcmp(state, "WATCHDOG=1") == 0 &&
	         (status.dwCurrentState == SERVICE_START_PENDING ||
	          status.dwCurrentState == SERVICE_STOP_PENDING))
		report(status.dwCurrentState);
	LeaveCriticalSection(&lock);
	return 0;
}

long long
notify_watchdog_ms(void)
{
	/* The SCM has no watchdog: a hung service is not restarted, and a
	 * running one needs no pings. */
	return 0;
}
