/* libFuzzer driver: the SMBIOS table as GetSystemFirmwareTable('RSMB')
 * returns it (header and table), and the bare table. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smbios.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smbios_info in;
	/* An exact-size copy: ASan sees any read past the end. */
	uint8_t *copy = malloc(size ? size : 1);

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	smbios_parse_rsmb(copy, size, &in);
	smbios_parse(copy, size, 3, 4, &in);
	free(copy);
	return 0;
}
