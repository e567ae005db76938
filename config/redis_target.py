"""Where Redis is: a plain `redis://` URL, or a primary found through Redis Sentinel.

With REDIS_SENTINELS set, load_settings folds the Sentinel addresses, REDIS_SENTINEL_MASTER
and REDIS_URL's password and database into one `redis+sentinel://` URL (REDIS_URL's value
from then on), so every place that connects keeps taking one URL: `redis_from_url` /
`aioredis_from_url` here instead of redis-py's `from_url`, and `celery_urls` for the broker.
A client made through Sentinel asks it for the current primary on each new connection, so
after a failover its next connection goes to the promoted replica."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

SCHEME = "redis+sentinel"


@dataclass(frozen=True)
class SentinelTarget:
    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int
    password: str | None


def parse_sentinels(raw: str) -> tuple[tuple[str, int], ...]:
    """`host1:26379,host2:26379` → ((host, port), ...)."""
    found = []
    for entry in raw.split(","):
        host, colon, port = entry.strip().rpartition(":")
        if not entry.strip():
            continue
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{entry.strip()!r} is not host:port")
        found.append((host.strip("[]"), int(port)))
    if not found:
        raise ValueError("lists no Sentinel")
    return tuple(found)


def sentinel_url(redis_url: str, sentinels: tuple[tuple[str, int], ...], master: str) -> str:
    """REDIS_URL's password and database, reached through `sentinels` as `master`."""
    parts = urlsplit(redis_url or "redis://")
    auth = f":{quote(unquote(parts.password), safe='')}@" if parts.password else ""
    hosts = ",".join(f"{host}:{port}" for host, port in sentinels)
    db = parts.path.strip("/") or "0"
    return f"{SCHEME}://{auth}{hosts}/{quote(master, safe='')}/{db}"


def parse_target(url: str) -> SentinelTarget | None:
    """The Sentinel set-up of a `redis+sentinel://` URL; None for any other URL."""
    if not url.startswith(f"{SCHEME}://"):
        return None
    rest = url[len(SCHEME) + 3 :]
    auth, _, rest = rest.rpartition("@")
    hosts, _, path = rest.partition("/")
    master, _, db = path.partition("/")
    password = unquote(auth.partition(":")[2]) if auth else None
    return SentinelTarget(parse_sentinels(hosts), unquote(master), int(db or 0), password)


def celery_urls(url: str) -> tuple[str, dict[str, Any]]:
    """Celery's broker/backend URL and the transport options Sentinel needs (kombu's
    `sentinel://` transport: one `sentinel://` per Sentinel, `;` between them)."""
    target = parse_target(url)
    if target is None:
        return url, {}
    auth = f":{quote(target.password, safe='')}@" if target.password else ""
    broker = ";".join(
        f"sentinel://{auth}{host}:{port}/{target.db}" for host, port in target.sentinels
    )
    return broker, {"master_name": target.master}
