# mutu-agent status, as a monitoring check runs it: exit 0 after an
# enrolment and a delivery (nothing queued, a last delivery, no error);
# with the server stopped and records queued, still 0 within --max-age,
# the last error named; 1 once records have waited longer than the
# threshold (a small --max-age, and the default 24 h with the clock moved
# 23 h and 25 h by libfaketime); read beside the running service without
# disturbing it; 0 again once the server is back and the backlog
# delivered. A fresh agent with nothing queued is ok; no queue, bad
# arguments or configuration exit 2. No secret is ever printed.
. tests/integration/lib.sh
[ "$BACKEND" = sqlite ] || skip "SQLite only: the agent's side: the engines are tested by the other tests"
command -v faketime >/dev/null || skip "faketime not installed (make deps)"
export FAKETIME_DONT_FAKE_MONOTONIC=1
# Sanitizer builds: libfaketime is preloaded ahead of the ASan runtime.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0"

# status NAME [ARGS...]: runs "mutu-agent status" (under $FAKE, a
# faketime offset, if set); its output in $WORK/st.out (also appended to
# $WORK/all.out), its exit code in rc.
FAKE=""
status() {
	name=$1
	shift
	set +e
	if [ -n "$FAKE" ]; then
		faketime -f "$FAKE" "$B/mutu-agent" -c "$WORK/$name.conf" status "$@"
	else
		"$B/mutu-agent" -c "$WORK/$name.conf" status "$@"
	fi >"$WORK/st.out" 2>"$WORK/st.err"
	rc=$?
	set -e
	cat "$WORK/st.out" "$WORK/st.err" >>"$WORK/all.out"
}
# field KEY: its value in the last status output.
field() { sed -n "s/^$1: //p" "$WORK/st.out"; }
first() { head -n 1 "$WORK/st.out"; }
# expect_rc WHAT CODE
expect_rc() { [ "$rc" = "$2" ] || fail "$1: exit $rc, expected $2: $(cat "$WORK/st.out" "$WORK/st.err")"; echo "ok: $1: exit $2"; }
# expect_match WHAT VALUE EXTENDED_REGEX
expect_match() {
	echo "$2" | grep -Eq "$3" || fail "$1: '$2' does not match /$3/"
	echo "ok: $1: $2"
}

start_server
bootstrap
agent_conf pc 29019 "sync_interval = 1" "usage_interval = 1" \
	"startup_splay = 0" "retry_min = 1" "retry_max = 2"

say "arguments, configuration, no queue: exit 2"
status pc --max-age -3
expect_rc "--max-age -3" 2
status pc --max-age 1h
expect_rc "--max-age 1h" 2
status pc extra
expect_rc "an extra argument" 2
status absent
expect_rc "no configuration file" 2
status pc
expect_rc "no queue yet" 2
grep -q "has not run" "$WORK/st.err" || fail "no queue: $(cat "$WORK/st.err")"
[ ! -e "$WORK/pc/queue.db" ] || fail "status created the queue"

say "a fresh agent, its queue empty, never delivered: ok"
"$B/mutu-agent" -c "$WORK/pc.conf" enqueue </dev/null >/dev/null 2>&1
status pc
expect_rc "fresh agent" 0
expect_eq "fresh: first line" "$(first)" "status: ok"
expect_eq "fresh: queued" "$(field queued)" 0
expect_eq "fresh: last_delivery" "$(field last_delivery)" never

say "enrolled and delivered: ok"
agent_once pc >/dev/null 2>&1 || fail "agent pc did not deliver"
status pc
expect_rc "after a delivery" 0
expect_eq "delivered: first line" "$(first)" "status: ok"
expect_eq "delivered: queued" "$(field queued)" 0
expect_eq "delivered: oldest" "$(field oldest)" none
expect_match "delivered: last_delivery" "$(field last_delivery)" \
	'^20[0-9-]{8}T[0-9:]{8}Z \([0-9]+ s ago\)$'
expect_eq "delivered: last_error" "$(field last_error)" none
expect_eq "delivered: failing_since" "$(field failing_since)" no
expect_match "delivered: disk" "$(field disk)" '^[0-9]+ of 67108864 bytes \([0-9.]+ %\)$'
expect_eq "delivered: quarantined" "$(field quarantined)" 0
status pc --json
expect_rc "--json" 0
/usr/bin/python3 - "$WORK/st.out" <<'PY' || fail "--json: $(cat "$WORK/st.out")"
import json, sys, time
j = json.load(open(sys.argv[1]))
assert j["status"] == "ok", j
assert j["queued"] == 0 and j["oldest"] is None, j
assert abs(j["last_delivery"] - time.time()) < 120, j
assert j["last_error"] is None and j["failing_since"] is None, j
assert j["max_age_s"] == 86400 and j["disk_budget_bytes"] == 64 << 20, j
print("ok: --json: status ok, nothing queued, delivered", int(time.time() - j["last_delivery"]), "s ago")
PY

say "server stopped, records queued: ok within the threshold, error named"
stop_server
gen 3
"$B/mutu-agent" -c "$WORK/pc.conf" enqueue 3 <"$WORK/lines" >/dev/null
set +e
agent_once pc 2>/dev/null
rc=$?
set -e
expect_rc "--once with the server down" 1
status pc
expect_rc "failing for seconds, max age 24 h" 0
expect_match "down: first line" "$(first)" \
	'^status: ok, but no delivery for [0-9]+ s while [0-9]+ records wait \(max age 1 d\)$'
n=$(field queued)
[ "$n" -ge 3 ] || fail "queued: $n, expected 3 or more"
echo "ok: $n records queued"
expect_match "down: last_error" "$(field last_error)" \
	"^20[0-9-]{8}T[0-9:]{8}Z \\([0-9]+ s ago\\): sync: http://127\\.0\\.0\\.1:$PORT/api/v1/batches: .*(Failed to connect|Couldn't connect)"
expect_match "down: failing_since" "$(field failing_since)" '^20[0-9-]{8}T[0-9:]{8}Z \([0-9]+ s ago\)$'
expect_match "down: oldest" "$(field oldest)" '^20[0-9-]{8}T[0-9:]{8}Z \([0-9]+ s ago\)$'

say "older than the threshold: exit 1"
sleep 3
status pc --max-age 0.0005
expect_rc "waited 3 s, --max-age 0.0005 (2 s)" 1
expect_match "late: first line" "$(first)" \
	'^status: failing: no delivery for [0-9]+ s while [0-9]+ records wait \(max age 2 s\)$'
expect_match "late: last_error" "$(field last_error)" 'sync: .*127\.0\.0\.1'
status pc --max-age 0.0005 --json
expect_rc "--json, late" 1
expect_eq "late: JSON status" "$(json 'j["status"]' <"$WORK/st.out")" failing
expect_match "late: JSON last_error" "$(json 'j["last_error"]["message"]' <"$WORK/st.out")" '^sync: '
FAKE=+23h status pc
expect_rc "the clock 23 h on, default max age" 0
FAKE=+25h status pc
expect_rc "the clock 25 h on, default max age" 1
expect_match "25 h on: first line" "$(first)" \
	'^status: failing: no delivery for 1 d 1 h while [0-9]+ records wait \(max age 1 d\)$'
FAKE=+25h status pc --max-age 26
expect_rc "the clock 25 h on, --max-age 26" 0

say "the URL's user info and the secrets are never shown"
URL_OK=$URL
URL="http://mutu:hunter2pw@127.0.0.1:$PORT"
agent_conf leaky 29019
URL=$URL_OK
agent_once leaky >/dev/null 2>&1 && fail "leaky delivered with the server down"
status leaky
expect_rc "leaky agent, within the threshold" 0
expect_match "leaky: last_error" "$(field last_error)" \
	"enrol: http://127\\.0\\.0\\.1:$PORT/api/v1/enrol: "

say "status beside the running service"
start_agent pc
wait_for 10 grep -q "next delivery attempt" "$WORK/pc.log" || fail "the service did not try: $(tail -n 5 "$WORK/pc.log")"
status pc
expect_rc "beside the service, server down" 0
# The time of the last error, without its age.
err_time() { field last_error | cut -d' ' -f1; }
e1=$(err_time)
i=0
while [ $i -lt 40 ]; do
	status pc
	[ "$rc" = 0 ] || fail "status beside the service: exit $rc: $(cat "$WORK/st.out" "$WORK/st.err")"
	[ ! -s "$WORK/st.err" ] || fail "status beside the service: $(cat "$WORK/st.err")"
	i=$((i + 1))
done
echo "ok: 40 status runs beside the service, all exit 0"
moved() { status pc && [ "$(err_time)" != "$e1" ]; }
wait_for 15 moved || fail "the service's attempts do not show: $(field last_error)"
echo "ok: the service's later attempt shows: $e1, then $(err_time)"
start_server "127.0.0.1:$PORT"
recovered() {
	status pc
	[ "$rc" = 0 ] && [ "$(field failing_since)" = no ] && [ "$(field queued)" = 0 ]
}
wait_for 60 recovered || fail "no recovery seen: $(cat "$WORK/st.out")"
expect_eq "recovered: first line" "$(first)" "status: ok"
expect_match "recovered: last_delivery" "$(field last_delivery)" '\([0-9]+ s ago\)$'
expect_match "recovered: last_error kept" "$(field last_error)" 'sync: '
kill -0 "$LAST_AGENT" || fail "the service died"
! grep -Ei "locked|busy|cannot record" "$WORK/pc.log" || fail "the service was disturbed"
echo "ok: the service was not disturbed (no lock, no failed write in its log)"
kill -TERM "$LAST_AGENT"
wait "$LAST_AGENT" || fail "agent exit $?"
AGENT_PIDS=""

say "after the service stopped: status reads, changes nothing"
sum0=$(sha256sum <"$WORK/pc/queue.db")
status pc
expect_rc "recovered, service stopped" 0
expect_eq "stopped: queued" "$(field queued)" 0
FAKE=+25h status pc
expect_rc "nothing waits, the clock 25 h on" 0
expect_eq "queue.db unchanged by status" "$(sha256sum <"$WORK/pc/queue.db")" "$sum0"

for s in "$SECRET_29019" "integration-test-key-29019" hunter2pw \
	"$(cat "$WORK/pc/token")" "$(cat "$WORK/pc/agent-key")"; do
	! grep -qF -- "$s" "$WORK/all.out" || fail "a secret was printed: $s"
done
echo "ok: no secret, token, key or URL password in $(grep -c '^status: ' "$WORK/all.out") status outputs"
