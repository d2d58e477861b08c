#!/bin/sh
# make bench: mutu against its peers and against raw SQLite, side by side
# in one run (docs/PERFORMANCE.md). Prints one table and writes it to
# bench/results.md and bench/results.json (QUICK=1: fewer runs, shorter
# sampling, a few minutes; written to bench/results-quick.*, so that a
# quick run never replaces the full results).
set -eu
BUILD=${BUILD:-build}
B=$(cd "$BUILD" && pwd)
ROOT=$(pwd)
QUICK=${QUICK:-}
if [ -n "$QUICK" ]; then
	RUNS=3 REST=30 QN=20000 IN=24000 STORM=1000 SPLAY=20 FC=30 FM=10 FD=60 QR=20
else
	RUNS=5 REST=600 QN=100000 IN=96000 STORM=10000 SPLAY=60 FC=300 FM=67 FD=365 QR=100
fi
WORK=$(mktemp -d /tmp/mutu-bench.XXXXXX)
SIM=$(mktemp -d /dev/shm/mutu-bench-sim.XXXXXX 2>/dev/null || mktemp -d /tmp/mutu-bench-sim.XXXXXX)
PIDS=""
cleanup() { for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$WORK" "$SIM"; }
trap cleanup EXIT
R="$WORK/rows.jsonl"
: >"$R"
. bench/lib.sh
# timed OUT CMD...: runs CMD RUNS times; prints median CPU s and peak RSS KiB
timed() {
	out=$1; shift
	cpus="" rss=""
	i=0
	while [ $i -lt $RUNS ]; do
		/usr/bin/time -f "%U %S %M" -o "$WORK/time" "$@" >"$out" 2>/dev/null
		set -- "$@"
		cpus="$cpus $(awk '{print $1 + $2}' "$WORK/time")"
		rss="$rss $(awk '{print $3}' "$WORK/time")"
		i=$((i + 1))
	done
	echo "$(med $cpus) $(med $rss)"
}
# tls_server CONF DB LOG: (re)starts the HTTPS server on a fresh port
# ($WORK/port); its pid is SPID (and PIDS, which is killed first).
tls_server() {
	kill -9 $PIDS 2>/dev/null || true
	tls_start "$1" "$2" "$3" "$WORK/port"
	PIDS="$LASTPID" SPID=$LASTPID
}
printf '%-46s %14s %14s %8s  %-14s %s\n' figure mutu baseline ratio target ok

# 1. One full inventory of this machine.
sh .ci/deps bench >/dev/null
set -- $(timed "$WORK/mutu.json" "$B/mutu-agent" --inventory); m_cpu=$1 m_rss=$2
set -- $(timed "$WORK/fi.xml" fusioninventory-inventory); f_cpu=$1 f_rss=$2
mkdir -p "$WORK/ocs"
set -- $(timed /dev/null ocsinventory-agent --local="$WORK/ocs"); o_cpu=$1 o_rss=$2
r=$(calc "round($f_cpu / max($m_cpu, 0.001), 1)")
row "inventory CPU s (vs FusionInventory)" "$m_cpu" "$f_cpu" "$r" ">= 20" "$(calc "$r >= 20")"
r=$(calc "round($o_cpu / max($m_cpu, 0.001), 1)")
row "inventory CPU s (vs OCS)" "$m_cpu" "$o_cpu" "$r" "-" "-"
r=$(calc "round($f_rss / $m_rss, 1)")
row "inventory peak RSS KiB (vs FusionInventory)" "$m_rss" "$f_rss" "$r" ">= 4" "$(calc "$r >= 4")"
r=$(calc "round($o_rss / $m_rss, 1)")
row "inventory peak RSS KiB (vs OCS)" "$m_rss" "$o_rss" "$r" "-" "-"
m_gz=$(/usr/bin/python3 -c "import json,gzip,sys; print(len(gzip.compress(json.dumps(json.load(open(sys.argv[1])),separators=(',',':')).encode(),9)))" "$WORK/mutu.json")
f_gz=$(gzip -6 -c "$WORK/fi.xml" | wc -c)
r=$(calc "round($f_gz / $m_gz, 2)")
row "inventory compressed bytes (vs Fusion gz XML)" "$m_gz" "$f_gz" "$r" ">= 1" "$(calc "$r >= 1")"

# A server, a proxy that counts bytes, and an agent through it.
"$B/mutu-server" -D "$WORK/server.db" commune add 29019 Brest >/dev/null
"$B/mutu-server" -D "$WORK/server.db" enrol-secret 29019 >"$WORK/secret"
printf 'requests_per_minute = 0\nadmin_requests_per_second = 0\nenrol_per_minute = 0\nbatches_per_second = 0\n' >"$WORK/server.conf"
"$B/mutu-server" -c "$WORK/server.conf" -D "$WORK/server.db" -l 127.0.0.1:0 \
	--port-file "$WORK/port" 2>"$WORK/server.log" &
PIDS="$PIDS $!"
waitfile "$WORK/port"
URL="http://127.0.0.1:$(cat "$WORK/port")"
echo '{}' >"$WORK/plan.json"
/usr/bin/python3 tests/tools/faultproxy.py "$WORK/pport" "127.0.0.1:$(cat "$WORK/port")" \
	"$WORK/plan.json" "$WORK/proxy.log" 2>/dev/null &
PIDS="$PIDS $!"
waitfile "$WORK/pport"
cat >"$WORK/agent.conf" <<EOC
server = http://127.0.0.1:$(cat "$WORK/pport")
commune = 29019
enrol_secret = $(cat "$WORK/secret")
state_dir = $WORK/agent
user_key = bench-user-key-0123456789
EOC
chmod 600 "$WORK/agent.conf"
wire() { /usr/bin/python3 -c "
import json, sys
print(sum(r['bytes'] + r['head'] + r['answer'] for r in map(json.loads, open(sys.argv[1]))
          if r['path'] == '/api/v1/batches'))" "$WORK/proxy.log"; }
"$B/mutu-agent" -c "$WORK/agent.conf" --once 2>"$WORK/once.err" || { cat "$WORK/once.err"; exit 1; }
: >"$WORK/proxy.log"
"$B/mutu-agent" -c "$WORK/agent.conf" --once 2>"$WORK/once.err" || { cat "$WORK/once.err"; exit 1; }
d=$(wire)
row "unchanged inventory (delta), bytes on the wire" "$d" "$f_gz" "$(calc "round($f_gz / $d, 1)")" "<= 1024" "$(calc "$d <= 1024")"

# 7. Bandwidth: an office PC's day, delivered hourly (usage cut), plus one
# inventory delta: request and answer bytes, headers included.
: >"$WORK/proxy.log"
h=0
while [ $h -lt 9 ]; do
	/usr/bin/python3 -c "
import json, time
day = int(time.time()) // 86400 * 86400 - 86400
for i in range(5):
    t = day + (8 + $h) * 3600 + i * 700
    print(json.dumps({'type': 'usage', 'time': t + 600, 'data': {
        'product': ['libreoffice-writer', 'firefox-esr', 'thunderbird', 'evince', 'libreoffice-calc'][i],
        'package': 'pkg%d' % i, 'exe': '/usr/lib/program/p%d' % i,
        'user': 'a3f1c0de' * 8, 'start': t, 'end': t + 600, 'running': False}}))" |
		"$B/mutu-agent" -c "$WORK/agent.conf" enqueue 5 >/dev/null
	if [ $h -eq 0 ]; then "$B/mutu-agent" -c "$WORK/agent.conf" --once 2>/dev/null; else
		"$B/mutu-agent" -c "$WORK/agent.conf" --once 2>/dev/null; fi
	h=$((h + 1))
done
d=$(wire)
row "bytes per agent per day (office PC)" "$d" "-" "-" "<= 10240" "$(calc "$d <= 10240")"

# 3. Queue: durable enqueue (queue_push, transactions of 1,000) vs raw
# SQLite inserts of the same rows, same settings, same process.
mkdir -p "$WORK/qb"
"$B/mutu-fleetsim" queue --dir "$WORK/qb" --records "$QN" >"$WORK/q.json"
set -- $(/usr/bin/python3 -c "import json; j=json.load(open('$WORK/q.json')); print(j['queue_rps'], j['raw_rps'], j['ratio'])")
row "queue: durable enqueue, records/s (vs raw SQLite)" "$1" "$2" "$3" ">= 0.5" "$(calc "$3 >= 0.5")"

# 4. Server ingest, end to end over HTTPS, vs raw SQLite inserts.
"$B/mutu-server" tls-init "$WORK/tls" localhost,127.0.0.1 >/dev/null 2>&1
printf 'requests_per_minute = 0\nadmin_requests_per_second = 0\nenrol_per_minute = 0\nbatches_per_second = 0\nmax_connections = 2048\n' >"$WORK/server.conf"
"$B/mutu-server" -c "$WORK/server.conf" -D "$WORK/ingest.db" commune add 29019 Brest >/dev/null
"$B/mutu-server" -D "$WORK/ingest.db" enrol-secret 29019 >"$WORK/secret2"
tls_server "$WORK/server.conf" "$WORK/ingest.db" "$WORK/server2.log"
raw=$(/usr/bin/python3 - "$IN" "$WORK/rawi.db" <<'PY'
import sqlite3, sys, time
n = int(sys.argv[1])
c = sqlite3.connect(sys.argv[2], isolation_level=None)
c.execute("PRAGMA journal_mode=WAL"); c.execute("PRAGMA synchronous=FULL")
c.execute("CREATE TABLE usage(id INTEGER PRIMARY KEY, agent_id TEXT, commune TEXT, epoch TEXT,"
          " seq INTEGER, product TEXT, exe TEXT, user TEXT, start INTEGER, end INTEGER,"
          " UNIQUE (agent_id, epoch, seq))")
rows = [("agent%d" % (i % 64), "29019", "e", i, "p%d" % (i % 8), "/usr/bin/p%d" % (i % 8),
         "u%d" % (i % 5), 1764380000 + i, 1764380540 + i) for i in range(n)]
t = time.time()
for k in range(0, n, 48):
    c.execute("BEGIN IMMEDIATE")
    c.executemany("INSERT INTO usage(agent_id, commune, epoch, seq, product, exe, user, start, end)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows[k:k + 48])
    c.execute("COMMIT")
print(round(n / (time.time() - t)))
PY
)
# The simulated agents' queues live on tmpfs (SIM): their disks are not
# the server's, and their fsyncs must not slow the server's.
for c in 8 64 512; do
	rm -rf "$SIM/fleet$c"; mkdir "$SIM/fleet$c"
	"$B/mutu-fleetsim" herd --server "https://127.0.0.1:$(cat "$WORK/port")" \
		--ca-file "$WORK/tls/ca.pem" --commune 29019 --secret-file "$WORK/secret2" \
		--dir "$SIM/fleet$c" --agents "$c" --records $((IN / c)) --splay 0 \
		--threads "$c" --server-pid "$SPID" >"$WORK/herd$c.json" 2>"$WORK/herd$c.err" || true
	rm -rf "$SIM/fleet$c"
	rs=$(/usr/bin/python3 -c "import json; j=json.load(open('$WORK/herd$c.json')); print(round(j['records_expected'] / j['seconds']), j['errors'])" 2>/dev/null || echo "0 1")
	set -- $rs
	r=$(calc "round($1 / $raw, 2)")
	row "ingest HTTPS, $c agents, records/s (vs raw, errors $2)" "$1" "$raw" "$r" ">= 0.5" "$(calc "$r >= 0.5 and $2 == 0")"
	[ "$c" != 64 ] || sq64=$1
	cpu=$(/usr/bin/python3 -c "import json; j=json.load(open('$WORK/herd$c.json')); print(round(j['records_expected'] / max(j['server_cpu_s'], 0.01)))" 2>/dev/null || echo 0)
	row "  same, records per server CPU second" "$cpu" "$raw" "$(calc "round($cpu / $raw, 2)")" "-" "-"
done


# 2. The agent at rest, default settings, sampled REST seconds.
rm -rf "$WORK/rest"; sed "s#^state_dir = .*#state_dir = $WORK/rest#; s#^server = .*#server = https://127.0.0.1:$(cat "$WORK/port")#" "$WORK/agent.conf" >"$WORK/rest.conf"
echo "ca_file = $WORK/tls/ca.pem" >>"$WORK/rest.conf"
sed -i "s#^enrol_secret = .*#enrol_secret = $(cat "$WORK/secret2")#" "$WORK/rest.conf"
chmod 600 "$WORK/rest.conf"
"$B/mutu-agent" -c "$WORK/rest.conf" -d 2>/dev/null &
A=$!
PIDS="$PIDS $A"
sleep 5 # start-up: inventory, first sample
t0=$(awk '{print $14 + $15}' /proc/$A/stat)
sleep "$REST"
t1=$(awk '{print $14 + $15}' /proc/$A/stat)
pd=$(awk '/^Private_Dirty/ {print $2}' /proc/$A/smaps_rollup)
hz=$(getconf CLK_TCK)
cpu=$(calc "round(100.0 * ($t1 - $t0) / $hz / $REST, 3)")
procs=$(ls -d /proc/[0-9]* | wc -l)
samples=$(calc "max(1, $REST // 15)")
per100=$(calc "round(1000.0 * ($t1 - $t0) / $hz / $samples / ($procs / 100.0), 2)")
row "agent at rest: Private_Dirty KiB" "$pd" "-" "-" "<= 2048" "$(calc "$pd <= 2048")"
row "agent at rest: CPU % of one core ($REST s)" "$cpu" "-" "-" "<= 0.05" "$(calc "$cpu <= 0.05")"
row "one /proc sample: CPU ms per 100 processes" "$per100" "-" "-" "-" "-"

# 5. Reconnection storm: STORM agents with a day of backlog (48 records)
# come back within SPLAY seconds (60; 20 in QUICK mode); the server sheds with 429 + Retry-After at
# its default batches_per_second.
printf 'requests_per_minute = 0\nadmin_requests_per_second = 0\nenrol_per_minute = 0\nmax_connections = 4096\n' >"$WORK/storm.conf"
"$B/mutu-server" -D "$WORK/storm.db" commune add 29019 Brest >/dev/null
"$B/mutu-server" -D "$WORK/storm.db" enrol-secret 29019 >"$WORK/secret3"
tls_server "$WORK/storm.conf" "$WORK/storm.db" "$WORK/storm.log"
mkdir "$SIM/storm"
"$B/mutu-fleetsim" herd --server "https://127.0.0.1:$(cat "$WORK/port")" \
	--ca-file "$WORK/tls/ca.pem" --commune 29019 --secret-file "$WORK/secret3" \
	--dir "$SIM/storm" --agents "$STORM" --records 48 --splay "$SPLAY" --threads 64 \
	--server-pid "$SPID" >"$WORK/storm.json" 2>"$WORK/storm.err" || true
rm -rf "$SIM/storm"
set -- $(/usr/bin/python3 -c "
import json; j = json.load(open('$WORK/storm.json'))
print(j['drained'], j['errors'], j['refused_429'], j['seconds'], j['server_peak_rss_kib'], j['peak_rps'])" 2>/dev/null || echo "0 1 0 0 0 0")
row "storm: $STORM agents in $SPLAY s, drained (errors $2)" "$1" "$STORM" "$(calc "round($1 / $STORM, 3)")" "all, 0 errors" "$(calc "$1 == $STORM and $2 == 0")"
row "  same, seconds to drain / 429 answers" "$4" "$3" "-" "-" "-"
row "  same, server peak RSS KiB / peak req/s" "$5" "$6" "-" "-" "-"

# 6. A large fleet: FC communes x FM machines x FD days from the fleet
# generator, over HTTPS; then the licence queries, one commune and all.
FA="--seed 1 --communes $FC --machines $FM --days $FD"
"$B/mutu-fleetsim" communes $FA | while read -r code name; do
	"$B/mutu-server" -D "$WORK/fleet.db" commune add "$code" "$name" >/dev/null
	echo "$code $("$B/mutu-server" -D "$WORK/fleet.db" enrol-secret "$code")"
done >"$WORK/fsecrets"
TOK=$("$B/mutu-server" -D "$WORK/fleet.db" admin-token)
tls_server "$WORK/storm.conf" "$WORK/fleet.db" "$WORK/fleet.log"
mkdir "$SIM/fleet"
"$B/mutu-fleetsim" fleet $FA --server "https://127.0.0.1:$(cat "$WORK/port")" \
	--ca-file "$WORK/tls/ca.pem" --secrets "$WORK/fsecrets" --dir "$SIM/fleet" \
	--threads 8 >"$WORK/fleet.json" 2>"$WORK/fleet.err" || true
rm -rf "$SIM/fleet"
set -- $(/usr/bin/python3 -c "
import json; j = json.load(open('$WORK/fleet.json'))
print(j['machines'], j['records'], j['seconds'], round(j['records_per_second']), j['lost'])" 2>/dev/null || echo "0 0 0 0 1")
row "fleet: $1 machines, $FD days: records ingested (lost $5)" "$2" "-" "-" "0 lost" "$(calc "$5 == 0 and $2 > 0")"
row "  same, ingest seconds / records per second" "$3" "$4" "-" "-" "-"
dbsize=$(du -ck "$WORK"/fleet.db* | awk 'END {print $1}')
row "  same, database KiB / bytes per record" "$dbsize" "$(calc "round($dbsize * 1024 / max($2, 1))")" "-" "-" "-"
queries "$(cat "$WORK/port")" "$TOK" >"$WORK/queries.jsonl"
while read -r l; do
	set -- $(echo "$l" | /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); print(j['query'], j['scope'], j['p50'], j['p99'], j['errors'], j['n'])")
	if [ "$1" = first-licences ]; then # its own figure: no target
		row "  query $1 ($2, after the delivery): ms (errors $5)" "$3" "-" "-" "-" "-"
		continue
	fi
	row "  query $1 ($2, $6 runs): p50 / p99 ms (errors $5)" "$3" "$4" "-" "p99 <= 100" "$(calc "$4 <= 100 and $5 == 0")"
done <"$WORK/queries.jsonl"

# 8. PostgreSQL, in the same run: the ingest of benchmark 4 (64 agents)
# with one and with two server instances on one database, and the fleet
# of benchmark 6 with its queries, on a throwaway cluster (pg_start).
pg_start
# herd_pg N PORT SECRET OUT: N agents, IN/64 records each, to one instance
herd_pg() {
	rm -rf "$SIM/pg$2"; mkdir "$SIM/pg$2"
	"$B/mutu-fleetsim" herd --server "https://127.0.0.1:$2" \
		--ca-file "$WORK/tls/ca.pem" --commune 29019 --secret-file "$3" \
		--dir "$SIM/pg$2" --agents "$1" --records $((IN / 64)) --splay 0 \
		--threads "$1" >"$4" 2>"$4.err" || true
	rm -rf "$SIM/pg$2"
}
for n in 1 2; do
	P=$(pgdb "ingest$n")
	# shellcheck disable=SC2086
	"$B/mutu-server" $P commune add 29019 Brest >/dev/null
	# shellcheck disable=SC2086
	"$B/mutu-server" $P enrol-secret 29019 >"$WORK/pgsecret$n"
	tls_server "$WORK/server.conf" "$P" "$WORK/pg$n.log"
	if [ $n = 1 ]; then
		herd_pg 64 "$(cat "$WORK/port")" "$WORK/pgsecret1" "$WORK/pgherd1.json"
		files="$WORK/pgherd1.json"
	else
		tls_start "$WORK/server.conf" "$P" "$WORK/pg2b.log" "$WORK/port-b"
		PIDS="$PIDS $LASTPID"
		herd_pg 32 "$(cat "$WORK/port")" "$WORK/pgsecret2" "$WORK/pgherd2a.json" &
		h=$!
		herd_pg 32 "$(cat "$WORK/port-b")" "$WORK/pgsecret2" "$WORK/pgherd2b.json"
		wait $h
		files="$WORK/pgherd2a.json $WORK/pgherd2b.json"
	fi
	# shellcheck disable=SC2086
	set -- $(/usr/bin/python3 -c "
import json, sys
js = [json.load(open(f)) for f in sys.argv[1:]]
print(round(sum(j['records_expected'] for j in js) / max(j['seconds'] for j in js)),
      sum(j['errors'] for j in js))" $files 2>/dev/null || echo "0 1")
	r=$(calc "round($1 / max(${sq64:-0}, 1), 2)")
	row "PostgreSQL ingest, 64 agents, $n instance(s), rec/s (vs SQLite, errors $2)" "$1" "${sq64:-0}" "$r" "-" "$(calc "$2 == 0")"
done
P=$(pgdb fleet)
# shellcheck disable=SC2086
"$B/mutu-fleetsim" communes $FA | while read -r code name; do
	"$B/mutu-server" $P commune add "$code" "$name" >/dev/null
	echo "$code $("$B/mutu-server" $P enrol-secret "$code")"
done >"$WORK/pgsecrets"
# shellcheck disable=SC2086
TOK=$("$B/mutu-server" $P admin-token)
tls_server "$WORK/storm.conf" "$P" "$WORK/pgfleet.log"
mkdir "$SIM/pgfleet"
"$B/mutu-fleetsim" fleet $FA --server "https://127.0.0.1:$(cat "$WORK/port")" \
	--ca-file "$WORK/tls/ca.pem" --secrets "$WORK/pgsecrets" --dir "$SIM/pgfleet" \
	--threads 8 >"$WORK/pgfleet.json" 2>"$WORK/pgfleet.err" || true
rm -rf "$SIM/pgfleet"
set -- $(/usr/bin/python3 -c "
import json; j = json.load(open('$WORK/pgfleet.json'))
print(j['machines'], j['records'], j['seconds'], round(j['records_per_second']), j['lost'])" 2>/dev/null || echo "0 0 0 0 1")
row "PostgreSQL fleet: $1 machines, $FD days (lost $5)" "$2" "-" "-" "0 lost" "$(calc "$5 == 0 and $2 > 0")"
row "  same, ingest seconds / records per second" "$3" "$4" "-" "-" "-"
pgsize=$(psql -X -q -A -t -h "$PGD" -U "$MUTU_PG_SUPER" -d postgres -c "SELECT pg_database_size('fleet') / 1024")
row "  same, database KiB / bytes per record" "$pgsize" "$(calc "round($pgsize * 1024 / max($2, 1))")" "-" "-" "-"
queries "$(cat "$WORK/port")" "$TOK" >"$WORK/pgqueries.jsonl"
while read -r l; do
	set -- $(echo "$l" | /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); print(j['query'], j['scope'], j['p50'], j['p99'], j['errors'], j['n'])")
	if [ "$1" = first-licences ]; then # its own figure: no target
		row "  PostgreSQL query $1 ($2, after the delivery): ms (errors $5)" "$3" "-" "-" "-" "-"
		continue
	fi
	row "  PostgreSQL query $1 ($2, $6 runs): p50 / p99 ms (errors $5)" "$3" "$4" "-" "p99 <= 100" "$(calc "$4 <= 100 and $5 == 0")"
done <"$WORK/pgqueries.jsonl"
kill -9 $PIDS 2>/dev/null || true

/usr/bin/python3 - "$R" "$QUICK" <<'PY'
import json, sys, datetime, platform, os
rows = [json.loads(l) for l in open(sys.argv[1])]
meta = {"date": datetime.datetime.utcnow().isoformat() + "Z", "quick": bool(sys.argv[2]),
        "machine": platform.node(), "cpus": os.cpu_count()}
base = "bench/results-quick" if meta["quick"] else "bench/results"
json.dump({"meta": meta, "rows": rows}, open(base + ".json", "w"), indent=1)
with open(base + ".md", "w") as f:
    f.write("# Benchmark results\n\nProduced by `make bench%s` on %s (%d cores), %s. "
            "Method: docs/PERFORMANCE.md. Medians of several runs; ratios are "
            "baseline / mutu (higher is better) except where the target says otherwise.\n\n"
            % (" QUICK=1" if meta["quick"] else "", meta["machine"], meta["cpus"], meta["date"]))
    f.write("| figure | mutu | baseline | ratio | target | met |\n|---|---|---|---|---|---|\n")
    for r in rows:
        f.write("| %s | %s | %s | %s | %s | %s |\n" % (r["figure"], r["mutu"], r["baseline"],
                r["ratio"], r["target"], {"True": "yes", "False": "**no**"}.get(r["ok"], r["ok"])))
print("\nwritten: %s.md, %s.json" % (base, base))
PY
