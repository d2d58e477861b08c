# No SQL text is ever built from request data: every statement the
# server and agent prepare is a string literal, or a buffer printed from
# constant SQL fragments only. This test reads the sources and fails on
# any other shape, so that a future change cannot slip one in.
. tests/integration/lib.sh
# Every C file of the agent and the server, wherever it sits; and every
# file of the repository that prepares SQL must be among them (a moved or
# new file cannot escape the guard).
SRC=$(find agent server -name '*.c' | sort)
n=$(echo "$SRC" | wc -l)
for f in $(grep -rlE '\b(db_prepare|sqlite3_prepare_v2|db_exec|sqlite3_exec)\(' --include='*.c' agent server common); do
	echo "$SRC" | grep -qx "$f" || fail "$f prepares SQL but is not checked"
done
[ "$n" -ge 30 ] || fail "only $n C files found under agent/ and server/"
echo "ok: $n C files checked"
# shellcheck disable=SC2086
/usr/bin/python3 - $SRC <<'PY'
import re, sys
# Buffers allowed to hold SQL, and the constant fragments they may be
# printed from (checked below to be string constants or literal choices).
allowed_args = {"licence_sql", "machine_cols", "ent_cols", "col",
                "compliance_sql", "reclaim_sql", "sql", "maps[i].keys", "maps[i].clear",
                "migrations[v]", "q->", "peak", "installs", "hours",
                "sel", "range", "fleet_sql",
                "size_sql",  # the engine table's constant (engine_*.c)
                "exists"}  # mapped()'s SQL, given as a literal by its callers
bad = []
for path in sys.argv[1:]:
    src = open(path).read()
    # 1. prepare/exec calls: first SQL argument
    for m in re.finditer(r'\b(sq_prep|sq_get|sqlite3_prepare_v2|sq_exec|exec|lookup1|lookup|query_rows|map_exists|map_insert|list|revoke)\(\s*(?:q|b|q->db)\s*,\s*([^,;]+?)\s*[,)]', src):
        arg = m.group(2).strip()
        if arg.startswith('"') or arg in allowed_args or arg.startswith("SECRET_VALID_SQL") \
           or re.match(r"^[a-z_]+ \? \"", arg) or re.match(r"^id > 0\s*\?\s*\"", arg) or re.match(r'^strcmp\(basis', arg):
            continue
        if re.match(r'^[A-Z_]+$', arg):   # a macro of literals
            continue
        # a static const char array of the same file: initialised at
        # compile time, it cannot hold request data
        if re.match(r'^[a-z_]+$', arg) and \
           re.search(r'static const char %s\[\] =' % arg, src):
            continue
        bad.append("%s: %s(%s)" % (path, m.group(1), arg))
    # 2. every snprintf into a buffer named sql: its arguments after the
    # format must be constant fragments, never request data.
    for m in re.finditer(r'snprintf\(sql,\s*sizeof\(sql\),\s*([^;]+);', src, re.S):
        args = [a.strip() for a in re.split(r',(?![^(]*\))', m.group(1))][1:]
        for a in args:
            a = a.rstrip(')').strip()
            if a in ("licence_sql", "machine_cols", "ent_cols", "col"):
                continue
            # Constant tables of names and fragments (store_copy.c and
            # engine_pgsql.c, schema_pgsql.c, the engine's month expression),
            # the schema version, and the server's role name as the
            # database reports it (quoted as an identifier).
            if a in ("tables[i]", "table", "with_ids[i]", "pg_guarded[i].table",
                     "pg_guarded[i].sees", "v + 1", "quoted",
                     "engine_of(q->db)->month_sql",
                     "focus_sql[one][0]", "focus_sql[one][1]"):
                continue
            bad.append("%s: SQL printed from '%s'" % (path, a))
    # 3. the column argument of licence_rows is one of two literals
    for m in re.finditer(r'licence_rows\(q,\s*qu,\s*([^,]+),', src):
        if m.group(1).strip() not in ('"a.commune"', '"\'*\'"'):
            bad.append("%s: licence_rows column %s" % (path, m.group(1)))
    # 4. the summaries' upserts are constant arrays
    for name in ("daily_sql", "monthly_sql"):
        if re.search(r'\b%s\b' % name, src) and \
           not re.search(r'static const char %s\[\] =' % name, src):
            bad.append("%s: %s is not a constant array" % (path, name))
if bad:
    print("SQL built from something other than constants:")
    print("\n".join(bad))
    sys.exit(1)
print("ok: every SQL statement comes from constants")
PY
