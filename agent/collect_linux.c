/*
 * collect_linux: inventory and process sampling on Linux, read from /proc,
 * /sys, os-release and dpkg's database. No subprocess is ever started.
 */
#include "collect.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <arpa/inet.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "dpkg.h"
#include "procstat.h"
#include "util.h"

#define PF_KTHREAD   0x00200000         /* include/linux/sched.h */
#define HOMES_TTL_MS (10 * 60 * 1000LL) /* the user list is read again */

struct collect {
	char pkgdb[PATH_MAX / 2];
	long hz;
	int self;
	/* People's home directories, masked out of paths (procstat.h):
	 * every account of passwd that is a person (root, uids from 1000),
	 * and the owners of processes seen, for accounts of a directory
	 * service that are not listed ("" when it has none). */
	char **homes;
	unsigned *home_uids;
	size_t nhomes, caphomes;
	long long homes_at; /* util_mono_ms() when listed; 0: never */
};

static int
is_person(unsigned uid)
{
	return uid == 0 || (uid >= 1000 && uid != 65534); /* not nobody */
}

static void
free_homes(struct collect *c)
{
	size_t i;

	for (i = 0; i < c->nhomes; i++)
		free(c->homes[i]);
	c->nhomes = 0;
}

static void
add_home(struct collect *c, unsigned uid, const char *dir)
{
	char **h;
	unsigned *u;
	size_t cap = c->caphomes ? c->caphomes * 2 : 32;

	if (c->nhomes == c->caphomes) {
		if ((h = realloc(c->homes, cap * sizeof(*h))) == NULL)
			return;
		c->homes = h;
		if ((u = realloc(c->home_uids, cap * sizeof(*u))) == NULL)
			return;
		c->home_uids = u;
		c->caphomes = cap;
	}
	if ((c->homes[c->nhomes] = strdup(dir ? dir : "")) == NULL)
		return;
	c->home_uids[c->nhomes++] = uid;
}

/* Lists the people's homes again when the list is older than its TTL. */
static void
load_homes(struct collect *c)
{
	struct passwd *pw;

	if (c->homes_at != 0 && util_mono_ms() - c->homes_at < HOMES_TTL_MS)
		return;
	free_homes(c);
	c->homes_at = util_mono_ms() | 1;
	setpwent();
	while ((pw = getpwent()) != NULL)
		if (is_person(pw->pw_uid))
			add_home(c, pw->pw_uid, pw->pw_dir);
	endpwent();
}

/* Adds the home of a process's owner that the list does not have. */
static void
owner_home(struct collect *c, unsigned uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	size_t i;

	if (!is_person(uid))
		return;
	for (i = 0; i < c->nhomes; i++)
		if (c->home_uids[i] == uid)
			return;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		add_home(c, uid, res->pw_dir);
	else
		add_home(c, uid, ""); /* none: not asked again */
}

static void
mask_home(struct collect *c, char *path)
{
	procstat_mask_home(path, (const char *const *)c->homes, c->nhomes);
}

static long long
read_btime(void)
{
	char line[256];
	long long v = 0;
	FILE *fp;

	if ((fp = fopen("/proc/stat", "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "btime %lld", &v) == 1)
			break;
	fclose(fp);
	return v;
}

struct collect *
collect_new(const struct collect_paths *paths)
{
	struct collect *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	util_strlcpy(c->pkgdb,
	             paths && paths->pkgdb ? paths->pkgdb : "/var/lib/dpkg",
	             sizeof(c->pkgdb));
	c->hz = sysconf(_SC_CLK_TCK);
	if (c->hz <= 0)
		c->hz = 100;
	c->self = (int)getpid();
	return c;
}

void
collect_free(struct collect *c)
{
	if (c == NULL)
		return;
	free_homes(c);
	free(c->homes);
	free(c->home_uids);
	free(c);
}

/* Reads a one-line file into out, trimmed; returns 0 if non-empty. */
static int
read_line(const char *path, char *out, size_t n)
{
	char *s;
	size_t len;

	if ((s = util_read_file(path, 4096)) == NULL)
		return -1;
	while (*s && isspace((unsigned char)s[strlen(s) - 1]))
		s[strlen(s) - 1] = '\0';
	len = strlen(s);
	util_strlcpy(out, s, n);
	free(s);
	return len > 0 ? 0 : -1;
}

static void
set_str(json_t *o, const char *key, const char *val)
{
	if (val != NULL && *val != '\0')
		json_object_set_new(o, key, json_string(val));
}

/* os-release values may be quoted; this strips the quotes in place. */
static char *
unquote(char *v)
{
	size_t n = strlen(v);

	while (n > 0 && (v[n - 1] == '\n' || v[n - 1] == ' '))
		v[--n] = '\0';
	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		v[n - 1] = '\0';
		return v + 1;
	}
	return v;
}

static void
os_release(json_t *os)
{
	static const struct {
		const char *key, *field;
	} map[] = {{"NAME", "name"},
	           {"PRETTY_NAME", "full_name"},
	           {"VERSION_ID", "version"}};
	char line[512], *eq;
	size_t i;
	FILE *fp;

	if ((fp = fopen("/etc/os-release", "r")) == NULL &&
	    (fp = fopen("/usr/lib/os-release", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp)) {
		if ((eq = strchr(line, '=')) == NULL)
			continue;
		*eq = '\0';
		for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (strcmp(line, map[i].key) == 0)
				set_str(os, map[i].field, unquote(eq + 1));
	}
	fclose(fp);
}

static void
collect_os(struct collect *c, json_t *content, const char *host)
{
	json_t *os = json_object();
	long long btime = read_btime(); /* the kernel's, moved with the clock */
	struct utsname u;
	char when[32];

	(void)c;
	os_release(os);
	if (uname(&u) == 0) {
		set_str(os, "kernel_name", "linux");
		set_str(os, "kernel_version", u.release);
		set_str(os, "arch", u.machine);
	}
	set_str(os, "fqdn", host);
	if (btime > 0) {
		util_datetime((time_t)btime, when, sizeof(when));
		set_str(os, "boot_time", when);
	}
	json_object_set_new(content, "operatingsystem", os);
}

static void
collect_hardware(json_t *content, const char *host)
{
	json_t *hw = json_object();
	struct sysinfo si;
	char uuid[128];

	set_str(hw, "name", host);
	if (sysinfo(&si) == 0) {
		json_object_set_new(
		    hw, "memory",
		    json_integer((json_int_t)si.totalram * si.mem_unit >> 20));
		json_object_set_new(
		    hw, "swap",
		    json_integer((json_int_t)si.totalswap * si.mem_unit >> 20));
	}
	if (read_line("/sys/class/dmi/id/product_uuid", uuid, sizeof(uuid)) ==
	    0)
		set_str(hw, "uuid", uuid);
	json_object_set_new(content, "hardware", hw);
}

/* DMI dates are MM/DD/YYYY; GLPI wants YYYY-MM-DD. */
static void
set_dmi_date(json_t *o, const char *key, const char *dmi)
{
	int m, d, y;
	char out[48];

	if (sscanf(dmi, "%2d/%2d/%4d", &m, &d, &y) != 3 || y < 1980 || m < 1 ||
	    m > 12 || d < 1 || d > 31)
		return;
	snprintf(out, sizeof(out), "%04d-%02d-%02d", y, m, d);
	set_str(o, key, out);
}

static void
collect_bios(json_t *content)
{
	static const struct {
		const char *file, *field;
	} map[] = {
	    {"bios_vendor", "bmanufacturer"}, {"bios_version", "bversion"},
	    {"sys_vendor", "smanufacturer"},  {"product_name", "smodel"},
	    {"product_serial", "ssn"},        {"board_vendor", "mmanufacturer"},
	    {"board_name", "mmodel"},         {"board_serial", "msn"},
	    {"chassis_asset_tag", "assettag"}};
	json_t *bios = json_object();
	char path[128], val[256];
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		snprintf(path, sizeof(path), "/sys/class/dmi/id/%s",
		         map[i].file);
		if (read_line(path, val, sizeof(val)) == 0)
			set_str(bios, map[i].field, val);
	}
	if (read_line("/sys/class/dmi/id/bios_date", val, sizeof(val)) == 0)
		set_dmi_date(bios, "bdate", val);
	if (json_object_size(bios) > 0)
		json_object_set_new(content, "bios", bios);
	else
		json_decref(bios);
}

struct cpuinfo {
	char model[256], vendor[64];
	int packages, cores, threads;
	double mhz;
};

static void
read_cpuinfo(struct cpuinfo *ci)
{
	char line[512], *v;
	int phys = -1, maxphys = -1, cores = 0, logical = 0;
	FILE *fp;

	memset(ci, 0, sizeof(*ci));
	if ((fp = fopen("/proc/cpuinfo", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp)) {
		if ((v = strchr(line, ':')) == NULL)
			continue;
		v = unquote(v + 1 + (v[1] == ' '));
		if (strncmp(line, "processor", 9) == 0)
			logical++;
		else if (strncmp(line, "model name", 10) == 0)
			util_strlcpy(ci->model, v, sizeof(ci->model));
		else if (strncmp(line, "vendor_id", 9) == 0)
			util_strlcpy(ci->vendor, v, sizeof(ci->vendor));
		else if (strncmp(line, "cpu MHz", 7) == 0)
			ci->mhz = strtod(v, NULL);
		else if (strncmp(line, "cpu cores", 9) == 0)
			cores = (int)strtol(v, NULL, 10);
		else if (strncmp(line, "physical id", 11) == 0 &&
		         (phys = (int)strtol(v, NULL, 10)) > maxphys)
			maxphys = phys;
	}
	fclose(fp);
	ci->packages = maxphys >= 0 ? maxphys + 1 : 1;
	ci->threads = logical > 0 ? logical : 1;
	ci->cores = cores > 0 ? cores * ci->packages : ci->threads;
}

static void
collect_cpus(json_t *content)
{
	json_t *cpus = json_array(), *cpu;
	struct cpuinfo ci;
	struct utsname u;
	const char *maker;
	int i;

	read_cpuinfo(&ci);
	maker = strstr(ci.vendor, "Intel") ? "Intel"
	        : strstr(ci.vendor, "AMD") ? "AMD"
	                                   : ci.vendor;
	for (i = 0; i < ci.packages; i++) {
		cpu = json_object();
		set_str(cpu, "name", ci.model);
		set_str(cpu, "manufacturer", maker);
		json_object_set_new(cpu, "core",
		                    json_integer(ci.cores / ci.packages));
		json_object_set_new(cpu, "thread",
		                    json_integer(ci.threads / ci.cores > 0
		                                     ? ci.threads / ci.cores
		                                     : 1));
		if (ci.mhz > 0)
			json_object_set_new(cpu, "speed",
			                    json_integer((json_int_t)ci.mhz));
		if (uname(&u) == 0 && (strcmp(u.machine, "x86_64") == 0 ||
		                       strcmp(u.machine, "aarch64") == 0))
			set_str(cpu, "arch", u.machine);
		json_array_append_new(cpus, cpu);
	}
	json_object_set_new(content, "cpus", cpus);
}

static int
real_fs(const char *fs)
{
	static const char *const ok[] = {
	    "ext2",     "ext3", "ext4",  "xfs",  "btrfs", "vfat",
	    "exfat",    "ntfs", "ntfs3", "f2fs", "zfs",   "jfs",
	    "reiserfs", "nfs",  "nfs4",  "cifs", "smb3",  NULL};
	int i;

	for (i = 0; ok[i]; i++)
		if (strcmp(fs, ok[i]) == 0)
			return 1;
	return 0;
}

static void
collect_drives(struct collect *c, json_t *content)
{
	json_t *drives = json_array(), *d;
	char dev[512], mnt[512], fs[64];
	struct statvfs sv;
	FILE *fp;

	if ((fp = fopen("/proc/self/mounts", "r")) == NULL) {
		json_decref(drives);
		return;
	}
	while (fscanf(fp, "%511s %511s %63s %*[^\n]", dev, mnt, fs) == 3) {
		if (!real_fs(fs) || statvfs(mnt, &sv) == -1)
			continue;
		mask_home(c, mnt); /* a home mounted on its own */
		d = json_object();
		set_str(d, "volumn", dev);
		set_str(d, "type", mnt);
		set_str(d, "filesystem", fs);
		json_object_set_new(
		    d, "total",
		    json_integer((json_int_t)sv.f_blocks * sv.f_frsize >> 20));
		json_object_set_new(
		    d, "free",
		    json_integer((json_int_t)sv.f_bavail * sv.f_frsize >> 20));
		json_array_append_new(drives, d);
	}
	fclose(fp);
	json_object_set_new(content, "drives", drives);
}

static void
collect_storages(json_t *content)
{
	json_t *st = json_array(), *s;
	char path[512], val[256];
	long long sectors;
	struct dirent *de;
	DIR *d;

	if ((d = opendir("/sys/block")) == NULL) {
		json_decref(st);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !strncmp(de->d_name, "loop", 4) ||
		    !strncmp(de->d_name, "ram", 3) ||
		    !strncmp(de->d_name, "zram", 4))
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/size", de->d_name);
		if (read_line(path, val, sizeof(val)) == -1 ||
		    util_parse_ll(val, 0, 1LL << 50, &sectors) == -1 ||
		    sectors == 0)
			continue;
		s = json_object();
		set_str(s, "name", de->d_name);
		set_str(s, "type", "disk");
		json_object_set_new(s, "disksize",
		                    json_integer(sectors * 512 >> 20));
		snprintf(path, sizeof(path), "/sys/block/%s/device/model",
		         de->d_name);
		if (read_line(path, val, sizeof(val)) == 0)
			set_str(s, "model", val);
		snprintf(path, sizeof(path), "/sys/block/%s/device/vendor",
		         de->d_name);
		if (read_line(path, val, sizeof(val)) == 0)
			set_str(s, "manufacturer", val);
		snprintf(path, sizeof(path), "/sys/block/%s/device/serial",
		         de->d_name);
		if (read_line(path, val, sizeof(val)) == 0)
			set_str(s, "serial", val);
		json_array_append_new(st, s);
	}
	closedir(d);
	json_object_set_new(content, "storages", st);
}

static const char *
if_type(const char *name, unsigned flags)
{
	char path[300];
	struct stat st;

	if (flags & IFF_LOOPBACK)
		return "loopback";
	snprintf(path, sizeof(path), "/sys/class/net/%s/wireless", name);
	if (stat(path, &st) == 0)
		return "wifi";
	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", name);
	if (stat(path, &st) == 0)
		return "bridge";
	snprintf(path, sizeof(path), "/sys/class/net/%s/device", name);
	if (stat(path, &st) == 0)
		return "ethernet";
	return NULL; /* virtual: GLPI has no type for it */
}

static const char *
if_mac(struct ifaddrs *all, const char *name, char *out, size_t n)
{
	struct sockaddr_ll *ll;
	struct ifaddrs *i;

	for (i = all; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_PACKET ||
		    strcmp(i->ifa_name, name) != 0)
			continue;
		ll = (struct sockaddr_ll *)(void *)i->ifa_addr;
		if (ll->sll_halen != 6)
			return NULL;
		snprintf(out, n, "%02x:%02x:%02x:%02x:%02x:%02x",
		         ll->sll_addr[0], ll->sll_addr[1], ll->sll_addr[2],
		         ll->sll_addr[3], ll->sll_addr[4], ll->sll_addr[5]);
		return out;
	}
	return NULL;
}

static json_t *
net_entry(struct ifaddrs *all, struct ifaddrs *i)
{
	json_t *e = json_object();
	char mac[32];

	set_str(e, "description", i->ifa_name);
	set_str(e, "mac", if_mac(all, i->ifa_name, mac, sizeof(mac)));
	set_str(e, "status", (i->ifa_flags & IFF_UP) ? "up" : "down");
	set_str(e, "type", if_type(i->ifa_name, i->ifa_flags));
	return e;
}

static void
net_addr(json_t *e, struct ifaddrs *i)
{
	char a[INET6_ADDRSTRLEN], m[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN];
	struct in_addr net;
	struct sockaddr_in *sin, *mask;

	if (i->ifa_addr->sa_family == AF_INET) {
		sin = (struct sockaddr_in *)(void *)i->ifa_addr;
		mask = (struct sockaddr_in *)(void *)i->ifa_netmask;
		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		set_str(e, "ipaddress", a);
		if (mask) {
			inet_ntop(AF_INET, &mask->sin_addr, m, sizeof(m));
			net.s_addr =
			    sin->sin_addr.s_addr & mask->sin_addr.s_addr;
			inet_ntop(AF_INET, &net, s, sizeof(s));
			set_str(e, "ipmask", m);
			set_str(e, "ipsubnet", s);
		}
	} else {
		inet_ntop(
		    AF_INET6,
		    &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, a,
		    sizeof(a));
		set_str(e, "ipaddress6", a);
	}
}

/* GLPI lists one entry per interface and address. */
static void
collect_networks(json_t *content)
{
	struct ifaddrs *all, *i, *j;
	json_t *nets, *e;
	int has_ip;

	if (getifaddrs(&all) == -1)
		return;
	nets = json_array();
	for (i = all; i; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET ||
		    i->ifa_addr->sa_family == AF_INET6) {
			e = net_entry(all, i);
			net_addr(e, i);
			json_array_append_new(nets, e);
		} else if (i->ifa_addr->sa_family == AF_PACKET) {
			has_ip = 0;
			for (j = all; j; j = j->ifa_next)
				if (j->ifa_addr &&
				    j->ifa_addr->sa_family != AF_PACKET &&
				    strcmp(j->ifa_name, i->ifa_name) == 0)
					has_ip = 1;
			if (!has_ip)
				json_array_append_new(nets, net_entry(all, i));
		}
	}
	freeifaddrs(all);
	json_object_set_new(content, "networks", nets);
}

struct soft_ctx {
	json_t *list;
	const char *pkgdb;
};

static void
install_date(const struct soft_ctx *sc, const struct dpkg_pkg *p, json_t *s)
{
	char path[PATH_MAX], when[32];
	struct stat st;

	snprintf(path, sizeof(path), "%s/info/%s:%s.list", sc->pkgdb, p->name,
	         p->arch);
	if (stat(path, &st) == -1) {
		snprintf(path, sizeof(path), "%s/info/%s.list", sc->pkgdb,
		         p->name);
		if (stat(path, &st) == -1)
			return;
	}
	/* The day is what matters for licences, and it compresses well. */
	util_datetime(st.st_mtime, when, sizeof(when));
	when[10] = '\0';
	set_str(s, "install_date", when);
}

/* The maintainer's name without the e-mail address: the publisher. */
static void
set_publisher(json_t *s, const char *maintainer)
{
	char name[256];
	size_t n;

	if (maintainer == NULL)
		return;
	util_strlcpy(name, maintainer, sizeof(name));
	name[strcspn(name, "<")] = '\0';
	for (n = strlen(name); n > 0 && name[n - 1] == ' '; n--)
		name[n - 1] = '\0';
	set_str(s, "publisher", name[0] ? name : maintainer);
}

static int
add_software(const struct dpkg_pkg *p, void *arg)
{
	struct soft_ctx *sc = arg;
	json_t *s = json_object();

	set_str(s, "name", p->name);
	set_str(s, "version", p->version);
	set_str(s, "arch", p->arch);
	/* No package descriptions: they would double the payload and say
	 * nothing a licence count needs. */
	set_publisher(s, p->maintainer);
	set_str(s, "system_category", p->section);
	set_str(s, "from", "deb");
	if (p->installed_kb >= 0)
		json_object_set_new(s, "filesize",
		                    json_integer(p->installed_kb * 1024));
	install_date(sc, p, s);
	return json_array_append_new(sc->list, s) == 0 ? 0 : -1;
}

static int
collect_software(struct collect *c, json_t *content)
{
	struct soft_ctx sc;
	char path[PATH_MAX];
	FILE *fp;
	int n;

	snprintf(path, sizeof(path), "%s/status", c->pkgdb);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	sc.list = json_array();
	sc.pkgdb = c->pkgdb;
	n = dpkg_parse_status(fp, add_software, &sc);
	fclose(fp);
	json_object_set_new(content, "softwares", sc.list);
	return n;
}

int
collect_inventory(struct collect *c, json_t *content)
{
	char host[256];

	collect_hostname(host, sizeof(host));
	collect_hardware(content, host);
	collect_os(c, content, host);
	collect_bios(content);
	collect_cpus(content);
	load_homes(c);
	collect_drives(c, content);
	collect_storages(content);
	collect_networks(content);
	json_object_set_new(content, "versionclient",
	                    json_string("mutu-agent_v" MUTU_VERSION));
	return collect_software(c, content);
}

/* Parses /proc/PID/stat past the command name (which may hold spaces and
 * parentheses): flags is field 9, starttime field 22. */
static int
read_stat(int pid, unsigned long *flags, unsigned long long *start)
{
	char path[64], buf[1024];
	ssize_t n;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	n = (ssize_t)fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return procstat_parse(buf, flags, start);
}

static int
read_proc(struct collect *c, int pid, struct proc_info *pi)
{
	unsigned long flags;
	unsigned long long start;
	char path[64];
	struct stat st;
	ssize_t n;
	char *del;

	if (read_stat(pid, &flags, &start) == -1 || (flags & PF_KTHREAD))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (stat(path, &st) == -1)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, pi->exe, sizeof(pi->exe) - 1);
	if (n <= 0)
		return -1;
	pi->exe[n] = '\0';
	/* Anonymous executables (memfd, deleted temporaries) name nothing
	 * an admin could license. */
	if (pi->exe[0] != '/' || strncmp(pi->exe, "/memfd:", 7) == 0)
		return -1;
	/* An executable replaced by an upgrade still runs as "(deleted)". */
	if ((del = strstr(pi->exe, " (deleted)")) != NULL && del[10] == '\0')
		*del = '\0';
	/* No user name leaves the machine: /home/NAME/bin/x is ~/bin/x. */
	owner_home(c, st.st_uid);
	mask_home(c, pi->exe);
	pi->pid = pid;
	pi->uid = st.st_uid;
	/* starttime counts clock ticks since boot on CLOCK_BOOTTIME, the
	 * clock of util_boot_ms(): no wall-clock step moves it. */
	pi->start_ms = (long long)(start / (unsigned long long)c->hz * 1000 +
	                           start % (unsigned long long)c->hz * 1000 /
	                               (unsigned long long)c->hz);
	return 0;
}

int
collect_procs(struct collect *c, int (*cb)(const struct proc_info *, void *),
              void *arg)
{
	struct proc_info pi;
	struct dirent *de;
	long long pid;
	int seen = 0;
	DIR *d;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	load_homes(c);
	while ((de = readdir(d)) != NULL) {
		if (util_parse_ll(de->d_name, 1, 1 << 30, &pid) == -1 ||
		    (int)pid == c->self)
			continue;
		if (read_proc(c, (int)pid, &pi) == -1)
			continue;
		seen++;
		if (cb(&pi, arg) == -1) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return seen;
}

int
collect_owners(struct collect *c, const char *const *paths, size_t n,
               char **owners)
{
	char info[PATH_MAX];

	snprintf(info, sizeof(info), "%s/info", c->pkgdb);
	return dpkg_owners(info, paths, n, owners);
}

void
collect_username(struct collect *c, unsigned uid, char *out, size_t n)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	(void)c;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		util_strlcpy(out, res->pw_name, n);
	else
		snprintf(out, n, "%u", uid);
}

const char *
collect_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Linux reports no lock or sleep to the agent: nothing to hide. */
void
collect_set_session_locked(struct collect *c, unsigned session, int locked)
{
	(void)c;
	(void)session;
	(void)locked;
}

void
collect_hostname(char *out, size_t n)
{
	if (gethostname(out, n) == -1 || out[0] == '\0')
		util_strlcpy(out, "localhost", n);
	out[n - 1] = '\0';
}

void
collect_boot_id(char *out, size_t n)
{
	char *id = util_read_file("/proc/sys/kernel/random/boot_id", 64);

	util_strlcpy(out, id ? id : "", n);
	free(id);
}
