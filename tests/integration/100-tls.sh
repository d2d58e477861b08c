# TLS: a private CA and server certificate made by mutu-server tls-init,
# the agent pinned to that CA and checking the host name, nothing sent to
# a server it cannot verify; plain HTTP only on loopback, on both sides.
. tests/integration/lib.sh
"$B/mutu-server" tls-init "$WORK/pki" localhost >/dev/null
"$B/mutu-server" tls-init "$WORK/other" localhost >/dev/null
[ "$(stat -c %a "$WORK/pki/server.key")" = 600 ] || fail "server.key not 0600"
rm -f "$WORK/port"
"$B/mutu-server" $DB_ARGS -d -l 127.0.0.1:0 --port-file "$WORK/port" \
	--tls-cert "$WORK/pki/server.pem" --tls-key "$WORK/pki/server.key" \
	>>"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_for 10 test -s "$WORK/port" || fail "TLS server did not start: $(cat "$WORK/server.log")"
PORT=$(cat "$WORK/port")
grep -q "TLS" "$WORK/server.log" || fail "server not in TLS mode"
bootstrap
URL="https://localhost:$PORT"
agent_conf pc 29019 "ca_file = $WORK/pki/ca.pem"
agent_once pc || fail "agent over TLS failed"
expect_eq "queue after TLS delivery" "$(queued pc)" 0
"$B/mutuctl" --server "$URL" --token "$TOKEN" --ca-file "$WORK/pki/ca.pem" machines | grep -q 29019 ||
	fail "mutuctl over TLS"
ok_tls=$(curl -s --cacert "$WORK/pki/ca.pem" --tlsv1.2 --tls-max 1.2 "$URL/healthz")
echo "$ok_tls" | grep -q '"ok"' || fail "TLS 1.2 refused"
if curl -s --cacert "$WORK/pki/ca.pem" --tls-max 1.1 "$URL/healthz" >/dev/null 2>&1; then
	fail "TLS 1.1 accepted"
fi
if curl -s "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
	fail "plain HTTP answered on the TLS port"
fi
echo "ok: TLS 1.2+ only, plain HTTP refused on the TLS port"

batches() { grep -c "batch .* applied\|enrolled agent" "$WORK/server.log" || true; }
before=$(batches)
# Another CA: the agent must not send anything.
agent_conf evil 29019 "ca_file = $WORK/other/ca.pem"
set +e
agent_once evil 2>"$WORK/err"; rc=$?
set -e
expect_eq "unknown CA: exit" "$rc" 1
grep -qi "certificate" "$WORK/err" || fail "no certificate error: $(cat "$WORK/err")"
# The right CA but a name the certificate does not carry.
URL="https://127.0.0.1:$PORT"
agent_conf byip 29019 "ca_file = $WORK/pki/ca.pem"
set +e
agent_once byip 2>"$WORK/err"; rc=$?
set -e
expect_eq "wrong host name: exit" "$rc" 1
grep -qi "certificate\|subject\|name" "$WORK/err" || fail "no host name error: $(cat "$WORK/err")"
expect_eq "nothing reached the server from them" "$(batches)" "$before"
[ "$(queued evil)" -ge 1 ] && [ "$(queued byip)" -ge 1 ] || fail "data not kept"
echo "ok: nothing sent to an unverified server, data kept"

# Plain HTTP off loopback is refused by both programs.
URL="http://192.0.2.10:8080"
agent_conf remote 29019
set +e
"$B/mutu-agent" -c "$WORK/remote.conf" -n 2>"$WORK/err"; rc=$?
"$B/mutu-server" -D "$WORK/x.db" -l 0.0.0.0:0 2>"$WORK/err2"; rc2=$?
set -e
expect_eq "agent: plain http off loopback" "$rc" 2
grep -q "plain http:// is allowed only to a loopback" "$WORK/err" || fail "$(cat "$WORK/err")"
expect_eq "server: plain http off loopback" "$rc2" 1
grep -q "plain HTTP is served on loopback addresses only" "$WORK/err2" || fail "$(cat "$WORK/err2")"

# A redirect (to plain HTTP elsewhere) is never followed: the target
# receives nothing.
cat >"$WORK/redir.py" <<'PY'
import http.server, sys, threading
hits = []
class Target(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        hits.append(self.path); self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
class Redirect(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(307)
        self.send_header("Location", "http://127.0.0.1:%d%s" % (tgt.server_address[1], self.path))
        self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
tgt = http.server.HTTPServer(("127.0.0.1", 0), Target)
red = http.server.HTTPServer(("127.0.0.1", 0), Redirect)
threading.Thread(target=tgt.serve_forever, daemon=True).start()
threading.Thread(target=red.serve_forever, daemon=True).start()
open(sys.argv[1], "w").write(str(red.server_address[1]))
import time
while True:
    time.sleep(0.2)
    open(sys.argv[2], "w").write(str(len(hits)))
PY
/usr/bin/python3 "$WORK/redir.py" "$WORK/redir.port" "$WORK/redir.hits" &
AGENT_PIDS="$AGENT_PIDS $!"
wait_for 10 test -s "$WORK/redir.port" || fail "redirector did not start"
URL="http://127.0.0.1:$(cat "$WORK/redir.port")"
agent_conf redirected 29019
set +e
agent_once redirected 2>"$WORK/err"; rc=$?
set -e
sleep 0.5
expect_eq "redirected agent exit" "$rc" 1
expect_eq "requests reaching the redirect target" "$(cat "$WORK/redir.hits")" 0
grep -q "307" "$WORK/err" || fail "$(cat "$WORK/err")"
