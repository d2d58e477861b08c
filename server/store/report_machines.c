/*
 * report_machines: the machines (agents) and communes listings, and one
 * machine's details with its software and last inventory document.
 */
#include "report.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* A machine not heard from for this many days is silent. */
#define SILENT_DAYS 7

static const char machine_cols[] =
    "SELECT a.agent_id, a.hostname, a.commune, a.os, a.enrolled,"
    " a.last_seen, a.inventory_at,"
    " (SELECT count(*) FROM software s WHERE s.agent_id = a.agent_id),"
    " a.clock_offset_ms,"
    " (SELECT coalesce(sum(records), 0) FROM gaps g"
    "  WHERE g.agent_id = a.agent_id AND g.reason != 'enqueue_failed'),"
    " a.usage_dropped, a.software_dropped, a.revoked, a.revoked_at,"
    " a.retired_at, a.source, a.merged_into"
    " FROM agents a";

/* Whole days since st's machine last made contact (its last batch or,
 * without one, its enrolment), or -1 when it is out of service. */
static long long
contact_days(struct db_stmt *st, long long now)
{
	long long seen =
	    db_column_int64(st, db_column_type(st, 5) == DB_NULL ? 4 : 5);

	if (db_column_type(st, 14) != DB_NULL || db_column_int64(st, 12) != 0)
		return -1;
	return now > seen ? (now - seen) / 86400 : 0;
}

/* The state of st's machine at now (docs/LICENCES.md, "Lifecycle"):
 * retired, revoked, silent (no contact for SILENT_DAYS days or more,
 * since its last batch or, without one, its enrolment: *silent_days
 * whole days, else -1), or active. */
static const char *
machine_state(struct db_stmt *st, long long now, long long *silent_days)
{
	long long days = contact_days(st, now);

	*silent_days = -1;
	if (db_column_type(st, 14) != DB_NULL)
		return "retired";
	if (db_column_int64(st, 12) != 0)
		return "revoked";
	if (days < SILENT_DAYS)
		return "active";
	*silent_days = days;
	return "silent";
}

static json_t *
machine_row(struct db_stmt *st, long long now)
{
	const char *os = db_column_text(st, 3), *state;
	long long silent, days = contact_days(st, now);
	json_t *row;
	json_t *clock = db_column_type(st, 8) == DB_NULL
	                    ? json_null()
	                    : json_real(db_column_int64(st, 8) / 1000.0);

	state = machine_state(st, now, &silent);
	row = json_pack(
	    "{s:I, s:I, s:s, s:s, s:s, s:s?, s:o, s:o, s:o, s:I, s:o, s:I,"
	    " s:s, s:o, s:o, s:o, s:o}",
	    "usage_dropped", (json_int_t)db_column_int64(st, 10),
	    "software_dropped", (json_int_t)db_column_int64(st, 11), "agent_id",
	    db_column_text(st, 0), "hostname", db_column_text(st, 1), "commune",
	    db_column_text(st, 2), "os", os, "enrolled", sq_iso(st, 4),
	    "last_seen", sq_iso(st, 5), "inventory_at", sq_iso(st, 6),
	    "software", (json_int_t)db_column_int64(st, 7), "clock_offset_s",
	    clock, "records_lost", (json_int_t)db_column_int64(st, 9), "state",
	    state, "silent_days",
	    silent < 0 ? json_null() : json_integer(silent), "revoked_at",
	    sq_iso(st, 13), "retired_at", sq_iso(st, 14), "contact_days",
	    days < 0 ? json_null() : json_integer(days));
	/* which agent reports it (docs/INTEROP.md), and the mutu-agent
	 * machine a foreign one was found to be */
	json_object_set_new(row, "source", json_string(db_column_text(st, 15)));
	json_object_set_new(row, "merged_into",
	                    db_column_type(st, 16) == DB_NULL
	                        ? json_null()
	                        : json_string(db_column_text(st, 16)));
	return row;
}

int
report_machines(struct sq *q, const struct store_query *qu, json_t **out)
{
	long long now = time(NULL);
	char sql[768];
	struct db_stmt *st;
	json_t *row;
	int r;

	snprintf(sql, sizeof(sql),
	         "%s WHERE (?1 IS NULL OR a.commune = ?1)"
	         " ORDER BY a.commune, a.hostname, a.agent_id",
	         machine_cols);
	if ((st = sq_prep(q, sql)) == NULL)
		return STORE_ERR;
	sq_bind_opt(st, 1, qu->commune);
	*out = json_array();
	while ((r = db_step(st)) == DB_ROW) {
		if (qu->silent > 0 && contact_days(st, now) < qu->silent)
			continue; /* out of service, or heard from lately */
		if ((row = machine_row(st, now)) == NULL)
			break; /* out of memory: r is not DB_DONE */
		if (qu->state && strcmp(sq_jstr(row, "state"), qu->state) != 0)
			json_decref(row);
		else
			json_array_append_new(*out, row);
	}
	if (sq_done(q, r) != STORE_OK) {
		json_decref(*out);
		*out = NULL;
	}
	db_finalize(st);
	return *out ? STORE_OK : STORE_ERR;
}

/* An agent's software list; NULL when the query fails. */
static json_t *
software_of(struct sq *q, const char *agent_id)
{
	struct db_stmt *st =
	    sq_prep(q, "SELECT name, version, arch, publisher, size"
	               " FROM software WHERE agent_id = ?"
	               " ORDER BY name, arch");
	json_t *list, *o;
	int r;

	if (st == NULL)
		return NULL;
	list = json_array();
	db_bind_text(st, 1, agent_id);
	while ((r = db_step(st)) == DB_ROW) {
		o = json_pack(
		    "{s:s, s:s?, s:s, s:s?}", "name", db_column_text(st, 0),
		    "version", db_column_text(st, 1), "arch",
		    db_column_text(st, 2), "publisher", db_column_text(st, 3));
		if (o && db_column_type(st, 4) != DB_NULL)
			json_object_set_new(
			    o, "size", json_integer(db_column_int64(st, 4)));
		json_array_append_new(list, o);
	}
	if (sq_done(q, r) != STORE_OK) {
		json_decref(list);
		list = NULL;
	}
	db_finalize(st);
	return list;
}

/* An agent's last inventory document (JSON null when it has none, or
 * when it does not parse); NULL when the query fails. */
static json_t *
document_of(struct sq *q, const char *agent_id)
{
	struct db_stmt *st = sq_prep(q, "SELECT inventory FROM agents"
	                                " WHERE agent_id = ?");
	json_t *doc = NULL;
	const char *text;
	int r;

	if (st == NULL)
		return NULL;
	db_bind_text(st, 1, agent_id);
	if ((r = db_step(st)) == DB_ROW &&
	    (text = db_column_text(st, 0)) != NULL)
		doc = json_loads(text, 0, NULL);
	if (r != DB_ROW && sq_done(q, r) != STORE_OK) {
		db_finalize(st);
		return NULL;
	}
	db_finalize(st);
	return doc ? doc : json_null();
}

int
report_machine(struct sq *q, const struct store_query *qu, const char *id,
               json_t **out)
{
	json_t *found = json_array(), *m, *sw, *doc;
	char sql[768];
	struct db_stmt *st;
	int r;

	*out = NULL;
	snprintf(sql, sizeof(sql),
	         "%s WHERE (a.agent_id = ?1 OR a.hostname = ?1)"
	         " AND (?2 IS NULL OR a.commune = ?2)"
	         " ORDER BY a.agent_id = ?1 DESC, a.agent_id",
	         machine_cols);
	if ((st = sq_prep(q, sql)) == NULL) {
		json_decref(found);
		return STORE_ERR;
	}
	db_bind_text(st, 1, id);
	sq_bind_opt(st, 2, qu->commune);
	while ((r = db_step(st)) == DB_ROW)
		json_array_append_new(found, machine_row(st, time(NULL)));
	db_finalize(st);
	if (r != DB_DONE) {
		json_decref(found);
		return STORE_ERR;
	}
	if (json_array_size(found) == 0) {
		json_decref(found);
		return STORE_NOTFOUND;
	}
	m = json_array_get(found, 0);
	/* An exact agent id wins; several hosts of one name are ambiguous. */
	if (json_array_size(found) > 1 &&
	    strcmp(json_string_value(json_object_get(m, "agent_id")), id) !=
	        0) {
		*out = found;
		return STORE_CONFLICT;
	}
	json_incref(m);
	json_decref(found);
	id = json_string_value(json_object_get(m, "agent_id"));
	sw = software_of(q, id);
	doc = document_of(q, id);
	if (sw == NULL || doc == NULL) {
		json_decref(sw);
		json_decref(doc);
		json_decref(m);
		return STORE_ERR;
	}
	json_object_set_new(m, "software", sw);
	json_object_set_new(m, "inventory", doc);
	*out = m;
	return STORE_OK;
}

/* Per commune: its machines, those in service (neither revoked nor
 * retired), those of them silent for SILENT_DAYS or more, and the latest
 * contact of any of them (a commune whose machines all went quiet at once
 * is a site outage, not broken PCs). */
static const char communes_sql[] =
    "WITH a AS (SELECT agent_id, commune,"
    "  CASE WHEN revoked = 0 AND retired_at IS NULL"
    "   THEN coalesce(last_seen, enrolled) END AS contact FROM agents)"
    " SELECT c.code, c.name, count(a.agent_id), count(a.contact),"
    " sum(CASE WHEN a.contact < ?2 THEN 1 ELSE 0 END), max(a.contact)"
    " FROM communes c LEFT JOIN a ON a.commune = c.code"
    " WHERE (?1 IS NULL OR c.code = ?1)"
    " GROUP BY c.code, c.name ORDER BY c.code";

static json_t *
commune_row(struct db_stmt *st, long long now)
{
	long long last = db_column_int64(st, 5);
	int seen = db_column_type(st, 5) != DB_NULL;

	return json_pack(
	    "{s:s, s:s, s:I, s:I, s:I, s:o, s:o}", "code",
	    db_column_text(st, 0), "name", db_column_text(st, 1), "machines",
	    (json_int_t)db_column_int64(st, 2), "in_service",
	    (json_int_t)db_column_int64(st, 3), "silent",
	    (json_int_t)db_column_int64(st, 4), "last_contact", sq_iso(st, 5),
	    "contact_days",
	    seen ? json_integer(now > last ? (now - last) / 86400 : 0)
	         : json_null());
}

int
report_communes(struct sq *q, const struct store_query *qu, json_t **out)
{
	long long now = time(NULL);
	struct db_stmt *st;
	json_t *row;
	int r;

	if ((st = sq_prep(q, communes_sql)) == NULL)
		return STORE_ERR;
	sq_bind_opt(st, 1, qu->commune);
	db_bind_int64(st, 2, now - SILENT_DAYS * 86400LL);
	*out = json_array();
	while ((r = db_step(st)) == DB_ROW) {
		if ((row = commune_row(st, now)) == NULL)
			break; /* out of memory: r is not DB_DONE */
		json_array_append_new(*out, row);
	}
	if (sq_done(q, r) != STORE_OK) {
		json_decref(*out);
		*out = NULL;
	}
	db_finalize(st);
	return *out ? STORE_OK : STORE_ERR;
}
