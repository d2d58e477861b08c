#!/bin/sh
# make package-test: builds the Debian packages, runs lintian, installs
# them on this machine, checks files, owners and modes, enrols an agent
# against the installed server, upgrades both to a rebuilt higher version
# while the agent holds an offline backlog, checks nothing was lost, then
# removes and purges them and checks nothing is left. Needs root; leaves
# the machine without the packages.
set -eu
[ "$(id -u)" = 0 ] || { echo "package-test: run as root" >&2; exit 1; }
V1=${1:-0.1.0}
V2="$V1.1"
WORK=$(mktemp -d /tmp/mutu-pkg.XXXXXX)
SERVER_PID=""
ARCH=$(dpkg --print-architecture)
export DEBIAN_FRONTEND=noninteractive

step() { echo; echo "=== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
cleanup() {
	[ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true
	apt-get purge -y -qq mutu-agent mutu-server >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT

mode_is() { # path "mode user:group"
	got=$(stat -c '%a %U:%G' "$1") || fail "$1 missing"
	[ "$got" = "$2" ] || fail "$1: $got, expected $2"
	ok "$1 $2"
}
as_agent() { # the service's user and capabilities, as in the unit
	setpriv --reuid=mutu-agent --regid=mutu-agent --init-groups \
		--inh-caps=+sys_ptrace,+dac_read_search \
		--ambient-caps=+sys_ptrace,+dac_read_search "$@"
}
start_server() {
	/usr/sbin/mutu-server -c /etc/mutu/server.conf -d -l "127.0.0.1:$PORT" \
		>>"$WORK/server.log" 2>&1 &
	SERVER_PID=$!
	i=0
	until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; do
		i=$((i + 1))
		[ $i -lt 50 ] || fail "server did not start: $(cat "$WORK/server.log")"
		sleep 0.2
	done
	[ "$(stat -c %U "/proc/$SERVER_PID")" = mutu-server ] ||
		fail "server runs as $(stat -c %U "/proc/$SERVER_PID")"
}
stop_server() {
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID" || fail "server exit status $?"
	SERVER_PID=""
}
queued() { sqlite3 /var/lib/mutu-agent/queue.db "SELECT count(*) FROM records"; }
last_seq() { sqlite3 /var/lib/mutu-agent/queue.db "SELECT value - 1 FROM meta WHERE key = 'next_seq'"; }

build() { # version dir
	sh packaging/build-deb.sh "$1" >/dev/null
	mkdir -p "$2"
	cp build/deb/*.deb build/deb/*.changes build/deb/*.buildinfo "$2/"
	ok "built $(ls "$2"/*.deb | xargs -n1 basename | tr '\n' ' ')"
}

step "build $V1 and lintian"
build "$V1" "$WORK/v1"
lintian --fail-on error,warning \
	"$WORK"/v1/*.changes
ok "lintian: no error or warning"

step "install $V1"
apt-get install -y -qq "$WORK/v1/mutu-server_${V1}_$ARCH.deb" \
	"$WORK/v1/mutu-agent_${V1}_$ARCH.deb" >/dev/null
mode_is /usr/sbin/mutu-agent "755 root:root"
mode_is /usr/sbin/mutu-server "755 root:root"
mode_is /usr/bin/mutuctl "755 root:root"
mode_is /etc/mutu/agent.conf "640 root:mutu-agent"
mode_is /etc/mutu/server.conf "640 root:mutu-server"
mode_is /var/lib/mutu-agent "700 mutu-agent:mutu-agent"
mode_is /var/lib/mutu-server "700 mutu-server:mutu-server"
for f in /lib/systemd/system/mutu-agent.service /lib/systemd/system/mutu-server.service \
	/usr/share/man/man8/mutu-agent.8.gz /usr/share/man/man8/mutu-server.8.gz \
	/usr/share/man/man1/mutuctl.1.gz /usr/share/man/man5/mutu-agent.conf.5.gz \
	/usr/share/man/man5/mutu-server.conf.5.gz; do
	[ -f "$f" ] || fail "$f missing"
done
ok "units and man pages installed"
for u in mutu-agent mutu-server; do
	[ -L /etc/systemd/system/multi-user.target.wants/$u.service ] || fail "$u not enabled"
done
ok "both services enabled"
dpkg-query -W -f '${Conffiles}\n' mutu-agent | grep -q /etc/mutu/agent.conf || fail "agent.conf is not a conffile"
ok "configuration files are conffiles"

step "serve, bootstrap and enrol"
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/sbin/mutu-server -c /etc/mutu/server.conf commune add 29019 Brest
( umask 077
  /usr/sbin/mutu-server -c /etc/mutu/server.conf enrol-secret 29019 >"$WORK/secret"
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/userkey" )
TOKEN=$(/usr/sbin/mutu-server -c /etc/mutu/server.conf admin-token)
mode_is /var/lib/mutu-server/server.db "600 mutu-server:mutu-server"
start_server
ok "installed server runs as mutu-server on port $PORT"
/usr/sbin/mutu-agent enrol --server "http://127.0.0.1:$PORT" --commune 29019 \
	--secret-file "$WORK/secret" --user-key-file "$WORK/userkey" >"$WORK/enrol.log" 2>&1 ||
	fail "enrol: $(cat "$WORK/enrol.log")"
cat "$WORK/enrol.log"
if grep -q "$(cat "$WORK/secret")" "$WORK/enrol.log" "$WORK/server.log"; then
	fail "the secret appears in a log"
fi
mode_is /etc/mutu/agent.conf "640 root:mutu-agent"
mode_is /var/lib/mutu-agent/token "600 mutu-agent:mutu-agent"
grep -q "^server = http://127.0.0.1:$PORT" /etc/mutu/agent.conf || fail "server not configured"
echo "usage_min_uid = 0" >>/etc/mutu/agent.conf
as_agent /usr/sbin/mutu-agent -c /etc/mutu/agent.conf -n
as_agent /usr/sbin/mutu-agent -c /etc/mutu/agent.conf --once || fail "first delivery"
n=$(/usr/bin/mutuctl --server "http://127.0.0.1:$PORT" --token "$TOKEN" --format json machines |
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["software"])')
want=$(dpkg-query -W -f '${db:Status-Status}\n' | grep -cx installed)
[ "$n" = "$want" ] || fail "server holds $n packages, dpkg says $want"
ok "agent enrolled and delivered its inventory ($n packages)"

step "offline backlog, then upgrade to $V2"
stop_server
for i in 1 2 3; do
	if as_agent /usr/sbin/mutu-agent -c /etc/mutu/agent.conf --once 2>/dev/null; then
		fail "delivery succeeded with the server down"
	fi
done
backlog=$(queued)
seq_before=$(last_seq)
[ "$backlog" -ge 3 ] || fail "backlog of $backlog records"
ok "$backlog records queued offline (stream at seq $seq_before)"
conf_sum=$(md5sum /etc/mutu/agent.conf)
build "$V2" "$WORK/v2"
apt-get install -y -qq "$WORK/v2/mutu-server_${V2}_$ARCH.deb" \
	"$WORK/v2/mutu-agent_${V2}_$ARCH.deb" >/dev/null
[ "$(dpkg-query -W -f '${Version}' mutu-agent)" = "$V2" ] || fail "agent not upgraded"
/usr/sbin/mutu-agent --version | grep -qx "mutu-agent $V2" || fail "old agent binary"
[ "$(md5sum /etc/mutu/agent.conf)" = "$conf_sum" ] || fail "configuration changed by the upgrade"
mode_is /etc/mutu/agent.conf "640 root:mutu-agent"
[ "$(queued)" = "$backlog" ] || fail "backlog changed by the upgrade: $(queued)"
ok "upgraded; configuration and backlog of $backlog records kept"
start_server
as_agent /usr/sbin/mutu-agent -c /etc/mutu/agent.conf --once || fail "delivery after upgrade"
[ "$(queued)" = 0 ] || fail "$(queued) records left after delivery"
hwm=$(sqlite3 /var/lib/mutu-server/server.db "SELECT max(hwm) FROM streams")
[ "$hwm" = "$(last_seq)" ] || fail "server acknowledged up to $hwm, agent wrote up to $(last_seq)"
[ "$hwm" -gt "$seq_before" ] || fail "backlog not delivered"
ok "backlog delivered: every record up to seq $hwm acknowledged, queue empty"
stop_server

step "remove, then purge"
apt-get remove -y -qq mutu-agent mutu-server >/dev/null
for f in /usr/sbin/mutu-agent /usr/sbin/mutu-server /usr/bin/mutuctl; do
	[ ! -e "$f" ] || fail "$f left after remove"
done
[ -f /etc/mutu/agent.conf ] || fail "configuration removed before purge"
[ -d /var/lib/mutu-agent ] || fail "state removed before purge"
ok "remove keeps configuration and state"
apt-get purge -y -qq mutu-agent mutu-server >/dev/null
left=$(ls -d /etc/mutu /var/lib/mutu-agent /var/lib/mutu-server \
	/lib/systemd/system/mutu-* /etc/systemd/system/*/mutu-* \
	/usr/share/doc/mutu-* /usr/share/man/man*/mutu* 2>/dev/null || true)
[ -z "$left" ] || fail "left after purge: $left"
ok "purge leaves nothing (the system users stay, as Debian does)"
echo
echo "package-test: passed"
