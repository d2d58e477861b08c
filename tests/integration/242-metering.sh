#!/bin/sh
# Metering classes (issue 15; docs/LICENCES.md, "Metering classes"):
# - the real agent meters a service (a program its "services" list names)
#   run by a system account, without a user, and not another program of
#   that account; the catalogue's service product shows that use;
# - reclaim: a machine whose antivirus service ran is not "unused" (before,
#   every antivirus installation was); a product of class "installed" is
#   never listed; a service product's user licences count no machine as a
#   user.
. tests/integration/lib.sh
server_conf 'enrol_per_minute = 0' 'requests_per_minute = 0' \
	'admin_requests_per_second = 0'
start_server
bootstrap

say "the agent meters a service of a system account, without a user"
# Every uid up to the test's own is a system account here.
agent_conf pc 29019 "usage_interval = 1" "sync_interval = 1" \
	"usage_min_uid = $(($(id -u) + 1))"
cp /bin/sleep "$WORK/clamd"
cp /bin/sleep "$WORK/mutu-test-daemon-$$"
start_agent pc
wait_for 20 test -s "$WORK/pc/token" || fail "agent did not enrol"
"$WORK/clamd" 4 &
p1=$!
"$WORK/mutu-test-daemon-$$" 4 &
wait "$p1" $!
ctl catalogue add-rule --field exe --glob '*/clamd' --product clamav >/dev/null
raw() {
	ctl --format json licences --raw --product "$1" $(recent_args 1) |
		json "[(r['used_machines'], r['used_users']) for r in j if r['commune'] == '29019']"
}
clamd_used() { [ "$(raw clamd)" = "[(1, 0)]" ]; }
wait_for 30 clamd_used || fail "clamd: $(raw clamd)"
expect_eq "another program of a system account" "$(raw "mutu-test-daemon-$$")" "[]"
expect_eq "no user was sent" "$(sdb "SELECT count(*) FROM usage WHERE exe LIKE '%/clamd' AND \"user\" IS NOT NULL")" 0
ctl --format json licences --product clamav $(recent_args 1) >"$WORK/l.json"
expect_eq "clamav: service, used by 1 machine, no user" \
	"$(json "[(r['metering'], r['used_machines'], r['used_users'], r['usage_seconds'] >= 2) for r in j if r['commune'] == '29019']" <"$WORK/l.json")" \
	"[('service', 1, 0, True)]"
kill -TERM "$LAST_AGENT"
wait "$LAST_AGENT" || fail "agent exit status $?"

say "reclaim and compliance by class"
D=$(paris_day '-3 days')
E="ESET Endpoint Security" K="Kaspersky Endpoint Security 12" F="Acme Fonts Pro"
svc() { # product from to: a service's record, no user
	printf '{"product": "%s", "exe": "C:/Program Files/%s/svc.exe", "start": %s, "end": %s}' \
		"$1" "$1" "$(at "$D $2")" "$(at "$D $3")"
}
cat >"$WORK/spec.json" <<JSON
{"secrets": {"29019": "$SECRET_29019", "29075": "$SECRET_29075"},
 "machines": [
  {"name": "s1", "commune": "29075", "software": [{"name": "$E"}, {"name": "$K"}, {"name": "$F"}],
   "usage": [$(svc "$E" 08:00 18:00), $(svc "$K" 08:00 18:00)], "days": [3]},
  {"name": "s2", "commune": "29075", "software": [{"name": "$E"}, {"name": "$K"}, {"name": "$F"}],
   "usage": [$(svc "$K" 08:00 12:00)], "days": [3]}
 ]}
JSON
/usr/bin/python3 tests/integration/fleet.py "$URL" "$WORK/spec.json" "$WORK/fleet.json"
ctl catalogue add-product acme-fonts --name "Acme Fonts" --metering installed >/dev/null
ctl catalogue add-rule --field name --glob 'Acme Fonts*' --product acme-fonts >/dev/null
expect_eq "the class is listed" \
	"$(ctl --format json catalogue products | json "[(p['key'], p['metering']) for p in j if p['key'] in ('acme-fonts', 'eset-endpoint', 'libreoffice')]")" \
	"[('acme-fonts', 'installed'), ('eset-endpoint', 'service'), ('libreoffice', 'interactive')]"
for p in eset-endpoint acme-fonts; do
	ctl entitlements add --product $p --commune 29075 --metric device --quantity 2 \
		--unit-cost 30 >/dev/null
done
ctl entitlements add --product kaspersky-endpoint --commune 29075 --metric user --quantity 1 \
	--unit-cost 25 >/dev/null
ctl --format json reclaim --from "$D" --to "$D" --coverage 0 >"$WORK/r.json"
# s1's ESET service ran: used; s2's did not: unused. Acme Fonts: never.
expect_eq "reclaim rows" \
	"$(json "[(r['hostname'], r['product'], r['status']) for r in j['rows']]" <"$WORK/r.json")" \
	"[('s2', 'eset-endpoint', 'unused')]"
# Kaspersky by user: two machines ran its service, no person: need 0, so
# its one licence is a seat beyond the need (a person-less service needs
# device licences, which the admin sees here).
ctl --format json compliance --from "$D" --to "$D" --product kaspersky-endpoint >"$WORK/c.json"
expect_eq "Kaspersky by user" \
	"$(json "[(r['used_machines'], r['machines_without_user_ids'], r['need'], r['status']) for r in j if r['level'] == 'commune' and r['holder'] == '29075']" <"$WORK/c.json")" \
	"[(2, 0, 0, 'surplus')]"
# Acme Fonts (installed) held by user too: its need is a licence per
# installation (2), whatever the users; and it has no seats to reclaim.
ctl entitlements add --product acme-fonts --commune 29075 --metric user --quantity 5 \
	--unit-cost 10 >/dev/null
expect_eq "Acme Fonts by user: need = installations" \
	"$(ctl --format json compliance --from "$D" --to "$D" --product acme-fonts |
		json "[(r['metric'], r['metering'], r['owned'], r['need'], r['status']) for r in j if r['level'] == 'commune']")" \
	"[('device', 'installed', 2, 2, 'compliant'), ('user', 'installed', 5, 2, 'surplus')]"
expect_eq "no seats of an installed product" \
	"$(ctl --format json reclaim --from "$D" --to "$D" --coverage 0 | json "[s['product'] for s in j['seats']]")" \
	"['kaspersky-endpoint']"
expect_eq "a wrong class" \
	"$(ctl catalogue add-product x --name X --metering sometimes 2>&1 >/dev/null)" \
	"mutuctl: server answered 400: product x: metering: expected interactive, service or installed"
echo "ok: metering classes"
