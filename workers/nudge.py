"""How a task tells the outbox relays that it committed entries for them to publish.

The relay (server) is the one publisher of live events: a task only stores its outbox entry
in the transaction of its change, then nudges. A lost nudge costs latency, never an event:
the relays also sweep the outbox periodically.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis

from config.redis_clients import redis_from_url
from models.stream_protocol import outbox_nudge_channel

log = logging.getLogger("matchday.nudge")

# (league event id) -> None; called after the commit, never raises
Nudge = Callable[[int], None]


class RedisNudge:
    """Production: a PUBLISH on the nudge channel reaches every server process's relay."""

    def __init__(self, url: str, *, prefix: str) -> None:
        self._client = redis_from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._channel = outbox_nudge_channel(prefix)

    def __call__(self, event_id: int) -> None:
        try:
            self._client.publish(self._channel, str(event_id))
        except redis.RedisError as exc:  # the relays' sweep publishes the entry instead
            log.warning("outbox nudge lost (the relay's sweep will publish): %s", exc)

    def close(self) -> None:
        self._client.close()


def no_nudge(_event_id: int) -> None:
    """For commands that run with no server (demo): a server's relay publishes at start."""
