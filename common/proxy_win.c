/*
 * proxy_win.c: the system's proxy on Windows, as WinHTTP has it.
 *
 * First the WinHTTP default proxy ("netsh winhttp set proxy", what a
 * LocalSystem service is meant to use), then the Internet Options of the
 * account running the agent: a named proxy, or a PAC script given by URL
 * or found by WPAD auto-detection (DHCP and DNS), evaluated by WinHTTP for
 * the URL. Proxy lists ("host:port", "http=h:p;https=h:p") and bypass
 * lists ("<local>;*.example.org;10.*") follow WinHTTP's syntax.
 */
#include "proxy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <windows.h>

#include <winhttp.h>

#include "log.h"
#include "util.h"
#include "win.h"

/* The next token of *p separated by any of seps, NUL-terminated in
 * place; NULL at the end. */
static char *
next_token(char **p, const char *seps)
{
	char *t = *p + strspn(*p, seps);

	if (*t == '\0')
		return NULL;
	*p = t + strcspn(t, seps);
	if (**p != '\0')
		*(*p)++ = '\0';
	return t;
}

/* Whether host matches the glob pat ('*' any run, case-insensitive). */
static int
glob_match(const char *pat, const char *host)
{
	if (*pat == '\0')
		return *host == '\0';
	if (*pat == '*')
		return glob_match(pat + 1, host) ||
		       (*host != '\0' && glob_match(pat, host + 1));
	if (*host == '\0' || (*pat != '?' && tolower((unsigned char)*pat) !=
	                                         tolower((unsigned char)*host)))
		return 0;
	return glob_match(pat + 1, host + 1);
}

/* Whether host is in the bypass list (entries separated by ';', ',' or
 * blanks; "<local>": a name without a dot; "http://" prefixes ignored). */
static int
bypassed(const char *list, const char *host)
{
	char copy[2048], *tok, *p = copy;

	if (list == NULL || util_strlcpy(copy, list, sizeof(copy)) == -1)
		return 0;
	while ((tok = next_token(&p, "; ,\t\r\n")) != NULL) {
		if (strncasecmp(tok, "http://", 7) == 0)
			tok += 7;
		else if (strncasecmp(tok, "https://", 8) == 0)
			tok += 8;
		if (strcasecmp(tok, "<local>") == 0) {
			if (strchr(host, '.') == NULL &&
			    strchr(host, ':') == NULL)
				return 1;
		} else if (glob_match(tok, host))
			return 1;
	}
	return 0;
}

/* Picks from a WinHTTP proxy list the entry for the URL's scheme ("https="
 * or "http="), else the first one without a scheme, as "http://h:p". */
static int
pick(const char *list, const char *url, char *out, size_t n)
{
	const char *want = strncmp(url, "https:", 6) == 0 ? "https=" : "http=";
	char copy[2048], *tok, *p = copy, *plain = NULL, *mine = NULL;

	if (util_strlcpy(copy, list, sizeof(copy)) == -1)
		return -1;
	while ((tok = next_token(&p, "; \t\r\n")) != NULL) {
		if (strncasecmp(tok, want, strlen(want)) == 0 && mine == NULL)
			mine = tok + strlen(want);
		else if (strchr(tok, '=') == NULL && plain == NULL)
			plain = tok;
	}
	if ((tok = mine ? mine : plain) == NULL || *tok == '\0')
		return -1;
	if (strstr(tok, "://") != NULL)
		return util_strlcpy(out, tok, n) == -1 ? -1 : 1;
	return (size_t)snprintf(out, n, "http://%s", tok) >= n ? -1 : 1;
}

/* From a proxy list and bypass list (UTF-16, either may be NULL): 1 with
 * the proxy in out, 0 when host is bypassed, -1 when none fits. */
static int
choose(const wchar_t *wlist, const wchar_t *wbypass, const char *url,
       const char *host, char *out, size_t n)
{
	char *list = wlist ? win_utf8(wlist) : NULL;
	char *bypass = wbypass ? win_utf8(wbypass) : NULL;
	int rc = -1;

	if (list != NULL)
		rc = bypassed(bypass, host) ? 0 : pick(list, url, out, n);
	free(list);
	free(bypass);
	return rc;
}

/* Runs the PAC script (from config_url, or found by WPAD when NULL) for
 * the URL. 1 with the proxy, 0 for direct, -1 when there is none. */
static int
auto_proxy(const wchar_t *wurl, const wchar_t *config_url, const char *url,
           const char *host, char *out, size_t n)
{
	WINHTTP_AUTOPROXY_OPTIONS o;
	WINHTTP_PROXY_INFO pi;
	HINTERNET s;
	int rc = -1;

	s = WinHttpOpen(L"mutu-agent", WINHTTP_ACCESS_TYPE_NO_PROXY,
	                WINHTTP_NO_PROXY_NAME, WINHTTP_NO_PROXY_BYPASS, 0);
	if (s == NULL)
		return -1;
	WinHttpSetTimeouts(s, 5000, 5000, 5000, 5000);
	memset(&o, 0, sizeof(o));
	memset(&pi, 0, sizeof(pi));
	if (config_url) {
		o.dwFlags = WINHTTP_AUTOPROXY_CONFIG_URL;
		o.lpszAutoConfigUrl = config_url;
	} else {
		o.dwFlags = WINHTTP_AUTOPROXY_AUTO_DETECT;
		o.dwAutoDetectFlags = WINHTTP_AUTO_DETECT_TYPE_DHCP |
		                      WINHTTP_AUTO_DETECT_TYPE_DNS_A;
	}
	o.fAutoLogonIfChallenged = TRUE;
	if (WinHttpGetProxyForUrl(s, wurl, &o, &pi)) {
		rc = pi.dwAccessType == WINHTTP_ACCESS_TYPE_NAMED_PROXY
		         ? choose(pi.lpszProxy, pi.lpszProxyBypass, url, host,
		                  out, n)
		         : 0;
		GlobalFree(pi.lpszProxy);
		GlobalFree(pi.lpszProxyBypass);
	}
	WinHttpCloseHandle(s);
	return rc;
}

/* The Internet Options of the account (for a service: LocalSystem's). */
static int
ie_proxy(const wchar_t *wurl, const char *url, const char *host, char *out,
         size_t n)
{
	WINHTTP_CURRENT_USER_IE_PROXY_CONFIG ie;
	int rc = -1;

	memset(&ie, 0, sizeof(ie));
	if (!WinHttpGetIEProxyConfigForCurrentUser(&ie))
		return -1;
	if (ie.lpszProxy)
		rc =
		    choose(ie.lpszProxy, ie.lpszProxyBypass, url, host, out, n);
	if (rc == -1 && ie.lpszAutoConfigUrl)
		rc = auto_proxy(wurl, ie.lpszAutoConfigUrl, url, host, out, n);
	if (rc == -1 && ie.fAutoDetect)
		rc = auto_proxy(wurl, NULL, url, host, out, n);
	GlobalFree(ie.lpszProxy);
	GlobalFree(ie.lpszProxyBypass);
	GlobalFree(ie.lpszAutoConfigUrl);
	return rc;
}

int
proxy_find(const char *url, char *out, size_t n)
{
	WINHTTP_PROXY_INFO pi;
	char host[256];
	const char *from = "WinHTTP default";
	wchar_t *wurl;
	int rc = -1;

	if (util_url_host(url, host, sizeof(host)) == -1 ||
	    (wurl = win_wide(url)) == NULL)
		return -1;
	memset(&pi, 0, sizeof(pi));
	if (WinHttpGetDefaultProxyConfiguration(&pi)) {
		if (pi.dwAccessType == WINHTTP_ACCESS_TYPE_NAMED_PROXY)
			rc = choose(pi.lpszProxy, pi.lpszProxyBypass, url, host,
			            out, n);
		GlobalFree(pi.lpszProxy);
		GlobalFree(pi.lpszProxyBypass);
	}
	if (rc == -1) {
		from = "Internet Options";
		rc = ie_proxy(wurl, url, host, out, n);
	}
	free(wurl);
	if (rc == 1)
		log_debug("proxy for %s: %s (%s)", host, out, from);
	else if (rc == 0)
		log_debug("proxy for %s: direct (%s bypass)", host, from);
	return rc;
}
