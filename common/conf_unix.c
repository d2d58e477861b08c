/*
 * conf_unix: conf_check_private() on Linux: the file's mode bits.
 */
#include "conf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int
conf_check_private(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		snprintf(err, errlen,
		         "%s: holds secrets but is accessible to all users "
		         "(mode %04o); chmod o-rwx it",
		         path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}
