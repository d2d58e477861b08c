# The agent's "plain http:// only to loopback" rule (issue 16, finding 7):
# the old check read the text after "http://" up to ':' or '/', so
# http://127.0.0.1@evil.example/ (user "127.0.0.1" at evil.example) and
# http://127.evil.example/ (a DNS name) passed. The URL is now parsed by
# libcurl's own parser (curl_url()) and the host it will connect to must
# be a loopback literal (127.0.0.0/8, [::1]) or "localhost", which libcurl
# resolves itself. A plain-http loopback request also bypasses any proxy.
. tests/integration/lib.sh
start_server
bootstrap

# conf_check URL: runs "mutu-agent -n" on a configuration with server URL;
# prints the exit status, the message in $WORK/err.
conf_check() {
	agent_conf pc 29019 "server = $1"
	sed -i "0,/^server = http:\/\/127.0.0.1:$PORT$/{//d}" "$WORK/pc.conf"
	set +e
	"$B/mutu-agent" -c "$WORK/pc.conf" -n >/dev/null 2>"$WORK/err"
	echo $?
	set -e
}

say "refused: URLs whose real host is not loopback"
for u in "http://127.0.0.1@evil.example/" "http://127.0.0.1:$PORT@evil.example:$PORT/" \
	"http://127.evil.example/" "http://127.0.0.1.evil.example/" \
	"http://localhost.evil.example/" "http://127.0.0.1:80@10.0.0.1/" \
	"http://[::1]@evil.example/" "http://127.0.0.1%2F@evil.example/" \
	"http://evil.example/127.0.0.1" "http://evil.example#127.0.0.1" \
	"ftp://127.0.0.1/"; do
	expect_eq "refused: $u" "$(conf_check "$u")" 2
	grep -q "server:" "$WORK/err" || fail "$u: $(cat "$WORK/err")"
done
conf_check "http://127.0.0.1@evil.example/" >/dev/null
grep -q "would connect to 'evil.example'" "$WORK/err" || fail "message: $(cat "$WORK/err")"
echo "ok: the message names the host libcurl would connect to"

say "accepted: loopback literals (as libcurl normalises them), localhost, https"
for u in "http://127.0.0.1:$PORT" "http://127.0.0.2:$PORT/" "http://[::1]:$PORT" \
	"http://localhost:$PORT" "http://LOCALHOST:$PORT" "http://127.1:$PORT" \
	"http://0x7f.0.0.1:$PORT" "http://2130706433:$PORT" \
	"http://evil.example@127.0.0.1:$PORT/" "https://mutu.example.org"; do
	expect_eq "accepted: $u" "$(conf_check "$u")" 0
done

say "mutu-agent enrol refuses such a URL before writing the configuration"
printf '%s\n' "$SECRET_29019" >"$WORK/secret"
chmod 600 "$WORK/secret"
set +e
"$B/mutu-agent" -c "$WORK/enrol.conf" enrol --server "http://127.0.0.1@evil.example/" \
	--commune 29019 --secret-file "$WORK/secret" 2>"$WORK/err"
rc=$?
set -e
expect_eq "enrol with a disguised URL" "$rc" 2
[ ! -e "$WORK/enrol.conf" ] || fail "configuration written: $(cat "$WORK/enrol.conf")"
echo "ok: nothing written"

say "an accepted URL works, and plain http to loopback bypasses a proxy"
# Nothing listens on the proxy's port: a request sent through it fails.
agent_conf pc 29019 "server = http://localhost:$PORT" "proxy = http://127.0.0.1:9"
sed -i "0,/^server = http:\/\/127.0.0.1:$PORT$/{//d}" "$WORK/pc.conf"
agent_once pc 2>"$WORK/err" || fail "localhost through no proxy: $(cat "$WORK/err")"
test -s "$WORK/pc/token" || fail "not enrolled"
echo "ok: enrolled and delivered at http://localhost:$PORT, proxy bypassed"
