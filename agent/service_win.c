/*
 * service_win.c: the agent's OS layer on Windows. "mutu-agent.exe
 * --service" (the ImagePath the MSI installs) connects to the Service
 * Control Manager and runs the same agent loop as Linux in ServiceMain.
 * Stop, shutdown and pre-shutdown set the stop flag and wake the loop, as
 * SIGTERM does on Linux; power and session-change events are queued for
 * the loop (service_next_event()). State and configuration live in
 * %ProgramData%\mutu behind a protected ACL (SYSTEM and Administrators).
 */
#include "service.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <windows.h>

#include <aclapi.h>
#include <sddl.h>
#include <shlobj.h>
#include <wtsapi32.h>

#include "buf.h"
#include "crypto.h"
#include "enrol.h"
#include "log.h"
#include "notify_win.h"
#include "util.h"
#include "win.h"

#define SERVICE_NAME L"MutuAgent"
#define SETTINGS_KEY L"SOFTWARE\\mutu\\Agent"
/* Full control for SYSTEM and Administrators, inherited by files and
 * directories inside; nobody else; not inheriting from the parent. */
#define PRIVATE_SDDL L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
#define EVENTS_MAX   64

/* FOLDERID_ProgramData, defined here rather than linking libuuid. */
static const GUID programdata_id = {
    0x62ab5d82,
    0xfdc1,
    0x4dc3,
    {0xa9, 0xdd, 0x07, 0x0d, 0x1d, 0x49, 0x5d, 0x97}};

static volatile sig_atomic_t stop;
static HANDLE wake; /* auto-reset: a stop request or a system event */

/* Events from the control handler's thread to the agent's. */
static CRITICAL_SECTION events_lock;
static struct service_event events[EVENTS_MAX];
static unsigned events_head, events_len;

/* service_run()'s body, for ServiceMain. */
static int (*run_body)(void *);
static void *run_arg;
static int run_code;

static char default_config[MAX_PATH * 3];
static char default_state[MAX_PATH * 3];

/* %ProgramData%\mutu (UTF-8) into out; "C:\ProgramData\mutu" as a last
 * resort. */
static void
program_data(char *out, size_t n)
{
	wchar_t *w = NULL;
	char *u = NULL;
	const char *env = getenv("ProgramData");

	if (SHGetKnownFolderPath(&programdata_id, 0, NULL, &w) == S_OK)
		u = win_utf8(w);
	CoTaskMemFree(w);
	if (u != NULL)
		snprintf(out, n, "%s\\mutu", u);
	else if (env != NULL && *env != '\0')
		snprintf(out, n, "%s\\mutu", env);
	else
		snprintf(out, n, "C:\\ProgramData\\mutu");
	free(u);
}

const char *
service_default_config(void)
{
	char dir[MAX_PATH * 3];

	if (default_config[0] == '\0') {
		program_data(dir, sizeof(dir));
		snprintf(default_config, sizeof(default_config),
		         "%s\\agent.conf", dir);
	}
	return default_config;
}

const char *
service_default_state_dir(void)
{
	char dir[MAX_PATH * 3];

	if (default_state[0] == '\0') {
		program_data(dir, sizeof(dir));
		snprintf(default_state, sizeof(default_state), "%s\\state",
		         dir);
	}
	return default_state;
}

void
service_init(void)
{
	InitializeCriticalSection(&events_lock);
	if ((wake = CreateEventW(NULL, FALSE, FALSE, NULL)) == NULL)
		fatalx("CreateEvent failed");
	/* No "insert a disk" or crash dialog box for a service. */
	SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
}

static void
request_stop(void)
{
	stop = 1;
	SetEvent(wake);
}

static void
push_event(enum service_event_type type, unsigned session)
{
	EnterCriticalSection(&events_lock);
	if (events_len < EVENTS_MAX) {
		events[(events_head + events_len) % EVENTS_MAX].type = type;
		events[(events_head + events_len) % EVENTS_MAX].session =
		    session;
		events_len++;
	}
	LeaveCriticalSection(&events_lock);
	SetEvent(wake);
}

int
service_next_event(struct service_event *ev)
{
	int got = 0;

	EnterCriticalSection(&events_lock);
	if (events_len > 0) {
		*ev = events[events_head];
		events_head = (events_head + 1) % EVENTS_MAX;
		events_len--;
		got = 1;
	}
	LeaveCriticalSection(&events_lock);
	return got;
}

static void
on_power(DWORD type)
{
	if (type == PBT_APMSUSPEND)
		push_event(SERVICE_EV_SUSPEND, 0);
	else if (type == PBT_APMRESUMEAUTOMATIC || type == PBT_APMRESUMESUSPEND)
		push_event(SERVICE_EV_RESUME, 0);
}

static void
on_session(DWORD type, const WTSSESSION_NOTIFICATION *n)
{
	unsigned id = n ? (unsigned)n->dwSessionId : 0;

	if (type == WTS_SESSION_LOCK)
		push_event(SERVICE_EV_LOCK, id);
	else if (type == WTS_SESSION_UNLOCK)
		push_event(SERVICE_EV_UNLOCK, id);
	else if (type == WTS_SESSION_LOGOFF)
		push_event(SERVICE_EV_LOGOFF, id);
}

/* The SCM's controls, on the dispatcher's thread. */
static DWORD WINAPI
on_control(DWORD control, DWORD type, LPVOID data, LPVOID ctx)
{
	(void)ctx;
	switch (control) {
	case SERVICE_CONTROL_STOP:
	case SERVICE_CONTROL_SHUTDOWN:
	case SERVICE_CONTROL_PRESHUTDOWN:
		request_stop();
		notify_win_stopping();
		return NO_ERROR;
	case SERVICE_CONTROL_POWEREVENT:
		on_power(type);
		return NO_ERROR;
	case SERVICE_CONTROL_SESSIONCHANGE:
		on_session(type, data);
		return NO_ERROR;
	case SERVICE_CONTROL_INTERROGATE:
		return NO_ERROR;
	default:
		return ERROR_CALL_NOT_IMPLEMENTED;
	}
}

/* An ImagePath with a space and no quotes (C:\Program Files\mutu\...)
 * lets C:\Program.exe run as SYSTEM: quoted here if the installer left it
 * so (wine's msiexec does). */
static void
quote_image_path(SC_HANDLE s)
{
	BYTE buf[8192];
	QUERY_SERVICE_CONFIGW *qc = (QUERY_SERVICE_CONFIGW *)(void *)buf;
	wchar_t self[MAX_PATH], path[MAX_PATH + 16];
	DWORD need, n = GetModuleFileNameW(NULL, self, MAX_PATH);

	if (n == 0 || n >= MAX_PATH || wcschr(self, L' ') == NULL ||
	    !QueryServiceConfigW(s, qc, sizeof(buf), &need) ||
	    qc->lpBinaryPathName == NULL || qc->lpBinaryPathName[0] == L'"')
		return;
	_snwprintf(path, MAX_PATH + 16, L"\"%ls\" --service", self);
	path[MAX_PATH + 15] = L'\0';
	if (ChangeServiceConfigW(s, SERVICE_NO_CHANGE, SERVICE_NO_CHANGE,
	                         SERVICE_NO_CHANGE, path, NULL, NULL, NULL,
	                         NULL, NULL, NULL))
		log_info("service command line quoted");
	else
		log_warnx("cannot quote the service's command line (error %lu)",
		          (unsigned long)GetLastError());
}

/* Restart on failure, delayed automatic start and a pre-shutdown time,
 * which wixl's MSI cannot set (no ServiceConfig): set at the first start,
 * left alone once the service has failure actions (an administrator's
 * own choice included). */
static void
configure_recovery(const wchar_t *name)
{
	SC_ACTION actions[3] = {{SC_ACTION_RESTART, 60000},
	                        {SC_ACTION_RESTART, 60000},
	                        {SC_ACTION_RESTART, 300000}};
	SERVICE_FAILURE_ACTIONSW fa = {86400, NULL, NULL, 3, actions};
	SERVICE_FAILURE_ACTIONS_FLAG flag = {TRUE};
	SERVICE_DELAYED_AUTO_START_INFO delayed = {TRUE};
	SERVICE_PRESHUTDOWN_INFO pre = {NOTIFY_WIN_WAIT_HINT};
	SC_HANDLE m, s = NULL;
	BYTE buf[8192];
	DWORD need;

	if ((m = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT)) == NULL)
		return;
	s = OpenServiceW(m, name,
	                 SERVICE_QUERY_CONFIG | SERVICE_CHANGE_CONFIG |
	                     SERVICE_START);
	if (s == NULL)
		goto fail;
	quote_image_path(s);
	if (QueryServiceConfig2W(s, SERVICE_CONFIG_FAILURE_ACTIONS, buf,
	                         sizeof(buf), &need) &&
	    ((SERVICE_FAILURE_ACTIONSW *)(void *)buf)->cActions > 0)
		goto fail; /* configured already */
	if (!ChangeServiceConfig2W(s, SERVICE_CONFIG_FAILURE_ACTIONS, &fa) ||
	    !ChangeServiceConfig2W(s, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG,
	                           &flag))
		log_warnx("cannot set the service's recovery actions (error "
		          "%lu)",
		          (unsigned long)GetLastError());
	if (!ChangeServiceConfig2W(s, SERVICE_CONFIG_DELAYED_AUTO_START_INFO,
	                           &delayed))
		log_warnx("cannot set the delayed automatic start (error %lu)",
		          (unsigned long)GetLastError());
	if (!ChangeServiceConfig2W(s, SERVICE_CONFIG_PRESHUTDOWN_INFO, &pre))
		log_warnx("cannot set the pre-shutdown time (error %lu)",
		          (unsigned long)GetLastError());
fail:
	if (s)
		CloseServiceHandle(s);
	CloseServiceHandle(m);
}

static void WINAPI
service_main(DWORD argc, LPWSTR *argv)
{
	const wchar_t *name = argc > 0 && argv[0] ? argv[0] : SERVICE_NAME;
	SERVICE_STATUS_HANDLE h;

	h = RegisterServiceCtrlHandlerExW(name, on_control, NULL);
	if (h == NULL) {
		run_code = 1;
		return;
	}
	notify_win_attach(h);
	log_init("mutu-agent", 0, 0);
	configure_recovery(name);
	run_code = run_body(run_arg);
	notify_win_stopped(run_code);
}

int
service_run(int (*body)(void *), void *arg)
{
	SERVICE_TABLE_ENTRYW table[] = {{(LPWSTR)SERVICE_NAME, service_main},
	                                {NULL, NULL}};

	run_body = body;
	run_arg = arg;
	if (!StartServiceCtrlDispatcherW(table)) {
		if (GetLastError() == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT)
			fprintf(stderr,
			        "mutu-agent: --service is for the Service "
			        "Control Manager; in a console use -d\n");
		else
			fprintf(stderr,
			        "mutu-agent: cannot reach the Service Control "
			        "Manager (error %lu)\n",
			        (unsigned long)GetLastError());
		return 2;
	}
	return run_code;
}

static BOOL WINAPI
on_console(DWORD type)
{
	(void)type; /* Ctrl-C, Ctrl-Break, close, logoff, shutdown */
	request_stop();
	return TRUE;
}

void
service_catch_stop(void)
{
	SetConsoleCtrlHandler(on_console, TRUE);
}

const volatile sig_atomic_t *
service_stop_flag(void)
{
	return &stop;
}

int
service_stopping(void)
{
	return stop != 0;
}

void
service_sleep(long long ms)
{
	if (ms <= 0 || stop)
		return;
	WaitForSingleObject(wake, ms > 0x7fffffffLL ? 0x7fffffff : (DWORD)ms);
}

/* Applies the protected ACL to the directory w. Returns 0, or -1. */
static int
protect(wchar_t *w)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	BOOL present = FALSE, defaulted = FALSE;
	PACL dacl = NULL;
	DWORD e;

	if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(
	        PRIVATE_SDDL, SDDL_REVISION_1, &sd, NULL))
		return -1;
	if (!GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted)) {
		LocalFree(sd);
		return -1;
	}
	e = SetNamedSecurityInfoW(w, SE_FILE_OBJECT,
	                          DACL_SECURITY_INFORMATION |
	                              PROTECTED_DACL_SECURITY_INFORMATION,
	                          NULL, NULL, dacl, NULL);
	LocalFree(sd);
	if (e != ERROR_SUCCESS) {
		errno = win_errno(e);
		return -1;
	}
	return 0;
}

/* Creates w and its missing parents (C:\ProgramData\mutu\state). */
static int
make_dirs(wchar_t *w)
{
	wchar_t *p;

	if (CreateDirectoryW(w, NULL) || GetLastError() == ERROR_ALREADY_EXISTS)
		return 0;
	if (GetLastError() != ERROR_PATH_NOT_FOUND ||
	    (p = wcsrchr(w, L'\\')) == NULL || p == w)
		return -1;
	*p = L'\0';
	if (make_dirs(w) == -1) {
		*p = L'\\';
		return -1;
	}
	*p = L'\\';
	return CreateDirectoryW(w, NULL) ||
	               GetLastError() == ERROR_ALREADY_EXISTS
	           ? 0
	           : -1;
}

int
service_private_dir(const char *path)
{
	wchar_t *w = win_wide(path);
	int rc = -1;

	if (w == NULL)
		return -1;
	if (make_dirs(w) == -1)
		errno = win_errno(GetLastError());
	else
		rc = protect(w);
	free(w);
	return rc;
}

int
service_config_dir(const char *path)
{
	char dir[MAX_PATH * 3], *p;

	if (strcmp(path, service_default_config()) != 0)
		return 0; /* an administrator's own place: left as it is */
	if (util_strlcpy(dir, path, sizeof(dir)) == -1 ||
	    (p = strrchr(dir, '\\')) == NULL) {
		errno = ENAMETOOLONG;
		return -1;
	}
	*p = '\0';
	return service_private_dir(dir);
}

void
service_give_to_owner(const char *dir, const char *const *names)
{
	(void)dir, (void)names; /* the directory's inherited ACL applies */
}

int
service_keep_owner(const char *path, const struct stat *st)
{
	(void)path, (void)st; /* the new file inherits the directory's ACL */
	return 0;
}

void
service_release_memory(void)
{
	HeapCompact(GetProcessHeap(), 0);
}

int
service_self_path(char *out, size_t n)
{
	wchar_t w[32768];
	DWORD len = GetModuleFileNameW(NULL, w, 32768);
	char *u;
	int rc;

	if (len == 0 || len >= 32768 || (u = win_utf8(w)) == NULL)
		return -1;
	rc = util_strlcpy(out, u, n);
	free(u);
	return rc;
}

/* Whether the ACL grants a broad group (win_sid_is_broad) a way to
 * change the file. */
static int
others_may_write(PACL dacl)
{
	const ACCESS_MASK write = FILE_WRITE_DATA | FILE_APPEND_DATA |
	                          WRITE_DAC | WRITE_OWNER | DELETE |
	                          GENERIC_WRITE | GENERIC_ALL;
	ACCESS_ALLOWED_ACE *ace;
	DWORD i;

	for (i = 0; i < dacl->AceCount; i++) {
		if (!GetAce(dacl, i, (LPVOID *)&ace))
			return 1;
		if (ace->Header.AceType != ACCESS_ALLOWED_ACE_TYPE ||
		    (ace->Header.AceFlags & INHERIT_ONLY_ACE))
			continue;
		if ((ace->Mask & write) && win_sid_is_broad(&ace->SidStart))
			return 1;
	}
	return 0;
}

/* Whether sid is SYSTEM, Administrators, TrustedInstaller or the user
 * running the agent. */
static int
trusted_owner(PSID sid)
{
	BYTE buf[256];
	TOKEN_USER *tu = (TOKEN_USER *)(void *)buf;
	HANDLE tok;
	DWORD len;
	int mine = 0;

	if (IsWellKnownSid(sid, WinLocalSystemSid) ||
	    IsWellKnownSid(sid, WinBuiltinAdministratorsSid))
		return 1;
	if (OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok)) {
		mine = GetTokenInformation(tok, TokenUser, buf, sizeof(buf),
		                           &len) &&
		       EqualSid(sid, tu->User.Sid);
		CloseHandle(tok);
	}
	return mine;
}

int
service_check_file(const char *what, const char *path, char *err, size_t errlen)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	PSID owner = NULL;
	PACL dacl = NULL;
	wchar_t *w = win_wide(path);
	DWORD e;
	int rc = -1;

	if (w == NULL) {
		snprintf(err, errlen, "%s %s: bad file name", what, path);
		return -1;
	}
	e = GetNamedSecurityInfoW(w, SE_FILE_OBJECT,
	                          OWNER_SECURITY_INFORMATION |
	                              DACL_SECURITY_INFORMATION,
	                          &owner, NULL, &dacl, NULL, &sd);
	free(w);
	if (e != ERROR_SUCCESS)
		snprintf(err, errlen, "%s %s: cannot read its security (%lu)",
		         what, path, (unsigned long)e);
	else if (dacl == NULL || others_may_write(dacl))
		snprintf(err, errlen,
		         "%s %s: users may change it (its ACL lets Everyone, "
		         "Users or Authenticated Users write); refusing to run",
		         what, path);
	else if (owner != NULL && !trusted_owner(owner))
		snprintf(err, errlen,
		         "%s %s: owned by another user (not SYSTEM nor "
		         "Administrators); refusing to run",
		         what, path);
	else
		rc = 0;
	LocalFree(sd);
	return rc;
}

/* The values the MSI writes under HKLM\SOFTWARE\mutu\Agent. */
enum { S_SERVER, S_COMMUNE, S_SECRET, S_USERKEY, S_CAFILE, S_PROXY, S_N };
static const wchar_t *const setting_names[S_N] = {
    L"Server", L"Commune", L"EnrolSecret", L"UserKey", L"CaFile", L"Proxy"};

/* Value name of k as new UTF-8 (REG_MULTI_SZ lines joined by '\n'), or
 * NULL when absent or empty. Surrounding blanks are removed. */
static char *
read_value(HKEY k, const wchar_t *name)
{
	wchar_t w[16384];
	DWORD type, size = sizeof(w) - 2 * sizeof(wchar_t), i, len;
	char *u = NULL, *p;

	if (RegQueryValueExW(k, name, NULL, &type, (BYTE *)w, &size) !=
	        ERROR_SUCCESS ||
	    (type != REG_SZ && type != REG_EXPAND_SZ && type != REG_MULTI_SZ))
		return NULL;
	len = size / sizeof(wchar_t);
	w[len] = L'\0';
	for (i = 0; type == REG_MULTI_SZ && i + 1 < len; i++)
		if (w[i] == L'\0' && w[i + 1] != L'\0')
			w[i] = L'\n';
	if (w[0] != L'\0')
		u = win_utf8(w);
	SecureZeroMemory(w, sizeof(w));
	if (u == NULL)
		return NULL;
	for (p = u + strlen(u); p > u && strchr(" \t\r\n", p[-1]); p--)
		p[-1] = '\0';
	p = u + strspn(u, " \t\r\n");
	memmove(u, p, strlen(p) + 1);
	if (*u == '\0') {
		free(u);
		return NULL;
	}
	return u;
}

static void
free_settings(char **v)
{
	int i;

	for (i = 0; i < S_N; i++) {
		if (v[i])
			crypto_wipe(v[i], strlen(v[i]));
		free(v[i]);
		v[i] = NULL;
	}
}

/* Appends the PEM blocks of text to out, rewrapped at 64 columns: an MSI
 * property or registry value may hold a CA on one line. */
static int
rewrap_pem(const char *text, struct buf *out)
{
	const char *b = text, *e, *end;
	char label[64];
	size_t col;
	int blocks = 0;

	while ((b = strstr(b, "-----BEGIN ")) != NULL) {
		if ((e = strstr(b + 11, "-----")) == NULL ||
		    (size_t)(e - b - 11) >= sizeof(label))
			return -1;
		memcpy(label, b + 11, (size_t)(e - b - 11));
		label[e - b - 11] = '\0';
		if ((end = strstr(e + 5, "-----END ")) == NULL)
			return -1;
		if (buf_printf(out, "-----BEGIN %s-----\n", label) == -1)
			return -1;
		for (col = 0, b = e + 5; b < end; b++) {
			if (!strchr(
			        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
			        "rstuvwxyz0123456789+/=",
			        *b) ||
			    *b == '\0')
				continue;
			if (buf_add(out, b, 1) == -1 ||
			    (++col % 64 == 0 && buf_adds(out, "\n") == -1))
				return -1;
		}
		if ((col % 64 && buf_adds(out, "\n") == -1) ||
		    buf_printf(out, "-----END %s-----\n", label) == -1)
			return -1;
		blocks++;
		b = end + 9;
	}
	return blocks > 0 ? 0 : -1;
}

/* Writes the CA (PEM text, or the path of a PEM file, which may be on a
 * share users can write) as ca.pem next to conffile, the path into out. */
static int
install_ca(const char *conffile, const char *ca, char *out, size_t n, char *err,
           size_t errlen)
{
	struct buf pem;
	char *text = NULL, *p;
	int rc = -1;

	buf_init(&pem, 1 << 20);
	if (strstr(ca, "-----BEGIN ") == NULL &&
	    (text = util_read_file(ca, 1 << 20)) == NULL) {
		snprintf(err, errlen, "CaFile %s: %s", ca, strerror(errno));
		goto fail;
	}
	if (rewrap_pem(text ? text : ca, &pem) == -1) {
		snprintf(err, errlen, "CaFile: no PEM certificate in it");
		goto fail;
	}
	if ((size_t)snprintf(out, n, "%s", conffile) >= n ||
	    (p = strrchr(out, '\\')) == NULL ||
	    (size_t)(p - out) + sizeof("\\ca.pem") > n) {
		snprintf(err, errlen, "%s: path too long", conffile);
		goto fail;
	}
	memcpy(p, "\\ca.pem", sizeof("\\ca.pem"));
	if (util_write_file(out, pem.data, pem.len, 0644) == -1) {
		snprintf(err, errlen, "%s: %s", out, strerror(errno));
		goto fail;
	}
	rc = 0;
fail:
	free(text);
	buf_free(&pem);
	return rc;
}

/* Writes the settings into conffile (and the CA next to it). */
static int
write_settings(const char *conffile, char **v, char *err, size_t errlen)
{
	struct enrol_settings es;
	char ca[MAX_PATH * 3];

	if (service_config_dir(conffile) == -1) {
		snprintf(err, errlen, "%s: cannot create its directory: %s",
		         conffile, strerror(errno));
		return -1;
	}
	if (v[S_CAFILE] && install_ca(conffile, v[S_CAFILE], ca, sizeof(ca),
	                              err, errlen) == -1)
		return -1;
	memset(&es, 0, sizeof(es));
	es.server = v[S_SERVER];
	es.commune = v[S_COMMUNE];
	es.secret = v[S_SECRET];
	es.user_key = v[S_USERKEY];
	es.ca_file = v[S_CAFILE] ? ca : NULL;
	es.proxy = v[S_PROXY];
	return enrol_configure(conffile, &es, err, errlen);
}

int
service_import_settings(const char *conffile, char *err, size_t errlen)
{
	char *v[S_N] = {NULL};
	HKEY k;
	int i, rc = 0;

	if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, SETTINGS_KEY, 0,
	                  KEY_QUERY_VALUE | KEY_SET_VALUE | KEY_WOW64_64KEY,
	                  &k) != ERROR_SUCCESS)
		return 0;
	for (i = 0; i < S_N; i++)
		v[i] = read_value(k, setting_names[i]);
	for (i = 0; i < S_N; i++) /* an upgrade without properties */
		if (v[i] == NULL)
			RegDeleteValueW(k, setting_names[i]);
	if (!v[S_SERVER] || !v[S_COMMUNE] || !v[S_SECRET]) {
		if (v[S_SERVER] || v[S_COMMUNE] || v[S_SECRET])
			log_warnx(
			    "HKLM\\SOFTWARE\\mutu\\Agent: SERVER, COMMUNE "
			    "and ENROLSECRET go together; ignored");
		goto done;
	}
	if (write_settings(conffile, v, err, errlen) == -1) {
		rc = -1;
		goto done;
	}
	for (i = 0; i < S_N; i++)
		RegDeleteValueW(k, setting_names[i]);
	log_info("installer settings written to %s (commune %s, server %s) "
	         "and removed from the registry",
	         conffile, v[S_COMMUNE], v[S_SERVER]);
	rc = 1;
done:
	/* Secrets never stay: neither a partial set nor an upgrade's. */
	if (rc != -1) {
		RegDeleteValueW(k, setting_names[S_SECRET]);
		RegDeleteValueW(k, setting_names[S_USERKEY]);
	}
	RegCloseKey(k);
	free_settings(v);
	return rc;
}
