#!/bin/sh
# Machine lifecycle (issue 15; docs/LICENCES.md, "Lifecycle"), each figure
# worked out by hand below:
# - revoking an agent and retiring a machine (mutuctl machines retire)
#   take the PC out of every count of installations from that day:
#   licences, compliance, reclaim and the costs of a pool shared by
#   installs; its usage recorded before still counts in its period, and
#   a period that ended before that day keeps counting it;
# - the machines listing says each machine's state: active, silent (with
#   the days since its last contact), revoked, retired; --state filters;
# - a retired machine's token answers 401 and it cannot enrol again;
# - a commune's admin retires its own commune's machines only (another
#   commune's: 404), a read-only token none (403); the retirement is in
#   the audit log, under the machine's commune.
. tests/integration/lib.sh
server_conf 'enrol_per_minute = 0' 'requests_per_minute = 0'
start_server
bootstrap
TOKEN_B=$(srv admin-token --commune 29019)
TOKEN_G=$(srv admin-token --commune 29075)
TOKEN_RO=$(srv admin-token --read-only)
O="Microsoft Office Professional Plus 2019" A="Adobe Acrobat Pro 2020"
# Brest: b1 ran Office 2 h (u1) 3 days ago, b2 1 h (u2) 3 days ago, b3
# 3 h (u3) 5 days ago; b4 has it, unused. Guipavas: g1 ran it 1 h (u4) 2
# days ago. Every machine also has Acrobat Pro, unused.
cat >"$WORK/spec.json" <<JSON
{"secrets": {"29019": "$SECRET_29019", "29075": "$SECRET_29075"},
 "machines": [
  {"name": "b1", "commune": "29019", "software": [{"name": "$O"}, {"name": "$A"}],
   "usage": [["$O", "C:/o.exe", "u1", 3, 9, 2]]},
  {"name": "b2", "commune": "29019", "software": [{"name": "$O"}, {"name": "$A"}],
   "usage": [["$O", "C:/o.exe", "u2", 3, 14, 1]]},
  {"name": "b3", "commune": "29019", "software": [{"name": "$O"}, {"name": "$A"}],
   "usage": [["$O", "C:/o.exe", "u3", 5, 9, 3]]},
  {"name": "b4", "commune": "29019", "software": [{"name": "$O"}, {"name": "$A"}]},
  {"name": "g1", "commune": "29075", "software": [{"name": "$O"}, {"name": "$A"}],
   "usage": [["$O", "C:/o.exe", "u4", 2, 9, 1]]}
 ]}
JSON
/usr/bin/python3 tests/integration/fleet.py "$URL" "$WORK/spec.json" "$WORK/fleet.json"
id_of() { json "j['$1']['agent_id']" <"$WORK/fleet.json"; }
tok_of() { json "j['$1']['token']" <"$WORK/fleet.json"; }
B1=$(id_of b1) B2=$(id_of b2) B3=$(id_of b3) G1=$(id_of g1)
# Pool duo = Brest + Guipavas, shared by installs (no fixed part); Office:
# Brest's own 4 devices at 100 EUR, the pool's 1 device for 1,000 EUR.
ctl pools set duo --name Duo --members 29019,29075 --basis installs >/dev/null
ctl entitlements add --product ms-office-2019 --commune 29019 --metric device \
	--quantity 4 --unit-cost 100 >/dev/null
ctl entitlements add --product ms-office-2019 --pool duo --metric device \
	--quantity 1 --total-cost 1000 >/dev/null
# g1 last reported 12 days and an hour ago: silent.
sdb "UPDATE agents SET last_seen = $(($(date +%s) - 12 * 86400 - 3600)) WHERE agent_id = '$G1'"

api() { curl -s -H "Authorization: Bearer $1" "$URL/api/v1/$2"; }
# status TOKEN METHOD PATH: the HTTP status of an admin request
status() { curl -s -o "$WORK/out" -w '%{http_code}' -X "$2" -H "Authorization: Bearer $1" "$URL/api/v1/$3"; }
# batch TOKEN: the status of an agent's (empty) batch: 401 when its token
# no longer works, 400 (a bad body) while it does
batch() {
	curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" \
		-H 'Content-Type: application/json' --data '{}' "$URL/api/v1/batches"
}
# office FILE LEVEL: Office's (commune, installed, used_machines,
# usage_seconds) in the licences answer's rows or totals
office() { json "[(r['commune'], r['installed'], r['used_machines'], r['usage_seconds']) for r in j['$2'] if r['product']=='ms-office-2019']" <"$1"; }
# compliance FILE: Office's (level, holder, owned, need, status) rows
compliance() { json "[(r['level'], r['holder'], r['owned'], r['need'], r['status']) for r in j if r['product']=='ms-office-2019']" <"$1"; }
# reclaim FILE: Office's (host, saving_cents) rows, and the total
reclaim() { json "([(r['hostname'], r.get('saving_cents')) for r in j['rows'] if r['product']=='ms-office-2019'], j['saving_cents'])" <"$1"; }
# measures FILE PRODUCT: the pool's statements (commune, measure, total_cents)
measures() { json "[[(s['commune'], s['measure'], s['total_cents']) for s in e['statements']] for e in j if e['product']=='$2']" <"$1"; }

say "before: 5 machines with Office, 4 of them used"
api "$TOKEN" "licences?$(recent_q 30)" >"$WORK/l0.json"
# Brest: b1..b4 installed; b1, b2, b3 used 2 + 1 + 3 h = 21,600 s.
# Guipavas: g1, 1 h. All: 5 installed, 4 used, 25,200 s.
expect_eq "licences, per commune" "$(office "$WORK/l0.json" rows)" \
	"[('29019', 4, 3, 21600), ('29075', 1, 1, 3600)]"
expect_eq "licences, all communes" "$(office "$WORK/l0.json" totals)" "[('*', 5, 4, 25200)]"
api "$TOKEN" "reports/compliance?$(recent_q 30)" >"$WORK/c0.json"
# Brest needs 4 for its own 4; Guipavas 1, pooled; the pool and all: 5
# installed for 4 + 1 owned.
expect_eq "compliance" "$(compliance "$WORK/c0.json")" \
	"[('commune', '29019', 4, 4, 'compliant'), ('commune', '29075', 0, 1, 'pooled'), ('pool', 'duo', 5, 5, 'compliant'), ('all', '*', 5, 5, 'compliant')]"
# Not used within a day (coverage 0: every agent counts as reporting):
# the 5 installations; Brest's save 100 EUR each (its own contract), g1
# the pool's 1,000 EUR for 1 unit: 4 x 10,000 + 100,000 cents.
api "$TOKEN" "reports/reclaim?$(recent_q 1)&coverage=0" >"$WORK/r0.json"
expect_eq "reclaim" "$(reclaim "$WORK/r0.json")" \
	"([('b1', 10000), ('b2', 10000), ('b3', 10000), ('b4', 10000), ('g1', 100000)], 140000)"
# The pool's invoice by installs, 4 : 1: 80,000 and 20,000 cents.
api "$TOKEN" "reports/costs?$(recent_q 60)" >"$WORK/k0.json"
expect_eq "costs by installs" "$(measures "$WORK/k0.json" ms-office-2019)" \
	"[[('29019', 4, 80000), ('29075', 1, 20000)]]"
expect_eq "b3's token works" "$(batch "$(tok_of b3)")" 400

say "lifecycle: the intercommunal admin revokes b2, Brest's admin retires b3"
ctl agents revoke "$B2" >/dev/null
expect_eq "Guipavas's admin may not retire Brest's b1" "$(status "$TOKEN_G" POST "machines/$B1/retire")" 404
expect_eq "Brest's admin may not retire Guipavas's g1" "$(status "$TOKEN_B" POST "machines/$G1/retire")" 404
expect_eq "a read-only token may not retire" "$(status "$TOKEN_RO" POST "machines/$B1/retire")" 403
expect_eq "an unknown machine" "$(status "$TOKEN" POST "machines/00000000-0000-4000-8000-000000000000/retire")" 404
expect_eq "GET on retire" "$(status "$TOKEN" GET "machines/$B3/retire")" 405
MUTU_TOKEN=$TOKEN_B "$B/mutuctl" --server "$URL" machines retire "$B3" | tee "$WORK/retire.out"
grep -q "^machine $B3 (b3, commune 29019) retired on $(date -u +%F)" "$WORK/retire.out" ||
	fail "retire said: $(cat "$WORK/retire.out")"
expect_eq "retiring again keeps the date" "$(status "$TOKEN" POST "machines/$B3/retire")" 200
TODAY=$(date -u +%F)

say "machines: each one's state"
ctl --format json machines >"$WORK/m.json"
expect_eq "states" \
	"$(json "[(r['hostname'], r['state'], r['silent_days']) for r in j]" <"$WORK/m.json")" \
	"[('b1', 'active', None), ('b2', 'revoked', None), ('b3', 'retired', None), ('b4', 'active', None), ('g1', 'silent', 12)]"
expect_eq "dates" \
	"$(json "[(r['hostname'], (r['revoked_at'] or '')[:10], (r['retired_at'] or '')[:10]) for r in j if r['hostname'] in ('b2', 'b3')]" <"$WORK/m.json")" \
	"[('b2', '$TODAY', ''), ('b3', '', '$TODAY')]"
ctl machines | tee "$WORK/m.txt"
expect_eq "table: g1 silent 12 d" "$(grep -c '^[^ ]*  g1 .* silent 12 d ' "$WORK/m.txt")" 1
expect_eq "table: b3 retired" "$(grep -c '^[^ ]*  b3 .* retired ' "$WORK/m.txt")" 1
expect_eq "CSV: state and days apart" \
	"$(ctl --format csv machines | tr -d '\r' | /usr/bin/python3 -c "import csv,sys; print([(r['hostname'], r['state'], r['silent_days']) for r in csv.DictReader(sys.stdin)])")" \
	"[('b1', 'active', ''), ('b2', 'revoked', ''), ('b3', 'retired', ''), ('b4', 'active', ''), ('g1', 'silent', '12')]"
expect_eq "--state retired" "$(ctl --format json machines --state retired | json '[r["hostname"] for r in j]')" "['b3']"
expect_eq "--state silent" "$(ctl --format json machines --state silent | json '[r["hostname"] for r in j]')" "['g1']"
expect_eq "state=gone" "$(status "$TOKEN" GET "machines?state=gone")" 400

say "the retired machine is out"
expect_eq "b3's token" "$(batch "$(tok_of b3)")" 401
expect_eq "b2's token" "$(batch "$(tok_of b2)")" 401
expect_eq "b1's token still works" "$(batch "$(tok_of b1)")" 400
expect_eq "b3 may not enrol again" \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $SECRET_29019" \
		-H 'Content-Type: application/json' --data "{\"agent_id\":\"$B3\",\"hostname\":\"b3\"}" \
		"$URL/api/v1/enrol")" 401

say "after: installed drops by 2 from today, past usage still counts"
api "$TOKEN" "licences?$(recent_q 30)" >"$WORK/l1.json"
# Brest: b1 and b4 installed (b2 revoked, b3 retired); used still b1, b2,
# b3, 21,600 s. All: 3 installed, 4 used, 25,200 s.
expect_eq "licences, per commune" "$(office "$WORK/l1.json" rows)" \
	"[('29019', 2, 3, 21600), ('29075', 1, 1, 3600)]"
expect_eq "licences, all communes" "$(office "$WORK/l1.json" totals)" "[('*', 3, 4, 25200)]"
api "$TOKEN" "reports/compliance?$(recent_q 30)" >"$WORK/c1.json"
# Brest needs 2 for its 4: surplus; the pool and all, 3 for 5.
expect_eq "compliance" "$(compliance "$WORK/c1.json")" \
	"[('commune', '29019', 4, 2, 'surplus'), ('commune', '29075', 0, 1, 'pooled'), ('pool', 'duo', 5, 3, 'surplus'), ('all', '*', 5, 3, 'surplus')]"
api "$TOKEN" "reports/reclaim?$(recent_q 1)&coverage=0" >"$WORK/r1.json"
# b2 and b3 have nothing left to reclaim: 2 x 10,000 + 100,000.
expect_eq "reclaim" "$(reclaim "$WORK/r1.json")" \
	"([('b1', 10000), ('b4', 10000), ('g1', 100000)], 120000)"
api "$TOKEN" "reports/costs?$(recent_q 60)" >"$WORK/k1.json"
# By installs 2 : 1: 66,666.67 and 33,333.33, the spare cent to Brest.
expect_eq "costs by installs" "$(measures "$WORK/k1.json" ms-office-2019)" \
	"[[('29019', 2, 66667), ('29075', 1, 33333)]]"
expect_eq "Brest's admin sees the same" \
	"$(api "$TOKEN_B" "licences?$(recent_q 30)" | json "[(r['installed'], r['used_machines'], r['usage_seconds']) for r in j['rows'] if r['product']=='ms-office-2019']")" \
	"[(2, 3, 21600)]"

say "a period that ended before today keeps counting them"
# A pooled Acrobat contract in force from 40 to 10 days ago: on its last
# day b1..b4 were all in service: 4 : 1 of 500 EUR, 40,000 and 10,000.
day() { date -u -d "@$(($(date +%s) - $1 * 86400))" +%F; }
ctl entitlements add --product adobe-acrobat-pro --pool duo --metric device \
	--quantity 5 --total-cost 500 --start "$(day 40)" --end "$(day 10)" >/dev/null
api "$TOKEN" "reports/costs?$(recent_q 60)" >"$WORK/k2.json"
expect_eq "Acrobat, by installs 10 days ago" "$(measures "$WORK/k2.json" adobe-acrobat-pro)" \
	"[[('29019', 4, 40000), ('29075', 1, 10000)]]"

say "audit log"
ctl --format json audit >"$WORK/audit.json"
expect_eq "the retirement, under Brest" \
	"$(json "[(a['action'], a['commune'], a['actor'] != 0) for a in j if a['detail'] == 'POST /api/v1/machines/$B3/retire']" <"$WORK/audit.json")" \
	"[('change', '29019', True), ('change', '29019', True)]"
expect_eq "the revocation, under Brest" \
	"$(json "[(a['action'], a['commune']) for a in j if a['detail'] == 'DELETE /api/v1/agents/$B2']" <"$WORK/audit.json")" \
	"[('change', '29019')]"
expect_eq "Brest's admin sees both" \
	"$(MUTU_TOKEN=$TOKEN_B "$B/mutuctl" --server "$URL" --format json audit | json "len([a for a in j if a['detail'] in ('POST /api/v1/machines/$B3/retire', 'DELETE /api/v1/agents/$B2')])")" 3
