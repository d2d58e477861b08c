#!/bin/sh
# make soak: the long versions of the delivery tests (docs/RELIABILITY.md).
# Prints a table of faults injected against records lost and duplicated.
# About 45 minutes on 2 cores; SOAK_SCALE=0.1 for a shorter pass.
set -u
BUILD=${BUILD:-build}
export BUILD
S=${SOAK_SCALE:-1}
# n FULL MIN: FULL scaled, but not under MIN (what make check runs).
n() { /usr/bin/python3 -c "print(max($2, int($1 * $S)))"; }
OUT=tests/out/soak
mkdir -p "$OUT"
rc=0
run() { # NAME ENV... : runs tests/integration/NAME.sh with ENV
	name=$1
	shift
	start=$(date +%s)
	if env "$@" timeout 7200 sh "tests/integration/$name.sh" >"$OUT/$name.log" 2>&1; then
		st=PASS
	else
		st=FAIL rc=1
	fi
	echo "$st  $name ($(($(date +%s) - start)) s) $*"
}
run 170-crash CRASH_ITER="$(n 500 20)" KILLS="$(n 5000 200)"
run 175-random-faults FAULT_REQUESTS="$(n 5000 150)"
run 180-budget BUDGET_DAYS="$(n 90 30)"
run 195-stop-and-full
run 197-herd HERD_AGENTS="$(n 3000 1000)"
echo
echo "Faults injected (crash points, kills, proxy faults):"
sed -n '/^fault /,/^all faults/p' "$OUT/170-crash.log" | grep -v "^all faults"
sed -n '/^faults injected/,/^random faults/p' "$OUT/175-random-faults.log" | grep -v "^random faults\|^faults injected"
echo
echo "Records (oracle: acknowledged by the agent vs stored at the server):"
grep -h "acknowledged" "$OUT"/*.log | sed 's/^/  /'
grep -h "ok: .* records over\|gap report equals\|request peak\|before their Retry-After =" "$OUT"/*.log | sed 's/^/  /'
exit $rc
