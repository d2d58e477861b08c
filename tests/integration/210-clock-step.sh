# The wall clock stepped under a running agent (issue 16, finding 3), as
# NTP or an admin would: libfaketime moves the agent's wall clock through a
# timestamp file it rereads at every call, and leaves the boot clock alone
# (FAKETIME_DONT_FAKE_MONOTONIC). A program runs 8 s; 3 s into it the clock
# steps by +1 h, +10 years or -1 h. The usage the server stores must not
# exceed the time that really elapsed (nor be lost), its dates must be the
# true ones once the server has corrected them, and the agent must log the
# step.
. tests/integration/lib.sh
[ "$BACKEND" = sqlite ] || skip "SQLite only: the agent's side: the engines are tested by the other tests"
command -v faketime >/dev/null || skip "faketime not installed (make deps)"
LIBFT=""
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 \
	/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1 \
	/usr/lib/faketime/libfaketime.so.1 /usr/local/lib/faketime/libfaketime.so.1; do
	[ -f "$f" ] && LIBFT=$f && break
done
[ -n "$LIBFT" ] || skip "libfaketime.so.1 not found"
# Sanitizer builds: libfaketime is preloaded ahead of the ASan runtime.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0"
start_server
bootstrap

# step NAME OFFSET: one agent, one program run, one step of OFFSET seconds.
step() {
	name=$1 off=$2
	echo "+0" >"$WORK/$name.ts"
	agent_conf "$name" 29019 "usage_interval = 1" "sync_interval = 1" \
		"usage_min_uid = 0" "startup_splay = 0"
	LD_PRELOAD=$LIBFT FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_NO_CACHE=1 \
		FAKETIME_TIMESTAMP_FILE="$WORK/$name.ts" \
		"$B/mutu-agent" -c "$WORK/$name.conf" -d -v >>"$WORK/$name.log" 2>&1 &
	pid=$!
	AGENT_PIDS="$AGENT_PIDS $pid"
	wait_for 20 test -s "$WORK/$name/token" || fail "$name: agent did not enrol"
	app="$WORK/step-$name"
	cp /bin/sleep "$app"
	t0=$(date +%s)
	"$app" 8 &
	app_pid=$!
	sleep 3
	echo "$off" >"$WORK/$name.ts"
	wait "$app_pid"
	t1=$(date +%s)
	product=$(basename "$app")
	# Delivered: the session closed, nothing of it left in the queue, and
	# the server has it (or the queue set it aside: then it failed).
	q() { sqlite3 "$WORK/$name/queue.db" "$1" 2>/dev/null || echo busy; }
	arrived() {
		[ "$(q "SELECT count(*) FROM sessions WHERE exe LIKE '%/$product'")" = 0 ] &&
			[ "$(q "SELECT count(*) FROM records WHERE body LIKE '%$product%'")" = 0 ] &&
			{ [ "$(sdb "SELECT count(*) FROM usage WHERE product = '$product'")" -ge 1 ] ||
				[ "$(q "SELECT count(*) FROM quarantine")" != 0 ]; }
	}
	wait_for 30 arrived || fail "$name: the usage of $product never reached the server"
	[ "$(q "SELECT count(*) FROM quarantine")" = 0 ] ||
		fail "$name: the server refused records: $(q "SELECT reason, body FROM quarantine" | cut -c1-300)"
	kill -TERM "$pid"
	wait "$pid" || fail "$name: agent exit status $?"
	rows=$(sdb "SELECT start, \"end\" FROM usage WHERE product = '$product' ORDER BY start")
	echo "$name: step $off s; true run $t0..$t1 ($((t1 - t0)) s); stored:"
	echo "$rows" | sed 's/^/    /'
	elapsed=$((t1 - t0))
	total=$(sdb "SELECT sum(\"end\" - start) FROM usage WHERE product = '$product'")
	longest=$(sdb "SELECT max(\"end\" - start) FROM usage WHERE product = '$product'")
	first=$(sdb "SELECT min(start) FROM usage WHERE product = '$product'")
	last=$(sdb "SELECT max(\"end\") FROM usage WHERE product = '$product'")
	# Samples are 1 s apart: a session is seen from its first sample to its
	# last, so it may miss up to 2 s, never add any.
	[ "$total" -le "$elapsed" ] ||
		fail "$name: $total s of usage stored for a run of $elapsed s"
	[ "$longest" -le "$elapsed" ] || fail "$name: one record of $longest s"
	[ "$total" -ge $((elapsed - 3)) ] ||
		fail "$name: only $total s of usage stored for a run of $elapsed s"
	# Dated on the true clock (the server corrects by the boot clock).
	[ "$first" -ge $((t0 - 2)) ] && [ "$first" -le $((t0 + 2)) ] ||
		fail "$name: stored start $first, true start $t0"
	[ "$last" -ge $((t1 - 3)) ] && [ "$last" -le $((t1 + 1)) ] ||
		fail "$name: stored end $last, true end $t1"
	# The step is measured between two samples: within a second or two.
	logged=$(sed -n 's/.*wall clock stepped by \([-+0-9]*\) s.*/\1/p' "$WORK/$name.log" | head -1)
	[ -n "$logged" ] && [ $((logged - off)) -ge -2 ] && [ $((logged - off)) -le 2 ] ||
		fail "$name: the step was not logged: $(grep -i clock "$WORK/$name.log" | head -3)"
	# Reported: the server shows the agent's clock off by the step
	# (records and Mutu-Clock carry the boot clock beside the wall clock).
	shown=$(ctl --format json machines | json "[round(m['clock_offset_s']) for m in j if m['agent_id'] == open('$WORK/$name/agent-id').read().strip()][0]")
	d=$((shown + off))
	[ "$d" -ge -2 ] && [ "$d" -le 2 ] || fail "$name: clock offset shown $shown, expected $((0 - off))"
	echo "ok: $name: $total s stored for $elapsed s run, dated $((first - t0)) s from the truth, step logged, offset $shown s shown"
}
step hour-fast +3600
step decade-fast +315360000
step hour-slow -3600
