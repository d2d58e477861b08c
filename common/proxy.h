/*
 * proxy: the proxy the operating system is configured to use for a URL,
 * as a town hall's network has it. Windows: the WinHTTP default proxy
 * (netsh winhttp set proxy: what a LocalSystem service sees), else the
 * Internet Options of the account (a named proxy, a PAC script, or WPAD
 * auto-detection). Linux has no system setting beyond the environment
 * variables (https_proxy, no_proxy...), which libcurl reads itself.
 */
#ifndef MUTU_PROXY_H
#define MUTU_PROXY_H

#include <stddef.h>

/* Finds the proxy for url. Returns 1 with a proxy URL libcurl takes
 * ("http://host:port") in out, 0 when the system says to connect directly
 * (the URL's host is in the bypass list, or WPAD found no proxy), or -1
 * when the system has no setting (the caller keeps libcurl's defaults). */
int proxy_find(const char *url, char *out, size_t n);

#endif
