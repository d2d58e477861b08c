# Hostile strings in every inventory field (SQL injection, markup, CSV
# formulas, control characters, bidi overrides) are stored and returned byte for byte,
# never executed; CSV output neutralises formulas; log lines stay single.
. tests/integration/lib.sh
start_server
bootstrap
cat >"$WORK/gen.py" <<'PY'
import json, sys
evil = ["Robert'); DROP TABLE software;--", "\" OR 1=1 --",
        "<script>alert(1)</script>", "=HYPERLINK(\"http://x\",\"y\")",
        "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "line\nbreak\ttab",
        "ünïcødé — 漢字", "%s%n%x", "../../etc/passwd",
        "\u001b]0;pwned\u0007\u001b[2J\u009b31m",
        "invoice\u202egnp.exe \u2066x\u2069\u200f"]
spec = {"secrets": {"29019": sys.argv[1]}, "machines": [{
    "name": "host'; DELETE FROM agents;--\nfake log line",
    "commune": "29019",
    "software": [{"name": e, "publisher": e, "version": e, "arch": e[:60]}
                 for e in evil],
    "usage": [[e, "/opt/" + str(i), e, 1, 9, 1] for i, e in enumerate(evil)]}]}
json.dump(spec, open(sys.argv[2], "w"))
json.dump(evil, open(sys.argv[3], "w"))
PY
/usr/bin/python3 "$WORK/gen.py" "$SECRET_29019" "$WORK/spec.json" "$WORK/evil.json"
/usr/bin/python3 tests/integration/fleet.py "$URL" "$WORK/spec.json" "$WORK/fleet.json"
expect_eq "tables intact" "$(sdb "SELECT count(*) FROM agents")" 1
id=$(json 'list(j.values())[0]["agent_id"]' <"$WORK/fleet.json")
ctl --format json inventory "$id" >"$WORK/inv.json"
/usr/bin/python3 - "$WORK/inv.json" "$WORK/evil.json" <<'PY'
import json, sys
inv, evil = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
names = sorted(s["name"] for s in inv["software"])
pubs = sorted(s["publisher"] for s in inv["software"])
assert names == sorted(evil), (names, evil)
assert pubs == sorted(evil)
assert sorted(s["version"] for s in inv["software"]) == sorted(evil)
assert sorted(s["arch"] for s in inv["software"]) == sorted(e[:60] for e in evil)
assert inv["hostname"].startswith("host'; DELETE FROM agents;--\nfake")
print("ok: every hostile string returned byte for byte")
PY
ctl --format json licences --raw --days 2 >"$WORK/lic.json"
json 'sorted(r["product"] for r in j if r["commune"]=="29019" and r["used_machines"])' <"$WORK/lic.json" >"$WORK/got"
json 'sorted(j)' <"$WORK/evil.json" >"$WORK/want"
cmp -s "$WORK/got" "$WORK/want" || fail "usage products differ: $(cat "$WORK/got")"
echo "ok: usage of hostile product names counted under their exact names"
ctl --format csv inventory "$id" >"$WORK/inv.csv"
grep -q "^\"'=HYPERLINK" "$WORK/inv.csv" || fail "formula not neutralised: $(cat "$WORK/inv.csv")"
grep -q "^'+cmd" "$WORK/inv.csv" || fail "+cmd not neutralised"
grep -q "^'@SUM" "$WORK/inv.csv" || fail "@SUM not neutralised"
echo "ok: CSV formulas neutralised"
esc=$(printf '\033')
grep -q "$esc\[2J" "$WORK/inv.csv" || fail "CSV to a file is not exact"
# To a terminal (a pty made by script(1)), CSV escapes control characters.
script -qec "env MUTU_TOKEN=$TOKEN $B/mutuctl --server $URL --format csv inventory $id" \
	/dev/null >"$WORK/inv.tty" || fail "mutuctl under script(1)"
if grep -q "$esc" "$WORK/inv.tty"; then fail "CSV to a terminal holds an ESC"; fi
grep -qF '\e]0;pwned\x07\e[2J\u009b31m' "$WORK/inv.tty" ||
	fail "escaped cell not found: $(grep pwned "$WORK/inv.tty")"
grep -qF 'invoice\u202egnp.exe \u2066x\u2069\u200f' "$WORK/inv.tty" ||
	fail "bidi controls not escaped: $(grep invoice "$WORK/inv.tty")"
if grep -q "$(printf '\342\200\256')" "$WORK/inv.tty"; then fail "a U+202E reached the terminal"; fi
echo "ok: CSV to a terminal shows control and bidi characters escaped, to a file exact"
if grep -q "^fake log line" "$WORK/server.log"; then fail "a network string forged a log line"; fi
echo "ok: log lines cannot be forged"
