# The agent's inventory document validates against the GLPI inventory
# JSON schema (../shared/glpi-inventory-format, not shipped in this repo).
. tests/integration/lib.sh
schema=${GLPI_SCHEMA:-../shared/glpi-inventory-format/inventory.schema.json}
[ -f "$schema" ] || skip "GLPI schema not found at $schema (set GLPI_SCHEMA)"
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema missing"
"$B/mutu-agent" --inventory >"$WORK/inv.json"
/usr/bin/python3 - "$schema" "$WORK/inv.json" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
jsonschema.Draft7Validator(schema).validate(doc)
c = doc["content"]
for section in ("hardware", "operatingsystem", "cpus", "softwares", "networks", "drives"):
    assert section in c, "missing section " + section
assert len(c["softwares"]) > 10, "too few packages"
print("valid GLPI inventory:", len(c["softwares"]), "packages,",
      len(c["networks"]), "network entries,", len(c["drives"]), "drives")
PY
