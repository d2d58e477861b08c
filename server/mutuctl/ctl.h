/*
 * ctl: what mutuctl's command files share: options, output, requests.
 */
#ifndef MUTU_CTL_H
#define MUTU_CTL_H

#include <stddef.h>

#include <jansson.h>

enum format { FMT_TABLE, FMT_JSON, FMT_CSV };

/* mutuctl's exit codes (mutuctl(1)). */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAIL = 1,        /* the server refused, or out of memory */
	CTL_EXIT_USAGE = 2,       /* bad command line, option or input file */
	CTL_EXIT_UNREACHABLE = 3, /* no answer from the server */
	CTL_EXIT_AUTH = 4,        /* 401: the token is not valid */
	CTL_EXIT_NOTFOUND = 5,    /* 404 */
};

/* The one way mutuctl dies: "mutuctl: " and the message on stderr, then
 * exit(code). */
void ctl_die(enum ctl_exit code, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));

struct ctl {
	const char *server, *token, *ca_file;
	enum format format;
	const char *commune, *product;
	int days, limit;
	json_t *opts; /* the licence commands' options: name -> string|true */
};

struct column {
	const char *title, *key;
};

/* Prints rows (an array of objects) as a table, JSON or CSV. */
void ctl_print(const struct ctl *c, json_t *rows, const struct column *cols);
/* The string value of a licence or access command's option, or NULL. */
/* Appends the report period options (--days, --from, --to, --month,
 * --year) given to q's query string. */
void ctl_period(const struct ctl *c, char *q, size_t n);
const char *ctl_opt(const struct ctl *c, const char *name);
/* Sends a request (body may be NULL) and returns the parsed answer, or
 * dies (ctl_die()) with the server's message and mutuctl's exit code. */
json_t *ctl_request(const struct ctl *c, const char *method, const char *path,
                    json_t *body);
/* Appends name=value (URL-encoded) to the query string q of size n;
 * a NULL value adds nothing. */
void ctl_param(char *q, size_t n, const char *name, const char *value);
/* Runs a licence command (catalogue, entitlements, pools, compliance,
 * reclaim, costs, usage): its exit code, or -1 if argv is none of them. */
int ctl_licence(const struct ctl *c, int argc, char **argv);

/* Runs an access command (secrets, tokens, agents revoke, audit): its
 * exit code, or -1 if argv is none of them. */
int ctl_access(const struct ctl *c, int argc, char **argv);

/* The token of --token-file path: the file's first line, refused (exit 2
 * with a message) unless it is a regular file that neither group nor
 * others may read. */
const char *ctl_token_file(const char *path);
/* The token of --token arg: copied, the argument overwritten (so that
 * /proc/PID/cmdline soon no longer shows it), and a warning on stderr,
 * once, that other local users could read it meanwhile. */
const char *ctl_token_arg(char *arg);

#endif
