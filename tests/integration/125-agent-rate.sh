# Per-agent request rate: past requests_per_minute, 429 with Retry-After;
# the agent keeps its data and delivers later.
. tests/integration/lib.sh
server_conf 'requests_per_minute = 3'
start_server
bootstrap
agent_conf pc 29019
# Rate windows are whole minutes: keep this test inside one.
sec=$(date +%S); sec=${sec#0}
[ "$sec" -lt 45 ] || sleep $((61 - sec))
agent_once pc || fail "first delivery"            # request 1
agent_once pc || fail "second delivery"           # request 2
agent_once pc || fail "third delivery"            # request 3
set +e
agent_once pc 2>"$WORK/err"; rc=$?                # request 4
set -e
expect_eq "fourth request in a minute" "$rc" 1
grep -q "429" "$WORK/err" || fail "$(cat "$WORK/err")"
tok=$(cat "$WORK/pc/token")
curl -s -D "$WORK/h" -o /dev/null -X POST -H "Authorization: Bearer $tok" \
	-H 'Content-Type: application/json' --data '{}' "$URL/api/v1/batches"
grep -q "^HTTP/1.1 429" "$WORK/h" && grep -qi "^Retry-After: [0-9]" "$WORK/h" ||
	fail "no 429 with Retry-After: $(cat "$WORK/h")"
[ "$(queued pc)" -ge 1 ] || fail "data lost"
echo "ok: 429 with Retry-After, data kept"
