#!/bin/sh
# Point-in-time recovery into a NEW data directory (never over the broken one):
#   restore-pitr.sh /backups/base-20261203T020000Z /var/lib/postgresql/wal-archive \
#       /var/lib/postgresql/15/restored '2026-12-03 09:41:00+00'
# Unpacks the base backup, tells PostgreSQL to replay archived WAL up to TARGET_TIME (the
# last transaction committed before it is the last one kept) and then promote. Start a
# server on the directory (pg_ctl -D ... start); it recovers, promotes and accepts writes.
# Leave TARGET_TIME empty to replay everything archived (a lost server, not a bad write).
set -eu
base="$1"
archive="$2"
target="$3"
target_time="${4:-}"
if [ -e "$target" ] && [ -n "$(ls -A "$target" 2>/dev/null)" ]; then
    echo "restore-pitr: $target is not empty" >&2
    exit 1
fi
mkdir -p "$target"
chmod 700 "$target"
tar -xzf "$base/base.tar.gz" -C "$target"
mkdir -p "$target/pg_wal"
tar -xzf "$base/pg_wal.tar.gz" -C "$target/pg_wal"
{
    echo "restore_command = 'cp \"$archive/%f\" \"%p\"'"
    if [ -n "$target_time" ]; then
        echo "recovery_target_time = '$target_time'"
        echo "recovery_target_inclusive = true"
    fi
    echo "recovery_target_action = 'promote'"
    # the restored server must not archive into the archive of the server it replaces
    echo "archive_mode = off"
} >> "$target/postgresql.auto.conf"
touch "$target/recovery.signal"
echo "$target"
