/*
 * ctl: what mutuctl's command files share: options, output, requests.
 */
#ifndef MUTU_CTL_H
#define MUTU_CTL_H

#include <stddef.h>

#include <jansson.h>

enum format { FMT_TABLE, FMT_JSON, FMT_CSV };

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
const char *ctl_opt(const struct ctl *c, const char *name);
/* Sends a request (body may be NULL) and returns the parsed answer, or
 * exits with a message and mutuctl's exit code. */
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

#endif
