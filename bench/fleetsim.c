/*
 * mutu-fleetsim: simulated agents driving the real agent code (queue.c,
 * sync.c: SQLite queues, gzip batches, libcurl) against a real server.
 *
 * Herd mode (docs/RELIABILITY.md, "Herd"): N agents, each with its own
 * queue directory, enrol, queue a day of backlog, then all start at once,
 * each waiting its random start-up splay and then delivering as the agent
 * does: sync_run(), and on failure sync_backoff() with the server's
 * Retry-After. Worker threads serve the agents whose time has come. It
 * prints one JSON object: requests per second (peak and median), 429s,
 * other errors, agents drained, and the expected records.
 *
 * Queue mode: the durable enqueue rate of queue_push() (transactions of
 * 1,000) against raw SQLite inserts of the same rows into a keyed table
 * with the same settings (WAL, synchronous=FULL), in the same process.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sqlite3.h>

#include "config.h"
#include "crypto.h"
#include "fleet.h"
#include "log.h"
#include "queue.h"
#include "sync.h"
#include "util.h"

#define MAX_SECONDS 3600

struct sim_agent {
	char dir[PATH_MAX];
	char id[CRYPTO_UUID_LEN + 1];
	struct queue *q;  /* kept open between attempts, as the agent does */
	struct sync *sy;  /* (NULL when the fleet is too large to keep open) */
	long long due_ms; /* next attempt, ms since the start */
	int attempt;
	int done, busy;
};

struct sim {
	struct agent_config base;
	struct sim_agent *a;
	int n, records, splay_s, threads;
	int keep_open; /* queues and connections stay open, as in the agent */
	unsigned seed;
	int server_pid; /* --server-pid: its CPU and peak memory, or 0 */
	double server_cpu0;
	long long start_ms;
	pthread_mutex_t lock;
	long long per_second[MAX_SECONDS]; /* requests by second */
	long long admitted[MAX_SECONDS];   /* batches acknowledged */
	long long shed[MAX_SECONDS];       /* 429 answers */
	long long requests, refused429, errors, done;
};

static double
rnd01(unsigned *seed)
{
	return rand_r(seed) / ((double)RAND_MAX + 1);
}

static long long
elapsed_ms(const struct sim *s)
{
	return util_mono_ms() - s->start_ms;
}

/* A day of an office PC: usage records of a few programs. */
static int
fill_queue(struct queue *q, int records, int k)
{
	static const char *const products[] = {
	    "libreoffice-writer", "firefox-esr", "thunderbird", "evince",
	    "libreoffice-calc",   "qgis",        "gimp",        "vlc"};
	long long day = time(NULL) / 86400 * 86400 - 86400;
	char body[256];
	int i;

	if (queue_begin(q) == -1)
		return -1;
	for (i = 0; i < records; i++) {
		long long t = day + 8 * 3600 + i * 600;

		snprintf(body, sizeof(body),
		         "{\"product\":\"%s\",\"exe\":\"/usr/bin/p%d\","
		         "\"user\":\"u%d\",\"start\":%lld,\"end\":%lld}",
		         products[(i + k) % 8], (i + k) % 8, k % 5, t, t + 540);
		if (queue_push(q, "usage", t + 540, body) == -1) {
			queue_rollback(q);
			return -1;
		}
	}
	return queue_commit(q);
}

static int
agent_config_for(const struct sim *s, const struct sim_agent *a,
                 struct agent_config *cfg)
{
	*cfg = s->base;
	return util_strlcpy(cfg->state_dir, a->dir, sizeof(cfg->state_dir));
}

/* Opens agent a's queue and sync unless they are kept open. */
static int
agent_open(struct sim *s, struct sim_agent *a)
{
	struct agent_config cfg;
	char path[PATH_MAX + 16], err[256];

	if (a->sy != NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/queue.db", a->dir);
	agent_config_for(s, a, &cfg);
	if ((a->q == NULL &&
	     (a->q = queue_open(path, err, sizeof(err))) == NULL) ||
	    (a->sy = sync_new(&cfg, a->q, a->id, "sim")) == NULL) {
		queue_close(a->q);
		a->q = NULL;
		return -1;
	}
	return 0;
}

/* Closes them again when the fleet is not kept open, or finally. */
static void
agent_close(struct sim *s, struct sim_agent *a, int final)
{
	if (s->keep_open && !final)
		return;
	sync_free(a->sy);
	queue_close(a->q);
	a->sy = NULL;
	a->q = NULL;
}

/* Creates agent i: directory, identity, token (real enrolment), queue. */
static int
prepare(struct sim *s, int i, const char *root)
{
	struct sim_agent *a = &s->a[i];
	struct agent_config cfg;
	struct sync_result r;
	struct queue *q;
	struct sync *sy;
	char path[PATH_MAX + 16], err[256], host[32];
	int rc = -1;

	snprintf(a->dir, sizeof(a->dir), "%s/a%05d", root, i);
	if (mkdir(a->dir, 0700) == -1 && errno != EEXIST)
		return -1;
	crypto_uuid(a->id);
	snprintf(path, sizeof(path), "%s/queue.db", a->dir);
	snprintf(host, sizeof(host), "sim-%05d", i);
	if ((q = queue_open(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fleetsim: %s\n", err);
		return -1;
	}
	agent_config_for(s, a, &cfg);
	if ((sy = sync_new(&cfg, q, a->id, host)) != NULL &&
	    sync_enrol(sy, &r) == 0 && fill_queue(q, s->records, i) == 0)
		rc = 0;
	sync_free(sy); /* the first delivery opens a new connection */
	if (rc == 0 && s->keep_open) {
		a->q = q;
		return agent_open(s, a);
	}
	queue_close(q);
	return rc;
}

/* One delivery attempt of agent a, as the agent's service loop makes it. */
static void
attempt(struct sim *s, struct sim_agent *a, unsigned *seed)
{
	struct sync_result r;
	long long sec = elapsed_ms(s) / 1000, pending = -1;
	long delay = -1;
	int rc = -1, reqs;

	memset(&r, 0, sizeof(r));
	if (agent_open(s, a) == 0) {
		rc = sync_run(a->sy, &r);
		pending = queue_pending(a->q);
	}
	agent_close(s, a, 0);
	reqs = r.batches + (rc == -1 && r.status != 0 ? 1 : 0);
	if (rc == -1) {
		a->attempt++;
		delay = sync_backoff(a->attempt, 5, 3600, r.retry_after,
		                     rnd01(seed));
	} else if (pending > 0)
		delay = 1;
	pthread_mutex_lock(&s->lock);
	if (sec < MAX_SECONDS) {
		s->per_second[sec] += reqs;
		s->admitted[sec] += r.batches;
		s->shed[sec] += rc == -1 && r.status == 429;
	}
	s->requests += reqs;
	if (rc == -1 && r.status == 429)
		s->refused429++;
	else if (rc == -1)
		s->errors++;
	if (delay < 0) {
		a->done = 1;
		s->done++;
	} else
		a->due_ms = elapsed_ms(s) + delay * 1000;
	if (rc == 0)
		a->attempt = 0;
	a->busy = 0;
	pthread_mutex_unlock(&s->lock);
}

/* The agent due first and not being served, or NULL; *wait_ms says how
 * long until it is due. Called with the lock held. */
static struct sim_agent *
next_due(struct sim *s, long long *wait_ms)
{
	struct sim_agent *best = NULL;
	int i;

	for (i = 0; i < s->n; i++) {
		struct sim_agent *a = &s->a[i];

		if (!a->done && !a->busy &&
		    (best == NULL || a->due_ms < best->due_ms))
			best = a;
	}
	*wait_ms = best ? best->due_ms - elapsed_ms(s) : 50;
	return best;
}

static void *
worker(void *arg)
{
	struct sim *s = arg;
	struct sim_agent *a;
	struct timespec ts;
	long long wait;
	unsigned seed = s->seed ^ (unsigned)(uintptr_t)&seed;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		if (s->done == s->n) {
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		a = next_due(s, &wait);
		if (a && wait <= 0)
			a->busy = 1;
		pthread_mutex_unlock(&s->lock);
		if (a && wait <= 0) {
			attempt(s, a, &seed);
			continue;
		}
		if (wait > 50 || wait <= 0)
			wait = 50;
		ts.tv_sec = 0;
		ts.tv_nsec = wait * 1000000;
		nanosleep(&ts, NULL);
	}
}

/* Whether every agent's queue and connection can stay open between
 * attempts, as in the real agent (a queue holds up to 3 descriptors and
 * a connection 1): raises the descriptor limit to its maximum. A fleet
 * too large for it reopens them at each attempt. */
static int
fd_room(int agents, int threads)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 0;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	return (rlim_t)agents * 4 + (rlim_t)threads * 2 + 64 < rl.rlim_cur;
}

/* The server's CPU seconds so far and its peak resident set (KiB) from
 * /proc, when its pid was given. */
static double
server_cpu(int pid)
{
	char path[64];
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (pid <= 0 || (f = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(f,
	           "%*d (%*[^)]) %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u"
	           " %*u %lu %lu",
	           &ut, &st) != 2)
		ut = st = 0;
	fclose(f);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long
server_hwm_kib(int pid)
{
	char path[64], line[128];
	long kib = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (pid <= 0 || (f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int
cmp_ll(const void *x, const void *y)
{
	long long a = *(const long long *)x, b = *(const long long *)y;

	return a < b ? -1 : a > b;
}

/* The steady rate is what the server sustains when saturated: the median
 * of batches served per second over the seconds in which it shed load.
 * The peak counts every request, refused ones included. */
static void
report(struct sim *s, long long ms)
{
	long long peak = 0, steady, sat[MAX_SECONDS];
	int secs = (int)(ms / 1000) + 1, i, n;

	if (secs > MAX_SECONDS)
		secs = MAX_SECONDS;
	for (i = 0; i < secs; i++)
		if (s->per_second[i] > peak)
			peak = s->per_second[i];
	for (i = 0, n = 0; i < secs; i++)
		if (s->shed[i] > 0)
			sat[n++] = s->admitted[i];
	qsort(sat, (size_t)n, sizeof(sat[0]), cmp_ll);
	steady = n ? sat[n / 2] : 0;
	printf("{\"agents\": %d, \"records_expected\": %lld, \"seconds\": "
	       "%.3f, \"requests\": %lld, \"refused_429\": %lld, "
	       "\"errors\": %lld, \"drained\": %lld, \"peak_rps\": %lld, "
	       "\"steady_rps\": %lld, \"peak_over_steady\": %.2f, "
	       "\"kept_open\": %s, \"server_cpu_s\": %.2f, "
	       "\"server_peak_rss_kib\": %ld, \"per_second\": [",
	       s->n, (long long)s->n * s->records, ms / 1000.0, s->requests,
	       s->refused429, s->errors, s->done, peak, steady,
	       steady ? (double)peak / steady : 0.0,
	       s->keep_open ? "true" : "false",
	       server_cpu(s->server_pid) - s->server_cpu0,
	       server_hwm_kib(s->server_pid));
	for (i = 0; i < secs; i++)
		printf("%s%lld", i ? ", " : "", s->per_second[i]);
	printf("]}\n");
}

static double
now_s(void)
{
	return util_mono_ms() / 1000.0;
}

/* Raw SQLite: the same bodies into (seq PRIMARY KEY, type, created, body)
 * in transactions of 1,000, WAL and synchronous=FULL. Records/s or -1. */
static double
raw_rate(const char *path, char **bodies, int n)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db;
	double t;
	int i;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	sqlite3_exec(db,
	             "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	             "CREATE TABLE r(seq INTEGER PRIMARY KEY, type TEXT,"
	             " created INTEGER, body TEXT)",
	             NULL, NULL, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO r VALUES (?, 'usage', ?, ?)", -1,
	                   &st, NULL);
	t = now_s();
	for (i = 0; i < n; i++) {
		if (i % 1000 == 0)
			sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		sqlite3_bind_int64(st, 1, i + 1);
		sqlite3_bind_int64(st, 2, 1764380000 + i);
		sqlite3_bind_text(st, 3, bodies[i], -1, SQLITE_STATIC);
		sqlite3_step(st);
		sqlite3_reset(st);
		if (i % 1000 == 999 || i == n - 1)
			sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	}
	t = now_s() - t;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n / t;
}

static double
queue_rate(const char *path, char **bodies, int n)
{
	struct queue *q;
	char err[256];
	double t;
	int i, ok = 1;

	if ((q = queue_open(path, err, sizeof(err))) == NULL)
		return -1;
	t = now_s();
	for (i = 0; i < n && ok; i++) {
		if (i % 1000 == 0 && queue_begin(q) == -1)
			ok = 0;
		if (queue_push(q, "usage", 1764380000 + i, bodies[i]) == -1)
			ok = 0;
		if ((i % 1000 == 999 || i == n - 1) && queue_commit(q) == -1)
			ok = 0;
	}
	t = now_s() - t;
	queue_close(q);
	return ok ? n / t : -1;
}

static int
queue_bench(const char *dir, int n)
{
	char **bodies = calloc((size_t)n, sizeof(*bodies));
	char p1[PATH_MAX], p2[PATH_MAX];
	double raw, qr;
	int i;

	if (bodies == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		bodies[i] = malloc(200);
		snprintf(bodies[i], 200,
		         "{\"product\":\"p%d\",\"exe\":\"/usr/bin/p%d\","
		         "\"user\":\"u%d\",\"start\":%d,\"end\":%d}",
		         i % 50, i % 50, i % 20, 1764380000 + i,
		         1764380600 + i);
	}
	snprintf(p1, sizeof(p1), "%s/raw.db", dir);
	snprintf(p2, sizeof(p2), "%s/queue.db", dir);
	raw = raw_rate(p1, bodies, n);
	qr = queue_rate(p2, bodies, n);
	printf("{\"records\": %d, \"queue_rps\": %.0f, \"raw_rps\": %.0f, "
	       "\"ratio\": %.2f}\n",
	       n, qr, raw, raw > 0 ? qr / raw : 0);
	for (i = 0; i < n; i++)
		free(bodies[i]);
	free(bodies);
	return qr > 0 && raw > 0 ? 0 : 1;
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: mutu-fleetsim herd --server URL --commune CODE "
	        "--secret-file F\n"
	        "         --dir DIR [--agents 1000] [--records 48] [--splay 10]"
	        "\n         [--threads 32] [--seed 1] [--ca-file F]"
	        " [--server-pid PID]\n"
	        "       mutu-fleetsim queue --dir DIR [--records 100000]\n"
	        "       mutu-fleetsim fleet|communes ... (--help for more)\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
	    {"server", required_argument, NULL, 's'},
	    {"commune", required_argument, NULL, 'c'},
	    {"secret-file", required_argument, NULL, 'S'},
	    {"dir", required_argument, NULL, 'd'},
	    {"agents", required_argument, NULL, 'n'},
	    {"records", required_argument, NULL, 'r'},
	    {"splay", required_argument, NULL, 'p'},
	    {"threads", required_argument, NULL, 't'},
	    {"seed", required_argument, NULL, 'x'},
	    {"ca-file", required_argument, NULL, 'C'},
	    {"server-pid", required_argument, NULL, 'P'},
	    {NULL, 0, NULL, 0},
	};
	struct sim s;
	pthread_t *th;
	const char *dir = NULL, *secret_file = NULL;
	char *secret;
	long long ms;
	int ch, i;

	memset(&s, 0, sizeof(s));
	s.n = 1000, s.records = 48, s.splay_s = 10, s.threads = 32, s.seed = 1;
	s.base.batch_records = 1000;
	s.base.http_timeout = 30;
	if (argc >= 2 &&
	    (strcmp(argv[1], "fleet") == 0 || strcmp(argv[1], "communes") == 0))
		return fleet_main(argc, argv);
	if (argc < 2 ||
	    (strcmp(argv[1], "herd") != 0 && strcmp(argv[1], "queue") != 0))
		usage();
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			util_strlcpy(s.base.server, optarg,
			             sizeof(s.base.server));
			break;
		case 'c':
			util_strlcpy(s.base.commune, optarg,
			             sizeof(s.base.commune));
			break;
		case 'S':
			secret_file = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'n':
			s.n = atoi(optarg);
			break;
		case 'r':
			s.records = atoi(optarg);
			break;
		case 'p':
			s.splay_s = atoi(optarg);
			break;
		case 't':
			s.threads = atoi(optarg);
			break;
		case 'x':
			s.seed = (unsigned)atoi(optarg);
			break;
		case 'P':
			s.server_pid = atoi(optarg);
			break;
		case 'C':
			util_strlcpy(s.base.ca_file, optarg,
			             sizeof(s.base.ca_file));
			break;
		default:
			usage();
		}
	}
	if (strcmp(argv[1], "queue") == 0)
		return dir ? queue_bench(dir,
		                         s.records > 1 ? s.records : 100000)
		           : 2;
	if (!dir || !secret_file || !s.base.server[0] || s.n < 1 ||
	    s.threads < 1 || s.splay_s < 0)
		usage();
	if ((secret = util_read_file(secret_file, 256)) == NULL) {
		perror(secret_file);
		return 1;
	}
	util_strlcpy(s.base.enrol_secret, secret, sizeof(s.base.enrol_secret));
	free(secret);
	log_init("mutu-fleetsim", 1, 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pthread_mutex_init(&s.lock, NULL);
	s.keep_open = fd_room(s.n, s.threads);
	s.a = calloc((size_t)s.n, sizeof(*s.a));
	th = calloc((size_t)s.threads, sizeof(*th));
	if (s.a == NULL || th == NULL)
		return 1;
	for (i = 0; i < s.n; i++)
		if (prepare(&s, i, dir) == -1) {
			fprintf(stderr, "fleetsim: agent %d: cannot prepare\n",
			        i);
			return 1;
		}
	for (i = 0; i < s.n; i++) /* the start-up splay of the agent */
		s.a[i].due_ms = (long long)(rnd01(&s.seed) * s.splay_s * 1000);
	s.server_cpu0 = server_cpu(s.server_pid);
	s.start_ms = util_mono_ms();
	for (i = 0; i < s.threads; i++)
		pthread_create(&th[i], NULL, worker, &s);
	for (i = 0; i < s.threads; i++)
		pthread_join(th[i], NULL);
	ms = elapsed_ms(&s);
	report(&s, ms);
	for (i = 0; i < s.n; i++)
		agent_close(&s, &s.a[i], 1);
	free(th);
	free(s.a);
	curl_global_cleanup();
	return s.errors == 0 && s.done == s.n ? 0 : 1;
}
