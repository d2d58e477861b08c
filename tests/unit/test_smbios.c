/* Unit tests: the SMBIOS table parser (agent/smbios.c) on hand-made
 * tables: every field it reads, old short structures, placeholders, and
 * truncated or corrupted tables read from buffers of their exact size (so
 * that ASan sees any read past the end). Portable: built for Linux and
 * cross-built for Windows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smbios.h"

struct blob {
	unsigned char b[4096];
	size_t n;
	unsigned handle;
};

/* Appends a structure: type, formatted area after the 4-byte header
 * (flen bytes), then the strings (NULL-terminated list). */
static void
add(struct blob *bl, unsigned type, const unsigned char *f, size_t flen,
    const char *const *strs)
{
	size_t i, len;

	assert_true(bl->n + 4 + flen + 2 < sizeof(bl->b));
	bl->b[bl->n++] = (unsigned char)type;
	bl->b[bl->n++] = (unsigned char)(4 + flen);
	bl->b[bl->n++] = (unsigned char)(bl->handle & 0xff);
	bl->b[bl->n++] = (unsigned char)(bl->handle++ >> 8);
	memcpy(bl->b + bl->n, f, flen);
	bl->n += flen;
	for (i = 0; strs && strs[i]; i++) {
		len = strlen(strs[i]) + 1;
		assert_true(bl->n + len + 1 < sizeof(bl->b));
		memcpy(bl->b + bl->n, strs[i], len);
		bl->n += len;
	}
	if (strs == NULL || strs[0] == NULL)
		bl->b[bl->n++] = 0;
	bl->b[bl->n++] = 0;
}

/* A laptop as dmidecode would show it, SMBIOS 3.2. */
static void
make_laptop(struct blob *bl)
{
	static const unsigned char t0[] = {1, 2, 0x00, 0xf0, 3, 0x7f};
	static const char *const s0[] = {"Dell Inc.", "1.4.3", "02/06/2016",
	                                 NULL};
	unsigned char t1[0x1b - 4] = {1, 2, 3, 4};
	static const unsigned char uuid[16] = {
	    0x44, 0x45, 0x4c, 0x4c, 0x34, 0x00, 0x10, 0x30,
	    0x80, 0x48, 0xb6, 0xc0, 0x4f, 0x50, 0x37, 0x32};
	static const char *const s1[] = {
	    "Dell Inc.", "XPS 13 9350", "Not Specified", "640HP72", "0704",
	    "XPS",       NULL};
	static const unsigned char t2[] = {1, 2, 3, 4, 0};
	static const char *const s2[] = {"Dell Inc.", "07TYC2", "A00",
	                                 "/640HP72/CN129636/", NULL};
	static const unsigned char t3[] = {1, 0x8a, 0, 2, 3};
	static const char *const s3[] = {"Dell Inc.", "640HP72",
	                                 "To Be Filled By O.E.M.", NULL};
	unsigned char t4[0x30 - 4];
	static const char *const s4[] = {"U3E1", "Intel(R) Corporation",
	                                 "Intel(R) Core(TM) i5-6200U CPU @ "
	                                 "2.30GHz",
	                                 "To Be Filled By O.E.M.", NULL};
	unsigned char t17[0x28 - 4];
	static const char *const s17[] = {
	    "ChannelA-DIMM0",     "BANK 0", "Samsung", "12161217",
	    "M471A1K43CB1-CRC  ", NULL};
	static const char *const s17e[] = {"ChannelB-DIMM0", "BANK 2", NULL};
	static const unsigned char t127[] = {0};

	memset(bl, 0, sizeof(*bl));
	add(bl, 0, t0, sizeof(t0), s0);
	memcpy(t1 + 4, uuid, 16);
	t1[0x18 - 4] = 6; /* wake-up type */
	t1[0x19 - 4] = 5; /* SKU */
	t1[0x1a - 4] = 6; /* family */
	add(bl, 1, t1, sizeof(t1), s1);
	add(bl, 2, t2, sizeof(t2), s2);
	add(bl, 3, t3, sizeof(t3), s3);

	memset(t4, 0, sizeof(t4));
	t4[0x04 - 4] = 1; /* socket */
	t4[0x05 - 4] = 3; /* central processor */
	t4[0x07 - 4] = 2; /* manufacturer */
	memcpy(t4 + 0x08 - 4, "\xe3\x06\x04\x00\xff\xfb\xeb\xbf", 8);
	t4[0x10 - 4] = 3;    /* version */
	t4[0x12 - 4] = 100;  /* external clock */
	t4[0x14 - 4] = 0xf0; /* max speed 2800 = 0x0af0 */
	t4[0x15 - 4] = 0x0a;
	t4[0x16 - 4] = 0xfc; /* current 2300 = 0x08fc */
	t4[0x17 - 4] = 0x08;
	t4[0x18 - 4] = 0x41; /* populated, enabled */
	t4[0x20 - 4] = 4;    /* serial: a placeholder */
	t4[0x23 - 4] = 2;
	t4[0x24 - 4] = 2;
	t4[0x25 - 4] = 4;
	add(bl, 4, t4, sizeof(t4), s4);
	/* An empty second socket. */
	t4[0x18 - 4] = 0x00;
	add(bl, 4, t4, sizeof(t4), s4);

	memset(t17, 0, sizeof(t17));
	t17[0x0c - 4] = 0x00; /* 8192 MB */
	t17[0x0d - 4] = 0x20;
	t17[0x0e - 4] = 0x0d; /* SODIMM */
	t17[0x10 - 4] = 1;
	t17[0x11 - 4] = 2;
	t17[0x12 - 4] = 0x1a; /* DDR4 */
	t17[0x15 - 4] = 0x60; /* 2400 MT/s */
	t17[0x16 - 4] = 0x09;
	t17[0x17 - 4] = 3;
	t17[0x18 - 4] = 4;
	t17[0x1a - 4] = 5;
	add(bl, 17, t17, sizeof(t17), s17);
	memset(t17, 0, sizeof(t17)); /* an empty slot */
	t17[0x0e - 4] = 0x0d;
	t17[0x10 - 4] = 1;
	t17[0x11 - 4] = 2;
	t17[0x12 - 4] = 0x02;
	add(bl, 17, t17, sizeof(t17), s17e);
	memset(t17, 0, sizeof(t17)); /* 64 GiB: the extended size */
	t17[0x0c - 4] = 0xff;
	t17[0x0d - 4] = 0x7f;
	t17[0x0e - 4] = 0x09; /* DIMM */
	t17[0x12 - 4] = 0x22; /* DDR5 */
	t17[0x1c - 4] = 0x00;
	t17[0x1d - 4] = 0x00;
	t17[0x1e - 4] = 0x01; /* 65536 MB */
	add(bl, 17, t17, sizeof(t17), NULL);
	add(bl, 127, t127, 0, NULL);
}

/* Parses len bytes copied into a buffer of exactly that size. */
static int
parse_exact(const unsigned char *b, size_t len, int major, int minor,
            struct smbios_info *in)
{
	unsigned char *copy = malloc(len ? len : 1);
	int n;

	assert_non_null(copy);
	memcpy(copy, b, len);
	n = smbios_parse(copy, len, major, minor, in);
	free(copy);
	return n;
}

static void
test_laptop(void **state)
{
	static struct blob bl;
	static struct smbios_info in;

	(void)state;
	make_laptop(&bl);
	assert_int_equal(parse_exact(bl.b, bl.n, 3, 2, &in), 10);
	assert_string_equal(in.bios_vendor, "Dell Inc.");
	assert_string_equal(in.bios_version, "1.4.3");
	assert_string_equal(in.bios_date, "2016-02-06");
	assert_string_equal(in.sys_manufacturer, "Dell Inc.");
	assert_string_equal(in.sys_product, "XPS 13 9350");
	assert_string_equal(in.sys_version, ""); /* "Not Specified" */
	assert_string_equal(in.sys_serial, "640HP72");
	assert_string_equal(in.sys_sku, "0704");
	assert_string_equal(in.sys_family, "XPS");
	/* Little-endian first fields since 2.6, as Windows prints it. */
	assert_string_equal(in.sys_uuid,
	                    "4C4C4544-0034-3010-8048-B6C04F503732");
	assert_string_equal(in.board_manufacturer, "Dell Inc.");
	assert_string_equal(in.board_product, "07TYC2");
	assert_string_equal(in.board_serial, "/640HP72/CN129636/");
	assert_string_equal(in.chassis_type, "Notebook"); /* lock bit off */
	assert_string_equal(in.chassis_serial, "640HP72");
	assert_string_equal(in.chassis_asset, "");
	assert_int_equal(in.ncpu, 1); /* the empty socket is left out */
	assert_string_equal(in.cpu[0].socket, "U3E1");
	assert_string_equal(in.cpu[0].manufacturer, "Intel(R) Corporation");
	assert_string_equal(in.cpu[0].version,
	                    "Intel(R) Core(TM) i5-6200U CPU @ 2.30GHz");
	assert_string_equal(in.cpu[0].serial, "");
	assert_string_equal(in.cpu[0].id, "E3 06 04 00 FF FB EB BF");
	assert_int_equal(in.cpu[0].external_clock, 100);
	assert_int_equal(in.cpu[0].max_speed, 2800);
	assert_int_equal(in.cpu[0].current_speed, 2300);
	assert_int_equal(in.cpu[0].cores, 2);
	assert_int_equal(in.cpu[0].cores_enabled, 2);
	assert_int_equal(in.cpu[0].threads, 4);
	assert_int_equal(in.nmem, 3);
	assert_int_equal(in.mem[0].slot, 1);
	assert_int_equal(in.mem[0].size_mb, 8192);
	assert_string_equal(in.mem[0].locator, "ChannelA-DIMM0");
	assert_string_equal(in.mem[0].bank, "BANK 0");
	assert_string_equal(in.mem[0].manufacturer, "Samsung");
	assert_string_equal(in.mem[0].serial, "12161217");
	assert_string_equal(in.mem[0].part, "M471A1K43CB1-CRC"); /* trimmed */
	assert_string_equal(in.mem[0].type, "DDR4");
	assert_string_equal(in.mem[0].formfactor, "SODIMM");
	assert_int_equal(in.mem[0].speed, 2400);
	assert_int_equal(in.mem[1].slot, 2);
	assert_int_equal(in.mem[1].size_mb, 0);
	assert_null(in.mem[1].type); /* "Unknown" */
	assert_int_equal(in.mem[2].size_mb, 65536);
	assert_string_equal(in.mem[2].type, "DDR5");
	assert_string_equal(in.mem[2].formfactor, "DIMM");
	assert_string_equal(in.mem[2].locator, "");
}

/* What GetSystemFirmwareTable('RSMB') returns: a header, then the table. */
static void
test_rsmb(void **state)
{
	static struct blob bl;
	static struct smbios_info in;
	static unsigned char raw[8 + sizeof(bl.b)];
	size_t n;

	(void)state;
	make_laptop(&bl);
	raw[0] = 0;
	raw[1] = 3;
	raw[2] = 2;
	raw[3] = 0;
	raw[4] = (unsigned char)(bl.n & 0xff);
	raw[5] = (unsigned char)(bl.n >> 8);
	raw[6] = raw[7] = 0;
	memcpy(raw + 8, bl.b, bl.n);
	n = 8 + bl.n;
	assert_int_equal(smbios_parse_rsmb(raw, n, &in), 10);
	assert_int_equal(in.major, 3);
	assert_int_equal(in.minor, 2);
	assert_string_equal(in.sys_serial, "640HP72");
	/* A length beyond the buffer, or no header at all. */
	assert_int_equal(smbios_parse_rsmb(raw, n - 1, &in), -1);
	assert_string_equal(in.sys_serial, "");
	assert_int_equal(smbios_parse_rsmb(raw, 7, &in), -1);
	assert_int_equal(smbios_parse_rsmb(NULL, 0, &in), -1);
	/* An empty table (wine): nothing, and no error. */
	memset(raw, 0, 8);
	assert_int_equal(smbios_parse_rsmb(raw, 8, &in), 0);
	assert_string_equal(in.bios_vendor, "");
	assert_int_equal(in.ncpu, 0);
}

/* SMBIOS 2.0 and 2.4: short structures, big-endian UUID before 2.6,
 * two-digit years, missing and out-of-range string numbers. */
static void
test_old_versions(void **state)
{
	static const unsigned char t0[] = {1, 2, 0, 0xf0, 3, 0x7f};
	static const char *const s0[] = {"Award", "v1.0", "12/31/99", NULL};
	static const unsigned char t1short[] = {1, 2, 9, 0}; /* 2.0: no UUID */
	static const char *const s1[] = {"ACME", "Box", NULL};
	unsigned char t1[0x19 - 4] = {1, 2, 0, 0};
	static const unsigned char t17short[] = {0, 0,    0,    0, 0, 0, 0,
	                                         0, 0x00, 0x84, 9, 0, 0, 0};
	static struct blob bl;
	static struct smbios_info in;
	int i;

	(void)state;
	memset(&bl, 0, sizeof(bl));
	add(&bl, 0, t0, sizeof(t0), s0);
	add(&bl, 1, t1short, sizeof(t1short), s1);
	add(&bl, 17, t17short, sizeof(t17short), NULL);
	assert_int_equal(parse_exact(bl.b, bl.n, 2, 0, &in), 3);
	assert_string_equal(in.bios_vendor, "Award");
	assert_string_equal(in.bios_date, "1999-12-31");
	assert_string_equal(in.sys_manufacturer, "ACME");
	assert_string_equal(in.sys_product, "Box");
	assert_string_equal(in.sys_serial, ""); /* string 9 does not exist */
	assert_string_equal(in.sys_uuid, "");
	assert_string_equal(in.sys_sku, "");
	assert_int_equal(in.nmem, 1);
	assert_int_equal(in.mem[0].size_mb, 1); /* 0x8400: 1024 KB */
	assert_int_equal(in.mem[0].speed, 0);   /* no speed before 2.3 */
	assert_string_equal(in.mem[0].part, "");

	/* 2.4: the UUID bytes in network order. */
	memset(&bl, 0, sizeof(bl));
	for (i = 0; i < 16; i++)
		t1[4 + i] = (unsigned char)(0x10 + i);
	add(&bl, 1, t1, sizeof(t1), s1);
	assert_int_equal(parse_exact(bl.b, bl.n, 2, 4, &in), 1);
	assert_string_equal(in.sys_uuid,
	                    "10111213-1415-1617-1819-1A1B1C1D1E1F");
	assert_int_equal(parse_exact(bl.b, bl.n, 2, 6, &in), 1);
	assert_string_equal(in.sys_uuid,
	                    "13121110-1514-1716-1819-1A1B1C1D1E1F");
	/* All ones or all zeros: no UUID. */
	memset(t1 + 4, 0xff, 16);
	memset(&bl, 0, sizeof(bl));
	add(&bl, 1, t1, sizeof(t1), s1);
	assert_int_equal(parse_exact(bl.b, bl.n, 3, 0, &in), 1);
	assert_string_equal(in.sys_uuid, "");
}

/* Placeholders are dropped; bytes outside printable ASCII become '?'. */
static void
test_strings(void **state)
{
	static const unsigned char t1[] = {1, 2, 3, 4};
	static const char *const junk[] = {
	    "System manufacturer", "  ", "0000000000", "Default string", NULL};
	static const char *const odd[] = {"Caf\xc3\xa9\tPC",
	                                  "A\x7f"
	                                  "B",
	                                  " Model 7 ", "....", NULL};
	static struct blob bl;
	static struct smbios_info in;

	(void)state;
	memset(&bl, 0, sizeof(bl));
	add(&bl, 1, t1, sizeof(t1), junk);
	assert_int_equal(parse_exact(bl.b, bl.n, 3, 0, &in), 1);
	assert_string_equal(in.sys_manufacturer, "");
	assert_string_equal(in.sys_product, "");
	assert_string_equal(in.sys_version, "");
	assert_string_equal(in.sys_serial, "");
	memset(&bl, 0, sizeof(bl));
	add(&bl, 1, t1, sizeof(t1), odd);
	assert_int_equal(parse_exact(bl.b, bl.n, 3, 0, &in), 1);
	assert_string_equal(in.sys_manufacturer, "Caf???PC");
	assert_string_equal(in.sys_product, "A?B");
	assert_string_equal(in.sys_version, "Model 7");
	assert_string_equal(in.sys_serial, "");
}

/* Every prefix of a real-looking table, and corrupted copies of it,
 * parse without reading past the buffer; what parses is a prefix of the
 * whole. */
static void
test_truncated_and_corrupt(void **state)
{
	static struct blob bl;
	static struct smbios_info in;
	static unsigned char bad[sizeof(bl.b)];
	uint32_t seed = 12345;
	size_t len, i;
	int n, last = 0, k;

	(void)state;
	make_laptop(&bl);
	for (len = 0; len <= bl.n; len++) {
		n = parse_exact(bl.b, len, 3, 2, &in);
		assert_true(n >= last); /* more bytes, never fewer structures */
		assert_true(n <= 10);
		last = n;
	}
	assert_int_equal(last, 10);
	/* A length byte below 4 ends the walk. */
	memcpy(bad, bl.b, bl.n);
	bad[1] = 3;
	assert_int_equal(parse_exact(bad, bl.n, 3, 2, &in), 0);
	/* A length byte past the end ends it too. */
	bad[1] = 0xff;
	assert_int_equal(parse_exact(bad, 40, 3, 2, &in), 0);
	/* Random corruption: no crash, no read past the end (ASan). */
	for (k = 0; k < 20000; k++) {
		memcpy(bad, bl.b, bl.n);
		for (i = 0; i < 1 + (size_t)(k % 8); i++) {
			seed = seed * 1103515245u + 12345u;
			bad[(seed >> 8) % bl.n] = (unsigned char)(seed >> 24);
		}
		seed = seed * 1103515245u + 12345u;
		len = (seed >> 8) % (bl.n + 1);
		n = parse_exact(bad, len, 3, 2, &in);
		assert_true(n >= 0);
		assert_true(in.ncpu <= SMBIOS_MAX_CPUS);
		assert_true(in.nmem <= SMBIOS_MAX_MEMS);
		assert_true(strlen(in.sys_product) < SMBIOS_STR);
	}
	assert_int_equal(smbios_parse(NULL, 0, 3, 0, &in), 0);
}

/* More memory slots than the array holds: the first ones are kept. */
static void
test_many_slots(void **state)
{
	unsigned char t17[0x1b - 4];
	static struct blob bl;
	static struct smbios_info in;
	int i;

	(void)state;
	memset(&bl, 0, sizeof(bl));
	memset(t17, 0, sizeof(t17));
	t17[0x0c - 4] = 0x00;
	t17[0x0d - 4] = 0x10; /* 4096 MB */
	for (i = 0; i < SMBIOS_MAX_MEMS + 10; i++)
		add(&bl, 17, t17, sizeof(t17), NULL);
	assert_int_equal(parse_exact(bl.b, bl.n, 3, 0, &in),
	                 SMBIOS_MAX_MEMS + 10);
	assert_int_equal(in.nmem, SMBIOS_MAX_MEMS);
	assert_int_equal(in.mem[SMBIOS_MAX_MEMS - 1].slot, SMBIOS_MAX_MEMS);
	assert_int_equal(in.mem[SMBIOS_MAX_MEMS - 1].size_mb, 4096);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_laptop),
	    cmocka_unit_test(test_rsmb),
	    cmocka_unit_test(test_old_versions),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_truncated_and_corrupt),
	    cmocka_unit_test(test_many_slots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
