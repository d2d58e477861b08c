#!/bin/sh
# Same answers from two server builds (make equiv OLD=REV): builds the
# server of git revision REV from `git archive` in a temporary directory,
# fills one database with a generated fleet through that old server
# (fleetsim: communes, agents, a year of usage; pools, entitlements,
# catalogue rules and a commune admin token), fetches every read-only
# answer of the API for many windows, scopes and filters, then serves the
# same database with the current build (which migrates it if its schema
# is newer) and fetches them again. Any byte of difference fails, with
# the first differing answers shown. A refactoring that claims to change
# no behaviour is held to this.
#
# MUTU_BACKEND=pgsql runs it on a private PostgreSQL cluster. The fleet's
# size: EQUIV_COMMUNES (6), EQUIV_MACHINES (10 per commune), EQUIV_DAYS
# (200).
set -eu
OLD=${1:?usage: equiv.sh OLD_REVISION}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
NEW_B=$(cd "${BUILD:-build}" && pwd)
OLDSRC=$(mktemp -d /tmp/mutu-equiv.XXXXXX)
trap 'rm -rf "$OLDSRC"' EXIT
git rev-parse --verify -q "$OLD^{commit}" >/dev/null || { echo "equiv: $OLD: no such revision" >&2; exit 2; }
t0=$(date +%s)
git archive "$OLD" | tar -x -C "$OLDSRC"
make -s -C "$OLDSRC" -j"$(nproc)" build/mutu-server build/mutuctl build/mutu-fleetsim >"$OLDSRC/build.log" 2>&1 ||
	{ tail -20 "$OLDSRC/build.log" >&2; echo "equiv: cannot build $OLD" >&2; exit 1; }
echo "equiv: built $(git rev-parse --short "$OLD") in $(($(date +%s) - t0)) s"

# The old build first: lib.sh runs what BUILD names.
BUILD=$OLDSRC/build
. tests/integration/lib.sh
trap 'cleanup; rm -rf "$OLDSRC"' EXIT
ARGS="--seed 7 --communes ${EQUIV_COMMUNES:-6} --machines ${EQUIV_MACHINES:-10} --days ${EQUIV_DAYS:-200}"
server_conf "requests_per_minute = 0" "enrol_per_minute = 0" \
	"admin_requests_per_second = 0" "batches_per_second = 0"
start_server
"$B/mutu-fleetsim" communes $ARGS | while read -r code name; do
	srv commune add "$code" "$name" >/dev/null
	echo "$code $(srv enrol-secret "$code")"
done >"$WORK/secrets"
mkdir "$WORK/fleet"
t0=$(date +%s)
"$B/mutu-fleetsim" fleet $ARGS --server "$URL" --secrets "$WORK/secrets" \
	--dir "$WORK/fleet" --threads 4 >"$WORK/fleet.json" 2>"$WORK/fleet.err" ||
	{ tail -5 "$WORK/fleet.err"; fail "fleetsim fleet failed"; }
echo "equiv: fleet of $(($(wc -l <"$WORK/secrets") * ${EQUIV_MACHINES:-10})) PCs ingested in $(($(date +%s) - t0)) s"
TOKEN=$(srv admin-token)
set -- $(cut -d' ' -f1 "$WORK/secrets")
C1=$1 C2=$2 C3=$3
CTOKEN=$(srv admin-token --commune "$C1")
ctl pools set p12 --name "Pool 1-2" --members "$C1,$C2" --basis hours \
	--fixed-share 0.35 >/dev/null
ctl pools set p123 --name "Pool 1-2-3" --members "$C1,$C2,$C3" --basis installs >/dev/null
ctl entitlements add --product firefox --pool p12 --metric device \
	--quantity 10 --total-cost 100 >/dev/null
ctl entitlements add --product libreoffice --pool p123 --metric user \
	--quantity 5 --total-cost 3600.10 >/dev/null
ctl entitlements add --product firefox --commune "$C3" --metric device \
	--quantity 2 --unit-cost 12.5 >/dev/null
ctl entitlements add --product vlc --commune "$C1" --metric concurrent \
	--quantity 1 --total-cost 50 --start 2026-01-01 --end 2026-06-30 >/dev/null

# answers DIR MUTUCTL: every read-only answer, as the API gives it and as
# mutuctl prints it (table and CSV), for both tokens.
answers() {
	dir=$1 ctlbin=$2
	mkdir -p "$dir"
	for tok in inter commune; do
		t=$TOKEN
		[ $tok = commune ] && t=$CTOKEN
		get() { curl -s -H "Authorization: Bearer $t" -w '\n%{http_code}\n' "$URL/api/v1/$1"; }
		n=0
		for q in machines communes catalogue catalogue/unmatched entitlements pools \
			"gaps?days=400" "machines?commune=$C2"; do
			n=$((n + 1))
			get "$q" >"$dir/$tok-meta-$n"
		done
		for d in 1 7 30 31 90 365 1000; do
			for s in "" "&commune=$C1" "&commune=$C3"; do
				k="$tok-$d$(echo "$s" | tr -dc 0-9)"
				get "licences?days=$d$s" >"$dir/$k-lic"
				get "licences?days=$d$s&view=raw" >"$dir/$k-licraw"
				get "licences?days=$d$s&product=firefox" >"$dir/$k-licff"
				for r in compliance reclaim costs usage; do
					get "reports/$r?days=$d$s" >"$dir/$k-$r"
				done
			done
			for f in table csv; do
				for c in licences compliance reclaim costs usage; do
					MUTU_TOKEN=$t "$ctlbin" --server "$URL" --format $f \
						$c --days $d >"$dir/$tok-$d-ctl-$c.$f" 2>&1 || true
				done
			done
		done
	done
}

t0=$(date +%s)
answers "$WORK/old" "$B/mutuctl"
stop_server
echo "equiv: $(ls "$WORK/old" | wc -l) answers from the old server in $(($(date +%s) - t0)) s"

B=$NEW_B
start_server
answers "$WORK/new" "$B/mutuctl"
stop_server
same=0 differ=0
for f in "$WORK"/old/*; do
	g=$WORK/new/$(basename "$f")
	if cmp -s "$f" "$g"; then
		same=$((same + 1))
	else
		differ=$((differ + 1))
		[ $differ -gt 5 ] || { echo "--- differs: $(basename "$f")"; diff "$f" "$g" | head -8; }
	fi
done
ok=$(grep -l '^200$' "$WORK"/old/*-lic "$WORK"/old/*-compliance 2>/dev/null | wc -l)
echo "equiv: $same answers identical, $differ different ($ok report answers were 200)"
[ "$differ" = 0 ] && [ "$ok" -gt 0 ]
