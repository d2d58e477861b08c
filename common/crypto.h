/*
 * crypto: the few primitives mutu needs: random ids and tokens, SHA-256 for
 * storing secrets hashed, HMAC-SHA256 for pseudonyms, constant-time
 * comparison and wiping.
 *
 * crypto.c holds what is plain C; the three primitives that need the
 * system's cryptography (random bytes, SHA-256, HMAC-SHA256) are in a file
 * per platform: crypto_openssl.c (OpenSSL) and crypto_win.c (Windows'
 * BCrypt).
 */
#ifndef MUTU_CRYPTO_H
#define MUTU_CRYPTO_H

#include <stddef.h>

#define CRYPTO_HEX256_LEN 64 /* hex characters of a 256-bit value */
#define CRYPTO_UUID_LEN   36
#define CRYPTO_SHA256_LEN 32 /* bytes of a SHA-256 digest */

/* Fills p with n bytes from the OS CSPRNG. Returns 0, or -1. */
int crypto_random(void *p, size_t n);
/* SHA-256 of n bytes at p into md. Returns 0, or -1. */
int crypto_sha256(const void *p, size_t n, unsigned char md[CRYPTO_SHA256_LEN]);
/* HMAC-SHA256 of msg (mlen bytes) under key (klen bytes) into md.
 * Returns 0, or -1. */
int crypto_hmac_sha256(const void *key, size_t klen, const void *msg,
                       size_t mlen, unsigned char md[CRYPTO_SHA256_LEN]);

/* Writes 2n lowercase hex characters and a NUL to out (2n+1 bytes). */
void crypto_hex(const void *p, size_t n, char *out);
/* A new random 256-bit token as 64 hex characters (out: 65 bytes). */
int crypto_token(char *out);
/* A new random version-4 UUID, lowercase (out: 37 bytes). */
int crypto_uuid(char *out);
/* SHA-256 of a string, as hex (out: 65 bytes). Used to store tokens.
 * Returns 0, or -1 (out is then the empty string). */
int crypto_sha256_hex(const char *s, char *out);
/* HMAC-SHA256(key, msg) as hex (out: 65 bytes). Returns 0, or -1. */
int crypto_hmac_hex(const char *key, const char *msg, char *out);
/* Compares two strings in time independent of where they differ. */
int crypto_streq(const char *a, const char *b);
/* Wipes n bytes in a way the compiler cannot drop. */
void crypto_wipe(void *p, size_t n);

#endif
