"""Question → Plan, deterministically: read the question, then apply the rules.

1. ``reading.read_question`` folds the text, lifts out teams, a date, a round, a group and
   numbers, and tags the remaining words with concepts ("WIN", "AGAINST", "MOST").
2. ``RULES`` are tried in order; the first that recognises the question builds the plan.

Anything that cannot be read safely — a team the event does not have, a player, the
weather, three teams at once — raises ``UnrecognizedQuestion`` rather than guessing.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from typing import Any

from rapidfuzz import fuzz, process

from workers.analytics.language import vocabulary as v
from workers.analytics.language.context import EventContext, TeamRef
from workers.analytics.language.coverage import check_coverage, unused_spans
from workers.analytics.language.names import index_for
from workers.analytics.language.planning import (
    direction,
    filters_of,
    game_result,
    make,
    team_metric,
)
from workers.analytics.language.reading import (
    NUMBER_REF,
    SCORE_REF,
    TEAM_REF,
    NoPlan,
    Reading,
    read_question,
)
from workers.analytics.language.shapes import RULES as SHAPE_RULES
from workers.analytics.language.shapes import games_subject
from workers.analytics.language.text import MAX_QUESTION_CHARS, tokenize
from workers.analytics.plan import (
    MAX_LIMIT,
    Plan,
)


class UnrecognizedQuestion(Exception):
    """The question cannot be turned into a plan; says why, and what would work."""

    def __init__(
        self,
        message: str,
        suggestion: str | None = None,
        examples: list[str] | None = None,
        code: str = "unrecognized_question",
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.suggestion = suggestion
        self.examples = examples or []
        self.code = code  # an ErrorCode value (workers/analytics/errors.py)
        self.details = details or {}


# ---------------------------------------------------------------------------- rules


def _limit(r: Reading) -> int | None:
    if not r.numbers:
        return None
    if r.numbers[0] < 1:
        raise NoPlan("Ask for at least one.")
    return min(r.numbers[0], MAX_LIMIT)


def _superlative(r: Reading) -> bool:
    return r.has(v.MOST, v.LEAST, v.BEST, v.WORST, v.TOP, v.BOTTOM, v.LEAD)


def _which_games(r: Reading) -> bool:
    """ "which game …", "what matches …": the subject is a game, not a team."""
    words = r.words()
    return any(
        word in ("which", "what") and v.GAME in r.terms[i + 1][1]
        for i, word in enumerate(words[:-1])
    )


def _about_a_game(r: Reading) -> bool:
    """ "which game …", "the match with the fewest goals", "most goals in a game"."""
    single = r.has(v.SINGLE_GAME) and not r.has(v.AVERAGE)
    return _which_games(r) or single or (games_subject(r) and not r.teams)


def two_teams(r: Reading) -> Plan | None:
    """Two teams: their results against each other, or when they are due to meet."""
    if len(r.teams) != 2:
        return None
    if _third_teams(r):
        raise NoPlan(
            "I can list who one team beat, drew with or lost to, not teams against two at once.",
            code="unsupported_question",
        )
    # "When did/do they play?" asks for the games; "what happened when …" for the results.
    results = r.has(v.SCORELINE, v.RESULT, v.WIN, v.DRAW, v.LOSS, v.GOALS, v.H2H, v.HOWMANY)
    asks_when = any(v.WHEN in tags for _word, tags in r.terms[:2]) and not results
    dated = (r.date or r.round) and not results
    if (r.has(v.NEXT, v.FIXTURE) or asks_when or dated) and not r.has(v.H2H):
        return make(r, "games", teams=r.teams, filters=filters_of(r))
    return make(r, "head_to_head", teams=r.teams, filters=filters_of(r))


_RESULT_VERBS = frozenset({v.WIN, v.DRAW, v.LOSS})


def _third_teams(r: Reading) -> bool:
    """ "Teams that beat Lions and Tigers", "which sides have lost to Bears and Eagles": other
    teams, by their results against both named ones (not the game between the two)."""
    games = (v.BETWEEN, v.VERSUS, v.H2H, v.MEET, v.PLAYED, v.WHEN, v.GAME, v.RESULT, v.CHOICE)
    if not r.has(v.WHO, v.TEAM) or r.has(*games):
        return False
    words = r.words()
    first_team = words.index(TEAM_REF)
    if words[first_team + 1 : first_team + 3] != ["and", TEAM_REF]:
        return False
    asked = [i for i, (_word, tags) in enumerate(r.terms) if tags & {v.WHO, v.TEAM}]
    verbs = [i for i, (_word, tags) in enumerate(r.terms) if tags & _RESULT_VERBS]
    return bool(asked and verbs) and asked[0] < verbs[0] < first_team


def extreme(r: Reading) -> Plan | None:
    metric, order = None, "desc"
    if r.near({v.HIGHSCORING, v.LOWSCORING}, v.TEAM, gap=1):
        return None  # "the highest scoring teams": a standings column
    if r.has(v.HIGHSCORING):
        metric = "total_goals"
    elif r.has(v.LOWSCORING):
        metric, order = "total_goals", "asc"
    elif r.has(v.MARGIN) or r.near({v.BIG, v.SMALL}, {v.WIN, v.LOSS}, gap=2):
        metric = "margin"
        order = "asc" if r.has(v.SMALL) else "desc"
    elif r.near({v.WORST, v.BEST}, {v.WIN, v.LOSS}, gap=1) and r.teams:
        metric = "margin"
    elif r.has(v.GOALS, v.FOR) and r.has(v.MOST, v.LEAST) and _about_a_game(r):
        metric, order = "total_goals", "asc" if r.has(v.LEAST) else "desc"
    if metric is None:
        return None
    extra: dict[str, Any] = {}
    if metric == "margin" and r.teams and r.has(v.WIN) != r.has(v.LOSS):
        extra["outcome"] = "win" if r.has(v.WIN) else "loss"
    if r.teams:
        extra["home"] = r.home
    elif metric == "margin" and r.home is not None and r.has(v.WIN):
        extra["result"] = "home_win" if r.home else "away_win"
    elif metric == "total_goals" and r.has(v.DRAW):
        extra["result"] = "draw"  # "the highest-scoring draw"
    filters = filters_of(r, **extra)
    return make(r, "extreme", metric=metric, teams=r.teams, order=order, filters=filters)


def form(r: Reading) -> Plan | None:
    recent = r.has(v.FORM) or r.near(v.LAST, {v.GAME, v.RESULT, NUMBER_REF}, gap=2)
    if not recent or len(r.teams) != 1 or r.has(v.HOWMANY, v.TOTAL, v.AVERAGE):
        return None
    limit = _limit(r)
    if limit is None and not r.has(v.FORM) and _singular_game(r):
        limit = 1  # "Lions' last game"
    return make(r, "form", teams=r.teams, limit=limit or 5, filters=filters_of(r, home=r.home))


def _singular_game(r: Reading) -> bool:
    return any(word in ("game", "match", "result", "fixture") for word in r.words())


def average(r: Reading) -> Plan | None:
    if not (r.has(v.AVERAGE) or r.has(v.PER_GAME, v.PER_TEAM)):
        return None
    if not r.has(v.AVERAGE, v.PER_GAME, v.GOALS, v.SCORED, v.FOR):
        return None  # "where does every team stand": a set of teams, not goals per team
    if not r.teams and _superlative(r) and r.has(v.WHO, v.TEAM):
        raise NoPlan("I can rank teams by totals such as goals or points, not by averages.")
    if r.words()[0] in _ASKS_YES_NO and not r.has(v.AVERAGE, v.HOWMANY):
        # "have Lions scored in every game?": yes or no, which goals per game do not say
        raise NoPlan(
            "I can give a team's goals per game, not a yes or no about its games.",
            code="unsupported_question",
        )
    in_results = r.has(v.GOALS) and not r.teams  # "average goals in a draw": a result filter
    columns = (v.AGAINST, v.POINTS, v.CLEAN, v.DIFF) if in_results else _AVERAGE_REFUSED
    if r.has(*columns) and not r.has(v.FOR):
        if r.has(v.AVERAGE):
            raise NoPlan("I can average goals per game or per team, not that.")
        return None
    if r.has(v.PER_TEAM) and not r.teams:
        metric = "goals_per_team"
    elif r.home is not None and not r.teams:
        metric = "home_goals_per_game" if r.home else "away_goals_per_game"
    else:
        metric = "goals_per_game"
    extra = {"home": r.home} if r.teams else {"result": _goal_result(r)}
    group_by = "round" if r.has(v.PER_ROUND) else None
    return make(
        r,
        "average",
        metric=metric,
        teams=r.teams,
        group_by=group_by,
        filters=filters_of(r, **extra),
    )


_ASKS_YES_NO = frozenset({"is", "are", "did", "does", "do", "has", "have", "was", "were"})
_AVERAGE_REFUSED = (v.AGAINST, v.POINTS, v.WIN, v.DRAW, v.LOSS, v.CLEAN, v.DIFF)


def _goal_result(r: Reading) -> str | None:
    """Goals "in draws", "in home wins": the games whose goals are summed or averaged."""
    return game_result(r) if r.has(v.DRAW, v.DECIDED, v.WIN, v.LOSS) else None


def totals(r: Reading) -> Plan | None:
    """Counts of games and sums of goals: "how many draws", "total away goals", "per round"."""
    # "goals scored on 2 May", "draws in round 3", "home wins": bare nouns ask for a sum too.
    bare = not (_superlative(r) or r.has(v.ORDER))
    scored = bare and r.has(v.GOALS, v.FOR) and not r.teams
    results = r.has(v.DRAW, v.GOALLESS, v.DECIDED) or (r.has(v.WIN) and r.home is not None)
    results = bare and results and not r.teams and not r.has(v.WHO, v.TEAM)
    asked = r.has(v.HOWMANY, v.TOTAL, v.PER_ROUND) or scored or results
    if r.has(v.FIXTURE, v.NEXT):
        return None  # counts and sums are over final games; "games left" are not final
    if r.teams and r.has(v.HOWMANY):
        counted = _team_count(r)
        if counted is not None:
            return counted
    if not asked or (r.teams and not r.has(v.PER_ROUND) and _team_metric_asked(r)):
        return None
    group_by = "round" if r.has(v.PER_ROUND) else None
    scoring = r.has(v.GOALS, v.FOR, v.SCORED) and not r.has(v.SCORELINE)
    if scoring and not r.has(v.GOALLESS):
        if r.has(v.CLEAN, v.DIFF, v.AGAINST) or (r.has(v.POINTS) and not r.has(v.SCORED)):
            return None
        metric = "goals"
        if r.home is not None and not r.teams:
            metric = "home_goals" if r.home else "away_goals"
        filters = filters_of(r, home=r.home) if r.teams else filters_of(r, result=_goal_result(r))
        return make(r, "total", metric=metric, teams=r.teams, group_by=group_by, filters=filters)
    if r.has(v.POINTS, v.CLEAN, v.DIFF, v.RATE, v.POSITION):
        return None
    if not r.has(v.GAME, v.DRAW, v.WIN, v.LOSS, v.GOALLESS, v.DECIDED, v.PLAYED, v.RESULT):
        return None
    return _count(r, group_by)


_OUTCOMES = {"won": "win", "lost": "loss"}
_ENDED = frozenset({"ended", "end", "ending", "finished", "finish", "finishing"})


def _team_count(r: Reading) -> Plan | None:
    """A team's games with a filter no standings column has: home/away, "ended in a draw".

    ("How many home games have Bears won" — the count of their games, not a column.)
    """
    metric = team_metric(r)
    if metric not in ("played", "won", "drawn", "lost"):
        return None
    ended_level = metric == "drawn" and r.has(v.GAME) and bool(_ENDED & set(r.words()))
    if r.home is None and not ended_level:
        return None
    extra = {"home": r.home, "outcome": _OUTCOMES.get(metric)}
    if metric == "drawn":
        extra["result"] = "draw"
    return make(r, "count", metric="games", teams=r.teams, filters=filters_of(r, **extra))


def _both_sides_goals(r: Reading) -> bool:
    """ "Goals in Lions' games": both sides' goals, which no plan sums for one team (a team's
    total is the goals it scored)."""
    return r.has(v.GOALS) and not r.has(v.FOR, v.AGAINST) and _in_team_games(r)


def _team_metric_asked(r: Reading) -> bool:
    """With a team, "how many wins/draws/clean sheets …" is a team value, not a count."""
    if r.has(v.GOALLESS):
        return False  # "how many goalless draws have Lions had": no column says that
    return team_metric(r) is not None


_INVOLVING = frozenset({"involving", "with", "featuring", "including", "of", "the", "for"})


def _in_team_games(r: Reading) -> bool:
    """ "Lions' games", "games involving Tigers": the team qualifies games, it does not score."""
    words = r.words()
    for i, (_word, tags) in enumerate(r.terms):
        if v.GAME not in tags:
            continue
        if i and words[i - 1] == TEAM_REF:
            return True
        j = i + 1
        while j < len(words) and words[j] in _INVOLVING:
            j += 1
        if j > i + 1 and j < len(words) and words[j] == TEAM_REF:
            return True
    return False


def _count(r: Reading, group_by: str | None) -> Plan:
    extra: dict[str, Any] = {"result": game_result(r)}
    if r.teams:  # the team's side: its wins and losses are outcomes, and it has a venue
        outcome = _OUTCOMES.get(team_metric(r) or "")
        result = None if outcome else extra["result"]
        extra = {"result": result, "outcome": outcome, "home": r.home}
    return make(
        r, "count", metric="games", teams=r.teams, group_by=group_by, filters=filters_of(r, **extra)
    )


def ranking(r: Reading) -> Plan | None:
    """leader / top_n: the teams at one end of a standings column."""
    ordered = r.has(v.ORDER) and r.has(v.TEAM)
    if r.teams or not (_superlative(r) or ordered or (r.has(v.LAST) and r.has(v.WHO, v.TEAM))):
        return None
    if games_subject(r) and not r.has(v.WHO, v.TEAM):
        return None  # "games with the most wins": games are not ranked by a team's column
    metric = team_metric(r) or ("position" if r.has(v.WHO, v.TEAM, v.LAST) else None)
    # Without a metric only a ranking word means the table ("who is best", "who leads");
    # "who has the most?" names no column: refuse rather than guess.
    ranks = r.has(v.BEST, v.WORST, v.TOP, v.BOTTOM, v.LEAD, v.LAST)
    if metric is None or (metric == "position" and not ranks):
        return None  # "rank the teams" is the table
    if metric == "position" and (r.home is not None or r.date or r.round):
        metric = "points"  # "best home record": positions ignore game filters, points do not
    limit = _limit(r)
    if limit is None and r.has(v.ORDER) and metric != "position":
        limit = min(len(r.event.teams), MAX_LIMIT) or None  # "rank the teams by wins": all
    extra = filters_of(r, home=r.home)
    order = direction(r, metric)
    if limit is None:
        return make(r, "leader", metric=metric, order=order, filters=extra)
    return make(r, "top_n", metric=metric, order=order, limit=limit, filters=extra)


def team_questions(r: Reading) -> Plan | None:
    """One team: its record, a value, its place, or its games."""
    if len(r.teams) != 1:
        return None
    extra = filters_of(r, home=r.home)
    # "Lions game today", "when do Lions play": their games; "how many … today": a value.
    if r.has(v.FIXTURE, v.WHEN, v.NEXT) or ((r.date or r.round) and not r.has(v.HOWMANY)):
        return make(r, "games", teams=r.teams, filters=filters_of(r))
    both_ways = r.has(v.FOR, v.SCORED) and r.has(v.AGAINST)  # "scored and conceded"
    if (r.has(v.RECORD) and not r.has(v.DEFENCE, v.CLEAN)) or both_ways or _columns_listed(r):
        return make(r, "team_record", teams=r.teams, filters=extra)
    # "which games have Lions played", "who beat the Lions", "who did Tigers play": their games.
    opponents = r.has(v.WHO) and r.has(v.WIN, v.LOSS, v.DRAW, v.MEET) and not _superlative(r)
    if (_which_games(r) or opponents) and not r.has(v.HOWMANY):
        return make(r, "games", teams=r.teams, filters=filters_of(r))
    if r.has(v.WHERE) or r.near(v.WHO, {v.POSITION}, gap=3):
        return make(r, "team_value", metric="position", teams=r.teams, filters=extra)
    metric = team_metric(r)
    if metric is not None:
        return make(r, "team_value", metric=metric, teams=r.teams, filters=extra)
    if r.has(v.GAME, v.RESULT, v.MEET) and not r.has(v.HOW, v.DOING):
        return make(r, "games", teams=r.teams, filters=filters_of(r))
    return make(r, "team_record", teams=r.teams, filters=extra)


_RECORD_COLUMNS = (v.PLAYED, v.WIN, v.DRAW, v.LOSS)


def _columns_listed(r: Reading) -> bool:
    """ "Sharks: played, won, drawn, lost?", "Lions wins and losses": several columns of the
    record named side by side (not compared: "more wins than losses" is no record)."""
    named = sum(r.has(tag) for tag in _RECORD_COLUMNS)
    return named >= 2 and not (_superlative(r) or r.has(v.THAN, v.GAP, v.OR))


def listings(r: Reading) -> Plan | None:
    """No team: the table, or the games on a date or in a round."""
    if r.teams:
        return None
    standings = r.has(v.TABLE) and not r.has(v.GAME, v.RESULT, v.FIXTURE) and r.round is None
    ordered = r.has(v.ORDER) and r.has(v.TEAM)  # "rank the teams"
    everyone = r.has(v.ALL_TEAMS) and r.has(v.POSITION, v.WHERE)  # "where does every team stand"
    if standings or (not (r.date or r.round) and (r.group or ordered or everyone)):
        return make(r, "table", filters=filters_of(r))
    if r.date or r.round or (r.has(v.GAME, v.RESULT, v.FIXTURE) and r.tags <= _JUST_GAMES):
        return make(r, "games", filters=filters_of(r))  # "games on 5 May", "all fixtures"
    return None


_JUST_GAMES = frozenset({v.GAME, v.RESULT, v.FIXTURE, v.NEXT, v.LIST, v.FILLER, v.EACH})


RULES: tuple[Callable[[Reading], Plan | None], ...] = (
    two_teams,
    extreme,
    form,
    average,
    totals,
    ranking,
    team_questions,
    listings,
)


def plan_reading(r: Reading) -> Plan:
    if r.has(v.UNSUPPORTED) or (r.teams and r.has(v.SCORER)):
        said = next(word for word, tags in r.terms if tags & {v.UNSUPPORTED, v.SCORER})
        raise NoPlan(
            f"I can't use '{said}' here: I know teams, games, results and the table only.",
            code="unsupported_question",
            details={"not_understood": [said]},
        )
    if r.has(v.LIVE):
        said = next(word for word, tags in r.terms if v.LIVE in tags)
        raise NoPlan(
            f"I can't use '{said}' here: I know final results and scheduled games only.",
            suggest=False,
            code="unsupported_question",
            details={"not_understood": [said]},
        )
    if len(r.teams) == 1 and _both_sides_goals(r):
        raise NoPlan("I can count the goals a team scored or conceded, not all goals in its games.")
    if r.has(SCORE_REF):
        raise NoPlan("I cannot look games up by an exact score other than 0-0.", suggest=False)
    if len(r.teams) > 2:
        raise NoPlan("Ask about one team, or two for a head-to-head.", code="unsupported_question")
    for rule in (*SHAPE_RULES, *RULES):
        plan = rule(r)
        if plan is not None:
            _check_counted_noun(r, plan)
            check_coverage(r, plan)
            return plan
    if r.has(*_NO_SHAPE):
        said = next(word for word, tags in r.terms if tags & _NO_SHAPE)
        raise NoPlan(
            f"I can't use '{said}' here.",
            code="unsupported_question",
            details={"not_understood": [said]},
        )
    raise NoPlan("I did not understand the question.")


# Numbers that are not a count of games: "how many games were won by a single goal" summed as
# the league's goals, or "how many games have Lions scored in" as Lions' goals, is a confident
# answer to another question.
_NOT_GAME_COUNTS = frozenset({"score_for", "score_against", "score_diff", "points"})


def _counts_games(r: Reading) -> bool:
    """ "How many games/matches …": the noun counted right after "how many" is games."""
    tags = [tags for _word, tags in r.terms if tags]
    return any(v.HOWMANY in a and v.GAME in b for a, b in itertools.pairwise(tags))


def _check_counted_noun(r: Reading, plan: Plan) -> None:
    """Refuse a plan whose number is not a count of games when the question counts games."""
    if not _counts_games(r):
        return
    if plan.intent in ("total", "average") or plan.metric in _NOT_GAME_COUNTS:
        raise NoPlan(
            "I can count games by a result or by a number of goals "
            '("how many games had 4 or more goals"), not that.',
            code="unsupported_question",
        )


_NO_SHAPE = frozenset(
    {v.OR, v.CHOICE, v.GT, v.LT, v.GE, v.LE, v.GE_AFTER, v.LE_AFTER, v.THAN, v.GAP}
)
# ---------------------------------------------------------------------------- public


def parse_plan(question: str, event: EventContext, today: dt.date) -> Plan:
    """The plan, or NoPlan; no examples (example_questions uses this to check itself)."""
    return plan_reading(read_question(question, event, today))


def parse_question(question: str, event: EventContext, today: dt.date) -> Plan:
    """Turn a question about ``event`` into a validated plan, or raise UnrecognizedQuestion."""
    try:
        return parse_plan(question, event, today)
    except NoPlan as exc:
        from workers.analytics.language.examples import example_questions

        examples = example_questions(event)
        suggestion = _did_you_mean(question, examples) if exc.suggest else None
        raise UnrecognizedQuestion(
            exc.message, suggestion, examples, code=exc.code, details=exc.details
        ) from None


def _did_you_mean(question: str, examples: list[str]) -> str | None:
    if not examples or len(question) > MAX_QUESTION_CHARS:
        return None
    best = process.extractOne(
        question, examples, scorer=fuzz.token_sort_ratio, processor=_casefold, score_cutoff=70
    )
    return None if best is None else str(best[0])


def _casefold(text: str) -> str:
    return text.casefold()


def find_event(question: str, events: Sequence[tuple[int, str]]) -> int | None:
    """The event whose name the question mentions (fuzzily), or None when none or unsure."""
    named = named_events(question, events)
    return named[0] if len(named) == 1 else None


def named_events(question: str, events: Sequence[tuple[int, str]]) -> list[int]:
    """The ids of the events the question names (its longest event-name mention): one, or
    several when events share that name, or none."""
    if not events or len(question) > MAX_QUESTION_CHARS:
        return []
    words = [token.text for token in tokenize(question)]
    index = index_for(tuple(events), aliases=False)
    best: tuple[int, list[int]] | None = None  # (words matched, ids)
    for mention in index.find(words):
        size = mention.end - mention.start
        if best is None or size > best[0]:
            best = (size, list(mention.ids))
    return [] if best is None else best[1]


def off_topic_question(
    question: str, today: dt.date, teams: Sequence[tuple[int, str]] = ()
) -> bool:
    """Whether a question is about no league at all, asked before knowing which event:
    `teams` are the names of every event's teams, so a bare team name is not off-topic."""
    refs = tuple(TeamRef(team_id, name) for team_id, name in teams)
    try:
        read_question(question, EventContext(id=1, name="the event", teams=refs), today)
    except NoPlan as exc:
        return exc.code == "off_topic"
    return False


def covers(question: str, event: EventContext, today: dt.date, plan: Plan) -> list[str]:
    """The known words of `question` that `plan` does not use (a language model's plan must
    use every word the parser knows; words the parser does not know are the model's to read)."""
    try:
        reading = read_question(question, event, today, topical=False)
    except NoPlan as exc:
        return [exc.message]
    return unused_spans(reading, plan, allow_unknown=True)
