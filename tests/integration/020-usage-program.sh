# A program the test starts and stops shows up as used by this machine,
# with one machine, one (pseudonymous) user and its run time.
. tests/integration/lib.sh
start_server
bootstrap
agent_conf pc 29019 "usage_interval = 1" "sync_interval = 1" "usage_min_uid = 0"
app="$WORK/mutu-test-app-$$"
cp /bin/sleep "$app"
start_agent pc
wait_for 20 test -s "$WORK/pc/token" || fail "agent did not enrol"
"$app" 4 &
wait $!
product=$(basename "$app")
used() {
	ctl --format json licences --raw --product "$product" $(recent_args 1) >"$WORK/lic.json" &&
		[ "$(json 'sum(r["used_machines"] for r in j if r["commune"] == "29019")' <"$WORK/lic.json")" = 1 ]
}
wait_for 30 used || fail "usage of $product never reached the server: $(cat "$WORK/lic.json")"
cat "$WORK/lic.json"
# One user: "<3" to the intercommunal admin (the rule of every report,
# issue 15), 1 to Brest's own admin.
expect_eq "used users (intercommunal)" "$(json '[r for r in j if r["commune"]=="29019"][0]["used_users"]' <"$WORK/lic.json")" "<3"
expect_eq "used users (Brest's admin)" \
	"$(TOKEN=$(srv admin-token --commune 29019) ctl --format json licences --raw --product "$product" $(recent_args 1) | json '[r for r in j if r["commune"]=="29019"][0]["used_users"]')" 1
expect_eq "installed (not a package)" "$(json '[r for r in j if r["commune"]=="29019"][0]["installed"]' <"$WORK/lic.json")" 0
hours=$(json '[r for r in j if r["commune"]=="29019"][0]["usage_hours"]' <"$WORK/lic.json")
/usr/bin/python3 -c "import sys; h=float('$hours'); sys.exit(0 if 0.0005 <= h <= 0.003 else 1)" ||
	fail "usage_hours $hours is not about 4 s"
# User names never leave the machine in clear.
if sdb 'SELECT DISTINCT "user" FROM usage' | grep -qx root; then
	fail "a user name reached the server in clear"
fi
# SIGTERM stops the agent promptly and cleanly.
kill -TERM "$LAST_AGENT"
t0=$(date +%s)
wait "$LAST_AGENT" || fail "agent exit status $?"
[ $(($(date +%s) - t0)) -le 5 ] || fail "agent took more than 5 s to stop"
grep -q "stopping" "$WORK/pc.log" || fail "no stop message"
