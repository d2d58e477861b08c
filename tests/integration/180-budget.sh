# Disk budget: a month offline at ten times an office PC's usage rate.
# The queue (database + WAL) stays within its 1 MiB budget at every
# sample; old sessions are folded into daily totals before anything is
# dropped; what is dropped is reported, and the server's gap report equals
# the agent's log of dropped ranges.
. tests/integration/lib.sh
DAYS=${BUDGET_DAYS:-30}
PER_DAY=${BUDGET_PER_DAY:-2000} # ~10x a typical office PC
start_server
bootstrap
agent_conf pc 29019 "disk_budget = 1" "startup_splay = 0"
agent_once pc || fail "first sync failed"
sed -i "s#^server = .*#server = http://127.0.0.1:1#" "$WORK/pc.conf"
budget=1048576 max=0 now=$(date +%s)
d=$DAYS
while [ "$d" -gt 0 ]; do
	/usr/bin/python3 -c "
import json
day = ($now - $d * 86400) // 86400 * 86400
for i in range($PER_DAY):
    p = i % 400   # 400 program x user pairs a day
    t = day + 8 * 3600 + (i * 37) % (9 * 3600)
    print(json.dumps({'type': 'usage', 'time': t + 600, 'data': {
        'product': 'budget-p%d' % (p % 40), 'exe': '/opt/p%d/bin' % (p % 40),
        'user': 'user%03d' % (p // 40), 'start': t, 'end': t + 600}}))" |
		"$B/mutu-agent" -c "$WORK/pc.conf" enqueue 500 >/dev/null 2>>"$WORK/enq.log" ||
		fail "enqueue failed on day -$d"
	size=$(($(stat -c %s "$WORK/pc/queue.db") + $(stat -c %s "$WORK/pc/queue.db-wal" 2>/dev/null || echo 0)))
	[ "$size" -le "$budget" ] || fail "day -$d: queue uses $size bytes, over $budget"
	[ "$size" -gt "$max" ] && max=$size
	d=$((d - 1))
done
echo "ok: $((DAYS * PER_DAY)) records over $DAYS days offline; queue at most $max bytes (budget $budget)"
first_compact=$(grep -n "compacted" "$WORK/enq.log" | head -n 1 | cut -d: -f1)
first_drop=$(grep -n "dropped and reported" "$WORK/enq.log" | head -n 1 | cut -d: -f1)
[ -n "$first_drop" ] || fail "nothing dropped: the test did not reach the budget"
[ -n "$first_compact" ] && [ "$first_compact" -le "$first_drop" ] ||
	fail "records were dropped before old ones were compacted"
grep "compacted" "$WORK/enq.log" | head -n 1
ranges() { sqlite3 "$1" "SELECT first_seq, last_seq, records FROM $2 ORDER BY first_seq"; }
ranges "$WORK/pc/queue.db" dropped >"$WORK/agent-ranges"
echo "ok: $(wc -l <"$WORK/agent-ranges") ranges dropped, $(sqlite3 "$WORK/pc/queue.db" "SELECT sum(records) FROM dropped") records"
sed -i "s#^server = .*#server = $URL#" "$WORK/pc.conf"
i=0
while [ "$(queued pc)" -gt 0 ] && [ $i -lt 20 ]; do
	agent_once pc 2>/dev/null || true
	i=$((i + 1))
done
expect_eq "queue drained" "$(queued pc)" 0
sdb "SELECT first_seq, last_seq, records FROM gaps WHERE reason = 'budget' ORDER BY first_seq" >"$WORK/server-ranges"
cmp "$WORK/agent-ranges" "$WORK/server-ranges" || fail "the server's gap report differs from the agent's drops"
echo "ok: the server's gap report equals the agent's $(wc -l <"$WORK/server-ranges") dropped ranges"
lost=$(ctl --format json machines | json "[m['records_lost'] for m in j][0]")
expect_eq "records lost shown by mutuctl machines" "$lost" "$(sqlite3 "$WORK/pc/queue.db" "SELECT sum(records) FROM dropped")"
# What survived as daily totals still counts: sessions > raw rows.
s=$(sdb "SELECT sum(sessions) FROM usage_daily WHERE product LIKE 'budget-%'")
r=$(sdb "SELECT count(*) FROM usage WHERE product LIKE 'budget-%'")
[ "$s" -gt "$r" ] || fail "no compacted sessions reached the server ($s sessions, $r rows)"
echo "ok: $s sessions counted at the server from $r raw rows and daily totals"
