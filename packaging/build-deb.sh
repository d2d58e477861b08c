#!/bin/sh
# Builds mutu-agent_VERSION_ARCH.deb and mutu-server_VERSION_ARCH.deb into
# build/deb/ from the working tree and packaging/debian. Usage: build-deb.sh VERSION
set -eu
V=${1:?usage: build-deb.sh VERSION}
OUT=build/deb
SRC="$OUT/mutu-$V"
rm -rf "$OUT"
mkdir -p "$SRC"
tar cf - Makefile README.md LICENSE .clang-format agent common server docs \
	packaging tests | tar xf - -C "$SRC"
cp -r packaging/debian "$SRC/debian"
cp packaging/mutu-agent.service "$SRC/debian/mutu-agent.service"
cp packaging/mutu-server.service "$SRC/debian/mutu-server.service"
cat >"$SRC/debian/changelog" <<CHANGES
mutu ($V) unstable; urgency=medium

  * Release $V; see the project history for the changes.

 -- mutu developers <mutu-dev@lists.example.org>  $(date -R)
CHANGES
(cd "$SRC" && dpkg-buildpackage -us -uc -b -j2 >../build.log 2>&1) || {
	tail -n 40 "$OUT/build.log"
	exit 1
}
ls -1 "$OUT"/*.deb
