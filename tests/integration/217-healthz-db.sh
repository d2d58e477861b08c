# /healthz tells the truth about the database (issue 16, Low): it answers
# 503 with the reason when the database takes no write (PostgreSQL set
# read-only under a running server) or its disk is below min_free_mb (a
# small tmpfs of the test's own, in a mount namespace, filled up). SQLite:
# a database, or its -shm file, that the server's user cannot write is
# refused at start naming the file; a -shm truncated under the running
# server stops it with a message naming the file, not a bare SIGBUS.
. tests/integration/lib.sh

# health [URL]: "CODE BODY" of GET /healthz.
health() {
	curl -s --max-time 5 -o "$WORK/hz" -w '%{http_code}' "${1:-$URL}/healthz" || true
	printf ' %s\n' "$(cat "$WORK/hz" 2>/dev/null)"
}
# health_is CODE PATTERN [URL]: /healthz answers CODE with PATTERN.
health_is() {
	h=$(health "${3:-}")
	case $h in "$1 "*$2*) return 0 ;; esac
	return 1
}

if [ "$BACKEND" = pgsql ]; then
	start_server
	health_is 200 '"ok"' || fail "healthz: $(health)"
	echo "ok: $(health)"
	say "PostgreSQL: the database turned read-only under the server"
	psql -X -q -d "$SDB" -c "ALTER DATABASE $PG_DB SET default_transaction_read_only = on"
	# The setting applies to new sessions: end the server's; it reconnects.
	psql -X -q -d "$SDB" -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$PG_DB' AND usename = 'mutu_app'" >/dev/null
	wait_for 15 health_is 503 'read-only' || fail "healthz still: $(health)"
	echo "ok: $(health)"
	psql -X -q -d "$SDB" -c "SET default_transaction_read_only = off" \
		-c "ALTER DATABASE $PG_DB RESET default_transaction_read_only"
	psql -X -q -d "$SDB" -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$PG_DB' AND usename = 'mutu_app'" >/dev/null
	wait_for 15 health_is 200 '"ok"' || fail "healthz after the database is writable again: $(health)"
	echo "ok: writable again: $(health)"
	stop_server
	exit 0
fi

say "SQLite: disk below min_free_mb"
server_conf 'min_free_mb = 1000000000'
start_server
health_is 503 'min_free_mb' || fail "healthz with 1 PB required free: $(health)"
echo "ok: $(health)"
stop_server

say "SQLite: a small tmpfs, filled up under the running server"
mkdir "$WORK/t"
printf 'min_free_mb = 2\n' >"$WORK/t.conf"
unshare -m --propagation private sh -c \
	"mount -t tmpfs -o size=8m,mode=755 mutu-test '$WORK/t' &&
	exec '$B/mutu-server' -c '$WORK/t.conf' -D '$WORK/t/s.db' -d -l 127.0.0.1:0 \
		--port-file '$WORK/t.port'" 2>"$WORK/t.log" &
tpid=$!
AGENT_PIDS="$AGENT_PIDS $tpid"
wait_for 10 test -s "$WORK/t.port" || fail "server on tmpfs: $(cat "$WORK/t.log")"
TURL="http://127.0.0.1:$(cat "$WORK/t.port")"
health_is 200 '"ok"' "$TURL" || fail "healthz before the fill: $(health "$TURL")"
echo "ok: before: $(health "$TURL")"
nsenter -t "$tpid" -m dd if=/dev/zero of="$WORK/t/fill" bs=64k 2>/dev/null || true
nsenter -t "$tpid" -m df -k "$WORK/t" | tail -n 1
wait_for 5 health_is 503 'MiB free' "$TURL" || fail "healthz on a full disk: $(health "$TURL")"
echo "ok: full: $(health "$TURL")"
nsenter -t "$tpid" -m rm -f "$WORK/t/fill"
wait_for 5 health_is 200 '"ok"' "$TURL" || fail "healthz after freeing: $(health "$TURL")"
echo "ok: freed: $(health "$TURL")"
kill -TERM "$tpid"
wait "$tpid" || fail "tmpfs server exited with $?"

say "SQLite: files the server's user cannot write"
mkdir "$WORK/ro"
chown 65534:65534 "$WORK/ro"
# Run as root on a directory owned by uid 65534, the server becomes it.
"$B/mutu-server" -D "$WORK/ro/s.db" commune add 29019 Brest >/dev/null
# ro_start WHAT: starting must fail, naming the file.
ro_start() {
	if "$B/mutu-server" -D "$WORK/ro/s.db" -d -l 127.0.0.1:0 \
		--port-file "$WORK/ro/port" 2>"$WORK/ro.log" & then
		p=$!
		AGENT_PIDS="$AGENT_PIDS $p"
		if wait_for 5 test -s "$WORK/ro/port"; then
			fail "$1: the server started: $(cat "$WORK/ro.log")"
		fi
	fi
	cat "$WORK/ro.log"
	grep -q "$WORK/ro/s.db$2: not writable" "$WORK/ro.log" ||
		fail "$1: the error does not name s.db$2"
	echo "ok: $1 refused, naming the file"
}
chown 0:0 "$WORK/ro/s.db"
chmod 444 "$WORK/ro/s.db"
ro_start "read-only database" ""
chown 65534:65534 "$WORK/ro/s.db"
chmod 600 "$WORK/ro/s.db"
: >"$WORK/ro/s.db-shm"
chmod 444 "$WORK/ro/s.db-shm"
ro_start "read-only -shm" "-shm"
rm -f "$WORK/ro/s.db-shm"

say "SQLite: the -shm truncated under the running server"
"$B/mutu-server" -D "$WORK/ro/s.db" -d -l 127.0.0.1:0 \
	--port-file "$WORK/ro/port" 2>"$WORK/bus.log" &
p=$!
AGENT_PIDS="$AGENT_PIDS $p"
wait_for 10 test -s "$WORK/ro/port" || fail "server: $(cat "$WORK/bus.log")"
RURL="http://127.0.0.1:$(cat "$WORK/ro/port")"
health_is 200 '"ok"' "$RURL" || fail "healthz: $(health "$RURL")"
truncate -s 0 "$WORK/ro/s.db-shm"
sleep 1.2 # past the cached answer: the next /healthz writes
health "$RURL" >/dev/null
set +e
wait "$p"
rc=$?
set -e
tail -n 1 "$WORK/bus.log"
expect_eq "exit status (70: stopped with a message; 135: killed by SIGBUS)" "$rc" 70
grep -q "SIGBUS: $WORK/ro/s.db-shm was truncated" "$WORK/bus.log" ||
	fail "the SIGBUS message does not name the -shm file"
