"""Database pool sizes matched to the number of `serve` processes on one host.

Each process of `matchday serve --processes N` has its own engine and pool; without a bound, N
processes hold N x (DB_POOL_SIZE + DB_MAX_OVERFLOW) connections, and a few hosts exhaust
PostgreSQL's `max_connections` (100 by default). The rule: the processes of one host share
DB_CONNECTIONS_PER_HOST, each keeping a pool of at most DB_CONNECTIONS_PER_HOST / 2N and as
much overflow (never under 2 of each); DB_POOL_SIZE and DB_MAX_OVERFLOW stay upper bounds.
One event loop rarely has more than a few transactions in flight (each awaits its statements,
and handlers hold a connection only inside their unit of work), so a small pool per process
loses nothing; the default 40 leaves 1 and 2 processes at 10 + 10 each.
"""

from __future__ import annotations

import dataclasses

from config.settings import Settings

MIN_SHARE = 2


def pool_share(settings: Settings, processes: int) -> Settings:
    """`settings` with the pool of one of `processes` processes sharing a host's budget."""
    share = max(MIN_SHARE, settings.db_connections_per_host // (2 * max(1, processes)))
    return dataclasses.replace(
        settings,
        db_pool_size=min(settings.db_pool_size, share),
        db_max_overflow=min(settings.db_max_overflow, share),
    )
