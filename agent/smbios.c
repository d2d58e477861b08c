/*
 * smbios: the SMBIOS structure table, read within its bounds (smbios.h).
 * Offsets are those of DMTF DSP0134 3.x; each is read only when the
 * structure's length covers it.
 */
#include "smbios.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* One structure: its formatted area and its string set. */
struct sstruct {
	const unsigned char *p; /* formatted area, p[1] bytes */
	size_t len;
	const unsigned char *str, *strend; /* strings, each NUL-terminated */
};

static int
get8(const struct sstruct *s, size_t off, unsigned *v)
{
	if (off + 1 > s->len)
		return -1;
	*v = s->p[off];
	return 0;
}

static int
get16(const struct sstruct *s, size_t off, unsigned *v)
{
	if (off + 2 > s->len)
		return -1;
	*v = (unsigned)s->p[off] | (unsigned)s->p[off + 1] << 8;
	return 0;
}

static int
get32(const struct sstruct *s, size_t off, uint32_t *v)
{
	if (off + 4 > s->len)
		return -1;
	*v = (uint32_t)s->p[off] | (uint32_t)s->p[off + 1] << 8 |
	     (uint32_t)s->p[off + 2] << 16 | (uint32_t)s->p[off + 3] << 24;
	return 0;
}

static int
ci_equal(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		int x = (unsigned char)*a, y = (unsigned char)*b;

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return 0;
	}
	return *a == *b;
}

/* Values firmware vendors leave in fields nobody filled in. */
static int
placeholder(const char *s)
{
	static const char *const junk[] = {"To Be Filled By O.E.M.",
	                                   "To Be Filled By O.E.M",
	                                   "Default string",
	                                   "Default",
	                                   "System Serial Number",
	                                   "System Product Name",
	                                   "System manufacturer",
	                                   "System Manufacturer",
	                                   "System Version",
	                                   "System SKU",
	                                   "System SKUNumber",
	                                   "Base Board Serial Number",
	                                   "Base Board Product Name",
	                                   "Chassis Serial Number",
	                                   "Chassis Manufacture",
	                                   "Not Specified",
	                                   "Not Applicable",
	                                   "Not Available",
	                                   "Not Provided",
	                                   "None",
	                                   "N/A",
	                                   "NA",
	                                   "Unknown",
	                                   "Undefined",
	                                   "O.E.M.",
	                                   "OEM",
	                                   "Type1ProductConfigId",
	                                   "Type2 - Board Serial Number",
	                                   "Type2 - Board Product Name",
	                                   "SKU",
	                                   "No Asset Tag",
	                                   "No Asset Information",
	                                   "Asset-1234567890",
	                                   "0123456789",
	                                   "123456789",
	                                   "1234567890",
	                                   "Serial",
	                                   "SerNum0",
	                                   "SerNum00",
	                                   "PartNum0",
	                                   "Manufacturer00",
	                                   "AssetTagNum0",
	                                   NULL};
	const char *c;
	int i;

	for (i = 0; junk[i]; i++)
		if (ci_equal(s, junk[i]))
			return 1;
	/* "00000000", "........", "-": nothing. */
	for (c = s; *c; c++)
		if (*c != '0' && *c != '.' && *c != '-' && *c != ' ')
			return 0;
	return 1;
}

/* Copies string number idx (1-based; 0 means none) of s into out. */
static void
get_str(const struct sstruct *s, size_t off, char *out, size_t n)
{
	const unsigned char *cur = s->str;
	unsigned idx, i = 1;
	size_t len, k = 0, start, end;

	out[0] = '\0';
	if (get8(s, off, &idx) == -1 || idx == 0)
		return;
	while (cur < s->strend) {
		len = 0;
		while (cur + len < s->strend && cur[len] != '\0')
			len++;
		if (i == idx)
			break;
		cur += len + 1;
		i++;
	}
	if (cur >= s->strend)
		return;
	for (start = 0; start < len && cur[start] == ' '; start++)
		;
	for (end = len; end > start && cur[end - 1] == ' '; end--)
		;
	for (i = (unsigned)start; i < end && k + 1 < n; i++)
		out[k++] = cur[i] >= 0x20 && cur[i] < 0x7f ? (char)cur[i] : '?';
	out[k] = '\0';
	if (placeholder(out))
		out[0] = '\0';
}

/* BIOS dates are MM/DD/YYYY (MM/DD/YY before SMBIOS 2.3). */
static void
get_date(const struct sstruct *s, size_t off, char *out, size_t n)
{
	char raw[SMBIOS_STR];
	int m, d, y, len = 0;

	out[0] = '\0';
	get_str(s, off, raw, sizeof(raw));
	if (sscanf(raw, "%2d/%2d/%4d%n", &m, &d, &y, &len) != 3 ||
	    raw[len] != '\0')
		return;
	if (len == 8) /* two-digit year */
		y += y < 80 ? 2000 : 1900;
	if (y < 1980 || y > 2999 || m < 1 || m > 12 || d < 1 || d > 31)
		return;
	snprintf(out, n, "%04d-%02d-%02d", y, m, d);
}

static void
get_uuid(const struct sstruct *s, const struct smbios_info *in, char *out,
         size_t n)
{
	const unsigned char *u;
	int i, zero = 1, ones = 1;

	out[0] = '\0';
	if (0x08 + 16 > s->len)
		return;
	u = s->p + 0x08;
	for (i = 0; i < 16; i++) {
		zero &= u[i] == 0x00;
		ones &= u[i] == 0xff;
	}
	if (zero || ones)
		return;
	/* Since 2.6 the first three fields are little-endian (as Windows and
	 * dmidecode print them); before, big-endian. */
	if (in->major == 0 || in->major > 2 ||
	    (in->major == 2 && in->minor >= 6))
		snprintf(out, n,
		         "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-"
		         "%02X%02X%02X%02X%02X%02X",
		         u[3], u[2], u[1], u[0], u[5], u[4], u[7], u[6], u[8],
		         u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	else
		snprintf(out, n,
		         "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-"
		         "%02X%02X%02X%02X%02X%02X",
		         u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8],
		         u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static const char *
chassis_name(unsigned t)
{
	static const char *const names[] = {NULL,
	                                    "Other",
	                                    NULL, /* Unknown */
	                                    "Desktop",
	                                    "Low Profile Desktop",
	                                    "Pizza Box",
	                                    "Mini Tower",
	                                    "Tower",
	                                    "Portable",
	                                    "Laptop",
	                                    "Notebook",
	                                    "Hand Held",
	                                    "Docking Station",
	                                    "All in One",
	                                    "Sub Notebook",
	                                    "Space-saving",
	                                    "Lunch Box",
	                                    "Main Server Chassis",
	                                    "Expansion Chassis",
	                                    "SubChassis",
	                                    "Bus Expansion Chassis",
	                                    "Peripheral Chassis",
	                                    "RAID Chassis",
	                                    "Rack Mount Chassis",
	                                    "Sealed-case PC",
	                                    "Multi-system chassis",
	                                    "Compact PCI",
	                                    "Advanced TCA",
	                                    "Blade",
	                                    "Blade Enclosure",
	                                    "Tablet",
	                                    "Convertible",
	                                    "Detachable",
	                                    "IoT Gateway",
	                                    "Embedded PC",
	                                    "Mini PC",
	                                    "Stick PC"};

	t &= 0x7f; /* bit 7: chassis lock present */
	return t < sizeof(names) / sizeof(names[0]) ? names[t] : NULL;
}

static const char *
mem_type(unsigned t)
{
	static const struct {
		unsigned code;
		const char *name;
	} types[] = {{0x03, "DRAM"},   {0x04, "EDRAM"},  {0x05, "VRAM"},
	             {0x06, "SRAM"},   {0x07, "RAM"},    {0x08, "ROM"},
	             {0x09, "Flash"},  {0x0a, "EEPROM"}, {0x0b, "FEPROM"},
	             {0x0c, "EPROM"},  {0x0d, "CDRAM"},  {0x0e, "3DRAM"},
	             {0x0f, "SDRAM"},  {0x10, "SGRAM"},  {0x11, "RDRAM"},
	             {0x12, "DDR"},    {0x13, "DDR2"},   {0x14, "DDR2 FB-DIMM"},
	             {0x18, "DDR3"},   {0x19, "FBD2"},   {0x1a, "DDR4"},
	             {0x1b, "LPDDR"},  {0x1c, "LPDDR2"}, {0x1d, "LPDDR3"},
	             {0x1e, "LPDDR4"}, {0x20, "HBM"},    {0x21, "HBM2"},
	             {0x22, "DDR5"},   {0x23, "LPDDR5"}, {0x24, "HBM3"}};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].code == t)
			return types[i].name;
	return NULL;
}

static const char *
mem_formfactor(unsigned f)
{
	static const char *const names[] = {
	    NULL,      "Other",  NULL, /* Unknown */
	    "SIMM",    "SIP",    "Chip",
	    "DIP",     "ZIP",    "Proprietary Card",
	    "DIMM",    "TSOP",   "Row of chips",
	    "RIMM",    "SODIMM", "SRIMM",
	    "FB-DIMM", "Die"};

	return f < sizeof(names) / sizeof(names[0]) ? names[f] : NULL;
}

static void
parse_bios(const struct sstruct *s, struct smbios_info *in)
{
	get_str(s, 0x04, in->bios_vendor, sizeof(in->bios_vendor));
	get_str(s, 0x05, in->bios_version, sizeof(in->bios_version));
	get_date(s, 0x08, in->bios_date, sizeof(in->bios_date));
}

static void
parse_system(const struct sstruct *s, struct smbios_info *in)
{
	get_str(s, 0x04, in->sys_manufacturer, sizeof(in->sys_manufacturer));
	get_str(s, 0x05, in->sys_product, sizeof(in->sys_product));
	get_str(s, 0x06, in->sys_version, sizeof(in->sys_version));
	get_str(s, 0x07, in->sys_serial, sizeof(in->sys_serial));
	get_uuid(s, in, in->sys_uuid, sizeof(in->sys_uuid));
	get_str(s, 0x19, in->sys_sku, sizeof(in->sys_sku));
	get_str(s, 0x1a, in->sys_family, sizeof(in->sys_family));
}

static void
parse_board(const struct sstruct *s, struct smbios_info *in)
{
	/* The first baseboard is the motherboard; later ones are add-ons. */
	if (in->board_manufacturer[0] || in->board_product[0] ||
	    in->board_serial[0])
		return;
	get_str(s, 0x04, in->board_manufacturer,
	        sizeof(in->board_manufacturer));
	get_str(s, 0x05, in->board_product, sizeof(in->board_product));
	get_str(s, 0x07, in->board_serial, sizeof(in->board_serial));
}

static void
parse_chassis(const struct sstruct *s, struct smbios_info *in)
{
	unsigned t;

	if (in->chassis_type || in->chassis_manufacturer[0])
		return;
	get_str(s, 0x04, in->chassis_manufacturer,
	        sizeof(in->chassis_manufacturer));
	if (get8(s, 0x05, &t) == 0)
		in->chassis_type = chassis_name(t);
	get_str(s, 0x07, in->chassis_serial, sizeof(in->chassis_serial));
	get_str(s, 0x08, in->chassis_asset, sizeof(in->chassis_asset));
}

/* A core or thread count: the byte, or the 16-bit field that replaces it
 * when the byte says 0xff (SMBIOS 3.0). */
static int
get_count(const struct sstruct *s, size_t off8, size_t off16)
{
	unsigned v, w;

	if (get8(s, off8, &v) == -1)
		return 0;
	if (v == 0xff && get16(s, off16, &w) == 0 && w != 0 && w != 0xffff)
		return (int)w;
	return (int)v;
}

static void
parse_cpu(const struct sstruct *s, struct smbios_info *in)
{
	struct smbios_cpu *c;
	unsigned v;
	int i;

	/* Status bit 6: socket populated. */
	if (get8(s, 0x18, &v) == 0 && !(v & 0x40))
		return;
	if (in->ncpu == SMBIOS_MAX_CPUS)
		return;
	c = &in->cpu[in->ncpu++];
	get_str(s, 0x04, c->socket, sizeof(c->socket));
	get_str(s, 0x07, c->manufacturer, sizeof(c->manufacturer));
	get_str(s, 0x10, c->version, sizeof(c->version));
	get_str(s, 0x20, c->serial, sizeof(c->serial));
	if (0x08 + 8 <= s->len) {
		for (i = 0, v = 0; i < 8; i++)
			v |= s->p[0x08 + i];
		if (v != 0)
			snprintf(c->id, sizeof(c->id),
			         "%02X %02X %02X %02X %02X %02X %02X %02X",
			         s->p[0x08], s->p[0x09], s->p[0x0a], s->p[0x0b],
			         s->p[0x0c], s->p[0x0d], s->p[0x0e],
			         s->p[0x0f]);
	}
	if (get16(s, 0x12, &v) == 0)
		c->external_clock = (int)v;
	if (get16(s, 0x14, &v) == 0)
		c->max_speed = (int)v;
	if (get16(s, 0x16, &v) == 0)
		c->current_speed = (int)v;
	c->cores = get_count(s, 0x23, 0x2a);
	c->cores_enabled = get_count(s, 0x24, 0x2c);
	c->threads = get_count(s, 0x25, 0x2e);
}

static void
parse_mem(const struct sstruct *s, struct smbios_info *in, int slot)
{
	struct smbios_mem *m;
	unsigned v;
	uint32_t ext;

	if (in->nmem == SMBIOS_MAX_MEMS)
		return;
	m = &in->mem[in->nmem++];
	m->slot = slot;
	if (get16(s, 0x0c, &v) == 0) {
		if (v == 0xffff)
			m->size_mb = -1; /* unknown */
		else if (v == 0x7fff && get32(s, 0x1c, &ext) == 0)
			m->size_mb = ext & 0x7fffffff;
		else if (v & 0x8000) /* kilobytes */
			m->size_mb = (v & 0x7fff) / 1024;
		else
			m->size_mb = v;
	} else
		m->size_mb = -1;
	if (get8(s, 0x0e, &v) == 0)
		m->formfactor = mem_formfactor(v);
	get_str(s, 0x10, m->locator, sizeof(m->locator));
	get_str(s, 0x11, m->bank, sizeof(m->bank));
	if (get8(s, 0x12, &v) == 0)
		m->type = mem_type(v);
	if (get16(s, 0x15, &v) == 0 && v != 0) {
		if (v == 0xffff && get32(s, 0x54, &ext) == 0)
			m->speed = (int)(ext & 0x7fffffff);
		else if (v != 0xffff)
			m->speed = (int)v;
	}
	get_str(s, 0x17, m->manufacturer, sizeof(m->manufacturer));
	get_str(s, 0x18, m->serial, sizeof(m->serial));
	get_str(s, 0x1a, m->part, sizeof(m->part));
}

int
smbios_parse(const void *table, size_t len, int major, int minor,
             struct smbios_info *out)
{
	const unsigned char *p = table, *end, *q;
	struct sstruct s;
	int slot = 0;

	memset(out, 0, sizeof(*out));
	out->major = major;
	out->minor = minor;
	if (table == NULL)
		return 0;
	end = p + len;
	while (end - p >= 4) {
		s.p = p;
		s.len = p[1];
		if (s.len < 4 || s.len > (size_t)(end - p))
			break;
		/* The string set ends with two NULs; it is at least those. */
		s.str = p + s.len;
		for (q = s.str; q + 1 < end && (q[0] != '\0' || q[1] != '\0');
		     q++)
			;
		if (q + 1 >= end)
			break;
		s.strend = q + 1;
		out->nstruct++;
		switch (p[0]) {
		case 0:
			parse_bios(&s, out);
			break;
		case 1:
			parse_system(&s, out);
			break;
		case 2:
			parse_board(&s, out);
			break;
		case 3:
			parse_chassis(&s, out);
			break;
		case 4:
			parse_cpu(&s, out);
			break;
		case 17:
			parse_mem(&s, out, ++slot);
			break;
		default:
			break;
		}
		if (p[0] == 127) /* end of table */
			break;
		p = q + 2;
	}
	return out->nstruct;
}

int
smbios_parse_rsmb(const void *blob, size_t len, struct smbios_info *out)
{
	const unsigned char *b = blob;
	uint32_t tlen;

	memset(out, 0, sizeof(*out));
	if (blob == NULL || len < 8)
		return -1;
	tlen = (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 |
	       (uint32_t)b[7] << 24;
	if (tlen > len - 8)
		return -1;
	return smbios_parse(b + 8, tlen, b[1], b[2], out);
}
