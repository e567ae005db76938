"""StreamHub (server/live/hub.py) over the in-process MemoryStreams, with real loopback sockets
as its clients: one event fanned out to many spectators, following and unfollowing streams,
resuming, the connection caps, heartbeats and the drain. Nothing here sleeps: each test waits
for what a spectator would see."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from server.live import hub as hub_module
from server.live.hub import HubFull, StreamHub, TooManyFromAddress
from server.live.memory_streams import MemoryStreams
from server.live.sse import PING, SseClient, control_frame, frame
from server.live.standings_cache import StandingsCache
from server.live.streams import StreamMessage
from tests.sse_peer import Peer, connected
from tests.support import eventually

EVENT, OTHER = 1, 2
RETRY_MS = 1500
MakeHub = Callable[..., Awaitable[StreamHub]]


class Spectators:
    """Opens clients on a hub the way the stream handler does: admit, subscribe, and on
    leaving unsubscribe; closes whatever is left at the end of the test."""

    def __init__(self) -> None:
        self.open: list[tuple[StreamHub, SseClient, Peer]] = []

    async def join(
        self,
        hub: StreamHub,
        event_id: int = EVENT,
        ip: str = "192.0.2.1",
        last_event_id: str | None = None,
        buffer_bytes: int = 1 << 20,
    ) -> tuple[SseClient, Peer]:
        hub.admit(ip)
        connection, peer = await connected()
        client = SseClient(connection, event_id, ip, buffer_bytes, chunked=False)  # type: ignore[arg-type]
        await hub.subscribe(client, last_event_id)
        self.open.append((hub, client, peer))
        return client, peer

    def leave(self, hub: StreamHub, client: SseClient, reason: str = "client_closed") -> None:
        client.close(reason)
        hub.unsubscribe(client, reason)

    def close(self) -> None:
        for hub, client, peer in self.open:
            self.leave(hub, client)
            client.stream.close()
            peer.close()


@pytest.fixture
async def spectators() -> AsyncIterator[Spectators]:
    crowd = Spectators()
    yield crowd
    crowd.close()


@pytest.fixture
async def make_hub() -> AsyncIterator[MakeHub]:
    """`await make_hub(**overrides)`: a started hub over fresh MemoryStreams; closed after."""
    hubs: list[StreamHub] = []

    async def make(**overrides: Any) -> StreamHub:
        options: dict[str, Any] = {
            "heartbeat_seconds": 60.0,
            "retry_ms": RETRY_MS,
            "max_connections": 1000,
            "max_per_ip": 1000,
        }
        options.update(overrides)
        history = options.pop("history", 100)
        hub = StreamHub(MemoryStreams(history), StandingsCache(visibility_ttl=60), **options)
        hub.start()
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        await hub.close()
        await hub.streams.close()


async def publish(hub: StreamHub, kind: str = "score", data: str = "{}", event_id: int = EVENT):
    message_id = await hub.streams.publish(event_id, kind, data)
    assert message_id is not None
    return StreamMessage(event_id, message_id, kind, data)


# --- fan-out ---------------------------------------------------------------------------------


async def test_one_event_reaches_every_spectator_of_its_stream_once_as_one_frame(
    make_hub: MakeHub, spectators: Spectators, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []

    def counting_frame(message: StreamMessage) -> bytes:
        built.append(message.id)
        return frame(message)

    monkeypatch.setattr(hub_module, "frame", counting_frame)
    hub = await make_hub()
    watching = [await spectators.join(hub, EVENT, ip=f"192.0.2.{n}") for n in range(40)]
    elsewhere = [await spectators.join(hub, OTHER) for _ in range(3)]

    score = await publish(hub, "score", '{"home_score":2}')
    other = await publish(hub, "game", '{"id":9}', event_id=OTHER)
    for _client, peer in watching:
        assert await peer.frames(1) == [frame(score)]
    for _client, peer in elsewhere:  # their first frame is their own stream's
        assert await peer.frames(1) == [frame(other)]
    assert built == [score.id, other.id]  # serialised once, whatever the audience
    assert sum(client.sent for client, _ in watching) == 40


async def test_spectators_who_left_get_nothing_and_the_rest_go_on(
    make_hub: MakeHub, spectators: Spectators
) -> None:
    hub = await make_hub()
    (_stays, stays_peer), (goes, _goes_peer) = [await spectators.join(hub) for _ in range(2)]
    spectators.leave(hub, goes)
    first = await publish(hub)
    assert await stays_peer.frames(1) == [frame(first)]
    assert goes.sent == 0
    assert hub.count == 1 and len(hub.clients[EVENT]) == 1


# --- follow and unfollow ---------------------------------------------------------------------


async def test_a_new_spectator_starts_at_the_newest_event(
    make_hub: MakeHub, spectators: Spectators
) -> None:
    hub = await make_hub()
    await publish(hub, data='{"old":1}')  # before anyone watched: not replayed
    _client, peer = await spectators.join(hub)
    new = await publish(hub, data='{"new":1}')
    assert await peer.frames(1) == [frame(new)]


async def test_the_hub_follows_a_stream_while_someone_watches_it(
    make_hub: MakeHub, spectators: Spectators
) -> None:
    hub = await make_hub()
    assert hub.positions == {}
    one, _ = await spectators.join(hub)
    two, _ = await spectators.join(hub)
    assert set(hub.positions) == {EVENT}
    spectators.leave(hub, one)
    assert set(hub.positions) == {EVENT}  # one spectator is still there
    spectators.leave(hub, two)
    assert hub.positions == {}  # nobody left: the reader stops reading that stream
    assert hub.count == 0 and dict(hub.per_ip) == {}

    # Back again: it follows anew, from the newest id, and delivers what comes next.
    await publish(hub)
    _three, peer = await spectators.join(hub)
    after = await publish(hub, data='{"after":1}')
    assert await peer.frames(1) == [frame(after)]


async def test_a_cached_table_keeps_its_stream_followed_and_fresh(
    make_hub: MakeHub, spectators: Spectators
) -> None:
    hub = await make_hub()
    hub.cache.store({"event_id": EVENT, "version": 1, "rows": []}, public=True)
    client, _ = await spectators.join(hub)
    spectators.leave(hub, client)
    assert set(hub.positions) == {EVENT}  # GET /standings still needs the newest table
    table = await publish(hub, "standings", '{"event_id":1,"version":2,"rows":[]}')

    async def applied() -> bool:
        cached = hub.cache.get(EVENT)
        return cached is not None and cached.payload["version"] == 2

    await eventually(applied, timeout=5)
    cached = hub.cache.get(EVENT)
    assert cached is not None and cached.payload["last_event_id"] == table.id


# --- resume ----------------------------------------------------------------------------------


async def test_last_event_id_replays_what_was_missed_then_goes_live(
    make_hub: MakeHub, spectators: Spectators
) -> None:
    hub = await make_hub()
    seen, *missed = [await publish(hub, data=f'{{"n":{n}}}') for n in range(4)]
    _client, peer = await spectators.join(hub, last_event_id=seen.id)
    live = await publish(hub, data='{"n":4}')
    assert await peer.frames(4) == [frame(m) for m in [*missed, live]]  # no gap, no duplicate


@pytest.mark.parametrize(
    ("last_event_id", "reason"), [("not-an-id", "invalid_id"), ("expired", "history_expired")]
)
async def test_an_unusable_last_event_id_gets_a_reset(
    make_hub: MakeHub, spectators: Spectators, last_event_id: str, reason: str
) -> None:
    hub = await make_hub(history=3)
    published = [await publish(hub, data=f'{{"n":{n}}}') for n in range(6)]
    if last_event_id == "expired":
        last_event_id = published[0].id  # trimmed from the 3 kept
    _client, peer = await spectators.join(hub, last_event_id=last_event_id)
    assert await peer.frames(1) == [control_frame("reset", f'{{"reason":"{reason}"}}')]
    live = await publish(hub)
    assert await peer.frames(1) == [frame(live)]  # and live from there


# --- caps ------------------------------------------------------------------------------------


async def test_caps_per_address_and_per_process_refuse_then_free_on_leave(
    make_hub: MakeHub, spectators: Spectators
) -> None:
    hub = await make_hub(max_connections=3, max_per_ip=2)
    first, _ = await spectators.join(hub, ip="192.0.2.1")
    await spectators.join(hub, ip="192.0.2.1")
    with pytest.raises(TooManyFromAddress):
        hub.admit("192.0.2.1")
    await spectators.join(hub, EVENT, ip="198.51.100.1")
    with pytest.raises(HubFull):
        hub.admit("198.51.100.2")  # a new address, but the process is full
    spectators.leave(hub, first)
    hub.admit("198.51.100.2")  # a slot is free again
    hub.admit("192.0.2.1")  # and that address has one left


# --- heartbeats ------------------------------------------------------------------------------


async def test_idle_spectators_get_heartbeats_and_those_who_left_none(
    make_hub: MakeHub, spectators: Spectators
) -> None:
    # The heartbeat loop wakes once a second; a 0.1 s interval pings at every wake-up.
    hub = await make_hub(heartbeat_seconds=0.1)
    _client, peer = await spectators.join(hub)
    gone, _ = await spectators.join(hub)
    spectators.leave(hub, gone)
    assert await peer.frames(2, timeout=5) == [PING, PING]  # and again: they keep coming
    assert gone.sent == 0  # no ping written to a stream that ended


# --- drain -----------------------------------------------------------------------------------


async def test_drain_tells_every_spectator_to_reconnect_and_waits_for_them_to_leave(
    make_hub: MakeHub, spectators: Spectators
) -> None:
    hub = await make_hub()
    crowd = [await spectators.join(hub, event_id) for event_id in (EVENT, EVENT, OTHER)]
    emptied = asyncio.create_task(hub.emptied())
    hub.drain()
    goodbye = control_frame("reconnect", '{"reason":"server_shutdown"}', retry_ms=RETRY_MS)
    for client, peer in crowd:
        assert await peer.frames(1) == [goodbye]
        assert client.closed.result() == "drain"
    assert not emptied.done()
    for client, _peer in crowd:  # each handler sees `closed` and unsubscribes
        hub.unsubscribe(client, "drain")
    await asyncio.wait_for(emptied, 5)
    assert hub.count == 0


# --- a stream begun anew -----------------------------------------------------------------------


async def test_a_stream_begun_anew_resets_only_the_spectators_who_followed_the_old_one(
    spectators: Spectators,
) -> None:
    """Redis lost its data and the relay began the stream again while this process's reader
    was still backing off. A spectator who resumed from the new stream's history meanwhile
    has everything: the reader's late news of the new stream must not reset it and send it
    all again. The one who watched the old stream is reset once, then gets the new one."""
    streams = MemoryStreams(100)
    hub = StreamHub(
        streams,
        StandingsCache(visibility_ttl=60),
        heartbeat_seconds=60.0,
        retry_ms=RETRY_MS,
        max_connections=100,
        max_per_ip=100,
    )  # not started: the test plays the reader's part, late, by hand
    old = await publish(hub)
    _watcher, watched_old = await spectators.join(hub)
    del streams._streams[EVENT]  # the wipe
    new = [await publish(hub, data=f'{{"n":{n}}}') for n in range(2)]
    _resumer, resumed = await spectators.join(hub, last_event_id="0-0")
    assert await resumed.frames(2) == [frame(m) for m in new]

    for message in await streams.read({EVENT: old.id}, 0):  # the reader, back from its backoff
        hub._dispatch(message)
    latest = await publish(hub, data='{"n":2}')
    for message in await streams.read({EVENT: new[-1].id}, 0):
        hub._dispatch(message)

    restarted = control_frame("reset", '{"reason":"stream_restarted"}')
    assert await watched_old.frames(4) == [restarted, *(frame(m) for m in [*new, latest])]
    assert await resumed.frames(1) == [frame(latest)]  # no reset, no second copy
