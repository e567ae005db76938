"""The statements that cost the database most (`matchday db top-queries`), from
pg_stat_statements (enabled by deploy/postgres/postgresql.conf)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from models.db import sync_url

# Only this database's statements: the extension counts every database of the server.
TOP_QUERIES = sa.text(
    "SELECT calls, total_exec_time, mean_exec_time, rows, query FROM pg_stat_statements "
    "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "ORDER BY total_exec_time DESC LIMIT :limit"
)


class StatementsUnavailable(RuntimeError):
    """pg_stat_statements is not loaded or not created; the message says what to do."""


@dataclass(frozen=True)
class QueryStats:
    calls: int
    total_ms: float
    mean_ms: float
    rows: int
    query: str


def top_queries(database_url: str, limit: int = 10) -> list[QueryStats]:
    if database_url.startswith("sqlite"):
        raise StatementsUnavailable("top queries need PostgreSQL (pg_stat_statements)")
    engine = sa.create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            installed = conn.execute(
                sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
            ).first()
            if installed is None:
                raise StatementsUnavailable(
                    "pg_stat_statements is not created in this database: "
                    "CREATE EXTENSION pg_stat_statements (deploy/postgres/init.sql)"
                )
            try:
                rows = conn.execute(TOP_QUERIES, {"limit": limit}).all()
            except sa.exc.DBAPIError as exc:  # created but not in shared_preload_libraries
                raise StatementsUnavailable(
                    "pg_stat_statements is not loaded: add it to shared_preload_libraries "
                    "and restart PostgreSQL (deploy/postgres/postgresql.conf)"
                ) from exc
    finally:
        engine.dispose()
    return [
        QueryStats(
            int(r.calls), float(r.total_exec_time), float(r.mean_exec_time), int(r.rows), r.query
        )
        for r in rows
    ]


def as_table(stats: list[QueryStats]) -> str:
    """Text for people: one line per statement, its text on one line and shortened."""
    lines = [f"{'calls':>9} {'total ms':>11} {'mean ms':>9} {'rows':>9}  query"]
    for each in stats:
        text = " ".join(each.query.split())
        text = text if len(text) <= 100 else text[:99] + "…"
        lines.append(
            f"{each.calls:>9} {each.total_ms:>11.1f} {each.mean_ms:>9.2f} {each.rows:>9}  {text}"
        )
    return "\n".join(lines)
