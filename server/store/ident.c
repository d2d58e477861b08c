/*
 * ident: a PC's identity from its GLPI inventory, and when two are one.
 */
#include "ident.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

static const char *
str_at(json_t *o, const char *section, const char *key)
{
	const char *v = json_string_value(
	    json_object_get(json_object_get(o, section), key));

	return v ? v : "";
}

/* Whether s holds nothing but c, '-', ':' and spaces (and some c). */
static int
only(const char *s, char c)
{
	int seen = 0;

	for (; *s; s++) {
		if (*s == c || *s == (char)toupper((unsigned char)c))
			seen = 1;
		else if (*s != '-' && *s != ':' && *s != ' ')
			return 0;
	}
	return seen;
}

/* Serial numbers firmware ships unset. */
static int
filler(const char *s)
{
	static const char *const fillers[] = {
	    "to be filled by o.e.m.",
	    "default string",
	    "system serial number",
	    "not specified",
	    "not applicable",
	    "chassis serial number",
	    "none",
	    "n/a",
	    "0123456789",
	    "invalid",
	    "oem",
	    "unknown",
	};
	size_t i;

	for (i = 0; i < sizeof(fillers) / sizeof(fillers[0]); i++)
		if (strcasecmp(s, fillers[i]) == 0)
			return 1;
	return only(s, '0') || only(s, 'f');
}

static void
copy_lower(char *dst, size_t n, const char *src)
{
	size_t i;

	while (*src == ' ')
		src++;
	for (i = 0; src[i] && i + 1 < n; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	while (i > 0 && dst[i - 1] == ' ')
		i--;
	dst[i] = '\0';
}

/* A MAC as "aa:bb:cc:dd:ee:ff" in out[18], or -1 (malformed, null,
 * broadcast). Accepts ':' or '-' separators, any case. */
static int
mac_norm(const char *s, char out[18])
{
	int i;

	if (strlen(s) != 17)
		return -1;
	for (i = 0; i < 17; i++) {
		if (i % 3 == 2) {
			if (s[i] != ':' && s[i] != '-')
				return -1;
			out[i] = ':';
		} else if (!isxdigit((unsigned char)s[i]))
			return -1;
		else
			out[i] = (char)tolower((unsigned char)s[i]);
	}
	out[17] = '\0';
	return only(out, '0') || only(out, 'f') ? -1 : 0;
}

static int
mac_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
macs_from(json_t *content, char *out, size_t n)
{
	char macs[IDENT_MACS][18];
	size_t i, k = 0, o = 0;
	json_t *net;

	json_array_foreach(json_object_get(content, "networks"), i, net)
	{
		const char *m = json_string_value(json_object_get(net, "mac"));

		if (k < IDENT_MACS && m && mac_norm(m, macs[k]) == 0)
			k++;
	}
	qsort(macs, k, sizeof(macs[0]), mac_cmp);
	out[0] = '\0';
	for (i = 0; i < k; i++) {
		if (i > 0 && strcmp(macs[i], macs[i - 1]) == 0)
			continue;
		if (o + 19 > n)
			break;
		if (o)
			out[o++] = ',';
		memcpy(out + o, macs[i], 18);
		o += 17;
	}
}

void
ident_from_glpi(json_t *content, struct ident *out)
{
	copy_lower(out->uuid, sizeof(out->uuid),
	           str_at(content, "hardware", "uuid"));
	if (only(out->uuid, '0') || only(out->uuid, 'f'))
		out->uuid[0] = '\0';
	copy_lower(out->serial, sizeof(out->serial),
	           str_at(content, "bios", "ssn"));
	if (filler(out->serial))
		out->serial[0] = '\0';
	util_strlcpy(out->hostname, str_at(content, "hardware", "name"),
	             sizeof(out->hostname));
	macs_from(content, out->macs, sizeof(out->macs));
}

/* Whether the sorted lists a and b share a MAC. */
static int
macs_meet(const char *a, const char *b)
{
	int c;

	while (*a && *b) {
		if ((c = strncmp(a, b, 17)) == 0)
			return 1;
		if (c < 0)
			a += a[17] ? 18 : 17;
		else
			b += b[17] ? 18 : 17;
	}
	return 0;
}

int
ident_same(const struct ident *a, const struct ident *b)
{
	if (a->uuid[0] && b->uuid[0])
		return strcmp(a->uuid, b->uuid) == 0;
	if (a->hostname[0] == '\0' || strcasecmp(a->hostname, b->hostname))
		return 0;
	if (a->serial[0] && b->serial[0])
		return strcmp(a->serial, b->serial) == 0;
	return macs_meet(a->macs, b->macs);
}
