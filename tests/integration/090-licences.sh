# The licence domain end to end through the real ingest path, each report
# checked against figures worked out by hand (docs/LICENCES.md walks the
# same example): normalisation, over-deployment, coverage-aware reclaim,
# seasonal products, cost statements adding up to the invoice to the cent
# under each formula, and privacy between communes.
. tests/integration/lib.sh
start_server
bootstrap
srv commune add 29189 Plougastel >/dev/null
srv commune add 29212 Relecq >/dev/null
SECRET_29189=$(srv enrol-secret 29189)
SECRET_29212=$(srv enrol-secret 29212)
OFFICE="C:/Program Files/Microsoft Office/root/Office16/WINWORD.EXE"
ACRO="C:/Program Files/Adobe/Acrobat DC/Acrobat/Acrobat.exe"
CAD="C:/Program Files/Autodesk/AutoCAD LT 2022/acadlt.exe"
EMAG="C:/BL/emagnus/emagnus.exe"
days() { /usr/bin/python3 -c "import json; print(json.dumps(list(range($1, $2 + 1))))"; }
cat >"$WORK/spec.json" <<JSON
{"secrets": {"29019": "$SECRET_29019", "29075": "$SECRET_29075", "29189": "$SECRET_29189"},
 "machines": [
  {"name": "brest-1", "commune": "29019",
   "software": [{"name": "Microsoft Office Professional Plus 2019", "publisher": "Microsoft Corporation"},
                {"name": "Microsoft Office Proofing Tools 2019 - Français", "publisher": "Microsoft Corporation"},
                {"name": "libreoffice-writer"}, {"name": "libreoffice-calc"}, {"name": "libc6"}],
   "usage": [["Microsoft Office Professional Plus 2019", "$OFFICE", "u1", 1, 9, 2],
             ["Microsoft Office Professional Plus 2019", "$OFFICE", "u2", 2, 9, 1]],
   "days": $(days 1 85)},
  {"name": "brest-2", "commune": "29019",
   "software": [{"name": "Microsoft Office Standard 2019"}, {"name": "Adobe Acrobat DC (2020)"},
                {"name": "e.magnus Gestion financière"}],
   "usage": [["Microsoft Office Standard 2019", "$OFFICE", "u3", 1, 10, 3],
             ["Adobe Acrobat DC (2020)", "$ACRO", "u3", 1, 14, 1],
             ["e.magnus Gestion financière", "$EMAG", "u3", 200, 9, 2]],
   "days": $(days 1 80)},
  {"name": "brest-3", "commune": "29019",
   "software": [{"name": "Microsoft Office Professional Plus 2019"}, {"name": "Adobe Acrobat Pro 2020"}],
   "usage": [["Microsoft Office Professional Plus 2019", "$OFFICE", "u5", 120, 9, 1]],
   "days": $(days 1 85)},
  {"name": "guipavas-1", "commune": "29075",
   "software": [{"name": "Microsoft Office Professional Plus 2019"}, {"name": "AutoCAD LT 2022"}],
   "usage": [["Microsoft Office Professional Plus 2019", "$OFFICE", "u4", 1, 8, 5],
             ["AutoCAD LT 2022", "$CAD", "u4", 1, 14, 2]],
   "days": $(days 1 85)},
  {"name": "guipavas-2", "commune": "29075",
   "software": [{"name": "Adobe Acrobat DC (2020)"}], "days": $(days 1 85)},
  {"name": "plougastel-1", "commune": "29189",
   "software": [{"name": "Microsoft Office Standard 2019"}], "days": $(days 1 5)}
 ]}
JSON
/usr/bin/python3 tests/integration/fleet.py "$URL" "$WORK/spec.json" "$WORK/fleet.json"
# fleet.py enrols the machines now; they stand for PCs enrolled long ago
# (reclaim measures coverage over the days a machine existed)
sdb "UPDATE agents SET enrolled = enrolled - 200 * 86400" >/dev/null
say "fleet of 6 machines in 3 communes sent through the ingest path"

ctl pools set brest-metropole --name "Brest métropole" --members 29019,29075 \
	--fixed-share 0.25 --basis hours >/dev/null
ctl entitlements add --product ms-office-2019 --pool brest-metropole --metric device \
	--quantity 3 --total-cost 1000.01 --contract MP-2024-12 >/dev/null
ctl entitlements add --product ms-office-2019 --commune 29019 --metric device \
	--quantity 1 --unit-cost 300 >/dev/null
ctl entitlements add --product autocad-lt --pool brest-metropole --metric concurrent \
	--quantity 1 --total-cost 1500 >/dev/null
cat >"$WORK/ents.csv" <<'CSV'
product,commune,pool,metric,quantity,unit_cost,total_cost,start_date,end_date,contract
adobe-acrobat-pro,29019,,device,1,180.00,,2026-01-01,,"ADOBE ""VIP"" 7"
bl-emagnus,29019,,device,1,,450,,,BL-2026
CSV
ctl entitlements import "$WORK/ents.csv" >/dev/null
expect_eq "entitlements" "$(ctl --format json entitlements list | json 'len(j)')" 5
expect_eq "csv quoting" "$(ctl --format json entitlements list | json '[e["contract"] for e in j if e["product"]=="adobe-acrobat-pro"][0]')" 'ADOBE "VIP" 7'

say "normalisation"
ctl --format json catalogue export >"$WORK/cat.json"
expect_eq "office entries of brest-1 map to one product" \
	"$(sdb "SELECT DISTINCT product FROM software_map WHERE name LIKE 'Microsoft Office%2019%'")" ms-office-2019
expect_eq "libreoffice packages" "$(sdb "SELECT DISTINCT product FROM software_map WHERE name LIKE 'libreoffice-%'")" libreoffice
expect_eq "libc6 ignored" "$(sdb "SELECT ignored FROM software_map WHERE name = 'libc6'")" 1

say "compliance (30 days)"
ctl --format json compliance --product ms-office-2019 >"$WORK/c.json"
ctl compliance --product ms-office-2019
row() { json "[r for r in j if r['level']=='$1' and r['holder']=='$2'][0]['$3']" <"$WORK/c.json"; }
expect_eq "Brest installed" "$(row commune 29019 installed)" 3
expect_eq "Brest owned" "$(row commune 29019 owned)" 1
# Issue 15: a commune whose need a pool's entitlements cover is "pooled"
# (the pool row gives the verdict), no longer "over-deployed".
expect_eq "Brest status (pooled)" "$(row commune 29019 status)" pooled
expect_eq "Brest's pool" "$(row commune 29019 pool)" brest-metropole
expect_eq "Guipavas status (pooled)" "$(row commune 29075 status)" pooled
expect_eq "Plougastel status (no pool)" "$(row commune 29189 status)" over-deployed
expect_eq "Brest users (k=3, shown)" "$(row commune 29019 used_users)" 3
expect_eq "Guipavas users (hidden below 3)" "$(row commune 29075 used_users)" "<3"
expect_eq "pool installed" "$(row pool brest-metropole installed)" 4
expect_eq "pool owned (pool + members' own)" "$(row pool brest-metropole owned)" 4
expect_eq "pool status" "$(row pool brest-metropole status)" compliant
expect_eq "all installed = sum of communes" "$(row all '*' installed)" 5
expect_eq "all owned" "$(row all '*' owned)" 4
expect_eq "all status" "$(row all '*' status)" over-deployed
expect_eq "all used machines" "$(row all '*' used_machines)" 3

say "reclaim (90 days, coverage 70 %)"
ctl --format json reclaim >"$WORK/r.json"
ctl reclaim
rec() { json "[r['$3'] for r in j['rows'] if r['hostname']=='$1' and r['product']=='$2'][0] if [r for r in j['rows'] if r['hostname']=='$1' and r['product']=='$2'] else 'absent'" <"$WORK/r.json"; }
expect_eq "brest-3 office unused" "$(rec brest-3 ms-office-2019 status)" unused
expect_eq "brest-3 office saving" "$(rec brest-3 ms-office-2019 saving_cents)" 30000
expect_eq "brest-3 acrobat unused" "$(rec brest-3 adobe-acrobat-pro status)" unused
expect_eq "guipavas-2 acrobat unused" "$(rec guipavas-2 adobe-acrobat-pro status)" unused
expect_eq "plougastel-1 offline: unreported" "$(rec plougastel-1 ms-office-2019 status)" unreported
expect_eq "brest-2 e.magnus seasonal: kept" "$(rec brest-2 bl-emagnus status)" absent
expect_eq "used installs not listed" "$(rec brest-1 ms-office-2019 status)" absent
expect_eq "reclaimable total (unused only)" "$(json 'j["saving_cents"]' <"$WORK/r.json")" 48000
expect_eq "reclaimable total, exact decimal" "$(json 'j["saving_eur"]' <"$WORK/r.json")" 480.00

say "cost sharing: statements add up to the invoice, to the cent"
statement() { # basis commune product -> total_cents
	json "[s['total_cents'] for e in j if e['product']=='$2' for s in e['statements'] if s['commune']=='$1'][0]" <"$WORK/costs-$3.json"
}
for basis in hours peak installs; do
	ctl pools set brest-metropole --name "Brest métropole" --members 29019,29075 \
		--fixed-share 0.25 --basis $basis >/dev/null
	ctl --format json costs --days 30 >"$WORK/costs-$basis.json"
	json 'all(sum(s["total_cents"] for s in e["statements"]) == e["billed_cents"] == e["invoice_cents"] for e in j)' \
		<"$WORK/costs-$basis.json" | grep -qx True || fail "$basis: statements do not add up"
done
ctl costs --days 30
expect_eq "hours: Brest" "$(statement 29019 ms-office-2019 hours)" 53410
expect_eq "hours: Brest, exact decimal" \
	"$(json '[s["total_eur"] for e in j if e["product"]=="ms-office-2019" for s in e["statements"] if s["commune"]=="29019"][0]' <"$WORK/costs-hours.json")" 534.10
expect_eq "fixed share as an exact decimal" \
	"$(json '[e["fixed_share"] for e in j][0]' <"$WORK/costs-hours.json")" 0.25
expect_eq "pools list: fixed share" "$(ctl --format json pools list | json 'j[0]["fixed_share"]')" 0.25
expect_eq "hours: Guipavas" "$(statement 29075 ms-office-2019 hours)" 46591
expect_eq "peak: Brest" "$(statement 29019 ms-office-2019 peak)" 62501
expect_eq "peak: Guipavas" "$(statement 29075 ms-office-2019 peak)" 37500
expect_eq "installs: Brest" "$(statement 29019 ms-office-2019 installs)" 68751
expect_eq "installs: Guipavas" "$(statement 29075 ms-office-2019 installs)" 31250
expect_eq "autocad by hours: Brest (fixed part only)" "$(statement 29019 autocad-lt hours)" 18750
expect_eq "autocad by hours: Guipavas" "$(statement 29075 autocad-lt hours)" 131250

say "privacy and scope of a commune's admin"
BREST=$(srv admin-token --commune 29019)
bctl() { "$B/mutuctl" --server "$URL" --token "$BREST" "$@"; }
bctl --format json compliance >"$WORK/bc.json"
json 'sorted(set((r["level"], r["holder"]) for r in j))' <"$WORK/bc.json"
json 'all((r["level"], r["holder"]) in (("commune", "29019"), ("pool", "brest-metropole")) for r in j)' \
	<"$WORK/bc.json" | grep -qx True || fail "Brest's admin sees rows of other holders"
expect_eq "Brest's own users, unhidden" "$(json '[r["used_users"] for r in j if r["level"]=="commune" and r["product"]=="adobe-acrobat-pro"][0]' <"$WORK/bc.json")" 1
bctl --format json reclaim | json 'sorted(set(r["commune"] for r in j["rows"]))' | grep -qx "\['29019'\]" ||
	fail "Brest's admin sees other communes' machines in reclaim"
bctl --format json usage | json 'all(r["commune"] == "29019" for r in j)' | grep -qx True ||
	fail "Brest's admin sees other communes' usage"
set +e
bctl catalogue add-product x --name X 2>"$WORK/err"; rc=$?
set -e
expect_eq "commune admin cannot change the catalogue" "$rc" 1
grep -q 403 "$WORK/err" || fail "no 403: $(cat "$WORK/err")"
set +e
bctl entitlements add --product autocad-lt --commune 29075 --metric device --quantity 9 2>"$WORK/err"; rc=$?
set -e
expect_eq "commune admin cannot hold for another commune" "$rc" 1

say "real packages of this machine, and re-normalisation without new data"
agent_conf pc 29212
agent_once pc || fail "agent failed"
ctl --format json catalogue unmatched >"$WORK/un.json"
json 'any(r["name"].startswith("lib") for r in j)' <"$WORK/un.json" | grep -qx False ||
	fail "lib* packages should be ignored by the default catalogue"
json 'any(r["name"] == "coreutils" for r in j)' <"$WORK/un.json" | grep -qx True ||
	fail "coreutils should be unmatched before the rule"
ctl catalogue add-product gnu-coreutils --name "GNU coreutils" --publisher GNU --free >/dev/null
ctl catalogue add-rule --field name --glob 'coreutils' --product gnu-coreutils >/dev/null
expect_eq "coreutils now a product" \
	"$(ctl --format json compliance --product gnu-coreutils --commune 29212 | json '[r["installed"] for r in j if r["level"]=="commune"][0]')" 1
expect_eq "free software status" \
	"$(ctl --format json compliance --product gnu-coreutils --commune 29212 | json '[r["status"] for r in j if r["level"]=="commune"][0]')" free
rid=$(ctl --format json catalogue rules | json '[r["id"] for r in j if r.get("glob")=="coreutils"][0]')
ctl catalogue del-rule "$rid" >/dev/null
expect_eq "rule removed: unmatched again" \
	"$(ctl --format json catalogue unmatched | json 'any(r["name"] == "coreutils" for r in j)')" True
# Export, then import the admins' part back: same rules in force.
ctl catalogue export "$WORK/exported.json"
ctl catalogue import "$WORK/exported.json" >/dev/null
expect_eq "rules after re-import" "$(ctl --format json catalogue rules | json 'len(j)')" \
	"$(json 'len(j["rules"])' <"$WORK/exported.json")"

say "monthly usage"
ctl usage --product ms-office-2019
expect_eq "office hours this window" \
	"$(ctl --format json usage --product ms-office-2019 --days 30 | json 'round(sum(r["usage_hours"] for r in j), 2)')" 11.0

say "retention: raw usage past 90 days dropped at start, reports unchanged"
before=$(ctl --format json reclaim | json 'sorted((r["hostname"], r["product"], r["last_used"]) for r in j["rows"])')
old=$(sdb "SELECT count(*) FROM usage WHERE \"end\" < $(date +%s) - 90 * 86400")
[ "$old" -ge 2 ] || fail "expected old raw usage rows, found $old"
stop_server
start_server "127.0.0.1:$PORT"
expect_eq "old raw rows after restart" \
	"$(sdb "SELECT count(*) FROM usage WHERE \"end\" < $(date +%s) - 90 * 86400")" 0
grep -q "retention: $old raw usage rows" "$WORK/server.log" || fail "no retention log line"
expect_eq "reclaim unchanged" \
	"$(ctl --format json reclaim | json 'sorted((r["hostname"], r["product"], r["last_used"]) for r in j["rows"])')" "$before"

say "catalogue flags and bad input"
expect_eq "QGIS flagged free and SILL" \
	"$(ctl --format json catalogue products | json '[(p["free"], p["sill"]) for p in j if p["key"]=="qgis"][0]')" "(True, True)"
printf 'product,commune,metric,quantity\nqgis,29019,device,1\nqgis,29019,seats,2\n' >"$WORK/bad.csv"
set +e
ctl entitlements import "$WORK/bad.csv" 2>"$WORK/err"; rc=$?
set -e
expect_eq "bad CSV refused" "$rc" 1
grep -q "entitlement 2: metric" "$WORK/err" || fail "message: $(cat "$WORK/err")"
expect_eq "nothing imported from it" "$(ctl --format json entitlements list | json 'len(j)')" 5
