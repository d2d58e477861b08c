/*
 * util: small helpers shared by every program: bounded string copy, number
 * parsing, time formatting, files and clocks.
 *
 * util.c is plain C; what needs the system (files written durably, clocks,
 * gmtime) is in util_unix.c and util_win.c. Paths are UTF-8 on both
 * systems; the Windows file converts them to UTF-16 at the API.
 */
#ifndef MUTU_UTIL_H
#define MUTU_UTIL_H

#include <stddef.h>
#include <stdio.h>
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
/* Breaks t down as UTC into tm (gmtime_r). Returns 0, or -1. */
int util_gmtime(time_t t, struct tm *tm);
/* Writes len bytes to path durably: a temp file (path.tmp) in the same
 * directory, created anew (a file or link left at path.tmp is removed,
 * never followed), flushed to disk, renamed over path (atomic replace), and on
 * Linux the directory fsynced. Linux: the file gets the given mode.
 * Windows: mode is ignored; the file inherits the ACL of its directory
 * (the agent's private state directory), and the rename is
 * MoveFileExW(REPLACE_EXISTING | WRITE_THROUGH). Returns 0, or -1 with
 * errno set. */
int util_write_file(const char *path, const void *data, size_t len,
                    mode_t mode);
/* fopen() of a UTF-8 path (on Windows through _wfopen). The stream is not
 * inherited by child processes. Returns NULL with errno set. */
FILE *util_fopen(const char *path, const char *mode);
/* Reads a small file (at most max bytes) into a new NUL-terminated string,
 * trailing newline removed. Returns NULL with errno set (E2BIG if larger). */
char *util_read_file(const char *path, size_t max);
/* util_read_file() of a file in a private directory (the agent's state):
 * a symbolic link (Windows: a reparse point) is refused with ELOOP
 * instead of followed. */
char *util_read_private(const char *path, size_t max);
/* fopen(path, "rb") that refuses a symbolic link or reparse point (ELOOP)
 * instead of following it. */
FILE *util_fopen_nofollow(const char *path);
/* The identity of the file at path (Linux: device and inode; Windows:
 * volume serial and file index), to notice that a path no longer names
 * the file opened earlier. Returns 0, or -1 with errno (ENOENT: gone). */
int util_file_id(const char *path, unsigned long long id[2]);
/* Whether path itself (not what it points to) is a symbolic link or a
 * reparse point. 0 if it does not exist. */
int util_is_symlink(const char *path);
/* Checks a directory the agent keeps its state in before any file in it
 * is used: it must be a directory, writable by its owner only (not group
 * or world), and owned by the user running the agent or by root; with
 * shared_ok, root may also use a directory owned by another user (root
 * enrolling for the service's user: files are then opened without
 * following links). Windows: the directory's ACL is the service's to
 * check (service_private_dir()); returns 0. Returns 0, or -1 with the
 * directory and what is wrong in err. */
int util_check_private_dir(const char *path, int shared_ok, char *err,
                           size_t errlen);
/* Whether host (a name or address, IPv6 possibly in brackets) is the
 * local machine's loopback: localhost, a dotted-quad literal in
 * 127.0.0.0/8 (not a name that starts with "127.") or ::1. The agent
 * checks its server URL with httpc_url_check() instead, on the host
 * libcurl connects to. */
int util_is_loopback(const char *host);
/* Copies the host part of an http(s) URL into out; returns 0, or -1. */
int util_url_host(const char *url, char *out, size_t n);
/* Formats the first 32 hex digits of hex (lowercase) as a UUID of
 * version 8 (RFC 9562: 122 bits of hex, version and variant set): the
 * agent_id derived from the SHA-256 of an agent's identity key. out: 37
 * bytes. Returns 0, or -1 if hex is not that. */
int util_uuid_from_hex(const char *hex, char *out, size_t n);
/* Whether s is an INSEE commune code: 5 digits, or 2A/2B and 3 digits
 * for Corsica. */
int util_valid_insee(const char *s);
/* Milliseconds on the monotonic clock, which stops while the machine is
 * asleep (Linux: CLOCK_MONOTONIC; Windows: QueryUnbiasedInterruptTime). */
long long util_mono_ms(void);
/* Milliseconds on the clock that keeps counting through suspend since the
 * machine booted (Linux: CLOCK_BOOTTIME; Windows: GetTickCount64): record
 * ages in the protocol use it. */
long long util_boot_ms(void);

#endif
