#!/usr/bin/python3
"""oracle: compares what agents acknowledged with what the server holds.

    oracle.py ACKED_FILE SERVER_DB [LABEL]

SERVER_DB is the server's SQLite file, or a postgresql:// URI (read with
psql).

ACKED_FILE lists one marker per line: the exe of a usage record whose
enqueue returned (the record was durable at the agent). The server must
hold each exactly once: lost = acknowledged but absent, duplicates = held
more than once. Duplicates on the wire (batches the server recognised as
already stored) are read from its streams table: they prove the ambiguous
cases were exercised. Prints one line; exits 1 on any loss or duplicate.
"""
import sqlite3
import subprocess
import sys


def query(db, sql):
    """The rows of sql as tuples of strings (PostgreSQL) or values."""
    if db.startswith("postgresql://"):
        out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t",
                              "-d", db, "-c", sql], check=True,
                             capture_output=True, text=True).stdout
        return [tuple(l.split("\t")) for l in out.splitlines() if l]
    return sqlite3.connect(db).execute(sql).fetchall()


acked_file, db = sys.argv[1], sys.argv[2]
label = sys.argv[3] if len(sys.argv) > 3 else "oracle"
acked = [l.strip() for l in open(acked_file) if l.strip()]
held = {exe: int(n) for exe, n in query(
    db, "SELECT exe, count(*) FROM usage WHERE exe LIKE '/o/%' GROUP BY exe")}
wire = int(query(db, "SELECT coalesce(sum(dups), 0) FROM streams")[0][0])
lost = [m for m in acked if m not in held]
dups = sum(n - 1 for n in held.values() if n > 1)
print("%s: acknowledged %d, stored %d, lost %d, committed duplicates %d, "
      "duplicates on the wire %d" % (label, len(acked), len(held), len(lost),
                                     dups, wire))
if lost:
    print("lost, first ones:", lost[:10])
sys.exit(1 if lost or dups else 0)
