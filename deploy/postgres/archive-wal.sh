#!/bin/sh
# archive_command: copy one finished WAL segment into the archive directory.
#   archive_command = '/usr/local/bin/matchday-archive-wal %p %f /var/lib/postgresql/wal-archive'
# Never overwrites a segment already archived (PostgreSQL may retry after a crash: an identical
# copy is success, a different one is an error), and renames only a complete copy, so a restore
# never reads half a segment. Exit 0 only when the segment is safely on disk: PostgreSQL keeps
# the segment and retries otherwise. Ship the directory off the host (object storage sync,
# or make it a mounted remote volume).
set -eu
path="$1"      # %p: the segment, relative to the data directory
name="$2"      # %f: its file name
archive="$3"   # the archive directory
mkdir -p "$archive"
if [ -f "$archive/$name" ]; then
    cmp -s "$path" "$archive/$name" && exit 0
    echo "archive-wal: $archive/$name exists with other contents" >&2
    exit 1
fi
cp "$path" "$archive/$name.partial"
sync "$archive/$name.partial" 2>/dev/null || true
mv "$archive/$name.partial" "$archive/$name"
