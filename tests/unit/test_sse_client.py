"""One SSE connection as the hub drives it (server/live/sse.py), over a real loopback socket:
the frames a spectator's browser parses, replay then live with no gap or duplicate, and the
bounded buffer that drops a client who stops reading instead of holding memory for it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from server.live import sse
from server.live.sse import PING, SseClient, control_frame, frame
from server.live.streams import StreamMessage, parse_id
from tests.sse_peer import Connection, Peer, connected
from tests.support import eventually

EVENT = 7


def message(seq: int, kind: str = "score", data: str = '{"home_score":1}') -> StreamMessage:
    return StreamMessage(EVENT, f"1700000000000-{seq}", kind, data)


@pytest.fixture
async def pair() -> AsyncIterator[tuple[Connection, Peer]]:
    connection, peer = await connected()
    yield connection, peer
    connection.stream.close()
    peer.close()


def live_client(connection: Connection, buffer_bytes: int = 1 << 20, **kw: bool) -> SseClient:
    client = SseClient(
        connection, EVENT, "127.0.0.1", buffer_bytes, chunked=kw.get("chunked", False)
    )  # type: ignore[arg-type]
    client.go_live()
    return client


# --- framing ---------------------------------------------------------------------------------


def test_a_message_frame_carries_id_event_and_data() -> None:
    assert frame(message(3)) == b'id: 1700000000000-3\nevent: score\ndata: {"home_score":1}\n\n'


def test_a_standings_frame_says_which_id_it_is_current_to() -> None:
    table = message(4, "standings", '{"version":2,"rows":[]}')
    data = frame(table).decode().split("data: ", 1)[1].rstrip("\n")
    assert json.loads(data) == {"version": 2, "rows": [], "last_event_id": "1700000000000-4"}


def test_control_frames_have_no_id_and_may_set_retry() -> None:
    assert control_frame("reset", '{"reason":"history_expired"}') == (
        b'event: reset\ndata: {"reason":"history_expired"}\n\n'
    )
    assert (
        control_frame("reconnect", retry_ms=1500) == b"retry: 1500\nevent: reconnect\ndata: {}\n\n"
    )
    assert PING == b": ping\n\n"  # a comment: EventSource ignores it, proxies see traffic


async def test_frames_reach_the_peer_in_order(pair: tuple[Connection, Peer]) -> None:
    connection, peer = pair
    client = live_client(connection)
    sent = [client.deliver(message(n), frame(message(n))) for n in range(1, 4)]
    assert sent == [True, True, True]
    assert await peer.frames(3) == [frame(message(n)) for n in range(1, 4)]
    assert client.sent == 3


async def test_http11_streams_are_chunk_framed(pair: tuple[Connection, Peer]) -> None:
    connection, peer = pair
    client = live_client(connection, chunked=True)
    data = frame(message(1))
    client.deliver(message(1), data)
    assert await peer.read_until(data + b"\r\n") == b"%x\r\n%b\r\n" % (len(data), data)


# --- replay, then live ------------------------------------------------------------------------


async def test_live_messages_wait_behind_the_replay_and_none_comes_twice(
    pair: tuple[Connection, Peer],
) -> None:
    connection, peer = pair
    client = SseClient(connection, EVENT, "127.0.0.1", 1 << 20, chunked=False)  # type: ignore[arg-type]
    client.last_sent = parse_id(message(1).id)  # the spectator's Last-Event-ID
    # While history is read, the hub already delivers live messages: held, not written.
    assert not client.deliver(message(3), frame(message(3)))
    assert not client.deliver(message(4), frame(message(4)))
    client.replay([message(n) for n in (1, 2, 3)])  # 1 was seen; 3 is also held
    assert client.go_live() == 1  # only 4 is new
    assert await peer.frames(3) == [frame(message(n)) for n in (2, 3, 4)]
    assert not client.deliver(message(4), frame(message(4)))  # a late duplicate: dropped
    assert client.deliver(message(5), frame(message(5)))
    assert await peer.frames(1) == [frame(message(5))]


async def test_too_many_held_while_replaying_drops_the_client(
    pair: tuple[Connection, Peer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sse, "MAX_PENDING", 3)
    connection, peer = pair
    client = SseClient(connection, EVENT, "127.0.0.1", 1 << 20, chunked=False)  # type: ignore[arg-type]
    for n in range(1, 5):
        client.deliver(message(n), frame(message(n)))
    assert client.closed.done() and client.closed.result() == "slow"
    assert await peer.closed() == b""  # dropped: it resumes elsewhere with Last-Event-ID


# --- a client who stops reading ----------------------------------------------------------------


async def test_a_client_who_stops_reading_is_dropped_when_its_buffer_fills() -> None:
    connection, peer = await connected(send_buffer=4096)
    try:
        client = live_client(connection, buffer_bytes=16 * 1024)
        big = "x" * 2000
        written = 0
        for n in range(1, 1000):  # ~2 MB: far past the kernel buffers and the 16 KiB of ours
            if not client.deliver(message(n, data=f'"{big}"'), frame(message(n, data=f'"{big}"'))):
                break
            written += 1
        assert client.closed.done() and client.closed.result() == "slow"
        assert 0 < written < 999
        assert connection.stream.closed()
        assert not client.write(PING)  # nothing more is attempted
        # What was accepted before the drop still arrives, whole frames first; then the end.
        received = await peer.closed()
        assert received.startswith(frame(message(1, data=f'"{big}"')))
    finally:
        peer.close()


async def test_a_client_who_left_is_closed_on_the_next_write(
    pair: tuple[Connection, Peer],
) -> None:
    connection, peer = pair
    client = live_client(connection)
    peer.close()

    async def noticed() -> bool:  # the first writes may still land in the kernel's buffer
        client.write(PING)
        return client.closed.done()

    await eventually(noticed, timeout=5)
    assert client.closed.result() == "client_closed"
    assert not client.deliver(message(99), frame(message(99)))
