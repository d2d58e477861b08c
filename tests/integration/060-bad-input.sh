# Bad requests get the right status and a message naming the problem; the
# server stays up and the data it accepted stay.
. tests/integration/lib.sh
start_server
bootstrap
agent_conf pc 29019
agent_once pc || fail "agent failed"
tok=$(cat "$WORK/pc/token")
id=$(cat "$WORK/pc/agent-id")
before=$(sdb "SELECT count(*) FROM software")
# status METHOD PATH [curl args...]: prints the HTTP status, body to $WORK/body
status() {
	m=$1 p=$2
	shift 2
	curl -sS -o "$WORK/body" -w '%{http_code}' -X "$m" "$@" "$URL$p"
}
check() { # expected-status message-fragment METHOD PATH args...
	want=$1 frag=$2
	shift 2
	got=$(status "$@")
	[ "$got" = "$want" ] || fail "$*: status $got, expected $want ($(cat "$WORK/body"))"
	grep -q -- "$frag" "$WORK/body" || fail "$*: body lacks '$frag': $(cat "$WORK/body")"
	echo "ok: $want $frag"
}
J='Content-Type: application/json'
A="Authorization: Bearer $tok"
check 401 "Authorization" POST /api/v1/batches -H "$J" --data '{}'
check 401 "unknown or revoked agent token" POST /api/v1/batches -H "$J" -H "Authorization: Bearer nope" --data '{}'
check 415 "Content-Type must be" POST /api/v1/batches -H "$A" -H 'Content-Type: text/plain' --data '{}'
check 415 "Content-Encoding" POST /api/v1/batches -H "$A" -H "$J" -H 'Content-Encoding: br' --data '{}'
check 400 "invalid JSON" POST /api/v1/batches -H "$A" -H "$J" --data '{"v":1,'
check 400 "not valid gzip" POST /api/v1/batches -H "$A" -H "$J" -H 'Content-Encoding: gzip' --data 'plain text'
check 403 "does not match" POST /api/v1/batches -H "$A" -H "$J" \
	--data '{"v":1,"agent_id":"00000000-0000-4000-8000-000000000000","epoch":"e","batch_id":"b","records":[]}'
check 422 "records\[0\].data.end" POST /api/v1/batches -H "$A" -H "$J" \
	--data "{\"v\":1,\"agent_id\":\"$id\",\"epoch\":\"e\",\"batch_id\":\"b\",\"records\":[{\"seq\":1,\"type\":\"usage\",\"time\":1,\"data\":{\"product\":\"x\",\"start\":1}}]}"
head -c 5000000 /dev/zero >"$WORK/big"
check 413 "exceeds the limit" POST /api/v1/batches -H "$A" -H "$J" --data-binary @"$WORK/big"
head -c 200000000 /dev/zero | gzip -9 >"$WORK/bomb.gz"
check 413 "size or ratio limit" POST /api/v1/batches -H "$A" -H "$J" -H 'Content-Encoding: gzip' --data-binary @"$WORK/bomb.gz"
check 401 "unknown, revoked, expired or used-up enrolment secret" POST /api/v1/enrol -H "$J" -H "Authorization: Bearer wrong" \
	--data "{\"agent_id\":\"$id\",\"hostname\":\"x\"}"
check 400 "agent_id" POST /api/v1/enrol -H "$J" -H "Authorization: Bearer $SECRET_29019" --data '{"agent_id":"x","hostname":"x"}'
check 404 "no such resource" GET /nope
check 405 "method not allowed" DELETE /api/v1/licences
check 401 "admin token" GET /api/v1/licences -H "$A"
check 400 "days" GET '/api/v1/licences?days=abc' -H "Authorization: Bearer $TOKEN"
check 404 "not found" GET /api/v1/machines/no-such-host -H "Authorization: Bearer $TOKEN"
/usr/bin/python3 -c "print('X-Big: ' + 'a' * 100000)" >"$WORK/bighdr"
expect_eq "huge header" "$(status GET /healthz -H @"$WORK/bighdr")" 431
/usr/bin/python3 -c "
for i in range(3000): print('X-H%d: v' % i)" >"$WORK/manyhdr"
expect_eq "too many headers" "$(status GET /healthz -H @"$WORK/manyhdr")" 431
/usr/bin/python3 -c "print('[' * 5000 + ']' * 5000)" >"$WORK/deep.json"
check 400 "invalid JSON" POST /api/v1/batches -H "$A" -H "$J" --data-binary @"$WORK/deep.json"
check 200 '"ok"' GET /healthz
expect_eq "accepted data intact" "$(sdb "SELECT count(*) FROM software")" "$before"
# mutuctl exit codes a person can act on.
set +e
"$B/mutuctl" --server "$URL" --token wrong machines 2>"$WORK/e1"; r1=$?
"$B/mutuctl" --server "$URL" --token "$TOKEN" inventory no-such-host 2>"$WORK/e2"; r2=$?
"$B/mutuctl" --server "http://127.0.0.1:1" --token "$TOKEN" machines 2>"$WORK/e3"; r3=$?
"$B/mutuctl" --server "$URL" --token "$TOKEN" frobnicate 2>/dev/null; r4=$?
set -e
expect_eq "bad token exit" "$r1" 4
expect_eq "unknown host exit" "$r2" 5
expect_eq "unreachable exit" "$r3" 3
expect_eq "usage exit" "$r4" 2
grep -q "cannot reach the server" "$WORK/e3" || fail "unreachable message: $(cat "$WORK/e3")"
kill -0 "$SERVER_PID" || fail "server died"
