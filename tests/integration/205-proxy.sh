# Proxy: the agent's "proxy =" key sends its HTTPS requests through an
# HTTP proxy (CONNECT), wins over https_proxy in the environment, and
# "direct" ignores the environment; a proxy that refuses gets nothing
# delivered and the data stays queued.
. tests/integration/lib.sh
"$B/mutu-server" tls-init "$WORK/pki" localhost >/dev/null
rm -f "$WORK/port"
"$B/mutu-server" $DB_ARGS -d -l 127.0.0.1:0 --port-file "$WORK/port" \
	--tls-cert "$WORK/pki/server.pem" --tls-key "$WORK/pki/server.key" \
	>>"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_for 10 test -s "$WORK/port" || fail "TLS server did not start"
PORT=$(cat "$WORK/port")
bootstrap
URL="https://localhost:$PORT"
/usr/bin/python3 tests/tools/connectproxy.py "$WORK/cport" "$WORK/connect.log" \
	2>>"$WORK/connect.err" &
AGENT_PIDS="$AGENT_PIDS $!"
wait_for 10 test -s "$WORK/cport" || fail "proxy did not start"
PX="http://127.0.0.1:$(cat "$WORK/cport")"
connects() { grep -c '"CONNECT"' "$WORK/connect.log" 2>/dev/null || true; }

# The key, with a dead proxy in the environment that must not be used.
agent_conf pc 29019 "ca_file = $WORK/pki/ca.pem" "proxy = $PX"
https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 agent_once pc ||
	fail "agent through the configured proxy failed"
expect_eq "queue after delivery through the proxy" "$(queued pc)" 0
[ "$(connects)" -ge 1 ] || fail "no CONNECT reached the proxy"
grep -q "\"localhost:$PORT\"" "$WORK/connect.log" || fail "CONNECT to the wrong target"
echo "ok: $(connects) CONNECT through the configured proxy"

# The environment alone: libcurl's default, unchanged on Linux.
before=$(connects)
agent_conf env 29019 "ca_file = $WORK/pki/ca.pem"
https_proxy=$PX agent_once env || fail "agent through https_proxy failed"
[ "$(connects)" -gt "$before" ] || fail "https_proxy not used without the key"

# direct: the environment's proxy is ignored.
before=$(connects)
agent_conf direct 29019 "ca_file = $WORK/pki/ca.pem" "proxy = direct"
https_proxy=http://127.0.0.1:9 agent_once direct || fail "proxy = direct did not connect directly"
expect_eq "CONNECTs with proxy = direct" "$(connects)" "$before"

# A proxy that refuses (a CONNECT elsewhere is answered 403): nothing
# delivered, the records stay queued, the exit says so.
agent_conf refused 29019 "ca_file = $WORK/pki/ca.pem" "proxy = $PX"
sed -i "s|^server = .*|server = https://mutu.invalid:$PORT|" "$WORK/refused.conf"
set +e
agent_once refused 2>"$WORK/refused.err"; rc=$?
set -e
expect_eq "refused by the proxy: exit" "$rc" 1
[ "$(queued refused)" -gt 0 ] || fail "records lost when the proxy refused"
grep -q '"status": 403' "$WORK/connect.log" || fail "the proxy did not refuse"

# A bad value is a configuration error naming the key.
agent_conf bad 29019 "proxy = ftp://x"
set +e
"$B/mutu-agent" -c "$WORK/bad.conf" -n 2>"$WORK/bad.err"; rc=$?
set -e
expect_eq "bad proxy: exit" "$rc" 2
grep -q "proxy:" "$WORK/bad.err" || fail "bad proxy not named: $(cat "$WORK/bad.err")"
echo "ok: direct, environment, refusal and a bad value"
