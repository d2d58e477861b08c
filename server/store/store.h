/*
 * store: the server's storage, behind one narrow interface so that ingest
 * and the API never see SQL. The engine is chosen by store_open()'s
 * argument: a file path selects SQLite, the embedded default; a
 * postgresql:// URI selects PostgreSQL. Both run the same SQL (store_sql.c
 * and its siblings) through db.h, whose backends hold what differs.
 *
 * Every call is safe from several threads. Secrets and tokens reach the
 * store only as SHA-256 hashes. Results for the API come back as jansson
 * values owned by the caller.
 */
#ifndef MUTU_STORE_H
#define MUTU_STORE_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#define STORE_COMMUNE_MAX 16
#define STORE_ID_MAX      65

/* What a store call did; the API maps each to its HTTP status in one
 * table (api.c). */
enum store_rc {
	STORE_OK = 0,
	STORE_ERR = -1,      /* database failure: logged, answer 503 */
	STORE_NOTFOUND = 1,  /* no such object (or outside the scope) */
	STORE_CONFLICT = 2,  /* exists already, or ambiguous */
	STORE_DENIED = 3,    /* credential unknown, revoked or mismatched */
	STORE_INVALID = 4,   /* bad input: *out holds {"error": message} */
	STORE_FORBIDDEN = 5, /* valid credential, but the request does not
	                        prove what it must, or its scope does not
	                        allow the operation (answer 403) */
	STORE_NOCOMMUNE = 6, /* bad input naming a commune that does not
	                        exist: *out holds {"error": message} */
};

/* Administration of the licence domain (norm.c, entitle.c) and of
 * access (store_access.c): JSON in, JSON out. The scope says who asks;
 * the backend enforces it. */
enum store_admin_op {
	ADM_CATALOGUE_EXPORT, /* -> {products, rules} */
	ADM_CATALOGUE_IMPORT, /* {products, rules}: replaces the admins' rules
	                       */
	ADM_RULE_ADD,    /* {field, glob|regex, product|ignore, priority} */
	ADM_RULE_DELETE, /* {id} */
	ADM_PRODUCT_ADD, /* {key, name, publisher, ...}: adds or replaces */
	ADM_UNMATCHED,   /* -> raw names no rule matches, most installed */
	ADM_ENT_LIST,    /* -> entitlements in scope */
	ADM_ENT_ADD,     /* one entitlement or an array of them */
	ADM_ENT_UPDATE,  /* {id, ...fields} */
	ADM_ENT_DELETE,  /* {id} */
	ADM_POOL_LIST,   /* -> pools with members and formula */
	ADM_POOL_SET,    /* {code, name, members, fixed_share, basis} */
	/* access (store_access.c) */
	ADM_SECRET_CREATE, /* {commune, expires_days?, max_uses?, label?}
	                      -> {id, secret}: the secret is shown once */
	ADM_SECRET_LIST,   /* -> secrets in scope, without the secrets */
	ADM_SECRET_REVOKE, /* {id} */
	ADM_TOKEN_CREATE,  /* {commune?, read_only?, label?} -> {id, token} */
	ADM_TOKEN_LIST,    /* -> tokens in scope */
	ADM_TOKEN_REVOKE,  /* {id} */
	ADM_AGENT_REVOKE,  /* {id: agent id}: its token stops, no re-enrol */
	ADM_AGENT_RETIRE,  /* {id: agent id}: out of service, as revoked,
	                      and no longer counted -> {agent_id, hostname,
	                      commune, retired_at} */
	ADM_AGENT_MOVE,    /* {id: agent id, commune}: the machine moves to
	                      that commune from now on (intercommunal) ->
	                      {agent_id, hostname, commune, from_commune,
	                      moved_at} */
	ADM_AUDIT_LIST,    /* {days?} -> the audit log in scope */
	ADM_GAPS_LIST,     /* {days?} -> data agents reported as given up */
	/* the audit log's retention (intercommunal admin; store_access.c) */
	ADM_AUDIT_POLICY,    /* -> {retention_days}: 0 keeps everything */
	ADM_AUDIT_RETENTION, /* {days}: sets it and purges now -> {purged} */
	ADM_AUDIT_PURGE,     /* {before: YYYY-MM-DD} -> {purged, before} */
	ADM_AUDIT_RETAIN,    /* the server's periodic purge (token_id 0) */
	/* foreign agents' credentials (docs/INTEROP.md; store_access.c) */
	ADM_FOREIGN_CREATE, /* {commune, expires_days?, label?}
	                       -> {id, commune, user, password} */
	ADM_FOREIGN_LIST,   /* -> credentials in scope, without passwords */
	ADM_FOREIGN_REVOKE, /* {id} */
};

enum store_report {
	REPORT_COMPLIANCE,
	REPORT_RECLAIM,
	REPORT_COSTS,
	REPORT_USAGE,
};

/* Who an agent token belongs to. */
struct store_agent {
	char agent_id[STORE_ID_MAX];
	char commune[STORE_COMMUNE_MAX];
	char former[256]; /* the communes its machine was moved from,
	                     comma-separated ("" when none), whose history its
	                     backlog may still add to */
};

/* What an admin token may see: one commune, or all when commune is "". */
struct store_scope {
	char commune[STORE_COMMUNE_MAX];
	int read_only;      /* a read-only token: no changes */
	long long token_id; /* the admin token, for the audit log */
};

struct store_software {
	const char *name, *version, *arch, *publisher;
	long long size; /* bytes, -1 if unknown */
};

enum store_rec_type {
	REC_INVENTORY,       /* the whole GLPI document */
	REC_INVENTORY_DELTA, /* changed sections since a known digest */
	REC_USAGE,           /* one session */
	REC_USAGE_DAY,       /* sessions the agent folded into a day */
	REC_GAP,             /* records the agent gave up, and why */
};

/* One validated record of a batch (see ingest.c). Strings are borrowed. */
struct store_record {
	long long seq;
	long long time;  /* the agent's wall clock at creation */
	long long shift; /* seconds to add to the agent's times (clock
	                    correction); the raw values are kept */
	enum store_rec_type type;
	union {
		struct {
			const char *hostname, *os;
			json_t *content;      /* borrowed: the document's */
			const char *document; /* the GLPI JSON text */
			const char *digest;   /* digest_json() of content */
			const struct store_software *software;
			size_t nsoftware;
		} inv;
		struct {
			const char *base, *digest; /* before and after */
			json_t *sections;          /* borrowed object */
			json_t *removed;           /* borrowed array */
			const struct store_software *software;
			size_t nsoftware;
			int has_software; /* the software list changed */
		} delta;
		struct {
			const char *product, *package, *exe, *user;
			long long start, end;
			long long sessions; /* REC_USAGE_DAY: sessions folded */
			long long seconds;  /* REC_USAGE_DAY: their total */
		} use;
		struct {
			const char *reason, *epoch, *detail;
			long long first_seq, last_seq, records, from, to;
		} gap;
	} u;
};

struct store_batch {
	const char *epoch;
	const struct store_record *rec; /* in increasing seq order */
	size_t n;
	int clock_known;           /* the agent sent its clock */
	long long clock_offset_ms; /* server time - agent time */
	/* Bounds on distinct names a machine adds (0: none), beyond which
	 * records are folded into counts rather than stored (docs/SECURITY.md,
	 * "Distinct names"): usage summaries (program, executable, user) per
	 * UTC day, software entries per inventory. */
	int max_day_keys;
	int max_software;
};

struct store_ingest_result {
	long long ack_seq; /* the stream's high-water mark after the batch */
	int applied;       /* records stored now */
	int duplicates;    /* records already stored before */
	long long conflict_seq;     /* STORE_CONFLICT: the inventory delta whose
	                               base the server does not have */
	long long usage_dropped;    /* usage records over max_day_keys */
	long long software_dropped; /* software entries over max_software */
};

/* Filters of the admin queries. commune NULL means every commune the
 * caller may see; the API has checked it against the token's scope. */
struct store_query {
	const char *commune;
	const char *product;   /* NULL: all */
	long long first, last; /* the period: local days (cal.h), both
	                          included */
	long long now;         /* Unix seconds: the time of the request */
	int limit;             /* 0: no limit */
	const char *pool;      /* costs: one pool, NULL for all */
	double coverage;       /* reclaim: share of the window an agent must
	                          have reported to count as unused */
	int days;              /* the period's length in days */
	int k;                 /* privacy: user counts below k are hidden
	                          outside the viewer's commune */
	const char *viewer;    /* the token's commune, "" for intercommunal */
	int raw;           /* licences: raw names (view=raw), not products */
	const char *state; /* machines: one state (active, silent, revoked,
	                      retired), NULL for all */
	int silent;        /* machines: only those in service with no
	                      contact for this many days or more; 0: all */
};

struct store;

/* Opens (creating and migrating as needed) the store named by uri: a
 * SQLite file path or a postgresql:// URI. For PostgreSQL, admin_uri
 * (may be NULL) names the schema owner's connection, used once to create
 * or migrate the schema and grant uri's role its rights on rows; without
 * it the schema must be current. NULL on failure with the reason in err. */
struct store *store_open(const char *uri, const char *admin_uri, char *err,
                         size_t errlen);
/* Closes it; NULL is a no-op. */
void store_close(struct store *s);
/* For the serving process, before store_open(): one server per SQLite
 * file (db_lock_serving(); the lock lasts as long as the process). 0, or
 * -1 with err naming the file and the pid of the server holding it.
 * PostgreSQL takes none: several instances share one database. */
int store_lock(const char *uri, char *err, size_t errlen);
/* mutu-server backup: a consistent copy of the database uri, taken while
 * a server serves it, into file, a new file (db_backup()). 0, or -1 with
 * err. */
int store_backup(const char *uri, const char *file, char *err, size_t errlen);
/* mutu-server restore: takes the serving lock (no server may be running;
 * held until the process exits), checks that file is a sound mutu-server
 * database, and replaces uri's content by it (db_restore()). The next
 * store_open() migrates it if its schema is older. 0, or -1 with err. */
int store_restore(const char *file, const char *uri, char *err, size_t errlen);
/* PostgreSQL: opens more connections, up to n in all (64 at most), so
 * that n calls run at once; a no-op for SQLite (one connection). 0, or
 * -1 with the reason in err. */
int store_grow(struct store *s, int n, char *err, size_t errlen);
/* Copies every row of from into to, which must hold no commune or agent
 * yet (its default catalogue is replaced by from's), in one transaction
 * on to; prints each table's row count to out. 0, or -1 with the reason
 * in err (to is unchanged). */
int store_copy(struct store *from, struct store *to, FILE *out, char *err,
               size_t errlen);

/* Adds a commune (INSEE code, name). STORE_CONFLICT if it exists. */
int store_commune_add(struct store *s, const char *code, const char *name);
/* Adds an enrolment secret (hash) for a commune. STORE_NOTFOUND if the
 * commune does not exist. */
int store_secret_add(struct store *s, const char *commune, const char *hash);
/* Adds an admin token (hash) for one commune, or all if commune is NULL. */
int store_admin_add(struct store *s, const char *hash, const char *commune);
/* Looks up an admin token: STORE_OK with its scope, or STORE_DENIED. */
int store_admin_auth(struct store *s, const char *hash,
                     struct store_scope *out);
/* Checks an enrolment secret (hash) before its request body is read:
 * STORE_OK if it is valid, STORE_DENIED if unknown or revoked. */
int store_secret_check(struct store *s, const char *hash);
/* Enrols agent_id with the secret whose hash is given and stores the new
 * agent token's hash; the commune comes from the secret and is written to
 * commune_out. An agent_id enrolled already is taken over only by its
 * holder: key_proven (the caller checked the agent's identity key, which
 * agent_id is derived from, docs/PROTOCOL.md), or proof_token_hash equal
 * to its current token's hash; else STORE_FORBIDDEN. STORE_DENIED for an
 * unknown or revoked secret, or a revoked agent; STORE_CONFLICT if
 * agent_id is enrolled in another commune. */
int store_enrol(struct store *s, const char *secret_hash, const char *agent_id,
                const char *hostname, const char *token_hash, int key_proven,
                const char *proof_token_hash,
                char commune_out[STORE_COMMUNE_MAX]);
/* Looks up an agent token: STORE_OK with the agent, or STORE_DENIED. */
int store_agent_auth(struct store *s, const char *token_hash,
                     struct store_agent *out);

/* Foreign agents (FusionInventory, GLPI Agent, OCS Inventory;
 * docs/INTEROP.md). Their records go to the stream of this epoch. */
#define STORE_FOREIGN_EPOCH "f0"
struct store_foreign {
	const char *source;    /* "fusioninventory", "glpi-agent", "ocs" */
	const char *device_id; /* the id the agent gives the PC */
	const char *cred_hash; /* the credential it reported with */
	json_t *content;       /* its GLPI inventory content (borrowed) */
};
/* The agent id of the PC device_id of commune that a foreign agent
 * reports: a UUID derived from both, the same at every report. */
void store_foreign_id(const char *commune, const char *device_id,
                      char out[STORE_ID_MAX]);
/* The commune of a foreign agents' credential (password hash) that is
 * valid and whose login is that commune's code: STORE_OK with commune
 * filled, else STORE_DENIED. */
int store_foreign_auth(struct store *s, const char *login, const char *hash,
                       char commune[STORE_COMMUNE_MAX]);
/* The machine of commune that f's agent reports (found by its device id,
 * created the first time) in *out, for store_ingest() with records from
 * *next_seq on in epoch STORE_FOREIGN_EPOCH; counts the credential's
 * use. When it is one PC with a mutu-agent machine (ident.h), merged
 * gets that machine's id and the report is not to be stored (else
 * merged is ""). STORE_DENIED when an admin revoked or retired it. */
/* The GLPI content of the inventory the store holds for agent_id in
 * *content (the caller's; NULL when it holds none): STORE_OK, or
 * STORE_ERR. For a partial inventory, whose missing sections are
 * unchanged. */
int store_inventory_of(struct store *s, const char *agent_id, json_t **content);
int store_foreign_machine(struct store *s, const char *commune,
                          const struct store_foreign *f,
                          struct store_agent *out, long long *next_seq,
                          char merged[STORE_ID_MAX]);
/* Applies a batch exactly once: records at or below the stream's
 * high-water mark are skipped; the others and the new mark commit in one
 * transaction. The commune of every record is the agent's. STORE_CONFLICT
 * (nothing stored) when an inventory delta's base is not the inventory the
 * server holds: res->conflict_seq names it. */
int store_ingest(struct store *s, const struct store_agent *a,
                 const struct store_batch *b, struct store_ingest_result *res);

/* Licence counts per product and commune; *out gets {"rows": [...],
 * "totals": [...]} (totals across communes, commune "*"). */
int store_licences(struct store *s, const struct store_query *q, json_t **out);
/* Machines (agents) with their last contact and their state (active,
 * silent, revoked, retired: docs/LICENCES.md, "Lifecycle"), those of
 * q->state only when it is set; *out gets an array. */
int store_machines(struct store *s, const struct store_query *q, json_t **out);
/* One machine by agent id or host name, with its software and GLPI
 * document. STORE_NOTFOUND, or STORE_CONFLICT (with the candidates in
 * *out) when a host name is ambiguous. */
int store_machine(struct store *s, const struct store_query *q,
                  const char *id_or_host, json_t **out);
/* Communes; *out gets an array of {code, name, machines}. */
int store_communes(struct store *s, const struct store_query *q, json_t **out);
/* The fleet's state at now (Unix seconds), for /metrics: {"communes":
 * [{commune, active, silent_7d, silent_30d, never, revoked,
 * retired, records_lost, clock_offset_s, last_seen (Unix s)}],
 * "database_bytes"}. Every commune; each machine in one state. */
int store_fleet(struct store *s, long long now, json_t **out);

/* Appends to the audit log (append-only): who (admin token id, 0 for the
 * server itself), which commune ("" for none), what, and a detail. */
int store_audit(struct store *s, long long actor, const char *commune,
                const char *action, const char *detail);

/* Who may call an admin operation (store_admin_caller()). */
enum store_caller {
	CALLER_ANY,    /* any admin token, read-only ones included */
	CALLER_WRITER, /* a token that is not read-only */
	CALLER_INTER,  /* a writable intercommunal token */
	CALLER_SERVER, /* the server itself (housekeeping), never a token */
};

/* Licence administration; see enum store_admin_op. in may be NULL.
 * STORE_FORBIDDEN when the scope does not allow the operation (its
 * caller in the operation table, then the finer scope of the objects
 * named); STORE_NOCOMMUNE when in names a commune that does not exist. */
int store_admin(struct store *s, enum store_admin_op op,
                const struct store_scope *sc, json_t *in, json_t **out);
/* Who may call op, from the store's table of operations: the API
 * refuses a token before reading the body from it. */
enum store_caller store_admin_caller(enum store_admin_op op);
/* Licence reports over the query's window (docs/LICENCES.md). */
int store_report(struct store *s, enum store_report kind,
                 const struct store_query *q, json_t **out);
/* /healthz: STORE_OK when the database takes a committed write, else
 * STORE_ERR with the database's reason in why (read-only, full...). */
int store_health(struct store *s, char *why, size_t n);
/* Housekeeping: drops raw usage older than retention_days (the daily
 * summaries the reports read stay), and audit entries older than the
 * audit retention an intercommunal admin set (that purge audited). */
int store_maintain(struct store *s, long long now, int retention_days);
/* Computes the daily figures of usage that ingest or a change of the
 * catalogue or the pools left to compute (docs/PERFORMANCE.md, "Daily
 * figures"), oldest day first, for about budget_ms milliseconds (0: all);
 * *done (may be NULL) gets how many days. Today is left to the reports
 * that ask for it: ingest marks it all day long. Reports compute the days
 * of their window themselves; this keeps them from having to. STORE_OK or
 * STORE_ERR. */
int store_settle(struct store *s, long long budget_ms, long *done);

#endif
