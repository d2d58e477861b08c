/* Unit tests: the agent's durable queue on real SQLite files. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "queue.h"

#ifdef _WIN32
#define mkdir(path, mode) mkdir(path) /* mingw's takes no mode */
#endif

struct fixture {
	char dir[256];
	char path[300];
};

/* The number of files in f->dir whose name starts with prefix; with
 * remove_them, removes them. */
static int
dir_files(struct fixture *f, const char *prefix, int remove_them)
{
	char name[600];
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(f->dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		n++;
		snprintf(name, sizeof(name), "%s/%s", f->dir, de->d_name);
		if (remove_them && remove(name) != 0)
			n = -1000;
	}
	closedir(d);
	return n;
}

/* A directory of our own under $TEMP (Windows) or /tmp. */
static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TEMP");
	int fd;

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(f->dir, sizeof(f->dir), "%s/mutu-queue-XXXXXX", tmp);
	if ((fd = mkstemp(f->dir)) == -1)
		return -1;
	close(fd);
	if (remove(f->dir) != 0 || mkdir(f->dir, 0700) != 0)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/queue.db", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (dir_files(f, "", 1) < 0 || rmdir(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

static struct queue *
open_q(struct fixture *f)
{
	char err[256];
	struct queue *q = queue_open(f->path, err, sizeof(err));

	if (q == NULL)
		fail_msg("queue_open: %s", err);
	return q;
}

static void
test_seq_survives_reopen(void **state)
{
	struct fixture *f = *state;
	struct queue *q = open_q(f);
	char epoch[40];

	assert_int_equal(queue_push(q, "usage", 1, "{}"), 1);
	assert_int_equal(queue_push(q, "usage", 2, "{}"), 2);
	snprintf(epoch, sizeof(epoch), "%s", queue_epoch(q));
	assert_int_equal(strlen(epoch), 32);
	queue_close(q);
	q = open_q(f);
	assert_string_equal(queue_epoch(q), epoch);
	assert_int_equal(queue_push(q, "usage", 3, "{}"), 3);
	assert_int_equal(queue_pending(q), 3);
	queue_close(q);
	/* A new database is a new stream. */
	unlink(f->path);
	q = open_q(f);
	assert_string_not_equal(queue_epoch(q), epoch);
	assert_int_equal(queue_push(q, "usage", 4, "{}"), 1);
	queue_close(q);
}

static void
test_rollback_forgets_seq(void **state)
{
	struct fixture *f = *state;
	struct queue *q = open_q(f);

	assert_int_equal(queue_begin(q), 0);
	assert_int_equal(queue_push(q, "usage", 1, "{\"a\":1}"), 1);
	assert_int_equal(queue_push(q, "usage", 1, "{\"a\":2}"), 2);
	queue_rollback(q);
	assert_int_equal(queue_pending(q), 0);
	assert_int_equal(queue_push(q, "usage", 1, "{\"a\":3}"), 1);
	queue_close(q);
	q = open_q(f);
	assert_int_equal(queue_push(q, "usage", 1, "{}"), 2);
	queue_close(q);
}

struct peek {
	long long seqs[16];
	int n;
};

static int
on_peek(const struct queue_rec *r, void *arg)
{
	struct peek *p = arg;

	if (p->n < 16)
		p->seqs[p->n++] = r->seq;
	return 0;
}

struct types {
	int usage, usage_day, gap, other;
	char last_gap[512];
};

static int
on_type(const struct queue_rec *r, void *arg)
{
	struct types *t = arg;

	if (strcmp(r->type, "usage") == 0)
		t->usage++;
	else if (strcmp(r->type, "usage_day") == 0)
		t->usage_day++;
	else if (strcmp(r->type, "gap") == 0) {
		t->gap++;
		snprintf(t->last_gap, sizeof(t->last_gap), "%s", r->body);
	} else
		t->other++;
	return 0;
}

static struct types
count_types(struct queue *q)
{
	struct types t;

	memset(&t, 0, sizeof(t));
	assert_true(queue_peek(q, 1 << 30, (size_t)1 << 40, on_type, &t) >= 0);
	return t;
}

static void
test_peek_bounds(void **state)
{
	struct fixture *f = *state;
	struct queue *q = open_q(f);
	struct peek p;
	int i;

	for (i = 0; i < 10; i++)
		queue_push(q, "usage", i, "0123456789");
	memset(&p, 0, sizeof(p));
	assert_int_equal(queue_peek(q, 4, 1000, on_peek, &p), 4);
	assert_int_equal(p.seqs[0], 1);
	assert_int_equal(p.seqs[3], 4);
	memset(&p, 0, sizeof(p));
	assert_int_equal(queue_peek(q, 100, 35, on_peek, &p), 3);
	memset(&p, 0, sizeof(p));
	/* One record always fits, however small the byte budget. */
	assert_int_equal(queue_peek(q, 100, 1, on_peek, &p), 1);
	queue_close(q);
}

static void
test_seal_ack(void **state)
{
	struct fixture *f = *state;
	struct queue *q = open_q(f);
	struct queue_batch b, got;
	unsigned char body[] = {1, 2, 3, 0, 4};
	int i;

	for (i = 0; i < 5; i++)
		queue_push(q, "usage", i, "{}");
	assert_int_equal(queue_sealed(q, &got), 0);
	memset(&b, 0, sizeof(b));
	snprintf(b.batch_id, sizeof(b.batch_id), "abc123");
	b.first_seq = 1;
	b.last_seq = 3;
	b.records = 3;
	b.body = body;
	b.len = sizeof(body);
	assert_int_equal(queue_seal(q, &b), 0);
	assert_int_equal(queue_seal(q, &b), -1); /* one at a time */
	queue_close(q);
	q = open_q(f);
	assert_int_equal(queue_sealed(q, &got), 1);
	assert_string_equal(got.batch_id, "abc123");
	assert_int_equal(got.last_seq, 3);
	assert_int_equal(got.len, sizeof(body));
	assert_memory_equal(got.body, body, sizeof(body));
	queue_batch_free(&got);
	/* An ack naming another batch deletes nothing. */
	assert_int_equal(queue_ack(q, "other"), -1);
	assert_int_equal(queue_pending(q), 5);
	assert_int_equal(queue_ack(q, "abc123"), 0);
	assert_int_equal(queue_pending(q), 2);
	assert_int_equal(queue_sealed(q, &got), 0);
	queue_close(q);
}

static int
on_session(const struct queue_session *s, void *arg)
{
	long long *sum = arg;

	*sum += s->start + s->last_seen + s->uid;
	return 0;
}

static void
test_sessions(void **state)
{
	struct fixture *f = *state;
	struct queue *q = open_q(f);
	struct queue_session s[2] = {{"/usr/bin/a", 1000, 10, 20},
	                             {"/usr/bin/b", 1001, 100, 200}};
	long long sum = 0;

	assert_int_equal(queue_sessions_save(q, s, 2), 0);
	queue_close(q);
	q = open_q(f);
	assert_int_equal(queue_sessions_load(q, on_session, &sum), 2);
	assert_int_equal(sum, 10 + 20 + 1000 + 100 + 200 + 1001);
	assert_int_equal(queue_sessions_save(q, s, 1), 0);
	sum = 0;
	assert_int_equal(queue_sessions_load(q, on_session, &sum), 1);
	queue_close(q);
}

/* A refused record goes to quarantine; the others stay to be sent. */
static void
test_quarantine(void **state)
{
	struct fixture *f = *state;
	struct queue *q = open_q(f);
	struct peek p;
	int i;

	for (i = 0; i < 5; i++)
		queue_push(q, "usage", i, "{}");
	assert_int_equal(queue_quarantine(q, 3, 3, "bad start"), 1);
	memset(&p, 0, sizeof(p));
	assert_int_equal(queue_peek(q, 100, 1000, on_peek, &p), 4);
	assert_int_equal(p.seqs[2], 4);
	assert_int_equal(queue_delete_type(q, "usage"), 4);
	assert_int_equal(queue_pending(q), 0);
	queue_close(q);
}

/* A damaged database is moved aside: a new stream starts, and its first
 * record tells the server what was lost. */
static void
test_corrupt_moved_aside(void **state)
{
	struct fixture *f = *state;
	struct queue *q = open_q(f);
	char epoch[40];
	struct types t;
	FILE *fp;
	int i;

	for (i = 0; i < 50; i++)
		queue_push(q, "usage", i, "{\"product\":\"x\"}");
	snprintf(epoch, sizeof(epoch), "%s", queue_epoch(q));
	queue_close(q);
	fp = fopen(f->path, "r+");
	assert_non_null(fp);
	fseek(fp, 100, SEEK_SET); /* the header's page counts and more */
	for (i = 0; i < 4000; i++)
		fputc(0x5a, fp);
	fclose(fp);
	q = open_q(f);
	assert_string_not_equal(queue_epoch(q), epoch);
	t = count_types(q);
	assert_int_equal(t.gap, 1);
	assert_non_null(strstr(t.last_gap, "\"reason\":\"corrupt\""));
	queue_close(q);
	assert_true(dir_files(f, "queue.db.corrupt-", 0) >= 1);
}

/* Over budget: old usage is folded into days first; only if that is not
 * enough do the oldest records go, each drop reported by a gap record. */
static void
test_budget(void **state)
{
	struct fixture *f = *state;
	struct queue *q = open_q(f);
	struct queue_budget b;
	struct types t;
	char body[256];
	long long now = 1800000000;
	int i;

	queue_begin(q);
	for (i = 0; i < 3000; i++) {
		snprintf(body, sizeof(body),
		         "{\"product\":\"p%d\",\"exe\":\"/usr/bin/p%d\","
		         "\"start\":%lld,\"end\":%lld,\"pad\":\"%0100d\"}",
		         i % 5, i % 5, now - 5 * 86400 + i * 60,
		         now - 5 * 86400 + i * 60 + 30, 0);
		queue_push(q, "usage", now - 5 * 86400 + i * 60, body);
	}
	queue_commit(q);
	assert_true(queue_disk_bytes(q) > 400 * 1024);
	/* Compaction alone fits 3000 sessions of 5 programs in 3 days. */
	assert_int_equal(queue_enforce_budget(q, 400 * 1024, now, &b), 1);
	assert_int_equal(b.compacted, 3000);
	assert_int_equal(b.dropped, 0);
	assert_true(queue_disk_bytes(q) <= 400 * 1024);
	t = count_types(q);
	assert_int_equal(t.usage, 0);
	assert_true(t.usage_day >= 15 && t.usage_day <= 25);
	/* Recent records cannot be compacted: they are dropped, oldest
	 * first, and the drop is reported. */
	queue_begin(q);
	for (i = 0; i < 3000; i++) {
		snprintf(body, sizeof(body),
		         "{\"product\":\"p\",\"start\":%lld,\"end\":%lld,"
		         "\"pad\":\"%0100d\"}",
		         now, now + 1, i);
		queue_push(q, "usage", now, body);
	}
	queue_commit(q);
	assert_int_equal(queue_enforce_budget(q, 200 * 1024, now, &b), 1);
	assert_true(b.dropped > 0);
	assert_true(queue_disk_bytes(q) <= 200 * 1024);
	t = count_types(q);
	assert_true(t.gap >= 1);
	assert_non_null(strstr(t.last_gap, "\"reason\":\"budget\""));
	assert_int_equal(queue_enforce_budget(q, 200 * 1024, now, &b), 0);
	queue_close(q);
}

static void
test_boot_number(void **state)
{
	struct fixture *f = *state;
	struct queue *q = open_q(f);
	long long boot, mono;

	assert_int_equal(queue_set_boot(q, "aaaa"), 0);
	queue_clock(q, &boot, &mono);
	assert_int_equal(boot, 1);
	assert_true(mono > 0);
	assert_int_equal(queue_set_boot(q, "aaaa"), 0);
	queue_clock(q, &boot, &mono);
	assert_int_equal(boot, 1);
	queue_close(q);
	q = open_q(f);
	assert_int_equal(queue_set_boot(q, "bbbb"), 0);
	queue_clock(q, &boot, &mono);
	assert_int_equal(boot, 2);
	queue_close(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_seq_survives_reopen, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_rollback_forgets_seq, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_peek_bounds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seal_ack, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quarantine, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_moved_aside, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_budget, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_boot_number, setup, teardown),
	};
	return cmocka_run_group_tests_name("queue", tests, NULL, NULL);
}
