# Memory held by unfinished uploads (issue 16 hardening): a body stays in
# memory, inflated, until its request ends, and the slow-body defence is
# an average, so a client sending ~1 MiB of gzip at once and then a byte
# at a time held ~12 MiB per connection for as long as the request
# deadline. max_body_memory_mb caps what all unfinished requests hold
# together: past it a body is refused (503, Retry-After) and its memory
# released. 10 such uploads from 127.0.0.2 and .3 against a 16 MiB budget
# must keep the server's RSS growth under 60 MiB (before the fix: ~120
# MiB), get 503s naming the limit, and leave /healthz, an admin call and
# an agent's sync working.
. tests/integration/lib.sh
server_conf 'max_body_memory_mb = 16' 'max_connections_per_address = 64'
start_server
bootstrap
enrolled a1 29019

cat >"$WORK/hold.py" <<'EOF'
# hold.py PORT TOKEN CLIENTS SECONDS GZ: CLIENTS connections, from
# 127.0.0.2 and 127.0.0.3 in turn, each POSTs GZ (gzip) to
# /api/v1/batches: all but its last 4 KiB at once, then a byte every
# 0.5 s for SECONDS, then the rest; touches $WORK/holding once all sent
# their bulk. Prints one JSON line per client: status, Retry-After, body.
import json, os, socket, sys, time

port, token, n, secs, gz = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), \
    float(sys.argv[4]), sys.argv[5]
body = open(gz, "rb").read()
head = ("POST /api/v1/batches HTTP/1.1\r\nHost: x\r\n"
        "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
        "Content-Encoding: gzip\r\nContent-Length: %d\r\n"
        "Connection: close\r\n\r\n" % (token, len(body))).encode()
bulk, rest = body[:-4096], body[-4096:]
socks = []
for i in range(n):
    s = socket.socket()
    s.settimeout(20)
    s.bind(("127.0.0.%d" % (2 + i % 2), 0))
    s.connect(("127.0.0.1", port))
    s.sendall(head + bulk)
    socks.append([s, rest])
open(os.path.join(os.path.dirname(gz), "holding"), "w").close()
end = time.monotonic() + secs
while time.monotonic() < end:
    time.sleep(0.5)
    for c in socks:
        try:
            c[0].sendall(c[1][:1])
            c[1] = c[1][1:]
        except OSError:
            pass
for s, r in socks:
    try:
        s.sendall(r)
    except OSError:
        pass
for s, _ in socks:
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except OSError:
        pass
    s.close()
    h, _, b = data.partition(b"\r\n\r\n")
    lines = h.decode("latin-1").split("\r\n")
    st = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else 0
    ra = [l.split(":", 1)[1].strip() for l in lines[1:]
          if l.lower().startswith("retry-after:")]
    print(json.dumps({"status": st, "retry_after": ra[0] if ra else None,
                      "body": b.decode("latin-1")[:300]}))
EOF

# A JSON string of 12 MiB of random 'a'/'b': gzip keeps it under the wire
# cap (4 MiB) and the ratio cap (200).
/usr/bin/python3 - "$WORK/body.gz" <<'EOF'
import gzip, os, sys
raw = os.urandom(12 << 20).translate(bytes(b"a"[0] if i < 128 else b"b"[0]
                                           for i in range(256)))
with open(sys.argv[1], "wb") as f:
    f.write(gzip.compress(b'"' + raw + b'"', 6))
EOF
echo "gzip body: $(wc -c <"$WORK/body.gz") bytes, inflating to 12 MiB"

rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SERVER_PID/status"; }

say "10 uploads of 12 MiB (inflated), holding for 10 s, budget 16 MiB"
base=$(rss)
timeout 60 /usr/bin/python3 "$WORK/hold.py" "$PORT" "$tok" 10 10 \
	"$WORK/body.gz" >"$WORK/hold.out" &
hp=$!
AGENT_PIDS="$AGENT_PIDS $hp"
wait_for 30 test -e "$WORK/holding" || fail "the uploads did not start"
peak=$base
for i in 1 2 3 4 5 6 7 8; do
	r=$(rss)
	[ "$r" -le "$peak" ] || peak=$r
	if [ "$i" = 3 ] || [ "$i" = 6 ]; then
		code=$(curl -s --interface 127.0.0.6 --max-time 5 -o /dev/null \
			-w '%{http_code}' "$URL/healthz" || true)
		expect_eq "/healthz while the uploads hold" "$code" 200
		code=$(curl -s --interface 127.0.0.6 --max-time 5 -o /dev/null \
			-H "Authorization: Bearer $TOKEN" -w '%{http_code}' \
			"$URL/api/v1/communes" || true)
		expect_eq "GET /api/v1/communes while the uploads hold" "$code" 200
	fi
	sleep 1
done
wait "$hp" || fail "the uploads' client failed"
cat "$WORK/hold.out"
growth=$(((peak - base) / 1024))
echo "server RSS: $((base / 1024)) MiB before, $((peak / 1024)) MiB at the peak (+$growth MiB)"
[ "$growth" -lt 60 ] || fail "RSS grew by $growth MiB with a 16 MiB budget"
echo "ok: RSS growth $growth MiB < 60 MiB"
n503=$(grep -c '"status": 503' "$WORK/hold.out" || true)
[ "$n503" -ge 5 ] || fail "only $n503 of 10 uploads refused with 503"
grep '"status": 503' "$WORK/hold.out" | grep -v '"retry_after": "10"' &&
	fail "a 503 without Retry-After: 10"
grep '"status": 503' "$WORK/hold.out" |
	grep -q 'max_body_memory_mb = 16 MiB of request bodies; retry later' ||
	fail "the 503 does not name max_body_memory_mb"
echo "ok: $n503 of 10 uploads refused: 503, Retry-After 10, naming the limit"

say "after the uploads: an agent's sync"
agent_once a1 >/dev/null 2>&1 || fail "agent sync after the uploads failed"
echo "ok: agent synced"
stop_server
