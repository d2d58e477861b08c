/*
 * ocsxml: the XML messages of the OCS Inventory protocol that
 * FusionInventory, OCS Inventory and GLPI Agent (its first contact) send
 * (docs/INTEROP.md), read with libxml2 and turned into the GLPI inventory
 * format, section by section and field by field.
 */
#ifndef MUTU_OCSXML_H
#define MUTU_OCSXML_H

#include <stddef.h>

#include <jansson.h>

enum ocsxml_query {
	OCSXML_PROLOG,    /* "may I send?" */
	OCSXML_INVENTORY, /* a whole inventory */
	OCSXML_OTHER,     /* a query mutu does not serve (e.g. SNMP) */
};

struct ocsxml_msg {
	enum ocsxml_query query;
	char query_name[32]; /* as sent, printable */
	char deviceid[256];  /* REQUEST/DEVICEID */
	json_t *content;     /* OCSXML_INVENTORY: the GLPI content object
	                        (the caller's reference), else NULL */
};

/* Once per process, before threads: libxml2's own initialisation. */
void ocsxml_init(void);

/* Reads the XML text xml (len bytes, not necessarily NUL-terminated):
 * 0 with out filled, or -1 with err naming the problem (not XML, a
 * DOCTYPE, no REQUEST, no DEVICEID or QUERY, a DEVICEID over 255 bytes,
 * nesting past 32 levels), or -2 when out of memory. Never reads from
 * the network or expands entities. Fields the GLPI format would refuse
 * (not UTF-8, too long, out of range) are cut or left out, and software
 * entries without a name too, so that one odd field never costs the
 * inventory. */
int ocsxml_parse(const char *xml, size_t len, struct ocsxml_msg *out, char *err,
                 size_t errlen);

/* The protocol's reply carrying response ("SEND", "NO_ACCOUNT_UPDATE",
 * "STOP"), with PROLOG_FREQ when prolog_freq > 0, as XML text in a new
 * string (free()), or NULL (out of memory). */
char *ocsxml_reply(const char *response, int prolog_freq);

#endif
