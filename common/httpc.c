#include "httpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "proxy.h"
#include "util.h"

struct httpc {
	CURL *curl;
	char *ca_file;
	char *proxy;         /* httpc_set_proxy(): URL or "direct"; NULL */
	char sys_proxy[512]; /* proxy_find()'s, looked up with each handle */
	int sys_found;       /* proxy_find()'s return */
	long timeout_s;
	size_t max_body;
	const volatile sig_atomic_t *abort; /* borrowed; NULL: never */
	void (*tick)(void *);
	void *tick_arg;
	long long ticked; /* monotonic ms of the last tick */
};

void
httpc_set_tick(struct httpc *h, void (*tick)(void *), void *arg)
{
	h->tick = tick;
	h->tick_arg = arg;
}

void
httpc_set_abort(struct httpc *h, const volatile sig_atomic_t *flag)
{
	h->abort = flag;
}

int
httpc_set_proxy(struct httpc *h, const char *proxy)
{
	char *p = NULL;

	if (proxy && *proxy && (p = strdup(proxy)) == NULL)
		return -1;
	free(h->proxy);
	h->proxy = p;
	return 0;
}

/* Whether host, as libcurl's URL parser gives it (IPv4 literals already
 * normalised to four decimal parts, IPv6 in brackets), is a loopback
 * address that no resolver can redirect: 127.0.0.0/8, [::1], or the
 * name "localhost", which libcurl from 7.78 on resolves to 127.0.0.1
 * and ::1 itself, without /etc/hosts or DNS (checked at run time). */
static int
loopback_literal(const char *host)
{
	const char *p = host;
	long part;
	char *end;
	int i;

	if (strcmp(host, "[::1]") == 0)
		return 1;
	if (strcasecmp(host, "localhost") == 0)
		return curl_version_info(CURLVERSION_NOW)->version_num >=
		       0x074e00;
	for (i = 0; i < 4; i++) {
		if (*p < '0' || *p > '9')
			return 0;
		part = strtol(p, &end, 10);
		if (part > 255 || end - p > 3 || (i == 0 && part != 127))
			return 0;
		p = end;
		if (i < 3 && *p++ != '.')
			return 0;
	}
	return *p == '\0';
}

int
httpc_url_check(const char *url, int *loopback, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int rc = -1;

	*loopback = 0;
	if (u == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Any scheme parses (the Windows libcurl is built with HTTP alone),
	 * so that a wrong one is named as such below. */
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) !=
	        CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(err, errlen, "not a valid URL: '%s'", url);
		goto done;
	}
	*loopback = loopback_literal(host);
	if (strcmp(scheme, "https") == 0)
		rc = 0;
	else if (strcmp(scheme, "http") != 0)
		snprintf(err, errlen, "not an http(s) URL: '%s'", url);
	else if (!*loopback)
		snprintf(err, errlen,
		         "plain http:// is allowed only to a loopback address "
		         "(127.0.0.0/8, [::1] or localhost), and '%s' would "
		         "connect to '%s'; use https://",
		         url, host);
	else
		rc = 0;
done:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/* The configured proxy wins; else the system's, as proxy_find() saw it
 * when the handle was made; else libcurl's environment variables. A
 * plain-http request to loopback never goes through a proxy: the proxy
 * would see the token in clear and is not where the request is meant to
 * go. */
static void
set_proxy(struct httpc *h, CURL *c, const char *url)
{
	char err[8];
	int loopback;

	if (strncmp(url, "http://", 7) == 0 &&
	    httpc_url_check(url, &loopback, err, sizeof(err)) == 0) {
		curl_easy_setopt(c, CURLOPT_PROXY, "");
		return;
	}
	if (h->proxy)
		curl_easy_setopt(c, CURLOPT_PROXY,
		                 strcmp(h->proxy, "direct") ? h->proxy : "");
	else if (h->sys_found >= 0)
		curl_easy_setopt(c, CURLOPT_PROXY,
		                 h->sys_found ? h->sys_proxy : "");
}

static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
            curl_off_t un)
{
	struct httpc *h = arg;
	long long now;

	(void)dt, (void)dn, (void)ut, (void)un;
	if (h->tick && (now = util_mono_ms()) - h->ticked >= 1000) {
		h->ticked = now;
		h->tick(h->tick_arg);
	}
	return h->abort && *h->abort; /* non-zero aborts the transfer */
}

struct httpc *
httpc_new(const char *ca_file, long timeout_s, size_t max_body)
{
	struct httpc *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	if (ca_file != NULL && *ca_file != '\0' &&
	    (h->ca_file = strdup(ca_file)) == NULL)
		goto fail;
	h->timeout_s = timeout_s;
	h->max_body = max_body;
	return h;
fail:
	httpc_free(h);
	return NULL;
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct httpc_resp *r = arg;
	size_t n = size * nmemb;

	if (buf_add(&r->body, p, n) == -1)
		return 0; /* aborts the transfer: body over its cap */
	return n;
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct httpc_resp *r = arg;
	size_t n = size * nmemb;
	char line[256];
	const char *v;
	long long secs;
	time_t when;

	if (n < 13 || n >= sizeof(line) || strncasecmp(p, "Retry-After:", 12))
		return n;
	memcpy(line, p, n);
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	for (v = line + 12; *v == ' ' || *v == '\t'; v++)
		;
	if (util_parse_ll(v, 0, 7 * 86400, &secs) == 0)
		r->retry_after = (long)secs;
	else if ((when = curl_getdate(v, NULL)) != -1)
		r->retry_after =
		    when > time(NULL) ? (long)(when - time(NULL)) : 0;
	return n;
}

static struct curl_slist *
make_headers(const struct httpc_req *req)
{
	struct curl_slist *l = NULL, *t;
	char line[512];

	l = curl_slist_append(l, "Accept: application/json");
	if (l && req->token) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s",
		         req->token);
		if ((t = curl_slist_append(l, line)) == NULL)
			goto fail;
		l = t;
	}
	if (l && req->content_type) {
		snprintf(line, sizeof(line), "Content-Type: %s",
		         req->content_type);
		if ((t = curl_slist_append(l, line)) == NULL)
			goto fail;
		l = t;
	}
	if (l && req->content_encoding) {
		snprintf(line, sizeof(line), "Content-Encoding: %s",
		         req->content_encoding);
		if ((t = curl_slist_append(l, line)) == NULL)
			goto fail;
		l = t;
	}
	if (l && req->header) {
		if ((t = curl_slist_append(l, req->header)) == NULL)
			goto fail;
		l = t;
	}
	/* No "Expect: 100-continue" round trip on small uploads. */
	if (l && (t = curl_slist_append(l, "Expect:")) != NULL)
		l = t;
	return l;
fail:
	curl_slist_free_all(l);
	return NULL;
}

int
httpc_do(struct httpc *h, const struct httpc_req *req, struct httpc_resp *resp)
{
	char detail[CURL_ERROR_SIZE];
	struct curl_slist *hdr;
	CURL *c;
	CURLcode rc;

	memset(resp, 0, sizeof(*resp));
	resp->retry_after = -1;
	buf_init(&resp->body, h->max_body);
	if (h->curl == NULL) {
		if ((h->curl = curl_easy_init()) == NULL) {
			snprintf(resp->err, sizeof(resp->err), "out of memory");
			return -1;
		}
		h->sys_found = h->proxy ? -1
		                        : proxy_find(req->url, h->sys_proxy,
		                                     sizeof(h->sys_proxy));
	}
	c = h->curl;
	if ((hdr = make_headers(req)) == NULL) {
		snprintf(resp->err, sizeof(resp->err), "out of memory");
		return -1;
	}
	curl_easy_reset(c);
	detail[0] = '\0';
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, h->timeout_s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
	                 h->timeout_s < 15 ? h->timeout_s : 15L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mutu/" MUTU_VERSION);
	if (h->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
	set_proxy(h, c, req->url);
	if (h->abort || h->tick) {
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
	}
	if (strcmp(req->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS,
		                 req->body ? req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		                 (curl_off_t)req->body_len);
		if (strcmp(req->method, "POST") != 0) /* PUT, DELETE */
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	}
	rc = curl_easy_perform(c);
	curl_slist_free_all(hdr);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	if (rc != CURLE_OK) {
		snprintf(resp->err, sizeof(resp->err), "%s: %s", req->url,
		         rc == CURLE_WRITE_ERROR ? "response body too large"
		         : rc == CURLE_ABORTED_BY_CALLBACK ? "aborted"
		         : detail[0]                       ? detail
		                     : curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	return 0;
}

void
httpc_disconnect(struct httpc *h)
{
	if (h == NULL || h->curl == NULL)
		return;
	curl_easy_cleanup(h->curl); /* the next request makes a new one */
	h->curl = NULL;
}

void
httpc_free(struct httpc *h)
{
	if (h == NULL)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	free(h->ca_file);
	free(h->proxy);
	free(h);
}
