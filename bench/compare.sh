#!/bin/sh
# make bench-compare OLD=REV: ingest and the reports of git revision REV's
# server against this build's, in one run, on the same generated fleet
# (docs/PERFORMANCE.md, "Comparing two builds"). Each build ingests the
# fleet through its own server into its own database (fleetsim, HTTP on
# loopback); then every report is asked RUNS times, for one commune and
# for all, over the last 30 days and the last year. Prints one table:
# OLD's figure, this build's, and the ratio new / old (for times, above
# 1 is slower). MUTU_BACKEND=pgsql runs it on a private PostgreSQL
# cluster. The fleet: COMPARE_COMMUNES (20), COMPARE_MACHINES (15 per
# commune), COMPARE_DAYS (365); COMPARE_RUNS (5).
set -eu
OLD=${1:?usage: compare.sh OLD_REVISION}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
NEW_B=$(cd "${BUILD:-build}" && pwd)
OLDSRC=$(mktemp -d /tmp/mutu-compare.XXXXXX)
trap 'rm -rf "$OLDSRC"' EXIT
git rev-parse --verify -q "$OLD^{commit}" >/dev/null || { echo "compare: $OLD: no such revision" >&2; exit 2; }
git archive "$OLD" | tar -x -C "$OLDSRC"
make -s -C "$OLDSRC" -j"$(nproc)" build/mutu-server build/mutuctl build/mutu-fleetsim >"$OLDSRC/build.log" 2>&1 ||
	{ tail -20 "$OLDSRC/build.log" >&2; echo "compare: cannot build $OLD" >&2; exit 1; }
RUNS=${COMPARE_RUNS:-5}
ARGS="--seed 5 --communes ${COMPARE_COMMUNES:-20} --machines ${COMPARE_MACHINES:-15} --days ${COMPARE_DAYS:-365}"

BUILD=$OLDSRC/build
. tests/integration/lib.sh
trap 'cleanup; rm -rf "$OLDSRC"' EXIT
server_conf "requests_per_minute = 0" "enrol_per_minute = 0" \
	"admin_requests_per_second = 0" "batches_per_second = 0"

# measure NAME: fills a fresh database through the current B's server and
# times its reports; writes $WORK/NAME.txt ("figure value" lines).
measure() {
	name=$1 out=$WORK/$1.txt
	start_server
	"$B/mutu-fleetsim" communes $ARGS | while read -r code cname; do
		srv commune add "$code" "$cname" >/dev/null
		echo "$code $(srv enrol-secret "$code")"
	done >"$WORK/secrets-$name"
	rm -rf "$WORK/fleet-$name"
	mkdir "$WORK/fleet-$name"
	"$B/mutu-fleetsim" fleet $ARGS --server "$URL" --secrets "$WORK/secrets-$name" \
		--dir "$WORK/fleet-$name" --threads 4 >"$WORK/fleet-$name.json" 2>"$WORK/fleet-$name.err" ||
		{ tail -5 "$WORK/fleet-$name.err"; fail "fleetsim fleet failed"; }
	rm -rf "$WORK/fleet-$name"
	TOKEN=$(srv admin-token)
	C1=$(head -n 1 "$WORK/secrets-$name" | cut -d' ' -f1)
	ctl pools set p --name P --members "$C1,$(sed -n 2p "$WORK/secrets-$name" | cut -d' ' -f1)" \
		--basis hours >/dev/null
	ctl entitlements add --product firefox --pool p --metric concurrent --quantity 5 \
		--total-cost 100 >/dev/null
	/usr/bin/python3 - "$WORK/fleet-$name.json" >"$out" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print("records", j["records"])
print("ingest_records_per_s", round(j["records_per_second"]))
PY
	if [ "$BACKEND" = sqlite ]; then
		echo "db_bytes_per_record $(du -cb "$WORK"/server.db* | awk 'END {print $1}')" >>"$out"
	fi
	for d in 30 365; do
		for scope in all one; do
			s=""
			[ $scope = one ] && s="&commune=$C1"
			for r in licences reports/compliance reports/reclaim reports/costs reports/usage; do
				for i in $(seq "$RUNS"); do
					curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $TOKEN" \
						"$URL/api/v1/$r?days=$d$s"
				done | sort -n | awk -v n="$(basename "$r") $scope $d d, p50 ms" \
					'{a[NR] = $1} END {printf "%s %.1f\n", n, a[int((NR + 1) / 2)] * 1000}'
			done
		done
	done >>"$out"
	stop_server
	if [ "$BACKEND" = sqlite ]; then
		rm -f "$WORK"/server.db*
	else
		psql -X -q -h "$MUTU_PG_DIR" -U "$MUTU_PG_SUPER" -d postgres \
			-c "DROP DATABASE $PG_DB WITH (FORCE)" \
			-c "CREATE DATABASE $PG_DB OWNER mutu_owner" >/dev/null
	fi
}

measure old
B=$NEW_B
measure new
echo "compare: $(git rev-parse --short "$OLD") (old) against this build (new), $BACKEND, fleet: $ARGS"
/usr/bin/python3 - "$WORK/old.txt" "$WORK/new.txt" <<'PY'
import sys
def load(f):
    out = {}
    for l in open(f):
        k, v = l.rsplit(" ", 1)
        out[k] = float(v)
    return out
old, new = load(sys.argv[1]), load(sys.argv[2])
if "db_bytes_per_record" in old:
    for d in (old, new):
        d["db_bytes_per_record"] = round(d["db_bytes_per_record"] / max(d["records"], 1))
print("| figure | old | new | new / old |")
print("|---|---|---|---|")
for k in old:
    o, n = old[k], new.get(k, 0)
    print(f"| {k} | {o:g} | {n:g} | {n / o if o else 0:.2f} |")
PY
