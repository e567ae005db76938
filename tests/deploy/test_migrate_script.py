"""deploy/k8s/migrate.sh, the deploy workflows' migration step, against a stand-in kubectl that
renders with the real one and plays the cluster: what it applies, and how it ends."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.dockerfile import ROOT

SCRIPT = ROOT / "deploy" / "k8s" / "migrate.sh"
# Renders with the real kubectl; `get job` answers the Job's condition from $JOB_CONDITION;
# `apply -f` keeps the file it was given; every call is logged.
FAKE_KUBECTL = """#!/bin/sh
echo "$*" >> "$CALLS"
case "$1" in
  kustomize) exec "$REAL_KUBECTL" "$@" ;;
  apply) while [ $# -gt 0 ]; do [ "$1" = -f ] && cp "$2" "$APPLIED"; shift; done ;;
  -n) [ "$3" = get ] && printf '%s ' "$JOB_CONDITION" ;;
esac
exit 0
"""


def _run(
    tmp_path: Path, condition: str, *args: str
) -> tuple[subprocess.CompletedProcess[str], list[str], list[dict[str, Any]]]:
    real = shutil.which("kubectl")
    if real is None:
        pytest.fail("kubectl is needed to render the overlays")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "kubectl"
    fake.write_text(FAKE_KUBECTL)
    fake.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "REAL_KUBECTL": real,
        "CALLS": str(tmp_path / "calls"),
        "APPLIED": str(tmp_path / "applied.yaml"),
        "JOB_CONDITION": condition,
    }
    done = subprocess.run(
        [str(SCRIPT), "matchday-staging", "deploy/k8s/overlays/staging", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    calls = (tmp_path / "calls").read_text().splitlines()
    applied = [d for d in yaml.safe_load_all((tmp_path / "applied.yaml").read_text()) if d]
    return done, calls, applied


def _job_args(applied: list[dict[str, Any]]) -> list[str]:
    (job,) = [d for d in applied if d["kind"] == "Job"]
    return list(job["spec"]["template"]["spec"]["containers"][0]["args"])


def test_runs_the_job_afresh_and_succeeds_when_it_completes(tmp_path: Path) -> None:
    done, calls, applied = _run(tmp_path, "Complete")
    assert done.returncode == 0, done.stderr
    delete = calls.index(
        "-n matchday-staging delete job matchday-migrate --ignore-not-found --wait=true"
    )
    apply = next(i for i, c in enumerate(calls) if c.startswith("apply -l matchday.io/rollout=pre"))
    assert delete < apply, "the previous Job goes first: a Job's pod template cannot change"
    assert _job_args(applied) == ["migrate"]
    assert any(c.startswith("-n matchday-staging logs job/matchday-migrate") for c in calls)
    assert "matchday-migrate completed" in done.stdout


def test_fails_when_the_job_fails(tmp_path: Path) -> None:
    done, _, _ = _run(tmp_path, "Failed")
    assert done.returncode == 1
    assert "did not complete (Failed" in done.stderr


def test_rollback_runs_the_same_job_with_rollback_to(tmp_path: Path) -> None:
    done, _, applied = _run(tmp_path, "Complete", "--rollback-to", "0004")
    assert done.returncode == 0, done.stderr
    assert _job_args(applied) == ["migrate", "--rollback-to", "0004"]
    # Everything else is the overlay as it is: the same image, configuration and namespace.
    (job,) = [d for d in applied if d["kind"] == "Job"]
    assert job["metadata"]["namespace"] == "matchday-staging"
