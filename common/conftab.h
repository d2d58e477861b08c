/*
 * conftab: the entries of a struct conf_key table (conf.h), written once
 * for every program: each names the member of the program's settings
 * struct that a key fills, and the key is the member's name.
 */
#ifndef MUTU_CONFTAB_H
#define MUTU_CONFTAB_H

#include <stddef.h>

#include "conf.h"

/* A string key filling the char array member m of struct type T. */
#define CONFTAB_STR(T, m)                                                      \
	{                                                                      \
		"", #m, CONF_STR, offsetof(T, m), sizeof(((T *)0)->m), 0, 0,   \
		    NULL                                                       \
	}
/* An int key within [lo, hi] filling member m of T. */
#define CONFTAB_INT(T, m, lo, hi)                                              \
	{                                                                      \
		"", #m, CONF_INT, offsetof(T, m), 0, lo, hi, NULL              \
	}
/* An int key filling member m of T with the index of its value in
 * choices (NULL-terminated). */
#define CONFTAB_ENUM(T, m, choices)                                            \
	{                                                                      \
		"", #m, CONF_ENUM, offsetof(T, m), 0, 0, 0, choices            \
	}
/* The end of a table. */
#define CONFTAB_END                                                            \
	{                                                                      \
		NULL, NULL, 0, 0, 0, 0, 0, NULL                                \
	}

#endif
