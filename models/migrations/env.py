"""Alembic environment: runs with the blocking driver of the configured database."""

from __future__ import annotations

import warnings
from typing import Any, Literal

from alembic import context
from sqlalchemy.exc import SAWarning

import models
from models.base import UTCDateTime
from models.db import sync_url

config = context.config
target_metadata = models.Base.metadata

# SQLite: a batch migration of one table reflects the tables its foreign keys reach, and
# SQLAlchemy cannot reflect users' expression index (lower(email), migration 0007). Those
# tables are only read, never rebuilt, so the index is kept; the warning says nothing useful.
warnings.filterwarnings(
    "ignore", message="Skipped unsupported reflection of expression-based index", category=SAWarning
)


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from sqlalchemy import create_engine

    engine = create_engine(sync_url(config.get_main_option("sqlalchemy.url") or ""))
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _render_item(type_: str, obj: Any, _autogen_context: Any) -> str | Literal[False]:
    # Migrations must not import model code: UTC timestamps are plain timezone-aware columns.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Any) -> None:
    # Batch mode lets ALTER TABLE work on SQLite too.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        render_item=_render_item,
        on_version_apply=config.attributes.get("on_version_apply"),  # models/migrate.py
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
