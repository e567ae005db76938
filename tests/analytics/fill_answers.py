"""Write the expected `answer:` of every entry of a question file from reference.py.

    python -m tests.analytics.fill_answers tests/analytics/shapes/*.yaml

Edits the text in place (comments and layout stay): after each `plan:` line the `answer:` line
is (re)written. The answers come from the independent reference computation only, never from
the code under test; test_question_sets.py checks that they still agree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from tests.analytics.eval import DEFAULT_EVENT
from tests.analytics.reference import expected_answer, load_fixture


def _flow(value: object) -> str:
    return json.dumps(value, ensure_ascii=False).replace('": ', ": ").replace('{"', "{")


def _answer_line(answer: dict[str, object]) -> str:
    parts = [f"teams: {json.dumps(answer['teams'])}", f"numbers: {json.dumps(answer['numbers'])}"]
    if answer.get("partial"):
        parts.append("partial: true")
    if "first" in answer:  # not "yes:": YAML 1.1 reads a bare yes as a boolean key
        parts.append(f'first: "{answer["first"]}"')
    return "  answer: {" + ", ".join(parts) + "}"


def fill(path: Path) -> None:
    fixture = load_fixture()
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    lines = [line for line in path.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if not line.startswith("  answer:")]
    out: list[str] = []
    index = -1
    for line in lines:
        out.append(line)
        if line.startswith("- q:"):
            index += 1
        if line.startswith("  plan:"):
            entry = entries[index]
            event = entry.get("event", DEFAULT_EVENT) or entry.get("named_event", DEFAULT_EVENT)
            out.append(_answer_line(expected_answer(fixture, event, entry["plan"])))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


if __name__ == "__main__":
    for name in sys.argv[1:]:
        fill(Path(name))
