#!/bin/sh
# A report whose query fails answers an error, never a 200 with an empty
# or partial body (issue 17, "errors that never vanish"). The failure is
# injected under the running server, where the report's statement fails
# as it runs (not when it is prepared, which was always an error):
# - SQLite: the tables the reports read (software, software_map,
#   usage_map, usage_stat: the daily figures) are renamed and replaced by views that raise "integer
#   overflow" when a statement reading them runs;
# - PostgreSQL: the server's role loses SELECT on those tables.
# Before the fix, compliance, reclaim, usage and the costs' measures
# looped "while (step() == ROW)" and answered 200 with what they had.
. tests/integration/lib.sh
server_conf 'enrol_per_minute = 0' 'requests_per_minute = 0'
start_server
bootstrap
A="AutoCAD LT 2022"
# b1 runs AutoCAD, b2 has it unused (a reclaim row), g1 runs it too.
cat >"$WORK/spec.json" <<JSON
{"secrets": {"29019": "$SECRET_29019", "29075": "$SECRET_29075"},
 "machines": [
  {"name": "b1", "commune": "29019", "software": [{"name": "$A"}],
   "usage": [["$A", "C:/acad.exe", "u1", 2, 9, 2], ["$A", "C:/acad.exe", "u1", 40, 9, 1]]},
  {"name": "b2", "commune": "29019", "software": [{"name": "$A"}, {"name": "Zorglub Toolkit 7"}]},
  {"name": "g1", "commune": "29075", "software": [{"name": "$A"}],
   "usage": [["$A", "C:/acad.exe", "", 3, 10, 0.5]]}
 ]}
JSON
/usr/bin/python3 tests/integration/fleet.py "$URL" "$WORK/spec.json" "$WORK/fleet.json"
# PCs enrolled long ago (fleet.py enrols them now): b2 is in the period
sdb "UPDATE agents SET enrolled = enrolled - 200 * 86400" >/dev/null
B1=$(json 'j["b1"]["agent_id"]' <"$WORK/fleet.json")
ctl pools set duo --name Duo --members 29019,29075 --basis hours >/dev/null
ctl entitlements add --product autocad-lt --pool duo --metric concurrent --quantity 1 \
	--total-cost 1500 >/dev/null
ctl entitlements add --product autocad-lt --commune 29019 --metric device --quantity 2 \
	--unit-cost 400 >/dev/null

REPORTS="licences?days=90 reports/compliance?days=90 reports/reclaim?days=90
reports/costs?days=90 reports/usage?days=90 machines machines/$B1 catalogue/unmatched"
# get PATH: the status, then the body on the next line
get() {
	curl -sS -o "$WORK/body" -w '%{http_code}\n' -H "Authorization: Bearer $TOKEN" \
		"$URL/api/v1/$1"
	cat "$WORK/body"
	echo
}

say "every report answers 200 with rows while the database is sound"
for r in $REPORTS; do
	out=$(get "$r")
	expect_eq "$r status" "$(echo "$out" | head -n 1)" 200
	rows=$(echo "$out" | sed 1d | json 'len(j.get("rows", j)) if isinstance(j, dict) else len(j)')
	[ "$rows" -gt 0 ] || fail "$r: no rows before the failure: $out"
done
# the costs' statements measure the members' hours
expect_eq "costs measure b1's commune" \
	"$(get 'reports/costs?days=90' | sed 1d | json '[s["measure"] for s in j[0]["statements"]]')" \
	"[10800, 1800]"

say "the tables the reports read fail under the running server"
if [ "$BACKEND" = pgsql ]; then
	sdb "REVOKE SELECT ON software, software_map, usage_map, usage_stat FROM mutu_app" >/dev/null
else
	for t in software software_map usage_map usage_stat; do
		# a view of the renamed table that fails as a statement reading
		# it runs (not when it is prepared): abs() of the smallest
		# integer overflows
		sqlite3 -cmd ".timeout 10000" "$SDB" \
			"ALTER TABLE $t RENAME TO ${t}_real;
			 CREATE VIEW $t AS SELECT * FROM ${t}_real
			 WHERE abs(-9223372036854775808) > 0;"
	done
fi

say "every report now answers an error with a message, never a 200"
for r in $REPORTS; do
	out=$(get "$r")
	status=$(echo "$out" | head -n 1)
	case $status in
	500 | 503) echo "ok: $r answers $status" ;;
	*) fail "$r: expected 500 or 503, got $status: $(echo "$out" | sed 1d)" ;;
	esac
	msg=$(echo "$out" | sed 1d | json 'j["error"]')
	[ -n "$msg" ] || fail "$r: no error message"
done
grep -q 'database: ' "$WORK/server.log" || fail "the failures are not logged"
echo "ok: the failures are logged"

say "the server still serves what does not read those tables"
expect_eq "communes" "$(get communes | head -n 1)" 200
expect_eq "entitlements" "$(get entitlements | head -n 1)" 200
