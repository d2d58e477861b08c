/*
 * httpc: the HTTP client of the agent and mutuctl, over libcurl.
 *
 * One handle keeps its connection alive between requests. Redirects are
 * never followed, only http and https are allowed, and the response body
 * is capped. A CA file, when given, replaces the system trust store.
 * The proxy is the configured one, else the system's (proxy.h).
 */
#ifndef MUTU_HTTPC_H
#define MUTU_HTTPC_H

#include <signal.h>
#include <stddef.h>

#include "buf.h"

struct httpc;

struct httpc_req {
	const char *method; /* "GET" or "POST" */
	const char *url;
	const char *token;            /* sent as "Authorization: Bearer" */
	const char *content_type;     /* POST only */
	const char *content_encoding; /* NULL, or "gzip" */
	const void *body;
	size_t body_len;
	const char *header; /* one more "Name: value" line, or NULL */
};

struct httpc_resp {
	long status;      /* HTTP status, 0 when no answer came */
	long retry_after; /* seconds from Retry-After, -1 if absent */
	struct buf body;  /* owned by the caller: buf_free() it */
	char err[256];    /* transport error, when httpc_do() fails */
};

/* New client. ca_file may be NULL (system trust store); timeout_s bounds a
 * whole request; max_body caps response bodies. NULL on failure. */
struct httpc *httpc_new(const char *ca_file, long timeout_s, size_t max_body);
/* Sends requests through proxy ("http://host:port"; "direct" for none)
 * instead of the system's proxy (proxy.h) or libcurl's environment
 * variables; NULL or "" restores those. Copied. Returns 0, or -1. */
int httpc_set_proxy(struct httpc *h, const char *proxy);
/* Performs one request. Returns 0 when an HTTP answer (any status) was
 * received, -1 on transport failure (DNS, refused, TLS, timeout) with
 * resp->err set. resp->body is initialised here. */
int httpc_do(struct httpc *h, const struct httpc_req *req,
             struct httpc_resp *resp);
/* Makes requests give up (httpc_do() fails with "aborted") as soon as
 *flag becomes non-zero, e.g. from a SIGTERM handler; flag is borrowed. */
void httpc_set_abort(struct httpc *h, const volatile sig_atomic_t *flag);
/* Calls tick(arg) about once a second while a request is in progress
 * (the agent keeps its systemd watchdog fed through a slow request). */
void httpc_set_tick(struct httpc *h, void (*tick)(void *), void *arg);
/* Checks url as libcurl itself parses it (curl_url()), so that the host
 * checked is the host connected to: https://, or plain http:// only to a
 * loopback address (127.0.0.0/8 as a literal, [::1], or "localhost",
 * which libcurl resolves itself). *loopback tells whether the host is
 * one. Returns 0, or -1 with the reason in err. */
int httpc_url_check(const char *url, int *loopback, char *err, size_t errlen);
/* Frees the client; NULL is a no-op. */
void httpc_free(struct httpc *h);
/* Closes the connection kept for reuse, if any, and frees the libcurl
 * handle until the next request (an agent at rest holds neither). */
void httpc_disconnect(struct httpc *h);

#endif
