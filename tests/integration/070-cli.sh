# Command lines: config checks name file:line, secrets files must be
# private, versions and usage.
. tests/integration/lib.sh
URL=http://127.0.0.1:9
SECRET_29019=s
agent_conf pc 29019
"$B/mutu-agent" -c "$WORK/pc.conf" -n | grep -q "configuration OK" || fail "-n"
echo "bogus = 1" >>"$WORK/pc.conf"
set +e
"$B/mutu-agent" -c "$WORK/pc.conf" -n 2>"$WORK/err"; rc=$?
set -e
expect_eq "bad config exit" "$rc" 2
grep -q "pc.conf:6: unknown key 'bogus'" "$WORK/err" || fail "message: $(cat "$WORK/err")"
agent_conf pc 29019
chmod 644 "$WORK/pc.conf"
set +e
"$B/mutu-agent" -c "$WORK/pc.conf" -n 2>"$WORK/err"; rc=$?
set -e
expect_eq "world-readable exit" "$rc" 2
grep -q "accessible to all users" "$WORK/err" || fail "message: $(cat "$WORK/err")"
"$B/mutu-agent" --version | grep -q "^mutu-agent [0-9]" || fail "agent --version"
"$B/mutu-server" --version | grep -q "^mutu-server [0-9]" || fail "server --version"
"$B/mutuctl" --version | grep -q "^mutuctl [0-9]" || fail "mutuctl --version"
"$B/mutu-agent" --help | grep -q -- "--once" || fail "agent --help"
set +e
"$B/mutu-server" -D "$WORK/s.db" commune add 123 X 2>"$WORK/err"; rc=$?
set -e
expect_eq "bad commune exit" "$rc" 1
grep -q "not an INSEE commune code" "$WORK/err" || fail "message: $(cat "$WORK/err")"
srv commune add 29019 Brest >/dev/null
set +e
srv commune add 29019 Brest 2>"$WORK/err"; rc=$?
srv enrol-secret 99999 2>>"$WORK/err"; rc2=$?
set -e
expect_eq "duplicate commune exit" "$rc" 1
expect_eq "secret for unknown commune exit" "$rc2" 1
grep -q "exists already" "$WORK/err" || fail "message: $(cat "$WORK/err")"
grep -q "no commune 99999" "$WORK/err" || fail "message: $(cat "$WORK/err")"
# Secrets and tokens are stored hashed, never in clear.
s=$(srv enrol-secret 29019)
t=$(srv admin-token)
if sdb_dump | grep -q -e "$s" -e "$t"; then fail "secret stored in clear"; fi
echo "ok: secrets stored hashed"
# The agent refuses files others could change.
agent_conf pc 29019
chmod 620 "$WORK/pc.conf"
set +e
"$B/mutu-agent" -c "$WORK/pc.conf" -n 2>"$WORK/err"; rc=$?
set -e
expect_eq "group-writable config exit" "$rc" 2
grep -q "writable by others" "$WORK/err" || fail "message: $(cat "$WORK/err")"
chmod 600 "$WORK/pc.conf"
cp "$WORK/pc.conf" "$WORK/ca.pem"
chmod 666 "$WORK/ca.pem"
echo "ca_file = $WORK/ca.pem" >>"$WORK/pc.conf"
set +e
"$B/mutu-agent" -c "$WORK/pc.conf" -n 2>"$WORK/err"; rc=$?
set -e
expect_eq "world-writable CA exit" "$rc" 2
grep -q "ca_file .*writable by others" "$WORK/err" || fail "message: $(cat "$WORK/err")"
cp "$B/mutu-agent" "$WORK/agent-copy"
chmod 777 "$WORK/agent-copy"
set +e
"$WORK/agent-copy" -c "$WORK/pc.conf" -n 2>"$WORK/err"; rc=$?
set -e
expect_eq "world-writable binary exit" "$rc" 2
grep -q "binary .*writable by others" "$WORK/err" || fail "message: $(cat "$WORK/err")"
