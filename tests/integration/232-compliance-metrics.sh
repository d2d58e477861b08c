#!/bin/sh
# Compliance per metric and the reports' formats (issue 15; docs/
# LICENCES.md, "compliance", "Formats"), each figure worked out by hand:
# - each metric is its own requirement: a pool's concurrent seat and
#   Brest's device licences of AutoCAD LT are two rows, never "owned 3";
# - a commune covered by a pool's entitlements is "pooled", not
#   "over-deployed" (the pool row gives the verdict);
# - user_ids = none (no user ids in the usage): a user-metric row says
#   the users are unknown and counts the machines instead;
# - hours: usage_seconds / 3600 rounded half up to two decimals, the same
#   in licences, compliance and usage, tables and CSV (4,050 s = 1.125 h
#   -> 1.13, where printf's binary rounding gave 1.12);
# - --limit trims rows, never totals.
. tests/integration/lib.sh
server_conf 'enrol_per_minute = 0' 'requests_per_minute = 0'
start_server
bootstrap
srv commune add 29189 Plougastel >/dev/null
SECRET_29189=$(srv enrol-secret 29189)
A="AutoCAD LT 2022" O="Microsoft Office Professional Plus 2019"
# Brest: b1 runs AutoCAD 09:00-11:00 (u1) and Office 1 h (u1) + 450 s
# (u2); b2 has AutoCAD, unused. Guipavas (user_ids = none: no user ids):
# g1 runs AutoCAD 10:00-10:30 the same day, and Office; g2 Office.
# Plougastel: p1 has AutoCAD.
cat >"$WORK/spec.json" <<JSON
{"secrets": {"29019": "$SECRET_29019", "29075": "$SECRET_29075", "29189": "$SECRET_29189"},
 "machines": [
  {"name": "b1", "commune": "29019", "software": [{"name": "$A"}, {"name": "$O"}],
   "usage": [["$A", "C:/acad.exe", "u1", 2, 9, 2], ["$O", "C:/o.exe", "u1", 2, 12, 1],
             ["$O", "C:/o.exe", "u2", 2, 14, 0.125]]},
  {"name": "b2", "commune": "29019", "software": [{"name": "$A"}]},
  {"name": "g1", "commune": "29075", "software": [{"name": "$A"}, {"name": "$O"}],
   "usage": [["$A", "C:/acad.exe", "", 2, 10, 0.5], ["$O", "C:/o.exe", "", 3, 9, 1]]},
  {"name": "g2", "commune": "29075", "software": [{"name": "$O"}],
   "usage": [["$O", "C:/o.exe", "", 3, 9, 2]]},
  {"name": "p1", "commune": "29189", "software": [{"name": "$A"}]}
 ]}
JSON
/usr/bin/python3 tests/integration/fleet.py "$URL" "$WORK/spec.json" "$WORK/fleet.json"
ctl pools set duo --name Duo --members 29019,29075 --basis hours >/dev/null
ctl entitlements add --product autocad-lt --pool duo --metric concurrent --quantity 1 \
	--total-cost 1500 >/dev/null
ctl entitlements add --product autocad-lt --commune 29019 --metric device --quantity 2 \
	--unit-cost 400 >/dev/null
ctl entitlements add --product ms-office-2019 --commune 29019 --metric user --quantity 3 \
	--unit-cost 100 >/dev/null
ctl entitlements add --product ms-office-2019 --commune 29075 --metric user --quantity 1 \
	--unit-cost 100 >/dev/null

ctl --format json compliance >"$WORK/c.json"
ctl compliance
# rows PRODUCT LEVEL HOLDER: (metric, owned, need, status) of each row
rows() { json "[(r['metric'], r['owned'], r['need'], r['status']) for r in j if r['product']=='$1' and r['level']=='$2' and r['holder']=='$3']" <"$WORK/c.json"; }
field() { json "[r.get('$5') for r in j if r['product']=='$1' and r['level']=='$2' and r['holder']=='$3' and r['metric']=='$4']" <"$WORK/c.json"; }

say "AutoCAD LT: a concurrent seat (pool) and 2 device licences (Brest), never added up"
# Pool duo: concurrent owned 1, need the peak: b1 and g1 at once = 2;
# device owned 2 (Brest's), need the installations b1, b2, g1 = 3.
expect_eq "pool duo" "$(rows autocad-lt pool duo)" \
	"[('concurrent', 1, 2, 'over-deployed'), ('device', 2, 3, 'over-deployed')]"
# All: concurrent 1 for a peak of 2; device 2 for b1, b2, g1, p1 = 4.
expect_eq "all" "$(rows autocad-lt all '*')" \
	"[('concurrent', 1, 2, 'over-deployed'), ('device', 2, 4, 'over-deployed')]"
# Brest: device 2 for 2 installations; concurrent: none of its own, its
# peak 1 covered by the pool's seat.
expect_eq "Brest" "$(rows autocad-lt commune 29019)" \
	"[('concurrent', 0, 1, 'pooled'), ('device', 2, 2, 'compliant')]"
expect_eq "Brest's concurrent cover" "$(field autocad-lt commune 29019 concurrent pool),$(field autocad-lt commune 29019 concurrent pool_owned)" \
	"['duo'],[1]"
# Guipavas: covered only by the pool: pooled, not over-deployed.
expect_eq "Guipavas" "$(rows autocad-lt commune 29075)" "[('concurrent', 0, 1, 'pooled')]"
# Plougastel: no entitlement, no pool: over-deployed.
expect_eq "Plougastel" "$(rows autocad-lt commune 29189)" "[('device', 0, 1, 'over-deployed')]"

say "Office by user: Guipavas sends no user ids"
# Brest: u1 and u2 = 2 users for 3 licences. Guipavas: no user id, so its
# 2 machines count: need 2 for 1 licence. Pool and all: 2 users + 2
# machines = 4 for 3 + 1.
expect_eq "Brest" "$(rows ms-office-2019 commune 29019)" "[('user', 3, 2, 'surplus')]"
expect_eq "Guipavas" "$(rows ms-office-2019 commune 29075)" "[('user', 1, 2, 'over-deployed')]"
expect_eq "Guipavas users unknown" "$(field ms-office-2019 commune 29075 user used_users)" "['unknown']"
expect_eq "Guipavas machines without user ids" \
	"$(field ms-office-2019 commune 29075 user machines_without_user_ids)" "[2]"
expect_eq "pool" "$(rows ms-office-2019 pool duo)" "[('user', 4, 4, 'compliant')]"
expect_eq "all" "$(rows ms-office-2019 all '*')" "[('user', 4, 4, 'compliant')]"

say "hours: one rounding, every report"
# Brest's Office: 3,600 + 450 = 4,050 s = 1.125 h -> 1.13.
expect_eq "compliance JSON seconds" "$(field ms-office-2019 commune 29019 user usage_seconds)" "[4050]"
ctl --format csv compliance --product ms-office-2019 --commune 29019 | tr -d '\r' >"$WORK/c.csv"
expect_eq "compliance CSV usage_hours" \
	"$(/usr/bin/python3 -c "import csv,sys; r=list(csv.DictReader(open(sys.argv[1]))); print([x['usage_hours'] for x in r if x['level']=='commune'])" "$WORK/c.csv")" \
	"['1.13']"
expect_eq "compliance table" "$(ctl compliance --product ms-office-2019 --commune 29019 | grep -c ' 1\.13 ')" 1
expect_eq "licences table" "$(ctl licences --product ms-office-2019 --commune 29019 | grep -c ' 1\.13 ')" 1
expect_eq "licences CSV" "$(ctl --format csv licences --product ms-office-2019 --commune 29019 | grep -c ',1\.13,')" 1
expect_eq "usage table" "$(ctl usage --product ms-office-2019 --commune 29019 | grep -c ' 1\.13 ')" 1
expect_eq "usage CSV" "$(ctl --format csv usage --product ms-office-2019 --commune 29019 | grep -c ',1\.13,')" 1

say "--limit: rows trimmed, totals over every row"
# licences, most hours first: --limit 1 keeps one row, Guipavas's Office
# (3 h, 2 machines), and the totals of both products: Office 4.125 h on
# 3 machines, AutoCAD 2.5 h on 4.
ctl --format json licences --limit 1 >"$WORK/l.json"
expect_eq "one row, then every total" \
	"$(json '[(r["commune"] == "*", r["product"], r["installed"]) for r in j]' <"$WORK/l.json")" \
	"[(False, 'ms-office-2019', 2), (True, 'ms-office-2019', 3), (True, 'autocad-lt', 4)]"
expect_eq "compliance --limit 2" "$(ctl --format csv compliance --limit 2 | tr -d '\r' | tail -n +2 | wc -l)" 2
