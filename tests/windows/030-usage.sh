# Programs run under wine for a known time are metered against the right
# product, with a pseudonymous user and a duration within one sample
# interval of the time they ran:
# - CARTO.EXE lies under an installed product's InstallLocation (an
#   Uninstall key this test writes, 64-bit view);
# - VIEWER.EXE lies elsewhere (C:\Users\Public) and names its product in
#   its version resource (ProductName "Mutu Test Viewer", CompanyName
#   "Mutu Test Editions"), as WINWORD.EXE does: it counts for the
#   installed "Mutu Test Viewer 2.0 (x64)" of that publisher.
# Then "mutu-agent.exe status", run beside the agent, shows the delivery.
. tests/windows/lib.sh
N=${WIN_USAGE_SECONDS:-6}
NV=4
INTERVAL=1
PRODUCT="Mutu Test Cartographie 3.1"
win_init
start_server
bootstrap
key='HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\MutuTestCarto'
dir="$DRIVE_C/Program Files/Mutu Test Carto"
mkdir -p "$dir/bin"
wrun reg add "$key" /v DisplayName /d "$PRODUCT" /f >/dev/null 2>&1 &&
	wrun reg add "$key" /v Publisher /d "Mutu Test Editions" /f >/dev/null 2>&1 &&
	wrun reg add "$key" /v DisplayVersion /d 3.1.0 /f >/dev/null 2>&1 &&
	wrun reg add "$key" /v InstallLocation /d 'C:\Program Files\Mutu Test Carto\' \
		/f >/dev/null 2>&1 || fail "cannot write the product's Uninstall key"
cp "$SLEEPER" "$dir/bin/CARTO.EXE"
vkey='HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\MutuTestViewer'
wrun reg add "$vkey" /v DisplayName /d "Mutu Test Viewer 2.0 (x64)" /f >/dev/null 2>&1 &&
	wrun reg add "$vkey" /v Publisher /d "Mutu Test Editions" /f >/dev/null 2>&1 ||
	fail "cannot write the viewer's Uninstall key"
mkdir -p "$DRIVE_C/users/Public/viewer"
build_sleeper "$DRIVE_C/users/Public/viewer/VIEWER.EXE" "Mutu Test Viewer" "Mutu Test Editions"
win_agent_conf pc 29019 "usage_interval = $INTERVAL" "sync_interval = 1" \
	"startup_splay = 0" "retry_min = 1" "retry_max = 2"
win_start_agent pc
wait_for 30 sh -c "[ \$(sqlite3 '$SDB' 'SELECT count(*) FROM agents') -ge 1 ]" ||
	fail "agent did not enrol: $(tail -n 20 "$WORK/pc.log")"
# The agent samples before the program starts, so that its start is seen.
sleep 2
say "CARTO.EXE runs $N s, VIEWER.EXE $NV s"
t0=$(date +%s.%N)
wrun "$DRIVE_C/users/Public/viewer/VIEWER.EXE" "$NV" &
viewer=$!
wrun "$dir/bin/CARTO.EXE" "$N" || fail "CARTO.EXE failed"
wait "$viewer" || fail "VIEWER.EXE failed"
ran=$(echo "$(date +%s.%N) - $t0" | bc)
echo "ran $ran s (wine start included)"
metered() {
	[ "$(sdb "SELECT count(*) FROM usage WHERE exe LIKE '%CARTO.EXE'")" -ge 1 ] &&
		[ "$(sdb "SELECT count(*) FROM usage WHERE exe LIKE '%VIEWER.EXE'")" -ge 1 ]
}
wait_for 30 metered || {
	sdb "SELECT product, exe, \"end\" - start FROM usage" >&2
	fail "no usage of CARTO.EXE and VIEWER.EXE reached the server: $(tail -n 20 "$WORK/pc.log")"
}
# The session may close a sample after the program ended: wait for it.
sleep $((INTERVAL + 2))
sdb "SELECT product, exe, user, \"end\" - start FROM usage"
# check EXE PRODUCT SECONDS
check() {
	expect_eq "product of $1" \
		"$(sdb "SELECT DISTINCT product FROM usage WHERE exe LIKE '%\\$1'")" "$2"
	secs=$(sdb "SELECT sum(\"end\" - start) FROM usage WHERE exe LIKE '%\\$1'")
	[ "$secs" -ge $(($3 - INTERVAL)) ] && [ "$secs" -le $(($3 + INTERVAL)) ] ||
		fail "$1: metered $secs s, expected $3 +/- $INTERVAL"
	echo "ok: $1 metered $secs s for a $3 s run (sample interval $INTERVAL s)"
}
check CARTO.EXE "$PRODUCT" "$N"
check VIEWER.EXE "Mutu Test Viewer 2.0 (x64)" "$NV"
user=$(sdb "SELECT DISTINCT user FROM usage WHERE exe LIKE '%CARTO.EXE'")
[ -n "$user" ] || fail "no user recorded"
clear=$(wrun cmd /c 'echo %USERNAME%' 2>/dev/null | tr -d '\r')
[ "$user" != "$clear" ] || fail "the user name reached the server in clear ($clear)"
echo "ok: user pseudonymous ($user)"
# mutu-agent status beside the running agent (read-only): delivered, ok.
agent -c "$WCONF" status >"$WORK/status.out" 2>&1 ||
	fail "status beside the agent: exit $?: $(cat "$WORK/status.out")"
tr -d '\r' <"$WORK/status.out" | grep -q '^last_delivery: 20' ||
	fail "status shows no delivery: $(cat "$WORK/status.out")"
echo "ok: status beside the running agent, exit 0: $(tr -d '\r' <"$WORK/status.out" | grep '^last_delivery')"
win_kill_agent
echo "done in $(elapsed) s"
