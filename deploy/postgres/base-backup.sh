#!/bin/sh
# A base backup for point-in-time recovery: pg_basebackup as tar files (compressed), with the
# WAL it needs to be consistent, into BACKUP_ROOT/base-<UTC time>/. Keeps the newest KEEP base
# backups and removes the archived WAL older than the oldest one kept (pg_archivecleanup).
# Run it daily (cron, a Kubernetes CronJob) as a role with REPLICATION:
#   base-backup.sh 'postgresql://replicator@primary:5432/postgres' /backups /var/lib/postgresql/wal-archive 7
set -eu
url="$1"
root="$2"
archive="$3"
keep="${4:-7}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
target="$root/base-$stamp"
mkdir -p "$root"
pg_basebackup --dbname="$url" --pgdata="$target.partial" --format=tar --gzip \
    --wal-method=stream --checkpoint=fast --label="matchday-$stamp" --no-password
mv "$target.partial" "$target"
# Retention: the newest $keep base backups; WAL older than the oldest kept is not needed.
find "$root" -mindepth 1 -maxdepth 1 -name 'base-*Z' | sort | head -n "-$keep" | while read -r old; do
    rm -rf "$old"
done
oldest="$(find "$root" -mindepth 1 -maxdepth 1 -name 'base-*Z' | sort | head -n 1)"
# The oldest kept backup's first WAL segment, from its backup_label.
start_wal="$(tar -xzOf "$oldest/base.tar.gz" backup_label 2>/dev/null | sed -n 's/^START WAL LOCATION: .* (file \(.*\))$/\1/p')"
if [ -n "$start_wal" ] && [ -d "$archive" ]; then
    pg_archivecleanup "$archive" "$start_wal"
fi
echo "$target"
