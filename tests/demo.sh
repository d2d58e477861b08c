#!/bin/sh
# make demo: a server on loopback with a fresh SQLite database, two
# communes, the real agent run on this machine once for each, and the
# licence table across both. Everything lives in $DEMO_DIR.
set -eu
BUILD=${BUILD:-build}
B=$(cd "$BUILD" && pwd)
D=${DEMO_DIR:-/tmp/mutu-demo}
rm -rf "$D"
mkdir -p "$D"
chmod 700 "$D"
DB="$D/server.db"

"$B/mutu-server" -D "$DB" commune add 29019 Brest
"$B/mutu-server" -D "$DB" commune add 29075 Guipavas
TOKEN=$("$B/mutu-server" -D "$DB" admin-token)
"$B/mutu-server" -D "$DB" -d -l 127.0.0.1:0 --port-file "$D/port" \
	>"$D/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
i=0
while [ ! -s "$D/port" ]; do
	i=$((i + 1))
	[ $i -lt 50 ] || { cat "$D/server.log"; exit 1; }
	sleep 0.1
done
URL="http://127.0.0.1:$(cat "$D/port")"
echo "mutu-server listening on $URL (database $DB)"

for c in 29019 29075; do
	secret=$("$B/mutu-server" -D "$DB" enrol-secret $c)
	cat >"$D/agent-$c.conf" <<CONF
# mutu-agent configuration for the demo: commune $c
server = $URL
commune = $c
enrol_secret = $secret
state_dir = $D/agent-$c
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

export MUTU_SERVER="$URL" MUTU_TOKEN="$TOKEN"
echo
echo "== mutuctl machines"
"$B/mutuctl" machines
echo
echo "== mutuctl licences --limit 12 (most used first; '*' = all communes)"
"$B/mutuctl" licences --limit 12
echo
echo "== mutuctl licences --product bash"
"$B/mutuctl" licences --product bash

kill -TERM $SERVER
wait $SERVER
trap - EXIT
echo
echo "Server stopped cleanly. To query further:"
echo "  $B/mutu-server -D $DB -d -l 127.0.0.1:$(cat "$D/port") &"
echo "  export MUTU_SERVER=$URL MUTU_TOKEN=$TOKEN"
echo "  $B/mutuctl licences --commune 29019 --days 7"
echo "  $B/mutuctl inventory $(hostname)     # or --format json|csv"
