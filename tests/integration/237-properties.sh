#!/bin/sh
# Properties of the licence reports over random scenarios (issue 15, "How
# to show it"): rows add up to totals, statements to invoices, windows of
# a term to the invoice, and no commune-scoped answer changes when another
# commune's data changes; pool figures withheld under k partners; no small
# user count outside the viewer's commune. tests/integration/props.py
# builds each scenario through the real protocol and API and checks it
# (its docstring lists the properties).
# Seeded: the seeds are printed; PROPS_SEED=N re-runs scenario N
# (PROPS_ROUNDS rounds from it, default 1); PROPS_ROUNDS (default 10:
# about 15 s on SQLite, 35 s on PostgreSQL on 2 cores).
. tests/integration/lib.sh
# hundreds of report calls: the rates are not under test; UTC days, as
# the oracle counts them
server_conf "requests_per_minute = 0" "enrol_per_minute = 0" \
	"admin_requests_per_second = 0" "time_zone = UTC"
start_server
TOKEN=$(srv admin-token)
PROPS_SRV="$B/mutu-server $DB_ARGS" PROPS_TOKEN=$TOKEN \
	/usr/bin/python3 tests/integration/props.py "$URL" ||
	fail "properties (the seed of each failure above re-runs it: PROPS_SEED=N)"
