"""Mixed load for locust: spectators, scorekeepers and admins on one league day.

Install: `uv pip install -e '.[load]'` (or pip). One command runs a server, a worker and this
file headless and samples the servers' memory: `python tests/load/mixed_run.py` (see
docs/performance.md). Against a server of your own:

    MATCHDAY_ADMIN_EMAIL=a@example.com MATCHDAY_ADMIN_PASSWORD=... \\
    locust -f tests/load/locustfile.py --headless -u 200 -r 20 -t 5m --host http://127.0.0.1:8000

At the start one organiser (a new user) creates LOAD_EVENTS public events of LOAD_TEAMS teams,
each with a round robin. Then, in the proportions of a match day (weights 90 : 9 : 1):

- spectators open an event page (the event, its standings, its games, its teams), then follow
  its live stream for a while, and come back to the page now and then;
- scorekeepers (each named on one event by the organiser) post live scores to that event's
  games every few seconds, and now and then a final;
- an admin corrects a final score (audited, published) and asks for a recompute.

Every request goes through locust's client, so errors and latencies land in its statistics;
an SSE stream counts as one request (its time: until the response headers); the events the
streams received are counted and printed when the run stops ("stream events received").
"""

from __future__ import annotations

import itertools
import os
import random
import sys
import threading
import time
import uuid
from typing import Any

from locust import HttpUser, between, events, task
from locust.env import Environment
from locust.exception import StopUser

EVENTS = int(os.environ.get("LOAD_EVENTS", "4"))
TEAMS = int(os.environ.get("LOAD_TEAMS", "16"))
STREAM_SECONDS = float(os.environ.get("LOAD_STREAM_SECONDS", "20"))
PASSWORD = "load test passphrase 1"


class League:
    """What the organiser set up, shared by every simulated user of this locust process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.owner_token = ""
        self.events: list[int] = []
        self.games: dict[int, list[int]] = {}
        self.finals: list[int] = []
        self.scorekeeper_slots = itertools.count()
        self.stream_events = 0
        self.stream_holds = 0


LEAGUE = League()


def register(client: Any, name: str) -> tuple[int, str]:
    """A new user; (user id, access token). A failed sign-up (already counted as a failure
    by locust) stops this simulated user rather than raising a KeyError later."""
    email = f"{name}-{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "password": PASSWORD, "display_name": name}
    user = client.post("/api/v1/auth/register", json=body, name="/auth/register")
    login = {"email": email, "password": PASSWORD}
    token = client.post("/api/v1/auth/login", json=login, name="/auth/login")
    if not (user.ok and token.ok):
        raise StopUser()
    return user.json()["user"]["id"], token.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@events.test_start.add_listener
def set_up_league(environment: Environment, **_kwargs: Any) -> None:
    import requests  # locust's own dependency

    client = requests.Session()
    client.request = _with_base(client.request, environment.host or "")  # type: ignore[method-assign]
    _user, token = register(client, "organiser")
    for number in range(EVENTS):
        event = client.post(
            "/api/v1/events", json={"name": f"Load Cup {number}"}, headers=bearer(token)
        ).json()
        path = f"/api/v1/events/{event['id']}"
        for team in range(TEAMS):
            client.post(f"{path}/teams", json={"name": f"Team {team:02d}"}, headers=bearer(token))
        games = client.post(
            f"{path}/schedule", json={"format": "round_robin"}, headers=bearer(token)
        ).json()["games"]
        LEAGUE.events.append(event["id"])
        LEAGUE.games[event["id"]] = [game["id"] for game in games]
    LEAGUE.owner_token = token


@events.test_stop.add_listener
def report_streams(**_kwargs: Any) -> None:
    print(
        f"stream events received: {LEAGUE.stream_events} over {LEAGUE.stream_holds} holds",
        file=sys.stderr,
        flush=True,
    )


def _with_base(request: Any, base: str) -> Any:
    def call(method: str, url: str, **kwargs: Any) -> Any:
        kwargs.pop("name", None)
        reply = request(method, base + url, timeout=30, **kwargs)
        reply.raise_for_status()
        return reply

    return call


class Spectator(HttpUser):
    weight = 90
    wait_time = between(2, 8)

    def on_start(self) -> None:
        self.event_id = random.choice(LEAGUE.events)

    @task(3)
    def event_page(self) -> None:
        path = f"/api/v1/events/{self.event_id}"
        self.client.get(path, name="/events/{id}")
        self.client.get(f"{path}/standings", name="/events/{id}/standings")
        self.client.get(f"{path}/games?per_page=200", name="/events/{id}/games")
        self.client.get(f"{path}/teams?per_page=200", name="/events/{id}/teams")

    @task(1)
    def events_list(self) -> None:
        self.client.get("/api/v1/events", name="/events")

    @task(2)
    def follow_live(self) -> None:
        """Hold the event's stream for up to STREAM_SECONDS, counting what arrives."""
        path = f"/api/v1/events/{self.event_id}/stream"
        headers = {"Accept": "text/event-stream"}
        with self.client.get(
            path,
            name="/events/{id}/stream",
            stream=True,
            headers=headers,
            timeout=(10, STREAM_SECONDS + 20),
            catch_response=True,
        ) as reply:
            if reply.status_code != 200:
                reply.failure(f"stream: {reply.status_code}")
                return
            reply.success()
            until = time.monotonic() + STREAM_SECONDS * random.uniform(0.5, 1.0)
            received = 0
            for line in reply.iter_lines():
                received += line.startswith(b"event:")
                if time.monotonic() >= until:
                    break
            with LEAGUE.lock:  # not a locust request: its 0 ms would skew the percentiles
                LEAGUE.stream_events += received
                LEAGUE.stream_holds += 1


class Scorekeeper(HttpUser):
    weight = 9
    wait_time = between(2, 5)

    def on_start(self) -> None:
        user_id, self.token = register(self.client, "scorekeeper")
        with LEAGUE.lock:
            slot = next(LEAGUE.scorekeeper_slots)
        self.event_id = LEAGUE.events[slot % len(LEAGUE.events)]
        self.client.post(
            f"/api/v1/events/{self.event_id}/scorekeepers",
            json={"user_id": user_id},
            headers=bearer(LEAGUE.owner_token),
            name="/events/{id}/scorekeepers",
        )
        self.goals: dict[int, int] = {}

    def _open_game(self) -> int | None:
        games = [g for g in LEAGUE.games[self.event_id] if g not in LEAGUE.finals]
        return random.choice(games) if games else None

    @task(9)
    def live_score(self) -> None:
        if (game := self._open_game()) is None:
            return
        self.goals[game] = self.goals.get(game, 0) + 1
        body = {"home_score": self.goals[game], "away_score": 0, "status": "live"}
        self._put(game, body)

    @task(1)
    def final_score(self) -> None:
        if (game := self._open_game()) is None:
            return
        body = {"home_score": self.goals.get(game, 0), "away_score": 1, "status": "final"}
        if self._put(game, body):
            with LEAGUE.lock:
                LEAGUE.finals.append(game)

    def _put(self, game: int, body: dict[str, Any]) -> bool:
        with self.client.put(
            f"/api/v1/games/{game}/score",
            json=body,
            headers=bearer(self.token),
            name="/games/{id}/score",
            catch_response=True,
        ) as reply:
            # Two scorekeepers finishing the same game: the second is told it is final.
            if reply.status_code == 409:
                reply.success()
                return False
            return reply.status_code == 200


class Admin(HttpUser):
    weight = 1
    wait_time = between(10, 20)

    def on_start(self) -> None:
        email = os.environ.get("MATCHDAY_ADMIN_EMAIL", "")
        login = {"email": email, "password": os.environ.get("MATCHDAY_ADMIN_PASSWORD", "")}
        reply = self.client.post("/api/v1/auth/login", json=login, name="/auth/login")
        self.token = reply.json().get("access_token", "") if reply.ok else ""

    @task(2)
    def correction(self) -> None:
        if not LEAGUE.finals or not self.token:
            return
        game = random.choice(LEAGUE.finals)
        body = {"home_score": random.randint(0, 5), "away_score": random.randint(0, 5)}
        self.client.post(
            f"/api/v1/admin/games/{game}/corrections",
            json={**body, "reason": "load test: scorer's mistake"},
            headers=bearer(self.token),
            name="/admin/games/{id}/corrections",
        )

    @task(1)
    def recompute(self) -> None:
        if not self.token:
            return
        event_id = random.choice(LEAGUE.events)
        self.client.post(
            f"/api/v1/admin/events/{event_id}/recompute",
            headers=bearer(self.token),
            name="/admin/events/{id}/recompute",
        )
