/*
 * ocsxml: OCS Inventory protocol XML to the GLPI inventory format.
 */
#include "ocsxml.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "util.h"

#define MAX_DEPTH 32
#define MAX_TEXT  255         /* bytes of a text field kept */
#define MAX_ARCH  64          /* bytes of an arch */
#define MAX_INT   (1LL << 50) /* beyond: not a size, left out */

enum kind { K_STR, K_INT, K_BOOL, K_DATE, K_WORD };

/* One XML field of a section and its GLPI name and type; a K_WORD is
 * one of the words of allowed ("|up|down|"), in any case, or left out. */
struct field {
	const char *xml, *glpi;
	enum kind kind;
	const char *allowed;
};

/* One section: its XML element, its GLPI key, whether it repeats (an
 * array in GLPI, one element per entry in XML) and its fields. Sections
 * and fields not listed are left out; so are the logins of users
 * (LASTLOGGEDUSER, USERS): mutu keeps people pseudonymous. */
struct section {
	const char *xml, *glpi;
	int list;
	const struct field *fields;
};

static const struct field hardware[] = {
    {"NAME", "name", K_STR, NULL},
    {"UUID", "uuid", K_STR, NULL},
    {"MEMORY", "memory", K_INT, NULL},
    {"SWAP", "swap", K_INT, NULL},
    {"WORKGROUP", "workgroup", K_STR, NULL},
    {"DNS", "dns", K_STR, NULL},
    {"DEFAULTGATEWAY", "defaultgateway", K_STR, NULL},
    {"VMSYSTEM", "vmsystem", K_STR, NULL},
    {"CHASSIS_TYPE", "chassis_type", K_STR, NULL},
    {"DESCRIPTION", "description", K_STR, NULL},
    {"WINPRODID", "winprodid", K_STR, NULL},
    {"WINLANG", "winlang", K_STR, NULL},
    {NULL, NULL, K_STR, NULL},
};
static const struct field os[] = {
    {"FULL_NAME", "full_name", K_STR, NULL},
    {"NAME", "name", K_STR, NULL},
    {"VERSION", "version", K_STR, NULL},
    {"KERNEL_NAME", "kernel_name", K_STR, NULL},
    {"KERNEL_VERSION", "kernel_version", K_STR, NULL},
    {"ARCH", "arch", K_STR, NULL},
    {"FQDN", "fqdn", K_STR, NULL},
    {"DNS_DOMAIN", "dns_domain", K_STR, NULL},
    {"SERVICE_PACK", "service_pack", K_STR, NULL},
    {"HOSTID", "hostid", K_STR, NULL},
    {NULL, NULL, K_STR, NULL},
};
static const struct field bios[] = {
    {"SSN", "ssn", K_STR, NULL},
    {"SMANUFACTURER", "smanufacturer", K_STR, NULL},
    {"SMODEL", "smodel", K_STR, NULL},
    {"BMANUFACTURER", "bmanufacturer", K_STR, NULL},
    {"BVERSION", "bversion", K_STR, NULL},
    {"BDATE", "bdate", K_DATE, NULL},
    {"MMANUFACTURER", "mmanufacturer", K_STR, NULL},
    {"MMODEL", "mmodel", K_STR, NULL},
    {"MSN", "msn", K_STR, NULL},
    {"SKUNUMBER", "skunumber", K_STR, NULL},
    {"ASSETTAG", "assettag", K_STR, NULL},
    {NULL, NULL, K_STR, NULL},
};
static const struct field softwares[] = {
    {"NAME", "name", K_STR, NULL},
    {"VERSION", "version", K_STR, NULL},
    {"PUBLISHER", "publisher", K_STR, NULL},
    {"ARCH", "arch", K_STR, NULL},
    {"COMMENTS", "comments", K_STR, NULL},
    {"FROM", "from", K_STR, NULL},
    {"GUID", "guid", K_STR, NULL},
    {"FOLDER", "folder", K_STR, NULL},
    {"HELPLINK", "helplink", K_STR, NULL},
    {"URL_INFO_ABOUT", "url_info_about", K_STR, NULL},
    {"SYSTEM_CATEGORY", "system_category", K_STR, NULL},
    {"FILESIZE", "filesize", K_INT, NULL},
    {"INSTALLDATE", "install_date", K_DATE, NULL},
    {NULL, NULL, K_STR, NULL},
};
static const struct field networks[] = {
    {"DESCRIPTION", "description", K_STR, NULL},
    {"MACADDR", "mac", K_STR, NULL},
    {"IPADDRESS", "ipaddress", K_STR, NULL},
    {"IPADDRESS6", "ipaddress6", K_STR, NULL},
    {"IPMASK", "ipmask", K_STR, NULL},
    {"IPGATEWAY", "ipgateway", K_STR, NULL},
    {"IPSUBNET", "ipsubnet", K_STR, NULL},
    {"IPDHCP", "ipdhcp", K_STR, NULL},
    {"STATUS", "status", K_WORD,
     "|up|down|dormant|notpresent|lowerlayerdown|unknown|testing|"},
    {"TYPE", "type", K_WORD,
     "|ethernet|wifi|infiniband|aggregate|alias|dialup|loopback|bridge|"
     "fibrechannel|bluetooth|"},
    {"VIRTUALDEV", "virtualdev", K_BOOL, NULL},
    {"SPEED", "speed", K_STR, NULL},
    {"DRIVER", "driver", K_STR, NULL},
    {"MTU", "mtu", K_INT, NULL},
    {"MANUFACTURER", "manufacturer", K_STR, NULL},
    {"MODEL", "model", K_STR, NULL},
    {"PCIID", "pciid", K_STR, NULL},
    {NULL, NULL, K_STR, NULL},
};
static const struct field cpus[] = {
    {"NAME", "name", K_STR, NULL},
    {"MANUFACTURER", "manufacturer", K_STR, NULL},
    {"CORE", "core", K_INT, NULL},
    {"THREAD", "thread", K_INT, NULL},
    {"SPEED", "speed", K_INT, NULL},
    {"FAMILYNUMBER", "familynumber", K_STR, NULL},
    {"MODEL", "model", K_STR, NULL},
    {"STEPPING", "stepping", K_INT, NULL},
    {"ID", "id", K_STR, NULL},
    {NULL, NULL, K_STR, NULL},
};
static const struct field memories[] = {
    {"CAPACITY", "capacity", K_INT, NULL},
    {"CAPTION", "caption", K_STR, NULL},
    {"DESCRIPTION", "description", K_STR, NULL},
    {"TYPE", "type", K_STR, NULL},
    {"SPEED", "speed", K_STR, NULL},
    {"SERIALNUMBER", "serialnumber", K_STR, NULL},
    {"NUMSLOTS", "numslots", K_INT, NULL},
    {"MANUFACTURER", "manufacturer", K_STR, NULL},
    {"MODEL", "model", K_STR, NULL},
    {NULL, NULL, K_STR, NULL},
};
static const struct field storages[] = {
    {"NAME", "name", K_STR, NULL},
    {"MODEL", "model", K_STR, NULL},
    {"MANUFACTURER", "manufacturer", K_STR, NULL},
    {"DESCRIPTION", "description", K_STR, NULL},
    {"DISKSIZE", "disksize", K_INT, NULL},
    {"SERIALNUMBER", "serial", K_STR, NULL},
    {"TYPE", "type", K_STR, NULL},
    {"INTERFACE", "interface", K_STR, NULL},
    {"FIRMWARE", "firmware", K_STR, NULL},
    {NULL, NULL, K_STR, NULL},
};
static const struct field drives[] = {
    {"VOLUMN", "volumn", K_STR, NULL},
    {"TYPE", "type", K_STR, NULL},
    {"FILESYSTEM", "filesystem", K_STR, NULL},
    {"TOTAL", "total", K_INT, NULL},
    {"FREE", "free", K_INT, NULL},
    {"LABEL", "label", K_STR, NULL},
    {"LETTER", "letter", K_STR, NULL},
    {"SERIAL", "serial", K_STR, NULL},
    {"DESCRIPTION", "description", K_STR, NULL},
    {NULL, NULL, K_STR, NULL},
};

static const struct section sections[] = {
    {"HARDWARE", "hardware", 0, hardware},
    {"OPERATINGSYSTEM", "operatingsystem", 0, os},
    {"BIOS", "bios", 0, bios},
    {"SOFTWARES", "softwares", 1, softwares},
    {"NETWORKS", "networks", 1, networks},
    {"CPUS", "cpus", 1, cpus},
    {"MEMORIES", "memories", 1, memories},
    {"STORAGES", "storages", 1, storages},
    {"DRIVES", "drives", 1, drives},
};
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

void
ocsxml_init(void)
{
	xmlInitParser();
}

static int
named(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
	       strcmp((const char *)n->name, name) == 0;
}

/* The first child element of n named name, or NULL. */
static xmlNode *
child(const xmlNode *n, const char *name)
{
	xmlNode *c;

	for (c = n ? n->children : NULL; c; c = c->next)
		if (named(c, name))
			return c;
	return NULL;
}

/* Whether v has the shape of pat: 'd' a digit, any other byte itself. */
static int
match(const char *v, const char *pat)
{
	for (; *pat; v++, pat++)
		if (*pat == 'd' ? !isdigit((unsigned char)*v) : *v != *pat)
			return 0;
	return *v == '\0';
}

/* The n digits at v as a number. */
static unsigned
num(const char *v, int n)
{
	unsigned x = 0;

	while (n-- > 0)
		x = x * 10 + (unsigned)(*v++ - '0');
	return x;
}

/* A date as the GLPI format has it (YYYY-MM-DD), from that or from
 * DD/MM/YYYY (FusionInventory's software dates) or MM/DD/YYYY (BIOS
 * dates); -1 when it is neither. */
static int
iso_date(const char *v, int month_first, char out[32])
{
	unsigned a, b, y;

	/* YYYY-MM-DD, or DD/MM/YYYY (MM/DD/YYYY): digits where digits go */
	if (match(v, "dddd-dd-dd")) {
		y = num(v, 4), a = num(v + 5, 2), b = num(v + 8, 2);
	} else if (match(v, "dd/dd/dddd")) {
		b = num(v, 2), a = num(v + 3, 2), y = num(v + 6, 4);
		if (month_first) {
			unsigned t = a;
			a = b;
			b = t;
		}
	} else
		return -1;
	if (y < 1900 || a < 1 || a > 12 || b < 1 || b > 31)
		return -1;
	snprintf(out, 32, "%04u-%02u-%02u", y, a, b);
	return 0;
}

/* Whether v, lowercased into out, is one of the words of allowed. */
static int
word_in(const char *v, const char *allowed, char *out, size_t n)
{
	char pat[40];
	size_t i;

	for (i = 0; v[i] && i + 1 < n; i++)
		out[i] = (char)tolower((unsigned char)v[i]);
	out[i] = '\0';
	if (i == 0 || v[i] || strchr(out, '|'))
		return 0;
	snprintf(pat, sizeof(pat), "|%s|", out);
	return strstr(allowed, pat) != NULL;
}

/* The length of v cut to at most max bytes, on a character boundary
 * (mutu's ingest takes names and versions of 255 bytes, arch of 64). */
static size_t
utf8_cut(const char *v, size_t max)
{
	size_t n = strlen(v);

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)v[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* Sets obj[f->glpi] from the text v as its type says; a value that is
 * not of its type is left out. -1 on out of memory. */
static int
set_field(json_t *obj, const struct field *f, const char *v, int bios_date)
{
	json_t *j = NULL;
	char date[32], *end;
	long long n;

	switch (f->kind) {
	case K_STR:
		/* NULL also for invalid UTF-8: left out */
		j = json_stringn(v, utf8_cut(v, strcmp(f->glpi, "arch") == 0
		                                    ? MAX_ARCH
		                                    : MAX_TEXT));
		return j == NULL ? 0 : json_object_set_new(obj, f->glpi, j);
	case K_INT:
		errno = 0;
		n = strtoll(v, &end, 10);
		if (end == v || *end != '\0' || errno || n < 0 || n > MAX_INT)
			return 0;
		j = json_integer(n);
		break;
	case K_BOOL:
		if (strcmp(v, "1") && strcmp(v, "0"))
			return 0;
		j = json_boolean(v[0] == '1');
		break;
	case K_DATE:
		if (iso_date(v, bios_date, date) == -1)
			return 0;
		j = json_string(date);
		break;
	case K_WORD:
		if (!word_in(v, f->allowed, date, sizeof(date)))
			return 0;
		j = json_string(date);
		break;
	}
	return j == NULL ? -1 : json_object_set_new(obj, f->glpi, j);
}

/* The GLPI object of one XML section element. NULL: out of memory. */
static json_t *
section_obj(const xmlNode *el, const struct section *s)
{
	json_t *obj = json_object();
	const struct field *f;
	xmlNode *c;
	xmlChar *v;
	int rc;

	for (c = el->children; obj && c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		for (f = s->fields; f->xml && !named(c, f->xml); f++)
			;
		if (f->xml == NULL || json_object_get(obj, f->glpi))
			continue;
		if ((v = xmlNodeGetContent(c)) == NULL)
			goto fail;
		rc = set_field(obj, f, (const char *)v, s->fields == bios);
		xmlFree(v);
		if (rc == -1)
			goto fail;
	}
	return obj;
fail:
	json_decref(obj);
	return NULL;
}

/* The OCS agent names Debian's multi-arch packages as dpkg does
 * ("libc6:amd64") with no ARCH: the name and the arch as FusionInventory
 * and mutu-agent give them, so that one package has one name whichever
 * agent reports it. -1 on out of memory. */
static int
deb_arch(json_t *sw)
{
	const char *name = json_string_value(json_object_get(sw, "name"));
	const char *from = json_string_value(json_object_get(sw, "from"));
	const char *colon = name ? strrchr(name, ':') : NULL;
	json_t *base, *arch;

	if (colon == NULL || from == NULL || strcmp(from, "deb") != 0 ||
	    json_object_get(sw, "arch") || colon == name || colon[1] == '\0' ||
	    strspn(colon + 1, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
	        strlen(colon + 1))
		return 0;
	base = json_stringn(name, (size_t)(colon - name));
	arch = json_string(colon + 1);
	if (base == NULL || arch == NULL ||
	    json_object_set_new(sw, "arch", arch) == -1) {
		json_decref(base);
		return -1;
	}
	return json_object_set_new(sw, "name", base);
}

/* Adds XML section element el to content. -1 on out of memory. */
static int
add_section(json_t *content, const xmlNode *el, const struct section *s)
{
	json_t *obj = section_obj(el, s), *list;

	if (obj == NULL)
		return -1;
	if (s->fields == softwares &&
	    json_string_length(json_object_get(obj, "name")) == 0) {
		json_decref(
		    obj); /* nameless (or not UTF-8): nothing to count */
		return 0;
	}
	if (s->fields == softwares && deb_arch(obj) == -1) {
		json_decref(obj);
		return -1;
	}
	/* the format requires a network's description */
	if (s->fields == networks && !json_object_get(obj, "description") &&
	    json_object_set_new(obj, "description", json_string("")) == -1) {
		json_decref(obj);
		return -1;
	}
	if (!s->list) {
		if (json_object_get(content, s->glpi)) {
			json_decref(obj); /* a second one: the first stands */
			return 0;
		}
		return json_object_set_new(content, s->glpi, obj);
	}
	if ((list = json_object_get(content, s->glpi)) == NULL) {
		if (json_object_set_new(content, s->glpi, json_array()) == -1) {
			json_decref(obj);
			return -1;
		}
		list = json_object_get(content, s->glpi);
	}
	return json_array_append_new(list, obj);
}

/* OCS agents name the system in HARDWARE (OSNAME, OSVERSION), with no
 * OPERATINGSYSTEM section: its full name from there. */
static int
os_from_hardware(json_t *content, const xmlNode *c)
{
	xmlNode *hw = child(c, "HARDWARE"), *n = child(hw, "OSNAME");
	json_t *osj, *name;
	xmlChar *v;
	int rc;

	if (json_object_get(content, "operatingsystem") || n == NULL)
		return 0;
	if ((v = xmlNodeGetContent(n)) == NULL)
		return -1;
	osj = json_object();
	name = json_string((char *)v); /* NULL also for invalid UTF-8 */
	rc = osj == NULL ? -1 : 0;
	if (osj && name)
		rc = json_object_set_new(osj, "full_name", name);
	else
		json_decref(name);
	xmlFree(v);
	if (rc == -1) {
		json_decref(osj);
		return -1;
	}
	return json_object_set_new(content, "operatingsystem", osj);
}

/* The GLPI content of CONTENT element c; NULL: out of memory. */
static json_t *
convert(const xmlNode *c)
{
	json_t *content = json_object();
	xmlNode *el;
	xmlChar *v;
	size_t i;

	for (el = c->children; content && el; el = el->next) {
		if (el->type != XML_ELEMENT_NODE)
			continue;
		for (i = 0; i < NSECTIONS && !named(el, sections[i].xml); i++)
			;
		if (i < NSECTIONS && add_section(content, el, &sections[i]))
			goto fail;
		if (!named(el, "VERSIONCLIENT"))
			continue;
		if ((v = xmlNodeGetContent(el)) == NULL)
			goto fail;
		json_object_set_new(content, "versionclient",
		                    json_string((char *)v));
		xmlFree(v);
	}
	if (content && os_from_hardware(content, c) == -1)
		goto fail;
	if (content && json_object_get(content, "versionclient") == NULL)
		json_object_set_new(content, "versionclient",
		                    json_string("unknown"));
	return content;
fail:
	json_decref(content);
	return NULL;
}

static int
too_deep(const xmlNode *n, int depth)
{
	const xmlNode *c;

	if (depth > MAX_DEPTH)
		return 1;
	for (c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && too_deep(c, depth + 1))
			return 1;
	return 0;
}

/* Copies the text of REQUEST's child name into out (printable ASCII and
 * UTF-8, trimmed); -1 when it is missing or empty. */
static int
request_text(const xmlNode *req, const char *name, char *out, size_t n)
{
	xmlNode *c = child(req, name);
	xmlChar *v;
	size_t i, k = 0;

	if (c == NULL || (v = xmlNodeGetContent(c)) == NULL)
		return -1;
	for (i = 0; v[i] == ' '; i++)
		;
	for (; v[i] && k + 1 < n; i++)
		if (v[i] >= 0x20 && v[i] != 0x7f)
			out[k++] = (char)v[i];
	while (k > 0 && out[k - 1] == ' ')
		k--;
	out[k] = '\0';
	k = v[i] ? 0 : k; /* too long: refused rather than cut */
	xmlFree(v);
	return k ? 0 : -1;
}

static int
read_request(xmlDoc *doc, struct ocsxml_msg *out, char *err, size_t errlen)
{
	xmlNode *req = xmlDocGetRootElement(doc);

	if (doc->intSubset || doc->extSubset) {
		snprintf(err, errlen, "XML with a DOCTYPE is refused");
		return -1;
	}
	if (req == NULL || !named(req, "REQUEST")) {
		snprintf(err, errlen, "XML root element must be REQUEST");
		return -1;
	}
	if (too_deep(req, 1)) {
		snprintf(err, errlen, "XML nested past %d levels", MAX_DEPTH);
		return -1;
	}
	if (request_text(req, "QUERY", out->query_name,
	                 sizeof(out->query_name)) == -1 ||
	    request_text(req, "DEVICEID", out->deviceid,
	                 sizeof(out->deviceid)) == -1) {
		snprintf(err, errlen,
		         "REQUEST needs QUERY and DEVICEID (up to "
		         "255 bytes)");
		return -1;
	}
	out->query = strcasecmp(out->query_name, "PROLOG") == 0 ? OCSXML_PROLOG
	             : strcasecmp(out->query_name, "INVENTORY") == 0
	                 ? OCSXML_INVENTORY
	                 : OCSXML_OTHER;
	if (out->query != OCSXML_INVENTORY)
		return 0;
	if (child(req, "CONTENT") == NULL) {
		snprintf(err, errlen, "INVENTORY without CONTENT");
		return -1;
	}
	if ((out->content = convert(child(req, "CONTENT"))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -2;
	}
	return 0;
}

int
ocsxml_parse(const char *xml, size_t len, struct ocsxml_msg *out, char *err,
             size_t errlen)
{
	xmlParserCtxtPtr ctx;
	const xmlError *e;
	xmlDoc *doc;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	/* refused before libxml2 reads any declaration */
	if (memmem(xml, len, "<!DOCTYPE", 9) ||
	    memmem(xml, len, "<!ENTITY", 8)) {
		snprintf(err, errlen, "XML with a DOCTYPE is refused");
		return -1;
	}
	if (len > (size_t)INT32_MAX) {
		snprintf(err, errlen, "XML too large");
		return -1;
	}
	if ((ctx = xmlNewParserCtxt()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -2;
	}
	/* no network, no entity expansion, no DTD loading */
	doc = xmlCtxtReadMemory(ctx, xml, (int)len, NULL, NULL,
	                        XML_PARSE_NONET | XML_PARSE_NOERROR |
	                            XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS);
	if (doc == NULL) {
		e = xmlCtxtGetLastError(ctx);
		snprintf(err, errlen, "malformed XML%s%s (line %d)",
		         e && e->message ? ": " : "",
		         e && e->message ? e->message : "", e ? e->line : 0);
		/* libxml2's messages end with a newline */
		if (strlen(err) > 0 && strchr(err, '\n'))
			*strchr(err, '\n') = ' ';
	} else
		rc = read_request(doc, out, err, errlen);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctx);
	if (rc < 0) {
		json_decref(out->content);
		out->content = NULL;
	}
	return rc;
}

char *
ocsxml_reply(const char *response, int prolog_freq)
{
	char *s = NULL;

	if (prolog_freq > 0) {
		if (asprintf(&s,
		             "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n"
		             "<REPLY><RESPONSE>%s</RESPONSE>"
		             "<PROLOG_FREQ>%d</PROLOG_FREQ></REPLY>\n",
		             response, prolog_freq) == -1)
			return NULL;
	} else if (asprintf(&s,
	                    "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n"
	                    "<REPLY><RESPONSE>%s</RESPONSE></REPLY>\n",
	                    response) == -1)
		return NULL;
	return s;
}
