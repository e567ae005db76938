"""Rules for the newer plan shapes: sets of teams by a comparison, two-team comparisons and
differences, home/away splits, shares of games, opponents, and yes/no questions.

Each rule returns a plan or None (not its shape), like the rules in ``parser.py``; they run
first, because a comparison word ("more than 10") changes what a question asks, and the older
rules would otherwise answer a neighbouring question.
"""

from __future__ import annotations

from typing import Any

from workers.analytics.language import vocabulary as v
from workers.analytics.language.bounds import Bound, find_bound
from workers.analytics.language.planning import (
    direction,
    filters_of,
    game_result,
    make,
    team_metric,
)
from workers.analytics.language.reading import (
    NUMBER_REF,
    TEAM_REF,
    NoPlan,
    Reading,
    ordinal_value,
)
from workers.analytics.plan import LAST_RANK, VALUE_METRICS, Plan

_AUX = frozenset({"is", "are", "did", "does", "do", "has", "have", "was", "were"})
_SUPERLATIVE = (v.MOST, v.LEAST, v.BEST, v.WORST, v.TOP, v.BOTTOM, v.LEAD, v.LAST)
_OUTCOME_OF = {v.WIN: "win", v.DRAW: "draw", v.LOSS: "loss"}
_INVERSE = {"win": "loss", "loss": "win", "draw": "draw"}


def _yes_no(r: Reading) -> bool:
    """ "Is X top?", "did A beat B?"; or terse, a team then a result or a place: "A beat B",
    "Lions top of the table" (the same with or without a question mark)."""
    words = r.words()
    if not words:
        return False
    if words[0] in _AUX:
        return True
    if words[0] != TEAM_REF or len(r.terms) < 2:
        return False
    then = r.terms[1][1]
    if len(r.teams) == 2:
        return bool(then & {v.WIN, v.LOSS, v.DRAW})
    return bool(then & {v.TOP, v.BOTTOM, v.LEAD}) and team_metric(r) == "position"


def _team_positions(r: Reading) -> list[int]:
    return [i for i, (word, _tags) in enumerate(r.terms) if word == TEAM_REF]


def _ordered_teams(r: Reading) -> list[int]:
    """The teams, subject first: "ahead of B are A", "more than B have A" name the object first."""
    teams = list(r.teams)
    spots = _team_positions(r)
    if len(teams) == 2 and spots and spots[0] > 0 and not _between_teams(r):
        before = r.terms[spots[0] - 1][1]
        if before & {v.GAP, v.THAN}:
            teams.reverse()
    return teams


def _threshold(bound: Bound, metric: str) -> dict[str, Any]:
    return {"metric": metric, "op": bound.op, "value": bound.value}


def _bound_metric(r: Reading, bound: Bound) -> str | None:
    named = team_metric(r)
    if bound.unsigned and named == "score_diff":
        return None
    if bound.unsigned and "hit" in r.words() and not r.has(v.GOALS, v.FOR):
        return None  # "have Lions hit double figures": goals or points?
    if bound.metric is not None:
        return bound.metric if named in (None, bound.metric) else None
    return named


# --- yes/no --------------------------------------------------------------------------------------


def yes_no(r: Reading) -> Plan | None:
    """ "Is X top?", "did X beat Y?", "have X scored more than 10?", "is X unbeaten?"."""
    if not _yes_no(r) or not r.teams or r.has(v.HOWMANY):
        return None
    if len(r.teams) == 2:
        if r.has(v.THAN, v.GT, v.LT):
            return compare(r)
        outcome = _outcome(r)
        if outcome is None:
            return None
        return make(
            r, "check", teams=_ordered_teams(r), filters=filters_of(r, outcome=outcome, home=r.home)
        )
    bound = find_bound(r)
    if bound is not None:
        metric = _bound_metric(r, bound)
        if metric not in VALUE_METRICS:
            return None
        extra = {"home": r.home, "threshold": _threshold(bound, metric)}
        return make(r, "check", metric=metric, teams=r.teams, filters=filters_of(r, **extra))
    if _prize(r):
        raise NoPlan(
            "I know the games and the table so far, not who wins the competition.",
            code="unsupported_question",
        )
    place = _place(r)
    if place is not None:
        rule = {"metric": "position", "op": "eq", "value": place}
        return make(r, "check", metric="position", teams=r.teams, filters={"threshold": rule})
    counted = _any_at_all(r)
    if counted is not None:
        # "a game" here is the game counted ("lost a game"), not "per game".
        r.terms = [(w, frozenset({v.GAME}) if v.PER_GAME in t else t) for w, t in r.terms]
        extra = {"home": r.home, "threshold": {"metric": counted, "op": "ge", "value": 1}}
        return make(r, "check", metric=counted, teams=r.teams, filters=filters_of(r, **extra))
    if not r.has(*_SUPERLATIVE) or r.near(v.LAST, {v.GAME, v.RESULT}, gap=1):
        return None  # "has Lions lost the last game": their last result, not the fewest losses
    metric = team_metric(r) or "position"
    return make(
        r,
        "check",
        metric=metric,
        teams=r.teams,
        order=direction(r, metric),
        filters=filters_of(r, home=r.home),
    )


def _place(r: Reading) -> int | None:
    """ "Are Eagles 3rd?", "is Bears in second place?": one place in the table, said as an
    ordinal. Only the table's own place: "3rd from bottom", "3rd on goals", "3rd in round 2"
    or "3rd at home" say more than a place, and are left to refuse."""
    places = [i for i, (_word, tags) in enumerate(r.terms) if v.ORDINAL in tags]
    if len(places) != 1 or r.date or r.round or r.group or r.has(v.HOME, v.AWAY):
        return None
    if r.has(*_SUPERLATIVE, *_COMPARISONS) or team_metric(r) not in (None, "position"):
        return None  # "3rd or lower", "3rd best": more than one place
    value = ordinal_value(r.terms[places[0]][0])
    return value if value is not None and 1 < value <= len(r.event.teams) else None


_COMPARISONS = (v.GT, v.GE, v.LT, v.LE, v.EQ, v.GE_AFTER, v.LE_AFTER, v.OR, v.THAN)


# "Have Tigers lost a game?", "has Bears scored?", "have Lions kept a clean sheet?": is the
# team's count at least one. Only in the perfect ("have/has": so far), and only with these
# words around the verb: "did Lions win?" (which game?), "have Lions won the cup?" and "have
# Lions been beaten?" say something else and are left to the other rules.
_EVER = frozenset({"have", "has"})
_ANY_WORDS = frozenset(
    {"a", "an", "any", "ever", "yet", "already", "kept", "keep", "a game", "a match", "one"}
    | {"games", "matches", "game", "match", "goal", "goals", "at all", "single", "even"}
)
_COUNTED_METRICS = frozenset({"won", "drawn", "lost", "score_for", "score_against", "clean_sheets"})
_COUNTED_TAGS = frozenset({v.WIN, v.DRAW, v.LOSS, v.SCORED, v.AGAINST, v.CLEAN})


def _any_at_all(r: Reading) -> str | None:
    words = r.words()
    if words[0] not in _EVER or words[1:2] != [TEAM_REF]:
        return None
    metric = team_metric(r)
    if metric not in _COUNTED_METRICS:
        return None
    if "been" in words:
        raise NoPlan(  # "have Lions been beaten?": "beaten" would read as a win
            'I can\'t read that question the other way round: ask "have Lions lost a game?".',
            code="unsupported_question",
            details={"not_understood": ["been"]},
        )
    verbs = 0
    for word, tags in r.terms[2:]:
        if tags & _COUNTED_TAGS and not tags - _COUNTED_TAGS - {v.GOALS}:
            verbs += 1
        elif not (word in _ANY_WORDS or tags & {v.HOME, v.AWAY} or _plain_filler(word, tags)):
            return None
    return metric if verbs == 1 else None


_PRIZES = frozenset({"cup", "tournament", "competition", "championship", "event", "season"})


def _prize(r: Reading) -> bool:
    """ "Have Lions won the cup?": the competition itself, not a count of games (which is what
    "won" says elsewhere)."""
    words = r.words()
    for i, (_word, tags) in enumerate(r.terms[:-2]):
        if v.WIN in tags and words[i + 1] == "the" and words[i + 2] in _PRIZES | {"league"}:
            return True
    return False


def _plain_filler(word: str, tags: frozenset[str]) -> bool:
    """ "this season", "so far": but "won the cup" is a prize, not a filler."""
    return v.FILLER in tags and word not in _PRIZES


def _outcome(r: Reading) -> str | None:
    """The first team's result in "did A beat/lose to/draw with B"."""
    for _word, tags in r.terms:
        for tag, outcome in _OUTCOME_OF.items():
            if tag in tags:
                return outcome
    return None


# --- two teams on a metric -----------------------------------------------------------------------


def compare(r: Reading) -> Plan | None:
    """ "Did Lions concede more than Tigers?": yes/no with both values. "Lions or Tigers: who
    has let in more?" is the same comparison, the teams in the order they are named."""
    if len(r.teams) != 2 or r.has(v.HOWMANY, v.GAP):
        return None
    choice = r.has(v.CHOICE) and r.has(v.WHO) and r.has(v.MOST, v.LEAST, v.BEST, v.WORST)
    if r.has(v.CHOICE) and not choice:
        return None
    if not (choice or r.has(v.THAN, v.GT, v.LT)):
        return None
    metric = team_metric(r)
    if metric is None:
        return None
    if r.has(v.BIG, v.SMALL) and metric not in _SIZED_METRICS:
        return None  # "is Lions' win bigger", "is Lions' lead bigger": a game, not a column
    if r.has(v.BEST, v.WORST):
        order = direction(r, metric)
    elif metric == "position":  # "higher in the table" = a smaller place number
        order = "asc" if r.has(v.GT, v.MOST) else "desc"
    elif r.has(v.GT, v.MOST):
        order = "desc"
    elif r.has(v.LT, v.LEAST):
        order = "asc"
    else:
        return None
    teams = _ordered_teams(r)
    return make(
        r, "compare", metric=metric, teams=teams, order=order, filters=filters_of(r, home=r.home)
    )


# Columns that "bigger/larger/smaller than" compare as numbers (a total, not a game or a place).
_SIZED_METRICS = frozenset({"points", "score_for", "score_against", "score_diff", "win_rate"})


def difference(r: Reading) -> Plan | None:
    """ "How many points ahead of Tigers are Lions?", "the gap between first and last"."""
    gap = r.has(v.GAP) or (r.has(v.HOWMANY) and r.has(v.MOST, v.LEAST) and r.has(v.THAN))
    # "how many points between Lions and Eagles": only on the table's own numbers; "how many
    # goals/wins between A and B" may ask about their games against each other.
    between = r.has(v.HOWMANY) and _between_teams(r) and team_metric(r) in _APART_METRICS
    if len(r.teams) == 2 and (gap or between):
        metric = team_metric(r) or ("points" if r.has(v.GAP) else None)
        if metric not in VALUE_METRICS:
            return None
        teams = _ordered_teams(r)
        return make(r, "difference", metric=metric, teams=teams, filters=filters_of(r, home=r.home))
    if r.teams or not r.has(v.GAP, v.BETWEEN):
        return None
    ranks = _ranks(r)
    if ranks is None:
        return None
    metric = team_metric(r)
    metric = "points" if metric in (None, "position") else metric  # places are in the table
    if metric not in VALUE_METRICS:
        return None
    return make(r, "difference", metric=metric, filters=filters_of(r, ranks=ranks))


_APART_METRICS = frozenset({"points", "score_diff"})


def _between_teams(r: Reading) -> bool:
    """ "between A and B" (or "separating A and B"): the two named teams, side by side."""
    words = r.words()
    for i, (_word, tags) in enumerate(r.terms[:-3]):
        if tags & {v.BETWEEN, v.GAP} and words[i + 1 : i + 4] == [TEAM_REF, "and", TEAM_REF]:
            return True
    return False


_RANK_WORDS = {"top": 1, "first": 1, "1st": 1, "leader": 1, "leaders": 1}
_LAST_WORDS = frozenset({"bottom", "last"})


def _ranks(r: Reading) -> list[int] | None:
    """Two places in the table: "first and second", "top two", "top and bottom"."""
    words = r.words()
    found: list[int] = []
    for i, word in enumerate(words):
        if word in _RANK_WORDS:
            after = r.terms[i + 1][1] if i + 1 < len(words) else frozenset()
            if word == "top" and NUMBER_REF in after and r.numbers and r.numbers[0] == 2:
                return [1, 2]  # "the top two"
            found.append(1)
        elif word in _LAST_WORDS or word in ("last place", "bottom of"):
            found.append(LAST_RANK)
        elif word in v.ORDINALS and word != "first":
            found.append(v.ORDINALS[word])
        elif word[-2:] in ("nd", "rd", "th") and word[:-2].isdigit():
            found.append(int(word[:-2]))
    if len(found) != 2 or found[0] == found[1]:
        return None
    return found


# --- home and away -------------------------------------------------------------------------------


def split(r: Reading) -> Plan | None:
    """ "Lions' goals at home and away": both sides of one team's metric."""
    if len(r.teams) != 1 or not (r.has(v.HOME) and r.has(v.AWAY)) or r.has(*_SUPERLATIVE):
        return None
    metric = team_metric(r)
    if metric not in VALUE_METRICS:
        return None
    return make(r, "split", metric=metric, teams=r.teams, filters=filters_of(r))


# --- games: a condition counted, or its share ----------------------------------------------------


def _game_bound(r: Reading) -> dict[str, Any] | None:
    """A threshold on a game's goals or winning margin ("5 goals or more", "won by 3")."""
    bound = find_bound(r)
    if bound is not None and bound.metric == "total_goals":  # "score draws"
        return {"metric": "total_goals", "op": bound.op, "value": bound.value}
    if bound is None or bound.metric is not None:
        return None
    first = min(bound.used)
    if first > 1 and r.terms[first - 1][0] == "a":
        first -= 1  # "by a single goal"
    by = (first > 0 and r.terms[first - 1][0] == "by") or r.has(v.MARGIN)
    if not r.has(v.GOALS) and not by:
        return None
    if by and r.has(v.DRAW, v.SCORE_DRAW):
        return None  # "drawn by a single goal": a draw has no winning margin
    return {"metric": "margin" if by else "total_goals", "op": bound.op, "value": bound.value}


def share(r: Reading) -> Plan | None:
    """ "What share of games were home wins?": a percentage with the counts."""
    if _venue_win_rate(r):  # "home win percentage": the share of games won at home
        won_at = "home_win" if r.home else "away_win"
        return make(r, "share", metric="games", filters=filters_of(r, result=won_at))
    if not r.has(v.PERCENT) or r.has(v.RATE) or len(r.teams) > 1:
        return None
    # The games are implied by a result word: "draw percentage", "percentage of home wins".
    if not r.has(v.GAME, v.DRAW, v.GOALLESS, v.DECIDED) and not (
        r.has(v.WIN, v.LOSS) and r.home is not None
    ):
        return None
    threshold = _game_bound(r)
    if threshold is not None and not _venue_fits(r, threshold):
        return None
    result = _bound_result(r, threshold)
    if threshold is not None and result is not None:
        # "what share of draws had 4+ goals": a share of the draws, but a share is always of
        # the games in scope; refused rather than answered over all games.
        return None
    if r.teams and threshold:
        return None
    if r.teams and r.has(v.WIN, v.LOSS):
        # "What percentage of their games have Tigers won": the share of the team's games with
        # that outcome, and the counts behind it (its win rate, shown with what it is of).
        if r.has(v.NEGATION, v.DRAW) or r.has(v.WIN) == r.has(v.LOSS) or r.home is not None:
            return None
        filters = filters_of(r, outcome="win" if r.has(v.WIN) else "loss")
        return make(r, "share", metric="games", teams=r.teams, filters=filters)
    if threshold is None and result is None:
        return None
    if r.teams and r.has(v.HOME, v.AWAY):
        # "Lions' draw percentage at home": of their home games, or of all their games? A
        # share's venue would be part of the condition; rather than guess, refuse.
        return None
    filters = filters_of(r, result=result, threshold=threshold)
    return make(r, "share", metric="games", teams=r.teams, filters=filters)


def games_subject(r: Reading) -> bool:
    """The question is about games, not teams: "which games had 5+ goals", "matches with at
    least 4 goals", "draws with 4 goals or more" (the first content word is a game or a result)."""
    return _subject(r) is not None


def _bare_games(r: Reading) -> bool:
    """A bare noun phrase about games ("games with 5+ goals?"): asks how many, like "home wins";
    "which/what games …" and "show me games …" ask for the games themselves."""
    return _subject(r) == 0 and not r.has(v.LIST, v.WHO, v.TEAM)


def _subject(r: Reading) -> int | None:
    """Where a game or result word ("games", "draws", "home wins") opens the question (0 = first
    word; 1 = after which/what, "show me", a filler), or None when it opens with another."""
    for i, (word, tags) in enumerate(r.terms):
        if word in ("which", "what") or (not tags and word in v.IGNORABLE):
            continue
        if tags & {v.LIST, v.FILLER}:
            continue
        following = r.terms[i + 1][1] if i + 1 < len(r.terms) else frozenset()
        venue_result = bool(tags & {v.HOME, v.AWAY}) and bool(following & {v.WIN, v.LOSS})
        games = {v.GAME, v.DRAW, v.GOALLESS, v.DECIDED, v.SCORE_DRAW}
        if word == "played" or not (tags & games or venue_result):
            return None
        return 0 if i == 0 else 1
    return None


def _venue_fits(r: Reading, threshold: dict[str, Any]) -> bool:
    """A venue with a threshold on games is only a home (or away) win: "home wins by 2 or
    more". "3 or more home goals" is a threshold on one side's goals, which no plan holds."""
    if not r.has(v.HOME, v.AWAY):
        return True
    return r.home is not None and r.has(v.WIN, v.LOSS) and threshold["metric"] == "margin"


def _bound_result(r: Reading, threshold: dict[str, Any] | None) -> str | None:
    """The result filter beside a threshold: "won by 3" says no more than the margin does,
    unless a venue makes it a home or away win."""
    if threshold is not None and threshold["metric"] == "margin" and r.home is None:
        # "won by under 2 goals": a margin under 2 would count the draws (margin 0) too
        below = threshold["op"] in ("lt", "le") or threshold["value"] == 0
        return "decided" if below and r.has(v.WIN, v.LOSS, v.DECIDED) else None
    return game_result(r)


def _venue_win_rate(r: Reading) -> bool:
    """A win rate of the whole league at one venue ("home win percentage across the league"):
    the share of games the home (or away) side won. With a team, or asking which team, it is
    that team's win rate; without a venue, every decided game has a winner, so it is refused."""
    if not r.has(v.RATE) or r.teams or r.home is None:
        return False
    return not r.has(v.WHO, v.TEAM, v.ORDER, v.AVERAGE, *_SUPERLATIVE)


def game_count(r: Reading) -> Plan | None:
    """ "How many matches had five goals or more?": a count with a threshold on each game; the
    bare noun phrase ("games with 5+ goals?") is a count too, like "home wins" or "draws"."""
    if r.teams or r.has(v.PERCENT):
        return None
    if not (r.has(v.HOWMANY) or _bare_games(r)):
        return None
    threshold = _game_bound(r)
    if threshold is None or not _venue_fits(r, threshold):
        return None
    result = _bound_result(r, threshold)
    return make(
        r, "count", metric="games", filters=filters_of(r, result=result, threshold=threshold)
    )


# --- opponents -----------------------------------------------------------------------------------


def opponents(r: Reading) -> Plan | None:
    """ "Who have Wolves lost to?", "who did Lions beat?", "who have Lions still to play?"."""
    if len(r.teams) != 1 or r.has(v.HOWMANY, *_SUPERLATIVE) or not r.has(v.WHO, v.TEAM):
        return None
    if r.has(v.NEXT) and r.has(v.FIXTURE):
        if r.has(v.WIN, v.LOSS, v.DRAW):
            return None  # "still to face and beat": a result of games not played yet
        return make(r, "opponents", teams=r.teams, filters=filters_of(r, pending=True))
    spot = _team_positions(r)[0]
    for i, (_word, tags) in enumerate(r.terms):
        outcome = next((o for tag, o in _OUTCOME_OF.items() if tag in tags), None)
        if outcome is None:
            continue
        passive = i + 1 < len(r.terms) and r.terms[i + 1][0] == "by"  # "beaten by"
        subject = spot < i
        if subject == passive:
            outcome = _INVERSE[outcome]
        return make(
            r, "opponents", teams=r.teams, filters=filters_of(r, outcome=outcome, home=r.home)
        )
    return None


# --- sets of teams -------------------------------------------------------------------------------


def team_filter(r: Reading) -> Plan | None:
    """ "Which teams have more than 10 points?", "unbeaten sides", "teams without a win"."""
    if r.teams or r.has(v.HOWMANY) or not r.has(v.WHO, v.TEAM, v.LIST, v.ALL_TEAMS):
        return None
    if games_subject(r):
        return None  # "which games had 5+ goals": games, never the teams that scored 5
    words = r.words()
    if words and words[0] in _AUX and r.has(v.ALL_TEAMS):
        return None  # "is every team unbeaten?": yes/no about all of them, not the set
    bound = find_bound(r)
    if bound is None:
        return None
    metric = _bound_metric(r, bound)
    if metric not in VALUE_METRICS:
        return None
    extra = {"home": r.home, "threshold": _threshold(bound, metric)}
    return make(r, "filter", metric=metric, filters=filters_of(r, **extra))


RULES = (yes_no, difference, compare, split, share, game_count, opponents, team_filter)
