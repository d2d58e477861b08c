/*
 * crypto_openssl: the system primitives of crypto.h over OpenSSL (Linux).
 */
#include "crypto.h"

#include <limits.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

int
crypto_random(void *p, size_t n)
{
	if (n > INT_MAX)
		return -1;
	return RAND_bytes(p, (int)n) == 1 ? 0 : -1;
}

int
crypto_sha256(const void *p, size_t n, unsigned char md[CRYPTO_SHA256_LEN])
{
	return SHA256(p, n, md) != NULL ? 0 : -1;
}

int
crypto_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                   unsigned char md[CRYPTO_SHA256_LEN])
{
	unsigned int len = 0;

	if (klen > INT_MAX)
		return -1;
	if (HMAC(EVP_sha256(), key, (int)klen, msg, mlen, md, &len) == NULL ||
	    len != CRYPTO_SHA256_LEN)
		return -1;
	return 0;
}
