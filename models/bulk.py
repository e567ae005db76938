"""Many rows without holding the event loop: Core statements, a slice of rows at a time.

An ORM flush of 10,000 objects, or one INSERT of 10,000 rows, is built on the thread that
awaits it: SQLAlchemy runs every row's defaults and bind processors, and psycopg parses the
statement's placeholders in Python, before the first byte is sent (measured: 150-300 ms of
loop time in one piece on PostgreSQL). Reading 10,000 rows in one fetch likewise converts
them all at once (~100 ms). A slice of rows per statement or fetch bounds each piece; the
loop serves other requests while each slice is in the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Row, Select, Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import Base

# Rows per statement. With RETURNING, SQLAlchemy renders one multi-VALUES statement whose
# placeholders psycopg parses in Python (about 20 ms for 200 rows of a game); without it,
# psycopg pipelines one short prepared statement per row, which is cheap per row.
RETURNING_SLICE = 200
PLAIN_SLICE = 1000
READ_SLICE = 1000
T = TypeVar("T")


def table_of(model: type[Base]) -> Table:
    """A model's table, for Core statements whose row keys are column names."""
    table = model.__table__
    assert isinstance(table, Table)  # every model here maps one table
    return table


async def insert_rows(
    session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """INSERT every row (keys are column names), PLAIN_SLICE rows per statement."""
    statement = insert(table)
    for start in range(0, len(rows), PLAIN_SLICE):
        await session.execute(statement, rows[start : start + PLAIN_SLICE])


async def insert_returning(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *columns: ColumnElement[Any],
) -> list[Row[Any]]:
    """INSERT every row and return `columns` of each stored row, in no particular order:
    neither backend promises RETURNING's order for a multi-row INSERT (callers sort)."""
    statement = insert(table).returning(*columns)
    options = {"insertmanyvalues_page_size": RETURNING_SLICE}  # one statement per slice
    stored: list[Row[Any]] = []
    for start in range(0, len(rows), RETURNING_SLICE):
        result = await session.execute(
            statement, rows[start : start + RETURNING_SLICE], execution_options=options
        )
        stored.extend(result.all())
    return stored


async def read_rows(
    session: AsyncSession, query: Select[*tuple[Any, ...]], make: Callable[[Row[Any]], T]
) -> list[T]:
    """`make(row)` of every row of `query`, fetched READ_SLICE rows at a time (a
    server-side cursor on PostgreSQL)."""
    found: list[T] = []
    result = await session.stream(query.execution_options(yield_per=READ_SLICE))
    async for rows in result.partitions():
        found.extend(map(make, rows))
    return found
