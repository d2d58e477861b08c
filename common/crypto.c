#include "crypto.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

int
crypto_random(void *p, size_t n)
{
	return RAND_bytes(p, (int)n) == 1 ? 0 : -1;
}

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

void
crypto_sha256_hex(const char *s, char *out)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)s, strlen(s), md);
	crypto_hex(md, sizeof(md), out);
}

int
crypto_hmac_hex(const char *key, const char *msg, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (HMAC(EVP_sha256(), key, (int)strlen(key),
	         (const unsigned char *)msg, strlen(msg), md, &len) == NULL)
		return -1;
	crypto_hex(md, len, out);
	return 0;
}

int
crypto_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return 0;
	return CRYPTO_memcmp(a, b, la) == 0;
}

void
crypto_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}
