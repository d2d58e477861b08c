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
set -u
BUILD=${BUILD:-build}
export BUILD
OUT=tests/out
mkdir -p "$OUT"
passed=0 failed=0 skipped=0 failures=""

run_one() { # name, command...
	name=$1
	shift
	log="$OUT/$(echo "$name" | tr / _).log"
	start=$(date +%s)
	if timeout 300 "$@" >"$log" 2>&1; then rc=0; else rc=$?; fi
	secs=$(($(date +%s) - start))
	case $rc in
	0) passed=$((passed + 1)); echo "PASS  $name (${secs}s)" ;;
	77) skipped=$((skipped + 1)); echo "SKIP  $name: $(tail -n 1 "$log")" ;;
	*) failed=$((failed + 1)); failures="$failures $name"
	   echo "FAIL  $name (exit $rc, ${secs}s); last lines of $log:"
	   tail -n 25 "$log" | sed 's/^/    /' ;;
	esac
}

for t in "$@"; do
	run_one "unit/$(basename "$t")" "$t"
done
PG_DIR=""
stop_pg() { [ -z "$PG_DIR" ] || { sh tests/tools/pg.sh stop "$PG_DIR"; rm -rf "$PG_DIR"; }; }
trap stop_pg EXIT
trap 'exit 130' INT TERM
for backend in ${MUTU_BACKENDS:-sqlite pgsql}; do
	export MUTU_BACKEND=$backend
	[ -z "${UNIT_ONLY:-}" ] && [ -z "${WINDOWS_ONLY:-}" ] || break
	if [ "$backend" = pgsql ]; then
		PG_DIR=$(mktemp -d /tmp/mutu-pg.XXXXXX)
		env=$(sh tests/tools/pg.sh start "$PG_DIR") || {
			failed=$((failed + 1)); failures="$failures pgsql-cluster"
			echo "FAIL  pgsql: cannot start a PostgreSQL cluster"; continue; }
		eval "export $(echo "$env" | tr '\n' ' ')"
	fi
	for t in tests/integration/[0-9]*.sh; do
		run_one "$backend/$(basename "$t")" sh "$t"
	done
done

# The Windows agent (make windows): its cross-built unit tests under wine in
# a throwaway prefix, then tests/windows once (on SQLite; each test makes a
# wine prefix of its own). Not with sanitizers: the cross build has none.
WIN_BUILD=${WIN_BUILD:-build/win}
export WIN_BUILD
WIN_PFX=""
stop_wine() {
	[ -z "$WIN_PFX" ] || {
		WINEPREFIX=$WIN_PFX timeout 30 wineserver -k 2>/dev/null
		WINEPREFIX=$WIN_PFX timeout 30 wineserver -w 2>/dev/null
		rm -rf "$WIN_PFX"
		WIN_PFX=""
	}
}
trap 'stop_pg; stop_wine' EXIT
if [ -n "${SANITIZE:-}" ]; then
	skipped=$((skipped + 1))
	echo "SKIP  windows: the cross-built agent has no sanitizers (SANITIZE=$SANITIZE)"
elif [ ! -f "$WIN_BUILD/mutu-agent.exe" ]; then
	skipped=$((skipped + 1))
	echo "SKIP  windows: $WIN_BUILD/mutu-agent.exe not built (make windows)"
elif ! command -v wine >/dev/null 2>&1; then
	skipped=$((skipped + 1))
	echo "SKIP  windows: wine is not installed"
else
	WIN_PFX=$(mktemp -d /tmp/mutu-winunit.XXXXXX)
	if WINEPREFIX=$WIN_PFX WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" \
		DISPLAY="" timeout 120 wineboot -i >/dev/null 2>&1; then
		for t in "$WIN_BUILD"/tests/test_*.exe; do
			[ -f "$t" ] || continue
			run_one "win-unit/$(basename "$t")" env WINEPREFIX="$WIN_PFX" \
				WINEDEBUG=-all DISPLAY="" wine "$t"
		done
	else
		failed=$((failed + 1)); failures="$failures win-unit"
		echo "FAIL  windows: wineboot could not make a prefix"
	fi
	stop_wine
	if [ -z "${UNIT_ONLY:-}" ]; then
		for t in tests/windows/[0-9]*.sh; do
			[ -f "$t" ] || continue
			run_one "windows/$(basename "$t")" env MUTU_BACKEND=sqlite sh "$t"
		done
	fi
fi
echo
[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
