# Shared helpers of the Windows agent's tests, run under wine: a private
# wine prefix per test (Windows 10, headless), the cross-built agent
# (build/win/mutu-agent.exe) and the real mutu-server on 127.0.0.1 through
# tests/integration/lib.sh (start_server, bootstrap, sdb, wait_for, ...).
# A test exits 0 (pass), 77 (skip, with a reason on its last line) or
# other (fail). Cleanup stops only this test's wine prefix (wineserver -k
# with its WINEPREFIX) and processes, and removes only its own directory.
#
# Names: WIN_BUILD (build/win), EXE (the agent), PFX (the prefix), DRIVE_C
# (its C: drive as a Linux path), KEEPALIVE (pid of a program kept running
# so that wine does not stop the prefix's services), SLEEPER (winsleep.exe
# built here, tests/tools/winsleep.c).

WIN_BUILD=${WIN_BUILD:-build/win}
# Checked before integration/lib.sh creates anything.
[ -f "$WIN_BUILD/mutu-agent.exe" ] || {
	echo "$WIN_BUILD/mutu-agent.exe not built (make windows)"; exit 77; }
for tool in wine wineboot wineserver x86_64-w64-mingw32-gcc; do
	command -v "$tool" >/dev/null 2>&1 || { echo "$tool not installed"; exit 77; }
done
MUTU_BACKEND=sqlite
. tests/integration/lib.sh
WB=$(cd "$WIN_BUILD" && pwd)
EXE=$WB/mutu-agent.exe
PFX=$WORK/pfx
DRIVE_C=$PFX/drive_c
KEEPALIVE=""
export WINEPREFIX="$PFX" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
# Headless: no window may open (no Mono or Gecko installer either).
unset DISPLAY WAYLAND_DISPLAY
# wine passes the environment on: no proxy but the tests' own.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY \
	no_proxy NO_PROXY
# The Windows queue is SQLite: read with the Linux sqlite3 only while no
# agent has it open (wine's file locks are not POSIX locks).

win_cleanup() {
	rc=$?
	[ -z "$KEEPALIVE" ] || kill -9 "$KEEPALIVE" 2>/dev/null || true
	if [ -d "$PFX" ]; then
		timeout 30 wineserver -k 2>/dev/null || true
		timeout 30 wineserver -w 2>/dev/null || true
	fi
	cleanup
	exit "$rc"
}
trap win_cleanup EXIT

# winpath LINUX_PATH: the same file as wine sees it (drive Z: is /).
winpath() { printf 'Z:%s\n' "$1" | tr / '\\'; }

# wrun PROGRAM [ARGS...]: a Windows program under wine, at most 120 s.
wrun() { timeout 120 wine "$@"; }

# agent [ARGS...]: the cross-built agent in the foreground.
agent() { timeout 120 wine "$EXE" "$@"; }

# agent_once OUT ARGS...: the agent run once (agent ARGS --once), its
# output in OUT; its status. Wine 8.0's chain check once answered
# CERT_TRUST_IS_NOT_SIGNATURE_VALID (error mask 0x00000008) for a valid
# chain, once in 3 full make check runs (not in 16 enrolments with fresh
# certificates nor in 7 runs of 050-tls-proxy.sh alone);
# Windows checks signatures deterministically. On exactly that error the
# run is tried once more, said in OUT; the agent in service would retry at
# its next sync all the same. Any other failure, a rogue certificate
# (PARTIAL_CHAIN) included, is the run's answer.
agent_once() {
	_out=$1
	shift
	agent "$@" --once >"$_out" 2>&1 && return 0
	grep -q 'CertGetCertificateChain error mask: 0x00000008' "$_out" || return 1
	echo "--- wine: NOT_SIGNATURE_VALID on a valid chain; tried again" >>"$_out"
	echo "note: wine's spurious NOT_SIGNATURE_VALID; the run tried again" >&2
	agent "$@" --once >>"$_out" 2>&1
}

# win_init [services]: the prefix (wineboot, 3-7 s), reported as Windows
# 10, and the keep-alive program. Files wine creates get the Unix umask
# as their ACL (other bits = Everyone): 077, or the agent refuses its own
# files. With "services" (tests that install the service): wineboot's
# wineserver is let go first (a second services.exe could race with
# sc/net right after wineboot), and the keep-alive, being the prefix's
# first process, carries WINEDEBUG for the service's Event Log lines
# (ReportEventW under wine) into $WORK/svc.log. Prints what it took.
win_init() {
	t0=$(date +%s)
	umask 077
	mkdir -p "$PFX"
	timeout 120 wineboot -i >"$WORK/wineboot.log" 2>&1 ||
		fail "wineboot: $(tail -n 5 "$WORK/wineboot.log")"
	# wineboot returns before the prefix's first-run work has settled.
	timeout 60 wineserver -w
	# What winecfg -v win10 writes (it takes 14 s): the version wine
	# reports, and the keys a Windows 10 machine has.
	printf '%s\r\n' 'Windows Registry Editor Version 5.00' '' \
		'[HKEY_CURRENT_USER\Software\Wine]' '"Version"="win10"' '' \
		'[HKEY_LOCAL_MACHINE\Software\Microsoft\Windows NT\CurrentVersion]' \
		'"ProductName"="Microsoft Windows 10"' '"CurrentVersion"="10.0"' \
		'"CurrentBuild"="18362"' '"CurrentBuildNumber"="18362"' \
		'"CurrentMajorVersionNumber"=dword:0000000a' \
		'"CurrentMinorVersionNumber"=dword:00000000' '"CSDVersion"=""' \
		>"$WORK/win10.reg"
	reg_import "$WORK/win10.reg"
	x86_64-w64-mingw32-gcc -O2 -o "$WORK/winsleep.exe" tests/tools/winsleep.c ||
		fail "cannot build winsleep.exe"
	SLEEPER=$WORK/winsleep.exe
	if [ "${1:-}" = services ]; then
		timeout 30 wineserver -w
		WINEDEBUG=warn+eventlog,trace+eventlog,err+eventlog wine "$SLEEPER" \
			>/dev/null 2>>"$WORK/svc.log" &
	else
		wine "$SLEEPER" >/dev/null 2>&1 &
	fi
	KEEPALIVE=$!
	ver=$(wrun cmd /c ver 2>/dev/null | tr -d '\r' | grep -o '[0-9][0-9.]*' | head -n 1)
	case $ver in 10.*) ;; *) fail "wine reports Windows '$ver', not 10" ;; esac
	echo "ok: wine prefix ready, Windows $ver, in $(($(date +%s) - t0)) s"
}

# build_sleeper OUT.exe PRODUCT COMPANY: winsleep.exe with a version
# resource naming PRODUCT by COMPANY.
build_sleeper() {
	x86_64-w64-mingw32-windres "-DPRODUCT=\\\"$2\\\"" "-DCOMPANY=\\\"$3\\\"" \
		-O coff -o "$WORK/ver.o" tests/tools/winsleep.rc &&
		x86_64-w64-mingw32-gcc -O2 -o "$1" tests/tools/winsleep.c "$WORK/ver.o" ||
		fail "cannot build $1"
}

# reg_import FILE: a .reg file (UTF-16 or ASCII) into the prefix.
# Tried twice: a prefix fresh from wineboot once refused the first import
# (in a full make check, never alone); the second try follows a wait for
# the wineserver to be idle. Wine's own words go to the failure message.
reg_import() {
	_rf=$(winpath "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")")
	wrun reg import "$_rf" >"$WORK/reg.log" 2>&1 && return 0
	timeout 30 wineserver -w
	wrun reg import "$_rf" >"$WORK/reg.log" 2>&1 ||
		fail "reg import $1: $(tr -d '\r' <"$WORK/reg.log" | tail -n 3)"
}

# reg_has KEY [VALUE]: the key (and value) exists in the 64-bit view.
reg_has() {
	if [ $# -gt 1 ]; then
		wrun reg query "$1" /v "$2" >/dev/null 2>&1
	else
		wrun reg query "$1" >/dev/null 2>&1
	fi
}

# start_tls_server: mutu-server over HTTPS on loopback with a private CA
# ($WORK/pki/ca.pem, certificate for "localhost": wine's Schannel does
# not match IP addresses); URL is https://localhost:PORT.
start_tls_server() {
	[ -d "$WORK/pki" ] || "$B/mutu-server" tls-init "$WORK/pki" localhost >/dev/null
	rm -f "$WORK/port"
	conf=""
	[ -f "$WORK/server.conf" ] && conf="-c $WORK/server.conf"
	# shellcheck disable=SC2086
	"$B/mutu-server" $conf $DB_ARGS -d -v -l "${1:-127.0.0.1:0}" \
		--port-file "$WORK/port" --tls-cert "$WORK/pki/server.pem" \
		--tls-key "$WORK/pki/server.key" >>"$WORK/server.log" 2>&1 &
	SERVER_PID=$!
	wait_for 10 test -s "$WORK/port" || fail "TLS server did not start: $(cat "$WORK/server.log")"
	PORT=$(cat "$WORK/port")
	URL="https://localhost:$PORT"
	CA_WIN=$(winpath "$WORK/pki/ca.pem")
}

# win_agent_conf NAME COMMUNE [LINES...]: $WORK/NAME.conf for the agent
# run by hand (not the service), state in $WORK/NAME, CA pinned when the
# server is TLS.
win_agent_conf() {
	name=$1 commune=$2
	shift 2
	eval "secret=\$SECRET_$commune"
	mkdir -p "$WORK/$name"
	# printf, not echo: dash's echo reads the backslashes of C:\... paths.
	{
		printf 'server = %s\n' "$URL"
		printf 'commune = %s\n' "$commune"
		printf 'enrol_secret = %s\n' "$secret"
		printf 'state_dir = %s\n' "$(winpath "$WORK/$name")"
		printf 'user_key = windows-test-key-%s\n' "$commune"
		case $URL in https:*) printf 'ca_file = %s\n' "$CA_WIN" ;; esac
		for line in "$@"; do printf '%s\n' "$line"; done
	} >"$WORK/$name.conf"
	chmod 600 "$WORK/$name.conf"
	WCONF=$(winpath "$WORK/$name.conf")
}

# win_start_agent NAME: the agent in the foreground mode (-d), in the
# background; its pid (the wine process) in LAST_AGENT.
win_start_agent() {
	wine "$EXE" -c "$(winpath "$WORK/$1.conf")" -d -v >>"$WORK/$1.log" 2>&1 &
	LAST_AGENT=$!
	AGENT_PIDS="$AGENT_PIDS $LAST_AGENT"
}

# win_stop_agent: ends $LAST_AGENT the way a service stop would not
# (kill -9 of the wine process: no clean-up code runs).
win_kill_agent() {
	kill -9 "$LAST_AGENT" 2>/dev/null || true
	wait "$LAST_AGENT" 2>/dev/null || true
}

# svc_state NAME: RUNNING, STOPPED, ... or "absent".
svc_state() {
	out=$(wrun sc query "$1" 2>/dev/null | tr -d '\r') || true
	st=$(echo "$out" | sed -n 's/.*STATE *: *[0-9]* *\([A-Z_]*\).*/\1/p')
	echo "${st:-absent}"
}

# win_queued DIR: records in the queue of the agent whose state is the
# Linux directory DIR (read while no agent runs).
win_queued() { sqlite3 "$1/queue.db" "SELECT count(*) FROM records"; }

# machine_of HOSTNAME: the server's agent id for that host name.
hostname_win() { wrun hostname 2>/dev/null | tr -d '\r'; }

# elapsed: seconds since the test started (for the timing lines).
T_START=$(date +%s)
elapsed() { echo $(($(date +%s) - T_START)); }

