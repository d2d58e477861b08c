/*
 * smbios: a portable, bounded parser of the SMBIOS structure table (DMTF
 * DSP0134), as Windows returns it from GetSystemFirmwareTable('RSMB') and
 * Linux exposes it in /sys/firmware/dmi/tables/DMI. It reads the BIOS
 * (type 0), the system (1), the baseboard (2), the chassis (3), the
 * processors (4) and the memory devices (17), and never reads a byte past
 * the buffer it is given, whatever the buffer holds: structures that claim
 * more than is there end the walk, fields beyond a structure's length are
 * absent (older SMBIOS versions have shorter structures).
 *
 * Strings come out trimmed, printable ASCII only (other bytes become '?'),
 * and empty when the firmware left a placeholder ("To Be Filled By
 * O.E.M.", "Default string", "System Serial Number"...), so that callers
 * can leave the field out.
 */
#ifndef MUTU_SMBIOS_H
#define MUTU_SMBIOS_H

#include <stddef.h>

#define SMBIOS_STR      65 /* 64 characters and the NUL */
#define SMBIOS_MAX_CPUS 16
#define SMBIOS_MAX_MEMS 64

struct smbios_cpu {
	char socket[SMBIOS_STR];       /* "CPU 1" */
	char manufacturer[SMBIOS_STR]; /* "Intel(R) Corporation" */
	char version[SMBIOS_STR];      /* the model name */
	char serial[SMBIOS_STR];
	char id[24];        /* the 8 ID bytes, "E3 06 04 00 FF FB EB BF" */
	int external_clock; /* MHz, 0 if unknown */
	int max_speed;      /* MHz, 0 if unknown */
	int current_speed;  /* MHz, 0 if unknown */
	int cores;          /* 0 if unknown */
	int cores_enabled;  /* 0 if unknown */
	int threads;        /* 0 if unknown */
};

struct smbios_mem {
	int slot;                      /* 1-based position among type 17s */
	long long size_mb;             /* 0: empty slot */
	char locator[SMBIOS_STR];      /* "DIMM 0" */
	char bank[SMBIOS_STR];         /* "BANK 0" */
	char manufacturer[SMBIOS_STR]; /* "Samsung" */
	char serial[SMBIOS_STR];
	char part[SMBIOS_STR];  /* part number: the model */
	const char *type;       /* "DDR4", or NULL (static string) */
	const char *formfactor; /* "SODIMM", or NULL (static string) */
	int speed;              /* MT/s, 0 if unknown */
};

struct smbios_info {
	int major, minor; /* SMBIOS version, 0 if unknown */
	/* type 0 */
	char bios_vendor[SMBIOS_STR];
	char bios_version[SMBIOS_STR];
	char bios_date[11]; /* "YYYY-MM-DD", "" if absent or invalid */
	/* type 1 */
	char sys_manufacturer[SMBIOS_STR];
	char sys_product[SMBIOS_STR];
	char sys_version[SMBIOS_STR];
	char sys_serial[SMBIOS_STR];
	char sys_sku[SMBIOS_STR];
	char sys_family[SMBIOS_STR];
	char sys_uuid[37]; /* "4C4C4544-0034-3010-8048-B6C04F503732" */
	/* type 2 */
	char board_manufacturer[SMBIOS_STR];
	char board_product[SMBIOS_STR];
	char board_serial[SMBIOS_STR];
	/* type 3 */
	char chassis_manufacturer[SMBIOS_STR];
	char chassis_serial[SMBIOS_STR];
	char chassis_asset[SMBIOS_STR];
	const char *chassis_type; /* "Notebook", or NULL (static string) */
	/* type 4, populated sockets only */
	struct smbios_cpu cpu[SMBIOS_MAX_CPUS];
	int ncpu;
	/* type 17, every slot (size_mb 0 for an empty one) */
	struct smbios_mem mem[SMBIOS_MAX_MEMS];
	int nmem;
	int nstruct; /* structures walked */
};

/* Parses the structure table (len bytes at table) of SMBIOS version
 * major.minor into *out, which it clears first. Returns the number of
 * structures read (0 for an empty or unreadable table). */
int smbios_parse(const void *table, size_t len, int major, int minor,
                 struct smbios_info *out);

/* Parses what GetSystemFirmwareTable('RSMB') returns: the 8-byte
 * RawSMBIOSData header (calling method, major, minor, DMI revision, a
 * 32-bit little-endian table length) followed by the table. Returns the
 * number of structures read, or -1 if the header is missing or claims more
 * than len bytes. */
int smbios_parse_rsmb(const void *blob, size_t len, struct smbios_info *out);

#endif
