#!/bin/sh
# Two server instances, one PostgreSQL: three agents deliver through the
# fault proxy, which sends each request to the instances in turn, so that
# every retry lands on the other instance than the first try. Faults:
# answers cut after the commit, resets, 500s, and requests held back past
# the agent's timeout, which then reach one instance while the retry is
# being applied by the other. Midway, one instance is killed (kill -9) and
# restarted. Then: 0 lost, 0 stored twice, daily summaries equal to the
# raw records. Last, PostgreSQL itself restarts under both instances:
# they reconnect and the agents' next records arrive. Runs in the
# PostgreSQL pass.
. tests/integration/lib.sh
[ "$BACKEND" = pgsql ] || skip "runs in the pgsql pass (MUTU_BACKEND=pgsql)"
REQUESTS=${TWO_REQUESTS:-200}
# Each record is a program of its own (/o/N): the per-machine cap on
# distinct programs a day (finding 5 of issue 16) is not under test.
server_conf "requests_per_minute = 0" "max_programs_per_day = 0"
start_server
bootstrap
PORT_A=$PORT PID_A=$SERVER_PID
# shellcheck disable=SC2086
start_b() {
	rm -f "$WORK/port-b"
	"$B/mutu-server" -c "$WORK/server.conf" $DB_ARGS -d -v -l 127.0.0.1:${PORT_B:-0} \
		--port-file "$WORK/port-b" >>"$WORK/server-b.log" 2>&1 &
	PID_B=$!
	AGENT_PIDS="$AGENT_PIDS $PID_B"
	wait_for 10 test -s "$WORK/port-b" || fail "instance B did not start"
	PORT_B=$(cat "$WORK/port-b")
}
start_b
echo "ok: instances on ports $PORT_A and $PORT_B"
start_proxy "127.0.0.1:$PORT_A,127.0.0.1:$PORT_B"
for pc in pc1 pc2 pc3; do
	agent_conf $pc 29019 "server = $PROXY_URL" "startup_splay = 0" \
		"sync_interval = 1" "batch_records = 15" "http_timeout = 2" \
		"retry_min = 1" "usage_min_uid = 1073741824"
	sed -i "0,/^server = /{/^server = http:\/\/127.0.0.1:$PORT$/d}" "$WORK/$pc.conf"
	agent_once $pc 2>/dev/null || fail "first sync of $pc"
done
: >"$WORK/proxy.log"
plan '{"random": {"seed": 3, "p": {"cut_after_request": 0.15, "reset_response": 0.05,
	"reset_request": 0.03, "status": 0.04, "delay": 0.12},
	"args": {"delay": {"s": 3}}}}'
: >"$WORK/acked"
M=0
for pc in pc1 pc2 pc3; do start_agent $pc; done
killed=0
while [ "$(wc -l <"$WORK/proxy.log")" -lt "$REQUESTS" ]; do
	for pc in pc1 pc2 pc3; do
		/usr/bin/python3 -c "
import json, time
now = int(time.time())
for i in range($M, $M + 10):
    print(json.dumps({'type': 'usage', 'time': now, 'data': {
        'product': 'two', 'exe': '/o/$pc/%d' % i, 'start': now - 60, 'end': now}}))" >"$WORK/lines"
		enqueue_acked "$WORK/$pc.conf" 10
	done
	M=$((M + 10))
	if [ $killed = 0 ] && [ "$(wc -l <"$WORK/proxy.log")" -ge $((REQUESTS / 2)) ]; then
		kill -9 "$PID_B"
		sleep 1
		start_b
		killed=1
		echo "ok: instance B killed and restarted on port $PORT_B"
	fi
	sleep 0.3
done
plan '{}'
for pc in pc1 pc2 pc3; do
	wait_for 120 sh -c "[ \$(sqlite3 '$WORK/$pc/queue.db' 'SELECT count(*) FROM records') -eq 0 ]" ||
		fail "$pc not drained"
done
echo "requests by action and instance:"
proxied | /usr/bin/python3 -c "
import collections, json, sys
c = collections.Counter((json.loads(l)['do'], json.loads(l).get('upstream', '-')) for l in sys.stdin)
for k, v in sorted(c.items()): print('  %-22s %-18s %6d' % (k[0], k[1], v))"
[ "$(grep -c '"do": "delay"' "$WORK/proxy.log")" -gt 0 ] || fail "no request held back"
/usr/bin/python3 tests/tools/oracle.py "$WORK/acked" "$SDB" "two instances" ||
	fail "oracle"
expect_eq "daily summaries = raw sessions" \
	"$(sdb "SELECT sum(sessions) FROM usage_daily WHERE product = 'two'")" \
	"$(sdb "SELECT count(*) FROM usage WHERE product = 'two'")"
dups=$(sdb "SELECT sum(dups) FROM streams")
[ "$dups" -gt 0 ] || fail "no duplicates on the wire"
echo "ok: $dups records recognised as already stored, by either instance"
for f in server.log server-b.log; do
	if grep -q "database: " "$WORK/$f"; then
		grep "database: " "$WORK/$f" | head -5
	fi
done

say "PostgreSQL restarts under both instances"
plan '{}'
sh tests/tools/pg.sh restart "$MUTU_PG_DIR"
before=$(sdb "SELECT count(*) FROM usage WHERE product = 'two'")
/usr/bin/python3 -c "
import json, time
now = int(time.time())
for i in range(30):
    print(json.dumps({'type': 'usage', 'time': now, 'data': {
        'product': 'two', 'exe': '/o/after/%d' % i, 'start': now - 60, 'end': now}}))" >"$WORK/lines"
enqueue_acked "$WORK/pc1.conf" 10
wait_for 60 sh -c "[ \$(sqlite3 '$WORK/pc1/queue.db' 'SELECT count(*) FROM records') -eq 0 ]" ||
	fail "not delivered after the PostgreSQL restart"
expect_eq "records after the restart" \
	"$(sdb "SELECT count(*) FROM usage WHERE product = 'two'")" "$((before + 30))"
/usr/bin/python3 tests/tools/oracle.py "$WORK/acked" "$SDB" "after the restart" ||
	fail "oracle"
for pid in $PID_A $PID_B; do
	kill -0 "$pid" 2>/dev/null || fail "an instance died with PostgreSQL"
done
echo "ok: both instances reconnected"
