"""Benchmark: analytics parse time and query latency.

    .venv/bin/python tests/perf/analytics_latency.py [--teams 64] [--runs 20]

1. Parse time per question: every question of tests/analytics/questions.yaml and heldout.yaml
   parsed against the evaluation fixture (pure code, no database): median and p95.
2. Query latency on PostgreSQL: a league of TEAMS teams with a double round robin, every game
   final (64 teams: 4,032 games). One question per intent runs RUNS times through the whole
   service (event lookup, parse, read-only transaction, query, sentence), without the answer
   cache; then once more with the cache warm. Prints p50/p95 per intent and overall.

Everything runs against 127.0.0.1; the schema is dropped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from config.settings import load_settings  # noqa: E402
from models.db import make_read_engine, sync_session_factory  # noqa: E402
from tests.perf.standings_latency import percentile, seed_league  # noqa: E402
from tests.support import TEST_SECRET, create_pg_schema, drop_pg_schema, pg_schema_url  # noqa: E402
from workers.analytics.cache import MemoryAnswerCache  # noqa: E402
from workers.analytics.language.context import EventContext, TeamRef  # noqa: E402
from workers.analytics.language.parser import UnrecognizedQuestion, parse_question  # noqa: E402
from workers.analytics.service import AnalyticsConfig, Viewer, answer_question  # noqa: E402

ANALYTICS = ROOT / "tests" / "analytics"
SEASON_START = datetime(2026, 1, 3, 15, 0)

QUESTIONS = {
    "leader": "who has scored the most goals?",
    "leader (position)": "who is top of the table?",
    "top_n": "top 5 teams by goal difference",
    "team_value": "how many points do Team 07 have?",
    "team_record": "what is Team 12's record?",
    "head_to_head": "what was the score when Team 03 played Team 40?",
    "count": "how many games ended in a draw?",
    "total": "how many goals have been scored in total?",
    "average": "average goals per game",
    "extreme": "what was the biggest win?",
    "table": "show the league table",
    "form": "Team 21's form",
    "games": "what games were in round 9?",
    "group_by": "how many goals were scored in each round?",
}


def bench_parse() -> None:
    fixture = yaml.safe_load((ANALYTICS / "fixture.yaml").read_text())
    spec = fixture["events"][0]
    event = EventContext(
        id=1,
        name=spec["name"],
        teams=tuple(TeamRef(i + 1, name) for i, name in enumerate(spec["teams"])),
        year=2026,
    )
    today = fixture["today"]
    questions = [
        entry["q"]
        for name in ("questions.yaml", "heldout.yaml")
        if (ANALYTICS / name).exists()
        for entry in yaml.safe_load((ANALYTICS / name).read_text())
    ]
    for question in questions:  # warm up (regexes, fuzzy tables)
        _parse(question, event, today)
    timings = []
    for _ in range(5):
        for question in questions:
            started = time.perf_counter()
            _parse(question, event, today)
            timings.append(time.perf_counter() - started)
    print(f"parse: {len(questions)} questions x 5")
    print(
        f"  median {statistics.median(timings) * 1e6:.0f} µs, "
        f"p95 {percentile(timings, 0.95) * 1e6:.0f} µs, max {max(timings) * 1e6:.0f} µs"
    )


def _parse(question: str, event: EventContext, today: date) -> None:
    with contextlib.suppress(UnrecognizedQuestion):
        parse_question(question, event, today)


def bench_queries(teams: int, runs: int) -> None:
    schema = create_pg_schema()
    try:
        url = pg_schema_url(schema)
        event_id = seed_league(url, teams)
        engine = sa.create_engine(url)
        with engine.begin() as conn:  # kick-off times, one round a week, for form and dates
            conn.execute(
                sa.text("UPDATE games SET starts_at = :start + (round - 1) * interval '7 days'"),
                {"start": SEASON_START},
            )
            conn.execute(sa.text("ANALYZE"))
        engine.dispose()
        settings = load_settings({"DATABASE_URL": url, "JWT_SECRET": TEST_SECRET})
        read_engine = make_read_engine(settings)
        sessions = sync_session_factory(read_engine)
        config = AnalyticsConfig.from_settings(settings)
        today = (SEASON_START + timedelta(days=7 * 2 * teams)).date()
        print(f"queries: {teams} teams, double round robin, PostgreSQL, {runs} runs each")

        def ask(question: str, cache: MemoryAnswerCache | None = None) -> float:
            started = time.perf_counter()
            answer_question(
                sessions,
                question,
                event_id=event_id,
                viewer=Viewer(),
                config=config,
                cache=cache,
                today=today,
            )
            return time.perf_counter() - started

        every: list[float] = []
        for label, question in QUESTIONS.items():
            timings = [ask(question) for _ in range(runs)]
            every += timings
            print(
                f"  {label:<18} p50 {statistics.median(timings) * 1e3:6.1f} ms"
                f"  p95 {percentile(timings, 0.95) * 1e3:6.1f} ms"
            )
        print(
            f"  {'all':<18} p50 {statistics.median(every) * 1e3:6.1f} ms"
            f"  p95 {percentile(every, 0.95) * 1e3:6.1f} ms"
        )
        cache = MemoryAnswerCache(300)
        cached = []
        for question in QUESTIONS.values():
            ask(question, cache)  # fills the cache
            cached.append(ask(question, cache))
        print(f"  cached answer      p50 {statistics.median(cached) * 1e3:6.1f} ms")
        read_engine.dispose()
    finally:
        drop_pg_schema(schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=64)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    print(f"analytics benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    bench_parse()
    bench_queries(args.teams, args.runs)


if __name__ == "__main__":
    main()
