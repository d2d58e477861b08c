/* libFuzzer driver: raw bytes sent to the real HTTP server (libmicrohttpd
 * with mutu's request handlers and a real SQLite store) over loopback.
 * An agent with the token "fuzz-agent-token" and an admin with
 * "fuzz-admin-token" exist, so that seeds can reach ingest and the admin
 * API. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "api.h"
#include "crypto.h"
#include "http.h"
#include "proto.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct api api;
static int port;
static char dir[] = "/tmp/mutu-fuzz-http-XXXXXX";

/* At exit (libFuzzer's time or run budget): the store's files and their
 * directory go, whatever is still open. */
static void
remove_dir(void)
{
	static const char *const files[] = {"s.db", "s.db-wal", "s.db-shm"};
	char f[96];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(f, sizeof(f), "%s/%s", dir, files[i]);
		unlink(f);
	}
	rmdir(dir);
}

static void
setup(void)
{
	struct http_limits lim = {PROTO_MAX_BODY,
	                          PROTO_MAX_INFLATED,
	                          PROTO_MAX_RATIO,
	                          2,
	                          5,
	                          64,
	                          NULL,
	                          NULL};
	char db[64], err[256];
	char h[CRYPTO_HEX256_LEN + 1], commune[STORE_COMMUNE_MAX];
	struct http_server *s;

	if (mkdtemp(dir) == NULL)
		abort();
	atexit(remove_dir);
	snprintf(db, sizeof(db), "%s/s.db", dir);
	if ((api.store = store_open(db, NULL, err, sizeof(err))) == NULL)
		abort();
	store_commune_add(api.store, "29019", "Brest");
	crypto_sha256_hex("fuzz-secret", h);
	store_secret_add(api.store, "29019", h);
	crypto_sha256_hex("fuzz-agent-token", h);
	{
		char sh[CRYPTO_HEX256_LEN + 1];
		crypto_sha256_hex("fuzz-secret", sh);
		store_enrol(api.store, sh,
		            "11111111-1111-4111-8111-111111111111", "pc", h, 0,
		            NULL, commune);
	}
	crypto_sha256_hex("fuzz-admin-token", h);
	store_admin_add(api.store, h, NULL);
	api.privacy_k = 3;
	/* GET /metrics with "Bearer fuzz-metrics-token" is served too. */
	if ((api.metrics = api_metrics_new()) == NULL)
		abort();
	crypto_sha256_hex("fuzz-metrics-token", api.metrics_hash);
	if ((s = http_start("127.0.0.1:0", &lim, &api_handlers, &api, err,
	                    sizeof(err))) == NULL)
		abort();
	port = http_port(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sa;
	struct timeval tv = {2, 0};
	char buf[4096];
	int fd;

	if (port == 0)
		setup();
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		if (size > 0)
			(void)!send(fd, data, size, MSG_NOSIGNAL);
		shutdown(fd, SHUT_WR);
		while (recv(fd, buf, sizeof(buf), 0) > 0)
			;
	}
	close(fd);
	return 0;
}
