# Inventory deltas: after the first full inventory an unchanged machine
# sends only what changed (at most 1 KB on the wire); a full inventory is
# sent periodically, and whenever the server lacks the agent's baseline
# (here: its copy was lost, as after restoring an old backup).
. tests/integration/lib.sh
start_server
bootstrap
start_proxy
agent_conf pc 29019 "server = $PROXY_URL" "startup_splay = 0" \
	"usage_min_uid = 1073741824"
sed -i "0,/^server = /{/^server = http:\/\/127.0.0.1:$PORT$/d}" "$WORK/pc.conf"
sizes() { proxied | /usr/bin/python3 -c "
import json, sys
print(' '.join(str(r['bytes']) for r in map(json.loads, sys.stdin) if r['path'] == '/api/v1/batches'))"; }
software() { sdb "SELECT count(*) FROM software"; }
agent_once pc 2>/dev/null || fail "first sync"
full=$(sizes)
n=$(software)
[ "$n" -gt 100 ] || fail "first inventory: $n packages"
echo "ok: full inventory, $full bytes on the wire, $n packages"
: >"$WORK/proxy.log"
agent_once pc 2>/dev/null || fail "second sync"
delta=$(sizes)
[ "$delta" -le 1024 ] || fail "unchanged inventory sent $delta bytes"
expect_eq "software unchanged after the delta" \
	"$(sdb "SELECT count(*) FROM software")" "$n"
echo "ok: unchanged inventory: $delta bytes on the wire (full: $full)"

say "the server loses the baseline: 409, then a full inventory"
stop_server
sdb "UPDATE agents SET inventory = NULL, inventory_digest = NULL; DELETE FROM software"
start_server "127.0.0.1:$PORT"
: >"$WORK/proxy.log"
agent_once pc 2>"$WORK/err" || { cat "$WORK/err"; fail "sync after the loss"; }
grep -q '"status": 409' "$WORK/proxy.log" || fail "no 409"
expect_eq "software after the full inventory" "$(software)" "$n"
expect_eq "deltas left in the queue" "$(sqlite3 "$WORK/pc/queue.db" "SELECT count(*) FROM records WHERE type = 'inventory_delta'")" 0
echo "ok: sizes after the loss: $(sizes)"

say "a full inventory when the last one is older than inventory_full_interval"
sqlite3 "$WORK/pc/queue.db" "UPDATE meta SET value = '1' WHERE key = 'inv_full_at'"
: >"$WORK/proxy.log"
agent_once pc 2>/dev/null || fail "periodic full"
s=$(sizes)
[ "$s" -gt 4096 ] || fail "periodic full inventory: only $s bytes"
echo "ok: periodic full inventory: $s bytes"
