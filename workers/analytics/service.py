"""One analytics question, end to end: which event → plan → cached or queried → sentence.

The question text is only ever read by the parser (or offered to the optional language-model
planner); what reaches the database is the validated plan, through the executor's
parameterised queries, in a read-only transaction with a statement timeout.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from models import Event, Game, StandingsSnapshot, Team
from models.visibility import visible_events
from workers.analytics.cache import AnswerCache, cache_key
from workers.analytics.errors import AnalyticsError, ErrorCode
from workers.analytics.language.context import EventContext, TeamRef
from workers.analytics.language.parser import (
    UnrecognizedQuestion,
    covers,
    named_events,
    off_topic_question,
    parse_question,
)
from workers.analytics.plan import Plan
from workers.analytics.queries.executor import execute_plan
from workers.analytics.queries.readonly import QueryTimeout, read_only_session
from workers.analytics.wording.answers import answer_sentence
from workers.analytics.wording.understood import understood_as
from workers.metrics import ANALYTICS_QUESTIONS, ANALYTICS_SECONDS

log = logging.getLogger("matchday.analytics")
EVENT_SEARCH_LIMIT = 1_000  # the newest visible events a question's event name is matched to
EVENTS_IN_HINT = 5
_FOR_THE_MODEL = (ErrorCode.UNRECOGNIZED_QUESTION, ErrorCode.OFF_TOPIC)
CANDIDATES_SHOWN = 10


@dataclass(frozen=True)
class Viewer:
    """Who asks: decides which events a question may reach (private ones stay hidden)."""

    user_id: int | None = None
    admin: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "admin": self.admin}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Viewer:
        return cls(user_id=data.get("user_id"), admin=bool(data.get("admin")))


@dataclass(frozen=True)
class AnalyticsConfig:
    row_cap: int = 500
    statement_timeout_ms: int = 2_000

    @classmethod
    def from_settings(cls, settings: Settings) -> AnalyticsConfig:
        return cls(settings.analytics_row_cap, settings.analytics_statement_timeout_ms)


class Planner(Protocol):
    """A fallback reader of questions the parser cannot read (the language-model planner)."""

    def propose(self, question: str, event: EventContext) -> Plan | None: ...


def answer_question(
    sessions: sessionmaker[Session],
    question: str,
    *,
    event_id: int | None,
    viewer: Viewer,
    config: AnalyticsConfig,
    cache: AnswerCache | None = None,
    planner: Planner | None = None,
    today: date | None = None,
    explain: bool = False,
    event_date: date | None = None,
) -> dict[str, Any]:
    """The API's answer `{question, answer, understood_as, columns, rows, plan, event}`
    (+ `sql`). `event_date` picks, among the events the question could mean, the one running
    on that day.

    Raises UnrecognizedQuestion, and AnalyticsError (`not_found` event, `ambiguous_event`,
    `query_timeout`)."""
    started = time.perf_counter()
    outcome, intent = "error", "none"
    today = today or datetime.now(UTC).date()
    try:
        with read_only_session(sessions, timeout_ms=config.statement_timeout_ms) as session:
            event = _resolve_event(session, question, event_id, event_date, viewer, today)
            context = _event_context(session, event)
            read = _read(question, context, today)
            # Only a question the parser could not read goes to the language model (it may
            # know words the parser does not); an unknown team or a part no plan can use is
            # refused as it is.
            if isinstance(read, UnrecognizedQuestion) and (
                planner is None or read.code not in _FOR_THE_MODEL
            ):
                raise read
            if isinstance(read, Plan):  # the common case: all in one short transaction
                intent = read.intent
                outcome, payload = _answer(session, question, read, context, config, cache, explain)
                return payload
        # Only the language model might read it: ask it outside any transaction.
        assert planner is not None and isinstance(read, UnrecognizedQuestion)
        proposed = planner.propose(question, context)
        unused = [] if proposed is None else covers(question, context, today, proposed)
        if unused:  # the model's plan drops words the parser knows: refuse it, like ours
            log.info("language-model plan refused", extra={"not_understood": unused})
        if proposed is None or unused:
            raise read  # the parser's own error, with its examples and did-you-mean
        log.info("question planned by the language model", extra={"intent": proposed.intent})
        intent = proposed.intent
        with read_only_session(sessions, timeout_ms=config.statement_timeout_ms) as session:
            outcome, payload = _answer(session, question, proposed, context, config, cache, explain)
            return payload
    except UnrecognizedQuestion:
        outcome = "unrecognized"
        raise
    except QueryTimeout as exc:
        outcome = "timeout"
        raise AnalyticsError(
            ErrorCode.QUERY_TIMEOUT, "the question took too long to answer; narrow it down"
        ) from exc
    finally:
        ANALYTICS_QUESTIONS.labels(outcome, intent).inc()
        ANALYTICS_SECONDS.labels(outcome).observe(time.perf_counter() - started)


def _answer(
    session: Session,
    question: str,
    plan: Plan,
    context: EventContext,
    config: AnalyticsConfig,
    cache: AnswerCache | None,
    explain: bool,
) -> tuple[str, dict[str, Any]]:
    """(outcome, payload): from the cache when the plan was answered on unchanged data."""
    key = cache_key(plan.to_dict(), _data_version(session, context.id), explain=explain)
    cached = cache.get(key) if cache is not None else None
    if cached is not None:
        return "cached", {**cached, "question": question}
    result = execute_plan(session, plan, row_cap=config.row_cap)
    names = {team.id: team.name for team in context.teams}
    payload: dict[str, Any] = {
        "question": question,
        "answer": answer_sentence(
            plan,
            result.columns,
            result.rows,
            event_name=context.name,
            team_names=names,
        ),
        "understood_as": understood_as(plan, event_name=context.name, team_names=names),
        "columns": result.columns,
        "rows": result.rows,
        "plan": plan.to_dict(),
        "event": {"id": context.id, "name": context.name},
    }
    if explain:
        payload["sql"] = result.statements
    if cache is not None:
        cache.put(key, payload)
    return "answered", payload


def answer_or_error(
    sessions: sessionmaker[Session], question: str, **kwargs: Any
) -> dict[str, Any]:
    """answer_question for transports (Celery, the in-process runner): never raises for an
    unanswerable question; returns `{"answer": ...}` or `{"error": {code, message, details}}`
    (the server maps the code to an HTTP status)."""
    try:
        return {"answer": answer_question(sessions, question, **kwargs)}
    except UnrecognizedQuestion as exc:
        return {"error": unrecognized_error(exc).to_dict()}
    except AnalyticsError as exc:
        return {"error": exc.to_dict()}


def unrecognized_error(exc: UnrecognizedQuestion) -> AnalyticsError:
    details: dict[str, Any] = {**exc.details, "examples": list(exc.examples)}
    if exc.suggestion:
        details["did_you_mean"] = exc.suggestion
    return AnalyticsError(ErrorCode(exc.code), exc.message, details)


def _resolve_event(
    session: Session,
    question: str,
    event_id: int | None,
    event_date: date | None,
    viewer: Viewer,
    today: date,
) -> Event:
    """The event named by `event_id`, else by the question (narrowed by `event_date`), else
    the only visible one (or the only one running on `event_date`)."""
    visible = visible_events(viewer.user_id, admin=viewer.admin)
    if event_id is not None:
        event = session.scalar(visible.where(Event.id == event_id))
        if event is None:  # private events are as absent as missing ones
            raise AnalyticsError(ErrorCode.NOT_FOUND, "no such event")
        return event
    candidates = session.execute(
        visible.with_only_columns(Event.id, Event.name, Event.starts_on, Event.ends_on)
        .order_by(Event.id.desc())
        .limit(EVENT_SEARCH_LIMIT)
    ).all()
    named = named_events(question, [(row.id, row.name) for row in candidates])
    pool = [row for row in candidates if row.id in named] if named else list(candidates)
    if event_date is not None:
        pool = [row for row in pool if _runs_on(row, event_date)]
    if len(pool) != 1:
        if _off_topic(session, question, candidates, today):
            raise UnrecognizedQuestion(
                "I can answer questions about an event's teams, games, results and table only.",
                code=ErrorCode.OFF_TOPIC.value,
            )
        raise _which_event(candidates, pool if named or event_date else candidates, event_date)
    found = session.get(Event, pool[0].id)
    assert found is not None
    return found


def _runs_on(row: Any, day: date) -> bool:
    starts, ends = row.starts_on, row.ends_on
    return (starts is None or starts <= day) and (ends is None or day <= ends)


def _off_topic(session: Session, question: str, candidates: Sequence[Any], today: date) -> bool:
    """Off-topic for every visible event: read with all their team names (so "Lions?" is not)."""
    ids = [row.id for row in candidates]
    names = session.execute(select(Team.id, Team.name).where(Team.event_id.in_(ids))).all()
    return off_topic_question(question, today, [(row.id, row.name) for row in names])


def _which_event(
    candidates: Sequence[Any], pool: Sequence[Any], event_date: date | None
) -> AnalyticsError | UnrecognizedQuestion:
    if not candidates:
        return UnrecognizedQuestion("there are no events to ask about yet", None, [])
    shown = list(pool or candidates)[:CANDIDATES_SHOWN]
    listed = [
        {
            "id": row.id,
            "name": row.name,
            "starts_on": row.starts_on.isoformat() if row.starts_on else None,
            "ends_on": row.ends_on.isoformat() if row.ends_on else None,
        }
        for row in shown
    ]
    if event_date is not None and not pool:
        message = f"no such event runs on {event_date.isoformat()}; pick one by event_id"
    else:
        message = "which event? Send event_id, or event_date to pick the one running that day"
    examples = [f"Who has the most points in {row.name}?" for row in shown[:EVENTS_IN_HINT]]
    return AnalyticsError(
        ErrorCode.AMBIGUOUS_EVENT, message, {"candidates": listed, "examples": examples}
    )


def _event_context(session: Session, event: Event) -> EventContext:
    teams = session.execute(
        select(Team.id, Team.name, Team.group).where(Team.event_id == event.id).order_by(Team.id)
    ).all()
    year = event.starts_on.year if event.starts_on else None
    if year is None:
        first = session.scalar(select(func.min(Game.starts_at)).where(Game.event_id == event.id))
        year = first.year if first else None
    return EventContext(
        id=event.id,
        name=event.name,
        teams=tuple(TeamRef(t.id, t.name, t.group) for t in teams),
        year=year,
    )


def _read(question: str, context: EventContext, today: date) -> Plan | UnrecognizedQuestion:
    try:
        return parse_question(question, context, today)
    except UnrecognizedQuestion as exc:
        return exc


def _data_version(session: Session, event_id: int) -> str:
    """Changes whenever anything an answer reads changes: a recompute (standings version),
    any game written (count, newest update) or a team added. One round trip."""
    games = select(Game).where(Game.event_id == event_id)
    teams = select(Team).where(Team.event_id == event_id)
    row = session.execute(
        select(
            select(StandingsSnapshot.version)
            .where(StandingsSnapshot.event_id == event_id)
            .scalar_subquery(),
            games.with_only_columns(func.count(Game.id)).scalar_subquery(),
            games.with_only_columns(func.max(Game.updated_at)).scalar_subquery(),
            teams.with_only_columns(func.count(Team.id)).scalar_subquery(),
            teams.with_only_columns(func.max(Team.id)).scalar_subquery(),
        )
    ).one()
    standings, game_count, newest, team_count, last_team = row
    stamp = newest.isoformat() if newest else "-"
    return f"s{standings or 0}:g{game_count}:{stamp}:t{team_count}:{last_team or 0}"
