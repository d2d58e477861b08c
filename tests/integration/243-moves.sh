#!/bin/sh
# A PC moved between communes keeps each commune's history by date (issue
# 15; docs/LICENCES.md, "Lifecycle"), each figure worked out by hand. The
# server runs under libfaketime on 2026-12-02 12:00 in Paris, then on 4
# December:
# - b1 (Brest) ran Office on 28 November; the intercommunal admin moves it
#   to Guipavas on 2 December; its agent then sends a backlog from 1
#   December and 2 December 08:00 (Brest's: the day of the move is the
#   former commune's), and on 4 December a use of the 3rd (Guipavas's);
# - installations: b1 counts in Brest in any period ending on 2 December
#   or before, in Guipavas from the 3rd on; a pool shared by installs bills
#   November 2 : 1 and December 1 : 2;
# - Brest's admin still sees November's figures (b1 included) but not b1
#   any more, and cannot retire it; the move is in both audit logs;
# - bad moves: an unknown commune, the same commune, a commune's admin,
#   an unknown machine.
. tests/integration/lib.sh
server_conf 'enrol_per_minute = 0' 'requests_per_minute = 0' \
	'admin_requests_per_second = 0'
start_server_at '2026-12-02 11:00:00'
TARGET=$(date -u -d '2026-12-02 11:00:00' +%s)
bootstrap

O="Microsoft Office Professional Plus 2019"
rec() { # user from to (Paris times)
	printf '{"product": "%s", "exe": "C:/o.exe", "user": "%s", "start": %s, "end": %s}' \
		"$O" "$1" "$(at "$2")" "$(at "$3")"
}
cat >"$WORK/spec.json" <<JSON
{"secrets": {"29019": "$SECRET_29019", "29075": "$SECRET_29075"},
 "machines": [
  {"name": "b1", "commune": "29019", "software": [{"name": "$O"}],
   "usage": [$(rec u1 '2026-11-28 09:00' '2026-11-28 10:00')]},
  {"name": "b2", "commune": "29019", "software": [{"name": "$O"}]},
  {"name": "g1", "commune": "29075", "software": [{"name": "$O"}]}
 ]}
JSON
FLEET_NOW=$TARGET /usr/bin/python3 tests/integration/fleet.py "$URL" \
	"$WORK/spec.json" "$WORK/fleet.json"
# fleet.py enrols the PCs now; they stand for PCs enrolled long ago (a
# period counts the machines that existed by its last day)
sdb "UPDATE agents SET enrolled = enrolled - 200 * 86400" >/dev/null
B1=$(json "j['b1']['agent_id']" <"$WORK/fleet.json")

say "the move"
ctl machines move "$B1" --commune 29075
expect_eq "b1's commune" "$(ctl --format json machines | json "[m['commune'] for m in j if m['hostname'] == 'b1']")" "['29075']"
# send EPOCH NOW RECORD...: b1's agent sends the records in a batch
send() {
	/usr/bin/python3 - "$URL" "$WORK/fleet.json" "$@" <<'PY'
import gzip, json, sys, urllib.request
url, state, epoch, now, rs = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3], int(sys.argv[4]), sys.argv[5:]
b1 = state["b1"]
recs = [{"seq": i + 1, "type": "usage", "time": now, "data": json.loads(r)} for i, r in enumerate(rs)]
body = gzip.compress(json.dumps({"v": 1, "agent_id": b1["agent_id"], "epoch": epoch,
                                 "batch_id": epoch, "records": recs}).encode())
req = urllib.request.Request(url + "/api/v1/batches", data=body, headers={
    "Authorization": "Bearer " + b1["token"], "Content-Type": "application/json",
    "Content-Encoding": "gzip"})
ans = json.load(urllib.request.urlopen(req, timeout=30))
assert ans["applied"] == len(rs), ans
PY
}
# The agent's backlog, sent after the move: 1 December and 2 December
# 08:00 (Brest's: the day of the move is the former commune's).
send cdcdcdcdcdcdcdcd "$(at '2026-12-02 12:00')" "$(rec u1 '2026-12-01 14:00' '2026-12-01 15:00')" \
	"$(rec u1 '2026-12-02 08:00' '2026-12-02 09:00')"
# Two days later, a use of 3 December: Guipavas's.
stop_server
start_server_at '2026-12-04 11:00:00'
send efefefefefefefef "$(at '2026-12-04 12:00')" "$(rec u1 '2026-12-03 10:00' '2026-12-03 11:00')"

# lic PERIOD...: [(commune, installed, used_machines, usage_seconds)], '*' first
lic() {
	ctl --format json licences --product ms-office-2019 "$@" |
		json "sorted((r['commune'], r['installed'], r['used_machines'], r['usage_seconds']) for r in j)"
}
say "installations by the commune of the period's last day, usage by its day"
expect_eq "November" "$(lic --month 2026-11)" "[('*', 3, 1, 3600), ('29019', 2, 1, 3600), ('29075', 1, 0, 0)]"
expect_eq "1 December" "$(lic --from 2026-12-01 --to 2026-12-01)" \
	"[('*', 3, 1, 3600), ('29019', 2, 1, 3600), ('29075', 1, 0, 0)]"
expect_eq "2 December, the day of the move" "$(lic --from 2026-12-02 --to 2026-12-02)" \
	"[('*', 3, 1, 3600), ('29019', 2, 1, 3600), ('29075', 1, 0, 0)]"
expect_eq "3 December" "$(lic --from 2026-12-03 --to 2026-12-03)" \
	"[('*', 3, 1, 3600), ('29019', 1, 0, 0), ('29075', 2, 1, 3600)]"
# December: b1 is Guipavas's at the end; its usage is Brest's on the 1st
# and 2nd, Guipavas's on the 3rd (the month's rollup has a row in each).
expect_eq "December" "$(lic --month 2026-12)" \
	"[('*', 3, 1, 10800), ('29019', 1, 1, 7200), ('29075', 2, 1, 3600)]"
expect_eq "the month's rollup" \
	"$(sdb "SELECT commune, seconds FROM usage_monthly WHERE agent_id = '$B1' ORDER BY month, commune" | tr '\n' ' ')" \
	"29019|3600 29019|7200 29075|3600 "

say "costs by installs: November 2 : 1, December 1 : 2"
ctl pools set duo --name Duo --members 29019,29075 --basis installs >/dev/null
ctl entitlements add --product ms-office-2019 --pool duo --metric device --quantity 3 \
	--total-cost 300 >/dev/null
st() { ctl --format json costs "$@" | json "[(s['commune'], s['measure'], s['total_eur']) for e in j for s in e['statements']]"; }
expect_eq "November" "$(st --month 2026-11)" "[('29019', 2, '200.00'), ('29075', 1, '100.00')]"
expect_eq "December" "$(st --month 2026-12)" "[('29019', 1, '100.00'), ('29075', 2, '200.00')]"

say "Brest's admin: November's figures, not b1"
TB=$(srv admin-token --commune 29019)
bctl() { MUTU_TOKEN=$TB "$B/mutuctl" --server "$URL" "$@"; }
expect_eq "November" \
	"$(bctl --format json licences --product ms-office-2019 --month 2026-11 | json "[(r['installed'], r['usage_seconds']) for r in j if r['commune'] == '29019']")" \
	"[(2, 3600)]"
expect_eq "its machines" "$(bctl --format json machines | json "sorted(m['hostname'] for m in j)")" "['b2']"
rc=0
bctl machines retire "$B1" >/dev/null 2>"$WORK/e" || rc=$?
expect_eq "retire b1" "$rc $(cat "$WORK/e")" "5 mutuctl: server answered 404: no such object"
expect_eq "the move in Brest's audit log" \
	"$(bctl --format json audit | json "len([a for a in j if a['detail'].endswith('/move')])")" 1
TG=$(srv admin-token --commune 29075)
expect_eq "and in Guipavas's" \
	"$(MUTU_TOKEN=$TG "$B/mutuctl" --server "$URL" --format json audit | json "len([a for a in j if a['detail'].endswith('/move')])")" 1

say "bad moves"
code() { # METHOD PATH BODY [TOKEN]
	curl -s -o "$WORK/err.json" -w '%{http_code}' -X "$1" -H "Authorization: Bearer ${4:-$TOKEN}" \
		-H 'Content-Type: application/json' -d "$3" "$URL$2"
}
expect_eq "unknown commune" "$(code POST "/api/v1/machines/$B1/move" '{"commune": "99999"}')" 400
grep -q "unknown commune" "$WORK/err.json" || fail "$(cat "$WORK/err.json")"
expect_eq "same commune" "$(code POST "/api/v1/machines/$B1/move" '{"commune": "29075"}')" 400
grep -q "in commune 29075 already" "$WORK/err.json" || fail "$(cat "$WORK/err.json")"
expect_eq "no commune" "$(code POST "/api/v1/machines/$B1/move" '{}')" 400
expect_eq "not an object" "$(code POST "/api/v1/machines/$B1/move" '[1]')" 400
expect_eq "a commune's admin" "$(code POST "/api/v1/machines/$B1/move" '{"commune": "29019"}' "$TG")" 403
expect_eq "unknown machine" \
	"$(code POST /api/v1/machines/00000000-0000-4000-8000-000000000000/move '{"commune": "29019"}')" 404
expect_eq "still one move" "$(sdb "SELECT count(*) FROM moves")" 1
echo "ok: moves"
