/* libFuzzer driver: a foreign agent's body as it arrives (docs/INTEROP.md):
 * bounded zlib/gzip inflation when it is not XML already, the OCS XML
 * reader and its conversion to the GLPI format, then what identifies the
 * machine. */
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "codec.h"
#include "ident.h"
#include "ocsxml.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	const char *body = (const char *)data;
	struct ocsxml_msg m;
	struct ident id;
	struct buf out;
	char err[256];
	size_t len = size;

	if (!ready) {
		ocsxml_init();
		ready = 1;
	}
	buf_init(&out, 4 * 1024 * 1024);
	if (size > 0 && data[0] != '<') {
		if (codec_unzip_any(data, size, PROTO_MAX_RATIO, &out) !=
		    CODEC_OK) {
			buf_free(&out);
			return 0;
		}
		body = out.data ? out.data : "";
		len = out.len;
	}
	if (ocsxml_parse(body, len, &m, err, sizeof(err)) == 0 && m.content) {
		ident_from_glpi(m.content, &id);
		json_decref(m.content);
	}
	buf_free(&out);
	return 0;
}
