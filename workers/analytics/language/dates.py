"""Dates in a question: "2026-05-05", "5 May", "May 5th", "the 5th of May 2026", "today".

Relative words are read against the ``today`` the caller passes (the parser never reads the
clock), and a date without a year is in the season's year when the event knows it, else in
today's year. Numeric dates that are not ISO are read day first (05/06 is 5 June), as the
rest of the world writes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from workers.analytics.language.vocabulary import ORDINALS

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
WEEKDAYS = {
    name: number
    for number, names in enumerate(
        (
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thur", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        )
    )
    for name in names
}
_RELATIVE = {"today": 0, "tonight": 0, "yesterday": -1, "tomorrow": 1}
_TWO_WORD_RELATIVE = {("last", "night"): -1, ("this", "evening"): 0, ("this", "morning"): 0}


class InvalidDate(ValueError):
    """The question names a day that does not exist (31 February)."""


@dataclass(frozen=True)
class DateMatch:
    day: dt.date
    start: int
    end: int  # exclusive


def find_date(tokens: Sequence[str], today: dt.date, year: int | None) -> DateMatch | None:
    """The first date the tokens name, with its span; InvalidDate for impossible ones."""
    if not any(word[:1].isdigit() or word in _DATE_WORDS for word in tokens):
        return None  # the common case, cheaply
    default_year = year or today.year
    for start in range(len(tokens)):
        for reader in _READERS:
            found = reader(tokens, start, today, default_year)
            if found is not None:
                return found
    return None


def _make(y: int, m: int, d: int, start: int, end: int) -> DateMatch:
    try:
        return DateMatch(dt.date(y, m, d), start, end)
    except ValueError as exc:
        raise InvalidDate(f"there is no date {d:02d}/{m:02d}/{y}") from exc


def _relative(tokens: Sequence[str], i: int, today: dt.date, _year: int) -> DateMatch | None:
    pair = tuple(tokens[i : i + 2])
    if pair in _TWO_WORD_RELATIVE:
        return DateMatch(today + dt.timedelta(days=_TWO_WORD_RELATIVE[pair]), i, i + 2)
    offset = _RELATIVE.get(tokens[i])
    if offset is None:
        return None
    return DateMatch(today + dt.timedelta(days=offset), i, i + 1)


def _numeric(tokens: Sequence[str], i: int, _today: dt.date, year: int) -> DateMatch | None:
    word = tokens[i]
    for separator in "-/.":
        parts = word.split(separator)
        # Two numbers joined by '-' are a score ("3-1"), never a date.
        sizes = (3,) if separator == "-" else (2, 3)
        if len(parts) in sizes and all(p.isdigit() for p in parts):
            return _from_parts([int(p) for p in parts], [len(p) for p in parts], i, year)
    return None


def _from_parts(values: list[int], widths: list[int], i: int, year: int) -> DateMatch | None:
    if len(values) == 3 and widths[0] == 4:  # ISO: 2026-05-05
        return _make(values[0], values[1], values[2], i, i + 1)
    if len(values) == 3 and widths[2] in (2, 4):  # 05/05/2026, 5.5.26
        full = values[2] if widths[2] == 4 else 2000 + values[2]
        return _make(full, values[1], values[0], i, i + 1)
    if len(values) == 2 and 1 <= values[1] <= 12 and 1 <= values[0] <= 31:
        return _make(year, values[1], values[0], i, i + 1)  # "5/5": day/month
    return None


def _day_number(word: str) -> int | None:
    digits = word[:-2] if word[-2:] in ("st", "nd", "rd", "th") else word
    if digits.isdigit() and len(digits) <= 2 and 1 <= int(digits) <= 31:
        return int(digits)
    return ORDINALS.get(word) if ORDINALS.get(word, 99) <= 31 else None


def _year_at(tokens: Sequence[str], i: int) -> int | None:
    if i < len(tokens) and len(tokens[i]) == 4 and tokens[i].isdigit():
        value = int(tokens[i])
        return value if 1900 <= value <= 2200 else None
    return None


def _day_month(tokens: Sequence[str], i: int, _today: dt.date, year: int) -> DateMatch | None:
    """5 May, 5th May, 5th of May, the 5th of May 2026."""
    day = _day_number(tokens[i])
    if day is None:
        return None
    j = i + 1
    if j < len(tokens) and tokens[j] == "of":
        j += 1
    month = MONTHS.get(tokens[j]) if j < len(tokens) else None
    if month is None:
        return None
    explicit = _year_at(tokens, j + 1)
    end = j + 2 if explicit else j + 1
    return _make(explicit or year, month, day, i, end)


def _month_day(tokens: Sequence[str], i: int, _today: dt.date, year: int) -> DateMatch | None:
    """May 5, May 5th, May the 5th, May 5 2026."""
    month = MONTHS.get(tokens[i])
    if month is None:
        return None
    j = i + 1
    if j < len(tokens) and tokens[j] == "the":
        j += 1
    day = _day_number(tokens[j]) if j < len(tokens) else None
    if day is None:
        return None
    explicit = _year_at(tokens, j + 1)
    end = j + 2 if explicit else j + 1
    return _make(explicit or year, month, day, i, end)


def _weekday(tokens: Sequence[str], i: int, today: dt.date, _year: int) -> DateMatch | None:
    """last/next/this Saturday; a bare weekday is the nearest one (within three days)."""
    word = tokens[i]
    weekday = WEEKDAYS.get(word)
    if weekday is None or (len(word) <= 3 and (i == 0 or tokens[i - 1] != "on")):
        return None  # "sat", "sun" alone are too often other words
    ahead = (weekday - today.weekday()) % 7
    modifier = tokens[i - 1] if i else ""
    start = i - 1 if modifier in ("last", "next", "this", "coming") else i
    if modifier == "last":
        offset = ahead - 7 if ahead else -7
    elif modifier in ("next", "coming", "this"):
        offset = ahead if ahead or modifier == "this" else 7
    else:
        offset = ahead if ahead <= 3 else ahead - 7
    return DateMatch(today + dt.timedelta(days=offset), start, i + 1)


_READERS = (_relative, _numeric, _day_month, _month_day, _weekday)
_DATE_WORDS = frozenset(MONTHS) | frozenset(WEEKDAYS) | frozenset(_RELATIVE) | frozenset(ORDINALS)
_DATE_WORDS |= {first for first, _second in _TWO_WORD_RELATIVE}
