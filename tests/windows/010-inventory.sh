# The Windows agent's inventory, read from a wine registry filled with the
# fixtures (tests/fixtures/windows: 64-bit, 32-bit and per-user Uninstall
# entries with accented names, hidden entries, a product key; the version
# keys of Windows 11 23H2): `mutu-agent.exe --inventory` is valid against
# the GLPI schema, lists every visible entry with its name in correct UTF-8,
# its version, publisher, date, arch (i586 for the 32-bit view) and folder
# (profiles masked), leaves out what Programs and Features hides, and holds
# no product key and no user name. Then the agent delivers it and the
# server holds the same software list and OS.
. tests/windows/lib.sh
schema=${GLPI_SCHEMA:-../shared/glpi-inventory-format/inventory.schema.json}
[ -f "$schema" ] || skip "GLPI schema not found at $schema (set GLPI_SCHEMA)"
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema missing"
win_init
# After win_init: wine keeps HKEY_USERS\<another SID> (alice's loaded hive)
# only while the prefix runs, and the keep-alive program keeps it running.
reg_import tests/fixtures/windows/software.reg
reg_import tests/fixtures/windows/os-win11.reg
reg_has 'HKU\S-1-5-21-1004336348-1177238915-682003330-1001\Software\Microsoft\Windows\CurrentVersion\Uninstall\Plume' ||
	fail "the second user's hive did not load"
# The wine user's name, which no path may show.
wuser=$(wrun cmd /c 'echo %USERNAME%' 2>/dev/null | tr -d '\r')
[ -n "$wuser" ] || fail "cannot read the wine user name"

t0=$(date +%s%N)
agent --inventory >"$WORK/inv.json" 2>"$WORK/inv.err" ||
	fail "mutu-agent.exe --inventory failed: $(cat "$WORK/inv.err")"
t1=$(date +%s%N)
echo "inventory printed in $(((t1 - t0) / 1000000)) ms (wine start included)"

/usr/bin/python3 - "$schema" "$WORK/inv.json" "$wuser" <<'PY' || fail "inventory checks"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
raw = open(sys.argv[2], "rb").read()
text = raw.decode("utf-8")  # strict: invalid UTF-8 fails here
doc = json.loads(text)
jsonschema.Draft7Validator(schema).validate(doc)
c = doc["content"]
for section in ("hardware", "operatingsystem", "cpus", "softwares",
                "networks", "drives"):
    assert section in c, "missing section " + section
soft = c["softwares"]
by_name = {}
for s in soft:
    assert s["name"] not in by_name, "listed twice: " + s["name"]
    by_name[s["name"]] = s

def entry(name, **want):
    assert name in by_name, "missing: %r (have %r)" % (name, sorted(by_name))
    s = by_name[name]
    for k, v in want.items():
        got = s.get(k)
        assert got == v, "%s: %s = %r, expected %r" % (name, k, got, v)
    for k in ("arch", "install_date", "folder"):
        if k not in want:
            assert k not in s, "%s: unexpected %s %r" % (name, k, s[k])

# 64-bit view.
entry("Logiciel Mairie Édition Première", version="4.2.1",
      publisher="Éditeur Territorial SA", install_date="2023-09-15",
      arch="x86_64", folder="C:\\Program Files\\Logiciel Mairie",
      guid="{6A2E1F3C-0B5D-4C7E-9F10-2B3C4D5E6F70}", filesize=20480 * 1024)
entry("Microsoft Office Professional Plus 2019 - fr-fr",
      version="16.0.10827.20138", publisher="Microsoft Corporation",
      arch="x86_64", folder="C:\\Program Files\\Microsoft Office",
      guid="ProPlus2019Volume - fr-fr")
entry("QGIS 3.34.4 'Prizren'", install_date="2024-03-01", arch="x86_64",
      folder="C:\\Program Files\\QGIS 3.34.4")
entry("Gestion État Civil", version="2024.1", arch="x86_64")
# 32-bit view.
entry("Adobe Acrobat Reader DC - Français", version="23.008.20470",
      install_date="2023-11-20", arch="i586",
      folder="C:\\Program Files (x86)\\Adobe\\Acrobat Reader DC")
entry("Übersetzer", version="2.0", publisher="Sprachwerk GmbH",
      install_date="2022-04-01", arch="i586", guid="Übersetzer")
# Per-user: the wine user's and alice's hives; profiles masked; Zoom,
# installed by both, once.
entry("Microsoft Teams classic", version="1.7.00.6058",
      install_date="2024-01-10")
entry("Zoom Workplace", version="5.17.11",
      folder="%USERPROFILE%\\AppData\\Roaming\\Zoom")
entry("Plume Éditeur de délibérations", version="1.3.0",
      folder="%USERPROFILE%\\AppData\\Local\\Programs\\Plume")
# Hidden: a system component, an update, a nameless entry, a service
# account's hive.
for name in ("Microsoft Visual C++ 2019 X64 Minimum Runtime - 14.29.30133",
             "Mise à jour de sécurité pour Microsoft Office (KB5002345)",
             "Outil du service local"):
    assert name not in by_name, "hidden entry listed: " + name
assert not any(s.get("guid") == "Connection Manager" for s in soft), \
    "nameless entry listed"
fixture = 9
assert len(soft) >= fixture, "%d entries" % len(soft)
# No product key, no user name.
for secret in ("MUTU1-FAKE2", "MUTU-FAKE-KEY", "alice"):
    assert secret.lower() not in text.lower(), secret + " in the inventory"
assert ("users\\\\" + sys.argv[3]).lower() not in text.lower(), \
    "the wine user's profile path in the inventory"
os_ = c["operatingsystem"]
for k, v in (("name", "Windows"), ("full_name", "Microsoft Windows 11 Pro"),
             ("version", "23H2"), ("kernel_version", "10.0.22631.2861"),
             ("install_date", "2024-01-15 08:50:08"), ("arch", "x86_64")):
    assert os_.get(k) == v, "operatingsystem.%s = %r, expected %r" % (
        k, os_.get(k), v)
assert c["hardware"]["memory"] > 0 and c["cpus"][0]["core"] >= 1
assert any(d.get("letter") == "C:" and d.get("systemdrive") for d in
           c["drives"]), "no system drive C:"
print("ok: valid GLPI inventory,", len(soft), "software entries (",
      sum(1 for s in soft if s.get("arch") == "i586"), "32-bit,",
      sum(1 for s in soft if "arch" not in s), "per-user ),",
      len(c["networks"]), "network entries,", len(c["drives"]), "drives")
PY

say "delivered: the server holds the same list"
start_server
bootstrap
win_agent_conf pc 29019 "startup_splay = 0"
agent -c "$WCONF" --once >"$WORK/once.log" 2>&1 ||
	fail "agent --once: $(tail -n 20 "$WORK/once.log")"
id=$(cat "$WORK/pc/agent-id")
ctl --format json inventory "$id" >"$WORK/server.json"
/usr/bin/python3 - "$WORK/inv.json" "$WORK/server.json" <<'PY' || fail "the server's inventory differs"
import json, sys
agent = json.load(open(sys.argv[1], encoding="utf-8"))["content"]
server = json.load(open(sys.argv[2], encoding="utf-8"))
a = sorted((s["name"], s.get("version", ""), s.get("arch", ""))
           for s in agent["softwares"])
b = sorted((s["name"], s.get("version") or "", s.get("arch") or "")
           for s in server["software"])
assert a == b, "software differs:\nagent  %r\nserver %r" % (a, b)
assert server["os"] == agent["operatingsystem"]["full_name"], server["os"]
assert server["hostname"] == agent["hardware"]["name"], server["hostname"]
kept = server["inventory"]["content"]["softwares"]
assert any(s["name"] == "Logiciel Mairie Édition Première" for s in kept)
print("ok: server holds", len(b), "entries, os", server["os"])
PY
echo "done in $(elapsed) s"
