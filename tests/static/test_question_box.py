"""The spectator page's question box (server/static/app.js), run in Node with a minimal DOM:
an answer is shown with the plan it was understood as; a refusal says why and offers help."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import server.app

HARNESS = Path(__file__).with_name("question_box.js")
APP_JS = Path(server.app.__file__).parent / "static" / "app.js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="needs node")


def ask(status: int, reply: dict[str, Any]) -> dict[str, Any]:
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(HARNESS), str(APP_JS), str(status), json.dumps(reply)],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    return json.loads(done.stdout)


def test_an_answer_is_shown_with_what_it_was_understood_as() -> None:
    shown = ask(
        200,
        {
            "answer": "2 teams have exactly 0 losses in Summer Cup: Lions (0) and Tigers (0).",
            "understood_as": "Teams with losses = 0, in Summer Cup",
        },
    )

    assert shown["answer"].startswith("2 teams have exactly 0 losses")
    assert shown["understood"] == "Answered: Teams with losses = 0, in Summer Cup"
    assert shown["suggestions"] == []


def test_an_unknown_team_shows_the_closest_names_and_examples() -> None:
    error = {
        "code": "unknown_team",
        "message": 'There is no team called "Wolverines" in Summer Cup.',
        "details": {"suggestions": ["Wolves", "Lions"], "examples": ["Wolves' form"]},
    }

    shown = ask(422, {"error": error})

    assert "Closest: Wolves, Lions." in shown["answer"]
    assert shown["understood"] == ""
    assert shown["suggestions"] == ["Wolves' form"]


def test_an_unusable_part_is_named_with_examples() -> None:
    error = {
        "code": "unsupported_question",
        "message": "I can't use 'three or more' here.",
        "details": {"not_understood": ["three or more"], "examples": ["Who leads?"]},
    }

    shown = ask(422, {"error": error})

    assert "I can't use 'three or more' here." in shown["answer"]
    assert shown["suggestions"] == ["Who leads?"]
