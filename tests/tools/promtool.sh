#!/bin/sh
# Prints the path of promtool, Prometheus's checker of the text exposition
# format (test 245), fetched once into $BUILD/tools from Debian 12's
# prometheus package, pinned by version and sha256 and only extracted:
# the package is never installed, so no Prometheus server is started.
# make deps runs it; exits 1 with the reason when it cannot.
set -eu
VERSION=2.42.0+ds-5+deb12u1
SHA256=81d59a24fce84f7fbe97a45a4f2914b6a5881b5cd1db2a6a0e129e515e1a5f55
OUT=${BUILD:-build}/tools
if [ -x "$OUT/promtool" ]; then
	echo "$OUT/promtool"
	exit 0
fi
arch=$(dpkg --print-architecture)
if [ "$arch" != amd64 ]; then
	echo "promtool: pinned for amd64 only (this machine: $arch)" >&2
	exit 1
fi
work=$(mktemp -d /tmp/mutu-promtool.XXXXXX)
trap 'rm -rf "$work"' EXIT
if ! (cd "$work" && apt-get download -q "prometheus=$VERSION" >"$work/apt.log" 2>&1); then
	echo "promtool: apt-get download prometheus=$VERSION failed (run apt-get" \
		"update; if Debian replaced this version, pin the new one):" \
		"$(tail -n 2 "$work/apt.log")" >&2
	exit 1
fi
deb=$work/prometheus_${VERSION}_amd64.deb
if ! echo "$SHA256  $deb" | sha256sum -c --quiet - >/dev/null 2>&1; then
	echo "promtool: $(basename "$deb"): sha256 is not the pinned $SHA256" >&2
	exit 1
fi
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" ./usr/bin/promtool
mkdir -p "$OUT"
mv "$work/usr/bin/promtool" "$OUT/promtool.$$"
mv "$OUT/promtool.$$" "$OUT/promtool"
echo "$OUT/promtool"
