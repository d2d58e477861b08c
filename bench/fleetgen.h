/*
 * fleetgen: a deterministic fleet of commune PCs (docs/PERFORMANCE.md,
 * "Fleet generator"). Every machine is a pure function of (seed, commune,
 * machine): the same arguments give the same software, the same usage and
 * the same clock error on every run and in any thread order.
 *
 * A machine is Windows-like (display names such as "Microsoft Office
 * Professional Plus 2019", so the server's normalisation is exercised) or
 * Debian-like (package names); it uses some of what it has installed on
 * working days (weekdays, fewer in August and at Christmas), some machines
 * are switched off for a stretch, some have a clock that is wrong by an
 * hour to a year. Days before the last one arrive as "usage_day" records
 * (the agent's daily folding), the last day as "usage" sessions.
 */
#ifndef MUTU_FLEETGEN_H
#define MUTU_FLEETGEN_H

#include <stddef.h>

#define FLEETGEN_MAX_SW 48

struct fleetgen_params {
	unsigned long long seed;
	int communes, machines, days; /* machines per commune */
	long long today;              /* Unix day number of "today" (UTC) */
};

struct fleetgen_sw {
	const char *name, *publisher, *version, *exe;
	int used; /* this machine runs it */
};

struct fleetgen_machine {
	int commune, index;
	char code[8];      /* the commune's INSEE-like code */
	char hostname[32]; /* e.g. "29004-PC017" */
	int windows;
	long long clock_error; /* seconds the machine's clock is ahead */
	int off_from, off_len; /* days [from, from + len) switched off */
	struct fleetgen_sw sw[FLEETGEN_MAX_SW];
	size_t nsw;
	unsigned long long rng; /* the machine's generator, after the above */
};

/* Called for each record of a machine, in creation order: type is
 * "inventory", "usage_day" or "usage"; created the machine's (possibly
 * wrong) clock at creation; body the JSON data object. Returns 0, or -1
 * to stop. */
typedef int (*fleetgen_emit)(void *arg, const char *type, long long created,
                             const char *body);

/* Per-product totals of what was generated, true time (clock errors
 * removed). */
struct fleetgen_totals {
	long long machines, records, usage_days, sessions, seconds, installs;
	long long windows, wrong_clock, switched_off;
};

/* The commune code of index c (5 digits, unique for c < 89,999). */
void fleetgen_code(int c, char out[8]);
/* Draws machine m of commune c. */
void fleetgen_machine(const struct fleetgen_params *p, int c, int m,
                      struct fleetgen_machine *out);
/* Emits machine's records (inventory first, then its days in order), adds
 * them to t (which may be NULL). 0, or -1 if emit stopped. "now" is the
 * true wall-clock time of creation for the last day's records. */
int fleetgen_records(const struct fleetgen_params *p,
                     struct fleetgen_machine *mc, long long now,
                     fleetgen_emit emit, void *arg, struct fleetgen_totals *t);

#endif
