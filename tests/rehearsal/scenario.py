"""What the rehearsal proves, run from the lan namespace against hosts A and B:

1. cross-host delivery: a score posted through B reaches spectators on A (and on B), then the
   table the worker host recomputed reaches both;
2. fail-over: with scores arriving through B, host A is lost (killed, stopped or its cable
   pulled); its spectators reconnect to B with `Last-Event-ID` and miss nothing: each one's
   messages are exactly the event's Redis stream, in order, none twice;
3. the survivor: B kept accepting every score and serves the final table.

Spectators follow the stream like EventSource behind a load balancer: on any disconnect they
reconnect, to the next host, with the last id they saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from tornado.httpclient import HTTPClientError

from models.stream_protocol import stream_key
from tests.sse_client import SseMessage, SseStream
from tests.support import Api, expected_table, scrape_samples, table_of

REDIS_PREFIX = "matchday:"  # REDIS_KEY_PREFIX's default, which the hosts use


class CheckFailed(AssertionError):
    """The rehearsal ran, and something it proves did not hold."""


def now() -> float:
    return time.monotonic()


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {
        "n": len(values),
        "p50": round(statistics.median(ordered), 1),
        "max": round(ordered[-1], 1),
        "min": round(ordered[0], 1),
    }


# --- the league ---------------------------------------------------------------------------------


@dataclass
class League:
    api: Api
    token: str
    event_id: int
    teams: list[int]
    games: list[dict[str, Any]]
    results: dict[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def stream_path(self) -> str:
        return f"/api/v1/events/{self.event_id}/stream"

    @classmethod
    async def create(cls, api: Api, teams: int) -> League:
        token = await api.user(f"organiser-{uuid.uuid4().hex[:8]}@example.com")
        event = await api.post(
            "/api/v1/events", {"name": "Rehearsal Cup", "visibility": "public"}, token=token
        )
        _expect(event.status == 201, f"create event: {event.status} {event.body!r}")
        event_id = event.json["id"]
        team_ids = []
        for index in range(teams):
            team = await api.post(
                f"/api/v1/events/{event_id}/teams", {"name": f"Team {index}"}, token=token
            )
            _expect(team.status == 201, f"create team: {team.status} {team.body!r}")
            team_ids.append(team.json["id"])
        schedule = await api.post(
            f"/api/v1/events/{event_id}/schedule", {"format": "round_robin"}, token=token
        )
        _expect(schedule.status == 201, f"schedule: {schedule.status} {schedule.body!r}")
        return cls(api, token, event_id, team_ids, schedule.json["games"])

    async def score(self, api: Api, index: int) -> tuple[int, bool]:
        """Post a final score for game `index` (derived from it) through `api`: (game id, ok)."""
        game = self.games[index]
        home, away = index % 4, (index * 3) % 5
        try:
            reply = await api.put(
                f"/api/v1/games/{game['id']}/score",
                {"home_score": home, "away_score": away, "status": "final"},
                token=self.token,
            )
        except (OSError, HTTPClientError):  # the host is gone, or the request timed out
            return game["id"], False
        if reply.status == 200:
            self.results[game["id"]] = (home, away)
        return game["id"], reply.status == 200

    def expected_table(self) -> dict[int, tuple[int, ...]]:
        return expected_table(self.teams, self.games, self.results)


def _expect(condition: bool, failure: str) -> None:
    if not condition:
        raise CheckFailed(failure)


# --- spectators ---------------------------------------------------------------------------------


@dataclass
class Arrival:
    message: SseMessage
    at: float
    host: str


class Spectator:
    """One EventSource-like client. `hosts`: (name, base URL) in the order it tries them."""

    def __init__(
        self,
        name: str,
        hosts: list[tuple[str, str]],
        path: str,
        after: str,
        silence: float,
        reconnect_delay: float,
    ) -> None:
        self.name, self.hosts, self.path = name, hosts, path
        self.after, self.silence, self.reconnect_delay = after, silence, reconnect_delay
        self.arrivals: list[Arrival] = []
        self.connects: list[tuple[float, str]] = []  # (when, host)
        self.failures: list[tuple[float, str, str]] = []  # (when, host, what)
        self._index = 0
        self._task = asyncio.get_running_loop().create_task(self._run())

    @property
    def host(self) -> str:
        return self.hosts[self._index][0]

    @property
    def last_id(self) -> str:
        return next((a.message.id for a in reversed(self.arrivals) if a.message.id), self.after)

    def ids(self) -> list[str]:
        return [a.message.id for a in self.arrivals if a.message.id]

    def first(self, predicate: Any, since: float = 0.0) -> Arrival | None:
        return next((a for a in self.arrivals if a.at >= since and predicate(a.message)), None)

    def seen(self, predicate: Any, since: float = 0.0) -> float:
        """When the first such message arrived (one the caller has waited for)."""
        arrival = self.first(predicate, since)
        if arrival is None:
            raise CheckFailed(f"spectator {self.name} never got the message")
        return arrival.at

    async def _run(self) -> None:
        while True:
            host, url = self.hosts[self._index]
            what = await self._follow(host, url)
            self.failures.append((now(), host, what))
            self._index = (self._index + 1) % len(self.hosts)
            await asyncio.sleep(self.reconnect_delay)

    async def _follow(self, host: str, url: str) -> str:
        """Follow the stream on one host until it ends; what ended it."""
        try:
            stream = await asyncio.wait_for(
                SseStream.open(url, self.path, {"Last-Event-ID": self.last_id}), self.silence
            )
        except (OSError, TimeoutError, IndexError, ValueError) as exc:
            return f"connect: {type(exc).__name__}"
        try:
            if stream.status != 200:
                return f"status {stream.status}"
            self.connects.append((now(), host))
            # Heartbeats (`: ping`) count as traffic: `silence` without any is a dead link.
            while (message := await stream.next_event(timeout=self.silence)) is not None:
                self.arrivals.append(Arrival(message, now(), host))
                if message.event == "reconnect":  # the server is draining
                    return "reconnect"
            return "closed"
        except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError) as exc:
            return f"read: {type(exc).__name__}"
        finally:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stream.close(), 1)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def until(check: Any, timeout: float, failure: str) -> None:
    deadline = now() + timeout
    while not check():
        if now() > deadline:
            raise CheckFailed(f"{failure} (within {timeout:g} s)")
        await asyncio.sleep(0.01)


async def all_see(
    spectators: list[Spectator], predicate: Any, since: float, timeout: float, failure: str
) -> None:
    await until(lambda: all(s.first(predicate, since) for s in spectators), timeout, failure)


def _is_score(game_id: int) -> Any:
    return lambda m: m.event == "score" and m.json.get("id") == game_id


def _is_table(expected: dict[int, tuple[int, ...]]) -> Any:
    return lambda m: m.event == "standings" and table_of(m.json) == expected


# --- the rehearsal itself ---------------------------------------------------------------------


@dataclass
class Options:
    spectators: int = 3  # on host A (one more follows host B)
    teams: int = 8  # round robin: 28 games, one final score each
    cross_scores: int = 5  # phase 1: one at a time, each followed to every spectator
    failover_scores: int = 12  # phase 2: posted through B every `interval` seconds …
    lose_after: int = 3  # … host A lost after this many of them
    interval: float = 0.25
    max_latency_ms: float = 1000.0  # a score through B must reach A's spectators within this
    silence: float = 3.0  # seconds without a byte (heartbeats included): the link is dead
    reconnect_delay: float = 0.25


@dataclass
class Targets:
    a: str
    b: str
    redis_url: str
    worker_metrics: str
    metrics_token: str


async def rehearse(targets: Targets, lose_a: Any, options: Options) -> dict[str, Any]:
    """Run the three checks; their figures. `lose_a()` (blocking) takes host A away and says
    how. Raises CheckFailed when something the rehearsal proves does not hold."""
    api_a, api_b = Api(targets.a), Api(targets.b)
    league = await League.create(api_a, options.teams)
    need = options.cross_scores + options.failover_scores
    _expect(len(league.games) >= need, f"{len(league.games)} games, {need} needed")
    redis = aioredis.from_url(targets.redis_url, decode_responses=True)
    key = stream_key(REDIS_PREFIX, league.event_id)
    start = (await redis.xrevrange(key, count=1) or [("0-0", None)])[0][0]

    def spectator(name: str, order: list[tuple[str, str]]) -> Spectator:
        return Spectator(
            name, order, league.stream_path, start, options.silence, options.reconnect_delay
        )

    on_a = [
        spectator(f"a{n}", [("a", targets.a), ("b", targets.b)]) for n in range(options.spectators)
    ]
    on_b = spectator("b0", [("b", targets.b), ("a", targets.a)])
    everyone = [*on_a, on_b]
    try:
        await until(lambda: all(s.connects for s in everyone), 10, "spectators could not connect")
        _expect(all(s.host == "a" for s in on_a), "a spectator of host A is elsewhere")
        cross = await _cross_host(league, api_b, on_a, on_b, options)
        failover = await _fail_over(league, api_b, on_a, everyone, lose_a, options)
        failover |= await _nothing_missed(redis, key, start, everyone, on_a)
        survivor = await _survivor(league, api_a, api_b, targets)
    finally:
        for s in everyone:
            await s.close()
        await redis.aclose()
    return {"cross_host": cross, "failover": failover, "survivor": survivor}


async def _cross_host(
    league: League, api_b: Api, on_a: list[Spectator], on_b: Spectator, options: Options
) -> dict[str, Any]:
    """Scores through B, one at a time: each to every spectator, then the worker's table."""
    everyone = [*on_a, on_b]
    to_a: list[float] = []
    to_b: list[float] = []
    table_a: list[float] = []
    table_b: list[float] = []
    after_reply: list[float] = []
    for index in range(options.cross_scores):
        posted = now()
        game_id, ok = await league.score(api_b, index)
        replied = now()
        _expect(ok, f"host B refused score {index}")
        expected = league.expected_table()
        await all_see(
            everyone,
            _is_score(game_id),
            posted,
            10,
            f"score {index} (game {game_id}) did not reach every spectator",
        )
        await all_see(
            everyone,
            _is_table(expected),
            posted,
            15,
            f"the table after score {index} did not reach every spectator",
        )
        for s, scores, tables in [(s, to_a, table_a) for s in on_a] + [(on_b, to_b, table_b)]:
            scores.append(ms(s.seen(_is_score(game_id), posted) - posted))
            tables.append(ms(s.seen(_is_table(expected), posted) - posted))
        # From B's answer on: the commit is done, what is left is outbox relay -> Redis -> A's
        # hub -> its spectators (negative: the frame beat the HTTP answer back).
        after_reply += [ms(s.seen(_is_score(game_id), posted) - replied) for s in on_a]
    worst = max(to_a)
    _expect(
        worst <= options.max_latency_ms,
        f"a score through B took {worst} ms to reach host A's spectators "
        f"(> {options.max_latency_ms:g} ms)",
    )
    return {
        "score_through_b_seen_on_a_ms": summary(to_a),
        "score_seen_on_a_after_b_replied_ms": summary(after_reply),
        "score_through_b_seen_on_b_ms": summary(to_b),
        "worker_table_seen_on_a_ms": summary(table_a),
        "worker_table_seen_on_b_ms": summary(table_b),
    }


async def _fail_over(
    league: League,
    api_b: Api,
    on_a: list[Spectator],
    everyone: list[Spectator],
    lose_a: Any,
    options: Options,
) -> dict[str, Any]:
    """Scores keep arriving through B while A is lost; A's spectators must end up on B."""
    posted_at: dict[int, float] = {}
    refused: list[int] = []
    put_ms: list[float] = []
    lost_at = 0.0
    how = ""
    for step in range(options.failover_scores):
        if step == options.lose_after:
            lost_at = now()
            how = await asyncio.to_thread(lose_a)
        index = options.cross_scores + step
        posted = now()
        game_id, ok = await league.score(api_b, index)
        put_ms.append(ms(now() - posted))
        posted_at[game_id] = posted
        if not ok:
            refused.append(index)
        await asyncio.sleep(options.interval)
    _expect(not refused, f"host B refused scores {refused} while A was lost")
    final = league.expected_table()
    await until(
        lambda: all(
            all(s.first(_is_score(g)) for g in league.results) and s.first(_is_table(final))
            for s in everyone
        ),
        20,
        "after the fail-over, a spectator lacks a score or the final table",
    )
    _expect(all(s.host == "b" for s in on_a), "a spectator of host A did not move to B")
    detected, reconnected, late = [], [], []
    for s in on_a:
        failure = next(f for f in s.failures if f[0] >= lost_at)
        detected.append(ms(failure[0] - lost_at))
        reconnected.append(
            ms(next(t for t, h in s.connects if t >= lost_at and h == "b") - lost_at)
        )
    for game_id, posted in posted_at.items():
        if posted >= lost_at:
            late += [ms(s.seen(_is_score(game_id)) - posted) for s in on_a]
    return {
        "how_a_was_lost": how,
        "scores_through_b": len(posted_at),
        "scores_after_loss": sum(1 for p in posted_at.values() if p >= lost_at),
        "put_through_b_ms": summary(put_ms),
        "loss_noticed_ms": summary(detected),
        "reconnected_to_b_ms": summary(reconnected),
        "score_after_loss_seen_by_a_spectators_ms": summary(late),
        "disconnects": {s.name: [what for _, _, what in s.failures] for s in on_a},
    }


async def _nothing_missed(
    redis: aioredis.Redis, key: str, start: str, everyone: list[Spectator], on_a: list[Spectator]
) -> dict[str, Any]:
    """Each spectator's messages are the event's stream from where it began: every id, in
    order, none twice (late recomputes may still land: compare once everyone is level)."""
    published: list[str] = []

    async def level() -> bool:
        published[:] = [entry_id for entry_id, _ in await redis.xrange(key, min=f"({start}")]
        return all(s.last_id == published[-1] for s in everyone)

    deadline = now() + 10
    while not await level():
        if now() > deadline:
            raise CheckFailed("a spectator fell behind the event's stream")
        await asyncio.sleep(0.05)
    for s in everyone:
        got = s.ids()
        _expect(
            got == published,
            f"spectator {s.name}: missed {sorted(set(published) - set(got))}, "
            f"{len(got) - len(set(got))} twice, in order: {got == sorted(got)}",
        )
    return {
        "stream_messages": len(published),
        "spectators": len(everyone),
        "on_a_then_b": len(on_a),
        "missed": 0,
        "duplicates": 0,
    }


async def _survivor(league: League, api_a: Api, api_b: Api, targets: Targets) -> dict[str, Any]:
    """B serves (ready, the final table); A does not answer; the worker did the recomputes."""
    ready = await api_b.get("/readyz")
    _expect(ready.status == 200, f"host B /readyz: {ready.status}")
    table = await api_b.get(f"/api/v1/events/{league.event_id}/standings")
    _expect(table.status == 200, f"host B standings: {table.status}")
    _expect(table_of(table.json) == league.expected_table(), "host B serves a stale table")
    try:
        a_answers = (await asyncio.wait_for(api_a.get("/healthz"), 2)).status == 200
    except (OSError, TimeoutError, HTTPClientError):
        a_answers = False
    _expect(not a_answers, "host A still answers after it was lost")
    scrape = await Api(targets.worker_metrics).get("/metrics", token=targets.metrics_token)
    _expect(scrape.status == 200, f"worker metrics: {scrape.status}")
    recomputes = sum(
        value
        for (name, labels), value in scrape_samples(scrape.body.decode()).items()
        if name == "matchday_tasks_total"
        and ("outcome", "ok") in labels
        and any(k == "task" and "recompute" in v for k, v in labels)
    )
    _expect(recomputes > 0, "the worker host ran no recompute")
    return {
        "b_ready": True,
        "b_table_current": True,
        "a_answers": a_answers,
        "worker_recomputes_ok": int(recomputes),
    }
