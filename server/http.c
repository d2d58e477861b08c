#include "http.h"

#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "buf.h"
#include "codec.h"
#include "log.h"
#include "util.h"

struct http_server {
	struct MHD_Daemon *d;
	struct http_limits lim;
	struct http_handlers h;
	void *ctx;
	int port;
};

struct http_req {
	struct MHD_Connection *conn;
	const char *method, *path;
	struct buf body;
	struct inflater *inflater;
	size_t wire;    /* body bytes received */
	int err_status; /* set when the body was refused mid-way */
	char err_msg[160];
	void *user;
	int answered; /* reply queued at head time */
};

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

const char *
http_body(const struct http_req *r, size_t *len)
{
	*len = r->body.len;
	return r->body.data ? r->body.data : "";
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

void
http_json(struct http_reply *reply, int status, json_t *json)
{
	json_decref(reply->json);
	reply->status = status;
	reply->json = json;
}

void
http_raw(struct http_reply *reply, int status, const char *content_type,
         const char *body)
{
	json_decref(reply->json);
	reply->json = NULL;
	reply->status = status;
	reply->raw = body;
	reply->content_type = content_type;
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

static enum MHD_Result
send_reply(struct MHD_Connection *c, struct http_reply *reply)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;
	char *text = NULL, ra[32];

	if (reply->raw)
		text = strdup(reply->raw);
	else if (reply->json)
		text = json_dumps(reply->json, JSON_COMPACT);
	if (text == NULL)
		text = strdup("{}");
	if (text == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(text), text,
	                                       MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type",
	                        reply->raw ? reply->content_type
	                                   : "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (reply->retry_after >= 0) {
		snprintf(ra, sizeof(ra), "%ld", reply->retry_after);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	rc = MHD_queue_response(c, (unsigned)reply->status, resp);
	MHD_destroy_response(resp);
	json_decref(reply->json);
	reply->json = NULL;
	return rc;
}

/* Checks framing before the body: encoding, type and declared length. */
static int
check_framing(struct http_server *s, struct http_req *r,
              struct http_reply *reply)
{
	const char *enc = http_header(r, "Content-Encoding");
	const char *len = http_header(r, "Content-Length");
	long long n;

	if (enc != NULL && strcasecmp(enc, "gzip") != 0 &&
	    strcasecmp(enc, "identity") != 0) {
		http_error(reply, 415,
		           "unsupported Content-Encoding '%s'; "
		           "use gzip or identity",
		           enc);
		return -1;
	}
	if (len != NULL && util_parse_ll(len, 0, 1LL << 50, &n) == 0 &&
	    (size_t)n > s->lim.max_body) {
		http_error(reply, 413,
		           "body of %lld bytes exceeds the limit of "
		           "%zu bytes",
		           n, s->lim.max_body);
		return -1;
	}
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

static void
take_body(struct http_server *s, struct http_req *r, const char *data, size_t n)
{
	enum codec_err e;

	r->wire += n;
	if (r->err_status)
		return;
	if (r->wire > s->lim.max_body) {
		refuse_body(r, 413, "body exceeds the size limit");
		return;
	}
	if (r->inflater == NULL) {
		if (buf_add(&r->body, data, n) == -1)
			refuse_body(r, 413, "body exceeds the size limit");
		return;
	}
	if ((e = inflater_feed(r->inflater, data, n)) != CODEC_OK)
		refuse_body(r, e == CODEC_TOO_BIG ? 413 : 400,
		            codec_strerror(e));
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
	struct http_reply reply = {0, NULL, -1, NULL, NULL};
	struct http_req *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return MHD_NO;
	r->conn = c;
	r->method = method;
	r->path = url;
	buf_init(&r->body, s->lim.max_inflated);
	*con_cls = r;
	if (check_framing(s, r, &reply) == -1 ||
	    s->h.head(s->ctx, r, &reply) == -1) {
		r->answered = 1;
		log_debug("http: %d to %s %s before reading its body",
		          reply.status, method, url);
		return send_reply(c, &reply);
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
	struct http_reply reply = {0, NULL, -1, NULL, NULL};

	(void)version;
	if (r == NULL)
		return first_call(s, c, url, method, con_cls);
	if (r->answered)
		return MHD_NO; /* an early answer went out: drop the body */
	if (*size > 0) {
		take_body(s, r, data, *size);
		*size = 0;
		/* Refused bodies are drained up to twice the cap, then cut. */
		return r->wire > 2 * s->lim.max_body ? MHD_NO : MHD_YES;
	}
	finish_body(r);
	if (r->err_status)
		http_error(&reply, r->err_status, "%s", r->err_msg);
	else
		s->h.handle(s->ctx, r, &reply);
	if (reply.status == 0)
		http_error(&reply, 500, "no answer");
	return send_reply(c, &reply);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
	struct http_req *r = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (r == NULL)
		return;
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
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, s->lim.max_conns / 4 + 1,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
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
	s->h = *h;
	s->ctx = ctx;
	s->d = start_daemon(s, ai->ai_addr);
	freeaddrinfo(ai);
	if (s->d == NULL) {
		snprintf(err, errlen, "%s: cannot listen (address in use?)",
		         addr);
		free(s);
		return NULL;
	}
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
	MHD_stop_daemon(s->d);
	free(s);
}
