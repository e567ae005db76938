"""The shell scripts the image and the deploy workflows run: shellcheck clean."""

from __future__ import annotations

import shutil

import pytest

from tests.deploy.dockerfile import ROOT
from tests.deploy.tools import run

SCRIPTS = sorted((ROOT / "deploy").rglob("*.sh"))


def test_shellcheck_finds_nothing() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:  # Debian/Ubuntu package `shellcheck`; GitHub's runners have it
        pytest.skip("shellcheck is not installed")
    assert len(SCRIPTS) >= 4
    done = run(shellcheck, "--shell=sh", *SCRIPTS)
    assert done.returncode == 0, done.stdout
