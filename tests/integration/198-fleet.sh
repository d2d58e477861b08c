#!/bin/sh
# Fleet generator: a small deterministic fleet (Windows and Debian PCs,
# weekdays and seasons, machines switched off, wrong clocks) delivered
# through the real agent queue and sync code to a real server. The server
# must hold exactly what the generator says it generated: machines,
# installs, sessions, seconds; every usage day within the period (the
# wrong clocks corrected); Windows display names normalised.
. tests/integration/lib.sh
SEED=${FLEET_SEED:-7}
ARGS="--seed $SEED --communes 4 --machines 10 --days 45"
server_conf "requests_per_minute = 0" "enrol_per_minute = 0"
start_server
"$B/mutu-fleetsim" communes $ARGS | while read -r code name; do
	srv commune add "$code" "$name" >/dev/null
	echo "$code $(srv enrol-secret "$code")"
done >"$WORK/secrets"
expect_eq "communes with a secret" "$(wc -l <"$WORK/secrets")" 4
"$B/mutu-fleetsim" fleet $ARGS --dry-run >"$WORK/dry.json"
mkdir "$WORK/fleet"
"$B/mutu-fleetsim" fleet $ARGS --server "$URL" --secrets "$WORK/secrets" \
	--dir "$WORK/fleet" --threads 4 >"$WORK/fleet.json" 2>"$WORK/fleet.err" ||
	{ tail -5 "$WORK/fleet.err"; fail "fleetsim fleet failed"; }
cat "$WORK/fleet.json"
g() { json "j['$1']" <"$WORK/fleet.json"; }
d() { json "j['$1']" <"$WORK/dry.json"; }
for k in records usage_day sessions seconds_used installs wrong_clock; do
	expect_eq "$k: delivered run = dry run" "$(g $k)" "$(d $k)"
done
[ "$(g wrong_clock)" -gt 0 ] || fail "seed $SEED gives no wrong clock: pick another"
[ "$(g switched_off)" -gt 0 ] || fail "seed $SEED switches no machine off"
expect_eq "machines lost" "$(g lost)" 0
expect_eq "records refused by the server" "$(grep -c "server answered 4" "$WORK/fleet.err")" 0
q() { sdb "$1"; }
expect_eq "machines" "$(q 'SELECT count(*) FROM agents')" "$(g machines)"
expect_eq "installs" "$(q 'SELECT count(*) FROM software')" "$(g installs)"
expect_eq "sessions" "$(q 'SELECT sum(sessions) FROM usage_daily')" "$(g sessions)"
expect_eq "seconds used" "$(q 'SELECT sum(seconds) FROM usage_daily')" "$(g seconds_used)"
today=$(($(date +%s) / 86400))
expect_eq "usage days outside the period (clocks corrected)" \
	"$(q "SELECT count(*) FROM usage_daily WHERE day < $today - 45 OR day >= $today")" 0
# The generator's PCs work on weekdays only: an uncorrected clock would
# put days on weekends (unless it is wrong by whole weeks).
expect_eq "usage days on a weekend" \
	"$(q "SELECT count(*) FROM usage_daily WHERE (day + 4) % 7 IN (0, 6)")" 0
for pair in "Microsoft Office Professional Plus 2019=ms-office-2019" \
	"Mozilla Firefox (x64 fr)=firefox" "firefox-esr=firefox" \
	"Adobe Acrobat Reader DC - Français=adobe-acrobat-reader"; do
	name=${pair%=*} want=${pair#*=}
	got=$(q "SELECT DISTINCT product FROM software_map WHERE name = '$name'")
	expect_eq "$name normalised" "$got" "$want"
done
expect_eq "Windows runtime ignored" \
	"$(q "SELECT count(*) FROM software_map WHERE name LIKE 'Microsoft Visual C++%' AND ignored = 1")" 1
stop_server
