"""What the parser knows about an event: its name, its teams and the season's year."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TeamRef:
    id: int
    name: str
    group: str | None = None


@dataclass(frozen=True)
class EventContext:
    id: int
    name: str
    teams: tuple[TeamRef, ...]
    # Dates without a year ("on 5 May") are read in this year (the season's), when known.
    year: int | None = None

    def team_name(self, team_id: int) -> str:
        for team in self.teams:
            if team.id == team_id:
                return team.name
        raise KeyError(team_id)
