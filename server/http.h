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
	char
	    *text; /* or a body of that type owned by the reply (http_text()) */
	size_t text_len; /* text's length when it is bytes (http_bytes()) */
	const char *authenticate;   /* WWW-Authenticate (static), or NULL */
	const char *header, *value; /* one more header, or NULL (borrowed
	                               until the reply is sent) */
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
	/* Slow clients (0: the default in parentheses). A request's headers
	 * must arrive within header_timeout_s of the connection's accept (or
	 * of the previous request's end) (10 s); its body then at
	 * min_body_rate bytes/s on average after header_timeout_s of grace
	 * (1024); the whole request within request_timeout_s of its start
	 * (120 s). Past any of these the connection is cut. */
	unsigned header_timeout_s;
	unsigned request_timeout_s;
	unsigned min_body_rate;
	unsigned max_conns_per_addr; /* per client address (max_conns/16+1) */
	/* Connections kept for health checks and admins: once max_conns -
	 * reserved_conns are open, a new connection must send its headers
	 * within HTTP_RESERVED_HEADER_S and is flagged (http_reserved()) so
	 * that the API serves only them on it (max_conns/16). */
	unsigned reserved_conns;
	/* Bytes of request bodies (after inflating) and of replies not yet
	 * sent that all requests together hold in memory; a body or reply
	 * that would take the total past it is refused (503, Retry-After
	 * HTTP_BODY_RETRY_S). The first HTTP_BODY_FREE bytes of each are not
	 * counted, so that small requests pass when it is spent (0: 256 MiB).
	 * A reply is read at min_body_rate too, after header_timeout_s. */
	size_t max_body_memory;
};

#define HTTP_BODY_FREE    (64 * 1024)
#define HTTP_BODY_RETRY_S 10

#define HTTP_RESERVED_HEADER_S 2

struct http_handlers {
	/* Headers only: return 0 to read the body, or fill reply and return
	 * -1 to answer now without reading it. */
	int (*head)(void *ctx, struct http_req *r, struct http_reply *reply);
	/* The whole request: fill reply. */
	void (*handle)(void *ctx, struct http_req *r, struct http_reply *reply);
	/* Optional: told the status of every answer as it goes out, whoever
	 * made it (head, handle, or the server's own limits). */
	void (*sent)(void *ctx, struct http_req *r, int status);
};

/* Starts serving on addr ("127.0.0.1:8080", "[::1]:0", "0.0.0.0:8443").
 * Port 0 picks a free port (see http_port()). NULL on failure with err. */
struct http_server *http_start(const char *addr, const struct http_limits *lim,
                               const struct http_handlers *h, void *ctx,
                               char *err, size_t errlen);
/* What the connection limits did so far. */
struct http_stats {
	long long cut_head;  /* cut for missing the header deadline */
	long long cut_body;  /* cut for a slow body or the request deadline */
	long long cut_reply; /* cut for reading a reply too slowly */
	long long reserved;  /* connections opened in the reserved slots */
};
void http_stats(struct http_server *s, struct http_stats *out);
/* The same, from a request of the server. */
void http_req_stats(const struct http_req *r, struct http_stats *out);
/* The port actually bound. */
int http_port(const struct http_server *s);
/* Stops accepting, finishes requests in progress, frees; NULL is a no-op. */
void http_stop(struct http_server *s);

/* Request accessors. Strings live as long as the request. */
const char *http_method(const struct http_req *r);
const char *http_path(const struct http_req *r);
const char *http_header(const struct http_req *r, const char *name);
const char *http_query(const struct http_req *r, const char *name);
/* Calls cb for every query parameter in the order given, duplicates
 * included, decoded; value is NULL for a name without "=". cb returning
 * -1 stops the walk, and then so does this call with -1; else 0. */
int http_query_each(const struct http_req *r,
                    int (*cb)(void *arg, const char *name, const char *value),
                    void *arg);
const char *http_body(const struct http_req *r, size_t *len);
/* The client's numeric address ("127.0.0.2", "2001:db8::1"; an IPv4
 * address mapped in IPv6 as IPv4). */
const char *http_peer(const struct http_req *r);
/* The network the client is counted in for rate limits: its IPv4
 * address, or its IPv6 /64 ("2001:db8:0:1::/64"). */
const char *http_peer_net(const struct http_req *r);
/* True when the request came on a reserved connection (see
 * http_limits.reserved_conns): the server is near its connection limit. */
int http_reserved(const struct http_req *r);
/* From the head handler: lowers this request's body caps, on the wire
 * and once inflated, to max bytes (413 past it, whether the body declares
 * a Content-Length or comes chunked). */
void http_limit_body(struct http_req *r, size_t max);
/* Per-request state for the API, freed with free() after the request. */
void *http_user(const struct http_req *r);
void http_set_user(struct http_req *r, void *p);

/* Sets the reply's status and JSON body (taking the reference). */
void http_json(struct http_reply *reply, int status, json_t *json);
/* Sets a non-JSON reply; body must outlive the server (static data). */
void http_raw(struct http_reply *reply, int status, const char *content_type,
              const char *body);
/* Sets a non-JSON reply whose body the reply takes (free()d after it is
 * sent; NULL: 503 "out of memory"). */
void http_text(struct http_reply *reply, int status, const char *content_type,
               char *body);
/* The same for len bytes that may hold NULs (a compressed body). */
void http_bytes(struct http_reply *reply, int status, const char *content_type,
                char *body, size_t len);
/* Sets an error reply: {"error": message}. */
void http_error(struct http_reply *reply, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
