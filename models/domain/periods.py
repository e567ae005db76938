"""Per-period scores (halves, quarters, sets, innings...): what each sport allows, and whether a
breakdown agrees with the game's score. The table is documented in docs/scores.md."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SUM = "sum"  # the score is the sum of the periods (goals, points, runs)
SETS = "sets"  # the score is the number of sets (games) each side won


class PeriodError(ValueError):
    """A breakdown the event's sport does not allow, or one that disagrees with the score."""


@dataclass(frozen=True)
class Period:
    home: int
    away: int
    shootout: bool = False  # a penalty/shootout decider (only as the last period)

    def __post_init__(self) -> None:
        for value in (self.home, self.away):
            # bool is an int subclass, but True is never a meaningful score.
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise PeriodError(f"period scores must be non-negative integers, got {value!r}")


@dataclass(frozen=True)
class SportPeriods:
    """How a sport divides a game. `regulation` names the periods in order (a set sport lists
    every set it may play); `extra` names one block of extra time (`{n}`: the block's number,
    `{i}`: the period's position), played only when the score is level before it."""

    sport: str
    counting: str
    regulation: tuple[str, ...]
    extra: tuple[str, ...] = ()
    max_extra_blocks: int = 0
    shootout: str | None = None
    summary: str = ""

    @property
    def max_periods(self) -> int:
        return len(self.regulation) + len(self.extra) * self.max_extra_blocks + bool(self.shootout)

    def name(self, index: int, period: Period) -> str:
        """The name of the period at `index` (0-based)."""
        if period.shootout and self.shootout:
            return self.shootout
        if index < len(self.regulation):
            return self.regulation[index]
        offset = index - len(self.regulation)
        if offset >= len(self.extra) * self.max_extra_blocks:
            return f"Period {index + 1}"  # beyond what the sport plays (refused by `check`)
        block, within = divmod(offset, len(self.extra))
        return self.extra[within].format(n=block + 1, i=index + 1)


def _numbered(template: str, count: int) -> tuple[str, ...]:
    return tuple(template.format(i=i) for i in range(1, count + 1))


HALVES = ("1st half", "2nd half")
QUARTERS = _numbered("Q{i}", 4)
EXTRA_HALVES = ("ET 1st half", "ET 2nd half")
NUMBERED_EXTRA_HALVES = ("ET{n} 1st half", "ET{n} 2nd half")


def _sets(sport: str, best_of: int, word: str = "Set") -> SportPeriods:
    return SportPeriods(
        sport, SETS, _numbered(word + " {i}", best_of), summary=f"best of {best_of} {word.lower()}s"
    )


def _summed(
    sport: str,
    summary: str,
    regulation: tuple[str, ...],
    extra: tuple[str, ...] = (),
    blocks: int = 0,
    shootout: str | None = None,
) -> SportPeriods:
    return SportPeriods(sport, SUM, regulation, extra, blocks, shootout, summary)


INNINGS = "Inning {i}"
OVERTIME = ("OT{n}",)
SPORTS: dict[str, SportPeriods] = {
    rules.sport: rules
    for rules in (
        _summed(
            "football",
            "2 halves, extra time (2 halves), penalties",
            HALVES,
            EXTRA_HALVES,
            1,
            "Penalties",
        ),
        _summed(
            "futsal",
            "2 halves, extra time (2 halves), penalties",
            HALVES,
            EXTRA_HALVES,
            1,
            "Penalties",
        ),
        _summed("basketball", "4 quarters, up to 10 overtimes", QUARTERS, OVERTIME, 10),
        _summed(
            "ice hockey",
            "3 periods, up to 8 overtimes, shootout",
            _numbered("P{i}", 3),
            OVERTIME,
            8,
            "Shootout",
        ),
        _summed("field hockey", "4 quarters, shoot-out", QUARTERS, shootout="Shoot-out"),
        _summed("american football", "4 quarters, up to 10 overtimes", QUARTERS, OVERTIME, 10),
        _summed(
            "rugby union",
            "2 halves, extra time (2 halves), kicking competition",
            HALVES,
            EXTRA_HALVES,
            1,
            "Kicking competition",
        ),
        _summed("rugby league", "2 halves, golden point extra time", HALVES, ("Golden point",), 1),
        _summed(
            "handball",
            "2 halves, up to 2 extra times (2 halves each), 7-metre throw-off",
            HALVES,
            NUMBERED_EXTRA_HALVES,
            2,
            "Throw-off",
        ),
        _summed("water polo", "4 quarters, penalties", QUARTERS, shootout="Penalties"),
        _summed("netball", "4 quarters, extra time (2 halves)", QUARTERS, EXTRA_HALVES, 1),
        _summed("lacrosse", "4 quarters, up to 10 overtimes", QUARTERS, OVERTIME, 10),
        _summed(
            "australian football",
            "4 quarters, up to 2 extra times (2 halves each)",
            QUARTERS,
            NUMBERED_EXTRA_HALVES,
            2,
        ),
        _summed(
            "baseball",
            "9 innings, extra innings up to the 30th",
            _numbered(INNINGS, 9),
            (INNINGS,),
            21,
        ),
        _summed(
            "softball",
            "7 innings, extra innings up to the 30th",
            _numbered(INNINGS, 7),
            (INNINGS,),
            23,
        ),
        _summed("cricket", "1 or 2 innings a side (runs)", ("1st innings", "2nd innings")),
        _sets("volleyball", 5),
        _sets("beach volleyball", 3),
        _sets("tennis", 5),
        _sets("padel", 3),
        _sets("badminton", 3, "Game"),
        _sets("squash", 5, "Game"),
        _sets("table tennis", 7, "Game"),
    )
}

ALIASES = {
    "soccer": "football",
    "association football": "football",
    "basket": "basketball",
    "icehockey": "ice hockey",
    "nhl": "ice hockey",
    "rugby": "rugby union",
    "nfl": "american football",
    "gridiron": "american football",
    "aussie rules": "australian football",
    "australian rules football": "australian football",
    "afl": "australian football",
    "ping pong": "table tennis",
}

# Any other sport (or none): numbered periods that add up to the score.
GENERIC = SportPeriods("other", SUM, _numbered("Period {i}", 20), summary="up to 20 periods")


def rules_for(sport: str | None) -> SportPeriods:
    """The period rules of an event's free-text `sport` (case, spaces, `-` and `_` ignored)."""
    key = re.sub(r"[\s_-]+", " ", (sport or "").casefold()).strip()
    return SPORTS.get(ALIASES.get(key, key), GENERIC)


def check(
    rules: SportPeriods, periods: Sequence[Period], home: int, away: int, *, final: bool
) -> None:
    """Raise PeriodError unless `periods` fit the sport and agree with the score `home`-`away`.
    An empty breakdown (none recorded) always fits."""
    if not periods:
        return
    if len(periods) > rules.max_periods:
        raise PeriodError(
            f"{rules.sport} allows at most {rules.max_periods} periods ({rules.summary}), "
            f"got {len(periods)}"
        )
    if rules.counting == SETS:
        _check_sets(rules, periods, home, away, final=final)
    else:
        _check_sum(rules, periods, home, away, final=final)


def _check_sum(
    rules: SportPeriods, periods: Sequence[Period], home: int, away: int, *, final: bool
) -> None:
    played = list(periods)
    decider = played.pop() if played[-1].shootout else None
    if any(p.shootout for p in played):
        raise PeriodError("only the last period may be a shootout")
    if len(played) > len(rules.regulation) + len(rules.extra) * rules.max_extra_blocks:
        raise PeriodError(f"{rules.sport} allows {rules.summary}")
    _check_extra_time(rules, played)
    total = _sum(played)
    if decider is not None:
        total = _with_decider(rules, played, decider, total, final=final)
    if total != (home, away):
        raise PeriodError(
            f"the periods add up to {_score(total)}, not the score {_score((home, away))}"
        )


def _check_extra_time(rules: SportPeriods, played: Sequence[Period]) -> None:
    # Extra time (overtime, extra innings) is played only after a level score.
    start = len(rules.regulation)
    while start < len(played):
        before = _sum(played[:start])
        if before[0] != before[1]:
            name = rules.name(start, played[start])
            raise PeriodError(
                f"{name} is played only when the score is level, not {_score(before)}"
            )
        start += len(rules.extra)


def _with_decider(
    rules: SportPeriods, played: Sequence[Period], decider: Period, total: tuple[int, int],
    *, final: bool,
) -> tuple[int, int]:  # fmt: skip
    """The score with a shootout: its winner gets one more (as the NHL and knockout results
    record it); the shootout's own tally stays in the breakdown."""
    if rules.shootout is None:
        raise PeriodError(f"{rules.sport} has no shootout")
    if len(played) < len(rules.regulation):
        raise PeriodError(f"the {rules.shootout.lower()} comes after the full regulation time")
    if total[0] != total[1]:
        raise PeriodError(
            f"the {rules.shootout.lower()} is played only when the score is level, "
            f"not {_score(total)}"
        )
    if decider.home == decider.away:
        if final:
            raise PeriodError(f"a final game's {rules.shootout.lower()} needs a winner")
        return total  # still being taken: no one has won it yet
    return (total[0] + (decider.home > decider.away), total[1] + (decider.away > decider.home))


def _check_sets(
    rules: SportPeriods, periods: Sequence[Period], home: int, away: int, *, final: bool
) -> None:
    if any(p.shootout for p in periods):
        raise PeriodError(f"{rules.sport} has no shootout")
    to_win = len(rules.regulation) // 2 + 1
    for index in range(1, len(periods)):
        if max(_won(periods[:index])) >= to_win:
            name = rules.name(index, periods[index])
            raise PeriodError(
                f"{name} is played after a side had already won {to_win} {_unit(rules)}s"
            )
    done = periods if final else periods[:-1]
    tied = next((i for i, p in enumerate(done) if p.home == p.away), None)
    if tied is not None:
        raise PeriodError(f"{rules.name(tied, done[tied])} is tied: a finished one needs a winner")
    # While live, the last set listed may still be in play, or just won.
    allowed = {_won(periods)} if final else {_won(periods[:-1]), _won(periods)}
    if (home, away) not in allowed:
        raise PeriodError(
            f"the score counts {_unit(rules)}s won, which the "
            f"periods make {' or '.join(sorted(_score(s) for s in allowed))}, "
            f"not {_score((home, away))}"
        )


def _unit(rules: SportPeriods) -> str:
    return rules.regulation[0].split()[0].lower()  # "set" or "game"


def _sum(periods: Sequence[Period]) -> tuple[int, int]:
    return sum(p.home for p in periods), sum(p.away for p in periods)


def _won(periods: Sequence[Period]) -> tuple[int, int]:
    return sum(p.home > p.away for p in periods), sum(p.away > p.home for p in periods)


def _score(score: tuple[int, int]) -> str:
    return f"{score[0]}-{score[1]}"


def resolve(
    given: Sequence[Period] | None, current: Sequence[Period], *, score_unchanged: bool
) -> tuple[Period, ...]:
    """The breakdown a score update leaves: the one sent; when none is sent, the recorded one
    while the score stays the same, and none once it changes (it would no longer add up)."""
    if given is not None:
        return tuple(given)
    return tuple(current) if score_unchanged else ()


def to_json(rules: SportPeriods, periods: Sequence[Period]) -> list[dict[str, Any]]:
    """The stored and published form: each period with its name (as of recording)."""
    stored: list[dict[str, Any]] = []
    for index, period in enumerate(periods):
        item: dict[str, Any] = {"name": rules.name(index, period)}
        item.update(home=period.home, away=period.away)
        if period.shootout:
            item["shootout"] = True
        stored.append(item)
    return stored


def from_json(stored: Sequence[dict[str, Any]] | None) -> tuple[Period, ...]:
    return tuple(
        Period(item["home"], item["away"], bool(item.get("shootout"))) for item in stored or ()
    )
