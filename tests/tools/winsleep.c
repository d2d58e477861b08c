/* winsleep: a Windows program that sleeps, for the wine tests
 * (tests/windows/lib.sh cross-builds it into the test's directory).
 *
 *     winsleep.exe [SECONDS]
 *
 * sleeps SECONDS, or until killed without an argument, and exits 0. It
 * keeps a wine prefix alive (wine stops every service when the prefix's
 * last ordinary process exits) and is the program 030-usage meters; with
 * winsleep.rc linked in it carries a version resource. */
#include <stdlib.h>
#include <windows.h>

int
main(int argc, char *argv[])
{
	if (argc > 1) {
		Sleep((DWORD)atoi(argv[1]) * 1000);
		return 0;
	}
	for (;;)
		Sleep(INFINITE);
}
