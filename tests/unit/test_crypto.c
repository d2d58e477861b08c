/* Unit tests: crypto.h on each platform's primitives (OpenSSL or BCrypt):
 * SHA-256 (FIPS 180-2) and HMAC-SHA256 (RFC 4231) known answers, random
 * ids, comparison and wiping. Uses common/ only, so it cross-builds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"

static void
hex_of(const unsigned char *md, size_t n, char *out)
{
	crypto_hex(md, n, out);
}

static void
test_sha256_vectors(void **state)
{
	static const struct {
		const char *in;
		const char *hex;
	} v[] = {
	    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852"
	         "b855"},
	    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2"
	            "0015ad"},
	    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c"
	     "1"},
	};
	char out[CRYPTO_HEX256_LEN + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(crypto_sha256_hex(v[i].in, out), 0);
		assert_string_equal(out, v[i].hex);
	}
}

static void
test_sha256_million_a(void **state)
{
	unsigned char md[CRYPTO_SHA256_LEN];
	char out[CRYPTO_HEX256_LEN + 1];
	char *a = malloc(1000000);

	(void)state;
	assert_non_null(a);
	memset(a, 'a', 1000000);
	assert_int_equal(crypto_sha256(a, 1000000, md), 0);
	hex_of(md, sizeof(md), out);
	assert_string_equal(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a49"
	                         "7200e046d39ccc7112cd0");
	free(a);
}

/* RFC 4231, test cases 1 to 7 (case 5 compares the first 128 bits). */
static void
test_hmac_rfc4231(void **state)
{
	unsigned char k20b[20], k20aa[20], k25[25], k20c[20], k131[131];
	unsigned char dd[50], cd[50];
	static const char tc6[] =
	    "Test Using Larger Than Block-Size Key - Hash Key First";
	static const char tc7[] =
	    "This is a test using a larger than block-size key and a larger "
	    "than block-size data. The key needs to be hashed before being "
	    "used by the HMAC algorithm.";
	const struct {
		const void *key;
		size_t klen;
		const void *msg;
		size_t mlen;
		const char *hex;
	} v[] = {
	    {k20b, 20, "Hi There", 8,
	     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cf"
	     "f7"},
	    {"Jefe", 4, "what do ya want for nothing?", 28,
	     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec38"
	     "43"},
	    {k20aa, 20, dd, 50,
	     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565"
	     "fe"},
	    {k25, 25, cd, 50,
	     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff4672966"
	     "5b"},
	    {k20c, 20, "Test With Truncation", 20,
	     "a3b6167473100ee06e0c796c2955552b"},
	    {k131, 131, tc6, sizeof(tc6) - 1,
	     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f"
	     "54"},
	    {k131, 131, tc7, sizeof(tc7) - 1,
	     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35"
	     "e2"},
	};
	unsigned char md[CRYPTO_SHA256_LEN];
	char out[CRYPTO_HEX256_LEN + 1];
	size_t i;

	(void)state;
	memset(k20b, 0x0b, sizeof(k20b));
	memset(k20aa, 0xaa, sizeof(k20aa));
	memset(k20c, 0x0c, sizeof(k20c));
	memset(k131, 0xaa, sizeof(k131));
	for (i = 0; i < sizeof(k25); i++)
		k25[i] = (unsigned char)(i + 1);
	memset(dd, 0xdd, sizeof(dd));
	memset(cd, 0xcd, sizeof(cd));
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		memset(md, 0, sizeof(md));
		assert_int_equal(crypto_hmac_sha256(v[i].key, v[i].klen,
		                                    v[i].msg, v[i].mlen, md),
		                 0);
		hex_of(md, sizeof(md), out);
		out[strlen(v[i].hex)] = '\0';
		assert_string_equal(out, v[i].hex);
	}
}

/* The string form the agent's pseudonyms use, and the empty key. */
static void
test_hmac_hex(void **state)
{
	char out[CRYPTO_HEX256_LEN + 1];

	(void)state;
	assert_int_equal(
	    crypto_hmac_hex("Jefe", "what do ya want for nothing?", out), 0);
	assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f089d2"
	                         "739839dec58b964ec3843");
	assert_int_equal(crypto_hmac_hex("", "", out), 0);
	assert_string_equal(out, "b613679a0814d9ec772f95d778c35fc5ff1697c4937"
	                         "15653c6c712144292c5ad");
}

static int
is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strchr("0123456789abcdef", s[i]) == NULL || s[i] == '\0')
			return 0;
	return s[n] == '\0';
}

static void
test_random_ids(void **state)
{
	char t1[CRYPTO_HEX256_LEN + 1], t2[CRYPTO_HEX256_LEN + 1];
	char u1[CRYPTO_UUID_LEN + 1], u2[CRYPTO_UUID_LEN + 1];
	unsigned char big[4096];
	size_t i, zeros = 0;

	(void)state;
	assert_int_equal(crypto_token(t1), 0);
	assert_int_equal(crypto_token(t2), 0);
	assert_true(is_hex(t1, CRYPTO_HEX256_LEN));
	assert_string_not_equal(t1, t2);
	assert_int_equal(crypto_uuid(u1), 0);
	assert_int_equal(crypto_uuid(u2), 0);
	assert_int_equal(strlen(u1), CRYPTO_UUID_LEN);
	assert_string_not_equal(u1, u2);
	assert_true(u1[8] == '-' && u1[13] == '-' && u1[18] == '-' &&
	            u1[23] == '-');
	assert_int_equal(u1[14], '4');           /* version 4 */
	assert_non_null(strchr("89ab", u1[19])); /* RFC 4122 variant */
	/* 4 KiB from the CSPRNG: about 16 zero bytes expected, not 4096. */
	memset(big, 0, sizeof(big));
	assert_int_equal(crypto_random(big, sizeof(big)), 0);
	for (i = 0; i < sizeof(big); i++)
		zeros += big[i] == 0;
	assert_true(zeros < 100);
}

static void
test_streq_and_wipe(void **state)
{
	char secret[] = "s3cret-token";
	size_t i;

	(void)state;
	assert_true(crypto_streq("abc", "abc"));
	assert_true(crypto_streq("", ""));
	assert_false(crypto_streq("abc", "abd"));
	assert_false(crypto_streq("abc", "xbc"));
	assert_false(crypto_streq("abc", "abcd"));
	assert_false(crypto_streq("", "a"));
	crypto_wipe(secret, sizeof(secret));
	for (i = 0; i < sizeof(secret); i++)
		assert_int_equal(secret[i], 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha256_vectors),
	    cmocka_unit_test(test_sha256_million_a),
	    cmocka_unit_test(test_hmac_rfc4231),
	    cmocka_unit_test(test_hmac_hex),
	    cmocka_unit_test(test_random_ids),
	    cmocka_unit_test(test_streq_and_wipe),
	};
	return cmocka_run_group_tests_name("crypto", tests, NULL, NULL);
}
