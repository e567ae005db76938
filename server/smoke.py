"""`matchday smoke URL`: is a deployed Matchday serving? Run after every deploy
(docs/deployment.md, "Post-deploy checks") and by the deploy workflows.

Checks, each reported on one line (`ok` or `FAIL` with its reason); the exit status is 1 when
any failed:
- health: GET /healthz is 200;
- readiness: GET /readyz is 200 (its failed dependencies named otherwise);
- public read: GET /api/v1/events is 200 with a list;
- write (only with --email and a password): the test account logs in, creates a private event
  with two teams and a game, records a final score, and the event's stream delivers both the
  `score` event and the `standings` event a worker computes from it;
- stream: the live stream of --event-id, else of a public event, else of the event the write
  made, answers text/event-stream and sends its first frame (`retry:`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from server.smoke_http import Client, Reply, SmokeError, deadline

# Every stream sent from its start (a new event's stream holds only what the smoke wrote).
FROM_THE_START = "0-0"


@dataclass(frozen=True)
class Options:
    url: str
    timeout: float = 10.0
    event_id: int | None = None
    email: str | None = None
    password: str | None = None


def run_smoke(options: Options, out: Callable[[str], None] = print) -> int:
    client = Client(options.url, options.timeout)
    written: list[tuple[int, str]] = []  # (event id, token) of the write check's event
    checks: list[tuple[str, Callable[[], str]]] = [
        ("health", lambda: _health(client)),
        ("readiness", lambda: _readiness(client)),
        ("public read", lambda: _public_read(client)),
    ]
    if options.email:
        checks.append(("write", lambda: _write(client, options, written)))
    checks.append(("stream", lambda: _stream(client, options.event_id, written)))
    failed = 0
    for name, check in checks:
        started = time.monotonic()
        try:
            detail = check()
        except SmokeError as exc:
            failed += 1
            out(f"FAIL {name}: {exc}")
            continue
        out(f"ok   {name}: {detail} ({(time.monotonic() - started) * 1000:.0f} ms)")
    out(f"smoke {options.url}: {len(checks) - failed} of {len(checks)} checks passed")
    return 1 if failed else 0


def _expect(reply: Reply, status: int, what: str) -> Reply:
    if reply.status != status:
        raise SmokeError(f"{what}: {reply.status}, expected {status}{_said(reply)}")
    return reply


def _said(reply: Reply) -> str:
    body = reply.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return f" ({body['error'].get('message', '')})"
    if isinstance(body, dict) and "checks" in body:
        failing = {k: v for k, v in body["checks"].items() if v != "ok"}
        return f" ({', '.join(f'{k}: {v}' for k, v in failing.items())})"
    return ""


def _health(client: Client) -> str:
    _expect(client.request("GET", "/healthz"), 200, "GET /healthz")
    return "200"


def _readiness(client: Client) -> str:
    reply = _expect(client.request("GET", "/readyz"), 200, "GET /readyz")
    return "ready: " + ", ".join(f"{k} {v}" for k, v in reply.body["checks"].items())


def _public_read(client: Client) -> str:
    reply = _expect(client.request("GET", "/api/v1/events"), 200, "GET /api/v1/events")
    if not isinstance(reply.body, dict) or not isinstance(reply.body.get("items"), list):
        raise SmokeError("GET /api/v1/events: the body has no `items` list")
    return f"{reply.body.get('total', len(reply.body['items']))} public event(s)"


def _stream(client: Client, event_id: int | None, written: list[tuple[int, str]]) -> str:
    token = ""
    if event_id is None:
        reply = _expect(
            client.request("GET", "/api/v1/events?per_page=1"), 200, "GET /api/v1/events"
        )
        items = reply.body.get("items", []) if isinstance(reply.body, dict) else []
        if items:
            event_id = int(items[0]["id"])
        elif written:
            event_id, token = written[0]
        else:
            raise SmokeError("no public event to stream: pass --event-id, or --email to write one")
    path = f"/api/v1/events/{event_id}/stream"
    query = f"?access_token={quote(token)}" if token else ""
    for frame in client.stream(path + query, {}):
        if frame.retry is None:
            raise SmokeError(f"GET {path}: the first frame is {frame.fields}, not `retry:`")
        return f"event {event_id}: first frame retry {frame.retry} ms"
    raise SmokeError(f"GET {path}: no frame")  # pragma: no cover - _frames raises first


def _write(client: Client, options: Options, written: list[tuple[int, str]]) -> str:
    if not options.password:
        raise SmokeError("--email needs a password (--password or MATCHDAY_SMOKE_PASSWORD)")
    login = client.request(
        "POST", "/api/v1/auth/login", {"email": options.email, "password": options.password}
    )
    token = _expect(login, 200, "log in").body["access_token"]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    event = _created(
        client, "/api/v1/events", {"name": f"smoke {stamp}", "visibility": "private"}, token
    )
    home = _created(client, f"/api/v1/events/{event}/teams", {"name": "Smoke Home"}, token)
    away = _created(client, f"/api/v1/events/{event}/teams", {"name": "Smoke Away"}, token)
    game = _created(
        client, f"/api/v1/events/{event}/games", {"home_team_id": home, "away_team_id": away}, token
    )
    written.append((event, token))
    score = {"home_score": 2, "away_score": 1, "status": "final"}
    _expect(client.request("PUT", f"/api/v1/games/{game}/score", score, token), 200, "score")
    _events(client, event, token, ("score", "standings"), options.timeout)
    return f"event {event}: a final score, then its score and standings events on its stream"


def _created(client: Client, path: str, body: dict[str, object], token: str) -> int:
    reply = _expect(client.request("POST", path, body, token), 201, f"POST {path}")
    return int(reply.body["id"])


def _events(
    client: Client, event: int, token: str, wanted: tuple[str, ...], timeout: float
) -> None:
    """Read the stream of `event` from its start until the kinds in `wanted` came in that order
    (team changes publish standings too: only a `standings` after the `score` counts)."""
    path = f"/api/v1/events/{event}/stream?access_token={quote(token)}"
    seen = 0
    until = deadline(timeout)
    try:
        for frame in client.stream(path, {"Last-Event-ID": FROM_THE_START}):
            if frame.event == wanted[seen]:
                json.loads(frame.data)  # a whole JSON document, as the contract says
                seen += 1
            if seen == len(wanted) or time.monotonic() > until:
                break
    except SmokeError:
        if not seen:
            raise
    if seen < len(wanted):
        after = f" after the {wanted[seen - 1]}" if seen else ""
        raise SmokeError(f"event {event}: no {wanted[seen]} event{after} within {timeout:g} s")
