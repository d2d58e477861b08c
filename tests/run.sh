#!/bin/sh
# Runs the unit test binaries given as arguments, then every integration
# test in tests/integration (unless UNIT_ONLY is set) once per backend in
# MUTU_BACKENDS ("sqlite pgsql" by default; for pgsql, in a throwaway
# PostgreSQL cluster started here), and prints one closing line
# "N passed, N failed, N skipped". Then, when the Windows agent was built
# (build/win/mutu-agent.exe) and wine is installed, its unit tests
# (build/win/tests/test_*.exe) under wine and tests/windows once
# (WINDOWS_ONLY=1: the Windows part alone).
# An integration test exits 0 (pass), 77 (skip, with a reason) or other.
#
# The passes run in CHECK_JOBS lanes at once (2 by default, one per core of
# the CI machine): the first backend in one lane, the other backend and the
# Windows part in the other. Every test has its own directory, ports and
# database, so lanes share nothing but the PostgreSQL cluster. CHECK_JOBS=1
# runs them one after the other. Each lane prints its own time. Tests
# marked "# check: solo" run after the lanes, one at a time.
set -u
BUILD=${BUILD:-build}
export BUILD
OUT=tests/out
mkdir -p "$OUT"
RES=$(mktemp -d /tmp/mutu-check.XXXXXX)
: >"$RES/results"
T0=$(date +%s)

run_one() { # name, command...: one line to stdout and to the lane's file
	name=$1
	shift
	log="$OUT/$(echo "$name" | tr / _).log"
	start=$(date +%s)
	if timeout 300 "$@" >"$log" 2>&1; then rc=0; else rc=$?; fi
	secs=$(($(date +%s) - start))
	case $rc in
	0) line="PASS  $name (${secs}s)" ;;
	77) line="SKIP  $name: $(tail -n 1 "$log")" ;;
	*) line="FAIL  $name (exit $rc, ${secs}s); last lines of $log:"
	   { echo "$line"; tail -n 25 "$log" | sed 's/^/    /'; } >>"$RES/failures" ;;
	esac
	echo "$line"
	echo "$line" >>"$RES/results"
}
lost() { # name, reason: a failure that is not one test's
	echo "FAIL  $1: $2" | tee -a "$RES/results" >>"$RES/failures"
}

PG_DIR=""
WIN_PFX=""
LANE_PIDS=""
stop_pg() { [ -z "$PG_DIR" ] || { sh tests/tools/pg.sh stop "$PG_DIR"; rm -rf "$PG_DIR"; PG_DIR=""; }; }
stop_wine() {
	[ -z "$WIN_PFX" ] || {
		WINEPREFIX=$WIN_PFX timeout 30 wineserver -k 2>/dev/null
		WINEPREFIX=$WIN_PFX timeout 30 wineserver -w 2>/dev/null
		rm -rf "$WIN_PFX"
		WIN_PFX=""
	}
}
finish() {
	for p in $LANE_PIDS; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	stop_pg
	rm -rf "$RES"
}
trap finish EXIT
trap 'exit 130' INT TERM

for t in "$@"; do
	run_one "unit/$(basename "$t")" "$t"
done

# A test whose header says "# check: solo" loads the machine (kills,
# power cuts, hundreds of agents): it runs after the lanes, alone, so that
# neither it nor a timing-sensitive test beside it is slowed by the other.
solo() { head -n 20 "$1" | grep -q '^# check: solo'; }
backend_pass() { # backend [solo]: its tests, the solo ones or the others
	export MUTU_BACKEND=$1
	for t in tests/integration/[0-9]*.sh; do
		if solo "$t"; then [ -n "${2:-}" ] || continue
		else [ -z "${2:-}" ] || continue
		fi
		run_one "$1/$(basename "$t")" sh "$t"
	done
}

# The Windows agent (make windows): its cross-built unit tests under wine in
# a throwaway prefix, then tests/windows once (on SQLite; each test makes a
# wine prefix of its own). Not with sanitizers: the cross build has none.
WIN_BUILD=${WIN_BUILD:-build/win}
export WIN_BUILD
windows_pass() {
	if [ -n "${SANITIZE:-}" ]; then
		echo "SKIP  windows: the cross-built agent has no sanitizers (SANITIZE=$SANITIZE)" |
			tee -a "$RES/results"
		return
	elif [ ! -f "$WIN_BUILD/mutu-agent.exe" ]; then
		echo "SKIP  windows: $WIN_BUILD/mutu-agent.exe not built (make windows)" |
			tee -a "$RES/results"
		return
	elif ! command -v wine >/dev/null 2>&1; then
		echo "SKIP  windows: wine is not installed" | tee -a "$RES/results"
		return
	fi
	trap stop_wine EXIT
	WIN_PFX=$(mktemp -d /tmp/mutu-winunit.XXXXXX)
	if WINEPREFIX=$WIN_PFX WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" \
		DISPLAY="" timeout 120 wineboot -i >/dev/null 2>&1; then
		for t in "$WIN_BUILD"/tests/test_*.exe; do
			[ -f "$t" ] || continue
			run_one "win-unit/$(basename "$t")" env WINEPREFIX="$WIN_PFX" \
				WINEDEBUG=-all DISPLAY="" wine "$t"
		done
	else
		lost windows "wineboot could not make a prefix"
	fi
	stop_wine
	[ -z "${UNIT_ONLY:-}" ] || return 0
	for t in tests/windows/[0-9]*.sh; do
		[ -f "$t" ] || continue
		run_one "windows/$(basename "$t")" env MUTU_BACKEND=sqlite sh "$t"
	done
}

# The lanes: each backend's pass, and the Windows part after the last one.
lanes=""
if [ -z "${UNIT_ONLY:-}" ] && [ -z "${WINDOWS_ONLY:-}" ]; then
	for backend in ${MUTU_BACKENDS:-sqlite pgsql}; do
		if [ "$backend" = pgsql ]; then
			PG_DIR=$(mktemp -d /tmp/mutu-pg.XXXXXX)
			if env=$(sh tests/tools/pg.sh start "$PG_DIR"); then
				eval "export $(echo "$env" | tr '\n' ' ')"
			else
				lost pgsql "cannot start a PostgreSQL cluster"
				continue
			fi
		fi
		lanes="$lanes $backend"
	done
fi
lane() { # what [what...]: runs them in turn, then prints the lane's time
	s=$(date +%s)
	for what in "$@"; do
		case $what in
		windows) windows_pass ;;
		*) backend_pass "$what" ;;
		esac
	done
	echo "=== lane $*: $(($(date +%s) - s)) s"
}
set -- $lanes
jobs=${CHECK_JOBS:-2}
if [ "$jobs" -le 1 ] || [ $# -le 1 ]; then
	lane "$@" windows
else
	# Two lanes: the first backend alone, the others then Windows.
	first=$1
	shift
	lane "$first" &
	LANE_PIDS="$LANE_PIDS $!"
	lane "$@" windows &
	LANE_PIDS="$LANE_PIDS $!"
	wait
	LANE_PIDS=""
fi
s=$(date +%s)
for backend in $lanes; do
	backend_pass "$backend" solo
done
[ -z "$lanes" ] || echo "=== solo tests: $(($(date +%s) - s)) s"

passed=$(grep -c '^PASS' "$RES/results" 2>/dev/null)
failed=$(grep -c '^FAIL' "$RES/results" 2>/dev/null)
skipped=$(grep -c '^SKIP' "$RES/results" 2>/dev/null)
echo
if [ -s "$RES/failures" ]; then
	cat "$RES/failures"
	echo
	echo "failed: $(grep '^FAIL' "$RES/results" | awk '{print $2}' | tr '\n' ' ')"
fi
echo "$passed passed, $failed failed, $skipped skipped ($(($(date +%s) - T0)) s)"
[ "$failed" -eq 0 ]
