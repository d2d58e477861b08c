# The MSI, as an administrator pushes it: "msiexec /i ... /qn" with the
# server, commune, enrolment secret and CA as properties installs a
# Windows service that starts, enrols and delivers over HTTPS (wine's
# Schannel, TLS 1.2) to mutu-server on loopback: the server holds this
# machine's inventory with the fixture software (tests/fixtures/windows/
# software.reg, imported first). After the first start the enrolment
# secret is nowhere in the registry. An upgrade to a higher version (a
# second MSI, release 0.1.1, built here with make msi) keeps the agent's
# identity and its queue (records queued while the server was down arrive
# after the upgrade, once each); uninstalling leaves no service and no files in
# Program Files.
. tests/windows/lib.sh
MSI=$(ls -t "$WB"/mutu-agent-*-x64.msi 2>/dev/null | head -n 1)
[ -n "$MSI" ] || skip "no $WIN_BUILD/mutu-agent-*-x64.msi (make msi)"
SVC=MutuAgent
FIXTURE=tests/fixtures/windows/software.reg

# The upgrade: release 0.1.1 built into this test's directory (make msi
# compiles the versioned files again there; build/win is not touched).
say "building the upgrade MSI (make msi VERSION=0.1.1)"
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory msi \
	VERSION=0.1.1 WIN_MSI_DIR="$WORK/msi2" >"$WORK/msi2.log" 2>&1 ||
	fail "make msi VERSION=0.1.1: $(tail -n 20 "$WORK/msi2.log")"
MSI2=$WORK/msi2/mutu-agent-0.1.1-x64.msi
[ -f "$MSI2" ] || fail "make msi VERSION=0.1.1 made no $MSI2"
echo "upgrade MSI built at $(elapsed) s"

win_init services
# The fixtures of 010-inventory: software and a Windows 11 23H2 machine.
[ -f "$FIXTURE" ] && reg_import "$FIXTURE"
[ -f tests/fixtures/windows/os-win11.reg ] && reg_import tests/fixtures/windows/os-win11.reg
start_tls_server
bootstrap
cp "$WORK/pki/ca.pem" "$WORK/ca.pem"

say "msiexec /i $(basename "$MSI") /qn"
t0=$(date +%s)
wrun msiexec /i "$(winpath "$MSI")" /qn SERVER="$URL" COMMUNE=29019 \
	ENROLSECRET="$SECRET_29019" USERKEY=windows-test-key-29019 \
	CAFILE="$(winpath "$WORK/ca.pem")" \
	>"$WORK/msiexec.out" 2>&1 || fail "msiexec /i failed: $(cat "$WORK/msiexec.out")"
echo "installed in $(($(date +%s) - t0)) s"
image=$(wrun reg query "HKLM\\System\\CurrentControlSet\\Services\\$SVC" /v ImagePath \
	2>/dev/null | tr -d '\r' | sed -n 's/.*REG_[A-Z_]* *//p')
[ -n "$image" ] || fail "no service $SVC after install"
echo "service $SVC: $image"
# C:\Program Files\... as a Linux path (the ImagePath may be quoted and
# carry arguments).
exe_win=$(printf '%s\n' "$image" | sed 's/^"\([^"]*\)".*/\1/; s/ --service.*//')
exe_lin=$DRIVE_C/$(printf '%s\n' "$exe_win" | sed 's/^[Cc]:\\//' | tr '\\' /)
[ -f "$exe_lin" ] || fail "service program $exe_win not installed ($exe_lin)"
INSTDIR=$(dirname "$exe_lin")
case $INSTDIR in "$DRIVE_C/Program Files/"*) ;; *) fail "installed outside Program Files: $INSTDIR" ;; esac
wait_for 30 sh -c "wine sc query $SVC 2>/dev/null | grep -q RUNNING" ||
	fail "service not running: $(wrun sc query $SVC 2>&1)"
echo "ok: service $SVC running"

# The test's pace: deliveries every second, no start-up splay (the
# service reads the configuration the MSI wrote at each start).
CONF=$DRIVE_C/ProgramData/mutu/agent.conf
wait_for 30 test -s "$CONF" || fail "no $CONF after install"
printf 'sync_interval = 1\nstartup_splay = 0\nretry_min = 1\nretry_max = 2\n' >>"$CONF"
wrun net stop $SVC >/dev/null 2>&1 || true
wrun net start $SVC >/dev/null 2>&1 || fail "net start $SVC failed"

say "enrolled and delivering over HTTPS"
wait_for 60 sh -c "[ \$(sqlite3 '$SDB' 'SELECT count(*) FROM agents WHERE inventory_at IS NOT NULL') -ge 1 ]" ||
	fail "no inventory reached the server: $(tail -n 20 "$WORK/server.log")
service's Event Log lines: $(tail -n 20 "$WORK/svc.log" 2>/dev/null)"
AID=$(sdb "SELECT agent_id FROM agents")
expect_eq "agents" "$(sdb 'SELECT count(*) FROM agents')" 1
expect_eq "commune" "$(sdb 'SELECT commune FROM agents')" 29019
host=$(hostname_win)
expect_eq "host name" "$(sdb 'SELECT lower(hostname) FROM agents')" "$(echo "$host" | tr 'A-Z' 'a-z')"
os=$(sdb "SELECT os FROM agents")
echo "os at the server: $os"
if [ -f tests/fixtures/windows/os-win11.reg ]; then
	case $os in *"Windows 11"*) ;; *) fail "os '$os' is not the fixture's Windows 11" ;; esac
fi
sdb "SELECT name FROM software WHERE agent_id = '$AID' ORDER BY name" >"$WORK/server-sw.txt"
echo "software at the server: $(wc -l <"$WORK/server-sw.txt")"
[ -s "$WORK/server-sw.txt" ] || fail "no software at the server"
if [ -f "$FIXTURE" ]; then
	# The fixture's machine-wide products (DisplayName, not system
	# components or updates) must all be there.
	/usr/bin/python3 - "$FIXTURE" >"$WORK/fixture-sw.txt" <<'PY'
import sys
raw = open(sys.argv[1], "rb").read()
text = raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-8-sig")
keys, cur = {}, None
for line in text.splitlines():
    line = line.strip()
    if line.startswith("[") and line.endswith("]"):
        cur = line[1:-1]
        keys.setdefault(cur, {})
    elif cur and line.startswith('"') and "=" in line:
        name, _, value = line.partition("=")
        keys[cur][name.strip('"')] = value
for key, vals in keys.items():
    if not key.upper().startswith("HKEY_LOCAL_MACHINE") or "DisplayName" not in vals:
        continue
    if vals.get("SystemComponent", "").endswith("1") or "ParentKeyName" in vals \
            or "ReleaseType" in vals:
        continue
    v = vals["DisplayName"]
    if v.startswith('"'):
        print(v[1:-1].replace('\\"', '"').replace("\\\\", "\\"))
PY
	missing=$(grep -vxF -f "$WORK/server-sw.txt" "$WORK/fixture-sw.txt" || true)
	[ -z "$missing" ] || fail "fixture software missing at the server: $missing"
	echo "ok: the $(wc -l <"$WORK/fixture-sw.txt") machine-wide fixture products are at the server"
else
	echo "note: $FIXTURE absent, software checked for presence only"
fi

say "the enrolment secret is gone from the registry"
wrun reg export HKLM "$(winpath "$WORK/hklm.reg")" /y >/dev/null 2>&1 ||
	fail "reg export HKLM failed"
iconv -f UTF-16 -t UTF-8 "$WORK/hklm.reg" >"$WORK/hklm.txt" 2>/dev/null ||
	cp "$WORK/hklm.reg" "$WORK/hklm.txt"
[ -s "$WORK/hklm.txt" ] || fail "empty registry export"
if grep -qF "$SECRET_29019" "$WORK/hklm.txt"; then
	fail "the enrolment secret is still in the registry: $(grep -F "$SECRET_29019" "$WORK/hklm.txt" | head -n 3)"
fi
# Its protected storage is C:\ProgramData\mutu (ACL SYSTEM and
# Administrators; under wine an ACL is the Unix mode, Everyone = other).
grep -rlF "$SECRET_29019" "$DRIVE_C" 2>/dev/null >"$WORK/secret-files" || true
[ -s "$WORK/secret-files" ] || fail "the secret is nowhere: how did the agent keep it?"
while IFS= read -r f; do
	case $f in "$DRIVE_C/ProgramData/mutu/"*) ;; *) fail "the enrolment secret is in $f" ;; esac
	[ $(($(stat -c 0%a "$f") & 077)) -eq 0 ] ||
		fail "$f holds the secret and other users may read it (mode $(stat -c %a "$f"))"
	echo "secret kept in $f (mode $(stat -c %a "$f"))"
done <"$WORK/secret-files"
echo "ok: secret out of the registry, only in the service's private files"

say "records queued while the server is down survive the upgrade"
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
/usr/bin/python3 -c "
import json, time
now = int(time.time())
for i in range(40):
    print(json.dumps({'type': 'usage', 'time': now, 'data': {
        'product': 'oracle', 'exe': '/o/%d' % i, 'start': now - 300,
        'end': now - 200}}))" >"$WORK/lines"
wrun "$exe_win" enqueue 1 <"$WORK/lines" >"$WORK/printed" 2>"$WORK/enq.err" ||
	fail "enqueue with the installed agent failed: $(cat "$WORK/enq.err")"
n=$(tr -d '\r' <"$WORK/printed" | grep -c '^[0-9]' || true)
expect_eq "records queued" "$n" 40
head -n "$n" "$WORK/lines" | /usr/bin/python3 -c "
import json, sys
for l in sys.stdin: print(json.loads(l)['data']['exe'])" >"$WORK/acked"

say "upgrade: msiexec /i $(basename "$MSI2") /qn"
t0=$(date +%s)
wrun msiexec /i "$(winpath "$MSI2")" /qn >"$WORK/msiexec2.out" 2>&1 ||
	fail "upgrade failed: $(cat "$WORK/msiexec2.out")"
echo "upgraded in $(($(date +%s) - t0)) s"
# One mutu product registered, at 0.1.1.
wrun reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall' /s \
	2>/dev/null | tr -d '\r' >"$WORK/arp.txt"
versions=$(/usr/bin/python3 -c "
import re, sys
out, cur = [], {}
for line in open(sys.argv[1], encoding='latin-1'):
    line = line.rstrip('\n')
    if line.startswith('HKEY_'):
        cur = {}
        out.append(cur)
    m = re.match(r'\s+(\S+)\s+REG_\w+\s*(.*)', line)
    if m:
        cur[m.group(1)] = m.group(2)
print(' '.join(sorted(d.get('DisplayVersion', '?') for d in out
                      if 'mutu' in d.get('DisplayName', '').lower())))" "$WORK/arp.txt")
expect_eq "mutu versions registered after the upgrade" "$versions" 0.1.1
[ -f "$exe_lin" ] || fail "$exe_win gone after the upgrade"
wrun "$exe_win" --version 2>/dev/null | tr -d '\r' | grep -q "0\.1\.1" ||
	fail "the installed agent is not 0.1.1: $(wrun "$exe_win" --version 2>&1)"
wait_for 30 sh -c "wine sc query $SVC 2>/dev/null | grep -q RUNNING" ||
	fail "service not running after the upgrade: $(wrun sc query $SVC 2>&1)"
grep -q "sync_interval = 1" "$CONF" || fail "the upgrade rewrote the configuration"
start_tls_server "127.0.0.1:$PORT"
arrived() {
	[ "$(sdb "SELECT count(DISTINCT exe) FROM usage WHERE exe LIKE '/o/%'")" -eq 40 ]
}
wait_for 60 arrived || fail "queued records did not arrive after the upgrade: $(sdb "SELECT count(*) FROM usage")"
/usr/bin/python3 tests/tools/oracle.py "$WORK/acked" "$SDB" "upgrade" || fail "oracle (upgrade)"
expect_eq "agents after the upgrade" "$(sdb 'SELECT count(*) FROM agents')" 1
expect_eq "agent id after the upgrade" "$(sdb 'SELECT agent_id FROM agents')" "$AID"

say "uninstall: msiexec /x"
t0=$(date +%s)
wrun msiexec /x "$(winpath "$MSI2")" /qn >"$WORK/msiexec3.out" 2>&1 ||
	fail "uninstall failed: $(cat "$WORK/msiexec3.out")"
echo "uninstalled in $(($(date +%s) - t0)) s"
expect_eq "service after uninstall" "$(svc_state $SVC)" absent
left=$(find "$DRIVE_C/Program Files" "$DRIVE_C/Program Files (x86)" -iname '*mutu*' 2>/dev/null || true)
[ -z "$left" ] || fail "left in Program Files: $left"
echo "ok: no service, nothing in Program Files"
echo "done in $(elapsed) s"
