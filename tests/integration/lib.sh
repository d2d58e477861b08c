# Shared helpers of the integration tests: real processes on 127.0.0.1,
# real SQLite files in a private temporary directory, all bounded in time.
# MUTU_BACKEND=pgsql runs the server on PostgreSQL instead: a database of
# its own in the cluster tests/run.sh started (MUTU_PG_DIR), or in one
# started for this test alone.
set -eu
BUILD=${BUILD:-build}
B=$(cd "$BUILD" && pwd)
WORK=$(mktemp -d /tmp/mutu-it.XXXXXX)
chmod 755 "$WORK"
SERVER_PID=""
AGENT_PIDS=""
BACKEND=${MUTU_BACKEND:-sqlite}
PG_OWN=""

cleanup() {
	for p in $AGENT_PIDS $SERVER_PID; do kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "$BACKEND" = pgsql ]; then
		psql -X -q -h "$MUTU_PG_DIR" -U "$MUTU_PG_SUPER" -d postgres \
			-c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" 2>/dev/null || true
		[ -z "$PG_OWN" ] || sh tests/tools/pg.sh stop "$PG_OWN"
	fi
	if [ "${KEEP:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# The server's database arguments (DB_ARGS), and SDB, what sdb and the
# oracle read it through: the file, or the superuser's URI.
if [ "$BACKEND" = pgsql ]; then
	if [ -z "${MUTU_PG_DIR:-}" ]; then
		PG_OWN=$WORK/pg
		eval "$(sh tests/tools/pg.sh start "$PG_OWN")" || exit $?
	fi
	PG_DB=mutu_it_$(basename "$WORK" | tr -dc 'a-zA-Z0-9' | tr 'A-Z' 'a-z')
	psql -X -q -h "$MUTU_PG_DIR" -U "$MUTU_PG_SUPER" -d postgres \
		-c "CREATE DATABASE $PG_DB OWNER mutu_owner" >/dev/null
	pg_uri() { echo "postgresql:///$PG_DB?host=$MUTU_PG_DIR&user=$1"; }
	DB_ARGS="-D $(pg_uri mutu_app) --db-admin $(pg_uri mutu_owner)"
	SDB=$(pg_uri "$MUTU_PG_SUPER")
else
	DB_ARGS="-D $WORK/server.db"
	SDB=$WORK/server.db
fi

# sdb SQL: runs SQL on the server's database (as its superuser on
# PostgreSQL: row-level security does not hide rows from the test).
# Rows come out as sqlite3 prints them: columns joined by |.
sdb() {
	if [ "$BACKEND" = pgsql ]; then
		psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$SDB" -c "$1"
	else
		sqlite3 "$SDB" "$1"
	fi
}
# sdb_dump: every row of the server's database as text.
sdb_dump() {
	if [ "$BACKEND" = pgsql ]; then
		pg_dump -d "$SDB" --data-only
	else
		sqlite3 "$SDB" .dump
	fi
}

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "$*"; exit 77; }
say() { echo "--- $*"; }

# expect_eq WHAT GOT WANTED
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
	echo "ok: $1 = $3"
}

# wait_for SECONDS COMMAND...: polls every 0.2 s until COMMAND succeeds.
wait_for() {
	limit=$1
	shift
	end=$(($(date +%s) + limit))
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.2
	done
}

# start_server [ADDR:PORT]: a server on loopback with the test's database
# (and $WORK/server.conf when a test wrote one, see server_conf).
start_server() {
	rm -f "$WORK/port"
	conf=""
	[ -f "$WORK/server.conf" ] && conf="-c $WORK/server.conf"
	# shellcheck disable=SC2086
	"$B/mutu-server" $conf $DB_ARGS -d -v -l "${1:-127.0.0.1:0}" \
		--port-file "$WORK/port" >>"$WORK/server.log" 2>&1 &
	SERVER_PID=$!
	wait_for 10 test -s "$WORK/port" || fail "server did not start: $(cat "$WORK/server.log")"
	PORT=$(cat "$WORK/port")
	URL="http://127.0.0.1:$PORT"
}

# start_server_at 'DATE TIME' (UTC): start_server with the server's clock
# set there (libfaketime, which make deps installs; the test is skipped
# without it), moving on from there as the test runs.
start_server_at() {
	command -v faketime >/dev/null || skip "faketime not installed (make deps)"
	fakelib=$(dpkg -L libfaketime | grep 'libfaketime.so.1$' | head -n 1)
	[ -n "$fakelib" ] || fail "libfaketime.so.1 not found"
	off=$(($(date -u -d "$1" +%s) - $(date +%s)))
	[ "$off" -lt 0 ] || off="+$off"
	rm -f "$WORK/port"
	conf=""
	[ -f "$WORK/server.conf" ] && conf="-c $WORK/server.conf"
	# an AddressSanitizer build: libfaketime is preloaded before it
	# shellcheck disable=SC2086
	env LD_PRELOAD="$fakelib" FAKETIME="${off}s" FAKETIME_DONT_FAKE_MONOTONIC=1 \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0" \
		"$B/mutu-server" $conf $DB_ARGS -d -v -l 127.0.0.1:0 \
		--port-file "$WORK/port" >>"$WORK/server.log" 2>&1 &
	SERVER_PID=$!
	wait_for 10 test -s "$WORK/port" || fail "server did not start: $(cat "$WORK/server.log")"
	PORT=$(cat "$WORK/port")
	URL="http://127.0.0.1:$PORT"
}

# server_conf LINE...: settings for the next start_server.
server_conf() { printf '%s\n' "$@" >"$WORK/server.conf"; }

stop_server() {
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID" || fail "server exited with $?"
	SERVER_PID=""
}

# shellcheck disable=SC2086
srv() { "$B/mutu-server" $DB_ARGS "$@"; }

# bootstrap: communes 29019 Brest and 29075 Guipavas, their secrets, and
# an intercommunal admin token in $TOKEN.
bootstrap() {
	srv commune add 29019 Brest >/dev/null
	srv commune add 29075 Guipavas >/dev/null
	SECRET_29019=$(srv enrol-secret 29019)
	SECRET_29075=$(srv enrol-secret 29075)
	TOKEN=$(srv admin-token)
}

# agent_conf NAME COMMUNE [extra config lines]: writes $WORK/NAME.conf
agent_conf() {
	name=$1 commune=$2
	shift 2
	eval "secret=\$SECRET_$commune"
	{
		echo "server = $URL"
		echo "commune = $commune"
		echo "enrol_secret = $secret"
		echo "state_dir = $WORK/$name"
		echo "user_key = integration-test-key-$commune"
		for line in "$@"; do echo "$line"; done
	} >"$WORK/$name.conf"
	chmod 600 "$WORK/$name.conf"
}

agent_once() { "$B/mutu-agent" -c "$WORK/$1.conf" --once; }
# enrolled NAME COMMUNE: an agent configured, run once (enrolled, its
# inventory delivered); sets tok and aid, its token and agent id.
enrolled() {
	agent_conf "$1" "$2"
	agent_once "$1" >/dev/null 2>&1 || fail "agent $1 failed"
	tok=$(cat "$WORK/$1/token")
	aid=$(cat "$WORK/$1/agent-id")
}

# start_agent NAME: the agent as a service, in the background.
start_agent() {
	"$B/mutu-agent" -c "$WORK/$1.conf" -d -v >>"$WORK/$1.log" 2>&1 &
	AGENT_PIDS="$AGENT_PIDS $!"
	LAST_AGENT=$!
}

ctl() { MUTU_TOKEN=$TOKEN "$B/mutuctl" --server "$URL" "$@"; }

# json EXPR: evaluates a Python expression on the JSON read from stdin (j).
json() { /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

queued() { sqlite3 "$WORK/$1/queue.db" "SELECT count(*) FROM records"; }

# start_proxy [TARGETS]: the fault-injecting proxy (tests/tools/faultproxy.py) in
# front of the server; agents given $PROXY_URL go through it. plan JSON
# sets what it does next (a new plan starts its script over); proxied
# prints its log, one JSON line per request.
start_proxy() {
	echo '{}' >"$WORK/plan.json"
	rm -f "$WORK/proxy-port"
	/usr/bin/python3 tests/tools/faultproxy.py "$WORK/proxy-port" \
		"${1:-127.0.0.1:$PORT}" "$WORK/plan.json" "$WORK/proxy.log" \
		2>>"$WORK/proxy.err" &
	AGENT_PIDS="$AGENT_PIDS $!"
	wait_for 10 test -s "$WORK/proxy-port" || fail "proxy did not start"
	PROXY_URL="http://127.0.0.1:$(cat "$WORK/proxy-port")"
}
plan() {
	printf '%s\n' "$1" >"$WORK/plan.json.tmp"
	mv "$WORK/plan.json.tmp" "$WORK/plan.json"
}
proxied() { cat "$WORK/proxy.log" 2>/dev/null || true; }

# gen N: N usage lines with fresh markers (/o/M, M counting on across
# calls), in $WORK/lines, for enqueue_acked and tests/tools/oracle.py.
M=0
gen() {
	/usr/bin/python3 -c "
import json, time
now = int(time.time())
for i in range($M, $M + $1):
    print(json.dumps({'type': 'usage', 'time': now, 'data': {
        'product': 'oracle', 'exe': '/o/%d' % i, 'start': now - 300,
        'end': now - 200}}))" >"$WORK/lines"
	M=$((M + $1))
}

# enqueue_acked CONF PER_TX [ENV...]: queues $WORK/lines (usage records
# with unique exe markers) through "mutu-agent enqueue"; the markers of
# the records whose sequence number was printed (durable) are appended to
# $WORK/acked, for tests/tools/oracle.py. A failed enqueue is logged in
# $WORK/enq.err, not fatal.
enqueue_acked() {
	conf=$1 per_tx=$2
	shift 2
	env "$@" "$B/mutu-agent" -c "$conf" enqueue "$per_tx" <"$WORK/lines" \
		>"$WORK/printed" 2>>"$WORK/enq.err" || true
	head -n "$(wc -l <"$WORK/printed")" "$WORK/lines" | /usr/bin/python3 -c "
import json, sys
for l in sys.stdin: print(json.loads(l)['data']['exe'])" >>"$WORK/acked"
}

# Reports default to whole days ending yesterday (docs/LICENCES.md,
# "Periods"); what agents did just now is in "the N days before today
# through tomorrow" (tomorrow: a test that crosses midnight in Paris, the
# default time_zone, still sees it). recent_args N: as mutuctl options;
# recent_q N: as query parameters.
# paris_day WHEN: the date (YYYY-MM-DD) in Paris, the default time_zone;
# at 'DATE HH:MM': that Paris time in Unix seconds.
paris_day() { TZ=Europe/Paris date -d "$1" +%F; }
at() { TZ=Europe/Paris date -d "$1" +%s; }
recent_from() { TZ=Europe/Paris date -d "-$1 days" +%F; }
recent_to() { TZ=Europe/Paris date -d "+1 day" +%F; }
recent_args() { echo "--from $(recent_from "$1") --to $(recent_to)"; }
recent_q() { echo "from=$(recent_from "$1")&to=$(recent_to)"; }
