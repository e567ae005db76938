"""Redis clients for a URL from the settings: redis-py's own for `redis://`, and through
Redis Sentinel for the `redis+sentinel://` URL load_settings makes of REDIS_SENTINELS
(config/redis_target.py). A client made through Sentinel asks it for the current primary on
each new connection, so after a failover its next connection goes to the promoted replica."""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.asyncio.sentinel import SentinelConnectionPool as AsyncSentinelConnectionPool
from redis.asyncio.sentinel import SentinelManagedConnection as AsyncSentinelConnection
from redis.sentinel import Sentinel, SentinelConnectionPool

from config.redis_target import parse_target

# Sentinels answer at once or are down: do not wait long on one before asking the next.
SENTINEL_TIMEOUT_SECONDS = 1.0


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


def aioredis_from_url(url: str, *, pool_limit: int | None = None, **options: Any) -> aioredis.Redis:
    """An asyncio client of a URL or a Sentinel target. `pool_limit`: at most this many
    connections, callers past it waiting for one (up to the socket timeout) rather than
    opening more; for a plain URL (a Sentinel pool is not bounded)."""
    target = parse_target(url)
    if target is None:
        if pool_limit is None:
            return aioredis.Redis.from_url(url, **options)
        single = bool(options.pop("single_connection_client", False))
        bounded = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=pool_limit, timeout=options.get("socket_timeout"), **options
        )
        return _owning_client(bounded, single)
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
    return _owning_client(pool, single)


def _owning_client(pool: aioredis.ConnectionPool, single: bool) -> aioredis.Redis:
    client = aioredis.Redis(connection_pool=pool, single_connection_client=single)
    client.auto_close_connection_pool = True  # the client owns its pool, as from_url's does
    return client
