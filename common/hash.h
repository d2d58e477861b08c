/*
 * hash: FNV-1a (Fowler, Noll, Vo), the one non-cryptographic string hash
 * of the project: table slots (the server's rate limits and load
 * shedding), the agent's derived ids on Windows, and the store's cache of
 * mapped keys. Not for anything an attacker may aim at collisions to
 * gain: a collision there only costs a slot. Pure functions, no state.
 */
#ifndef MUTU_HASH_H
#define MUTU_HASH_H

#include <stdint.h>

#define HASH_FNV64_INIT 14695981039346656037ULL

/* FNV-1a, 32 bits, of the bytes of s (its NUL excluded). */
uint32_t hash_fnv32(const char *s);
/* FNV-1a, 64 bits, of the bytes of s continuing from h: start with
 * HASH_FNV64_INIT, chain calls to hash several strings as one. */
uint64_t hash_fnv64(uint64_t h, const char *s);

#endif
