# The software list the server holds for this machine equals what dpkg
# reports installed, name for name and version for version.
. tests/integration/lib.sh
start_server
bootstrap
agent_conf pc 29019
agent_once pc || fail "agent --once failed"
id=$(cat "$WORK/pc/agent-id")

ctl --format json inventory "$id" >"$WORK/inv.json"
json '"\n".join(sorted(s["name"]+" "+s["version"]+" "+s["arch"] for s in j["software"]))' \
	<"$WORK/inv.json" >"$WORK/server.txt"
dpkg-query -W -f '${db:Status-Status} ${Package} ${Version} ${Architecture}\n' |
	awk '$1 == "installed" { print $2, $3, $4 }' | LC_ALL=C sort >"$WORK/dpkg.txt"
LC_ALL=C sort -o "$WORK/server.txt" "$WORK/server.txt"
diff -u "$WORK/dpkg.txt" "$WORK/server.txt" || fail "software lists differ"
expect_eq "software count" "$(wc -l <"$WORK/server.txt")" "$(wc -l <"$WORK/dpkg.txt")"

# The machine is listed under its commune, with its host name and OS.
expect_eq "hostname" "$(json 'j["hostname"]' <"$WORK/inv.json")" "$(hostname)"
expect_eq "commune" "$(json 'j["commune"]' <"$WORK/inv.json")" "29019"
os=$(. /etc/os-release && echo "$PRETTY_NAME")
expect_eq "os" "$(json 'j["os"]' <"$WORK/inv.json")" "$os"
expect_eq "GLPI document kept" \
	"$(json 'len(j["inventory"]["content"]["softwares"])' <"$WORK/inv.json")" \
	"$(wc -l <"$WORK/dpkg.txt")"
# Same lookup by host name, and table output.
ctl inventory "$(hostname)" | head -n 3
# Nothing is left in the agent's queue once acknowledged.
expect_eq "queue after sync" "$(queued pc)" 0
