# Two communes aggregate correctly: per-commune rows, totals across
# communes, and a commune admin sees only its own commune.
. tests/integration/lib.sh
start_server
bootstrap
agent_conf brest 29019
agent_conf guipavas 29075
agent_once brest || fail "brest agent failed"
agent_once guipavas || fail "guipavas agent failed"
ctl --format json licences --raw --product bash >"$WORK/lic.json"
cat "$WORK/lic.json"
expect_eq "Brest installed" "$(json '[r["installed"] for r in j if r["commune"]=="29019"][0]' <"$WORK/lic.json")" 1
expect_eq "Guipavas installed" "$(json '[r["installed"] for r in j if r["commune"]=="29075"][0]' <"$WORK/lic.json")" 1
expect_eq "total installed" "$(json '[r["installed"] for r in j if r["commune"]=="*"][0]' <"$WORK/lic.json")" 2
ctl --format json machines >"$WORK/m.json"
expect_eq "machines" "$(json 'len(j)' <"$WORK/m.json")" 2
expect_eq "communes of machines" "$(json '",".join(sorted(m["commune"] for m in j))' <"$WORK/m.json")" "29019,29075"
# Sum of communes equals the total for every product.
ctl --format json licences --raw >"$WORK/all.json"
json 'all(sum(r["installed"] for r in j if r["product"]==p and r["commune"]!="*") == t["installed"] for p in set(r["product"] for r in j) for t in j if t["product"]==p and t["commune"]=="*")' <"$WORK/all.json" | grep -qx True || fail "communes do not add up to totals"
# Table and CSV outputs.
ctl licences --raw --product bash
ctl --format csv licences --raw --product bash | head -n 1 | tr -d '\r' | grep -q '^product,commune,installed,used_machines,used_users,usage_hours,peak_concurrent,last_used$' || fail "csv header"
# A token scoped to Brest sees Brest only, and is refused Guipavas.
BREST=$(srv admin-token --commune 29019)
"$B/mutuctl" --server "$URL" --token "$BREST" --format json machines >"$WORK/mb.json"
expect_eq "scoped machines" "$(json '",".join(m["commune"] for m in j)' <"$WORK/mb.json")" 29019
set +e
"$B/mutuctl" --server "$URL" --token "$BREST" licences --commune 29075 2>"$WORK/err"
rc=$?
set -e
expect_eq "scoped refusal exit" "$rc" 1
grep -q "403" "$WORK/err" || fail "no 403: $(cat "$WORK/err")"
