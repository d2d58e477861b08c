#!/bin/sh
# make fuzz: builds the libFuzzer drivers with clang (ASan + UBSan) and
# runs each for FUZZ_SECONDS seconds from its seed corpus. A crash stops
# the run with the input saved under build/fuzz/.
set -eu
SECONDS_EACH=${FUZZ_SECONDS:-30}
OUT=build/fuzz
mkdir -p "$OUT"
CFLAGS="-g -O1 -Wall -Werror -std=c11 -D_GNU_SOURCE -DMUTU_VERSION=\"fuzz\" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Icommon -Iagent -Iserver -Iserver/store $(pkg-config --cflags jansson zlib inih openssl libcurl)"
LIBS="$(pkg-config --libs jansson zlib inih openssl)"
build() { # name sources...
	name=$1
	shift
	clang $CFLAGS -o "$OUT/fuzz_$name" "tests/fuzz/fuzz_$name.c" "$@" $LIBS
}
build batch server/ingest.c common/codec.c common/buf.c common/digest.c \
	common/crypto.c common/crypto_openssl.c
build dpkg agent/dpkg.c common/util.c common/util_unix.c
build config agent/config.c agent/service_unix.c common/conf.c common/conf_unix.c common/util.c \
	common/util_unix.c common/log.c common/log_syslog.c common/httpc.c common/buf.c common/proxy_unix.c \
	$(pkg-config --libs libcurl)
build procstat agent/procstat.c
build smbios agent/smbios.c
build ocsxml server/ocsxml.c server/store/ident.c common/codec.c common/buf.c \
	common/util.c common/util_unix.c $(pkg-config --cflags --libs libxml-2.0)
make --no-print-directory build/server/store/catalogue_data.c >/dev/null
LIBS="$LIBS $(pkg-config --libs libmicrohttpd sqlite3 libpq openssl libxml-2.0) -lpthread -lm"
CFLAGS="$CFLAGS $(pkg-config --cflags libmicrohttpd sqlite3 libpq openssl libxml-2.0)"
# The whole server but its main(): every file of server/, server/store/ and
# common/ (but Windows'), so that a new or moved file is never left out.
build http $(ls server/*.c server/store/*.c | grep -v '^server/main.c$') \
	build/server/store/catalogue_data.c $(ls common/*.c | grep -v '_win\.c$') \
	$(pkg-config --libs libcurl)
for name in batch dpkg config procstat smbios ocsxml http; do
	mkdir -p "$OUT/corpus-$name"
	echo "fuzz_$name: $SECONDS_EACH s"
	"$OUT/fuzz_$name" -max_total_time="$SECONDS_EACH" -timeout=10 \
		-rss_limit_mb=2048 -artifact_prefix="$OUT/crash-$name-" \
		-print_final_stats=1 "$OUT/corpus-$name" "tests/fuzz/corpus/$name" \
		2>"$OUT/fuzz_$name.log" || {
		tail -n 40 "$OUT/fuzz_$name.log"
		exit 1
	}
	grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$OUT/fuzz_$name.log" |
		tr '\n' ' '
	echo
done
echo "fuzz: no crash"
