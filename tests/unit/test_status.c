/* Unit tests: mutu-agent status (the verdict, durations, the --max-age
 * value, the printed lines), the error text sync keeps for it, and what
 * sync_run() records in the queue, read back read-only beside the
 * writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "config.h"
#include "queue.h"
#include "status.h"
#include "sync.h"

#ifdef _WIN32
#define mkdir(path, mode) mkdir(path) /* mingw's takes no mode */
#endif

#define NOW 1800000000LL

/* A status of n records, the first created at oldest, last delivery at
 * ok_at, read at NOW with a threshold of a day. */
static struct status
make(long long n, long long oldest, long long ok_at)
{
	struct status st;

	memset(&st, 0, sizeof(st));
	st.now = NOW;
	st.max_age = STATUS_MAX_AGE_DEFAULT;
	st.queue.records = n;
	st.queue.oldest = oldest;
	st.sync.ok_at = ok_at;
	return st;
}

static void
test_nothing_queued_is_ok(void **state)
{
	struct status st = make(0, 0, 0);

	(void)state;
	/* Never delivered, failing for a year, but nothing waits. */
	st.sync.failing_since = NOW - 365 * 86400LL;
	st.sync.error_at = NOW;
	assert_int_equal(status_waiting_since(&st), 0);
	assert_false(status_failing(&st));
}

static void
test_waiting_since_later_of_delivery_and_record(void **state)
{
	struct status st = make(5, NOW - 3 * 86400LL, NOW - 600);

	(void)state;
	/* A record older than the last delivery (its own clock was off, or
	 * it came in after the delivery had started) waits since then. */
	assert_int_equal(status_waiting_since(&st), NOW - 600);
	assert_false(status_failing(&st));
	st = make(5, NOW - 600, NOW - 3 * 86400LL);
	assert_int_equal(status_waiting_since(&st), NOW - 600);
	assert_false(status_failing(&st));
	/* Never delivered: the first record's time. */
	st = make(5, NOW - 2 * 86400LL, 0);
	assert_int_equal(status_waiting_since(&st), NOW - 2 * 86400LL);
	assert_true(status_failing(&st));
}

static void
test_threshold_boundary(void **state)
{
	struct status st = make(1, NOW - 86400, 0);

	(void)state;
	assert_false(status_failing(&st)); /* exactly the threshold */
	st.queue.oldest--;
	assert_true(status_failing(&st));
	st.max_age = 0; /* any wait at all */
	st.queue.oldest = NOW;
	assert_false(status_failing(&st));
	st.queue.oldest = NOW - 1;
	assert_true(status_failing(&st));
	/* A record from the future (the clock went back) is not late. */
	st.queue.oldest = NOW + 3600;
	assert_false(status_failing(&st));
}

static void
test_parse_hours(void **state)
{
	static const char *const bad[] = {"",        "-1",  " 1",  "+1",
	                                  "1x",      "abc", "nan", "inf",
	                                  "87600.1", "1e9", "1,5"};
	long long s = -1;
	size_t i;

	(void)state;
	assert_int_equal(status_parse_hours("24", &s), 0);
	assert_int_equal(s, 86400);
	assert_int_equal(status_parse_hours("0.5", &s), 0);
	assert_int_equal(s, 1800);
	assert_int_equal(status_parse_hours(".001", &s), 0);
	assert_int_equal(s, 4); /* 3.6 s, rounded */
	assert_int_equal(status_parse_hours("0", &s), 0);
	assert_int_equal(s, 0);
	assert_int_equal(status_parse_hours("87600", &s), 0);
	assert_int_equal(s, 87600LL * 3600);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = -1;
		if (status_parse_hours(bad[i], &s) != -1)
			fail_msg("'%s' accepted as %lld s", bad[i], s);
	}
	assert_int_equal(status_parse_hours(NULL, &s), -1);
}

static void
test_duration(void **state)
{
	static const struct {
		long long secs;
		const char *text;
	} cases[] = {
	    {-5, "0 s"},
	    {0, "0 s"},
	    {59, "59 s"},
	    {60, "1 min"},
	    {3599, "59 min"},
	    {3600, "1 h"},
	    {3660, "1 h 1 min"},
	    {86399, "23 h 59 min"},
	    {86400, "1 d"},
	    {90000, "1 d 1 h"},
	    {400 * 86400LL, "400 d"},
	};
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		status_duration(cases[i].secs, out, sizeof(out));
		assert_string_equal(out, cases[i].text);
	}
}

static void
test_clean_error(void **state)
{
	char out[SYNC_ERROR_MAX], small[8];

	(void)state;
	sync_clean_error("sync: http://127.0.0.1:8/api: refused", out,
	                 sizeof(out));
	assert_string_equal(out, "sync: http://127.0.0.1:8/api: refused");
	/* The user info of any URL is left out. */
	sync_clean_error("enrol: https://alice:s3cret@mutu.example:8443/a "
	                 "via http://p:pw@proxy:3128: timeout",
	                 out, sizeof(out));
	assert_string_equal(out, "enrol: https://mutu.example:8443/a via "
	                         "http://proxy:3128: timeout");
	sync_clean_error("'http://u:p@h' x", out, sizeof(out));
	assert_string_equal(out, "'http://h' x");
	/* One line, no terminal controls; UTF-8 kept, other bytes '?'. */
	sync_clean_error("a\nb\r\tc\x1b[31md\x7f"
	                 "\xc2\x9b"
	                 "e\xe2\x80\xaeg \xc3\xa9t\xc3\xa9 \xff\xc3",
	                 out, sizeof(out));
	assert_string_equal(out, "a b  c [31md ?e?g \xc3\xa9t\xc3\xa9 ??");
	/* Cut at a character's boundary. */
	sync_clean_error("abcdef\xc3\xa9", small, sizeof(small));
	assert_string_equal(small, "abcdef");
	sync_clean_error("abcde\xc3\xa9z", small, sizeof(small));
	assert_string_equal(small, "abcde\xc3\xa9");
	sync_clean_error("x", small, 0); /* nothing written, no crash */
}

/* st printed as text, into buf. */
static void
print_to(const struct status *st, int json, char *buf, size_t n)
{
	FILE *fp = tmpfile();
	size_t len;

	assert_non_null(fp);
	assert_int_equal(status_print(fp, st, json), 0);
	rewind(fp);
	len = fread(buf, 1, n - 1, fp);
	buf[len] = '\0';
	fclose(fp);
}

static void
test_print_lines(void **state)
{
	struct status st = make(12, NOW - 90000, 0);
	char out[4096];

	(void)state;
	st.sync.failing_since = NOW - 90000;
	st.sync.error_at = NOW - 60;
	snprintf(st.sync.error, sizeof(st.sync.error),
	         "sync: server answered 503: busy");
	st.disk_bytes = 1048576;
	st.disk_budget = 64 * 1048576LL;
	print_to(&st, 0, out, sizeof(out));
	assert_string_equal(
	    out, "status: failing: no delivery for 1 d 1 h while 12 records "
	         "wait (max age 1 d)\n"
	         "queued: 12\n"
	         "oldest: 2027-01-14T07:00:00Z (1 d 1 h ago)\n"
	         "last_delivery: never\n"
	         "last_error: 2027-01-15T07:59:00Z (1 min ago): sync: server "
	         "answered 503: busy\n"
	         "failing_since: 2027-01-14T07:00:00Z (1 d 1 h ago)\n"
	         "disk: 1048576 of 67108864 bytes (1.6 %)\n"
	         "quarantined: 0\n"
	         "dropped: 0\n");
	st = make(0, 0, NOW - 5);
	print_to(&st, 0, out, sizeof(out));
	assert_non_null(strstr(out, "status: ok\nqueued: 0\noldest: none\n"
	                            "last_delivery: 2027-01-15T07:59:55Z (5 s "
	                            "ago)\nlast_error: none\n"
	                            "failing_since: no\n"));
	print_to(&st, 1, out, sizeof(out));
	assert_non_null(strstr(out, "\"status\": \"ok\""));
	assert_non_null(strstr(out, "\"last_error\": null"));
	assert_non_null(strstr(out, "\"last_delivery\": 1799999995"));
}

struct fixture {
	char dir[256];
	char path[300];
	struct agent_config cfg;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TEMP");
	int fd;

	if (f == NULL)
		return -1;
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(f->dir, sizeof(f->dir), "%s/mutu-status-XXXXXX", tmp);
	if ((fd = mkstemp(f->dir)) == -1)
		return -1;
	close(fd);
	if (remove(f->dir) != 0 || mkdir(f->dir, 0700) != 0)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/queue.db", f->dir);
	/* No token and no enrolment secret: every run fails at once,
	 * before any request. */
	snprintf(f->cfg.server, sizeof(f->cfg.server), "http://127.0.0.1:9");
	snprintf(f->cfg.commune, sizeof(f->cfg.commune), "29019");
	snprintf(f->cfg.state_dir, sizeof(f->cfg.state_dir), "%s", f->dir);
	snprintf(f->cfg.proxy, sizeof(f->cfg.proxy), "direct");
	f->cfg.batch_records = 100;
	f->cfg.http_timeout = 5;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	static const char *const files[] = {"queue.db", "queue.db-wal",
	                                    "queue.db-shm", "token"};
	struct fixture *f = *state;
	char p[400];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, files[i]);
		remove(p);
	}
	if (rmdir(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

static void
test_sync_records_failures(void **state)
{
	struct fixture *f = *state;
	long long t0 = (long long)time(NULL) - 7200;
	struct sync_result r;
	struct sync_state ss;
	struct status st;
	struct queue *q;
	struct sync *s;
	char err[512], p[400];
	FILE *fp;

	q = queue_open(f->path, err, sizeof(err));
	assert_non_null(q);
	assert_int_equal(sync_state_load(q, &ss), 0);
	assert_int_equal(ss.ok_at + ss.failing_since + ss.error_at, 0);
	assert_true(queue_push(q, "usage", t0, "{}") > 0);
	s = sync_new(&f->cfg, q, "00000000-0000-0000-0000-000000000001", "pc");
	assert_non_null(s);
	assert_int_equal(sync_run(s, &r), -1);
	assert_int_equal(sync_state_load(q, &ss), 0);
	assert_int_equal(ss.ok_at, 0);
	assert_true(ss.error_at > 0);
	assert_int_equal(ss.failing_since, ss.error_at);
	assert_non_null(strstr(ss.error, "no enrol_secret configured"));
	/* A second failure keeps when the failures began. */
	assert_int_equal(queue_meta_set(q, "sync_failing_since", "1000"), 0);
	assert_int_equal(sync_run(s, &r), -1);
	assert_int_equal(sync_state_load(q, &ss), 0);
	assert_int_equal(ss.failing_since, 1000);
	assert_true(ss.error_at > 1000);

	/* Read-only, beside the writer that holds the queue open. */
	assert_int_equal(
	    status_read(f->path, 3600, 1 << 20, &st, err, sizeof(err)), 0);
	assert_int_equal(st.queue.records, 1);
	assert_int_equal(st.queue.oldest, t0);
	assert_int_equal(st.sync.failing_since, 1000);
	assert_int_equal(st.sync.error_at, ss.error_at);
	assert_string_equal(st.sync.error, ss.error);
	assert_int_equal(st.max_age, 3600);
	assert_int_equal(st.disk_budget, 1 << 20);
	assert_true(st.disk_bytes > 0);
	assert_true(status_failing(&st));

	/* With a token and nothing to send, a run asks the server nothing
	 * and writes nothing. */
	sync_free(s);
	assert_int_equal(queue_delete_type(q, "usage"), 1);
	snprintf(p, sizeof(p), "%s/token", f->dir);
	assert_non_null(fp = fopen(p, "w"));
	fprintf(fp, "%064d", 7);
	fclose(fp);
	s = sync_new(&f->cfg, q, "00000000-0000-0000-0000-000000000001", "pc");
	assert_non_null(s);
	assert_int_equal(sync_run(s, &r), 0);
	assert_int_equal(sync_state_load(q, &st.sync), 0);
	assert_int_equal(st.sync.failing_since, 1000);
	assert_int_equal(st.sync.error_at, ss.error_at);
	assert_int_equal(st.sync.ok_at, 0);
	sync_free(s);
	queue_close(q);
}

static void
test_readonly_refuses_absent_and_newer(void **state)
{
	struct fixture *f = *state;
	struct queue *q;
	char err[512];
	sqlite3 *db;

	assert_null(queue_open_readonly(f->path, err, sizeof(err)));
	assert_non_null(strstr(err, "the agent has not run"));
	/* Read-only creates nothing. */
	assert_int_equal(access(f->path, F_OK), -1);
	q = queue_open(f->path, err, sizeof(err));
	assert_non_null(q);
	/* A write through the read-only handle is refused. */
	queue_close(q);
	q = queue_open_readonly(f->path, err, sizeof(err));
	assert_non_null(q);
	assert_int_equal(queue_meta_set(q, "x", "y"), -1);
	assert_int_equal(queue_pending(q), 0);
	queue_close(q);
	/* A queue of a newer agent is not misread. */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_null(queue_open_readonly(f->path, err, sizeof(err)));
	assert_non_null(strstr(err, "queue schema version 99"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nothing_queued_is_ok),
	    cmocka_unit_test(test_waiting_since_later_of_delivery_and_record),
	    cmocka_unit_test(test_threshold_boundary),
	    cmocka_unit_test(test_parse_hours),
	    cmocka_unit_test(test_duration),
	    cmocka_unit_test(test_clean_error),
	    cmocka_unit_test(test_print_lines),
	    cmocka_unit_test_setup_teardown(test_sync_records_failures, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        test_readonly_refuses_absent_and_newer, setup, teardown),
	};
	return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}
