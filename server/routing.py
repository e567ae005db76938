"""Which route serves a path, in one regular expression match.

Tornado tries the routes in order, one match per route, until one fits: the standings read
(the 17th route) cost 17 matches on every request. RouteIndex joins every route's pattern
into one alternation, tried in the same order (a regular expression takes the first
alternative that matches), so the route Tornado would have found is found in one pass; the
route's own matcher then extracts the path arguments as before.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tornado.routing import PathMatches, Rule


class RouteIndex:
    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = list(rules)
        self.pattern: re.Pattern[str] | None = None
        if self.rules and all(isinstance(rule.matcher, PathMatches) for rule in self.rules):
            alternatives = "|".join(
                f"(?P<r{i}>{rule.matcher.regex.pattern})"  # type: ignore[attr-defined]
                for i, rule in enumerate(self.rules)
            )
            try:
                self.pattern = re.compile(alternatives)
            except re.error:  # e.g. two routes with a group of the same name: Tornado's way
                self.pattern = None

    def rule_for(self, path: str) -> Rule | None:
        """The first rule whose pattern matches `path`; None when none does or the index
        could not be built (then Tornado's routing answers, as without it)."""
        if self.pattern is None:
            return None
        found = self.pattern.match(path)
        if found is None or found.lastgroup is None:
            return None
        # The outermost group closes last: lastgroup names the alternative, `r<index>`.
        return self.rules[int(found.lastgroup[1:])]
