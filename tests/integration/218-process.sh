# The server process and request framing (issue 16, Low):
# - a JSON body must be sent as exactly application/json (parameters such
#   as charset allowed): application/jsonx is 415, naming the type;
# - the server can dump no core (it holds tokens and the TLS key): not
#   dumpable, which makes /proc/PID/ root's even when it runs as another
#   user, and a core size limit of 0.
. tests/integration/lib.sh
start_server
bootstrap

say "Content-Type"
# enrol TYPE: the status of an enrolment of a new PC (number $n) sent
# with that Content-Type.
n=10
enrol() {
	curl -s -o "$WORK/body" -w '%{http_code}' -X POST \
		-H "Authorization: Bearer $SECRET_29019" -H "Content-Type: $1" \
		--data "{\"agent_id\":\"00000000-0000-4000-8000-0000000000$n\",\"hostname\":\"pc$n\"}" \
		"$URL/api/v1/enrol"
}
for t in application/jsonx application/json-patch+json 'application/json x' \
	text/plain 'application/jsonx; charset=utf-8'; do
	n=$((n + 1))
	expect_eq "Content-Type: $t" "$(enrol "$t")" 415
	grep -q "not '${t%%;*}'" "$WORK/body" || fail "415 does not name '$t': $(cat "$WORK/body")"
done
for t in application/json 'application/json; charset=utf-8' \
	'Application/JSON;charset=UTF-8' 'application/json ; charset=utf-8'; do
	n=$((n + 1))
	code=$(enrol "$t")
	[ "$code" = 201 ] || fail "Content-Type: $t: $code $(cat "$WORK/body")"
	echo "ok: Content-Type: $t accepted"
done

say "no core dumps"
mkdir "$WORK/nobody"
chown 65534:65534 "$WORK/nobody"
setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$B/mutu-server" -D "$WORK/nobody/s.db" -d -l 127.0.0.1:0 \
	--port-file "$WORK/nobody/port" 2>"$WORK/nobody.log" &
pid=$!
AGENT_PIDS="$AGENT_PIDS $pid"
wait_for 10 test -s "$WORK/nobody/port" || fail "server as nobody: $(cat "$WORK/nobody.log")"
expect_eq "server's uid" "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" 65534
# A process that is not dumpable has its /proc/PID/ files owned by root.
expect_eq "owner of /proc/PID/status (0: not dumpable)" \
	"$(stat -c %u "/proc/$pid/status")" 0
expect_eq "core file size limit" \
	"$(awk '/^Max core file size/ {print $5 "/" $6}' "/proc/$pid/limits")" 0/0
kill -TERM "$pid"
wait "$pid" || fail "server as nobody exited with $?"
