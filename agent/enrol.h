/*
 * enrol: unattended deployment. Writes the server, commune, enrolment
 * secret and user key into the agent's configuration file, keeping every
 * other line, so that a script can install and enrol hundreds of PCs
 * without a secret ever appearing on a command line.
 */
#ifndef MUTU_ENROL_H
#define MUTU_ENROL_H

#include <stddef.h>

/* What enrol_configure() writes: server, commune and secret are required;
 * a NULL user_key, ca_file or proxy keeps the file's line. Borrowed. */
struct enrol_settings {
	const char *server, *commune, *secret;
	const char *user_key, *ca_file, *proxy;
};

/* Sets the given keys in the configuration file at path (created with mode
 * 0600 if missing; an existing file keeps its owner, group and mode).
 * Checks first, and writes nothing if any check fails: the server URL
 * (httpc_url_check()), the commune code, and that an existing file is
 * not readable by all users (conf_check_private()). Returns 0, or -1
 * with err. */
int enrol_configure(const char *path, const struct enrol_settings *s, char *err,
                    size_t errlen);
/* Reads a secret from path ("-" for standard input): one line, trailing
 * newline removed. Returns a new string to wipe and free, or NULL with
 * err set. */
char *enrol_read_secret(const char *path, char *err, size_t errlen);

#endif
