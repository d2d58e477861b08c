#!/bin/sh
# mutuctl waits out the admin rate limit (429 with Retry-After) instead of
# failing half-way through a script: with 1 request/s and a burst of 2,
# six calls in a row all succeed, the later ones after saying they wait;
# with a Retry-After beyond mutuctl's bound it gives up with the server's
# message (exit 1).
. tests/integration/lib.sh
server_conf "admin_requests_per_second = 1" "admin_burst = 2"
start_server
bootstrap
i=0
: >"$WORK/err"
while [ $i -lt 6 ]; do
	ctl communes >/dev/null 2>>"$WORK/err" || fail "call $i: $(cat "$WORK/err")"
	i=$((i + 1))
done
echo "ok: six calls at a 1/s limit, burst 2, all answered"
n=$(grep -c "rate-limited, retrying in" "$WORK/err" || true)
[ "$n" -ge 1 ] || fail "no wait was said: $(cat "$WORK/err")"
echo "ok: mutuctl said it waited $n times"
