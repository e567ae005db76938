"""DATA_DIR: where the embedded default keeps its SQLite file and its generated secret."""

from __future__ import annotations

import os
from pathlib import Path


class DataDirUnusable(Exception):
    """DATA_DIR cannot be created or written; the message names the setting and the path."""


def ensure_data_dir(path: Path) -> None:
    """Create DATA_DIR if missing, readable by its owner only (it holds the JWT secret and the
    database); an existing directory keeps the mode its owner gave it."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise DataDirUnusable(
            f"DATA_DIR ({path}) cannot be created: {exc.strerror or exc}"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise DataDirUnusable(f"DATA_DIR ({path}) is not writable")
