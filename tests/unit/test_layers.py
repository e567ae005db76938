"""The layering rules hold: the import-linter contracts (setup.cfg), and no handler carrying
out a change's follow-ups itself (that is the unit of work's job)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ROOT / "server" / "handlers"
# What a change implies is carried out by the unit of work after the commit.
FOLLOW_UP_NAMES = {"relay", "outbox", "follow_ups", "recompute_standings", "kick", "nudges"}


def test_the_import_linter_contracts_are_kept() -> None:
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports is not None, "install the dev extra: import-linter"
    result = subprocess.run(
        [lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def _follow_up_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)
        if name in FOLLOW_UP_NAMES:
            found.append(f"{path.name}:{node.lineno} {name}")
    return found


def test_no_handler_touches_the_outbox_the_relay_or_the_dispatcher_for_a_change() -> None:
    uses = [use for path in sorted(HANDLERS.glob("*.py")) for use in _follow_up_uses(path)]
    assert uses == []
