"""Database metrics, declared once: query latency and errors of every engine (both
backends), and the psycopg pool of each PostgreSQL engine (models/pg_pool.py).

`pool` labels which engine: `async` (the server's requests), `sync` (task functions, the
server's blocking work) or `read` (analytics queries, on the replica when one is set).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

QUERY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

DB_QUERY_DURATION = Histogram(
    "matchday_db_query_duration_seconds",
    "Time a statement took in the driver, by operation (select, insert, update, delete, other)",
    ["operation"],
    buckets=QUERY_BUCKETS,
)
DB_QUERY_ERRORS = Counter(
    "matchday_db_query_errors_total",
    "Statements that failed, by operation and PEP 249 error class (OperationalError…)",
    ["operation", "error"],
)
DB_SLOW_QUERIES = Counter(
    "matchday_db_slow_queries_total",
    "Statements slower than SLOW_QUERY_MS (each also logged), by operation",
    ["operation"],
)
DB_POOL_SIZE = Gauge(
    "matchday_db_pool_connections",
    "Connections the pool holds, idle or in use (PostgreSQL)",
    ["pool"],
    multiprocess_mode="livesum",
)
DB_POOL_MAX = Gauge(
    "matchday_db_pool_max_connections",
    "Most connections the pool may open (DB_POOL_SIZE + DB_MAX_OVERFLOW)",
    ["pool"],
    multiprocess_mode="livesum",
)
DB_POOL_IN_USE = Gauge(
    "matchday_db_pool_connections_in_use",
    "Connections lent out to a transaction now",
    ["pool"],
    multiprocess_mode="livesum",
)
DB_POOL_WAITING = Gauge(
    "matchday_db_pool_requests_waiting",
    "Callers waiting for a connection now (the pool is exhausted while this is above 0)",
    ["pool"],
    multiprocess_mode="livesum",
)
DB_POOL_WAIT = Histogram(
    "matchday_db_pool_wait_seconds",
    "How long a caller waited for a connection (including the health check of the one it got)",
    ["pool"],
    buckets=QUERY_BUCKETS,
)
DB_POOL_TIMEOUTS = Counter(
    "matchday_db_pool_timeouts_total",
    "Callers that got no connection within the pool timeout",
    ["pool"],
)
DB_POOL_CONNECTIONS_LOST = Counter(
    "matchday_db_pool_connections_lost_total",
    "Connections found dead by the pool's check (e.g. after a PostgreSQL restart) or lost "
    "while in use, then replaced",
    ["pool"],
)
