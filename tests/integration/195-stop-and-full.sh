# SIGTERM with a backlog and a batch in flight: the agent stops within
# 5 s, loses nothing, and the in-flight batch is resent after restart and
# counted once. A full disk: enqueues fail loudly and are counted, the
# agent keeps running, accepted records survive, and it recovers by
# itself when space returns, reporting how many enqueues failed.
. tests/integration/lib.sh
# Each record is a program of its own (/o/N): the per-machine cap on
# distinct programs a day (finding 5 of issue 16) is not under test.
server_conf "max_programs_per_day = 0"
start_server
bootstrap
start_proxy
agent_conf pc 29019 "server = $PROXY_URL" "startup_splay = 0" \
	"sync_interval = 1" "usage_min_uid = 1073741824" "batch_records = 200"
sed -i "0,/^server = /{/^server = http:\/\/127.0.0.1:$PORT$/d}" "$WORK/pc.conf"
agent_once pc 2>/dev/null || fail "first sync"
: >"$WORK/acked"
# enq N START: N usage records with markers /o/START.., acked go to acked.
enq() {
	/usr/bin/python3 -c "
import json, time
now = int(time.time())
for i in range($2, $2 + $1):
    print(json.dumps({'type': 'usage', 'time': now, 'data': {
        'product': 'stop', 'exe': '/o/%d' % i, 'start': now - 60, 'end': now}}))" >"$WORK/lines"
	enqueue_acked "$WORK/$3.conf" 100
}

say "SIGTERM during a slow upload"
enq 5000 0 pc
plan '{"default": {"do": "delay", "s": 4}}'
start_agent pc
wait_for 10 sh -c "grep -q batches '$WORK/proxy.log'" || fail "no upload started"
sleep 0.5
t0=$(date +%s%N)
kill -TERM "$LAST_AGENT"
wait "$LAST_AGENT" || fail "agent exited with $?"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -le 5000 ] || fail "stopping took $ms ms"
echo "ok: stopped in $ms ms with $(queued pc) records queued"
sleep 4 # the delayed batch reaches the server meanwhile
plan '{}'
start_agent pc
wait_for 60 sh -c "[ \$(sqlite3 '$WORK/pc/queue.db' 'SELECT count(*) FROM records') -eq 0 ]" ||
	fail "backlog not drained after restart"
kill -TERM "$LAST_AGENT"
wait "$LAST_AGENT" || true
/usr/bin/python3 tests/tools/oracle.py "$WORK/acked" "$SDB" "sigterm" ||
	fail "records lost or doubled across the stop"
[ "$(sdb "SELECT sum(dups) FROM streams")" -gt 0 ] ||
	fail "the in-flight batch was not resent"
echo "ok: the in-flight batch was resent and counted once"

say "disk full"
[ "$(id -u)" = 0 ] || skip "mounting a small tmpfs needs root"
mkdir -p "$WORK/small"
mount -t tmpfs -o size=3m tmpfs "$WORK/small" || skip "cannot mount tmpfs here"
trap 'for p in $AGENT_PIDS; do kill -9 "$p" 2>/dev/null || true; done; sleep 0.5
	umount "$WORK/small"; cleanup' EXIT
# A program that comes and goes, so that the agent has usage to write.
(while :; do timeout 2 tail -f /dev/null; sleep 2; done) >/dev/null 2>&1 &
AGENT_PIDS="$AGENT_PIDS $!"
agent_conf full 29019 "server = $PROXY_URL" "startup_splay = 0" \
	"sync_interval = 1" "usage_interval = 1" "usage_min_uid = 0" \
	"state_dir = $WORK/small/state"
sed -i "0,/^state_dir = /{/^state_dir = .*\/full$/d}" "$WORK/full.conf"
sed -i "0,/^server = /{/^server = http:\/\/127.0.0.1:$PORT$/d}" "$WORK/full.conf"
agent_once full 2>/dev/null || fail "first sync of the small agent"
plan '{"default": "refuse"}' # offline while the disk fills
enq 300 100000 full
before=$(wc -l <"$WORK/acked")
start_agent full
wait_for 10 sh -c "grep -q 'started' '$WORK/full.log'" || fail "agent did not start"
dd if=/dev/zero of="$WORK/small/filler" bs=4k 2>/dev/null || true
enq 300 200000 full
grep -q "error\|full" "$WORK/enq.err" || fail "a failed enqueue was not reported"
wait_for 40 sh -c "grep -q 'cannot queue records' '$WORK/full.log'" ||
	fail "failures not logged: $(tail -5 "$WORK/full.log")"
sleep 2
kill -0 "$LAST_AGENT" || fail "the agent died on a full disk"
echo "ok: $(grep -c 'cannot queue records' "$WORK/full.log") failed samples logged, agent alive; $(($(wc -l <"$WORK/acked") - before)) records accepted on the full disk"
rm -f "$WORK/small/filler"
plan '{}'
wait_for 30 sh -c "grep -q 'accepts records again' '$WORK/full.log'" || fail "no recovery"
wait_for 30 sh -c "[ \$(sqlite3 '$WORK/small/state/queue.db' 'SELECT count(*) FROM records') -eq 0 ]" ||
	fail "not drained after recovery"
/usr/bin/python3 tests/tools/oracle.py "$WORK/acked" "$SDB" "disk full" ||
	fail "records lost around the full disk"
n=$(sdb "SELECT sum(records) FROM gaps WHERE reason = 'enqueue_failed'")
[ "${n:-0}" -ge 1 ] || fail "failed enqueues not reported to the server"
echo "ok: $n failed enqueues reported to the server"
