#!/bin/sh
# Distinct names per machine (issue 16, finding 5): one agent sent 200,000
# distinct products in 10 s and the server kept them all, forever. Now a
# machine's usage summaries (program, executable, user) are bounded per
# UTC day (max_programs_per_day, 2,000) and its software list per
# inventory (max_software, 10,000): the batch is accepted (the agent does
# not retry it), the excess is counted, not stored, logged, and shown per
# machine in GET /machines (usage_dropped, software_dropped). Keys a day
# has already keep adding up past the bound; other days and machines are
# not affected; a replayed batch counts nothing twice. Both engines.
. tests/integration/lib.sh
start_server
bootstrap
enrolled pc 29019
now=$(date +%s)
day=$((now / 86400 - 2))
n=0

# batch KIND COUNT [FIRST_SEQ] [ARG]: writes $WORK/batch.json, epoch $n:
# usage: COUNT sessions on day ARG, product "flood-I" for I from FIRST;
# usage_day: the same as day summaries; days: COUNT sessions over 5 days;
# inventory: one inventory of COUNT software entries (prefix ARG).
batch() {
	/usr/bin/python3 - "$1" "$2" "${3:-0}" "${4:-$day}" "$aid" "$n" "$now" >"$WORK/batch.json" <<'PY'
import json, sys
kind, count, first, arg, aid, epoch, now = sys.argv[1:]
count, first, now = int(count), int(first), int(now)
recs = []
for i in range(count):
    seq = i + 1
    if kind == "inventory":
        sw = [{"name": "%s-%d" % (arg, k), "version": "1"} for k in range(count)]
        recs = [{"seq": 1, "type": "inventory", "time": now, "data": {"deviceid": "d",
                 "content": {"hardware": {"name": "pc"}, "softwares": sw}}}]
        break
    d = int(arg) if kind != "days" else int(arg) - i % 5
    t = d * 86400 + 3600 + (i % 3000) * 10
    if kind == "usage_day":
        recs.append({"seq": seq, "type": "usage_day", "time": now, "data": {
            "product": "flood-%d" % (first + i), "exe": "/x", "day": d, "first": t, "last": t + 5,
            "seconds": 5, "sessions": 1}})
    else:
        recs.append({"seq": seq, "type": "usage", "time": now, "data": {
            "product": "flood-%d" % (first + i), "exe": "/x", "start": t, "end": t + 5}})
print(json.dumps({"v": 1, "agent_id": aid, "epoch": "%04x" % int(epoch),
                  "batch_id": "%04x" % int(epoch), "records": recs}))
PY
}
post() {
	curl -sS -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $tok" \
		-H 'Content-Type: application/json' --data-binary @"$WORK/batch.json" \
		"$URL/api/v1/batches"
}
# accepted N: the batch answered 200 with every one of its N records acked.
accepted() {
	code=$(post)
	[ "$code" = 200 ] || fail "batch $n: status $code: $(cat "$WORK/body")"
	expect_eq "batch $n acknowledged whole" "$(json 'j["ack_seq"]' <"$WORK/body")" "$1"
}
keys() { sdb "SELECT count(*) FROM usage_daily WHERE agent_id = '$aid' AND day = ${1:-$day}"; }
raw() { sdb "SELECT count(*) FROM usage WHERE agent_id = '$aid' AND start / 86400 = $day"; }
mach() {
	curl -sS -H "Authorization: Bearer $TOKEN" "$URL/api/v1/machines" |
		json "[m for m in j if m['agent_id'] == '$aid'][0]['$1']"
}

say "5,000 distinct programs in one day: 2,000 stored, 3,000 counted"
n=$((n + 1)); batch usage 5000 0; accepted 5000
expect_eq "usage summaries of the day" "$(keys)" 2000
expect_eq "raw sessions of the day" "$(raw)" 2000
expect_eq "monthly rows" "$(sdb "SELECT count(*) FROM usage_monthly WHERE agent_id = '$aid' AND product LIKE 'flood-%'")" 2000
expect_eq "usage_dropped in /machines" "$(mach usage_dropped)" 3000
grep -q "3000 usage records over max_programs_per_day" "$WORK/server.log" ||
	fail "no log line for the folded records"
echo "ok: logged"

say "the same batch again: duplicates, nothing counted twice"
code=$(post); expect_eq "replay status" "$code" 200
expect_eq "replay duplicates" "$(json 'j["duplicates"]' <"$WORK/body")" 5000
expect_eq "usage_dropped after the replay" "$(mach usage_dropped)" 3000

say "past the bound, programs the day has keep adding up; new ones do not"
n=$((n + 1)); batch usage 3000 1000; accepted 3000
expect_eq "usage summaries of the day" "$(keys)" 2000
expect_eq "sessions of flood-1500" \
	"$(sdb "SELECT sessions FROM usage_daily WHERE agent_id = '$aid' AND product = 'flood-1500'")" 2
expect_eq "usage_dropped" "$(mach usage_dropped)" 5000
n=$((n + 1)); batch usage_day 2500 0; accepted 2500
expect_eq "day summaries: the known 2,000 added up" \
	"$(sdb "SELECT count(*), sum(sessions) FROM usage_daily WHERE agent_id = '$aid' AND day = $day")" "2000|5000"
expect_eq "usage_dropped" "$(mach usage_dropped)" 5500

say "a backlog over 5 days (1,000 programs each): all stored"
n=$((n + 1)); batch days 5000 0 $((day - 10)); accepted 5000
for d in 10 11 12 13 14; do
	expect_eq "day -$d" "$(keys $((day - d)))" 1000
done
expect_eq "usage_dropped" "$(mach usage_dropped)" 5500

say "a flood of 4 x 5,000 on another day: 2,000 stored"
for k in 0 1 2 3; do
	n=$((n + 1)); batch usage 5000 $((100000 + k * 5000)) $((day + 1)); accepted 5000
done
expect_eq "usage summaries of that day" "$(keys $((day + 1)))" 2000
expect_eq "usage_dropped" "$(mach usage_dropped)" 23500
curl -sS -o "$WORK/lic" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	"$URL/api/v1/licences?days=30" >"$WORK/code"
expect_eq "licences" "$(cat "$WORK/code")" 200
echo "ok: licences $(wc -c <"$WORK/lic") bytes"

say "an inventory of 12,000 software entries: 10,000 kept"
n=$((n + 1)); batch inventory 12000 0 big; accepted 1
expect_eq "software rows" "$(sdb "SELECT count(*) FROM software WHERE agent_id = '$aid'")" 10000
expect_eq "software in /machines" "$(mach software)" 10000
expect_eq "software_dropped" "$(mach software_dropped)" 2000
grep -q "2000 software entries over max_software" "$WORK/server.log" ||
	fail "no log line for the software left out"
n=$((n + 1)); batch inventory 300 0 small; accepted 1
expect_eq "software rows of a normal inventory" "$(sdb "SELECT count(*) FROM software WHERE agent_id = '$aid'")" 300
expect_eq "software_dropped: the latest inventory's" "$(mach software_dropped)" 0

say "another machine is not affected; the agent still delivers"
aid1=$aid tok1=$tok
enrolled pc2 29019
expect_eq "pc2 usage_dropped" "$(mach usage_dropped)" 0
expect_eq "pc2 software_dropped" "$(mach software_dropped)" 0
aid=$aid1 tok=$tok1
expect_eq "pc usage_dropped" "$(mach usage_dropped)" 23500
agent_once pc >/dev/null 2>&1 || fail "the real agent of pc no longer delivers"
echo "ok: the real agent delivers"

say "the bounds are settings"
stop_server
server_conf "max_programs_per_day = 10" "max_software = 0"
start_server
n=$((n + 1)); batch usage 50 200000 $((day - 30)); accepted 50
expect_eq "max_programs_per_day = 10" "$(keys $((day - 30)))" 10
n=$((n + 1)); batch inventory 12000 0 all; accepted 1
expect_eq "max_software = 0: no bound" "$(sdb "SELECT count(*) FROM software WHERE agent_id = '$aid'")" 12000
