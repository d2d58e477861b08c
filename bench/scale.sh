#!/bin/sh
# make bench-scale: what one server holds (docs/SCALING.md). One generated
# fleet (bench/fleetgen.c) delivered over HTTPS through the real agent
# code to SQLite, to PostgreSQL with one server instance, and to
# PostgreSQL with two instances sharing the agents (as a load balancer
# would); for each: ingest time and rate, server and database CPU,
# database size, and the licence queries (one commune, all). Writes
# bench/scale-results.md and .json.
#   SCALE_COMMUNES (100) x SCALE_MACHINES per commune (30) x SCALE_DAYS (365)
set -eu
BUILD=${BUILD:-build}
B=$(cd "$BUILD" && pwd)
FC=${SCALE_COMMUNES:-100} FM=${SCALE_MACHINES:-30} FD=${SCALE_DAYS:-365}
QR=${SCALE_QUERIES:-20}
PGD=""
WORK=$(mktemp -d /tmp/mutu-scale.XXXXXX)
SIM=$(mktemp -d /dev/shm/mutu-scale-sim.XXXXXX 2>/dev/null || mktemp -d /tmp/mutu-scale-sim.XXXXXX)
PIDS=""
cleanup() { for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$WORK" "$SIM"; }
trap cleanup EXIT
R="$WORK/rows.jsonl"
: >"$R"
. bench/lib.sh
"$B/mutu-server" tls-init "$WORK/tls" localhost,127.0.0.1 >/dev/null 2>&1
printf 'requests_per_minute = 0\nadmin_requests_per_second = 0\nenrol_per_minute = 0\nmax_connections = 4096\n' >"$WORK/server.conf"
FA="--seed 1 --communes $FC --machines $FM --days $FD"

# cpu_s PID: user + system CPU seconds of a process and its reaped children
cpu_s() {
	awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15 + $16 + $17) / hz}' "/proc/$1/stat" 2>/dev/null || echo 0
}
# db_cpu: CPU seconds of the PostgreSQL cluster (postmaster, its live
# backends, and those that exited), 0 for SQLite (in the server's own)
db_cpu() {
	[ -f "${PGD:-/nonexistent}/data/postmaster.pid" ] || { echo 0; return; }
	pm=$(head -n 1 "$PGD/data/postmaster.pid")
	t=$(cpu_s "$pm")
	for c in $(ps -o pid= --ppid "$pm"); do t=$(calc "$t + $(cpu_s "$c")"); done
	echo "$t"
}

# run_fleet LABEL DB INSTANCES [PGNAME]: the fleet into a new database DB
# (a SQLite file, or server arguments for PostgreSQL database PGNAME)
# through INSTANCES servers.
run_fleet() {
	label=$1 db=$2 n=$3 pgname=${4:-}
	case $db in -*) dba=$db ;; *) dba="-D $db" ;; esac
	# shellcheck disable=SC2086
	"$B/mutu-fleetsim" communes $FA | while read -r code name; do
		"$B/mutu-server" $dba commune add "$code" "$name" >/dev/null
		echo "$code $("$B/mutu-server" $dba enrol-secret "$code")"
	done >"$WORK/secrets"
	# shellcheck disable=SC2086
	tok=$("$B/mutu-server" $dba admin-token)
	urls="" spids="" k=0 # (waitfile uses i)
	while [ $k -lt "$n" ]; do
		tls_start "$WORK/server.conf" "$db" "$WORK/server$k.log" "$WORK/port$k"
		PIDS="$PIDS $LASTPID" spids="$spids $LASTPID"
		urls="$urls${urls:+,}https://127.0.0.1:$(cat "$WORK/port$k")"
		k=$((k + 1))
	done
	d0=$(db_cpu)
	mkdir "$SIM/fleet"
	"$B/mutu-fleetsim" fleet $FA --server "$urls" --ca-file "$WORK/tls/ca.pem" \
		--secrets "$WORK/secrets" --dir "$SIM/fleet" --threads 8 \
		>"$WORK/fleet.json" 2>"$WORK/fleet.err" || true
	rm -rf "$SIM/fleet"
	scpu=0
	for p in $spids; do scpu=$(calc "$scpu + $(cpu_s "$p")"); done
	dcpu=$(calc "round($(db_cpu) - $d0, 1)")
	set -- $(/usr/bin/python3 -c "
import json; j = json.load(open('$WORK/fleet.json'))
print(j['machines'], j['records'], j['seconds'], round(j['records_per_second']), j['lost'])" 2>/dev/null || echo "0 0 0 0 1")
	row "$label: $1 machines x $FD days, records (lost $5)" "$2" "-" "-" "0 lost" "$(calc "$5 == 0 and $2 > 0")"
	row "  ingest seconds / records per second" "$3" "$4" "-" "-" "-"
	row "  CPU s: mutu-server(s) / database" "$(calc "round($scpu, 1)")" "$dcpu" "-" "-" "-"
	if [ -n "$pgname" ]; then
		kib=$(psql -X -q -A -t -h "$PGD" -U "$MUTU_PG_SUPER" -d postgres \
			-c "SELECT pg_database_size('$pgname') / 1024")
	else
		kib=$(du -ck "$db"* | awk 'END {print $1}')
	fi
	row "  database KiB / bytes per record" "$kib" "$(calc "round($kib * 1024 / max($2, 1))")" "-" "-" "-"
	queries "$(cat "$WORK/port0")" "$tok" >"$WORK/q.jsonl"
	while read -r l; do
		set -- $(echo "$l" | /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); print(j['query'], j['scope'], j['p50'], j['p99'], j['errors'], j['n'])")
		row "  query $1 ($2, $6 runs): p50 / p99 ms (errors $5)" "$3" "$4" "-" "-" "$(calc "$5 == 0")"
	done <"$WORK/q.jsonl"
	kill -9 $spids 2>/dev/null || true
}

printf '%-46s %14s %14s %8s  %-14s %s\n' figure value value2 ratio target ok
run_fleet "SQLite" "$WORK/fleet.db" 1
pg_start
run_fleet "PostgreSQL, 1 instance" "$(pgdb fleet1)" 1 fleet1
run_fleet "PostgreSQL, 2 instances" "$(pgdb fleet2)" 2 fleet2

/usr/bin/python3 - "$R" "$FC" "$FM" "$FD" <<'PY'
import datetime, json, os, platform, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
meta = {"date": datetime.datetime.utcnow().isoformat() + "Z", "machine": platform.node(),
        "cpus": os.cpu_count(), "communes": int(sys.argv[2]),
        "machines_per_commune": int(sys.argv[3]), "days": int(sys.argv[4])}
json.dump({"meta": meta, "rows": rows}, open("bench/scale-results.json", "w"), indent=1)
with open("bench/scale-results.md", "w") as f:
    f.write("# Scale results\n\nProduced by `make bench-scale` (%d communes x %d machines x "
            "%d days) on %s (%d cores), %s. Method: docs/SCALING.md.\n\n"
            % (meta["communes"], meta["machines_per_commune"], meta["days"],
               meta["machine"], meta["cpus"], meta["date"]))
    f.write("| figure | value | value 2 |\n|---|---|---|\n")
    for r in rows:
        f.write("| %s | %s | %s |\n" % (r["figure"], r["mutu"], r["baseline"]))
print("\nwritten: bench/scale-results.md, bench/scale-results.json")
PY
