"""The CSV format of imports and exports: teams and games of one event in one file.

Pure functions only (no database, no HTTP), so every rule is unit-testable:

- ``decode_upload(body)`` turns the uploaded bytes into text (UTF-8, optional BOM);
- ``parse_import(text, existing_teams=..., knockout=...)`` validates the whole file and returns
  an ``ImportPlan`` or every problem found, each with its row and column;
- ``render_export(teams, games)`` writes the same format back, escaped against formula
  injection.

The format is documented in docs/import.md. Rows are numbered like a spreadsheet's: the
header is row 1, and a quoted cell spanning several lines still counts as one row.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from marshmallow import ValidationError, fields, validate

from models.domain.game_state import STATUSES
from server.schemas.fields import Text, UTCDateTime
from server.schemas.games import MAX_SCORE

COLUMNS = (
    "kind",
    "name",
    "group",
    "home",
    "away",
    "starts_at",
    "venue",
    "round",
    "home_score",
    "away_score",
    "status",
)
TEAM_COLUMNS = ("name", "group")
GAME_COLUMNS = (
    "home",
    "away",
    "starts_at",
    "venue",
    "round",
    "home_score",
    "away_score",
    "status",
)
KINDS = ("team", "game")
MAX_ROWS = 10_000  # data rows, the header and blank rows not counted
MAX_ERRORS = 100  # reported per upload; parsing stops soon after
MAX_ROUND = 10_000
BOM = "\ufeff"
# OWASP "CSV injection": a spreadsheet treats a cell starting with one of these as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED = re.compile(r"^'+[=+\-@\t\r]")
_NEEDS_ESCAPE = re.compile(r"^'*[=+\-@\t\r]")
_INTEGER = re.compile(r"^[+-]?[0-9]{1,9}$")
_RFC3339 = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)


@dataclass(frozen=True)
class RowError:
    """One problem: `row` counts the header as 1; `column` is a header name, or None when the
    problem is the whole row (wrong number of cells, broken quoting) or the file."""

    row: int
    column: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class TeamPlan:
    row: int
    name: str
    group: str | None


@dataclass(frozen=True)
class GamePlan:
    """`home` and `away` are team names as the event (or the file) spells them."""

    row: int
    home: str
    away: str
    starts_at: datetime | None
    venue: str | None
    round: int | None
    home_score: int | None
    away_score: int | None
    status: str


@dataclass
class ImportPlan:
    teams: list[TeamPlan] = field(default_factory=list)
    games: list[GamePlan] = field(default_factory=list)

    @property
    def final_games(self) -> int:
        return sum(1 for game in self.games if game.status == "final")


def team_key(name: str) -> str:
    """Team names are unique, and matched, case-insensitively."""
    return name.casefold()


# --- formula injection ------------------------------------------------------------------------


def escape_cell(value: str) -> str:
    """Prefix a single quote to a cell a spreadsheet would run as a formula (OWASP).

    Cells that already start with quotes before a trigger get one more, so that
    ``unescape_cell`` restores every value exactly."""
    return "'" + value if _NEEDS_ESCAPE.match(value) else value


def unescape_cell(value: str) -> str:
    """The inverse of ``escape_cell``: an export imports back to the same values."""
    return value[1:] if _ESCAPED.match(value) else value


# --- cells ------------------------------------------------------------------------------------


class CsvInteger(fields.Integer):
    """A whole number written in ASCII digits; no decimals, exponents or separators."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        text = str(value).strip()
        if not _INTEGER.match(text):
            raise ValidationError("must be a whole number")
        return int(text)


class CsvTimestamp(UTCDateTime):
    """RFC 3339 with a UTC offset (`2025-06-01T18:00:00+02:00`, `...Z`)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        text = str(value).strip().upper()
        if not _RFC3339.match(text):
            raise ValidationError(
                "must be an RFC 3339 timestamp with an offset, e.g. 2025-06-01T18:00:00+02:00"
            )
        return super()._deserialize(text, attr, data, **kwargs)


class Choice(fields.String):
    """One of a few words, case-insensitive."""

    def __init__(self, choices: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = tuple(choices)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip().lower()
        if text not in self.choices:
            raise ValidationError(f"must be one of {', '.join(self.choices)}")
        return text


# Each column's field, with the JSON API's limits (TeamCreateSchema, GameCreateSchema; a unit
# test keeps them equal). Fields are used one cell at a time: a schema per row costs twice as
# much, and a 10,000-row file must stay quick. Empty cells are absent: `load_default` or
# "required" applies.
TEAM_FIELDS: dict[str, fields.Field] = {
    "name": Text(required=True, max_length=100),
    "group": Text(max_length=50, load_default=None),
}
GAME_FIELDS: dict[str, fields.Field] = {
    "home": Text(required=True, max_length=100),
    "away": Text(required=True, max_length=100),
    "starts_at": CsvTimestamp(load_default=None),
    "venue": Text(max_length=100, load_default=None),
    "round": CsvInteger(validate=validate.Range(1, MAX_ROUND), load_default=None),
    "home_score": CsvInteger(validate=validate.Range(0, MAX_SCORE), load_default=None),
    "away_score": CsvInteger(validate=validate.Range(0, MAX_SCORE), load_default=None),
    "status": Choice(STATUSES, load_default="scheduled"),
}


# --- decoding ---------------------------------------------------------------------------------


def decode_upload(body: bytes) -> str | list[RowError]:
    """UTF-8 with an optional byte order mark; anything else is refused with its row."""
    raw = body.removeprefix(BOM.encode())
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        row = raw[: exc.start].count(b"\n") + 1
        offset = exc.start + len(body) - len(raw)
        return [RowError(row, None, f"not valid UTF-8 (byte {offset}); save the file as UTF-8")]


def error_details(errors: Sequence[RowError]) -> dict[str, Any]:
    """The `details` of a 422 `invalid_csv`: at most MAX_ERRORS errors, in file order."""
    return {
        "errors": [error.as_dict() for error in errors[:MAX_ERRORS]],
        "truncated": len(errors) > MAX_ERRORS,
    }


# --- parsing ----------------------------------------------------------------------------------


@dataclass
class _Parser:
    existing: dict[str, str]  # team_key → name, teams already in the event
    knockout: bool
    errors: list[RowError] = field(default_factory=list)
    teams: list[TeamPlan] = field(default_factory=list)
    games: list[tuple[int, dict[str, Any], bool]] = field(default_factory=list)
    team_rows: dict[str, TeamPlan] = field(default_factory=dict)  # team_key → first definition

    def fail(self, row: int, column: str | None, message: str) -> None:
        self.errors.append(RowError(row, column, message))

    @property
    def full(self) -> bool:
        return len(self.errors) > MAX_ERRORS

    def header(self, cells: list[str]) -> list[str] | None:
        names = [cell.strip().lower() for cell in cells]
        if names:
            names[0] = names[0].removeprefix(BOM)
        seen: set[str] = set()
        for position, name in enumerate(names, start=1):
            if not name:
                self.fail(1, None, f"header cell {position} is empty; name every column")
            elif name not in COLUMNS:
                self.fail(1, name, f"unknown column; the columns are {', '.join(COLUMNS)}")
            elif name in seen:
                self.fail(1, name, "this column appears twice")
            seen.add(name)
        if "kind" not in seen:
            self.fail(1, "kind", "the header must have a kind column (team or game)")
        return None if self.errors else names

    def row(self, number: int, header: list[str], cells: list[str]) -> None:
        if len(cells) != len(header):
            self.fail(number, None, f"has {len(cells)} cells; the header has {len(header)}")
            return
        values = {
            name: unescape_cell(cell)
            for name, cell in zip(header, cells, strict=True)
            if cell.strip()
        }
        kind = values.pop("kind", "").strip().lower()
        # A cell that fails leaves the others checked: a valid name still counts as a team,
        # and valid team names in a game are still looked up, so every problem is reported.
        if kind == "team":
            self._cells_unused(number, values, GAME_COLUMNS, "game")
            data, _valid = self._load(number, TEAM_FIELDS, values)
            if "name" in data:
                self._team(number, data)
        elif kind == "game":
            self._cells_unused(number, values, TEAM_COLUMNS, "team")
            data, valid = self._load(number, GAME_FIELDS, values)
            if valid:
                self._game_scores(number, data)
            self.games.append((number, data, valid))
        else:
            self.fail(number, "kind", "must be team or game")

    def _cells_unused(
        self, number: int, values: Mapping[str, str], columns: Iterable[str], other: str
    ) -> None:
        for column in columns:
            if column in values:
                self.fail(number, column, f"only {other} rows use this column; leave it empty")

    def _load(
        self, number: int, columns: Mapping[str, fields.Field], values: Mapping[str, str]
    ) -> tuple[dict[str, Any], bool]:
        """The cells that are valid (or absent with a default), and whether all were."""
        data: dict[str, Any] = {}
        valid = True
        for column, column_field in columns.items():
            if column not in values:
                if column_field.required:
                    self.fail(number, column, "required")
                    valid = False
                else:
                    data[column] = column_field.load_default
                continue
            try:
                data[column] = column_field.deserialize(values[column])
            except ValidationError as exc:
                valid = False
                for message in _messages(exc.messages):
                    self.fail(number, column, message)
        return data, valid

    def _team(self, number: int, data: dict[str, Any]) -> None:
        name = data["name"]
        key = team_key(name)
        if key in self.existing:
            self.fail(number, "name", f"the event already has a team named {self.existing[key]!r}")
        elif key in self.team_rows:
            first = self.team_rows[key].row
            self.fail(number, "name", f"a team of this name is already defined on row {first}")
        else:
            team = TeamPlan(number, name, data.get("group"))
            self.team_rows[key] = team
            self.teams.append(team)

    def _game_scores(self, number: int, data: dict[str, Any]) -> None:
        status = data["status"]
        scores = {"home_score": data["home_score"], "away_score": data["away_score"]}
        if status == "scheduled":
            for column, score in scores.items():
                if score is not None:
                    self.fail(number, column, "a scheduled game has no score; set status")
        elif status in ("live", "final"):
            for column, score in scores.items():
                if score is None:
                    self.fail(number, column, f"required for a {status} game")
        elif (scores["home_score"] is None) != (scores["away_score"] is None):
            missing = "home_score" if scores["home_score"] is None else "away_score"
            self.fail(number, missing, "give both scores or neither")
        draw = scores["home_score"] is not None and scores["home_score"] == scores["away_score"]
        if self.knockout and status == "final" and data["round"] is not None and draw:
            self.fail(number, "away_score", "a knockout game needs a winner")

    def resolve(self, number: int, data: dict[str, Any], valid: bool) -> GamePlan | None:
        home = self._team_name(number, "home", data["home"]) if "home" in data else None
        away = self._team_name(number, "away", data["away"]) if "away" in data else None
        if home is None or away is None:
            return None
        if team_key(home) == team_key(away):
            self.fail(number, "away", "a team cannot play itself")
            return None
        if not valid:
            return None
        return GamePlan(
            row=number,
            home=home,
            away=away,
            starts_at=data["starts_at"],
            venue=data["venue"],
            round=data["round"],
            home_score=data["home_score"],
            away_score=data["away_score"],
            status=data["status"],
        )

    def _team_name(self, number: int, column: str, name: str) -> str | None:
        key = team_key(name)
        if key in self.existing:
            return self.existing[key]
        defined = self.team_rows.get(key)
        if defined is not None and defined.row < number:
            return defined.name
        if defined is not None:
            self.fail(
                number, column, f"{name!r} is defined on row {defined.row}; define teams first"
            )
        else:
            self.fail(number, column, f"no team named {name!r} in the event or above this row")
        return None


def _messages(messages: Any) -> list[str]:
    return [str(m) for m in messages] if isinstance(messages, list) else [str(messages)]


def _column_order(error: RowError) -> tuple[int, int]:
    position = COLUMNS.index(error.column) if error.column in COLUMNS else -1
    return error.row, position


def parse_import(
    text: str, *, existing_teams: Iterable[str] = (), knockout: bool = False
) -> ImportPlan | list[RowError]:
    """Validate the whole file; the plan, or every problem (stops after MAX_ERRORS + 1).

    `existing_teams`: the names of the event's teams, which games may use and new teams may
    not repeat. `knockout`: the event is a single-elimination bracket, where a final game in
    a round cannot end level."""
    parser = _Parser({team_key(name): name for name in existing_teams}, knockout)
    reader = csv.reader(io.StringIO(text.removeprefix(BOM), newline=""), strict=True)
    header: list[str] | None = None
    rows = 0
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            if header is None:
                header = parser.header(cells)
                if header is None:
                    break
                continue
            if not any(cell.strip() for cell in cells):
                continue  # blank rows are allowed, and still counted
            rows += 1
            if rows > MAX_ROWS:
                parser.fail(number, None, f"too many rows: at most {MAX_ROWS} per import")
                break
            parser.row(number, header, cells)
            if parser.full:
                break
    except csv.Error as exc:
        parser.fail(number + 1, None, f"cannot read this row: {exc}")
    if number == 0 and header is None and not parser.errors:
        parser.fail(1, None, "the file is empty; the first row must be the header")
    plan = ImportPlan(teams=parser.teams)
    for game_row, data, valid in parser.games:
        game = parser.resolve(game_row, data, valid)
        if game is not None:
            plan.games.append(game)
    if parser.errors:
        return sorted(parser.errors, key=_column_order)
    return plan


# --- export -----------------------------------------------------------------------------------


# Named tuples: an export builds one per stored row (10,000 games), at a third of a
# dataclass's cost.
class ExportTeam(NamedTuple):
    name: str
    group: str | None


class ExportGame(NamedTuple):
    home: str
    away: str
    starts_at: datetime | None
    venue: str | None
    round: int | None
    home_score: int | None
    away_score: int | None
    status: str


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return escape_cell(str(value))


def render_export(teams: Iterable[ExportTeam], games: Iterable[ExportGame]) -> str:
    """The header, every team, then every game; each cell escaped against formulas."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for team in teams:
        writer.writerow([_cell(v) for v in ("team", team.name, team.group)] + [""] * 8)
    for game in games:
        cells = (
            "game",
            None,
            None,
            game.home,
            game.away,
            game.starts_at,
            game.venue,
            game.round,
            game.home_score,
            game.away_score,
            game.status,
        )
        writer.writerow([_cell(value) for value in cells])
    return out.getvalue()
