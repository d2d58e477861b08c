#!/bin/sh
# Output formats of mutuctl (docs/LICENCES.md, "Formats"): CSV per RFC
# 4180 (CRLF after every record, fields with a comma, quote, CR or LF
# quoted, formulas neutralised with a leading '); tables with one line per
# row whatever the names hold (control characters, newlines, ANSI and C1
# escapes, bytes that are not UTF-8 shown as \n, \e, \u009b, \xNN: nothing
# reaches the terminal as an escape); compliance shows usage hours in
# every format; --limit trims rows, never the totals, which are over all
# rows.
. tests/integration/lib.sh
start_server
bootstrap
days() { /usr/bin/python3 -c "import json; print(json.dumps(list(range($1, $2 + 1))))"; }
WORD="C:/Program Files/Microsoft Office/root/Office16/WINWORD.EXE"
cat >"$WORK/gen.py" <<'PY'
import json, sys
office = {"name": "Microsoft Office Professional Plus 2019", "publisher": "Microsoft Corporation"}
evil_host = "ev\x1b[2Jil\nfake\u009b31m\x07"
raw = ["bad\x1b]0;title\x07name\r\nX,\"q\"", "=cmd|' /C calc'!A0", "tab\there"]
days = list(range(1, 90))
word = sys.argv[3]
spec = {"secrets": {"29019": sys.argv[1], "29075": sys.argv[2]}, "machines": [
    {"name": evil_host, "commune": "29019", "days": days,
     "software": [office] + [{"name": r} for r in raw]},
    {"name": "b2", "commune": "29019", "days": days, "software": [office],
     "usage": [["Microsoft Office Professional Plus 2019", word, "u1", 1, 9, 2]]},
    {"name": "b3", "commune": "29019", "days": days, "software": [office]},
    {"name": "g1", "commune": "29075", "days": days, "software": [office],
     "usage": [["Microsoft Office Professional Plus 2019", word, "u2", 1, 9, 1.5]]},
]}
json.dump(spec, open(sys.argv[4], "w"))
json.dump({"host": evil_host, "raw": raw}, open(sys.argv[5], "w"))
PY
/usr/bin/python3 "$WORK/gen.py" "$SECRET_29019" "$SECRET_29075" "$WORD" "$WORK/spec.json" "$WORK/evil.json"
/usr/bin/python3 tests/integration/fleet.py "$URL" "$WORK/spec.json" "$WORK/fleet.json"
CONTRACT='=HYPERLINK("http://x","y"), line
two'
ctl entitlements add --product ms-office-2019 --commune 29019 --metric device --quantity 1 \
	--unit-cost 300 --contract "$CONTRACT" >/dev/null
ctl pools set pg --name "$(printf 'Pool\nname\033[31m')" --members 29019,29075 \
	--fixed-share 0.25 >/dev/null
ctl entitlements add --product ms-office-2019 --pool pg --metric device --quantity 2 \
	--total-cost 100 >/dev/null
say "4 machines (one named with escapes), raw names with CR LF, comma, quote and a formula"

# csv_check FILE: RFC 4180 framing (every record ends in CRLF, no bare CR
# or LF outside quotes, quotes doubled), prints the records as JSON.
cat >"$WORK/rfc4180.py" <<'PY'
import csv, io, json, sys
data = open(sys.argv[1], "rb").read().decode()
assert data.endswith("\r\n"), "last record without CRLF"
q = False
for i, ch in enumerate(data):
    if ch == '"':
        q = not q
    elif not q and ch == "\n":
        assert data[i - 1] == "\r", f"bare LF at {i}: {data[max(0, i - 20):i]!r}"
    elif not q and ch == "\r":
        assert data[i + 1] == "\n", f"bare CR at {i}"
    elif not q and ch in "\x1b\x07":
        raise AssertionError(f"control character outside quotes at {i}")
assert not q, "unbalanced quotes"
rows = list(csv.reader(io.StringIO(data, newline="")))
assert len({len(r) for r in rows}) == 1, "ragged rows"
print(json.dumps(rows))
PY
csv_rows() { /usr/bin/python3 "$WORK/rfc4180.py" "$1" || fail "$1 is not RFC 4180 CSV: $(od -c "$1" | head -20)"; }
# table_check FILE: nothing a terminal obeys (C0 but LF, DEL, C1, bytes
# that are not UTF-8), and N lines.
cat >"$WORK/tty.py" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
text = data.decode("utf-8")  # raises on bytes that are not UTF-8
bad = [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) < 0xa0]
assert not bad, f"control characters reach the terminal: {bad!r}"
print(text.count("\n"))
PY
table_lines() { /usr/bin/python3 "$WORK/tty.py" "$1" || fail "$1: $(od -c "$1" | head -20)"; }

say "CSV: RFC 4180"
ctl --format csv catalogue unmatched >"$WORK/un.csv"
csv_rows "$WORK/un.csv" >"$WORK/un.json"
/usr/bin/python3 - "$WORK/un.json" "$WORK/evil.json" <<'PY'
import json, sys
rows, evil = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert rows[0] == ["name", "publisher", "machines"], rows[0]
names = {r[0] for r in rows[1:]}
for raw in evil["raw"]:
    want = "'" + raw if raw[0] in "=+-@\t\r" else raw
    assert want in names, (want, names)
print("ok: raw names with CR LF, comma, quotes and a formula read back exactly from the CSV")
PY
ctl --format csv entitlements list >"$WORK/ent.csv"
expect_eq "contract read back from the CSV (formula neutralised)" \
	"$(csv_rows "$WORK/ent.csv" | WANT="'$CONTRACT" json '[r[10] for r in j[1:] if r[2] == "29019"][0] == __import__("os").environ["WANT"]')" True
ctl --format csv reclaim >"$WORK/rec.csv"
csv_rows "$WORK/rec.csv" >"$WORK/rec.json"
expect_eq "host name with escapes read back exactly from the CSV" \
	"$(/usr/bin/python3 -c "import json; print(sorted(r[0] for r in json.load(open('$WORK/rec.json'))[1:]) == sorted(['b3', json.load(open('$WORK/evil.json'))['host']]))")" True
ctl --format csv pools list >"$WORK/pools.csv"
csv_rows "$WORK/pools.csv" >/dev/null
ctl --format csv machines >"$WORK/m.csv"
expect_eq "machines CSV records" "$(csv_rows "$WORK/m.csv" | json 'len(j)')" 5

say "tables: one line per row, no terminal escape"
ctl machines >"$WORK/m.txt"
expect_eq "machines table lines" "$(table_lines "$WORK/m.txt")" 5
grep -q 'ev\\e\[2Jil\\nfake\\u009b31m\\x07' "$WORK/m.txt" || fail "escapes not shown: $(cat "$WORK/m.txt")"
printf '%s\n' 'ok: the host name shows as ev\e[2Jil\nfake\u009b31m\x07'
ctl catalogue unmatched >"$WORK/un.txt"
table_lines "$WORK/un.txt" >/dev/null
grep -q 'bad\\e\]0;title\\x07name\\r\\nX,"q"' "$WORK/un.txt" || fail "raw name: $(cat "$WORK/un.txt")"
ctl entitlements list >"$WORK/ent.txt"
expect_eq "entitlements table lines" "$(table_lines "$WORK/ent.txt")" 3
ctl pools list >"$WORK/pools.txt"
expect_eq "pools table lines" "$(table_lines "$WORK/pools.txt")" 2
grep -q 'Pool\\nname\\e\[31m' "$WORK/pools.txt" || fail "pool name: $(cat "$WORK/pools.txt")"
ctl reclaim >"$WORK/rec.txt"
expect_eq "reclaim table lines (header, 2 rows, blank, total)" "$(table_lines "$WORK/rec.txt")" 5
# columns stay aligned: the STATUS column starts at the same place
expect_eq "aligned" "$(awk 'NR <= 3 { print index($0, "unused") }' "$WORK/rec.txt" | sort -u | wc -l)" 2

say "compliance keeps usage hours"
# Brest: b2 2 h (7200 s); Guipavas: g1 1.5 h (5400 s); all: 3.5 h.
ctl --format json compliance --product ms-office-2019 >"$WORK/c.json"
crow() { json "[r['$3'] for r in j if r['level']=='$1' and r['holder']=='$2'][0]" <"$WORK/c.json"; }
expect_eq "Brest seconds" "$(crow commune 29019 usage_seconds)" 7200
expect_eq "all seconds" "$(crow all '*' usage_seconds)" 12600
ctl --format csv compliance --product ms-office-2019 >"$WORK/c.csv"
expect_eq "CSV usage_hours" \
	"$(csv_rows "$WORK/c.csv" | json '[(r[2], r[j[0].index("usage_hours")]) for r in j[1:]]')" \
	"[('29019', '2.00'), ('29075', '1.50'), ('pg', '3.50'), ('*', '3.50')]"
ctl compliance --product ms-office-2019 >"$WORK/c.txt"
head -n 1 "$WORK/c.txt" | grep -q USAGE_HOURS || fail "table: $(head -n 1 "$WORK/c.txt")"
grep -q ' 3.50 ' "$WORK/c.txt" || fail "table hours: $(cat "$WORK/c.txt")"
echo "ok: table USAGE_HOURS"

say "--limit trims rows, totals over all rows"
api() { curl -sf -H "Authorization: Bearer $TOKEN" "$URL/api/v1/$1"; }
# (names hold escapes: compared by digest, not printed)
totals='(len(j["totals"]), __import__("hashlib").sha256(json.dumps(j["totals"]).encode()).hexdigest()[:16])'
all=$(api "licences?days=30" | json "$totals")
expect_eq "licences?limit=1: one row" "$(api "licences?days=30&limit=1" | json 'len(j["rows"])')" 1
expect_eq "licences?limit=1: every total" \
	"$(api "licences?days=30&limit=1" | json "$totals")" "$all"
ctl --format csv licences --limit 1 >"$WORK/lic.csv"
expect_eq "licences --limit 1 CSV: 1 row + every total" \
	"$(csv_rows "$WORK/lic.csv" | json '(sum(r[1] != "*" for r in j[1:]), sum(r[1] == "*" for r in j[1:]))')" \
	"$(api "licences?days=30" | json '(1, len(j["totals"]))')"
ctl reclaim --limit 1 >"$WORK/rec1.txt"
expect_eq "reclaim --limit 1 lines" "$(table_lines "$WORK/rec1.txt")" 4
tail -n 1 "$WORK/rec1.txt" | grep -q '^reclaimable: 600.00 EUR' || fail "total: $(tail -n 1 "$WORK/rec1.txt")"
echo "ok: reclaim total over both rows (2 x 300.00)"
expect_eq "reclaim --limit 1 JSON" \
	"$(ctl --format json reclaim --limit 1 | json '(len(j["rows"]), j["saving_eur"])')" "(1, '600.00')"
expect_eq "compliance --limit 2" "$(ctl --format json compliance --limit 2 | json 'len(j)')" 2
expect_eq "costs --limit 1 CSV records" "$(ctl --format csv costs --limit 1 | csv_rows /dev/stdin | json 'len(j)')" 2
