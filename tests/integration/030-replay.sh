# Replaying a batch, whole or overlapping, changes no count: the server
# acknowledges it and reports the duplicates. Each record is its own
# half hour (seq s: s + 1 to s half hours ago), so that hours count
# records (the same interval twice is one person's time once).
. tests/integration/lib.sh
start_server
bootstrap
agent_conf pc 29019
agent_once pc || fail "agent --once failed"
id=$(cat "$WORK/pc/agent-id")
tok=$(cat "$WORK/pc/token")
now=$(date +%s)
batch() { # first last
	/usr/bin/python3 - "$id" "$1" "$2" "$now" <<'PY'
import json, sys
aid, first, last, now = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
recs = [{"seq": s, "type": "usage", "time": now,
         "data": {"product": "replay-app", "user": "u%d" % (s % 3),
                  "start": now - (s + 1) * 1800, "end": now - s * 1800}}
        for s in range(first, last + 1)]
print(json.dumps({"v": 1, "agent_id": aid, "epoch": "feedc0de", "batch_id": "%d" % first, "records": recs}))
PY
}
post() { # file -> prints body, status on the last line
	gzip -c "$1" >"$1.gz"
	curl -sS -w '\n%{http_code}' -H "Authorization: Bearer $tok" \
		-H 'Content-Type: application/json' -H 'Content-Encoding: gzip' \
		--data-binary @"$1.gz" "$URL/api/v1/batches"
}
batch 1 10 >"$WORK/b1.json"
post "$WORK/b1.json" >"$WORK/r1"
expect_eq "first status" "$(tail -n 1 "$WORK/r1")" 200
expect_eq "first applied" "$(head -n 1 "$WORK/r1" | json 'j["applied"]')" 10
hours() { ctl --format json licences --raw --product replay-app $(recent_args 30) | json '[r for r in j if r["commune"]=="29019"][0]["usage_hours"]'; }
expect_eq "hours after first" "$(hours)" 5.0
post "$WORK/b1.json" >"$WORK/r2"
expect_eq "replay status" "$(tail -n 1 "$WORK/r2")" 200
expect_eq "replay applied" "$(head -n 1 "$WORK/r2" | json 'j["applied"]')" 0
expect_eq "replay duplicates" "$(head -n 1 "$WORK/r2" | json 'j["duplicates"]')" 10
expect_eq "replay ack" "$(head -n 1 "$WORK/r2" | json 'j["ack_seq"]')" 10
batch 6 15 >"$WORK/b2.json"
post "$WORK/b2.json" >"$WORK/r3"
expect_eq "overlap applied" "$(head -n 1 "$WORK/r3" | json 'j["applied"]')" 5
expect_eq "hours after overlap" "$(hours)" 7.5
expect_eq "rows stored" "$(sdb "SELECT count(*) FROM usage WHERE product='replay-app'")" 15
# The same records survive a server restart, and a replay after it is
# still recognised.
stop_server
start_server "127.0.0.1:$PORT"
post "$WORK/b2.json" >"$WORK/r4"
expect_eq "replay after restart" "$(head -n 1 "$WORK/r4" | json 'j["applied"]')" 0
expect_eq "hours after restart" "$(hours)" 7.5
