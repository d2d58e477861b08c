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
