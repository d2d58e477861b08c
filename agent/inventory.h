/*
 * inventory: builds the agent's GLPI inventory document and queues it.
 */
#ifndef MUTU_INVENTORY_H
#define MUTU_INVENTORY_H

#include "collect.h"
#include "queue.h"

/* Collects the inventory through c and returns the whole GLPI document
 * (deviceid, itemtype, action, content), owned by the caller, or NULL if
 * the installed software could not be read. */
json_t *inventory_build(struct collect *c, const char *agent_id);
/* Builds the inventory and queues it as one record created at now: the
 * whole document when the last complete one is older than full_every
 * seconds (or none was sent, or one was asked for), else an
 * "inventory_delta" with the sections whose digest changed since the last
 * inventory (docs/PROTOCOL.md). Returns the number of software entries,
 * or -1. */
int inventory_enqueue(struct collect *c, struct queue *q, const char *agent_id,
                      long long now, long long full_every);
/* Makes the next inventory_enqueue() send the whole document. */
int inventory_need_full(struct queue *q);

#endif
