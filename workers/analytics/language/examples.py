"""Working example questions for an event, written with its real team names.

They are shown when a question is not understood (and used for "did you mean"), so each
one is checked against the parser before it is offered: an example that does not parse
for this event (an odd team name, a league with one team) is simply left out.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from workers.analytics.language.context import EventContext

# A fixed day: examples must not depend on the clock, and none of them names a date.
_ANY_DAY = dt.date(2000, 1, 1)


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _candidates(event: EventContext) -> list[str]:
    names = sorted(team.name for team in event.teams)
    questions = [
        "Who has the most points?",
        "Top 3 teams by goal difference",
        "How many games ended in a draw?",
        "How many goals have been scored in total?",
        "Average goals per game",
        "What was the highest-scoring game?",
        "Show the standings",
        "What games are in round 1?",
        "Which teams are still unbeaten?",
        "What share of games were home wins?",
    ]
    if names:
        first = names[0]
        questions[2:2] = [f"How many goals have {first} scored?", f"{_possessive(first)} record"]
        questions.append(f"{_possessive(first)} form")
        questions.append(f"Who have {first} beaten?")
    if len(names) > 1:
        questions.insert(4, f"What was the score when {names[0]} played {names[1]}?")
        questions.append(f"Did {names[0]} concede more than {names[1]}?")
    return questions


def example_questions(event: EventContext) -> list[str]:
    """One question per main plan shape, each known to parse for this event."""
    return list(_working(event))


@lru_cache(maxsize=128)
def _working(event: EventContext) -> tuple[str, ...]:
    # Imported here: the parser imports this module to offer examples when it gives up.
    from workers.analytics.language.parser import parse_plan
    from workers.analytics.language.reading import NoPlan

    working = []
    for question in _candidates(event):
        try:
            parse_plan(question, event, _ANY_DAY)
        except NoPlan:
            continue
        working.append(question)
    return tuple(working)
