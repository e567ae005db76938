"""Plan → parameterised SQLAlchemy query → JSON-ready rows: the analytics executor.

Safe by construction: a plan holds only allow-listed words, ids, integers and dates. Every
metric name is looked up in a dict of column expressions (never `getattr` on a string) and
every value reaches the database as a bound parameter, so `statements` (the `explain`
output) shows placeholders and their values, never a literal.

Meaning of the results (documented for the answers and the evaluation):
- Team metrics count every FINAL game of a team in the event; the `round`, `date`, `result`
  and `home` filters narrow the games, `group` picks the teams. A team without games has 0
  of everything and a `win_rate` of None (None sorts last, and is never a leader).
- `position` and `table` are the standings rules themselves (`table_for`): ranks per group,
  over games within the group, with the event's tiebreakers; game filters do not apply.
- `leader` and `top_n` return no rows while no final game is in scope: there is no leader yet.
- Game intents (`count`, `total`, `average`, `extreme`, `form`, `head_to_head`) count final
  games; `games` lists games of any status. With one team, values are from that team's side
  (`total`/`average` of goals = goals it scored), `outcome` is its result and `home` its venue;
  without a team, an `outcome` of win/loss means a decided game. `goals_per_team` without a
  team is the goals of the games in scope divided by the event's number of teams.
- `limit` applies to `top_n` and `form` (default 5); the row cap to everything.
- `group_by="round"` gives one row per round that has final games in scope, even when no
  game of it matches the `result`/`outcome` filter (then 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from workers.analytics.plan import Plan
from workers.analytics.queries.games import (
    average_rows,
    count_rows,
    extreme_rows,
    form_rows,
    games_rows,
    head_to_head_rows,
    total_rows,
)
from workers.analytics.queries.runner import (
    DEFAULT_LIMIT,
    FINAL,
    GAME_COLUMNS,
    POSITION_COLUMNS,
    RECORD_COLUMNS,
    TABLE_COLUMNS,
    Result,
    Runner,
    json_row,
)
from workers.analytics.queries.shapes import (
    check_rows,
    compare_rows,
    difference_rows,
    filter_rows,
    opponents_rows,
    share_rows,
    split_rows,
)
from workers.analytics.queries.teams import (
    leader_rows,
    table_rows,
    team_record_rows,
    team_value_rows,
    top_n_rows,
)

# The column lists are part of this module's interface (answers and tests read them).
__all__ = [
    "DEFAULT_LIMIT",
    "FINAL",
    "GAME_COLUMNS",
    "POSITION_COLUMNS",
    "RECORD_COLUMNS",
    "TABLE_COLUMNS",
    "QueryResult",
    "execute_plan",
]


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]  # JSON-ready: int, float (3 places), str, ISO dates, None
    statements: list[dict[str, Any]] = field(default_factory=list)  # {"sql", "params"}


def execute_plan(session: Session, plan: Plan, *, row_cap: int) -> QueryResult:
    """Run one plan in the caller's (read-only) session; never more than row_cap rows."""
    if row_cap < 1:
        raise ValueError("row_cap must be positive")
    run = Runner(session, plan, row_cap)
    columns, rows = _INTENTS[plan.intent](run)
    return QueryResult(columns, [json_row(columns, row) for row in rows[:row_cap]], run.statements)


_INTENTS: dict[str, Callable[[Runner], Result]] = {
    "leader": leader_rows,
    "top_n": top_n_rows,
    "team_value": team_value_rows,
    "team_record": team_record_rows,
    "head_to_head": head_to_head_rows,
    "count": count_rows,
    "total": total_rows,
    "average": average_rows,
    "extreme": extreme_rows,
    "table": table_rows,
    "form": form_rows,
    "games": games_rows,
    "filter": filter_rows,
    "compare": compare_rows,
    "difference": difference_rows,
    "split": split_rows,
    "share": share_rows,
    "opponents": opponents_rows,
    "check": check_rows,
}
