/*
 * conf_win: conf_check_private() on Windows: the file's DACL.
 *
 * A file that holds secrets may be readable or writable only by SYSTEM,
 * the Administrators group and its owner (unless the owner is one of the
 * broad groups of win_sid_is_broad()). Any other account or group granted
 * read or write access by an ACE that applies to the file itself makes it
 * refused:
 * typically Users, Authenticated Users or Everyone, inherited from a folder
 * such as C:\ProgramData. Deny ACEs are not weighed: an allow ACE for
 * others is refused even if a deny ACE might cancel it.
 */
#include "conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <windows.h>

#include <aclapi.h>
#include <sddl.h>

#include "win.h"

/* Rights that let someone read the secrets, change the file or its ACL. */
#define RISKY                                                                  \
	(FILE_READ_DATA | FILE_WRITE_DATA | FILE_APPEND_DATA | WRITE_DAC |     \
	 WRITE_OWNER | GENERIC_READ | GENERIC_WRITE | GENERIC_ALL |            \
	 MAXIMUM_ALLOWED)

static int
trusted(PSID sid, PSID owner)
{
	if (IsWellKnownSid(sid, WinLocalSystemSid) ||
	    IsWellKnownSid(sid, WinBuiltinAdministratorsSid) ||
	    IsWellKnownSid(sid, WinCreatorOwnerRightsSid)) /* the owner */
		return 1;
	return owner != NULL && EqualSid(sid, owner) &&
	       !win_sid_is_broad(owner);
}

/* "DOMAIN\name" of sid in UTF-8, else its S-1-... form. */
static void
sid_name(PSID sid, char *out, size_t n)
{
	wchar_t name[256], domain[256], both[520];
	DWORD nn = 256, dn = 256;
	SID_NAME_USE use;
	wchar_t *str = NULL;
	char *u = NULL;

	if (LookupAccountSidW(NULL, sid, name, &nn, domain, &dn, &use)) {
		if (domain[0])
			_snwprintf(both, sizeof(both) / sizeof(both[0]),
			           L"%ls\\%ls", domain, name);
		else
			_snwprintf(both, sizeof(both) / sizeof(both[0]), L"%ls",
			           name);
		both[sizeof(both) / sizeof(both[0]) - 1] = L'\0';
		u = win_utf8(both);
	} else if (ConvertSidToStringSidW(sid, &str)) {
		u = win_utf8(str);
		LocalFree(str);
	}
	snprintf(out, n, "%s", u ? u : "an unknown account");
	free(u);
}

int
conf_check_private(const char *path, char *err, size_t errlen)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	PSID owner = NULL, sid;
	PACL dacl = NULL;
	ACCESS_ALLOWED_ACE *ace;
	char who[600], why[256];
	wchar_t *w;
	DWORD rc, i;
	int ret = 0;

	if ((w = win_wide(path)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = GetNamedSecurityInfoW(w, SE_FILE_OBJECT,
	                           OWNER_SECURITY_INFORMATION |
	                               DACL_SECURITY_INFORMATION,
	                           &owner, NULL, &dacl, NULL, &sd);
	free(w);
	if (rc != ERROR_SUCCESS) {
		snprintf(err, errlen, "%s: %s", path,
		         win_strerror(rc, why, sizeof(why)));
		return -1;
	}
	if (dacl == NULL) {
		snprintf(err, errlen,
		         "%s: holds secrets but has no access control list "
		         "(everyone may read and change it)",
		         path);
		LocalFree(sd);
		return -1;
	}
	for (i = 0; i < dacl->AceCount; i++) {
		if (!GetAce(dacl, i, (void **)&ace))
			continue;
		if (ace->Header.AceFlags & INHERIT_ONLY_ACE)
			continue; /* applies to children, not to the file */
		if (ace->Header.AceType != ACCESS_ALLOWED_ACE_TYPE &&
		    ace->Header.AceType != ACCESS_ALLOWED_CALLBACK_ACE_TYPE)
			continue;
		sid = (PSID)&ace->SidStart;
		if (!(ace->Mask & RISKY) || trusted(sid, owner))
			continue;
		sid_name(sid, who, sizeof(who));
		snprintf(err, errlen,
		         "%s: holds secrets but is accessible to other users "
		         "(%s may read or change it); allow only SYSTEM and "
		         "Administrators: icacls \"%s\" /inheritance:r "
		         "/grant:r *S-1-5-18:F *S-1-5-32-544:F",
		         path, who, path);
		ret = -1;
		break;
	}
	LocalFree(sd);
	return ret;
}
