#!/bin/sh
# Runs the unit test binaries given as arguments, then every integration
# test in tests/integration (unless UNIT_ONLY is set), and prints one
# closing line "N passed, N failed, N skipped".
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
	log="$OUT/$(basename "$name").log"
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
if [ -z "${UNIT_ONLY:-}" ]; then
	for t in tests/integration/[0-9]*.sh; do
		run_one "$t" sh "$t"
	done
fi
echo
[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
