"""A first run, as a new user or operator meets it: a fresh directory, real `matchday`
processes, and what they print."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
from pathlib import Path

import pytest

from tests.e2e.processes import MATCHDAY, free_port, matchday_env, wait_ready
from tests.support import TEST_SECRET, Api

pytestmark = pytest.mark.e2e


def fresh_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No DATA_DIR (the default, ./var), default log format (JSON), a JWT_SECRET given."""
    env = matchday_env(tmp_path, JWT_SECRET=TEST_SECRET, **extra)
    for name in ("DATA_DIR", "LOG_FORMAT"):
        if name not in extra:
            env.pop(name)
    return env


def assert_private_directory(path: Path) -> None:
    assert path.is_dir(), f"{path} was not created"
    assert stat.S_IMODE(path.stat().st_mode) == 0o700, oct(path.stat().st_mode)


async def test_serve_in_a_fresh_directory_starts_and_says_one_line_per_thing(
    tmp_path: Path,
) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    port = free_port()
    with open(tmp_path / "serve.out", "wb") as out:
        proc = subprocess.Popen(
            [MATCHDAY, "serve", "--port", str(port)],
            cwd=fresh,
            env=fresh_env(tmp_path),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            await wait_ready(Api(f"http://127.0.0.1:{port}"))
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
    assert_private_directory(fresh / "var")
    assert (fresh / "var" / "matchday.sqlite3").is_file()

    text = (tmp_path / "serve.out").read_text()
    assert "Traceback" not in text, text
    lines = [json.loads(line) for line in text.splitlines()]
    # Per-request access lines are not start-up output.
    said = [
        (line["logger"], line["message"]) for line in lines if line["logger"] != "tornado.access"
    ]
    assert not [s for s in said if s[0].startswith("alembic")], said
    assert len(said) == len(set(said)), f"a line printed twice: {said}"
    messages = [message for _, message in said]
    assert messages[0].startswith("database migrated: 0001 (initial schema), "), said
    assert messages[1:] == ["serving", "stopped"], said


@pytest.mark.parametrize(
    "command",
    [
        ["migrate"],
        ["demo"],
        ["create-admin", "--email", "boss@example.com", "--password", "a very long admin pass"],
    ],
)
def test_commands_create_the_data_dir(tmp_path: Path, command: list[str]) -> None:
    result = subprocess.run(
        [MATCHDAY, *command],
        cwd=tmp_path,
        env=fresh_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert_private_directory(tmp_path / "var")


@pytest.mark.parametrize(
    "command",
    [
        ["serve"],
        ["migrate"],
        ["demo"],
        ["create-admin", "--email", "boss@example.com", "--password", "a very long admin pass"],
    ],
)
@pytest.mark.parametrize("secret", ["given", "generated"])
def test_an_unusable_data_dir_is_one_line_naming_it(
    tmp_path: Path, command: list[str], secret: str
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    data_dir = tmp_path / "a-file" / "var"
    env = fresh_env(tmp_path, DATA_DIR=str(data_dir))
    if secret == "generated":
        env.pop("JWT_SECRET")
    result = subprocess.run(
        [MATCHDAY, *command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "DATA_DIR" in lines[0] and str(data_dir) in lines[0], lines
    assert result.stdout == ""
