/*
 * crypto_win: the system primitives of crypto.h over Windows' BCrypt
 * (Windows 8 and later: hash objects allocated by BCrypt itself).
 *
 * mingw-w64 10 declares neither BCryptHash nor the algorithm pseudo-handles
 * (BCRYPT_SHA256_ALG_HANDLE...), so the providers are opened once, on first
 * use, through InitOnceExecuteOnce (thread-safe), and kept for the life of
 * the process. Link with -lbcrypt.
 */
#include "crypto.h"

#include <windows.h>

#include <bcrypt.h>

#define CHUNK 0x40000000u /* BCrypt takes ULONG lengths */

static INIT_ONCE providers_once = INIT_ONCE_STATIC_INIT;
static BCRYPT_ALG_HANDLE sha256_alg, hmac_alg;

static BOOL CALLBACK
open_providers(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
	(void)once, (void)param, (void)ctx;
	if (!BCRYPT_SUCCESS(BCryptOpenAlgorithmProvider(
	        &sha256_alg, BCRYPT_SHA256_ALGORITHM, NULL, 0)))
		return FALSE;
	if (!BCRYPT_SUCCESS(BCryptOpenAlgorithmProvider(
	        &hmac_alg, BCRYPT_SHA256_ALGORITHM, NULL,
	        BCRYPT_ALG_HANDLE_HMAC_FLAG))) {
		BCryptCloseAlgorithmProvider(sha256_alg, 0);
		sha256_alg = NULL;
		return FALSE;
	}
	return TRUE;
}

int
crypto_random(void *p, size_t n)
{
	unsigned char *c = p;
	ULONG k;

	while (n > 0) {
		k = n > CHUNK ? CHUNK : (ULONG)n;
		if (!BCRYPT_SUCCESS(BCryptGenRandom(
		        NULL, c, k, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
			return -1;
		c += k;
		n -= k;
	}
	return 0;
}

/* One digest: a hash object (keyed when key is not NULL), the data in
 * ULONG-sized chunks, the 32 bytes out. */
static int
digest(BCRYPT_ALG_HANDLE alg, const void *key, size_t klen, const void *p,
       size_t n, unsigned char md[CRYPTO_SHA256_LEN])
{
	BCRYPT_HASH_HANDLE h = NULL;
	const unsigned char *c = p;
	ULONG k;
	int rc = -1;

	if (klen > CHUNK)
		return -1;
	/* BCrypt's prototypes take non-const buffers it only reads. */
	if (!BCRYPT_SUCCESS(BCryptCreateHash(
	        alg, &h, NULL, 0, (PUCHAR)(ULONG_PTR)key, (ULONG)klen, 0)))
		return -1;
	while (n > 0) {
		k = n > CHUNK ? CHUNK : (ULONG)n;
		if (!BCRYPT_SUCCESS(
		        BCryptHashData(h, (PUCHAR)(ULONG_PTR)c, k, 0)))
			goto out;
		c += k;
		n -= k;
	}
	if (BCRYPT_SUCCESS(BCryptFinishHash(h, md, CRYPTO_SHA256_LEN, 0)))
		rc = 0;
out:
	BCryptDestroyHash(h);
	return rc;
}

int
crypto_sha256(const void *p, size_t n, unsigned char md[CRYPTO_SHA256_LEN])
{
	if (!InitOnceExecuteOnce(&providers_once, open_providers, NULL, NULL))
		return -1;
	return digest(sha256_alg, NULL, 0, p, n, md);
}

int
crypto_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                   unsigned char md[CRYPTO_SHA256_LEN])
{
	static const unsigned char empty[1];

	if (!InitOnceExecuteOnce(&providers_once, open_providers, NULL, NULL))
		return -1;
	/* An HMAC hash object needs a secret pointer even for an empty key. */
	return digest(hmac_alg, klen ? key : empty, klen, msg, mlen, md);
}
