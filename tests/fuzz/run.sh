#!/bin/sh
# make fuzz: builds the libFuzzer drivers with clang (ASan + UBSan) and
# runs each for FUZZ_SECONDS seconds from its seed corpus. A crash stops
# the run with the input saved under build/fuzz/.
set -eu
SECONDS_EACH=${FUZZ_SECONDS:-30}
OUT=build/fuzz
mkdir -p "$OUT"
CFLAGS="-g -O1 -Wall -Werror -std=c11 -D_GNU_SOURCE -DMUTU_VERSION=\"fuzz\" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Icommon -Iagent -Iserver $(pkg-config --cflags jansson zlib inih openssl)"
LIBS="$(pkg-config --libs jansson zlib inih openssl)"
build() { # name sources...
	name=$1
	shift
	clang $CFLAGS -o "$OUT/fuzz_$name" "tests/fuzz/fuzz_$name.c" "$@" $LIBS
}
build batch server/ingest.c common/codec.c common/buf.c common/digest.c \
	common/crypto.c
build dpkg agent/dpkg.c common/util.c
build config agent/config.c common/conf.c common/util.c common/log.c
build procstat agent/procstat.c
make --no-print-directory build/server/catalogue_data.c >/dev/null
LIBS="$LIBS $(pkg-config --libs libmicrohttpd sqlite3 libpq openssl) -lpthread -lm"
CFLAGS="$CFLAGS $(pkg-config --cflags libmicrohttpd sqlite3 libpq openssl)"
build http server/http.c server/api.c server/ingest.c server/store.c \
	server/db.c server/store_sql.c server/store_schema.c server/store_copy.c \
	server/store_ingest.c server/store_licence.c \
	server/store_access.c server/catalogue.c server/share.c \
	server/ratelimit.c server/shed.c build/server/catalogue_data.c \
	common/buf.c common/codec.c common/crypto.c common/digest.c \
	common/crashpoint.c common/util.c common/log.c
for name in batch dpkg config procstat http; do
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
