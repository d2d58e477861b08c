#!/bin/sh
# The daily figures (issue 18; docs/PERFORMANCE.md, "Daily figures"):
# reports read hours and peaks from per-day figures that ingest marks and
# the server computes again, never from stale ones. On day D (two days
# ago, Paris time), Brest's c1 runs a program no rule maps 09:00-10:00
# (u1), c2 09:30-11:00 (u2).
# - Before a rule maps it, no catalogue product has it; a rule added
#   afterwards maps it: hours 3,600 + 5,400 = 9,000 s, peak 2, people 2.
# - Late data for a day already computed (c3, 09:45-12:00, u3, delivered
#   after the report): 9,000 + 8,100 = 17,100 s, peak 3 (09:45-10:00).
# - A pool made afterwards of Brest and Guipavas (whose g1 runs it
#   09:50-10:20 without user ids, delivered late too): the pool's peak 4
#   (09:50-10:00), 18,900 s; Guipavas's 1, 1,800 s; all the same as the
#   pool.
# - The server's loop computes the days ingest marked without a report
#   asking: none is left marked a few seconds after a delivery.
. tests/integration/lib.sh
server_conf 'enrol_per_minute = 0' 'requests_per_minute = 0' \
	'admin_requests_per_second = 0' 'privacy_k = 1'
start_server
bootstrap
D=$(paris_day '-2 days')
P="Gestion Cimetiere 3"
X='C:/Program Files/Cimetiere/cimetiere.exe'
rec() { # user from to (Paris times on D)
	printf '{"product": "%s", "exe": "%s", "user": "%s", "start": %s, "end": %s}' \
		"$P" "$X" "$1" "$(at "$D $2")" "$(at "$D $3")"
}
machine() { # name commune user from to
	printf '{"name": "%s", "commune": "%s", "software": [{"name": "%s"}], "usage": [%s]}' \
		"$1" "$2" "$P" "$(rec "$3" "$4" "$5")"
}
deliver() { # machine...
	{
		printf '{"secrets": {"29019": "%s", "29075": "%s"}, "machines": [' \
			"$SECRET_29019" "$SECRET_29075"
		sep=""
		for m in "$@"; do printf '%s%s' "$sep" "$m"; sep=,; done
		printf ']}\n'
	} >"$WORK/spec.json"
	/usr/bin/python3 tests/integration/fleet.py "$URL" "$WORK/spec.json" "$WORK/fleet.json"
}
# fig COMMUNE: (usage_seconds, peak_concurrent, peak_users) of the
# product's licences row of COMMUNE on D
fig() {
	ctl --format json licences --product cimetiere --from "$D" --to "$D" |
		json "[(r['usage_seconds'], r['peak_concurrent'], r['peak_users']) for r in j if r['commune'] == '$1']"
}

say "a rule added after the data maps it: every day's figures again"
deliver "$(machine c1 29019 u1 09:00 10:00)" "$(machine c2 29019 u2 09:30 11:00)"
expect_eq "no product yet" "$(fig 29019)" "[]"
ctl catalogue add-product cimetiere --name "Gestion Cimetière" >/dev/null
ctl catalogue add-rule --field name --glob 'Gestion Cimetiere*' --product cimetiere >/dev/null
expect_eq "Brest once mapped" "$(fig 29019)" "[(9000, 2, 2)]"

say "late data for a day already computed"
deliver "$(machine c3 29019 u3 09:45 12:00)"
expect_eq "Brest with c3" "$(fig 29019)" "[(17100, 3, 3)]"

say "a pool made afterwards: its own peak"
deliver "$(machine g1 29075 '' 09:50 10:20)"
ctl pools set duo --name Duo --members 29019,29075 --basis peak >/dev/null
ctl entitlements add --product cimetiere --pool duo --metric concurrent --quantity 4 \
	--total-cost 100 >/dev/null
ctl --format json compliance --from "$D" --to "$D" >"$WORK/c.json"
row() { json "[(r['usage_seconds'], r['peak_concurrent'], r['peak_users'], r['status']) for r in j if r['product']=='cimetiere' and r['level']=='$1' and r['holder']=='$2']" <"$WORK/c.json"; }
expect_eq "pool duo" "$(row pool duo)" "[(18900, 4, 4, 'compliant')]"
expect_eq "Guipavas" "$(row commune 29075)" "[(1800, 1, 1, 'pooled')]"
expect_eq "all" "$(row all '*')" "[(18900, 4, 4, 'compliant')]"
expect_eq "licences, all communes" "$(fig '*')" "[(18900, 4, 4)]"

say "the server's loop computes what ingest marked"
deliver "$(machine c4 29019 u4 13:00 14:00)"
n=0
while [ "$(sdb 'SELECT count(*) FROM stat_dirty')" != 0 ]; do
	n=$((n + 1))
	[ $n -lt 100 ] || fail "days still marked 20 s after a delivery"
	sleep 0.2
done
expect_eq "Brest with c4" \
	"$(sdb "SELECT sum(secs) FROM usage_stat WHERE level = 'commune' AND holder = '29019' AND product = 'cimetiere'")" \
	20700
expect_eq "Brest's report" "$(fig 29019)" "[(20700, 3, 3)]"
echo "ok: daily figures"
