"""`image_build` tests (the image's install steps, about a minute of downloads and installs)
stay out of the whole suite, and out of any other selection: they run when a marker expression
names them (`make test-image` and CI's image job use `-m image_build`) or their file is named."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "image_build" in (config.option.markexpr or ""):
        return
    named = {Path(str(arg).split("::", 1)[0]).resolve() for arg in config.args}
    slow = [
        item
        for item in items
        if item.get_closest_marker("image_build") and Path(str(item.path)).resolve() not in named
    ]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item not in slow]
