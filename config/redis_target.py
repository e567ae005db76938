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

import redis
import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.asyncio.sentinel import SentinelConnectionPool as AsyncSentinelConnectionPool
from redis.asyncio.sentinel import SentinelManagedConnection as AsyncSentinelConnection
from redis.sentinel import Sentinel, SentinelConnectionPool

SCHEME = "redis+sentinel"
# Sentinels answer at once or are down: do not wait long on one before asking the next.
SENTINEL_TIMEOUT_SECONDS = 1.0


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


class _FollowingConnection(AsyncSentinelConnection):
    """redis-py 8's Sentinel connection asks Sentinel for the primary only in `connect()`;
    a connection that lost its socket reconnects on its next command through
    `connect_check_health()`, to the address it had: a single-connection client (the stream
    reader) would knock on the dead primary forever. Here every reconnect asks Sentinel."""

    async def connect_check_health(
        self, check_health: bool = True, retry_socket_connect: bool = True
    ) -> None:
        if not self.is_connected and self.connection_pool.is_master:
            self.host, self.port = await self.connection_pool.get_master_address()
        await super().connect_check_health(check_health, retry_socket_connect)


class _OwnedSentinelPool(AsyncSentinelConnectionPool):
    """Closing the client closes its connections to the Sentinels too (each client has a
    Sentinel manager of its own: nothing else uses them)."""

    async def disconnect(self, inuse_connections: bool = True) -> None:
        await super().disconnect(inuse_connections)
        if inuse_connections:  # a close; a failover only drops the idle connections
            for client in self.sentinel_manager.sentinels:
                await client.aclose()


class _OwnedSyncSentinelPool(SentinelConnectionPool):
    def disconnect(self, inuse_connections: bool = True) -> None:
        super().disconnect(inuse_connections)
        if inuse_connections:
            for client in self.sentinel_manager.sentinels:
                client.close()


def redis_from_url(url: str, **options: Any) -> redis.Redis:
    target = parse_target(url)
    if target is None:
        return redis.Redis.from_url(url, **options)
    sentinel = Sentinel(
        list(target.sentinels), sentinel_kwargs={"socket_timeout": SENTINEL_TIMEOUT_SECONDS}
    )
    return sentinel.master_for(
        target.master,
        connection_pool_class=_OwnedSyncSentinelPool,
        db=target.db,
        password=target.password,
        **options,
    )


def aioredis_from_url(url: str, **options: Any) -> aioredis.Redis:
    target = parse_target(url)
    if target is None:
        return aioredis.Redis.from_url(url, **options)
    sentinel = AsyncSentinel(
        list(target.sentinels), sentinel_kwargs={"socket_timeout": SENTINEL_TIMEOUT_SECONDS}
    )
    # A client option, not a connection one: master_for would hand it to the connections.
    single = bool(options.pop("single_connection_client", False))
    pool = _OwnedSentinelPool(
        target.master,
        sentinel,
        is_master=True,
        connection_class=_FollowingConnection,
        db=target.db,
        password=target.password,
        **options,
    )
    client = aioredis.Redis(connection_pool=pool, single_connection_client=single)
    client.auto_close_connection_pool = True  # the client owns its pool, as from_url's does
    return client


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
