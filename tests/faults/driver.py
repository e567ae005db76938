"""A bounded load driver for the fault scenarios, and what it checks afterwards.

- **Spectators**: N SSE clients on one league event. Each reconnects whenever its stream ends
  or fails (or stays silent past three heartbeats), with `Last-Event-ID` set to the last id it
  received, after the server's `retry:` delay. On `event: reset` it does what a real client
  does: refetches the game list and the standings, and keeps reading. Clients also drop their
  stream now and then on their own (churn: every `churn` seconds on average, anywhere in the
  stream, as phones do) and resume the same way, so resumes happen before, during and after
  each fault.
- **Scorekeeper**: score updates at a fixed rate (live scores, then every game's final in the
  second part of the run), at most one update in flight per game. An update that gets no
  answer, a connection error, a 5xx or a 429 is sent again with the same `Idempotency-Key`
  (a retry of an update that did commit is answered from the stored reply, not applied
  twice). An update is *acknowledged* only once a 200 came back; its game version is the
  reply's.

The checks (`Report`), per client:

- **missing**: an acknowledged update (game, version) the client has neither received as a
  `score` event nor can have learned from a game list it refetched after a `reset` (that list
  showed the game at that version or later). Without a reset, every acknowledged version must
  arrive on the stream; a reset is the server saying "refetch", and then the refetched list
  stands in for what the stream lost.
- **duplicates**: an event id received twice.
- **order violations**: between two resets (a reset starts the client afresh from its
  refetch), a `score` event whose version is not above the last one received for that game,
  or a `standings` event whose version is not above the last table's.

And for the whole run: the `game.score` audit rows equal the committed score changes (summed
game versions in the database), which equal the acknowledged updates; nothing is left owed
(outbox, pending audits, pending recomputes); `GET /standings`, and the last table every
client holds, equal the table the pure rules (models/domain/standings.py) compute from the
final scores; and every process is alive. The recovery time of a fault is measured from its
end to the first acknowledged write and to the first event at the slowest client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import statistics
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tornado.httpclient import HTTPRequest
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from models.domain.standings import Result, Scoring, TeamEntry, compute_standings
from tests.faults.stack import Database
from tests.sse_client import SseStream
from tests.support import STRONG_PASSWORD

GAMES_KEPT_OPEN = 3  # games the scorekeeper keeps live until the faults are over
RETRIABLE = {0, 429, 502, 503, 504, 599}  # 0: no HTTP answer at all (refused, reset)
REQUEST_TIMEOUT = 10.0
UPDATE_DEADLINE = 90.0  # an update still unacknowledged after this long is given up (a failure)
CONNECT_TIMEOUT = 5.0
SETTLE_TIMEOUT = 45.0


def now() -> float:
    return time.monotonic()


@dataclass(frozen=True)
class Ack:
    game_id: int
    version: int
    home: int
    away: int
    status: str
    sent_at: float
    at: float
    attempts: int
    replayed: bool


@dataclass
class Fault:
    name: str
    started: float
    ended: float  # monotonic
    ended_wall: float  # the same moment in Unix time, to compare with stream ids
    write_recovery: float | None = None
    event_recovery: float | None = None


class Http:
    """JSON over Tornado's simple client (a new connection per request, as a scorekeeper's
    app behind a load balancer would mostly have after a restart)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.client = SimpleAsyncHTTPClient(force_instance=True, max_clients=200)
        self.failures: Counter[str] = Counter()  # requests that got no HTTP answer, by why

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = REQUEST_TIMEOUT,
    ) -> tuple[int, Any, dict[str, str]]:
        """(status, JSON body, headers); status 0 when no HTTP answer came at all."""
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        request = HTTPRequest(
            self.base_url + path,
            method=method,
            headers=all_headers,
            body=None if body is None else json.dumps(body),
            connect_timeout=CONNECT_TIMEOUT,
            request_timeout=timeout,
        )
        try:
            response = await self.client.fetch(request, raise_error=False)
        except Exception as exc:  # refused, reset, timed out: no answer
            self.failures[f"{type(exc).__name__}: {exc}"[:80]] += 1
            return 0, None, {}
        try:
            payload = json.loads(response.body) if response.body else None
        except ValueError:
            payload = None
        return response.code, payload, dict(response.headers)

    async def must(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        status, payload, _ = await self.call(method, path, body, **kw)
        assert status in (200, 201), (method, path, status, payload)
        return payload

    def close(self) -> None:
        self.client.close()


@dataclass
class League:
    event: dict[str, Any]
    teams: list[dict[str, Any]]
    games: list[dict[str, Any]]
    token: str

    @property
    def id(self) -> int:
        return int(self.event["id"])

    @classmethod
    async def create(cls, http: Http, teams: int) -> League:
        email = f"scorer-{uuid.uuid4().hex[:8]}@example.com"
        await http.must(
            "POST",
            "/api/v1/auth/register",
            {"email": email, "password": STRONG_PASSWORD, "display_name": "Scorer"},
        )
        login = await http.must(
            "POST", "/api/v1/auth/login", {"email": email, "password": STRONG_PASSWORD}
        )
        token = login["access_token"]
        event = await http.must(
            "POST", "/api/v1/events", {"name": "Fault Cup", "visibility": "public"}, token=token
        )
        created = [
            await http.must(
                "POST",
                f"/api/v1/events/{event['id']}/teams",
                {"name": f"Team {i:02d}"},
                token=token,
            )
            for i in range(teams)
        ]
        schedule = await http.must(
            "POST",
            f"/api/v1/events/{event['id']}/schedule",
            {"format": "round_robin"},
            token=token,
        )
        return cls(event, created, schedule["games"], token)

    def table(self, games: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The standings the pure rules make of these games' final scores."""
        results = [
            Result(g["home_team_id"], g["away_team_id"], g["home_score"], g["away_score"])
            for g in games
            if g["status"] == "final"
        ]
        teams = [TeamEntry(t["id"], t["name"], t["group"]) for t in self.teams]
        rows = compute_standings(
            teams, results, Scoring(**self.event["scoring"]), self.event["tiebreakers"]
        )
        return [row.as_dict() for row in rows]


# --- the scorekeeper ---------------------------------------------------------------------------


class Writer:
    def __init__(
        self,
        http: Http,
        league: League,
        *,
        rate: float,
        duration: float,
        finals_from: float,
        rng: random.Random,
    ) -> None:
        self.http, self.league, self.rng = http, league, rng
        self.rate, self.duration, self.finals_from = rate, duration, finals_from
        self.run_id = uuid.uuid4().hex[:8]
        self.ticks = int(rate * duration)
        self.tick = 0
        self.score = {g["id"]: [0, 0] for g in league.games}
        self.final_sent: set[int] = set()
        self.in_flight: set[int] = set()
        self.sequence = 0
        self.acks: list[Ack] = []
        self.statuses: Counter[int] = Counter()
        self.retries = 0
        self.skipped_ticks = 0  # every unfinished game had an update in flight
        self.unexpected: list[tuple[int, int, Any]] = []
        self.unacknowledged: list[tuple[int, dict[str, Any]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        ids = [g["id"] for g in league.games]
        rng.shuffle(ids)
        first = int(self.ticks * finals_from)
        span = max(1, self.ticks - first)
        self.final_tick = {gid: first + (k * span) // len(ids) for k, gid in enumerate(ids)}
        # Set once the scenario's faults are all injected. Until then the last few games stay
        # open, so a fault that comes late (after a slow replacement on a loaded machine)
        # still has writes after it, to measure its recovery by and to check.
        self.faults_done = False

    @property
    def progress(self) -> float:
        return self.tick / max(1, self.ticks)

    def _pick(self) -> tuple[int, dict[str, Any]] | None:
        open_games = [
            gid for gid in self.score if gid not in self.final_sent and gid not in self.in_flight
        ]
        if not open_games:
            return None
        unfinished = len(self.score) - len(self.final_sent)
        may_finish = self.faults_done or unfinished > GAMES_KEPT_OPEN
        due = [gid for gid in open_games if self.final_tick[gid] <= self.tick and may_finish]
        if due or (self.tick >= self.ticks and may_finish):
            gid = (due or open_games)[0]
            home, away = self.score[gid]
            self.final_sent.add(gid)
            return gid, {"home_score": home, "away_score": away, "status": "final"}
        gid = self.rng.choice(open_games)
        home, away = self.score[gid]
        if self.rng.random() < 0.5:
            home += 1
        else:
            away += 1
        return gid, {"home_score": home, "away_score": away, "status": "live"}

    async def run(self) -> None:
        started = now()
        while len(self.final_sent) < len(self.score) or self.tick < self.ticks:
            await asyncio.sleep(max(0.0, started + self.tick / self.rate - now()))
            picked = self._pick()
            self.tick += 1
            if picked is None:
                self.skipped_ticks += 1
                continue
            gid, body = picked
            self.in_flight.add(gid)
            task = asyncio.create_task(self._send(gid, body))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    async def _send(self, gid: int, body: dict[str, Any]) -> None:
        self.sequence += 1
        key = f"faults-{self.run_id}-{self.sequence}"
        sent = now()
        deadline = sent + UPDATE_DEADLINE
        delay, attempts = 0.1, 0
        try:
            while True:
                attempts += 1
                status, reply, headers = await self.http.call(
                    "PUT",
                    f"/api/v1/games/{gid}/score",
                    body,
                    token=self.league.token,
                    headers={"Idempotency-Key": key},
                )
                self.statuses[status] += 1
                if status == 200:
                    self.score[gid] = [reply["home_score"], reply["away_score"]]
                    self.acks.append(
                        Ack(
                            gid,
                            reply["version"],
                            reply["home_score"],
                            reply["away_score"],
                            reply["status"],
                            sent,
                            now(),
                            attempts,
                            headers.get("Idempotent-Replayed") == "true",
                        )
                    )
                    return
                if status not in RETRIABLE:
                    self.unexpected.append((gid, status, reply))
                    return
                if now() > deadline:
                    self.unacknowledged.append((gid, body))
                    return
                self.retries += 1
                await asyncio.sleep(delay * self.rng.uniform(0.5, 1.5))
                delay = min(delay * 2, 1.0)
        finally:
            self.in_flight.discard(gid)


# --- the spectators ----------------------------------------------------------------------------


@dataclass
class Received:
    at: float
    id: str
    published: float  # Unix time, from the stream id's milliseconds
    kind: str
    game_id: int | None
    version: int | None


@dataclass
class Spectator:
    index: int
    http: Http
    league: League
    received: list[Received] = field(default_factory=list)
    ids: Counter[str] = field(default_factory=Counter)
    resets: list[tuple[float, str]] = field(default_factory=list)
    reconnect_messages: int = 0
    connects: int = 0
    refused: int = 0  # connection attempts that got no stream (refused, 503, reset)
    ended: int = 0  # streams that ended (server closed, reset by peer, silence, dropped)
    churn: float = 0.0  # mean seconds a client holds a stream before dropping it (0: never)
    dropped: int = 0  # streams the client dropped itself (churn), to resume by Last-Event-ID
    last_id: str | None = None
    retry: float = 0.5
    refetched: dict[int, int] = field(default_factory=dict)  # game -> highest version refetched
    standings: dict[str, Any] | None = None  # the newest table the client holds
    order_violations: list[str] = field(default_factory=list)
    refetch_failures: list[str] = field(default_factory=list)
    _game_versions: dict[int, int] = field(default_factory=dict)  # since the last reset
    _table_version: int = 0  # since the last reset
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    _refetching: asyncio.Task[None] | None = None
    _refetch_again: bool = False

    @property
    def path(self) -> str:
        return f"/api/v1/events/{self.league.id}/stream"

    def delivered(self) -> set[tuple[int, int]]:
        return {
            (r.game_id, r.version)
            for r in self.received
            if r.kind == "score" and r.game_id is not None and r.version is not None
        }

    def covers(self, game_id: int, version: int, delivered: set[tuple[int, int]]) -> bool:
        return (game_id, version) in delivered or self.refetched.get(game_id, 0) >= version

    async def run(self) -> None:
        rng = random.Random(self.index)
        while True:
            stream = None
            try:
                headers = {"Last-Event-ID": self.last_id} if self.last_id else {}
                stream = await asyncio.wait_for(self._open(headers), CONNECT_TIMEOUT)
                if stream.status != 200:
                    self.refused += 1
                else:
                    self.connects += 1
                    if not headers and self.connects > 1:
                        # Dropped before any event carried an id: no Last-Event-ID to resume
                        # from, so this stream starts at the newest event. A page reloads its
                        # state then, as after a reset; so does this client.
                        self._start_refetch()
                    await self._read(stream, rng)
                    self.ended += 1
            except (OSError, TimeoutError, ValueError, IndexError, asyncio.IncompleteReadError):
                if stream is None or stream.status != 200:
                    self.refused += 1
                else:
                    self.ended += 1
            finally:
                if stream is not None:
                    await stream.close()
            await asyncio.sleep(self.retry * rng.uniform(0.8, 1.2))

    async def _open(self, headers: dict[str, str]) -> SseStream:
        """tests/sse_client.py's request, closing the connection whatever goes wrong (the
        server may close it, or die, before the status line)."""
        url = urlsplit(self.http.base_url)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        try:
            lines = [f"GET {self.path} HTTP/1.0", f"Host: {url.netloc}"]
            lines += ["Accept: text/event-stream", *(f"{k}: {v}" for k, v in headers.items())]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            await writer.drain()
            status = int((await reader.readline()).split()[1])
            parsed = {}
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                parsed[name.strip().lower()] = value.strip()
            return SseStream(reader, writer, status, parsed)
        except BaseException:
            writer.close()
            raise

    async def _read(self, stream: SseStream, rng: random.Random) -> None:
        # Churn: a spectator on a phone loses its connection now and then, anywhere in the
        # stream, and comes back with Last-Event-ID.
        until = now() + rng.expovariate(1 / self.churn) if self.churn else float("inf")
        while True:
            # Silence past three heartbeats: the connection is dead; reconnect.
            try:
                message = await stream.next(timeout=min(6.0, max(0.01, until - now())))
            except TimeoutError:
                if now() < until:
                    raise
                self.dropped += 1
                return
            if message is None:
                return
            if now() >= until:  # gone mid-stream: what this message said is resent on resume
                self.dropped += 1
                return
            if message.retry is not None:
                self.retry = message.retry / 1000
                self.connected.set()
            if message.comment is not None or not message.data:
                continue
            if message.event == "reset":
                self.resets.append((now(), json.loads(message.data).get("reason", "")))
                self._start_refetch()
                continue
            if message.event == "reconnect":
                self.reconnect_messages += 1
                continue
            if message.id is None:
                continue
            self._record(message.id, message.event, json.loads(message.data))

    def _record(self, event_id: str, kind: str, data: Any) -> None:
        self.ids[event_id] += 1
        self.last_id = event_id
        game_id = version = None
        if kind == "score":
            game_id, version = int(data["id"]), int(data["version"])
            last = self._game_versions.get(game_id, 0)
            if version <= last:
                self.order_violations.append(f"game {game_id}: v{version} after v{last}")
            self._game_versions[game_id] = max(last, version)
        elif kind == "standings":
            version = int(data["version"])
            if version <= self._table_version:
                self.order_violations.append(f"standings: v{version} after v{self._table_version}")
            self._table_version = max(self._table_version, version)
            if self.standings is None or version > self.standings["version"]:
                self.standings = data
        published = int(event_id.split("-", 1)[0]) / 1000
        self.received.append(Received(now(), event_id, published, kind, game_id, version))

    def _start_refetch(self) -> None:
        """After a reset: reload the game list and the table in the background, as a page
        does, while the stream goes on; a reset during a reload asks for one more."""
        # Order is judged afresh from the reset on: what the stream sends next may overlap
        # the refetched state (published between the reset and the refetch): no disorder.
        self._game_versions, self._table_version = {}, 0
        if self._refetching is not None and not self._refetching.done():
            self._refetch_again = True
            return
        self._refetching = asyncio.create_task(self._refetch_loop())

    async def _refetch_loop(self) -> None:
        self._refetch_again = True
        while self._refetch_again:
            self._refetch_again = False
            await self._refetch()

    def stop(self) -> None:
        if self._refetching is not None:
            self._refetching.cancel()

    async def _refetch(self) -> None:
        deadline = now() + 30
        while True:
            status, page, _ = await self.http.call(
                "GET", f"/api/v1/events/{self.league.id}/games?per_page=200"
            )
            table_status, table, _ = await self.http.call(
                "GET", f"/api/v1/events/{self.league.id}/standings"
            )
            if status == 200 and table_status == 200:
                break
            if now() > deadline:
                self.refetch_failures.append(f"{status}, {table_status}")
                return
            await asyncio.sleep(0.2)
        for game in page["items"]:
            self.refetched[game["id"]] = max(self.refetched.get(game["id"], 0), game["version"])
        if self.standings is None or table["version"] >= self.standings["version"]:
            self.standings = table


# --- a run -------------------------------------------------------------------------------------


@dataclass
class Report:
    scenario: str
    figures: dict[str, Any]
    problems: list[str]

    def line(self) -> str:
        f = self.figures
        recovery = f["recovery_seconds"]
        return (
            f"{self.scenario}: {f['acknowledged']} acknowledged updates, "
            f"{f['delivered']} delivered to {f['clients']} clients, "
            f"missing {f['missing']}, duplicates {f['duplicates']}, "
            f"order violations {f['order_violations']}, resets {f['resets']}, "
            f"audit rows {f['audit_rows']} / committed {f['committed']}, "
            f"recovery writes {recovery['writes_max']}s events {recovery['events_max']}s "
            f"(max of {len(f['faults'])} fault(s)), {f['elapsed_seconds']}s"
            + "".join(f", {name} {value}s" for name, value in f["notes"].items())
        )

    def json(self) -> str:
        return json.dumps({"scenario": self.scenario, **self.figures}, sort_keys=True)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


class LoadRun:
    def __init__(
        self,
        base_url: str,
        database: Database,
        *,
        clients: int,
        rate: float,
        duration: float,
        teams: int = 8,
        finals_from: float = 0.5,
        seed: int = 1,
        churn: float = 8.0,
    ) -> None:
        self.http = Http(base_url)
        self.database = database
        self.clients_wanted, self.rate, self.duration = clients, rate, duration
        self.teams, self.finals_from, self.churn = teams, finals_from, churn
        self.rng = random.Random(seed)
        self.faults: list[Fault] = []
        self.notes: dict[str, Any] = {}  # what a scenario measured besides (in the figures)
        self.league: League | None = None
        self.writer: Writer | None = None
        self.spectators: list[Spectator] = []
        self._spectator_tasks: list[asyncio.Task[None]] = []

    async def setup(self) -> League:
        self.league = await League.create(self.http, self.teams)
        return self.league

    def fault(self, name: str, started: float, ended: float) -> None:
        """Record a fault: from `started` until `ended` (monotonic) the system was broken."""
        self.faults.append(Fault(name, started, ended, time.time() - (now() - ended)))

    def note(self, name: str, value: Any) -> None:
        """A scenario's own figure; a callable is called when the run is judged."""
        self.notes[name] = value

    def standings_after(self, moment: float) -> float | None:
        """Seconds from `moment` until every client had received a `standings` event."""
        wall = time.time() - (now() - moment)
        firsts = [
            min(
                (r.at for r in s.received if r.kind == "standings" and r.published >= wall),
                default=None,
            )
            for s in self.spectators
        ]
        if not firsts or None in firsts:
            return None
        return max(f for f in firsts if f is not None) - moment

    async def at(self, fraction: float) -> None:
        """Until the scorekeeper is `fraction` of the way through its updates."""
        assert self.writer is not None
        while self.writer.progress < fraction:
            await asyncio.sleep(0.02)

    async def run(
        self,
        scenario: str,
        faults: Callable[[LoadRun], Awaitable[None]],
        alive: Callable[[], dict[str, bool]],
        *,
        data_lost: bool = False,
    ) -> Report:
        """Spectators connect, the scorekeeper writes while `faults(self)` breaks things,
        then the run settles and is judged. `data_lost`: the scenario wipes Redis, so every
        client must be told to refetch (a reset); otherwise no client may be."""
        assert self.league is not None, "setup() first"
        began = now()
        self.spectators = [
            Spectator(i, self.http, self.league, churn=self.churn)
            for i in range(self.clients_wanted)
        ]
        self._spectator_tasks = [asyncio.create_task(s.run()) for s in self.spectators]
        await asyncio.wait_for(
            asyncio.gather(*(s.connected.wait() for s in self.spectators)), timeout=30
        )
        await asyncio.sleep(0.5)  # subscribed (the `retry:` line comes first)
        self.writer = Writer(
            self.http,
            self.league,
            rate=self.rate,
            duration=self.duration,
            finals_from=self.finals_from,
            rng=self.rng,
        )
        writing = asyncio.create_task(self.writer.run())
        breaking = asyncio.create_task(faults(self))
        try:
            await breaking  # a failing fault injection fails the run at once
            self.writer.faults_done = True
            await writing
        finally:
            for task in (writing, breaking):
                task.cancel()
        written = now()
        problems = await self._settle()
        settled = now()
        for spectator in self.spectators:
            spectator.stop()
        for task in self._spectator_tasks:
            task.cancel()
        await asyncio.gather(*self._spectator_tasks, return_exceptions=True)
        figures = await self._figures(alive(), began, written, settled)
        problems += self._problems(figures)
        if data_lost and figures["clients_reset"] < figures["clients"]:
            problems.append("a client was never told to refetch after Redis lost its data")
        if not data_lost and figures["resets"]:
            problems.append("clients were reset although no data was lost")
        self.http.close()
        return Report(scenario, figures, problems)

    # --- after the load ------------------------------------------------------------------

    def _missing(self) -> dict[int, list[tuple[int, int]]]:
        assert self.writer is not None
        acked = [(a.game_id, a.version) for a in self.writer.acks]
        found = {}
        for spectator in self.spectators:
            delivered = spectator.delivered()
            lost = [(g, v) for g, v in acked if not spectator.covers(g, v, delivered)]
            if lost:
                found[spectator.index] = lost
        return found

    async def _final_games(self) -> list[dict[str, Any]]:
        assert self.league is not None
        page = await self.http.must("GET", f"/api/v1/events/{self.league.id}/games?per_page=200")
        return list(page["items"])

    async def _settle(self) -> list[str]:
        """Wait (bounded) until the system has caught up: every client has every acknowledged
        update, nothing is owed, audit rows match, and the standings are the final ones."""
        assert self.league is not None
        deadline = now() + SETTLE_TIMEOUT
        state: dict[str, Any] = {}
        while True:
            games = await self._final_games()
            expected = self.league.table(games)
            status, table, _ = await self.http.call(
                "GET", f"/api/v1/events/{self.league.id}/standings"
            )
            state = {
                "missing at clients": sum(len(v) for v in self._missing().values()),
                "owed": await self.database.owed(),
                "audit rows vs committed": (
                    await self.database.score_audit_rows(self.league.id),
                    await self.database.committed_changes(self.league.id),
                ),
                "standings": status == 200 and table["rows"] == expected,
                "clients' standings": sum(
                    s.standings is None or s.standings["rows"] != expected for s in self.spectators
                ),
            }
            if (
                not state["missing at clients"]
                and not any(state["owed"].values())
                and len(set(state["audit rows vs committed"])) == 1
                and state["standings"]
                and not state["clients' standings"]
            ):
                return []
            if now() > deadline:
                return [f"not settled after {SETTLE_TIMEOUT}s: {state}"]
            await asyncio.sleep(0.25)

    async def _figures(
        self, alive: dict[str, bool], began: float, written: float, settled: float
    ) -> dict[str, Any]:
        assert self.writer is not None and self.league is not None
        writer = self.writer
        games = await self._final_games()
        expected = self.league.table(games)
        status, table, _ = await self.http.call("GET", f"/api/v1/events/{self.league.id}/standings")
        missing = self._missing()
        resets = Counter(reason for s in self.spectators for _, reason in s.resets)
        for fault in self.faults:
            after = [a.at for a in writer.acks if a.at >= fault.ended]
            fault.write_recovery = (min(after) - fault.ended) if after else None
            # The first event published after the fault ended, at each client: what was in
            # flight or buffered before it does not show that the system works again.
            firsts = []
            for spectator in self.spectators:
                later = [r.at for r in spectator.received if r.published >= fault.ended_wall]
                firsts.append(min(later) - fault.ended if later else None)
            fault.event_recovery = (
                None if None in firsts or not firsts else max(f for f in firsts if f is not None)
            )
        writes = [f.write_recovery for f in self.faults if f.write_recovery is not None]
        events = [f.event_recovery for f in self.faults if f.event_recovery is not None]
        by_game: dict[int, list[int]] = defaultdict(list)
        for ack in writer.acks:
            by_game[ack.game_id].append(ack.version)
        gaps = [g for g, vs in by_game.items() if sorted(vs) != list(range(2, len(vs) + 2))]
        acked_finals = {a.game_id: (a.home, a.away) for a in writer.acks if a.status == "final"}
        stored_finals = {
            g["id"]: (g["home_score"], g["away_score"]) for g in games if g["status"] == "final"
        }
        return {
            "clients": len(self.spectators),
            "rate_per_second": self.rate,
            "load_seconds": self.duration,
            "acknowledged": len(writer.acks),
            "finals": len(acked_finals),
            "committed": await self.database.committed_changes(self.league.id),
            "audit_rows": await self.database.score_audit_rows(self.league.id),
            "owed_at_end": await self.database.owed(),
            "unacknowledged": len(writer.unacknowledged),
            "unexpected_replies": [(g, s) for g, s, _ in writer.unexpected],
            "acknowledged_version_gaps": gaps,
            "finals_as_acknowledged": acked_finals == stored_finals,
            "write_statuses": {str(k): v for k, v in sorted(writer.statuses.items())},
            "write_retries": writer.retries,
            "request_failures": dict(self.http.failures.most_common(5)),
            "replayed_acks": sum(a.replayed for a in writer.acks),
            "skipped_ticks": writer.skipped_ticks,
            "delivered": sum(len(s.delivered()) for s in self.spectators),
            "events_received": sum(len(s.received) for s in self.spectators),
            "missing": sum(len(v) for v in missing.values()),
            "missing_examples": {str(k): v[:5] for k, v in list(missing.items())[:3]},
            "covered_by_refetch": sum(
                sum(
                    (a.game_id, a.version) not in delivered
                    and s.covers(a.game_id, a.version, delivered)
                    for a in writer.acks
                )
                for s in self.spectators
                for delivered in [s.delivered()]
            ),
            "duplicates": sum(n - 1 for s in self.spectators for n in s.ids.values() if n > 1),
            "order_violations": sum(len(s.order_violations) for s in self.spectators),
            "order_examples": [v for s in self.spectators for v in s.order_violations][:5],
            "resets": sum(resets.values()),
            "refetch_failures": sum(len(s.refetch_failures) for s in self.spectators),
            "reset_reasons": dict(resets),
            "clients_reset": sum(bool(s.resets) for s in self.spectators),
            "stream_connects": sum(s.connects for s in self.spectators),
            "stream_refused": sum(s.refused for s in self.spectators),
            "streams_dropped_by_clients": sum(s.dropped for s in self.spectators),
            "reconnect_messages": sum(s.reconnect_messages for s in self.spectators),
            "standings_ok": status == 200 and table["rows"] == expected,
            "clients_with_final_standings": sum(
                s.standings is not None and s.standings["rows"] == expected for s in self.spectators
            ),
            "alive": alive,
            "faults": [
                {
                    "name": f.name,
                    "lasted": _round(f.ended - f.started),
                    "recovery_writes": _round(f.write_recovery),
                    "recovery_events": _round(f.event_recovery),
                }
                for f in self.faults
            ],
            "recovery_seconds": {
                "writes_max": _round(max(writes, default=None)),
                "writes_median": _round(statistics.median(writes) if writes else None),
                "events_max": _round(max(events, default=None)),
                "events_median": _round(statistics.median(events) if events else None),
            },
            "notes": {
                name: _round(value()) if callable(value) else value
                for name, value in self.notes.items()
            },
            "elapsed_seconds": round(settled - began, 1),
            "settle_seconds": round(settled - written, 1),
        }

    def _problems(self, f: dict[str, Any]) -> list[str]:
        problems = []
        checks = {
            "acknowledged updates missing at a client": f["missing"] == 0,
            "duplicate event ids": f["duplicates"] == 0,
            "order violations": f["order_violations"] == 0,
            "refetches after a reset that never succeeded": f["refetch_failures"] == 0,
            "audit rows != committed changes": f["audit_rows"] == f["committed"],
            "committed changes != acknowledged updates": f["committed"] == f["acknowledged"],
            "updates never acknowledged": f["unacknowledged"] == 0,
            "unexpected replies": not f["unexpected_replies"],
            "acknowledged versions not consecutive": not f["acknowledged_version_gaps"],
            "stored finals differ from the acknowledged ones": f["finals_as_acknowledged"],
            "GET /standings differs from the table of the final scores": f["standings_ok"],
            "a client's last table is not the final one": (
                f["clients_with_final_standings"] == f["clients"]
            ),
            "work still owed": not any(f["owed_at_end"].values()),
            "a process is down": all(f["alive"].values()),
            "a fault without recovery": all(
                x["recovery_writes"] is not None and x["recovery_events"] is not None
                for x in f["faults"]
            ),
        }
        for problem, ok in checks.items():
            if not ok:
                problems.append(problem)
        return problems

    async def close(self) -> None:
        for spectator in self.spectators:
            spectator.stop()
        for task in self._spectator_tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._spectator_tasks, return_exceptions=True)
        self.http.close()
