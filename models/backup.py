"""Logical backups (`matchday backup`, `matchday restore`): pg_dump's custom format on
PostgreSQL, SQLite's online backup on the embedded default. Point-in-time recovery (base
backup + WAL archive) is PostgreSQL's own: deploy/postgres/ and docs/operations.md.

A dump is written under a temporary name and renamed when complete, so the newest
`matchday-*.dump` is always a whole one; the oldest beyond `keep` are then removed."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess  # nosec B404
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import make_url

from models.db import sync_url

PREFIX = "matchday-"


class BackupError(RuntimeError):
    """pg_dump / pg_restore failed or is missing; the message says which and why."""


def libpq_url(database_url: str) -> str:
    """The URL libpq tools take: no SQLAlchemy driver name, options kept."""
    url = make_url(sync_url(database_url)).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _schema(database_url: str) -> str:
    """Where Matchday's tables are (the URL's search_path, usually `public`)."""
    engine = sa.create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            return str(conn.execute(sa.text("SELECT current_schema()")).scalar_one())
    except sa.exc.DBAPIError as exc:
        raise BackupError(f"cannot reach the database: {exc.orig}".splitlines()[0]) from exc
    finally:
        engine.dispose()


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (Debian: postgresql-client)")
    return found


def _run(command: list[str]) -> str:
    # The command is ours: pg_dump/pg_restore found on PATH, arguments we built, no shell.
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603  # nosec B603
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["(no message)"]
        raise BackupError(f"{Path(command[0]).name} failed: {tail[0]}")
    return done.stdout


# A `pg_restore --list` line creating a schema, or commenting on it: `215; 2615 2200 SCHEMA -
# public postgres` / `4012; 0 0 COMMENT - SCHEMA public postgres`.
SCHEMA_ENTRY = re.compile(r"^\d+; \d+ \d+ (?:SCHEMA - |COMMENT - SCHEMA )(\S+) ")


def without_existing_schemas(listing: str, existing: set[str]) -> str:
    """The restore list minus the creation (and comment) of schemas the target already has.
    A dump of `public` creates `public`, which every new database has: restoring it as is
    would fail on its first statement."""
    kept = []
    for line in listing.splitlines():
        match = SCHEMA_ENTRY.match(line)
        if match is None or match.group(1) not in existing:
            kept.append(line)
    return "\n".join(kept) + "\n"


def _schemas(database_url: str) -> set[str]:
    engine = sa.create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            return set(conn.execute(sa.text("SELECT nspname FROM pg_namespace")).scalars())
    except sa.exc.DBAPIError as exc:
        raise BackupError(f"cannot reach the database: {exc.orig}".splitlines()[0]) from exc
    finally:
        engine.dispose()


def backup(database_url: str, directory: Path, keep: int = 14) -> Path:
    """A dump of the database into `directory`; keeps the newest `keep` dumps there."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    if database_url.startswith("sqlite"):
        target = directory / f"{PREFIX}{stamp}.sqlite3"
        partial = target.with_suffix(".partial")
        source = sqlite3.connect(make_url(sync_url(database_url)).database or "")
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)  # consistent while the server keeps writing
        finally:
            copy.close()
            source.close()
    else:
        target = directory / f"{PREFIX}{stamp}.dump"
        partial = target.with_suffix(".partial")
        # Custom format: compressed, and pg_restore can restore one table or list contents.
        _run(
            [
                _tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                f"--schema={_schema(database_url)}",
                f"--file={partial}",
                f"--dbname={libpq_url(database_url)}",
            ]
        )
    partial.rename(target)
    prune(directory, keep)
    return target


def prune(directory: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` dumps (by the time in their name); return them."""
    dumps = sorted(
        (p for p in directory.glob(f"{PREFIX}*") if p.suffix in (".dump", ".sqlite3")),
        key=lambda p: p.name,
    )
    removed = dumps[: max(len(dumps) - keep, 0)]
    for path in removed:
        path.unlink()
    return removed


def restore(dump: Path, database_url: str) -> None:
    """Restore `dump` into an empty database (or schema): all or nothing."""
    if database_url.startswith("sqlite"):
        target = Path(make_url(sync_url(database_url)).database or "")
        if target.exists() and target.stat().st_size:
            raise BackupError(f"{target} exists: restore into a new file")
        shutil.copyfile(dump, target)
        return
    listing = _run([_tool("pg_restore"), "--list", str(dump)])
    with tempfile.NamedTemporaryFile("w", suffix=".list") as use_list:
        use_list.write(without_existing_schemas(listing, _schemas(database_url)))
        use_list.flush()
        _run(
            [
                _tool("pg_restore"),
                "--no-owner",
                "--exit-on-error",
                "--single-transaction",
                f"--use-list={use_list.name}",
                f"--dbname={libpq_url(database_url)}",
                str(dump),
            ]
        )
