#!/bin/sh
# make demo: a server on loopback with a fresh SQLite database, two
# communes, the real agent run on this machine once for each, and the
# licence table across both. Everything lives in a directory of its own,
# made here (or $DEMO_DIR, which must not exist yet), kept for a look
# afterwards: the demo prints where.
set -eu
BUILD=${BUILD:-build}
B=$(cd "$BUILD" && pwd)
if [ -n "${DEMO_DIR:-}" ]; then
	D=$DEMO_DIR
	mkdir "$D" || { echo "demo: $D exists: name a new directory" >&2; exit 1; }
else
	D=$(mktemp -d /tmp/mutu-demo.XXXXXX)
fi
chmod 700 "$D"
DB="$D/server.db"

"$B/mutu-server" -D "$DB" commune add 29019 Brest
"$B/mutu-server" -D "$DB" commune add 29075 Guipavas
TOKEN=$("$B/mutu-server" -D "$DB" admin-token)
# A private CA and a certificate for this site: everything goes over TLS.
"$B/mutu-server" tls-init "$D/pki" localhost,127.0.0.1
"$B/mutu-server" -D "$DB" -d -l 127.0.0.1:0 --port-file "$D/port" \
	--tls-cert "$D/pki/server.pem" --tls-key "$D/pki/server.key" \
	>"$D/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
i=0
while [ ! -s "$D/port" ]; do
	i=$((i + 1))
	[ $i -lt 50 ] || { cat "$D/server.log"; exit 1; }
	sleep 0.1
done
URL="https://localhost:$(cat "$D/port")"
echo "mutu-server listening on $URL (database $DB)"

for c in 29019 29075; do
	secret=$("$B/mutu-server" -D "$DB" enrol-secret $c)
	cat >"$D/agent-$c.conf" <<CONF
# mutu-agent configuration for the demo: commune $c
server = $URL
commune = $c
enrol_secret = $secret
state_dir = $D/agent-$c
ca_file = $D/pki/ca.pem
# one key per commune, shared by its PCs, unknown to the server
user_key = demo-key-$c-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
# a demo on a server box: count system services too (default: 1000)
usage_min_uid = 0
CONF
	chmod 600 "$D/agent-$c.conf"
	echo
	echo "== mutu-agent --once for commune $c"
	"$B/mutu-agent" -c "$D/agent-$c.conf" --once
done

export MUTU_SERVER="$URL" MUTU_TOKEN="$TOKEN" MUTU_CA_FILE="$D/pki/ca.pem"

# Commune PCs usually run Windows and commercial software, which this
# machine lacks: five simulated PCs join the real agents, sending their
# inventories and usage through the same protocol.
OFFICE="C:/Program Files/Microsoft Office/root/Office16/WINWORD.EXE"
ACRO="C:/Program Files/Adobe/Acrobat DC/Acrobat/Acrobat.exe"
QGIS="C:/Program Files/QGIS 3.28/bin/qgis-bin.exe"
S1=$("$B/mutu-server" -D "$DB" enrol-secret 29019)
S2=$("$B/mutu-server" -D "$DB" enrol-secret 29075)
D90=$(seq -s, 1 85)
cat >"$D/fleet.json" <<JSON
{"secrets": {"29019": "$S1", "29075": "$S2"},
 "machines": [
  {"name": "mairie-brest-accueil", "commune": "29019",
   "software": [{"name": "Microsoft Office Professional Plus 2019"}, {"name": "QGIS 3.28.4"}],
   "usage": [["Microsoft Office Professional Plus 2019", "$OFFICE", "agent-1", 1, 9, 3],
             ["QGIS 3.28.4", "$QGIS", "agent-1", 2, 14, 2]], "days": [$D90]},
  {"name": "mairie-brest-urbanisme", "commune": "29019",
   "software": [{"name": "Microsoft Office Professional Plus 2019"}, {"name": "Adobe Acrobat Pro 2020"}],
   "usage": [["Microsoft Office Professional Plus 2019", "$OFFICE", "agent-2", 1, 8, 6],
             ["Adobe Acrobat Pro 2020", "$ACRO", "agent-2", 3, 10, 1]], "days": [$D90]},
  {"name": "mairie-brest-elus", "commune": "29019",
   "software": [{"name": "Microsoft Office Professional Plus 2019"}, {"name": "Adobe Acrobat Pro 2020"}],
   "days": [$D90]},
  {"name": "mairie-guipavas-accueil", "commune": "29075",
   "software": [{"name": "Microsoft Office Standard 2019"}],
   "usage": [["Microsoft Office Standard 2019", "$OFFICE", "agent-3", 1, 9, 2]], "days": [$D90]},
  {"name": "mairie-guipavas-cantine", "commune": "29075",
   "software": [{"name": "Microsoft Office Standard 2019"}], "days": [1, 2, 3]}
 ]}
JSON
/usr/bin/python3 tests/integration/fleet.py "$URL" "$D/fleet.json" "$D/fleet-state.json"
"$B/mutuctl" pools set brest-metropole --name "Brest métropole" \
	--members 29019,29075 --fixed-share 0.2 --basis hours >/dev/null
"$B/mutuctl" entitlements add --product ms-office-2019 --pool brest-metropole \
	--metric device --quantity 4 --total-cost 1200 --contract MP-2024-12 >/dev/null
"$B/mutuctl" entitlements add --product adobe-acrobat-pro --commune 29019 \
	--metric device --quantity 2 --unit-cost 180 >/dev/null

echo
echo "== mutuctl machines"
"$B/mutuctl" machines
echo
echo "== mutuctl licences --limit 12 (most used first; '*' = all communes)"
"$B/mutuctl" licences --limit 12
echo
TODAY=$(TZ=Europe/Paris date +%F)
echo "== mutuctl licences --raw --product bash --from $TODAY --to $TODAY"
echo "   (a raw package name, today: --days periods end yesterday)"
"$B/mutuctl" licences --raw --product bash --from "$TODAY" --to "$TODAY"
echo
echo "== mutuctl compliance   (owned x installed x used, commune -> pool -> all)"
"$B/mutuctl" compliance
echo
echo "== mutuctl reclaim      (licensed installs unused for 90 days)"
"$B/mutuctl" reclaim
echo
echo "== mutuctl costs --month $(date +%Y-%m)  (the pooled Office contract, shared by use)"
"$B/mutuctl" costs --month "$(date +%Y-%m)"
echo
echo "== mutuctl costs --year $(date +%Y)  (the year's statement)"
"$B/mutuctl" costs --year "$(date +%Y)"

kill -TERM $SERVER
wait $SERVER
trap - EXIT
echo
echo "Server stopped cleanly. To query further:"
echo "  $B/mutu-server -D $DB -d -l 127.0.0.1:$(cat "$D/port") \\"
echo "      --tls-cert $D/pki/server.pem --tls-key $D/pki/server.key &"
echo "  export MUTU_SERVER=$URL MUTU_TOKEN=$TOKEN MUTU_CA_FILE=$D/pki/ca.pem"
echo "  $B/mutuctl licences --commune 29019 --days 7"
echo "  $B/mutuctl inventory $(hostname)     # or --format json|csv"
echo "  $B/mutuctl compliance --commune 29019; $B/mutuctl catalogue unmatched"
echo "Everything is in $D (remove it when done: rm -r $D)."
