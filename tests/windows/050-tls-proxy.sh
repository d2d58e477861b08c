# Network as a mairie has it, under wine (Schannel, TLS 1.2):
# - a server whose certificate comes from another CA gets nothing: the
#   rogue TLS server (tests/tools/roguetls.py) sees handshakes and no
#   request, the agent keeps its data;
# - a proxy on loopback (tests/tools/connectproxy.py, which counts the
#   CONNECTs) is used when agent.conf names it ("proxy = http://...");
# - with no proxy in agent.conf, the WinHTTP default proxy is used: what
#   "netsh winhttp set proxy" writes (wine's netsh does nothing, so the
#   test writes the same registry value, WinHttpSettings);
# - "proxy = direct" goes around it.
. tests/windows/lib.sh
win_init
start_tls_server
bootstrap
"$B/mutu-server" tls-init "$WORK/rogue" localhost >/dev/null

say "rogue certificate (another CA)"
/usr/bin/python3 tests/tools/roguetls.py "$WORK/rogue/server.pem" \
	"$WORK/rogue/server.key" "$WORK/rogue.port" "$WORK/rogue.log" \
	2>>"$WORK/rogue.err" &
AGENT_PIDS="$AGENT_PIDS $!"
wait_for 10 test -s "$WORK/rogue.port" || fail "rogue server did not start"
real_url=$URL
URL="https://localhost:$(cat "$WORK/rogue.port")"
win_agent_conf evil 29019 "startup_splay = 0"
set +e
agent -c "$WCONF" --once >"$WORK/evil.out" 2>&1; rc=$?
set -e
cat "$WORK/evil.out"
[ "$rc" -ne 0 ] || fail "the agent reported success with a rogue server"
touch "$WORK/rogue.log"
hs=$(grep -c '"handshake"' "$WORK/rogue.log" || true)
reqs=$(grep -c '"request"' "$WORK/rogue.log" || true)
cat "$WORK/rogue.log"
[ "$hs" -ge 1 ] || fail "the agent never reached the rogue server (nothing proven)"
expect_eq "requests the rogue server received" "$reqs" 0
grep -qi "certif\|SEC_E\|schannel\|SSL" "$WORK/evil.out" ||
	fail "no certificate error in the agent's output"
[ -z "$(ls "$WORK/evil" 2>/dev/null | grep -i token)" ] || fail "a token exists after a rogue enrolment"
echo "ok: rogue certificate refused before any request ($hs handshakes, 0 requests)"
URL=$real_url

# proxies: one for agent.conf, one for the WinHTTP default
for p in conf sys; do
	/usr/bin/python3 tests/tools/connectproxy.py "$WORK/$p-proxy.port" \
		"$WORK/$p-proxy.log" 2>>"$WORK/proxy.err" &
	AGENT_PIDS="$AGENT_PIDS $!"
	wait_for 10 test -s "$WORK/$p-proxy.port" || fail "proxy $p did not start"
	: >>"$WORK/$p-proxy.log"
done
connects() { grep -c "\"CONNECT\".*localhost:$PORT\".*200" "$WORK/$1-proxy.log" || true; }

say "proxy in agent.conf"
win_agent_conf viaconf 29019 "startup_splay = 0" \
	"proxy = http://127.0.0.1:$(cat "$WORK/conf-proxy.port")"
agent_once "$WORK/viaconf.out" -c "$WCONF" ||
	fail "delivery through the configured proxy failed: $(cat "$WORK/viaconf.out")"
n=$(connects conf)
[ "$n" -ge 1 ] || fail "the configured proxy saw no CONNECT: $(cat "$WORK/conf-proxy.log")"
expect_eq "agents at the server" "$(sdb 'SELECT count(*) FROM agents')" 1
echo "ok: configured proxy used ($n CONNECTs to localhost:$PORT)"

say "WinHTTP default proxy (netsh winhttp set proxy)"
sysproxy="127.0.0.1:$(cat "$WORK/sys-proxy.port")"
blob=$(/usr/bin/python3 -c "
import struct, sys
p = sys.argv[1].encode()
print((struct.pack('<III', 0x18, 0, 2) + struct.pack('<I', len(p)) + p +
       struct.pack('<I', 0)).hex())" "$sysproxy")
wrun reg add 'HKLM\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections' \
	/v WinHttpSettings /t REG_BINARY /d "$blob" /f >/dev/null 2>&1 ||
	fail "cannot set the WinHTTP proxy"
before_conf=$(connects conf)
win_agent_conf viasys 29019 "startup_splay = 0"
agent_once "$WORK/viasys.out" -c "$WCONF" ||
	fail "delivery through the WinHTTP proxy failed: $(cat "$WORK/viasys.out")"
n=$(connects sys)
[ "$n" -ge 1 ] || fail "the WinHTTP default proxy saw no CONNECT: $(cat "$WORK/sys-proxy.log")"
expect_eq "CONNECTs to the other proxy" "$(connects conf)" "$before_conf"
expect_eq "agents at the server" "$(sdb 'SELECT count(*) FROM agents')" 2
echo "ok: WinHTTP default proxy used ($n CONNECTs)"

say "proxy = direct goes around the WinHTTP proxy"
before_sys=$(connects sys)
win_agent_conf direct 29019 "startup_splay = 0" "proxy = direct"
agent_once "$WORK/direct.out" -c "$WCONF" ||
	fail "direct delivery failed: $(cat "$WORK/direct.out")"
expect_eq "CONNECTs with proxy = direct" "$(connects sys)" "$before_sys"
expect_eq "agents at the server" "$(sdb 'SELECT count(*) FROM agents')" 3
echo "done in $(elapsed) s"
