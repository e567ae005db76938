"""Stored rows turned into the inputs of the pure standings rules (server and workers)."""

from __future__ import annotations

from collections.abc import Iterable

from models import Event, Game, Team
from models.domain.standings import Result, Row, Scoring, TeamEntry, compute_standings


def team_entries(teams: Iterable[Team]) -> list[TeamEntry]:
    return [TeamEntry(team_id=t.id, name=t.name, group=t.group) for t in teams]


def final_results(games: Iterable[Game]) -> list[Result]:
    return [
        Result(g.home_team_id, g.away_team_id, g.home_score, g.away_score)
        for g in games
        if g.status == "final" and g.home_score is not None and g.away_score is not None
    ]


def table_for(event: Event, teams: Iterable[Team], games: Iterable[Game]) -> list[Row]:
    return compute_standings(
        team_entries(teams), final_results(games), Scoring(**event.scoring), event.tiebreakers
    )
