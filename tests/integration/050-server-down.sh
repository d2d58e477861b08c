# The agent survives the server being down, keeps its data queued, and
# delivers once the server is back.
. tests/integration/lib.sh
start_server
bootstrap
stop_server
agent_conf pc 29019 "sync_interval = 1" "usage_interval = 1"
set +e
agent_once pc
rc=$?
set -e
expect_eq "--once exit with server down" "$rc" 1
n=$(queued pc)
[ "$n" -ge 1 ] || fail "nothing queued"
echo "queued while down: $n records"
start_agent pc
sleep 3
kill -0 "$LAST_AGENT" || fail "agent died while the server was down"
grep -q "next delivery attempt" "$WORK/pc.log" || fail "agent did not back off"
start_server "127.0.0.1:$PORT"
delivered() { [ "$(queued pc)" = 0 ] && ctl --format json machines | json 'j[0]["software"]' | grep -qv '^0$'; }
wait_for 60 delivered || fail "backlog not delivered: $(queued pc) left"
sw=$(ctl --format json machines | json 'j[0]["software"]')
expect_eq "software after recovery" "$sw" "$(dpkg-query -W -f '${db:Status-Status}\n' | grep -cx installed)"
kill -TERM "$LAST_AGENT"
wait "$LAST_AGENT" || fail "agent exit $?"
