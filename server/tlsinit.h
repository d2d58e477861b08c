/*
 * tlsinit: creates a private certificate authority and a server
 * certificate for a site, with OpenSSL, for `mutu-server tls-init`.
 */
#ifndef MUTU_TLSINIT_H
#define MUTU_TLSINIT_H

#include <stddef.h>

/* Writes into dir: ca.pem (to give the agents), ca.key, server.pem and
 * server.key (keys mode 0600). ECDSA P-256; the CA lasts 10 years, the
 * server certificate 2 years and names hosts, a comma-separated list of
 * DNS names and IP addresses. An existing CA in dir is reused, so that the
 * server certificate can be renewed without redeploying the agents.
 * It also writes crl.pem, the CA's (empty) revocation list, and names
 * crl_url (where the server publishes it, see tls_crl) in the server
 * certificate. Returns 0, or -1 with err. */
int tlsinit_create(const char *dir, const char *hosts, const char *crl_url,
                   char *err, size_t errlen);
/* The expiry (notAfter, Unix time) of the first certificate of a PEM
 * chain, or -1 when none can be read. */
long long tlsinit_expiry(const char *pem);

#endif
