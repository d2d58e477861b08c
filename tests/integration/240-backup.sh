#!/bin/sh
# mutu-server backup and restore (docs/DEPLOY.md, "Backups"; issue 21).
# SQLite: backups taken while an agent delivers hold every record the
# server had stored when each began, exactly once (tests/tools/oracle.py),
# are sound (integrity_check) and private (mode 600); a backup never
# overwrites a file; restore is refused while a server serves the
# database and for a file that is not a sound mutu-server database,
# leaving the database unchanged; a restored database serves, with the
# records of its backup. PostgreSQL: both commands point to pg_dump and
# pg_restore and write nothing.
. tests/integration/lib.sh
start_server
bootstrap

if [ "$BACKEND" = pgsql ]; then
	say "PostgreSQL: backups are pg_dump's"
	if srv backup "$WORK/pg.db" 2>"$WORK/err"; then fail "backup of PostgreSQL exited 0"; fi
	grep -q pg_dump "$WORK/err" || fail "no pg_dump in: $(cat "$WORK/err")"
	[ ! -e "$WORK/pg.db" ] || fail "a file was written"
	if srv restore "$WORK/server.conf" 2>"$WORK/err"; then fail "restore to PostgreSQL exited 0"; fi
	grep -q pg_restore "$WORK/err" || fail "no pg_restore in: $(cat "$WORK/err")"
	echo "ok: $(cat "$WORK/err")"
	exit 0
fi

agent_conf pc 29019 "sync_interval = 1" "startup_splay = 0" "batch_records = 50" \
	"usage_interval = 3600" "inventory_interval = 86400" "http_timeout = 5"
agent_once pc >/dev/null 2>&1 || fail "first sync failed"
start_agent pc
: >"$WORK/acked"
# held FILE: the markers the server's database holds now, into FILE
held() { sdb "SELECT DISTINCT exe FROM usage WHERE exe LIKE '/o/%'" >"$1"; }

# A backlog of 2,000 records, delivered 50 to a batch (one commit each)
# while the backups below are taken.
gen 2000
enqueue_acked "$WORK/pc.conf" 500

say "backups while the agent delivers"
# Until two backups have been taken while records arrived (at most 100
# tries): every one must hold what was stored before it began; those two
# are kept as backup1.db and backup2.db.
kept=0 tries=0
while [ $kept -lt 2 ] && [ $tries -lt 100 ]; do
	tries=$((tries + 1))
	rm -f "$WORK/try.db"
	held "$WORK/held"
	srv backup "$WORK/try.db" >/dev/null || fail "backup $tries failed"
	held "$WORK/after"
	/usr/bin/python3 tests/tools/oracle.py "$WORK/held" "$WORK/try.db" \
		"backup $tries" >"$WORK/oracle.out" ||
		fail "backup $tries lacks records stored before it began: $(cat "$WORK/oracle.out")"
	expect_eq "backup $tries integrity" "$(sqlite3 "$WORK/try.db" 'PRAGMA integrity_check')" ok >/dev/null
	expect_eq "backup $tries mode" "$(stat -c %a "$WORK/try.db")" 600 >/dev/null
	[ ! -e "$WORK/try.db.part" ] || fail "backup $tries left its .part file"
	before=$(wc -l <"$WORK/held") after=$(wc -l <"$WORK/after")
	[ "$after" -gt "$before" ] || continue
	kept=$((kept + 1))
	mv "$WORK/try.db" "$WORK/backup$kept.db"
	mv "$WORK/held" "$WORK/held$kept"
	echo "ok: backup $tries: $(cat "$WORK/oracle.out"); $before records stored when it began, $after when it ended"
done
[ $kept -eq 2 ] || fail "only $kept of $tries backups were taken while records arrived"
echo "ok: $tries backups, each sound (integrity_check), mode 600, holding every record stored before it began"
wait_for 60 sh -c "[ \$(sqlite3 '$WORK/pc/queue.db' 'SELECT count(*) FROM records') = 0 ]" ||
	fail "the agent did not deliver its queue"

say "a backup never overwrites a file"
size=$(stat -c %s "$WORK/backup1.db")
if srv backup "$WORK/backup1.db" 2>"$WORK/err"; then fail "backup over an existing file exited 0"; fi
grep -q "exists already" "$WORK/err" || fail "message: $(cat "$WORK/err")"
expect_eq "backup1 untouched" "$(stat -c %s "$WORK/backup1.db")" "$size"
/usr/bin/python3 tests/tools/oracle.py "$WORK/held1" "$WORK/backup1.db" "backup 1 again" >/dev/null ||
	fail "backup 1 damaged"

say "restore is refused while the server serves"
count=$(sdb "SELECT count(*) FROM usage")
if srv restore "$WORK/backup2.db" 2>"$WORK/err"; then fail "restore while serving exited 0"; fi
grep -q "pid $SERVER_PID" "$WORK/err" || fail "the serving pid is not named: $(cat "$WORK/err")"
expect_eq "database unchanged" "$(sdb "SELECT count(*) FROM usage")" "$count"
echo "ok: $(cat "$WORK/err")"

say "restore refuses what is not a sound mutu-server database"
kill "$LAST_AGENT"
stop_server
printf 'not a database at all, but long enough to look like a header....' >"$WORK/junk.db"
sqlite3 "$WORK/other.db" "CREATE TABLE t(a); INSERT INTO t VALUES (1)"
head -c 8192 "$WORK/backup2.db" >"$WORK/cut.db"
for f in junk other cut missing; do
	if srv restore "$WORK/$f.db" 2>"$WORK/err"; then fail "restore of $f.db exited 0"; fi
	grep -q "database unchanged" "$WORK/err" || fail "$f: $(cat "$WORK/err")"
	expect_eq "database unchanged after $f.db" "$(sdb "SELECT count(*) FROM usage")" "$count"
	echo "ok: $(cat "$WORK/err")"
done

say "restore of backup 2, and serving it"
srv restore "$WORK/backup2.db" >/dev/null || fail "restore failed"
expect_eq "restored integrity" "$(sdb 'PRAGMA integrity_check')" ok
/usr/bin/python3 tests/tools/oracle.py "$WORK/held2" "$SDB" "restored" ||
	fail "the restored database lacks records of its backup"
expect_eq "records as in backup 2" "$(sdb "SELECT count(*) FROM usage")" \
	"$(sqlite3 "$WORK/backup2.db" "SELECT count(*) FROM usage")"
start_server
expect_eq "the restored database serves its machine" \
	"$(ctl --format csv machines | grep -c ',29019,')" 1
echo "ok: restored database served"
