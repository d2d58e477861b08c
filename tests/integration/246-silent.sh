#!/bin/sh
# Silent machines and silent communes (issue 21): GET /api/v1/machines
# ?silent=DAYS lists the machines in service (neither revoked nor
# retired) with no contact for DAYS days or more; GET /api/v1/communes
# says per commune how many machines it has, how many are in service,
# how many of them are silent (7 days), its latest contact and the whole
# days since; `mutuctl machines --silent DAYS` prints both, flagging the
# communes where every machine went quiet (a site outage, not broken
# PCs). Shown with real agents and the server under libfaketime, 3 and
# then 9 days ahead, on both engines.
. tests/integration/lib.sh
command -v faketime >/dev/null || skip "faketime not installed (make deps)"
start_server
bootstrap
TOKEN_B=$(srv admin-token --commune 29019)
enrolled b1 29019
B1=$aid
enrolled b2 29019
B2=$aid
enrolled b3 29019
B3=$aid
enrolled g1 29075
G1=$aid
ctl machines retire "$B3" >/dev/null || fail "retire b3"

say "now: nothing is silent"
expect_eq "machines?silent=1" "$(ctl --format json machines --silent 1 | json '(len(j["machines"]), j["silent_communes"])')" "(0, [])"
ctl --format json communes >"$WORK/c.json"
expect_eq "communes" "$(json '[(c["code"], c["machines"], c["in_service"], c["silent"], c["contact_days"]) for c in j]' <"$WORK/c.json")" \
	"[('29019', 3, 2, 0, 0), ('29075', 1, 1, 0, 0)]"

export FAKETIME_DONT_FAKE_MONOTONIC=1
FAKELIB=$(dpkg -L libfaketime | grep 'libfaketime.so.1$' | head -n 1)
[ -n "$FAKELIB" ] || fail "libfaketime.so.1 not found"
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0"
# ahead DAYS: the server restarted DAYS days ahead (the agents keep the
# real clock; the server corrects their records by the offset).
ahead() {
	stop_server
	rm -f "$WORK/port"
	# shellcheck disable=SC2086
	env LD_PRELOAD="$FAKELIB" FAKETIME="+${1}d" "$B/mutu-server" $DB_ARGS -d \
		-l 127.0.0.1:0 --port-file "$WORK/port" >>"$WORK/server.log" 2>&1 &
	SERVER_PID=$!
	wait_for 10 test -s "$WORK/port" || fail "server under faketime did not start"
	PORT=$(cat "$WORK/port")
	URL="http://127.0.0.1:$PORT"
	for m in b1 b2 b3 g1; do
		sed -i "s|^server = .*|server = $URL|" "$WORK/$m.conf"
	done
}
hosts() { json 'sorted(m["agent_id"] for m in j["machines"])'; }
ids() { /usr/bin/python3 -c 'import sys; print(sorted(sys.argv[1:]))' "$@"; }

say "3 days ahead; b1 reports again"
ahead 3
agent_once b1 >/dev/null 2>&1 || fail "b1 did not sync with the server 3 days ahead"
ctl --format json machines --silent 2 >"$WORK/s.json"
expect_eq "silent 2 days: b2 and g1 (not b1, which just reported; not b3, retired)" \
	"$(hosts <"$WORK/s.json")" "$(ids "$B2" "$G1")"
expect_eq "their contact days" "$(json '[m["contact_days"] for m in j["machines"]]' <"$WORK/s.json")" "[3, 3]"
expect_eq "communes where every machine is silent" \
	"$(json '[(c["code"], c["in_service"], c["contact_days"]) for c in j["silent_communes"]]' <"$WORK/s.json")" \
	"[('29075', 1, 3)]"
expect_eq "silent 4 days: none" "$(ctl --format json machines --silent 4 | hosts)" "[]"
ctl machines --silent 2 >"$WORK/s.txt" || fail "mutuctl machines --silent 2"
cat "$WORK/s.txt"
grep -q '^2 machine(s) listed; communes where every machine in service has been silent for 2 day(s) or more:$' "$WORK/s.txt" ||
	fail "table summary line missing"
expect_eq "table: Guipavas flagged" "$(grep -c '^29075 *Guipavas ' "$WORK/s.txt")" 1
expect_eq "table: Brest not flagged" "$(grep -c '^29019 ' "$WORK/s.txt")" 0
expect_eq "CSV: the machines" "$(ctl --format csv machines --silent 2 | tr -d '\r' | tail -n +2 | wc -l)" 2
expect_eq "CSV: their contact days" \
	"$(ctl --format csv machines --silent 2 | tr -d '\r' | /usr/bin/python3 -c "import csv,sys; print([r['contact_days'] for r in csv.DictReader(sys.stdin)])")" \
	"['3', '3']"
expect_eq "mutuctl communes --commune" "$(ctl --format json communes --commune 29075 | json '[c["code"] for c in j]')" "['29075']"
expect_eq "a commune's admin sees its own" \
	"$(MUTU_TOKEN=$TOKEN_B "$B/mutuctl" --server "$URL" --format json machines --silent 2 |
		json '([m["commune"] for m in j["machines"]], j["silent_communes"])')" "(['29019'], [])"
expect_eq "and only its commune in /communes" \
	"$(curl -s -H "Authorization: Bearer $TOKEN_B" "$URL/api/v1/communes" | json '[c["code"] for c in j]')" "['29019']"

say "9 days ahead: b2 and g1 silent for a week"
ahead 9
ctl --format json communes >"$WORK/c.json"
expect_eq "communes" "$(json '[(c["code"], c["in_service"], c["silent"], c["contact_days"]) for c in j]' <"$WORK/c.json")" \
	"[('29019', 2, 1, 6), ('29075', 1, 1, 9)]"
expect_eq "silent 8 days" "$(ctl --format json machines --silent 8 | hosts)" "$(ids "$B2" "$G1")"
expect_eq "silent 7 days, Brest" "$(ctl --format json machines --silent 7 --commune 29019 | hosts)" "$(ids "$B2")"
expect_eq "state silent, as before" "$(ctl --format json machines --state silent | json 'sorted(m["agent_id"] for m in j)')" "$(ids "$B2" "$G1")"
expect_eq "--silent 6: Brest flagged too" \
	"$(ctl --format json machines --silent 6 | json '[c["code"] for c in j["silent_communes"]]')" "['29019', '29075']"

# Every agent here runs on this host: its name is ambiguous (409), and
# the candidates' table says their states.
set +e
ctl inventory "$(sdb "SELECT hostname FROM agents WHERE agent_id = '$B1'")" >"$WORK/amb.txt" 2>&1
rc=$?
set -e
expect_eq "ambiguous host name: exit 1" "$rc" 1
expect_eq "candidates' states" "$(grep -oE '(active|silent [0-9]+ d|retired)  ' "$WORK/amb.txt" | sort | uniq -c | tr -s ' ' | tr '\n' ';')" \
	" 1 active ; 1 retired ; 2 silent 9 d ;"

say "bad values"
for v in 0 3661 abc -1 ""; do
	code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL/api/v1/machines?silent=$v")
	expect_eq "silent=$v" "$code" 400
	grep -q silent "$WORK/body" || fail "the error does not name silent: $(cat "$WORK/body")"
done
set +e
ctl machines --silent 0 >/dev/null 2>"$WORK/err"
rc=$?
set -e
expect_eq "mutuctl --silent 0: usage error" "$rc" 2
stop_server
