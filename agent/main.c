/*
 * mutu-agent: startup, options and the service loop. The work is done by
 * collect (what the OS shows), inventory and usage (what to record), queue
 * (durable outbox) and sync (delivery).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect.h"
#include "config.h"
#include "crypto.h"
#include "enrol.h"
#include "inventory.h"
#include "log.h"
#include "notify.h"
#include "proto.h"
#include "queue.h"
#include "service.h"
#include "status.h"
#include "sync.h"
#include "usage.h"
#include "util.h"

struct agent {
	struct agent_config cfg;
	long long failed;       /* enqueues failed since the last success */
	long long failed_since; /* wall time of the first of them */
	char agent_id[CRYPTO_UUID_LEN + 1];
	char hostname[256];
	struct collect *collect;
	struct queue *queue;
	struct usage *usage;
	struct sync *sync;
};

static void
usage_exit(int code)
{
	fprintf(
	    code ? stderr : stdout,
	    "usage: mutu-agent [-dnv] [-c file] [--once | --service]\n"
	    "  -c file    configuration (default %s)\n"
	    "  -d         stay in the foreground, log to stderr\n"
	    "  -n         check the configuration and exit\n"
	    "  -v         verbose (debug) logging\n"
	    "  --once     collect inventory and one usage sample, sync, exit\n"
	    "             (exit 1 if the sync failed; the data stays queued)\n"
	    "  --service  run under the system's service manager (the "
	    "Windows\n"
	    "             service's command line)\n"
	    "  --inventory print this machine's GLPI inventory (JSON) and "
	    "exit\n"
	    "  --version  print the version\n"
	    "       mutu-agent [-c file] enrol --server URL --commune CODE\n"
	    "                  --secret-file FILE [--user-key-file FILE]\n"
	    "  writes them into the configuration and enrols now (files: one\n"
	    "  line each, - for standard input); exit 1 if the server could\n"
	    "  not be reached (the service enrols later)\n"
	    "       mutu-agent [-c file] enqueue [N]\n"
	    "  queues records read from standard input, one JSON object per\n"
	    "  line ({\"type\": ..., \"time\": ..., \"data\": {...}}), N per\n"
	    "  transaction, printing each one's sequence number once "
	    "durable\n"
	    "       mutu-agent [-c file] status [--max-age HOURS] [--json]\n"
	    "  prints the queue and the last delivery (read-only, beside a\n"
	    "  running service); exit 1 if records have waited HOURS "
	    "(24)\n"
	    "  without a delivery, 2 if the state cannot be read\n",
	    service_default_config());
	exit(code);
}

/* STATE_DIR/name into out (PATH_MAX). */
static void
state_path(const struct agent *a, const char *name, char *out)
{
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", a->cfg.state_dir, name) >=
	    PATH_MAX)
		fatalx("state_dir too long");
}

/* The agent id is created once and kept in the state directory. A new
 * one is derived from a random identity key (STATE_DIR/agent-key), which
 * proves to the server, at a re-enrolment, that this PC holds the
 * identity: the enrolment secret alone does not (docs/PROTOCOL.md). The
 * key is written first: a crash in between leaves no identity. */
static void
load_identity(struct agent *a)
{
	char path[PATH_MAX], kpath[PATH_MAX], *id;
	char key[CRYPTO_HEX256_LEN + 1], h[CRYPTO_HEX256_LEN + 1];

	state_path(a, "agent-id", path);
	state_path(a, "agent-key", kpath);
	if ((id = util_read_private(path, 64)) != NULL &&
	    strlen(id) == CRYPTO_UUID_LEN) {
		util_strlcpy(a->agent_id, id, sizeof(a->agent_id));
		free(id);
	} else {
		free(id);
		if (crypto_token(key) == -1 ||
		    crypto_sha256_hex(key, h) == -1 ||
		    util_uuid_from_hex(h, a->agent_id, sizeof(a->agent_id)) ==
		        -1)
			fatalx("no random numbers");
		if (util_write_file(kpath, key, strlen(key), 0600) == -1)
			fatal("%s", kpath);
		crypto_wipe(key, sizeof(key));
		if (util_write_file(path, a->agent_id, strlen(a->agent_id),
		                    0600) == -1)
			fatal("%s", path);
		log_info("new agent id %s", a->agent_id);
	}
	collect_hostname(a->hostname, sizeof(a->hostname));
}

/* Whether the state directory still holds what the agent opened: its
 * agent-id and the queue file. Removed under the running agent (rm -rf,
 * an uninstaller, a clean-up script), the queue goes on in a deleted
 * file and the next start would make a new identity: the PC would then
 * count twice. */
static int
state_intact(struct agent *a)
{
	char path[PATH_MAX], *id;
	int same;

	state_path(a, "agent-id", path);
	if ((id = util_read_private(path, 64)) == NULL)
		return 0;
	same = strcmp(id, a->agent_id) == 0;
	free(id);
	return same && !queue_gone(a->queue);
}

/* The state directory is gone: says so, writes the identity back if it
 * can (agent-id, agent-key, token: the next start is the same PC), and
 * stops. Exit 1 (a service manager restarts the agent) once written
 * back; else 2 (not restarted: an admin must act, docs/SECURITY.md). */
static void
state_lost(struct agent *a)
{
	char path[PATH_MAX], err[PATH_MAX + 256] = "";

	log_warnx("state directory %s was removed or replaced while the "
	          "agent ran (agent %s): the records queued and not yet "
	          "delivered (%lld) are lost; stopping",
	          a->cfg.state_dir, a->agent_id, queue_pending(a->queue));
	state_path(a, "agent-id", path);
	if (service_private_dir(a->cfg.state_dir) == -1 ||
	    (util_check_private_dir(a->cfg.state_dir, 0, err, sizeof(err)) ==
	         0 &&
	     (util_write_file(path, a->agent_id, strlen(a->agent_id), 0600) ==
	          -1 ||
	      sync_save_identity(a->sync) == -1)))
		snprintf(err, sizeof(err), "%s", strerror(errno));
	else if (err[0] == '\0') {
		log_warnx("identity of agent %s written back to %s: the next "
		          "start goes on as the same PC",
		          a->agent_id, a->cfg.state_dir);
		exit(1);
	}
	log_warnx("cannot write the identity back to %s: %s; not starting "
	          "as a new PC by itself. Restore the directory (agent-id, "
	          "agent-key, token) from a backup, or start the agent to "
	          "enrol this PC anew as a new agent and revoke %s "
	          "(mutuctl agents revoke)",
	          a->cfg.state_dir, err, a->agent_id);
	exit(2);
}

/* Opens the queue. The service never exits for a queue it cannot open
 * (disk full, read-only file system): a restart loop would change
 * nothing. It retries, backing off to 5 minutes, until told to stop. */
static int
open_queue(struct agent *a, int once)
{
	char path[PATH_MAX], err[512];
	long delay = 5;

	if ((size_t)snprintf(path, sizeof(path), "%s/queue.db",
	                     a->cfg.state_dir) >= sizeof(path))
		fatalx("state_dir too long");
	while ((a->queue = queue_open(path, err, sizeof(err))) == NULL) {
		if (once)
			fatalx("queue: %s", err);
		log_warnx("queue: %s; retrying in %ld s", err, delay);
		notify_send("STATUS=queue unavailable");
		service_sleep(delay * 1000LL);
		if (service_stopping())
			return -1;
		delay = delay * 2 > 300 ? 300 : delay * 2;
	}
	return 0;
}

/* A request may take up to http_timeout: the watchdog must not take a
 * slow server for a hung agent. */
static void
feed_watchdog(void *arg)
{
	(void)arg;
	notify_send("WATCHDOG=1");
}

static int
agent_open(struct agent *a, int once)
{
	struct usage_opts uo;
	char boot[64], err[PATH_MAX + 256];

	if (service_private_dir(a->cfg.state_dir) == -1)
		fatal("%s", a->cfg.state_dir);
	if (util_check_private_dir(a->cfg.state_dir, 0, err, sizeof(err)) ==
	    -1) {
		log_warnx("%s", err);
		return -2; /* the admin must act: exit 2, no restart */
	}
	load_identity(a);
	if (open_queue(a, once) == -1)
		return -1;
	if ((a->collect = collect_new(NULL)) == NULL)
		fatalx("collect: out of memory");
	collect_boot_id(boot, sizeof(boot));
	if (boot[0] && queue_set_boot(a->queue, boot) == -1)
		log_warnx("queue: cannot record the boot id");
	uo.min_uid = (unsigned)a->cfg.usage_min_uid;
	uo.services = a->cfg.services;
	uo.user_ids = a->cfg.user_ids;
	uo.user_key = a->cfg.user_key;
	if ((a->usage = usage_new(a->collect, a->queue, &uo)) == NULL)
		fatalx("usage: cannot load open sessions");
	a->sync = sync_new(&a->cfg, a->queue, a->agent_id, a->hostname);
	if (a->sync == NULL)
		fatalx("sync: cannot initialise");
	sync_set_stop(a->sync, service_stop_flag());
	if (notify_watchdog_ms() > 0)
		sync_set_tick(a->sync, feed_watchdog, NULL);
	return 0;
}

static void
agent_close(struct agent *a)
{
	if (a->usage && usage_save(a->usage) == -1)
		log_warnx("cannot save the open usage sessions");
	sync_free(a->sync);
	usage_free(a->usage);
	collect_free(a->collect);
	queue_close(a->queue);
	crypto_wipe(&a->cfg, sizeof(a->cfg));
}

/* Counts a failed enqueue (disk full, I/O error): loudly, and reported
 * to the server once the queue accepts records again. */
static void
enqueue_failed(struct agent *a, const char *what)
{
	if (a->failed++ == 0)
		a->failed_since = time(NULL);
	/* Loud, but not a flood: the 1st, 2nd, 4th, 8th... failure. */
	if ((a->failed & (a->failed - 1)) == 0)
		log_warnx("%s failed: cannot queue records (%lld failures "
		          "since %lld); data already queued is safe",
		          what, a->failed, a->failed_since);
}

/* After failures, tells the server how many enqueues failed and when. */
static void
enqueue_recovered(struct agent *a)
{
	char body[160];

	if (a->failed == 0)
		return;
	snprintf(body, sizeof(body),
	         "{\"reason\":\"enqueue_failed\",\"attempts\":%lld,"
	         "\"from\":%lld,\"to\":%lld}",
	         a->failed, a->failed_since, (long long)time(NULL));
	if (queue_push(a->queue, PROTO_REC_GAP, time(NULL), body) > 0) {
		log_info("queue accepts records again after %lld failures",
		         a->failed);
		a->failed = 0;
	}
}

static void
enforce_budget(struct agent *a)
{
	struct queue_budget b;

	if (queue_enforce_budget(a->queue, a->cfg.disk_budget * 1048576LL,
	                         time(NULL), &b) == -1)
		log_warnx("queue: cannot enforce the disk budget");
}

static int
do_inventory(struct agent *a)
{
	char when[32];
	long long now = time(NULL);
	int n;

	n = inventory_enqueue(a->collect, a->queue, a->agent_id, now,
	                      a->cfg.inventory_full_interval);
	if (n == -1) {
		enqueue_failed(a, "inventory");
		return -1;
	}
	enqueue_recovered(a);
	snprintf(when, sizeof(when), "%lld", now);
	queue_meta_set(a->queue, "inventory_at", when);
	log_debug("inventory queued: %d packages", n);
	return 0;
}

static void
do_sample(struct agent *a, long long now)
{
	if (usage_sample(a->usage, now) == -1)
		enqueue_failed(a, "usage sample");
	else
		enqueue_recovered(a);
}

static int
do_sync(struct agent *a, struct sync_result *r)
{
	int rc = sync_run(a->sync, r);

	if (r->batches > 0)
		log_info("delivered %lld records in %d batches", r->records,
		         r->batches);
	if (r->need_inventory &&
	    (inventory_need_full(a->queue) == -1 || do_inventory(a) == -1))
		log_warnx("cannot queue the full inventory the server asked "
		          "for");
	/* All delivered: give the WAL's space back while idle. */
	if (rc == 0 && r->batches > 0 && queue_pending(a->queue) == 0)
		queue_checkpoint(a->queue);
	return rc;
}

static int
run_once(struct agent *a)
{
	struct sync_result r;
	long long left;
	int rc;

	if (do_inventory(a) == -1)
		return 1;
	if (usage_sample(a->usage, time(NULL)) == -1 || usage_cut(a->usage) < 0)
		log_warnx("usage sample failed");
	enforce_budget(a);
	rc = do_sync(a, &r);
	if (rc == -1 && r.need_inventory)
		rc = do_sync(a, &r); /* with the full inventory it asked for */
	if (rc == -1 || (left = queue_pending(a->queue)) != 0) {
		log_warnx("sync failed; %lld records stay queued",
		          queue_pending(a->queue));
		return 1;
	}
	return 0;
}

static long long
inventory_due(struct agent *a, long long now)
{
	char v[32];
	long long at;

	if (queue_meta_get(a->queue, "inventory_at", v, sizeof(v)) == -1 ||
	    util_parse_ll(v, 0, 1LL << 40, &at) == -1 || at > now)
		return now;
	return at + a->cfg.inventory_interval;
}

static double
rnd(void)
{
	unsigned int v;

	if (crypto_random(&v, sizeof(v)) == -1)
		return 0.5;
	return v / 4294967296.0;
}

struct schedule {
	long long inventory, sample, cut, sync, watchdog; /* monotonic ms */
	long long watchdog_ms; /* 0: no systemd watchdog */
	int attempt;
};

/* The next timer due, in monotonic ms. */
static long long
next_due(const struct schedule *sc)
{
	long long t[] = {sc->inventory, sc->sample, sc->cut, sc->sync,
	                 sc->watchdog_ms ? sc->watchdog : sc->sync};
	long long m = t[0];
	size_t i;

	for (i = 1; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i] < m)
			m = t[i];
	return m;
}

static void
sync_step(struct agent *a, struct schedule *sc, long long mono)
{
	struct sync_result r;
	long delay;

	if (do_sync(a, &r) == 0 || r.need_inventory) {
		sc->attempt = 0;
		delay = queue_pending(a->queue) > 0 ? 1 : a->cfg.sync_interval;
	} else {
		if (r.batches > 0)
			sc->attempt = 0; /* the link works: retry soon */
		sc->attempt++;
		delay = sync_backoff(sc->attempt, a->cfg.retry_min,
		                     a->cfg.retry_max, r.retry_after, rnd());
		log_info("next delivery attempt in %ld s", delay);
	}
	sc->sync = mono + delay * 1000;
}

static void
loop_step(struct agent *a, struct schedule *sc)
{
	long long mono = util_mono_ms(), now = time(NULL);

	if (mono >= sc->inventory) {
		if (do_inventory(a) == -1)
			log_warnx("inventory failed");
		service_release_memory();
		sc->inventory = mono + a->cfg.inventory_interval * 1000LL;
	}
	if (mono >= sc->sample) {
		if (!state_intact(a))
			state_lost(a);
		do_sample(a, now);
		enforce_budget(a);
		sc->sample = mono + a->cfg.usage_interval * 1000LL;
	}
	if (mono >= sc->cut) {
		if (usage_cut(a->usage) == -1)
			log_warnx("usage cut failed");
		sc->cut = mono + (3600 - now % 3600) * 1000LL;
	}
	if (mono >= sc->sync) {
		sync_step(a, sc, mono);
		service_release_memory();
	}
	if (sc->watchdog_ms && util_mono_ms() >= sc->watchdog) {
		notify_send("WATCHDOG=1");
		sc->watchdog = util_mono_ms() + sc->watchdog_ms;
	}
}

/* Power and session events (Windows): time asleep or locked is not use.
 * The collector hides the processes of a locked session (the whole
 * machine while asleep), so that the next sample ends their sessions at
 * the last sample before the lock (collect.h). Events are queued by the
 * SCM's thread and taken here in order, so that a suspend seen only after
 * the machine woke up still ends the sessions before the sleep. */
static void
handle_events(struct agent *a)
{
	struct service_event ev;

	while (service_next_event(&ev)) {
		switch (ev.type) {
		case SERVICE_EV_SUSPEND:
			log_info("system suspending: usage sessions end");
			collect_set_session_locked(a->collect,
			                           COLLECT_SESSION_ALL, 1);
			do_sample(a, time(NULL));
			if (usage_cut(a->usage) == -1)
				log_warnx("usage cut failed");
			break;
		case SERVICE_EV_RESUME:
			log_info("system resumed");
			do_sample(a, time(NULL));
			collect_set_session_locked(a->collect,
			                           COLLECT_SESSION_ALL, 0);
			break;
		case SERVICE_EV_LOCK:
			log_debug("session %u locked", ev.session);
			collect_set_session_locked(a->collect, ev.session, 1);
			do_sample(a, time(NULL));
			break;
		case SERVICE_EV_UNLOCK:
		case SERVICE_EV_LOGOFF:
			log_debug("session %u %s", ev.session,
			          ev.type == SERVICE_EV_UNLOCK ? "unlocked"
			                                       : "logged off");
			collect_set_session_locked(a->collect, ev.session, 0);
			break;
		}
	}
}

/* The service loop: timers on the monotonic clock, so that a wrong or
 * jumping wall clock changes no schedule. */
static int
run_service(struct agent *a)
{
	struct schedule sc;
	long long mono = util_mono_ms(), now = time(NULL), wait;
	long splay;

	memset(&sc, 0, sizeof(sc));
	sc.inventory = mono + (inventory_due(a, now) - now) * 1000;
	sc.sample = mono;
	sc.cut = mono + (3600 - now % 3600) * 1000LL;
	/* A fleet booting at 8:30 must not reach the server at once. */
	splay = a->cfg.startup_splay < a->cfg.sync_interval
	            ? a->cfg.startup_splay
	            : a->cfg.sync_interval;
	sc.sync = mono + (long long)(rnd() * splay * 1000);
	sc.watchdog_ms = notify_watchdog_ms();
	sc.watchdog = mono;
	notify_send("READY=1");
	log_info("agent %s started (commune %s, %zu open sessions)",
	         a->agent_id, a->cfg.commune, usage_open_count(a->usage));
	while (!service_stopping()) {
		loop_step(a, &sc);
		wait = next_due(&sc) - util_mono_ms();
		service_sleep(
		    wait); /* a stop or a system event cuts it short */
		handle_events(a);
	}
	notify_send("STOPPING=1");
	log_info("stopping: %lld records queued, %zu sessions open",
	         queue_pending(a->queue), usage_open_count(a->usage));
	return 0;
}

struct enrol_args {
	const char *server, *commune, *secret_file, *key_file;
};

static void
parse_enrol_args(int argc, char **argv, struct enrol_args *ea)
{
	static const struct option opts[] = {
	    {"server", required_argument, NULL, 's'},
	    {"commune", required_argument, NULL, 'C'},
	    {"secret-file", required_argument, NULL, 'S'},
	    {"user-key-file", required_argument, NULL, 'K'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	memset(ea, 0, sizeof(*ea));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 's')
			ea->server = optarg;
		else if (ch == 'C')
			ea->commune = optarg;
		else if (ch == 'S')
			ea->secret_file = optarg;
		else if (ch == 'K')
			ea->key_file = optarg;
		else
			usage_exit(2);
	}
	if (optind != argc || !ea->server || !ea->commune || !ea->secret_file)
		usage_exit(2);
}

/* Writes the configuration from the arguments and enrols now. */
static int
write_enrol_config(const char *conffile, const struct enrol_args *ea)
{
	char err[1024], *secret, *key = NULL;
	struct enrol_settings es;
	int rc;

	if ((secret = enrol_read_secret(ea->secret_file, err, sizeof(err))) ==
	        NULL ||
	    (ea->key_file && (key = enrol_read_secret(ea->key_file, err,
	                                              sizeof(err))) == NULL)) {
		fprintf(stderr, "mutu-agent: %s\n", err);
		free(secret);
		return -1;
	}
	memset(&es, 0, sizeof(es));
	es.server = ea->server;
	es.commune = ea->commune;
	es.secret = secret;
	es.user_key = key;
	if (service_config_dir(conffile) == -1) {
		snprintf(err, sizeof(err), "%s: cannot create its directory",
		         conffile);
		rc = -1;
	} else
		rc = enrol_configure(conffile, &es, err, sizeof(err));
	crypto_wipe(secret, strlen(secret));
	free(secret);
	if (key) {
		crypto_wipe(key, strlen(key));
		free(key);
	}
	if (rc == -1)
		fprintf(stderr, "mutu-agent: %s\n", err);
	return rc;
}

static int
cmd_enrol(const char *conffile, int argc, char **argv)
{
	static const char *const state_files[] = {"agent-id", "agent-key",
	                                          "token", NULL};
	struct enrol_args ea;
	struct sync_result r;
	struct agent a;
	char err[1024];
	int rc;

	parse_enrol_args(argc, argv, &ea);
	if (write_enrol_config(conffile, &ea) == -1)
		return 2;
	memset(&a, 0, sizeof(a));
	if (config_load(conffile, &a.cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "mutu-agent: %s\n", err);
		return 2;
	}
	if (service_private_dir(a.cfg.state_dir) == -1)
		fatal("%s", a.cfg.state_dir);
	if (util_check_private_dir(a.cfg.state_dir, 1, err, sizeof(err)) ==
	    -1) {
		fprintf(stderr, "mutu-agent: %s\n", err);
		return 2;
	}
	load_identity(&a);
	if ((a.sync = sync_new(&a.cfg, NULL, a.agent_id, a.hostname)) == NULL)
		fatalx("sync: cannot initialise");
	rc = sync_enrol(a.sync, &r);
	service_give_to_owner(a.cfg.state_dir, state_files);
	sync_free(a.sync);
	crypto_wipe(&a.cfg, sizeof(a.cfg));
	if (rc == -1) {
		log_warnx("%s written; enrolment failed, the service will "
		          "retry",
		          conffile);
		return 1;
	}
	printf("agent %s enrolled; configuration in %s\n", a.agent_id,
	       conffile);
	return 0;
}

/* Checks one line of "enqueue" input and queues it. Returns the record's
 * sequence number, 0 for a line refused (reported), or -1. */
static long long
enqueue_line(struct agent *a, const char *line, long lineno)
{
	static const char *const types[] = {
	    PROTO_REC_USAGE, PROTO_REC_USAGE_DAY, PROTO_REC_INVENTORY,
	    PROTO_REC_INVENTORY_DELTA, NULL};
	json_t *j = json_loads(line, 0, NULL), *data;
	const char *type = json_string_value(json_object_get(j, "type"));
	json_int_t t = json_integer_value(json_object_get(j, "time"));
	long long seq = 0;
	char *text;
	int i;

	data = json_object_get(j, "data");
	for (i = 0; type && types[i] && strcmp(type, types[i]) != 0; i++)
		;
	if (type == NULL || types[i] == NULL || !json_is_object(data)) {
		fprintf(stderr,
		        "mutu-agent: line %ld: expected {\"type\": "
		        "usage|usage_day|inventory|inventory_delta, "
		        "\"time\": N, \"data\": {...}}\n",
		        lineno);
	} else if ((text = json_dumps(data, JSON_COMPACT)) == NULL) {
		seq = -1;
	} else {
		seq = queue_push(a->queue, type, t > 0 ? t : time(NULL), text);
		free(text);
	}
	json_decref(j);
	return seq;
}

/* Commits the open transaction of "enqueue" and prints its records'
 * sequence numbers, now durable. */
static int
enqueue_flush(struct agent *a, const long long *seqs, long n)
{
	long i;

	if (queue_commit(a->queue) == -1)
		return -1;
	for (i = 0; i < n; i++)
		printf("%lld\n", seqs[i]);
	fflush(stdout);
	enforce_budget(a);
	return 0;
}

/* enqueue: queues records read from standard input, per_tx per
 * transaction, and prints each one's sequence number once it is on disk.
 * A refused line is reported and skipped. */
static int
cmd_enqueue(struct agent *a, long per_tx)
{
	char line[65536];
	long long seqs[1024], seq;
	long n = 0, lineno = 0, in_tx = 0;

	per_tx = per_tx < 1 ? 1 : per_tx > 1024 ? 1024 : per_tx;
	while (fgets(line, sizeof(line), stdin) != NULL) {
		lineno++;
		if (!in_tx && queue_begin(a->queue) == -1)
			goto fail;
		in_tx = 1;
		if ((seq = enqueue_line(a, line, lineno)) == -1) {
			queue_rollback(a->queue);
			goto fail;
		}
		if (seq > 0)
			seqs[n++] = seq;
		if (n == per_tx) {
			in_tx = 0;
			if (enqueue_flush(a, seqs, n) == -1)
				goto fail;
			n = 0;
		}
	}
	if (in_tx && enqueue_flush(a, seqs, n) == -1)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "mutu-agent: enqueue failed at line %ld\n", lineno);
	return 1;
}

/* status: the queue and the last delivery, read-only, for a person or a
 * monitoring check (docs/OPERATIONS.md): exit 0 ok, 1 records have waited
 * longer than --max-age without a delivery, 2 bad arguments or a state
 * that cannot be read. Needs the configuration for state_dir and
 * disk_budget; changes nothing, so it skips load_config()'s import of
 * installer settings. */
static int
cmd_status(const char *conffile, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"max-age", required_argument, NULL, 'm'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	long long max_age = STATUS_MAX_AGE_DEFAULT;
	struct agent_config cfg;
	char path[PATH_MAX], err[PATH_MAX + 256];
	struct status st;
	int ch, json = 0, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'm' && status_parse_hours(optarg, &max_age) == -1) {
			fprintf(stderr,
			        "mutu-agent: --max-age: hours from 0 to "
			        "87600, not '%s'\n",
			        optarg);
			return 2;
		} else if (ch == 'j')
			json = 1;
		else if (ch != 'm')
			usage_exit(2);
	}
	if (optind != argc)
		usage_exit(2);
	memset(&cfg, 0, sizeof(cfg));
	rc = config_load(conffile, &cfg, err, sizeof(err));
	if (rc == 0 && (size_t)snprintf(path, sizeof(path), "%s/queue.db",
	                                cfg.state_dir) >= sizeof(path)) {
		snprintf(err, sizeof(err), "state_dir too long");
		rc = -1;
	}
	if (rc == 0)
		rc = status_read(path, max_age, cfg.disk_budget * 1048576LL,
		                 &st, err, sizeof(err));
	crypto_wipe(&cfg, sizeof(cfg));
	if (rc == -1) {
		fprintf(stderr, "mutu-agent: %s\n", err);
		return 2;
	}
	if (status_print(stdout, &st, json) == -1)
		return 2;
	return status_failing(&st) ? 1 : 0;
}

/* Prints the inventory document alone: for admins, and for the tests that
 * validate it against the GLPI schema. Needs no configuration. */
static int
print_inventory(void)
{
	struct collect *c = collect_new(NULL);
	json_t *doc;
	char host[256];

	if (c == NULL)
		return 1;
	collect_hostname(host, sizeof(host));
	doc = inventory_build(c, host);
	collect_free(c);
	if (doc == NULL) {
		fprintf(stderr, "mutu-agent: cannot read installed software\n");
		return 1;
	}
	json_dumpf(doc, stdout, JSON_INDENT(1));
	putchar('\n');
	json_decref(doc);
	return 0;
}

/* What the command line asks for. */
struct run_opts {
	const char *conffile;
	int foreground, verbose, check, once, service;
	long per_tx; /* enqueue: records per transaction, 0: not enqueue */
};

/* Loads and checks the configuration, after taking in the settings an
 * installer left (Windows). Returns 0, or -1 (logged). */
static int
load_config(const struct run_opts *o, struct agent_config *cfg)
{
	char err[1024];

	if (service_import_settings(o->conffile, err, sizeof(err)) == -1)
		log_warnx("%s", err); /* the configuration may still do */
	if (config_load(o->conffile, cfg, err, sizeof(err)) == -1 ||
	    config_check_files(o->conffile, cfg, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

/* The agent proper: configuration, then enqueue, --once or the service
 * loop. Runs inside service_run(). */
static int
agent_main(void *arg)
{
	const struct run_opts *o = arg;
	struct agent a;
	int rc;

	if (o->service) /* a Windows service logs to the Event Log */
		log_init("mutu-agent", 0, o->verbose);
	memset(&a, 0, sizeof(a));
	if (load_config(o, &a.cfg) == -1)
		return 2;
	if (o->check) {
		printf("%s: configuration OK\n", o->conffile);
		return 0;
	}
	/* Under systemd stderr goes to the journal too; -d only forces it. */
	if (!o->service)
		log_init("mutu-agent",
		         o->foreground || o->once || o->per_tx ||
		             getenv("JOURNAL_STREAM"),
		         o->verbose);
	service_catch_stop();
	if ((rc = agent_open(&a, o->once || o->per_tx)) < 0)
		return rc == -2 ? 2 : 0; /* -1: stopped waiting for the queue */
	rc = o->per_tx ? cmd_enqueue(&a, o->per_tx)
	     : o->once ? run_once(&a)
	               : run_service(&a);
	agent_close(&a);
	return rc;
}

static void
parse_args(int argc, char *argv[], struct run_opts *o)
{
	static const struct option longopts[] = {
	    {"once", no_argument, NULL, 'O'},
	    {"service", no_argument, NULL, 'S'},
	    {"inventory", no_argument, NULL, 'I'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "+c:dnvh", longopts, NULL)) !=
	       -1) {
		switch (ch) {
		case 'c':
			o->conffile = optarg;
			break;
		case 'd':
			o->foreground = 1;
			break;
		case 'n':
			o->check = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'O':
			o->once = 1;
			break;
		case 'S':
			o->service = 1;
			break;
		case 'I':
			exit(print_inventory());
		case 'V':
			printf("mutu-agent %s\n", MUTU_VERSION);
			exit(0);
		case 'h':
			usage_exit(0);
			break;
		default:
			usage_exit(2);
		}
	}
}

int
main(int argc, char *argv[])
{
	struct run_opts o;

	service_init();
	log_init("mutu-agent", 1, 0);
	memset(&o, 0, sizeof(o));
	o.conffile = service_default_config();
	parse_args(argc, argv, &o);
	if (optind < argc && strcmp(argv[optind], "enrol") == 0)
		return cmd_enrol(o.conffile, argc - optind, argv + optind);
	if (optind < argc && strcmp(argv[optind], "status") == 0)
		return cmd_status(o.conffile, argc - optind, argv + optind);
	if (optind < argc && strcmp(argv[optind], "enqueue") == 0) {
		if (argc - optind > 2)
			usage_exit(2);
		o.per_tx = optind + 1 < argc ? atol(argv[optind + 1]) : 1;
		if (o.per_tx < 1)
			usage_exit(2);
	} else if (optind != argc)
		usage_exit(2);
	if (o.service && (o.once || o.per_tx || o.check))
		usage_exit(2);
	return o.service ? service_run(agent_main, &o) : agent_main(&o);
}
