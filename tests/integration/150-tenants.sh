# Tenant isolation: every admin endpoint, asked by each commune's admin
# about each other commune, returns none of the other commune's data; and
# adding 1,000 machines to one commune changes another's figures by
# exactly nothing.
. tests/integration/lib.sh
server_conf 'enrol_per_minute = 0' 'requests_per_minute = 0'
start_server
bootstrap
srv commune add 29189 Plougastel >/dev/null
SECRET_29189=$(srv enrol-secret 29189)
CODES="29019 29075 29189"
cat >"$WORK/spec.json" <<JSON
{"secrets": {"29019": "$SECRET_29019", "29075": "$SECRET_29075", "29189": "$SECRET_29189"},
 "machines": [
$(for c in $CODES; do
	sep=","; [ "$c" = 29189 ] && sep=""
	echo "  {\"name\": \"host-$c\", \"commune\": \"$c\", \"software\": [{\"name\": \"secret-app-$c\"}, {\"name\": \"Microsoft Office Professional Plus 2019\"}],"
	echo "   \"usage\": [[\"secret-app-$c\", \"/opt/app-$c\", \"user-$c\", 1, 9, 2], [\"Microsoft Office Professional Plus 2019\", \"C:/office-$c.exe\", \"user-$c\", 1, 9, 1]], \"days\": [1, 2, 3]}$sep"
done)
 ]}
JSON
/usr/bin/python3 tests/integration/fleet.py "$URL" "$WORK/spec.json" "$WORK/fleet.json"
ctl pools set metro --name Metro --members 29019,29075 >/dev/null
for c in $CODES; do
	ctl entitlements add --product ms-office-2019 --commune $c --metric device \
		--quantity 1 --unit-cost 100 --contract "contract-$c" >/dev/null
	eval "TOKEN_$c=\$(srv admin-token --commune $c)"
done
ctl secrets create --commune 29075 --label "label-29075" >/dev/null

say "cross-tenant matrix"
ENDPOINTS="/api/v1/licences /api/v1/machines /api/v1/communes /api/v1/reports/compliance
/api/v1/reports/reclaim /api/v1/reports/costs /api/v1/reports/usage /api/v1/entitlements
/api/v1/pools /api/v1/secrets /api/v1/tokens /api/v1/audit /api/v1/catalogue/unmatched"
checked=0
for a in $CODES; do
	eval "tok=\$TOKEN_$a"
	for b in $CODES; do
		[ "$a" = "$b" ] && continue
		bid=$(json "j['host-$b']['agent_id']" <"$WORK/fleet.json")
		for ep in $ENDPOINTS "/api/v1/machines/host-$b" "/api/v1/machines/$bid"; do
			for q in "" "?commune=$b"; do
				curl -s -o "$WORK/resp" -H "Authorization: Bearer $tok" "$URL$ep$q"
				for marker in "host-$b" "$bid" "secret-app-$b" "user-$b" "contract-$b" "label-$b" "office-$b"; do
					if grep -q -- "$marker" "$WORK/resp"; then
						fail "$a's admin got '$marker' from $ep$q: $(head -c 300 "$WORK/resp")"
					fi
				done
				checked=$((checked + 1))
			done
		done
	done
done
echo "ok: $checked requests across 6 ordered pairs of communes, 0 bytes of another commune's data"
# And the owner does see its own data.
curl -s -H "Authorization: Bearer $TOKEN_29075" "$URL/api/v1/machines" | grep -q host-29075 ||
	fail "a commune's admin cannot see its own machines"

say "seeded aggregates: 1,000 machines added to 29075"
snap() { # commune -> figures of that commune as its admin and as the intercommunal admin
	eval "tok=\$TOKEN_$1"
	for ep in "/api/v1/licences?commune=$1" "/api/v1/reports/compliance?commune=$1" \
		"/api/v1/reports/usage?commune=$1" "/api/v1/reports/reclaim?commune=$1"; do
		curl -s -H "Authorization: Bearer $tok" "$URL$ep"
		echo
	done
}
snap 29189 >"$WORK/before"
/usr/bin/python3 - "$SECRET_29075" "$WORK/many.json" <<'PY'
import json, sys
json.dump({"secrets": {"29075": sys.argv[1]}, "machines": [
    {"name": "bulk-%d" % i, "commune": "29075",
     "software": [{"name": "Microsoft Office Professional Plus 2019"}],
     "usage": [["Microsoft Office Professional Plus 2019", "C:/o.exe", "u%d" % i, 1, 9, 1]]}
    for i in range(1000)]}, open(sys.argv[2], "w"))
PY
/usr/bin/python3 tests/integration/fleet.py "$URL" "$WORK/many.json" "$WORK/many-state.json"
expect_eq "machines in 29075" "$(ctl --format json machines --commune 29075 | json 'len(j)')" 1001
snap 29189 >"$WORK/after"
cmp -s "$WORK/before" "$WORK/after" || { diff "$WORK/before" "$WORK/after" | head; fail "29189's figures changed"; }
echo "ok: 29189's figures unchanged to the byte"
