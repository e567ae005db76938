"""REDIS_SENTINELS / REDIS_SENTINEL_MASTER: one `redis+sentinel://` URL carries the Sentinels,
the primary's name and REDIS_URL's password and database to every client and to Celery."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.redis_target import celery_urls, parse_target
from config.settings import ConfigError, Settings, load_settings

SECRET = "q9ZkT3xv" * 6


def _settings(tmp_path: Path, **env: str) -> Settings:
    base = {"DATABASE_URL": "postgresql://h/db", "JWT_SECRET": SECRET, "DATA_DIR": str(tmp_path)}
    return load_settings({**base, **env})


def test_sentinels_keep_the_password_and_database_of_redis_url(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        REDIS_URL="redis://:p%40ss@ignored:6379/3",
        REDIS_SENTINELS="s1:26379, s2:26380",
        REDIS_SENTINEL_MASTER="main",
    )
    target = parse_target(settings.redis_url)
    assert target is not None
    assert target.sentinels == (("s1", 26379), ("s2", 26380))
    assert (target.master, target.db, target.password) == ("main", 3, "p@ss")
    assert settings.uses_celery  # Redis is configured


def test_sentinels_alone_are_enough(tmp_path: Path) -> None:
    settings = _settings(tmp_path, REDIS_SENTINELS="127.0.0.1:26379")
    target = parse_target(settings.redis_url)
    assert target is not None and (target.master, target.db, target.password) == (
        "matchday",
        0,
        None,
    )


@pytest.mark.parametrize("raw", ["s1", "s1:port", ":26379", "s1:0", "s1:70000", " , "])
def test_a_bad_sentinel_list_is_a_configuration_error(tmp_path: Path, raw: str) -> None:
    with pytest.raises(ConfigError, match="REDIS_SENTINELS"):
        _settings(tmp_path, REDIS_SENTINELS=raw)


def test_celery_gets_kombu_sentinel_urls_and_the_master_name() -> None:
    url, options = celery_urls("redis+sentinel://:pw@s1:26379,s2:26379/main/2")
    assert url == "sentinel://:pw@s1:26379/2;sentinel://:pw@s2:26379/2"
    assert options == {"master_name": "main"}
    assert celery_urls("redis://r:6379/0") == ("redis://r:6379/0", {})
