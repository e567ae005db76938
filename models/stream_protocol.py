"""The live-stream protocol shared by the server and the workers: Redis key names, stream
ids and the publish-once script.

Ids are Redis stream ids, ``<milliseconds>-<sequence>``: monotonic, comparable, and they
say when an event was published. The outbox relay (server) is the one publisher; a worker
that stores an outbox entry only nudges the relays on ``outbox_nudge_channel``.
"""

from __future__ import annotations

import re

STREAM_ID = re.compile(r"^([0-9]{1,20})-([0-9]{1,20})$")
DEDUPE_TTL_SECONDS = 7 * 24 * 3600

# Publish once per dedupe key: the check, the XADD and the marker are one atomic step, so a
# relay that retries after a crash between XADD and deleting its outbox row adds nothing,
# and two relays (two server processes) never publish one entry twice.
# The entry that creates the stream carries CREATED_FIELD: a reader that already followed an
# earlier stream under that key (Redis lost its data since) knows ids before it are gone.
PUBLISH_ONCE = """
if KEYS[2] ~= '' and redis.call('EXISTS', KEYS[2]) == 1 then return false end
local fields = {'kind', ARGV[2], 'data', ARGV[3]}
if redis.call('EXISTS', KEYS[1]) == 0 then
  fields[#fields + 1] = 'created'
  fields[#fields + 1] = '1'
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
if KEYS[2] ~= '' then redis.call('SET', KEYS[2], id, 'EX', ARGV[4]) end
return id
"""
CREATED_FIELD = "created"


def parse_id(value: str) -> tuple[int, int]:
    match = STREAM_ID.match(value)
    if not match:
        raise ValueError(f"not a stream id: {value!r}")
    return int(match.group(1)), int(match.group(2))


def is_valid_id(value: str) -> bool:
    return STREAM_ID.match(value) is not None


def stream_key(prefix: str, event_id: int) -> str:
    """The Redis stream of one league event's live events."""
    return f"{prefix}stream:{event_id}"


def dedupe_marker_key(prefix: str, dedupe_key: str) -> str:
    return f"{prefix}published:{dedupe_key}"


def access_changed_channel(prefix: str) -> str:
    """Pub/sub channel on which a serve process says that someone's access changed (sign-out,
    password, role): every process forgets the bearer tokens it remembers."""
    return f"{prefix}auth:changed"


def outbox_nudge_channel(prefix: str) -> str:
    """Pub/sub channel on which a worker tells the relays that it committed outbox entries."""
    return f"{prefix}outbox:nudge"
