/*
 * crypto: the portable part of crypto.h (hex, tokens, UUIDs, comparison,
 * wiping); random bytes and digests come from the platform file.
 */
#include "crypto.h"

#include <string.h>

void
crypto_hex(const void *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[s[i] >> 4];
		out[2 * i + 1] = digits[s[i] & 15];
	}
	out[2 * n] = '\0';
}

int
crypto_token(char *out)
{
	unsigned char raw[32];

	if (crypto_random(raw, sizeof(raw)) == -1)
		return -1;
	crypto_hex(raw, sizeof(raw), out);
	crypto_wipe(raw, sizeof(raw));
	return 0;
}

int
crypto_uuid(char *out)
{
	unsigned char u[16];
	char hex[33];

	if (crypto_random(u, sizeof(u)) == -1)
		return -1;
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	crypto_hex(u, sizeof(u), hex);
	memcpy(out, hex, 8);
	out[8] = '-';
	memcpy(out + 9, hex + 8, 4);
	out[13] = '-';
	memcpy(out + 14, hex + 12, 4);
	out[18] = '-';
	memcpy(out + 19, hex + 16, 4);
	out[23] = '-';
	memcpy(out + 24, hex + 20, 12);
	out[36] = '\0';
	return 0;
}

int
crypto_sha256_hex(const char *s, char *out)
{
	unsigned char md[CRYPTO_SHA256_LEN];

	if (crypto_sha256(s, strlen(s), md) == -1) {
		out[0] = '\0';
		return -1;
	}
	crypto_hex(md, sizeof(md), out);
	return 0;
}

int
crypto_hmac_hex(const char *key, const char *msg, char *out)
{
	unsigned char md[CRYPTO_SHA256_LEN];

	if (crypto_hmac_sha256(key, strlen(key), msg, strlen(msg), md) == -1)
		return -1;
	crypto_hex(md, sizeof(md), out);
	return 0;
}

/* The difference is gathered over every byte through a volatile, so that
 * neither the loop nor its length depend on where the strings differ. */
int
crypto_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	volatile unsigned char d = 0;

	if (la != lb)
		return 0;
	for (i = 0; i < la; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* memset called through a volatile pointer: the compiler cannot know the
 * callee, so it cannot drop the store as dead (OpenSSL's OPENSSL_cleanse
 * does the same). */
static void *(*const volatile wipe_memset)(void *, int, size_t) = memset;

void
crypto_wipe(void *p, size_t n)
{
	wipe_memset(p, 0, n);
}
