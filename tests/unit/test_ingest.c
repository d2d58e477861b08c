/* Unit tests: batch validation, exactly-once ingest into a real SQLite
 * store, and licence aggregation across communes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "digest.h"
#include "ingest.h"
#include "store.h"

#define A1 "11111111-1111-4111-8111-111111111111"
#define A2 "22222222-2222-4222-8222-222222222222"
#define A3 "33333333-3333-4333-8333-333333333333"

struct fixture {
	char path[64];
	struct store *s;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];
	int fd;

	snprintf(f->path, sizeof(f->path), "/tmp/mutu-store-XXXXXX");
	if ((fd = mkstemp(f->path)) == -1)
		return -1;
	close(fd);
	if ((f->s = store_open(f->path, NULL, err, sizeof(err))) == NULL)
		return -1;
	store_commune_add(f->s, "29019", "Brest");
	store_commune_add(f->s, "29075", "Guipavas");
	store_secret_add(f->s, "29019", "secret-brest");
	store_secret_add(f->s, "29075", "secret-guipavas");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char p[96];

	store_close(f->s);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	free(f);
	return 0;
}

static void
enrol(struct fixture *f, const char *secret, const char *id, const char *tok,
      struct store_agent *a)
{
	char commune[STORE_COMMUNE_MAX];

	assert_int_equal(
	    store_enrol(f->s, secret, id, "pc", tok, 0, NULL, commune),
	    STORE_OK);
	assert_int_equal(store_agent_auth(f->s, tok, a), STORE_OK);
	assert_string_equal(a->agent_id, id);
}

/* Builds a batch of usage records seq first..last for product. */
static char *
usage_batch(const char *agent, const char *epoch, long long first,
            long long last, const char *product, long long start)
{
	struct buf b;
	long long s;

	buf_init(&b, 1 << 20);
	buf_printf(&b,
	           "{\"v\":1,\"agent_id\":\"%s\",\"epoch\":\"%s\","
	           "\"batch_id\":\"b%lld\",\"records\":[",
	           agent, epoch, first);
	for (s = first; s <= last; s++)
		buf_printf(&b,
		           "%s{\"seq\":%lld,\"type\":\"usage\",\"time\":%lld,"
		           "\"data\":{\"product\":\"%s\",\"user\":\"u%lld\","
		           "\"start\":%lld,\"end\":%lld}}",
		           s == first ? "" : ",", s, start, product, s % 2,
		           start + (s - 1) * 3600, start + s * 3600);
	buf_adds(&b, "]}");
	return buf_detach(&b);
}

static int
ingest(struct fixture *f, const struct store_agent *a, const char *body,
       struct store_ingest_result *res)
{
	struct ingest_batch b;
	char err[256];
	int rc = ingest_parse(body, strlen(body), a->agent_id, NULL, &b, err,
	                      sizeof(err));

	if (rc != 0)
		fail_msg("ingest_parse: %d %s", rc, err);
	rc = store_ingest(f->s, a, &b.batch, res);
	ingest_free(&b);
	return rc;
}

static json_t *
licence_row(struct fixture *f, const char *commune, const char *product,
            int totals)
{
	struct store_query q = {.commune = commune,
	                        .product = product,
	                        .last = time(NULL) / 86400 +
	                                1}; /* through tomorrow */
	json_t *out, *rows, *row;

	assert_int_equal(store_licences(f->s, &q, &out), STORE_OK);
	rows = json_object_get(out, totals ? "totals" : "rows");
	assert_int_equal(json_array_size(rows), 1);
	row = json_incref(json_array_get(rows, 0));
	json_decref(out);
	return row;
}

static long long
field(json_t *row, const char *key)
{
	return json_integer_value(json_object_get(row, key));
}

static void
test_replay_and_overlap_count_once(void **state)
{
	struct fixture *f = *state;
	struct store_ingest_result res;
	struct store_agent a;
	long long t = time(NULL) - 20 * 3600;
	char *b1, *b2;
	json_t *row;

	enrol(f, "secret-brest", A1, "tok1", &a);
	b1 = usage_batch(A1, "e1", 1, 3, "qgis", t);
	assert_int_equal(ingest(f, &a, b1, &res), STORE_OK);
	assert_int_equal(res.applied, 3);
	assert_int_equal(res.ack_seq, 3);
	/* The same batch again: acknowledged, nothing counted. */
	assert_int_equal(ingest(f, &a, b1, &res), STORE_OK);
	assert_int_equal(res.applied, 0);
	assert_int_equal(res.duplicates, 3);
	assert_int_equal(res.ack_seq, 3);
	/* Overlap 2..5: only 4 and 5 are new. */
	b2 = usage_batch(A1, "e1", 2, 5, "qgis", t);
	assert_int_equal(ingest(f, &a, b2, &res), STORE_OK);
	assert_int_equal(res.applied, 2);
	assert_int_equal(res.duplicates, 2);
	assert_int_equal(res.ack_seq, 5);
	row = licence_row(f, "29019", "qgis", 0);
	assert_int_equal(field(row, "used_machines"), 1);
	assert_int_equal(field(row, "used_users"), 2);
	assert_true(json_real_value(json_object_get(row, "usage_hours")) ==
	            5.0);
	json_decref(row);
	/* A new epoch is a new stream: its seq 1..2 count. */
	free(b1);
	b1 = usage_batch(A1, "e2", 1, 2, "qgis", t + 10 * 3600);
	assert_int_equal(ingest(f, &a, b1, &res), STORE_OK);
	assert_int_equal(res.applied, 2);
	row = licence_row(f, "29019", "qgis", 0);
	assert_true(json_real_value(json_object_get(row, "usage_hours")) ==
	            7.0);
	json_decref(row);
	free(b1);
	free(b2);
}

static const char inv_fmt[] =
    "{\"v\":1,\"agent_id\":\"%s\",\"epoch\":\"e1\",\"batch_id\":\"a1\","
    "\"records\":[{\"seq\":%d,\"type\":\"inventory\",\"time\":1,\"data\":"
    "{\"deviceid\":\"x\",\"content\":{\"hardware\":{\"name\":\"%s\"},"
    "\"softwares\":[{\"name\":\"qgis\",\"version\":\"3.22\"},"
    "{\"name\":\"libreoffice-writer\",\"filesize\":1024}]}}}]}";

static void
test_two_communes_aggregate(void **state)
{
	struct fixture *f = *state;
	struct store_ingest_result res;
	struct store_agent a1, a2, a3;
	long long t = time(NULL) - 7200;
	char body[1024], *u;
	json_t *row;

	enrol(f, "secret-brest", A1, "tok1", &a1);
	enrol(f, "secret-brest", A2, "tok2", &a2);
	enrol(f, "secret-guipavas", A3, "tok3", &a3);
	snprintf(body, sizeof(body), inv_fmt, A1, 1, "brest-1");
	assert_int_equal(ingest(f, &a1, body, &res), STORE_OK);
	snprintf(body, sizeof(body), inv_fmt, A2, 1, "brest-2");
	assert_int_equal(ingest(f, &a2, body, &res), STORE_OK);
	snprintf(body, sizeof(body), inv_fmt, A3, 1, "guipavas-1");
	assert_int_equal(ingest(f, &a3, body, &res), STORE_OK);
	u = usage_batch(A1, "e1", 2, 2, "qgis", t);
	assert_int_equal(ingest(f, &a1, u, &res), STORE_OK);
	free(u);
	u = usage_batch(A3, "e1", 2, 2, "qgis", t);
	assert_int_equal(ingest(f, &a3, u, &res), STORE_OK);
	free(u);

	row = licence_row(f, "29019", "qgis", 0);
	assert_int_equal(field(row, "installed"), 2);
	assert_int_equal(field(row, "used_machines"), 1);
	assert_int_equal(field(row, "peak_concurrent"), 1);
	json_decref(row);
	row = licence_row(f, "29075", "qgis", 0);
	assert_int_equal(field(row, "installed"), 1);
	assert_int_equal(field(row, "used_machines"), 1);
	json_decref(row);
	row = licence_row(f, NULL, "qgis", 1);
	assert_string_equal(json_string_value(json_object_get(row, "commune")),
	                    "*");
	assert_int_equal(field(row, "installed"), 3);
	assert_int_equal(field(row, "used_machines"), 2);
	assert_int_equal(field(row, "peak_concurrent"), 2);
	json_decref(row);
	/* A later inventory replaces the software list of that machine. */
	snprintf(
	    body, sizeof(body),
	    "{\"v\":1,\"agent_id\":\"%s\",\"epoch\":\"e1\",\"batch_id\":\"b2\","
	    "\"records\":[{\"seq\":3,\"type\":\"inventory\",\"time\":2,"
	    "\"data\":{\"content\":{\"softwares\":[{\"name\":\"gimp\"}]}}}]}",
	    A1);
	assert_int_equal(ingest(f, &a1, body, &res), STORE_OK);
	row = licence_row(f, "29019", "qgis", 0);
	assert_int_equal(field(row, "installed"), 1);
	json_decref(row);
}

static void
test_commune_comes_from_credential(void **state)
{
	struct fixture *f = *state;
	struct store_agent a;
	char commune[STORE_COMMUNE_MAX];

	enrol(f, "secret-guipavas", A1, "tok1", &a);
	assert_string_equal(a.commune, "29075");
	/* Same agent id through another commune's secret: refused. */
	assert_int_equal(store_enrol(f->s, "secret-brest", A1, "pc", "tok9", 0,
	                             "tok1", commune),
	                 STORE_CONFLICT);
	assert_int_equal(
	    store_enrol(f->s, "wrong", A2, "pc", "tok8", 0, NULL, commune),
	    STORE_DENIED);
	/* The secret alone does not take an enrolled identity over. */
	assert_int_equal(store_enrol(f->s, "secret-guipavas", A1, "pc", "tok6",
	                             0, NULL, commune),
	                 STORE_FORBIDDEN);
	assert_int_equal(store_enrol(f->s, "secret-guipavas", A1, "pc", "tok6",
	                             0, "tok9", commune),
	                 STORE_FORBIDDEN);
	assert_int_equal(store_agent_auth(f->s, "tok1", &a), STORE_OK);
	/* Re-enrolment with the current token replaces it. */
	assert_int_equal(store_enrol(f->s, "secret-guipavas", A1, "pc", "tok7",
	                             0, "tok1", commune),
	                 STORE_OK);
	assert_int_equal(store_agent_auth(f->s, "tok1", &a), STORE_DENIED);
	assert_int_equal(store_agent_auth(f->s, "tok7", &a), STORE_OK);
	/* So does one whose identity key the caller checked. */
	assert_int_equal(store_enrol(f->s, "secret-guipavas", A1, "pc", "tok5",
	                             1, NULL, commune),
	                 STORE_OK);
	assert_int_equal(store_agent_auth(f->s, "tok5", &a), STORE_OK);
}

static void
expect_refused(const char *body, enum ingest_err status, const char *msg)
{
	struct ingest_batch b;
	char err[256];
	enum ingest_err rc =
	    ingest_parse(body, strlen(body), A1, NULL, &b, err, sizeof(err));

	ingest_free(&b);
	if (rc != status || strstr(err, msg) == NULL)
		fail_msg("%s\n -> %d '%s', expected %d '%s'", body, (int)rc,
		         err, (int)status, msg);
}

#define ENV                                                                    \
	"{\"v\":1,\"agent_id\":\"" A1 "\",\"epoch\":\"e1\",\"batch_id\":"      \
	"\"b\","
#define USE(x)                                                                 \
	ENV "\"records\":[{\"seq\":1,\"type\":\"usage\",\"time\":1,"           \
	    "\"data\":" x "}]}"

static void
test_bad_batches(void **state)
{
	(void)state;
	expect_refused("", INGEST_MALFORMED, "invalid JSON");
	expect_refused("[1,2]", INGEST_MALFORMED, "$: expected a JSON object");
	expect_refused("{\"v\":2}", INGEST_MALFORMED,
	               "$.v: unsupported protocol version");
	expect_refused("{\"v\":1,\"v\":1}", INGEST_MALFORMED, "duplicate");
	expect_refused("{\"v\":1,\"agent_id\":\"" A2
	               "\",\"epoch\":\"e\",\"batch_id\":\"b\",\"records\":[]}",
	               INGEST_FORBIDDEN, "does not match");
	expect_refused(ENV "\"records\":[]}", INGEST_MALFORMED,
	               "non-empty array");
	expect_refused(ENV "\"records\":[1]}", INGEST_MALFORMED,
	               "records[0]: expected");
	expect_refused(USE("{\"product\":\"x\",\"start\":5,\"end\":4}"),
	               INGEST_BAD_RECORD, "end is before start");
	expect_refused(USE("{\"product\":\"x\",\"start\":\"5\",\"end\":6}"),
	               INGEST_BAD_RECORD,
	               "records[0].data.start: expected an integer");
	expect_refused(USE("{\"start\":5,\"end\":6}"), INGEST_BAD_RECORD,
	               "records[0].data.product: missing");
	expect_refused(USE("{\"product\":\"a\\u0000b\",\"start\":5,\"end\":6}"),
	               INGEST_MALFORMED, "NUL");
	expect_refused(ENV "\"records\":[{\"seq\":2,\"type\":\"usage\","
	                   "\"time\":1,\"data\":{\"product\":\"x\",\"start\":"
	                   "1,\"end\":2}},{\"seq\":2,\"type\":\"usage\","
	                   "\"time\":1,\"data\":{}}]}",
	               INGEST_MALFORMED, "records[1]: seq must increase");
	expect_refused(ENV "\"records\":[{\"seq\":1,\"type\":\"x\",\"time\":1,"
	                   "\"data\":{}}]}",
	               INGEST_BAD_RECORD, "unknown record type");
	expect_refused(ENV "\"records\":[{\"seq\":1,\"type\":\"inventory\","
	                   "\"time\":1,\"data\":{\"content\":{\"softwares\":"
	                   "[{\"version\":\"1\"}]}}}]}",
	               INGEST_BAD_RECORD, "softwares[0].name: missing");
	expect_refused("{\"v\":1,\"agent_id\":\"" A1
	               "\",\"epoch\":\"e;drop\",\"batch_id\":\"b\"}",
	               INGEST_MALFORMED, "hex ids");
}

/* A batch of one record of type with data, at seq. */
static char *
one(const char *type, int seq, const char *data)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	buf_printf(&b,
	           "{\"v\":1,\"agent_id\":\"%s\",\"epoch\":\"e1\","
	           "\"batch_id\":\"b%d\",\"records\":[{\"seq\":%d,"
	           "\"type\":\"%s\",\"time\":100,\"data\":%s}]}",
	           A1, seq, seq, type, data);
	return buf_detach(&b);
}

static void
digest_of(const char *content, char out[DIGEST_HEX_LEN + 1])
{
	json_t *j = json_loads(content, 0, NULL);

	assert_non_null(j);
	assert_int_equal(digest_json(j, out), 0);
	json_decref(j);
}

static int
ingest_one(struct fixture *f, const struct store_agent *a, const char *type,
           int seq, const char *data, struct store_ingest_result *res)
{
	char *body = one(type, seq, data);
	int rc = ingest(f, a, body, res);

	free(body);
	return rc;
}

static json_t *
machine(struct fixture *f)
{
	struct store_query q = {0};
	json_t *out;

	assert_int_equal(store_machine(f->s, &q, A1, &out), STORE_OK);
	return out;
}

/* A delta applies only on the inventory it was made from. */
static void
test_inventory_delta(void **state)
{
	struct fixture *f = *state;
	struct store_ingest_result res;
	struct store_agent a;
	char d0[DIGEST_HEX_LEN + 1], d1[DIGEST_HEX_LEN + 1], data[1024];
	const char *c0 = "{\"hardware\":{\"name\":\"pc1\"},"
	                 "\"softwares\":[{\"name\":\"qgis\"}]}";
	const char *c1 = "{\"hardware\":{\"name\":\"pc1\"},"
	                 "\"softwares\":[{\"name\":\"qgis\"},"
	                 "{\"name\":\"gimp\"}]}";
	json_t *m;

	enrol(f, "secret-brest", A1, "tok1", &a);
	digest_of(c0, d0);
	digest_of(c1, d1);
	snprintf(data, sizeof(data),
	         "{\"base\":\"%s\",\"digest\":\"%s\",\"sections\":"
	         "{\"softwares\":[{\"name\":\"qgis\"},{\"name\":\"gimp\"}]},"
	         "\"removed\":[]}",
	         d0, d1);
	/* No baseline yet: 409, nothing stored, the delta named. */
	assert_int_equal(ingest_one(f, &a, "inventory_delta", 1, data, &res),
	                 STORE_CONFLICT);
	assert_int_equal(res.conflict_seq, 1);
	{
		char full[512];

		snprintf(full, sizeof(full), "{\"content\":%s}", c0);
		assert_int_equal(ingest_one(f, &a, "inventory", 1, full, &res),
		                 STORE_OK);
	}
	assert_int_equal(ingest_one(f, &a, "inventory_delta", 2, data, &res),
	                 STORE_OK);
	m = machine(f);
	assert_int_equal(json_array_size(json_object_get(m, "software")), 2);
	json_decref(m);
	/* The same delta on the new inventory no longer applies. */
	assert_int_equal(ingest_one(f, &a, "inventory_delta", 3, data, &res),
	                 STORE_CONFLICT);
	assert_int_equal(res.conflict_seq, 3);
}

/* Compacted usage counts its sessions; a gap is kept per agent. */
static void
test_usage_day_and_gap(void **state)
{
	struct fixture *f = *state;
	struct store_ingest_result res;
	struct store_agent a;
	long long day = time(NULL) / 86400 - 1;
	char data[512];
	json_t *row;

	enrol(f, "secret-brest", A1, "tok1", &a);
	snprintf(data, sizeof(data),
	         "{\"product\":\"qgis\",\"day\":%lld,\"seconds\":7200,"
	         "\"sessions\":4,\"first\":%lld,\"last\":%lld}",
	         day, day * 86400 + 100, day * 86400 + 9000);
	assert_int_equal(ingest_one(f, &a, "usage_day", 1, data, &res),
	                 STORE_OK);
	row = licence_row(f, "29019", "qgis", 0);
	assert_true(json_real_value(json_object_get(row, "usage_hours")) ==
	            2.0);
	json_decref(row);
	assert_int_equal(
	    ingest_one(f, &a, "gap", 2,
	               "{\"reason\":\"budget\",\"first_seq\":3,"
	               "\"last_seq\":9,\"records\":7,\"from\":1,\"to\":2}",
	               &res),
	    STORE_OK);
	row = machine(f);
	assert_int_equal(field(row, "records_lost"), 7);
	json_decref(row);
}

/* An agent an hour fast: its times are corrected by its boot clock. */
static void
test_clock_correction(void **state)
{
	struct ingest_clock k;
	struct ingest_batch b;
	char err[256], body[512];
	long long now = 1800000000000LL; /* ms */

	(void)state;
	/* Sent at agent time now + 1 h; record made 10 s earlier on the
	 * boot clock, stamped with the agent's (wrong) wall clock. */
	snprintf(body, sizeof(body),
	         "{\"v\":1,\"agent_id\":\"%s\",\"epoch\":\"e1\","
	         "\"batch_id\":\"b\",\"records\":[{\"seq\":1,"
	         "\"type\":\"usage\",\"time\":%lld,\"boot\":3,"
	         "\"mono\":50000,\"data\":{\"product\":\"x\","
	         "\"start\":%lld,\"end\":%lld}},{\"seq\":2,\"type\":"
	         "\"usage\",\"time\":%lld,\"boot\":2,\"mono\":1,\"data\":"
	         "{\"product\":\"x\",\"start\":%lld,\"end\":%lld}}]}",
	         A1, (now + 3600000 - 10000) / 1000,
	         (now + 3600000 - 20000) / 1000, (now + 3600000 - 10000) / 1000,
	         (now + 3600000 - 10000) / 1000, (now + 3600000 - 20000) / 1000,
	         (now + 3600000 - 10000) / 1000);
	ingest_clock_parse("1800003600000 3 60000", now, &k);
	assert_int_equal(k.known, 1);
	assert_int_equal(
	    ingest_parse(body, strlen(body), A1, &k, &b, err, sizeof(err)), 0);
	assert_int_equal(b.rec[0].shift, -3600);
	assert_int_equal(b.rec[1].shift, -3600); /* older boot: by offset */
	assert_int_equal(b.batch.clock_offset_ms, -3600000);
	ingest_free(&b);
	/* The agent's clock was set right before sending: the record made
	 * in this boot is still mended by its age; the older one, dated by
	 * the offset now (1.5 s, within the slack), is left alone. */
	ingest_clock_parse("1800000001500 3 60000", now, &k);
	assert_int_equal(
	    ingest_parse(body, strlen(body), A1, &k, &b, err, sizeof(err)), 0);
	assert_int_equal(b.rec[0].shift, -3600);
	assert_int_equal(b.rec[1].shift, 0);
	ingest_free(&b);
	ingest_clock_parse("garbage", now, &k);
	assert_int_equal(k.known, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_replay_and_overlap_count_once,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_communes_aggregate, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_commune_comes_from_credential,
	                                    setup, teardown),
	    cmocka_unit_test(test_bad_batches),
	    cmocka_unit_test_setup_teardown(test_inventory_delta, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_usage_day_and_gap, setup,
	                                    teardown),
	    cmocka_unit_test(test_clock_correction),
	};
	return cmocka_run_group_tests_name("ingest", tests, NULL, NULL);
}
