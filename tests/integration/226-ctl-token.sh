#!/bin/sh
# mutuctl's token out of the command line (issue 16, Low): --token-file
# FILE (refused, with the reason, when group or others may read it, or
# when it is not a regular file) and MUTU_TOKEN work without a word;
# --token still works, warns once on stderr, and is wiped from
# /proc/PID/cmdline while mutuctl runs.
. tests/integration/lib.sh
start_server
bootstrap
TF=$WORK/token
(umask 077 && printf '%s\n' "$TOKEN" >"$TF")

say "--token-file"
"$B/mutuctl" --server "$URL" --token-file "$TF" communes >"$WORK/out" 2>"$WORK/err" ||
	fail "--token-file: $(cat "$WORK/err")"
grep -q 29019 "$WORK/out" || fail "--token-file: $(cat "$WORK/out")"
[ ! -s "$WORK/err" ] || fail "--token-file printed: $(cat "$WORK/err")"
echo "ok: --token-file (0600) works, nothing on stderr"
chmod 400 "$TF"
"$B/mutuctl" --server "$URL" --token-file "$TF" communes >/dev/null || fail "--token-file 0400"
for mode in 640 604 660 644; do
	chmod "$mode" "$TF"
	set +e
	"$B/mutuctl" --server "$URL" --token-file "$TF" communes >/dev/null 2>"$WORK/err"; rc=$?
	set -e
	expect_eq "--token-file mode $mode" "$rc" 2
	grep -q "mode 0$mode lets group or others read" "$WORK/err" && grep -q "chmod 600" "$WORK/err" ||
		fail "message: $(cat "$WORK/err")"
done
chmod 600 "$TF"
set +e
"$B/mutuctl" --server "$URL" --token-file "$WORK/none" communes 2>"$WORK/err"; r1=$?
"$B/mutuctl" --server "$URL" --token-file "$WORK" communes 2>>"$WORK/err"; r2=$?
: >"$WORK/empty"; chmod 600 "$WORK/empty"
"$B/mutuctl" --server "$URL" --token-file "$WORK/empty" communes 2>>"$WORK/err"; r3=$?
set -e
expect_eq "missing, directory, empty token files" "$r1 $r2 $r3" "2 2 2"
cat "$WORK/err"

say "MUTU_TOKEN"
MUTU_TOKEN=$TOKEN "$B/mutuctl" --server "$URL" communes >"$WORK/out" 2>"$WORK/err" || fail "MUTU_TOKEN"
grep -q 29019 "$WORK/out" && [ ! -s "$WORK/err" ] || fail "MUTU_TOKEN: $(cat "$WORK/err")"
echo "ok: MUTU_TOKEN works, nothing on stderr"

say "--token: works, warns once"
"$B/mutuctl" --server "$URL" --token "$TOKEN" --token "$TOKEN" communes >"$WORK/out" 2>"$WORK/err" ||
	fail "--token: $(cat "$WORK/err")"
grep -q 29019 "$WORK/out" || fail "--token"
expect_eq "warnings" "$(grep -c "warning: --token shows the token to other local users" "$WORK/err")" 1
cat "$WORK/err"
"$B/mutuctl" --help | grep -q -- "--token-file FILE" || fail "usage does not show --token-file"

say "what other local users see in /proc/PID/cmdline"
# A server that accepts and never answers keeps mutuctl running.
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$WORK/mute-port" &
AGENT_PIDS="$AGENT_PIDS $!"
wait_for 10 test -s "$WORK/mute-port" || fail "mute server"
MUTE="http://127.0.0.1:$(cat "$WORK/mute-port")"
# cmdline_of ARGS...: mutuctl's command line as /proc shows it once it
# waits for the server.
cmdline_of() {
	"$B/mutuctl" --server "$MUTE" "$@" machines >/dev/null 2>&1 &
	pid=$!
	sleep 1
	tr '\0' ' ' </proc/$pid/cmdline
	kill $pid
	wait $pid 2>/dev/null || true
}
cmdline_of --token-file "$TF" >"$WORK/c1"
cmdline_of --token "$TOKEN" >"$WORK/c2"
cat "$WORK/c1"; echo; cat "$WORK/c2"; echo
grep -q "$TOKEN" "$WORK/c1" "$WORK/c2" && fail "the token is in /proc/PID/cmdline"
grep -q -- "--token-file $TF" "$WORK/c1" || fail "cmdline: $(cat "$WORK/c1")"
echo "ok: the token is not in /proc/PID/cmdline (--token is wiped once read)"
