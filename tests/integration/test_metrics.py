"""/metrics as Prometheus scrapes it, on both backends: HTTP requests by route template,
business counters that count committed changes, database statements, pool gauges, the
spectators of an event, and the metrics port of its own."""

from __future__ import annotations

import asyncio
import dataclasses
import re

from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from server.app import MatchdayApp
from server.metrics_port import MetricsApp
from tests.integration.test_admin import correct, league, make_admin, make_user, new_game, score
from tests.sse_client import SseStream
from tests.support import Api, sample, scrape_samples

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(api: Api) -> Samples:
    reply = await api.get("/metrics")
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"].startswith("text/plain")
    return scrape_samples(reply.body.decode())


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return sample(after, name, **labels) - sample(before, name, **labels)


async def test_requests_business_and_database_metrics(api: Api, app: MatchdayApp) -> None:
    _admin_id, admin = await make_admin(api, app, "admin@example.com")
    _owner_id, owner = await make_user(api, "owner@example.com")
    before = await scrape(api)

    event_id, home, away = await league(api, owner)
    game = await new_game(api, owner, event_id, home, away)
    await score(api, owner, game["id"], 1, 0, status="live")
    await score(api, owner, game["id"], 2, 1)  # final
    reply = await correct(api, admin, game["id"], {"home_score": 2, "away_score": 2, "reason": "x"})
    assert reply.status == 200
    # A refused score (a final changes only by correction) is no score recorded.
    refused = await api.put(
        f"/api/v1/games/{game['id']}/score",
        {"home_score": 5, "away_score": 5, "status": "final"},
        token=owner,
    )
    assert refused.status == 409
    assert (await api.get("/api/v1/no/such/path/42")).status == 404
    await app.settled()
    after = await scrape(api)

    assert delta(before, after, "matchday_events_created_total") == 1
    assert delta(before, after, "matchday_scores_recorded_total") == 2
    assert delta(before, after, "matchday_games_finished_total") == 1
    assert delta(before, after, "matchday_corrections_total") == 1

    score_route = {"method": "PUT", "route": "/api/v1/games/{id}/score"}
    assert delta(before, after, "matchday_http_requests_total", **score_route, status="200") == 2
    assert delta(before, after, "matchday_http_requests_total", **score_route, status="409") == 1
    assert delta(before, after, "matchday_http_request_duration_seconds_count", **score_route) == 3
    assert delta(before, after, "matchday_http_response_size_bytes_sum", **score_route) > 100
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert delta(before, after, "matchday_http_requests_total", **unmatched) == 1
    # Route templates only: no label carries an id or a raw path.
    routes = {dict(labels).get("route") for _name, labels in after} - {None}
    assert not [route for route in routes if re.search(r"/\d", route)], routes
    assert sample(after, "matchday_http_requests_in_flight") >= 1  # this scrape

    assert delta(before, after, "matchday_db_query_duration_seconds_count", operation="update") > 0
    assert delta(before, after, "matchday_db_query_duration_seconds_count", operation="select") > 0
    if not app.config.embedded:
        assert sample(after, "matchday_db_pool_max_connections", pool="async") == 20
        assert delta(before, after, "matchday_db_pool_wait_seconds_count", pool="async") > 0


async def test_spectators_per_event(api: Api, app: MatchdayApp) -> None:
    _owner_id, owner = await make_user(api, "owner@example.com")
    event_id, _home, _away = await league(api, owner)
    path = f"/api/v1/events/{event_id}/stream"
    streams = [await SseStream.open(api.base_url, path) for _ in range(3)]
    assert [stream.status for stream in streams] == [200] * 3
    while app.hub.count < 3:  # the handlers subscribe after sending the headers
        await asyncio.sleep(0.01)
    try:
        app.hub.publish_spectators()
        samples = await scrape(api)
        assert sample(samples, "matchday_sse_spectators", event=str(event_id)) == 3
        assert sample(samples, "matchday_sse_connections") >= 3
    finally:
        for stream in streams:
            await stream.close()
    while app.hub.count:
        await asyncio.sleep(0.01)
    app.hub.publish_spectators()
    samples = await scrape(api)
    assert sample(samples, "matchday_sse_spectators", event=str(event_id)) == 0


async def test_metrics_on_a_port_of_their_own(api: Api, app: MatchdayApp) -> None:
    sock, port = bind_unused_port()
    server = HTTPServer(MetricsApp(app))
    server.add_sockets([sock])
    try:
        metrics_api = Api(f"http://127.0.0.1:{port}")
        await api.get("/healthz")
        samples = await scrape(metrics_api)
        assert (
            sample(
                samples,
                "matchday_http_requests_total",
                method="GET",
                route="/healthz",
                status="200",
            )
            >= 1
        )
        # Only /metrics there: the API is not served on the metrics port.
        assert (await metrics_api.get("/healthz")).status == 404
        assert (await metrics_api.get("/api/v1/events")).status == 404
    finally:
        server.stop()
        await server.close_all_connections()


async def test_a_scrape_needs_the_token_when_one_is_set(api: Api, app: MatchdayApp) -> None:
    app.config = dataclasses.replace(app.config, metrics_token="t" * 40)
    assert (await api.get("/metrics")).status == 401
    assert (
        await api.get("/metrics", headers={"Authorization": "Bearer " + "t" * 40})
    ).status == 200
