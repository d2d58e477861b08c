#include "procstat.h"

#include <stdio.h>
#include <string.h>

int
procstat_parse(const char *line, unsigned long *flags,
               unsigned long long *start)
{
	const char *p = strrchr(line, ')');

	if (p == NULL || p[1] != ' ' || p[2] == '\0')
		return -1;
	if (sscanf(
	        p + 2,
	        "%*c %*d %*d %*d %*d %*d %lu %*u %*u %*u %*u %*u %*u %*d %*d "
	        "%*d %*d %*d %*d %llu",
	        flags, start) != 2)
		return -1;
	return 0;
}

/* Length of home's prefix of path when path lies under it, else 0. */
static size_t
under(const char *path, const char *home)
{
	size_t len = strlen(home);

	while (len > 1 && home[len - 1] == '/')
		len--;
	if (len < 2 || home[0] != '/' || strncmp(path, home, len) != 0 ||
	    path[len] != '/')
		return 0;
	return len;
}

int
procstat_mask_home(char *path, const char *const *homes, size_t n)
{
	const char *slash;
	size_t i, len, cut = 0;

	for (i = 0; i < n; i++)
		if (homes[i] && (len = under(path, homes[i])) > cut)
			cut = len;
	if (cut == 0 && strncmp(path, "/home/", 6) == 0 && path[6] != '/' &&
	    path[6] != '\0' && (slash = strchr(path + 6, '/')) != NULL)
		cut = (size_t)(slash - path);
	if (cut == 0 && strncmp(path, "/root/", 6) == 0)
		cut = 5;
	if (cut == 0)
		return 0;
	path[0] = '~';
	memmove(path + 1, path + cut, strlen(path + cut) + 1);
	return 1;
}
