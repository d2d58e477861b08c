#!/bin/sh
# The audit log against a flood (issue 16, finding 6), on both engines:
# three read-only commune tokens each send 1,000 requests as fast as one
# connection goes (a 30 KB commune= parameter, a 30 KB machine id asked
# of another commune, and plain refused reads of another commune). Each
# token may add at most 4 audit entries and 4 KB (the fields are cut,
# saying so), answers beyond 20 requests a second (burst 100) are 429
# with Retry-After, and the refusals counted add up to what was sent.
# Then the retention: refused to a commune admin and to a read-only
# token (and audited), set by the intercommunal admin (purges at once,
# audited with who, how many and before when), a purge before a date,
# and the server's own purge at start; a plain DELETE still fails.
. tests/integration/lib.sh
start_server
bootstrap
A=$(srv admin-token --commune 29019 --read-only --label flood-a)
Bt=$(srv admin-token --commune 29019 --read-only --label flood-b)
C=$(srv admin-token --commune 29019 --read-only --label flood-c)
tid() { sdb "SELECT id FROM admin_tokens WHERE label = '$1'"; }

# flood TOKEN PATH: 1,000 GETs of PATH on one kept-alive connection;
# prints the count of each status, and checks that every 429 has a
# Retry-After.
flood() {
	/usr/bin/python3 - "$PORT" "$1" "$2" <<'PY'
import http.client, sys, time
port, tok, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
path = path.replace("JUNK", "A" * 30000)
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
seen, t0 = {}, time.time()
for i in range(1000):
    conn.request("GET", path, headers={"Authorization": "Bearer " + tok})
    r = conn.getresponse()
    r.read()
    seen[r.status] = seen.get(r.status, 0) + 1
    if r.status == 429 and not (r.getheader("Retry-After") or "").isdigit():
        sys.exit("429 without Retry-After")
    if (r.getheader("Connection") or "").lower() == "close":
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
print(" ".join("%d:%d" % kv for kv in sorted(seen.items())),
      "in %.1f s" % (time.time() - t0))
PY
}

say "flood 1: 1,000 reads with a 30 KB commune="
flood "$A" "/api/v1/licences?commune=JUNK" | tee "$WORK/f1"
say "flood 2: 1,000 reads of a 30 KB machine id in another commune"
flood "$Bt" "/api/v1/machines/JUNK?commune=29075" | tee "$WORK/f2"
say "flood 3: 1,000 refused reads of another commune"
flood "$C" "/api/v1/machines?commune=29075" | tee "$WORK/f3"
grep -q "429:" "$WORK/f3" || fail "no request of flood 3 was rate-limited"
refused3=$(sed -n 's/.*403:\([0-9]*\).*/\1/p' "$WORK/f3")
limited3=$(sed -n 's/.*429:\([0-9]*\).*/\1/p' "$WORK/f3")
secs3=$(sed -n 's/.* in \([0-9]*\)\.[0-9] s$/\1/p' "$WORK/f3")
[ "${refused3:-0}" -le $((100 + 20 * (secs3 + 1))) ] ||
	fail "flood 3: $refused3 requests admitted in $secs3 s (20/s, burst 100)"
# Stopping writes the counts of the minute.
stop_server

for t in flood-a flood-b flood-c; do
	id=$(tid $t)
	rows=$(sdb "SELECT count(*) FROM audit WHERE actor = $id")
	bytes=$(sdb "SELECT coalesce(sum(length(commune) + length(action) + length(detail)), 0) FROM audit WHERE actor = $id")
	echo "$t (token $id): $rows audit entries, $bytes bytes for 1,000 requests"
	[ "$rows" -le 4 ] || fail "$t: $rows audit entries (at most 4)"
	[ "$bytes" -le 4096 ] || fail "$t: $bytes bytes of audit (at most 4 KB)"
done
id=$(tid flood-b)
sdb "SELECT detail FROM audit WHERE actor = $id AND action = 'refused'" | grep -q "(truncated, 30,017 bytes)" ||
	fail "the 30 KB path is not cut with a note: $(sdb "SELECT substr(detail, 1, 200) FROM audit WHERE actor = $id")"
echo "ok: a 30 KB field is kept as 1 KB and says '(truncated, 30,017 bytes)'"
id=$(tid flood-c)
counted=$(sdb "SELECT detail FROM audit WHERE actor = $id AND detail LIKE '%counted, not written%'")
echo "counted: $counted"
n_ref=$(echo "$counted" | sed -n 's/^\([0-9]*\) more refused requests and \([0-9]*\) more over.*/\1/p')
n_lim=$(echo "$counted" | sed -n 's/^\([0-9]*\) more refused requests and \([0-9]*\) more over.*/\2/p')
expect_eq "flood 3: refusals written + counted" "$((1 + n_ref))" "$refused3"
expect_eq "flood 3: 429s written + counted" "$((1 + n_lim))" "$limited3"
expect_eq "flood 3: entries (refused, rate-limited, counted)" \
	"$(sdb "SELECT count(*) FROM audit WHERE actor = $id")" 3

say "retention: refused to a commune admin and to a read-only token"
start_server
now=$(date +%s)
sdb "INSERT INTO audit(at, actor, commune, action, detail) VALUES
	($((now - 100 * 86400)), 0, '', 'old', 'a hundred days ago'),
	($((now - 100 * 86400)), 0, '29019', 'old', 'a hundred days ago, Brest'),
	($((now - 10 * 86400)), 0, '', 'old', 'ten days ago')" >/dev/null
BREST=$(srv admin-token --commune 29019)
RO=$(srv admin-token --read-only)
set +e
MUTU_TOKEN=$BREST "$B/mutuctl" --server "$URL" audit purge --before 2100-01-01 2>"$WORK/err1"; r1=$?
MUTU_TOKEN=$BREST "$B/mutuctl" --server "$URL" audit retention 1 2>"$WORK/err2"; r2=$?
MUTU_TOKEN=$RO "$B/mutuctl" --server "$URL" audit retention 1 2>"$WORK/err3"; r3=$?
set -e
expect_eq "commune admin: purge" "$r1" 1
expect_eq "commune admin: retention" "$r2" 1
expect_eq "read-only: retention" "$r3" 1
cat "$WORK/err1" "$WORK/err3"
expect_eq "old entries still there" "$(sdb "SELECT count(*) FROM audit WHERE action = 'old'")" 3
# Brest's second refusal within the minute is only counted (written when
# the minute is over, or at stop).
expect_eq "the refusals audited" \
	"$(sdb "SELECT count(*) FROM audit WHERE action = 'refused' AND detail LIKE '%/api/v1/audit/%'")" 2
MUTU_TOKEN=$BREST "$B/mutuctl" --server "$URL" audit retention | grep -q "for ever" ||
	fail "a commune admin cannot read the retention"

say "retention set by the intercommunal admin"
ctl audit retention 30 | tee "$WORK/out"
grep -q "2 older entries purged" "$WORK/out" || fail "retention 30: $(cat "$WORK/out")"
ctl audit retention | grep -q "kept 30 days" || fail "retention not shown"
expect_eq "old entries left" "$(sdb "SELECT detail FROM audit WHERE action = 'old'")" "ten days ago"
tok_id=$(sdb "SELECT actor FROM audit WHERE action = 'retention'")
sdb "SELECT actor || ' ' || detail FROM audit WHERE action = 'purge'" | tee "$WORK/purge"
grep -q "^$tok_id 2 audit entries before .* UTC deleted (audit log retention set to 30 days by admin token $tok_id)" "$WORK/purge" ||
	fail "no purge entry naming who, how many and before when"
before=$(date -u -d '5 days ago' +%F)
# the date's midnight in the server's zone (Europe/Paris), shown in UTC
cut=$(date -u -d "TZ=\"Europe/Paris\" $before 00:00" '+%F %T')
ctl audit purge --before "$before" | tee "$WORK/out"
grep -q "^1 audit entries before $cut UTC purged" "$WORK/out" || fail "purge --before: $(cat "$WORK/out")"
expect_eq "old entries left" "$(sdb "SELECT count(*) FROM audit WHERE action = 'old'")" 0
sdb "SELECT detail FROM audit WHERE action = 'purge' AND actor = $tok_id" | grep -q "^1 audit entries before $cut UTC deleted (purge asked by admin token $tok_id)" ||
	fail "purge --before not audited"
set +e
ctl audit purge --before 2999-01-01 2>"$WORK/err"; r=$?
set -e
expect_eq "a purge of the future" "$r" 1
grep -q "today at the latest" "$WORK/err" || fail "$(cat "$WORK/err")"

say "the server applies the retention itself (at start, then daily)"
stop_server
sdb "INSERT INTO audit(at, actor, commune, action, detail) VALUES
	($((now - 40 * 86400)), 0, '', 'old', 'forty days ago'),
	($((now - 20 * 86400)), 0, '', 'old', 'twenty days ago')" >/dev/null
start_server
expect_eq "left after a restart" "$(sdb "SELECT detail FROM audit WHERE action = 'old'")" "twenty days ago"
sdb "SELECT detail FROM audit WHERE action = 'purge' AND actor = 0" | grep -q "^1 audit entries before .* (retention of 30 days, applied by the server)" ||
	fail "the server's purge is not audited: $(sdb "SELECT detail FROM audit WHERE action = 'purge'")"
echo "ok: the server purged and audited it"

say "any other deletion still fails"
set +e
sdb "DELETE FROM audit" 2>"$WORK/err"; rc=$?
set -e
[ "$rc" != 0 ] && grep -q "append-only" "$WORK/err" || fail "audit rows could be deleted: $(cat "$WORK/err")"
echo "ok: the audit log is append-only outside the purge"
stop_server
