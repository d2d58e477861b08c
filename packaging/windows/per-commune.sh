#!/bin/sh
# per-commune.sh: a copy of the mutu agent MSI with one commune's settings
# baked in, for Group Policy software installation (which passes no
# command-line properties). Needs msitools (msibuild, msiinfo).
#
#   sh packaging/windows/per-commune.sh --server URL --commune CODE \
#       --secret-file FILE [--user-key-file FILE] [--ca-file PEM] \
#       [--proxy URL] -o OUT.msi IN.msi
#
# Secrets are read from files (one line each, as "mutu-agent enrol" reads
# them), never from the command line. The output holds them in clear: keep
# it on a share only the computer accounts can read (docs/WINDOWS.md).
# A new package code is set, so that Windows Installer never mistakes this
# MSI for another commune's copy of the same version.
set -eu

usage() {
	echo "usage: $0 --server URL --commune CODE --secret-file FILE" \
		"[--user-key-file FILE] [--ca-file PEM] [--proxy URL] -o OUT.msi IN.msi" >&2
	exit 2
}
die() { echo "per-commune.sh: $*" >&2; exit 1; }

server="" commune="" secret_file="" key_file="" ca_file="" proxy="" out="" in=""
while [ $# -gt 0 ]; do
	case $1 in
	--server) server=$2; shift 2 ;;
	--commune) commune=$2; shift 2 ;;
	--secret-file) secret_file=$2; shift 2 ;;
	--user-key-file) key_file=$2; shift 2 ;;
	--ca-file) ca_file=$2; shift 2 ;;
	--proxy) proxy=$2; shift 2 ;;
	-o) out=$2; shift 2 ;;
	-h | --help) usage ;;
	-*) usage ;;
	*) [ -z "$in" ] || usage; in=$1; shift ;;
	esac
done
[ -n "$server" ] && [ -n "$commune" ] && [ -n "$secret_file" ] && [ -n "$out" ] &&
	[ -n "$in" ] || usage
command -v msibuild >/dev/null && command -v msiinfo >/dev/null ||
	die "msibuild and msiinfo needed (apt-get install msitools)"
[ -f "$in" ] || die "$in: no such MSI"
case $server in https://*) ;; *) die "--server must be an https:// URL" ;; esac
echo "$commune" | grep -Eqx '[0-9]{5}|2[AB][0-9]{3}' || die "--commune: not an INSEE code: $commune"

# one_line FILE: the file's first line; refused if empty or with blanks.
one_line() {
	v=$(head -n 1 "$1" | tr -d '\r') || die "$1: cannot read"
	case $v in "" | *[[:space:]]* | *"'"*) die "$1: expected one line without spaces or quotes" ;; esac
	printf '%s' "$v"
}
secret=$(one_line "$secret_file")
key=""
[ -z "$key_file" ] || key=$(one_line "$key_file")
ca=""
if [ -n "$ca_file" ]; then
	grep -q -- '-----BEGIN CERTIFICATE-----' "$ca_file" || die "$ca_file: no PEM certificate"
	# One line: the service rewraps it when it writes ca.pem.
	ca=$(tr -d '\r\n' <"$ca_file")
fi
for v in "$server" "$proxy"; do
	case $v in *"'"* | *[[:space:]]*) die "quotes and blanks are not allowed: $v" ;; esac
done

tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
cp "$in" "$tmp"
chmod 600 "$tmp"

# set_prop NAME VALUE: the Property table's row, replaced.
set_prop() {
	msibuild "$tmp" -q "DELETE FROM Property WHERE Property = '$1'" ||
		die "msibuild: cannot update $1"
	[ -z "$2" ] && return 0
	msibuild "$tmp" -q "INSERT INTO Property (Property, Value) VALUES ('$1', '$2')" ||
		die "msibuild: cannot set $1"
}
set_prop SERVER "$server"
set_prop COMMUNE "$commune"
set_prop ENROLSECRET "$secret"
set_prop USERKEY "$key"
set_prop CAFILE "$ca"
set_prop PROXY "$proxy"

# A package code of its own (the summary's revision number).
tmpl=$(msiinfo suminfo "$tmp" | sed -n 's/^Template: //p')
author=$(msiinfo suminfo "$tmp" | sed -n 's/^Author: //p')
guid="{$(tr 'a-z' 'A-Z' </proc/sys/kernel/random/uuid)}"
msibuild "$tmp" -s "mutu agent for commune $commune" "$author" "$tmpl" "$guid" ||
	die "msibuild: cannot set the package code"
mv -f "$tmp" "$out"
trap - EXIT
echo "$out: mutu agent for commune $commune, server $server"
