"""Pool sizes matched to the process count (config/pools.py): the processes of one host never
hold more PostgreSQL connections together than the host's budget allows."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from config.pools import MIN_SHARE, pool_share
from config.settings import Settings, load_settings
from tests.support import TEST_SECRET

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def settings(tmp: Path, **env: str) -> Settings:
    base = {"DATA_DIR": str(tmp), "DATABASE_URL": PG, "JWT_SECRET": TEST_SECRET}
    return load_settings({**base, **env})


def test_one_and_two_processes_keep_the_default_pool(tmp_path: Path) -> None:
    for processes in (1, 2):
        shared = pool_share(settings(tmp_path), processes)
        assert (shared.db_pool_size, shared.db_max_overflow) == (10, 10)


def test_eight_processes_share_the_default_budget(tmp_path: Path) -> None:
    shared = pool_share(settings(tmp_path), 8)
    assert 8 * (shared.db_pool_size + shared.db_max_overflow) <= 40


@given(
    budget=st.integers(1, 500),
    pool=st.integers(1, 50),
    overflow=st.integers(0, 50),
    processes=st.integers(1, 64),
)
def test_a_host_stays_within_its_budget_or_the_minimum(
    budget: int, pool: int, overflow: int, processes: int
) -> None:
    base = settings(
        Path("/tmp/matchday-pools-test"),
        DB_CONNECTIONS_PER_HOST=str(budget),
        DB_POOL_SIZE=str(pool),
        DB_MAX_OVERFLOW=str(overflow),
    )
    shared = pool_share(base, processes)
    assert shared.db_pool_size <= pool and shared.db_max_overflow <= overflow
    total = processes * (shared.db_pool_size + shared.db_max_overflow)
    assert total <= max(budget, processes * 2 * MIN_SHARE)
    assert shared.db_pool_size >= min(pool, MIN_SHARE)
