# A 200 answer that does not acknowledge the batch (a captive portal's
# HTML page, a proxy) deletes nothing; the real server then gets it all.
. tests/integration/lib.sh
start_server
bootstrap
agent_conf pc 29019
agent_once pc || fail "agent failed"   # enrolled, queue empty
expect_eq "queue after first sync" "$(queued pc)" 0
cat >"$WORK/portal.py" <<'PY'
import http.server, sys
class Portal(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"<html><body>Bienvenue sur le WiFi de la mairie</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), Portal)
open(sys.argv[1], "w").write(str(srv.server_address[1]))
srv.timeout = 1
for _ in range(60):
    srv.handle_request()
PY
/usr/bin/python3 "$WORK/portal.py" "$WORK/portal-port" &
AGENT_PIDS="$AGENT_PIDS $!"
wait_for 10 test -s "$WORK/portal-port" || fail "portal did not start"
sed -i "s#^server = .*#server = http://127.0.0.1:$(cat "$WORK/portal-port")#" "$WORK/pc.conf"
set +e
agent_once pc 2>"$WORK/err"; rc=$?
set -e
cat "$WORK/err"
expect_eq "--once exit behind the portal" "$rc" 1
grep -q "does not acknowledge" "$WORK/err" || fail "no warning about the answer"
n=$(queued pc)
[ "$n" -ge 1 ] || fail "records were deleted on a non-acknowledging 200"
echo "ok: $n records kept"
sed -i "s#^server = .*#server = $URL#" "$WORK/pc.conf"
agent_once pc || fail "agent failed against the real server"
expect_eq "queue after real sync" "$(queued pc)" 0
expect_eq "inventories stored" "$(sdb "SELECT count(*) FROM agents WHERE inventory IS NOT NULL")" 1
