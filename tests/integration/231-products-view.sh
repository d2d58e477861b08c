#!/bin/sh
# licences by product (issue 15; docs/LICENCES.md, "licences"): the
# catalogue's products by default, raw names on request (view=raw,
# mutuctl licences --raw), and ignore rules drop their names from both,
# as from every other report. Figures worked out by hand below.
. tests/integration/lib.sh
server_conf 'privacy_k = 1'
start_server
bootstrap
W="libreoffice-writer" C="libreoffice-calc" O="Microsoft Office Professional Plus 2019"
P="Microsoft Office 2019 Proofing Tools"
# b1: two LibreOffice packages (one product), Office with its proofing
# tools (one product), libc6 and a kernel package (ignored by the default
# catalogue), and a name no rule knows. b2: LibreOffice Writer only.
cat >"$WORK/spec.json" <<JSON
{"secrets": {"29019": "$SECRET_29019", "29075": "$SECRET_29075"},
 "machines": [
  {"name": "b1", "commune": "29019",
   "software": [{"name": "$W"}, {"name": "$C"}, {"name": "$O"}, {"name": "$P"},
                {"name": "libc6"}, {"name": "linux-image-6.1.0-18-amd64"}, {"name": "acme-widget"}],
   "usage": [["$W", "/usr/lib/libreoffice/program/soffice.bin", "u1", 3, 9, 2],
             ["$C", "/usr/lib/libreoffice/program/soffice.bin", "u1", 3, 14, 1],
             ["libc6", "/usr/lib/x86_64-linux-gnu/libc.so.6", "u1", 3, 9, 4],
             ["acme-widget", "/opt/acme/widget", "u2", 3, 9, 0.5]]},
  {"name": "b2", "commune": "29019", "software": [{"name": "$W"}, {"name": "libc6"}],
   "usage": [["$W", "/usr/lib/libreoffice/program/soffice.bin", "u3", 3, 9, 1]]}
 ]}
JSON
/usr/bin/python3 tests/integration/fleet.py "$URL" "$WORK/spec.json" "$WORK/fleet.json"

# lic QUERY: the API's answer (rows and totals apart)
lic() { curl -s -H "Authorization: Bearer $TOKEN" "$URL/api/v1/licences?days=30${1:-}"; }
say "default: products"
lic >"$WORK/p.json"
names() { json "sorted({r['product'] for r in j['$1']})" <"$2"; }
fig() { json "[(r['installed'], r['used_machines'], r['used_users'], r['usage_seconds']) for r in j['$1'] if r['product']=='$2']" <"$3"; }
expect_eq "view" "$(json 'j["view"]' <"$WORK/p.json")" products
expect_eq "products only, no raw or ignored name" "$(names rows "$WORK/p.json")" \
	"['libreoffice', 'ms-office-2019']"
expect_eq "totals too" "$(names totals "$WORK/p.json")" "['libreoffice', 'ms-office-2019']"
# LibreOffice: installed on b1 and b2 (b1's two packages are one
# installation); used on both: u1 2 h + 1 h, u3 1 h = 4 h = 14,400 s by 2
# users on 2 machines.
expect_eq "LibreOffice" "$(fig rows libreoffice "$WORK/p.json")" "[(2, 2, 2, 14400)]"
expect_eq "Office (with its proofing tools: one product)" "$(fig rows ms-office-2019 "$WORK/p.json")" \
	"[(1, 0, 0, 0)]"
expect_eq "product name" "$(json '[r["product_name"] for r in j["rows"] if r["product"]=="libreoffice"]' <"$WORK/p.json")" \
	"['LibreOffice']"
expect_eq "--product takes a product key" \
	"$(ctl --format json licences --days 30 --product libreoffice | json '[(r["commune"], r["installed"]) for r in j]')" \
	"[('29019', 2), ('*', 2)]"
ctl licences --days 30 | tee "$WORK/p.txt"
grep -q "libc6\|acme\|linux-image" "$WORK/p.txt" && fail "raw names in the table"

say "view=raw: raw names, the ignored ones still left out"
lic "&view=raw" >"$WORK/r.json"
expect_eq "view" "$(json 'j["view"]' <"$WORK/r.json")" raw
expect_eq "raw names, without libc6 and the kernel" "$(names rows "$WORK/r.json")" \
	"['$P', '$O', 'acme-widget', '$C', '$W']"
# Writer: installed on b1 and b2, used 2 h (u1) and 1 h (u3).
expect_eq "Writer" "$(fig rows "$W" "$WORK/r.json")" "[(2, 2, 2, 10800)]"
expect_eq "acme-widget (no rule: listed raw)" "$(fig rows acme-widget "$WORK/r.json")" "[(1, 1, 1, 1800)]"
expect_eq "mutuctl licences --raw" \
	"$(ctl --format json licences --days 30 --raw | json 'sorted({r["product"] for r in j})')" \
	"['$P', '$O', 'acme-widget', '$C', '$W']"
expect_eq "view=bogus refused" \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL/api/v1/licences?view=bogus")" 400

say "a new ignore rule drops a name from every report, licences included"
ctl catalogue add-rule --field name --glob 'acme-*' --ignore >/dev/null
expect_eq "raw names" "$(lic "&view=raw" | json 'sorted({r["product"] for r in j["rows"] + j["totals"]})')" \
	"['$P', '$O', '$C', '$W']"
expect_eq "unmatched: none left" "$(ctl --format json catalogue unmatched | json 'len(j)')" 0
