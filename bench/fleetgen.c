/*
 * fleetgen: the deterministic fleet (see fleetgen.h).
 */
#include "fleetgen.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* What a commune PC may have installed: name, publisher, version, program
 * path, and the chances that a machine has it and, if so, uses it. */
struct app {
	const char *name, *publisher, *version, *exe;
	double have, use;
};

/* Each group is a choice of at most one (office suites) or independent
 * entries (the rest). */
static const struct app win_office[] = {
    {"Microsoft Office Professional Plus 2019", "Microsoft Corporation",
     "16.0.10827.20138",
     "C:/Program Files/Microsoft Office/root/Office16/"
     "WINWORD.EXE",
     0.30, 0.95},
    {"Microsoft 365 Apps for enterprise - fr-fr", "Microsoft Corporation",
     "16.0.17029.20108",
     "C:/Program Files/Microsoft Office/root/Office16/"
     "EXCEL.EXE",
     0.20, 0.95},
    {"LibreOffice 7.6.4.1", "The Document Foundation", "7.6.4.1",
     "C:/Program Files/LibreOffice/program/soffice.exe", 0.50, 0.90},
};

static const struct app win_apps[] = {
    {"Mozilla Firefox (x64 fr)", "Mozilla", "120.0.1",
     "C:/Program Files/Mozilla Firefox/firefox.exe", 1.0, 0.98},
    {"Google Chrome", "Google LLC", "119.0.6045.200",
     "C:/Program Files/Google/Chrome/Application/chrome.exe", 0.40, 0.50},
    {"Mozilla Thunderbird (x64 fr)", "Mozilla", "115.5.0",
     "C:/Program Files/Mozilla Thunderbird/thunderbird.exe", 0.60, 0.90},
    {"Adobe Acrobat Reader DC - Français", "Adobe Systems Incorporated",
     "23.006.20380",
     "C:/Program Files/Adobe/Acrobat DC/Acrobat/"
     "Acrobat.exe",
     0.80, 0.60},
    {"Adobe Acrobat DC (64-bit)", "Adobe", "23.006.20380",
     "C:/Program Files/Adobe/Acrobat DC/Acrobat/Acrobat.exe", 0.10, 0.40},
    {"ESET Endpoint Security", "ESET, spol. s r.o.", "10.1.2058.0",
     "C:/Program Files/ESET/ESET Security/egui.exe", 0.60, 0.0},
    {"Kaspersky Endpoint Security for Windows", "AO Kaspersky Lab",
     "12.3.0.493", "C:/Program Files (x86)/Kaspersky Lab/avp.exe", 0.30, 0.0},
    {"e.magnus Gestion Financière", "Berger-Levrault", "7.20",
     "C:/emagnus/gf/gf.exe", 0.20, 0.85},
    {"Horizon Villages Cloud", "JVS-Mairistem", "24.1",
     "C:/Program Files (x86)/JVS/Horizon/horizon.exe", 0.25, 0.85},
    {"Siècle", "Logitud Solutions", "4.2", "C:/Logitud/Siecle/siecle.exe", 0.10,
     0.70},
    {"AutoCAD LT 2022 - Français", "Autodesk", "26.0.55.0",
     "C:/Program Files/Autodesk/AutoCAD LT 2022/acadlt.exe", 0.05, 0.50},
    {"QGIS 3.28.15 'Firenze'", "QGIS.org", "3.28.15",
     "C:/Program Files/QGIS 3.28.15/bin/qgis-ltr-bin.exe", 0.15, 0.40},
    {"Adobe Photoshop 2023", "Adobe Inc.", "24.7.1",
     "C:/Program Files/Adobe/Adobe Photoshop 2023/Photoshop.exe", 0.05, 0.60},
    {"7-Zip 23.01 (x64)", "Igor Pavlov", "23.01",
     "C:/Program Files/7-Zip/7zFM.exe", 0.70, 0.10},
    {"VLC media player", "VideoLAN", "3.0.20",
     "C:/Program Files/VideoLAN/VLC/vlc.exe", 0.50, 0.10},
    {"TeamViewer", "TeamViewer", "15.48.4",
     "C:/Program Files/TeamViewer/"
     "TeamViewer.exe",
     0.30, 0.05},
    {"Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.38.33130",
     "Microsoft Corporation", "14.38.33130.0", "", 1.0, 0.0},
    {"Intel(R) Chipset Device Software", "Intel(R) Corporation",
     "10.1.18836.8283", "", 0.8, 0.0},
    {"Realtek Audio Driver", "Realtek Semiconductor Corp.", "6.0.9235.1", "",
     0.7, 0.0},
};

static const struct app deb_office[] = {
    {"libreoffice-writer", "Debian LibreOffice Maintainers", "4:7.4.7-1",
     "/usr/lib/libreoffice/program/soffice.bin", 1.0, 0.90},
};

static const struct app deb_apps[] = {
    {"libreoffice-calc", "Debian LibreOffice Maintainers", "4:7.4.7-1",
     "/usr/lib/libreoffice/program/soffice.bin", 0.9, 0.0},
    {"firefox-esr", "Maintainers of Mozilla-related packages", "115.5.0esr-1",
     "/usr/lib/firefox-esr/firefox-esr", 1.0, 0.98},
    {"thunderbird", "Maintainers of Mozilla-related packages", "1:115.5.0-1",
     "/usr/lib/thunderbird/thunderbird", 0.6, 0.90},
    {"evince", "Debian GNOME Maintainers", "43.1-2", "/usr/bin/evince", 0.9,
     0.50},
    {"qgis", "Debian GIS Project", "3.22.16+dfsg-1", "/usr/bin/qgis", 0.2,
     0.40},
    {"gimp", "Debian GNOME Maintainers", "2.10.34-1", "/usr/bin/gimp-2.10", 0.3,
     0.20},
    {"vlc", "Debian Multimedia Maintainers", "3.0.20-0", "/usr/bin/vlc", 0.5,
     0.10},
    {"clamav", "ClamAV Team", "1.0.3+dfsg-1", "/usr/bin/clamscan", 0.7, 0.0},
    {"keepassxc", "Julian Andres Klode", "2.7.4+dfsg.1-2", "/usr/bin/keepassxc",
     0.3, 0.30},
    {"libc6", "GNU Libc Maintainers", "2.36-9", "", 1.0, 0.0},
    {"linux-image-6.1.0-13-amd64", "Debian Kernel Team", "6.1.55-1", "", 1.0,
     0.0},
    {"fonts-dejavu-core", "Debian Fonts Task Force", "2.37-6", "", 1.0, 0.0},
    {"libreoffice-common", "Debian LibreOffice Maintainers", "4:7.4.7-1", "",
     1.0, 0.0},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* splitmix64: a small, good, seedable generator. */
static unsigned long long
next(unsigned long long *s)
{
	unsigned long long z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double
unit(unsigned long long *s)
{
	return (double)(next(s) >> 11) / (double)(1ULL << 53);
}

static long long
range(unsigned long long *s, long long lo, long long hi)
{
	return lo + (long long)(unit(s) * (double)(hi - lo + 1));
}

void
fleetgen_code(int c, char out[8])
{
	snprintf(out, 8, "%05u", (unsigned)(10001 + c) % 100000u);
}

static void
add_sw(struct fleetgen_machine *m, const struct app *a, int used)
{
	struct fleetgen_sw *s;

	if (m->nsw >= FLEETGEN_MAX_SW)
		return;
	s = &m->sw[m->nsw++];
	s->name = a->name;
	s->publisher = a->publisher;
	s->version = a->version;
	s->exe = a->exe;
	s->used = used;
}

static void
draw_software(struct fleetgen_machine *m, const struct app *office,
              size_t noffice, const struct app *apps, size_t napps)
{
	double r = unit(&m->rng), acc = 0;
	size_t i;

	for (i = 0; i < noffice; i++) {
		acc += office[i].have;
		if (r < acc) {
			add_sw(m, &office[i], unit(&m->rng) < office[i].use);
			break;
		}
	}
	for (i = 0; i < napps; i++)
		if (unit(&m->rng) < apps[i].have)
			add_sw(m, &apps[i], unit(&m->rng) < apps[i].use);
}

void
fleetgen_machine(const struct fleetgen_params *p, int c, int m,
                 struct fleetgen_machine *out)
{
	memset(out, 0, sizeof(*out));
	out->commune = c;
	out->index = m;
	fleetgen_code(c, out->code);
	snprintf(out->hostname, sizeof(out->hostname), "%s-PC%03d", out->code,
	         m % 1000);
	out->rng = p->seed * 0x100000001b3ULL ^
	           ((unsigned long long)c << 32 | (unsigned)m);
	next(&out->rng);
	out->windows = unit(&out->rng) < 0.7;
	if (unit(&out->rng) < 0.05) { /* a wrong clock: 1 h .. 400 days */
		/* whole days plus 1-5 hours: the working day (08:00-18:00)
		 * stays within one day of the wrong clock too */
		out->clock_error = range(&out->rng, 0, 400) * 86400 +
		                   range(&out->rng, 1, 5) * 3600;
		if (unit(&out->rng) < 0.5)
			out->clock_error = -out->clock_error;
	}
	if (unit(&out->rng) < 0.10 && p->days > 5) { /* switched off */
		out->off_len = (int)range(&out->rng, 5, p->days / 3 + 5);
		out->off_from = (int)range(&out->rng, 0, p->days - 1);
	}
	if (out->windows)
		draw_software(out, win_office, N(win_office), win_apps,
		              N(win_apps));
	else
		draw_software(out, deb_office, N(deb_office), deb_apps,
		              N(deb_apps));
}

/* Share of machines at work on Unix day d: weekends off, August and the
 * end of December mostly off. */
static double
at_work(long long d)
{
	time_t t = (time_t)(d * 86400);
	struct tm tm;
	int dow = (int)((d + 4) % 7); /* 0 = Sunday */

	gmtime_r(&t, &tm);
	if (dow == 0 || dow == 6)
		return 0;
	if (tm.tm_mon == 7)
		return 0.35;
	if (tm.tm_mon == 11 && tm.tm_mday >= 24)
		return 0.40;
	return 0.93;
}

static int
emit_inventory(struct fleetgen_machine *m, long long created,
               fleetgen_emit emit, void *arg)
{
	char body[8192];
	size_t i, n;

	n = (size_t)snprintf(body, sizeof(body),
	                     "{\"deviceid\":\"%s\",\"content\":{\"hardware\":"
	                     "{\"name\":\"%s\"},\"operatingsystem\":{\"name\":"
	                     "\"%s\"},\"softwares\":[",
	                     m->hostname, m->hostname,
	                     m->windows ? "Windows 10 Professionnel"
	                                : "Debian GNU/Linux 12 (bookworm)");
	for (i = 0; i < m->nsw && n < sizeof(body); i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n,
		                      "%s{\"name\":\"%s\",\"publisher\":\"%s\","
		                      "\"version\":\"%s\"}",
		                      i ? "," : "", m->sw[i].name,
		                      m->sw[i].publisher, m->sw[i].version);
	if (n + 3 >= sizeof(body))
		return -1;
	memcpy(body + n, "]}}", 4);
	return emit(arg, "inventory", created, body);
}

/* One day of one program: sessions and seconds, then the records. */
static int
emit_day(const struct fleetgen_params *p, struct fleetgen_machine *m,
         const struct fleetgen_sw *s, long long day, long long now,
         fleetgen_emit emit, void *arg, struct fleetgen_totals *t)
{
	long long err = m->clock_error, start = day * 86400 + 8 * 3600,
	          secs = 0;
	int sessions = (int)range(&m->rng, 1, 4), i, rc = 0;
	char body[512], user[24];

	snprintf(user, sizeof(user), "%016llx",
	         (unsigned long long)(m->commune * 100000 + m->index) *
	                 0x9e3779b97f4a7c15ULL ^
	             (unit(&m->rng) < 0.2 ? 1 : 0));
	for (i = 0; i < sessions; i++) {
		long long len = range(&m->rng, 600, 7200);

		if (day == p->today - 1) {
			snprintf(body, sizeof(body),
			         "{\"product\":\"%s\",\"exe\":\"%s\","
			         "\"user\":\"%s\",\"start\":%lld,\"end\":%lld}",
			         s->name, s->exe, user, start + err,
			         start + len + err);
			rc = emit(arg, "usage", now + err, body);
			if (rc == -1)
				return -1;
			t->records++;
		}
		start += len + 1800;
		secs += len;
	}
	t->sessions += sessions;
	t->seconds += secs;
	if (day == p->today - 1)
		return 0;
	snprintf(body, sizeof(body),
	         "{\"product\":\"%s\",\"exe\":\"%s\",\"user\":\"%s\","
	         "\"day\":%lld,\"seconds\":%lld,\"sessions\":%d,"
	         "\"first\":%lld,\"last\":%lld}",
	         s->name, s->exe, user, (day * 86400 + 8 * 3600 + err) / 86400,
	         secs, sessions, day * 86400 + 8 * 3600 + err,
	         start - 1800 + err);
	t->records++;
	t->usage_days++;
	return emit(arg, "usage_day", now + err, body);
}

int
fleetgen_records(const struct fleetgen_params *p, struct fleetgen_machine *m,
                 long long now, fleetgen_emit emit, void *arg,
                 struct fleetgen_totals *t)
{
	struct fleetgen_totals local;
	long long first = p->today - p->days, d;
	size_t i;
	int k;

	if (t == NULL)
		t = &local;
	if (emit_inventory(m, now + m->clock_error, emit, arg) == -1)
		return -1;
	t->machines++;
	t->records++;
	t->installs += (long long)m->nsw;
	t->windows += m->windows;
	t->wrong_clock += m->clock_error != 0;
	t->switched_off += m->off_len > 0;
	for (d = first, k = 0; d < p->today; d++, k++) {
		if (k >= m->off_from && k < m->off_from + m->off_len)
			continue;
		if (unit(&m->rng) >= at_work(d))
			continue;
		for (i = 0; i < m->nsw; i++)
			if (m->sw[i].used && emit_day(p, m, &m->sw[i], d, now,
			                              emit, arg, t) == -1)
				return -1;
	}
	return 0;
}
