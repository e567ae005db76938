"""The disaster-recovery walkthrough docs/disaster-recovery.md quotes (tests/dr/walkthrough.py)
still recovers: its own PostgreSQL and Redis on free ports, a seeded league, `matchday backup`,
everything destroyed, `matchday restore`, and the data, the standings and the live stream
checked. A smaller league than the documented run, same steps."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.own_postgres import _bin_dir

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(450)
def test_the_walkthrough_recovers_a_league_from_its_backup() -> None:
    if _bin_dir() is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) to run a server of our own")
    done = subprocess.run(
        [sys.executable, "-m", "tests.dr.walkthrough", "--games", "6", "--deadline", "400"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=420,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tables identical" in done.stdout
    assert "an old Last-Event-ID gets `reset`" in done.stdout
    assert "Recovery (empty database → serving, verified data)" in done.stdout
