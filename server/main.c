/*
 * mutu-server: startup, bootstrap subcommands and serving. Requests are
 * handled by http (transport) and api (meaning); data lives in store.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "ocsxml.h"
#include "crypto.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "notify.h"
#include "proto.h"
#include "settings.h"
#include "cal.h"
#include "store.h"
#include "tlsinit.h"
#include "util.h"

/* Audit entries for failed authentications, all addresses together. */
#define AUTH_AUDIT_PER_MINUTE 100

struct opts {
	const char *conffile;
	const char *db;
	const char *db_admin;  /* PostgreSQL: the schema owner's URI */
	const char *from, *to; /* migrate */
	const char *listen;
	const char *port_file;
	const char *commune; /* admin-token --commune */
	const char *tls_cert, *tls_key, *tls_crl;
	const char *label;
	long long expires_days, max_uses;
	int read_only;
	int foreground, verbose, threads;
	struct settings st; /* from the file; options override it */
};

static void
usage_exit(int code)
{
	fprintf(
	    code ? stderr : stdout,
	    "usage: mutu-server [-c FILE] [-D DB] [-dv] [-t threads] "
	    "[-l ADDR:PORT] [--port-file FILE]\n"
	    "                   [--tls-cert FILE --tls-key FILE]\n"
	    "       mutu-server -D DB commune add CODE NAME\n"
	    "       mutu-server migrate --from FILE.db --to postgresql://... "
	    "[--db-admin URI]\n"
	    "       mutu-server -D DB enrol-secret CODE [--expires-days N]\n"
	    "                   [--max-uses N] [--label TEXT]\n"
	    "       mutu-server -D DB admin-token [--commune CODE] "
	    "[--read-only]\n"
	    "                   [--label TEXT]\n"
	    "       mutu-server -D DB backup FILE   (while serving)\n"
	    "       mutu-server -D DB restore FILE  (server stopped)\n"
	    "       mutu-server tls-init DIR HOST[,HOST...]\n"
	    "       mutu-server --version\n"
	    "  -c FILE    configuration file (mutu-server.conf(5)); the "
	    "options\n"
	    "             below override it; subcommands take it too\n"
	    "  -D DB      database: a SQLite file path or a postgresql:// URI\n"
	    "  --db-admin URI  PostgreSQL: the schema owner's connection, to\n"
	    "             create or migrate the schema at start\n"
	    "  -l ADDR:PORT  listen (e.g. 127.0.0.1:8080, [::1]:8080; port 0 "
	    "picks one)\n"
	    "  -d         foreground, log to stderr   -v  verbose\n");
	exit(code);
}

/* Run as root on a database directory owned by the service user (the
 * packaged layout), become that user first, so that every file the store
 * creates stays the service's. */
static void
become_owner_of(const char *db)
{
	char dir[PATH_MAX];
	struct stat st;

	if (geteuid() != 0 || util_strlcpy(dir, db, sizeof(dir)) == -1 ||
	    stat(dirname(dir), &st) == -1 || st.st_uid == 0)
		return;
	if (setgroups(0, NULL) == -1 || setgid(st.st_gid) == -1 ||
	    setuid(st.st_uid) == -1)
		fatal("cannot become uid %u, the owner of %s", st.st_uid, dir);
	log_debug("running as uid %u, the owner of %s", st.st_uid, dir);
}

static struct store *
open_store(const struct opts *o)
{
	struct store *s;
	char err[512];

	if (o->db == NULL)
		fatalx("no database: give -D FILE or 'database' in -c FILE");
	become_owner_of(o->db);
	if ((s = store_open(o->db, o->db_admin, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	return s;
}

static int
cmd_commune(const struct opts *o, int argc, char **argv)
{
	struct store *s;
	int rc;

	if (argc != 4 || strcmp(argv[1], "add") != 0)
		usage_exit(2);
	if (!util_valid_insee(argv[2]))
		fatalx("%s: not an INSEE commune code (5 characters)", argv[2]);
	if (argv[3][0] == '\0' || strlen(argv[3]) > 200)
		fatalx("commune name: expected 1 to 200 characters");
	s = open_store(o);
	rc = store_commune_add(s, argv[2], argv[3]);
	store_close(s);
	if (rc == STORE_CONFLICT)
		fatalx("commune %s exists already", argv[2]);
	if (rc != STORE_OK)
		fatalx("cannot add commune %s", argv[2]);
	printf("commune %s (%s) added\n", argv[2], argv[3]);
	return 0;
}

/* migrate --from FILE.db --to postgresql://... [--db-admin URI]: moves a
 * deployment; the server must be stopped meanwhile. */
static int
cmd_migrate(const struct opts *o)
{
	struct store *from, *to;
	char err[512];

	if (o->from == NULL || o->to == NULL)
		fatalx("migrate: give --from DB and --to DB");
	if ((from = store_open(o->from, NULL, err, sizeof(err))) == NULL)
		fatalx("migrate: %s", err);
	if ((to = store_open(o->to, o->db_admin, err, sizeof(err))) == NULL)
		fatalx("migrate: %s", err);
	if (store_copy(from, to, stdout, err, sizeof(err)) == -1)
		fatalx("migrate: nothing copied: %s", err);
	store_close(to);
	store_close(from);
	printf("migrated %s to %s\n", o->from, o->to);
	return 0;
}

/* backup FILE: a consistent copy of the database while it serves, as
 * the database's owner (so that the -wal and -shm files it may create
 * stay the service's). */
static int
cmd_backup(const struct opts *o, int argc, char **argv)
{
	char err[512];

	if (argc != 2)
		usage_exit(2);
	if (o->db == NULL)
		fatalx("no database: give -D FILE or 'database' in -c FILE");
	become_owner_of(o->db);
	if (store_backup(o->db, argv[1], err, sizeof(err)) == -1)
		fatalx("backup: nothing written: %s", err);
	printf("backed up %s to %s\n", o->db, argv[1]);
	return 0;
}

/* restore FILE: the server must be stopped; the database is then
 * migrated to this build's schema if the backup is older. */
static int
cmd_restore(const struct opts *o, int argc, char **argv)
{
	struct store *s;
	char err[512];

	if (argc != 2)
		usage_exit(2);
	if (o->db == NULL)
		fatalx("no database: give -D FILE or 'database' in -c FILE");
	become_owner_of(o->db);
	if (store_restore(argv[1], o->db, err, sizeof(err)) == -1)
		fatalx("restore: database unchanged: %s", err);
	s = open_store(o);
	store_close(s);
	printf("restored %s from %s\n", o->db, argv[1]);
	return 0;
}

/* Prints a new secret or token once; only its hash is stored. */
static int
cmd_secret(const struct opts *o, int argc, char **argv, int admin)
{
	struct store_scope all = {"", 0, 0};
	const char *commune = admin ? o->commune : (argc == 2 ? argv[1] : NULL);
	json_t *in, *out = NULL;
	struct store *s;
	int rc;

	if ((admin && argc != 1) || (!admin && commune == NULL))
		usage_exit(2);
	in = json_pack("{s:s?, s:s?, s:b}", "commune", commune, "label",
	               o->label, "read_only", o->read_only);
	if (o->expires_days)
		json_object_set_new(in, "expires_days",
		                    json_integer(o->expires_days));
	if (o->max_uses)
		json_object_set_new(in, "max_uses", json_integer(o->max_uses));
	s = open_store(o);
	rc = store_admin(s, admin ? ADM_TOKEN_CREATE : ADM_SECRET_CREATE, &all,
	                 in, &out);
	if (rc == STORE_OK)
		store_audit(s, 0, commune ? commune : "", "change",
		            admin ? "admin-token (command line)"
		                  : "enrol-secret (command line)");
	store_close(s);
	json_decref(in);
	if (rc == STORE_NOCOMMUNE)
		fatalx("no commune %s: add it first", commune);
	if (rc != STORE_OK)
		fatalx("cannot create the %s: %s", admin ? "token" : "secret",
		       rc == STORE_INVALID
		           ? json_string_value(json_object_get(out, "error"))
		           : "storage error");
	printf("%s\n", json_string_value(
	                   json_object_get(out, admin ? "token" : "secret")));
	json_decref(out);
	return 0;
}

static void
write_port_file(const char *path, int port)
{
	char text[16];
	int n = snprintf(text, sizeof(text), "%d\n", port);

	if (util_write_file(path, text, (size_t)n, 0644) == -1)
		fatal("%s", path);
}

/* Is the host of ADDR:PORT a loopback address? */
static int
listen_loopback(const char *listen)
{
	char host[256];
	char *colon;

	if (util_strlcpy(host, listen, sizeof(host)) == -1 ||
	    (colon = strrchr(host, ':')) == NULL)
		return 0;
	*colon = '\0';
	return util_is_loopback(host);
}

static int
cmd_tls_init(int argc, char **argv)
{
	char err[512], url[600], first[256];

	if (argc != 3 && argc != 4) {
		fprintf(stderr,
		        "usage: mutu-server tls-init DIR HOST[,HOST...] "
		        "[CRL_URL]\n");
		return 2;
	}
	util_strlcpy(first, argv[2], sizeof(first));
	first[strcspn(first, ",")] = '\0';
	/* Where this server will publish the CA's revocation list. */
	snprintf(url, sizeof(url), "https://%s/crl.pem", first);
	if (tlsinit_create(argv[1], argv[2], argc == 4 ? argv[3] : url, err,
	                   sizeof(err)) == -1)
		fatalx("%s", err);
	printf("%s: ca.pem (give it to the agents: ca_file), server.pem and "
	       "server.key (tls_cert, tls_key), crl.pem (tls_crl, published at "
	       "%s)\n",
	       argv[1], argc == 4 ? argv[3] : url);
	return 0;
}

/* Says how much load was shed, for operators and the herd test. */
static void
log_shed(struct shed *sh)
{
	struct shed_stats st;

	shed_stats(sh, &st);
	log_info("batches: %lld admitted, %lld shed with 429, %lld retried "
	         "before their Retry-After",
	         st.admitted, st.shed, st.early);
}

/* Says how many slow clients were cut, for operators and 215-slowloris. */
static void
log_http(struct http_server *h)
{
	struct http_stats st;

	http_stats(h, &st);
	log_info("connections: %lld cut for slow headers, %lld for a slow "
	         "body or request, %lld for a slow reader, %lld opened in the "
	         "reserved slots",
	         st.cut_head, st.cut_body, st.cut_reply, st.reserved);
}

/* What a SIGBUS says, set before serving: a signal handler reaches only
 * file-level state. */
static char sigbus_msg[PATH_MAX + 256];
static size_t sigbus_len;

/* SIGBUS comes from a file mapped in memory that was cut short: for the
 * server, SQLite's -shm file truncated (or its file system full) under
 * it. No SQLite process survives that; say so and stop, rather than die
 * without a word. */
static void
on_sigbus(int sig)
{
	(void)sig;
	(void)!write(STDERR_FILENO, sigbus_msg, sigbus_len);
	_exit(70);
}

static void
catch_sigbus(const char *db)
{
	const char *file = db_local_file(db);
	struct sigaction sa;

	if (file != NULL)
		snprintf(
		    sigbus_msg, sizeof(sigbus_msg),
		    "mutu-server: SIGBUS: %s-shm was truncated or its file "
		    "system is full or unwritable; stopping (start again: "
		    "SQLite rebuilds it)\n",
		    file);
	else
		snprintf(sigbus_msg, sizeof(sigbus_msg),
		         "mutu-server: SIGBUS: a file mapped in memory was "
		         "truncated or its file system is full; stopping\n");
	sigbus_len = strlen(sigbus_msg);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGBUS, &sa, NULL);
}

/* No core dump and no ptrace by the service's own user: the process holds
 * agent tokens, admin tokens and the TLS key in memory (docs/SECURITY.md).
 * Not dumpable also makes /proc/PID/ root's. */
static void
no_core_dumps(void)
{
	struct rlimit none = {0, 0};

	if (setrlimit(RLIMIT_CORE, &none) == -1)
		fatal("setrlimit(RLIMIT_CORE)");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("prctl(PR_SET_DUMPABLE)");
}

/* The metrics token's hash into hash: the first line of file, at least
 * 16 characters, the file not readable by other users. Read while still
 * root, as the TLS key. */
static void
read_metrics_token(const char *file, char hash[CRYPTO_HEX256_LEN + 1])
{
	struct stat st;
	char *tok;

	if (stat(file, &st) == -1)
		fatal("metrics_token_file %s", file);
	if (st.st_mode & 0007)
		fatalx("metrics_token_file %s: readable by other users (mode "
		       "%03o): chmod o-rwx it",
		       file, (unsigned)(st.st_mode & 0777));
	if ((tok = util_read_file(file, 1024)) == NULL)
		fatal("metrics_token_file %s", file);
	tok[strcspn(tok, "\r\n")] = '\0';
	if (strlen(tok) < 16)
		fatalx("metrics_token_file %s: the token must have at least 16 "
		       "characters (e.g. head -c 24 /dev/urandom | base64)",
		       file);
	crypto_sha256_hex(tok, hash);
	crypto_wipe(tok, strlen(tok));
	free(tok);
}

/* The work of the serve loop's tick: the watchdog's ping, the daily
 * housekeeping, and the daily figures of usage ingest left to compute
 * (a second's worth at a time). Returns the milliseconds to the next
 * tick: the watchdog's period or 5 s, whichever is shorter; 1 s while
 * figures are left to compute. */
static long long
on_tick(struct store *s, int retention_days, time_t *maintained, long long wd)
{
	long long ms = wd > 0 && wd < 5000 ? wd : 5000;
	long settled = 0;

	notify_send("WATCHDOG=1");
	if (time(NULL) - *maintained >= 86400) {
		store_maintain(s, time(NULL), retention_days);
		*maintained = time(NULL);
	}
	if (store_settle(s, 1000, &settled) == STORE_OK && settled > 0 &&
	    ms > 1000)
		ms = 1000;
	return ms;
}

static int
cmd_serve(const struct opts *o)
{
	struct http_limits lim = {PROTO_MAX_BODY,
	                          PROTO_MAX_INFLATED,
	                          PROTO_MAX_RATIO,
	                          (unsigned)o->st.threads,
	                          (unsigned)o->st.timeout,
	                          (unsigned)o->st.max_connections,
	                          NULL,
	                          NULL,
	                          (unsigned)o->st.header_timeout,
	                          (unsigned)o->st.request_timeout,
	                          (unsigned)o->st.min_body_rate,
	                          (unsigned)o->st.max_connections_per_address,
	                          (unsigned)o->st.reserved_connections,
	                          (size_t)o->st.max_body_memory_mb << 20};
	char *cert = NULL, *key = NULL, *crl = NULL;
	char metrics_hash[CRYPTO_HEX256_LEN + 1] = "";
	long long cert_expires = 0;
	struct timespec tick;
	long long ms;
	time_t maintained = time(NULL);
	long long wd = notify_watchdog_ms();
	struct http_server *http;
	struct store *s;
	struct api api;
	sigset_t set;
	char err[512];
	int sig = 0;

	if (o->listen == NULL)
		usage_exit(2);
	if (o->st.tls_crl[0] &&
	    (crl = util_read_file(o->st.tls_crl, 1024 * 1024)) == NULL)
		fatal("tls_crl %s", o->st.tls_crl);
	/* Read the TLS files while still root: the key may be root's. */
	if (o->st.tls_cert[0] || o->st.tls_key[0]) {
		if ((cert = util_read_file(o->st.tls_cert, 256 * 1024)) == NULL)
			fatal("tls_cert %s", o->st.tls_cert);
		if ((key = util_read_file(o->st.tls_key, 64 * 1024)) == NULL)
			fatal("tls_key %s", o->st.tls_key);
		lim.tls_cert = cert;
		lim.tls_key = key;
		if ((cert_expires = tlsinit_expiry(cert)) == -1)
			fatalx("tls_cert %s: no PEM certificate",
			       o->st.tls_cert);
	} else if (!listen_loopback(o->listen))
		fatalx("%s: plain HTTP is served on loopback addresses only; "
		       "set tls_cert and tls_key (see mutu-server tls-init)",
		       o->listen);
	if (o->st.metrics_token_file[0])
		read_metrics_token(o->st.metrics_token_file, metrics_hash);
	/* One serving process per SQLite file: the second one stops here,
	 * naming the first (its subcommands still open the file). */
	if (o->db) {
		become_owner_of(o->db);
		if (store_lock(o->db, err, sizeof(err)) == -1)
			fatalx("%s", err);
	}
	s = open_store(o);
	catch_sigbus(o->db);
	/* One connection per HTTP thread and one for housekeeping. */
	if (store_grow(s, o->st.threads + 1, err, sizeof(err)) == -1)
		fatalx("%s", err);
	memset(&api, 0, sizeof(api));
	api.store = s;
	api.privacy_k = o->st.privacy_k;
	api.max_day_keys = o->st.max_programs_per_day;
	api.max_software = o->st.max_software;
	api.crl = crl;
	api.enrol_rate = ratelimit_new(o->st.enrol_per_minute, 60);
	api.agent_rate = ratelimit_new(o->st.requests_per_minute, 60);
	api.shed = shed_new(o->st.batches_per_second);
	api.auth_fail = ratelimit_new(o->st.auth_failures_per_minute, 60);
	api.auth_audit = ratelimit_new(AUTH_AUDIT_PER_MINUTE, 60);
	api.audit_gate =
	    auditgate_new(o->st.admin_requests_per_second, o->st.admin_burst);
	api.min_free_mb = o->st.min_free_mb;
	api.started = (long long)time(NULL);
	api.cert_expires = cert_expires;
	api.cert_warn_days = o->st.cert_warn_days;
	memcpy(api.metrics_hash, metrics_hash, sizeof(api.metrics_hash));
	api.metrics = api_metrics_new();
	api.db_path = db_local_file(o->db);
	pthread_mutex_init(&api.health_lock, NULL);
	api.health_at = 0;
	if (api.enrol_rate == NULL || api.agent_rate == NULL ||
	    api.shed == NULL || api.auth_fail == NULL ||
	    api.auth_audit == NULL || api.audit_gate == NULL ||
	    api.metrics == NULL)
		fatalx("out of memory");
	store_maintain(s, time(NULL), o->st.retention_days);
	/* Block the signals before the HTTP threads exist, so that they
	 * inherit the mask and only this thread receives them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	http =
	    http_start(o->listen, &lim, &api_handlers, &api, err, sizeof(err));
	if (http == NULL)
		fatalx("%s", err);
	if (key) {
		crypto_wipe(key, strlen(key));
		free(key);
		key = NULL;
	}
	if (o->port_file)
		write_port_file(o->port_file, http_port(http));
	log_info("listening on %s (port %d, %s), database %s", o->listen,
	         http_port(http), cert ? "TLS" : "plain HTTP", o->db);
	notify_send("READY=1");
	ms = wd > 0 && wd < 5000 ? wd : 5000;
	for (;;) {
		tick.tv_sec = ms / 1000;
		tick.tv_nsec = (ms % 1000) * 1000000;
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == -1) { /* the tick passed */
			ms = on_tick(s, o->st.retention_days, &maintained, wd);
			continue;
		}
		if (sig != SIGHUP)
			break;
		log_info("SIGHUP: nothing to reload yet");
	}
	notify_send("STOPPING=1");
	log_info("signal %d: stopping", sig);
	log_http(http);
	http_stop(http);
	/* The refusals counted and not yet written. */
	auditgate_flush(api.audit_gate, s, (long long)time(NULL) * 1000, 1);
	log_shed(api.shed);
	store_close(s);
	shed_free(api.shed);
	ratelimit_free(api.enrol_rate);
	ratelimit_free(api.agent_rate);
	ratelimit_free(api.auth_fail);
	ratelimit_free(api.auth_audit);
	auditgate_free(api.audit_gate);
	metrics_free(api.metrics);
	pthread_mutex_destroy(&api.health_lock);
	free(cert);
	free(crl);
	log_info("stopped");
	return 0;
}

/* Options of the secret and token subcommands. */
static void
sub_option(struct opts *o, int ch)
{
	switch (ch) {
	case 'C':
		o->commune = optarg;
		break;
	case 'E':
		if (util_parse_ll(optarg, 1, 3660, &o->expires_days) == -1)
			fatalx("--expires-days: expected 1 to 3660");
		break;
	case 'U':
		if (util_parse_ll(optarg, 1, 1000000, &o->max_uses) == -1)
			fatalx("--max-uses: expected 1 to 1000000");
		break;
	case 'R':
		o->read_only = 1;
		break;
	case 'L':
		o->label = optarg;
		break;
	case 'A':
		o->db_admin = optarg;
		break;
	case 'F':
		o->from = optarg;
		break;
	case 'O':
		o->to = optarg;
		break;
	default:
		usage_exit(2);
	}
}

/* Reads the configuration file, if any, under the command-line options. */
static void
apply_settings(struct opts *o)
{
	char err[1024];

	settings_defaults(&o->st);
	if (o->conffile &&
	    settings_load(o->conffile, &o->st, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (o->db == NULL && o->st.database[0])
		o->db = o->st.database;
	if (o->db_admin == NULL && o->st.database_admin[0])
		o->db_admin = o->st.database_admin;
	if (o->listen == NULL && o->st.listen[0])
		o->listen = o->st.listen;
	if (o->threads > 0)
		o->st.threads = o->threads;
	if ((o->tls_cert && util_strlcpy(o->st.tls_cert, o->tls_cert,
	                                 sizeof(o->st.tls_cert)) == -1) ||
	    (o->tls_key && util_strlcpy(o->st.tls_key, o->tls_key,
	                                sizeof(o->st.tls_key)) == -1) ||
	    (o->tls_crl && util_strlcpy(o->st.tls_crl, o->tls_crl,
	                                sizeof(o->st.tls_crl)) == -1))
		fatalx("TLS file path too long");
	/* reports and ingest count local days of this zone (cal.h) */
	if (cal_zone(o->st.time_zone, err, sizeof(err)) == -1)
		fatalx("%s", err);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
	    {"port-file", required_argument, NULL, 'P'},
	    {"db-admin", required_argument, NULL, 'A'},
	    {"from", required_argument, NULL, 'F'},
	    {"to", required_argument, NULL, 'O'},
	    {"tls-cert", required_argument, NULL, 'T'},
	    {"expires-days", required_argument, NULL, 'E'},
	    {"max-uses", required_argument, NULL, 'U'},
	    {"read-only", no_argument, NULL, 'R'},
	    {"label", required_argument, NULL, 'L'},
	    {"tls-key", required_argument, NULL, 'K'},
	    {"tls-crl", required_argument, NULL, 'X'},
	    {"commune", required_argument, NULL, 'C'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct opts o;
	long long v;
	int ch;

	ocsxml_init(); /* libxml2, before any thread */

	/* Databases, tokens and queues are private to the service. */
	umask(077);
	no_core_dumps();
	memset(&o, 0, sizeof(o));
	log_init("mutu-server", 1, 0);
	while ((ch = getopt_long(argc, argv, "+c:D:l:t:dvh", longopts, NULL)) !=
	       -1) {
		switch (ch) {
		case 'c':
			o.conffile = optarg;
			break;
		case 'D':
			o.db = optarg;
			break;
		case 'l':
			o.listen = optarg;
			break;
		case 't':
			if (util_parse_ll(optarg, 1, 256, &v) == -1)
				fatalx("-t: expected 1 to 256 threads");
			o.threads = (int)v;
			break;
		case 'd':
			o.foreground = 1;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'P':
			o.port_file = optarg;
			break;
		case 'T':
			o.tls_cert = optarg;
			break;
		case 'K':
			o.tls_key = optarg;
			break;
		case 'X':
			o.tls_crl = optarg;
			break;
		case 'C':
		case 'E':
		case 'U':
		case 'R':
		case 'L':
		case 'A':
		case 'F':
		case 'O':
			sub_option(&o, ch);
			break;
		case 'V':
			printf("mutu-server %s\n", MUTU_VERSION);
			return 0;
		case 'h':
			usage_exit(0);
			break;
		default:
			usage_exit(2);
		}
	}
	argc -= optind;
	argv += optind;
	log_init("mutu-server", 1, o.verbose);
	apply_settings(&o);
	if (argc == 0) {
		log_init("mutu-server",
		         o.foreground || getenv("JOURNAL_STREAM"), o.verbose);
		return cmd_serve(&o);
	}
	/* Options may also follow the subcommand (admin-token --commune). */
	optind = 0; /* GNU: start over, permuting this time */
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		sub_option(&o, ch);
	if (strcmp(argv[0], "tls-init") == 0)
		return cmd_tls_init(argc, argv);
	if (strcmp(argv[0], "commune") == 0)
		return cmd_commune(&o, argc, argv);
	if (strcmp(argv[0], "migrate") == 0)
		return cmd_migrate(&o);
	if (strcmp(argv[0], "backup") == 0)
		return cmd_backup(&o, argc, argv);
	if (strcmp(argv[0], "restore") == 0)
		return cmd_restore(&o, argc, argv);
	if (strcmp(argv[0], "enrol-secret") == 0)
		return cmd_secret(&o, argc - optind + 1, argv + optind - 1, 0);
	if (strcmp(argv[0], "admin-token") == 0)
		return cmd_secret(&o, argc - optind + 1, argv + optind - 1, 1);
	usage_exit(2);
}
