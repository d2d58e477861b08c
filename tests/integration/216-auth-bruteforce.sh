# Wrong secrets and tokens (issue 16, Low): past auth_failures_per_minute
# failures from one address, every credential from it gets 429 with
# Retry-After until the minute ends (even a right one); other addresses
# are unaffected; the audit log gets at most two entries per address and
# minute (its first failure, and the one reaching the limit), however
# many tries.
. tests/integration/lib.sh
server_conf 'auth_failures_per_minute = 5'
start_server
bootstrap
# Rate windows are whole minutes: keep this test inside one.
sec=$(date +%S); sec=${sec#0}
[ "$sec" -lt 40 ] || sleep $((61 - sec))

# try SRC TOKEN [PATH]: the HTTP status of a GET with that bearer.
try() {
	curl -s --interface "$1" --max-time 5 -o "$WORK/body" -D "$WORK/head" \
		-w '%{http_code}' -H "Authorization: Bearer $2" "$URL${3:-/api/v1/communes}"
}
bad=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

say "127.0.0.2: five wrong credentials of three kinds, then a right one"
expect_eq "wrong admin token 1" "$(try 127.0.0.2 "$bad")" 401
expect_eq "wrong admin token 2" "$(try 127.0.0.2 "${bad}x")" 401
code=$(curl -s --interface 127.0.0.2 -o /dev/null -w '%{http_code}' -X POST \
	-H "Authorization: Bearer $bad" -H 'Content-Type: application/json' \
	--data '{}' "$URL/api/v1/batches")
expect_eq "wrong agent token" "$code" 401
code=$(curl -s --interface 127.0.0.2 -o /dev/null -w '%{http_code}' -X POST \
	-H "Authorization: Bearer $bad" -H 'Content-Type: application/json' \
	--data '{}' "$URL/api/v1/enrol")
expect_eq "wrong enrolment secret" "$code" 401
expect_eq "wrong admin token 5" "$(try 127.0.0.2 "$bad")" 401
expect_eq "right token from the blocked address" "$(try 127.0.0.2 "$TOKEN")" 429
grep -qi '^Retry-After: [1-9]' "$WORK/head" || fail "no Retry-After: $(cat "$WORK/head")"
echo "ok: $(cat "$WORK/body")"

say "127.0.0.3 is not affected"
expect_eq "right token from another address" "$(try 127.0.0.3 "$TOKEN")" 200
expect_eq "wrong token from another address" "$(try 127.0.0.3 "$bad")" 401

say "127.0.0.4: 300 guesses as fast as curl goes"
start=$(date +%s%N)
# One connection, 300 requests, as fast as the server answers.
/usr/bin/python3 -c "
import http.client, sys
c = http.client.HTTPConnection('127.0.0.1', $PORT, timeout=5,
                               source_address=('127.0.0.4', 0))
for i in range(300):
    c.request('GET', '/api/v1/communes', headers={'Authorization': 'Bearer $bad'})
    r = c.getresponse()
    r.read()
    print(r.status)
" >"$WORK/codes"
ms=$((($(date +%s%N) - start) / 1000000))
n401=$(grep -c '^401$' "$WORK/codes" || true)
n429=$(grep -c '^429$' "$WORK/codes" || true)
echo "300 guesses in $ms ms: $n401 answered 401, $n429 refused with 429"
expect_eq "guesses checked" "$n401" 5
expect_eq "guesses refused" "$n429" 295

say "the audit log: bounded entries per address"
entries() { sdb "SELECT count(*) FROM audit WHERE action = 'auth-failed' AND detail LIKE '%127.0.0.$1 %'"; }
expect_eq "127.0.0.2 entries (first failure, limit reached)" "$(entries 2)" 2
expect_eq "127.0.0.3 entries (first failure)" "$(entries 3)" 1
expect_eq "127.0.0.4 entries for 300 guesses" "$(entries 4)" 2
sdb "SELECT detail FROM audit WHERE action = 'auth-failed'"
