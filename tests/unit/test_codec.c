/* Unit tests: gzip round trips and bounded, streaming decompression. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"

static void
fill_text(char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = "mutu licence usage "[(i * 7 + i / 13) % 19];
}

static void
test_roundtrip(void **state)
{
	struct buf gz, out;
	char *in = malloc(300000);

	(void)state;
	fill_text(in, 300000);
	buf_init(&gz, 1 << 20);
	buf_init(&out, 1 << 20);
	assert_int_equal(codec_gzip(in, 300000, 6, &gz), 0);
	assert_true(gz.len < 300000 / 5);
	assert_int_equal(codec_gunzip(gz.data, gz.len, 0, &out), CODEC_OK);
	assert_int_equal(out.len, 300000);
	assert_memory_equal(out.data, in, 300000);
	buf_free(&gz);
	buf_free(&out);
	free(in);
}

static void
test_streaming_one_byte_at_a_time(void **state)
{
	struct buf gz, out;
	struct inflater *z;
	char in[5000];
	size_t i;

	(void)state;
	fill_text(in, sizeof(in));
	buf_init(&gz, 1 << 20);
	buf_init(&out, 1 << 20);
	assert_int_equal(codec_gzip(in, sizeof(in), 9, &gz), 0);
	z = inflater_new(&out, 0);
	assert_non_null(z);
	for (i = 0; i < gz.len; i++)
		assert_int_equal(inflater_feed(z, gz.data + i, 1), CODEC_OK);
	assert_int_equal(inflater_finish(z), CODEC_OK);
	assert_int_equal(out.len, sizeof(in));
	assert_memory_equal(out.data, in, sizeof(in));
	inflater_free(z);
	buf_free(&gz);
	buf_free(&out);
}

/* 64 MiB of zeros compress to about 64 KiB: inflation must stop at the
 * cap without ever holding more than the cap. */
static void
test_bomb_stops_at_cap(void **state)
{
	size_t n = 64u << 20;
	char *zeros = calloc(1, n);
	struct buf gz, out;

	(void)state;
	buf_init(&gz, 4 << 20);
	assert_int_equal(codec_gzip(zeros, n, 9, &gz), 0);
	free(zeros);
	assert_true(gz.len < 200000);
	buf_init(&out, 1 << 20);
	assert_int_equal(codec_gunzip(gz.data, gz.len, 0, &out), CODEC_TOO_BIG);
	assert_true(out.len <= (1u << 20));
	buf_free(&out);
	/* Same bomb under a large cap but a ratio limit of 100. */
	buf_init(&out, 256u << 20);
	assert_int_equal(codec_gunzip(gz.data, gz.len, 100, &out),
	                 CODEC_TOO_BIG);
	assert_true(out.len < (32u << 20));
	buf_free(&out);
	buf_free(&gz);
}

static void
test_corrupt_truncated_trailing(void **state)
{
	struct buf gz, out, bad;
	char in[2000];

	(void)state;
	fill_text(in, sizeof(in));
	buf_init(&gz, 1 << 20);
	assert_int_equal(codec_gzip(in, sizeof(in), 6, &gz), 0);

	buf_init(&out, 1 << 20);
	assert_int_equal(codec_gunzip("this is not gzip", 16, 0, &out),
	                 CODEC_CORRUPT);
	buf_free(&out);

	buf_init(&out, 1 << 20);
	assert_int_equal(codec_gunzip(gz.data, gz.len - 10, 0, &out),
	                 CODEC_TRUNCATED);
	buf_free(&out);

	buf_init(&bad, 1 << 20);
	buf_add(&bad, gz.data, gz.len);
	buf_add(&bad, "junk", 4);
	buf_init(&out, 1 << 20);
	assert_int_equal(codec_gunzip(bad.data, bad.len, 0, &out),
	                 CODEC_CORRUPT);
	buf_free(&out);

	/* A flipped byte in the deflate stream or CRC is caught. */
	bad.data[gz.len - 6] ^= 0x55;
	buf_init(&out, 1 << 20);
	assert_int_equal(codec_gunzip(bad.data, gz.len, 0, &out),
	                 CODEC_CORRUPT);
	buf_free(&out);
	buf_free(&bad);
	buf_free(&gz);
}

static void
test_buf_cap(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_adds(&b, "0123456789"), 0);
	assert_int_equal(buf_adds(&b, "x"), -1);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "0123456789");
	buf_reset(&b);
	assert_int_equal(buf_printf(&b, "%d-%s", 42, "abc"), 0);
	assert_string_equal(b.data, "42-abc");
	assert_int_equal(buf_printf(&b, "%s", "too long now"), -1);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_streaming_one_byte_at_a_time),
	    cmocka_unit_test(test_bomb_stops_at_cap),
	    cmocka_unit_test(test_corrupt_truncated_trailing),
	    cmocka_unit_test(test_buf_cap),
	};
	return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
