"""The route index (server/routing.py) picks, for every path, the route Tornado's own
routing would have picked: the first in order whose pattern matches."""

from __future__ import annotations

import tornado.web
from tornado.routing import PathMatches, Rule

from server.access_log import route_template
from server.app import all_routes
from server.routing import RouteIndex


def _tornado_pick(rules: list[Rule], path: str) -> Rule | None:
    return next((rule for rule in rules if rule.matcher.regex.match(path)), None)  # type: ignore[attr-defined]


def _sample_paths(rules: list[Rule]) -> list[str]:
    """Each route's template filled in, plus near misses and paths no route serves."""
    paths = ["/", "/nope", "/api/v1", "/api/v1/events/", "/api/v1/events/abc", "/healthz/x"]
    for rule in rules:
        template = route_template(rule.matcher.regex.pattern)  # type: ignore[attr-defined]
        for filled in (
            template.replace("{id}", "7").replace("{path}", "a/b.js"),
            template.replace("{id}", "2147483647").replace("{path}", "x"),
        ):
            paths += [filled, filled + "/", filled + "/extra", filled.upper()]
    return paths


def test_the_index_picks_the_route_tornado_would_for_every_path() -> None:
    rules = tornado.web.Application(all_routes()).wildcard_router.rules
    index = RouteIndex(rules)
    assert index.pattern is not None  # every route is a path pattern: the index is used
    for path in _sample_paths(rules):
        assert index.rule_for(path) is _tornado_pick(rules, path), path


def test_routes_the_index_cannot_join_fall_back_to_tornado() -> None:
    clash = [
        Rule(PathMatches(r"/a/(?P<x>\d+)"), object),
        Rule(PathMatches(r"/b/(?P<x>\d+)"), object),
    ]
    assert RouteIndex(clash).rule_for("/a/1") is None  # the same group name twice
