#!/bin/sh
# Periods and local days (issue 15; docs/LICENCES.md, "Periods"), each
# figure worked out by hand. The server runs under libfaketime on
# 2026-12-02 (Europe/Paris, the default time_zone), so the dates below
# hold whenever the test runs:
# - a record is booked on the local days it spans: 22:00 on 31 January
#   to 02:00 on 2 February (28 h) gives January 2 h, 1 February 24 h,
#   2 February 2 h; 23:30-00:30 UTC is 00:30-01:30 in Paris, all on the
#   later day;
# - DST: 29 March has 23 hours (01:30 CET to 04:30 CEST is 2 h), 25
#   October 25 hours (a session over the whole day books 90,000 s, not
#   the 86,400 a UTC day would cap it at);
# - --days N is the N whole days ending yesterday: today's use is in no
#   such period, so the answer of a closed period never changes;
# - --month, --year, --from/--to select whole local days; a pooled
#   contract's twelve monthly bills add up to its yearly invoice;
# - bad periods are 400s naming the problem.
. tests/integration/lib.sh
server_conf 'enrol_per_minute = 0' 'requests_per_minute = 0' \
	'admin_requests_per_second = 0'
# The server's clock: 2026-12-02 11:00 UTC (12:00 in Paris) plus the
# seconds this test has run.
start_server_at '2026-12-02 11:00:00'
TARGET=$(date -u -d '2026-12-02 11:00:00' +%s)
bootstrap

utc() { date -u -d "$1" +%s; }
W="libreoffice-writer"
rec() { # exe user start end (UTC times)
	printf '{"product": "%s", "exe": "/usr/bin/%s", "user": "%s", "start": %s, "end": %s}' \
		"$W" "$W" "$2" "$(utc "$3")" "$(utc "$4")"
}
cat >"$WORK/spec.json" <<JSON
{"secrets": {"29019": "$SECRET_29019", "29075": "$SECRET_29075"},
 "machines": [
  {"name": "b1", "commune": "29019", "software": [{"name": "$W"}],
   "usage": [
    $(rec w u1 '2026-01-31 21:00' '2026-02-02 01:00'),
    $(rec w u1 '2026-03-10 23:30' '2026-03-11 00:30'),
    $(rec w u1 '2026-03-29 00:30' '2026-03-29 02:30'),
    $(rec w u1 '2026-03-29 22:30' '2026-03-29 23:30'),
    $(rec w u1 '2026-10-24 22:00' '2026-10-25 23:00'),
    $(rec w u1 '2026-12-01 09:00' '2026-12-01 10:00'),
    $(rec w u1 '2026-12-02 08:00' '2026-12-02 09:00')]},
  {"name": "g1", "commune": "29075", "software": [{"name": "$W"}]}
 ]}
JSON
FLEET_NOW=$TARGET /usr/bin/python3 tests/integration/fleet.py "$URL" \
	"$WORK/spec.json" "$WORK/fleet.json"

# secs PARAMS: Brest's usage_seconds of libreoffice in that period
secs() {
	curl -s -H "Authorization: Bearer $TOKEN" \
		"$URL/api/v1/licences?commune=29019&product=libreoffice&$1" |
		json "sum(r['usage_seconds'] for r in j['rows'] if r['commune'] == '29019')"
}
code() {
	curl -s -o "$WORK/err.json" -w '%{http_code}' \
		-H "Authorization: Bearer $TOKEN" "$URL/api/v1/$1"
}

say "a record over three days and a month end: 2 h + 24 h + 2 h"
# 21:00Z on 31 January is 22:00 in Paris (CET, UTC+1); 01:00Z on 2
# February is 02:00.
expect_eq "January" "$(secs month=2026-01)" 7200
expect_eq "1 February" "$(secs 'from=2026-02-01&to=2026-02-01')" 86400
expect_eq "2 February" "$(secs 'from=2026-02-02&to=2026-02-02')" 7200
expect_eq "February (with 11 March: no)" "$(secs month=2026-02)" 93600
expect_eq "usage by month" \
	"$(ctl --format json usage --commune 29019 --year 2026 |
		json "[(r['month'], r['usage_seconds']) for r in j if r['product'] == 'libreoffice' and r['month'] <= '2026-02']")" \
	"[('2026-01', 7200), ('2026-02', 93600)]"

say "23:30-00:30 UTC is 00:30-01:30 in Paris: the later day"
expect_eq "10 March" "$(secs 'from=2026-03-10&to=2026-03-10')" 0
expect_eq "11 March" "$(secs 'from=2026-03-11&to=2026-03-11')" 3600

say "DST: 29 March has 23 hours, 25 October 25"
# 00:30Z-02:30Z is 01:30 CET to 04:30 CEST: 2 h on the 29th; 22:30Z on
# the 29th is 00:30 CEST on the 30th.
expect_eq "29 March" "$(secs 'from=2026-03-29&to=2026-03-29')" 7200
expect_eq "30 March" "$(secs 'from=2026-03-30&to=2026-03-30')" 3600
expect_eq "March" "$(secs month=2026-03)" 14400
# 22:00Z on the 24th is 00:00 CEST on the 25th; 23:00Z on the 25th is
# 00:00 CET on the 26th: the whole local day, 25 hours.
expect_eq "25 October" "$(secs 'from=2026-10-25&to=2026-10-25')" 90000
expect_eq "24 and 26 October" "$(secs 'from=2026-10-24&to=2026-10-24'),$(secs 'from=2026-10-26&to=2026-10-26')" 0,0

say "--days N: the N whole days ending yesterday (1 December)"
expect_eq "days=1" "$(secs days=1)" 3600
# January, February, March (11, 29 and 30 March), 25 October, 1 December
expect_eq "today is in no --days period" "$(secs days=400)" \
	$((7200 + 93600 + 14400 + 90000 + 3600))
expect_eq "today, asked for" "$(secs 'from=2026-12-02&to=2026-12-02')" 3600
expect_eq "the year" "$(secs year=2026)" $((7200 + 93600 + 14400 + 90000 + 3600 + 3600))
expect_eq "the period stated" \
	"$(curl -s -H "Authorization: Bearer $TOKEN" "$URL/api/v1/licences?days=30" |
		json "(j['from'], j['to'], j['days'])")" "('2026-11-02', '2026-12-01', 30)"
expect_eq "mutuctl --from --to" \
	"$(ctl --format json licences --commune 29019 --from 2026-03-29 --to 2026-03-30 |
		json "[r['usage_seconds'] for r in j if r['commune'] == '29019']")" "[10800]"
expect_eq "mutuctl --month" \
	"$(ctl --format json licences --commune 29019 --month 2026-10 |
		json "[r['usage_seconds'] for r in j if r['commune'] == '29019']")" "[90000]"

say "a closed period's reclaim does not see today's use"
ctl entitlements add --product libreoffice --commune 29019 --metric device \
	--quantity 1 --unit-cost 10 >/dev/null
# b1 used it yesterday: used in days=1; in the month of November, unused
# (its last use up to 30 November: 25 October)
expect_eq "days=1" "$(ctl --format json reclaim --days 1 --coverage 0 | json "len(j['rows'])")" 0
expect_eq "November" \
	"$(ctl --format json reclaim --month 2026-11 --coverage 0 |
		json "[(r['hostname'], r['status'], r['last_used']) for r in j['rows']]")" \
	"[('b1', 'unused', '2026-10-25T23:00:00Z')]"

say "a pooled contract's monthly bills add up to its year"
ctl pools set duo --name Duo --members 29019,29075 --basis installs >/dev/null
ctl entitlements add --product libreoffice --pool duo --metric site --quantity 1 \
	--total-cost 1000.01 --start 2026-01-01 --end 2026-12-31 >/dev/null
billed() {
	ctl --format json costs "$@" | json "sum(e['billed_cents'] for e in j)"
}
total=0
for m in 01 02 03 04 05 06 07 08 09 10 11 12; do
	total=$((total + $(billed --month "2026-$m")))
done
expect_eq "twelve months" "$total" 100001
expect_eq "the year" "$(billed --year 2026)" 100001
# January: C(31) = 100,001 x 31 / 365 = 8,493.24 -> 8,493
expect_eq "January" "$(billed --month 2026-01)" 8493

say "bad periods: 400 naming the problem"
for q in "month=2026-13:month" "year=26:year" "from=2026-02-01:from and to go together" \
	"days=3&month=2026-01:give one of" "from=2026-02-02&to=2026-02-01:from is after to" \
	"from=2026-02-30&to=2026-03-01:from" "from=2016-01-01&to=2026-12-31:longer than 3660 days"; do
	p=${q%%:*} want=${q#*:}
	expect_eq "$p" "$(code "reports/usage?$p")" 400
	grep -q "$want" "$WORK/err.json" || fail "$p: $(cat "$WORK/err.json") does not say '$want'"
done
echo "ok: periods"
