"""The Dockerfile read as instructions per stage (dockerfile-parse), for the deploy tests."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def values(self, instruction: str) -> list[str]:
        return [value for name, value in self.instructions if name == instruction]


def stages(path: Path = DOCKERFILE) -> dict[str, Stage]:
    """Stages by name (`FROM image AS name`), each with its instructions in order."""
    parser = DockerfileParser(str(path))
    found: dict[str, Stage] = {}
    current: Stage | None = None
    for item in parser.structure:
        name, value = item["instruction"], item["value"]
        if name == "FROM":
            base, _, alias = value.partition(" AS ")
            current = found.setdefault(alias.strip(), Stage(alias.strip(), base.strip()))
        elif current is not None and name != "COMMENT":
            current.instructions.append((name, value))
    return found


def args() -> dict[str, str]:
    """Every `ARG NAME=default` of the file."""
    parser = DockerfileParser(str(DOCKERFILE))
    return {
        name: default
        for item in parser.structure
        if item["instruction"] == "ARG"
        for name, _, default in [item["value"].partition("=")]
    }


def envs() -> dict[str, str]:
    """The final stage's ENV (dockerfile-parse expands `$VAR` against what came before)."""
    return dict(DockerfileParser(str(DOCKERFILE)).envs)


def exec_form(value: str) -> list[str]:
    """`["a", "b"]` → [a, b]; a shell-form value is split as the shell would."""
    value = value.strip()
    return list(json.loads(value)) if value.startswith("[") else shlex.split(value)


def default_command() -> list[str]:
    runtime = list(stages().values())[-1]
    return exec_form(runtime.values("ENTRYPOINT")[-1]) + exec_form(runtime.values("CMD")[-1])


def healthcheck_command() -> list[str]:
    runtime = list(stages().values())[-1]
    value = runtime.values("HEALTHCHECK")[-1]
    return exec_form(value.split(" CMD ", 1)[1])
