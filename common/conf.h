/*
 * conf: table-driven configuration files (INI syntax through inih, or its
 * Windows stand-in, ini_compat.h).
 *
 * Each program describes its keys in a table of struct conf_key; conf_load()
 * fills the caller's struct through the offsets in that table. Unknown
 * keys, bad values and syntax errors are reported as "file:line: problem".
 * Keys may stand before any [section] or in a [section] named by the table.
 */
#ifndef MUTU_CONF_H
#define MUTU_CONF_H

#include <stddef.h>

enum conf_type {
	CONF_STR,  /* char array of size `size` inside the struct */
	CONF_INT,  /* int, within [min, max] */
	CONF_ENUM, /* int, index of the value in `choices` (NULL-terminated) */
};

struct conf_key {
	const char *section; /* "" for keys outside any section */
	const char *name;
	enum conf_type type;
	size_t offset;
	size_t size;                /* CONF_STR: size of the char array */
	long long min, max;         /* CONF_INT */
	const char *const *choices; /* CONF_ENUM */
};

/* Parses path into obj according to keys (terminated by a NULL name).
 * Returns 0, or -1 with a message naming file:line in err. */
int conf_load(const char *path, const struct conf_key *keys, void *obj,
              char *err, size_t errlen);
/* Refuses a file that holds secrets when others may read it: returns 0, or
 * -1 with err set. Linux (conf_unix.c): refused if world-readable or
 * world-writable. Windows (conf_win.c): refused unless its DACL lets only
 * SYSTEM, Administrators and the file's owner read or change it. */
int conf_check_private(const char *path, char *err, size_t errlen);

#endif
