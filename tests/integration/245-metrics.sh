#!/bin/sh
# GET /metrics (docs/OPERATIONS.md, "Metrics"; issue 21): off without a
# metrics token (404), 401 for a missing or wrong one; the page passes
# promtool's check (Prometheus's own parser, from Debian's package); its
# counters move as batches are stored and refused and as agents enrol;
# machines per commune by state, a commune's last report and the records
# its agents lost come from the database; after faked time (libfaketime
# on the server: +10 and +40 days) the machines turn silent and the
# commune's last report ages. /readyz answers while the database does.
. tests/integration/lib.sh
command -v faketime >/dev/null || skip "faketime not installed (make deps)"
PROMTOOL=$(BUILD=$BUILD sh tests/tools/promtool.sh) || fail "no promtool"
PROMTOOL=$(cd "$(dirname "$PROMTOOL")" && pwd)/promtool

say "off without a metrics token"
start_server
bootstrap
expect_eq "/metrics without metrics_token_file" \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL/metrics")" 404
stop_server

head -c 24 /dev/urandom | base64 >"$WORK/mtok"
chmod 600 "$WORK/mtok"
server_conf "metrics_token_file = $WORK/mtok"
start_server
MTOK=$(cat "$WORK/mtok")
# scrape [FILE]: the page into FILE (default $WORK/m), checked by promtool
scrape() {
	f=${1:-$WORK/m}
	code=$(curl -s -o "$f" -w '%{http_code}' -H "Authorization: Bearer $MTOK" "$URL/metrics")
	[ "$code" = 200 ] || fail "/metrics answered $code: $(cat "$f")"
	"$PROMTOOL" check metrics <"$f" >"$WORK/promtool.out" 2>&1 ||
		fail "promtool: $(cat "$WORK/promtool.out")"
}
# metric SERIES: its value in the last scrape (0 when absent)
metric() {
	awk -v s="$1 " 'index($0, s) == 1 { v = $NF } END { print v == "" ? 0 : v }' "$WORK/m"
}

say "credentials"
expect_eq "no token" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/metrics")" 401
expect_eq "an admin token is not the metrics token" \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL/metrics")" 401
scrape
echo "ok: promtool check metrics passes ($(grep -c '^mutu_' "$WORK/m") samples)"
expect_eq "enrolled so far" "$(metric 'mutu_enrolments_total{outcome="enrolled"}')" 0
expect_eq "machines of 29019" "$(metric 'mutu_agents{commune="29019",state="active"}')" 0

say "counters move with ingest"
enrolled pc1 29019
enrolled pc2 29019
enrolled pc3 29075
tok1=$(cat "$WORK/pc1/token")
# one usage record through the agent, one malformed batch by hand
now=$(date +%s)
printf '{"type":"usage","time":%s,"data":{"product":"p","exe":"/usr/bin/p","start":%s,"end":%s}}\n' \
	"$now" $((now - 60)) $((now - 30)) | "$B/mutu-agent" -c "$WORK/pc1.conf" enqueue >/dev/null
agent_once pc1 >/dev/null 2>&1 || fail "pc1's second sync"
expect_eq "a malformed batch" "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok1" \
	-H 'Content-Type: application/json' --data-binary '{"batch_id": 3' "$URL/api/v1/batches")" 400
scrape
expect_eq "enrolled" "$(metric 'mutu_enrolments_total{outcome="enrolled"}')" 3
stored=$(metric 'mutu_ingest_batches_total{outcome="stored"}')
expect_eq "batches stored = POST /api/v1/batches answered 200" "$stored" \
	"$(metric 'mutu_http_requests_total{endpoint="POST /api/v1/batches",code="200"}')"
[ "$stored" -ge 4 ] || fail "batches stored: $stored, expected 4 or more (3 first syncs and pc1's usage)"
expect_eq "batches refused" "$(metric 'mutu_ingest_batches_total{outcome="refused"}')" 1
expect_eq "the 400 counted" "$(metric 'mutu_http_requests_total{endpoint="POST /api/v1/batches",code="400"}')" 1
expect_eq "usage records stored" "$(metric 'mutu_ingest_records_total{type="usage",outcome="stored"}')" 1
expect_eq "inventories stored" "$(metric 'mutu_ingest_records_total{type="inventory",outcome="stored"}')" 3
expect_eq "ingest histogram count" "$(metric 'mutu_ingest_duration_seconds_count')" $((stored + 1))
expect_eq "401s counted" "$(metric 'mutu_http_requests_total{endpoint="GET /metrics",code="401"}')" 2
expect_eq "29019 active" "$(metric 'mutu_agents{commune="29019",state="active"}')" 2
expect_eq "29075 active" "$(metric 'mutu_agents{commune="29075",state="active"}')" 1
seen=$(metric 'mutu_commune_last_seen_timestamp_seconds{commune="29019"}')
[ $((now - ${seen%.*})) -le 60 ] || fail "29019 last seen $seen, now $now"
size=$(metric mutu_database_size_bytes)
[ "${size%.*}" -gt 0 ] || fail "database size $size"
[ "$(metric mutu_database_filesystem_avail_bytes)" != 0 ] || [ "$BACKEND" = pgsql ] ||
	fail "no free space gauge on SQLite"
expect_eq "version" "$(metric "mutu_build_info{version=\"$("$B/mutu-server" --version | cut -d' ' -f2)\"}")" 1

say "records lost (a record the server refuses, set aside by the agent), revoked and retired machines"
printf '{"type":"usage","time":%s,"data":{"product":"p","exe":"/usr/bin/p","start":%s,"end":%s}}\n' \
	"$now" $((now - 30)) $((now - 60)) | "$B/mutu-agent" -c "$WORK/pc2.conf" enqueue >/dev/null
agent_once pc2 >/dev/null 2>&1 || true
agent_once pc2 >/dev/null 2>&1 || fail "pc2's gap not delivered"
expect_eq "revoke pc3" "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE \
	-H "Authorization: Bearer $TOKEN" "$URL/api/v1/agents/$(cat "$WORK/pc3/agent-id")")" 200
enrolled pc4 29075
ctl machines retire "$(cat "$WORK/pc4/agent-id")" >/dev/null || fail "retire pc4"
# pc5 enrols and never sends a batch (its service never started): never,
# then silent from its enrolment, as mutuctl machines says.
agent_conf pc5 29075
printf '%s\n' "$SECRET_29075" >"$WORK/pc5.secret"
"$B/mutu-agent" -c "$WORK/pc5.conf" enrol --server "$URL" --commune 29075 \
	--secret-file "$WORK/pc5.secret" >/dev/null 2>&1 || fail "pc5 did not enrol"
scrape
expect_eq "29075 never" "$(metric 'mutu_agents{commune="29075",state="never"}')" 1
expect_eq "29019 lost" "$(metric 'mutu_records_lost_total{commune="29019"}')" 1
expect_eq "a 422 counted" "$(metric 'mutu_http_requests_total{endpoint="POST /api/v1/batches",code="422"}')" 1
expect_eq "29075 revoked" "$(metric 'mutu_agents{commune="29075",state="revoked"}')" 1
expect_eq "29075 retired" "$(metric 'mutu_agents{commune="29075",state="retired"}')" 1
expect_eq "29075 active" "$(metric 'mutu_agents{commune="29075",state="active"}')" 0

say "faked time: the server 10 and then 40 days ahead"
export FAKETIME_DONT_FAKE_MONOTONIC=1
# libfaketime preloaded into the server itself (env execs it), so that
# SERVER_PID is the server's and stop_server's SIGTERM reaches it.
FAKELIB=$(dpkg -L libfaketime | grep 'libfaketime.so.1$' | head -n 1)
[ -n "$FAKELIB" ] || fail "libfaketime.so.1 not found"
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0"
for ahead in 10 40; do
	stop_server
	rm -f "$WORK/port"
	# shellcheck disable=SC2086
	env LD_PRELOAD="$FAKELIB" FAKETIME="+${ahead}d" "$B/mutu-server" -c "$WORK/server.conf" $DB_ARGS -d \
		-l 127.0.0.1:0 --port-file "$WORK/port" >>"$WORK/server.log" 2>&1 &
	SERVER_PID=$!
	wait_for 10 test -s "$WORK/port" || fail "server under faketime did not start"
	URL="http://127.0.0.1:$(cat "$WORK/port")"
	scrape
	faked=$(metric mutu_start_time_seconds)
	[ $((${faked%.*} - now)) -ge $((ahead * 86400 - 120)) ] ||
		fail "start time $faked is not $ahead days ahead of $now"
	seen=$(metric 'mutu_commune_last_seen_timestamp_seconds{commune="29019"}')
	age=$(((${faked%.*} - ${seen%.*}) / 86400))
	expect_eq "29019 last report, days before the faked now" "$age" "$ahead"
	if [ "$ahead" = 10 ]; then state=silent_7d; else state=silent_30d; fi
	expect_eq "29019 $state" "$(metric "mutu_agents{commune=\"29019\",state=\"$state\"}")" 2
	expect_eq "29019 active" "$(metric 'mutu_agents{commune="29019",state="active"}')" 0
	expect_eq "29075: pc5, enrolled and never heard from, $state" \
		"$(metric "mutu_agents{commune=\"29075\",state=\"$state\"}")" 1
	expect_eq "29075 never" "$(metric 'mutu_agents{commune="29075",state="never"}')" 0
	seen=$(metric 'mutu_commune_last_seen_timestamp_seconds{commune="29075"}')
	expect_eq "29075 last contact (pc5's enrolment), days before the faked now" \
		"$(((${faked%.*} - ${seen%.*}) / 86400))" "$ahead"
done

say "/readyz"
expect_eq "/readyz" "$(curl -s "$URL/readyz" | json 'j["status"]')" ready

say "a certificate expiring within cert_warn_days (21): /healthz 503, /readyz 200"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 10 \
	-subj /CN=localhost -keyout "$WORK/k.pem" -out "$WORK/c.pem" 2>/dev/null
stop_server
server_conf "metrics_token_file = $WORK/mtok" "tls_cert = $WORK/c.pem" "tls_key = $WORK/k.pem"
start_server
URL="https://127.0.0.1:$PORT"
code=$(curl -sk -o "$WORK/h" -w '%{http_code}' "$URL/healthz")
expect_eq "/healthz" "$code" 503
grep -q "certificate expires" "$WORK/h" || fail "no reason: $(cat "$WORK/h")"
echo "ok: $(cat "$WORK/h")"
expect_eq "/readyz" "$(curl -sk "$URL/readyz" | json 'j["status"]')" ready
code=$(curl -sk -o "$WORK/m" -w '%{http_code}' -H "Authorization: Bearer $MTOK" "$URL/metrics")
expect_eq "/metrics over TLS" "$code" 200
left=$(($(metric mutu_tls_certificate_expiry_timestamp_seconds | cut -d. -f1) - $(date +%s)))
[ $left -gt $((9 * 86400)) ] && [ $left -le $((10 * 86400)) ] ||
	fail "certificate expiry gauge: $left s from now, expected 10 days"
echo "ok: expiry gauge $left s from now"
stop_server
server_conf "metrics_token_file = $WORK/mtok" "tls_cert = $WORK/c.pem" "tls_key = $WORK/k.pem" \
	"cert_warn_days = 5"
start_server
expect_eq "/healthz with cert_warn_days = 5" \
	"$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PORT/healthz")" 200
