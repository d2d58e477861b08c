#!/bin/sh
# Builds the Windows agent's third-party libraries, static, for
# x86_64-w64-mingw32, into OUT/include and OUT/lib (make windows-deps):
#   libcurl (Schannel, no OpenSSL), jansson, cmocka: Debian 12's own source
#     packages, patches applied, fetched with apt-get source from the deb-src
#     twin of this machine's apt sources;
#   SQLite: the unmodified amalgamation inside the npm package sqlite3;
#   zlib: Debian's libz-mingw-w64-dev (already built for mingw).
# Every input is pinned by version and sha256 in deps.lock. The build is
# skipped when OUT/.stamp holds the key of deps.lock, this script and the
# compiler; downloads are kept, verified, in OUT/../deps-dl.
#
# Usage: deps.sh [OUT]            (default build/win/deps)
#        deps.sh --print-hashes   fetch the versions in deps.lock and print
#                                 their sha256 lines, to update the pins
set -eu

HOST=x86_64-w64-mingw32
here=$(cd "$(dirname "$0")" && pwd)
lock=$here/deps.lock
print_hashes=0
if [ "${1:-}" = --print-hashes ]; then
	print_hashes=1
	shift
fi
out=${1:-$here/../../build/win/deps}
mkdir -p "$out"
out=$(cd "$out" && pwd)
dl=$(dirname "$out")/deps-dl
jobs=$(nproc 2>/dev/null || echo 2)

# The host's flags are not for this compiler.
unset CC CFLAGS CPPFLAGS LDFLAGS LIBS CPP MAKEFLAGS MFLAGS 2>/dev/null || true
XCFLAGS="-O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2"

die() {
	echo "windows-deps: error: $*" >&2
	exit 1
}
say() { echo "windows-deps: $*"; }

now() { date +%s.%N; }
t_all=$(now)
t_step=$t_all
step_done() {
	t=$(now)
	say "$(printf '%-34s' "$1") $(echo "$t_step $t" | awk '{printf "%6.1f s", $2 - $1}')"
	t_step=$t
}

for tool in $HOST-gcc $HOST-ar $HOST-ranlib cmake dpkg-source apt-get npm \
	sha256sum make tar; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "$tool not found: run 'make deps' (as root) to install the build packages"
done
if [ ! -f /usr/$HOST/include/zlib.h ] || [ ! -f /usr/$HOST/lib/libz.a ]; then
	die "zlib for mingw missing: apt-get install libz-mingw-w64-dev"
fi

key=$(cat "$lock" "$0" | sha256sum | cut -d' ' -f1)-$($HOST-gcc -dumpfullversion)
up_to_date() {
	[ "$print_hashes" = 0 ] && [ -f "$out/.stamp" ] &&
		[ "$(cat "$out/.stamp")" = "$key" ]
}
if up_to_date; then
	touch "$out/.stamp" # for make: newer than deps.lock again
	say "up to date ($out)"
	exit 0
fi
# One build at a time in this tree; whoever waited finds it done.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$(dirname "$out")/.deps.lock"
	flock 9
	if up_to_date; then
		say "built meanwhile by another run ($out)"
		exit 0
	fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mutu-windeps.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP
mkdir -p "$dl"

# --- the pins -------------------------------------------------------------

# pinned_files NAME: the files pinned under the debsrc/npm line of NAME.
pinned_files() {
	awk -v p="$1" '$1 == "debsrc" || $1 == "npm" { cur = $2 }
		$1 == "sha256" && cur == p { print $2 }' "$lock"
}
pinned_hash() {
	awk -v f="$1" '$1 == "sha256" && $2 == f { print $3 }' "$lock"
}
# verify PATH: the file's sha256 must be the one deps.lock pins for its name.
verify() {
	name=$(basename "$1")
	want=$(pinned_hash "$name")
	[ -n "$want" ] || die "$name was downloaded but is not pinned in $lock"
	got=$(sha256sum <"$1" | cut -d' ' -f1)
	if [ "$got" != "$want" ]; then
		case $1 in
		"$dl"/*)
			mv -f "$1" "$1.rejected"
			fate="the cached file is set aside as $1.rejected"
			;;
		*) fate="the download is discarded" ;;
		esac
		echo "windows-deps: ********************************************" >&2
		echo "windows-deps: SHA256 MISMATCH for $name" >&2
		echo "windows-deps:   pinned in deps.lock: $want" >&2
		echo "windows-deps:   actual:              $got" >&2
		echo "windows-deps: $fate; nothing was built." >&2
		echo "windows-deps: ********************************************" >&2
		exit 1
	fi
}
# cached NAME: all of NAME's pinned files are already in $dl, verified.
cached() {
	for f in $(pinned_files "$1"); do
		[ -f "$dl/$f" ] || return 1
	done
	for f in $(pinned_files "$1"); do
		verify "$dl/$f"
	done
}

# --- apt-get source with a private deb-src list ---------------------------

# The deb-src entries are derived from this machine's own apt sources (the
# deb822 file of Debian 12, else sources.list), so no mirror is named here.
# apt keeps its lists, cache and lock in $work; the system's are untouched.
apt_ready=0
apt_setup() {
	[ "$apt_ready" = 1 ] && return 0
	a=$work/apt
	mkdir -p "$a/parts" "$a/lists/partial" "$a/cache/archives/partial"
	: >"$a/sources.list"
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		sed 's/^Types:.*/Types: deb-src/' \
			/etc/apt/sources.list.d/debian.sources >"$a/parts/debian.sources"
	elif [ -f /etc/apt/sources.list ]; then
		sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' \
			/etc/apt/sources.list >"$a/sources.list"
	fi
	[ -s "$a/parts/debian.sources" ] || [ -s "$a/sources.list" ] ||
		die "no Debian apt source found to derive a deb-src entry from"
	# Downloads are checked by apt against the signed index, then by us
	# against deps.lock; they run as the calling user (the private
	# directories are not the _apt user's).
	APT_OPTS="-q -o Dir::Etc::SourceList=$a/sources.list
		-o Dir::Etc::SourceParts=$a/parts -o Dir::State::Lists=$a/lists
		-o Dir::Cache=$a/cache -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
		-o APT::Sandbox::User=$(id -un)"
	# shellcheck disable=SC2086
	apt-get $APT_OPTS update >"$work/apt-update.log" 2>&1 || {
		cat "$work/apt-update.log" >&2
		die "apt-get update of the private deb-src list failed"
	}
	apt_ready=1
	step_done "deb-src index (private)"
}

# fetch_debsrc PACKAGE VERSION
fetch_debsrc() {
	cached "$1" && return 0
	apt_setup
	d=$work/fetch-$1
	mkdir -p "$d"
	# shellcheck disable=SC2086
	(cd "$d" && apt-get $APT_OPTS source --download-only "$1=$2") \
		>"$work/fetch-$1.log" 2>&1 || {
		cat "$work/fetch-$1.log" >&2
		die "apt-get source $1=$2 failed: if Debian has replaced this version," \
			"pin the new one in deps.lock (deps.sh --print-hashes)"
	}
	for f in "$d"/*; do
		verify "$f"
	done
	for f in $(pinned_files "$1"); do
		[ -f "$d/$f" ] || die "$f is pinned in deps.lock but apt-get source did not fetch it"
		mv -f "$d/$f" "$dl/$f"
	done
	step_done "fetch $1 $2"
}

# fetch_npm PACKAGE VERSION
fetch_npm() {
	cached "$1" && return 0
	d=$work/npm-$1
	mkdir -p "$d"
	(cd "$d" && npm pack --ignore-scripts --cache "$work/npm-cache" "$1@$2") \
		>"$work/npm-$1.log" 2>&1 || {
		cat "$work/npm-$1.log" >&2
		die "npm pack $1@$2 failed"
	}
	tgz=$d/$1-$2.tgz
	[ -f "$tgz" ] || die "npm pack did not write $(basename "$tgz")"
	verify "$tgz"
	mv -f "$tgz" "$dl/"
	step_done "fetch npm $1 $2"
}

if [ "$print_hashes" = 1 ]; then
	apt_setup
	awk '$1 == "debsrc" || $1 == "npm" { print $1, $2, $3 }' "$lock" |
		while read -r kind name ver; do
			d=$work/print-$name
			mkdir -p "$d"
			echo "$kind $name $ver"
			if [ "$kind" = debsrc ]; then
				# shellcheck disable=SC2086
				(cd "$d" && apt-get $APT_OPTS source --download-only "$name=$ver") \
					>/dev/null 2>&1 || die "apt-get source $name=$ver failed"
			else
				(cd "$d" && npm pack --ignore-scripts --cache "$work/npm-cache" \
					"$name@$ver") >/dev/null 2>&1 || die "npm pack $name@$ver failed"
				for t in "$d"/*.tgz; do
					tar -xzf "$t" -C "$d" --wildcards 'package/deps/*.tar.gz'
					mv "$d"/package/deps/*.tar.gz "$d"/
				done
				rm -rf "$d/package"
			fi
			(cd "$d" && sha256sum -- * | awk '{ print "sha256", $2, $1 }')
		done
	exit 0
fi

# --- fetch everything first, so a bad pin fails before any build ------------

awk '$1 == "debsrc" || $1 == "npm" { print $1, $2, $3 }' "$lock" >"$work/inputs"
while read -r kind name ver; do
	case $kind in
	debsrc) fetch_debsrc "$name" "$ver" ;;
	npm) fetch_npm "$name" "$ver" ;;
	esac
done <"$work/inputs"
version_of() { awk -v p="$1" '$2 == p { print $3 }' "$work/inputs"; }
dsc_of() { echo "$dl/${1}_$(version_of "$1" | sed 's/^[0-9]*://').dsc"; }
step_done "sources verified"

# Everything is built in $work/stage and moved to $out at the end.
stage=$work/stage
mkdir -p "$stage/include" "$stage/lib"

unpack() { # unpack PACKAGE: dpkg-source -x (applies Debian's patches)
	dpkg-source --no-check -x "$(dsc_of "$1")" "$work/src-$1" \
		>"$work/unpack-$1.log" 2>&1 || {
		cat "$work/unpack-$1.log" >&2
		die "dpkg-source -x $1 failed"
	}
}
# log_or_die LOG MESSAGE COMMAND...: quiet unless the command fails.
log_or_die() {
	l=$1
	m=$2
	shift 2
	"$@" >"$l" 2>&1 || {
		tail -n 40 "$l" >&2
		die "$m (full log: kept above, last 40 lines)"
	}
}

# A CMake toolchain file for mingw-w64.
cat >"$work/mingw.cmake" <<EOF
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER $HOST-gcc)
set(CMAKE_RC_COMPILER $HOST-windres)
set(CMAKE_AR $(command -v $HOST-ar))
set(CMAKE_RANLIB $(command -v $HOST-ranlib))
set(CMAKE_FIND_ROOT_PATH /usr/$HOST $stage)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
EOF

# --- SQLite (compiled in the background: one long file) --------------------

sq=$work/sqlite
mkdir -p "$sq"
tar -xzf "$dl/sqlite3-$(version_of sqlite3).tgz" -C "$sq" --wildcards 'package/deps/sqlite-autoconf-*.tar.gz'
inner=$(ls "$sq"/package/deps/sqlite-autoconf-*.tar.gz)
verify "$inner"
tar -xzf "$inner" -C "$sq"
amal=$(ls -d "$sq"/sqlite-autoconf-*/)
# Thread-safe (serialised), WAL as in every default build, no extension
# loading, no shared cache; otherwise SQLite's defaults, as on Linux.
# shellcheck disable=SC2086 # XCFLAGS is a list of flags
$HOST-gcc $XCFLAGS -c -o "$sq/sqlite3.o" "$amal/sqlite3.c" \
	-DSQLITE_THREADSAFE=1 -DSQLITE_OMIT_LOAD_EXTENSION=1 \
	-DSQLITE_OMIT_SHARED_CACHE=1 >"$work/sqlite.log" 2>&1 &
sq_pid=$!
# Under set -e a failing command inside the trap would end the script
# with its status: kill fails once the compile has been waited for.
trap 'kill "$sq_pid" 2>/dev/null || :; rm -rf "$work"' EXIT

# --- jansson ---------------------------------------------------------------

unpack jansson
log_or_die "$work/jansson.log" "jansson cmake failed" \
	cmake -S "$work/src-jansson" -B "$work/build-jansson" \
	-DCMAKE_TOOLCHAIN_FILE="$work/mingw.cmake" -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_C_FLAGS="$XCFLAGS" -DCMAKE_INSTALL_PREFIX="$stage" \
	-DJANSSON_BUILD_SHARED_LIBS=OFF -DJANSSON_EXAMPLES=OFF \
	-DJANSSON_WITHOUT_TESTS=ON -DJANSSON_BUILD_DOCS=OFF \
	-DUSE_WINDOWS_CRYPTOAPI=ON
log_or_die "$work/jansson.log" "jansson build failed" \
	cmake --build "$work/build-jansson" -j "$jobs" --target install
step_done "jansson $(version_of jansson)"

# --- cmocka ----------------------------------------------------------------

unpack cmocka
log_or_die "$work/cmocka.log" "cmocka cmake failed" \
	cmake -S "$work/src-cmocka" -B "$work/build-cmocka" \
	-DCMAKE_TOOLCHAIN_FILE="$work/mingw.cmake" -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_C_FLAGS="$XCFLAGS" -DCMAKE_INSTALL_PREFIX="$stage" \
	-DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF \
	-DPICKY_DEVELOPER=OFF
log_or_die "$work/cmocka.log" "cmocka build failed" \
	cmake --build "$work/build-cmocka" -j "$jobs" --target install
# Only the static library: the import library would win at link time.
rm -f "$stage/lib/libcmocka.dll.a" "$stage"/bin/*.dll
[ -f "$stage/lib/libcmocka.a" ] || mv "$stage/lib/libcmocka-static.a" "$stage/lib/libcmocka.a"
step_done "cmocka $(version_of cmocka)"

# --- libcurl ---------------------------------------------------------------

unpack curl
src=$work/src-curl
# Debian builds its OpenSSL flavour with the last two patches of its series
# (libcurl-gnutls, libcurl-nss renames) popped, as debian/rules does.
for p in 99_nss.patch 90_gnutls.patch; do
	log_or_die "$work/curl.log" "reverting Debian's $p failed" \
		patch -d "$src" -R -p1 -i "$src/debian/patches/$p"
done
# No maintainer mode: the shipped configure is used as is (Debian's own
# configure.ac patches are about GSSAPI and LDAP, both left out here).
(cd "$src" && log_or_die "$work/curl.log" "curl configure failed" \
	./configure --host=$HOST --build="$(./config.guess)" \
	--prefix="$stage" --disable-shared --enable-static \
	--with-schannel --with-zlib=/usr/$HOST \
	--without-ca-bundle --without-ca-path --without-ca-fallback \
	--without-libpsl --without-libidn2 --without-winidn \
	--without-brotli --without-zstd --without-nghttp2 --without-nghttp3 \
	--without-ngtcp2 --without-quiche --without-libssh2 --without-libssh \
	--without-wolfssh --without-librtmp --without-gssapi --without-hyper \
	--disable-ldap --disable-ldaps --disable-rtsp --disable-dict \
	--disable-telnet --disable-tftp --disable-pop3 --disable-imap \
	--disable-smb --disable-smtp --disable-gopher --disable-mqtt \
	--disable-ftp --disable-file --disable-websockets \
	--enable-http --enable-proxy --enable-ipv6 --enable-sspi \
	--enable-threaded-resolver --disable-pthreads \
	--disable-manual --disable-docs --disable-dependency-tracking \
	CFLAGS="$XCFLAGS")
step_done "curl configure"
log_or_die "$work/curl.log" "curl build failed" make -C "$src/lib" -j "$jobs"
log_or_die "$work/curl.log" "curl install failed" make -C "$src/lib" install
log_or_die "$work/curl.log" "curl install failed" make -C "$src/include" install
cp "$src/libcurl.pc" "$stage/lib/pkgconfig/" 2>/dev/null || true
# Schannel and nothing else: curl 7.88 takes only the TLS backends named
# (its --without-ssl would refuse --with-schannel).
grep -q '^#define USE_SCHANNEL 1' "$src/lib/curl_config.h" ||
	die "curl was configured without Schannel"
! grep -Eq '^#define USE_(OPENSSL|GNUTLS|WOLFSSL|MBEDTLS|NSS|BEARSSL|RUSTLS) 1' \
	"$src/lib/curl_config.h" || die "curl was configured with a TLS library besides Schannel"
step_done "curl $(version_of curl)"

# --- SQLite, collected ------------------------------------------------------

wait "$sq_pid" || {
	cat "$work/sqlite.log" >&2
	die "compiling sqlite3.c failed"
}
$HOST-ar rcs "$stage/lib/libsqlite3.a" "$sq/sqlite3.o"
cp "$amal/sqlite3.h" "$amal/sqlite3ext.h" "$stage/include/"
step_done "sqlite $(sed -n 's/^#define SQLITE_VERSION *"\(.*\)"/\1/p' "$amal/sqlite3.h") (overlapped)"

# --- install ---------------------------------------------------------------

rm -rf "${stage:?}/bin" "${stage:?}/share" "${stage:?}/cmake" "${stage:?}/lib/cmake"
find "$stage/lib" -name '*.la' -delete
rm -rf "$out.new"
mv "$stage" "$out.new"
rm -rf "$out"
mv "$out.new" "$out"
echo "$key" >"$out/.stamp"
say "$(printf '%-34s' total) $(echo "$t_all $(now)" | awk '{printf "%6.1f s", $2 - $1}')"
say "installed in $out:" "$(cd "$out/lib" && echo ./*.a)"
