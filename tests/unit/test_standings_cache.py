"""The standings cache re-reads an expired visibility once, not once per request in flight."""

from __future__ import annotations

import time

from server.live.standings_cache import RECHECK_SECONDS, StandingsCache


def _table(version: int = 1) -> dict[str, object]:
    return {"event_id": 7, "version": version, "rows": []}


def test_one_request_rechecks_an_expired_visibility_while_the_others_are_served() -> None:
    cache = StandingsCache(visibility_ttl=0.0)
    cache.store(_table(), public=True)
    time.sleep(0.001)
    assert cache.get_public(7) is None, "the first request after expiry re-reads visibility"
    served = [cache.get_public(7) for _ in range(50)]
    assert all(entry is not None for entry in served), "the rest are not sent to the database"


def test_a_recheck_that_never_finished_is_tried_again() -> None:
    cache = StandingsCache(visibility_ttl=0.0)
    entry = cache.store(_table(), public=True)
    time.sleep(0.001)
    assert cache.get_public(7) is None
    entry.recheck_started -= RECHECK_SECONDS + 1  # that request failed long ago
    assert cache.get_public(7) is None


def test_a_finished_recheck_serves_from_the_cache_again_and_a_private_table_never() -> None:
    cache = StandingsCache(visibility_ttl=60.0)
    cache.store(_table(), public=True)
    assert cache.get_public(7) is not None
    cache.store(_table(2), public=False)  # the owner's read found it private
    assert cache.get_public(7) is None
    assert cache.get_public(7) is None
