"""Fixtures of the fault suite, and its summary: one line (and one JSON object) per scenario at
the end of the run, whichever pytest-xdist worker ran it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.driver import LoadRun, Report
from tests.faults.stack import Database, OwnRedis, Stack
from tests.support import create_pg_schema, drop_pg_schema, pg_schema_url

SUMMARY = "fault_summary"
HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The whole suite (`make test`) runs the short scenarios only: `faults_long` ones run
    when asked for, by a marker expression (`make test-faults` uses `-m faults`) or by naming
    tests/faults or a file or test in it."""
    if config.option.markexpr:
        return
    named = [Path(str(arg).split("::", 1)[0]).resolve() for arg in config.args]
    if any(path == HERE or HERE in path.parents for path in named):
        return
    long = [item for item in items if item.get_closest_marker("faults_long")]
    if long:
        config.hook.pytest_deselected(items=long)
        items[:] = [item for item in items if not item.get_closest_marker("faults_long")]


@pytest.fixture
def schema_url() -> Iterator[str]:
    """A fresh, migrated schema on the shared PostgreSQL (never restarted by these tests)."""
    schema = create_pg_schema()
    try:
        yield pg_schema_url(schema)
    finally:
        drop_pg_schema(schema)


MakeStack = Callable[..., Stack]


@pytest.fixture
async def make_stack(tmp_path: Path) -> AsyncIterator[MakeStack]:
    """`make_stack(database_url, aof=True, processes=1)`: a Stack with its redis-server started
    (call `start_serve()`, `start_worker()`, `await ready()`); everything stopped afterwards."""
    stacks: list[Stack] = []

    def make(database_url: str, *, aof: bool = True, processes: int = 1) -> Stack:
        stack = Stack(tmp_path, database_url, OwnRedis(tmp_path / "redis", aof=aof), processes)
        stacks.append(stack)
        return stack

    try:
        yield make
    finally:
        for stack in stacks:
            stack.close()
            with contextlib.suppress(Exception):
                await stack.redis.stop()


@pytest.fixture
async def load(
    request: pytest.FixtureRequest,
) -> AsyncIterator[Callable[..., LoadRun]]:
    """`load(stack, **options)`: a LoadRun against the stack; its report is attached to the
    test (the suite's summary) by `record(report)`."""
    runs: list[tuple[LoadRun, Database]] = []

    def make(stack: Stack, **options: Any) -> LoadRun:
        database = Database(stack.database_url)
        run = LoadRun(stack.url, database, **options)
        runs.append((run, database))
        return run

    yield make
    for run, database in runs:
        await run.close()
        database.dispose()


def record(request: pytest.FixtureRequest, report: Report) -> None:
    """Print the scenario's figures and attach them to the test for the summary."""
    print(f"\n{report.line()}\n{report.json()}")
    request.node.user_properties.append((SUMMARY, report.json()))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = []
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            for name, value in getattr(report, "user_properties", []):
                if name == SUMMARY and getattr(report, "when", "call") == "call":
                    lines.append((report.nodeid, outcome, json.loads(value)))
    if not lines:
        return
    terminalreporter.section("fault scenarios")
    for nodeid, outcome, figures in lines:
        recovery = figures["recovery_seconds"]
        terminalreporter.write_line(
            f"{outcome.upper()} {nodeid}: acknowledged {figures['acknowledged']}, "
            f"delivered {figures['delivered']}, missing {figures['missing']}, "
            f"duplicates {figures['duplicates']}, order violations "
            f"{figures['order_violations']}, resets {figures['resets']}, audit rows "
            f"{figures['audit_rows']}/committed {figures['committed']}, recovery writes "
            f"{recovery['writes_max']}s events {recovery['events_max']}s"
            + "".join(f", {name} {value}s" for name, value in figures["notes"].items())
        )
    for _nodeid, _outcome, figures in lines:
        terminalreporter.write_line(json.dumps(figures, sort_keys=True))
