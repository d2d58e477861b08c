/*
 * interop: what FusionInventory, OCS Inventory and GLPI Agent speak to
 * mutu-server (docs/INTEROP.md): the OCS Inventory XML protocol, zlib
 * compressed, and GLPI Agent's JSON protocol (contact, full and partial
 * inventories), on the paths those agents use. Their inventories become
 * machines of the commune whose credential they report with (never the
 * TAG they assert), stored like mutu-agent's (store_foreign_machine(),
 * then store_ingest()).
 */
#ifndef MUTU_INTEROP_H
#define MUTU_INTEROP_H

#include <stddef.h>

#include "http.h"
#include "store.h"

/* The realm of the basic authentication challenge. */
#define INTEROP_REALM "Basic realm=\"mutu\""

struct interop_req {
	const char *content_type, *user_agent; /* headers, may be NULL */
	const char *glpi_agent_id; /* GLPI Agent's JSON protocol, or NULL */
	const char *body;          /* as received */
	size_t len;
	const char *commune;            /* of the credential */
	const char *cred_hash;          /* its password's SHA-256 hex */
	int max_day_keys, max_software; /* store_batch's bounds */
};

/* Answers one request of a foreign agent whose credential was checked:
 * the protocol's reply (zlib XML, or JSON), or 400/413/415/422 naming
 * what is wrong with the body ({"error": ...}, or the JSON protocol's
 * {"status": "error", "message": ...}), 403 with the protocol's refusal
 * for a machine an admin revoked, 503 when the store fails. */
void interop_serve(struct store *s, const struct interop_req *in,
                   struct http_reply *reply);

/* The user and password of an "Authorization: Basic" header value h
 * (RFC 7617) into user and pass (NUL-terminated): 0, or -1 when it is
 * absent, malformed or too long. */
int interop_basic(const char *h, char *user, size_t ulen, char *pass,
                  size_t plen);

/* An error answer naming the problem: the JSON protocol's {"status":
 * "error", "message": ...} when in's headers say the agent speaks it,
 * else mutu's {"error": ...}. */
void interop_error(const struct interop_req *in, struct http_reply *reply,
                   int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The protocol's refusal with status (401 asks for credentials with
 * INTEROP_REALM; 403 refuses them): the STOP reply, zlib compressed, or
 * the JSON protocol's error answer (in's headers say which; its body
 * and credential are not used). */
void interop_refuse(const struct interop_req *in, int status,
                    struct http_reply *reply);

#endif
