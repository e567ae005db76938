"""Reading a question: fold it, lift out what has a value, and tag the rest with concepts.

``read_question`` drops the event's own name, then replaces teams, a date, a round and a group
with placeholders (keeping their values on the ``Reading``), corrects small misspellings of
known words, and turns the remaining words into concept tags (``vocabulary.PHRASES``, longest
phrase first). It refuses — ``NoPlan`` — what cannot be read safely: a team the event does not
have, an ambiguous name, an impossible date, a range of dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from workers.analytics.language import vocabulary as v
from workers.analytics.language.context import EventContext
from workers.analytics.language.dates import MONTHS, InvalidDate, find_date
from workers.analytics.language.names import index_for
from workers.analytics.language.text import MAX_QUESTION_CHARS, Token, is_joined_number, tokenize
from workers.analytics.language.text import words as text_words

TEAM_REF = "@team"
DATE_REF = "@date"
ROUND_REF = "@round"
GROUP_REF = "@group"
NUMBER_REF = "@number"
SCORE_REF = "@score"
UNKNOWN = "@unknown"

_ROUND_WORDS = frozenset({"round", "matchday", "gameweek", "matchweek", "week", "rd", "r"})
_RANGE_WORDS = frozenset({"since", "after", "before", "until", "till", "through", "prior"})
_MONTH_BEFORE = frozenset({"in", "during", "of", "this", "last", "since", "until", "through"})
_GROUP_WORDS = frozenset({"group", "pool", "conference", "division"})
# Words before an unknown word (skipping "the") that make it look like a team name:
# "scored by the panthers", "record of pandas", "lions vs panthers".
_SLOT_BEFORE = frozenset(
    {"for", "by", "of", "against", "vs", "versus", "v", "between", "and", "beat", "about"}
    | {"played", "play", "beaten", "face", "faced", "meet", "met"}
)


class NoPlan(Exception):
    """The question cannot be planned (internal: the parser turns it into UnrecognizedQuestion,
    adding the example questions and a "did you mean")."""

    def __init__(
        self,
        message: str,
        suggest: bool = True,
        code: str = "unrecognized_question",
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.suggest = suggest  # False when the message already says exactly what is wrong
        self.code = code  # an ErrorCode value: why there is no plan
        self.details = details or {}


# Tags that name a standings column (so "top" is not about the table position).
_COLUMN_TAGS = (
    *(v.GOALS, v.FOR, v.AGAINST, v.POINTS, v.WIN, v.DRAW, v.LOSS, v.DIFF, v.CLEAN),
    *(v.RATE, v.PLAYED, v.SCORED, v.DEFENCE),
)


@dataclass
class Reading:
    """What a question says, once its entities are lifted out and its words tagged."""

    event: EventContext
    terms: list[tuple[str, frozenset[str]]] = field(default_factory=list)
    teams: list[int] = field(default_factory=list)
    date: dt.date | None = None
    round: int | None = None
    group: str | None = None
    numbers: list[int] = field(default_factory=list)
    today: dt.date | None = None

    def __post_init__(self) -> None:
        self.tags: frozenset[str] = frozenset()

    def finish(self) -> None:
        self.tags = frozenset(tag for _word, tags in self.terms for tag in tags)
        standing = self.has(v.TABLE, v.POSITION) or (
            self.has(v.TOP, v.BOTTOM, v.LEAD) and not self.has(*_COLUMN_TAGS)
        )
        if self.date is None or not standing or self.has(v.GAME, v.RESULT, v.FIXTURE):
            return
        if self.date != self.today:
            raise NoPlan("I can show the table as it is now, not as it was on another day.")
        self.date = None  # "the table today", "who is top now": today is when, not which games
        self.terms = [(w, frozenset({v.FILLER}) if w == DATE_REF else t) for w, t in self.terms]

    def has(self, *tags: str) -> bool:
        return any(tag in self.tags for tag in tags)

    def words(self) -> list[str]:
        return [word for word, _tags in self.terms]

    def near(self, first: set[str] | str, then: set[str] | str, gap: int = 2) -> bool:
        """A term tagged ``first`` followed within ``gap`` content terms by one tagged ``then``."""
        first_set = {first} if isinstance(first, str) else first
        then_set = {then} if isinstance(then, str) else then
        content = [tags for _word, tags in self.terms if tags and v.FILLER not in tags]
        for i, tags in enumerate(content):
            if tags & first_set and any(t & then_set for t in content[i + 1 : i + 1 + gap]):
                return True
        return False

    @property
    def home(self) -> bool | None:
        if self.has(v.HOME) == self.has(v.AWAY):
            return None
        return self.has(v.HOME)


def read_question(
    question: str, event: EventContext, today: dt.date, *, topical: bool = True
) -> Reading:
    """The reading of `question`; `topical=False` skips the off-topic refusal (a language
    model's plan is checked against a question the parser found no league word in)."""
    if len(question) > MAX_QUESTION_CHARS:
        raise NoPlan(f"Questions are limited to {MAX_QUESTION_CHARS} characters.")
    tokens = tokenize(question)
    reading = Reading(event, today=today)
    words = [token.text for token in tokens]
    own_name = index_for(((event.id, event.name),), aliases=False)
    words = _drop_spans(words, own_name.find(words), None)
    words = _lift_teams(words, event, reading)
    words = _lift_date(words, event, today, reading)
    _refuse_months(words)
    words = _lift_round(words, reading)
    words = _lift_group(words, event, reading)
    reading.terms = _mark_exact(_mark_choice(_tag(words, reading, _written_as_names(tokens))))
    if topical and off_topic(reading):
        raise NoPlan(
            f"I can answer questions about {event.name}'s teams, games, results and table only.",
            code="off_topic",
        )
    _check_unknown(tokens, reading)
    reading.finish()
    return reading


# Concepts of a league: a question with none of them (and no team, date or round) is not
# about the event at all.
_TOPIC = frozenset(
    {v.GOALS, v.SCORED, v.FOR, v.AGAINST, v.DEFENCE, v.POINTS, v.WIN, v.DRAW, v.LOSS, v.DIFF}
    | {v.CLEAN, v.RATE, v.PLAYED, v.POSITION, v.TABLE, v.GAME, v.RESULT, v.SCORELINE, v.TEAM}
    | {v.HIGHSCORING, v.LOWSCORING, v.MARGIN, v.H2H, v.VERSUS, v.MEET, v.FORM, v.RECORD, v.PAIRING}
    | {v.DOING, v.FIXTURE, v.GOALLESS, v.DECIDED, v.ROUND, v.PER_GAME, v.PER_TEAM, v.HOME}
    | {v.AWAY, v.LEAD, v.TOP, v.BOTTOM, v.UNSUPPORTED, v.SCORER, v.UNBEATEN, v.WINLESS}
    | {v.PER_ROUND, v.SINGLE_GAME, v.LIVE, v.AVERAGE, v.BEST, v.WORST, v.MOST, v.LEAST}
    | {v.GAP, v.ORDINAL, v.SCORE_DRAW, TEAM_REF, DATE_REF, ROUND_REF, GROUP_REF, SCORE_REF}
)


def off_topic(r: Reading) -> bool:
    """Nothing in the question is about a league: no team, game, result or standings word."""
    tags = {tag for _word, tags in r.terms for tag in tags}
    return not (tags & _TOPIC) and not r.teams


def _drop_spans(words: list[str], spans: Sequence[Any], placeholder: str | None) -> list[str]:
    out: list[str] = []
    position = 0
    for span in spans:
        out.extend(words[position : span.start])
        if placeholder:
            out.append(placeholder)
        position = span.end
    out.extend(words[position:])
    return out


def _lift_teams(words: list[str], event: EventContext, reading: Reading) -> list[str]:
    names = tuple((team.id, team.name) for team in event.teams)
    mentions = index_for(names).find(words)
    for mention in mentions:
        if len(mention.ids) > 1:
            options = ", ".join(sorted(event.team_name(i) for i in mention.ids))
            said = " ".join(words[mention.start : mention.end])
            raise NoPlan(f'"{said}" could be more than one team: {options}.', suggest=False)
        if mention.ids[0] not in reading.teams:
            reading.teams.append(mention.ids[0])
    return _drop_spans(words, mentions, TEAM_REF)


def _lift_date(
    words: list[str], event: EventContext, today: dt.date, reading: Reading
) -> list[str]:
    try:
        found = find_date(words, today, event.year)
    except InvalidDate as exc:
        raise NoPlan(f"{exc}.") from None
    if found is None:
        return words
    reading.date = found.day
    if found.start and words[found.start - 1] in _RANGE_WORDS:
        raise NoPlan("I can look at one day (e.g. 5 May) or one round, not a range of dates.")
    words = [*words[: found.start], DATE_REF, *words[found.end :]]
    if find_date(words, today, event.year) is not None:
        raise NoPlan("I can only look at one date at a time.")
    return words


def _refuse_months(words: list[str]) -> None:
    """ "in April": a whole month is a range, which plans cannot say (a day or a round can)."""
    for i, word in enumerate(words):
        if word in MONTHS and (word != "may" or (i and words[i - 1] in _MONTH_BEFORE)):
            raise NoPlan("I can look at one day (e.g. 5 May) or one round, not a whole month.")


def _number(word: str) -> int | None:
    if word.isdigit() and len(word) <= 5:
        return int(word)
    return v.CARDINALS.get(word)


def ordinal_value(word: str) -> int | None:
    """3rd → 3, "third" → 3; None for any other word."""
    return _ordinal(word)


def _ordinal(word: str) -> int | None:
    if word[-2:] in ("st", "nd", "rd", "th") and word[:-2].isdigit() and len(word) <= 7:
        return int(word[:-2])
    return v.ORDINALS.get(word)


def _lift_round(words: list[str], reading: Reading) -> list[str]:
    """round 3, round three, matchday 3, week 3, 3rd round, third round, the round 3 games."""
    for i, word in enumerate(words):
        spoken = word in _ROUND_WORDS or (word == "match" and words[i + 1 : i + 2] == ["day"])
        if not spoken:
            continue
        after = i + 2 if word == "match" else i + 1
        value = _number(words[after]) if after < len(words) else None
        if value is not None:
            return _set_round(words, reading, i, after + 1, value)
        before = _ordinal(words[i - 1]) if i else None
        if before is not None and word not in ("week", "r", "rd"):
            return _set_round(words, reading, i - 1, i + 1, before)
    return words


def _set_round(words: list[str], reading: Reading, start: int, end: int, value: int) -> list[str]:
    if not 1 <= value <= 10_000:
        raise NoPlan(f"There is no round {value}.")
    reading.round = value
    return [*words[:start], ROUND_REF, *words[end:]]


def _lift_group(words: list[str], event: EventContext, reading: Reading) -> list[str]:
    groups: dict[str, str] = {}
    for group in {team.group for team in event.teams if team.group}:
        folded = " ".join(text_words(group))
        groups[folded] = group
        for prefix in ("group ", "pool "):  # a group called "Group 1" is asked for as "group 1"
            if folded.startswith(prefix):
                groups[folded.removeprefix(prefix)] = group
    for i, word in enumerate(words[:-1]):
        if word not in _GROUP_WORDS:
            continue
        name = words[i + 1]
        if name in groups:
            reading.group = groups[name]
            return [*words[:i], GROUP_REF, *words[i + 2 :]]
        if len(name) == 1 or name.isdigit():
            raise NoPlan(f"{event.name} has no group {name.upper()}.")
    return words


def _tag(
    words: list[str], reading: Reading, names: frozenset[str]
) -> list[tuple[str, frozenset[str]]]:
    """Longest phrase first; placeholders and numbers keep their own tags."""
    words = [word if word in names else _spelled(word) for word in words]
    terms: list[tuple[str, frozenset[str]]] = []
    i = 0
    while i < len(words):
        for size in range(min(v.MAX_PHRASE, len(words) - i), 0, -1):
            tags = v.PHRASES.get(tuple(words[i : i + size]))
            if tags is not None:
                terms.append((" ".join(words[i : i + size]), frozenset(tags)))
                i += size
                break
        else:
            terms.append((words[i], _word_tags(words, i, reading)))
            i += 1
    return terms


def _mark_choice(terms: list[tuple[str, frozenset[str]]]) -> list[tuple[str, frozenset[str]]]:
    """ "Lions or Tigers" (two named teams, "or" between them): a choice between the two, which
    a comparison can answer; any other "or" stays a choice no plan can make."""
    out = list(terms)
    for i in range(1, len(terms) - 1):
        after = i + 2 if terms[i + 1][0] == "the" and i + 2 < len(terms) else i + 1
        if (
            v.OR in terms[i][1]
            and terms[i - 1][0] == TEAM_REF
            and terms[after][0] == TEAM_REF
            and sum(word == TEAM_REF for word, _tags in terms) == 2
        ):
            out[i] = (terms[i][0], frozenset({v.CHOICE}))
    return out


_EXACT_WORDS = frozenset({"only", "just"})
_COMPARING = frozenset({v.GT, v.GE, v.LT, v.LE, v.EQ, v.GE_AFTER, v.LE_AFTER})
_COUNTED_VERBS = frozenset({v.WIN, v.DRAW, v.LOSS, v.SCORED, v.AGAINST, v.PLAYED})


def _mark_exact(terms: list[tuple[str, frozenset[str]]]) -> list[tuple[str, frozenset[str]]]:
    """ "only once", "just 2 draws", "have only won once": exactly that many (an "eq" bound).
    Anywhere else "only" stays a word no plan uses (refused) and "just" a filler; beside
    another comparison ("more than only 2", "only 3 or more") it is not read as one."""
    out = list(terms)
    for i, (word, tags) in enumerate(terms):
        if word not in _EXACT_WORDS or tags or (i and terms[i - 1][1] & _COMPARING):
            continue
        at = i + 1
        if at + 1 < len(terms) and _verb_between(terms[at]):
            at += 1  # "only won once", "only kept 1 clean sheet"
        if at >= len(terms) or NUMBER_REF not in terms[at][1]:
            continue
        after = terms[at + 1 : at + 3]
        if any(t & _COMPARING for _w, t in after):
            continue
        out[i] = (word, frozenset({v.EQ}))
    return out


def _verb_between(term: tuple[str, frozenset[str]]) -> bool:
    word, tags = term
    return bool(tags & _COUNTED_VERBS) or (not tags and word in v.IGNORABLE)


def _check_season(year: int, reading: Reading) -> None:
    """Only this event's games are known: "in 1990" is not a filler, it is another season.
    A season may run into the next year (2025/26)."""
    season = reading.event.year or (reading.today.year if reading.today else None)
    if season is not None and year not in (season - 1, season, season + 1):
        raise NoPlan(
            f"I only know the games of {reading.event.name}, not those of {year}.", suggest=False
        )


def _word_tags(words: list[str], i: int, reading: Reading) -> frozenset[str]:
    word = words[i]
    if word.startswith("@"):
        return frozenset({word})
    if is_joined_number(word):
        return frozenset({SCORE_REF})
    value = _number(word)
    if word == "single" and i + 1 < len(words) and words[i + 1] in _COUNTED_NOUNS:
        value = 1  # "by a single goal", "a single win"
    if value is not None:
        if len(word) == 4 and 1900 <= value <= 2200:
            _check_season(value, reading)
            return frozenset({v.FILLER})  # a year: "in 2026"
        after = words[i + 1] if i + 1 < len(words) else ""
        if (
            word not in ("one", "single")
            or (i and words[i - 1] in ("top", "bottom", "last", "first", "best"))
            or after in _COUNTED_NOUNS
        ):
            reading.numbers.append(value)
            return frozenset({NUMBER_REF})
        return frozenset()
    if _ordinal(word) is not None and word != "first":
        return frozenset({v.ORDINAL})  # "second and third": places, read by the rules
    if word in v.KNOWN_WORDS or not word.isalpha():
        return frozenset()
    return frozenset({UNKNOWN})


# Spelling is corrected towards the words rules care about first, then any ordinary word.
_PHRASE_WORDS = sorted({w for phrase in v.PHRASES for w in phrase if len(w) >= 3 and w.isalpha()})
_OTHER_WORDS = sorted(w for w in v.KNOWN_WORDS - set(_PHRASE_WORDS) if len(w) >= 3 and w.isalpha())


def _spelled(word: str) -> str:
    """'gaols' → 'goals', 'standigns' → 'standings', 'msot' → 'most': one slip at most.

    Words of three or four letters are corrected only for two swapped letters: any other
    single edit of a short word too easily makes a different word.
    """
    if len(word) < 3 or word in v.KNOWN_WORDS or not word.isalpha() or word.startswith("@"):
        return word
    budget = 1 if len(word) < 9 else 2
    for candidates in (_PHRASE_WORDS, _OTHER_WORDS):
        for found, _distance, _index in process.extract(
            word, candidates, scorer=OSA.distance, score_cutoff=budget, limit=5
        ):
            if len(word) >= 5 or sorted(found) == sorted(word):
                return str(found)
    return word


def _shouting(tokens: list[Token]) -> bool:
    """Most words capitalised (ALL CAPS, Title Case): capitals then say nothing."""
    letters = [t for t in tokens if t.text.isalpha()]
    return sum(t.capital for t in letters) > max(2, len(letters) // 2)


def _written_as_names(tokens: list[Token]) -> frozenset[str]:
    """Capitalised words after the first: names, never corrected into vocabulary ("Stars")."""
    if _shouting(tokens):
        return frozenset()
    return frozenset(t.text for t in tokens[1:] if t.capital or t.possessive)


def _check_unknown(tokens: list[Token], reading: Reading) -> None:
    """An unknown word written or placed like a name ("Panthers", "have pandas scored")."""
    terms = reading.terms
    unknown = {i for i, (_word, tags) in enumerate(terms) if UNKNOWN in tags}
    if not unknown:
        return
    shouting = _shouting(tokens)
    by_text = {t.text: t for t in tokens}
    for i in sorted(unknown):
        word = terms[i][0]
        token = by_text.get(word, Token(word))
        # A lone capital letter ("H", "A") is an initial or a typo, not a team name.
        namelike = ((token.capital and not shouting) or token.possessive) and len(word) > 1
        verbish = word.endswith(("ed", "ing"))  # "have kicked off": a verb, not a team
        before_at = i - 2 if i >= 2 and terms[i - 1][0] == "the" else i - 1
        before = terms[before_at][0] if before_at >= 0 else ""
        after = terms[i + 1][1] if i + 1 < len(terms) else frozenset()
        slot = len(word) >= 4 and (before in _SLOT_BEFORE or bool(after & _VERBS))
        if namelike or (slot and not verbish):
            name = _name_around(tokens, word) if namelike else word.title()
            raise NoPlan(
                f'There is no team called "{name}" in {reading.event.name}.',
                False,
                code="unknown_team",
                details={"name": name, "suggestions": closest_teams(name, reading.event)},
            )


# "one goal", "one win": then "one" is a number, not a pronoun.
_COUNTED_NOUNS = frozenset(
    [
        "goal",
        "goals",
        "game",
        "games",
        "win",
        "wins",
        "point",
        "points",
        "draw",
        "draws",
        "loss",
        "losses",
        "defeat",
        "defeats",
    ]
)
_VERBS = frozenset({v.SCORED, v.AGAINST, v.WIN, v.LOSS, v.DRAW, v.PLAYED, v.MEET, v.DOING})


MAX_SUGGESTIONS = 3


def closest_teams(name: str, event: EventContext) -> list[str]:
    """The event's team names nearest to `name`, closest first (at most three)."""
    names = [team.name for team in event.teams]
    found = process.extract(name, names, scorer=fuzz.WRatio, limit=MAX_SUGGESTIONS)
    return [str(match) for match, _score, _index in found]


def _name_around(tokens: list[Token], word: str) -> str:
    """The run of capitalised words an unknown name sits in ("Real Madrid")."""
    index = next(i for i, t in enumerate(tokens) if t.text == word)
    start = index
    while start and tokens[start - 1].capital and tokens[start - 1].text not in v.STOPWORDS:
        start -= 1
    end = index + 1
    while end < len(tokens) and tokens[end].capital and tokens[end].text not in v.STOPWORDS:
        end += 1
    return " ".join(t.text.title() for t in tokens[start:end])
