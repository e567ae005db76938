"""Running one plan's statements: bound parameters by name, the `explain` record, JSON-ready
values, and the filters every analytics query shares (which games, which side of them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Select,
    SQLColumnExpression,
    and_,
    bindparam,
    case,
    func,
    not_,
    or_,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from models import Event, Game, Team
from models.domain.standings import Scoring
from workers.analytics.plan import Plan

FINAL = "final"
DEFAULT_LIMIT = 5  # top_n and form without a limit
GAME_COLUMNS = [
    "game_id",
    "date",
    "round",
    "home_team",
    "away_team",
    "home_score",
    "away_score",
    "status",
]
RECORD_COLUMNS = [
    "team",
    "played",
    "won",
    "drawn",
    "lost",
    "score_for",
    "score_against",
    "score_diff",
    "points",
]
TABLE_COLUMNS = ["position", "team", "group", *RECORD_COLUMNS[1:]]
POSITION_COLUMNS = ["team", "group", "position", "points", "played"]

Rows = list[Sequence[Any]]
Result = tuple[list[str], Rows]
Expr = SQLColumnExpression[Any]
Query = Select[*tuple[Any, ...]]


# --- running and recording ------------------------------------------------------------------


class Params:
    """The named parameters of one plan; one object per name, so a name has one value."""

    def __init__(self, plan: Plan) -> None:
        self._plan = plan
        self._made: dict[str, BindParameter[Any]] = {}

    def __call__(self, name: str, value: Any, type_: Any = None) -> BindParameter[Any]:
        made = self._made.get(name)
        if made is None:
            made = self._made[name] = bindparam(name, value, type_=type_)
        return made

    @property
    def event(self) -> BindParameter[Any]:
        return self("event_id", self._plan.event_id)

    def team(self, index: int) -> BindParameter[Any]:
        return self(f"team_{index + 1}", self._plan.teams[index])


class Runner:
    """Executes statements in one session and records each for `explain`."""

    def __init__(self, session: Session, plan: Plan, row_cap: int) -> None:
        self.session = session
        self.plan = plan
        self.cap = row_cap
        self.p = Params(plan)
        self.statements: list[dict[str, Any]] = []
        self._dialect = _named(session.get_bind().dialect)
        self._scoring: Scoring | None = None

    def rows(self, stmt: Query) -> Rows:
        self._record(stmt)
        return [tuple(row) for row in self.session.execute(stmt)]

    def scalars(self, stmt: Query) -> list[Any]:
        self._record(stmt)
        return list(self.session.scalars(stmt))

    def scoring(self) -> Scoring:
        """The event's points per win/draw/loss (defaults if the event is gone)."""
        if self._scoring is None:
            found = self.scalars(select(Event.scoring).where(Event.id == self.p.event))
            self._scoring = Scoring(**found[0]) if found else Scoring()
        return self._scoring

    @property
    def filters(self) -> dict[str, Any]:
        return self.plan.filters

    def _record(self, stmt: Query) -> None:
        compiled = stmt.compile(dialect=self._dialect)
        params = {name: _json_value(value) for name, value in compiled.params.items()}
        self.statements.append({"sql": str(compiled), "params": params})


def _named(dialect: Dialect) -> Dialect:
    # SQLite's "?" placeholders would not say which parameter is which; explain by name.
    if not dialect.positional:
        return dialect
    named: Any = type(dialect)
    return named(paramstyle="named")  # type: ignore[no-any-return]


def json_row(columns: list[str], row: Sequence[Any]) -> list[Any]:
    return [
        _game_date(value) if name == "date" else _json_value(value)
        for name, value in zip(columns, row, strict=True)
    ]


def _game_date(value: Any) -> Any:
    if isinstance(value, datetime):  # a game's "date" is the UTC day it starts on
        return (value.astimezone(UTC) if value.tzinfo else value).date().isoformat()
    return _json_value(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal | float):
        return round(float(value), 3)
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    return value


# --- filters shared by every query ----------------------------------------------------------


def game_scope(run: Runner, *, final_only: bool = True) -> list[Expr]:
    """The event's games, final ones only unless asked, narrowed by round and date."""
    p, f = run.p, run.filters
    clauses: list[Expr] = final_games(run) if final_only else [Game.event_id == p.event]
    if "round" in f:
        clauses.append(Game.round == p("round", f["round"]))
    if "date" in f:
        start = datetime.combine(f["date"], time(), tzinfo=UTC)
        kind = Game.starts_at.type
        clauses.append(Game.starts_at >= p("day_start", start, kind))
        clauses.append(Game.starts_at < p("day_end", start + timedelta(days=1), kind))
    return clauses


def final_games(run: Runner) -> list[Expr]:
    return [
        Game.event_id == run.p.event,
        Game.status == run.p("status", FINAL),
        Game.home_score.is_not(None),
        Game.away_score.is_not(None),
    ]


_RESULTS: dict[str, Callable[[], Expr]] = {
    "draw": lambda: Game.home_score == Game.away_score,
    "home_win": lambda: Game.home_score > Game.away_score,
    "away_win": lambda: Game.home_score < Game.away_score,
    "decided": lambda: Game.home_score != Game.away_score,
    "goalless": lambda: and_(Game.home_score == 0, Game.away_score == 0),
}


def in_group(run: Runner, team_id: Any) -> list[Expr]:
    if "group" not in run.filters:
        return []
    group = run.p("group", run.filters["group"])
    return [
        team_id.in_(
            select(Team.id).where(
                Team.event_id == run.p.event, func.lower(Team.group) == func.lower(group)
            )
        )
    ]


@dataclass(frozen=True)
class Side:
    """One team's view of a game: where it played, what it scored and conceded."""

    team: BindParameter[Any]

    @property
    def at_home(self) -> Expr:
        return Game.home_team_id == self.team

    @property
    def involved(self) -> Expr:
        return or_(Game.home_team_id == self.team, Game.away_team_id == self.team)

    @property
    def scored(self) -> Expr:
        return case((self.at_home, Game.home_score), else_=Game.away_score)

    @property
    def conceded(self) -> Expr:
        return case((self.at_home, Game.away_score), else_=Game.home_score)


def team_side(run: Runner) -> Side | None:
    return Side(run.p.team(0)) if run.plan.teams else None


# A game's own measures, for thresholds on games ("five goals or more", "won by 3").
GAME_MEASURE_EXPRS: dict[str, Callable[[], Expr]] = {
    "total_goals": lambda: Game.home_score + Game.away_score,
    "margin": lambda: func.abs(Game.home_score - Game.away_score),
}
# The plan's comparison operators, allow-listed: never built from text.
OPS: dict[str, Callable[[Any, Any], Any]] = {
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "eq": lambda a, b: a == b,
}


def game_threshold(run: Runner) -> list[Expr]:
    """filters.threshold on a game measure, as a clause with the value bound."""
    rule = run.filters.get("threshold")
    if rule is None or rule["metric"] not in GAME_MEASURE_EXPRS:
        return []
    measure = GAME_MEASURE_EXPRS[rule["metric"]]()
    return [OPS[rule["op"]](measure, run.p("threshold", rule["value"]))]


def side_selection(run: Runner, side: Side | None) -> list[Expr]:
    """The filters on a game's result: the result, the team's outcome and its venue, and a
    threshold on the game's goals or margin."""
    f = run.filters
    clauses = [*result_filter(run), *game_threshold(run)]
    if "outcome" in f:
        clauses.append(_outcome(f["outcome"], side))
    if side is not None and "home" in f:
        clauses.append(side.at_home if f["home"] else not_(side.at_home))
    return clauses


def result_filter(run: Runner) -> list[Expr]:
    result = run.filters.get("result")
    return [_RESULTS[result]()] if result is not None else []


def _outcome(outcome: str, side: Side | None) -> Expr:
    if side is None:  # no team to win or lose: a win/loss is a decided game
        return _RESULTS["draw" if outcome == "draw" else "decided"]()
    if outcome == "win":
        return side.scored > side.conceded
    return side.scored == side.conceded if outcome == "draw" else side.scored < side.conceded
