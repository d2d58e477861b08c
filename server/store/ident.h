/*
 * ident: what tells one PC from another whichever agent reports it
 * (mutu-agent, FusionInventory, GLPI Agent, OCS Inventory), read from its
 * GLPI inventory, and the rule that says two inventories are one PC
 * (docs/INTEROP.md, "One PC, two agents"). No I/O, no allocation.
 */
#ifndef MUTU_IDENT_H
#define MUTU_IDENT_H

#include <jansson.h>

#define IDENT_MACS 16 /* MAC addresses kept per machine */

struct ident {
	char uuid[40];      /* SMBIOS system UUID, lowercase; "" unknown */
	char serial[64];    /* BIOS serial number; "" unknown or filler */
	char hostname[256]; /* as reported */
	char macs[IDENT_MACS * 18]; /* sorted "aa:bb:..,..", "" none */
};

/* Fills out from a GLPI inventory's content object (hardware.uuid,
 * bios.ssn, hardware.name, networks[].mac). Placeholder values that
 * firmware ships (all zeros, "To be filled by O.E.M.", ...) and the
 * null and broadcast MACs count as unknown. */
void ident_from_glpi(json_t *content, struct ident *out);

/* Whether a and b are one PC: the same system UUID when both have one
 * (different ones: two PCs); else the same host name (any case) and
 * then the same serial when both have one, else a MAC in common. */
int ident_same(const struct ident *a, const struct ident *b);

#endif
