# The systemd units verify cleanly, stay within their exposure budgets
# (server <= 2.0, agent <= 3.0), and both daemons speak the notification
# protocol themselves: READY=1, WATCHDOG=1 at half of WatchdogSec, and
# STOPPING=1 on SIGTERM.
. tests/integration/lib.sh
command -v systemd-analyze >/dev/null || skip "systemd-analyze not installed"
for unit in mutu-agent:3.0 mutu-server:2.0; do
	name=${unit%%:*} max=${unit#*:}
	sed "s#/usr/sbin/#$B/#" "packaging/$name.service" >"$WORK/$name.service"
	systemd-analyze verify --man=no "$WORK/$name.service" >"$WORK/verify" 2>&1 ||
		fail "$name: verify failed: $(cat "$WORK/verify")"
	[ ! -s "$WORK/verify" ] || fail "$name: verify complains: $(cat "$WORK/verify")"
	level=$(systemd-analyze security --offline=yes "packaging/$name.service" 2>/dev/null |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
	[ -n "$level" ] || fail "$name: no exposure level"
	/usr/bin/python3 -c "import sys; sys.exit(0 if $level <= $max else 1)" ||
		fail "$name: exposure $level above $max"
	echo "ok: $name exposure $level <= $max"
done

# A datagram socket standing in for systemd's $NOTIFY_SOCKET.
cat >"$WORK/notify.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.5)
out = open(sys.argv[2], "a", buffering=1)
end = time.time() + 60
while time.time() < end:
    try:
        out.write(s.recv(4096).decode() + "\n")
    except socket.timeout:
        pass
PY
listen_notify() { # name
	/usr/bin/python3 "$WORK/notify.py" "$WORK/$1.sock" "$WORK/$1.msgs" &
	AGENT_PIDS="$AGENT_PIDS $!"
	wait_for 10 test -S "$WORK/$1.sock" || fail "notify socket"
}
got() { grep -qx "$2" "$WORK/$1.msgs" 2>/dev/null; }

listen_notify server
srv commune add 29019 Brest >/dev/null
SECRET_29019=$(srv enrol-secret 29019)
NOTIFY_SOCKET="$WORK/server.sock" WATCHDOG_USEC=400000 \
	"$B/mutu-server" $DB_ARGS -d -l 127.0.0.1:0 \
	--port-file "$WORK/port" >>"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_for 10 got server READY=1 || fail "server sent no READY=1"
wait_for 5 got server WATCHDOG=1 || fail "server sent no WATCHDOG=1"
URL="http://127.0.0.1:$(cat "$WORK/port")"
echo "ok: server READY=1 and WATCHDOG=1"

listen_notify agent
agent_conf pc 29019 "sync_interval = 1"
NOTIFY_SOCKET="$WORK/agent.sock" WATCHDOG_USEC=400000 \
	"$B/mutu-agent" -c "$WORK/pc.conf" >>"$WORK/pc.log" 2>&1 &
AGENT=$!
AGENT_PIDS="$AGENT_PIDS $AGENT"
wait_for 10 got agent READY=1 || fail "agent sent no READY=1"
sleep 1
n=$(grep -cx WATCHDOG=1 "$WORK/agent.msgs")
[ "$n" -ge 3 ] || fail "agent sent $n WATCHDOG=1 in 1 s with WatchdogSec=0.4s"
echo "ok: agent READY=1 and $n WATCHDOG=1 in 1 s"
kill -TERM "$AGENT"
wait "$AGENT" || fail "agent exit $?"
wait_for 5 got agent STOPPING=1 || fail "agent sent no STOPPING=1"
stop_server
wait_for 5 got server STOPPING=1 || fail "server sent no STOPPING=1"
echo "ok: STOPPING=1 from both"
# Under systemd (JOURNAL_STREAM set) log lines carry journal priorities.
JOURNAL_STREAM=8:1 "$B/mutu-agent" -c "$WORK/pc.conf" -n >/dev/null
JOURNAL_STREAM=8:1 "$B/mutu-server" $DB_ARGS -l 127.0.0.1:bad 2>"$WORK/prio" || true
grep -q '^<2>' "$WORK/prio" || fail "no journal priority prefix: $(cat "$WORK/prio")"
echo "ok: journal priority prefixes"
