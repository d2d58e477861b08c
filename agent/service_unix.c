/*
 * service_unix.c: the agent's OS layer on Linux (systemd starts it in the
 * foreground; signals stop it).
 */
#include "service.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static volatile sig_atomic_t stop;

const char *
service_default_config(void)
{
	return "/etc/mutu/agent.conf";
}

const char *
service_default_state_dir(void)
{
	return "/var/lib/mutu-agent";
}

void
service_init(void)
{
	/* Databases, tokens and queues are private to the service. */
	umask(077);
}

int
service_run(int (*body)(void *), void *arg)
{
	return body(arg);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

void
service_catch_stop(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

const volatile sig_atomic_t *
service_stop_flag(void)
{
	return &stop;
}

int
service_stopping(void)
{
	return stop != 0;
}

void
service_sleep(long long ms)
{
	struct timespec ts;

	if (ms <= 0 || stop)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	nanosleep(&ts, NULL); /* a signal cuts it short */
}

int
service_next_event(struct service_event *ev)
{
	(void)ev;
	return 0; /* logind's lock and sleep signals are not followed */
}

int
service_private_dir(const char *path)
{
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

int
service_config_dir(const char *path)
{
	(void)path;
	return 0;
}

void
service_give_to_owner(const char *dir, const char *const *names)
{
	char path[PATH_MAX];
	struct stat st;
	int i;

	if (geteuid() != 0 || stat(dir, &st) == -1)
		return;
	for (i = 0; names[i]; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		                     names[i]) >= sizeof(path))
			continue;
		/* lchown: never the target of a link planted there. */
		if (lchown(path, st.st_uid, st.st_gid) == -1 && errno != ENOENT)
			log_warn("chown %s", path);
	}
}

int
service_keep_owner(const char *path, const struct stat *st)
{
	return chown(path, st->st_uid, st->st_gid);
}

void
service_release_memory(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

int
service_self_path(char *out, size_t n)
{
	ssize_t len;

	if (n < 2 || (len = readlink("/proc/self/exe", out, n - 1)) <= 0)
		return -1;
	out[len] = '\0';
	return 0;
}

int
service_check_file(const char *what, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "%s %s: cannot stat", what, path);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) ||
	    (st.st_uid != 0 && st.st_uid != geteuid())) {
		snprintf(err, errlen,
		         "%s %s: writable by others or owned by another user "
		         "(mode %04o, uid %u); refusing to run",
		         what, path, (unsigned)(st.st_mode & 07777),
		         (unsigned)st.st_uid);
		return -1;
	}
	return 0;
}

int
service_import_settings(const char *conffile, char *err, size_t errlen)
{
	(void)conffile, (void)err, (void)errlen;
	return 0; /* Debian packages take settings through "enrol" */
}
