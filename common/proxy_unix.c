/*
 * proxy_unix.c: Linux has no system proxy setting of its own; libcurl
 * honours https_proxy, http_proxy, all_proxy and no_proxy itself.
 */
#include "proxy.h"

int
proxy_find(const char *url, char *out, size_t n)
{
	(void)url, (void)out, (void)n;
	return -1;
}
