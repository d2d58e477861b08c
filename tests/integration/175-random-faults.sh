# Random faults on the wire while records flow: the agent service sends
# through the fault proxy, which picks for each request (seeded) a reset
# mid-request or mid-response, an answer cut after the server committed,
# a refused connection, a 500, a delay, or a clean pass. FAULT_REQUESTS
# requests (150 here, 5,000 in make soak); then the oracle: 0 lost, 0
# stored twice, with duplicates on the wire.
# check: solo (loads the machine: tests/run.sh runs it alone)
. tests/integration/lib.sh
REQUESTS=${FAULT_REQUESTS:-150}
# Each record is a program of its own (/o/N): the per-machine cap on
# distinct programs a day (finding 5 of issue 16) is not under test.
server_conf "requests_per_minute = 0" "max_programs_per_day = 0"
start_server
bootstrap
start_proxy
agent_conf pc 29019 "server = $PROXY_URL" "startup_splay = 0" \
	"sync_interval = 1" "batch_records = 20" "http_timeout = 2" "retry_min = 1" \
	"usage_min_uid = 1073741824"
sed -i "0,/^server = /{/^server = http:\/\/127.0.0.1:$PORT$/d}" "$WORK/pc.conf"
agent_once pc 2>/dev/null || fail "first sync"
: >"$WORK/proxy.log"
plan '{"random": {"seed": 7, "p": {"reset_request": 0.05, "reset_response": 0.05,
	"cut_after_request": 0.1, "refuse": 0.03,
	"status": 0.05, "delay": 0.05}}}'
# "status" from the random table answers 500 (the proxy's default code).
: >"$WORK/acked"
M=0
start_agent pc
while [ "$(wc -l <"$WORK/proxy.log")" -lt "$REQUESTS" ]; do
	/usr/bin/python3 -c "
import json, time
now = int(time.time())
for i in range($M, $M + 20):
    print(json.dumps({'type': 'usage', 'time': now, 'data': {
        'product': 'random', 'exe': '/o/%d' % i, 'start': now - 60, 'end': now}}))" >"$WORK/lines"
	M=$((M + 20))
	enqueue_acked "$WORK/pc.conf" 20
	sleep 0.2
done
plan '{}'
wait_for 120 sh -c "[ \$(sqlite3 '$WORK/pc/queue.db' 'SELECT count(*) FROM records') -eq 0 ]" ||
	fail "not drained"
echo "faults injected, by kind:"
proxied | /usr/bin/python3 -c "
import collections, json, sys
c = collections.Counter(json.loads(l)['do'] for l in sys.stdin)
for k, v in sorted(c.items()): print('  %-22s %6d' % (k, v))"
/usr/bin/python3 tests/tools/oracle.py "$WORK/acked" "$SDB" "random faults" ||
	fail "oracle"
[ "$(sdb "SELECT sum(dups) FROM streams")" -gt 0 ] ||
	fail "no duplicates on the wire"
