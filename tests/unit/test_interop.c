/* Unit tests: foreign agents' messages (OCS XML to the GLPI format, the
 * basic credential) and the rule that says two inventories are one PC
 * (docs/INTEROP.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ident.h"
#include "interop.h"
#include "ocsxml.h"

static struct ident
ident_of(const char *uuid, const char *serial, const char *host,
         const char *mac1, const char *mac2)
{
	json_t *c =
	    json_pack("{s:{s:s, s:s}, s:{s:s}, s:[{s:s}, {s:s}]}", "hardware",
	              "uuid", uuid, "name", host, "bios", "ssn", serial,
	              "networks", "mac", mac1, "mac", mac2);
	struct ident id;

	assert_non_null(c);
	ident_from_glpi(c, &id);
	json_decref(c);
	return id;
}

static void
test_ident_rule(void **state)
{
	struct ident a, b;

	(void)state;
	/* the same UUID: one PC whatever the names */
	a = ident_of("4C4C4544-0042", "", "accueil", "", "");
	b = ident_of("4c4c4544-0042", "", "other", "", "");
	assert_true(ident_same(&a, &b));
	/* different UUIDs: two PCs, even with one name and one MAC */
	a = ident_of("aaaa-1", "", "pc", "02:00:00:00:00:01", "");
	b = ident_of("aaaa-2", "", "pc", "02:00:00:00:00:01", "");
	assert_false(ident_same(&a, &b));
	/* placeholder UUIDs are unknown: the name and the serial decide */
	a = ident_of("00000000-0000-0000-0000-000000000000", "SN1", "PC", "",
	             "");
	b = ident_of("FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "sn1", "pc", "",
	             "");
	assert_true(ident_same(&a, &b));
	b = ident_of("", "SN2", "pc", "", "");
	assert_false(ident_same(&a, &b));
	/* filler serials are unknown: a MAC in common decides */
	a = ident_of("", "To be filled by O.E.M.", "pc", "02-00-00-00-00-0A",
	             "02:00:00:00:00:01");
	b = ident_of("", "Default string", "PC", "02:00:00:00:00:0a", "");
	assert_true(ident_same(&a, &b));
	/* a MAC in common but another name: two PCs */
	b = ident_of("", "", "pc2", "02:00:00:00:00:0a", "");
	assert_false(ident_same(&a, &b));
	/* null MACs never match; nothing known: not the same */
	a = ident_of("", "", "pc", "00:00:00:00:00:00", "");
	b = ident_of("", "", "pc", "00:00:00:00:00:00", "");
	assert_false(ident_same(&a, &b));
	assert_string_equal(a.macs, "");
}

static const char inventory[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n"
    "<REQUEST><DEVICEID> pc-2026 </DEVICEID><QUERY>INVENTORY</QUERY>"
    "<CONTENT><HARDWARE><NAME>pc</NAME><MEMORY>8000</MEMORY>"
    "<LASTLOGGEDUSER>jdupont</LASTLOGGEDUSER>"
    "<OSNAME>Debian GNU/Linux 12</OSNAME></HARDWARE>"
    "<BIOS><BDATE>12/31/2020</BDATE><SSN>X1</SSN></BIOS>"
    "<SOFTWARES><NAME>a</NAME><INSTALLDATE>31/12/2020</INSTALLDATE>"
    "<FILESIZE>12</FILESIZE></SOFTWARES>"
    "<SOFTWARES><NAME>b</NAME><INSTALLDATE>2020-13-01</INSTALLDATE>"
    "</SOFTWARES><SOFTWARES><VERSION>1</VERSION></SOFTWARES>"
    "<SOFTWARES><NAME>libc6:amd64</NAME><FROM>deb</FROM></SOFTWARES>"
    "<USERS><LOGIN>jdupont</LOGIN></USERS>"
    "<NETWORKS><MACADDR>02:00:00:00:00:01</MACADDR><VIRTUALDEV>0"
    "</VIRTUALDEV><TYPE>Unknown-Kind</TYPE></NETWORKS>"
    "<VERSIONCLIENT>OCS-NG_unified_unix_agent_v2.10.0</VERSIONCLIENT>"
    "</CONTENT></REQUEST>";

static void
test_xml_to_glpi(void **state)
{
	struct ocsxml_msg m;
	char err[256];
	json_t *c, *sw, *net;

	(void)state;
	assert_int_equal(
	    ocsxml_parse(inventory, strlen(inventory), &m, err, sizeof(err)),
	    0);
	assert_int_equal(m.query, OCSXML_INVENTORY);
	assert_string_equal(m.deviceid, "pc-2026");
	c = m.content;
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(c, "hardware"), "name")),
	                    "pc");
	assert_int_equal(json_integer_value(json_object_get(
	                     json_object_get(c, "hardware"), "memory")),
	                 8000);
	/* no logins kept */
	assert_null(
	    json_object_get(json_object_get(c, "hardware"), "lastloggeduser"));
	assert_null(json_object_get(c, "users"));
	/* OCS: the system's name from HARDWARE */
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_object_get(c, "operatingsystem"), "full_name")),
	    "Debian GNU/Linux 12");
	/* dates: MM/DD/YYYY for the BIOS, DD/MM/YYYY for software, ISO
	 * kept, impossible ones left out */
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(c, "bios"), "bdate")),
	                    "2020-12-31");
	sw = json_object_get(c, "softwares");
	assert_int_equal(json_array_size(sw), 3); /* the nameless one out */
	/* a multi-arch Debian package as dpkg names it: name and arch */
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(sw, 2), "name")),
	    "libc6");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(sw, 2), "arch")),
	    "amd64");
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(sw, 0), "install_date")),
	                    "2020-12-31");
	assert_int_equal(json_integer_value(json_object_get(
	                     json_array_get(sw, 0), "filesize")),
	                 12);
	assert_null(json_object_get(json_array_get(sw, 1), "install_date"));
	net = json_array_get(json_object_get(c, "networks"), 0);
	assert_true(json_is_false(json_object_get(net, "virtualdev")));
	assert_null(json_object_get(net, "type")); /* not one of its words */
	assert_string_equal(
	    json_string_value(json_object_get(net, "description")), "");
	json_decref(m.content);
}

static void
test_xml_refused(void **state)
{
	static const char *const bad[] = {
	    "not xml",
	    "<REQUEST><QUERY>PROLOG</QUERY></REQUEST>",
	    "<OTHER><QUERY>PROLOG</QUERY><DEVICEID>x</DEVICEID></OTHER>",
	    "<!DOCTYPE r [<!ENTITY a \"b\">]><REQUEST><QUERY>PROLOG</QUERY>"
	    "<DEVICEID>&a;</DEVICEID></REQUEST>",
	    "<REQUEST><QUERY>INVENTORY</QUERY><DEVICEID>x</DEVICEID></REQUEST>",
	};
	struct ocsxml_msg m;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    ocsxml_parse(bad[i], strlen(bad[i]), &m, err, sizeof(err)),
		    -1);
		assert_null(m.content);
		assert_true(strlen(err) > 0);
	}
	assert_int_equal(ocsxml_parse("<REQUEST><QUERY>PROLOG</QUERY>"
	                              "<DEVICEID>x</DEVICEID></REQUEST>",
	                              62, &m, err, sizeof(err)),
	                 0);
	assert_int_equal(m.query, OCSXML_PROLOG);
}

static void
test_basic(void **state)
{
	char u[16], p[64];

	(void)state;
	/* "29019:s3cret" */
	assert_int_equal(
	    interop_basic("Basic MjkwMTk6czNjcmV0", u, sizeof(u), p, sizeof(p)),
	    0);
	assert_string_equal(u, "29019");
	assert_string_equal(p, "s3cret");
	/* "a:" and ":b": empty parts are the store's to refuse */
	assert_int_equal(
	    interop_basic("basic YTo=", u, sizeof(u), p, sizeof(p)), 0);
	assert_string_equal(p, "");
	assert_int_equal(
	    interop_basic("Bearer YTo=", u, sizeof(u), p, sizeof(p)), -1);
	assert_int_equal(interop_basic("Basic YTo", u, sizeof(u), p, sizeof(p)),
	                 -1); /* not a multiple of 4 */
	assert_int_equal(
	    interop_basic("Basic bm9jb2xvbg==", u, sizeof(u), p, sizeof(p)),
	    -1); /* "nocolon" */
	assert_int_equal(
	    interop_basic("Basic YQBiOmM=", u, sizeof(u), p, sizeof(p)),
	    -1); /* "a\0b:c" */
	assert_int_equal(interop_basic("Basic MTIzNDU2Nzg5MDEyMzQ1Njc4OnA=", u,
	                               sizeof(u), p, sizeof(p)),
	                 -1); /* a user longer than its buffer */
	assert_int_equal(interop_basic(NULL, u, sizeof(u), p, sizeof(p)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ident_rule),
	    cmocka_unit_test(test_xml_to_glpi),
	    cmocka_unit_test(test_xml_refused),
	    cmocka_unit_test(test_basic),
	};

	ocsxml_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
