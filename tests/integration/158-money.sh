#!/bin/sh
# Money to the cent and contracts in force (docs/LICENCES.md, "Money" and
# "Contracts in force"), each figure worked out by hand below:
# - the issue's example: 3,600.10 EUR at a fixed share of 0.35 between two
#   members with equal measures gives 1,800.05 each (the binary 0.35 gave
#   1,800.06 / 1,800.04);
# - three members by installs, the largest remainder at work;
# - amounts and shares read exactly from strings and JSON numbers, and
#   refused when they are not decimals of the right scale;
# - costs: no statement for a contract that starts after the window or
#   ended before it; a contract in force for part of the window billed
#   for its days, and the 12 months of a 365-day term adding up to the
#   invoice to the cent;
# - reclaim: no saving from a contract not in force; total / quantity
#   split by the largest remainder (1,000.01 / 3 = 333.34 + 333.34 +
#   333.33), never rounded down.
. tests/integration/lib.sh
# Every window here ends today (UTC): do not start a minute before
# midnight.
left=$((86400 - $(date -u +%s) % 86400))
[ "$left" -gt 120 ] || sleep $((left + 1))
# today in the server's zone (Europe/Paris), as a day number
TODAY=$(($(date -u -d "$(TZ=Europe/Paris date +%F)" +%s) / 86400))
day() { date -u -d "@$(((TODAY + $1) * 86400))" +%F; }

start_server
bootstrap
srv commune add 29189 Plougastel >/dev/null
SECRET_29189=$(srv enrol-secret 29189)
days() { /usr/bin/python3 -c "import json; print(json.dumps(list(range($1, $2 + 1))))"; }
OFFICE='{"name": "Microsoft Office Professional Plus 2019", "publisher": "Microsoft Corporation"}'
ACRO='{"name": "Adobe Acrobat Pro 2020"}'
cat >"$WORK/spec.json" <<JSON
{"secrets": {"29019": "$SECRET_29019", "29075": "$SECRET_29075", "29189": "$SECRET_29189"},
 "machines": [
  {"name": "b1", "commune": "29019", "software": [$OFFICE, $ACRO], "days": $(days 1 89)},
  {"name": "b2", "commune": "29019", "software": [$OFFICE, $ACRO], "days": $(days 1 89)},
  {"name": "b3", "commune": "29019", "software": [$ACRO], "days": $(days 1 89)},
  {"name": "g1", "commune": "29075", "software": [$OFFICE], "days": $(days 1 89)},
  {"name": "p1", "commune": "29189", "software": [$OFFICE], "days": $(days 1 89)}
 ]}
JSON
/usr/bin/python3 tests/integration/fleet.py "$URL" "$WORK/spec.json" "$WORK/fleet.json"
say "5 machines: Office on b1 b2 (Brest), g1 (Guipavas), p1 (Plougastel); Acrobat Pro on b1 b2 b3"

# post PATH JSON: the HTTP status; the body in $WORK/body.
post() {
	curl -s -o "$WORK/body" -w '%{http_code}' -X "${3:-POST}" \
		-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
		--data "$2" "$URL/api/v1/$1"
}

say "input: amounts and shares read exactly, or refused"
# A JSON number, as a client that never heard of strings sends it: the
# binary 0.35 is read as the decimal 0.35.
expect_eq "pool p2 with fixed_share 0.35 (JSON number)" \
	"$(post pools '{"code": "p2", "name": "Two", "members": ["29019", "29075"], "fixed_share": 0.35, "basis": "hours"}')" 200
expect_eq "stored in parts per million" "$(sdb "SELECT fixed_share_ppm FROM pools WHERE code = 'p2'")" 350000
expect_eq "printed as the exact decimal" "$(ctl --format json pools list | json '[p["fixed_share"] for p in j if p["code"]=="p2"][0]')" 0.35
ctl pools set p3 --name Three --members 29019,29075,29189 --fixed-share 0.35 --basis installs >/dev/null
expect_eq "pool p3 from the command line (text 0.35)" "$(sdb "SELECT fixed_share_ppm FROM pools WHERE code = 'p3'")" 350000
for bad in '"0.3333333"' 1.5 '"1.01"' -0.1 '"0,35"' '"35%"' '"1e-1"'; do
	expect_eq "fixed_share $bad refused" \
		"$(post pools "{\"code\": \"px\", \"name\": \"X\", \"members\": [\"29019\"], \"fixed_share\": $bad}")" 400
done
expect_eq "fixed_share \"1\" accepted" \
	"$(post pools '{"code": "px", "name": "X", "members": ["29019"], "fixed_share": "1"}')" 200
expect_eq "fixed_share 1 in ppm" "$(sdb "SELECT fixed_share_ppm FROM pools WHERE code = 'px'")" 1000000
ent='"product": "autocad-lt", "pool": "px", "metric": "device", "quantity": 1'
expect_eq "total_cost_eur 3600.1 (JSON number)" \
	"$(post entitlements "{$ent, \"contract\": \"N\", \"total_cost_eur\": 3600.1}")" 200
expect_eq "read as 360010 cents" "$(sdb "SELECT total_cost FROM entitlements WHERE contract = 'N'")" 360010
expect_eq "total_cost_eur \"3600.10\" (string)" \
	"$(post entitlements "{$ent, \"contract\": \"S\", \"total_cost_eur\": \"3600.10\"}")" 200
expect_eq "read as 360010 cents" "$(sdb "SELECT total_cost FROM entitlements WHERE contract = 'S'")" 360010
expect_eq "listed as the exact decimal" \
	"$(ctl --format json entitlements list | json '[e["total_cost_eur"] for e in j if e["contract"]=="S"][0]')" 3600.10
for bad in '"total_cost_eur": "3600.105"' '"total_cost_eur": 3600.105' '"unit_cost_eur": "-1"' \
	'"total_cost_eur": "1 000"' '"total_cost_eur": "3600.10", "total_cost_cents": 360010' \
	'"total_cost_cents": 3600.1' '"total_cost_eur": true'; do
	expect_eq "$bad refused" "$(post entitlements "{$ent, $bad}")" 400
done
grep -q "at most two decimals" "$WORK/body" || fail "message: $(cat "$WORK/body")"
expect_eq "end before start refused" \
	"$(post entitlements "{$ent, \"total_cost_eur\": 1, \"start_date\": \"2026-03-01\", \"end_date\": \"2026-02-28\"}")" 400
expect_eq "no such date refused" \
	"$(post entitlements "{$ent, \"total_cost_eur\": 1, \"start_date\": \"2026-02-29\"}")" 400
expect_eq "entitlements kept" "$(sdb "SELECT count(*) FROM entitlements")" 2
sdb "DELETE FROM entitlements" >/dev/null

say "the issue's example: 3,600.10 EUR, fixed share 0.35, two members, equal measures"
# fixed part = 360010 x 0.35 = 126003.5 -> half up 126004 = 63002 + 63002;
# usage part = 360010 - 126004 = 234006; no usage: equal, 117003 + 117003.
# Each: 63002 + 117003 = 180005 = 1,800.05 EUR.
ctl entitlements add --product autocad-lt --pool p2 --metric concurrent --quantity 2 \
	--total-cost 3600.10 --contract EXAMPLE >/dev/null
ctl --format json costs --pool p2 --from "$(day -30)" --to "$(day 0)" >"$WORK/c.json"
ctl costs --pool p2 --from "$(day -30)" --to "$(day 0)" | tee "$WORK/c.txt"
st() { json "[s['$3'] for e in j if e['contract']=='$1' for s in e['statements'] if s['commune']=='$2'][0]" <"${4:-$WORK/c.json}"; }
expect_eq "Brest fixed" "$(st EXAMPLE 29019 fixed_cents)" 63002
expect_eq "Guipavas fixed" "$(st EXAMPLE 29075 fixed_cents)" 63002
expect_eq "Brest usage" "$(st EXAMPLE 29019 usage_cents)" 117003
expect_eq "Brest total" "$(st EXAMPLE 29019 total_eur)" 1800.05
expect_eq "Guipavas total" "$(st EXAMPLE 29075 total_eur)" 1800.05
expect_eq "invoice" "$(json 'j[0]["invoice_eur"]' <"$WORK/c.json")" 3600.10
expect_eq "fixed share" "$(json 'j[0]["fixed_share"]' <"$WORK/c.json")" 0.35
expect_eq "table rows" "$(grep -c ' 1800.05 *$' "$WORK/c.txt")" 2

say "three members by installs: 1,000.01 EUR, fixed share 0.35"
# fixed = 100001 x 0.35 = 35000.35 -> 35000; equal thirds 11666.67:
#   floors 3 x 11666 = 34998, 2 cents to the first two (ties: smaller
#   code) -> 11667, 11667, 11666.
# usage = 65001 by installs 2 : 1 : 1 -> 32500.5, 16250.25, 16250.25:
#   floors 65000, 1 cent to the largest remainder (.5, Brest) ->
#   32501, 16250, 16250.
# totals: 44168, 27917, 27916 = 100001.
ctl entitlements add --product ms-office-2019 --pool p3 --metric device --quantity 4 \
	--total-cost 1000.01 --contract THREE >/dev/null
ctl --format json costs --pool p3 --from "$(day -30)" --to "$(day 0)" >"$WORK/c3.json"
expect_eq "measures" "$(json '[s["measure"] for s in j[0]["statements"]]' <"$WORK/c3.json")" "[2, 1, 1]"
expect_eq "fixed parts" "$(json '[s["fixed_cents"] for s in j[0]["statements"]]' <"$WORK/c3.json")" "[11667, 11667, 11666]"
expect_eq "usage parts" "$(json '[s["usage_cents"] for s in j[0]["statements"]]' <"$WORK/c3.json")" "[32501, 16250, 16250]"
expect_eq "totals" "$(json '[s["total_eur"] for s in j[0]["statements"]]' <"$WORK/c3.json")" "['441.68', '279.17', '279.16']"

say "costs: contracts in force in the window (--from "$(day -30)" --to "$(day 0)": $(day -30) to $(day 0), 31 days)"
add() { # contract start end total
	ctl entitlements add --product autocad-lt --pool p2 --metric concurrent --quantity 1 \
		--total-cost "$4" --start "$2" --end "$3" --contract "$1" >/dev/null
}
add FUTURE "$(day 10)" "$(day 375)" 1000.00
add ENDED "$(day -400)" "$(day -40)" 1000.00
add WHOLE "$(day -200)" "$(day -101)" 500.00
# PART: a 365-day term from day -100 to day 264; the window is days 70
# to 100 of the term (31 days): C(101) - C(70) with C(x) = 360010 x / 365
# half up: 99619.21 -> 99619, 69043.01 -> 69043: billed 30576.
# Fixed 30576 x 0.35 = 10701.6 -> 10702 = 5351 + 5351; usage 19874 =
# 9937 + 9937; each 15288.
add PART "$(day -100)" "$(day 264)" 3600.10
# STARTS: the term starts 10 days before today: 11 days in force,
# C(11) - C(0) = 10849.62 -> 10850.
add STARTS "$(day -10)" "$(day 354)" 3600.10
ctl --format json costs --pool p2 --from "$(day -30)" --to "$(day 0)" >"$WORK/c.json"
ctl costs --pool p2 --from "$(day -30)" --to "$(day 0)"
expect_eq "statements of" "$(json 'sorted(e["contract"] for e in j)' <"$WORK/c.json")" "['EXAMPLE', 'PART', 'STARTS']"
ent() { json "[e['$2'] for e in j if e['contract']=='$1'][0]" <"${3:-$WORK/c.json}"; }
expect_eq "PART days in force" "$(ent PART days_in_force)" 31
expect_eq "PART term" "$(ent PART term_days)" 365
expect_eq "PART billed" "$(ent PART billed_cents)" 30576
expect_eq "PART Brest" "$(st PART 29019 total_cents)" 15288
expect_eq "PART Guipavas" "$(st PART 29075 total_cents)" 15288
expect_eq "STARTS days in force" "$(ent STARTS days_in_force)" 11
expect_eq "STARTS billed" "$(ent STARTS billed_cents)" 10850
expect_eq "EXAMPLE (no dates): whole invoice" "$(ent EXAMPLE billed_cents)" 360010
json 'all(sum(s["total_cents"] for s in e["statements"]) == e["billed_cents"] for e in j)' \
	<"$WORK/c.json" | grep -qx True || fail "statements do not add up to the billed part"
ctl --format json costs --pool p2 --from "$(day -364)" --to "$(day 0)" >"$WORK/y.json"
expect_eq "a year's window: WHOLE (100 days, all in it)" "$(ent WHOLE billed_cents "$WORK/y.json")" 50000
expect_eq "a year's window: ENDED (end 40 days ago)" "$(ent ENDED days_in_force "$WORK/y.json")" 325

say "the 12 months of a 365-day term add up to its invoice"
# Month m of the term (lengths 31 28 31 30 31 30 31 31 30 31 30 31) is
# put in the window --days L-1 ending today by shifting the term: only
# days since the term's start count. Cumulative C(x) = 360010 x / 365:
#  x:   31       59       90       120      151      181
#  C:   30576.19 58193.40 88769.59 118359.45 148935.64 178525.51
#  ->   30576    58193    88770    118359   148936   178526
#  x:   212       243       273       304       334       365
#  C:   209101.70 239677.89 269267.75 299843.95 329433.81 360010
#  ->   209102    239678    269268    299844    329434    360010
# Months: 30576 27617 30577 29589 30577 29590 30576 30576 29590 30576
# 29590 30576; sum 360010.
sdb "DELETE FROM entitlements WHERE pool = 'p2'" >/dev/null
add YEAR "$(day 0)" "$(day 364)" 3600.10
id=$(ctl --format json entitlements list | json '[e["id"] for e in j if e["contract"]=="YEAR"][0]')
off=0 sum=0 got=""
for len in 31 28 31 30 31 30 31 31 30 31 30 31; do
	start=$((1 - len - off))
	ctl entitlements update "$id" --product autocad-lt --pool p2 --metric concurrent \
		--quantity 1 --total-cost 3600.10 --start "$(day $start)" \
		--end "$(day $((start + 364)))" --contract YEAR >/dev/null
	ctl --format json costs --pool p2 --from "$(day -$((len - 1)))" --to "$(day 0)" >"$WORK/m.json"
	[ "$(ent YEAR days_in_force "$WORK/m.json")" = "$len" ] || fail "month at $off: $(cat "$WORK/m.json")"
	json 'all(sum(s["total_cents"] for s in e["statements"]) == e["billed_cents"] for e in j)' \
		<"$WORK/m.json" | grep -qx True || fail "month at $off: statements do not add up"
	b=$(ent YEAR billed_cents "$WORK/m.json")
	got="$got $b"
	sum=$((sum + b))
	off=$((off + len))
done
expect_eq "monthly parts" "$got" " 30576 27617 30577 29589 30577 29590 30576 30576 29590 30576 29590 30576"
expect_eq "12 months" "$sum" 360010

say "reclaim: contracts in force, total / quantity by the largest remainder"
# Acrobat Pro: an entitlement of Brest that ended 100 days ago, and one
# that starts in 30 days: neither is in force in the 90-day window.
ctl entitlements add --product adobe-acrobat-pro --commune 29019 --metric device --quantity 3 \
	--unit-cost 180 --start "$(day -500)" --end "$(day -100)" --contract ACRO-OLD >/dev/null
ctl entitlements add --product adobe-acrobat-pro --commune 29019 --metric device --quantity 3 \
	--unit-cost 180 --start "$(day 30)" --contract ACRO-NEXT >/dev/null
ctl --format json reclaim >"$WORK/r.json"
ctl reclaim
rec() { json "[r.get('$3') for r in j['rows'] if r['hostname']=='$1' and r['product']=='$2'][0]" <"$WORK/r.json"; }
expect_eq "b3 Acrobat unused" "$(rec b3 adobe-acrobat-pro status)" unused
expect_eq "b3 Acrobat: no saving from contracts not in force" "$(rec b3 adobe-acrobat-pro saving_cents)" None
# Office: THREE (pool p3, 1,000.01 for 4): 100001 / 4 = 25000 r 1 ->
# 25001, 25000, 25000, 25000 in the listing order b1, b2, g1, p1.
expect_eq "Office savings" \
	"$(json '[r["saving_cents"] for r in j["rows"] if r["product"]=="ms-office-2019"]' <"$WORK/r.json")" \
	"[25001, 25000, 25000, 25000]"
# installations: Office only; the total adds the concurrent AutoCAD seats
# beyond the peak (241-reclaim-metrics.sh works those out)
expect_eq "installations: Office only" \
	"$(json 'sum(r.get("saving_cents") or 0 for r in j["rows"] if r["status"] == "unused")' <"$WORK/r.json")" 100001
SEATS=$(json 'sum(s["saving_cents"] for s in j["seats"])' <"$WORK/r.json")
expect_eq "reclaimable: installations and seats" "$(json 'j["saving_cents"]' <"$WORK/r.json")" \
	$((100001 + SEATS))
# A pool contract in force: 1,000.01 for 3 -> 33333 r 2 -> 33334, 33334,
# 33333 (b1, b2, b3); installations 1,000.01 + 1,000.01 = 2,000.02.
ctl entitlements add --product adobe-acrobat-pro --pool p3 --metric device --quantity 3 \
	--total-cost 1000.01 --contract ACRO-POOL >/dev/null
ctl --format json reclaim >"$WORK/r.json"
expect_eq "Acrobat savings" \
	"$(json '[r["saving_eur"] for r in j["rows"] if r["product"]=="adobe-acrobat-pro"]' <"$WORK/r.json")" \
	"['333.34', '333.34', '333.33']"
expect_eq "reclaimable" "$(json 'j["saving_cents"]' <"$WORK/r.json")" $((200002 + SEATS))
T=$(printf '%d.%02d' $(((200002 + SEATS) / 100)) $(((200002 + SEATS) % 100)))
ctl reclaim | grep -q "^reclaimable: $T EUR" || fail "table total: $(ctl reclaim | tail -1)"
echo "ok: table total $T EUR"
