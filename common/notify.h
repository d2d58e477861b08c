/*
 * notify: the systemd service notification protocol (sd_notify(3)), spoken
 * directly over the $NOTIFY_SOCKET datagram socket so that the agent needs
 * no libsystemd. Without $NOTIFY_SOCKET every call is a no-op.
 */
#ifndef MUTU_NOTIFY_H
#define MUTU_NOTIFY_H

/* Sends a state string such as "READY=1", "STOPPING=1" or "WATCHDOG=1".
 * Returns 0 (also when not under systemd), or -1. */
int notify_send(const char *state);
/* Milliseconds between watchdog pings (half of $WATCHDOG_USEC) when the
 * watchdog is enabled for this process, else 0. */
long long notify_watchdog_ms(void);

#endif
