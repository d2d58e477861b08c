#include "dpkg.h"

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define FIELD_MAX 1024

struct stanza {
	char name[256], version[256], arch[64], maint[FIELD_MAX];
	char section[128], summary[FIELD_MAX], status[128], size[32];
	int in_description;
};

static void
stanza_reset(struct stanza *s)
{
	memset(s, 0, sizeof(*s));
}

/* Status is "want flag state"; the package is there when state is
 * "installed" (a held package is "hold ok installed"). */
static int
installed(const struct stanza *s)
{
	const char *sp = strrchr(s->status, ' ');

	return sp != NULL && strcmp(sp + 1, "installed") == 0;
}

static int
emit(struct stanza *s, int (*cb)(const struct dpkg_pkg *, void *), void *arg)
{
	struct dpkg_pkg p;
	long long kb;

	if (s->name[0] == '\0' || !installed(s))
		return 0;
	p.name = s->name;
	p.version = s->version;
	p.arch = s->arch;
	p.maintainer = s->maint;
	p.section = s->section;
	p.summary = s->summary;
	p.installed_kb =
	    util_parse_ll(s->size, 0, 1LL << 40, &kb) == 0 ? kb : -1;
	return cb(&p, arg) == -1 ? -1 : 1;
}

static void
take(struct stanza *s, const char *key, const char *val)
{
	static const struct {
		const char *key;
		size_t off, size;
	} fields[] = {
	    {"Package", offsetof(struct stanza, name), 256},
	    {"Version", offsetof(struct stanza, version), 256},
	    {"Architecture", offsetof(struct stanza, arch), 64},
	    {"Maintainer", offsetof(struct stanza, maint), FIELD_MAX},
	    {"Section", offsetof(struct stanza, section), 128},
	    {"Description", offsetof(struct stanza, summary), FIELD_MAX},
	    {"Status", offsetof(struct stanza, status), 128},
	    {"Installed-Size", offsetof(struct stanza, size), 32},
	};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(key, fields[i].key) == 0) {
			util_strlcpy((char *)s + fields[i].off, val,
			             fields[i].size);
			return;
		}
}

int
dpkg_parse_status(FILE *fp, int (*cb)(const struct dpkg_pkg *, void *),
                  void *arg)
{
	struct stanza *s;
	char *line = NULL, *colon, *val;
	size_t cap = 0;
	ssize_t len;
	int count = 0, rc;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	while ((len = getline(&line, &cap, fp)) != -1) {
		while (len > 0 &&
		       (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0) {
			if ((rc = emit(s, cb, arg)) == -1)
				goto fail;
			count += rc;
			stanza_reset(s);
			continue;
		}
		if (line[0] == ' ' || line[0] == '\t')
			continue; /* continuation: long description, conffiles
			           */
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		for (val = colon + 1; *val == ' ' || *val == '\t'; val++)
			;
		take(s, line, val);
	}
	if (ferror(fp))
		goto fail;
	if ((rc = emit(s, cb, arg)) == -1)
		goto fail;
	count += rc;
	free(line);
	free(s);
	return count;
fail:
	free(line);
	free(s);
	return -1;
}

/* A path to look for, and the index of the caller's path it stands for. */
struct want {
	char *path;
	size_t idx;
};

static int
want_cmp(const void *a, const void *b)
{
	return strcmp(((const struct want *)a)->path,
	              ((const struct want *)b)->path);
}

static int
want_key_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct want *)elem)->path);
}

/* Builds the sorted lookup table: each path, plus its form without /usr
 * for paths under merged directories. */
static struct want *
build_wants(const char *const *paths, size_t n, size_t *count)
{
	static const char *const merged[] = {"/usr/bin/", "/usr/sbin/",
	                                     "/usr/lib/", "/usr/lib64/", NULL};
	struct want *w;
	size_t i, k = 0;
	int m;

	if ((w = calloc(2 * n + 1, sizeof(*w))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		w[k].path = (char *)(uintptr_t)paths[i];
		w[k++].idx = i;
		for (m = 0; merged[m] != NULL; m++)
			if (strncmp(paths[i], merged[m], strlen(merged[m])) ==
			    0) {
				w[k].path = (char *)(uintptr_t)(paths[i] + 4);
				w[k++].idx = i;
				break;
			}
	}
	qsort(w, k, sizeof(*w), want_cmp);
	*count = k;
	return w;
}

static void
package_of(const char *file, char *out, size_t n)
{
	char *p;

	util_strlcpy(out, file, n);
	if ((p = strrchr(out, '.')) != NULL)
		*p = '\0'; /* ".list" */
	if ((p = strchr(out, ':')) != NULL)
		*p = '\0'; /* ":amd64" */
}

static void
scan_list(FILE *fp, const char *file, struct want *w, size_t nw, char **owners,
          char **line, size_t *cap)
{
	struct want *hit;
	char pkg[256];
	ssize_t len;

	while ((len = getline(line, cap, fp)) != -1) {
		if (len > 0 && (*line)[len - 1] == '\n')
			(*line)[len - 1] = '\0';
		hit = bsearch(*line, w, nw, sizeof(*w), want_key_cmp);
		if (hit == NULL || owners[hit->idx] != NULL)
			continue;
		package_of(file, pkg, sizeof(pkg));
		owners[hit->idx] = strdup(pkg);
	}
}

int
dpkg_owners(const char *info_dir, const char *const *paths, size_t n,
            char **owners)
{
	struct want *w = NULL;
	struct dirent *de;
	char path[4096], *line = NULL;
	size_t nw = 0, cap = 0, len;
	DIR *d = NULL;
	FILE *fp;
	int rc = -1;

	if (n == 0)
		return 0;
	if ((w = build_wants(paths, n, &nw)) == NULL)
		goto fail;
	if ((d = opendir(info_dir)) == NULL)
		goto fail;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".list") != 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", info_dir,
		                     de->d_name) >= sizeof(path))
			continue;
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		scan_list(fp, de->d_name, w, nw, owners, &line, &cap);
		fclose(fp);
	}
	rc = 0;
fail:
	if (d)
		closedir(d);
	free(line);
	free(w);
	return rc;
}
