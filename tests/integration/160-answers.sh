# The answer table of docs/PROTOCOL.md, case by case, through the
# fault-injecting proxy: what the agent does on each status and on each
# transport failure, and that no accepted record is lost or counted twice.
. tests/integration/lib.sh
start_server
bootstrap
start_proxy
agent_conf pc 29019 "server = $PROXY_URL" "http_timeout = 3" \
	"sync_interval = 1" "startup_splay = 0" "usage_interval = 3600"
sed -i "0,/^server = /{/^server = http:\/\/127.0.0.1:$PORT$/d}" "$WORK/pc.conf"
agent_once pc || fail "first sync failed"
N=0 # records enqueued so far, all markers /t/N

# enq COUNT: queues COUNT usage records with unique markers; their
# sequence numbers go to $WORK/seqs.
enq() {
	/usr/bin/python3 - "$N" "$1" <<'PY' | "$B/mutu-agent" -c "$WORK/pc.conf" enqueue 100 >"$WORK/seqs"
import json, sys, time
first, n = int(sys.argv[1]), int(sys.argv[2])
now = int(time.time())
for i in range(first, first + n):
    print(json.dumps({"type": "usage", "time": now, "data": {
        "product": "answers", "exe": "/t/%d" % i, "user": "u%d" % (i % 7),
        "start": now - 600, "end": now - 60, "pad": "%040d" % i}}))
PY
	N=$((N + $1))
}
stored() { sdb "SELECT count(*) FROM usage WHERE product = 'answers'"; }
distinct() { sdb "SELECT count(DISTINCT exe) FROM usage WHERE product = 'answers'"; }
wire_dups() { sdb "SELECT coalesce(sum(dups), 0) FROM streams"; }
once_fails() { # WHAT: --once must fail and keep the queue
	if agent_once pc 2>"$WORK/err"; then fail "$1: --once succeeded"; fi
	[ "$(queued pc)" -ge 1 ] || fail "$1: queue emptied"
	echo "ok: $1: failed, $(queued pc) records kept"
}
delivered() { # WHAT: everything reaches the server exactly once
	plan '{}'
	agent_once pc 2>>"$WORK/err" || { cat "$WORK/err"; fail "$1: redelivery failed"; }
	expect_eq "$1: queue" "$(queued pc)" 0
	expect_eq "$1: stored" "$(stored)" "$(($N - ${QUAR:-0}))"
	expect_eq "$1: distinct" "$(distinct)" "$(($N - ${QUAR:-0}))"
}
requests() { proxied | grep -c "\"path\": \"/api/v1/batches\"" || true; }

say "422 naming a record: that record is quarantined, the rest delivered"
enq 20
bad=$(sed -n 5p "$WORK/seqs")
plan "{\"script\": [{\"do\": \"status\", \"code\": 422, \"headers\": {\"Content-Type\": \"application/json\"}, \"body\": \"{\\\"error\\\": \\\"records[4].data.start: out of range\\\", \\\"record_seq\\\": $bad}\"}]}"
agent_once pc 2>"$WORK/err" || { cat "$WORK/err"; fail "422: --once failed"; }
QUAR=1
expect_eq "422: stored" "$(stored)" $((N - 1))
expect_eq "422: quarantined at the agent" "$(sqlite3 "$WORK/pc/queue.db" "SELECT count(*) FROM quarantine WHERE seq = $bad")" 1
expect_eq "422: gap reported" "$(sdb "SELECT records || ' ' || first_seq FROM gaps WHERE reason = 'quarantine'")" "1 $bad"
ctl gaps | grep -q quarantine || fail "mutuctl gaps does not show it"

say "400 from something else (an HTML page): nothing set aside"
enq 10
plan '{"default": {"do": "status", "code": 400, "headers": {"Content-Type": "text/html"}, "body": "<html>Bad Request</html>"}}'
once_fails "400 html"
delivered "400 html"

say "401 twice: one new enrolment, then a pause; data kept"
enq 10
: >"$WORK/proxy.log"
plan '{"script": [{"do": "status", "code": 401}, "pass", {"do": "status", "code": 401}]}'
once_fails "401"
expect_eq "401: enrolments" "$(proxied | grep -c '/api/v1/enrol')" 1
delivered "401"

say "403: keep everything, pause"
enq 10
plan '{"default": {"do": "status", "code": 403}}'
once_fails "403"
delivered "403"

say "413: the batch is split until it fits"
enq 400
before=$(requests)
plan '{"default": {"do": "status_if_larger", "limit": 1200, "code": 413}}'
agent_once pc 2>"$WORK/err" || { cat "$WORK/err"; fail "413: --once failed"; }
expect_eq "413: stored" "$(stored)" $((N - 1))
n413=$(proxied | grep -c '"status": 413' || true)
[ "$n413" -ge 1 ] || fail "413 never answered"
[ $(($(requests) - before)) -ge 4 ] || fail "413: not split"
echo "ok: 413 answered $n413 times, $(($(requests) - before)) requests"

say "415 for gzip: the batch goes uncompressed"
enq 10
plan '{"default": {"do": "status_if_header", "header": "Content-Encoding", "code": 415}}'
agent_once pc 2>"$WORK/err" || { cat "$WORK/err"; fail "415: --once failed"; }
expect_eq "415: stored" "$(stored)" $((N - 1))

for code in 500 502 503 429; do
	say "$code: transient, data kept"
	enq 5
	plan "{\"default\": {\"do\": \"status\", \"code\": $code}}"
	once_fails "$code"
	delivered "$code"
done

say "transport failures: data kept, then delivered once"
for fault in refuse reset_request reset_response cut_after_request hang; do
	enq 5
	plan "{\"default\": \"$fault\"}"
	once_fails "$fault"
	delivered "$fault"
done
d=$(wire_dups)
[ "$d" -ge 5 ] || fail "no duplicates on the wire: the ambiguous cases were not exercised"
echo "ok: $d duplicates on the wire, 0 committed twice"

say "connection refused and DNS failure"
enq 5
sed -i "s#^server = .*#server = http://127.0.0.1:1#" "$WORK/pc.conf"
once_fails "refused"
grep -q "onnect" "$WORK/err" || fail "refused: no reason logged"
sed -i "s#^server = .*#server = https://mutu.invalid#" "$WORK/pc.conf"
once_fails "dns"
sed -i "s#^server = .*#server = $PROXY_URL#" "$WORK/pc.conf"
delivered "after refused and dns"

say "Retry-After is honoured: seconds and HTTP-date, 429 and 503"
start_agent pc
for ra in '3' '"+3"'; do
	for code in 429 503; do
		: >"$WORK/proxy.log"
		plan "{\"script\": [{\"do\": \"status\", \"code\": $code, \"headers\": {\"Retry-After\": $ra}}]}"
		enq 3
		wait_for 20 sh -c "[ \$(grep -c batches '$WORK/proxy.log') -ge 2 ]" ||
			fail "$code Retry-After $ra: no retry"
		gap=$(/usr/bin/python3 -c "
import json
t = [json.loads(l)['t'] for l in open('$WORK/proxy.log') if 'batches' in l]
print(round(t[1] - t[0], 1))")
		# An HTTP-date has a resolution of one second.
		/usr/bin/python3 -c "import sys; sys.exit(0 if $gap >= 2.0 else 1)" ||
			fail "$code Retry-After $ra: retried after $gap s"
		echo "ok: $code Retry-After $ra: retried after $gap s"
	done
done
wait_for 20 sh -c "[ \$(sqlite3 '$WORK/pc/queue.db' 'SELECT count(*) FROM records') -eq 0 ]" ||
	fail "service did not drain"
expect_eq "end: stored" "$(stored)" $((N - 1))
expect_eq "end: distinct" "$(distinct)" $((N - 1))
