#include "crashpoint.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The armed point is read from the environment once. This file-scope state
 * is, with log.c's, the only mutable global outside main(): it belongs to
 * the process (one environment, one death), not to any module instance.
 */
static struct {
	int parsed;
	char name[64];
	long left; /* passes before the crash; 0 when disarmed */
} cp;

static void
arm(void)
{
	const char *env = getenv("MUTU_CRASHPOINT"), *colon;
	char *end;
	size_t n;

	cp.parsed = 1;
	if (env == NULL || (colon = strchr(env, ':')) == NULL)
		return;
	n = (size_t)(colon - env);
	if (n == 0 || n >= sizeof(cp.name))
		return;
	memcpy(cp.name, env, n);
	cp.name[n] = '\0';
	cp.left = strtol(colon + 1, &end, 10);
	if (*end != '\0' || cp.left < 0)
		cp.left = 0;
}

void
crashpoint(const char *name)
{
	if (!cp.parsed)
		arm();
	if (cp.left == 0 || strcmp(name, cp.name) != 0)
		return;
	if (--cp.left == 0)
		_exit(137);
}
