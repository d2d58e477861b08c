/* libFuzzer driver: dpkg's status file format. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dpkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
count(const struct dpkg_pkg *p, void *arg)
{
	size_t *n = arg;

	*n += (p->name[0] != '\0') + (p->installed_kb > 0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = 0;
	FILE *fp;

	if (size == 0)
		return 0;
	if ((fp = fmemopen((void *)(uintptr_t)data, size, "r")) == NULL)
		return 0;
	dpkg_parse_status(fp, count, &n);
	fclose(fp);
	return 0;
}
