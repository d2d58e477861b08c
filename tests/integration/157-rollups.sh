#!/bin/sh
# Rollups: reports read whole months of their window from usage_monthly
# and the days at either end from usage_daily. Checked against an oracle
# that reads only the daily summaries: for windows whose ends fall on,
# before and after month boundaries, every licence row and total, every
# compliance row (commune, pool, all) and every month of the usage trend
# must match. The monthly rollup must equal the daily summaries added up
# by month, and the schema migration that fills it from them (dropped and
# re-run here) must rebuild it row for row, with the same answers.
. tests/integration/lib.sh
ARGS="--seed 11 --communes 3 --machines 6 --days 100"
server_conf "requests_per_minute = 0" "enrol_per_minute = 0" "privacy_k = 1" \
	"admin_requests_per_second = 0" # ~2,800 report calls, the rate is not under test
start_server
"$B/mutu-fleetsim" communes $ARGS | while read -r code name; do
	srv commune add "$code" "$name" >/dev/null
	echo "$code $(srv enrol-secret "$code")"
done >"$WORK/secrets"
mkdir "$WORK/fleet"
"$B/mutu-fleetsim" fleet $ARGS --server "$URL" --secrets "$WORK/secrets" \
	--dir "$WORK/fleet" --threads 4 >"$WORK/fleet.json" 2>"$WORK/fleet.err" ||
	{ tail -5 "$WORK/fleet.err"; fail "fleetsim fleet failed"; }
TOKEN=$(srv admin-token)
set -- $(cut -d' ' -f1 "$WORK/secrets")
C1=$1 C2=$2
ctl pools set p12 --name "Pool 1-2" --members "$C1,$C2" --basis hours \
	--fixed-share 0.35 >/dev/null
ctl entitlements add --product firefox --pool p12 --metric device \
	--quantity 10 --total-cost 100 >/dev/null

# What the oracle reads: the daily summaries, the usage map, the pools,
# and the monthly rollup it checks.
dump() {
	sdb "SELECT day, agent_id, commune, product, exe, \"user\", seconds,
		sessions, last_end FROM usage_daily" >"$WORK/daily.txt"
	sdb "SELECT day, agent_id, commune, product, exe, \"user\", t0, t1
		FROM usage_span" >"$WORK/spans.txt"
	sdb "SELECT product, exe, coalesce(norm, '') FROM usage_map" >"$WORK/map.txt"
	sdb "SELECT pool, commune FROM pool_members" >"$WORK/pools.txt"
	sdb "SELECT month, agent_id, commune, product, exe, \"user\", seconds,
		sessions, last_end FROM usage_monthly
		ORDER BY month, agent_id, product, exe, \"user\"" >"$1"
}
dump "$WORK/monthly.txt"
expect_eq "months in the data" "$(cut -d'|' -f1 "$WORK/monthly.txt" | sort -u | wc -l | awk '{print ($1 >= 4)}')" 1

api() { curl -sf -H "Authorization: Bearer $TOKEN" "$URL/api/v1/$1"; }
# answers DIR: every report the oracle checks, for every window.
WINDOWS="1 2 6 7 27 28 29 30 31 32 45 59 60 61 62 89 90 91 100 130"
answers() {
	mkdir -p "$1"
	for d in $WINDOWS; do
		api "licences?days=$d" >"$1/lic-$d.json"
		api "licences?days=$d&commune=$C2" >"$1/lic-$d-c.json"
		ctl --format json compliance --days "$d" >"$1/comp-$d.json"
		ctl --format json compliance --days "$d" --commune "$C1" >"$1/comp-$d-c.json"
		ctl --format json usage --days "$d" >"$1/use-$d.json"
		ctl --format json usage --days "$d" --commune "$C2" >"$1/use-$d-c.json"
		api "reports/costs?days=$d" >"$1/cost-$d.json"
	done
}
answers "$WORK/a1"

/usr/bin/python3 - "$WORK" "$C1" "$C2" "$WINDOWS" <<'PY'
import collections, datetime, json, sys, time
work, c1, c2, windows = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()
rows = lambda f: [l.rstrip("\n").split("|") for l in open(f"{work}/{f}") if l.strip()]
daily = [(int(r[0]), r[1], r[2], r[3], r[4], r[5], int(r[6]), int(r[7]), int(r[8]))
         for r in rows("daily.txt")]
spans = [(int(r[0]), r[1], r[2], r[3], r[4], r[5], int(r[6]), int(r[7]))
         for r in rows("spans.txt")]
norm = {(r[0], r[1]): r[2] for r in rows("map.txt") if r[2]}
pools = collections.defaultdict(set)
for p, c in rows("pools.txt"):
    pools[p].add(c)
bad = []
def check(what, got, want):
    if isinstance(got, dict) and got != want:
        diff = {k: (got.get(k), want.get(k)) for k in set(got) | set(want)
                if got.get(k) != want.get(k)}
        bad.append(f"{what}: {len(diff)} of {len(want)} differ (got, want): "
                   + str(dict(list(diff.items())[:4])))
    elif got != want:
        bad.append(f"{what}: got {got}, want {want}")

# 1. usage_monthly = usage_daily added up by month
def month(day):
    d = datetime.date(1970, 1, 1) + datetime.timedelta(days=day)
    return (d.replace(day=1) - datetime.date(1970, 1, 1)).days
agg = {}
for day, ag, com, prod, exe, user, secs, sess, last in daily:
    k = (month(day), ag, prod, exe, user)
    s = agg.get(k, (com, 0, 0, 0))
    agg[k] = (com, s[1] + secs, s[2] + sess, max(s[3], last))
monthly = {(int(r[0]), r[1], r[3], r[4], r[5]): (r[2], int(r[6]), int(r[7]), int(r[8]))
           for r in rows("monthly.txt")}
check("monthly rows", len(monthly), len(agg))
check("monthly rows that differ from the daily sums",
      sum(1 for k in agg if monthly.get(k) != agg[k]), 0)

# 2. reports against the daily summaries and the intervals
def merged(iv):
    """the union of the intervals [t0, t1), as disjoint intervals"""
    out = []
    for t0, t1 in sorted(iv):
        if out and t0 <= out[-1][1]:
            out[-1][1] = max(out[-1][1], t1)
        else:
            out.append([t0, t1])
    return out
def usage(d1, d2, key, per_commune=True):
    """{key: (machines, users, seconds, peak, last)} over days d1..d2; a
    user is a pseudonym within a commune, or across (licence totals);
    seconds: the union of each person's intervals (user in a commune, or
    machine without user ids); peak: the most machines at one instant"""
    ag, us, last = collections.defaultdict(set), collections.defaultdict(set), {}
    for day, a, com, prod, exe, user, secs, sess, le in daily:
        if d1 <= day <= d2:
            for k in key(com, prod, exe):
                ag[k].add(a)
                if user:
                    us[k].add((com, user) if per_commune else user)
                last[k] = max(last.get(k, 0), le)
    person, machine = collections.defaultdict(list), collections.defaultdict(list)
    for day, a, com, prod, exe, user, t0, t1 in spans:
        if d1 <= day <= d2:
            for k in key(com, prod, exe):
                person[(k, (com, user) if user else ("#", a))].append((t0, t1))
                machine[(k, a)].append((t0, t1))
    sec, ev = collections.Counter(), collections.defaultdict(list)
    for (k, _), iv in person.items():
        sec[k] += sum(t1 - t0 for t0, t1 in merged(iv))
    for (k, _), iv in machine.items():
        for t0, t1 in merged(iv):
            ev[k] += [(t0, 1), (t1, -1)]
    peak = collections.Counter()
    for k, e in ev.items():
        n = 0
        for _, d in sorted(e):  # an end before a start at the same instant
            n += d
            peak[k] = max(peak[k], n)
    return {k: (len(ag[k]), len(us[k]), sec[k], peak[k], last[k]) for k in ag}
def epoch(iso):
    return int(datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")
               .replace(tzinfo=datetime.timezone.utc).timestamp())
def load(f):
    return json.load(open(f"{work}/a1/{f}"))
now = int(time.time())
checked = 0
for w in windows:
    d2 = now // 86400
    d1 = (now - int(w) * 86400) // 86400
    for suffix, only in (("", None), ("-c", c2)):
        lic = load(f"lic-{w}{suffix}.json")
        # licences by catalogue product (issue 15: no raw names by default)
        for part, key in (("rows", lambda c, p, e: [(c, norm[(p, e)])] if (p, e) in norm else []),
                          ("totals", lambda c, p, e: [("*", norm[(p, e)])] if (p, e) in norm else [])):
            want = usage(d1, d2, lambda c, p, e: key(c, p, e) if only in (None, c) else [],
                         part == "rows")
            got = {}
            for r in lic[part]:
                if r["used_machines"]:
                    got[(r["commune"], r["product"])] = (
                        r["used_machines"], r["used_users"], r["usage_seconds"],
                        r["peak_concurrent"], epoch(r["last_used"]))
            check(f"licences {part} {w} days{suffix}", got, want)
            checked += len(got)
        use = load(f"use-{w}{suffix}.json")
        got, want = {}, {}
        for r in use:
            got[(r["month"], r["product"], r["commune"])] = (
                r["used_machines"], r["used_users"], r["usage_hours"])
        for m in sorted({month(d) for d in range(d1, d2 + 1)}):
            m1, m2 = max(d1, m), min(d2, month(m + 31) - 1)
            label = (datetime.date(1970, 1, 1) + datetime.timedelta(days=m)).strftime("%Y-%m")
            for (p, c), v in usage(m1, m2, lambda c, p, e: [(norm[(p, e)], c)]
                                   if (p, e) in norm and only in (None, c) else []).items():
                want[(label, p, c)] = (v[0], v[1], v[2] / 3600.0)
        # hours are rounded to 2 decimals by the server's SQL
        for k, v in want.items():
            if k in got and abs(got[k][2] - v[2]) <= 0.005 + 1e-9:
                want[k] = v[:2] + (got[k][2],)
        check(f"usage trend {w} days{suffix}", got, want)
        checked += len(got)
    for suffix in ("", "-c"):
        comp = load(f"comp-{w}{suffix}.json")
        def scopes(c):
            return [("commune", c), ("all", "*")] + [("pool", p) for p in pools if c in pools[p]]
        want = usage(d1, d2, lambda c, p, e: [s + (norm[(p, e)],) for s in scopes(c)]
                     if (p, e) in norm else [])
        got = {}
        for r in comp:
            k = (r["level"], r["holder"], r["product"])
            if r["used_machines"]:
                got[k] = (r["used_machines"], r["used_users"],
                          round(r["usage_hours"] * 3600), r["peak_concurrent"])
        want = {k: v[:4] for k, v in want.items()
                if suffix == "" or k[:2] == ("commune", c1)
                or (k[0] == "pool" and c1 in pools[k[1]])}
        check(f"compliance {w} days{suffix}", got, want)
        checked += len(got)
    # cost sharing by hours: each member's measure is its seconds
    got, want = {}, {}
    for e in load(f"cost-{w}.json"):
        for st in e["statements"]:
            got[(e["product"], st["commune"])] = st["measure"]
            want[(e["product"], st["commune"])] = usage(
                d1, d2, lambda c, p, x: [(norm[(p, x)], c)] if (p, x) in norm else []
            ).get((e["product"], st["commune"]), (0, 0, 0))[2]
    check(f"cost statements {w} days", len(got), 2)
    check(f"cost measures {w} days", got, want)
    checked += len(got)
for b in bad[:10]:
    print("FAIL:", b[:600])
print(f"oracle: {len(windows)} windows, {checked} report rows checked, {len(bad)} differences")
sys.exit(1 if bad or checked == 0 else 0)
PY

say "the migration that fills the rollup, run again"
stop_server
# Back to the schema before the rollup (and before the fixed share in
# parts per million, whose migration runs again after it: the binary
# 0.35 it finds must become 350000 and every answer stay the same; the
# later migrations run again too: PostgreSQL's are idempotent, SQLite's
# columns of versions 9, 11, 13, 14 and 17 are dropped, and the default
# catalogue, which sets the metering classes of version 13, is installed
# again, as a binary of a newer catalogue does).
UNPPM="ALTER TABLE pools ADD COLUMN fixed_share REAL NOT NULL DEFAULT 0;
	UPDATE pools SET fixed_share = fixed_share_ppm / 1000000.0;
	ALTER TABLE pools DROP COLUMN fixed_share_ppm"
if [ "$BACKEND" = pgsql ]; then
	sdb "DROP TABLE usage_monthly; $UNPPM;
		DELETE FROM mutu_schema WHERE version >= 2" >/dev/null
else
	sdb "DROP TABLE usage_monthly; $UNPPM;
		ALTER TABLE agents DROP COLUMN usage_dropped;
		ALTER TABLE agents DROP COLUMN software_dropped;
		ALTER TABLE agents DROP COLUMN revoked_at;
		ALTER TABLE agents DROP COLUMN retired_at;
		ALTER TABLE products DROP COLUMN metering;
		ALTER TABLE agents DROP COLUMN former;
		ALTER TABLE agents DROP COLUMN source;
		ALTER TABLE agents DROP COLUMN hw_uuid;
		ALTER TABLE agents DROP COLUMN serial;
		ALTER TABLE agents DROP COLUMN macs;
		ALTER TABLE agents DROP COLUMN merged_into;
		DELETE FROM meta WHERE key = 'default_catalogue'; PRAGMA user_version = 6"
fi
start_server
dump "$WORK/monthly2.txt"
cmp -s "$WORK/monthly.txt" "$WORK/monthly2.txt" ||
	fail "the rollup the migration fills differs from the one ingest kept"
echo "ok: migration rebuilt $(wc -l <"$WORK/monthly2.txt") monthly rows, the same"
answers "$WORK/a2"
for f in "$WORK"/a1/*; do
	cmp -s "$f" "$WORK/a2/$(basename "$f")" || fail "$(basename "$f") changed after the migration"
done
echo "ok: $(ls "$WORK/a1" | wc -l) answers unchanged"
stop_server
