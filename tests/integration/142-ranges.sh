# Unchecked ranges (issue 16, finding 2): two gap records of 2^63-1 lost
# records made sum() overflow and GET /machines answer 503 for good;
# negative counts, a day of 864,000,000 s, and a Mutu-Clock 9x10^15 s off
# were stored (UBSan aborted on the last). Every numeric field now has a
# range from its meaning (server/ingest.c, rec_types[]): out of range is a
# 422 naming the field and the record, and nothing of the batch is
# stored; a clock more than 20 years off is refused with 403 (the agent
# keeps its data and pauses, docs/PROTOCOL.md). Usage dated more than 400
# days before the server's time or a day after it is refused (422).
. tests/integration/lib.sh
# UTC days: the day's cap below is 86,400 s, every day of the year
server_conf 'time_zone = UTC'
start_server
bootstrap
enrolled pc 29019
now=$(date +%s)
day=$((now / 86400 - 1))
MAX=9223372036854775807
n=0
SKEW=0 # seconds the agent's clock is fast: the marker is stamped with it
# send RECORD [curl args]: a batch of a valid usage record (seq 1, marked
# by its exe) and RECORD (seq 2, the JSON of its "type" and "data"), in
# epoch $n (the caller counts: send runs in a subshell); prints the status,
# the answer in $WORK/body.
send() {
	printf '{"v":1,"agent_id":"%s","epoch":"%04x","batch_id":"%04x","records":[%s,%s]}' \
		"$aid" "$n" "$n" \
		"{\"seq\":1,\"type\":\"usage\",\"time\":$((now + SKEW)),\"data\":{\"product\":\"p\",\"exe\":\"/marker/$n\",\"start\":$((now + SKEW - 60)),\"end\":$((now + SKEW))}}" \
		"{\"seq\":2,\"time\":$now,$1}" >"$WORK/batch.json"
	shift
	curl -sS -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $tok" \
		-H 'Content-Type: application/json' "$@" \
		--data-binary @"$WORK/batch.json" "$URL/api/v1/batches"
}
stored() { sdb "SELECT count(*) FROM usage WHERE exe = '/marker/$n'"; }
# refused WHAT FRAGMENT RECORD: 422 whose error holds FRAGMENT, nothing stored.
refused() {
	n=$((n + 1)); code=$(send "$3")
	[ "$code" = 422 ] || fail "$1: status $code, expected 422: $(cat "$WORK/body")"
	grep -q -- "$2" "$WORK/body" || fail "$1: answer lacks '$2': $(cat "$WORK/body")"
	expect_eq "$1: record named" "$(json 'j["record_seq"]' <"$WORK/body")" 2
	expect_eq "$1: nothing of the batch stored" "$(stored)" 0
}
gap() { echo "\"type\":\"gap\",\"data\":{\"reason\":\"budget\",$1}"; }
uday() {
	echo "\"type\":\"usage_day\",\"data\":{\"product\":\"p\",\"day\":$day,\"first\":$((day * 86400 + 3600)),\"last\":$((day * 86400 + 7200)),$1}"
}
use() { echo "\"type\":\"usage\",\"data\":{\"product\":\"p\",$1}"; }

say "the reproduction: two gaps of 2^63-1 records"
n=$((n + 1)); code=$(send "$(gap "\"first_seq\":1,\"last_seq\":2,\"records\":$MAX")")
expect_eq "first gap of 2^63-1" "$code" 422
grep -q 'records\[1\].data.records: 9223372036854775807 out of range (0 to 1000000000)' "$WORK/body" ||
	fail "answer does not name the field: $(cat "$WORK/body")"
n=$((n + 1)); code=$(send "$(gap "\"records\":$MAX")")
expect_eq "second gap of 2^63-1" "$code" 422
expect_eq "gaps stored" "$(sdb "SELECT count(*) FROM gaps")" 0
mach() { curl -sS -o "$WORK/m" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL/api/v1/machines"; }
expect_eq "GET /machines" "$(mach)" 200

say "every field out of its range"
refused "gap.records negative" "records\[1\].data.records: -5 out of range" "$(gap '"records":-5')"
refused "gap.attempts" "records\[1\].data.attempts" "$(gap '"attempts":2000000000')"
refused "gap.first_seq negative" "records\[1\].data.first_seq" "$(gap '"first_seq":-1,"last_seq":2,"records":1')"
# Backdated or future usage (a reviewer spread 200,000 distinct programs
# over 2,000 past days, past the per-day cap): 400 days back at most, a
# day ahead at most, clock corrections applied.
dated() { echo "\"type\":\"usage\",\"data\":{\"product\":\"q\",\"exe\":\"/q\",\"start\":$1,\"end\":$2}"; }
refused "usage 401 days old" "records\[1\].data: start: more than 400 days" \
	"$(dated $((now - 401 * 86400)) $((now - 401 * 86400 + 60)))"
refused "usage 2 days ahead" "records\[1\].data: end: more than a day after" \
	"$(dated $((now + 2 * 86400)) $((now + 2 * 86400 + 60)))"
n=$((n + 1))
expect_eq "usage 399 days old accepted" "$(send "$(dated $((now - 399 * 86400)) $((now - 399 * 86400 + 60)))")" 200
refused "gap range backwards" "records\[1\].data: first_seq is after last_seq" "$(gap '"first_seq":9,"last_seq":2,"records":1')"
refused "gap.from" "records\[1\].data.from" "$(gap "\"records\":1,\"from\":-$MAX")"
refused "gap.records not a number" "records\[1\].data.records: expected an integer" "$(gap '"records":"many"')"
refused "usage_day.seconds 864,000,000" "records\[1\].data.seconds: 864000000 out of range (0 to 86400)" \
	"$(uday '"seconds":864000000,"sessions":1')"
refused "usage_day.seconds negative" "records\[1\].data.seconds: -1 out of range" "$(uday '"seconds":-1,"sessions":1')"
refused "usage_day.sessions 0" "records\[1\].data.sessions" "$(uday '"seconds":60,"sessions":0')"
refused "usage_day.sessions huge" "records\[1\].data.sessions" "$(uday '"seconds":60,"sessions":1000000000')"
refused "usage_day.last past its day" "records\[1\].data: first and last must lie in day" \
	"\"type\":\"usage_day\",\"data\":{\"product\":\"p\",\"day\":$day,\"first\":$((day * 86400)),\"last\":$((day * 86400 + 90000)),\"seconds\":60,\"sessions\":1}"
refused "usage end before start" "records\[1\].data: end is before start" "$(use '"start":100,"end":99')"
refused "usage longer than a week" "records\[1\].data: end - start: session longer than 7 days" \
	"$(use "\"start\":$((now - 7 * 86400 - 1)),\"end\":$now")"
refused "usage.start -9e15" "records\[1\].data.start: -9000000000000000 out of range" \
	"$(use '"start":-9000000000000000,"end":1')"
refused "usage.end 2^63-1" "records\[1\].data.end" "$(use "\"start\":1,\"end\":$MAX")"
refused "record mono negative" "records\[1\].mono" "\"mono\":-1,$(use '"start":1,"end":2')"
refused "record boot huge" "records\[1\].boot" "\"boot\":$MAX,$(use '"start":1,"end":2')"
refused "software filesize negative" "records\[1\].data.content.softwares\[0\].filesize" \
	'"type":"inventory","data":{"content":{"softwares":[{"name":"x","filesize":-1}]}}'
# The record's own time and seq, in a batch of their own.
printf '{"v":1,"agent_id":"%s","epoch":"ee","batch_id":"ee","records":[{"seq":1,"time":%s,"type":"usage","data":{"product":"p","start":1,"end":2}}]}' \
	"$aid" "$MAX" >"$WORK/t.json"
code=$(curl -sS -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $tok" \
	-H 'Content-Type: application/json' --data-binary @"$WORK/t.json" "$URL/api/v1/batches")
expect_eq "record time 2^63-1" "$code" 422
grep -q 'records\[0\].time' "$WORK/body" || fail "$(cat "$WORK/body")"

say "the Mutu-Clock header"
ok_rec=$(use "\"start\":$((now - 30)),\"end\":$((now - 20))")
clk() { echo "Mutu-Clock: $1"; }
for h in "9000000000000000000 1 1000" "1000 1 1000" "$(((now + 21 * 366 * 86400) * 1000)) 1 1000" \
	"$((now * 1000)) 1 4611686018427387904" "$((now * 1000)) 4611686018427387904 1000"; do
	n=$((n + 1)); code=$(send "$ok_rec" -H "$(clk "$h")")
	expect_eq "Mutu-Clock: $h" "$code" 403
	grep -q "Mutu-Clock" "$WORK/body" || fail "answer does not name the header: $(cat "$WORK/body")"
	expect_eq "nothing stored" "$(stored)" 0
done
# 19 years fast, records stamped by that clock: within the bound,
# corrected and shown. (Stamped right while the header says 19 years fast,
# they would be moved 19 years back: refused, 400 days at most.)
SKEW=$((19 * 365 * 86400))
fast_rec=$(use "\"start\":$((now + SKEW - 30)),\"end\":$((now + SKEW - 20))")
n=$((n + 1)); code=$(send "$ok_rec" -H "$(clk "$(((now + SKEW) * 1000)) 1 1000")")
expect_eq "19 years fast, stamped right" "$code" 422
grep -q "start: more than 400 days" "$WORK/body" || fail "$(cat "$WORK/body")"
n=$((n + 1)); code=$(send "$fast_rec" -H "$(clk "$(((now + SKEW) * 1000)) 1 1000")")
SKEW=0
expect_eq "19 years fast" "$code" 200
expect_eq "19 years fast: applied" "$(json 'j["applied"]' <"$WORK/body")" 2
# Numbers past 64 bits are no clock at all: ignored, as a missing header.
n=$((n + 1)); code=$(send "$ok_rec" -H "$(clk "99999999999999999999999 1 1000")")
expect_eq "clock past 64 bits ignored" "$code" 200

say "the largest values in range are stored and add up"
n=$((n + 1)); code=$(send "$(gap '"first_seq":1,"last_seq":2,"records":1000000000')")
expect_eq "gap of 10^9" "$code" 200
n=$((n + 1)); code=$(send "$(gap '"records":1000000000')")
expect_eq "second gap of 10^9" "$code" 200
n=$((n + 1)); code=$(send "$(uday '"seconds":86400,"sessions":86400')")
expect_eq "a full day" "$code" 200
expect_eq "a full day: the valid record stored" "$(stored)" 1
# Four more full days of the same program, user and day, each in range:
# the day holds 86,400 s, and the month what the day holds.
for i in 1 2 3 4; do
	n=$((n + 1)); code=$(send "$(uday '"seconds":86400,"sessions":1')")
	expect_eq "another full day ($i)" "$code" 200
done
expect_eq "the day capped at 86,400 s" \
	"$(sdb "SELECT seconds FROM usage_daily WHERE day = $day AND product = 'p' AND exe = ''")" 86400
expect_eq "the month adds what the days hold" \
	"$(sdb "SELECT sum(seconds) FROM usage_monthly WHERE product = 'p' AND exe = ''")" \
	"$(sdb "SELECT sum(seconds) FROM usage_daily WHERE product = 'p' AND exe = ''")"
expect_eq "GET /machines" "$(mach)" 200
expect_eq "records lost" "$(json '[m["records_lost"] for m in j if m["agent_id"] == "'"$aid"'"][0]' <"$WORK/m")" 2000000000
say "across a restart"
stop_server
start_server
expect_eq "GET /machines after a restart" "$(mach)" 200
ctl machines >/dev/null || fail "mutuctl machines"
kill -0 "$SERVER_PID" || fail "server died"
