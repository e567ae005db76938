#!/bin/sh
# The daily logical backup (cron / a Kubernetes CronJob with the application's image and
# settings): a pg_dump custom-format file under BACKUP_DIR, the newest KEEP kept.
#   0 3 * * *  BACKUP_DIR=/backups/dumps KEEP=14 /app/deploy/postgres/daily-dump.sh
# Restore one with `matchday restore FILE` into an empty database (docs/operations.md).
set -eu
exec matchday backup --dir "${BACKUP_DIR:?set BACKUP_DIR}" --keep "${KEEP:-14}"
