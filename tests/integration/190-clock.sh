# Wrong agent clocks (libfaketime): an hour and a year, fast and slow. The
# server dates each record by its age on the agent's boot clock, keeps the
# raw value, and shows the agent's offset; the corrected times must be
# within the transfer time + 1 s of the true ones. A clock set right
# between recording and sending is mended too.
. tests/integration/lib.sh
command -v faketime >/dev/null || skip "faketime not installed (make deps)"
export FAKETIME_DONT_FAKE_MONOTONIC=1
# Sanitizer builds: libfaketime is preloaded ahead of the ASan runtime.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0"
start_server
bootstrap
# queue_and_send NAME OFFSET [SEND_OFFSET]: one usage record stamped with
# the agent's clock at OFFSET (from 10 to 5 min ago by that clock), sent
# with the clock at SEND_OFFSET (default OFFSET). Prints the true start.
queue_and_send() {
	agent_conf "$1" 29019 "startup_splay = 0"
	faketime -f "$2" "$B/mutu-agent" -c "$WORK/$1.conf" --once 2>/dev/null ||
		fail "$1: enrol under faketime $2"
	true_start=$(($(date +%s) - 600))
	faketime -f "$2" /usr/bin/python3 -c "
import json, time
now = int(time.time())
print(json.dumps({'type': 'usage', 'time': 0, 'data': {'product': 'clock-$1',
      'start': now - 600, 'end': now - 300}}))" |
		faketime -f "$2" "$B/mutu-agent" -c "$WORK/$1.conf" enqueue >/dev/null
	sleep 1 # the record ages on the boot clock
	faketime -f "${3:-$2}" "$B/mutu-agent" -c "$WORK/$1.conf" --once 2>/dev/null ||
		fail "$1: sync under faketime ${3:-$2}"
	echo "$true_start"
}
check() { # NAME OFFSET_SECONDS TRUE_START [SEND_OFFSET_SECONDS]
	row=$(sdb "SELECT start, start - shift FROM usage WHERE product = 'clock-$1'")
	start=${row%|*} raw=${row#*|}
	err=$((start - $3))
	[ "$err" -ge -2 ] && [ "$err" -le 2 ] ||
		fail "$1: corrected start off by $err s (raw $raw, true $3)"
	rawerr=$((raw - $3 - $2))
	[ "$rawerr" -ge -2 ] && [ "$rawerr" -le 2 ] || fail "$1: raw value not kept ($raw)"
	off=$(ctl --format json machines | json "[round(m['clock_offset_s']) for m in j if m['hostname'] and m['agent_id'] == open('$WORK/$1/agent-id').read().strip()][0]")
	want=$((0 - ${4:-$2}))
	d=$((off - want))
	[ "$d" -ge -2 ] && [ "$d" -le 2 ] || fail "$1: offset shown $off, expected $want"
	echo "ok: $1: corrected start within $err s of the truth, raw kept, offset $off s"
}
t=$(queue_and_send hour-fast +1h); check hour-fast 3600 "$t"
t=$(queue_and_send hour-slow -1h); check hour-slow -3600 "$t"
t=$(queue_and_send year-fast +365d); check year-fast 31536000 "$t"
t=$(queue_and_send year-slow -365d); check year-slow -31536000 "$t"
# Stamped an hour fast, sent after the clock was set right.
t=$(queue_and_send fixed +1h +0); check fixed 3600 "$t" 0
# Reports use the corrected day: a year-fast agent's usage is today's.
expect_eq "year-fast usage counted in the window" \
	"$(ctl --format json licences --raw --product clock-year-fast $(recent_args 30) | json '[r for r in j if r["commune"] == "29019"][0]["usage_hours"] > 0')" True
