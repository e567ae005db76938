"""The full multi-host rehearsal (marker `rehearsal`: 36 s on a quiet machine, two minutes on
a busy one; five servers start, two of them `matchday serve`) stays out of the whole suite, like
`image_build`: it runs when a marker expression names it (`make test-rehearsal`, CI's
rehearsal job) or its file is named. The interruption test in the same file is cheap and
always runs."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "rehearsal" in (config.option.markexpr or ""):
        return
    named = {Path(str(arg).split("::", 1)[0]).resolve() for arg in config.args}
    slow = [
        item
        for item in items
        if item.get_closest_marker("rehearsal") and Path(str(item.path)).resolve() not in named
    ]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item not in slow]
