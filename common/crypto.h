/*
 * crypto: the few primitives mutu needs, all from OpenSSL: random ids and
 * tokens, SHA-256 for storing secrets hashed, HMAC-SHA256 for pseudonyms,
 * constant-time comparison and wiping.
 */
#ifndef MUTU_CRYPTO_H
#define MUTU_CRYPTO_H

#include <stddef.h>

#define CRYPTO_HEX256_LEN 64 /* hex characters of a 256-bit value */
#define CRYPTO_UUID_LEN   36

/* Fills p with n bytes from the OS CSPRNG. Returns 0, or -1. */
int crypto_random(void *p, size_t n);
/* Writes 2n lowercase hex characters and a NUL to out (2n+1 bytes). */
void crypto_hex(const void *p, size_t n, char *out);
/* A new random 256-bit token as 64 hex characters (out: 65 bytes). */
int crypto_token(char *out);
/* A new random version-4 UUID, lowercase (out: 37 bytes). */
int crypto_uuid(char *out);
/* SHA-256 of a string, as hex (out: 65 bytes). Used to store tokens. */
void crypto_sha256_hex(const char *s, char *out);
/* HMAC-SHA256(key, msg) as hex (out: 65 bytes). Returns 0, or -1. */
int crypto_hmac_hex(const char *key, const char *msg, char *out);
/* Compares two strings in time independent of where they differ. */
int crypto_streq(const char *a, const char *b);
/* Wipes n bytes in a way the compiler cannot drop. */
void crypto_wipe(void *p, size_t n);

#endif
