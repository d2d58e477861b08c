# Helpers of the benchmark scripts (bench/run.sh, bench/scale.sh), sourced
# with WORK (scratch directory), R (rows file), B (binaries), QR and FD
# (query runs, window days) set.

# row FIGURE MUTU BASELINE RATIO TARGET OK: one line of the table
row() {
	/usr/bin/python3 -c "import json,sys; print(json.dumps(dict(zip(
	  ['figure','mutu','baseline','ratio','target','ok'], sys.argv[1:]))))" "$@" >>"$R"
	printf '%-46s %14s %14s %8s  %-14s %s\n' "$@"
}
med() { /usr/bin/python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
calc() { /usr/bin/python3 -c "print($1)"; }
waitfile() { # FILE: waits up to 10 s for a port file
	i=0
	while [ ! -s "$1" ]; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "bench: $1 never came" >&2; exit 1; }
		sleep 0.1
	done
}
# tls_start CONF DB LOG PORTFILE: one more HTTPS server on a fresh port
# (DB: a SQLite file, or "-D URI --db-admin URI"); its pid is LASTPID.
tls_start() {
	rm -f "$4"
	case $2 in -*) dbargs=$2 ;; *) dbargs="-D $2" ;; esac
	# shellcheck disable=SC2086
	"$B/mutu-server" -c "$1" $dbargs -l 127.0.0.1:0 \
		--tls-cert "$WORK/tls/server.pem" --tls-key "$WORK/tls/server.key" \
		--port-file "$4" 2>"$3" &
	LASTPID=$!
	waitfile "$4"
}
# queries PORT TOKEN: first the time of the first report after the
# fleet's delivery (licences, all communes: it computes the daily figures
# the server's loop has not yet, docs/PERFORMANCE.md, "Daily figures"),
# then every report (one commune and all), p50/p99 of QR runs or of as
# many as 60 s allow, one JSON line each.
queries() {
/usr/bin/python3 - "https://127.0.0.1:$1" "$WORK/tls/ca.pem" "$2" "$QR" "$FD" <<'PY'
import http.client, json, ssl, statistics, sys, time, urllib.parse
url, ca, tok, n, days = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
u = urllib.parse.urlsplit(url)
c = http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=ca))
t = time.perf_counter()
c.request("GET", "/api/v1/licences?days=" + days, headers={"Authorization": "Bearer " + tok})
r = c.getresponse(); r.read()
ms = round((time.perf_counter() - t) * 1000, 1)
print(json.dumps({"query": "first-licences", "scope": "all", "n": 1, "p50": ms, "p99": ms,
                  "errors": int(r.status != 200)}))
for path in ("/api/v1/licences", "/api/v1/reports/compliance", "/api/v1/reports/reclaim",
             "/api/v1/reports/costs", "/api/v1/reports/usage"):
    for scope in ("10001", None):
        q = "?days=" + days + ("&commune=" + scope if scope else "")
        lat, bad, t0 = [], 0, time.time()
        for i in range(n):  # n samples, or as many as 60 s allow (1 at least)
            if i >= 1 and time.time() - t0 > 60:
                break
            t = time.perf_counter()
            c.request("GET", path + q, headers={"Authorization": "Bearer " + tok})
            r = c.getresponse(); r.read()
            lat.append((time.perf_counter() - t) * 1000)
            bad += r.status != 200
        lat.sort()
        print(json.dumps({"query": path.rsplit("/", 1)[1], "scope": scope or "all", "n": len(lat),
                          "p50": round(statistics.median(lat), 1),
                          "p99": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1), "errors": bad}))
PY
}
# pg_start: a throwaway PostgreSQL cluster in a new directory PGD
# (tests/tools/pg.sh, PG_BENCH: fsync on, asynchronous commit, the
# durability of the SQLite server's WAL with synchronous=NORMAL;
# shared_buffers 512 MB), stopped and removed on exit.
pg_start() {
	PGD=$(mktemp -d /tmp/mutu-bench-pg.XXXXXX)
	eval "$(PG_BENCH=1 sh tests/tools/pg.sh start "$PGD")"
	trap 'sh tests/tools/pg.sh stop "$PGD"; rm -rf "$PGD"; cleanup' EXIT
}
# pgdb NAME: a new database in the cluster at PGD; prints the server's
# database arguments for it.
pgdb() {
	psql -X -q -h "$PGD" -U "$MUTU_PG_SUPER" -d postgres \
		-c "CREATE DATABASE $1 OWNER mutu_owner" >/dev/null
	echo "-D postgresql:///$1?host=$PGD&user=mutu_app --db-admin postgresql:///$1?host=$PGD&user=mutu_owner"
}
