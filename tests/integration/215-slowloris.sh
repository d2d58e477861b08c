# Slow clients (issue 16, finding 4): headers must arrive within
# header_timeout, a body at min_body_rate, and one address holds at most
# max_connections_per_address; the last reserved_connections slots serve
# /healthz and admins. A slowloris from 127.0.0.2..5 (python3, a byte a
# second, reconnecting when cut) must not keep /healthz from 127.0.0.6 or
# an admin call from answering within 2 s.
. tests/integration/lib.sh
[ "$BACKEND" = sqlite ] || skip "SQLite only: the HTTP layer has no engine"
server_conf 'max_connections = 64' 'max_connections_per_address = 12' \
	'reserved_connections = 16' 'header_timeout = 4'
start_server
bootstrap

cat >"$WORK/slow.py" <<'EOF'
# slow.py SRC PORT MODE CONNS SECONDS [SECRET]: CONNS connections from SRC
# to 127.0.0.1:PORT for SECONDS (then exits), each sending a byte a
# second and never finishing: MODE head (an endless header) or body (a
# POST to enrol with Content-Length 100). A connection the server cuts is
# opened again. Prints one JSON line: connections opened, cut, refused,
# and the longest a cut one lived.
import json, socket, sys, time

src, port, mode, conns, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
    int(sys.argv[4]), float(sys.argv[5])
secret = sys.argv[6] if len(sys.argv) > 6 else ""
end = time.monotonic() + secs
st = {"opened": 0, "cut": 0, "refused": 0, "longest_cut": 0.0}
live = []  # [socket, opened at, bytes to drip]

def opening():
    if mode == "head":
        return b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"X-Slow: " + b"a" * 10000
    body = b"POST /api/v1/enrol HTTP/1.1\r\nHost: x\r\n" \
        b"Authorization: Bearer " + secret.encode() + b"\r\n" \
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    return body, b"{" + b" " * 98 + b"}"

def connect():
    s = socket.socket()
    s.settimeout(2)
    try:
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        first, rest = opening()
        s.sendall(first)
    except OSError:
        st["refused"] += 1
        s.close()
        return
    s.setblocking(False)
    st["opened"] += 1
    live.append([s, time.monotonic(), rest])

while time.monotonic() < end:
    while len(live) < conns and time.monotonic() < end:
        before = st["refused"]
        connect()
        if st["refused"] > before:
            break
    time.sleep(1)
    for c in live[:]:
        s, t0, rest = c
        gone = False
        try:
            if s.recv(4096) == b"":
                gone = True
        except BlockingIOError:
            pass
        except OSError:
            gone = True
        if not gone and rest:
            try:
                s.send(rest[:1])
                c[2] = rest[1:]
            except OSError:
                gone = True
        if gone and time.monotonic() - t0 < 1.5:
            st["refused"] += 1  # closed at once: over a connection cap
        elif gone:
            st["cut"] += 1
            st["longest_cut"] = max(st["longest_cut"], time.monotonic() - t0)
            s.close()
            live.remove(c)
for c in live:
    c[0].close()
print(json.dumps(st))
EOF

# slow SRC MODE CONNS SECONDS [SECRET] >OUT &: one slow client process.
slow() { /usr/bin/python3 "$WORK/slow.py" "$1" "$PORT" "$2" "$3" "$4" ${5:+"$5"}; }

say "one endless header, one body at a byte a second"
slow 127.0.0.2 head 1 12 >"$WORK/head.json" &
p1=$!
slow 127.0.0.3 body 1 12 "$SECRET_29019" >"$WORK/body.json" &
p2=$!
AGENT_PIDS="$AGENT_PIDS $p1 $p2"
wait "$p1" "$p2"
cat "$WORK/head.json" "$WORK/body.json"
for f in head body; do
	cut=$(json 'j["cut"]' <"$WORK/$f.json")
	longest=$(json 'int(j["longest_cut"])' <"$WORK/$f.json")
	[ "$cut" -ge 1 ] || fail "$f: a slow client kept its connection 12 s"
	# header_timeout 4 s, then the 0.5 s reaper and the client's 1 s poll.
	[ "$longest" -le 7 ] || fail "$f: cut only after $longest s"
	echo "ok: slow $f cut within $longest s"
done

say "slowloris from 4 addresses, 20 connections each, 20 s"
pids=""
for a in 2 3 4 5; do
	slow "127.0.0.$a" head 20 20 >"$WORK/loris.$a.json" &
	pids="$pids $!"
done
AGENT_PIDS="$AGENT_PIDS $pids"
sleep 3
worst=0
for _ in 1 2 3 4 5 6; do
	out=$(curl -s --interface 127.0.0.6 --max-time 5 -o "$WORK/hz" \
		-w '%{http_code} %{time_total}' "$URL/healthz" || true)
	code=${out%% *} secs=${out#* }
	ms=$(echo "$secs" | awk '{printf "%d", $1 * 1000}')
	[ "$code" = 200 ] || fail "/healthz from 127.0.0.6 during the slowloris: '$out'"
	[ "$ms" -le 2000 ] || fail "/healthz took $ms ms"
	[ "$ms" -le "$worst" ] || worst=$ms
	out=$(curl -s --interface 127.0.0.6 --max-time 5 -o "$WORK/adm" \
		-H "Authorization: Bearer $TOKEN" \
		-w '%{http_code} %{time_total}' "$URL/api/v1/communes" || true)
	code=${out%% *} secs=${out#* }
	ms=$(echo "$secs" | awk '{printf "%d", $1 * 1000}')
	[ "$code" = 200 ] || fail "admin call from 127.0.0.6 during the slowloris: '$out'"
	[ "$ms" -le 2000 ] || fail "admin call took $ms ms"
	[ "$ms" -le "$worst" ] || worst=$ms
	sleep 2
done
echo "ok: /healthz and GET /api/v1/communes answered 12 times, slowest $worst ms"
# shellcheck disable=SC2086
wait $pids
refused=0
for a in 2 3 4 5; do
	cat "$WORK/loris.$a.json"
	r=$(json 'j["refused"]' <"$WORK/loris.$a.json")
	refused=$((refused + r))
done
[ "$refused" -gt 0 ] || fail "no connection over the per-address cap was refused"
echo "ok: $refused connections over 12 per address refused"
stop_server
grep "connections: " "$WORK/server.log" | tail -n 1
n=$(sed -n 's/.*connections: \([0-9]*\) cut for slow headers.*/\1/p' "$WORK/server.log" | tail -n 1)
[ "${n:-0}" -ge 48 ] || fail "only ${n:-0} connections cut for slow headers"
echo "ok: $n slow connections cut"
