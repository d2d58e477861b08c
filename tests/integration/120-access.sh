# Access control: enrolment secrets that expire, run out or are revoked,
# rotation that keeps enrolled agents working, the enrolment rate limit,
# agent revocation, read-only and communal tokens, and the append-only
# audit log.
. tests/integration/lib.sh
server_conf 'enrol_per_minute = 4'
start_server
bootstrap
enrol() { # secret -> HTTP status
	curl -s -o "$WORK/enrol.out" -w '%{http_code}' -H "Authorization: Bearer $1" \
		-H 'Content-Type: application/json' \
		--data "{\"agent_id\":\"$(cat /proc/sys/kernel/random/uuid)\",\"hostname\":\"pc\"}" \
		"$URL/api/v1/enrol"
}

say "max uses"
LIMITED=$(srv enrol-secret 29019 --max-uses 2 --label "two PCs")
expect_eq "use 1" "$(enrol "$LIMITED")" 201
expect_eq "use 2" "$(enrol "$LIMITED")" 201
expect_eq "use 3 refused" "$(enrol "$LIMITED")" 401
grep -q "used-up" "$WORK/enrol.out" || fail "message: $(cat "$WORK/enrol.out")"

say "expiry"
EXP=$(srv enrol-secret 29019 --expires-days 1)
sdb "UPDATE enrol_secrets SET expires = $(date +%s) - 1 WHERE label IS NULL AND expires IS NOT NULL"
expect_eq "expired secret refused" "$(enrol "$EXP")" 401

say "rotation and revocation"
agent_conf pc 29019
agent_once pc || fail "agent failed"
NEW=$(ctl secrets create --commune 29019 --label rotated)
OLD_ID=$(ctl --format json secrets list | json '[s["id"] for s in j if s["commune"]=="29019" and s["label"] is None and s["expires"] is None][0]')
ctl secrets revoke "$OLD_ID" >/dev/null
expect_eq "revoked secret refused" "$(enrol "$SECRET_29019")" 401
agent_once pc || fail "an enrolled agent stopped working after rotation"
echo "ok: enrolled agents keep working after the secret is revoked"

say "enrolment rate limit (4 per minute in this test)"
RATE=$(srv enrol-secret 29075)
# Rate windows are whole minutes: keep this test inside one.
sec=$(date +%S); sec=${sec#0}
[ "$sec" -lt 45 ] || sleep $((61 - sec))
codes=""
for i in 1 2 3 4 5; do codes="$codes $(enrol "$RATE")"; done
expect_eq "five enrolments in a row" "$codes" " 201 201 201 201 429"
curl -s -D "$WORK/h" -o /dev/null -H "Authorization: Bearer $RATE" -H 'Content-Type: application/json' \
	--data '{"agent_id":"11111111-1111-4111-8111-111111111111","hostname":"x"}' "$URL/api/v1/enrol"
grep -qi "^Retry-After: [0-9]" "$WORK/h" || fail "no Retry-After: $(cat "$WORK/h")"
echo "ok: 429 with Retry-After"

say "agent revocation"
id=$(cat "$WORK/pc/agent-id")
ctl agents revoke "$id" | grep -q revoked || fail "revoke"
set +e
agent_once pc 2>"$WORK/err"; rc=$?
set -e
expect_eq "revoked agent cannot deliver nor re-enrol" "$rc" 1
grep -q "401" "$WORK/err" || fail "$(cat "$WORK/err")"

say "read-only and communal tokens"
RO=$(srv admin-token --read-only)
ro() { "$B/mutuctl" --server "$URL" --token "$RO" "$@"; }
ro machines >/dev/null || fail "read-only cannot read"
set +e
ro pools set p --name P --members 29019 2>"$WORK/err"; rc=$?
set -e
expect_eq "read-only cannot change" "$rc" 1
grep -q "read-only" "$WORK/err" || fail "$(cat "$WORK/err")"
BREST=$(srv admin-token --commune 29019)
br() { "$B/mutuctl" --server "$URL" --token "$BREST" "$@"; }
br secrets create --commune 29019 >/dev/null || fail "own commune secret"
set +e
br secrets create --commune 29075 2>/dev/null; r1=$?
br tokens create 2>/dev/null; r2=$?
br tokens create --commune 29075 2>/dev/null; r3=$?
set -e
expect_eq "commune admin: secret for another commune" "$r1" 1
expect_eq "commune admin: intercommunal token" "$r2" 1
expect_eq "commune admin: token for another commune" "$r3" 1
br tokens create --commune 29019 --read-only >/dev/null || fail "own commune token"
expect_eq "commune admin sees its secrets only" "$(br --format json secrets list | json 'sorted(set(s["commune"] for s in j))')" "['29019']"

say "audit log"
ctl audit --days 1 | head -n 12
ctl --format json audit >"$WORK/audit.json"
for action in enrol change refused read; do
	json "any(a['action'] == '$action' for a in j)" <"$WORK/audit.json" | grep -qx True ||
		fail "no '$action' entry in the audit log"
done
json 'any(a["action"] == "refused" and a["commune"] == "29075" for a in j)' <"$WORK/audit.json" |
	grep -qx True || fail "refused cross-commune attempt not audited"
expect_eq "Brest's admin sees Brest's entries only" \
	"$(br --format json audit | json 'sorted(set(a["commune"] for a in j))')" "['29019']"
set +e
sdb "DELETE FROM audit" 2>"$WORK/err"; rc=$?
set -e
[ "$rc" != 0 ] && grep -q "append-only" "$WORK/err" || fail "audit rows could be deleted"
echo "ok: the audit log is append-only"
