"""The README's first session and docs/api.md's curl session, run as written: their shell
blocks (between the `<!-- first-session:start -->` / `end` markers, `api-session` in
docs/api.md) go to bash against a real `matchday serve` loaded with `matchday demo`, and every
`# → …` line they show must be what they print. The README's documentation map must name
every page in docs/."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import MATCHDAY, Serve, matchday_env, serving, wait_ready
from tests.support import Api

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
API_DOC = ROOT / "docs" / "api.md"
CLAIM = re.compile(r"^# → (.*)$", re.M)


def session_script(page: Path = README, marker: str = "first-session") -> str:
    session = re.compile(rf"<!-- {marker}:start -->\n```sh\n(.*?)```\n<!-- {marker}:end -->", re.S)
    blocks = session.findall(page.read_text(encoding="utf-8"))
    assert blocks, f"{page.name} has no {marker} block"
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


def run_session(script: str, env: dict[str, str], url: str, cwd: Path) -> str:
    port = url.rsplit(":", 1)[1]
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env={**env, "PORT": port},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


async def test_the_readme_first_session_does_what_it_says(tmp_path: Path, serve: Serve) -> None:
    script = session_script()
    fragments = claimed_fragments(script)
    assert len(fragments) > 10 and "Falcons" in " ".join(fragments)

    env = matchday_env(tmp_path)  # a fresh DATA_DIR
    demo = subprocess.run([MATCHDAY, "demo"], env=env, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    _proc, url = serve(env)
    await wait_ready(Api(url))

    output = run_session(script, env, url, tmp_path)
    missing = missing_in_order(output, fragments)
    assert missing is None, f"README claims {missing!r}; the session printed:\n{output}"


async def test_the_api_page_session_does_what_it_says(tmp_path: Path, serve: Serve) -> None:
    """docs/api.md end to end: register, log in, an event, teams, a schedule, scores (with
    If-Match and Idempotency-Key), standings, an admin's correction, refusals. It runs from
    the repository's root (it calls `.venv/bin/matchday create-admin`) on a fresh DATA_DIR."""
    script = session_script(API_DOC, "api-session")
    fragments = claimed_fragments(script)
    assert len(fragments) > 12

    env = matchday_env(tmp_path)
    _proc, url = serve(env)
    await wait_ready(Api(url))
    output = run_session(script, env, url, ROOT)
    missing = missing_in_order(output, fragments)
    assert missing is None, f"docs/api.md claims {missing!r}; the session printed:\n{output}"


def test_the_readme_maps_every_page_of_the_documentation() -> None:
    readme = README.read_text(encoding="utf-8")
    pages = sorted(path.name for path in (ROOT / "docs").glob("*.md"))
    unlisted = [page for page in pages if f"](docs/{page})" not in readme]
    assert not unlisted, f"README.md's documentation map misses {unlisted}"
    for target in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (ROOT / target).exists(), f"README.md links to {target}, which does not exist"
