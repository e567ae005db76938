"""The feed renderer (server/calendar/feed.py), pure: what a calendar app reads back from it,
for any team and venue names, and ETags that change exactly when the bytes do."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar

from server.calendar.feed import Feed, FeedGame, etag, render, summary

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60)


def game(**fields: object) -> FeedGame:
    base = FeedGame(1, "Lions", "Tigers", None, None, "scheduled", T0, "North", 1, 0, T0)
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def feed(*games: FeedGame, name: str = "Cup") -> Feed:
    return Feed(name, "Cup", games, "example.org", timedelta(minutes=90), timedelta(hours=1))


@given(home=names, away=names, venue=names, calendar_name=names)
def test_any_names_come_back_as_they_were(
    home: str, away: str, venue: str, calendar_name: str
) -> None:
    data = feed(game(home=home, away=away, venue=venue), name=calendar_name)
    calendar = Calendar.from_ical(render(data))
    [entry] = calendar.walk("VEVENT")
    assert str(calendar["X-WR-CALNAME"]) == calendar_name
    assert str(entry["SUMMARY"]) == f"{home} vs {away}"
    assert str(entry["LOCATION"]) == venue
    assert str(entry["UID"]) == "game-1@example.org"


def test_what_each_status_looks_like() -> None:
    assert summary(game(status="live", home_score=1, away_score=0)) == "Lions vs Tigers"
    final = game(status="final", home_score=2, away_score=1)
    assert summary(final) == "Lions 2\u20131 Tigers"
    assert summary(game(status="cancelled")) == "Cancelled: Lions vs Tigers"
    [entry] = Calendar.from_ical(render(feed(game(status="cancelled")))).walk("VEVENT")
    assert str(entry["STATUS"]) == "CANCELLED"
    untimed = feed(game(status="postponed", starts_at=None), game(id=2))
    assert [str(e["UID"]) for e in Calendar.from_ical(render(untimed)).walk("VEVENT")] == [
        "game-2@example.org"
    ]


@given(
    change=st.sampled_from(
        [
            {"venue": "South"},
            {"starts_at": T0 + timedelta(minutes=1)},
            {"sequence": 1},
            {"status": "cancelled"},
            {"home": "Lions "},
            {"updated_at": T0 + timedelta(seconds=1)},
        ]
    )
)
def test_the_etag_changes_exactly_when_the_bytes_do(change: dict[str, object]) -> None:
    before, after = feed(game()), feed(game(**change))
    assert etag(before) == etag(feed(game()))
    assert render(before) == render(feed(game()))
    assert etag(before) != etag(after) and render(before) != render(after)
