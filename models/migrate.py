"""Apply or roll back migrations programmatically (`matchday migrate`, embedded start-up)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from models.db import sync_url


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "models:migrations")
    # ConfigParser treats % as interpolation; URLs may contain it (escaped options).
    config.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)
