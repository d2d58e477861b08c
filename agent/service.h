/*
 * service: what the agent's main needs from the operating system, so that
 * main.c makes no system call of its own. service_unix.c speaks POSIX
 * (signals, umask, chown, /proc/self/exe) and runs under systemd;
 * service_win.c is a Windows service under the Service Control Manager
 * (SCM), with its state in %ProgramData%\mutu behind a protected ACL.
 */
#ifndef MUTU_AGENT_SERVICE_H
#define MUTU_AGENT_SERVICE_H

#include <signal.h>
#include <stddef.h>
#include <sys/stat.h>

/* Events the system reports to a running service (Windows: power and
 * session-change controls). Linux reports none. */
enum service_event_type {
	SERVICE_EV_SUSPEND, /* the machine is going to sleep */
	SERVICE_EV_RESUME,  /* it woke up */
	SERVICE_EV_LOCK,    /* a session was locked */
	SERVICE_EV_UNLOCK,  /* a session was unlocked */
	SERVICE_EV_LOGOFF,  /* a user logged off */
};

struct service_event {
	enum service_event_type type;
	unsigned session; /* Windows session id (lock, unlock, logoff) */
};

/* The configuration file used without -c: /etc/mutu/agent.conf, or
 * %ProgramData%\mutu\agent.conf. A static string. */
const char *service_default_config(void);
/* The state directory used when the configuration names none:
 * /var/lib/mutu-agent, or %ProgramData%\mutu\state. A static string. */
const char *service_default_state_dir(void);

/* Process-wide setup before any file is created: files private to the
 * service (umask 077 on Unix). */
void service_init(void);
/* Runs body(arg) as the system's service and returns its exit code. On
 * Windows ("--service", the ImagePath the MSI installs) this connects to
 * the SCM and runs body in ServiceMain, reporting STOPPED with its exit
 * code; on Unix systemd starts the program directly, so it calls body. */
int service_run(int (*body)(void *), void *arg);
/* From now on a request to stop (SIGTERM, SIGINT, SIGHUP; Ctrl-C or an
 * SCM stop, shutdown or pre-shutdown) sets the stop flag and cuts
 * service_sleep() short. SIGPIPE is ignored. */
void service_catch_stop(void);
/* The stop flag, for sync and httpc to poll (borrowed, never NULL). */
const volatile sig_atomic_t *service_stop_flag(void);
/* Whether a stop was requested. */
int service_stopping(void);
/* Sleeps up to ms milliseconds; returns early on a stop request or, on
 * Windows, on a system event (service_next_event()). */
void service_sleep(long long ms);
/* Takes the oldest pending system event into ev. Returns 1, or 0 when
 * there is none. */
int service_next_event(struct service_event *ev);

/* Creates the directory path, private to the service (mode 0700; on
 * Windows a protected ACL: SYSTEM and Administrators only, inherited by
 * what is created inside). An existing directory is kept (Unix) or gets
 * the ACL again (Windows). Returns 0, or -1 with errno set. */
int service_private_dir(const char *path);
/* Before writing the configuration file path with the default location:
 * creates its directory private to the service on Windows (Unix packages
 * ship /etc/mutu). Returns 0, or -1 with errno set. */
int service_config_dir(const char *path);
/* Gives the files names[] (NULL-terminated) inside dir to dir's owner:
 * files a root-run "enrol" creates must stay readable by the service
 * user. Windows files inherit the directory's ACL: nothing to do. */
void service_give_to_owner(const char *dir, const char *const *names);
/* After rewriting path, gives it back the owner recorded in st (from a
 * stat() before). Returns 0, or -1 with errno set. */
int service_keep_owner(const char *path, const struct stat *st);
/* Gives the memory freed after a big job back to the system. */
void service_release_memory(void);
/* Writes the running executable's path into out. Returns 0, or -1. */
int service_self_path(char *out, size_t n);
/* Refuses a file others could change: what names it in the message
 * ("binary", "configuration", "ca_file"). Unix: writable by its owner
 * only, owned by root or by the user running the agent. Windows: no
 * write, delete or ACL change granted to Everyone, Users, Authenticated
 * Users or Interactive. Returns 0, or -1 with err set. */
int service_check_file(const char *what, const char *path, char *err,
                       size_t errlen);
/* First start after an installation (Windows): the settings the MSI left
 * in HKLM\SOFTWARE\mutu\Agent (Server, Commune, EnrolSecret, UserKey,
 * CaFile, Proxy) are written into conffile (and the CA next to it), then
 * the values are deleted from the registry and wiped from memory. Returns
 * 1 if settings were imported, 0 if there were none, -1 with err set.
 * Unix has no such settings and returns 0. */
int service_import_settings(const char *conffile, char *err, size_t errlen);

#endif
