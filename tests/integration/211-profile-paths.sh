# Programs run from people's home directories (issue 15, privacy): the
# agent masks the home (/home/NAME/, a home elsewhere that passwd names,
# /root/) to ~/ before it queues a record, so that no user name is in its
# queue, on the wire or in the server's database. Two real accounts are
# created for the test (one with its home in /home, one elsewhere) and
# deleted at the end; the agent talks to the server through a proxy here
# that keeps every request body, inflated.
. tests/integration/lib.sh
[ "$(id -u)" = 0 ] || skip "needs root (creates two accounts)"
command -v useradd >/dev/null && command -v userdel >/dev/null &&
	command -v setpriv >/dev/null || skip "useradd, userdel or setpriv missing"
MADE="" ROOTDIR=""
drop_users() {
	for u in $MADE; do userdel -r "$u" 2>/dev/null || userdel "$u" || true; done
	[ -z "$ROOTDIR" ] || rm -rf "$ROOTDIR"
	cleanup
}
trap drop_users EXIT
# newuser HOME_PARENT: an account of a name no account has, made here
# (and listed in MADE, for deletion); its name in NEW.
newuser() {
	while :; do
		NEW=mt$(tr -dc 'a-z' </dev/urandom | head -c 8)
		getent passwd "$NEW" >/dev/null || [ -e "$1/$NEW" ] || break
	done
	useradd -m -d "$1/$NEW" -s /usr/sbin/nologin -U "$NEW" >/dev/null ||
		fail "useradd $NEW"
	MADE="$MADE $NEW"
}
newuser /home
u1=$NEW
mkdir -p "$WORK/homes"
newuser "$WORK/homes"
u2=$NEW
ROOTDIR=$(mktemp -d /root/mutu-it.XXXXXX)
echo "accounts $u1 (/home/$u1) and $u2 ($WORK/homes/$u2); $ROOTDIR"

start_server
bootstrap
# The capturing proxy: forwards each request, appends its body (inflated)
# to $WORK/wire.
cat >"$WORK/cap.py" <<'EOF'
import http.client, http.server, sys, zlib
port_file, target, out = sys.argv[1:4]
host, port = target.rsplit(":", 1)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def fwd(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open(out, "ab") as f:
            try:
                f.write(zlib.decompress(body, 47) if body else b"")
            except zlib.error:
                f.write(body)
            f.write(b"\n")
        c = http.client.HTTPConnection(host, int(port), timeout=60)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        c.request(self.command, self.path, body, hdrs)
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    do_GET = do_POST = do_PUT = fwd
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(port_file, "w").write(str(s.server_address[1]))
s.serve_forever()
EOF
/usr/bin/python3 "$WORK/cap.py" "$WORK/cap-port" "127.0.0.1:$PORT" "$WORK/wire" \
	2>>"$WORK/cap.err" &
AGENT_PIDS="$AGENT_PIDS $!"
wait_for 10 test -s "$WORK/cap-port" || fail "capturing proxy did not start"
url=$URL
URL="http://127.0.0.1:$(cat "$WORK/cap-port")"
agent_conf pc 29019 "usage_interval = 1" "sync_interval = 1" \
	"usage_min_uid = 0" "startup_splay = 0"
URL=$url
start_agent pc
wait_for 20 test -s "$WORK/pc/token" || fail "agent did not enrol"

# Each account runs its own copy of sleep from its home; root from /root.
pids=""
for who in "$u1:/home/$u1" "$u2:$WORK/homes/$u2" "root:$ROOTDIR"; do
	user=${who%%:*} home=${who#*:}
	mkdir -p "$home/bin"
	prog="$home/bin/mutu-211-app-$$-$(echo "$user" | cksum | cut -c1-6)"
	[ "$user" = root ] && prog="$home/bin/mutu-211-app-$$-root"
	cp /bin/sleep "$prog"
	chown -R "$user:" "$home/bin"
	setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups "$prog" 3 &
	pids="$pids $!"
done
wait $pids
delivered() {
	[ "$(sdb "SELECT count(DISTINCT product) FROM usage WHERE product LIKE 'mutu-211-app-$$-%'")" = 3 ] &&
		[ "$(sqlite3 "$WORK/pc/queue.db" "SELECT count(*) FROM sessions WHERE exe LIKE '%mutu-211-app-$$-%'" 2>/dev/null || echo busy)" = 0 ] &&
		[ "$(sqlite3 "$WORK/pc/queue.db" "SELECT count(*) FROM records WHERE body LIKE '%mutu-211-app-$$-%'" 2>/dev/null || echo busy)" = 0 ]
}
wait_for 30 delivered || fail "the three programs' usage never reached the server"
kill -TERM "$LAST_AGENT"
wait "$LAST_AGENT" || fail "agent exit status $?"

sdb "SELECT DISTINCT exe FROM usage WHERE product LIKE 'mutu-211-app-$$-%' ORDER BY exe" >"$WORK/exes"
cat "$WORK/exes"
expect_eq "paths stored as ~/..." "$(grep -c '^~/.*/mutu-211-app-' "$WORK/exes")" 3
grep -q "mutu-211-app-$$" "$WORK/wire" || fail "the capture holds no usage"
sdb_dump >"$WORK/server-dump"
for name in "$u1" "$u2" "/root/" "$WORK/homes"; do
	# The agent's state (queue.db and its WAL), the wire, the server's
	# rows and its files.
	for f in "$WORK"/pc/* "$WORK/wire" "$WORK/server-dump" "$WORK"/server.db*; do
		[ -f "$f" ] || continue
		if grep -a -q -F -- "$name" "$f"; then
			fail "'$name' found in $f: $(grep -a -o -F -- "$name" "$f" | head -1)"
		fi
	done
	echo "ok: '$name' in none of the agent's state, the wire, the server's database"
done
