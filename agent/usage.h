/*
 * usage: software usage metering. Samples the running processes, tracks one
 * session per (executable, user) from its first process's start to the last
 * sample that saw one of its processes, and queues a "usage" record when the
 * session closes, when it crosses midnight UTC, and when usage_cut() is
 * called (hourly in service mode, at the end of --once). Open sessions are
 * persisted in the queue so that a restart continues them. Programs named
 * as services are metered whoever runs them; when a system account runs
 * them (below min_uid), their records carry no user (a service's uptime
 * is a machine's use, never a person's).
 */
#ifndef MUTU_USAGE_H
#define MUTU_USAGE_H

#include "collect.h"
#include "queue.h"

struct usage;

/* The programs metered as services by default (mutu-agent.conf(5),
 * "services"): antivirus and backup daemons, Linux and Windows names. */
#define USAGE_SERVICES_DEFAULT                                                 \
	"clamd,freshclam,clamonacc,esets_daemon,kesl,savd,"                    \
	"sophos_threat_detector,bdsecd,bacula-fd,bareos-fd,"                   \
	"urbackupclientbackend,veeamservice,ekrn.exe,avp.exe,"                 \
	"savservice.exe,sophoshealth.exe,bdservicehost.exe,"                   \
	"epsecurityservice.exe,veeam.endpoint.service.exe,"                    \
	"urbackupclientbackend.exe,bacula-fd.exe"

struct usage_opts {
	unsigned min_uid;     /* processes of lower uids are ignored, except
	                         services' */
	int user_ids;         /* enum user_ids (config.h) */
	const char *user_key; /* HMAC key for pseudonyms; copied */
	const char *services; /* base names (comma-separated, any case) of
	                         programs metered at any uid, without a user:
	                         services; NULL or "none": none; copied */
};

/* New tracker over c and q (both borrowed, must outlive it). Loads the
 * sessions persisted by a previous run. NULL on failure. */
struct usage *usage_new(struct collect *c, struct queue *q,
                        const struct usage_opts *o);
/* Frees the tracker (the persisted sessions stay); NULL is a no-op. */
void usage_free(struct usage *u);
/* Takes one sample at wall time now: opens sessions for new programs,
 * closes those whose processes are gone, in one transaction with their
 * records. Returns the number of records queued, or -1. */
int usage_sample(struct usage *u, long long now);
/* Queues a record for the elapsed part of every open session, up to its
 * last sample, and restarts them there. Returns records queued, or -1. */
int usage_cut(struct usage *u);
/* Persists the open sessions (at shutdown). Returns 0, or -1. */
int usage_save(struct usage *u);
/* Number of open sessions. */
size_t usage_open_count(const struct usage *u);

#endif
