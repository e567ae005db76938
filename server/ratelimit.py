"""Rate limiting: sliding-window counters, shared by every process through Redis (one atomic Lua
script) when REDIS_URL is set, kept in this process on the embedded default.

A limit of N requests per W seconds keeps two counts per subject: the current fixed window's
and the previous one's. A request of cost c is allowed when

    previous * (W - elapsed) / W + current + c <= N

that is, the previous window's count is weighted by how much of it still overlaps the window
that slides back W from now. The arithmetic is in integer milliseconds (both sides multiplied by
W), so the Lua script and the in-memory counter decide exactly alike. Refused requests are not
counted. Redis keys live under ``<REDIS_KEY_PREFIX>ratelimit:`` and expire after 2 W.

``Throttle`` is what handlers use: the configured limits (config.limits.RateLimits) over one
backend, plus the failed-login reservations.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, cast

from redis.exceptions import RedisError

from config.limits import Rate, RateLimits
from config.redis_clients import aioredis_from_url
from config.settings import Settings
from server import metrics

log = logging.getLogger("matchday.ratelimit")

REDIS_TIMEOUT_SECONDS = 1.0
REDIS_RETRY_SECONDS = 2.0  # after a Redis failure, count in this process for this long
SWEEP_EVERY = 1024  # in-memory counters: drop expired ones every this many hits
CONSUME, PEEK, REFUND = 1, 0, -1


@dataclass(frozen=True)
class Decision:
    """The answer for one request against one limit."""

    allowed: bool
    limit: int
    window: float  # seconds
    remaining: int  # requests left now (after this one, if it was counted)
    reset_after: float  # seconds until the current fixed window rolls over
    retry_after: float  # seconds until one more request fits (0 when allowed)


def allows(
    limit: int, window_ms: int, elapsed_ms: int, current: int, previous: int, n: int
) -> bool:
    """Whether `n` more requests fit (integer form of the formula in the module docstring)."""
    return previous * (window_ms - elapsed_ms) + (current + n) * window_ms <= limit * window_ms


def advance(stored_window: int | None, current: int, previous: int, index: int) -> tuple[int, int]:
    """The (current, previous) counts as seen from fixed window `index`."""
    if stored_window == index:
        return current, previous
    if stored_window == index - 1:
        return 0, current
    return 0, 0


def apply(
    limit: int, window_ms: int, elapsed_ms: int, current: int, previous: int, cost: int
) -> tuple[bool, int, int]:
    """One operation: consume `cost` (> 0) if it fits, peek (0: would one more fit?), or refund
    one (< 0). Returns (allowed, current, previous) after it."""
    if cost < 0:
        if current > 0:
            current -= 1
        elif previous > 0:
            previous -= 1
        return True, current, previous
    allowed = allows(limit, window_ms, elapsed_ms, current, previous, max(cost, 1))
    if allowed and cost > 0:
        current += cost
    return allowed, current, previous


def decision(
    rate: Rate, elapsed_ms: int, current: int, previous: int, allowed: bool, cost: int = 1
) -> Decision:
    """Headers' worth of numbers from the counts after an operation."""
    limit, window_ms = rate.count, window_in_ms(rate)
    used = previous * (window_ms - elapsed_ms) + current * window_ms  # estimate * W
    remaining = max(0, (limit * window_ms - used) // window_ms)
    retry_ms = 0 if allowed else _retry_after_ms(rate, elapsed_ms, current, previous, cost)
    return Decision(
        allowed=allowed,
        limit=limit,
        window=rate.seconds,
        remaining=remaining,
        reset_after=(window_ms - elapsed_ms) / 1000,
        retry_after=retry_ms / 1000,
    )


def _retry_after_ms(rate: Rate, elapsed_ms: int, current: int, previous: int, cost: int) -> int:
    """How long until `cost` (at least one) more requests fit, the counts staying as they are."""
    limit, window_ms, need = rate.count, window_in_ms(rate), max(cost, 1)
    if need > limit:
        return 2 * window_ms  # never fits; a long but finite hint
    if current + need <= limit:  # fits once enough of the previous window has slid out
        at = math.ceil(window_ms - (limit - current - need) * window_ms / previous)
        return max(1, at - elapsed_ms)
    # only in the next window, where this window's count becomes the weighted previous one
    at = max(0, math.ceil(window_ms - (limit - need) * window_ms / current))
    return (window_ms - elapsed_ms) + at


def window_in_ms(rate: Rate) -> int:
    return max(1, round(rate.seconds * 1000))


# --- backends --------------------------------------------------------------------------------


class Backend(Protocol):
    async def hit(self, key: str, rate: Rate, cost: int = CONSUME) -> Decision: ...

    async def reset(self, key: str) -> None: ...

    async def close(self) -> None: ...


@dataclass
class _Counter:
    window: int
    current: int
    previous: int
    expires_ms: int


class MemoryBackend:
    """Counters in this process (the embedded default, and the fallback while Redis is down)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._counters: dict[str, _Counter] = {}
        self._hits = 0

    @property
    def size(self) -> int:
        return len(self._counters)

    async def hit(self, key: str, rate: Rate, cost: int = CONSUME) -> Decision:
        return self.hit_now(key, rate, cost)

    def hit_now(self, key: str, rate: Rate, cost: int = CONSUME) -> Decision:
        window_ms = window_in_ms(rate)
        now_ms = int(self._clock() * 1000)
        index, elapsed = divmod(now_ms, window_ms)
        self._sweep(now_ms)
        stored = self._counters.get(key)
        current, previous = (
            advance(stored.window, stored.current, stored.previous, index) if stored else (0, 0)
        )
        allowed, current, previous = apply(rate.count, window_ms, elapsed, current, previous, cost)
        if allowed and cost != PEEK and (stored is not None or cost > 0):
            self._counters[key] = _Counter(index, current, previous, (index + 2) * window_ms)
        return decision(rate, elapsed, current, previous, allowed, cost)

    def _sweep(self, now_ms: int) -> None:
        self._hits += 1
        if self._hits % SWEEP_EVERY:
            return
        for key in [k for k, c in self._counters.items() if c.expires_ms <= now_ms]:
            del self._counters[key]

    async def reset(self, key: str) -> None:
        self._counters.pop(key, None)

    async def close(self) -> None:
        self._counters.clear()


# KEYS[1]: a hash {w: fixed-window index, c: its count, p: the previous window's count}
# ARGV: limit, window (ms), cost (1 consume, 0 peek, -1 refund). Redis's clock, so every
# process agrees on the windows; only tests pass a 4th, the time in ms (RedisBackend's clock).
# Mirrors advance() and apply() above.
SLIDING_WINDOW = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local index = math.floor(now / window)
local elapsed = now - index * window
local stored = redis.call('HMGET', KEYS[1], 'w', 'c', 'p')
local w = tonumber(stored[1])
local current, previous = 0, 0
if w == index then
  current = tonumber(stored[2]) or 0
  previous = tonumber(stored[3]) or 0
elseif w == index - 1 then
  previous = tonumber(stored[2]) or 0
end
local allowed = 1
if cost < 0 then
  if current > 0 then
    current = current - 1
  elseif previous > 0 then
    previous = previous - 1
  end
else
  local need = math.max(cost, 1)
  if previous * (window - elapsed) + (current + need) * window > limit * window then
    allowed = 0
  elseif cost > 0 then
    current = current + cost
  end
end
if allowed == 1 and cost ~= 0 and (w ~= nil or cost > 0) then
  redis.call('HSET', KEYS[1], 'w', string.format('%d', index), 'c', current, 'p', previous)
  redis.call('PEXPIRE', KEYS[1], window * 2)
end
return {allowed, current, previous, elapsed}
"""


class RedisBackend:
    """Counters in Redis, shared by every process; counts in this process while Redis is down
    (limits then hold per process instead of failing every request)."""

    def __init__(
        self,
        url: str,
        prefix: str,
        fallback: MemoryBackend | None = None,
        clock: Callable[[], float] | None = None,  # tests only; None: Redis's TIME
    ) -> None:
        self._client = aioredis_from_url(
            url,
            decode_responses=True,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self._script = self._client.register_script(SLIDING_WINDOW)
        self.prefix = f"{prefix}ratelimit:"
        self._clock = clock
        self._fallback = fallback or MemoryBackend(clock or time.monotonic)
        self._down_until = 0.0

    async def hit(self, key: str, rate: Rate, cost: int = CONSUME) -> Decision:
        if time.monotonic() >= self._down_until:
            try:
                args = [rate.count, window_in_ms(rate), cost]
                if self._clock is not None:
                    args.append(int(self._clock() * 1000))
                reply = await self._script(keys=[self.prefix + key], args=args)
            except (RedisError, OSError) as exc:
                self._redis_failed(exc)
            else:
                allowed, current, previous, elapsed = (int(x) for x in cast(list, reply))
                return decision(rate, elapsed, current, previous, bool(allowed), cost)
        return await self._fallback.hit(key, rate, cost)

    def _redis_failed(self, exc: BaseException) -> None:
        if self._down_until == 0.0 or time.monotonic() >= self._down_until + 60:
            log.warning("rate limits counted per process: Redis failed: %s", exc)
        self._down_until = time.monotonic() + REDIS_RETRY_SECONDS

    async def reset(self, key: str) -> None:
        await self._fallback.reset(key)
        try:
            await self._client.delete(self.prefix + key)
        except (RedisError, OSError) as exc:
            self._redis_failed(exc)

    async def close(self) -> None:
        await self._client.aclose()
        await self._fallback.close()


# --- what handlers use ----------------------------------------------------------------------


class RateLimited(Exception):
    def __init__(self, name: str, decision: Decision) -> None:
        super().__init__(f"rate limit {name!r} reached")
        self.name = name
        self.decision = decision


def address_subject(ip: str) -> str:
    """Whom a per-address limit counts: the address, or its /64 for IPv6 (one customer usually
    holds a whole /64, so single IPv6 addresses are free to rotate)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def account_subject(email: str) -> str:
    """Whom a per-account limit counts: a digest of the email as typed, normalised (no address
    is stored in Redis, and whether the account exists makes no difference)."""
    normal = unicodedata.normalize("NFKC", email).strip().casefold()
    return hashlib.sha256(normal.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def rate_limit_headers(decision: Decision) -> dict[str, str]:
    """RateLimit-* (draft-ietf-httpapi-ratelimit-headers) and, when refused, Retry-After."""
    reset = decision.reset_after if decision.allowed else decision.retry_after
    headers = {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(max(1, math.ceil(reset))),
        "RateLimit-Policy": f"{decision.limit};w={max(1, math.ceil(decision.window))}",
    }
    if not decision.allowed:
        headers["Retry-After"] = str(max(1, math.ceil(decision.retry_after)))
    return headers


def tighter(a: Decision | None, b: Decision) -> Decision:
    """The decision to report when several limits apply: the one with the least left."""
    if a is None or (b.remaining, -b.reset_after) < (a.remaining, -a.reset_after):
        return b
    return a


class LoginAttempt:
    """One login's reservation of a failure against its address and its account.

    begin: both counters are charged up front (so parallel guesses cannot overshoot); a failed
    attempt leaves them charged; a successful one gives the address its charge back and clears
    the account's failures; an attempt that ends otherwise (a 5xx) gives both back."""

    def __init__(self, throttle: Throttle, address: str | None, account: str | None) -> None:
        self._throttle = throttle
        self._charged = [("failed_login_ip", address), ("failed_login_account", account)]
        self.settled = False

    def failed(self) -> None:
        self.settled = True

    async def succeeded(self) -> None:
        self.settled = True
        address, account = (subject for _, subject in self._charged)
        if address is not None:
            await self._throttle.refund("failed_login_ip", address)
        if account is not None:
            await self._throttle.reset("failed_login_account", account)

    async def abandon(self) -> None:
        self.settled = True
        for name, subject in self._charged:
            if subject is not None:
                await self._throttle.refund(name, subject)


class Throttle:
    """The configured limits over one backend; with no backend every check passes."""

    def __init__(self, backend: Backend | None, limits: RateLimits) -> None:
        self.backend = backend
        self.limits = limits

    @property
    def enabled(self) -> bool:
        return self.backend is not None

    def rate(self, name: str) -> Rate | None:
        return cast(Rate | None, getattr(self.limits, name)) if self.enabled else None

    async def check(self, name: str, subject: str) -> Decision | None:
        """Count one request against limit `name` for `subject`. None when that limit is off;
        RateLimited when it is reached (the refused request is not counted)."""
        rate = self.rate(name)
        if rate is None or self.backend is None:
            return None
        result = await self.backend.hit(f"{name}:{subject}", rate)
        if not result.allowed:
            metrics.RATE_LIMITED.labels(name).inc()
            raise RateLimited(name, result)
        return result

    async def refund(self, name: str, subject: str) -> None:
        rate = self.rate(name)
        if rate is not None and self.backend is not None:
            await self.backend.hit(f"{name}:{subject}", rate, REFUND)

    async def reset(self, name: str, subject: str) -> None:
        if self.backend is not None:
            await self.backend.reset(f"{name}:{subject}")

    async def begin_login(self, ip: str, email: str) -> LoginAttempt:
        """Charge one failure to the address and to the account; RateLimited when either has
        none left (whatever the password, and whether or not the account exists)."""
        address, account = address_subject(ip), account_subject(email)
        charged_address = await self.check("failed_login_ip", address) is not None
        try:
            charged_account = await self.check("failed_login_account", account) is not None
        except RateLimited:
            if charged_address:
                await self.refund("failed_login_ip", address)
            raise
        return LoginAttempt(
            self, address if charged_address else None, account if charged_account else None
        )

    async def close(self) -> None:
        if self.backend is not None:
            await self.backend.close()


def make_throttle(config: Settings) -> Throttle:
    if not config.rate_limit_enabled:
        return Throttle(None, config.rate_limits)
    backend: Backend
    if config.uses_redis:
        backend = RedisBackend(config.redis_url, config.redis_key_prefix)
    else:
        backend = MemoryBackend()
    return Throttle(backend, config.rate_limits)
