#!/bin/sh
# Migration from SQLite to PostgreSQL (mutu-server migrate): a fleet from
# the generator, a pool and entitlements on a SQLite server; every report
# and list read through the API; the deployment moved to PostgreSQL; the
# same reads on a server over PostgreSQL must give the same answers, and
# every table the same number of rows. Runs in the PostgreSQL pass.
. tests/integration/lib.sh
[ "$BACKEND" = pgsql ] || skip "runs in the pgsql pass (MUTU_BACKEND=pgsql)"
PG_ARGS=$DB_ARGS
DB_ARGS="-D $WORK/source.db"
ARGS="--seed 11 --communes 3 --machines 6 --days 40"
server_conf "requests_per_minute = 0" "enrol_per_minute = 0"
start_server
"$B/mutu-fleetsim" communes $ARGS | while read -r code name; do
	srv commune add "$code" "$name" >/dev/null
	echo "$code $(srv enrol-secret "$code")"
done >"$WORK/secrets"
TOKEN=$(srv admin-token)
set -- $(cut -d' ' -f1 "$WORK/secrets")
mkdir "$WORK/fleet"
"$B/mutu-fleetsim" fleet $ARGS --server "$URL" --secrets "$WORK/secrets" \
	--dir "$WORK/fleet" --threads 4 >"$WORK/fleet.json" 2>"$WORK/fleet.err" ||
	fail "fleetsim fleet failed: $(tail -3 "$WORK/fleet.err")"
ctl pools set pool-a --name "Pool A" --members "$1,$2" --fixed-share 0.2 \
	--basis hours >/dev/null
ctl entitlements add --product ms-office-2019 --pool pool-a --metric device \
	--quantity 5 --total-cost 2000 --contract M-1 >/dev/null
ctl entitlements add --product ms-office-2019 --commune "$3" --metric device \
	--quantity 2 --unit-cost 250 >/dev/null
ctl catalogue add-product gnu-coreutils --name "GNU coreutils" --free >/dev/null
ctl catalogue add-rule --field name --glob 'coreutils' --product gnu-coreutils >/dev/null
COMMUNE_TOKEN=$(srv admin-token --commune "$1")

# reads DIR: every report and list, as the intercommunal admin and as
# one commune's, JSON with sorted keys.
reads() {
	mkdir -p "$1"
	for p in licences machines communes "reports/compliance" \
		"reports/reclaim" "reports/costs" "reports/usage" \
		"entitlements" "pools" "catalogue" "secrets" "tokens" "gaps"; do
		for who in all one; do
			tok=$TOKEN
			[ $who = one ] && tok=$COMMUNE_TOKEN
			curl -sf -H "Authorization: Bearer $tok" "$URL/api/v1/$p" |
				/usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), sort_keys=True, indent=1))' \
					>"$1/$(echo "$p" | tr / _)-$who.json" ||
				fail "GET $p as $who"
		done
	done
}
reads "$WORK/before"
stop_server
TABLES="communes enrol_secrets admin_tokens agents streams software usage
usage_daily agent_days products rules software_map usage_map pools
pool_members entitlements audit gaps meta"
for t in $TABLES; do
	echo "$t $(sqlite3 "$WORK/source.db" "SELECT count(*) FROM $t")"
done >"$WORK/counts-before"

say "migrate"
# shellcheck disable=SC2086
"$B/mutu-server" migrate --from "$WORK/source.db" --to ${PG_ARGS#-D } \
	>"$WORK/migrate.out" 2>&1 || fail "migrate: $(cat "$WORK/migrate.out")"
cat "$WORK/migrate.out"
DB_ARGS=$PG_ARGS
for t in $TABLES; do echo "$t $(sdb "SELECT count(*) FROM $t")"; done >"$WORK/counts-after"
diff "$WORK/counts-before" "$WORK/counts-after" || fail "row counts differ"
echo "ok: row counts equal in all $(wc -l <"$WORK/counts-after") tables"
[ "$(grep '^usage_daily ' "$WORK/counts-after" | cut -d' ' -f2)" -gt 1000 ] ||
	fail "too small a fleet to prove anything"

# A second migrate into a database that has data is refused, unchanged.
set +e
# shellcheck disable=SC2086
"$B/mutu-server" migrate --from "$WORK/source.db" --to ${PG_ARGS#-D } 2>"$WORK/err"; rc=$?
set -e
expect_eq "migrate into a used database exit" "$rc" 1
grep -q "holds communes or agents already" "$WORK/err" || fail "message: $(cat "$WORK/err")"

start_server
reads "$WORK/after"
for f in "$WORK"/before/*.json; do
	diff -u "$f" "$WORK/after/$(basename "$f")" >"$WORK/diff" ||
		fail "$(basename "$f") differs after migration: $(head -30 "$WORK/diff")"
done
echo "ok: $(ls "$WORK/before" | wc -l) API answers identical after migration"
# The migrated server keeps ingesting: new ids follow the copied ones.
ctl entitlements add --product ms-office-2019 --commune "$2" --metric device \
	--quantity 1 --unit-cost 100 >/dev/null || fail "entitlement after migration"
stop_server
