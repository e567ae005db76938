"""Properties of the question parser that must hold for any text and any league."""

from __future__ import annotations

import datetime as dt

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from workers.analytics.language.context import EventContext, TeamRef
from workers.analytics.language.examples import example_questions
from workers.analytics.language.parser import UnrecognizedQuestion, find_event, parse_question
from workers.analytics.language.vocabulary import PHRASES
from workers.analytics.plan import Plan, plan_from_dict

FAST = settings(max_examples=300, deadline=None)
TODAY = dt.date(2026, 5, 16)
NAMES = ("Lions", "Tigers", "Bears", "Wolves", "Manchester United", "Manchester City")
EVENT = EventContext(
    5, "Summer Cup", tuple(TeamRef(i + 1, n, "AB"[i % 2]) for i, n in enumerate(NAMES)), 2026
)

# Text built from the parser's own words, team names and numbers reaches its deeper rules
# far more often than random characters do.
VOCABULARY = sorted({" ".join(phrase) for phrase in PHRASES})
PIECES = st.sampled_from(
    [*VOCABULARY, *NAMES, "Lions'", "the", "of", "3", "0-0", "5 May", "round 2", "group A", "?"]
)
SENTENCES = st.lists(PIECES, min_size=1, max_size=9).map(" ".join)
ANY_TEXT = st.one_of(st.text(max_size=120), SENTENCES)
# Questions the parser answers, one or more per plan shape: random word salad is now refused
# (every word must be used), so properties about answered questions start from these.
ANSWERED = [
    "who has the most points?",
    "top 3 teams by goals scored",
    "how many goals have Lions scored?",
    "Tigers' record",
    "Lions v Tigers head to head",
    "how many draws have there been?",
    "total goals in round 2",
    "average goals per game",
    "biggest win",
    "show the table",
    "Bears' last 3 results",
    "games on 5 May",
    "which teams have more than 10 points?",
    "teams with at least 2 clean sheets",
    "which teams are still unbeaten?",
    "did Lions concede more than Tigers?",
    "how many more goals have Tigers scored than Bears?",
    "what is the gap between first and second?",
    "Lions' goals at home and away",
    "what share of games were draws?",
    "how many games had 3 or more goals?",
    "who have Wolves lost to?",
    "who did Lions beat?",
    "is Lions top?",
    "did Bears beat Wolves?",
    "have Wolves won more than 2 games?",
    # issue 15's general capabilities (categories found by the held-out refusals)
    "anyone still without a win?",
    "list every side with 3 or more losses",
    "games with 5+ goals?",
    "draw percentage",
    "home wins by 2 or more",
    "who have Lions got the better of?",
    "who has more points, Bears or Wolves?",
    "top 3 teams by number of wins",
    "Bears: played, won, drawn, lost",
    "the match with the most goals",
]
ANSWERED_QUESTIONS = st.sampled_from(ANSWERED)


def parse_or_none(question: str, event: EventContext = EVENT) -> Plan | None:
    try:
        return parse_question(question, event, TODAY)
    except UnrecognizedQuestion as exc:
        assert exc.message and isinstance(exc.examples, list)
        return None


@FAST
@given(ANY_TEXT)
@example("'; DROP TABLE teams; --")
@example("\u202eLions\u202c record")
@example("x" * 10_000)
@example("Lions " * 300)
def test_any_text_gives_a_valid_plan_or_a_refusal(question: str) -> None:
    plan = parse_or_none(question)
    if plan is None:
        return
    assert plan_from_dict(plan.to_dict()) == plan
    assert plan.event_id == EVENT.id
    assert set(plan.teams) <= {team.id for team in EVENT.teams}


@FAST
@given(SENTENCES)
def test_deterministic(question: str) -> None:
    assert parse_or_none(question) == parse_or_none(question)


def test_every_answered_question_is_answered() -> None:
    assert all(parse_or_none(question) is not None for question in ANSWERED)


@FAST
@given(st.one_of(SENTENCES, ANSWERED_QUESTIONS), st.sampled_from(["upper", "lower", "title"]))
def test_case_does_not_matter(question: str, how: str) -> None:
    # Capitals only ever decide whether an unknown word is refused as a team name.
    plan = parse_or_none(question)
    assume(plan is not None)
    assert parse_or_none(getattr(question, how)()) == plan


@FAST
@given(
    st.one_of(SENTENCES, ANSWERED_QUESTIONS),
    st.sampled_from(["?", "!", " this season", " so far", " currently", "..."]),
)
def test_fillers_and_punctuation_do_not_matter(question: str, tail: str) -> None:
    plan = parse_or_none(question)
    assume(plan is not None)
    assert parse_or_none(question + tail) == plan


# --- read every part or refuse -------------------------------------------------------------

# Made-up words the parser cannot know (nor spell-correct into one it knows).
UNKNOWN_WORDS = st.text(alphabet="bcdfghjklmnpqrstvwxz", min_size=5, max_size=10)


COVERAGE = settings(max_examples=150, deadline=None)


@COVERAGE
@given(ANSWERED_QUESTIONS, UNKNOWN_WORDS, st.integers(0, 20))
def test_an_unknown_word_anywhere_is_never_answered(question: str, word: str, at: int) -> None:
    words = question.split()
    words.insert(at % (len(words) + 1), word)
    assert parse_or_none(" ".join(words)) is None


# Known words and phrases that constrain a question; a plan that does not use one must not
# answer. Inserted anywhere, each gives a refusal or a different plan, never the same answer.
CONSTRAINTS = st.sampled_from(
    [
        "three or more",
        "more than 4",
        "at least 2",
        "under 5",
        "only",
        "except",
        "second",
        "or Wolves",
        "without a win",
        "unbeaten",
        "since Monday",
        "in the second half",
        "live",
        "yesterday",
        "negative",
    ]
)


@COVERAGE
@given(ANSWERED_QUESTIONS, CONSTRAINTS, st.integers(0, 20))
def test_a_constraint_is_used_or_refused_never_dropped(
    question: str, constraint: str, at: int
) -> None:
    plan = parse_or_none(question)
    words = question.split()
    words.insert(at % (len(words) + 1), constraint)
    assert parse_or_none(" ".join(words)) != plan


NAME_WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=9)
# Real leagues have odd names: empty after folding, punctuation, digits, other scripts.
ODD_NAMES = st.one_of(st.text(max_size=25), st.sampled_from(["The", "FC", "1860", "A-B", "?"]))


@st.composite
def leagues(draw: st.DrawFn, odd: bool = False) -> EventContext:
    names = ODD_NAMES if odd else NAME_WORDS.map(str.title)
    words = draw(st.lists(names, min_size=0, max_size=8, unique=True))
    teams = tuple(
        TeamRef(i + 1, word, draw(st.sampled_from([None, "A", "b", "Group 1"])))
        for i, word in enumerate(words)
    )
    event_name = draw(st.one_of(st.just("Some Cup"), st.text(max_size=20))) if odd else "Cup"
    return EventContext(draw(st.integers(1, 10**6)), event_name, teams, None)


@FAST
@given(leagues(), SENTENCES)
def test_any_league_any_question(event: EventContext, question: str) -> None:
    plan = parse_or_none(question, event)
    if plan is not None:
        assert plan_from_dict(plan.to_dict()) == plan
        assert set(plan.teams) <= {team.id for team in event.teams}


@FAST
@given(leagues(odd=True), ANY_TEXT)
def test_odd_leagues_never_break_the_parser(event: EventContext, question: str) -> None:
    plan = parse_or_none(question, event)
    if plan is not None:
        assert plan_from_dict(plan.to_dict()) == plan


@FAST
@given(st.one_of(SENTENCES, ANSWERED_QUESTIONS))
def test_naming_the_event_changes_nothing(question: str) -> None:
    plan = parse_or_none(question)
    assume(plan is not None)
    assert parse_or_none(f"{question} in the Summer Cup") == plan


@settings(max_examples=100, deadline=None)
@given(st.one_of(leagues(), leagues(odd=True)))
def test_examples_always_parse_back(event: EventContext) -> None:
    for question in example_questions(event):
        parse_question(question, event, TODAY)


@settings(max_examples=100, deadline=None)
@given(leagues())
def test_every_team_is_found_by_its_own_name(event: EventContext) -> None:
    for team in event.teams:
        plan = parse_or_none(f"{team.name} record", event)
        # A name that is also an ordinary word ("Most") may not be read as a team; never another.
        assert plan is None or plan.teams in ((), (team.id,))


@FAST
@given(
    st.lists(st.tuples(st.integers(1, 99), st.text(max_size=30)), max_size=5),
    ANY_TEXT,
)
def test_find_event_returns_a_given_id_or_none(
    events: list[tuple[int, str]], question: str
) -> None:
    found = find_event(question, events)
    assert found is None or found in {ident for ident, _name in events}
