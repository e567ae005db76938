"""The Dockerfile: hadolint clean, and the properties the deployment relies on."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.deploy.dockerfile import DOCKERFILE, ROOT, args, healthcheck_command, stages

BIN = Path(sys.executable).parent
COMPILERS = re.compile(r"\b(gcc|g\+\+|clang|build-essential|make|cc)\b")


def test_hadolint_finds_nothing() -> None:
    done = subprocess.run(
        [str(BIN / "hadolint"), "--no-color", str(DOCKERFILE)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_wheels_are_built_in_one_stage_and_installed_into_a_slim_one() -> None:
    found = stages()
    assert list(found) == ["build", "runtime"]
    assert found["runtime"].base.endswith("-slim-bookworm")
    assert not found["build"].base.endswith("-slim-bookworm"), "the build stage needs gcc"
    runtime = found["runtime"]
    # Nothing of the build stage is copied in: its wheels are only mounted for one RUN.
    assert not any(value.startswith("--from") for value in runtime.values("COPY"))
    for command in runtime.values("RUN"):
        assert "apt-get" not in command and not COMPILERS.search(command), command
    mounts = [c for c in runtime.values("RUN") if "--mount=type=bind,from=build" in c]
    assert len(mounts) == 1 and "pip uninstall" in mounts[0]


def test_runs_as_a_numeric_non_root_user() -> None:
    user = stages()["runtime"].values("USER")[-1]
    uid = user.replace("${UID}", args()["UID"]).split(":")[0]
    assert uid.isdigit() and int(uid) != 0, user


def test_healthcheck_asks_healthz_and_sigterm_stops() -> None:
    runtime = stages()["runtime"]
    assert any("/healthz" in part for part in healthcheck_command())
    assert runtime.values("STOPSIGNAL") == ["SIGTERM"]


def test_dockerignore_lets_in_exactly_what_the_dockerfile_copies() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "**", "the context starts empty; files are let in one by one"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = {
        source.rstrip("/")
        for stage in stages().values()
        for value in stage.values("COPY")
        if not value.startswith("--from")
        for source in value.split()[:-1]
    }
    uncovered = {
        source
        for source in copied
        if not any(source == entry or source.startswith(entry + "/") for entry in allowed)
    }
    assert not uncovered, f"COPY sources kept out by .dockerignore: {uncovered}"
    unused = {
        entry
        for entry in allowed
        if not any(source == entry or source.startswith(entry + "/") for source in copied)
    }
    assert not unused, f".dockerignore lets in what nothing copies: {unused}"
