/*
 * foreign: the machines that FusionInventory, GLPI Agent and OCS
 * Inventory agents report (docs/INTEROP.md): the credentials they report
 * with, their rows in agents (source says which agent; no token), and the
 * merge of one PC seen through such an agent and through mutu-agent
 * (ident.h: the mutu-agent machine counts, the other is retired into it).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "engine.h"
#include "ident.h"
#include "store_sql.h"
#include "util.h"

/* Candidates for one PC compared in C (ident_same()) at most. */
#define MERGE_CANDIDATES 16

int
sq_foreign_auth(struct sq *q, const char *login, const char *hash,
                char commune[STORE_COMMUNE_MAX])
{
	struct db_stmt *st =
	    sq_get(q, "SELECT commune FROM foreign_creds WHERE hash = ?1"
	              " AND revoked = 0 AND (expires IS NULL OR expires > ?2)");
	int rc = STORE_DENIED, r;

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, hash);
	db_bind_int64(st, 2, time(NULL));
	if ((r = db_step(st)) == DB_ROW) {
		/* the login is the credential's commune: a credential of
		 * another commune is as unknown as a wrong one */
		if (strcmp(db_column_text(st, 0), login) == 0 &&
		    util_strlcpy(commune, login, STORE_COMMUNE_MAX) == 0)
			rc = STORE_OK;
	} else if (r != DB_DONE)
		rc = STORE_ERR;
	sq_put(q, st);
	return rc;
}

/* The agent id of a foreign PC: a UUID (RFC 9562 version 8) from the
 * commune and the id its agent gives it, the same at every report. */
void
store_foreign_id(const char *commune, const char *device_id,
                 char out[STORE_ID_MAX])
{
	char buf[600], h[CRYPTO_HEX256_LEN + 1];

	snprintf(buf, sizeof(buf), "mutu-foreign\n%s\n%s", commune, device_id);
	crypto_sha256_hex(buf, h);
	h[12] = '8';
	h[16] = "89ab"[(h[16] >= 'a' ? h[16] - 'a' + 10 : h[16] - '0') & 3];
	snprintf(out, STORE_ID_MAX, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8,
	         h + 12, h + 16, h + 20);
}

/* The machines in service of commune of the other kind (mutu-agent's,
 * or foreign ones not merged yet) that may be the PC id describes: the
 * same UUID or host name (an admin's revoked or retired machine is never
 * merged with, nor into). Fills ids (up to MERGE_CANDIDATES, in agent id
 * order) with those ident_same() says are it; *n gets how many. */
static int
same_pcs(struct sq *q, const char *commune, int want_mutu,
         const struct ident *id, char ids[][STORE_ID_MAX], size_t *n)
{
	struct db_stmt *st;
	struct ident other;
	int r;

	*n = 0;
	st = sq_get(
	    q, "SELECT agent_id, hostname, coalesce(hw_uuid, ''),"
	       " coalesce(serial, ''), coalesce(macs, '')"
	       " FROM agents WHERE commune = ?1 AND merged_into IS NULL"
	       " AND revoked = 0 AND retired_at IS NULL"
	       " AND CASE WHEN source = 'mutu-agent' THEN 1 ELSE 0 END = ?2"
	       " AND (hw_uuid = ?3 OR lower(hostname) = lower(?4))"
	       " ORDER BY agent_id LIMIT 64");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, commune);
	db_bind_int64(st, 2, want_mutu);
	db_bind_text(st, 3, id->uuid[0] ? id->uuid : "-");
	db_bind_text(st, 4, id->hostname);
	while ((r = db_step(st)) == DB_ROW) {
		util_strlcpy(other.hostname, db_column_text(st, 1),
		             sizeof(other.hostname));
		util_strlcpy(other.uuid, db_column_text(st, 2),
		             sizeof(other.uuid));
		util_strlcpy(other.serial, db_column_text(st, 3),
		             sizeof(other.serial));
		util_strlcpy(other.macs, db_column_text(st, 4),
		             sizeof(other.macs));
		if (*n < MERGE_CANDIDATES && ident_same(id, &other))
			util_strlcpy(ids[(*n)++], db_column_text(st, 0),
			             STORE_ID_MAX);
	}
	r = sq_done(q, r);
	sq_put(q, st);
	return r;
}

/* Retires foreign machine id into the mutu-agent machine into. */
static int
merge_into(struct sq *q, const char *id, const char *into)
{
	struct db_stmt *st =
	    sq_get(q, "UPDATE agents SET merged_into = ?2,"
	              " retired_at = coalesce(retired_at, ?3)"
	              " WHERE agent_id = ?1 AND merged_into IS NULL");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, into);
	db_bind_int64(st, 3, time(NULL));
	return sq_step_put(q, st);
}

int
sq_ident_note(struct sq *q, const char *agent_id, json_t *content)
{
	char commune[STORE_COMMUNE_MAX], ids[MERGE_CANDIDATES][STORE_ID_MAX];
	struct ident id;
	struct db_stmt *st;
	int r, mutu = 0, rc;
	size_t i, n;

	ident_from_glpi(content, &id);
	st = sq_get(q, "UPDATE agents SET hw_uuid = ?2, serial = ?3,"
	               " macs = ?4 WHERE agent_id = ?1"
	               " RETURNING commune,"
	               " CASE WHEN source = 'mutu-agent' THEN 1 ELSE 0 END,"
	               " hostname");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, agent_id);
	sq_bind_opt(st, 2, id.uuid[0] ? id.uuid : NULL);
	sq_bind_opt(st, 3, id.serial[0] ? id.serial : NULL);
	sq_bind_opt(st, 4, id.macs[0] ? id.macs : NULL);
	commune[0] = '\0';
	if ((r = db_step(st)) == DB_ROW) {
		util_strlcpy(commune, db_column_text(st, 0), sizeof(commune));
		mutu = db_column_int(st, 1);
		util_strlcpy(id.hostname, db_column_text(st, 2),
		             sizeof(id.hostname));
		r = db_step(st);
	}
	rc = sq_done(q, r);
	sq_put(q, st);
	if (rc != STORE_OK || !mutu || commune[0] == '\0')
		return rc;
	/* mutu-agent reports this PC: what foreign agents said of it is
	 * its past, no longer a machine of its own */
	if ((rc = same_pcs(q, commune, 0, &id, ids, &n)) != STORE_OK)
		return rc;
	for (i = 0; i < n && rc == STORE_OK; i++)
		rc = merge_into(q, ids[i], agent_id);
	return rc;
}

/* sq_foreign_machine()'s arguments, through sq_tx(). */
struct fm {
	const char *commune;
	const struct store_foreign *f;
	struct store_agent *out;
	long long *next_seq;
	char *merged;
};

/* A foreign PC seen for the first time: a machine of its own, or one
 * retired at once into the mutu-agent machine it is. */
static int
fm_create(struct sq *q, struct fm *m, const struct ident *id)
{
	char ids[MERGE_CANDIDATES][STORE_ID_MAX];
	long long now = time(NULL);
	struct db_stmt *st;
	size_t n;
	int rc;

	if ((rc = same_pcs(q, m->commune, 1, id, ids, &n)) != STORE_OK)
		return rc;
	if (n > 0)
		util_strlcpy(m->merged, ids[0], STORE_ID_MAX);
	st = sq_prep(q, "INSERT INTO agents(agent_id, commune, hostname,"
	                " enrolled, last_seen, source, merged_into,"
	                " retired_at) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7)");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, m->out->agent_id);
	db_bind_text(st, 2, m->commune);
	db_bind_text(st, 3, id->hostname);
	db_bind_int64(st, 4, now);
	db_bind_text(st, 5, m->f->source);
	sq_bind_opt(st, 6, n > 0 ? ids[0] : NULL);
	if (n > 0)
		db_bind_int64(st, 7, now);
	return sq_step_done(q, st);
}

/* A foreign machine merged into a mutu-agent machine an admin has since
 * revoked or retired (mutu-agent left the PC, the foreign agent stayed)
 * is a machine of its own again, unless another mutu-agent machine in
 * service is that PC (then merged into it). id: what identifies it. */
static int
unmerge_if_gone(struct sq *q, struct fm *m, const struct ident *id)
{
	char ids[MERGE_CANDIDATES][STORE_ID_MAX];
	struct db_stmt *st;
	size_t n;
	int rc;

	st = sq_prep(q, "UPDATE agents SET merged_into = NULL,"
	                " retired_at = NULL WHERE agent_id = ?1 AND revoked = 0"
	                " AND NOT EXISTS (SELECT 1 FROM agents t"
	                "  WHERE t.agent_id = ?2 AND t.revoked = 0"
	                "  AND t.retired_at IS NULL)"
	                " RETURNING agent_id");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, m->out->agent_id);
	db_bind_text(st, 2, m->merged);
	if ((rc = db_step(st)) == DB_ROW) {
		m->merged[0] = '\0';
		rc = db_step(st);
	}
	rc = sq_done(q, rc);
	db_finalize(st);
	if (rc != STORE_OK || m->merged[0])
		return rc;
	/* another mutu-agent machine in service may be this PC now */
	if ((rc = same_pcs(q, m->out->commune, 1, id, ids, &n)) != STORE_OK ||
	    n == 0)
		return rc;
	util_strlcpy(m->merged, ids[0], STORE_ID_MAX);
	return merge_into(q, m->out->agent_id, ids[0]);
}

static int
fm_run(struct sq *q, void *arg)
{
	struct fm *m = arg;
	struct ident id;
	struct db_stmt *st;
	int rc, r, found = 0, out = 0;

	ident_from_glpi(m->f->content, &id);
	if (id.hostname[0] == '\0')
		util_strlcpy(id.hostname, m->f->device_id, sizeof(id.hostname));
	m->merged[0] = '\0';
	st = sq_prep(q, "SELECT coalesce(merged_into, ''), revoked,"
	                " commune FROM agents WHERE agent_id = ?");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, m->out->agent_id);
	if ((r = db_step(st)) == DB_ROW) {
		found = 1;
		util_strlcpy(m->merged, db_column_text(st, 0), STORE_ID_MAX);
		out = db_column_int(st, 1);
		/* moved to another commune by an admin: it reports there */
		util_strlcpy(m->out->commune, db_column_text(st, 2),
		             sizeof(m->out->commune));
		r = db_step(st);
	}
	rc = sq_done(q, r);
	db_finalize(st);
	if (rc != STORE_OK)
		return rc;
	if (out)
		return STORE_DENIED; /* revoked or retired by an admin */
	if (m->merged[0] && (rc = unmerge_if_gone(q, m, &id)) != STORE_OK)
		return rc;
	if (!found && (rc = fm_create(q, m, &id)) != STORE_OK)
		return rc;
	st = sq_prep(q, "UPDATE agents SET last_seen = ?2 WHERE agent_id = ?1");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, m->out->agent_id);
	db_bind_int64(st, 2, time(NULL));
	if ((rc = sq_step_done(q, st)) != STORE_OK)
		return rc;
	st = sq_prep(q, "UPDATE foreign_creds SET uses = uses + 1,"
	                " last_used = ?2 WHERE hash = ?1");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, m->f->cred_hash);
	db_bind_int64(st, 2, time(NULL));
	if ((rc = sq_step_done(q, st)) != STORE_OK)
		return rc;
	/* the next record of its stream */
	st = sq_prep(q, "SELECT coalesce(max(hwm), 0) + 1 FROM streams"
	                " WHERE agent_id = ? AND epoch = ?");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, m->out->agent_id);
	db_bind_text(st, 2, STORE_FOREIGN_EPOCH);
	if ((r = db_step(st)) == DB_ROW) {
		*m->next_seq = db_column_int64(st, 0);
		r = db_step(st);
	}
	rc = sq_done(q, r);
	db_finalize(st);
	return rc;
}

int
sq_foreign_machine(struct sq *q, const char *commune,
                   const struct store_foreign *f, struct store_agent *out,
                   long long *next_seq, char merged[STORE_ID_MAX])
{
	struct fm m = {commune, f, out, next_seq, merged};

	memset(out, 0, sizeof(*out));
	store_foreign_id(commune, f->device_id, out->agent_id);
	util_strlcpy(out->commune, commune, sizeof(out->commune));
	*next_seq = 1;
	return sq_tx(q, 3, fm_run, &m);
}

int
sq_inventory_of(struct sq *q, const char *agent_id, json_t **content)
{
	struct db_stmt *st =
	    sq_prep(q, "SELECT inventory FROM agents WHERE agent_id = ?"
	               " AND inventory IS NOT NULL");
	json_t *doc = NULL;
	int r, rc;

	*content = NULL;
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, agent_id);
	if ((r = db_step(st)) == DB_ROW) {
		doc = json_loads(db_column_text(st, 0), 0, NULL);
		r = db_step(st);
	}
	rc = sq_done(q, r);
	db_finalize(st);
	if (rc == STORE_OK && json_is_object(json_object_get(doc, "content")))
		*content = json_incref(json_object_get(doc, "content"));
	json_decref(doc);
	return rc;
}
