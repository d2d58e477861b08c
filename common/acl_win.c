/*
 * acl_win: which Windows accounts count as "everyone" when a file or a
 * directory that holds secrets is checked (conf_win.c, service_win.c).
 * One list, so that a configuration file and the state directory are
 * judged by the same rule.
 */
#include <windows.h>

#include "win.h"

int
win_sid_is_broad(void *sid)
{
	static const WELL_KNOWN_SID_TYPE broad[] = {
	    WinWorldSid,        WinAuthenticatedUserSid,
	    WinBuiltinUsersSid, WinInteractiveSid,
	    WinAnonymousSid,    WinBuiltinGuestsSid,
	    WinNetworkSid,      WinLocalSid,
	    WinCreatorOwnerSid, WinCreatorGroupSid,
	};
	size_t i;

	for (i = 0; i < sizeof(broad) / sizeof(broad[0]); i++)
		if (IsWellKnownSid(sid, broad[i]))
			return 1;
	return 0;
}
