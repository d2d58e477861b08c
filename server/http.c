#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "buf.h"
#include "codec.h"
#include "log.h"
#include "util.h"

/* Where a connection is in its current request, for the deadlines. */
enum conn_phase {
	C_HEAD, /* reading headers: header deadline */
	C_BODY, /* reading the body: minimum rate, request deadline */
	C_BUSY, /* handling: MHD's idle timeout only */
	C_REPLY /* sending the reply: minimum rate */
};

/* One open connection (MHD's socket context), in the server's list from
 * accept to close. The reaper cuts it (shutdown(): MHD then closes it)
 * when it misses a deadline. Fields under the server's lock. */
struct http_conn {
	struct http_conn *prev, *next;
	int fd;
	enum conn_phase phase;
	long long start_ms; /* accept, or the end of the previous request */
	long long body_ms;  /* headers complete, or reply queued */
	size_t body_bytes;  /* of the body received, or of the reply sent */
	size_t reply_len;   /* bytes of the reply (C_REPLY) */
	int reserved;       /* opened in the reserved part of the slots */
	int cut;            /* shut down by the reaper */
	char addr[INET6_ADDRSTRLEN];
	char net[INET6_ADDRSTRLEN + 4]; /* IPv4 address or IPv6 /64 */
};

struct http_server {
	struct MHD_Daemon *d;
	struct http_limits lim;
	struct http_handlers h;
	void *ctx;
	int port;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t reaper;
	int reaper_running, stopping;
	struct http_conn *conns; /* open connections */
	unsigned nconns;
	struct http_stats st;
	size_t body_held; /* body bytes counted against max_body_memory */
};

struct http_req {
	struct MHD_Connection *conn;
	const char *method, *path;
	struct buf body;
	struct inflater *inflater;
	size_t wire;     /* body bytes received */
	size_t max_body; /* wire bytes allowed: the server's cap or less */
	int err_status;  /* set when the body was refused mid-way */
	long err_retry;  /* its Retry-After, or 0 */
	size_t held;     /* bytes of it counted in srv->body_held */
	char err_msg[160];
	void *user;
	int answered; /* reply queued at head time */
	struct http_server *srv;
	struct http_conn *hc; /* its connection (NULL if untracked) */
};

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Moves the request's connection to phase (C_BODY: headers complete). */
static void
conn_phase(struct http_req *r, enum conn_phase phase)
{
	if (r->hc == NULL)
		return;
	pthread_mutex_lock(&r->srv->lock);
	r->hc->phase = phase;
	if (phase == C_BODY) {
		r->hc->body_ms = mono_ms();
		r->hc->body_bytes = 0;
	}
	pthread_mutex_unlock(&r->srv->lock);
}

const char *
http_method(const struct http_req *r)
{
	return r->method;
}

const char *
http_path(const struct http_req *r)
{
	return r->path;
}

const char *
http_header(const struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
http_query(const struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	                                   name);
}

struct query_walk {
	int (*cb)(void *, const char *, const char *);
	void *arg;
	int stopped;
};

static enum MHD_Result
query_one(void *cls, enum MHD_ValueKind kind, const char *key,
          const char *value)
{
	struct query_walk *w = cls;

	(void)kind;
	if (w->cb(w->arg, key, value) == -1) {
		w->stopped = 1;
		return MHD_NO;
	}
	return MHD_YES;
}

int
http_query_each(const struct http_req *r,
                int (*cb)(void *arg, const char *name, const char *value),
                void *arg)
{
	struct query_walk w = {cb, arg, 0};

	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_one,
	                          &w);
	return w.stopped ? -1 : 0;
}

struct nul_find {
	int found;
	char name[33];
};

/* Finds a query argument whose name or decoded value holds a NUL byte
 * ("days=3%00x" would read as "3"): its name, printable, into cls. */
static enum MHD_Result
nul_arg(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
        const char *value, size_t value_size)
{
	struct nul_find *f = cls;
	size_t i;

	(void)kind;
	if ((key == NULL || strlen(key) == key_size) &&
	    (value == NULL || strlen(value) == value_size))
		return MHD_YES;
	f->found = 1;
	for (i = 0; key && i < key_size && i < sizeof(f->name) - 1; i++)
		f->name[i] = key[i] > ' ' && key[i] < 0x7f ? key[i] : '?';
	f->name[i] = '\0';
	return MHD_NO;
}

/* 400 when a query argument holds a NUL byte. */
static int
check_query(struct http_req *r, struct http_reply *reply)
{
	struct nul_find f = {0, ""};

	MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, nul_arg,
	                            &f);
	if (!f.found)
		return 0;
	http_error(reply, 400, "query parameter '%s' holds a NUL byte", f.name);
	return -1;
}

const char *
http_body(const struct http_req *r, size_t *len)
{
	*len = r->body.len;
	return r->body.data ? r->body.data : "";
}

const char *
http_peer(const struct http_req *r)
{
	return r->hc ? r->hc->addr : "";
}

const char *
http_peer_net(const struct http_req *r)
{
	return r->hc ? r->hc->net : "";
}

int
http_reserved(const struct http_req *r)
{
	return r->hc ? r->hc->reserved : 0;
}

void
http_limit_body(struct http_req *r, size_t max)
{
	if (max < r->max_body)
		r->max_body = max;
	if (max < r->body.max)
		r->body.max = max;
}

void *
http_user(const struct http_req *r)
{
	return r->user;
}

void
http_set_user(struct http_req *r, void *p)
{
	r->user = p;
}

/* Drops the reply's body, whatever its kind. */
static void
reply_clear(struct http_reply *reply)
{
	json_decref(reply->json);
	reply->json = NULL;
	free(reply->text);
	reply->text = NULL;
	reply->text_len = 0;
	reply->raw = NULL;
	reply->authenticate = NULL;
}

void
http_json(struct http_reply *reply, int status, json_t *json)
{
	reply_clear(reply);
	reply->status = status;
	reply->json = json;
}

void
http_raw(struct http_reply *reply, int status, const char *content_type,
         const char *body)
{
	reply_clear(reply);
	reply->status = status;
	reply->raw = body;
	reply->content_type = content_type;
}

void
http_text(struct http_reply *reply, int status, const char *content_type,
          char *body)
{
	if (body == NULL) {
		http_error(reply, 503, "out of memory");
		return;
	}
	http_raw(reply, status, content_type, body);
	reply->text = body;
}

void
http_bytes(struct http_reply *reply, int status, const char *content_type,
           char *body, size_t len)
{
	http_text(reply, status, content_type, body);
	if (body != NULL)
		reply->text_len = len;
}

void
http_error(struct http_reply *reply, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_json(reply, status, json_pack("{s:s}", "error", msg));
}

static size_t body_cost(size_t cap);

/* The reply's body as text owned by the caller, or NULL (out of memory).
 * Takes it out of the reply. */
static char *
reply_body(struct http_reply *reply, size_t *len)
{
	char *text;

	*len = 0;
	if (reply->text) {
		text = reply->text;
		*len = reply->text_len;
		reply->text = NULL;
		reply->text_len = 0;
	} else if (reply->raw)
		text = strdup(reply->raw);
	else if (reply->json)
		text = json_dumps(reply->json, JSON_COMPACT);
	else
		text = strdup("{}");
	json_decref(reply->json);
	reply->json = NULL;
	if (text != NULL && *len == 0)
		*len = strlen(text);
	return text;
}

/* Counts a reply of len bytes against max_body_memory until the request
 * completes (on_completed() releases r->held), and moves the connection
 * to C_REPLY. Returns -1, counting nothing, when it would take the total
 * past the budget: a slow reader holds its reply in memory. */
static int
count_reply(struct http_req *r, size_t len)
{
	struct http_server *s = r->srv;
	size_t cost = body_cost(len);
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	if (cost > 0 && s->body_held + cost > s->lim.max_body_memory)
		rc = -1;
	else {
		s->body_held += cost;
		r->held += cost;
	}
	if (rc == 0 && r->hc) {
		r->hc->phase = C_REPLY;
		r->hc->body_ms = mono_ms();
		r->hc->body_bytes = 0;
		r->hc->reply_len = len;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* A reply's body handed to MHD block by block, so that the reaper sees
 * how much of it the client has taken. */
struct reply_src {
	struct http_server *srv;
	struct http_conn
	    *hc; /* valid while MHD reads: the connection is open */
	char *text;
	size_t len;
};

static ssize_t
reply_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct reply_src *src = cls;
	size_t n;

	if (pos >= src->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	n = src->len - pos < max ? src->len - pos : max;
	memcpy(buf, src->text + pos, n);
	if (src->hc) {
		pthread_mutex_lock(&src->srv->lock);
		src->hc->body_bytes = pos + n;
		pthread_mutex_unlock(&src->srv->lock);
	}
	return (ssize_t)n;
}

static void
reply_free(void *cls)
{
	struct reply_src *src = cls;

	free(src->text);
	free(src);
}

/* The MHD response for text (taken over, also on failure), or NULL. */
static struct MHD_Response *
reply_response(struct http_req *r, char *text, size_t len)
{
	struct MHD_Response *resp;
	struct reply_src *src;

	if ((src = malloc(sizeof(*src))) == NULL) {
		free(text);
		return NULL;
	}
	*src = (struct reply_src){r->srv, r->hc, text, len};
	resp = MHD_create_response_from_callback(len, 16 * 1024, reply_read,
	                                         src, reply_free);
	if (resp == NULL)
		reply_free(src);
	return resp;
}

static enum MHD_Result
send_reply(struct http_server *s, struct http_req *r, struct http_reply *reply)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;
	char *text, ra[32];
	size_t len;

	if ((text = reply_body(reply, &len)) == NULL)
		return MHD_NO;
	if (count_reply(r, len) == -1) {
		free(text);
		http_error(reply, 503,
		           "server is holding max_body_memory_mb = %zu MiB of "
		           "request and reply bodies; retry later",
		           s->lim.max_body_memory >> 20);
		reply->retry_after = HTTP_BODY_RETRY_S;
		if ((text = reply_body(reply, &len)) == NULL)
			return MHD_NO;
		count_reply(r, len); /* an error is under HTTP_BODY_FREE */
	}
	if (s->h.sent)
		s->h.sent(s->ctx, r, reply->status);
	if ((resp = reply_response(r, text, len)) == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type",
	                        reply->raw ? reply->content_type
	                                   : "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (reply->retry_after >= 0) {
		snprintf(ra, sizeof(ra), "%ld", reply->retry_after);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	if (reply->authenticate)
		MHD_add_response_header(resp, "WWW-Authenticate",
		                        reply->authenticate);
	if (reply->header && reply->value)
		MHD_add_response_header(resp, reply->header, reply->value);
	rc = MHD_queue_response(r->conn, (unsigned)reply->status, resp);
	MHD_destroy_response(resp);
	reply->raw = NULL;
	return rc;
}

/* 413 when the declared length is over this request's cap. A chunked
 * body declares none: take_body() counts it against the same cap. */
static int
check_length(struct http_req *r, struct http_reply *reply)
{
	const char *len = http_header(r, "Content-Length");
	long long n;

	if (len != NULL && util_parse_ll(len, 0, 1LL << 50, &n) == 0 &&
	    (size_t)n > r->max_body) {
		http_error(reply, 413,
		           "body of %lld bytes exceeds the limit of "
		           "%zu bytes",
		           n, r->max_body);
		return -1;
	}
	return 0;
}

/* Checks framing before the body: encoding, type and declared length. */
static int
check_framing(struct http_server *s, struct http_req *r,
              struct http_reply *reply)
{
	const char *enc = http_header(r, "Content-Encoding");

	if (enc != NULL && strcasecmp(enc, "gzip") != 0 &&
	    strcasecmp(enc, "identity") != 0) {
		http_error(reply, 415,
		           "unsupported Content-Encoding '%s'; "
		           "use gzip or identity",
		           enc);
		return -1;
	}
	if (check_length(r, reply) == -1)
		return -1;
	if (enc != NULL && strcasecmp(enc, "gzip") == 0 &&
	    (r->inflater = inflater_new(&r->body, s->lim.max_ratio)) == NULL) {
		http_error(reply, 503, "out of memory");
		return -1;
	}
	return 0;
}

static void
refuse_body(struct http_req *r, int status, const char *msg)
{
	if (r->err_status)
		return;
	r->err_status = status;
	util_strlcpy(r->err_msg, msg, sizeof(r->err_msg));
}

/* What a body buffer of cap bytes counts against max_body_memory: the
 * first HTTP_BODY_FREE bytes of a request are free (bounded by the
 * connection limits), so that health checks and small admin requests
 * pass while big bodies have spent the budget. */
static size_t
body_cost(size_t cap)
{
	return cap > HTTP_BODY_FREE ? cap : 0;
}

/* Sets the request's counted bytes to cost. Over the budget (and
 * growing) the body is refused with 503 and its memory released; returns
 * -1 then. Under the server's lock. */
static int
count_body(struct http_req *r, size_t cost)
{
	struct http_server *s = r->srv;
	char msg[128];

	if (cost > r->held &&
	    s->body_held - r->held + cost > s->lim.max_body_memory) {
		s->body_held -= r->held;
		r->held = 0;
		snprintf(msg, sizeof(msg),
		         "server is holding max_body_memory_mb = %zu MiB of "
		         "request bodies; retry later",
		         s->lim.max_body_memory >> 20);
		refuse_body(r, 503, msg);
		r->err_retry = HTTP_BODY_RETRY_S;
		return -1;
	}
	s->body_held = s->body_held - r->held + cost;
	r->held = cost;
	return 0;
}

/* Before taking n more wire bytes: reserves the size the body buffer
 * will grow to (it doubles), so that the budget is checked before the
 * memory is taken. An inflated body is expected to grow at the ratio seen
 * so far plus one inflater chunk; one that grows faster is caught by
 * settle_body(), which counts what the buffer really holds. */
static int
reserve_body(struct http_req *r, size_t n)
{
	struct http_server *s = r->srv;
	size_t grow = n, need, est;
	int rc;

	if (r->inflater != NULL)
		grow = n * (r->body.len / (r->wire - n + 1) + 1) + 16384;
	need =
	    grow > r->body.max - r->body.len ? r->body.max : r->body.len + grow;
	/* As buf.c's grow(). */
	est = r->body.cap ? r->body.cap : 256;
	while (est < need + 1 && est <= r->body.max)
		est *= 2;
	if (est > r->body.max + 1)
		est = r->body.max + 1;
	pthread_mutex_lock(&s->lock);
	rc = count_body(r, body_cost(est));
	pthread_mutex_unlock(&s->lock);
	if (rc == -1)
		buf_free(&r->body);
	return rc;
}

/* After taking bytes: counts what the body really holds. */
static void
settle_body(struct http_req *r)
{
	int rc;

	pthread_mutex_lock(&r->srv->lock);
	rc = count_body(r, r->err_status ? 0 : body_cost(r->body.cap));
	pthread_mutex_unlock(&r->srv->lock);
	if (rc == -1 || r->err_status)
		buf_free(&r->body);
}

static void
take_body(struct http_req *r, const char *data, size_t n)
{
	enum codec_err e;
	char msg[96];

	r->wire += n;
	if (r->hc) {
		pthread_mutex_lock(&r->srv->lock);
		r->hc->body_bytes += n;
		pthread_mutex_unlock(&r->srv->lock);
	}
	if (r->err_status)
		return;
	if (r->wire > r->max_body) {
		snprintf(msg, sizeof(msg),
		         "body exceeds the size limit of %zu bytes",
		         r->max_body);
		refuse_body(r, 413, msg);
		settle_body(r);
		return;
	}
	if (reserve_body(r, n) == -1)
		return;
	if (r->inflater == NULL) {
		if (buf_add(&r->body, data, n) == -1) {
			snprintf(msg, sizeof(msg),
			         "body exceeds the size limit of %zu bytes",
			         r->body.max);
			refuse_body(r, 413, msg);
		}
	} else if ((e = inflater_feed(r->inflater, data, n)) != CODEC_OK)
		refuse_body(r, e == CODEC_TOO_BIG ? 413 : 400,
		            codec_strerror(e));
	settle_body(r);
}

static void
finish_body(struct http_req *r)
{
	enum codec_err e;

	if (r->err_status || r->inflater == NULL)
		return;
	if ((e = inflater_finish(r->inflater)) != CODEC_OK)
		refuse_body(r, e == CODEC_TOO_BIG ? 413 : 400,
		            codec_strerror(e));
}

static enum MHD_Result
first_call(struct http_server *s, struct MHD_Connection *c, const char *url,
           const char *method, void **con_cls)
{
	struct http_reply reply = {0,    NULL, -1,   NULL, NULL,
	                           NULL, 0,    NULL, NULL, NULL};
	const union MHD_ConnectionInfo *ci;
	struct http_req *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return MHD_NO;
	r->srv = s;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	r->hc = ci ? ci->socket_context : NULL;
	conn_phase(r, C_BODY);
	r->conn = c;
	r->method = method;
	r->path = url;
	r->max_body = s->lim.max_body;
	buf_init(&r->body, s->lim.max_inflated);
	*con_cls = r;
	/* The head may lower the caps (http_limit_body()): the declared
	 * length is checked against them again. */
	if (check_query(r, &reply) == -1 || check_framing(s, r, &reply) == -1 ||
	    s->h.head(s->ctx, r, &reply) == -1 ||
	    check_length(r, &reply) == -1) {
		r->answered = 1;
		conn_phase(r, C_BUSY);
		log_debug("http: %d to %s %s before reading its body",
		          reply.status, method, url);
		return send_reply(s, r, &reply);
	}
	return MHD_YES;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
           const char *method, const char *version, const char *data,
           size_t *size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_req *r = *con_cls;
	struct http_reply reply = {0,    NULL, -1,   NULL, NULL,
	                           NULL, 0,    NULL, NULL, NULL};

	(void)version;
	if (r == NULL)
		return first_call(s, c, url, method, con_cls);
	if (r->answered)
		return MHD_NO; /* an early answer went out: drop the body */
	if (*size > 0) {
		take_body(r, data, *size);
		*size = 0;
		/* Refused bodies are drained (not kept) up to twice the
		 * server's cap, so that the client reads the answer; past it
		 * the connection is cut. */
		return r->wire > 2 * s->lim.max_body ? MHD_NO : MHD_YES;
	}
	conn_phase(r, C_BUSY);
	finish_body(r);
	if (r->err_status) {
		http_error(&reply, r->err_status, "%s", r->err_msg);
		if (r->err_retry > 0)
			reply.retry_after = r->err_retry;
	} else
		s->h.handle(s->ctx, r, &reply);
	if (reply.status == 0)
		http_error(&reply, 500, "no answer");
	return send_reply(s, r, &reply);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
	struct http_req *r = *con_cls;
	struct http_server *s = cls;

	(void)c;
	(void)toe;
	if (r == NULL)
		return;
	/* Keep-alive: the next request's header deadline starts now. */
	if (r->hc) {
		pthread_mutex_lock(&s->lock);
		r->hc->phase = C_HEAD;
		r->hc->start_ms = mono_ms();
		pthread_mutex_unlock(&s->lock);
	}
	pthread_mutex_lock(&s->lock);
	s->body_held -= r->held;
	pthread_mutex_unlock(&s->lock);
	inflater_free(r->inflater);
	buf_free(&r->body);
	free(r->user);
	free(r);
	*con_cls = NULL;
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("http: %s", msg);
}

/* The client's address as text, and the network rate limits count it
 * in: an IPv4 address (also when mapped in IPv6), or an IPv6 /64. */
static void
peer_names(const struct sockaddr *sa, struct http_conn *hc)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	struct in6_addr net;

	util_strlcpy(hc->addr, "?", sizeof(hc->addr));
	util_strlcpy(hc->net, "?", sizeof(hc->net));
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		          hc->addr, sizeof(hc->addr));
		util_strlcpy(hc->net, hc->addr, sizeof(hc->net));
		return;
	}
	if (sa->sa_family != AF_INET6)
		return;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], hc->addr,
		          sizeof(hc->addr));
		util_strlcpy(hc->net, hc->addr, sizeof(hc->net));
		return;
	}
	inet_ntop(AF_INET6, &s6->sin6_addr, hc->addr, sizeof(hc->addr));
	net = s6->sin6_addr;
	memset(net.s6_addr + 8, 0, 8);
	inet_ntop(AF_INET6, &net, hc->net, sizeof(hc->net) - 4);
	strcat(hc->net, "/64");
}

/* MHD's connection notifications: a new connection joins the list (in
 * the reserved part of the slots when the others are taken), a closed
 * one leaves it. MHD closes the socket after CLOSED, so that the reaper,
 * under the lock, only ever shuts down a socket still open. */
static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
              enum MHD_ConnectionNotificationCode code)
{
	struct http_server *s = cls;
	struct http_conn *hc = *socket_context;
	const union MHD_ConnectionInfo *ci;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (hc == NULL)
			return;
		pthread_mutex_lock(&s->lock);
		if (hc->prev)
			hc->prev->next = hc->next;
		else
			s->conns = hc->next;
		if (hc->next)
			hc->next->prev = hc->prev;
		s->nconns--;
		pthread_mutex_unlock(&s->lock);
		free(hc);
		*socket_context = NULL;
		return;
	}
	if (code != MHD_CONNECTION_NOTIFY_STARTED ||
	    (hc = calloc(1, sizeof(*hc))) == NULL)
		return;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	hc->fd = ci ? ci->connect_fd : -1;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	peer_names(ci ? ci->client_addr : NULL, hc);
	hc->phase = C_HEAD;
	hc->start_ms = mono_ms();
	pthread_mutex_lock(&s->lock);
	hc->reserved = s->nconns + s->lim.reserved_conns >= s->lim.max_conns;
	if (hc->reserved)
		s->st.reserved++;
	hc->next = s->conns;
	if (s->conns)
		s->conns->prev = hc;
	s->conns = hc;
	s->nconns++;
	pthread_mutex_unlock(&s->lock);
	*socket_context = hc;
}

/* Bytes of the reply the client has taken: those handed to MHD less
 * those still in the socket's send queue (the kernel's buffer holds up to
 * a few MiB that the client may never read). */
static size_t
reply_taken(const struct http_conn *hc)
{
	int queued = 0;

	if (hc->fd < 0 || ioctl(hc->fd, SIOCOUTQ, &queued) == -1 || queued < 0)
		return hc->body_bytes;
	return (size_t)queued < hc->body_bytes ? hc->body_bytes - queued : 0;
}

/* The deadlines the reaper enforces; what a cut connection missed. */
enum cut {
	CUT_NONE,
	CUT_HEADERS, /* headers not complete in header_timeout_s */
	CUT_REQUEST, /* request not received in request_timeout_s */
	CUT_BODY,    /* body below min_body_rate after the grace */
	CUT_REPLY    /* reply read below min_body_rate after the grace */
};
static const char *const cut_names[] = {"", "headers", "request", "body rate",
                                        "reply rate"};

/* Whether bytes, since since_ms plus grace_ms, fell below min_body_rate. */
static int
below_rate(const struct http_server *s, long long since_ms, long long grace_ms,
           size_t bytes, long long now)
{
	long long grace_end = since_ms + grace_ms;

	return now > grace_end && (long long)bytes < (now - grace_end) *
	                                                 s->lim.min_body_rate /
	                                                 1000;
}

/* Which deadline the connection missed at now, or CUT_NONE. */
static enum cut
missed(const struct http_server *s, const struct http_conn *hc, long long now)
{
	long long head_ms = (long long)s->lim.header_timeout_s * 1000;

	if (hc->reserved && head_ms > HTTP_RESERVED_HEADER_S * 1000)
		head_ms = HTTP_RESERVED_HEADER_S * 1000;
	switch (hc->phase) {
	case C_HEAD:
		return now - hc->start_ms > head_ms ? CUT_HEADERS : CUT_NONE;
	case C_BODY:
		if (now - hc->start_ms >
		    (long long)s->lim.request_timeout_s * 1000)
			return CUT_REQUEST;
		return below_rate(s, hc->body_ms, head_ms, hc->body_bytes, now)
		           ? CUT_BODY
		           : CUT_NONE;
	case C_REPLY:
		/* The same minimum rate for the client's reading. */
		return hc->body_bytes < hc->reply_len &&
		               below_rate(s, hc->body_ms, head_ms,
		                          reply_taken(hc), now)
		           ? CUT_REPLY
		           : CUT_NONE;
	default:
		return CUT_NONE;
	}
}

/* Cuts the connections past their deadlines, twice a second. */
static void *
reaper(void *arg)
{
	struct http_server *s = arg;
	struct http_conn *hc;
	struct timespec until;
	enum cut why;
	long long now;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		now = mono_ms();
		for (hc = s->conns; hc; hc = hc->next) {
			if (hc->cut || (why = missed(s, hc, now)) == CUT_NONE)
				continue;
			hc->cut = 1;
			if (why == CUT_HEADERS)
				s->st.cut_head++;
			else if (why == CUT_REPLY)
				s->st.cut_reply++;
			else
				s->st.cut_body++;
			log_debug("http: %s: cut after %lld ms (%s deadline)",
			          hc->addr, now - hc->start_ms, cut_names[why]);
			if (hc->fd >= 0)
				shutdown(hc->fd, SHUT_RDWR);
		}
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += 500 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->wake, &s->lock, &until);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

void
http_stats(struct http_server *s, struct http_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->st;
	pthread_mutex_unlock(&s->lock);
}

void
http_req_stats(const struct http_req *r, struct http_stats *out)
{
	http_stats(r->srv, out);
}

/* Splits "host:port" or "[v6]:port". */
static int
parse_addr(const char *addr, char *host, size_t hn, char *port, size_t pn)
{
	const char *colon;

	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');

		if (end == NULL || end[1] != ':' || (size_t)(end - addr) >= hn)
			return -1;
		memcpy(host, addr + 1, end - addr - 1);
		host[end - addr - 1] = '\0';
		return util_strlcpy(port, end + 2, pn);
	}
	if ((colon = strrchr(addr, ':')) == NULL ||
	    (size_t)(colon - addr) >= hn)
		return -1;
	memcpy(host, addr, colon - addr);
	host[colon - addr] = '\0';
	return util_strlcpy(port, colon + 1, pn);
}

/* TLS 1.3, and 1.2 with ECDHE and AEAD ciphers only; no compression
 * (GnuTLS, under libmicrohttpd). */
#define TLS_PRIORITIES                                                         \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:" \
	"+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:" \
	"+ECDHE-RSA:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-"         \
	"SECP384R1:"                                                           \
	"-COMP-ALL:+COMP-NULL:%SERVER_PRECEDENCE"

/* Fills the slow-client limits left at 0 (http.h). */
static void
limit_defaults(struct http_limits *l)
{
	if (l->header_timeout_s == 0)
		l->header_timeout_s = 10;
	if (l->request_timeout_s == 0)
		l->request_timeout_s = 120;
	if (l->min_body_rate == 0)
		l->min_body_rate = 1024;
	if (l->max_conns == 0)
		l->max_conns = 1024;
	if (l->max_conns_per_addr == 0)
		l->max_conns_per_addr = l->max_conns / 16 + 1;
	if (l->reserved_conns == 0)
		l->reserved_conns = l->max_conns / 16;
	if (l->reserved_conns >= l->max_conns)
		l->reserved_conns = l->max_conns - 1;
	if (l->max_body_memory == 0)
		l->max_body_memory = (size_t)256 << 20;
}

static struct MHD_Daemon *
start_daemon(struct http_server *s, const struct sockaddr *sa)
{
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem tls[] = {
	    {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)(uintptr_t)s->lim.tls_cert},
	    {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)(uintptr_t)s->lim.tls_key},
	    {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)(uintptr_t)TLS_PRIORITIES},
	    {MHD_OPTION_END, 0, NULL},
	};
	struct MHD_OptionItem none[] = {{MHD_OPTION_END, 0, NULL}};

	if (sa->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (s->lim.tls_cert)
		flags |= MHD_USE_TLS;
	return MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, sa,
	    MHD_OPTION_THREAD_POOL_SIZE, s->lim.threads,
	    MHD_OPTION_CONNECTION_TIMEOUT, s->lim.timeout_s,
	    MHD_OPTION_CONNECTION_LIMIT, s->lim.max_conns,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, s->lim.max_conns_per_addr,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s, MHD_OPTION_ARRAY,
	    s->lim.tls_cert ? tls : none, MHD_OPTION_END);
}

struct http_server *
http_start(const char *addr, const struct http_limits *lim,
           const struct http_handlers *h, void *ctx, char *err, size_t errlen)
{
	struct addrinfo hints, *ai = NULL;
	struct http_server *s;
	char host[256], port[16];
	const union MHD_DaemonInfo *info;
	pthread_condattr_t ca;
	int rc;

	if (parse_addr(addr, host, sizeof(host), port, sizeof(port)) == -1) {
		snprintf(err, errlen, "%s: expected ADDRESS:PORT", addr);
		return NULL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "%s: %s", addr, gai_strerror(rc));
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		freeaddrinfo(ai);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->lim = *lim;
	limit_defaults(&s->lim);
	s->h = *h;
	s->ctx = ctx;
	pthread_mutex_init(&s->lock, NULL);
	/* The reaper's waits are in monotonic time. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	s->d = start_daemon(s, ai->ai_addr);
	freeaddrinfo(ai);
	if (s->d == NULL) {
		snprintf(err, errlen, "%s: cannot listen (address in use?)",
		         addr);
		http_stop(s);
		return NULL;
	}
	if ((rc = pthread_create(&s->reaper, NULL, reaper, s)) != 0) {
		snprintf(err, errlen, "reaper thread: %s", strerror(rc));
		http_stop(s);
		return NULL;
	}
	s->reaper_running = 1;
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : (int)strtol(port, NULL, 10);
	return s;
}

int
http_port(const struct http_server *s)
{
	return s->port;
}

void
http_stop(struct http_server *s)
{
	if (s == NULL)
		return;
	if (s->reaper_running) {
		pthread_mutex_lock(&s->lock);
		s->stopping = 1;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->reaper, NULL);
	}
	if (s->d)
		MHD_stop_daemon(s->d);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
