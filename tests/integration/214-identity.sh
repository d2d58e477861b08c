# A PC's identity (issue 16, Low items). (1) Anyone holding a commune's
# enrolment secret could re-enrol a known agent_id and take its identity
# over: a re-enrolment must now prove it holds the identity, with the
# agent's identity key (its agent_id is derived from the key's SHA-256)
# or its current token; otherwise 403, audited. (2) A state directory
# removed under a running agent went unnoticed, and the next start made a
# new identity (the PC counted twice): the agent notices, writes its
# identity back (exit 1, restarted as the same PC) or, when it cannot,
# stops with exit 2 and says what to do.
. tests/integration/lib.sh
start_server
bootstrap
enrolled pc 29019

say "the agent id derives from the identity key"
derived=$(/usr/bin/python3 -c "
import hashlib, sys
h = hashlib.sha256(open(sys.argv[1]).read().strip().encode()).hexdigest()[:32]
h = h[:12] + '8' + h[13:16] + '89ab'[int(h[16], 16) & 3] + h[17:]
print('-'.join([h[:8], h[8:12], h[12:16], h[16:20], h[20:]]))" "$WORK/pc/agent-key")
expect_eq "agent id" "$aid" "$derived"
expect_eq "agent-key mode" "$(stat -c %a "$WORK/pc/agent-key")" 600

# enrol_as BODY: POST /api/v1/enrol with the commune's secret; prints the
# status, the answer in $WORK/out.
enrol_as() {
	curl -s -o "$WORK/out" -w '%{http_code}' -H "Authorization: Bearer $SECRET_29019" \
		-H 'Content-Type: application/json' --data "$1" "$URL/api/v1/enrol"
}
say "the enrolment secret alone does not take a known agent_id over"
expect_eq "no proof" "$(enrol_as "{\"agent_id\":\"$aid\",\"hostname\":\"evil\"}")" 403
grep -q "proves neither its identity key nor its current token" "$WORK/out" || fail "$(cat "$WORK/out")"
other=$(head -c 32 /dev/urandom | sha256sum | cut -c1-64)
expect_eq "another key" "$(enrol_as "{\"agent_id\":\"$aid\",\"hostname\":\"evil\",\"key\":\"$other\"}")" 403
expect_eq "another token" "$(enrol_as "{\"agent_id\":\"$aid\",\"hostname\":\"evil\",\"token\":\"$other\"}")" 403
expect_eq "refusals audited" "$(sdb "SELECT count(*) FROM audit WHERE action = 'enrol-refused' AND detail LIKE '%$aid%evil%'")" 3
expect_eq "hostname kept" "$(sdb "SELECT hostname FROM agents WHERE agent_id = '$aid'")" "$(hostname)"
agent_once pc 2>"$WORK/err" || fail "the agent's token stopped working: $(cat "$WORK/err")"
expect_eq "token unchanged" "$(cat "$WORK/pc/token")" "$tok"
echo "ok: refused, audited, and the PC keeps working"

say "the PC itself re-enrols: with its key (token lost), with its token"
key=$(cat "$WORK/pc/agent-key")
expect_eq "with the key" "$(enrol_as "{\"agent_id\":\"$aid\",\"hostname\":\"$(hostname)\",\"key\":\"$key\"}")" 201
rm "$WORK/pc/token"
agent_once pc 2>"$WORK/err" || fail "re-enrolment with the key: $(cat "$WORK/err")"
grep -q "enrolled as agent $aid" "$WORK/err" || fail "$(cat "$WORK/err")"
tok=$(cat "$WORK/pc/token")
expect_eq "with the current token" "$(enrol_as "{\"agent_id\":\"$aid\",\"hostname\":\"x\",\"token\":\"$tok\"}")" 201
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" \
	-H 'Content-Type: application/json' --data '{}' "$URL/api/v1/batches")
expect_eq "the replaced token" "$code" 401
agent_once pc 2>"$WORK/err" || fail "401 then re-enrolment with the key: $(cat "$WORK/err")"
grep -q "enrolled as agent $aid" "$WORK/err" || fail "$(cat "$WORK/err")"
echo "ok: 401, then a re-enrolment with the key"

say "an agent enrolled before identity keys proves itself with its token"
mkdir -m 700 "$WORK/old"
old=$(cat /proc/sys/kernel/random/uuid)
printf '%s' "$old" >"$WORK/old/agent-id"
agent_conf old 29019
agent_once old >/dev/null 2>&1 || fail "legacy agent"
[ ! -e "$WORK/old/agent-key" ] || fail "a key for a legacy id"
expect_eq "legacy without its token" "$(enrol_as "{\"agent_id\":\"$old\",\"hostname\":\"evil\"}")" 403
otok=$(cat "$WORK/old/token")
expect_eq "legacy with its token" "$(enrol_as "{\"agent_id\":\"$old\",\"hostname\":\"pc\",\"token\":\"$otok\"}")" 201

say "state directory removed under the running agent: identity written back"
agent_conf svc 29019 "usage_interval = 1" "sync_interval = 1" "startup_splay = 0"
"$B/mutu-agent" -c "$WORK/svc.conf" -d >"$WORK/svc.log" 2>&1 &
pid=$!
AGENT_PIDS="$AGENT_PIDS $pid"
wait_for 20 test -s "$WORK/svc/token" || fail "agent did not enrol: $(cat "$WORK/svc.log")"
sid=$(cat "$WORK/svc/agent-id")
skey=$(cat "$WORK/svc/agent-key")
n=$(sdb "SELECT count(*) FROM agents")
rm -rf "$WORK/svc"
set +e
timeout 20 sh -c "while kill -0 $pid 2>/dev/null; do sleep 0.2; done"
kill -0 "$pid" 2>/dev/null && fail "the agent runs on without its state directory"
wait "$pid"
rc=$?
set -e
expect_eq "exit status (restart as the same PC)" "$rc" 1
grep -q "state directory $WORK/svc was removed or replaced while the agent ran" "$WORK/svc.log" || fail "$(cat "$WORK/svc.log")"
expect_eq "agent-id written back" "$(cat "$WORK/svc/agent-id")" "$sid"
expect_eq "agent-key written back" "$(cat "$WORK/svc/agent-key")" "$skey"
agent_once svc 2>"$WORK/err" || fail "restart: $(cat "$WORK/err")"
expect_eq "the restart is the same agent" "$(cat "$WORK/svc/agent-id")" "$sid"
expect_eq "agents on the server (the PC counts once)" "$(sdb "SELECT count(*) FROM agents")" "$n"

say "state directory removed and not recreatable: exit 2, no new identity"
mkdir -m 700 "$WORK/parent"
agent_conf gone 29019 "state_dir = $WORK/parent/state" "usage_interval = 1" "startup_splay = 0"
sed -i "0,/^state_dir = $(echo "$WORK" | sed 's/\//\\\//g')\/gone$/{//d}" "$WORK/gone.conf"
"$B/mutu-agent" -c "$WORK/gone.conf" -d >"$WORK/gone.log" 2>&1 &
pid=$!
AGENT_PIDS="$AGENT_PIDS $pid"
wait_for 20 test -s "$WORK/parent/state/token" || fail "agent did not enrol: $(cat "$WORK/gone.log")"
rm -rf "$WORK/parent"
: >"$WORK/parent" # a file where the directory was: it cannot be made again
set +e
timeout 20 sh -c "while kill -0 $pid 2>/dev/null; do sleep 0.2; done"
kill -0 "$pid" 2>/dev/null && fail "the agent runs on without its state directory"
wait "$pid"
rc=$?
set -e
expect_eq "exit status (not restarted)" "$rc" 2
grep -q "cannot write the identity back to $WORK/parent/state" "$WORK/gone.log" || fail "$(cat "$WORK/gone.log")"
expect_eq "agents on the server (its own, no second)" "$(sdb "SELECT count(*) FROM agents")" "$((n + 1))"
