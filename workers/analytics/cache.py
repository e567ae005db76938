"""Answers to repeated questions, keyed by the plan and the event's data version.

The key holds everything an answer depends on — the plan (not the wording: two phrasings of
one question share an entry) and the event's data version — so entries never need to be
invalidated: a new result changes the version and the next question misses. The TTL only
bounds memory. Redis in production (shared by every worker), a small LRU in-process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from typing import Any, Protocol

import redis

log = logging.getLogger("matchday.analytics")


def cache_key(plan: dict[str, Any], data_version: str, *, explain: bool) -> str:
    material = json.dumps([plan, data_version, explain], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()


class AnswerCache(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, answer: dict[str, Any]) -> None: ...


class MemoryAnswerCache:
    """Thread-safe LRU with a TTL (the in-process runner calls it from pool threads)."""

    def __init__(self, ttl_seconds: float, max_entries: int = 1_000) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires, answer = entry
            if expires < time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return answer

    def put(self, key: str, answer: dict[str, Any]) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + self._ttl, answer)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)


class RedisAnswerCache:
    """Shared by every worker. A Redis error is a miss, never a failed question."""

    def __init__(self, client: redis.Redis, prefix: str, ttl_seconds: float) -> None:
        self._redis = client
        self._prefix = f"{prefix}analytics:answer:"
        self._ttl_ms = max(1, int(ttl_seconds * 1000))

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            raw = self._redis.get(self._prefix + key)
        except redis.RedisError as exc:
            log.warning("analytics cache unavailable: %s", exc)
            return None
        if raw is None:
            return None
        answer: dict[str, Any] = json.loads(raw)
        return answer

    def put(self, key: str, answer: dict[str, Any]) -> None:
        try:
            self._redis.set(self._prefix + key, json.dumps(answer), px=self._ttl_ms)
        except redis.RedisError as exc:
            log.warning("analytics cache unavailable: %s", exc)
