/*
 * mutu-fleetsim fleet: delivers a generated fleet (fleetgen.h) through the
 * real agent code. Worker threads take the machines in turn; each machine
 * gets its own state directory and SQLite queue, enrols with its commune's
 * secret, queues its whole period (inventory, then its days) in one
 * transaction, and delivers with sync_run() until its queue is empty,
 * waiting out 429s as the agent does. Its directory is removed after, so
 * the disk holds only the machines in flight. It prints the totals it
 * generated and the delivery time as one JSON object.
 *
 * "communes" prints the commune codes and names of the fleet, and
 * "--dry-run" only generates (the totals without a server).
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "config.h"
#include "crypto.h"
#include "fleet.h"
#include "fleetgen.h"
#include "log.h"
#include "queue.h"
#include "sync.h"
#include "util.h"

#define SECRET_MAX 128
#define RETRIES    20 /* failed deliveries before a machine counts as lost */

struct fleet {
	struct fleetgen_params p;
	struct agent_config base;
	char (*secret)[SECRET_MAX]; /* per commune */
	const char *dir;
	int dry, threads, next, total;
	pthread_mutex_t lock;
	struct fleetgen_totals t;
	long long delivered, refused429, retries, lost;
};

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb, (void)flag, (void)f;
	return remove(path);
}

static int
push(void *arg, const char *type, long long created, const char *body)
{
	return queue_push(arg, type, created, body) == -1 ? -1 : 0;
}

static int
discard(void *arg, const char *type, long long created, const char *body)
{
	(void)arg, (void)type, (void)created, (void)body;
	return 0;
}

/* Delivers the queue until it is empty; the number of records
 * acknowledged, or -1 if the machine gave up. */
static long long
drain(struct fleet *f, struct sync *sy, struct queue *q)
{
	struct sync_result r;
	long long acked = 0;
	int fails = 0;

	while (queue_pending(q) > 0) {
		memset(&r, 0, sizeof(r));
		if (sync_run(sy, &r) == 0) {
			acked += r.records;
			continue;
		}
		acked += r.records;
		pthread_mutex_lock(&f->lock);
		if (r.status == 429)
			f->refused429++;
		else
			f->retries++;
		pthread_mutex_unlock(&f->lock);
		if (r.status != 429 && ++fails > RETRIES)
			return -1;
		sleep(r.retry_after > 0 ? (unsigned)r.retry_after : 1);
	}
	return acked;
}

/* Machine i's server: the i-th of a comma-separated list, in turn (as
 * a load balancer would spread agents over server instances). */
static void
pick_server(const char *list, int i, char *out, size_t n)
{
	const char *p = list, *c;
	int k = 0, count = 1;

	for (c = list; *c; c++)
		count += *c == ',';
	for (i %= count; k < i; k++)
		p = strchr(p, ',') + 1;
	c = strchr(p, ',');
	snprintf(out, n, "%.*s", (int)(c ? (size_t)(c - p) : strlen(p)), p);
}

static int
deliver(struct fleet *f, struct fleetgen_machine *m, int i,
        struct fleetgen_totals *t)
{
	struct agent_config cfg = f->base;
	struct sync_result r;
	struct queue *q = NULL;
	struct sync *sy = NULL;
	char path[PATH_MAX + 16], err[256], id[CRYPTO_UUID_LEN + 1];
	long long acked = -1;

	pick_server(f->base.server, i, cfg.server, sizeof(cfg.server));
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s/m%06d", f->dir, i);
	util_strlcpy(cfg.commune, m->code, sizeof(cfg.commune));
	util_strlcpy(cfg.enrol_secret, f->secret[m->commune],
	             sizeof(cfg.enrol_secret));
	snprintf(path, sizeof(path), "%s/queue.db", cfg.state_dir);
	crypto_uuid(id);
	if (mkdir(cfg.state_dir, 0700) == -1 && errno != EEXIST)
		return -1;
	if ((q = queue_open(path, err, sizeof(err))) == NULL ||
	    (sy = sync_new(&cfg, q, id, m->hostname)) == NULL)
		goto fail;
	memset(&r, 0, sizeof(r));
	while (sync_enrol(sy, &r) == -1) {
		if (r.status != 429 && r.status != 503 && r.status != 0)
			goto fail;
		sleep(r.retry_after > 0 ? (unsigned)r.retry_after : 1);
	}
	if (queue_begin(q) == -1)
		goto fail;
	if (fleetgen_records(&f->p, m, time(NULL), push, q, t) == -1 ||
	    queue_commit(q) == -1) {
		queue_rollback(q);
		goto fail;
	}
	acked = drain(f, sy, q);
fail:
	sync_free(sy);
	queue_close(q);
	nftw(cfg.state_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return acked < 0 ? -1 : 0;
}

static void
add_totals(struct fleetgen_totals *to, const struct fleetgen_totals *t)
{
	to->machines += t->machines;
	to->records += t->records;
	to->usage_days += t->usage_days;
	to->sessions += t->sessions;
	to->seconds += t->seconds;
	to->installs += t->installs;
	to->windows += t->windows;
	to->wrong_clock += t->wrong_clock;
	to->switched_off += t->switched_off;
}

static void *
worker(void *arg)
{
	struct fleet *f = arg;
	struct fleetgen_machine m;
	struct fleetgen_totals t;
	int i, rc;

	for (;;) {
		pthread_mutex_lock(&f->lock);
		i = f->next++;
		pthread_mutex_unlock(&f->lock);
		if (i >= f->total)
			return NULL;
		memset(&t, 0, sizeof(t));
		fleetgen_machine(&f->p, i / f->p.machines, i % f->p.machines,
		                 &m);
		if (f->dry)
			rc = fleetgen_records(&f->p, &m, time(NULL), discard,
			                      NULL, &t);
		else
			rc = deliver(f, &m, i, &t);
		pthread_mutex_lock(&f->lock);
		add_totals(&f->t, &t);
		if (rc == -1)
			f->lost++;
		else
			f->delivered++;
		pthread_mutex_unlock(&f->lock);
	}
}

/* Reads "CODE SECRET" lines into f->secret, by commune index. */
static int
read_secrets(struct fleet *f, const char *path)
{
	char line[256], code[16], secret[SECRET_MAX], want[8];
	FILE *fp;
	int c, found = 0;

	if ((fp = fopen(path, "r")) == NULL) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "%15s %127s", code, secret) == 2)
			for (c = 0; c < f->p.communes; c++) {
				fleetgen_code(c, want);
				if (strcmp(code, want) == 0) {
					memcpy(f->secret[c], secret,
					       sizeof(secret));
					found++;
				}
			}
	fclose(fp);
	if (found < f->p.communes)
		fprintf(stderr,
		        "fleetsim: %s: %d of %d communes have a secret\n", path,
		        found, f->p.communes);
	return found < f->p.communes ? -1 : 0;
}

static void
report(const struct fleet *f, double seconds)
{
	const struct fleetgen_totals *t = &f->t;

	printf("{\"seed\": %llu, \"communes\": %d, \"machines\": %lld, "
	       "\"days\": %d, \"records\": %lld, \"usage_day\": %lld, "
	       "\"sessions\": %lld, \"seconds_used\": %lld, \"installs\": "
	       "%lld, \"windows\": %lld, \"wrong_clock\": %lld, "
	       "\"switched_off\": %lld, \"delivered\": %lld, \"lost\": %lld, "
	       "\"refused_429\": %lld, \"retries\": %lld, \"seconds\": %.3f, "
	       "\"records_per_second\": %.0f}\n",
	       f->p.seed, f->p.communes, t->machines, f->p.days, t->records,
	       t->usage_days, t->sessions, t->seconds, t->installs, t->windows,
	       t->wrong_clock, t->switched_off, f->delivered, f->lost,
	       f->refused429, f->retries, seconds,
	       seconds > 0 ? (double)t->records / seconds : 0.0);
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: mutu-fleetsim fleet [--seed 1] [--communes 3] "
	        "[--machines 4] [--days 30]\n"
	        "         (--dry-run | --server URL[,URL...] --secrets FILE"
	        " --dir DIR"
	        " [--ca-file F] [--threads 8])\n"
	        "       mutu-fleetsim communes [--communes 3]\n");
	exit(2);
}

static int
run(struct fleet *f)
{
	pthread_t *th = calloc((size_t)f->threads, sizeof(*th));
	long long t0 = util_mono_ms();
	int i;

	if (th == NULL)
		return 1;
	for (i = 0; i < f->threads; i++)
		pthread_create(&th[i], NULL, worker, f);
	for (i = 0; i < f->threads; i++)
		pthread_join(th[i], NULL);
	report(f, (util_mono_ms() - t0) / 1000.0);
	free(th);
	return f->lost == 0 ? 0 : 1;
}

static void
parse(struct fleet *f, int argc, char *argv[], const char **secrets)
{
	static const struct option opts[] = {
	    {"seed", required_argument, NULL, 'x'},
	    {"communes", required_argument, NULL, 'c'},
	    {"machines", required_argument, NULL, 'm'},
	    {"days", required_argument, NULL, 'D'},
	    {"server", required_argument, NULL, 's'},
	    {"secrets", required_argument, NULL, 'S'},
	    {"dir", required_argument, NULL, 'd'},
	    {"ca-file", required_argument, NULL, 'C'},
	    {"threads", required_argument, NULL, 't'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	optind = 2;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'x')
			f->p.seed = strtoull(optarg, NULL, 10);
		else if (ch == 'c')
			f->p.communes = atoi(optarg);
		else if (ch == 'm')
			f->p.machines = atoi(optarg);
		else if (ch == 'D')
			f->p.days = atoi(optarg);
		else if (ch == 's')
			util_strlcpy(f->base.server, optarg,
			             sizeof(f->base.server));
		else if (ch == 'S')
			*secrets = optarg;
		else if (ch == 'd')
			f->dir = optarg;
		else if (ch == 'C')
			util_strlcpy(f->base.ca_file, optarg,
			             sizeof(f->base.ca_file));
		else if (ch == 't')
			f->threads = atoi(optarg);
		else if (ch == 'n')
			f->dry = 1;
		else
			usage();
	}
	if (f->p.communes < 1 || f->p.communes > 89999 || f->p.machines < 1 ||
	    f->p.days < 1 || f->p.days > 3660 || f->threads < 1)
		usage();
}

int
fleet_main(int argc, char *argv[])
{
	struct fleet f;
	const char *secrets = NULL;
	char code[8];
	int c, rc;

	memset(&f, 0, sizeof(f));
	f.p.seed = 1, f.p.communes = 3, f.p.machines = 4, f.p.days = 30;
	f.p.today = time(NULL) / 86400;
	f.threads = 8;
	f.base.batch_records = 1000;
	f.base.http_timeout = 60;
	parse(&f, argc, argv, &secrets);
	if (strcmp(argv[1], "communes") == 0) {
		for (c = 0; c < f.p.communes; c++) {
			fleetgen_code(c, code);
			printf("%s Commune-%s\n", code, code);
		}
		return 0;
	}
	if (!f.dry && (!f.base.server[0] || !secrets || !f.dir))
		usage();
	f.total = f.p.communes * f.p.machines;
	if ((f.secret = calloc((size_t)f.p.communes, SECRET_MAX)) == NULL)
		return 1;
	if (!f.dry && read_secrets(&f, secrets) == -1) {
		free(f.secret);
		return 1;
	}
	log_init("mutu-fleetsim", 1, 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pthread_mutex_init(&f.lock, NULL);
	rc = run(&f);
	pthread_mutex_destroy(&f.lock);
	curl_global_cleanup();
	free(f.secret);
	return rc;
}
