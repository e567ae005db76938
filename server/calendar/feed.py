"""An event's or a team's games as an iCalendar feed (RFC 5545), and the feed's ETag.

Pure: plain rows in, bytes out, no I/O, so that a large feed can be rendered in the blocking
runner. The output depends on the rows alone (DTSTAMP is the game's last change, not the
time of the request): the same data gives the same bytes, and the ETag is a digest of the
rows, computed without rendering.

What a game becomes (docs/calendar.md):
- one VEVENT, UID ``game-<id>@<domain>``, stable for the game's life;
- SUMMARY ``Home vs Away``; once final ``Home 2\u20131 Away`` (an en dash); cancelled
  ones are prefixed ``Cancelled:`` for apps that ignore STATUS;
- STATUS ``CONFIRMED``, or ``CANCELLED`` for a cancelled game;
- SEQUENCE the game's move counter (time, venue, status), so apps replace their copy;
- a game without a time (postponed, or never timed) is left out: RFC 5545 requires DTSTART
  in a published calendar. It comes back, same UID and a higher SEQUENCE, once it has one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from icalendar import Calendar, Event, vDuration

FORMAT = "1"  # bump when the rendering changes: every ETag changes with it
PRODID = "-//Matchday//Calendar feed//EN"
SCORE_DASH = "\u2013"  # en dash, as results are printed


@dataclass(frozen=True)
class FeedGame:
    id: int
    home: str
    away: str
    home_score: int | None
    away_score: int | None
    status: str
    starts_at: datetime | None
    venue: str | None
    round: int | None
    sequence: int
    updated_at: datetime


GAME_FIELDS = tuple(f.name for f in fields(FeedGame))


@dataclass(frozen=True)
class Feed:
    name: str  # X-WR-CALNAME
    event_name: str
    games: Sequence[FeedGame]
    uid_domain: str
    game_length: timedelta
    refresh: timedelta  # how often apps should fetch again (a hint)
    page_url: str | None = None  # the spectator page, when a public base URL is known


def etag(feed: Feed) -> str:
    """A strong ETag: a digest of everything the rendering reads. Two feeds with one ETag
    render to the same bytes, so it also keys the rendered-feed cache (cache.py)."""
    digest = hashlib.sha256(FORMAT.encode())
    head = (feed.name, feed.event_name, feed.uid_domain, feed.game_length, feed.refresh)
    digest.update(repr((head, feed.page_url)).encode())
    for game in feed.games:
        # astuple() deep-copies every field: ten times slower on a season of games.
        digest.update(repr(tuple(getattr(game, name) for name in GAME_FIELDS)).encode())
    return f'"{digest.hexdigest()[:40]}"'


def summary(game: FeedGame) -> str:
    if game.status == "final" and game.home_score is not None and game.away_score is not None:
        text = f"{game.home} {game.home_score}{SCORE_DASH}{game.away_score} {game.away}"
    else:
        text = f"{game.home} vs {game.away}"
    return f"Cancelled: {text}" if game.status == "cancelled" else text


def _description(feed: Feed, game: FeedGame) -> str:
    lines = [feed.event_name]
    if game.round is not None:
        lines.append(f"Round {game.round}")
    if game.status == "live":
        lines.append("Live now")
    if feed.page_url:
        lines.append(feed.page_url)
    return "\n".join(lines)


def _vevent(feed: Feed, game: FeedGame, starts_at: datetime) -> Event:
    entry = Event()
    entry.add("uid", f"game-{game.id}@{feed.uid_domain}")
    entry.add("dtstamp", game.updated_at)
    entry.add("last-modified", game.updated_at)
    entry.add("sequence", game.sequence)
    entry.add("dtstart", starts_at)
    entry.add("dtend", starts_at + feed.game_length)
    entry.add("summary", summary(game))
    entry.add("description", _description(feed, game))
    if game.venue:
        entry.add("location", game.venue)
    if feed.page_url:
        entry.add("url", feed.page_url)
    entry.add("status", "CANCELLED" if game.status == "cancelled" else "CONFIRMED")
    return entry


def render(feed: Feed) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", feed.name)
    calendar.add("name", feed.name)  # RFC 7986's NAME, beside the de-facto X-WR-CALNAME
    calendar.add("refresh-interval", feed.refresh, parameters={"VALUE": "DURATION"})
    # Outlook's and Apple's refresh hint; an X- property is text to icalendar: say it in full.
    calendar.add("x-published-ttl", vDuration(feed.refresh).to_ical().decode())
    for game in feed.games:
        if game.starts_at is not None:
            calendar.add_component(_vevent(feed, game, game.starts_at))
    return bytes(calendar.to_ical())
