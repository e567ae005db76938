"""The unit of work: what a change implies is carried out once, after the commit, and not
at all when it rolls back — on both run modes (tests/conftest.py `live_app`)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from models import AuditEntry, Event, OutboxEntry, StandingsSnapshot, User
from server.app import MatchdayApp
from server.dispatch import DispatchUnavailable
from server.follow_ups import AppFollowUps
from server.services import audit
from server.unit_of_work import AuditContext, publish, publish_many, recompute, unit_of_work

CONTEXT = AuditContext(actor_id=None, request_id="req-uow-1", ip="127.0.0.1")


class Boom(Exception):
    pass


async def _event(app: MatchdayApp) -> int:
    async with unit_of_work(app.sessions, app.follow_ups, CONTEXT) as session:
        owner = User(email="owner@example.com", display_name="Owner", password_hash="x")
        session.add(owner)
        await session.flush()
        event = Event(
            owner_id=owner.id,
            name="Cup",
            scoring={"win": 3, "draw": 1, "loss": 0},
            tiebreakers=[],
        )
        session.add(event)
        await session.flush()
        return event.id


async def _count(app: MatchdayApp, model: type) -> int:
    async with app.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _stream_kinds(app: MatchdayApp, event_id: int) -> list[str]:
    return [message.kind for message in (await app.streams.history(event_id, "0-0")).messages]


async def test_a_commit_publishes_recomputes_and_audits_once(live_app: MatchdayApp) -> None:
    event_id = await _event(live_app)
    async with unit_of_work(live_app.sessions, live_app.follow_ups, CONTEXT) as session:
        publish(session, event_id, "game", {"id": 1})
        recompute(session, event_id)
        recompute(session, event_id)  # asked twice in one change: one recompute
        audit.record(session, "event.update", "event", event_id, {"new": {"x": 1}})
    await live_app.settled()
    # The `game` event, then the recompute's `standings`: in commit order, from the outbox.
    assert await _stream_kinds(live_app, event_id) == ["game", "standings"]
    assert await _count(live_app, OutboxEntry) == 0
    async with live_app.sessions() as session:
        snapshot = await session.get(StandingsSnapshot, event_id)
        assert snapshot is not None and snapshot.version == 1
        assert snapshot.last_event_id is not None  # the relay noted which message carried it

    async def audited() -> int:
        async with live_app.sessions() as session:
            rows = await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "event.update")
            )
            return len([row for row in rows if row.request_id == "req-uow-1"])

    assert await audited() == 1


async def test_a_rollback_carries_out_nothing(live_app: MatchdayApp) -> None:
    event_id = await _event(live_app)
    audits_before = await _count(live_app, AuditEntry)
    with pytest.raises(Boom):
        async with unit_of_work(live_app.sessions, live_app.follow_ups, CONTEXT) as session:
            publish(session, event_id, "score", {"id": 1})
            recompute(session, event_id)
            audit.record(session, "game.score", "game", 1)
            await session.flush()
            raise Boom()
    await live_app.settled()
    assert await _stream_kinds(live_app, event_id) == []
    assert await _count(live_app, OutboxEntry) == 0
    assert await _count(live_app, AuditEntry) == audits_before
    async with live_app.sessions() as session:
        assert await session.get(StandingsSnapshot, event_id) is None  # never recomputed


async def test_many_events_at_once_keep_their_order_among_single_ones(
    live_app: MatchdayApp,
) -> None:
    event_id = await _event(live_app)
    async with unit_of_work(live_app.sessions, live_app.follow_ups, CONTEXT) as session:
        publish(session, event_id, "game", {"n": 1})
        await publish_many(session, event_id, "game", [f'{{"n":{n}}}' for n in range(2, 900)])
        publish(session, event_id, "game", {"n": 900})
    await live_app.settled()  # published without a sweep: the commit kicked the relay
    history = (await live_app.streams.history(event_id, "0-0")).messages
    assert [json.loads(message.data)["n"] for message in history] == list(range(1, 901))
    assert await _count(live_app, OutboxEntry) == 0

    with pytest.raises(Boom):
        async with unit_of_work(live_app.sessions, live_app.follow_ups, CONTEXT) as session:
            await publish_many(session, event_id, "game", ['{"n":0}'])
            raise Boom()
    await live_app.settled()
    assert await _count(live_app, OutboxEntry) == 0
    assert (await live_app.streams.last_id(event_id)) == history[-1].id


class _DownDispatcher:
    """The queue is unreachable (the dispatch seam's contract: DispatchUnavailable)."""

    async def recompute_standings(self, event_id: int, request_id: str | None = None) -> str:
        raise DispatchUnavailable("broker down")

    async def answer_question(self, request: dict, request_id: str | None = None) -> dict:
        raise DispatchUnavailable("broker down")

    async def idle(self) -> None:
        return None


async def test_a_waited_recompute_that_cannot_be_queued_raises_after_the_audit_is_kept(
    live_app: MatchdayApp,
) -> None:
    event_id = await _event(live_app)
    follow_ups = AppFollowUps(
        audit_sink=live_app.audit_sink,
        relay=live_app.relay,
        dispatcher=_DownDispatcher(),
        standings_cache=live_app.standings_cache,
        reads=live_app.reads,
        access_changes=live_app.access_changes,
        background=live_app.background,
    )
    with pytest.raises(DispatchUnavailable):
        async with unit_of_work(live_app.sessions, follow_ups, CONTEXT) as session:
            audit.record(session, "standings.recompute", "event", event_id)
            recompute(session, event_id, wait=True)
    await live_app.settled()

    async with live_app.sessions() as session:
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert "standings.recompute" in actions  # committed and audited, though not queued
