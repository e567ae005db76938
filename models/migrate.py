"""Apply or roll back migrations programmatically (`matchday migrate`, embedded start-up)."""

from __future__ import annotations

import logging
from typing import Any

from alembic import command
from alembic.config import Config

from models.db import sync_url

log = logging.getLogger("matchday.migrate")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "models:migrations")
    # ConfigParser treats % as interpolation; URLs may contain it (escaped options).
    config.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> list[str]:
    """Apply the migrations up to `revision`; return (and log, in one line) the steps applied.
    Alembic's own INFO lines are silenced (config/logging.py): this is the one an operator
    needs."""
    config = alembic_config(database_url)
    applied: list[str] = []

    def note(*, step: Any, **_: Any) -> None:
        applied.append(f"{step.up_revision_id} ({step.up_revision.doc})")

    config.attributes["on_version_apply"] = note  # read by migrations/env.py
    command.upgrade(config, revision)
    if applied:
        log.info("database migrated: %s", ", ".join(applied))
    return applied


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)
