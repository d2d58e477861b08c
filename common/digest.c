#include "digest.h"

#include <stdlib.h>

#include "crypto.h"

int
digest_json(const json_t *v, char out[DIGEST_HEX_LEN + 1])
{
	char *text =
	    json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	int rc;

	if (text == NULL)
		return -1;
	rc = crypto_sha256_hex(text, out);
	free(text);
	return rc;
}
