"""Evaluate the analytics question sets: `make eval-analytics`.

    python -m tests.analytics.eval [--set questions|heldout|both] [--plans-only] [-v]

Full mode loads fixture.yaml into a fresh embedded SQLite database (every migration applied)
and asks `workers.analytics.service.answer_question` each question: the plan must match the
expected one and the answer sentence must name exactly the expected teams and contain every
expected number. Plans-only mode needs no database: it builds the parser's EventContext from
the fixture (ids = position in the fixture) and checks `find_event` + `parse_question` only.

Prints accuracy per intent and overall, and the median parse time. Exits non-zero only when
the evaluation itself fails (a missing module, a crash on a question), never for low accuracy:
the thresholds live in test_question_sets.py.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from tests.analytics.reference import FIXTURE_PATH, Fixture, load_fixture

HERE = Path(__file__).parent
SHAPES = HERE / "shapes"
# One file per plan shape (tuned), and the held-out files. heldout/shapes/heldout were never
# tuned question by question, but their refusals steered what was built; heldout_fresh was
# written later, before its author read the parser, and its questions are never edited, but
# its 9 refusals in turn steered the round after it: it no longer measures unseen questions.
SETS = {
    "questions": HERE / "questions.yaml",
    "heldout": HERE / "heldout.yaml",
    **{
        f"shapes/{p.stem}": p
        for p in sorted(SHAPES.glob("*.yaml"))
        if not p.stem.startswith("heldout")
    },
    "shapes/heldout": SHAPES / "heldout.yaml",
    "shapes/heldout_fresh": SHAPES / "heldout_fresh.yaml",
    "shapes/heldout_fresh2": SHAPES / "heldout_fresh2.yaml",
}
HELDOUT_SETS = ("heldout", "shapes/heldout")
# 0 wrong enforced, and the held-out floor. heldout_fresh's refusals were used (not unseen now);
# heldout_fresh2 was written blind after that round and is the honest measure: only its two
# wrong answers were fixed, its refusals are left as they are.
FRESH_SETS = ("shapes/heldout_fresh", "shapes/heldout_fresh2")
DEFAULT_EVENT = "Summer Cup"
UNRECOGNIZED = "unrecognized"  # refused, with any code
REFUSAL_CODES = (
    "unrecognized_question",
    "off_topic",
    "unknown_team",
    "ambiguous_event",
    "unsupported_question",
)
ORDERED_INTENTS = ("leader", "top_n", "extreme", "compare", "check")  # `order` changes the answer
# Where the teams' order is part of the question ("did A beat B", "A ahead of B").
ORDERED_TEAMS = ("compare", "difference", "check", "opponents")
DEFAULT_LIMITS = {"form": 5, "top_n": 5}  # a missing limit means this many
PLAN_FIELDS = ("intent", "metric", "teams", "filters", "group_by", "order", "limit")


# --- question sets ------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    q: str
    event: str | None  # passed as event_id; None = the question names it
    expected_event: str
    plan: dict[str, Any] | None  # None: the question must be refused
    also: tuple[dict[str, Any], ...] = ()
    answer: dict[str, Any] = field(default_factory=dict)
    refusal: str | None = None  # the error code a refused question must get (None = any)

    @property
    def intent(self) -> str:
        return self.plan["intent"] if self.plan else UNRECOGNIZED


def load_entries(path: Path) -> list[Entry]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [_entry(item) for item in raw]


def _entry(item: dict[str, Any]) -> Entry:
    passed = item.get("event", DEFAULT_EVENT)
    expected_event = passed if passed is not None else item.get("named_event", DEFAULT_EVENT)
    expect = item.get("expect")
    if expect is not None and expect != UNRECOGNIZED and expect not in REFUSAL_CODES:
        raise ValueError(f"unknown expect: {expect!r} ({item['q']!r})")
    return Entry(
        q=str(item["q"]),
        event=passed,
        expected_event=expected_event,
        plan=None if expect else dict(item["plan"]),
        also=tuple(item.get("also") or ()),
        answer=dict(item.get("answer") or {}),
        refusal=None if expect in (None, UNRECOGNIZED) else expect,
    )


# --- comparing plans ----------------------------------------------------------------------


def canonical_plan(plan: Mapping[str, Any], team_name: Callable[[Any], str]) -> dict[str, Any]:
    """A plan with defaults filled in and teams by name, so equal meanings compare equal."""
    intent = plan["intent"]
    filters = {
        key: value.isoformat() if isinstance(value, date) else value
        for key, value in (plan.get("filters") or {}).items()
        if value is not None
    }
    limit = plan.get("limit")
    teams = [team_name(t) for t in plan.get("teams") or ()]
    return {
        "intent": intent,
        "metric": plan.get("metric"),
        "teams": teams if intent in ORDERED_TEAMS else sorted(teams),
        "filters": filters,
        "group_by": plan.get("group_by"),
        "order": (plan.get("order") or "desc") if intent in ORDERED_INTENTS else None,
        "limit": DEFAULT_LIMITS.get(intent) if limit is None else limit,
    }


def plan_matches(entry: Entry, got: Mapping[str, Any], team_name: Callable[[Any], str]) -> bool:
    assert entry.plan is not None
    actual = canonical_plan(got, team_name)
    return any(canonical_plan(expected, str) == actual for expected in (entry.plan, *entry.also))


def short_plan(plan: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={plan[k]!r}" for k in PLAN_FIELDS if plan.get(k) not in (None, [], {}))


# --- checking answer sentences ------------------------------------------------------------

_NUMBER = re.compile(r"(\d+(?:\.\d+)?)(%?)")


def mentioned_teams(sentence: str, names: Sequence[str]) -> set[str]:
    lowered = sentence.casefold()
    return {
        name
        for name in names
        if re.search(rf"(?<![\w]){re.escape(name.casefold())}(?![\w])", lowered)
    }


def _close(token: str, value: float, *, whole_ok: bool = False) -> bool:
    """`token` says `value`, rounded to the token's own decimals (a bare integer must be exact,
    unless whole_ok: percentages are often rounded to whole numbers)."""
    decimals = len(token.split(".")[1]) if "." in token else 0
    if decimals == 0 and not whole_ok:
        return float(token) == value
    return abs(float(token) - value) <= 0.5 * 10**-decimals + 1e-3


def number_said(expected: Any, sentence: str) -> bool:
    tokens = _NUMBER.findall(sentence)
    if isinstance(expected, str) and expected.endswith("%"):
        pct = float(expected[:-1])
        return any(
            _close(t, pct, whole_ok=True) or (not sign and _close(t, pct / 100))
            for t, sign in tokens
        )
    return any(_close(t, abs(float(expected))) for t, _ in tokens)


def sentence_problem(sentence: str, answer: Mapping[str, Any], names: Sequence[str]) -> str | None:
    """Why `sentence` is not the expected answer; None when it is."""
    expected = set(answer.get("teams") or ())
    named = mentioned_teams(sentence, names)
    if answer.get("partial"):
        if not expected <= named:
            return f"does not name {sorted(expected - named)}"
    elif named != expected:
        extra, missing = sorted(named - expected), sorted(expected - named)
        return f"teams: missing {missing}, extra {extra}"
    first = answer.get("first")  # a yes/no question: "Yes" or "No" comes first
    if first is not None and not re.match(rf"{first}\b", sentence):
        return f"does not begin with {first!r}"
    missing_numbers = [n for n in answer.get("numbers") or () if not number_said(n, sentence)]
    return f"numbers missing: {missing_numbers}" if missing_numbers else None


# --- running questions --------------------------------------------------------------------


@dataclass
class Outcome:
    """What the system did with one question."""

    plan: dict[str, Any] | None = None  # teams by name
    event: str | None = None
    sentence: str | None = None
    refused: str | None = None  # the refusal message
    code: str | None = None  # the refusal's error code
    crash: str | None = None
    parse_seconds: float | None = None


@dataclass(frozen=True)
class FixtureIds:
    """Database ids of the fixture's events and teams (by event name, then team name)."""

    events: dict[str, int]
    teams: dict[str, dict[str, int]]


class Runner:
    """Parses (and, in full mode, answers) questions over the fixture."""

    def __init__(self, fixture: Fixture, ids: FixtureIds) -> None:
        from workers.analytics.language.context import EventContext, TeamRef

        self.fixture = fixture
        self.event_ids = dict(ids.events)
        team_ids = ids.teams
        self.contexts = {
            e.name: EventContext(
                id=self.event_ids[e.name],
                name=e.name,
                teams=tuple(TeamRef(team_ids[e.name][t], t) for t in e.teams),
                year=e.starts_on.year,
            )
            for e in fixture.events
        }
        self.team_names = {i: t for by_name in team_ids.values() for t, i in by_name.items()}
        self.event_names = {i: name for name, i in self.event_ids.items()}

    def team_name(self, team_id: Any) -> str:
        return self.team_names.get(team_id, f"#{team_id}")

    def parse(self, entry: Entry) -> Outcome:
        from workers.analytics.language.parser import (
            UnrecognizedQuestion,
            find_event,
            parse_question,
        )

        started = time.perf_counter()
        try:
            if entry.event is not None:
                event_id: int | None = self.event_ids[entry.event]
            else:
                event_id = find_event(entry.q, [(i, n) for n, i in self.event_ids.items()])
            if event_id is None:
                return Outcome(refused="no event found in the question", code="ambiguous_event")
            name = self.event_names[event_id]
            plan = parse_question(entry.q, self.contexts[name], self.fixture.today)
        except UnrecognizedQuestion as exc:
            elapsed = time.perf_counter() - started
            return Outcome(refused=str(exc), code=exc.code, parse_seconds=elapsed)
        elapsed = time.perf_counter() - started
        return Outcome(plan=plan.to_dict(), event=name, parse_seconds=elapsed)

    def answer(self, entry: Entry) -> Outcome:
        return self.parse(entry)


class FullRunner(Runner):
    """Also asks the service, over a database loaded with the fixture."""

    def __init__(self, fixture: Fixture, ids: FixtureIds, sessions: Any) -> None:
        super().__init__(fixture, ids)
        self.sessions = sessions

    def answer(self, entry: Entry) -> Outcome:
        from workers.analytics.errors import AnalyticsError
        from workers.analytics.language.parser import UnrecognizedQuestion
        from workers.analytics.service import AnalyticsConfig, Viewer, answer_question

        parsed = self.parse(entry)  # for the parse time only; the service's plan is judged
        event_id = None if entry.event is None else self.event_ids[entry.event]
        try:
            payload = answer_question(
                self.sessions,
                entry.q,
                event_id=event_id,
                viewer=Viewer(),
                config=AnalyticsConfig(),
                today=self.fixture.today,
            )
        except UnrecognizedQuestion as exc:
            return Outcome(refused=str(exc), code=exc.code, parse_seconds=parsed.parse_seconds)
        except AnalyticsError as exc:
            return Outcome(refused=exc.message, code=exc.code.value)
        plan = payload["plan"]
        return Outcome(
            plan=plan,
            event=self.event_names.get(plan["event_id"]),
            sentence=payload["answer"],
            parse_seconds=parsed.parse_seconds,
        )


# --- grading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Graded:
    """One question's grade. A wrong answer (answered, but not what was asked, or answered
    when it must be refused) is counted apart from a refusal: a refusal is safe, a wrong
    answer is repeated by a spectator."""

    entry: Entry
    ok: bool
    why: str = ""
    crashed: bool = False
    wrong: bool = False  # answered, and the answer is not the expected one

    @property
    def refused(self) -> bool:
        return not self.ok and not self.wrong and not self.crashed


def grade(entry: Entry, outcome: Outcome, runner: Runner, all_teams: Sequence[str]) -> Graded:
    if outcome.crash:
        return Graded(entry, False, f"crashed: {outcome.crash}", crashed=True)
    if entry.plan is None:
        if outcome.refused is None:
            why = f"should be refused, got {_got(outcome, runner)}"
            return Graded(entry, False, why, wrong=True)
        if entry.refusal is not None and outcome.code != entry.refusal:
            return Graded(entry, False, f"refused as {outcome.code}: {outcome.refused}")
        return Graded(entry, True)
    if outcome.refused is not None or outcome.plan is None:
        return Graded(entry, False, f"refused ({outcome.code}): {outcome.refused}")
    if outcome.event != entry.expected_event:
        why = f"event {outcome.event!r}, expected {entry.expected_event!r}"
        return Graded(entry, False, why, wrong=True)
    if not plan_matches(entry, outcome.plan, runner.team_name):
        return Graded(entry, False, f"plan {_got(outcome, runner)}", wrong=True)
    if outcome.sentence is not None:
        problem = sentence_problem(outcome.sentence, entry.answer, all_teams)
        if problem:
            why = f"answer {outcome.sentence!r}: {problem}"
            return Graded(entry, False, why, wrong=True)
    return Graded(entry, True)


def _got(outcome: Outcome, runner: Runner) -> str:
    if outcome.plan is None:
        return "nothing"
    return short_plan(canonical_plan(outcome.plan, runner.team_name))


@dataclass
class Report:
    name: str
    graded: list[Graded]
    parse_seconds: list[float]

    def by_intent(self) -> dict[str, tuple[int, int]]:
        counts: dict[str, tuple[int, int]] = {}
        for g in self.graded:
            n, ok = counts.get(g.entry.intent, (0, 0))
            counts[g.entry.intent] = (n + 1, ok + g.ok)
        return counts

    def outcomes_by_intent(self) -> dict[str, tuple[int, int, int, int]]:
        """intent → (questions, correct, wrong, refused)."""
        counts: dict[str, tuple[int, int, int, int]] = {}
        for g in self.graded:
            n, ok, wrong, refused = counts.get(g.entry.intent, (0, 0, 0, 0))
            counts[g.entry.intent] = (n + 1, ok + g.ok, wrong + g.wrong, refused + g.refused)
        return counts

    @property
    def wrong(self) -> list[Graded]:
        return [g for g in self.graded if g.wrong]

    @property
    def answered_share(self) -> float:
        """Share of the questions answered correctly (refusals of refusable ones count)."""
        return self.accuracy

    @property
    def accuracy(self) -> float:
        return sum(g.ok for g in self.graded) / len(self.graded) if self.graded else 0.0

    def intent_accuracy(self) -> dict[str, float]:
        return {intent: ok / n for intent, (n, ok) in self.by_intent().items()}

    @property
    def crashes(self) -> list[Graded]:
        return [g for g in self.graded if g.crashed]

    @property
    def median_parse_ms(self) -> float:
        return statistics.median(self.parse_seconds) * 1000 if self.parse_seconds else 0.0


def evaluate(name: str, runner: Runner, *, tracebacks: bool = False) -> Report:
    entries = load_entries(SETS[name])
    all_teams = [t for e in runner.fixture.events for t in e.teams]
    graded, timings = [], []
    for entry in entries:
        try:
            outcome = runner.answer(entry)
        except Exception as exc:  # a crash is a result to report, not a reason to stop
            outcome = Outcome(crash=f"{type(exc).__name__}: {exc}")
            if tracebacks:
                traceback.print_exc(file=sys.stderr)
        if outcome.parse_seconds is not None:
            timings.append(outcome.parse_seconds)
        graded.append(grade(entry, outcome, runner, all_teams))
    return Report(name, graded, timings)


# --- the database for full mode -----------------------------------------------------------


@contextmanager
def fixture_database(fixture: Fixture) -> Iterator[tuple[Any, FixtureIds]]:
    """A fresh, migrated SQLite database holding the fixture: (sessionmaker, ids)."""
    from config.settings import load_settings
    from models.db import make_sync_engine, sync_session_factory
    from models.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="matchday-eval-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'eval.sqlite3'}"
        upgrade(url)
        settings = load_settings(
            {"DATABASE_URL": url, "DATA_DIR": tmp, "JWT_SECRET": "eval-" + "x" * 40}
        )
        engine = make_sync_engine(settings)
        try:
            sessions = sync_session_factory(engine)
            yield sessions, _insert_fixture(sessions, fixture)
        finally:
            engine.dispose()


def _insert_fixture(sessions: Any, fixture: Fixture) -> FixtureIds:
    from datetime import UTC, datetime

    from models import Event, Game, StandingsSnapshot, Team, User
    from models.standings_source import table_for

    ids = FixtureIds({}, {})
    with sessions.begin() as session:
        owner = User(email="organizer@example.com", display_name="Organizer", password_hash="!")
        session.add(owner)
        session.flush()
        for spec in fixture.events:
            event = Event(
                name=spec.name,
                sport=spec.sport,
                starts_on=spec.starts_on,
                ends_on=spec.ends_on,
                visibility="public",
                scoring=dict(spec.scoring),
                tiebreakers=list(spec.tiebreakers),
                owner_id=owner.id,
            )
            session.add(event)
            session.flush()
            teams = {name: Team(event_id=event.id, name=name) for name in spec.teams}
            session.add_all(teams.values())
            session.flush()
            games = [
                Game(
                    event_id=event.id,
                    home_team_id=teams[g.home].id,
                    away_team_id=teams[g.away].id,
                    home_score=g.home_score,
                    away_score=g.away_score,
                    status=g.status,
                    starts_at=g.starts_at.replace(tzinfo=UTC),  # the fixture's times are UTC
                    round=g.round,
                )
                for g in spec.games
            ]
            session.add_all(games)
            session.flush()
            rows = [row.as_dict() for row in table_for(event, teams.values(), games)]
            session.add(
                StandingsSnapshot(
                    event_id=event.id,
                    version=1,
                    rows=rows,
                    computed_from=datetime(*fixture.today.timetuple()[:3], tzinfo=UTC),
                )
            )
            ids.events[spec.name] = event.id
            ids.teams[spec.name] = {name: team.id for name, team in teams.items()}
    return ids


def positional_ids(fixture: Fixture) -> FixtureIds:
    """Ids for plans-only mode: positions in the fixture (teams counted across events)."""
    ids = FixtureIds({}, {})
    position = 0
    for index, event in enumerate(fixture.events, start=1):
        ids.events[event.name] = index
        ids.teams[event.name] = {}
        for team in event.teams:
            position += 1
            ids.teams[event.name][team] = position
    return ids


@contextmanager
def make_runner(plans_only: bool, fixture: Fixture | None = None) -> Iterator[Runner]:
    """The runner of either mode; raises MissingModule when the analytics code is not there."""
    fixture = fixture or load_fixture(FIXTURE_PATH)
    require_modules(plans_only)
    if plans_only:
        yield Runner(fixture, positional_ids(fixture))
        return
    with fixture_database(fixture) as (sessions, ids):
        yield FullRunner(fixture, ids, sessions)


class MissingModule(RuntimeError):
    pass


def require_modules(plans_only: bool) -> None:
    import importlib

    needed = ["workers.analytics.language.parser"]
    if not plans_only:
        needed += ["workers.analytics.service", "workers.analytics.wording.answers"]
    for module in needed:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise MissingModule(f"{module} cannot be imported yet ({exc})") from exc


# --- printing -----------------------------------------------------------------------------


def format_report(report: Report, mode: str, verbose: bool) -> str:
    lines = [f"{report.name} ({mode}, {len(report.graded)} questions)"]
    head = f"  {'shape':<14}{'n':>5}{'correct':>9}{'wrong':>7}{'refused':>9}{'accuracy':>10}"
    lines.append(head)
    for intent, (n, ok, wrong, refused) in sorted(
        report.outcomes_by_intent().items(), key=_intent_order
    ):
        lines.append(f"  {intent:<14}{n:>5}{ok:>9}{wrong:>7}{refused:>9}{ok / n:>10.1%}")
    total_ok = sum(g.ok for g in report.graded)
    refused = sum(g.refused for g in report.graded)
    lines.append(
        f"  {'overall':<14}{len(report.graded):>5}{total_ok:>9}{len(report.wrong):>7}"
        f"{refused:>9}{report.accuracy:>10.1%}"
    )
    lines.append(f"  WRONG ANSWERS: {len(report.wrong)}")
    lines.append(f"  median parse time: {report.median_parse_ms:.2f} ms per question")
    if report.crashes:
        lines.append(f"  CRASHES: {len(report.crashes)}")
    if verbose:
        for g in report.graded:
            if not g.ok:
                plan = g.entry.plan
                expected = short_plan(canonical_plan(plan, str)) if plan else UNRECOGNIZED
                lines.append(f"  FAIL [{g.entry.intent}] {g.entry.q!r}")
                lines.append(f"       expected: {expected}; answer {g.entry.answer}")
                lines.append(f"       got:      {g.why}")
    return "\n".join(lines)


def _intent_order(item: tuple[str, Any]) -> tuple[int, str]:
    from workers.analytics.plan import INTENTS

    intent = item[0]
    return (INTENTS.index(intent) if intent in INTENTS else len(INTENTS), intent)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=(*SETS, "both", "all"), default="all")
    parser.add_argument("--plans-only", action="store_true", help="parser only, no database")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the failures")
    args = parser.parse_args(argv)
    if args.set == "all":
        names = list(SETS)
    elif args.set == "both":
        names = ["questions", "heldout"]
    else:
        names = [args.set]
    mode = "plans only" if args.plans_only else "full"
    try:
        with make_runner(args.plans_only) as runner:
            reports = [
                evaluate(name, runner, tracebacks=args.verbose)
                for name in names
                if SETS[name].exists()
            ]
    except MissingModule as exc:
        print(f"cannot evaluate: {exc}", file=sys.stderr)
        return 2
    for report in reports:
        print(format_report(report, mode, args.verbose))
    return 1 if any(r.crashes for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
