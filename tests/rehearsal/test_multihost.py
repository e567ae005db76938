"""The multi-host rehearsal (tests/rehearsal/multihost.py) as tests: run as a subprocess of its
own, since it moves its own process into the namespace it builds.

Both need root and network namespaces: elsewhere they are skipped with the reason (pytest's
`-ra` summary lists it), never passed silently."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.rehearsal.hosts import missing_tools
from tests.rehearsal.multihost import RUN_DIR_PREFIX
from tests.rehearsal.network import NETNS_DIR, PREFIX, unavailable_reason

SCRIPT = Path(__file__).with_name("multihost.py")
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def can_rehearse() -> None:
    reason = unavailable_reason() or (
        f"missing {', '.join(missing)}" if (missing := missing_tools()) else None
    )
    if reason:
        pytest.skip(f"multi-host rehearsal cannot run here: {reason}")


def _run(*args: str, timeout: float) -> tuple[int, dict[str, Any], str, int]:
    """The script's exit status, its JSON report, its summary line and its pid."""
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # its own clean-up runs, then it exits
        out, err = proc.communicate(timeout=60)
        pytest.fail(f"the rehearsal outlived {timeout} s:\n{err[-3000:]}")
    report, _, summary = out.rpartition("\n}\n")
    assert report, f"no report (exit {proc.returncode}):\n{err[-3000:]}"
    return proc.returncode, json.loads(report + "\n}"), summary.strip(), proc.pid


def _leftovers(pid: int) -> list[str]:
    namespaces = [p.name for p in NETNS_DIR.glob(f"{PREFIX}{pid}-*")]
    directories = [p.name for p in Path(tempfile.gettempdir()).glob(f"{RUN_DIR_PREFIX}{pid}-*")]
    return namespaces + directories


@pytest.mark.rehearsal
def test_out_of_time_it_still_removes_everything_it_made(can_rehearse: None) -> None:
    """The --timeout alarm goes off while the hosts start: exit 3, nothing left behind (no
    namespace, no process in one, no data directory)."""
    code, report, summary, pid = _run("--timeout", "8", timeout=120)
    assert code == 3, (code, report)
    assert report["ok"] is False and "timeout" in report["failed"]
    assert summary.startswith("multihost: FAIL")
    assert _leftovers(pid) == []


@pytest.mark.timeout(320)  # the script's own bound (240 s) and its clean-up
def test_two_api_hosts_a_worker_host_and_a_data_host(can_rehearse: None) -> None:
    code, report, summary, pid = _run("--timeout", "240", timeout=300)
    assert code == 0, report.get("failed")
    assert summary.startswith("multihost: OK"), summary
    cross, failover = report["cross_host"], report["failover"]
    # A score posted through B reaches A's spectators within a second (the script checks the
    # worst one); the worker host's table reaches spectators on both.
    assert cross["score_through_b_seen_on_a_ms"]["max"] <= 1000
    assert cross["worker_table_seen_on_a_ms"]["n"] and cross["worker_table_seen_on_b_ms"]["n"]
    # Host A killed: its spectators resumed on B and missed nothing while scores went on.
    assert failover["scores_after_loss"] > 0
    assert failover["missed"] == failover["duplicates"] == 0
    survivor = report["survivor"]
    assert survivor["b_ready"] and survivor["b_table_current"] and not survivor["a_answers"]
    assert survivor["worker_recomputes_ok"] > 0
    assert _leftovers(pid) == []
