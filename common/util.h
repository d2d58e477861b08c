/*
 * util: small helpers shared by every program: bounded string copy, number
 * parsing, time formatting, and durable file writes.
 */
#ifndef MUTU_UTIL_H
#define MUTU_UTIL_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* Copies src into dst of size n, always NUL-terminated. Returns -1 if src
 * did not fit (dst then holds a truncated copy), else 0. */
int util_strlcpy(char *dst, const char *src, size_t n);
/* Parses a whole decimal integer within [min, max]. Returns 0, or -1. */
int util_parse_ll(const char *s, long long min, long long max, long long *out);
/* Formats t (UTC) as "YYYY-MM-DD HH:MM:SS" (GLPI's datetime); out: 20 bytes. */
void util_datetime(time_t t, char *out, size_t n);
/* Formats t (UTC) as "YYYY-MM-DDTHH:MM:SSZ"; out: 21 bytes. */
void util_isotime(time_t t, char *out, size_t n);
/* Writes len bytes to path durably: temp file with the given mode, fsync,
 * rename, fsync of the directory. Returns 0, or -1 with errno set. */
int util_write_file(const char *path, const void *data, size_t len,
                    mode_t mode);
/* Reads a small file (at most max bytes) into a new NUL-terminated string,
 * trailing newline removed. Returns NULL with errno set (E2BIG if larger). */
char *util_read_file(const char *path, size_t max);
/* Whether host (a name or address, IPv6 possibly in brackets) is the
 * local machine's loopback: localhost, 127.0.0.0/8 or ::1. */
int util_is_loopback(const char *host);
/* Copies the host part of an http(s) URL into out; returns 0, or -1. */
int util_url_host(const char *url, char *out, size_t n);
/* Whether s is an INSEE commune code: 5 digits, or 2A/2B and 3 digits
 * for Corsica. */
int util_valid_insee(const char *s);
/* Milliseconds on the monotonic clock. */
long long util_mono_ms(void);
/* Milliseconds on the clock that keeps counting through suspend since the
 * machine booted (CLOCK_BOOTTIME): record ages in the protocol use it. */
long long util_boot_ms(void);

#endif
