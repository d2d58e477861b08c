#!/bin/sh
# One serving process per SQLite file (issue 16, finding 8): a second
# mutu-server on the same file, by the same name, a relative name or a
# symbolic link, stops at once with an error naming the file and the pid
# of the server holding it, and has changed nothing; so does one on a
# hard link (another .lock file: the lock on the database file itself
# says no, naming the pid when /proc/locks tells it); the bootstrap
# subcommands still work while the first one serves; once the first is
# killed (kill -9: the lock dies with the process), a new one starts.
# PostgreSQL is shared by several instances by design (200-two-instances).
. tests/integration/lib.sh
[ "$BACKEND" = sqlite ] || skip "SQLite only: PostgreSQL serves several instances (200)"
start_server
bootstrap
DB=$WORK/server.db

# refused NAME: a second server on the database called NAME; it must stop
# within 5 s (a server that keeps serving is killed and the test fails),
# exit non-zero, bind no port and name the file.
refused() {
	rm -f "$WORK/port2"
	"$B/mutu-server" -D "$1" -d -l 127.0.0.1:0 --port-file "$WORK/port2" \
		>"$WORK/second.log" 2>&1 &
	pid=$!
	i=0
	while kill -0 $pid 2>/dev/null && [ $i -lt 25 ]; do sleep 0.2; i=$((i + 1)); done
	if kill -0 $pid 2>/dev/null; then
		kill -9 $pid
		wait $pid 2>/dev/null || true
		fail "a second server on $1 is serving (port $(cat "$WORK/port2" 2>/dev/null))"
	fi
	rc=0
	wait $pid || rc=$?
	[ $rc -ne 0 ] || fail "second server on $1 exited 0"
	[ ! -s "$WORK/port2" ] || fail "second server on $1 bound a port"
	grep -q "$1" "$WORK/second.log" ||
		fail "the file $1 is not named in: $(cat "$WORK/second.log")"
}

# second NAME: refused, naming the first server's pid too.
second() {
	refused "$1"
	grep -q "pid $SERVER_PID" "$WORK/second.log" ||
		fail "no pid $SERVER_PID in: $(cat "$WORK/second.log")"
	echo "ok: second server on $1 refused: $(cat "$WORK/second.log")"
}

# hardlinked NAME: refused on a hard link, whose .lock file differs:
# the lock on the file itself says no, naming it as another name's.
hardlinked() {
	refused "$1"
	grep -q "hard link" "$WORK/second.log" ||
		fail "no hard link in: $(cat "$WORK/second.log")"
	grep -Eq "pid $SERVER_PID|another process" "$WORK/second.log" ||
		fail "neither pid $SERVER_PID nor another process in: $(cat "$WORK/second.log")"
	echo "ok: second server on hard link $1 refused: $(cat "$WORK/second.log")"
}

say "a second server on the same file"
second "$DB"
ln -s "$DB" "$WORK/alias.db"
second "$WORK/alias.db"
(cd "$WORK" && second server.db)
ln "$DB" "$WORK/hard.db"
hardlinked "$WORK/hard.db"
expect_eq "the lock file holds the pid" "$(cat "$DB.lock")" "$SERVER_PID"

say "the subcommands still work while it serves"
srv commune add 29189 Plougastel >/dev/null || fail "commune add while serving"
T2=$(srv admin-token) || fail "admin-token while serving"
S3=$(srv enrol-secret 29189) || fail "enrol-secret while serving"
[ -n "$T2" ] && [ -n "$S3" ] || fail "empty token or secret"
expect_eq "communes through the server" \
	"$(curl -s -H "Authorization: Bearer $T2" "$URL/api/v1/communes" | json 'len(j)')" 3

say "the lock dies with its process"
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
start_server
expect_eq "a new server after kill -9 serves" \
	"$(curl -s -H "Authorization: Bearer $T2" "$URL/api/v1/communes" | json 'len(j)')" 3
second "$DB"
stop_server
start_server
echo "ok: restarted after a clean stop"
