#!/bin/sh
# PostgreSQL enforces tenant isolation itself: row-level security, forced,
# on every table that carries a commune or an agent; the server's role
# owns nothing, is no superuser and cannot bypass RLS; a session sees the
# rows of the communes it was scoped to and none when unscoped; it cannot
# write rows of another commune, rewrite the audit log, switch RLS off or
# read a partition around its parent. Runs in the PostgreSQL pass.
. tests/integration/lib.sh
[ "$BACKEND" = pgsql ] || skip "runs in the pgsql pass (MUTU_BACKEND=pgsql)"
start_server
bootstrap
agent_conf a 29019
agent_conf b 29075
agent_once a 2>/dev/null || fail "agent a"
agent_once b 2>/dev/null || fail "agent b"
stop_server

say "every table with a commune or an agent: RLS enabled and forced"
sdb "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
	AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
		AND a.attname IN ('commune', 'agent_id') AND NOT a.attisdropped)
	ORDER BY 1" >"$WORK/tables"
cat "$WORK/tables"
n=$(wc -l <"$WORK/tables")
[ "$n" -ge 14 ] || fail "only $n tables with a commune or an agent"
expect_eq "tables without RLS enabled and forced" "$(grep -vc '|t|t$' "$WORK/tables")" 0
expect_eq "communes (its code is the commune)" \
	"$(sdb "SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE relname = 'communes'")" t

say "the server's role"
expect_eq "superuser or bypassrls" \
	"$(sdb "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = 'mutu_app'")" f
expect_eq "objects it owns" \
	"$(sdb "SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid)
		+ (SELECT count(*) FROM pg_proc WHERE proowner = r.oid)
		+ (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)
		FROM pg_roles r WHERE rolname = 'mutu_app'")" 0

# app SQL: runs SQL as the server's role, in one session.
app() { psql -X -q -A -t -d "$(pg_uri mutu_app)" -c "$1" 2>&1 || true; }
scoped() { app "SELECT set_config('mutu.scope', '$1', false) IS NULL; $2"; }
say "what a session sees"
expect_eq "unscoped: agents" "$(app 'SELECT count(*) FROM agents')" 0
expect_eq "unscoped: usage rows" "$(app 'SELECT count(*) FROM usage_daily')" 0
expect_eq "scoped to 29019: communes of agents" \
	"$(scoped 29019 'SELECT string_agg(DISTINCT commune, $$,$$) FROM agents' | tail -n 1)" 29019
expect_eq "scoped to 29019: software of other communes" \
	"$(scoped 29019 "SELECT count(*) FROM software s WHERE s.agent_id NOT IN
		(SELECT agent_id FROM agents WHERE commune = '29019')" | tail -n 1)" 0
[ "$(scoped 29019 'SELECT count(*) FROM software' | tail -n 1)" -gt 0 ] ||
	fail "scoped to 29019: its own software invisible"
expect_eq "scoped to *: communes of agents" \
	"$(scoped '*' 'SELECT string_agg(DISTINCT commune, $$,$$ ORDER BY commune) FROM agents' | tail -n 1)" 29019,29075

say "what it cannot do"
out=$(scoped 29019 "INSERT INTO audit(at, actor, commune, action, detail) VALUES (0, 0, '29075', 'x', 'y')")
echo "$out" | grep -q "violates row-level security policy" || fail "wrote another commune's row: $out"
echo "ok: cannot write another commune's row"
out=$(scoped 29019 "UPDATE agents SET hostname = 'x' WHERE commune = '29075'" ; scoped '*' "SELECT count(*) FROM agents WHERE hostname = 'x'")
expect_eq "rows of another commune changed" "$(echo "$out" | tail -n 1)" 0
out=$(scoped '*' "DELETE FROM audit")
echo "$out" | grep -q "permission denied" || fail "audit log rewritten: $out"
echo "ok: cannot delete the audit log"
out=$(app "ALTER TABLE agents DISABLE ROW LEVEL SECURITY")
echo "$out" | grep -q "must be owner" || fail "RLS switched off: $out"
echo "ok: cannot switch RLS off"
out=$(app "SET row_security = off; SELECT count(*) FROM agents")
echo "$out" | grep -q "row-level security" || fail "RLS bypassed: $out"
echo "ok: row_security = off refused"
part=$(sdb "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	WHERE i.inhparent = 'usage_daily'::regclass LIMIT 1")
out=$(scoped '*' "SELECT count(*) FROM $part")
echo "$out" | grep -q "permission denied" || fail "partition $part read directly: $out"
echo "ok: partition $part not readable around its parent"
out=$(app "CREATE TABLE t(x int)")
echo "$out" | grep -q "permission denied" || fail "created a table: $out"
echo "ok: cannot create tables"
