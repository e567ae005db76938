"""A read-only, time-limited transaction for analytics queries, on PostgreSQL and SQLite.

The executor never runs text from a question, but the guard does not rely on that: the
database itself refuses writes for the whole transaction, and a runaway query is cancelled.
The transaction is always rolled back, never committed; what was loaded stays readable.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

QUERY_CANCELED = "57014"  # PostgreSQL SQLSTATE of a statement cancelled by statement_timeout
# SQLite calls the progress handler every this many virtual-machine instructions.
PROGRESS_STEPS = 1_000


class QueryTimeout(Exception):
    """An analytics query ran past its time limit and was cancelled."""

    def __init__(self, timeout_ms: int) -> None:
        super().__init__(f"the query took longer than {timeout_ms} ms and was cancelled")
        self.timeout_ms = timeout_ms


@contextmanager
def read_only_session(
    session_factory: sessionmaker[Session], *, timeout_ms: int
) -> Iterator[Session]:
    """A session in a read-only transaction whose statements are cancelled after timeout_ms.

    PostgreSQL: the limit applies to each statement (statement_timeout, transaction-local).
    SQLite: it applies to the whole session (one deadline checked by a progress handler).
    """
    if timeout_ms < 1:
        raise ValueError("timeout_ms must be positive")
    session = session_factory()
    try:
        connection = session.connection()
        guard = _GUARDS.get(connection.dialect.name)
        if guard is None:
            raise ValueError(f"no read-only guard for {connection.dialect.name}")
        with guard(connection, timeout_ms):
            try:
                yield session
            except DBAPIError as exc:
                if _is_timeout(exc):
                    raise QueryTimeout(timeout_ms) from exc
                raise
    finally:
        # close() ends the transaction with a ROLLBACK (never a commit) without expiring what
        # was loaded, so objects read here stay readable (detached) after the block.
        session.close()


@contextmanager
def _postgresql(connection: Connection, timeout_ms: int) -> Iterator[None]:
    # One round trip for both; `true` = transaction-local, so both end with the transaction.
    # (transaction_read_only may be switched on at any point; it is the transaction's first
    # statement here anyway.)
    connection.execute(
        text(
            "SELECT set_config('transaction_read_only', 'on', true), "
            "set_config('statement_timeout', :ms, true)"
        ),
        {"ms": str(timeout_ms)},
    )
    yield


@contextmanager
def _sqlite(connection: Connection, timeout_ms: int) -> Iterator[None]:
    raw = connection.connection.dbapi_connection
    assert raw is not None  # a checked-out connection always has its DBAPI connection
    deadline = time.monotonic() + timeout_ms / 1000
    # query_only and the handler belong to the pooled connection, not to the transaction:
    # both are undone before the connection goes back to the pool.
    raw.execute("PRAGMA query_only = ON")
    raw.set_progress_handler(_past(deadline), PROGRESS_STEPS)
    try:
        yield
    finally:
        raw.set_progress_handler(None, 0)
        raw.execute("PRAGMA query_only = OFF")


def _past(deadline: float) -> Callable[[], int]:
    def handler() -> int:
        return 1 if time.monotonic() > deadline else 0  # non-zero interrupts the statement

    return handler


_GUARDS: dict[str, Callable[[Connection, int], AbstractContextManager[Any]]] = {
    "postgresql": _postgresql,
    "sqlite": _sqlite,
}


def _is_timeout(exc: DBAPIError) -> bool:
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == QUERY_CANCELED:
        return True
    return isinstance(orig, sqlite3.OperationalError) and "interrupted" in str(orig)
