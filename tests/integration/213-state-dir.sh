# The agent's private files (issue 16, Low items): a pre-existing state
# directory writable by group or world, or owned by another user, was used
# as is, and files in it were opened through symbolic links (a link
# planted there made the root agent overwrite a root file); and
# "mutu-agent enrol" wrote the enrolment secret into an existing 0644
# configuration before refusing it. Now the directory is checked before
# any file in it is used (exit 2, naming the directory and the problem),
# state files are never opened through a link (O_NOFOLLOW, temp files
# created anew, SQLITE_OPEN_NOFOLLOW and no link at -wal/-shm/-journal),
# and enrol checks the configuration's mode before writing a byte.
. tests/integration/lib.sh
[ "$(id -u)" = 0 ] || skip "needs root (directories owned by another user)"
start_server
bootstrap

# once NAME: the agent once; prints its exit status, stderr in $WORK/err.
once() {
	set +e
	agent_once "$1" >/dev/null 2>"$WORK/err"
	echo $?
	set -e
}

say "state directory writable by all users, by its group, owned by another user"
for mode in 0777 0770 0720; do
	mkdir -p "$WORK/s$mode"
	chmod "$mode" "$WORK/s$mode"
	agent_conf "s$mode" 29019
	expect_eq "mode $mode" "$(once "s$mode")" 2
	grep -q "state directory $WORK/s$mode: writable by" "$WORK/err" || fail "$(cat "$WORK/err")"
	[ ! -e "$WORK/s$mode/agent-id" ] || fail "mode $mode: agent-id written"
	[ ! -e "$WORK/s$mode/queue.db" ] || fail "mode $mode: queue opened"
done
mkdir "$WORK/theirs"
chmod 700 "$WORK/theirs"
chown 65534 "$WORK/theirs"
agent_conf theirs 29019
expect_eq "owned by uid 65534" "$(once theirs)" 2
grep -q "owned by uid 65534" "$WORK/err" || fail "$(cat "$WORK/err")"
echo "ok: refused before any file was used, with the reason"

say "links planted in the state directory are not followed"
echo "root's file" >"$WORK/victim"
chmod 600 "$WORK/victim"
mkdir -m 700 "$WORK/pc"
agent_conf pc 29019
ln -s "$WORK/victim" "$WORK/pc/token.tmp"
ln -s "$WORK/victim" "$WORK/pc/agent-id.tmp"
ln -s "$WORK/victim" "$WORK/pc/queue.db-wal"
expect_eq "queue.db-wal is a link" "$(once pc)" 1
grep -q "queue.db-wal: a symbolic link" "$WORK/err" || fail "$(cat "$WORK/err")"
expect_eq "victim after the -wal link" "$(cat "$WORK/victim")" "root's file"
rm "$WORK/pc/queue.db-wal"
ln -s "$WORK/victim" "$WORK/pc/queue.db-journal"
expect_eq "queue.db-journal is a link" "$(once pc)" 1
rm "$WORK/pc/queue.db-journal"
expect_eq "links at the temp files: replaced, not followed" "$(once pc)" 0
expect_eq "victim after the temp-file links" "$(cat "$WORK/victim")" "root's file"
[ ! -L "$WORK/pc/token" ] && [ -s "$WORK/pc/token" ] || fail "token not written"
# A link in place of the token or the identity: refused, not read.
mv "$WORK/pc/token" "$WORK/token.saved"
ln -s "$WORK/victim" "$WORK/pc/token"
expect_eq "token is a link" "$(once pc)" 0
grep -q "token: enrolling again: Too many levels of symbolic links" "$WORK/err" || fail "token link: $(cat "$WORK/err")"
[ ! -L "$WORK/pc/token" ] || fail "the token link is still there"
expect_eq "victim after the token link" "$(cat "$WORK/victim")" "root's file"
echo "ok: no write went through a link"

say "enrol refuses a configuration readable by all users before writing to it"
printf '%s\n' "$SECRET_29019" >"$WORK/secret"
chmod 600 "$WORK/secret"
printf 'state_dir = %s\nuser_ids = none\n' "$WORK/enrolled" >"$WORK/open.conf"
chmod 644 "$WORK/open.conf"
before=$(sha256sum <"$WORK/open.conf")
set +e
"$B/mutu-agent" -c "$WORK/open.conf" enrol --server "$URL" --commune 29019 \
	--secret-file "$WORK/secret" 2>"$WORK/err"
rc=$?
set -e
expect_eq "enrol into a 0644 configuration" "$rc" 2
grep -q "accessible to all users (mode 0644)" "$WORK/err" || fail "$(cat "$WORK/err")"
expect_eq "configuration unchanged" "$(sha256sum <"$WORK/open.conf")" "$before"
grep -q "$SECRET_29019" "$WORK/open.conf" && fail "the secret was written"
chmod 600 "$WORK/open.conf"
"$B/mutu-agent" -c "$WORK/open.conf" enrol --server "$URL" --commune 29019 \
	--secret-file "$WORK/secret" >/dev/null 2>"$WORK/err" || fail "enrol 0600: $(cat "$WORK/err")"
echo "ok: the secret was written only once the file was private"

say "root enrols into the service user's directory (owned by another user)"
mkdir -m 700 "$WORK/svc"
chown 65534:65534 "$WORK/svc"
printf 'state_dir = %s\nuser_ids = none\n' "$WORK/svc" >"$WORK/svc.conf"
chmod 600 "$WORK/svc.conf"
"$B/mutu-agent" -c "$WORK/svc.conf" enrol --server "$URL" --commune 29019 \
	--secret-file "$WORK/secret" >/dev/null 2>"$WORK/err" || fail "enrol: $(cat "$WORK/err")"
expect_eq "token given to the directory's owner" "$(stat -c %u "$WORK/svc/token")" 65534
