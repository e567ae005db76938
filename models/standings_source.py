"""Stored rows turned into the inputs of the pure standings rules (server and workers)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

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


def rfc3339(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def standings_payload(
    event_id: int,
    version: int,
    updated_at: datetime | None,
    last_event_id: str | None,
    rows: list[dict[str, Any]],
) -> dict[str, Any]:
    """The standings object of the API, as REST responses and `standings` events carry it."""
    return {
        "event_id": event_id,
        "version": version,
        "updated_at": rfc3339(updated_at),
        "last_event_id": last_event_id,
        "rows": rows,
    }
