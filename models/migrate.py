"""Apply or roll back migrations programmatically (`matchday migrate`, embedded start-up).

Safe for several pods starting at once: on PostgreSQL the whole run is one transaction that
first takes an advisory lock (per database schema), so a second `matchday migrate` waits, then
finds the schema already at head and does nothing. The lock is a transaction lock, so it is
released with the commit (or a crash) and also works through PgBouncer in transaction mode.
A database migrated by a newer release (a revision this code does not know) is refused rather
than "upgraded" by code that cannot know what it holds."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from models.db import sync_url
from models.migration_errors import MigrationRefused

log = logging.getLogger("matchday.migrate")

# One lock per schema (alembic_version lives there): two deployments sharing a database in
# different schemas do not wait for each other. hashtext() gives a stable int4 key.
LOCK_KEY_SQL = "hashtext('matchday.migrate:' || current_schema())"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "models:migrations")
    # ConfigParser treats % as interpolation; URLs may contain it (escaped options).
    config.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))
    return config


def code_head(database_url: str = "sqlite://") -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert head is not None
    return head


def _lock(connection: sa.Connection) -> None:
    """Wait for any other migration of this schema to finish (PostgreSQL only)."""
    if connection.dialect.name != "postgresql":
        return  # SQLite: one file, one process (the embedded default)
    if connection.execute(sa.text(f"SELECT pg_try_advisory_xact_lock({LOCK_KEY_SQL})")).scalar():
        return
    log.warning("another migration of this database is running; waiting for it to finish")
    connection.execute(sa.text(f"SELECT pg_advisory_xact_lock({LOCK_KEY_SQL})"))


def _refuse_if_ahead(connection: sa.Connection, script: ScriptDirectory) -> None:
    current = MigrationContext.configure(connection).get_current_heads()
    for revision in current:
        try:
            known = script.get_revision(revision)
        except CommandError:
            known = None
        if known is None:
            raise MigrationRefused(
                f"the database is at migration {revision}, which this release does not know "
                f"(its newest is {script.get_current_head()}): a newer release migrated it; "
                "deploy that release, or roll back with it (`matchday migrate --rollback-to`)"
            )


def _run(database_url: str, step: Callable[[Config], None], config: Config) -> None:
    """`step` (an Alembic command) under the lock, in one transaction, after the checks."""
    engine = sa.create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            _lock(connection)
            _refuse_if_ahead(connection, ScriptDirectory.from_config(config))
            config.attributes["connection"] = connection  # read by migrations/env.py
            try:
                step(config)
            except CommandError as exc:
                raise MigrationRefused(str(exc)) from exc
            connection.commit()
    finally:
        engine.dispose()


def upgrade(database_url: str, revision: str = "head") -> list[str]:
    """Apply the migrations up to `revision`; return (and log, in one line) the steps applied.
    Alembic's own INFO lines are silenced (config/logging.py): this is the one an operator
    needs."""
    config = alembic_config(database_url)
    applied: list[str] = []

    def note(*, step: Any, **_: Any) -> None:
        applied.append(f"{step.up_revision_id} ({step.up_revision.doc})")

    config.attributes["on_version_apply"] = note  # read by migrations/env.py
    _run(database_url, lambda cfg: command.upgrade(cfg, revision), config)
    if applied:
        log.info("database migrated: %s", ", ".join(applied))
    return applied


def downgrade(database_url: str, revision: str = "base") -> list[str]:
    """Roll back to `revision` (`matchday migrate --rollback-to`); return the steps undone."""
    config = alembic_config(database_url)
    undone: list[str] = []

    def note(*, step: Any, **_: Any) -> None:
        undone.append(f"{step.up_revision_id} ({step.up_revision.doc})")

    config.attributes["on_version_apply"] = note
    script = ScriptDirectory.from_config(config)
    if revision != "base":
        try:
            script.get_revision(revision)
        except CommandError:
            raise MigrationRefused(f"no migration {revision!r} in this release") from None
    _run(database_url, lambda cfg: command.downgrade(cfg, revision), config)
    if undone:
        log.info("database rolled back: %s", ", ".join(undone))
    return undone


def current_revision(database_url: str) -> str | None:
    engine = sa.create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
