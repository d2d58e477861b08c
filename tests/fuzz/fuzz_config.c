/* libFuzzer driver: the agent's configuration file (through a real file,
 * as conf_load() reads one). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/mutu-fuzz-conf-XXXXXX", err[1024];
	struct agent_config cfg;
	FILE *fp;
	int fd;

	if ((fd = mkstemp(path)) == -1)
		return 0;
	if ((fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(path);
		return 0;
	}
	fwrite(data, 1, size, fp);
	fclose(fp);
	config_load(path, &cfg, err, sizeof(err));
	unlink(path);
	return 0;
}
