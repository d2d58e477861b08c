#!/bin/sh
# The installed packages under a real systemd: a Debian 12 tree made with
# debootstrap, booted with systemd-nspawn (sharing the host's network, so
# only loopback ports are used). Checks Type=notify start-up, watchdog
# pings (WatchdogSec lowered to 3 s by a drop-in), the sandboxed agent
# seeing another user's program, journal priorities, clean stops.
# Exit 77 (skip) when this machine cannot debootstrap or boot a container.
set -eu
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
V=${1:-0.1.0}
ROOT=${MUTU_NSPAWN_ROOT:-/var/tmp/mutu-nspawn-bookworm}
MIRROR=${MUTU_MIRROR:-http://deb.debian.org/debian}
ARCH=$(dpkg --print-architecture)
NSPAWN=""
step() { echo; echo "=== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
ok() { echo "ok: $*"; }
cleanup() {
	if [ -n "$NSPAWN" ] && kill -0 "$NSPAWN" 2>/dev/null; then
		[ -z "${L:-}" ] || nsenter -t "$L" -a systemctl poweroff 2>/dev/null || true
		sleep 3
		kill "$NSPAWN" 2>/dev/null || true
	fi
}
trap cleanup EXIT
# wait_in SECONDS SHELL-CONDITION: polls a condition inside the container.
wait_in() {
	n=$(($1 * 5))
	while ! $IN sh -c "$2" >/dev/null 2>&1; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.2
	done
}

step "container root"
if [ ! -x "$ROOT/lib/systemd/systemd" ]; then
	command -v debootstrap >/dev/null || skip "debootstrap not installed"
	debootstrap --variant=minbase \
		--include=systemd,systemd-sysv,dbus,adduser,curl,sqlite3,libcurl4,libjansson4,libinih1,libmicrohttpd12 \
		bookworm "$ROOT.tmp" "$MIRROR" >/tmp/mutu-debootstrap.log 2>&1 ||
		skip "debootstrap failed (see /tmp/mutu-debootstrap.log)"
	mv "$ROOT.tmp" "$ROOT"
fi
ok "$ROOT"
step "packages $V"
sh packaging/build-deb.sh "$V" >/dev/null
cp "build/deb/mutu-agent_${V}_$ARCH.deb" "build/deb/mutu-server_${V}_$ARCH.deb" "$ROOT/root/"
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

step "boot"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn not installed"
systemd-nspawn -q -D "$ROOT" --boot --console=passive --register=no \
	--keep-unit --machine="mutu-test-$$" >/tmp/mutu-nspawn.log 2>&1 &
NSPAWN=$!
L=""
for i in $(seq 100); do # the container's init, once it has exec'd systemd
	L=$(pgrep -P "$NSPAWN" | head -n 1) &&
		[ "$(cat "/proc/$L/comm" 2>/dev/null)" = systemd ] && break
	L=""
	sleep 0.2
done
[ -n "$L" ] || skip "systemd-nspawn could not boot: $(tail -n 3 /tmp/mutu-nspawn.log)"
IN="nsenter -t $L -a"
state=""
for i in $(seq 120); do
	state=$($IN systemctl is-system-running 2>/dev/null || true)
	case "$state" in running|degraded) break ;; esac
	sleep 0.5
done
case "$state" in
running|degraded) ok "systemd in the container: $state" ;;
*) skip "container did not boot: '$state' $(tail -n 3 /tmp/mutu-nspawn.log)" ;;
esac

step "install, start under systemd"
$IN sh -c "DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq mutu-agent mutu-server" >/dev/null 2>&1 || true
$IN sh -c "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /root/mutu-server_${V}_$ARCH.deb /root/mutu-agent_${V}_$ARCH.deb" \
	>/tmp/mutu-nspawn-apt.log 2>&1 || fail "install: $(tail -n 5 /tmp/mutu-nspawn-apt.log)"
$IN sh -c "
	sed -i 's/^listen = .*/listen = 127.0.0.1:$PORT/' /etc/mutu/server.conf
	for u in mutu-agent mutu-server; do
		mkdir -p /etc/systemd/system/\$u.service.d
		printf '[Service]\nWatchdogSec=3s\n' >/etc/systemd/system/\$u.service.d/watchdog.conf
	done
	systemctl daemon-reload && systemctl restart mutu-server"
[ "$($IN systemctl is-active mutu-server)" = active ] || fail "server not active: $($IN systemctl status mutu-server --no-pager)"
ok "mutu-server active (Type=notify: READY=1 received)"

step "bootstrap and enrol"
$IN sh -c "
	set -e
	umask 077
	mutu-server -c /etc/mutu/server.conf commune add 29019 Brest >/dev/null
	mutu-server -c /etc/mutu/server.conf enrol-secret 29019 >/root/secret
	mutu-server -c /etc/mutu/server.conf admin-token >/root/token
	head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >/root/userkey
	mutu-agent enrol --server http://127.0.0.1:$PORT --commune 29019 \
		--secret-file /root/secret --user-key-file /root/userkey
	printf 'usage_interval = 1\nsync_interval = 2\nusage_min_uid = 0\n' >>/etc/mutu/agent.conf
	systemctl restart mutu-agent"
[ "$($IN systemctl is-active mutu-agent)" = active ] || fail "agent not active"
CTL="mutuctl --server http://127.0.0.1:$PORT --token-file /root/token"
wait_in 30 "$CTL --format csv machines | grep -q 29019" || fail "agent never delivered"
ok "agent enrolled and delivered under systemd"

step "usage of another user's program, seen from the sandbox"
$IN sh -c 'cp /bin/sleep /root/mutu-probe && (/root/mutu-probe 4 &)'
# mutu-probe matches no catalogue rule: it is a raw name (licences --raw).
# Today's use, asked for: --days periods end yesterday (LICENCES.md,
# "Periods"); today and tomorrow in the server's time zone (Paris).
TODAY="--from $(TZ=Europe/Paris date +%F) --to $(TZ=Europe/Paris date -d tomorrow +%F)"
wait_in 40 "$CTL --format csv licences --raw --product mutu-probe $TODAY | grep -q '^mutu-probe,29019,0,1,'" ||
	fail "usage of mutu-probe not reported: $($IN sh -c "$CTL licences --raw --product mutu-probe $TODAY")"
ok "root's mutu-probe reported by the agent running as mutu-agent"

step "watchdog (3 s) and journal priorities"
sleep 8
for u in mutu-agent mutu-server; do
	r=$($IN systemctl show "$u" -p NRestarts --value)
	[ "$r" = 0 ] && [ "$($IN systemctl is-active "$u")" = active ] ||
		fail "$u restarted $r times: watchdog pings missing?"
done
ok "no watchdog restart in 8 s with WatchdogSec=3s"
$IN systemctl stop mutu-server
wait_in 20 "journalctl -u mutu-agent -p warning -o cat | grep -q 'sync:'" ||
	fail "no warning-priority line in the journal"
$IN journalctl -u mutu-agent -p warning -o cat --no-pager | grep 'sync:' | tail -n 1
ok "warnings reach the journal at warning priority"

step "clean stops"
$IN systemctl stop mutu-agent
for u in mutu-agent mutu-server; do
	res=$($IN systemctl show "$u" -p Result --value)
	st=$($IN systemctl show "$u" -p ExecMainStatus --value)
	[ "$res" = success ] && [ "$st" = 0 ] || fail "$u stopped with Result=$res status=$st"
done
ok "both stopped cleanly (Result=success, status 0)"
$IN sh -c 'systemd-analyze security mutu-agent mutu-server --no-pager 2>/dev/null | grep -i "overall exposure"' || true
$IN sh -c "DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq mutu-agent mutu-server" >/dev/null 2>&1 ||
	fail "purge in the container"
echo
echo "package-test-systemd: passed"
