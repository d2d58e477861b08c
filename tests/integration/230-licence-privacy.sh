#!/bin/sh
# Privacy of the licence reports (issue 15; docs/LICENCES.md, "Privacy"),
# each figure worked out by hand below:
# - licences applies the "<3" rule as compliance and usage do: 1 or 2
#   users outside the viewer's own commune show as "<3";
# - differencing: Brest's admin, in the two-member pool "duo" (Brest +
#   Guipavas), gets nothing of Guipavas from which to subtract its own
#   share: pool figures are withheld (fewer than k = 3 other communes
#   contribute), and every answer Brest's admin gets stays the same, to
#   the byte, when Guipavas's data changes; costs give Brest its own
#   statement only, over whole calendar months (a one-day window: none);
# - pool partners see only what the pool's entitlements cover: neither
#   Guipavas's private product (AutoCAD LT) nor its private Office
#   contract shows in Brest's pool rows;
# - a pool of four members: Brest's admin sees the pool's figures, three
#   other communes contributing.
. tests/integration/lib.sh
server_conf 'enrol_per_minute = 0' 'requests_per_minute = 0'
start_server
bootstrap
srv commune add 29189 Plougastel >/dev/null
srv commune add 29232 Quimper >/dev/null
SECRET_29189=$(srv enrol-secret 29189)
SECRET_29232=$(srv enrol-secret 29232)
TOKEN_B=$(srv admin-token --commune 29019)
OFFICE="Microsoft Office Professional Plus 2019"
ACAD="AutoCAD LT 2022"
# Usage 40 days ago: inside every window below (60 and 400 days), and in
# a calendar month that lies wholly inside a 400-day window.
cat >"$WORK/spec.json" <<JSON
{"secrets": {"29019": "$SECRET_29019", "29075": "$SECRET_29075", "29189": "$SECRET_29189"},
 "machines": [
  {"name": "b1", "commune": "29019", "software": [{"name": "$OFFICE"}],
   "usage": [["$OFFICE", "C:/o.exe", "ub1", 40, 9, 2], ["$OFFICE", "C:/o.exe", "ub2", 40, 14, 1]]},
  {"name": "g1", "commune": "29075", "software": [{"name": "$OFFICE"}, {"name": "$ACAD"}],
   "usage": [["$OFFICE", "C:/o.exe", "ug1", 40, 9, 5], ["$ACAD", "C:/acad.exe", "ug1", 40, 15, 2]]},
  {"name": "p1", "commune": "29189", "software": [{"name": "$OFFICE"}],
   "usage": [["$OFFICE", "C:/o.exe", "up1", 40, 9, 1]]}
 ]}
JSON
/usr/bin/python3 tests/integration/fleet.py "$URL" "$WORK/spec.json" "$WORK/fleet.json"
ctl pools set duo --name Duo --members 29019,29075 --fixed-share 0.25 --basis hours >/dev/null
ctl entitlements add --product ms-office-2019 --pool duo --metric device --quantity 3 \
	--total-cost 1000.01 --contract DUO-OFFICE >/dev/null
ctl entitlements add --product ms-office-2019 --commune 29075 --metric device --quantity 1 \
	--unit-cost 300 --contract PRIVATE-G-OFFICE >/dev/null
ctl entitlements add --product autocad-lt --commune 29075 --metric device --quantity 1 \
	--unit-cost 900 --contract PRIVATE-G-ACAD >/dev/null
say "3 machines: Office on b1 (Brest: ub1 2 h, ub2 1 h), g1 (Guipavas: ug1 5 h, AutoCAD 2 h), p1 (Plougastel: up1 1 h)"

api() { curl -s -H "Authorization: Bearer $1" "$URL/api/v1/$2"; }

say "licences: the <3 rule, as in compliance and usage"
api "$TOKEN" "licences?days=60" >"$WORK/l.json"
lic() { json "[r['used_users'] for r in j['$1'] if r['commune']=='$2' and r['product']=='ms-office-2019'][0]" <"$WORK/l.json"; }
# The intercommunal admin has no commune of its own: 2, 1 and 1 users
# are all small groups; the total, 4, is not.
expect_eq "Brest's 2 users (intercommunal view)" "$(lic rows 29019)" "<3"
expect_eq "Guipavas's 1 user" "$(lic rows 29075)" "<3"
expect_eq "Plougastel's 1 user" "$(lic rows 29189)" "<3"
expect_eq "all communes: 4 users" "$(lic totals '*')" 4
api "$TOKEN_B" "licences?days=60" >"$WORK/l.json"
expect_eq "Brest's admin sees its own 2 users" "$(lic rows 29019)" 2
expect_eq "and its own total" "$(lic totals '*')" 2
expect_eq "the same in usage" \
	"$(api "$TOKEN" "reports/usage?days=60&product=ms-office-2019" | json '[r["used_users"] for r in j if r["commune"]=="29019"]')" "['<3']"

say "compliance: the two-member pool as Brest's admin"
api "$TOKEN_B" "reports/compliance?days=60" >"$WORK/cb.json"
api "$TOKEN" "reports/compliance?days=60" >"$WORK/ci.json"
# row LEVEL HOLDER FIELD FILE: the field of Office's rows at that holder
row() { json "[r.get('$3') for r in j if r['level']=='$1' and r['holder']=='$2' and r['product']=='ms-office-2019']" <"$4"; }
# Intercommunal view of the pool: installed 1 + 1, owned 3 (pool) + 1
# (Guipavas's own), hours 3 + 5 = 8 h = 28,800 s.
expect_eq "pool installed (intercommunal)" "$(row pool duo installed "$WORK/ci.json")" "[2]"
expect_eq "pool owned (intercommunal: pool + members')" "$(row pool duo owned "$WORK/ci.json")" "[4]"
expect_eq "pool seconds (intercommunal)" "$(row pool duo usage_seconds "$WORK/ci.json")" "[28800]"
# Brest's admin: owned 3 (the pool's contract only), its own share
# (1 machine, 3 h = 10,800 s, 2 users), and no pool figure: only one
# other commune contributes, fewer than k = 3.
expect_eq "pool owned (Brest: the pool's contract only)" "$(row pool duo owned "$WORK/cb.json")" "[3]"
expect_eq "own installed" "$(row pool duo own_installed "$WORK/cb.json")" "[1]"
expect_eq "own seconds" "$(row pool duo own_usage_seconds "$WORK/cb.json")" "[10800]"
expect_eq "own users" "$(row pool duo own_used_users "$WORK/cb.json")" "[2]"
for f in installed used_machines used_users usage_seconds usage_hours peak_concurrent need; do
	expect_eq "pool $f withheld" "$(row pool duo $f "$WORK/cb.json")" "[None]"
done
expect_eq "pool status withheld" "$(row pool duo status "$WORK/cb.json")" "['withheld']"
expect_eq "no pool row for Guipavas's private AutoCAD" \
	"$(json '[r for r in j if "autocad" in r["product"]]' <"$WORK/cb.json")" "[]"
grep -q "autocad\|AutoCAD\|PRIVATE\|18000\|28800\|29075" "$WORK/cb.json" &&
	fail "Brest's compliance names something of Guipavas: $(cat "$WORK/cb.json")"
echo "ok: no figure, product or contract of Guipavas in Brest's compliance"

say "costs: Brest's own statement, over whole months"
# The pool's invoice 100,001 cents, fixed 0.25: 25,000.25 -> 25,000, 12,500
# each; usage 75,001 by hours 10,800 : 18,000 -> 28,125.375 and
# 46,875.625: floors 75,000, the cent left to Guipavas (.625): Brest
# 12,500 + 28,125 = 40,625, Guipavas 12,500 + 46,876 = 59,376. 400 days
# hold day -40's whole month: the same figures whole months or not.
api "$TOKEN" "reports/costs?days=400" >"$WORK/k.json"
expect_eq "intercommunal: both statements" \
	"$(json '[(s["commune"], s["total_cents"]) for s in j[0]["statements"]]' <"$WORK/k.json")" \
	"[('29019', 40625), ('29075', 59376)]"
api "$TOKEN_B" "reports/costs?days=400" >"$WORK/kb.json"
expect_eq "Brest: its own statement only" \
	"$(json '[(s["commune"], s["measure"], s["fixed_cents"], s["total_cents"], s["total_eur"]) for s in j[0]["statements"]]' <"$WORK/kb.json")" \
	"[('29019', 10800, 12500, 40625, '406.25')]"
expect_eq "whole months" "$(json 'j[0]["whole_months"]' <"$WORK/kb.json")" True
# A one-day window holds no whole month: no statement for a member, so
# no day-by-day ratio.
expect_eq "one day, intercommunal: 2 statements" \
	"$(api "$TOKEN" "reports/costs?days=1" | json 'len(j[0]["statements"])')" 2
expect_eq "one day, Brest: none" \
	"$(api "$TOKEN_B" "reports/costs?days=1" | json '(len(j[0]["statements"]), j[0]["billed_cents"])')" "(0, 0)"

say "differencing: Guipavas's data changes, Brest's answers do not"
snap() {
	for ep in "licences?days=60" "reports/compliance?days=60" "reports/usage?days=60" \
		"reports/reclaim?days=60" "reports/costs?days=1" "reports/compliance?days=60&product=ms-office-2019"; do
		api "$TOKEN_B" "$ep"
		echo
	done
}
snap >"$WORK/before"
cat >"$WORK/more.json" <<JSON
{"secrets": {"29075": "$SECRET_29075"},
 "machines": [
  {"name": "g2", "commune": "29075", "software": [{"name": "$OFFICE"}],
   "usage": [["$OFFICE", "C:/o.exe", "ug2", 40, 8, 7], ["$OFFICE", "C:/o.exe", "ug3", 39, 8, 1]]},
  {"name": "g3", "commune": "29075", "software": [{"name": "$OFFICE"}],
   "usage": [["$OFFICE", "C:/o.exe", "ug4", 40, 8, 3]]}
 ]}
JSON
/usr/bin/python3 tests/integration/fleet.py "$URL" "$WORK/more.json" "$WORK/more-state.json"
expect_eq "the pool changed (intercommunal view: 4 machines)" \
	"$(api "$TOKEN" "reports/compliance?days=60" >"$WORK/ci2.json"; row pool duo installed "$WORK/ci2.json")" "[4]"
snap >"$WORK/after"
cmp -s "$WORK/before" "$WORK/after" || { diff "$WORK/before" "$WORK/after" | head; fail "Brest's answers changed"; }
echo "ok: $(wc -l <"$WORK/after") answers of Brest's admin unchanged to the byte"

say "a pool of four: three other communes contribute, its figures are shown"
cat >"$WORK/q.json" <<JSON
{"secrets": {"29232": "$SECRET_29232"},
 "machines": [{"name": "q1", "commune": "29232", "software": [{"name": "$OFFICE"}],
   "usage": [["$OFFICE", "C:/o.exe", "uq1", 40, 9, 1]]}]}
JSON
/usr/bin/python3 tests/integration/fleet.py "$URL" "$WORK/q.json" "$WORK/q-state.json"
ctl pools set quad --name Quad --members 29019,29075,29189,29232 --basis installs >/dev/null
ctl entitlements add --product ms-office-2019 --pool quad --metric device --quantity 8 \
	--total-cost 400 --contract QUAD >/dev/null
api "$TOKEN_B" "reports/compliance?days=60" >"$WORK/cq.json"
# installed: Brest 1 + Guipavas 3 + Plougastel 1 + Quimper 1 = 6; need 6,
# owned 8 (the pool's): surplus; users 2 + 4 + 1 + 1 = 8.
expect_eq "quad installed" "$(row pool quad installed "$WORK/cq.json")" "[6]"
expect_eq "quad need and status" \
	"$(json '[(r["owned"], r["need"], r["status"], r["used_users"]) for r in j if r["holder"]=="quad"]' <"$WORK/cq.json")" \
	"[(8, 6, 'surplus', 8)]"
expect_eq "duo still withheld" "$(row pool duo installed "$WORK/cq.json")" "[None]"
