"""Why one row of a table sits above the next, in words (pure; no I/O).

The standings rules (models/domain/standings.py) record each split as a `Split`; this module
turns one into the `detail` sentence of a row's `decided_by`, this row's value first.
"""

from collections.abc import Sequence
from dataclasses import dataclass

EN_DASH = "\u2013"  # between two values, as in the contract's "head-to-head points 4\u20131"

# What each compared value is called in a sentence.
LABELS = {
    "points": "points",
    "score_diff": "score difference",
    "score_for": "scored",
    "wins": "wins",
    "score_against": "conceded",
    "head_to_head": "head-to-head",
}


@dataclass(frozen=True)
class Split:
    """The first rule that separated two neighbouring tie classes, and the values compared.

    `rule` is "points" or a tiebreaker name; `measure` the value that differed (for
    head_to_head: the mini-table's points, score_diff or score_for); `among` how many teams
    the head-to-head mini-table held."""

    rule: str
    measure: str
    upper: int
    lower: int
    among: int = 2


def split_detail(split: Split) -> str:
    """E.g. "points 42\u201340", "score difference +3 vs -1", "head-to-head points 4\u20131"."""
    prefix = "head-to-head " if split.rule == "head_to_head" else ""
    among = f" among {split.among} teams" if split.among > 2 else ""
    values = _pair(split.measure, split.upper, split.lower)
    return f"{prefix}{LABELS[split.measure]} {values}{among}"


def tied_detail(level: Sequence[tuple[str, int | None]]) -> str:
    """E.g. "level on points 7, score difference +2, scored 5 and head-to-head"."""
    parts = [
        LABELS[name] if value is None else f"{LABELS[name]} {_value(name, value)}"
        for name, value in level
    ]
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f"level on {listed}"


def _pair(measure: str, upper: int, lower: int) -> str:
    if measure == "score_diff" or upper < 0 or lower < 0:
        # A dash between signed numbers ("-19" dash "-10") reads badly: spell it out.
        return f"{_value(measure, upper)} vs {_value(measure, lower)}"
    return f"{upper}{EN_DASH}{lower}"


def _value(measure: str, value: int) -> str:
    return f"{value:+d}" if measure == "score_diff" else str(value)
