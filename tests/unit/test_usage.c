/* Unit tests: the /proc sampler and usage sessions, on this machine's real
 * processes: a child we start and stop must open and close a session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "collect.h"
#include "config.h"
#include "queue.h"
#include "usage.h"
#include "util.h"

struct fixture {
	char dir[64], path[128];
	struct collect *c;
	struct queue *q;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/mutu-usage-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/queue.db", f->dir);
	f->c = collect_new(NULL);
	f->q = queue_open(f->path, err, sizeof(err));
	*state = f;
	return f->c && f->q ? 0 : -1;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	queue_close(f->q);
	collect_free(f->c);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Runs a private copy of sleep, so that no other process on the machine
 * shares its session (exe, user). */
static pid_t
start_sleep(struct fixture *f)
{
	char prog[160], cmd[256];
	pid_t pid;

	snprintf(prog, sizeof(prog), "%s/sleeper", f->dir);
	snprintf(cmd, sizeof(cmd), "cp /bin/sleep %s", prog);
	if (access(prog, X_OK) != 0 && system(cmd) != 0)
		return -1;
	if ((pid = fork()) == 0) {
		execl(prog, "sleeper", "30", (char *)NULL);
		_exit(127);
	}
	usleep(100000); /* let it exec */
	return pid;
}

struct find {
	pid_t pid;
	struct proc_info found;
	int hits, self, kthreads;
};

static int
on_proc(const struct proc_info *p, void *arg)
{
	struct find *f = arg;

	if (p->pid == f->pid) {
		f->found = *p;
		f->hits++;
	}
	if (p->pid == (int)getpid())
		f->self++;
	if (p->pid == 2) /* kthreadd */
		f->kthreads++;
	return 0;
}

static void
test_procs_sees_child(void **state)
{
	struct fixture *fx = *state;
	struct find f;
	pid_t pid = start_sleep(fx);

	memset(&f, 0, sizeof(f));
	f.pid = pid;
	assert_true(collect_procs(fx->c, on_proc, &f) > 1);
	assert_int_equal(f.hits, 1);
	assert_non_null(strstr(f.found.exe, "/sleeper"));
	assert_int_equal(f.found.uid, getuid());
	/* On the boot clock, a moment ago. */
	assert_true(f.found.start_ms <= util_boot_ms());
	assert_true(f.found.start_ms >= util_boot_ms() - 5000);
	assert_int_equal(f.self, 0);
	assert_int_equal(f.kthreads, 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void
test_owner_of_system_binary(void **state)
{
	struct fixture *fx = *state;
	const char *paths[] = {"/usr/bin/sleep", "/tmp/not-packaged"};
	char *owners[2] = {NULL, NULL};

	assert_int_equal(collect_owners(fx->c, paths, 2, owners), 0);
	assert_string_equal(owners[0], "coreutils");
	assert_null(owners[1]);
	free(owners[0]);
}

struct rec {
	char product[64], exe[256], user[80];
	long long start, end;
	int running, found, n;
};

static int
on_record(const struct queue_rec *qr, void *arg)
{
	struct rec *r = arg;
	json_t *j = json_loads(qr->body, 0, NULL);
	const char *exe = json_string_value(json_object_get(j, "exe"));
	const char *user = json_string_value(json_object_get(j, "user"));

	assert_string_equal(qr->type, "usage");
	r->n++;
	if (exe && strstr(exe, "/sleeper") != NULL) {
		r->found++;
		snprintf(r->product, sizeof(r->product), "%s",
		         json_string_value(json_object_get(j, "product")));
		snprintf(r->exe, sizeof(r->exe), "%s", exe);
		snprintf(r->user, sizeof(r->user), "%s", user ? user : "");
		r->start = json_integer_value(json_object_get(j, "start"));
		r->end = json_integer_value(json_object_get(j, "end"));
		r->running = json_is_true(json_object_get(j, "running"));
	}
	json_decref(j);
	return 0;
}

/* Waits until the wall clock has moved to the next second and returns it,
 * so that a sample's time is known to the second. */
static long long
next_second(void)
{
	long long t = time(NULL);

	while (time(NULL) == t)
		usleep(20000);
	return time(NULL);
}

static void
peek(struct fixture *fx, struct rec *r)
{
	memset(r, 0, sizeof(*r));
	assert_true(queue_peek(fx->q, 100000, 1 << 30, on_record, r) >= 0);
}

static void
test_session_opens_and_closes(void **state)
{
	struct fixture *fx = *state;
	struct usage_opts o = {0, USER_IDS_PSEUDONYM, "0123456789abcdef", NULL};
	struct usage *u;
	struct rec r;
	pid_t pid;
	long long t0, t1;

	/* Make sure no sleep of ours is running before we start one. */
	u = usage_new(fx->c, fx->q, &o);
	assert_non_null(u);
	assert_true(usage_sample(u, time(NULL)) >= 0);
	assert_int_equal(usage_cut(u) >= 0, 1);
	assert_int_equal(queue_ack(fx->q, "none"), -1);
	t0 = time(NULL);
	pid = start_sleep(fx);
	t1 = next_second();
	assert_true(usage_sample(u, t1) >= 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	next_second();
	assert_true(usage_sample(u, time(NULL)) >= 1);
	peek(fx, &r);
	assert_int_equal(r.found, 1);
	assert_string_equal(r.product, "sleeper"); /* no package owns it */
	assert_int_equal(r.running, 0);
	/* Ends at the last sample that saw it, started when it did. */
	assert_true(r.end >= t1 - 1 && r.end <= t1);
	assert_true(r.start >= t0 - 1 && r.start <= r.end);
	/* The user is a 64-hex pseudonym, never the name. */
	assert_int_equal(strlen(r.user), 64);
	assert_null(strstr(r.user, "root"));
	usage_free(u);
}

static void
test_sessions_survive_restart(void **state)
{
	struct fixture *fx = *state;
	struct usage_opts o = {0, USER_IDS_NONE, NULL, NULL};
	struct usage *u;
	struct rec r;
	size_t open;
	pid_t pid = start_sleep(fx);
	long long now = next_second();

	u = usage_new(fx->c, fx->q, &o);
	assert_true(usage_sample(u, now) >= 0);
	open = usage_open_count(u);
	assert_true(open >= 1);
	assert_int_equal(usage_save(u), 0);
	usage_free(u); /* the agent stops */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	u = usage_new(fx->c, fx->q, &o); /* and starts again */
	assert_int_equal(usage_open_count(u), open);
	next_second();
	assert_true(usage_sample(u, time(NULL)) >= 1);
	peek(fx, &r);
	assert_int_equal(r.found, 1);
	assert_true(r.end >= now - 1 && r.end <= now); /* its last sighting */
	assert_string_equal(r.user, "");               /* user_ids = none */
	usage_free(u);
}

/* A program named as a service is metered when a system account (below
 * min_uid) runs it, without a user; any other program of that account is
 * not. The names are compared whole, in any case. */
static void
test_service_metered_without_user(void **state)
{
	struct fixture *fx = *state;
	struct usage_opts o = {(unsigned)getuid() + 1, USER_IDS_PSEUDONYM,
	                       "0123456789abcdef", "clamd, SLEEPER"};
	struct usage *u;
	struct rec r;
	pid_t pid;
	int pass;

	for (pass = 0; pass < 3; pass++) {
		/* 0: a service; 1: no services; 2: a name it only begins */
		o.services = pass == 0   ? "clamd, SLEEPER"
		             : pass == 1 ? "none"
		                         : "sleep";
		u = usage_new(fx->c, fx->q, &o);
		assert_non_null(u);
		pid = start_sleep(fx);
		assert_true(usage_sample(u, next_second()) >= 0);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		next_second();
		assert_true(usage_sample(u, time(NULL)) >= 0);
		peek(fx, &r); /* the queue's records: pass 0's only */
		assert_int_equal(r.found, 1);
		assert_string_equal(r.user, ""); /* never a person */
		usage_free(u);
	}
}

/* Midnight UTC on a wall clock set to a second before it: the session is
 * cut there, on the wall clock that dates it. */
static void
test_cut_and_midnight_split(void **state)
{
	struct fixture *fx = *state;
	struct usage_opts o = {0, USER_IDS_NONE, NULL, NULL};
	struct usage *u = usage_new(fx->c, fx->q, &o);
	long long day = (time(NULL) / 86400) * 86400;
	pid_t pid = start_sleep(fx);
	struct rec r;

	assert_true(usage_sample(u, day + 86400 - 1) >= 0);
	usleep(2200000); /* 2.2 s on both clocks: no step */
	assert_true(usage_sample(u, day + 86400 + 1) >= 1);
	peek(fx, &r);
	assert_int_equal(r.found, 1);
	assert_int_equal(r.end, day + 86400);
	assert_int_equal(r.running, 1);
	assert_true(r.start >= day + 86400 - 3);
	/* A cut records the part since midnight and keeps it open. */
	assert_true(usage_cut(u) >= 1);
	peek(fx, &r);
	assert_int_equal(r.found, 2);
	assert_int_equal(r.start, day + 86400);
	assert_true(r.end >= day + 86400 && r.end <= day + 86400 + 2);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	usage_free(u);
}

/* The wall clock steps while a program runs (issue 16, finding 3): the
 * records last what the boot clock measured, dated on the new wall clock,
 * whichever way and however far it stepped. */
static void
step_case(struct fixture *fx, long long step)
{
	struct usage_opts o = {0, USER_IDS_NONE, NULL, NULL};
	struct usage *u = usage_new(fx->c, fx->q, &o);
	long long now = time(NULL);
	pid_t pid = start_sleep(fx);
	struct rec r;

	assert_non_null(u);
	assert_true(usage_sample(u, now) >= 0);
	assert_true(usage_sample(u, now + step) >= 0); /* the step */
	usleep(1100000);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_true(usage_sample(u, time(NULL) + step) >= 1);
	peek(fx, &r);
	assert_int_equal(r.found, 1);
	assert_int_equal(r.running, 0);
	/* About 1.2 s really elapsed. */
	assert_true(r.end - r.start >= 0 && r.end - r.start <= 2);
	assert_true(r.start >= now + step - 3 && r.end <= now + step + 3);
	usage_free(u);
}

static void
test_step_forward(void **state)
{
	step_case(*state, 3600);
}

static void
test_step_decade(void **state)
{
	step_case(*state, 10LL * 365 * 86400);
}

static void
test_step_back(void **state)
{
	step_case(*state, -3600);
}

/* Stepped while the agent was stopped: the persisted sessions keep their
 * boot-clock times. */
static void
test_step_while_stopped(void **state)
{
	struct fixture *fx = *state;
	struct usage_opts o = {0, USER_IDS_NONE, NULL, NULL};
	long long now = time(NULL), step = 10LL * 365 * 86400;
	pid_t pid = start_sleep(fx);
	struct usage *u = usage_new(fx->c, fx->q, &o);
	struct rec r;

	assert_true(usage_sample(u, now) >= 0);
	assert_int_equal(usage_save(u), 0);
	usage_free(u);
	u = usage_new(fx->c, fx->q, &o);
	assert_true(usage_sample(u, now + step) >= 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_true(usage_sample(u, now + step + 1) >= 1);
	peek(fx, &r);
	assert_int_equal(r.found, 1);
	assert_true(r.end - r.start >= 0 && r.end - r.start <= 2);
	assert_true(r.start >= now + step - 3);
	usage_free(u);
}

/* Sessions persisted before a reboot end as they were: a program of the
 * same name running after it starts a new session, never one stretched
 * over the time the machine was off. */
static void
test_sessions_of_another_boot(void **state)
{
	struct fixture *fx = *state;
	struct usage_opts o = {0, USER_IDS_NONE, NULL, NULL};
	pid_t pid = start_sleep(fx);
	struct usage *u;
	struct rec r;
	long long t0;

	assert_int_equal(queue_set_boot(fx->q, "boot-a"), 0);
	u = usage_new(fx->c, fx->q, &o);
	t0 = next_second();
	assert_true(usage_sample(u, t0) >= 0);
	assert_int_equal(usage_save(u), 0);
	usage_free(u);
	assert_int_equal(queue_set_boot(fx->q, "boot-b"), 0);
	u = usage_new(fx->c, fx->q, &o);
	next_second();
	next_second();
	assert_true(usage_sample(u, time(NULL)) >= 1);
	peek(fx, &r);
	assert_int_equal(r.found, 1);
	assert_int_equal(r.running, 0);
	assert_true(r.end >= t0 - 1 && r.end <= t0);
	/* The one still running goes on from there, not before. */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	next_second();
	assert_true(usage_sample(u, time(NULL)) >= 1);
	peek(fx, &r);
	assert_int_equal(r.found, 2);
	assert_true(r.start >= t0 - 1);
	assert_true(r.end - r.start <= 3);
	usage_free(u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_procs_sees_child, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_owner_of_system_binary, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_session_opens_and_closes,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sessions_survive_restart,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_service_metered_without_user,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cut_and_midnight_split, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_step_forward, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_step_decade, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_step_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_step_while_stopped, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_sessions_of_another_boot,
	                                    setup, teardown),
	};
	return cmocka_run_group_tests_name("usage", tests, NULL, NULL);
}
