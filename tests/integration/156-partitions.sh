#!/bin/sh
# PostgreSQL retention drops whole months: raw usage lives in monthly
# partitions; past retention_days a month's partition is dropped, not its
# rows deleted one by one, and the daily summaries the reports read stay.
# Runs in the PostgreSQL pass.
. tests/integration/lib.sh
[ "$BACKEND" = pgsql ] || skip "runs in the pgsql pass (MUTU_BACKEND=pgsql)"
server_conf "retention_days = 60" "requests_per_minute = 0"
start_server
bootstrap
# Partitions for the months around 150 days ago, as a server running
# then would have made them (the owner's function; the server's role
# calls it in its housekeeping).
old=$(($(date +%s) - 150 * 86400))
sdb "SELECT mutu_partitions($old)" >/dev/null
part=usage_$(date -u -d "@$old" +%Y%m)
expect_eq "partition of 150 days ago" "$(sdb "SELECT count(*) FROM pg_class WHERE relname = '$part'")" 1
agent_conf pc 29019
agent_once pc 2>/dev/null || fail "first sync"
# Raw sessions of 150 days ago, as the agent delivered them then (the
# ingest of old records is 190-clock.sh's and 170-crash.sh's subject;
# here, what retention does with them).
agent=$(cat "$WORK/pc/agent-id")
sdb "INSERT INTO usage(agent_id, commune, epoch, seq, product, exe, start, \"end\")
	SELECT '$agent', '29019', 'old', i, 'old-app', '/o/' || i, $old + i * 600, $old + i * 600 + 300
	FROM generate_series(1, 40) i;
	INSERT INTO usage_daily(day, agent_id, commune, product, exe, seconds, sessions, last_end)
	VALUES ($old / 86400, '$agent', '29019', 'old-app', '', 12000, 40, $old + 24300)" >/dev/null
expect_eq "old rows in their partition" "$(sdb "SELECT count(*) FROM $part WHERE product = 'old-app'")" 40
daily=$(sdb "SELECT sum(sessions) FROM usage_daily WHERE product = 'old-app'")
expect_eq "old sessions in the daily summaries" "$daily" 40
stop_server
start_server # housekeeping runs at start
wait_for 10 grep -q "retention:" "$WORK/server.log" || fail "no retention pass: $(tail -3 "$WORK/server.log")"
grep "retention:" "$WORK/server.log"
expect_eq "partition $part after retention" "$(sdb "SELECT count(*) FROM pg_class WHERE relname = '$part'")" 0
expect_eq "old raw rows" "$(sdb "SELECT count(*) FROM usage WHERE product = 'old-app'")" 0
expect_eq "daily summaries kept" "$(sdb "SELECT sum(sessions) FROM usage_daily WHERE product = 'old-app'")" "$daily"
stop_server
