"""Comparisons in a question: "more than 10", "3 or more", "at least 2", "unbeaten", "no wins".

``find_bound`` returns the one comparison a question makes (operator, number, and which terms
said it, so the coverage check knows they were read), or None. Two comparisons in one question
are refused: no plan can hold both, and dropping one would answer another question.
"""

from __future__ import annotations

from dataclasses import dataclass

from workers.analytics.language import vocabulary as v
from workers.analytics.language.reading import NUMBER_REF, NoPlan, Reading

_BEFORE = {v.GT: "gt", v.GE: "ge", v.LT: "lt", v.LE: "le", v.EQ: "eq"}
_AFTER = {v.GE_AFTER: "ge", v.LE_AFTER: "le"}
# Words that name a standings column (a bound may sit after one: "10 points or more").
METRIC_TAGS = frozenset(
    {v.GOALS, v.FOR, v.AGAINST, v.POINTS, v.WIN, v.DRAW, v.LOSS, v.DIFF, v.CLEAN, v.GAME}
    | {v.PLAYED, v.SCORED, v.RATE, v.PERCENT}
)
_WITH = frozenset({"with", "on", "have", "has", "had", "by"})


@dataclass(frozen=True)
class Bound:
    op: str
    value: int
    used: frozenset[int]  # indexes into Reading.terms
    metric: str | None = None  # set when the words name it too ("unbeaten" = lost)
    # "single digits"/"double figures": said of counts; a goal difference can be negative
    # (is -12 in double figures?), so these are refused on it.
    unsigned: bool = False


def _number_at(r: Reading, index: int) -> int:
    """The value of the NUMBER_REF term at `index` (numbers are kept in reading order)."""
    count = sum(1 for _word, tags in r.terms[:index] if NUMBER_REF in tags)
    return r.numbers[count]


def _is_number(r: Reading, index: int) -> bool:
    return 0 <= index < len(r.terms) and NUMBER_REF in r.terms[index][1]


def find_bound(r: Reading) -> Bound | None:
    found = [b for b in _bounds(r) if b is not None]
    if len(found) > 1:
        raise NoPlan(
            "I can use one comparison per question, not two.",
            suggest=False,
            code="unsupported_question",
        )
    return found[0] if found else None


def _bounds(r: Reading) -> list[Bound | None]:
    bounds: list[Bound | None] = []
    used: set[int] = set()
    terms = r.terms
    for i, (_word, tags) in enumerate(terms):
        if i in used:
            continue
        bound = _at(r, i, tags)
        if bound is not None:
            used |= bound.used
            bounds.append(bound)
    return bounds


def _at(r: Reading, i: int, tags: frozenset[str]) -> Bound | None:
    terms = r.terms
    before = next((op for tag, op in _BEFORE.items() if tag in tags), None)
    if before is not None and _is_number(r, i + 1):
        return Bound(before, _number_at(r, i + 1), frozenset({i, i + 1}))
    between = terms[i + 1] if i + 1 < len(terms) else ("", frozenset())
    verb = bool(between[1] & METRIC_TAGS) or (not between[1] and between[0] in v.IGNORABLE)
    if before == "eq" and _is_number(r, i + 2) and verb:
        return Bound("eq", _number_at(r, i + 2), frozenset({i, i + 2}))  # "only won once"
    if NUMBER_REF in tags:
        for gap in (1, 2):  # "3 or more", "10 points or more"
            j = i + gap
            if j < len(terms) and (terms[j][1] & _AFTER.keys()):
                if gap == 2 and not (terms[i + 1][1] & METRIC_TAGS):
                    continue
                op = next(op for tag, op in _AFTER.items() if tag in terms[j][1])
                return Bound(op, _number_at(r, i), frozenset({i, j}))
        # "teams with 2 draws": a bare count right before the column, after "with"
        at = i - 2 if i >= 2 and terms[i - 1][0] == "a" else i - 1  # "by a single goal"
        previous = terms[at][0] if at >= 0 else ""
        if previous in _WITH and i + 1 < len(terms) and terms[i + 1][1] & METRIC_TAGS:
            return Bound("eq", _number_at(r, i), frozenset({i}))
    if v.SCORE_DRAW in tags:
        return Bound("ge", 1, frozenset({i}), "total_goals")
    if v.SINGLE_DIGITS in tags:
        return Bound("lt", 10, frozenset({i}), unsigned=True)
    if v.DOUBLE_FIGURES in tags:
        return Bound("ge", 10, frozenset({i}), unsigned=True)
    if v.UNBEATEN in tags:
        return Bound("eq", 0, frozenset({i}), "lost")
    if v.WINLESS in tags:
        return Bound("eq", 0, frozenset({i}), "won")
    if v.NEGATIVE in tags:
        return Bound("lt", 0, frozenset({i}), "score_diff")
    if v.POSITIVE in tags:
        return Bound("gt", 0, frozenset({i}), "score_diff")
    if (v.NEGATION in tags or v.YET_TO in tags) and _column_follows(r, i):
        return Bound("eq", 0, frozenset({i}))  # "no clean sheets", "yet to keep a clean sheet"
    return None


def _column_follows(r: Reading, i: int) -> bool:
    """A standings column within the next two terms ("no draws", "without a clean sheet")."""
    for j in (i + 1, i + 2, i + 3):
        if j < len(r.terms) and r.terms[j][1] & METRIC_TAGS - {v.GAME}:
            return True
    return False
