# Herd: 1,000 agents with a day of backlog each come back at once (a
# fleet switched on after an outage), through the real agent code. The
# server admits batches_per_second and answers the rest 429 with booked
# Retry-After slots: the request peak stays within 3x the steady rate
# (the batches per second the server serves when saturated), no
# agent comes back before its Retry-After, and the backlog drains with no
# error other than 429.
# check: solo (loads the machine: tests/run.sh runs it alone)
. tests/integration/lib.sh
AGENTS=${HERD_AGENTS:-1000}
SPLAY=$((AGENTS / 50)) # agents arrive at ~50/s, the server admits 45/s
# The 1,000 PCs keep their connections open, as agents do, and all come
# from 127.0.0.1 where a real fleet comes from as many addresses: the
# per-address limit (64) would cut them (connection resets, not 429s).
server_conf "batches_per_second = 45" "requests_per_minute = 0" \
	"enrol_per_minute = 0" "threads = 8" "max_connections = 2048" \
	"max_connections_per_address = 2048"
start_server
bootstrap
echo "$SECRET_29019" >"$WORK/secret"
mkdir "$WORK/fleet"
"$B/mutu-fleetsim" herd --server "$URL" --commune 29019 \
	--secret-file "$WORK/secret" --dir "$WORK/fleet" --agents "$AGENTS" \
	--records 48 --splay "$SPLAY" --threads 48 >"$WORK/herd.json" 2>"$WORK/herd.err" ||
	{ tail -5 "$WORK/herd.err"; cat "$WORK/herd.json"; fail "fleetsim failed"; }
cat "$WORK/herd.json"
r() { json "j['$1']" <"$WORK/herd.json"; }
expect_eq "agents drained" "$(r drained)" "$AGENTS"
expect_eq "errors other than 429" "$(r errors)" 0
[ "$(r refused_429)" -gt 0 ] || fail "the server never shed load: the herd was not one"
/usr/bin/python3 -c "import sys; sys.exit(0 if $(r peak_over_steady) <= 3 else 1)" ||
	fail "request peak $(r peak_rps)/s is over 3x the steady $(r steady_rps)/s"
echo "ok: request peak $(r peak_rps)/s, $(r peak_over_steady) x the steady $(r steady_rps) batches/s"
expect_eq "records stored" "$(sdb "SELECT count(*) FROM usage")" "$(r records_expected)"
stop_server
grep "batches:" "$WORK/server.log"
early=$(sed -n 's/.* \([0-9]*\) retried before their Retry-After.*/\1/p' "$WORK/server.log")
expect_eq "requests before their Retry-After" "$early" 0
