"""The read cache's rules (server/reads/cache.py): bounded, and never keeps what a load read
before a change it was told of."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from server.reads.cache import PARTS_PER_EVENT, EventEntry, ReadCache, encode


def _entry(token: str | None = "t") -> EventEntry:
    return EventEntry(token, 1, "public", frozenset(), encode({"id": 1}, public=True))


def test_the_least_recently_read_event_goes_first() -> None:
    cache = ReadCache(max_events=2, max_age=60)
    for event_id in (1, 2):
        assert cache.store_event(event_id, _entry(), cache.begin())
    assert cache.event(1, "t") is not None  # 1 is now the most recent
    cache.store_event(3, _entry(), cache.begin())
    assert [cache.wants(event_id) for event_id in (1, 2, 3)] == [True, False, True]
    assert len(cache) == 2


def test_an_entry_is_served_only_under_its_own_token_and_age() -> None:
    cache = ReadCache(max_events=4, max_age=60)
    cache.store_event(1, _entry("a"), cache.begin())
    assert cache.event(1, "a") is not None
    assert cache.event(1, "b") is None
    assert cache.event(1, None) is None
    stale = ReadCache(max_events=4, max_age=0.0)
    stale.store_event(1, _entry("a"), stale.begin())
    assert stale.event(1, "a") is None


def test_a_load_that_began_before_a_forget_is_not_kept() -> None:
    cache = ReadCache(max_events=4, max_age=60)
    began = cache.begin()
    cache.forget(1)  # a commit landed while the load read the database
    assert not cache.store_event(1, _entry(), began)
    assert cache.store_event(2, _entry(), began), "other events are not affected"
    after = cache.begin()
    assert cache.store_event(1, _entry(), after), "a load begun after the forget is kept"


def test_a_page_loaded_before_a_forget_does_not_join_the_new_entry() -> None:
    cache = ReadCache(max_events=4, max_age=60)
    entry = _entry()
    cache.store_event(1, entry, cache.begin())
    began = cache.begin()
    assert cache.holds(1, entry, began)
    cache.forget(1)
    assert not cache.holds(1, entry, began)


def test_query_variants_per_event_are_bounded() -> None:
    entry = _entry()
    for page in range(PARTS_PER_EVENT * 3):
        entry.games.put((page, 50), encode({"page": page}, public=True))
    assert len(entry.games) == PARTS_PER_EVENT
    assert entry.games.get((0, 50)) is None
    assert entry.games.get((PARTS_PER_EVENT * 3 - 1, 50)) is not None


def test_a_changed_event_row_drops_the_public_list() -> None:
    cache = ReadCache(max_events=4, max_age=60)
    listing = cache.public_list("t")
    began = cache.begin()
    cache.forget(1)  # a game: the list is unaffected
    assert cache.list_holds(listing, began)
    cache.forget(1, listing=True)
    assert not cache.list_holds(listing, began)
    assert cache.public_list("t") is not listing


def test_a_disabled_cache_keeps_nothing() -> None:
    cache = ReadCache(max_events=0, max_age=60)
    assert not cache.store_event(1, _entry(), cache.begin())
    assert not cache.list_holds(cache.public_list("t"), cache.begin())


# Operations: ("load", event) begins a load; ("store", n) stores the n-th load begun;
# ("forget", event) reports a change of that event.
OPERATION = st.one_of(
    st.tuples(st.just("load"), st.integers(1, 3)),
    st.tuples(st.just("store"), st.integers(0, 20)),
    st.tuples(st.just("forget"), st.integers(1, 3)),
)


@settings(max_examples=400)
@given(st.lists(OPERATION, max_size=30), st.integers(1, 3))
def test_no_entry_read_before_a_change_is_ever_served(
    operations: list[tuple[str, int]], max_events: int
) -> None:
    """Whatever the interleaving (and however small the cache, whose bookkeeping of forgets
    is then cleared often), an entry is served only if no forget of its event came after the
    load that read it began."""
    cache = ReadCache(max_events=max_events, max_age=60, max_marks=2)
    loads: list[tuple[int, int, int]] = []  # (event, began, step)
    forgotten_at: dict[int, int] = {}  # event -> step of its last forget
    stored_from: dict[int, int] = {}  # event -> step its entry's load began
    for step, (kind, value) in enumerate(operations):
        if kind == "load":
            loads.append((value, cache.begin(), step))
        elif kind == "forget":
            cache.forget(value)
            forgotten_at[value] = step
            stored_from.pop(value, None)
        elif value < len(loads):
            event_id, began, began_step = loads[value]
            if cache.store_event(event_id, _entry(), began):
                stored_from[event_id] = began_step
        for event_id in (1, 2, 3):
            if cache.event(event_id, "t") is not None:
                assert forgotten_at.get(event_id, -1) < stored_from[event_id]
