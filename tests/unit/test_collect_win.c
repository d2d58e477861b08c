/* Unit tests of collect_windows.c (Windows only; run under wine by
 * tests/run.sh): a child process started from a copy of this program in
 * the temporary directory, which lies in the user's profile, is reported
 * with its profile masked, its owner's uid as collect.h documents it, its
 * start time; its session hidden while locked and the machine asleep,
 * and reported again from the unlock on; user names, base names, the
 * boot id and the inventory's shape. */
#include <windows.h>
#include <sddl.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "collect.h"
#include "util.h"

static PROCESS_INFORMATION child;
static wchar_t child_path[MAX_PATH + 64];
static char child_name[64];

struct found {
	DWORD pid;
	int seen, self;
	struct proc_info pi;
};

static int
find_child(const struct proc_info *p, void *arg)
{
	struct found *f = arg;

	if ((DWORD)p->pid == GetCurrentProcessId())
		f->self = 1;
	if ((DWORD)p->pid == f->pid) {
		f->seen = 1;
		f->pi = *p;
	}
	return 0;
}

static int
lookup(struct collect *c, struct found *f)
{
	memset(f, 0, sizeof(*f));
	f->pid = child.dwProcessId;
	assert_true(collect_procs(c, find_child, f) >= 0);
	assert_false(f->self); /* never the caller */
	return f->seen;
}

/* A copy of this program, run with --child: it sleeps. */
static int
setup(void **state)
{
	wchar_t self[MAX_PATH], tmp[MAX_PATH], cmd[MAX_PATH + 80];
	STARTUPINFOW si;

	(void)state;
	if (GetModuleFileNameW(NULL, self, MAX_PATH) == 0 ||
	    GetTempPathW(MAX_PATH, tmp) == 0)
		return -1;
	snprintf(child_name, sizeof(child_name), "mutu-collect-%lu.exe",
	         (unsigned long)GetCurrentProcessId());
	_snwprintf(child_path, MAX_PATH + 64, L"%lsmutu-collect-%lu.exe", tmp,
	           (unsigned long)GetCurrentProcessId());
	child_path[MAX_PATH + 63] = 0;
	if (!CopyFileW(self, child_path, FALSE))
		return -1;
	_snwprintf(cmd, MAX_PATH + 80, L"\"%ls\" --child", child_path);
	cmd[MAX_PATH + 79] = 0;
	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	if (!CreateProcessW(child_path, cmd, NULL, NULL, FALSE, 0, NULL, NULL,
	                    &si, &child))
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	TerminateProcess(child.hProcess, 0);
	WaitForSingleObject(child.hProcess, 10000);
	CloseHandle(child.hProcess);
	CloseHandle(child.hThread);
	DeleteFileW(child_path);
	return 0;
}

/* The SID of this process's user, as a string. */
static void
own_sid(char *out, size_t n)
{
	union {
		TOKEN_USER tu;
		unsigned char raw[256];
	} buf;
	HANDLE tok;
	DWORD len;
	char *s;

	assert_true(OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok));
	assert_true(
	    GetTokenInformation(tok, TokenUser, &buf, sizeof(buf), &len));
	assert_true(ConvertSidToStringSidA(buf.tu.User.Sid, &s));
	snprintf(out, n, "%s", s);
	LocalFree(s);
	CloseHandle(tok);
}

static void
test_child(void **state)
{
	struct collect *c = collect_new(NULL);
	char sid[256], tmp[MAX_PATH * 3], prof[MAX_PATH * 3], want[512];
	long long now = util_boot_ms(); /* process starts are on this clock */
	struct found f;
	uint32_t h = 2166136261u;
	const char *p;

	(void)state;
	assert_non_null(c);
	assert_true(lookup(c, &f));
	assert_true(f.pi.start_ms >= now - 120000 &&
	            f.pi.start_ms <= now + 2000);
	assert_string_equal(collect_basename(f.pi.exe), child_name);
	/* The temporary directory is in the profile: masked. */
	assert_true(GetEnvironmentVariableA("TEMP", want, sizeof(want)) > 0);
	/* Long names, as the process image path has them. */
	if (GetLongPathNameA(want, tmp, sizeof(tmp)) == 0)
		snprintf(tmp, sizeof(tmp), "%s", want);
	assert_true(GetEnvironmentVariableA("USERPROFILE", prof, sizeof(prof)) >
	            0);
	if (_strnicmp(tmp, prof, strlen(prof)) == 0) {
		snprintf(want, sizeof(want), "%%USERPROFILE%%%s\\%s",
		         tmp + strlen(prof), child_name);
		assert_int_equal(_stricmp(f.pi.exe, want), 0);
	} else
		print_message("TEMP %s is outside the profile %s\n", tmp, prof);
	assert_null(strstr(f.pi.exe, prof));
	/* A person: 0x80000000 | FNV-1a of the SID string. */
	own_sid(sid, sizeof(sid));
	for (p = sid; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 16777619u;
	}
	if (strncmp(sid, "S-1-5-21-", 9) == 0 ||
	    strncmp(sid, "S-1-12-1-", 9) == 0)
		assert_int_equal(f.pi.uid, 0x80000000u | (h & 0x7fffffffu));
	else
		assert_true(f.pi.uid < 1000); /* SYSTEM and the like */
	collect_free(c);
}

static void
test_username(void **state)
{
	struct collect *c = collect_new(NULL);
	char name[256], user[128], dom[128], want[260];
	struct found f;

	(void)state;
	assert_non_null(c);
	assert_true(lookup(c, &f));
	collect_username(c, f.pi.uid, name, sizeof(name));
	assert_true(GetEnvironmentVariableA("USERNAME", user, sizeof(user)));
	if (GetEnvironmentVariableA("USERDOMAIN", dom, sizeof(dom))) {
		snprintf(want, sizeof(want), "%s\\%s", dom, user);
		assert_int_equal(_stricmp(name, want), 0);
	} else
		assert_non_null(strstr(name, user));
	/* Unknown: the number, as on Linux. */
	collect_username(c, 0x80000001u, name, sizeof(name));
	assert_string_equal(name, "2147483649");
	collect_free(c);
}

static void
test_locked(void **state)
{
	struct collect *c = collect_new(NULL);
	DWORD session;
	struct found f;
	long long t;

	(void)state;
	assert_non_null(c);
	assert_true(ProcessIdToSessionId(child.dwProcessId, &session));
	collect_set_session_locked(c, session, 1);
	assert_false(lookup(c, &f));
	collect_set_session_locked(c, session + 1, 0); /* another session */
	assert_false(lookup(c, &f));
	Sleep(1100);
	t = util_boot_ms();
	collect_set_session_locked(c, session, 0);
	assert_true(lookup(c, &f));
	assert_true(f.pi.start_ms >= t); /* the locked time is not use */
	/* Asleep: nothing at all; awake: from the wake-up on. */
	collect_set_session_locked(c, COLLECT_SESSION_ALL, 1);
	assert_false(lookup(c, &f));
	Sleep(1100);
	t = util_boot_ms();
	collect_set_session_locked(c, COLLECT_SESSION_ALL, 0);
	assert_true(lookup(c, &f));
	assert_true(f.pi.start_ms >= t);
	collect_set_session_locked(NULL, 1, 1); /* a no-op */
	collect_free(c);
}

static void
test_basename_boot(void **state)
{
	char a[64], b[64];

	(void)state;
	assert_string_equal(collect_basename("C:\\Program Files\\X\\x.exe"),
	                    "x.exe");
	assert_string_equal(collect_basename("C:/a/b.exe"), "b.exe");
	assert_string_equal(collect_basename("%USERPROFILE%\\c.exe"), "c.exe");
	assert_string_equal(collect_basename("plain.exe"), "plain.exe");
	collect_boot_id(a, sizeof(a));
	collect_boot_id(b, sizeof(b));
	assert_true(a[0] != '\0');
	assert_string_equal(a, b);
	collect_hostname(a, sizeof(a));
	assert_true(a[0] != '\0');
}

static void
test_inventory(void **state)
{
	struct collect *c = collect_new(NULL);
	json_t *content = json_object(), *list, *prev = NULL, *s;
	const char *name;
	size_t i;
	int n;

	(void)state;
	assert_non_null(c);
	n = collect_inventory(c, content);
	assert_true(n >= 0);
	list = json_object_get(content, "softwares");
	assert_int_equal(json_array_size(list), (size_t)n);
	assert_non_null(json_object_get(content, "hardware"));
	assert_non_null(json_object_get(content, "operatingsystem"));
	assert_non_null(json_object_get(content, "cpus"));
	assert_non_null(json_object_get(content, "versionclient"));
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_object_get(content, "operatingsystem"), "name")),
	    "Windows");
	/* Sorted by name, no entry twice. */
	json_array_foreach(list, i, s)
	{
		name = json_string_value(json_object_get(s, "name"));
		assert_non_null(name);
		if (prev) {
			assert_true(strcmp(json_string_value(
			                       json_object_get(prev, "name")),
			                   name) <= 0);
			assert_false(json_equal(prev, s));
		}
		prev = s;
	}
	json_decref(content);
	collect_free(c);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_child),
	    cmocka_unit_test(test_username),
	    cmocka_unit_test(test_locked),
	    cmocka_unit_test(test_basename_boot),
	    cmocka_unit_test(test_inventory),
	};

	if (argc > 1 && strcmp(argv[1], "--child") == 0) {
		Sleep(120000);
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
