"""The README's first session, run as written: its shell blocks (between the
`<!-- first-session:start -->` / `end` markers) go to bash against a real `matchday serve`
loaded with `matchday demo`, and every `# → …` line it shows must be what it prints."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import MATCHDAY, Serve, matchday_env, serving, wait_ready
from tests.support import Api

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
SESSION = re.compile(
    r"<!-- first-session:start -->\n```sh\n(.*?)```\n<!-- first-session:end -->", re.S
)
CLAIM = re.compile(r"^# → (.*)$", re.M)


def session_script() -> str:
    blocks = SESSION.findall(README.read_text(encoding="utf-8"))
    assert blocks, "README.md has no first-session block"
    return "".join(blocks)


def claimed_fragments(script: str) -> list[str]:
    """Each `# → ` line, cut at `…` (the parts that differ from run to run), in order."""
    fragments = []
    for claim in CLAIM.findall(script):
        fragments += [part.strip() for part in claim.split("…") if part.strip()]
    return fragments


def missing_in_order(output: str, fragments: list[str]) -> str | None:
    position = 0
    for fragment in fragments:
        found = output.find(fragment, position)
        if found < 0:
            return fragment
        position = found + len(fragment)
    return None


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    with serving(tmp_path) as start:
        yield start


async def test_the_readme_first_session_does_what_it_says(tmp_path: Path, serve: Serve) -> None:
    script = session_script()
    fragments = claimed_fragments(script)
    assert len(fragments) > 10 and "Falcons" in " ".join(fragments)

    env = matchday_env(tmp_path)  # a fresh DATA_DIR
    demo = subprocess.run([MATCHDAY, "demo"], env=env, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    _proc, url = serve(env)
    await wait_ready(Api(url))

    port = url.rsplit(":", 1)[1]
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env={**env, "PORT": port},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    missing = missing_in_order(result.stdout, fragments)
    assert missing is None, f"README claims {missing!r}; the session printed:\n{result.stdout}"
