#!/bin/sh
# True concurrency and the union of hours (issue 15; docs/LICENCES.md,
# "Concurrency and hours"), each figure worked out by hand. On day D
# (three days ago, Paris time):
# - Office, Brest: b1 runs Word 09:00-11:30 and Excel 09:30-10:30 for u1
#   (one person, one product: 2.5 h, not 3.5 h); b2 runs it 13:00-14:00
#   for u2. Hours 9,000 + 3,600 = 12,600 s; the two machines never ran it
#   at the same time: peak 1 (two "machines that day").
# - AutoCAD LT: Brest's b3 is shared by u3 09:00-10:00 and u4
#   09:30-10:30 (one machine: it counts once), b4 runs it 10:00-11:00 (u5):
#   Brest's peak 2 (10:00-10:30), hours 3 x 3,600 = 10,800 s. Guipavas
#   sends no user ids: g1 08:00-09:00 and g2 09:00-10:15 follow each
#   other (an end and a start at the same instant are not together): peak
#   1; hours per machine 3,600 + 4,500 = 8,100 s. The pool and all: b3,
#   b4 and g2 at 10:00-10:15: peak 3.
# - A pooled concurrent contract of AutoCAD shared by peak (1,000.00 €,
#   no fixed share) is split 2 : 1 (666.67 / 333.33 €), where machines per
#   day (2 and 2) split it in halves.
# - peak_users, the most people at once (a machine without user ids is
#   one): Office 1, AutoCAD Brest 2 (u3 and u4 on b3), Guipavas 1, all 3;
# - a record sent twice (13 h, twice: the day's sum is capped at 24 h)
#   hides no other interval: x1 00:00-13:00 (twice) and 13:00-14:00 for
#   v5, x2 13:30-13:45 for v6, on day E (two days before D): 14 h +
#   0.25 h = 51,300 s, peak 2;
# - a day total (usage_day) whose first and last use are one instant
#   still counts its 600 s;
# - LibreOffice over midnight: b1 23:00 on D to 01:00 on D + 1 (u1), b2
#   00:30-00:45 on D + 1 (u2): peak 2 over D..D+1, 1 over D; hours 3,600 s
#   on D, 8,100 s over both days.
. tests/integration/lib.sh
# privacy_k = 1: the small user counts below are shown, not "<3"
server_conf 'enrol_per_minute = 0' 'requests_per_minute = 0' \
	'admin_requests_per_second = 0' 'privacy_k = 1'
start_server
bootstrap
D=$(paris_day '-3 days')
D1=$(paris_day "$D + 1 day")
E=$(paris_day "$D - 2 days")
O="Microsoft Office Professional Plus 2019" A="AutoCAD LT 2022"
L="libreoffice-writer"
rec() { # product exe user from to (Paris times)
	printf '{"product": "%s", "exe": "%s", "user": "%s", "start": %s, "end": %s}' \
		"$1" "$2" "$3" "$(at "$4")" "$(at "$5")"
}
W='C:/Program Files/Microsoft Office/root/Office16/WINWORD.EXE'
X='C:/Program Files/Microsoft Office/root/Office16/EXCEL.EXE'
C='C:/Program Files/Autodesk/AutoCAD LT 2022/acadlt.exe'
cat >"$WORK/spec.json" <<JSON
{"secrets": {"29019": "$SECRET_29019", "29075": "$SECRET_29075"},
 "machines": [
  {"name": "b1", "commune": "29019", "software": [{"name": "$O"}, {"name": "$L"}],
   "usage": [$(rec "$O" "$W" u1 "$D 09:00" "$D 11:30"),
             $(rec "$O" "$X" u1 "$D 09:30" "$D 10:30"),
             $(rec "$L" /usr/bin/lowriter u1 "$D 23:00" "$D1 01:00")]},
  {"name": "b2", "commune": "29019", "software": [{"name": "$O"}, {"name": "$L"}],
   "usage": [$(rec "$O" "$W" u2 "$D 13:00" "$D 14:00"),
             $(rec "$L" /usr/bin/lowriter u2 "$D1 00:30" "$D1 00:45")]},
  {"name": "b3", "commune": "29019", "software": [{"name": "$A"}],
   "usage": [$(rec "$A" "$C" u3 "$D 09:00" "$D 10:00"),
             $(rec "$A" "$C" u4 "$D 09:30" "$D 10:30")]},
  {"name": "b4", "commune": "29019", "software": [{"name": "$A"}],
   "usage": [$(rec "$A" "$C" u5 "$D 10:00" "$D 11:00")]},
  {"name": "g1", "commune": "29075", "software": [{"name": "$A"}],
   "usage": [$(rec "$A" "$C" "" "$D 08:00" "$D 09:00")]},
  {"name": "g2", "commune": "29075", "software": [{"name": "$A"}],
   "usage": [$(rec "$A" "$C" "" "$D 09:00" "$D 10:15")]},
  {"name": "x1", "commune": "29019", "software": [{"name": "$L"}],
   "usage": [$(rec "$L" /usr/bin/lowriter v5 "$E 00:00" "$E 13:00"),
             $(rec "$L" /usr/bin/lowriter v5 "$E 00:00" "$E 13:00"),
             $(rec "$L" /usr/bin/lowriter v5 "$E 13:00" "$E 14:00")]},
  {"name": "x2", "commune": "29019", "software": [{"name": "$L"}],
   "usage": [$(rec "$L" /usr/bin/lowriter v6 "$E 13:30" "$E 13:45")]},
  {"name": "x3", "commune": "29075", "software": [{"name": "$L"}],
   "usage": [{"type": "usage_day", "product": "$L", "exe": "/usr/bin/lowriter", "user": "v7",
              "day": $(($(at "$E 10:00") / 86400)), "seconds": 600, "sessions": 1,
              "first": $(at "$E 10:00"), "last": $(at "$E 10:00")}]}
 ]}
JSON
/usr/bin/python3 tests/integration/fleet.py "$URL" "$WORK/spec.json" "$WORK/fleet.json"

# lic PRODUCT COMMUNE [PERIOD...]: (usage_seconds, peak_concurrent,
# used_machines) of the licences row
lic() {
	p=$1 c=$2
	shift 2
	ctl --format json licences --product "$p" "$@" |
		json "[(r['usage_seconds'], r['peak_concurrent'], r['used_machines']) for r in j if r['commune'] == '$c']"
}
# pu PRODUCT: the licences rows' peak_users on day D
pu() {
	ctl --format json licences --product "$1" --from "$D" --to "$D" |
		json "sorted((r['commune'], r['peak_users']) for r in j)"
}

say "one person's overlapping programs of a product: the union of their hours"
expect_eq "Office, Brest, D" "$(lic ms-office-2019 29019 --from "$D" --to "$D")" \
	"[(12600, 1, 2)]"
expect_eq "Office, all communes" "$(lic ms-office-2019 '*' --from "$D" --to "$D")" \
	"[(12600, 1, 2)]"

say "peak: machines running it at the same instant"
expect_eq "AutoCAD, Brest" "$(lic autocad-lt 29019 --from "$D" --to "$D")" "[(10800, 2, 2)]"
expect_eq "AutoCAD, Guipavas" "$(lic autocad-lt 29075 --from "$D" --to "$D")" "[(8100, 1, 2)]"
expect_eq "AutoCAD, all" "$(lic autocad-lt '*' --from "$D" --to "$D")" "[(18900, 3, 4)]"

say "peak of people: the most users (or machines without user ids) at once"
# Office: u1, then u2: 1. AutoCAD: u3 and u4 on b3 at 09:30 (one
# machine, two people), u4 and u5 at 10:00; Guipavas's machines follow
# each other: 1; all: u3, u4 and g2 at 09:30: 3.
expect_eq "Office" "$(pu ms-office-2019)" "[('*', 1), ('29019', 1)]"
expect_eq "AutoCAD" "$(pu autocad-lt)" "[('*', 3), ('29019', 2), ('29075', 1)]"

say "over midnight: the peak and hours of the days asked for"
expect_eq "LibreOffice, D" "$(lic libreoffice 29019 --from "$D" --to "$D")" "[(3600, 1, 1)]"
expect_eq "LibreOffice, D and D + 1" "$(lic libreoffice 29019 --from "$D" --to "$D1")" \
	"[(8100, 2, 2)]"

say "a record sent twice hides no other interval; a day total of one instant counts"
expect_eq "LibreOffice, Brest, E" "$(lic libreoffice 29019 --from "$E" --to "$E")" "[(51300, 2, 2)]"
expect_eq "LibreOffice, Guipavas, E" "$(lic libreoffice 29075 --from "$E" --to "$E")" "[(600, 1, 1)]"

say "compliance: a concurrent seat is needed per machine running at once"
ctl pools set duo --name Duo --members 29019,29075 --basis peak >/dev/null
ctl entitlements add --product autocad-lt --pool duo --metric concurrent --quantity 3 \
	--total-cost 1000 >/dev/null
ctl --format json compliance --from "$D" --to "$D" >"$WORK/c.json"
row() { json "[(r['need'], r['status'], r['usage_seconds'], r['peak_concurrent'], r['peak_users']) for r in j if r['product']=='autocad-lt' and r['level']=='$1' and r['holder']=='$2' and r['metric']=='concurrent']" <"$WORK/c.json"; }
expect_eq "pool duo" "$(row pool duo)" "[(3, 'compliant', 18900, 3, 3)]"
expect_eq "Brest" "$(row commune 29019)" "[(2, 'pooled', 10800, 2, 2)]"
expect_eq "Guipavas" "$(row commune 29075)" "[(1, 'pooled', 8100, 1, 1)]"
expect_eq "all" "$(row all '*')" "[(3, 'compliant', 18900, 3, 3)]"

say "costs by peak: 2 : 1, not machines per day (2 : 2)"
ctl --format json costs --from "$D" --to "$D" >"$WORK/costs.json"
expect_eq "measures and statements" \
	"$(json "[(s['commune'], s['measure'], s['total_eur']) for e in j for s in e['statements']]" <"$WORK/costs.json")" \
	"[('29019', 2, '666.67'), ('29075', 1, '333.33')]"

say "costs by hours: the union of each person's hours"
ctl pools set duo --name Duo --members 29019,29075 --basis hours >/dev/null
ctl --format json costs --from "$D" --to "$D" >"$WORK/costs.json"
# 10,800 : 8,100 of 100,000 cents: 57,142.86 and 42,857.14 -> the spare
# cent to Brest's .86
expect_eq "measures and statements" \
	"$(json "[(s['commune'], s['measure'], s['total_eur']) for e in j for s in e['statements']]" <"$WORK/costs.json")" \
	"[('29019', 10800, '571.43'), ('29075', 8100, '428.57')]"

say "usage by month: the same hours"
expect_eq "Office in D's month" \
	"$(ctl --format json usage --commune 29019 --from "$D" --to "$D" |
		json "[(r['usage_seconds'], r['used_machines']) for r in j if r['product'] == 'ms-office-2019']")" \
	"[(12600, 2)]"
echo "ok: concurrency"
