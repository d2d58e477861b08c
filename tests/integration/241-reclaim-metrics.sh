#!/bin/sh
# Reclaim's savings by metric (issue 15; docs/LICENCES.md, "reclaim"),
# each figure worked out by hand. Period: day D (three days ago, Paris),
# coverage 0. Pool duo = Brest + Guipavas.
# - device: AutoCAD LT, Brest's 2 licences at 400 €: b1 used it, b2 did
#   not: b2 saves 400 €.
# - named user: Office 2019, Brest's 5 user licences at 100 €; u1 (b1)
#   and u2 (b2) used it on D, u3 used it on b3 ten days before D only
#   (stopped: not needed). b3's unused installation saves nothing (a user
#   licence is not a machine's): Brest's need 2, 3 seats beyond it, 300 €.
#   The pool's 2 user licences at 100 €: the pool's need is Brest's 2 and
#   Guipavas's 1 (u7 on g1), 3, for 5 + 2 = 7 owned; Brest's own 3 spare
#   seats are its own, so the pool's surplus is 7 - 3 - 3 = 1: 100 €.
# - concurrent: the pool's 3 AutoCAD seats for 1,000.00 € (333.34,
#   333.33, 333.33 a seat): g1 09:00-10:00 and g2 09:30-10:30 at once, b1
#   14:00-15:00: peak 2, 1 seat beyond: the first unit, 333.34 €.
# - site: Guipavas's BL.enfance site licence (500 €), g1 has it, unused:
#   listed, saves nothing.
# Total 400 + 300 + 100 + 333.34 = 1,133.34 €; Brest's own admin: its
# rows and seats only, 700 €.
# - coverage of a seasonal product over the days the PC existed (below).
. tests/integration/lib.sh
server_conf 'enrol_per_minute = 0' 'requests_per_minute = 0' \
	'admin_requests_per_second = 0'
start_server
bootstrap
D=$(paris_day '-3 days')
OLD=$(paris_day "$D - 10 days")
O="Microsoft Office Professional Plus 2019" A="AutoCAD LT 2022" E="BL.enfance"
rec() { # product user from to (Paris times)
	printf '{"product": "%s", "exe": "C:/%s.exe", "user": "%s", "start": %s, "end": %s}' \
		"$1" "$2" "$2" "$(at "$3")" "$(at "$4")"
}
cat >"$WORK/spec.json" <<JSON
{"secrets": {"29019": "$SECRET_29019", "29075": "$SECRET_29075"},
 "machines": [
  {"name": "b1", "commune": "29019", "software": [{"name": "$A"}, {"name": "$O"}],
   "usage": [$(rec "$A" u1 "$D 14:00" "$D 15:00"), $(rec "$O" u1 "$D 09:00" "$D 10:00")],
   "days": [3]},
  {"name": "b2", "commune": "29019", "software": [{"name": "$A"}, {"name": "$O"}],
   "usage": [$(rec "$O" u2 "$D 11:00" "$D 12:00")], "days": [3]},
  {"name": "b3", "commune": "29019", "software": [{"name": "$O"}],
   "usage": [$(rec "$O" u3 "$OLD 09:00" "$OLD 10:00")], "days": [3]},
  {"name": "g1", "commune": "29075", "software": [{"name": "$A"}, {"name": "$O"}, {"name": "$E"}],
   "usage": [$(rec "$A" u7 "$D 09:00" "$D 10:00"), $(rec "$O" u7 "$D 11:00" "$D 12:00")],
   "days": [3]},
  {"name": "g2", "commune": "29075", "software": [{"name": "$A"}],
   "usage": [$(rec "$A" u8 "$D 09:30" "$D 10:30")], "days": [3]}
 ]}
JSON
/usr/bin/python3 tests/integration/fleet.py "$URL" "$WORK/spec.json" "$WORK/fleet.json"
ctl pools set duo --name Duo --members 29019,29075 --basis peak >/dev/null
ctl entitlements add --product autocad-lt --commune 29019 --metric device --quantity 2 \
	--unit-cost 400 >/dev/null
ctl entitlements add --product ms-office-2019 --commune 29019 --metric user --quantity 5 \
	--unit-cost 100 >/dev/null
ctl entitlements add --product ms-office-2019 --pool duo --metric user --quantity 2 \
	--unit-cost 100 >/dev/null
ctl entitlements add --product autocad-lt --pool duo --metric concurrent --quantity 3 \
	--total-cost 1000 >/dev/null
ctl entitlements add --product bl-enfance --commune 29075 --metric site --quantity 1 \
	--total-cost 500 >/dev/null

ctl reclaim --from "$D" --to "$D" --coverage 0
ctl --format json reclaim --from "$D" --to "$D" --coverage 0 >"$WORK/r.json"
say "installations: a saving for device licences only"
expect_eq "rows (host, product, status, saving)" \
	"$(json "[(r['hostname'], r['product'], r['status'], r.get('saving_eur')) for r in j['rows']]" <"$WORK/r.json")" \
	"[('b2', 'autocad-lt', 'unused', '400.00'), ('b3', 'ms-office-2019', 'unused', None), ('g1', 'bl-enfance', 'unused', None)]"

say "seats: user and concurrent licences beyond the need"
expect_eq "seats (level, holder, product, metric, owned, need, surplus, saving)" \
	"$(json "[(s['level'], s['holder'], s['product'], s['metric'], s['owned'], s['need'], s['surplus'], s['saving_eur']) for s in j['seats']]" <"$WORK/r.json")" \
	"[('pool', 'duo', 'autocad-lt', 'concurrent', 3, 2, 1, '333.34'), ('commune', '29019', 'ms-office-2019', 'user', 5, 2, 3, '300.00'), ('pool', 'duo', 'ms-office-2019', 'user', 7, 3, 1, '100.00')]"
expect_eq "total" "$(json "(j['saving_cents'], j['saving_eur'])" <"$WORK/r.json")" "(113334, '1133.34')"

say "CSV: the installations, or the seats"
expect_eq "installations" "$(ctl --format csv reclaim --from "$D" --to "$D" --coverage 0 | tr -d '\r' | cut -d, -f1 | tr '\n' ' ')" \
	"hostname b2 b3 g1 "
expect_eq "seats" "$(ctl --format csv reclaim --from "$D" --to "$D" --coverage 0 --seats | tr -d '\r' | cut -d, -f1,7,8 | tr '\n' ' ')" \
	"product,surplus,saving_eur autocad-lt,1,333.34 ms-office-2019,3,300.00 ms-office-2019,1,100.00 "

say "a commune's admin: its own installations and seats"
TOKEN_B=$(srv admin-token --commune 29019)
MUTU_TOKEN=$TOKEN_B "$B/mutuctl" --server "$URL" --format json reclaim --from "$D" --to "$D" \
	--coverage 0 >"$WORK/rb.json"
expect_eq "Brest's rows" "$(json "[(r['hostname'], r.get('saving_eur')) for r in j['rows']]" <"$WORK/rb.json")" \
	"[('b2', '400.00'), ('b3', None)]"
expect_eq "Brest's seats" "$(json "[(s['holder'], s['product'], s['surplus']) for s in j['seats']]" <"$WORK/rb.json")" \
	"[('29019', 'ms-office-2019', 3)]"
expect_eq "Brest's total" "$(json "j['saving_eur']" <"$WORK/rb.json")" "700.00"
say "a seasonal product on a PC enrolled 20 days ago: measured on its 20 days"
# e.magnus (seasonal_days 395) on b5, enrolled 22 days ago, reporting on
# each of the 20 days up to D, never used: its window is the 20 days it
# existed (not 395, where 20 days reported would make it "unreported"
# under the default 70 % coverage): unused, 20 of 20 days, 450 €.
cat >"$WORK/spec5.json" <<JSON
{"secrets": {"29019": "$SECRET_29019"},
 "machines": [{"name": "b5", "commune": "29019", "software": [{"name": "e.magnus Gestion financière"}],
   "days": [$(seq -s, 3 22)]}]}
JSON
/usr/bin/python3 tests/integration/fleet.py "$URL" "$WORK/spec5.json" "$WORK/fleet5.json"
sdb "UPDATE agents SET enrolled = enrolled - 22 * 86400 WHERE hostname = 'b5'" >/dev/null
ctl entitlements add --product bl-emagnus --commune 29019 --metric device --quantity 1 \
	--unit-cost 450 >/dev/null
expect_eq "b5's e.magnus (status, window_days, days_reported, saving)" \
	"$(ctl --format json reclaim --from "$D" --to "$D" |
		json "[(r['status'], r['window_days'], r['days_reported'], r['saving_eur']) for r in j['rows'] if r['hostname'] == 'b5']")" \
	"[('unused', 20, 20, '450.00')]"
echo "ok: reclaim by metric"
