#!/bin/sh
# A throwaway PostgreSQL cluster for the tests (Debian's postgresql
# package): listens only on a Unix socket in its own directory, trust
# authentication, roles mutu_owner (owns the test databases) and mutu_app
# (the server's role: no superuser, no BYPASSRLS, owns nothing).
#   pg.sh start DIR   prints "MUTU_PG_DIR=... MUTU_PG_SUPER=..." lines
#   pg.sh restart DIR (every connection is cut)
#   pg.sh stop DIR
set -eu
cmd=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "pg.sh: no PostgreSQL server (apt-get install postgresql)" >&2; exit 77; }
# PostgreSQL refuses to run as root: as root, the cluster is postgres's.
as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
super=$(if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi)
# Tests trade durability for speed; PG_BENCH=1 (make bench) keeps fsync and
# full page writes and only makes commits asynchronous, the durability of
# the SQLite server's WAL with synchronous=NORMAL.
if [ "${PG_BENCH:-}" ]; then
	opts="-c synchronous_commit=off -c shared_buffers=512MB -c max_wal_size=4GB"
else
	opts="-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=128MB"
fi
case $cmd in
start)
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	chmod 755 "$dir"
	as "$bin/initdb" -D "$dir/data" -U "$super" --auth=trust -E UTF8 \
		--locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 1; }
	as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses='' -k $dir $opts -c max_connections=200" \
		start >/dev/null
	psql -X -q -h "$dir" -U "$super" -d postgres -v ON_ERROR_STOP=1 <<-SQL
		CREATE ROLE mutu_owner LOGIN;
		CREATE ROLE mutu_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
	SQL
	echo "MUTU_PG_DIR=$dir"
	echo "MUTU_PG_SUPER=$super"
	;;
restart)
	as "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 restart >/dev/null
	;;
stop)
	[ -d "$dir/data" ] && as "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	;;
esac
