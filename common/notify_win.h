/*
 * notify_win: the Windows side of notify.h. notify_send() reports the
 * service's state to the Service Control Manager once service_win.c has
 * attached the status handle: READY=1 -> SERVICE_RUNNING, STOPPING=1 ->
 * SERVICE_STOP_PENDING, WATCHDOG=1 -> a checkpoint while a start or stop
 * is pending, STATUS=... -> the log. Without the SCM (a console run)
 * every call is a no-op, as on Linux without $NOTIFY_SOCKET.
 * Windows-only: include from *_win.c files alone.
 */
#ifndef MUTU_NOTIFY_WIN_H
#define MUTU_NOTIFY_WIN_H

#include <windows.h>

/* Controls a running agent accepts: stop, shutdown and pre-shutdown, and
 * the power and session-change events. */
#define NOTIFY_WIN_ACCEPTED                                                    \
	(SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN |                       \
	 SERVICE_ACCEPT_PRESHUTDOWN | SERVICE_ACCEPT_POWEREVENT |              \
	 SERVICE_ACCEPT_SESSIONCHANGE)

/* How long the SCM should wait between two checkpoints of a pending
 * start or stop, in milliseconds. */
#define NOTIFY_WIN_WAIT_HINT 30000

/* Reports to the SCM through h (from RegisterServiceCtrlHandlerExW) from
 * now on, starting with SERVICE_START_PENDING. */
void notify_win_attach(SERVICE_STATUS_HANDLE h);
/* Reports SERVICE_STOP_PENDING (the first stop request) or, when already
 * pending, one more checkpoint. Safe from the control handler's thread. */
void notify_win_stopping(void);
/* Reports SERVICE_STOPPED with the agent's exit code (0: no error, else
 * a service-specific error, which makes the SCM's recovery restart it)
 * and detaches. */
void notify_win_stopped(int code);

#endif
