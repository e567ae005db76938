"""Read every part or refuse: does the plan account for every content word of the question?

A rule recognises a question by the words it looks for; the words it does not look for would
otherwise be dropped silently ("which clubs have drawn three or more games" answered as "the
most draws"). After a rule builds a plan, every term of the reading must be one of:

- an ignorable word (``vocabulary.IGNORABLE``: articles, pronouns, auxiliaries, politeness —
  an allow-list), or a term tagged FILLER ("this season");
- a lifted entity the plan uses: its teams, date, round, group; a number it uses (limit,
  threshold, ranks);
- a term with a concept tag that this plan's shape, metric and filters can express
  (``allowed_tags``).

Anything else is refused with the words it did not use ("I can't use 'three or more' here").
"""

from __future__ import annotations

from collections.abc import Iterable

from workers.analytics.language import vocabulary as v
from workers.analytics.language.reading import (
    DATE_REF,
    GROUP_REF,
    NUMBER_REF,
    ROUND_REF,
    SCORE_REF,
    TEAM_REF,
    UNKNOWN,
    NoPlan,
    Reading,
)
from workers.analytics.plan import Plan

# Question words and list verbs every shape may carry. "Who"/"which team" only where the
# answer names teams (see _NAMES_TEAMS): "which teams scored in every game" is not an average.
_ANY = frozenset({v.LIST, v.FILLER, v.HOW, v.EACH, v.TOTAL})
_NAMES_TEAMS = frozenset(
    {"leader", "top_n", "team_value", "team_record", "head_to_head", "table", "form"}
    | {"filter", "compare", "difference", "split", "opponents", "check", "extreme", "games"}
)

_METRIC_TAGS: dict[str, frozenset[str]] = {
    "points": frozenset({v.POINTS, v.WIN}),  # "points won"
    "played": frozenset({v.PLAYED, v.GAME, v.MEET}),
    "won": frozenset({v.WIN, v.GAME, v.PLAYED}),
    "drawn": frozenset({v.DRAW, v.GAME, v.PLAYED}),
    "lost": frozenset({v.LOSS, v.GAME, v.PLAYED}),
    "score_for": frozenset({v.GOALS, v.SCORED, v.FOR, v.POINTS, v.HIGHSCORING, v.LOWSCORING}),
    "score_against": frozenset({v.GOALS, v.AGAINST, v.DEFENCE, v.SCORED, v.POINTS}),
    "score_diff": frozenset({v.DIFF, v.GOALS}),
    "clean_sheets": frozenset({v.CLEAN, v.GAME, v.GOALS, v.AGAINST, v.DEFENCE}),
    "win_rate": frozenset({v.RATE, v.PERCENT, v.WIN, v.GAME, v.PLAYED, v.AVERAGE}),
    "position": frozenset({v.POSITION, v.TABLE, v.TOP, v.BOTTOM, v.LEAD, v.LAST, v.ORDER}),
}
_RANKING = frozenset({v.MOST, v.LEAST, v.BEST, v.WORST, v.TOP, v.BOTTOM, v.LEAD, v.LAST})
_RESULT_TAGS = frozenset(
    {v.DRAW, v.WIN, v.LOSS, v.GOALLESS, v.DECIDED, v.NEGATION, v.HOME, v.AWAY, v.RESULT}
)
_BOUND_TAGS = frozenset(
    {v.GT, v.GE, v.LT, v.LE, v.EQ, v.GE_AFTER, v.LE_AFTER, v.UNBEATEN, v.WINLESS, v.YET_TO}
    | {v.NEGATIVE, v.POSITIVE, v.NEGATION, NUMBER_REF, v.STILL, v.SINGLE_DIGITS, v.DOUBLE_FIGURES}
    | {v.SCORE_DRAW}
)
_GAME_WORDS = frozenset({v.GAME, v.RESULT, v.PLAYED, v.MEET})

_INTENT_TAGS: dict[str, frozenset[str]] = {
    # No GAME here: "the game with the least goals" is not a team; "won the most games" is
    # covered by the metric's own words.
    "leader": _RANKING | {v.BIG, v.SMALL, v.TABLE, v.ORDER, v.RECORD, v.SORT_KEY},  # "home record"
    "top_n": _RANKING | {v.BIG, v.SMALL, v.TABLE, v.ORDER, v.RECORD, v.SORT_KEY, NUMBER_REF},
    "team_value": frozenset({v.HOWMANY, v.WHERE, v.GAME, v.DOING}),
    "team_record": frozenset(
        {v.RECORD, v.DOING, v.FOR, v.AGAINST, v.SCORED, v.GOALS, v.WIN, v.DRAW, v.LOSS}
        | {v.PLAYED, v.POINTS, v.GAME, v.RESULT, v.HOWMANY}
    ),
    "head_to_head": frozenset(
        {v.H2H, v.VERSUS, v.BETWEEN, v.MEET, v.SCORELINE, v.WIN, v.DRAW, v.LOSS, v.GOALS}
        | {v.HOWMANY, v.RECORD, v.SCORED, v.WHEN, v.LAST, v.DOING}
        | _GAME_WORDS
    ),
    "count": frozenset({v.HOWMANY, v.GOALS, v.SCORED, v.DIFF, v.SCORELINE} | _GAME_WORDS)
    | _RESULT_TAGS,
    "total": frozenset({v.HOWMANY, v.GOALS, v.SCORED, v.FOR, v.POINTS} | _GAME_WORDS)
    | _RESULT_TAGS,
    "average": frozenset(
        {v.AVERAGE, v.PER_GAME, v.PER_TEAM, v.PER, v.GOALS, v.SCORED, v.FOR, v.GAME}
        | {v.HOWMANY, v.PLAYED, v.SINGLE_GAME}
        | _RESULT_TAGS
    ),
    "extreme": frozenset(
        {v.HIGHSCORING, v.LOWSCORING, v.MARGIN, v.BIG, v.SMALL, v.MOST, v.LEAST, v.BEST}
        | {v.WORST, v.WIN, v.LOSS, v.DRAW, v.SINGLE_GAME, v.GOALS, v.FOR, v.SCORELINE}
        | {v.SCORED, v.TOP}
        | _GAME_WORDS
    ),
    # "where does every team stand?": the whole table
    "table": frozenset({v.TABLE, v.POSITION, v.ORDER, v.TOP, v.BOTTOM, v.POINTS, v.ALL_TEAMS})
    | {v.WHERE},
    "form": frozenset({v.FORM, v.LAST, NUMBER_REF, v.WIN, v.DRAW, v.LOSS, v.DOING, v.HOW})
    | _GAME_WORDS,
    "games": frozenset(
        {v.FIXTURE, v.NEXT, v.WHEN, v.SCORELINE, v.VERSUS, v.BETWEEN, v.H2H, v.LAST}
        | {v.GOALS, v.SINGLE_GAME}
        | _GAME_WORDS
    ),
    # Its threshold brings the comparison words; "every team with …" is the set itself.
    "filter": frozenset({v.GAME, v.ALL_TEAMS}),
    "compare": frozenset({v.THAN, v.GT, v.LT, v.MOST, v.LEAST, v.BEST, v.WORST, v.VERSUS})
    | {v.CHOICE},
    "difference": frozenset(
        {v.HOWMANY, v.MOST, v.LEAST, v.THAN, v.GAP, v.BETWEEN, v.VERSUS, v.TOP, v.BOTTOM}
        | {v.LAST, v.TABLE, v.POSITION, NUMBER_REF}
    ),
    "split": frozenset({v.HOME, v.AWAY, v.VERSUS, v.HOWMANY, v.GAME}),
    # Comparison words only come with a threshold (allowed_tags adds them then).
    "share": frozenset({v.PERCENT, v.GOALS, v.HOWMANY} | _RESULT_TAGS) | _GAME_WORDS,
    "opponents": frozenset(
        {v.WIN, v.LOSS, v.DRAW, v.FIXTURE, v.NEXT, v.MEET, v.VERSUS} | _GAME_WORDS
    ),
    "check": frozenset({v.WIN, v.LOSS, v.DRAW, v.VERSUS, v.MEET, v.GAME, v.TABLE}) | _RANKING,
}


def allowed_tags(plan: Plan) -> frozenset[str]:
    """The concept tags this plan expresses: its shape's, its metric's, its filters'."""
    tags = set(_ANY | _INTENT_TAGS[plan.intent])
    if plan.intent in _NAMES_TEAMS or plan.teams:
        tags |= {v.WHO, v.TEAM}
    if plan.metric in _METRIC_TAGS:
        tags |= _METRIC_TAGS[plan.metric]
    f = plan.filters
    threshold = f.get("threshold")
    if threshold is not None:
        tags |= _BOUND_TAGS | _METRIC_TAGS.get(threshold["metric"], frozenset())
        if threshold["metric"] == "position":
            tags.add(v.ORDINAL)  # "are Eagles 3rd?"
        if threshold["metric"] in ("total_goals", "margin"):
            tags |= {v.GOALS, v.MARGIN, v.WIN, v.DECIDED, v.SCORED}
    if f.get("home") is not None or f.get("result") in ("home_win", "away_win"):
        tags |= {v.HOME, v.AWAY}
    if f.get("result") is not None:
        tags |= _RESULT_TAGS
    if plan.intent == "share" and not plan.teams and f.get("result") in ("home_win", "away_win"):
        tags.add(v.RATE)  # "home win percentage" of the league: the share of home wins
    if f.get("outcome") is not None:
        tags |= {v.WIN, v.DRAW, v.LOSS}
    if f.get("pending"):
        tags.add(v.STILL)  # "who have Lions still got to play"
    if f.get("round") is not None:
        tags |= {ROUND_REF, v.ROUND}
    if f.get("date") is not None:
        tags.add(DATE_REF)
    if f.get("group") is not None:
        tags.add(GROUP_REF)
    if plan.group_by == "round":
        tags |= {v.PER_ROUND, v.ROUND}
    if plan.teams:
        tags.add(TEAM_REF)
    if len(plan.teams) == 2 and plan.intent in ("head_to_head", "games", "check"):
        tags.add(v.PAIRING)  # "the Lions v Tigers derby"
    if plan.limit is not None or f.get("ranks") is not None:
        tags.add(NUMBER_REF)
    if f.get("ranks") is not None:
        tags.add(v.ORDINAL)  # "the gap between second and third" (not "Lions second behind …")
    return frozenset(tags)


def unused_spans(r: Reading, plan: Plan, *, allow_unknown: bool = False) -> list[str]:
    """The runs of question words the plan does not account for, in question order
    (`allow_unknown`: words the parser does not know at all are not counted)."""
    allowed = allowed_tags(plan)
    unused = [
        i
        for i, term in enumerate(r.terms)
        if not _covered(term, allowed) and not (allow_unknown and UNKNOWN in term[1])
    ]
    return [" ".join(r.terms[i][0] for i in run) for run in _runs(unused)]


def _covered(term: tuple[str, frozenset[str]], allowed: frozenset[str]) -> bool:
    word, tags = term
    if not tags:
        return word in v.IGNORABLE
    if UNKNOWN in tags or SCORE_REF in tags:
        return False
    return bool(tags & allowed) or v.FILLER in tags


def _runs(indexes: Iterable[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for i in indexes:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def check_coverage(r: Reading, plan: Plan) -> None:
    """Raise NoPlan (unsupported_question, or unrecognized for unknown words) when the plan
    leaves part of the question unread."""
    spans = unused_spans(r, plan)
    if not spans:
        return
    unknown = [w for w, tags in r.terms if UNKNOWN in tags]
    if unknown:
        raise NoPlan(
            f"I don't know the word '{unknown[0]}'.",
            code="unrecognized_question",
            details={"not_understood": spans},
        )
    raise NoPlan(
        f"I can't use '{spans[0]}' here.",
        code="unsupported_question",
        details={"not_understood": spans},
    )
