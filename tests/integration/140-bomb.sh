# A gzip bomb (1 GiB of zeros, about 1 MB on the wire) is refused with 413
# while the server's memory grows by less than 64 MiB; without credentials
# it is refused with 401 before a byte of it is read or inflated.
. tests/integration/lib.sh
start_server
bootstrap
agent_conf pc 29019
agent_once pc || fail "agent failed"
tok=$(cat "$WORK/pc/token")
head -c 1073741824 /dev/zero | gzip -9 >"$WORK/bomb.gz"
echo "bomb: $(stat -c %s "$WORK/bomb.gz") bytes on the wire, 1 GiB inflated"
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status"; }
before=$(hwm)
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $tok" \
	-H 'Content-Type: application/json' -H 'Content-Encoding: gzip' \
	--data-binary @"$WORK/bomb.gz" "$URL/api/v1/batches")
after=$(hwm)
expect_eq "bomb with credentials" "$code" 413
grep -q "size or ratio limit" "$WORK/body" || fail "$(cat "$WORK/body")"
growth=$(( (after - before) / 1024 ))
[ "$before" -gt 0 ] || fail "cannot read the server's VmHWM"
echo "server peak RSS: $((before / 1024)) MiB before, $((after / 1024)) MiB after (+$growth MiB)"
[ "$growth" -lt 64 ] || fail "server memory grew by $growth MiB"
# Expect: 100-continue, as a well-behaved client sends it: the server
# answers from the headers, and curl never starts an upload the server
# would cut (without it, curl may fail to send, exit 55, a race).
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H 'Content-Type: application/json' \
	-H 'Expect: 100-continue' --expect100-timeout 10 \
	-H 'Content-Encoding: gzip' --data-binary @"$WORK/bomb.gz" "$URL/api/v1/batches")
expect_eq "bomb without credentials" "$code" 401
grep -q "401 to POST /api/v1/batches before reading its body" "$WORK/server.log" ||
	fail "body read before authentication"
echo "ok: refused before reading or inflating anything"
kill -0 "$SERVER_PID" || fail "server died"
