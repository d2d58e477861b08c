#!/bin/sh
# Query parameters parsed strictly (issue 16, Low): reclaim?coverage=nan
# answered 200 {} and audit?days=abc was silently ignored. Every admin
# route takes the parameters docs/API.md lists for it, each once: an
# unknown or repeated parameter, a missing or malformed value, NaN, an
# infinity, an exponent or a number out of range is a 400 whose error
# names the parameter and the value (a NUL byte, "days=3%00x", which C
# would read as "3", is named as such), for every report endpoint; good
# values still answer 200.
. tests/integration/lib.sh
start_server
bootstrap
enrolled pc 29019

# get PATH: the status; the answer in $WORK/body (after a 429 from the
# admin rate limit, again a second later).
get() {
	while :; do
		c=$(curl -sS -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL/api/v1/$1")
		[ "$c" = 429 ] || break
		sleep 1
	done
	echo "$c"
}
# bad PATH NAME VALUE: 400 naming the parameter NAME and VALUE.
bad() {
	code=$(get "$1")
	[ "$code" = 400 ] || fail "$1: status $code, expected 400: $(cat "$WORK/body")"
	err=$(json 'j["error"]' <"$WORK/body")
	case "$err" in *"$2"*"$3"*) ;; *) fail "$1: error does not name $2 and '$3': $err" ;; esac
	checked=$((checked + 1))
}
good() {
	code=$(get "$1")
	[ "$code" = 200 ] || fail "$1: status $code, expected 200: $(cat "$WORK/body")"
	checked=$((checked + 1))
}
checked=0

say "the reproductions"
bad "reports/reclaim?coverage=nan" coverage nan
bad "audit?days=abc" days abc

say "every report endpoint"
for p in licences reports/compliance reports/reclaim reports/costs reports/usage audit gaps; do
	good "$p"
	good "$p?days=7"
	good "$p?days=1"
	good "$p?days=3660"
	for v in abc 0 3661 -1 %2B5 %205 5%20 1.5 1e3 nan inf 0x10 99999999999999999999 ""; do
		bad "$p?days=$v" days "$(echo "$v" | sed 's/%20/ /g; s/%2B/+/g')"
	done
	bad "$p?days" days ""
	bad "$p?days=3%00x" days "NUL byte"
	bad "$p?da%00ys=3" "da?ys" "NUL byte"
	bad "$p?days=3&days=4" days "given twice"
	bad "$p?nosuch=1" nosuch ""
	bad "$p?Days=3" Days ""
done
for p in licences machines communes reports/compliance reports/reclaim reports/costs reports/usage; do
	good "$p?commune=29019"
	for v in 2901 290190 abcde ""; do
		bad "$p?commune=$v" commune "$v"
	done
	bad "$p?commune=29019&commune=29075" commune "given twice"
done
bad "machines?days=3" days ""
bad "machines?limit=3" limit ""
bad "communes?days=3" days ""
good "machines?silent=1"
good "machines?silent=3660"
for v in 0 3661 abc -1 1.5 ""; do bad "machines?silent=$v" silent "$v"; done
bad "machines?silent=1&silent=2" silent "given twice"
bad "licences?silent=1" silent ""
bad "audit?commune=29019" commune ""

say "coverage (reclaim)"
for v in 0 1 0.7 0.25 1.0 0.000; do good "reports/reclaim?coverage=$v"; done
for v in nan NaN inf -inf infinity 1.5 -0.1 1e-1 .5 1. 0x1p-1 %200.5 0,5 2 abc ""; do
	bad "reports/reclaim?coverage=$v" coverage "$(echo "$v" | sed 's/%20/ /')"
done
expect_eq "coverage=0.25 echoed" "$(get 'reports/reclaim?coverage=0.25' >/dev/null; json 'j["coverage"]' <"$WORK/body")" 0.25
bad "reports/compliance?coverage=0.5" coverage ""
bad "reports/usage?coverage=0.5" coverage ""

say "limit (licences), product, pool, view"
for v in 0 1 1000000; do good "licences?limit=$v"; done
for v in -1 1000001 x 1.0; do bad "licences?limit=$v" limit "$v"; done
good "licences?product=bash"
good "reports/compliance?product=ms-office-2019"
good "reports/usage?product=bash"
bad "licences?product=" product ""
bad "licences?product=a%01b" product "a?b"
bad "licences?product=$(head -c 300 /dev/zero | tr '\0' x)" product "xxxxxxxx"
bad "reports/reclaim?product=bash" product ""
good "reports/costs?pool=metro"
bad "reports/costs?pool=Metro%20Ouest" pool "Metro Ouest"
bad "reports/compliance?pool=metro" pool ""
good "licences?view=raw"
bad "licences?view=all" view all

say "a long parameter is refused, and shown cut"
long=$(head -c 30000 /dev/zero | tr '\0' 9)
bad "licences?commune=$long" commune "9999999999"
[ "$(wc -c <"$WORK/body")" -lt 400 ] || fail "the error echoes the whole value: $(wc -c <"$WORK/body") bytes"
echo "ok: a 30,000-byte value, a $(wc -c <"$WORK/body")-byte answer"

say "the agents' routes and mutuctl are unaffected"
sleep 2 # the admin rate limit's bucket refills
agent_once pc >/dev/null 2>&1 || fail "the agent no longer delivers"
ctl reclaim --coverage 0.5 >/dev/null || fail "mutuctl reclaim --coverage 0.5"
ctl licences --days 7 --limit 3 --commune 29019 >/dev/null || fail "mutuctl licences"
ctl audit >/dev/null || fail "mutuctl audit"
rc=0; ctl reclaim --coverage nan >"$WORK/out" 2>"$WORK/err" || rc=$?
[ $rc -ne 0 ] && grep -q "coverage" "$WORK/err" || fail "mutuctl reclaim --coverage nan: rc $rc, $(cat "$WORK/err")"
echo "ok: $checked requests checked"
