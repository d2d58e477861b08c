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
cred=$(api POST /api/v1/foreign-credentials '{"commune": "29019"}')
pass=$(echo "$cred" | json 'j["password"]')
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
curl -s -o /dev/null "$URL/healthz" || fail "server died"

say "one PC, FusionInventory and mutu-agent: counted once"
agent_conf pc 29019
agent_once pc >/dev/null 2>&1 || fail "mutu-agent failed"
aid=$(cat "$WORK/pc/agent-id")
merged=$(sdb "SELECT count(*) FROM agents WHERE merged_into = '$aid'")
expect_eq "foreign machines merged into mutu-agent's" "$merged" 2
expect_eq "machines in service" "$(sdb "SELECT count(*) FROM agents WHERE retired_at IS NULL AND revoked = 0")" 1
# a later report of the merged PC is acknowledged, not stored again
fusion --user 29019 --password "$pass" >"$WORK/fi4.log" 2>&1 || fail "run after merge exited $?"
expect_eq "machines in service after another FusionInventory run" \
	"$(sdb "SELECT count(*) FROM agents WHERE retired_at IS NULL AND revoked = 0")" 1
echo "ok: foreign agents"
