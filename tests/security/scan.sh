#!/bin/sh
# make security-scan: external scanners from Debian against a TLS server
# on loopback. testssl.sh must report no finding of severity MEDIUM or
# above; under slowhttptest's slow-headers attack the service must answer
# a client from another loopback address throughout.
set -eu
BUILD=${BUILD:-build}
B=$(cd "$BUILD" && pwd)
WORK=$(mktemp -d /tmp/mutu-scan.XXXXXX)
PID=""
trap '[ -z "$PID" ] || kill $PID 2>/dev/null; rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$B/mutu-server" tls-init "$WORK/pki" 127.0.0.1,localhost \
	"https://127.0.0.1:$PORT/crl.pem" >/dev/null
"$B/mutu-server" -D "$WORK/s.db" -d -l "127.0.0.1:$PORT" --port-file "$WORK/port" \
	--tls-cert "$WORK/pki/server.pem" --tls-key "$WORK/pki/server.key" \
	--tls-crl "$WORK/pki/crl.pem" >"$WORK/server.log" 2>&1 &
PID=$!
i=0
while [ ! -s "$WORK/port" ]; do
	i=$((i + 1)); [ $i -lt 50 ] || fail "server did not start"; sleep 0.2
done
URL="https://127.0.0.1:$PORT"

curl -sf --cacert "$WORK/pki/ca.pem" "https://127.0.0.1:$PORT/crl.pem" |
	openssl crl -noout -CAfile "$WORK/pki/ca.pem" 2>&1 | grep -q "verify OK" ||
	fail "the CRL named in the certificate is not served"
echo "ok: CRL published where the certificate says"
# Client-initiated renegotiation, checked directly: on a TLS 1.2
# connection the client asks to renegotiate ("R"), then sends a request.
# The server must refuse (close, or a no_renegotiation alert) rather
# than renegotiate, so no answer may come back; the same request without
# "R" must be answered (the check can see an answer). testssl.sh 3.0.8 races on this check:
# its single "echo R" can reach end of input before the server's close
# arrives, and its retry counts exit codes without looking for "closed".
renego() { # renego "R" or "" -> prints the session's transcript
	(if [ -n "$1" ]; then echo "$1"; fi; sleep 1
	 printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
	 sleep 1) | timeout 10 openssl s_client -tls1_2 -CAfile "$WORK/pki/ca.pem" \
		-connect "127.0.0.1:$PORT" 2>&1 || true
}
renego "" | grep -q '"ok"' || fail "no answer over TLS 1.2 without renegotiation"
for i in 1 2 3; do
	out=$(renego R)
	printf '%s\n' "$out" | grep -q RENEGOTIATING || fail "s_client did not ask to renegotiate"
	if printf '%s\n' "$out" | grep -q '"ok"'; then fail "the server renegotiated and answered"; fi
done
echo "ok: client-initiated renegotiation refused, no answer after R (3/3)"
export RENEGO_REFUSED=3 # (any failure above ended the scan)

echo "=== testssl.sh"
testssl --quiet --color 0 --warnings off --add-ca "$WORK/pki/ca.pem" \
	--jsonfile "$WORK/testssl.json" "127.0.0.1:$PORT" >"$WORK/testssl.txt" 2>&1 || true
[ -s "$WORK/testssl.json" ] || { tail -n 20 "$WORK/testssl.txt"; fail "testssl.sh produced no report"; }
/usr/bin/python3 - "$WORK/testssl.json" <<'PY'
import json, sys
findings = json.load(open(sys.argv[1]))
bad = [f for f in findings if f.get("severity") in ("MEDIUM", "HIGH", "CRITICAL")]
# Our own check above proved the server closes on renegotiation; a
# testssl.sh finding to the contrary is its race, named, not hidden.
import os
if os.environ.get("RENEGO_REFUSED") == "3":
    raced = [f for f in bad if f["id"] == "secure_client_renego"]
    for f in raced:
        print("  note: testssl.sh said %s %s; the direct check says refused 3/3"
              % (f["severity"], f["finding"]))
    bad = [f for f in bad if f not in raced]
for f in findings:
    if f["id"] in ("protocols", "SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3",
                   "secure_renego", "secure_client_renego", "CRIME_TLS", "cipherlist_NULL",
                   "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW",
                   "cipherlist_3DES_IDEA", "cipherlist_AVERAGE", "cipherlist_STRONG",
                   "overall_grade", "cert_chain_of_trust"):
        print("  %-24s %-8s %s" % (f["id"], f["severity"], f["finding"]))
if bad:
    print("findings of severity MEDIUM or above:")
    for f in bad:
        print("  %s %s: %s" % (f["severity"], f["id"], f["finding"]))
    sys.exit(1)
print("ok: no finding of severity MEDIUM or above (%d checks)" % len(findings))
PY

echo "=== slowhttptest (slow headers, 500 connections, 30 s)"
slowhttptest -c 500 -H -i 10 -r 100 -t GET -u "$URL/healthz" -x 24 -p 3 -l 30 \
	-o "$WORK/slow" >"$WORK/slow.txt" 2>&1 &
SLOW=$!
sleep 2
ok=0 failed=0
for i in $(seq 30); do
	if curl -s --max-time 3 --interface 127.0.0.2 --cacert "$WORK/pki/ca.pem" \
		"$URL/healthz" | grep -q '"ok"'; then ok=$((ok + 1)); else failed=$((failed + 1)); fi
	sleep 1
done
wait $SLOW || true
grep -E "closed|pending|connected" "$WORK/slow.txt" | tail -n 3 || true
echo "health checks during the attack: $ok answered, $failed failed"
[ "$failed" -eq 0 ] || fail "service unavailable during slowhttptest"
kill -0 "$PID" || fail "server died"
echo "security-scan: passed"
