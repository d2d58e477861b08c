/* libFuzzer driver: a batch body as it arrives from the network, through
 * bounded gzip inflation and the batch decoder. */
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "codec.h"
#include "ingest.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ingest_batch b;
	struct buf out;
	char err[256];
	const char *body = (const char *)data;
	size_t len = size;

	buf_init(&out, 4 * 1024 * 1024);
	/* Gzip-looking input goes through the inflater first. */
	if (size > 2 && data[0] == 0x1f && data[1] == 0x8b) {
		if (codec_gunzip(data, size, PROTO_MAX_RATIO, &out) != CODEC_OK) {
			buf_free(&out);
			return 0;
		}
		body = out.data ? out.data : "";
		len = out.len;
	}
	ingest_parse(body, len, "11111111-1111-4111-8111-111111111111", NULL, &b,
	             err, sizeof(err));
	ingest_free(&b);
	buf_free(&out);
	return 0;
}
