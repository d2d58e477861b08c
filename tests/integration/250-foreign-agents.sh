# Foreign agents (docs/INTEROP.md): the real FusionInventory 2.6 and OCS
# Inventory 2.10 agents of Debian report this machine to mutu-server over
# the OCS XML protocol with a commune's credential. Their inventories are
# stored under that commune (whatever TAG they assert), their software
# lists equal dpkg's, a second run updates rather than duplicates, wrong
# or revoked credentials are refused, malformed bodies get a clear error,
# and the PC seen through them and through mutu-agent counts once.
. tests/integration/lib.sh
command -v fusioninventory-agent >/dev/null &&
	command -v ocsinventory-agent >/dev/null ||
	skip "fusioninventory-agent or ocsinventory-agent not installed (make deps)"
[ "$(id -u)" = 0 ] || skip "FusionInventory keeps its state in /var/lib: run as root"
unshare -m true 2>/dev/null || skip "cannot make a mount namespace (FusionInventory's state)"
SCHEMA=${GLPI_SCHEMA:-../shared/glpi-inventory-format/inventory.schema.json}
[ -f "$SCHEMA" ] || skip "GLPI schema not found at $SCHEMA (set GLPI_SCHEMA)"
start_server
bootstrap
api() { # METHOD PATH [BODY]
	curl -sS -X "$1" -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' ${3:+--data "$3"} "$URL$2"
}

say "a credential for Brest's foreign agents"
cred=$(api POST /api/v1/foreign-credentials '{"commune": "29019", "label": "fusion"}')
user=$(echo "$cred" | json 'j["user"]')
pass=$(echo "$cred" | json 'j["password"]')
cid=$(echo "$cred" | json 'j["id"]')
expect_eq "credential user" "$user" 29019

# FusionInventory keeps its device id in /var/lib/fusioninventory-agent:
# a private mount gives it $WORK/fi instead (both runs share it).
mkdir -p "$WORK/fi"
fusion() { # [extra options]
	unshare -m sh -c 'mount --bind "$0" /var/lib/fusioninventory-agent &&
		exec timeout 120 fusioninventory-agent --config=none --logger=stderr \
		--no-httpd --tasks=inventory --force "$@"' "$WORK/fi" \
		--server "$URL/ocsinventory" "$@"
}
# The OCS agent takes its user and password base64-encoded.
b64() { printf '%s' "$1" | base64 -w0; }
ocs() { # USER PASSWORD [extra options]
	u=$(b64 "$1") p=$(b64 "$2")
	shift 2
	timeout 120 ocsinventory-agent --basevardir="$WORK/ocs" --force --nolocal \
		--server "$URL/ocsinventory" --realm mutu --user "$u" --password "$p" "$@"
}
machines() { sdb "SELECT count(*) FROM agents WHERE source = '$1'"; }
dpkg_names() {
	dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" {print $2}' | sort -u
}

say "FusionInventory, Brest's credential, a TAG claiming Guipavas"
fusion --user "$user" --password "$pass" --tag 29075 >"$WORK/fi1.log" 2>&1 ||
	fail "fusioninventory-agent exited $?: $(tail -5 "$WORK/fi1.log")"
expect_eq "FusionInventory machines" "$(machines fusioninventory)" 1
expect_eq "its commune" "$(sdb "SELECT commune FROM agents WHERE source = 'fusioninventory'")" 29019
fid=$(sdb "SELECT agent_id FROM agents WHERE source = 'fusioninventory'")
sdb "SELECT name FROM software WHERE agent_id = '$fid'" | sort -u >"$WORK/fi.names"
dpkg_names >"$WORK/dpkg.names"
# FusionInventory lists installed packages (dpkg status "ii")
cmp -s "$WORK/fi.names" "$WORK/dpkg.names" ||
	fail "FusionInventory's software differs from dpkg's: $(diff "$WORK/fi.names" "$WORK/dpkg.names" | head -5)"
echo "ok: $(wc -l <"$WORK/fi.names") packages, as dpkg lists them"

say "the stored inventory is in the GLPI format"
sdb "SELECT inventory FROM agents WHERE agent_id = '$fid'" >"$WORK/fi.json"
/usr/bin/python3 - "$WORK/fi.json" "$SCHEMA" <<'PY' || fail "FusionInventory's inventory does not validate"
import json, sys, jsonschema
doc = json.load(open(sys.argv[1]))
schema = json.load(open(sys.argv[2]))
jsonschema.validate(doc, schema)
c = doc["content"]
assert c["hardware"]["name"], "no host name"
assert c["operatingsystem"].get("full_name"), "no system name"
assert len(c["softwares"]) > 100, "few softwares"
print("ok: valid GLPI inventory, host", c["hardware"]["name"])
PY

say "a second run updates the same machine"
before=$(sdb "SELECT inventory_at FROM agents WHERE agent_id = '$fid'")
sleep 1
fusion --user "$user" --password "$pass" >"$WORK/fi2.log" 2>&1 ||
	fail "second run exited $?: $(tail -5 "$WORK/fi2.log")"
expect_eq "FusionInventory machines after two runs" "$(machines fusioninventory)" 1
after=$(sdb "SELECT inventory_at FROM agents WHERE agent_id = '$fid'")
[ "$after" -gt "$before" ] || fail "inventory not updated ($before, $after)"

say "OCS Inventory agent, the same credential"
ocs "$user" "$pass" >"$WORK/ocs1.log" 2>&1 ||
	fail "ocsinventory-agent exited $?: $(tail -5 "$WORK/ocs1.log")"
expect_eq "OCS machines" "$(machines ocs)" 1
oid=$(sdb "SELECT agent_id FROM agents WHERE source = 'ocs'")
n=$(sdb "SELECT count(*) FROM software WHERE agent_id = '$oid'")
[ "$n" -gt 100 ] || fail "OCS inventory holds $n software entries"
sdb "SELECT name FROM software WHERE agent_id = '$oid'" | sort -u >"$WORK/ocs.names"
cmp -s "$WORK/ocs.names" "$WORK/dpkg.names" ||
	fail "OCS's software differs from dpkg's: $(diff "$WORK/ocs.names" "$WORK/dpkg.names" | head -5)"
echo "ok: OCS: $(wc -l <"$WORK/ocs.names") packages, as dpkg lists them (multi-arch ones split into name and arch)"
ocs "$user" "$pass" >"$WORK/ocs2.log" 2>&1 ||
	fail "second OCS run exited $?"
expect_eq "OCS machines after two runs" "$(machines ocs)" 1

say "wrong and revoked credentials are refused"
if fusion --user "$user" --password wrong >"$WORK/fi3.log" 2>&1; then
	grep -qi 'error\|wrong\|refused' "$WORK/fi3.log" ||
		fail "a wrong password was not refused: $(tail -3 "$WORK/fi3.log")"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' -u "29075:$pass" --data-binary '<REQUEST/>' "$URL/ocsinventory")
expect_eq "Brest's password as Guipavas" "$code" 403
code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary '<REQUEST/>' "$URL/ocsinventory")
expect_eq "no credential" "$code" 401
api DELETE "/api/v1/foreign-credentials/$cid" >/dev/null
code=$(curl -s -o "$WORK/stop.z" -w '%{http_code}' -u "29019:$pass" --data-binary '<REQUEST/>' "$URL/ocsinventory")
expect_eq "revoked credential" "$code" 403
/usr/bin/python3 -c "import zlib,sys; t=zlib.decompress(open(sys.argv[1],'rb').read()).decode(); assert '<RESPONSE>STOP</RESPONSE>' in t, t" "$WORK/stop.z" ||
	fail "the refusal is not the protocol's STOP"
expect_eq "audited" "$(sdb "SELECT count(*) FROM audit WHERE detail LIKE '%foreign-credentials%'")" 2

say "malformed bodies get an error naming the problem"
pass=$(ctl foreign-credentials create --commune 29019 --label mutuctl 2>"$WORK/user.txt")
grep -q '^user: 29019' "$WORK/user.txt" || fail "mutuctl does not name the user: $(cat "$WORK/user.txt")"
expect_eq "credentials listed (one revoked)" \
	"$(ctl --format json foreign-credentials list | json '[(c["label"], c["revoked"], c["uses"] > 0) for c in j]')" \
	"[('fusion', 1, True), ('mutuctl', 0, False)]"
bad() { # WHAT BODY STATUS
	code=$(curl -s -o "$WORK/bad.json" -w '%{http_code}' -u "29019:$pass" --data-binary "$2" "$URL/ocsinventory")
	[ "$code" = "$3" ] || fail "$1: HTTP $code, expected $3"
	grep -q "$4" "$WORK/bad.json" || fail "$1: $(cat "$WORK/bad.json")"
	echo "ok: $1: $code $(cat "$WORK/bad.json")"
}
bad "not XML" 'hello' 400 'not valid gzip or zlib'
bad "broken XML" '<REQUEST><QUERY>' 400 'malformed XML'
bad "DOCTYPE" '<!DOCTYPE r [<!ENTITY a "aaaa">]><REQUEST><QUERY>PROLOG</QUERY><DEVICEID>x</DEVICEID></REQUEST>' 400 'DOCTYPE'
bad "no DEVICEID" '<REQUEST><QUERY>PROLOG</QUERY></REQUEST>' 400 'DEVICEID'
bad "other query" '<REQUEST><QUERY>SNMPQUERY</QUERY><DEVICEID>x</DEVICEID></REQUEST>' 400 'not served'
/usr/bin/python3 -c "import zlib,sys; sys.stdout.buffer.write(zlib.compress(b'<REQUEST>' + b'<A>' * 40 + b'</A>' * 40 + b'<QUERY>INVENTORY</QUERY><DEVICEID>d</DEVICEID><CONTENT/></REQUEST>'))" >"$WORK/deep.z"
code=$(curl -s -o "$WORK/bad.json" -w '%{http_code}' -u "29019:$pass" -H 'Content-Type: application/x-compress-zlib' --data-binary @"$WORK/deep.z" "$URL/ocsinventory")
expect_eq "nesting past 32 levels" "$code" 400
long=$(printf 'd%.0s' $(seq 300))
bad "DEVICEID over 255 bytes" "<REQUEST><QUERY>PROLOG</QUERY><DEVICEID>$long</DEVICEID></REQUEST>" 400 'DEVICEID'
curl -s -o /dev/null "$URL/healthz" || fail "server died"

say "odd fields are cut or left out, never cost the inventory"
/usr/bin/python3 - "$long" >"$WORK/odd.xml" <<'PY'
import sys
long = sys.argv[1]
print(f"""<?xml version="1.0" encoding="UTF-8"?><REQUEST><DEVICEID>odd-pc-2026</DEVICEID>
<QUERY>INVENTORY</QUERY><CONTENT><HARDWARE><NAME>odd-pc</NAME><MEMORY>-5</MEMORY></HARDWARE>
<BIOS><BDATE>01/01/-001</BDATE><SSN>To be filled by O.E.M.</SSN></BIOS>
<SOFTWARES><VERSION>1.0</VERSION></SOFTWARES><SOFTWARES><NAME></NAME></SOFTWARES>
<SOFTWARES><NAME>{long}</NAME><FILESIZE>99999999999999999999</FILESIZE><INSTALLDATE>31/12/2020</INSTALLDATE></SOFTWARES>
<SOFTWARES><NAME>ok-app</NAME><ARCH>amd64</ARCH></SOFTWARES>
<NETWORKS><MACADDR>00:00:00:00:00:00</MACADDR><STATUS>Up</STATUS><TYPE>Ethernet</TYPE></NETWORKS>
</CONTENT></REQUEST>""")
PY
code=$(curl -s -o "$WORK/odd.out" -w '%{http_code}' -u "29019:$pass" --data-binary @"$WORK/odd.xml" "$URL/ocsinventory")
expect_eq "odd inventory accepted" "$code" 200
odd=$(sdb "SELECT agent_id FROM agents WHERE hostname = 'odd-pc'")
expect_eq "software kept (nameless left out, long name cut)" \
	"$(sdb "SELECT length(name) FROM software WHERE agent_id = '$odd' ORDER BY 1")" "$(printf '6\n255')"
sdb "SELECT inventory FROM agents WHERE agent_id = '$odd'" >"$WORK/odd.json"
/usr/bin/python3 - "$WORK/odd.json" "$SCHEMA" <<'PY' || fail "odd inventory"
import json, sys, jsonschema
doc = json.load(open(sys.argv[1]))
jsonschema.validate(doc, json.load(open(sys.argv[2])))
c = doc["content"]
assert "memory" not in c["hardware"] and "bdate" not in c["bios"], c
sw = {s["name"][:6]: s for s in c["softwares"]}
assert sw["dddddd"]["install_date"] == "2020-12-31" and "filesize" not in sw["dddddd"], sw
assert c["networks"][0]["status"] == "up" and c["networks"][0]["type"] == "ethernet"
print("ok: out-of-range and malformed fields left out, dates converted, valid GLPI inventory")
PY

say "one PC, FusionInventory and mutu-agent: counted once"
agent_conf pc 29019
agent_once pc >/dev/null 2>&1 || fail "mutu-agent failed"
aid=$(cat "$WORK/pc/agent-id")
merged=$(sdb "SELECT count(*) FROM agents WHERE merged_into = '$aid'")
expect_eq "foreign machines merged into mutu-agent's" "$merged" 2
expect_eq "machines in service" "$(sdb "SELECT count(*) FROM agents WHERE retired_at IS NULL AND revoked = 0 AND hostname <> 'odd-pc'")" 1
# a later report of the merged PC is acknowledged, not stored again
fusion --user 29019 --password "$pass" >"$WORK/fi4.log" 2>&1 || fail "run after merge exited $?"
expect_eq "machines in service after another FusionInventory run" \
	"$(sdb "SELECT count(*) FROM agents WHERE retired_at IS NULL AND revoked = 0 AND hostname <> 'odd-pc'")" 1
echo "ok: foreign agents"

say "GLPI Agent's JSON protocol, from its public specification"
EXAMPLES=$(dirname "$SCHEMA")/examples
/usr/bin/python3 - "$URL" "$pass" "$EXAMPLES" "$SCHEMA" <<'PY' || fail "JSON protocol"
import base64, gzip, json, sys, urllib.request, urllib.error, zlib
url, password, examples, schema_path = sys.argv[1:5]
agent = "3a609a2e-947f-4e6a-9af9-32c024ac3944"
def post(body, ctype="application/json", user="29019", pw=password, path="/"):
    h = {"Content-Type": ctype, "GLPI-Agent-ID": agent, "Pragma": "no-cache",
         "User-Agent": "GLPI-Agent_v1.7"}
    if user is not None:
        h["Authorization"] = "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
    req = urllib.request.Request(url + path, data=body, headers=h, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read())
def check(what, got, want):
    assert got == want, f"{what}: got {got!r}, expected {want!r}"
    print(f"ok: {what} = {want!r}")

# first contact: an XML PROLOG naming the agent gets a JSON answer
prolog = b"<?xml version='1.0'?><REQUEST><QUERY>PROLOG</QUERY><DEVICEID>glpixps-2018-07-09-09-07-13</DEVICEID></REQUEST>"
st, hd, j = post(zlib.compress(prolog), "application/x-compress-zlib")
check("PROLOG answer", (st, j["status"], j["expiration"]), (200, "ok", 24))
check("agent id echoed", hd["GLPI-Agent-ID"], agent)
# CONTACT: inventory is the task, every other one disabled
st, hd, j = post(json.dumps({"action": "contact", "deviceid": "glpixps-2018-07-09-09-07-13",
    "name": "GLPI-Agent", "version": "1.7", "installed-tasks": ["inventory", "deploy", "collect"],
    "enabled-tasks": ["inventory", "wakeonlan"]}).encode())
check("contact", (st, j["status"], "inventory" in j["tasks"]), (200, "ok", True))
check("disabled tasks", sorted(j["disabled"]), ["collect", "deploy", "wakeonlan"])
# a full inventory, gzip-compressed
full = json.load(open(f"{examples}/computer_1.json"))
st, hd, j = post(gzip.compress(json.dumps(full).encode()), "application/x-compress-gzip")
check("full inventory", (st, j["status"]), (200, "ok"))
# a partial one: its sections replace the stored ones, the others stay
part = json.load(open(f"{examples}/computer_1_partial_softs.json"))
part["content"]["softwares"] = part["content"]["softwares"][:2]
st, hd, j = post(json.dumps(part).encode())
check("partial inventory", (st, j["status"]), (200, "ok"))
# errors: the protocol's error answers with a 4xx status
for what, body, ctype, want in [
        ("malformed json", b'{"action": "inventory",', "application/json", 400),
        ("no deviceid", b'{"action": "inventory", "content": {}}', "application/json", 400),
        ("unserved action", b'{"action": "netdiscovery", "deviceid": "x"}', "application/json", 400),
        ("content not an object", b'{"action": "inventory", "deviceid": "x", "content": 3}', "application/json", 400),
        ("brotli", b"\x0b\x02\x80", "application/x-compress-br", 415)]:
    st, hd, j = post(body, ctype)
    check(what, (st, j["status"]), (want, "error"))
    print("   message:", j["message"])
# a partial inventory of a PC the server holds nothing of
lone = dict(part, deviceid="never-seen-2026-12-01-00-00-00")
st, hd, j = post(json.dumps(lone).encode())
check("partial without a full one", (st, j["status"]), (409, "error"))
print("   message:", j["message"])
st, hd, j = post(b"{}", user=None)
check("no credential", (st, j["status"], hd["WWW-Authenticate"]), (401, "error", 'Basic realm="mutu"'))
st, hd, j = post(b"{}", pw="wrong")
check("wrong credential", (st, j["status"]), (403, "error"))
PY
gid=$(sdb "SELECT agent_id FROM agents WHERE source = 'glpi-agent'")
[ -n "$gid" ] || fail "no GLPI Agent machine"
expect_eq "GLPI Agent machine's commune" "$(sdb "SELECT commune FROM agents WHERE agent_id = '$gid'")" 29019
expect_eq "software after the partial inventory" "$(sdb "SELECT count(*) FROM software WHERE agent_id = '$gid'")" 2
sdb "SELECT inventory FROM agents WHERE agent_id = '$gid'" >"$WORK/glpi.json"
/usr/bin/python3 - "$WORK/glpi.json" "$SCHEMA" <<'PY' || fail "GLPI Agent's stored inventory"
import json, sys, jsonschema
doc = json.load(open(sys.argv[1]))
jsonschema.validate(doc, json.load(open(sys.argv[2])))
c = doc["content"]
assert "cpus" in c and "memories" in c, "sections the partial inventory left out are gone"
assert "users" not in c and "lastloggeduser" not in c["hardware"], "logins kept"
print("ok: partial inventory over the full one; no logins kept; valid GLPI inventory")
PY
echo "ok: GLPI Agent JSON protocol"

say "usage unknown, never zero: reclaim lists inventory-only machines as unreported"
/usr/bin/python3 - "$URL" "$pass" <<'PY' || fail "inventory of pc-compta"
import base64, json, sys, urllib.request
url, pw = sys.argv[1:3]
doc = {"action": "inventory", "deviceid": "pc-compta-2026-12-01-10-00-00",
       "content": {"hardware": {"name": "pc-compta"}, "versionclient": "GLPI-Agent_v1.7",
                   "softwares": [{"name": "AutoCAD LT 2022", "publisher": "Autodesk"}]}}
req = urllib.request.Request(url + "/", data=json.dumps(doc).encode(), method="POST", headers={
    "Content-Type": "application/json", "GLPI-Agent-ID": "0b6a2f7e-1c1d-4f5e-9a7b-2f4c5d6e7f80",
    "Authorization": "Basic " + base64.b64encode(f"29019:{pw}".encode()).decode()})
with urllib.request.urlopen(req, timeout=30) as r:
    assert json.loads(r.read())["status"] == "ok"
PY
ctl entitlements add --product autocad-lt --commune 29019 --metric device --quantity 1 \
	--unit-cost 400 >/dev/null
T=$(paris_day today)
ctl --format json reclaim --from "$T" --to "$T" --coverage 0 >"$WORK/reclaim.json"
expect_eq "pc-compta's AutoCAD" \
	"$(json '[(r["status"], r["inventory_only"]) for r in j["rows"] if r["hostname"] == "pc-compta"]' <"$WORK/reclaim.json")" \
	"[('unreported', True)]"
expect_eq "reclaimable saving" "$(json 'j["saving_cents"]' <"$WORK/reclaim.json")" 0
expect_eq "licences count its installation" \
	"$(api GET "/api/v1/licences?from=$T&to=$T&commune=29019&product=autocad-lt" | json '[r["installed"] for r in j["rows"]]')" "[1]"
# in service: odd-pc, the GLPI Agent PC and pc-compta (the other two
# were merged)
expect_eq "inventory-only machines (reclaim)" "$(json 'j["inventory_only_machines"]' <"$WORK/reclaim.json")" 3
expect_eq "inventory-only machines (licences)" \
	"$(api GET "/api/v1/licences?from=$T&to=$T" | json 'j["inventory_only_machines"]')" 3
expect_eq "machines listing" \
	"$(ctl --format json machines | json 'sorted(m["source"] for m in j if m["merged_into"] is None)')" \
	"['glpi-agent', 'glpi-agent', 'mutu-agent', 'ocs']"

say "mutu-agent leaves the PC (retired), FusionInventory stays: its machine is back"
api POST "/api/v1/machines/$aid/retire" >/dev/null
fusion --user 29019 --password "$pass" >"$WORK/fi5.log" 2>&1 || fail "run after retirement exited $?"
expect_eq "FusionInventory machine in service again" \
	"$(sdb "SELECT count(*) FROM agents WHERE source = 'fusioninventory' AND merged_into IS NULL AND retired_at IS NULL")" 1

say "a foreign machine an admin retires stays out"
fid=$(sdb "SELECT agent_id FROM agents WHERE source = 'fusioninventory'")
dev=$(sdb "SELECT inventory FROM agents WHERE agent_id = '$fid'" | json 'j["deviceid"]')
api POST "/api/v1/machines/$fid/retire" >/dev/null
printf '<REQUEST><QUERY>INVENTORY</QUERY><DEVICEID>%s</DEVICEID><CONTENT><HARDWARE><NAME>vm</NAME></HARDWARE></CONTENT></REQUEST>' "$dev" >"$WORK/retired.xml"
code=$(curl -s -o "$WORK/retired.z" -w '%{http_code}' -u "29019:$pass" --data-binary @"$WORK/retired.xml" "$URL/ocsinventory")
expect_eq "its agent's report" "$code" 403
/usr/bin/python3 -c "import zlib,sys; assert b'<RESPONSE>STOP</RESPONSE>' in zlib.decompress(open(sys.argv[1],'rb').read())" "$WORK/retired.z" ||
	fail "not the protocol's STOP"

say "each credential and address has its rate (requests_per_minute)"
stop_server
server_conf "requests_per_minute = 3"
start_server
prolog='<REQUEST><QUERY>PROLOG</QUERY><DEVICEID>rate-pc</DEVICEID></REQUEST>'
for i in 1 2 3; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -u "29019:$pass" --data-binary "$prolog" "$URL/ocsinventory")
	[ "$code" = 200 ] || fail "PROLOG $i: HTTP $code"
done
code=$(curl -s -D "$WORK/h429" -o "$WORK/b429" -w '%{http_code}' -u "29019:$pass" \
	-H 'GLPI-Agent-ID: 0b6a2f7e-1c1d-4f5e-9a7b-2f4c5d6e7f80' --data-binary "$prolog" "$URL/ocsinventory")
expect_eq "fourth request in the minute" "$code" 429
grep -qi '^retry-after:' "$WORK/h429" || fail "429 without Retry-After"
expect_eq "in the JSON protocol's words" "$(json 'j["status"]' <"$WORK/b429")" error
