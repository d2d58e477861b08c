/*
 * http: the server's HTTP layer over libmicrohttpd. It owns connections,
 * limits and body handling; api.c owns what the requests mean.
 *
 * A request is seen twice by the API: once with its headers only (head),
 * before any byte of the body is read or inflated, to authenticate and
 * refuse early; then with the whole body, inflated if it came gzipped,
 * within the configured caps (handle).
 */
#ifndef MUTU_HTTP_H
#define MUTU_HTTP_H

#include <stddef.h>

#include <jansson.h>

struct http_server;
struct http_req;

struct http_reply {
	int status;
	json_t *json;     /* body, owned by the reply (set with http_json()) */
	long retry_after; /* seconds, or -1 */
	const char *raw;  /* or a static body of another type (http_raw()) */
	const char *content_type;
};

struct http_limits {
	size_t max_body;      /* bytes on the wire (413 past it) */
	size_t max_inflated;  /* bytes after gzip (413 past it) */
	unsigned max_ratio;   /* inflated/wire bytes (413 past it) */
	unsigned threads;     /* worker threads */
	unsigned timeout_s;   /* idle connection timeout */
	unsigned max_conns;   /* concurrent connections */
	const char *tls_cert; /* PEM certificate chain, NULL for plain HTTP */
	const char *tls_key;  /* PEM private key */
};

struct http_handlers {
	/* Headers only: return 0 to read the body, or fill reply and return
	 * -1 to answer now without reading it. */
	int (*head)(void *ctx, struct http_req *r, struct http_reply *reply);
	/* The whole request: fill reply. */
	void (*handle)(void *ctx, struct http_req *r, struct http_reply *reply);
};

/* Starts serving on addr ("127.0.0.1:8080", "[::1]:0", "0.0.0.0:8443").
 * Port 0 picks a free port (see http_port()). NULL on failure with err. */
struct http_server *http_start(const char *addr, const struct http_limits *lim,
                               const struct http_handlers *h, void *ctx,
                               char *err, size_t errlen);
/* The port actually bound. */
int http_port(const struct http_server *s);
/* Stops accepting, finishes requests in progress, frees; NULL is a no-op. */
void http_stop(struct http_server *s);

/* Request accessors. Strings live as long as the request. */
const char *http_method(const struct http_req *r);
const char *http_path(const struct http_req *r);
const char *http_header(const struct http_req *r, const char *name);
const char *http_query(const struct http_req *r, const char *name);
const char *http_body(const struct http_req *r, size_t *len);
/* Per-request state for the API, freed with free() after the request. */
void *http_user(const struct http_req *r);
void http_set_user(struct http_req *r, void *p);

/* Sets the reply's status and JSON body (taking the reference). */
void http_json(struct http_reply *reply, int status, json_t *json);
/* Sets a non-JSON reply; body must outlive the server (static data). */
void http_raw(struct http_reply *reply, int status, const char *content_type,
              const char *body);
/* Sets an error reply: {"error": message}. */
void http_error(struct http_reply *reply, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
