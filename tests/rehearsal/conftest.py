"""The full multi-host rehearsal runs in the whole suite wherever the machine allows it (root,
network namespaces: as on CI), as issue 14 asks; it skips, with the reason, elsewhere. The
interruption test (marker `rehearsal`: the clean-up when the run is cut short) stays out of
the whole suite to keep it short, like `image_build`: it runs when a marker expression names
it (`make test-rehearsal`, CI's rehearsal job) or its file is named."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "rehearsal" in (config.option.markexpr or ""):
        return
    named = {Path(str(arg).split("::", 1)[0]).resolve() for arg in config.args}
    suite = (Path(str(config.rootpath)) / "tests").resolve()

    def asked_for(item: pytest.Item) -> bool:
        """Its file or folder was named (the whole `tests` folder is the suite, not a name)."""
        path = Path(str(item.path)).resolve()
        return any(arg != suite and (arg == path or arg in path.parents) for arg in named)

    slow = [item for item in items if item.get_closest_marker("rehearsal") and not asked_for(item)]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item not in slow]
